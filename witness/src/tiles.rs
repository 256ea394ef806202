//! Reading a log's tree from the C2SP tiles it serves, believing each tile only once it is proven part of
//! the tree a signed checkpoint names.
//!
//! The right edge first: the partial tile of every level (those a log must serve for each size it signed)
//! are exactly the hashes the root of the tree is made from, so they are fetched and hashed to the root, and
//! compared with the signed one. Then each full tile is checked when first needed: its 256 hashes hash to
//! one hash of the level above, read (and so checked) the same way, up to a partial tile.
//!
//! Why it matters: a proof built from unchecked hashes that then fails against the signed roots could be a
//! forged tile, not a forged history, and the witness must not cry wolf. Go's `sumdb/tlog.TileHashReader`
//! (x/mod v0.7.0 and later) leaves some full tiles unchecked when the size has two or more bits set (its
//! check loop starts at the number of right-edge subtrees, not of tiles planned for them); this reader
//! checks every tile it hands a hash from.

use std::cell::RefCell;
use std::collections::HashMap;

use journey_tlog::tiles::{TileKind, partial_tiles};
use journey_tlog::tree::{HashReader, TILE_WIDTH, level_len};
use journey_tlog::{Hash, TilePath, node_hash};

use crate::error::{Error, Result};

/// Splits a tile's bytes into its hashes; the length must be the tile's width.
fn hashes_of(tile: &TilePath, bytes: &[u8]) -> Result<Vec<Hash>, String> {
    let width = usize::from(tile.width());
    if bytes.len() != width * 32 {
        return Err(format!(
            "{} bytes, where {width} hashes are {} bytes",
            bytes.len(),
            width * 32
        ));
    }
    Ok(bytes
        .chunks_exact(32)
        .map(|c| c.try_into().expect("32-byte chunks"))
        .collect())
}

/// The root of a full tile: its 256 hashes hashed pairwise up.
fn tile_root(hashes: &[Hash]) -> Hash {
    debug_assert_eq!(hashes.len(), TILE_WIDTH);
    let mut level: Vec<Hash> = hashes.to_vec();
    while level.len() > 1 {
        level = level.chunks_exact(2).map(|p| node_hash(&p[0], &p[1])).collect();
    }
    level[0]
}

/// The right edge alone, to hash the root from.
struct Edge<'a>(&'a HashMap<(u8, u64), Vec<Hash>>);

impl HashReader for Edge<'_> {
    fn read_hashes(&self, level: u8, start: u64, out: &mut [Hash]) -> journey_tlog::Result<()> {
        let tile = start / TILE_WIDTH as u64;
        let offset = (start % TILE_WIDTH as u64) as usize;
        match self.0.get(&(level, tile)) {
            Some(hashes) if offset + out.len() <= hashes.len() => {
                out.copy_from_slice(&hashes[offset..offset + out.len()]);
                Ok(())
            }
            _ => Err(journey_tlog::Error::HashRead {
                level,
                start,
                count: out.len() as u64,
                source: "not in the right edge's partial tiles".into(),
            }),
        }
    }
}

/// A tree's hashes, from tiles fetched with `fetch` and authenticated against the signed `root` of `size`.
pub struct AuthenticatedTiles<F> {
    size: u64,
    url: String,
    fetch: RefCell<F>,
    /// (level, tile index) → its hashes, each tile here authenticated.
    tiles: RefCell<HashMap<(u8, u64), Vec<Hash>>>,
    /// The first failure behind a read error, to report it as itself.
    failure: RefCell<Option<Error>>,
}

impl<F> std::fmt::Debug for AuthenticatedTiles<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthenticatedTiles")
            .field("size", &self.size)
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl<F: FnMut(&TilePath) -> Result<Vec<u8>>> AuthenticatedTiles<F> {
    /// Fetches the right edge of the tree of `size` leaves and checks that it hashes to `root`. `url` names
    /// the log in errors.
    pub fn new(size: u64, root: Hash, url: &str, mut fetch: F) -> Result<AuthenticatedTiles<F>> {
        let mut edge = HashMap::new();
        for tile in partial_tiles(size) {
            let TileKind::Hashes { level } = tile.kind() else {
                unreachable!("partial_tiles gives hash tiles")
            };
            let bytes = fetch(&tile)?;
            let hashes = hashes_of(&tile, &bytes).map_err(|reason| Error::TileNotAuthentic {
                url: url.to_owned(),
                tile: tile.to_string(),
                size,
                reason,
            })?;
            edge.insert((level, tile.index()), hashes);
        }
        let computed = journey_tlog::tree::root(size, &Edge(&edge))?;
        if computed != root {
            let tiles: Vec<String> = partial_tiles(size).iter().map(ToString::to_string).collect();
            return Err(Error::TileNotAuthentic {
                url: url.to_owned(),
                tile: tiles.join(", "),
                size,
                reason: "the right edge's partial tiles do not hash to the signed root".to_owned(),
            });
        }
        Ok(AuthenticatedTiles {
            size,
            url: url.to_owned(),
            fetch: RefCell::new(fetch),
            tiles: RefCell::new(edge),
            failure: RefCell::new(None),
        })
    }

    /// The consistency proof from `old_size` to this tree, from authenticated tiles only.
    pub fn consistency_proof(&self, old_size: u64) -> Result<Vec<Hash>> {
        journey_tlog::tree::consistency_proof(old_size, self.size, self).map_err(|e| self.cause(e))
    }

    /// The inclusion proof of leaf `index`, from authenticated tiles only.
    pub fn inclusion_proof(&self, index: u64) -> Result<Vec<Hash>> {
        journey_tlog::tree::inclusion_proof(index, self.size, self).map_err(|e| self.cause(e))
    }

    fn cause(&self, e: journey_tlog::Error) -> Error {
        self.failure.borrow_mut().take().unwrap_or(Error::Tlog(e))
    }

    /// Makes sure tile `index` of `level` is held, authenticated.
    fn ensure(&self, level: u8, index: u64) -> Result<()> {
        if self.tiles.borrow().contains_key(&(level, index)) {
            return Ok(());
        }
        let len = level_len(level, self.size);
        let full = len / TILE_WIDTH as u64;
        if index >= full {
            // Past the full tiles: only the partial tile, held since `new`, or nothing.
            return Err(Error::Tlog(journey_tlog::Error::OutOfRange {
                field: "tile",
                rule: format!(
                    "level {level} of a tree of size {} has no tile {index}",
                    self.size
                ),
            }));
        }
        let tile = TilePath::hashes(level, index, TILE_WIDTH as u16)?;
        let bytes = (self.fetch.borrow_mut())(&tile)?;
        let unauthentic = |reason: String| Error::TileNotAuthentic {
            url: self.url.clone(),
            tile: tile.to_string(),
            size: self.size,
            reason,
        };
        let hashes = hashes_of(&tile, &bytes).map_err(unauthentic)?;
        // The tile's root is hash `index` of the level above, itself authenticated first.
        self.ensure(level + 1, index / TILE_WIDTH as u64)?;
        let expected = self.tiles.borrow()[&(level + 1, index / TILE_WIDTH as u64)]
            [(index % TILE_WIDTH as u64) as usize];
        if tile_root(&hashes) != expected {
            return Err(unauthentic(format!(
                "its hashes do not hash to hash {index} of level {}",
                level + 1
            )));
        }
        self.tiles.borrow_mut().insert((level, index), hashes);
        Ok(())
    }
}

impl<F: FnMut(&TilePath) -> Result<Vec<u8>>> HashReader for AuthenticatedTiles<F> {
    fn read_hashes(&self, level: u8, start: u64, out: &mut [Hash]) -> journey_tlog::Result<()> {
        let mut done = 0;
        while done < out.len() {
            let at = start + done as u64;
            let index = at / TILE_WIDTH as u64;
            let offset = (at % TILE_WIDTH as u64) as usize;
            if let Err(e) = self.ensure(level, index) {
                let summary = e.to_string();
                self.failure.borrow_mut().get_or_insert(e);
                return Err(journey_tlog::Error::HashRead {
                    level,
                    start,
                    count: out.len() as u64,
                    source: summary.into(),
                });
            }
            let tiles = self.tiles.borrow();
            let hashes = &tiles[&(level, index)];
            let n = (hashes.len() - offset.min(hashes.len())).min(out.len() - done);
            if n == 0 {
                return Err(journey_tlog::Error::HashRead {
                    level,
                    start,
                    count: out.len() as u64,
                    source: "past the end of the tree".into(),
                });
            }
            out[done..done + n].copy_from_slice(&hashes[offset..offset + n]);
            done += n;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use journey_tlog::tiles::read_tile;
    use journey_tlog::{MemoryHashes, TreeBuilder, leaf_hash, verify_consistency};

    fn tree(n: u64) -> (MemoryHashes, Hash) {
        let mut builder = TreeBuilder::new();
        for i in 0..n {
            builder.push(leaf_hash(&i.to_be_bytes()));
        }
        let mut stored = MemoryHashes::new();
        stored.apply(&builder.take_appends()).unwrap();
        let root = builder.root();
        (stored, root)
    }

    /// Serves the tiles of `stored` at `size`, with the bytes of `tampered` flipped.
    fn server<'a>(
        stored: &'a MemoryHashes,
        tampered: Option<&'a str>,
        fetched: &'a RefCell<Vec<String>>,
    ) -> impl FnMut(&TilePath) -> Result<Vec<u8>> + 'a {
        move |tile| {
            fetched.borrow_mut().push(tile.to_string());
            let mut bytes = read_tile(tile, stored)?;
            if tampered == Some(tile.to_string().as_str()) {
                bytes[5] ^= 1;
            }
            Ok(bytes)
        }
    }

    #[test]
    fn proofs_from_authenticated_tiles_equal_those_from_the_tree() {
        let (stored, _) = tree(70_000);
        let fetched = RefCell::new(Vec::new());
        for (old, new) in [
            (1, 70_000),
            (700, 1_000),
            (65_536, 70_000),
            (256, 257),
            (69_999, 70_000),
        ] {
            let new_root = journey_tlog::tree::root(new, &stored).unwrap();
            let old_root = journey_tlog::tree::root(old, &stored).unwrap();
            let tiles =
                AuthenticatedTiles::new(new, new_root, "test", server(&stored, None, &fetched)).unwrap();
            let proof = tiles.consistency_proof(old).unwrap();
            assert_eq!(
                proof,
                journey_tlog::tree::consistency_proof(old, new, &stored).unwrap()
            );
            verify_consistency(old, new, &old_root, &new_root, &proof).unwrap();
        }
    }

    /// The case Go's TileHashReader misses: size 1,000 (popcount ≥ 2), one byte of full tile 0/002 flipped.
    #[test]
    fn a_tampered_full_tile_is_refused_before_any_hash_of_it_is_used() {
        let (stored, root) = tree(1_000);
        let fetched = RefCell::new(Vec::new());
        let tiles =
            AuthenticatedTiles::new(1_000, root, "test", server(&stored, Some("tile/0/002"), &fetched))
                .unwrap();
        match tiles.inclusion_proof(600) {
            Err(Error::TileNotAuthentic { tile, size, .. }) => {
                assert_eq!((tile.as_str(), size), ("tile/0/002", 1_000));
            }
            other => panic!("a tampered tile was used: {other:?}"),
        }
        // Untouched tiles still serve.
        tiles.inclusion_proof(10).unwrap();
        assert!(fetched.borrow().contains(&"tile/0/000".to_owned()));
    }

    #[test]
    fn a_tampered_right_edge_or_a_wrong_root_is_refused_at_once() {
        let (stored, root) = tree(70_000);
        let fetched = RefCell::new(Vec::new());
        for tile in ["tile/0/273.p/112", "tile/1/001.p/17", "tile/2/000.p/1"] {
            let refused =
                AuthenticatedTiles::new(70_000, root, "test", server(&stored, Some(tile), &fetched));
            assert!(
                matches!(refused, Err(Error::TileNotAuthentic { .. })),
                "{tile}: {refused:?}"
            );
        }
        let mut other_root = root;
        other_root[0] ^= 1;
        assert!(
            AuthenticatedTiles::new(70_000, other_root, "test", server(&stored, None, &fetched)).is_err()
        );
        // A tile of the wrong length.
        let short = |tile: &TilePath| -> Result<Vec<u8>> {
            let mut bytes = read_tile(tile, &stored)?;
            bytes.pop();
            Ok(bytes)
        };
        assert!(matches!(
            AuthenticatedTiles::new(70_000, root, "test", short),
            Err(Error::TileNotAuthentic { .. })
        ));
    }

    #[test]
    fn a_tampered_level_one_tile_is_refused() {
        let (stored, root) = tree(70_000);
        let fetched = RefCell::new(Vec::new());
        // Leaf 100 needs level-1 tile 0 (full) to authenticate level-0 tile 0.
        let tiles = AuthenticatedTiles::new(
            70_000,
            root,
            "test",
            server(&stored, Some("tile/1/000"), &fetched),
        )
        .unwrap();
        assert!(matches!(
            tiles.inclusion_proof(100),
            Err(Error::TileNotAuthentic { tile, .. }) if tile == "tile/1/000"
        ));
    }
}
