//! The sled indexes: everything here can be derived from the log, and is, on open whenever sled is
//! missing, behind or inconsistent.
//!
//! Trees and their encodings (all integers big-endian so keys sort numerically):
//! * `streams`: `child_id ‖ 0x00 ‖ version:u64` → `segment:u32 ‖ offset:u64 ‖ len:u32 ‖ position:u64 ‖
//!   previous log hash:[32]`. A child's events are one prefix scan; the previous log hash lets an export
//!   link each record into the global chain without reading another child's record.
//! * `event_ids`: `event_id` → `position:u64 ‖ version:u64 ‖ recorded_at:i64 ‖ content digest:[32] ‖ child_id`.
//! * `positions` (sparse, every [`SPARSE_EVERY`]th position): `position:u64` → `segment:u32 ‖ offset:u64 ‖
//!   len:u32`. `read_all` seeks to the nearest entry at or before the wanted position and scans forward.
//! * `meta`: `checkpoint` → the last position indexed, its location in the log, its log hash and its
//!   recorded time; `format` → the index format. The checkpoint is written last in every batch, so
//!   whatever sled recovers, every record up to the checkpoint is indexed (sled recovers a prefix of its
//!   operations) and replaying the log from the checkpoint is idempotent.

use std::path::Path;

use crate::error::{Error, Result};
use crate::ids::{ChildId, EventId, Position, Version};
use crate::store::StoredEventRef;
use crate::store::log::EntryLocation;
use crate::time::Timestamp;

pub(crate) const SPARSE_EVERY: u64 = 64;
const FORMAT: &[u8] = b"journey-index/1";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct StreamEntry {
    pub location: EntryLocation,
    pub position: Position,
    pub previous_log_hash: [u8; 32],
}

/// How far the index has caught up with the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Checkpoint {
    pub position: Position,
    /// Where the record at `position` is in the log.
    pub location: EntryLocation,
    pub log_hash: [u8; 32],
    pub recorded_at: Timestamp,
}

/// One record's contribution to the indexes.
#[derive(Debug)]
pub(crate) struct IndexEntry {
    pub child_id: ChildId,
    pub version: Version,
    pub event_id: EventId,
    pub stored: StoredEventRef,
    pub stream: StreamEntry,
}

#[derive(Debug, Clone)]
pub(crate) struct Index {
    db: sled::Db,
    streams: sled::Tree,
    event_ids: sled::Tree,
    positions: sled::Tree,
    meta: sled::Tree,
}

fn location_bytes(l: &EntryLocation, out: &mut Vec<u8>) {
    out.extend_from_slice(&l.segment.to_be_bytes());
    out.extend_from_slice(&l.offset.to_be_bytes());
    out.extend_from_slice(&l.len.to_be_bytes());
}

fn read_location(b: &[u8]) -> EntryLocation {
    EntryLocation {
        segment: u32::from_be_bytes(b[0..4].try_into().expect("4 bytes")),
        offset: u64::from_be_bytes(b[4..12].try_into().expect("8 bytes")),
        len: u32::from_be_bytes(b[12..16].try_into().expect("4 bytes")),
    }
}

fn stream_prefix(child_id: &ChildId) -> Vec<u8> {
    let mut key = Vec::with_capacity(child_id.as_str().len() + 9);
    key.extend_from_slice(child_id.as_str().as_bytes());
    key.push(0);
    key
}

fn stream_key(child_id: &ChildId, version: Version) -> Vec<u8> {
    let mut key = stream_prefix(child_id);
    key.extend_from_slice(&version.0.to_be_bytes());
    key
}

fn bad(what: &str) -> Error {
    Error::Index(format!(
        "malformed {what} entry: rebuild the index (journey rebuild)"
    ))
}

impl Index {
    /// Opens (or creates) the index. `cache_bytes` bounds sled's page cache.
    pub fn open(dir: &Path, cache_bytes: u64) -> Result<Index> {
        let db = sled::Config::new().path(dir).cache_capacity(cache_bytes).open()?;
        let index = Index {
            streams: db.open_tree("streams")?,
            event_ids: db.open_tree("event_ids")?,
            positions: db.open_tree("positions")?,
            meta: db.open_tree("meta")?,
            db,
        };
        match index.meta.get("format")? {
            None => {
                index.meta.insert("format", FORMAT)?;
            }
            Some(f) if f.as_ref() == FORMAT => {}
            Some(_) => return Err(Error::Index("unknown index format".into())),
        }
        Ok(index)
    }

    pub fn checkpoint(&self) -> Result<Option<Checkpoint>> {
        let Some(v) = self.meta.get("checkpoint")? else {
            return Ok(None);
        };
        if v.len() != 8 + 16 + 32 + 8 {
            return Err(bad("checkpoint"));
        }
        Ok(Some(Checkpoint {
            position: Position(u64::from_be_bytes(v[0..8].try_into().expect("8"))),
            location: read_location(&v[8..24]),
            log_hash: v[24..56].try_into().expect("32"),
            recorded_at: Timestamp::from_micros(i64::from_be_bytes(v[56..64].try_into().expect("8")))
                .map_err(|_| bad("checkpoint"))?,
        }))
    }

    /// Indexes a run of consecutive records and moves the checkpoint past them, the checkpoint last.
    /// Indexes a run of consecutive records and moves the checkpoint past them, the checkpoint last.
    ///
    /// Plain inserts, not `sled::Batch`: sled 0.34's `apply_batch` writes and waits for its own I/O buffer on
    /// every call (doubling the cost of a group commit), and large batches hold one epoch pin so long that a
    /// rebuild's memory grows without bound (`docs/performance.md`). Atomicity across keys adds nothing here:
    /// the checkpoint goes last, and catching up from it re-applies identical values.
    pub fn apply(&self, entries: &[IndexEntry], checkpoint: Checkpoint) -> Result<()> {
        let mut buf = Vec::with_capacity(64);
        for e in entries {
            buf.clear();
            location_bytes(&e.stream.location, &mut buf);
            buf.extend_from_slice(&e.stream.position.0.to_be_bytes());
            buf.extend_from_slice(&e.stream.previous_log_hash);
            self.streams
                .insert(stream_key(&e.child_id, e.version), buf.as_slice())?;

            buf.clear();
            buf.extend_from_slice(&e.stored.position.0.to_be_bytes());
            buf.extend_from_slice(&e.stored.version.0.to_be_bytes());
            buf.extend_from_slice(&e.stored.recorded_at.as_micros().to_be_bytes());
            buf.extend_from_slice(&e.stored.content_digest);
            buf.extend_from_slice(e.stored.child_id.as_str().as_bytes());
            self.event_ids
                .insert(e.event_id.as_str().as_bytes(), buf.as_slice())?;

            if (e.stream.position.0 - 1) % SPARSE_EVERY == 0 {
                buf.clear();
                location_bytes(&e.stream.location, &mut buf);
                self.positions
                    .insert(e.stream.position.0.to_be_bytes(), buf.as_slice())?;
            }
        }
        let mut cp = Vec::with_capacity(64);
        cp.extend_from_slice(&checkpoint.position.0.to_be_bytes());
        location_bytes(&checkpoint.location, &mut cp);
        cp.extend_from_slice(&checkpoint.log_hash);
        cp.extend_from_slice(&checkpoint.recorded_at.as_micros().to_be_bytes());
        self.meta.insert("checkpoint", cp)?;
        Ok(())
    }

    pub fn event(&self, event_id: &EventId) -> Result<Option<StoredEventRef>> {
        let Some(v) = self.event_ids.get(event_id.as_str().as_bytes())? else {
            return Ok(None);
        };
        if v.len() < 56 {
            return Err(bad("event id"));
        }
        let child = std::str::from_utf8(&v[56..]).map_err(|_| bad("event id"))?;
        Ok(Some(StoredEventRef {
            position: Position(u64::from_be_bytes(v[0..8].try_into().expect("8"))),
            version: Version(u64::from_be_bytes(v[8..16].try_into().expect("8"))),
            recorded_at: Timestamp::from_micros(i64::from_be_bytes(v[16..24].try_into().expect("8")))
                .map_err(|_| bad("event id"))?,
            content_digest: v[24..56].try_into().expect("32"),
            child_id: ChildId::parse(child).map_err(|_| bad("event id"))?,
        }))
    }

    /// Up to `limit` of a child's entries from version `from`, in version order.
    pub fn stream(
        &self,
        child_id: &ChildId,
        from: Version,
        limit: usize,
    ) -> Result<Vec<(Version, StreamEntry)>> {
        let start = stream_key(child_id, from);
        let prefix = stream_prefix(child_id);
        let mut out = Vec::new();
        for item in self.streams.range(start..) {
            if out.len() >= limit {
                break;
            }
            let (k, v) = item?;
            if !k.starts_with(&prefix) || k.len() != prefix.len() + 8 {
                break;
            }
            if v.len() != 56 {
                return Err(bad("stream"));
            }
            let version = Version(u64::from_be_bytes(k[prefix.len()..].try_into().expect("8")));
            out.push((
                version,
                StreamEntry {
                    location: read_location(&v[0..16]),
                    position: Position(u64::from_be_bytes(v[16..24].try_into().expect("8"))),
                    previous_log_hash: v[24..56].try_into().expect("32"),
                },
            ));
        }
        Ok(out)
    }

    pub fn stream_version(&self, child_id: &ChildId) -> Result<Option<Version>> {
        let prefix = stream_prefix(child_id);
        match self.streams.scan_prefix(&prefix).next_back() {
            None => Ok(None),
            Some(item) => {
                let (k, _) = item?;
                let v = k
                    .get(prefix.len()..)
                    .and_then(|b| b.try_into().ok())
                    .ok_or_else(|| bad("stream"))?;
                Ok(Some(Version(u64::from_be_bytes(v))))
            }
        }
    }

    /// The nearest sparse position entry at or before `position`.
    pub fn seek(&self, position: Position) -> Result<Option<(Position, EntryLocation)>> {
        match self.positions.range(..=position.0.to_be_bytes()).next_back() {
            None => Ok(None),
            Some(item) => {
                let (k, v) = item?;
                if k.len() != 8 || v.len() != 16 {
                    return Err(bad("position"));
                }
                Ok(Some((
                    Position(u64::from_be_bytes(k.as_ref().try_into().expect("8"))),
                    read_location(&v),
                )))
            }
        }
    }

    pub fn flush(&self) -> Result<()> {
        self.db.flush()?;
        Ok(())
    }
}
