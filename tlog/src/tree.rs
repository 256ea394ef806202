//! The tree over the log: what a store keeps, how it grows, and how roots and proofs are made from it.
//!
//! # Levels and tiles (C2SP tlog-tiles, height 8)
//! A store keeps the tree as *levels* of hashes. Level 0 holds every leaf hash, in leaf order. Hash `i` of
//! level `l` is the Merkle tree hash of the leaves `[i·256^l, (i+1)·256^l)`, so level `l + 1` holds the root
//! of each *full* run of 256 hashes of level `l`, and a tree of `n` leaves has `n >> 8l` hashes at level `l`
//! (`level_len`). A C2SP tile is 256 consecutive hashes of one level: tile `N` of level `l` is hashes
//! `[N·256, N·256 + 256)`, spanning leaves `[N·256^(l+1), (N+1)·256^(l+1))`; the rightmost tile of a level
//! may be partial (`(n >> 8l) mod 256` hashes, never hashed upward). So serving `tile/l/N` is reading one
//! range of one level, and a store appends to its levels and never rewrites them: about 32.13 bytes per
//! record, level 0 being 32.
//!
//! A node between two stored levels (height `8l + r`, `0 < r < 8`) is recomputed from the `2^r` hashes of
//! level `l` below it: at most 127 node hashes, which is why a proof at 10M leaves costs a few hundred
//! hashes and a few reads.
//!
//! # Appending
//! [`TreeBuilder`] keeps the right edge (the incomplete tile of each level, at most 255 hashes a level),
//! takes leaf hashes as records become durable, and hands out what is new at each level
//! ([`LevelAppend`]): exactly what a store appends to its level files or tile rows. [`TreeBuilder::resume`]
//! reads the right edge back from stored hashes after a restart, so opening costs one read per level.
//!
//! # Trust
//! Roots and proofs computed here are only as good as the hashes the [`HashReader`] returns. A proof made
//! from hashes someone else served (a witness reading a log's tiles) must be checked with
//! [`crate::verify`] against signed roots before anything is concluded from it: verification is the
//! authentication, every tile read is covered by it, and no tile is trusted for having been read.

use crate::error::{Error, Result};
use crate::hash::{EMPTY_ROOT, Hash, node_hash};

/// The height of a tile: each stored level is 8 tree levels above the one below.
pub const TILE_HEIGHT: u32 = 8;

/// The number of hashes in a full tile.
pub const TILE_WIDTH: usize = 1 << TILE_HEIGHT;

/// Reads stored hashes of the tree. The stores implement it over level files, tile rows or memory.
pub trait HashReader {
    /// Fills `out` with the hashes of `level` from hash index `start` on (`out.len()` consecutive hashes).
    /// Hash `i` of level `l` is the Merkle tree hash of the leaves `[i·256^l, (i+1)·256^l)`. Fails when any of
    /// them is not stored.
    fn read_hashes(&self, level: u8, start: u64, out: &mut [Hash]) -> Result<()>;
}

impl<R: HashReader + ?Sized> HashReader for &R {
    fn read_hashes(&self, level: u8, start: u64, out: &mut [Hash]) -> Result<()> {
        (**self).read_hashes(level, start, out)
    }
}

/// The number of hashes level `level` holds in a tree of `size` leaves: one per complete run of
/// `256^level` leaves.
pub fn level_len(level: u8, size: u64) -> u64 {
    let shift = TILE_HEIGHT * u32::from(level);
    if shift >= u64::BITS { 0 } else { size >> shift }
}

/// The number of levels a tree of `size` leaves stores hashes in (0 for the empty tree).
pub fn level_count(size: u64) -> usize {
    (0u8..=8).take_while(|&level| level_len(level, size) > 0).count()
}

/// Hashes `hashes` (a power of two of them) pairwise up to their root, in place.
fn reduce_perfect(hashes: &mut [Hash]) -> Hash {
    debug_assert!(hashes.len().is_power_of_two());
    let mut n = hashes.len();
    while n > 1 {
        for i in 0..n / 2 {
            hashes[i] = node_hash(&hashes[2 * i], &hashes[2 * i + 1]);
        }
        n /= 2;
    }
    hashes[0]
}

/// The hash of the perfect subtree of `2^height` leaves starting at leaf `index << height`: read from the
/// stored level at or below it and hashed up the remaining `height mod 8` levels.
fn perfect_hash(height: u32, index: u64, reader: &impl HashReader) -> Result<Hash> {
    let level = (height / TILE_HEIGHT) as u8;
    let rise = height % TILE_HEIGHT;
    let mut buffer = [[0u8; 32]; TILE_WIDTH / 2];
    let hashes = &mut buffer[..1 << rise];
    reader.read_hashes(level, index << rise, hashes)?;
    Ok(reduce_perfect(hashes))
}

/// MTH(D[lo:hi]) for a range whose start is a multiple of a power of two at least as large as the range,
/// which every range RFC 6962's recursion visits is. Such a range is a run of perfect subtrees of strictly
/// decreasing sizes (the binary digits of `hi - lo`), and its hash folds them from the right.
fn range_hash(lo: u64, hi: u64, reader: &impl HashReader) -> Result<Hash> {
    debug_assert!(lo < hi);
    let mut parts = [(0u32, 0u64); 64];
    let mut count = 0;
    let mut at = lo;
    while at < hi {
        let mut height = (hi - at).ilog2();
        if at != 0 {
            height = height.min(at.trailing_zeros());
        }
        parts[count] = (height, at >> height);
        count += 1;
        at += 1 << height;
    }
    let (last_height, last_index) = parts[count - 1];
    let mut hash = perfect_hash(last_height, last_index, reader)?;
    for &(height, index) in parts[..count - 1].iter().rev() {
        hash = node_hash(&perfect_hash(height, index, reader)?, &hash);
    }
    Ok(hash)
}

/// The largest power of two smaller than `n` (`n > 1`): where RFC 6962 splits a tree of `n` leaves.
fn split(n: u64) -> u64 {
    debug_assert!(n > 1);
    1 << (n - 1).ilog2()
}

/// The root of the tree of the first `size` leaves (`EMPTY_ROOT` for size 0).
pub fn root(size: u64, reader: &impl HashReader) -> Result<Hash> {
    if size == 0 {
        return Ok(EMPTY_ROOT);
    }
    range_hash(0, size, reader)
}

/// The inclusion proof of leaf `index` in the tree of `size` leaves (RFC 9162 §2.1.3.1 PATH): the leaf's
/// sibling first, the root's child last.
pub fn inclusion_proof(index: u64, size: u64, reader: &impl HashReader) -> Result<Vec<Hash>> {
    if index >= size {
        return Err(Error::OutOfRange {
            field: "index",
            rule: format!("leaf index {index} is not in a tree of size {size}"),
        });
    }
    // PATH(m, D[lo:hi]) = PATH(m, D[lo:lo+k]) : MTH(D[lo+k:hi]) when m is left of the split, else
    // PATH(m, D[lo+k:hi]) : MTH(D[lo:lo+k]). Walk down from the root, then emit bottom-up.
    let mut ranges = Vec::with_capacity(64);
    let (mut lo, mut hi) = (0, size);
    while hi - lo > 1 {
        let mid = lo + split(hi - lo);
        if index < mid {
            ranges.push((mid, hi));
            hi = mid;
        } else {
            ranges.push((lo, mid));
            lo = mid;
        }
    }
    ranges
        .iter()
        .rev()
        .map(|&(lo, hi)| range_hash(lo, hi, reader))
        .collect()
}

/// The consistency proof from the tree of `old_size` leaves to the tree of `new_size` leaves (RFC 9162
/// §2.1.4.1 `SUBPROOF(m, D[n], true)`). Empty when `old_size` is 0 or equal to `new_size`, for which no proof
/// is needed.
pub fn consistency_proof(old_size: u64, new_size: u64, reader: &impl HashReader) -> Result<Vec<Hash>> {
    if old_size > new_size {
        return Err(Error::OutOfRange {
            field: "old_size",
            rule: format!("a tree of size {old_size} cannot be a prefix of one of size {new_size}"),
        });
    }
    if old_size == 0 || old_size == new_size {
        return Ok(Vec::new());
    }
    // SUBPROOF(m, D[lo:hi], b): when m reaches hi the old tree is this whole subtree, whose hash is needed
    // unless it is the old root itself (b). Otherwise split as PATH does; going right clears b.
    let mut ranges = Vec::with_capacity(64);
    let (mut lo, mut hi) = (0, new_size);
    let mut whole_old_tree = true;
    loop {
        if old_size == hi {
            if !whole_old_tree {
                ranges.push((lo, hi));
            }
            break;
        }
        let mid = lo + split(hi - lo);
        if old_size <= mid {
            ranges.push((mid, hi));
            hi = mid;
        } else {
            ranges.push((lo, mid));
            lo = mid;
            whole_old_tree = false;
        }
    }
    ranges
        .iter()
        .rev()
        .map(|&(lo, hi)| range_hash(lo, hi, reader))
        .collect()
}

/// New hashes of one level, to append where that level ends: `start` is the index of the first, which is
/// the number of hashes the level held before.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LevelAppend {
    pub level: u8,
    pub start: u64,
    pub hashes: Vec<Hash>,
}

/// Grows the tree one leaf at a time and says what to store.
#[derive(Clone, Debug, Default)]
pub struct TreeBuilder {
    size: u64,
    /// The size when the appends were last taken.
    taken_size: u64,
    /// For each level, the hashes of its incomplete tile at the right edge (fewer than 256).
    edge: Vec<Vec<Hash>>,
    /// For each level, the hashes completed since the appends were last taken.
    pending: Vec<Vec<Hash>>,
}

impl TreeBuilder {
    /// The empty tree.
    pub fn new() -> TreeBuilder {
        TreeBuilder::default()
    }

    /// The tree of `size` leaves whose hashes are stored, to append to: reads the right edge (each level's
    /// incomplete tile, at most 255 hashes a level).
    pub fn resume(size: u64, reader: &impl HashReader) -> Result<TreeBuilder> {
        let mut edge = Vec::new();
        for level in 0..level_count(size) as u8 {
            let len = level_len(level, size);
            let width = (len % TILE_WIDTH as u64) as usize;
            let mut hashes = vec![[0u8; 32]; width];
            reader.read_hashes(level, len - width as u64, &mut hashes)?;
            edge.push(hashes);
        }
        let levels = edge.len();
        Ok(TreeBuilder {
            size,
            taken_size: size,
            edge,
            pending: vec![Vec::new(); levels],
        })
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a leaf hash (`LeafEntry::leaf_hash` for Journey's records).
    pub fn push(&mut self, leaf_hash: Hash) {
        self.size += 1;
        let mut hash = leaf_hash;
        let mut level = 0;
        loop {
            if self.edge.len() == level {
                self.edge.push(Vec::with_capacity(TILE_WIDTH));
                self.pending.push(Vec::new());
            }
            self.pending[level].push(hash);
            let edge = &mut self.edge[level];
            edge.push(hash);
            if edge.len() < TILE_WIDTH {
                return;
            }
            // A tile completed: its root is the next hash of the level above.
            hash = reduce_perfect(edge);
            edge.clear();
            level += 1;
        }
    }

    /// The root of the tree as it stands, from the right edge (at most 255 hashes a level).
    pub fn root(&self) -> Hash {
        let mut root: Option<Hash> = None;
        let mut scratch = Vec::with_capacity(TILE_WIDTH);
        // Right to left: each level's incomplete tile, as perfect runs of decreasing size (the binary
        // digits of its width), the lower levels being to the right of the upper ones.
        for hashes in &self.edge {
            let mut end = hashes.len();
            for bit in 0..TILE_HEIGHT {
                let run = 1 << bit;
                if hashes.len() & run == 0 {
                    continue;
                }
                scratch.clear();
                scratch.extend_from_slice(&hashes[end - run..end]);
                let hash = reduce_perfect(&mut scratch);
                root = Some(match root {
                    None => hash,
                    Some(right) => node_hash(&hash, &right),
                });
                end -= run;
            }
        }
        root.unwrap_or(EMPTY_ROOT)
    }

    /// The hashes completed since the last call, level by level from 0, each level's starting where that
    /// level ended: what a store appends, in one write per level. Level 0 is every leaf pushed.
    pub fn take_appends(&mut self) -> Vec<LevelAppend> {
        let taken_size = self.taken_size;
        self.taken_size = self.size;
        self.pending
            .iter_mut()
            .enumerate()
            .filter(|(_, hashes)| !hashes.is_empty())
            .map(|(level, hashes)| LevelAppend {
                level: level as u8,
                start: level_len(level as u8, taken_size),
                hashes: std::mem::take(hashes),
            })
            .collect()
    }
}

/// The levels of a tree held in memory: the in-memory stores' tree, and the tests' and benchmarks'.
#[derive(Clone, Debug, Default)]
pub struct MemoryHashes {
    levels: Vec<Vec<Hash>>,
}

impl MemoryHashes {
    pub fn new() -> MemoryHashes {
        MemoryHashes::default()
    }

    /// Stores what a [`TreeBuilder`] completed. Each append must start where its level ends.
    pub fn apply(&mut self, appends: &[LevelAppend]) -> Result<()> {
        for append in appends {
            let level = usize::from(append.level);
            if self.levels.len() <= level {
                self.levels.resize_with(level + 1, Vec::new);
            }
            let stored = &mut self.levels[level];
            if append.start != stored.len() as u64 {
                return Err(Error::OutOfRange {
                    field: "start",
                    rule: format!(
                        "level {level} holds {} hashes; an append must start there, not at {}",
                        stored.len(),
                        append.start
                    ),
                });
            }
            stored.extend_from_slice(&append.hashes);
        }
        Ok(())
    }

    /// The hashes stored at `level`.
    pub fn level(&self, level: u8) -> &[Hash] {
        self.levels.get(usize::from(level)).map_or(&[], Vec::as_slice)
    }

    /// The number of leaves stored.
    pub fn size(&self) -> u64 {
        self.level(0).len() as u64
    }
}

impl HashReader for MemoryHashes {
    fn read_hashes(&self, level: u8, start: u64, out: &mut [Hash]) -> Result<()> {
        let stored = self.level(level);
        let count = out.len() as u64;
        match start.checked_add(count) {
            Some(end) if end <= stored.len() as u64 => {
                out.copy_from_slice(&stored[start as usize..end as usize]);
                Ok(())
            }
            _ => Err(Error::HashRead {
                level,
                start,
                count,
                source: format!("level {level} holds only {} hashes", stored.len()).into(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::leaf_hash;

    /// RFC 6962 §2.1 MTH, recursively over leaf hashes: the definition the stored levels must agree with.
    fn mth(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => EMPTY_ROOT,
            1 => leaves[0],
            n => {
                let k = split(n as u64) as usize;
                node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
            }
        }
    }

    fn leaves(n: u64) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
    }

    fn build(leaves: &[Hash]) -> (TreeBuilder, MemoryHashes) {
        let mut builder = TreeBuilder::new();
        let mut stored = MemoryHashes::new();
        for &leaf in leaves {
            builder.push(leaf);
        }
        stored.apply(&builder.take_appends()).unwrap();
        (builder, stored)
    }

    #[test]
    fn level_l_hash_i_is_the_root_of_its_256_to_the_l_leaves() {
        let all = leaves(70_000);
        let (_, stored) = build(&all);
        assert_eq!(stored.level(0), &all[..]);
        assert_eq!(stored.level(1).len(), 273);
        assert_eq!(stored.level(2).len(), 1);
        assert_eq!(stored.level(3).len(), 0);
        for i in [0usize, 1, 200, 272] {
            assert_eq!(
                stored.level(1)[i],
                mth(&all[i * 256..(i + 1) * 256]),
                "level 1 hash {i}"
            );
        }
        assert_eq!(stored.level(2)[0], mth(&all[..65_536]));
        assert_eq!(level_count(70_000), 3);
        assert_eq!(level_count(0), 0);
        assert_eq!(level_count(255), 1);
        assert_eq!(level_count(256), 2);
        assert_eq!(level_count(u64::MAX), 8);
    }

    #[test]
    fn roots_from_the_edge_and_from_storage_equal_the_definition() {
        let all = leaves(1_100);
        let mut builder = TreeBuilder::new();
        let mut stored = MemoryHashes::new();
        for (n, &leaf) in all.iter().enumerate() {
            assert_eq!(builder.root(), mth(&all[..n]), "builder at {n}");
            builder.push(leaf);
            // Store in uneven groups, as durable groups of records arrive.
            if n % 7 == 3 {
                stored.apply(&builder.take_appends()).unwrap();
            }
        }
        stored.apply(&builder.take_appends()).unwrap();
        for n in 0..=all.len() {
            assert_eq!(root(n as u64, &stored).unwrap(), mth(&all[..n]), "stored at {n}");
        }
    }

    #[test]
    fn appends_start_where_each_level_ends_and_a_gap_is_refused() {
        let mut builder = TreeBuilder::new();
        for leaf in leaves(300) {
            builder.push(leaf);
        }
        let appends = builder.take_appends();
        assert_eq!(appends.len(), 2);
        assert_eq!(
            (appends[0].level, appends[0].start, appends[0].hashes.len()),
            (0, 0, 300)
        );
        assert_eq!(
            (appends[1].level, appends[1].start, appends[1].hashes.len()),
            (1, 0, 1)
        );
        for leaf in leaves(300) {
            builder.push(leaf);
        }
        let later = builder.take_appends();
        assert_eq!((later[0].start, later[0].hashes.len()), (300, 300));
        assert_eq!((later[1].start, later[1].hashes.len()), (1, 1));
        // Applying the later appends without the earlier ones leaves a gap.
        assert!(MemoryHashes::new().apply(&later).is_err());
        assert!(builder.take_appends().is_empty());
    }

    #[test]
    fn a_resumed_builder_continues_as_if_it_had_never_stopped() {
        let all = leaves(66_000);
        for cut in [0, 1, 255, 256, 257, 65_535, 65_536, 65_537, 65_999] {
            let (_, mut stored) = build(&all[..cut]);
            let mut resumed = TreeBuilder::resume(cut as u64, &stored).unwrap();
            assert_eq!(resumed.root(), mth(&all[..cut]), "resumed at {cut}");
            for &leaf in &all[cut..] {
                resumed.push(leaf);
            }
            stored.apply(&resumed.take_appends()).unwrap();
            let (whole, whole_stored) = build(&all);
            assert_eq!(resumed.root(), whole.root(), "root after resuming at {cut}");
            for level in 0..3 {
                assert_eq!(
                    stored.level(level),
                    whole_stored.level(level),
                    "level {level} after {cut}"
                );
            }
        }
    }

    #[test]
    fn proofs_need_their_hashes_stored() {
        let (_, stored) = build(&leaves(1000));
        assert!(matches!(root(1001, &stored), Err(Error::HashRead { .. })));
        assert!(matches!(
            inclusion_proof(5, 1001, &stored),
            Err(Error::HashRead { .. })
        ));
        assert!(matches!(
            inclusion_proof(1000, 1000, &stored),
            Err(Error::OutOfRange { .. })
        ));
        assert!(matches!(
            consistency_proof(10, 9, &stored),
            Err(Error::OutOfRange { .. })
        ));
        assert!(consistency_proof(0, 1000, &stored).unwrap().is_empty());
        assert!(consistency_proof(1000, 1000, &stored).unwrap().is_empty());
    }
}
