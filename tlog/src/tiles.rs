//! Tile paths and entry bundles of c2sp.org/tlog-tiles (v0.1.0).
//!
//! A log serves its tree as `tile/<L>/<N>[.p/<W>]`: tile `N` of level `L` (see [`crate::tree`] for what the
//! levels hold), 256 hashes of 32 bytes, or `W` (1 to 255) for a partial tile at the right edge. Entries are
//! served as bundles, `tile/entries/<N>[.p/<W>]`: each entry as a big-endian `u16` length and its bytes,
//! hashing (RFC 6962 leaf hash) to the hash at the same place in the level-0 tile. `N` is written in
//! zero-padded groups of three digits, all but the last prefixed with `x`: 1234067 is `x001/x234/067`.
//!
//! Go's `golang.org/x/mod/sumdb/tlog` writes the height into the path (`tile/8/<L>/<N>`, `tile/8/data/<N>`);
//! the tiles' contents are the same.

use std::fmt;

use crate::error::{Error, Result};
use crate::hash::Hash;
use crate::tree::{HashReader, TILE_WIDTH, level_len};
use crate::wire::parse_decimal;

/// The highest level a tile path may name (C2SP: 0 to 63). A tree of 2^64 − 1 leaves uses levels 0 to 7.
pub const MAX_LEVEL: u8 = 63;

/// What a tile holds: hashes of one level, or entries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TileKind {
    Hashes { level: u8 },
    Entries,
}

/// One tile or entry bundle: its kind, its index `N` within its level, and its width (256 when full).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TilePath {
    kind: TileKind,
    index: u64,
    width: u16,
}

impl TilePath {
    /// Tile `index` of level `level` holding `width` hashes (256 for a full tile).
    pub fn hashes(level: u8, index: u64, width: u16) -> Result<TilePath> {
        if level > MAX_LEVEL {
            return Err(Error::malformed(
                "tile.level",
                format!("{level}: levels go from 0 to {MAX_LEVEL}"),
            ));
        }
        TilePath::new(TileKind::Hashes { level }, index, width)
    }

    /// Entry bundle `index` holding `width` entries (256 for a full bundle).
    pub fn entries(index: u64, width: u16) -> Result<TilePath> {
        TilePath::new(TileKind::Entries, index, width)
    }

    fn new(kind: TileKind, index: u64, width: u16) -> Result<TilePath> {
        if width == 0 || usize::from(width) > TILE_WIDTH {
            return Err(Error::malformed(
                "tile.width",
                format!("{width}: a tile holds 1 to 256"),
            ));
        }
        if index.checked_mul(TILE_WIDTH as u64).is_none() {
            return Err(Error::malformed(
                "tile.index",
                format!("{index} is past any 64-bit tree"),
            ));
        }
        Ok(TilePath { kind, index, width })
    }

    /// The tile of `kind` holding position `index_in_level` of its level (a hash index, or a leaf index for
    /// entries) as it stands in a tree of `size` leaves: full when complete, else the partial tile.
    pub fn containing(kind: TileKind, index_in_level: u64, size: u64) -> Result<TilePath> {
        let len = match kind {
            TileKind::Hashes { level } => level_len(level, size),
            TileKind::Entries => size,
        };
        if index_in_level >= len {
            return Err(Error::OutOfRange {
                field: "index",
                rule: format!("{index_in_level} is not stored at this level in a tree of size {size}"),
            });
        }
        let index = index_in_level / TILE_WIDTH as u64;
        let width = (len - index * TILE_WIDTH as u64).min(TILE_WIDTH as u64) as u16;
        TilePath::new(kind, index, width)
    }

    /// Reads a path `tile/<L>/<N>[.p/<W>]` or `tile/entries/<N>[.p/<W>]`, in its one canonical spelling.
    pub fn parse(path: &str) -> Result<TilePath> {
        let malformed = |rule: &str| Error::malformed("tile_path", format!("{path:?}: {rule}"));
        let rest = path
            .strip_prefix("tile/")
            .ok_or_else(|| malformed("does not start with tile/"))?;
        let (kind_text, rest) = rest
            .split_once('/')
            .ok_or_else(|| malformed("expected tile/<L>/<N> or tile/entries/<N>"))?;
        let kind = if kind_text == "entries" {
            TileKind::Entries
        } else {
            let level = parse_decimal("tile.level", kind_text)?;
            if level > u64::from(MAX_LEVEL) {
                return Err(malformed("levels go from 0 to 63"));
            }
            TileKind::Hashes { level: level as u8 }
        };
        let (index_text, width) = match rest.split_once(".p/") {
            Some((index_text, width_text)) => {
                let width = parse_decimal("tile.width", width_text)?;
                if !(1..TILE_WIDTH as u64).contains(&width) {
                    return Err(malformed("a partial tile holds 1 to 255"));
                }
                (index_text, width as u16)
            }
            None => (rest, TILE_WIDTH as u16),
        };
        let groups: Vec<&str> = index_text.split('/').collect();
        let mut index: u64 = 0;
        for (i, group) in groups.iter().enumerate() {
            let digits = if i + 1 < groups.len() {
                group
                    .strip_prefix('x')
                    .ok_or_else(|| malformed("all but the last index group start with x"))?
            } else {
                group
            };
            if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(malformed("index groups are three digits"));
            }
            index = index
                .checked_mul(1000)
                .and_then(|n| n.checked_add(digits.parse::<u64>().unwrap()))
                .ok_or_else(|| malformed("the index does not fit in 64 bits"))?;
        }
        let tile = TilePath::new(kind, index, width)?;
        if tile.to_string() != path {
            return Err(malformed("not the canonical spelling (no leading zero groups)"));
        }
        Ok(tile)
    }

    pub fn kind(&self) -> TileKind {
        self.kind
    }

    pub fn index(&self) -> u64 {
        self.index
    }

    pub fn width(&self) -> u16 {
        self.width
    }

    pub fn is_partial(&self) -> bool {
        usize::from(self.width) < TILE_WIDTH
    }

    /// The first position the tile holds within its level (a hash index, or a leaf index for entries).
    pub fn start(&self) -> u64 {
        self.index * TILE_WIDTH as u64
    }

    /// Whether a tree of `size` leaves holds everything this tile names (a log may serve it at that size).
    pub fn within(&self, size: u64) -> bool {
        let len = match self.kind {
            TileKind::Hashes { level } => level_len(level, size),
            TileKind::Entries => size,
        };
        self.start()
            .checked_add(u64::from(self.width))
            .is_some_and(|end| end <= len)
    }
}

impl fmt::Display for TilePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            TileKind::Hashes { level } => write!(f, "tile/{level}/")?,
            TileKind::Entries => f.write_str("tile/entries/")?,
        }
        let mut groups = Vec::new();
        let mut n = self.index;
        loop {
            groups.push(n % 1000);
            n /= 1000;
            if n == 0 {
                break;
            }
        }
        for (i, group) in groups.iter().rev().enumerate() {
            if i + 1 < groups.len() {
                write!(f, "x{group:03}/")?;
            } else {
                write!(f, "{group:03}")?;
            }
        }
        if self.is_partial() {
            write!(f, ".p/{}", self.width)?;
        }
        Ok(())
    }
}

/// The partial tiles of a tree of `size` leaves, one per level whose right edge is incomplete: those a log
/// must serve for each size it signed.
pub fn partial_tiles(size: u64) -> Vec<TilePath> {
    (0..crate::tree::level_count(size) as u8)
        .filter_map(|level| {
            let len = level_len(level, size);
            let width = (len % TILE_WIDTH as u64) as u16;
            (width > 0).then(|| {
                TilePath::hashes(level, len / TILE_WIDTH as u64, width).expect("a tile of a real tree")
            })
        })
        .collect()
}

/// The bytes of a hash tile, read from the stored levels: `width` hashes of 32 bytes.
pub fn read_tile(tile: &TilePath, reader: &impl HashReader) -> Result<Vec<u8>> {
    let TileKind::Hashes { level } = tile.kind else {
        return Err(Error::OutOfRange {
            field: "tile",
            rule: "entry bundles are read from the log, not from the tree's levels".to_owned(),
        });
    };
    let mut hashes: Vec<Hash> = vec![[0; 32]; usize::from(tile.width)];
    reader.read_hashes(level, tile.start(), &mut hashes)?;
    Ok(hashes.concat())
}

/// An entry bundle: each entry as a big-endian `u16` length and its bytes, at most 256 entries.
pub fn encode_entry_bundle<'a>(entries: impl IntoIterator<Item = &'a [u8]>) -> Result<Vec<u8>> {
    let mut bundle = Vec::new();
    for (i, entry) in entries.into_iter().enumerate() {
        if i == TILE_WIDTH {
            return Err(Error::malformed(
                "entry_bundle",
                "a bundle holds at most 256 entries",
            ));
        }
        let len = u16::try_from(entry.len()).map_err(|_| {
            Error::malformed(
                "entry_bundle",
                format!("entry {i} is {} bytes; at most 65535", entry.len()),
            )
        })?;
        bundle.extend_from_slice(&len.to_be_bytes());
        bundle.extend_from_slice(entry);
    }
    Ok(bundle)
}

/// Reads an entry bundle: length-prefixed entries to the last byte, at most 256.
pub fn decode_entry_bundle(bundle: &[u8]) -> Result<Vec<&[u8]>> {
    let mut entries = Vec::new();
    let mut rest = bundle;
    while !rest.is_empty() {
        if entries.len() == TILE_WIDTH {
            return Err(Error::malformed("entry_bundle", "more than 256 entries"));
        }
        let Some((len, after)) = rest.split_first_chunk::<2>() else {
            return Err(Error::malformed(
                "entry_bundle",
                format!("entry {} has a truncated length", entries.len()),
            ));
        };
        let len = usize::from(u16::from_be_bytes(*len));
        if after.len() < len {
            return Err(Error::malformed(
                "entry_bundle",
                format!(
                    "entry {} claims {len} bytes, {} remain",
                    entries.len(),
                    after.len()
                ),
            ));
        }
        let (entry, after) = after.split_at(len);
        entries.push(entry);
        rest = after;
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_spelled_as_the_specification_shows() {
        let cases = [
            (
                TilePath::hashes(0, 1_234_067, 256).unwrap(),
                "tile/0/x001/x234/067",
            ),
            (TilePath::hashes(0, 5, 256).unwrap(), "tile/0/005"),
            (TilePath::hashes(2, 1000, 17).unwrap(), "tile/2/x001/000.p/17"),
            (TilePath::entries(0, 1).unwrap(), "tile/entries/000.p/1"),
            (TilePath::entries(999, 256).unwrap(), "tile/entries/999"),
            (
                TilePath::hashes(63, u64::MAX / 256, 256).unwrap(),
                "tile/63/x072/x057/x594/x037/x927/935",
            ),
        ];
        for (tile, path) in cases {
            assert_eq!(tile.to_string(), path);
            assert_eq!(TilePath::parse(path).unwrap(), tile, "{path}");
        }
    }

    #[test]
    fn paths_have_one_spelling() {
        for bad in [
            "tile/0/5",
            "tile/0/0005",
            "tile/0/x000/005",
            "tile/00/005",
            "tile/64/005",
            "tile/0/001/002",
            "tile/0/x1/002",
            "tile/0/005.p/0",
            "tile/0/005.p/256",
            "tile/0/005.p/010",
            "tile/0/005.p/",
            "tile/0/005/",
            "tile/data/005",
            "tile/8/0/005",
            "/tile/0/005",
            "tile/entries/x018/x446/x744/x073/x709/x551/615",
        ] {
            assert!(TilePath::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn the_specification_example_size_has_its_partial_tiles() {
        // 70,000 leaves: L0 .p/112, L1 .p/17, L2 .p/1.
        let partial: Vec<String> = partial_tiles(70_000).iter().map(|t| t.to_string()).collect();
        assert_eq!(partial, ["tile/0/273.p/112", "tile/1/001.p/17", "tile/2/000.p/1"]);
        // 256 leaves: one full level-0 tile and a level-1 partial of width 1.
        let partial: Vec<String> = partial_tiles(256).iter().map(|t| t.to_string()).collect();
        assert_eq!(partial, ["tile/1/000.p/1"]);
        assert!(partial_tiles(0).is_empty());
        let tile = TilePath::containing(TileKind::Hashes { level: 0 }, 69_999, 70_000).unwrap();
        assert_eq!(tile.to_string(), "tile/0/273.p/112");
        assert!(tile.within(70_000) && !TilePath::hashes(0, 273, 113).unwrap().within(70_000));
        let tile = TilePath::containing(TileKind::Hashes { level: 0 }, 5, 70_000).unwrap();
        assert_eq!(tile.to_string(), "tile/0/000");
        assert!(TilePath::containing(TileKind::Entries, 70_000, 70_000).is_err());
    }

    #[test]
    fn entry_bundles_round_trip_and_refuse_truncation() {
        let entries: Vec<Vec<u8>> = vec![vec![], vec![1; 64], vec![2; 65_535]];
        let bundle = encode_entry_bundle(entries.iter().map(Vec::as_slice)).unwrap();
        assert_eq!(&bundle[..4], &[0, 0, 0, 64]);
        let decoded = decode_entry_bundle(&bundle).unwrap();
        assert_eq!(decoded, entries.iter().map(Vec::as_slice).collect::<Vec<_>>());
        assert!(decode_entry_bundle(&bundle[..bundle.len() - 1]).is_err());
        assert!(decode_entry_bundle(&[0]).is_err());
        assert!(encode_entry_bundle([vec![0u8; 65_536].as_slice()]).is_err());
        let many = [[0u8; 0]; 257];
        assert!(encode_entry_bundle(many.iter().map(|e| &e[..])).is_err());
        assert!(decode_entry_bundle(&[0u8; 2 * 257]).is_err());
        assert_eq!(decode_entry_bundle(&[0u8; 2 * 256]).unwrap().len(), 256);
    }
}
