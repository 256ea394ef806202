//! The derived index: compact in-memory structures, persisted as snapshot files at checkpoints, and
//! everything in it derivable from the log — and derived from it on open whenever the snapshot is missing,
//! behind, damaged or inconsistent (ADR 5).
//!
//! In memory ([`MemIndex`], ≈ 26 bytes per event):
//! * **positions**: for every position, its log location packed into a `u64` (offset and length; the segment
//!   is kept once per run of positions in `segs`), and the 64-bit [`fingerprint`] of its event id;
//! * **streams**: for every child, its positions in version order (version *v* at index *v − 1*), as `u32`s;
//! * **event ids**: an open-addressing table of positions keyed by fingerprint. A hit is only a candidate:
//!   the writer confirms it by reading the stored record and comparing the event id itself, so a fingerprint
//!   collision can cost a read but never a wrong answer.
//!
//! The committer pushes each durable record under the index's write lock, so every table grows without
//! ever copying or rehashing the whole of itself at once (`tables.rs`): the cost of one push stays the same
//! at ten million records as at ten.
//!
//! On disk, in the index directory (all integers little-endian; each file's purpose is to make the next open
//! cheap, never to be the truth):
//! * `records`: append-only blocks, one or more per checkpoint. A block is `magic:u32 ‖ first_position:u64 ‖
//!   count:u32 ‖ runs:u32 ‖ crc32c:u32` (the CRC covers the three fields before it and the payload), then
//!   `runs × (first_position:u64 ‖ segment:u32)` and `count × (location:u64 ‖ fingerprint:u64 ‖ child:u32)`.
//! * `children`: append-only blocks of child ids in order of their first event (the child number is the index
//!   in that order): `magic:u32 ‖ first_child:u32 ‖ count:u32 ‖ payload_len:u32 ‖ crc32c:u32`, then
//!   `count × (len:u32 ‖ utf-8)`.
//! * `checkpoint`: the last position the files cover, its location, log hash and recorded time, and how many
//!   bytes of `records` and `children` belong to it; CRC-checked, replaced atomically (write, fsync, rename,
//!   fsync the directory) after the blocks it covers have been fdatasynced. Bytes of `records` or `children`
//!   beyond what the checkpoint covers (an interrupted checkpoint) are cut off on open.
//!
//! Positions are limited to `u32::MAX` (4.29 billion events, > 1 TB of log) by the compact stream and id
//! tables; the writer refuses appends beyond that rather than index them wrongly.

use std::fs::{self, File, OpenOptions};
use std::io::{BufReader, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

mod tables;

use self::tables::{ChildNumbers, ChunkedVec, IdTable};
use crate::log::EntryLocation;
use journey_core::error::{Error, Result};
use journey_core::ids::{ChildId, Position, Version};
use journey_core::time::Timestamp;

const CHECKPOINT_MAGIC: &[u8; 8] = b"JRNYIDX1";
const CHECKPOINT_FORMAT: u32 = 1;
const CHECKPOINT_LEN: usize = 8 + 4 + 8 + 4 + 8 + 4 + 32 + 8 + 8 + 8 + 4 + 4;
const RECORDS_MAGIC: u32 = 0x3152_4A49; // "IJR1"
const CHILDREN_MAGIC: u32 = 0x3143_4A49; // "IJC1"
const RECORD_LEN: usize = 8 + 8 + 4;
const RUN_LEN: usize = 8 + 4;
/// Records per block in `records`, so that loading reads bounded pieces and a checkpoint syncs them one
/// bounded piece at a time.
const BLOCK_RECORDS: usize = 65_536;
/// Children per block in `children`, for the same reasons.
const BLOCK_CHILDREN: usize = 65_536;
/// The largest position the compact tables can hold.
pub(crate) const MAX_POSITION: u64 = u32::MAX as u64;

const CHECKPOINT_FILE: &str = "checkpoint";
const RECORDS_FILE: &str = "records";
const CHILDREN_FILE: &str = "children";

/// The last record indexed: its position, where it is in the log, its log hash and its recorded time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Checkpoint {
    pub position: Position,
    pub location: EntryLocation,
    pub log_hash: [u8; 32],
    pub recorded_at: Timestamp,
}

/// The 64-bit fingerprint of an event id: FNV-1a over its bytes, then MurmurHash3's 64-bit finaliser.
/// Stored in snapshots, so it must never change.
pub(crate) fn fingerprint(event_id: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in event_id.as_bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

const LEN_BITS: u32 = 25;
const OFFSET_LIMIT: u64 = 1 << (64 - LEN_BITS);

fn pack(location: EntryLocation) -> Result<u64> {
    if location.offset >= OFFSET_LIMIT || u64::from(location.len) >= 1 << LEN_BITS {
        return Err(Error::Index(format!(
            "a log location out of the index's range: offset {} length {}",
            location.offset, location.len
        )));
    }
    Ok((location.offset << LEN_BITS) | u64::from(location.len))
}

fn unpack(segment: u32, packed: u64) -> EntryLocation {
    EntryLocation {
        segment,
        offset: packed >> LEN_BITS,
        len: (packed & ((1 << LEN_BITS) - 1)) as u32,
    }
}

/// The whole index, in memory. See the module documentation.
#[derive(Debug)]
pub(crate) struct MemIndex {
    /// `locs[p - 1]`: position *p*'s offset and length, packed.
    locs: ChunkedVec<u64>,
    /// `fps[p - 1]`: the fingerprint of position *p*'s event id.
    fps: ChunkedVec<u64>,
    /// `(first position, segment)` for each run of positions in one segment, ascending.
    segs: Vec<(u64, u32)>,
    /// `children[n]`: child number *n*'s id, in the order of their first records.
    children: ChunkedVec<ChildId>,
    numbers: ChildNumbers,
    /// `streams[n]`: child *n*'s positions, version order.
    streams: ChunkedVec<Vec<u32>>,
    ids: IdTable,
    last: Option<Checkpoint>,
    /// Positions up to this one, and children below this number, are in the snapshot files.
    saved_positions: u64,
    saved_children: u32,
    /// The child number of every position after `saved_positions`.
    unsaved_children: Vec<u32>,
}

/// What one checkpoint adds to the snapshot files. Taken from the index in two steps, so that the
/// committer never waits for a whole checkpoint's copy: [`MemIndex::begin_unsaved`] (under the write lock,
/// and constant time) says which records and children it covers; [`Delta::copy_from`] then copies them
/// piece by piece under the read lock. That is sound because what the index holds for a position or a
/// child never changes once pushed.
#[derive(Debug)]
pub(crate) struct Delta {
    first_position: u64,
    locs: Vec<u64>,
    fps: Vec<u64>,
    children_of: Vec<u32>,
    runs: Vec<(u64, u32)>,
    /// The new children's ids, serialised as the `children` file holds them, in blocks of at most
    /// [`BLOCK_CHILDREN`]: `(first child number, count, payload)`. Built straight from the index, with no
    /// copy of each id in between.
    children: Vec<(u32, u32, Vec<u8>)>,
    first_child: u32,
    /// The children the delta covers end before this number.
    end_child: u32,
    checkpoint: Checkpoint,
}

impl Delta {
    /// Copies up to `max` more of the delta's records and children from `index`. True once it holds them all.
    pub fn copy_from(&mut self, index: &MemIndex, max: usize) -> bool {
        let records = self.children_of.len();
        let from = self.locs.len();
        let to = records.min(from.saturating_add(max));
        let at = (self.first_position - 1) as usize + from;
        self.locs.extend(index.locs.iter_from(at).take(to - from));
        self.fps.extend(index.fps.iter_from(at).take(to - from));
        let children_from = self.copied_children();
        let children_to = (self.end_child as usize).min(children_from.saturating_add(max));
        for (number, id) in (children_from..children_to).zip(index.children.iter_from(children_from)) {
            match self.children.last_mut() {
                Some((_, count, payload)) if (*count as usize) < BLOCK_CHILDREN => {
                    *count += 1;
                    push_child(payload, id);
                }
                _ => {
                    let mut payload = Vec::new();
                    push_child(&mut payload, id);
                    self.children.push((number as u32, 1, payload));
                }
            }
        }
        self.locs.len() == records && self.copied_children() == self.end_child as usize
    }

    fn copied_children(&self) -> usize {
        self.children
            .last()
            .map_or(self.first_child as usize, |&(first, count, _)| {
                (first + count) as usize
            })
    }
}

/// A child id as the `children` file holds it: `len:u32 ‖ utf-8`.
fn push_child(payload: &mut Vec<u8>, id: &ChildId) {
    payload.extend_from_slice(&(id.as_str().len() as u32).to_le_bytes());
    payload.extend_from_slice(id.as_str().as_bytes());
}

impl MemIndex {
    /// An empty index whose event-id table has room for `events` before its shards first grow.
    pub fn with_capacity(events: usize) -> MemIndex {
        MemIndex {
            locs: ChunkedVec::default(),
            fps: ChunkedVec::default(),
            segs: Vec::new(),
            children: ChunkedVec::default(),
            numbers: ChildNumbers::default(),
            streams: ChunkedVec::default(),
            ids: IdTable::with_capacity(events),
            last: None,
            saved_positions: 0,
            saved_children: 0,
            unsaved_children: Vec::new(),
        }
    }

    /// Every child with a record, in the order each first appeared.
    pub fn children(&self) -> impl Iterator<Item = &ChildId> {
        self.children.iter()
    }

    /// How many records are indexed (= the last position).
    pub fn len(&self) -> u64 {
        self.locs.len() as u64
    }

    /// The last record indexed.
    pub fn last(&self) -> Option<Checkpoint> {
        self.last
    }

    /// Records indexed but not yet in the snapshot files.
    pub fn unsaved(&self) -> u64 {
        self.len() - self.saved_positions
    }

    /// Indexes the next record. `record` must be at the next position and be its child's next version.
    pub fn push(&mut self, child_id: &ChildId, version: Version, fp: u64, record: Checkpoint) -> Result<()> {
        let position = record.position.0;
        if position != self.len() + 1 || position > MAX_POSITION {
            return Err(Error::Index(format!(
                "record at position {position} cannot follow position {} in the index",
                self.len()
            )));
        }
        let packed = pack(record.location)?;
        let number = match self.numbers.get(child_id, &self.children) {
            Some(n) => n,
            None => {
                let n = u32::try_from(self.children.len())
                    .map_err(|_| Error::Index("too many children for the index".into()))?;
                self.children.push(child_id.clone());
                self.numbers.insert(n, &self.children);
                self.streams.push(Vec::new());
                n
            }
        };
        let stream = &mut self.streams[number as usize];
        if version.0 != stream.len() as u64 + 1 {
            return Err(Error::Index(format!(
                "{child_id} version {version} at position {position} does not follow version {}",
                stream.len()
            )));
        }
        stream.push(position as u32);
        if self
            .segs
            .last()
            .is_none_or(|&(_, s)| s != record.location.segment)
        {
            self.segs.push((position, record.location.segment));
        }
        self.locs.push(packed);
        self.fps.push(fp);
        self.ids.insert(fp, position as u32, &self.fps);
        self.unsaved_children.push(number);
        self.last = Some(record);
        Ok(())
    }

    /// Where position `p` is in the log.
    pub fn location(&self, p: u64) -> Option<EntryLocation> {
        let packed = *self.locs.get(usize::try_from(p.checked_sub(1)?).ok()?)?;
        let run = self.segs.partition_point(|&(first, _)| first <= p);
        Some(unpack(self.segs[run - 1].1, packed))
    }

    /// Up to `limit` of a child's records from version `from`: version, position and location.
    pub fn stream(
        &self,
        child_id: &ChildId,
        from: Version,
        limit: usize,
    ) -> Vec<(Version, Position, EntryLocation)> {
        let Some(n) = self.numbers.get(child_id, &self.children) else {
            return Vec::new();
        };
        let positions = &self.streams[n as usize];
        let start = (from.0.max(1) - 1).min(positions.len() as u64) as usize;
        let end = start.saturating_add(limit).min(positions.len());
        let mut out = Vec::with_capacity(end - start);
        let mut run = 0;
        for (i, &p) in positions[start..end].iter().enumerate() {
            let p = u64::from(p);
            // Positions ascend along a stream, so the segment run only moves forward.
            if run == 0 || self.segs.get(run).is_some_and(|&(first, _)| first <= p) {
                run = self.segs.partition_point(|&(first, _)| first <= p);
            }
            let location = unpack(self.segs[run - 1].1, self.locs[p as usize - 1]);
            out.push((Version((start + i) as u64 + 1), Position(p), location));
        }
        out
    }

    pub fn stream_version(&self, child_id: &ChildId) -> Option<Version> {
        let n = self.numbers.get(child_id, &self.children)?;
        Some(Version(self.streams[n as usize].len() as u64))
    }

    /// The positions whose event id has this fingerprint (almost always none or one), with their locations.
    pub fn candidates(&self, fp: u64) -> Vec<(Position, EntryLocation)> {
        self.ids
            .candidates(fp, &self.fps)
            .into_iter()
            .filter_map(|p| Some((Position(p), self.location(p)?)))
            .collect()
    }

    /// Everything indexed since the last call, for the snapshot files, copied at once. `None` if nothing is
    /// new. For a caller that holds the index alone (open, catch-up); the checkpointer, which shares it with
    /// the committer, uses [`MemIndex::begin_unsaved`].
    pub fn take_unsaved(&mut self) -> Option<Delta> {
        let mut delta = self.begin_unsaved()?;
        delta.copy_from(self, usize::MAX);
        Some(delta)
    }

    /// Marks everything indexed since the last call as taken for the snapshot files, and returns the delta
    /// still to be filled by [`Delta::copy_from`]. `None` if nothing is new. Constant time but for the
    /// segment runs (one per log segment written since).
    pub fn begin_unsaved(&mut self) -> Option<Delta> {
        let checkpoint = self.last?;
        if self.unsaved() == 0 {
            return None;
        }
        let first_position = self.saved_positions + 1;
        let mut runs: Vec<(u64, u32)> = Vec::new();
        let first_run = self.segs.partition_point(|&(first, _)| first <= first_position) - 1;
        runs.push((first_position, self.segs[first_run].1));
        runs.extend_from_slice(&self.segs[first_run + 1..]);
        let records = self.unsaved_children.len();
        let delta = Delta {
            first_position,
            // Sized once: growing by doubling would copy a checkpoint's worth of records several times.
            locs: Vec::with_capacity(records),
            fps: Vec::with_capacity(records),
            children_of: std::mem::take(&mut self.unsaved_children),
            runs,
            children: Vec::new(),
            first_child: self.saved_children,
            end_child: self.children.len() as u32,
            checkpoint,
        };
        self.saved_positions = self.len();
        self.saved_children = self.children.len() as u32;
        Some(delta)
    }

    /// Whether the index says of position `p` what the log holds there: the record at `location`, whose
    /// event id has fingerprint `fp`, version `version` of `child_id`. `Ok` for a position not indexed (yet).
    pub fn check_record(
        &self,
        p: Position,
        location: EntryLocation,
        fp: u64,
        child_id: &ChildId,
        version: Version,
    ) -> std::result::Result<(), String> {
        if p.0 > self.len() {
            return Ok(());
        }
        if self.location(p.0) != Some(location) {
            return Err(format!(
                "the index places position {p} at {:?}, the log holds it at segment {} byte {}",
                self.location(p.0),
                location.segment,
                location.offset
            ));
        }
        if self.fps[p.0 as usize - 1] != fp {
            return Err(format!(
                "the index's event-id fingerprint for position {p} is not the record's"
            ));
        }
        let listed = self
            .numbers
            .get(child_id, &self.children)
            .and_then(|n| self.streams[n as usize].get(usize::try_from(version.0).ok()?.checked_sub(1)?))
            .map(|&q| u64::from(q));
        if listed != Some(p.0) {
            return Err(format!(
                "the index lists {child_id} version {version} at position {listed:?}, the log at {p}"
            ));
        }
        Ok(())
    }

    /// Gives back memory that growing by doubling left unused (after loading or rebuilding).
    pub fn shrink(&mut self) {
        for s in self.streams.iter_mut() {
            s.shrink_to_fit();
        }
        self.unsaved_children.shrink_to_fit();
    }
}

fn crc_of(parts: &[&[u8]]) -> u32 {
    parts.iter().fold(0, |crc, p| crc32c::crc32c_append(crc, p))
}

/// The snapshot files of one index directory, open for appending.
#[derive(Debug)]
pub(crate) struct SnapshotFiles {
    dir: PathBuf,
    records: File,
    children: File,
    records_len: u64,
    children_len: u64,
    children_count: u32,
    /// Set after a failed write: later checkpoints are skipped (the next open catches up from the last good
    /// one), since the files would otherwise have a hole.
    pub failed: bool,
}

fn open_rw(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
}

impl SnapshotFiles {
    /// Starts empty snapshot files in `dir` (which must exist), replacing any.
    pub fn create(dir: &Path) -> Result<SnapshotFiles> {
        let _ = fs::remove_file(dir.join(CHECKPOINT_FILE));
        let records = open_rw(&dir.join(RECORDS_FILE))?;
        records.set_len(0)?;
        let children = open_rw(&dir.join(CHILDREN_FILE))?;
        children.set_len(0)?;
        Ok(SnapshotFiles {
            dir: dir.to_path_buf(),
            records,
            children,
            records_len: 0,
            children_len: 0,
            children_count: 0,
            failed: false,
        })
    }

    /// Appends a checkpoint's records and children, syncs them, then replaces the checkpoint file. Each block
    /// (at most 65,536 records or children, about 1.3 MB) is synced on its own: a checkpoint of a million
    /// records synced at once puts tens of megabytes in the disk's queue ahead of the log's next sync, and
    /// every append waiting on that sync with it.
    pub fn append(&mut self, delta: &Delta) -> Result<()> {
        // Children first: records refer to them.
        for (first_child, count, payload) in &delta.children {
            debug_assert_eq!(*first_child, self.children_count);
            let mut fields = Vec::with_capacity(12);
            fields.extend_from_slice(&first_child.to_le_bytes());
            fields.extend_from_slice(&count.to_le_bytes());
            fields.extend_from_slice(&(payload.len() as u32).to_le_bytes());
            let mut block = Vec::with_capacity(20 + payload.len());
            block.extend_from_slice(&CHILDREN_MAGIC.to_le_bytes());
            block.extend_from_slice(&fields);
            block.extend_from_slice(&crc_of(&[&fields, payload]).to_le_bytes());
            block.extend_from_slice(payload);
            self.children.write_all_at(&block, self.children_len)?;
            self.children.sync_data()?;
            self.children_len += block.len() as u64;
            self.children_count += count;
        }
        let mut block = Vec::new();
        let mut start = 0;
        while start < delta.locs.len() {
            let end = (start + BLOCK_RECORDS).min(delta.locs.len());
            let first = delta.first_position + start as u64;
            let last = delta.first_position + end as u64 - 1;
            // The runs this block needs: the one its first position is in, and any that start inside it.
            let at = delta.runs.partition_point(|&(p, _)| p <= first) - 1;
            let mut runs = vec![(first, delta.runs[at].1)];
            runs.extend(delta.runs[at + 1..].iter().take_while(|&&(p, _)| p <= last));
            let mut fields = Vec::with_capacity(16);
            fields.extend_from_slice(&first.to_le_bytes());
            fields.extend_from_slice(&((end - start) as u32).to_le_bytes());
            fields.extend_from_slice(&(runs.len() as u32).to_le_bytes());
            let mut payload = Vec::with_capacity(runs.len() * RUN_LEN + (end - start) * RECORD_LEN);
            for (p, s) in &runs {
                payload.extend_from_slice(&p.to_le_bytes());
                payload.extend_from_slice(&s.to_le_bytes());
            }
            for i in start..end {
                payload.extend_from_slice(&delta.locs[i].to_le_bytes());
                payload.extend_from_slice(&delta.fps[i].to_le_bytes());
                payload.extend_from_slice(&delta.children_of[i].to_le_bytes());
            }
            block.clear();
            block.extend_from_slice(&RECORDS_MAGIC.to_le_bytes());
            block.extend_from_slice(&fields);
            block.extend_from_slice(&crc_of(&[&fields, &payload]).to_le_bytes());
            block.extend_from_slice(&payload);
            self.records.write_all_at(&block, self.records_len)?;
            self.records.sync_data()?;
            self.records_len += block.len() as u64;
            start = end;
        }
        self.write_checkpoint(&delta.checkpoint)
    }

    fn write_checkpoint(&self, cp: &Checkpoint) -> Result<()> {
        let mut b = Vec::with_capacity(CHECKPOINT_LEN);
        b.extend_from_slice(CHECKPOINT_MAGIC);
        b.extend_from_slice(&CHECKPOINT_FORMAT.to_le_bytes());
        b.extend_from_slice(&cp.position.0.to_le_bytes());
        b.extend_from_slice(&cp.location.segment.to_le_bytes());
        b.extend_from_slice(&cp.location.offset.to_le_bytes());
        b.extend_from_slice(&cp.location.len.to_le_bytes());
        b.extend_from_slice(&cp.log_hash);
        b.extend_from_slice(&cp.recorded_at.as_micros().to_le_bytes());
        b.extend_from_slice(&self.records_len.to_le_bytes());
        b.extend_from_slice(&self.children_len.to_le_bytes());
        b.extend_from_slice(&self.children_count.to_le_bytes());
        b.extend_from_slice(&crc32c::crc32c(&b).to_le_bytes());
        debug_assert_eq!(b.len(), CHECKPOINT_LEN);
        let tmp = self.dir.join("checkpoint.tmp");
        let mut f = File::create(&tmp)?;
        f.write_all(&b)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, self.dir.join(CHECKPOINT_FILE))?;
        File::open(&self.dir)?.sync_all()?;
        Ok(())
    }
}

/// The checkpoint file's contents.
struct Stored {
    checkpoint: Checkpoint,
    records_len: u64,
    children_len: u64,
    children_count: u32,
}

/// Why a snapshot could not be used: absent (a new or deleted index), or unusable (with the reason).
#[derive(Debug)]
pub(crate) enum Unusable {
    Missing,
    Damaged(String),
}

fn damaged(why: impl Into<String>) -> Unusable {
    Unusable::Damaged(why.into())
}

/// The checkpoint in `dir`, if it is there and whole: it names a record that was durable when it was
/// written (the index holds only durable records), which makes it evidence of how far the log reached.
pub(crate) fn read_checkpoint(dir: &Path) -> std::result::Result<Checkpoint, Unusable> {
    read_stored(dir).map(|stored| stored.checkpoint)
}

fn read_stored(dir: &Path) -> std::result::Result<Stored, Unusable> {
    let b = match fs::read(dir.join(CHECKPOINT_FILE)) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(Unusable::Missing),
        Err(e) => return Err(damaged(format!("the index checkpoint cannot be read: {e}"))),
    };
    if b.len() != CHECKPOINT_LEN || &b[0..8] != CHECKPOINT_MAGIC {
        return Err(damaged("the index checkpoint is not a checkpoint file"));
    }
    let (body, crc) = b.split_at(CHECKPOINT_LEN - 4);
    if crc32c::crc32c(body) != u32::from_le_bytes(crc.try_into().expect("4")) {
        return Err(damaged("the index checkpoint's CRC does not match"));
    }
    let u32_at = |i: usize| u32::from_le_bytes(b[i..i + 4].try_into().expect("4"));
    let u64_at = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().expect("8"));
    if u32_at(8) != CHECKPOINT_FORMAT {
        return Err(damaged(format!("unknown index format {}", u32_at(8))));
    }
    let recorded_at = Timestamp::from_micros(u64_at(68) as i64)
        .map_err(|_| damaged("the index checkpoint's recorded time is out of range"))?;
    Ok(Stored {
        checkpoint: Checkpoint {
            position: Position(u64_at(12)),
            location: EntryLocation {
                segment: u32_at(20),
                offset: u64_at(24),
                len: u32_at(32),
            },
            log_hash: b[36..68].try_into().expect("32"),
            recorded_at,
        },
        records_len: u64_at(76),
        children_len: u64_at(84),
        children_count: u32_at(92),
    })
}

/// Reads exactly `len` bytes from `r`, or says why not.
fn read_exact(
    r: &mut impl Read,
    buf: &mut Vec<u8>,
    len: usize,
    what: &str,
) -> std::result::Result<(), Unusable> {
    buf.clear();
    buf.resize(len, 0);
    r.read_exact(buf)
        .map_err(|e| damaged(format!("the index {what} file ends early or cannot be read: {e}")))
}

/// Loads the snapshot in `dir`: the index as of its checkpoint, and the files open for further checkpoints.
/// `check` is asked whether the checkpoint matches the log before anything large is read. Anything missing,
/// damaged or inconsistent is [`Unusable`]; nothing here is trusted beyond its CRCs and a few cross-checks,
/// and reads still check every record they serve against the index.
pub(crate) fn load(
    dir: &Path,
    check: impl FnOnce(&Checkpoint) -> std::result::Result<(), String>,
) -> std::result::Result<(MemIndex, SnapshotFiles), Unusable> {
    let (index, files) = load_as(dir, check, true)?;
    Ok((index, files.expect("loaded for writing")))
}

/// [`load`], modifying nothing (bytes an interrupted checkpoint left are ignored, not cut): for verifying.
pub(crate) fn load_read_only(
    dir: &Path,
    check: impl FnOnce(&Checkpoint) -> std::result::Result<(), String>,
) -> std::result::Result<MemIndex, Unusable> {
    load_as(dir, check, false).map(|(index, _)| index)
}

fn load_as(
    dir: &Path,
    check: impl FnOnce(&Checkpoint) -> std::result::Result<(), String>,
    writable: bool,
) -> std::result::Result<(MemIndex, Option<SnapshotFiles>), Unusable> {
    let stored = read_stored(dir)?;
    let cp = stored.checkpoint;
    check(&cp).map_err(Unusable::Damaged)?;
    let io = |e: std::io::Error| damaged(format!("the index files cannot be opened: {e}"));
    let open = |name: &str| {
        if writable {
            open_rw(&dir.join(name))
        } else {
            File::open(dir.join(name))
        }
    };
    let records = open(RECORDS_FILE).map_err(io)?;
    let children = open(CHILDREN_FILE).map_err(io)?;
    for (file, len, name) in [
        (&records, stored.records_len, "records"),
        (&children, stored.children_len, "children"),
    ] {
        let actual = file.metadata().map_err(io)?.len();
        if actual < len {
            return Err(damaged(format!(
                "the index {name} file is shorter than its checkpoint says"
            )));
        }
        if actual > len && writable {
            // An interrupted checkpoint: its blocks are not covered, drop them.
            file.set_len(len).map_err(io)?;
        }
    }
    // The id table is built once everything is read.
    let mut index = MemIndex::with_capacity(0);

    let mut buf = Vec::new();
    let mut r = BufReader::with_capacity(1 << 20, &children);
    let mut read = 0u64;
    while read < stored.children_len {
        read_exact(&mut r, &mut buf, 20, "children")?;
        let word = |i: usize| u32::from_le_bytes(buf[i..i + 4].try_into().expect("4"));
        let (magic, first, count, len, crc) = (word(0), word(4), word(8), word(12), word(16));
        let fields = buf[4..16].to_vec();
        if magic != CHILDREN_MAGIC || first as usize != index.children.len() {
            return Err(damaged("the index children file has a bad block header"));
        }
        read_exact(&mut r, &mut buf, len as usize, "children")?;
        if crc_of(&[&fields, &buf]) != crc {
            return Err(damaged("an index children block's CRC does not match"));
        }
        let mut at = 0usize;
        for _ in 0..count {
            let n = buf
                .get(at..at + 4)
                .map(|b| u32::from_le_bytes(b.try_into().expect("4")) as usize)
                .ok_or_else(|| damaged("an index children block is malformed"))?;
            let id = buf
                .get(at + 4..at + 4 + n)
                .and_then(|b| std::str::from_utf8(b).ok())
                .and_then(|s| ChildId::parse(s).ok())
                .ok_or_else(|| damaged("an index children block holds an invalid child id"))?;
            at += 4 + n;
            let number = index.children.len() as u32;
            index.children.push(id);
            if !index.numbers.insert(number, &index.children) {
                return Err(damaged("a child appears twice in the index children file"));
            }
            index.streams.push(Vec::new());
        }
        if at != buf.len() {
            return Err(damaged("an index children block is malformed"));
        }
        read += 20 + u64::from(len);
    }
    if index.children.len() != stored.children_count as usize {
        return Err(damaged("the index children file does not match its checkpoint"));
    }

    let mut r = BufReader::with_capacity(1 << 20, &records);
    let mut read = 0u64;
    while read < stored.records_len {
        read_exact(&mut r, &mut buf, 24, "records")?;
        let u32_at = |b: &[u8], i: usize| u32::from_le_bytes(b[i..i + 4].try_into().expect("4"));
        let u64_at = |b: &[u8], i: usize| u64::from_le_bytes(b[i..i + 8].try_into().expect("8"));
        let (magic, first, count, nruns, crc) = (
            u32_at(&buf, 0),
            u64_at(&buf, 4),
            u32_at(&buf, 12),
            u32_at(&buf, 16),
            u32_at(&buf, 20),
        );
        let fields = buf[4..20].to_vec();
        if magic != RECORDS_MAGIC || first != index.len() + 1 || count == 0 || nruns == 0 {
            return Err(damaged("the index records file has a bad block header"));
        }
        let len = nruns as usize * RUN_LEN + count as usize * RECORD_LEN;
        read_exact(&mut r, &mut buf, len, "records")?;
        if crc_of(&[&fields, &buf]) != crc {
            return Err(damaged("an index records block's CRC does not match"));
        }
        let (runs, recs) = buf.split_at(nruns as usize * RUN_LEN);
        for run in runs.chunks_exact(RUN_LEN) {
            let (p, s) = (u64_at(run, 0), u32_at(run, 8));
            match index.segs.last() {
                Some(&(lp, ls)) if p <= lp || s <= ls => {
                    if p == first && s == ls {
                        continue; // the run the block starts in, already known
                    }
                    return Err(damaged("the index records file's segment runs do not ascend"));
                }
                _ => index.segs.push((p, s)),
            }
        }
        if index.segs.first().is_none_or(|&(p, _)| p != 1) {
            return Err(damaged(
                "the index records file's segment runs do not start at position 1",
            ));
        }
        for rec in recs.chunks_exact(RECORD_LEN) {
            let (loc, fp, child) = (u64_at(rec, 0), u64_at(rec, 8), u32_at(rec, 16));
            let position = index.len() + 1;
            if position > MAX_POSITION {
                return Err(damaged("too many records"));
            }
            let stream = index
                .streams
                .get_mut(child as usize)
                .ok_or_else(|| damaged("an index record names an unknown child"))?;
            stream.push(position as u32);
            index.locs.push(loc);
            index.fps.push(fp);
        }
        read += 24 + len as u64;
    }
    if index.len() != cp.position.0 {
        return Err(damaged(format!(
            "the index files hold {} records but the checkpoint says {}",
            index.len(),
            cp.position
        )));
    }
    if cp.position.0 > 0 && index.location(cp.position.0) != Some(cp.location) {
        return Err(damaged("the index's last location does not match its checkpoint"));
    }
    if index.streams.iter().any(Vec::is_empty) {
        return Err(damaged("the index names a child without records"));
    }
    index.ids = IdTable::build(&index.fps);
    index.last = (cp.position.0 > 0).then_some(cp);
    index.saved_positions = index.len();
    index.saved_children = index.children.len() as u32;
    index.shrink();
    let files = writable.then(|| SnapshotFiles {
        dir: dir.to_path_buf(),
        records,
        children,
        records_len: stored.records_len,
        children_len: stored.children_len,
        children_count: stored.children_count,
        failed: false,
    });
    Ok((index, files))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc(segment: u32, offset: u64) -> EntryLocation {
        EntryLocation {
            segment,
            offset,
            len: 300,
        }
    }

    fn record(p: u64, l: EntryLocation) -> Checkpoint {
        Checkpoint {
            position: Position(p),
            location: l,
            log_hash: [p as u8; 32],
            recorded_at: Timestamp::UNIX_EPOCH,
        }
    }

    /// Pushes position `p` as the next version of child `c{p % 7}`.
    fn push_next(index: &mut MemIndex, p: u64, fp: u64, l: EntryLocation) {
        let child = ChildId::parse(format!("c{}", p % 7)).unwrap();
        let version = Version(index.stream_version(&child).map_or(0, |v| v.0) + 1);
        index.push(&child, version, fp, record(p, l)).unwrap();
    }

    /// Pushes position `p` of `whole` into `index`.
    fn push_from(index: &mut MemIndex, whole: &MemIndex, p: u64) {
        push_next(index, p, whole.fps[p as usize - 1], whole.location(p).unwrap());
    }

    fn filled(n: u64) -> MemIndex {
        let mut index = MemIndex::with_capacity(0);
        for p in 1..=n {
            let l = loc(1 + (p / 1000) as u32, 16 + (p % 1000) * 312);
            push_next(&mut index, p, fingerprint(&format!("e{p}")), l);
        }
        index
    }

    #[test]
    fn the_fingerprint_is_frozen() {
        // Snapshots store fingerprints: changing the function would make every snapshot lie.
        assert_eq!(fingerprint(""), 0xefd0_1f60_ba99_2926);
        assert_eq!(fingerprint("contact-1"), 0x1df0_510b_d183_c905);
    }

    #[test]
    fn lookups_find_what_was_pushed() {
        let index = filled(5_000);
        for p in [1u64, 2, 999, 1000, 1001, 4_999, 5_000] {
            let hits = index.candidates(fingerprint(&format!("e{p}")));
            assert_eq!(hits.len(), 1);
            assert_eq!(hits[0].0, Position(p));
            assert_eq!(Some(hits[0].1), index.location(p));
            assert_eq!(hits[0].1, loc(1 + (p / 1000) as u32, 16 + (p % 1000) * 312));
        }
        assert!(index.candidates(fingerprint("nope")).is_empty());
        let c3 = ChildId::parse("c3").unwrap();
        let s = index.stream(&c3, Version(2), 3);
        assert_eq!(s.iter().map(|e| e.1.0).collect::<Vec<_>>(), vec![10, 17, 24]);
        assert_eq!(s[0].0, Version(2));
        assert_eq!(index.stream(&c3, Version(10_000), 3), vec![]);
        assert_eq!(index.stream_version(&c3), Some(Version(714)));
    }

    #[test]
    fn a_delta_copied_in_pieces_while_records_arrive_is_the_delta_taken_at_once() {
        // The checkpointer takes the delta's extent under the write lock, then copies it piece by piece
        // while the committer goes on pushing: the later records must not leak into it.
        let whole = filled(10_000);
        let mut at_once = filled(6_000);
        let expected = at_once.take_unsaved().unwrap();
        let mut index = filled(6_000);
        let mut delta = index.begin_unsaved().unwrap();
        let mut pieces = 0;
        let mut p = 6_001u64;
        while !delta.copy_from(&index, 7) {
            pieces += 1;
            if p <= 10_000 {
                push_from(&mut index, &whole, p);
                p += 1;
            }
        }
        assert!(pieces > 800, "copied in {pieces} pieces");
        assert_eq!(delta.locs, expected.locs);
        assert_eq!(delta.fps, expected.fps);
        assert_eq!(delta.children_of, expected.children_of);
        assert_eq!(delta.children, expected.children);
        assert_eq!(delta.children.len(), 1);
        assert_eq!(delta.children[0].1, 7);
        assert_eq!(delta.runs, expected.runs);
        assert_eq!(delta.checkpoint, expected.checkpoint);
        // The records pushed meanwhile are the next delta's.
        let next = index.take_unsaved().unwrap();
        assert_eq!(next.first_position, 6_001);
        assert_eq!(next.locs.len() as u64, p - 6_001);
    }

    #[test]
    fn a_checkpoint_of_many_new_children_is_written_in_blocks_and_loads_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut files = SnapshotFiles::create(dir.path()).unwrap();
        let mut index = MemIndex::with_capacity(0);
        let children = BLOCK_CHILDREN * 2 + 5;
        for p in 1..=children as u64 {
            let child = ChildId::parse(format!("child-{p}")).unwrap();
            index
                .push(
                    &child,
                    Version(1),
                    fingerprint(&format!("e{p}")),
                    record(p, loc(1, 16 + p * 312)),
                )
                .unwrap();
        }
        let delta = index.take_unsaved().unwrap();
        assert_eq!(
            delta.children.len(),
            3,
            "blocks of at most {BLOCK_CHILDREN} children"
        );
        files.append(&delta).unwrap();
        let (loaded, _) = load(dir.path(), |_| Ok(())).unwrap();
        assert_eq!(loaded.children, index.children);
        let last = ChildId::parse(format!("child-{children}")).unwrap();
        assert_eq!(loaded.stream_version(&last), Some(Version(1)));
    }

    #[test]
    fn snapshots_round_trip_across_several_checkpoints() {
        let dir = tempfile::tempdir().unwrap();
        let mut index = MemIndex::with_capacity(0);
        let mut files = SnapshotFiles::create(dir.path()).unwrap();
        let whole = filled(200_000);
        for p in 1..=200_000u64 {
            push_from(&mut index, &whole, p);
            if p % 70_001 == 0 || p == 200_000 {
                files.append(&index.take_unsaved().unwrap()).unwrap();
            }
        }
        let (loaded, _) = load(dir.path(), |_| Ok(())).unwrap();
        assert_eq!(loaded.locs, whole.locs);
        assert_eq!(loaded.fps, whole.fps);
        assert_eq!(loaded.segs, whole.segs);
        assert_eq!(loaded.streams, whole.streams);
        assert_eq!(loaded.last, whole.last);
        for p in (1..=200_000u64).step_by(997) {
            let hits = loaded.candidates(whole.fps[p as usize - 1]);
            assert!(hits.iter().any(|h| h.0 == Position(p)), "{p}");
        }
        assert_eq!(loaded.ids.occupied(), 200_000);
        // A damaged byte is found.
        let path = dir.path().join(RECORDS_FILE);
        let mut bytes = fs::read(&path).unwrap();
        bytes[1_000] ^= 1;
        fs::write(&path, bytes).unwrap();
        assert!(matches!(load(dir.path(), |_| Ok(())), Err(Unusable::Damaged(_))));
    }
}
