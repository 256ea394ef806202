//! The checkpoints this log signed and the cosignatures witnesses sent, durably, in
//! `<data>/checkpoints/`: a `crate::log` of their own, so every record is a CRC'd frame, written with one
//! `write` and one `fdatasync` before it is acknowledged, recovered after a crash by the same rules as the
//! children's log (a torn tail only after the durable mark; a log that ends before its mark is refused).
//!
//! Not the system journal: the checkpoints belong with the tree they were signed over (the store checks the
//! tree against the last one when it opens, and `verify` checks every one against the log), and the store
//! must refuse a checkpoint that contradicts a stored one atomically with writing it, which a log the store
//! owns does under one lock. Not in `tree/` either: the tree is derived and may be thrown away and rebuilt;
//! checkpoints and cosignatures are records of what was said, and nothing rebuilds them.
//!
//! Each entry is one record: byte `1` then a checkpoint (`size u64 ‖ root[32] ‖ signed_at i64 µs ‖ note`), or
//! byte `2` then a cosignature (`size u64 ‖ received_at i64 µs ‖ the signature line`), integers big-endian.
//! Read into memory on open (sizes, roots, locations); notes and lines are read when asked for.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Mutex, PoisonError, RwLock};

use journey_core::error::{Error, LogLocation, Result};
use journey_core::store::tree::{StoredCheckpoint, StoredCosignature, check_new_checkpoint};
use journey_core::time::Timestamp;
use journey_core::tlog::Hash;

use crate::log::{self, DurableMark, EntryLocation, LogOptions, LogReader, LogWriter};

pub(crate) const CHECKPOINTS_DIR: &str = "checkpoints";

const CHECKPOINT: u8 = 1;
const COSIGNATURE: u8 = 2;

enum Record {
    Checkpoint(StoredCheckpoint),
    Cosignature {
        size: u64,
        received_at: Timestamp,
        line: String,
    },
}

fn encode(record: &Record) -> Vec<u8> {
    let mut bytes = Vec::new();
    match record {
        Record::Checkpoint(c) => {
            bytes.push(CHECKPOINT);
            bytes.extend_from_slice(&c.size.to_be_bytes());
            bytes.extend_from_slice(&c.root);
            bytes.extend_from_slice(&c.signed_at.as_micros().to_be_bytes());
            bytes.extend_from_slice(&c.note);
        }
        Record::Cosignature {
            size,
            received_at,
            line,
        } => {
            bytes.push(COSIGNATURE);
            bytes.extend_from_slice(&size.to_be_bytes());
            bytes.extend_from_slice(&received_at.as_micros().to_be_bytes());
            bytes.extend_from_slice(line.as_bytes());
        }
    }
    bytes
}

fn corrupt(at: EntryLocation, detail: impl Into<String>) -> Error {
    Error::Corrupt {
        location: LogLocation {
            segment: format!("checkpoints {}", at.segment),
            offset: at.offset,
            position: None,
        },
        detail: detail.into(),
    }
}

fn decode(bytes: &[u8], at: EntryLocation) -> Result<Record> {
    let u64_at = |i: usize| -> Result<u64> {
        bytes
            .get(i..i + 8)
            .map(|b| u64::from_be_bytes(b.try_into().expect("8 bytes")))
            .ok_or_else(|| corrupt(at, "a checkpoint record is truncated"))
    };
    let time_at = |i: usize| -> Result<Timestamp> {
        Timestamp::from_micros(u64_at(i)? as i64).map_err(|e| corrupt(at, e.to_string()))
    };
    match bytes.first() {
        Some(&CHECKPOINT) if bytes.len() >= 1 + 8 + 32 + 8 => Ok(Record::Checkpoint(StoredCheckpoint {
            size: u64_at(1)?,
            root: bytes[9..41].try_into().expect("32 bytes"),
            signed_at: time_at(41)?,
            note: bytes[49..].to_vec(),
        })),
        Some(&COSIGNATURE) if bytes.len() >= 1 + 8 + 8 => Ok(Record::Cosignature {
            size: u64_at(1)?,
            received_at: time_at(9)?,
            line: String::from_utf8(bytes[17..].to_vec())
                .map_err(|_| corrupt(at, "a cosignature line is not UTF-8"))?,
        }),
        _ => Err(corrupt(at, "not a checkpoint or cosignature record")),
    }
}

#[derive(Debug, Clone, Copy)]
struct CheckpointAt {
    size: u64,
    root: Hash,
    location: EntryLocation,
}

#[derive(Debug, Default)]
struct Index {
    /// In the order stored, which is by size.
    checkpoints: Vec<CheckpointAt>,
    /// `(size, location)` of every cosignature, in the order received.
    cosignatures: Vec<(u64, EntryLocation)>,
    cosigned: BTreeSet<u64>,
    entries: u64,
    last_hash: Hash,
}

impl Index {
    fn add(&mut self, record: &Record, location: EntryLocation, bytes: &[u8]) {
        match record {
            Record::Checkpoint(c) => self.checkpoints.push(CheckpointAt {
                size: c.size,
                root: c.root,
                location,
            }),
            Record::Cosignature { size, .. } => {
                self.cosignatures.push((*size, location));
                self.cosigned.insert(*size);
            }
        }
        self.entries += 1;
        self.last_hash = journey_core::tlog::leaf_hash(bytes);
    }
}

/// The checkpoints log of one data directory.
#[derive(Debug)]
pub(crate) struct CheckpointLog {
    /// `None` when opened read-only.
    writer: Mutex<Option<LogWriter>>,
    reader: LogReader,
    index: RwLock<Index>,
}

impl CheckpointLog {
    /// Opens (creating) the checkpoints log in `dir`, refusing one that ends before its mark.
    pub(crate) fn open(dir: &Path, options: LogOptions) -> Result<CheckpointLog> {
        let (mut writer, reader, report) = log::open(dir, options)?;
        let index = read_all(&reader, report.mark)?;
        writer.mark_durable(log::Head {
            entries: index.entries,
            hash: index.last_hash,
        })?;
        Ok(CheckpointLog {
            writer: Mutex::new(Some(writer)),
            reader,
            index: RwLock::new(index),
        })
    }

    /// Opens it for reading only (`journey verify`), modifying nothing; `None` if the directory has none.
    pub(crate) fn open_read_only(dir: &Path) -> Result<Option<CheckpointLog>> {
        if !dir.is_dir() {
            return Ok(None);
        }
        let (reader, report) = log::open_read_only(dir)?;
        let index = read_all(&reader, report.mark)?;
        Ok(Some(CheckpointLog {
            writer: Mutex::new(None),
            reader,
            index: RwLock::new(index),
        }))
    }

    fn index(&self) -> std::sync::RwLockReadGuard<'_, Index> {
        self.index.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Writes one record durably (one write, one `fdatasync`) and indexes it. Called with the writer locked.
    fn append(&self, writer: &mut Option<LogWriter>, record: &Record) -> Result<()> {
        let writer = writer
            .as_mut()
            .ok_or_else(|| Error::Closed("the checkpoints log is open for reading only".into()))?;
        let bytes = encode(record);
        let locations = writer.write_batch(&[&bytes])?;
        let mut index = self.index.write().unwrap_or_else(PoisonError::into_inner);
        writer.set_head(log::Head {
            entries: index.entries + 1,
            hash: journey_core::tlog::leaf_hash(&bytes),
        });
        writer.sync()?;
        index.add(record, locations[0], &bytes);
        Ok(())
    }

    pub(crate) fn store_checkpoint(&self, checkpoint: StoredCheckpoint) -> Result<StoredCheckpoint> {
        let mut writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(stored) = check_new_checkpoint(self.latest()?.as_ref(), &checkpoint)? {
            return Ok(stored);
        }
        self.append(&mut writer, &Record::Checkpoint(checkpoint.clone()))?;
        Ok(checkpoint)
    }

    fn read_checkpoint(&self, at: CheckpointAt) -> Result<StoredCheckpoint> {
        match decode(&self.reader.read(at.location)?, at.location)? {
            Record::Checkpoint(c) => Ok(c),
            Record::Cosignature { .. } => Err(corrupt(at.location, "expected a checkpoint record")),
        }
    }

    pub(crate) fn latest(&self) -> Result<Option<StoredCheckpoint>> {
        let last = self.index().checkpoints.last().copied();
        last.map(|at| self.read_checkpoint(at)).transpose()
    }

    /// The last checkpoint's size and root, without reading it.
    pub(crate) fn latest_root(&self) -> Option<(u64, Hash)> {
        self.index().checkpoints.last().map(|c| (c.size, c.root))
    }

    pub(crate) fn at(&self, size: u64) -> Result<Option<StoredCheckpoint>> {
        let found = {
            let index = self.index();
            index
                .checkpoints
                .binary_search_by_key(&size, |c| c.size)
                .ok()
                .map(|i| index.checkpoints[i])
        };
        found.map(|at| self.read_checkpoint(at)).transpose()
    }

    pub(crate) fn latest_cosigned(&self, at_most: u64) -> Result<Option<StoredCheckpoint>> {
        let size = self.index().cosigned.range(..=at_most).next_back().copied();
        match size {
            Some(size) => self.at(size),
            None => Ok(None),
        }
    }

    /// Every checkpoint's size and root (for `verify`, which needs no notes).
    pub(crate) fn roots(&self) -> Vec<(u64, Hash)> {
        self.index()
            .checkpoints
            .iter()
            .map(|c| (c.size, c.root))
            .collect()
    }

    pub(crate) fn all(&self) -> Result<Vec<StoredCheckpoint>> {
        let all = self.index().checkpoints.clone();
        all.into_iter().map(|at| self.read_checkpoint(at)).collect()
    }

    pub(crate) fn store_cosignature(&self, cosignature: StoredCosignature) -> Result<bool> {
        let mut writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        if self
            .cosignatures(cosignature.size)?
            .iter()
            .any(|c| c.line == cosignature.line)
        {
            return Ok(false);
        }
        self.append(
            &mut writer,
            &Record::Cosignature {
                size: cosignature.size,
                received_at: cosignature.received_at,
                line: cosignature.line,
            },
        )?;
        Ok(true)
    }

    pub(crate) fn cosignatures(&self, size: u64) -> Result<Vec<StoredCosignature>> {
        let locations: Vec<EntryLocation> = self
            .index()
            .cosignatures
            .iter()
            .filter(|(s, _)| *s == size)
            .map(|(_, at)| *at)
            .collect();
        let mut out = Vec::with_capacity(locations.len());
        for location in locations {
            match decode(&self.reader.read(location)?, location)? {
                Record::Cosignature {
                    size,
                    received_at,
                    line,
                } => out.push(StoredCosignature::from_line(size, &line, received_at)?),
                Record::Checkpoint(_) => return Err(corrupt(location, "expected a cosignature record")),
            }
        }
        Ok(out)
    }
}

/// Reads every record, checking that checkpoints only grow and that the record at the mark is the one the
/// mark recorded.
fn read_all(reader: &LogReader, mark: Option<DurableMark>) -> Result<Index> {
    let mut index = Index::default();
    let mut at_mark = None;
    let marked = mark.and_then(|m| m.head.filter(|h| h.entries > 0));
    for item in reader.scan(None) {
        let (location, bytes) = item?;
        let record = decode(&bytes, location)?;
        if let Record::Checkpoint(c) = &record
            && let Some(last) = index.checkpoints.last()
            && c.size <= last.size
        {
            return Err(corrupt(
                location,
                format!(
                    "a checkpoint of tree size {} follows one of tree size {}: checkpoints only grow",
                    c.size, last.size
                ),
            ));
        }
        index.add(&record, location, &bytes);
        if marked.is_some_and(|h| h.entries == index.entries) {
            at_mark = Some(index.last_hash);
        }
    }
    if let Some(head) = marked
        && at_mark != Some(head.hash)
    {
        return Err(Error::Corrupt {
            location: LogLocation {
                segment: "checkpoints".into(),
                offset: mark.map_or(0, |m| m.end),
                position: None,
            },
            detail: format!(
                "checkpoints/{} records that record {} was durable, but the checkpoints log {}. {}.",
                log::MARK_FILE,
                head.entries,
                if index.entries < head.entries {
                    format!("holds only {} records", index.entries)
                } else {
                    "holds another record there".to_owned()
                },
                log::RESTORE_ADVICE
            ),
        });
    }
    Ok(index)
}
