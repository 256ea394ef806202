//! The index's growing tables, shaped so that no single insert costs more as the store grows.
//!
//! The committer indexes each group while holding the index's write lock, and every append of the group
//! waits for it. A table that doubles by copying or rehashing everything it holds makes that one group
//! wait for work proportional to the whole store: at a few million children, hundreds of milliseconds
//! (issue 17 H, `docs/performance.md`, "Sustained load"). So:
//! * [`ChunkedVec`] grows a fixed-size chunk at a time and never moves what it holds;
//! * [`IdTable`] and [`ChildNumbers`] are split into [`SHARDS`] independent tables by bits of the hash,
//!   so a resize rehashes one shard (a thousandth of the entries), never the whole table.

use std::hash::BuildHasher;
use std::ops::{Index, IndexMut};

use hashbrown::DefaultHashBuilder;
use hashbrown::HashTable;
use journey_core::ids::ChildId;

const CHUNK_BITS: u32 = 16;
/// Elements per chunk of a [`ChunkedVec`].
const CHUNK: usize = 1 << CHUNK_BITS;

/// How many independent tables [`IdTable`] and [`ChildNumbers`] are split into.
pub(crate) const SHARDS: usize = 1 << SHARD_BITS;
const SHARD_BITS: u32 = 10;

/// A vector that grows a chunk of [`CHUNK`] elements at a time. Pushing never copies what is already
/// there (a `Vec` doubling copies all of it), and elements never move once pushed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChunkedVec<T> {
    chunks: Vec<Vec<T>>,
    len: usize,
}

impl<T> Default for ChunkedVec<T> {
    fn default() -> Self {
        ChunkedVec {
            chunks: Vec::new(),
            len: 0,
        }
    }
}

impl<T> ChunkedVec<T> {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn push(&mut self, value: T) {
        if self.len.is_multiple_of(CHUNK) {
            self.chunks.push(Vec::with_capacity(CHUNK));
        }
        self.chunks.last_mut().expect("a chunk with room").push(value);
        self.len += 1;
    }

    pub fn get(&self, i: usize) -> Option<&T> {
        self.chunks.get(i >> CHUNK_BITS)?.get(i % CHUNK)
    }

    pub fn get_mut(&mut self, i: usize) -> Option<&mut T> {
        self.chunks.get_mut(i >> CHUNK_BITS)?.get_mut(i % CHUNK)
    }

    /// The elements from `start` on, in order.
    pub fn iter_from(&self, start: usize) -> impl Iterator<Item = &T> {
        let (chunk, within) = (start >> CHUNK_BITS, start % CHUNK);
        self.chunks
            .iter()
            .skip(chunk)
            .enumerate()
            .flat_map(move |(i, c)| c[if i == 0 { within.min(c.len()) } else { 0 }..].iter())
    }

    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.chunks.iter().flatten()
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.chunks.iter_mut().flatten()
    }
}

impl<T> Index<usize> for ChunkedVec<T> {
    type Output = T;

    fn index(&self, i: usize) -> &T {
        &self.chunks[i >> CHUNK_BITS][i % CHUNK]
    }
}

impl<T> IndexMut<usize> for ChunkedVec<T> {
    fn index_mut(&mut self, i: usize) -> &mut T {
        &mut self.chunks[i >> CHUNK_BITS][i % CHUNK]
    }
}

/// Positions keyed by event-id fingerprint: [`SHARDS`] linear-probing tables of `u32` positions (0 =
/// empty), each a power of two in size, chosen by the fingerprint's top bits and probed from its low bits.
/// The fingerprints themselves live beside the index, by position (`MemIndex::fps`).
#[derive(Debug)]
pub(crate) struct IdTable {
    shards: Vec<IdShard>,
}

#[derive(Debug, Default)]
struct IdShard {
    slots: Vec<u32>,
    len: usize,
}

/// The smallest shard: 64 slots of 4 bytes, so an empty table is 256 KiB.
const MIN_SHARD_SLOTS: usize = 64;

fn id_shard(fp: u64) -> usize {
    (fp >> (64 - SHARD_BITS)) as usize
}

/// Slots for `entries` at a load of at most 7/10.
fn slots_for(entries: usize) -> usize {
    (entries.saturating_mul(10) / 7 + 1)
        .next_power_of_two()
        .max(MIN_SHARD_SLOTS)
}

impl IdShard {
    fn place(slots: &mut [u32], fp: u64, position: u32) {
        let mask = slots.len() - 1;
        let mut i = fp as usize & mask;
        while slots[i] != 0 {
            i = (i + 1) & mask;
        }
        slots[i] = position;
    }

    fn insert(&mut self, fp: u64, position: u32, fps: &ChunkedVec<u64>) {
        if (self.len + 1) * 10 > self.slots.len() * 7 {
            let mut bigger = vec![0u32; slots_for(self.len + 1).max(self.slots.len() * 2)];
            for &p in self.slots.iter().filter(|&&p| p != 0) {
                IdShard::place(&mut bigger, fps[p as usize - 1], p);
            }
            self.slots = bigger;
        }
        IdShard::place(&mut self.slots, fp, position);
        self.len += 1;
    }
}

impl IdTable {
    pub fn with_capacity(entries: usize) -> IdTable {
        let slots = slots_for(entries / SHARDS);
        IdTable {
            shards: (0..SHARDS)
                .map(|_| IdShard {
                    slots: vec![0; slots],
                    len: 0,
                })
                .collect(),
        }
    }

    /// The table for positions `1..=fps.len()`, built at once (on open). The positions are grouped by shard
    /// first (a counting sort, 4 bytes a position of temporary memory), then inserted shard by shard: each
    /// shard is small enough to stay in cache, where inserting at random over the whole table would miss it
    /// on nearly every insert.
    pub fn build(fps: &ChunkedVec<u64>) -> IdTable {
        let mut table = IdTable::with_capacity(fps.len());
        let mut starts = vec![0usize; SHARDS + 1];
        for &fp in fps.iter() {
            starts[id_shard(fp) + 1] += 1;
        }
        for s in 1..starts.len() {
            starts[s] += starts[s - 1];
        }
        let mut order = vec![0u32; fps.len()];
        let mut next = starts.clone();
        for (i, &fp) in fps.iter().enumerate() {
            let s = id_shard(fp);
            order[next[s]] = i as u32 + 1;
            next[s] += 1;
        }
        for (s, shard) in table.shards.iter_mut().enumerate() {
            for &p in &order[starts[s]..starts[s + 1]] {
                shard.insert(fps[p as usize - 1], p, fps);
            }
        }
        table
    }

    /// Adds `position`, whose fingerprint `fp` is already in `fps`.
    pub fn insert(&mut self, fp: u64, position: u32, fps: &ChunkedVec<u64>) {
        self.shards[id_shard(fp)].insert(fp, position, fps);
    }

    /// The positions whose fingerprint is `fp` (almost always none or one).
    pub fn candidates(&self, fp: u64, fps: &ChunkedVec<u64>) -> Vec<u64> {
        let slots = &self.shards[id_shard(fp)].slots;
        let mask = slots.len() - 1;
        let mut i = fp as usize & mask;
        let mut out = Vec::new();
        loop {
            let p = slots[i];
            if p == 0 {
                return out;
            }
            if fps[p as usize - 1] == fp {
                out.push(u64::from(p));
            }
            i = (i + 1) & mask;
        }
    }

    #[cfg(test)]
    pub fn occupied(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.slots.iter().filter(|&&p| p != 0).count())
            .sum()
    }
}

/// Each child's number (its place in the order of first events), keyed by child id: [`SHARDS`] hash
/// tables of bare `u32`s. The ids themselves are kept once, in the index's list of children, and hashed
/// from there when a shard grows: keeping a second copy of every id as a key would cost more memory per
/// child than everything else the index holds about it.
#[derive(Debug)]
pub(crate) struct ChildNumbers {
    shards: Vec<HashTable<u32>>,
    hasher: DefaultHashBuilder,
}

impl Default for ChildNumbers {
    fn default() -> Self {
        ChildNumbers {
            shards: (0..SHARDS).map(|_| HashTable::new()).collect(),
            hasher: DefaultHashBuilder::default(),
        }
    }
}

impl ChildNumbers {
    fn hash(&self, child_id: &ChildId) -> u64 {
        self.hasher.hash_one(child_id.as_str())
    }

    /// The shard for a hash. Taken from bits the shard's own table does not use: hashbrown takes its
    /// bucket from the low bits and its control byte from the top seven, and a shard whose entries all
    /// shared those would probe slowly.
    fn shard(hash: u64) -> usize {
        (hash >> 40) as usize % SHARDS
    }

    pub fn get(&self, child_id: &ChildId, children: &ChunkedVec<ChildId>) -> Option<u32> {
        let hash = self.hash(child_id);
        self.shards[Self::shard(hash)]
            .find(hash, |&n| children[n as usize] == *child_id)
            .copied()
    }

    /// Records that `children[number]` is numbered `number`. False (and nothing changed) if that child
    /// already has a number.
    pub fn insert(&mut self, number: u32, children: &ChunkedVec<ChildId>) -> bool {
        let child_id = &children[number as usize];
        let hash = self.hash(child_id);
        let hasher = &self.hasher;
        let shard = &mut self.shards[Self::shard(hash)];
        match shard.entry(
            hash,
            |&n| children[n as usize] == *child_id,
            |&n| hasher.hash_one(children[n as usize].as_str()),
        ) {
            hashbrown::hash_table::Entry::Occupied(_) => false,
            hashbrown::hash_table::Entry::Vacant(slot) => {
                slot.insert(number);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chunked_vec_keeps_order_across_chunks() {
        let mut v = ChunkedVec::default();
        let n = CHUNK * 2 + 17;
        for i in 0..n {
            v.push(i as u64);
        }
        assert_eq!(v.len(), n);
        assert_eq!(v[CHUNK - 1], CHUNK as u64 - 1);
        assert_eq!(v[CHUNK], CHUNK as u64);
        assert_eq!(v.get(n), None);
        assert!(v.iter().copied().eq(0..n as u64));
        for start in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, n - 1, n, n + 5] {
            assert!(
                v.iter_from(start).copied().eq(start as u64..n as u64),
                "from {start}"
            );
        }
        v[CHUNK + 3] = 7;
        assert_eq!(v.get(CHUNK + 3), Some(&7));
    }

    #[test]
    fn an_element_never_moves_as_a_chunked_vec_grows() {
        // What keeps a push cheap at any size: growing never copies what is there (a Vec would move it).
        let mut v = ChunkedVec::default();
        v.push(0u64);
        let first: *const u64 = &v[0];
        for i in 1..(CHUNK * 8) as u64 {
            v.push(i);
        }
        assert!(std::ptr::eq(first, &v[0]));
    }

    #[test]
    fn child_numbers_find_every_child_and_refuse_a_second_number() {
        let mut children = ChunkedVec::default();
        let mut numbers = ChildNumbers::default();
        for n in 0..50_000u32 {
            children.push(ChildId::parse(format!("child-{n}")).unwrap());
            assert!(numbers.insert(n, &children));
        }
        for n in (0..50_000u32).step_by(37) {
            let id = ChildId::parse(format!("child-{n}")).unwrap();
            assert_eq!(numbers.get(&id, &children), Some(n));
        }
        assert_eq!(numbers.get(&ChildId::parse("nobody").unwrap(), &children), None);
        children.push(ChildId::parse("child-7").unwrap());
        assert!(!numbers.insert(50_000, &children));
        assert_eq!(
            numbers.get(&ChildId::parse("child-7").unwrap(), &children),
            Some(7)
        );
    }

    #[test]
    fn an_id_table_built_at_once_answers_as_one_filled_by_inserts() {
        let mut fps = ChunkedVec::default();
        let mut inserted = IdTable::with_capacity(0);
        for p in 1..=100_000u32 {
            // Some fingerprints repeat, as a collision would.
            let fp = u64::from(p % 90_000).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            fps.push(fp);
            inserted.insert(fp, p, &fps);
        }
        let built = IdTable::build(&fps);
        assert_eq!(built.occupied(), 100_000);
        for p in (1..=100_000u32).step_by(101) {
            let fp = fps[p as usize - 1];
            let mut a = built.candidates(fp, &fps);
            let mut b = inserted.candidates(fp, &fps);
            a.sort_unstable();
            b.sort_unstable();
            assert_eq!(a, b);
            assert!(a.contains(&u64::from(p)));
        }
    }
}
