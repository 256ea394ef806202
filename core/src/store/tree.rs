//! The Merkle tree over the log and the checkpoints signed over it, as a store keeps them
//! (`docs/adr/0010-outsider-proof.md`): the storage side of proof an outsider can check. The tree's math,
//! its proofs and the C2SP formats are `journey_tlog`'s; what to sign and when is [`crate::proof`]'s.
//!
//! Every store that keeps a tree implements [`TreeStore`]:
//! * **the tree**, leaf `i` being the record at position `i + 1` and its entry that record's
//!   `stream_hash ‖ log_hash`, kept as levels of hashes (`journey_tlog::tree`), maintained as records become
//!   durable, and rebuilt from the log when it is missing or does not match it (it is derived data, like an
//!   index); while it is rebuilt, [`TreeStatus::rebuilding`] says why and proofs are refused for a while;
//! * **the log's identity**, a [`LogId`] made at random once, when the log is created, and stored with it:
//!   the last part of the origin its checkpoints name, so a log rebuilt from an export is another log;
//! * **checkpoints and cosignatures**, durably, as signed and as received. They are not derived: they record
//!   what this log said of itself and what witnesses said of it, and nothing rebuilds them.

use std::cell::RefCell;
use std::fmt;

use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

use crate::error::{Error, FieldError, Result};
use crate::ids::Position;
use crate::time::Timestamp;
use journey_tlog::tree::HashReader;
use journey_tlog::{Hash, LeafEntry};

/// A log's identity: 16 lower-case hexadecimal digits (64 random bits), made once when the log is created.
/// The origin of the log's checkpoints is `<configured base>/<log id>`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LogId(String);

impl LogId {
    pub const LEN: usize = 16;

    pub fn parse(value: impl Into<String>) -> std::result::Result<LogId, FieldError> {
        let value = value.into();
        if value.len() != Self::LEN || !value.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(FieldError::new(
                "log_id",
                format!(
                    "must be {} lower-case hexadecimal digits (got {:?})",
                    Self::LEN,
                    crate::ids::truncate(&value)
                ),
            ));
        }
        Ok(LogId(value))
    }

    /// The log id of 8 random bytes, which the store draws from the operating system when it creates a log.
    pub fn from_random(bytes: [u8; 8]) -> LogId {
        LogId(hex::encode(bytes))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for LogId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for LogId {
    type Error = FieldError;
    fn try_from(value: String) -> std::result::Result<LogId, FieldError> {
        LogId::parse(value)
    }
}

impl From<LogId> for String {
    fn from(id: LogId) -> String {
        id.0
    }
}

/// What the tree holds now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TreeStatus {
    /// The number of leaves whose hashes are stored and readable: a prefix of the log.
    pub size: u64,
    /// While the tree is rebuilt from the log: why. Proofs and signatures wait until it is done.
    pub rebuilding: Option<String>,
}

/// A run of stored hashes of one level (see `journey_tlog::tree`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct HashRange {
    pub level: u8,
    pub start: u64,
    pub count: usize,
}

/// A checkpoint as signed by this log: its size and root, the exact note (the log's signature only; the
/// cosignatures are kept apart, as they arrive), and when it was signed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredCheckpoint {
    pub size: u64,
    pub root: Hash,
    pub note: Vec<u8>,
    pub signed_at: Timestamp,
}

/// A witness's cosignature line on one of this log's checkpoints, as received (already verified against a
/// configured witness key).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredCosignature {
    /// The size of the checkpoint it cosigns.
    pub size: u64,
    /// The signature line exactly, without its newline: `— <key name> <base64>`.
    pub line: String,
    /// The witness key's name and key ID, and the time the witness claims (read from the line).
    pub key_name: String,
    pub key_id: [u8; 4],
    pub timestamp: u64,
    pub received_at: Timestamp,
}

impl StoredCosignature {
    /// Reads the key name, key ID and timestamp a cosignature line carries.
    pub fn from_line(size: u64, line: &str, received_at: Timestamp) -> Result<StoredCosignature> {
        let signature = journey_tlog::NoteSignature::parse_line(line).map_err(tlog_invalid)?;
        let timestamp = journey_tlog::cosignature::timestamp(&signature).map_err(tlog_invalid)?;
        Ok(StoredCosignature {
            size,
            line: line.to_owned(),
            key_name: signature.name().to_string(),
            key_id: signature.key_id().0,
            timestamp,
            received_at,
        })
    }
}

/// A malformed input of the C2SP formats, as a field error.
pub fn tlog_invalid(e: journey_tlog::Error) -> Error {
    match e {
        journey_tlog::Error::Malformed { field, rule } => FieldError::new(field, rule).into(),
        journey_tlog::Error::OutOfRange { field, rule } => FieldError::new(field, rule).into(),
        other => FieldError::new("proof", other.to_string()).into(),
    }
}

/// The tree over a store's log and the checkpoints signed over it. Implemented by every store that keeps a
/// tree: `InMemoryStore`, the embedded store (level files beside the log) and the PostgreSQL store (tile
/// rows).
pub trait TreeStore: Send + Sync + fmt::Debug {
    /// The log's identity, made when the log was created.
    fn log_id(&self) -> &LogId;

    /// How many leaves the tree holds, and whether it is being rebuilt.
    fn tree_status(&self) -> BoxFuture<'_, Result<TreeStatus>>;

    /// The stored hashes of each range, in the order asked. A range past what is stored fails.
    fn read_hashes(&self, ranges: Vec<HashRange>) -> BoxFuture<'_, Result<Vec<Vec<Hash>>>>;

    /// A reader of stored hashes that answers at once (files or memory), when the store has one: proofs are
    /// then made in one pass instead of asking for their hashes first.
    fn local_hashes(&self) -> Option<&dyn HashReader> {
        None
    }

    /// The leaf entries (`stream_hash ‖ log_hash`) of `count` records from `first` on, in order: from the
    /// log itself, so an entry bundle is what the log holds.
    fn read_leaf_entries(&self, first: Position, count: usize) -> BoxFuture<'_, Result<Vec<LeafEntry>>>;

    /// Makes the tree durable as far as it goes, and gives that size: what may be signed.
    fn sync_tree(&self) -> BoxFuture<'_, Result<u64>>;

    /// Throws the tree away and rebuilds it from the log (a check found it does not match), in the
    /// background: [`TreeStore::tree_status`] says so until it is done.
    fn rebuild_tree(&self, why: String) -> BoxFuture<'_, Result<()>>;

    /// Stores a checkpoint this log signed, durably, before anyone is shown it. Refused, atomically with the
    /// write, when a stored checkpoint is larger, or of the same size with another root (a log never signs
    /// two inconsistent checkpoints); storing one already stored (same size and root) changes nothing.
    fn store_checkpoint(&self, checkpoint: StoredCheckpoint) -> BoxFuture<'_, Result<StoredCheckpoint>>;

    /// The largest checkpoint stored.
    fn latest_checkpoint(&self) -> BoxFuture<'_, Result<Option<StoredCheckpoint>>>;

    /// The checkpoint of size `size`, if one was signed.
    fn checkpoint_at(&self, size: u64) -> BoxFuture<'_, Result<Option<StoredCheckpoint>>>;

    /// The largest checkpoint of at most `size` leaves that at least one witness cosigned.
    fn latest_cosigned(&self, at_most: u64) -> BoxFuture<'_, Result<Option<StoredCheckpoint>>>;

    /// Every checkpoint stored, smallest first (for `verify`).
    fn checkpoints(&self) -> BoxFuture<'_, Result<Vec<StoredCheckpoint>>>;

    /// Stores a verified cosignature durably. False when that exact line was already stored.
    fn store_cosignature(&self, cosignature: StoredCosignature) -> BoxFuture<'_, Result<bool>>;

    /// The cosignatures of the checkpoint of size `size`, in the order received.
    fn cosignatures(&self, size: u64) -> BoxFuture<'_, Result<Vec<StoredCosignature>>>;
}

/// The rule every store applies when storing a checkpoint, atomically with the write: given the largest
/// stored one, `Ok(Some(stored))` when the same checkpoint is already stored (nothing to write), `Ok(None)`
/// when the new one may be stored, and an error when it would contradict a stored one.
pub fn check_new_checkpoint(
    latest: Option<&StoredCheckpoint>,
    new: &StoredCheckpoint,
) -> Result<Option<StoredCheckpoint>> {
    match latest {
        Some(latest) if latest.size > new.size => {
            Err(Error::Conflict(crate::error::Conflict::CheckpointBehind {
                stored: latest.size,
                new: new.size,
            }))
        }
        Some(latest) if latest.size == new.size && latest.root != new.root => {
            Err(Error::Conflict(crate::error::Conflict::CheckpointRootDiffers {
                size: new.size,
            }))
        }
        Some(latest) if latest.size == new.size => Ok(Some(latest.clone())),
        _ => Ok(None),
    }
}

/// The ranges a computation over stored hashes reads, recorded without reading (the hashes it is given are
/// zeros): what to fetch from a store that answers only asynchronously.
#[derive(Debug, Default)]
struct Recorder {
    ranges: RefCell<Vec<HashRange>>,
}

impl HashReader for Recorder {
    fn read_hashes(&self, level: u8, start: u64, out: &mut [Hash]) -> journey_tlog::Result<()> {
        self.ranges.borrow_mut().push(HashRange {
            level,
            start,
            count: out.len(),
        });
        out.fill([0; 32]);
        Ok(())
    }
}

/// Hands out fetched ranges in the order they were recorded.
#[derive(Debug)]
struct Replay {
    ranges: Vec<HashRange>,
    hashes: Vec<Vec<Hash>>,
    next: std::cell::Cell<usize>,
}

impl HashReader for Replay {
    fn read_hashes(&self, level: u8, start: u64, out: &mut [Hash]) -> journey_tlog::Result<()> {
        let i = self.next.get();
        self.next.set(i + 1);
        let asked = HashRange {
            level,
            start,
            count: out.len(),
        };
        match (self.ranges.get(i), self.hashes.get(i)) {
            (Some(range), Some(hashes)) if *range == asked && hashes.len() == out.len() => {
                out.copy_from_slice(hashes);
                Ok(())
            }
            _ => Err(journey_tlog::Error::HashRead {
                level,
                start,
                count: out.len() as u64,
                source: "a second pass asked for hashes the first did not".into(),
            }),
        }
    }
}

/// Runs `compute` over the store's hashes: directly when the store reads them at once, otherwise in two
/// passes (the first records which ranges `compute` reads, they are fetched in one request, the second
/// computes). `compute` must read the same ranges whatever the hashes are, which the tree's roots and
/// proofs do (they depend on sizes and indexes only).
pub async fn with_hashes<T>(
    store: &dyn TreeStore,
    compute: impl Fn(&dyn HashReader) -> journey_tlog::Result<T>,
) -> Result<T> {
    if let Some(reader) = store.local_hashes() {
        return compute(reader).map_err(tree_error);
    }
    let recorder = Recorder::default();
    compute(&recorder).map_err(tree_error)?;
    let ranges = recorder.ranges.into_inner();
    let hashes = store.read_hashes(ranges.clone()).await?;
    let replay = Replay {
        ranges,
        hashes,
        next: std::cell::Cell::new(0),
    };
    compute(&replay).map_err(tree_error)
}

/// A failure of the tree's computations: a request it cannot answer is the caller's (invalid), stored hashes
/// that cannot be read are the store's.
pub fn tree_error(e: journey_tlog::Error) -> Error {
    match e {
        journey_tlog::Error::HashRead { .. } => Error::Index(format!("the tree: {e}")),
        other => tlog_invalid(other),
    }
}

/// Checks a stored tree and the stored checkpoints against the log, record by record: the tree built from
/// the log's entries must equal the stored levels hash for hash, and its root at each stored checkpoint's
/// size must be that checkpoint's. Used by `journey verify` and the stores' `verify`.
#[derive(Debug)]
pub struct TreeCheck {
    builder: journey_tlog::TreeBuilder,
    /// Stored checkpoints not yet reached, largest last.
    checkpoints: Vec<(u64, Hash)>,
    checkpoints_checked: u64,
    /// Hashes compared with the stored levels.
    compared: u64,
    tree_problem: Option<String>,
    checkpoint_problem: Option<String>,
}

/// What a [`TreeCheck`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TreeReport {
    /// Leaves rebuilt from the log.
    pub leaves: u64,
    /// Stored hashes compared with the ones rebuilt (every level).
    pub hashes_compared: u64,
    /// Stored checkpoints whose root was recomputed from the log and matched.
    pub checkpoints_checked: u64,
    /// The first disagreement between the stored tree and the log, in words: the tree is derived, so
    /// rebuilding it repairs this (though a tree changed below a checkpoint is worth asking about).
    pub problem: Option<String>,
    /// The first stored checkpoint the log does not give, in words: the log is not the one that was
    /// signed.
    pub checkpoint_problem: Option<String>,
}

impl TreeCheck {
    /// A check against these stored checkpoints (sizes and roots, any order).
    pub fn new(checkpoints: impl IntoIterator<Item = (u64, Hash)>) -> TreeCheck {
        let mut checkpoints: Vec<(u64, Hash)> = checkpoints.into_iter().collect();
        checkpoints.sort_by_key(|c| std::cmp::Reverse(c.0));
        let mut check = TreeCheck {
            builder: journey_tlog::TreeBuilder::new(),
            checkpoints,
            checkpoints_checked: 0,
            compared: 0,
            tree_problem: None,
            checkpoint_problem: None,
        };
        check.reach_checkpoints();
        check
    }

    fn reach_checkpoints(&mut self) {
        while let Some(&(size, root)) = self.checkpoints.last() {
            if size != self.builder.size() {
                break;
            }
            self.checkpoints.pop();
            if self.builder.root() == root {
                self.checkpoints_checked += 1;
            } else if self.checkpoint_problem.is_none() {
                self.checkpoint_problem = Some(format!(
                    "the stored checkpoint at tree size {size} has root {}, but the log gives {}: the log is not \
                     the one that checkpoint was signed for",
                    hex::encode(root),
                    hex::encode(self.builder.root())
                ));
            }
        }
    }

    /// The next record's entry, in position order.
    pub fn push(&mut self, entry: &LeafEntry) {
        self.builder.push(entry.leaf_hash());
        self.reach_checkpoints();
    }

    /// Compares what the rebuilt tree completed since the last call with the stored levels (`stored` must
    /// hold at least as many leaves as were pushed; `stored_size` is how many it holds).
    pub fn compare(&mut self, stored: &dyn HashReader, stored_size: u64) {
        for append in self.builder.take_appends() {
            if self.tree_problem.is_some() {
                continue;
            }
            let end = append.start + append.hashes.len() as u64;
            let stored_len = journey_tlog::tree::level_len(append.level, stored_size);
            let upto = end.min(stored_len);
            if upto <= append.start {
                continue;
            }
            let mut read = vec![[0u8; 32]; (upto - append.start) as usize];
            if let Err(e) = stored.read_hashes(append.level, append.start, &mut read) {
                self.tree_problem = Some(format!("reading the stored tree: {e}"));
                continue;
            }
            for (i, (rebuilt, stored)) in append.hashes.iter().zip(&read).enumerate() {
                if rebuilt != stored {
                    let index = append.start + i as u64;
                    self.tree_problem = Some(if append.level == 0 {
                        format!(
                            "the stored tree's leaf {index} (position {}) is not the log's record there",
                            index + 1
                        )
                    } else {
                        format!(
                            "the stored tree's level {} hash {index} is not the one the log gives",
                            append.level
                        )
                    });
                    break;
                }
            }
            self.compared += read.len() as u64;
        }
    }

    /// The report, once every record was pushed: stored checkpoints beyond the log are a problem (the log
    /// lost records they covered).
    pub fn finish(mut self, stored_size: Option<u64>) -> TreeReport {
        if self.checkpoint_problem.is_none()
            && let Some(&(size, _)) = self.checkpoints.first()
        {
            self.checkpoint_problem = Some(format!(
                "a stored checkpoint covers tree size {size}, but the log holds only {} records",
                self.builder.size()
            ));
        }
        if self.tree_problem.is_none()
            && let Some(stored) = stored_size
            && stored > self.builder.size()
        {
            self.tree_problem = Some(format!(
                "the stored tree holds {stored} leaves, but the log only {} records",
                self.builder.size()
            ));
        }
        TreeReport {
            leaves: self.builder.size(),
            hashes_compared: self.compared,
            checkpoints_checked: self.checkpoints_checked,
            problem: self.tree_problem,
            checkpoint_problem: self.checkpoint_problem,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use journey_tlog::MemoryHashes;

    fn entry(i: u64) -> LeafEntry {
        LeafEntry {
            stream_hash: crate::chain::stream_hash(&[0; 32], &i.to_be_bytes()),
            log_hash: crate::chain::log_hash(&[0; 32], &[i as u8; 32]),
        }
    }

    fn stored(n: u64) -> (MemoryHashes, journey_tlog::TreeBuilder) {
        let mut builder = journey_tlog::TreeBuilder::new();
        let mut hashes = MemoryHashes::new();
        for i in 0..n {
            builder.push(entry(i).leaf_hash());
        }
        hashes.apply(&builder.take_appends()).unwrap();
        (hashes, builder)
    }

    #[test]
    fn log_ids_are_sixteen_hex_digits() {
        assert_eq!(LogId::from_random([0xab; 8]).as_str(), "abababababababab");
        assert!(LogId::parse("0123456789abcdef").is_ok());
        for bad in [
            "",
            "0123456789ABCDEF",
            "0123456789abcde",
            "0123456789abcdefa",
            "g123456789abcdef",
        ] {
            assert!(LogId::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_tree_check_passes_the_tree_of_the_log_and_names_the_first_wrong_leaf() {
        let (hashes, builder) = stored(700);
        let root_300 = {
            let mut b = journey_tlog::TreeBuilder::new();
            (0..300).for_each(|i| b.push(entry(i).leaf_hash()));
            b.root()
        };
        let mut check = TreeCheck::new([(300, root_300), (700, builder.root())]);
        for i in 0..700 {
            check.push(&entry(i));
            if i % 97 == 0 {
                check.compare(&hashes, 700);
            }
        }
        check.compare(&hashes, 700);
        let report = check.finish(Some(700));
        assert_eq!(
            (report.problem.clone(), report.checkpoint_problem.clone()),
            (None, None)
        );
        assert_eq!(report.checkpoints_checked, 2);
        assert_eq!(report.hashes_compared, 702);

        // The log differs at position 301: the tree's leaf 300 and the checkpoint at 700 both disagree.
        let mut check = TreeCheck::new([(300, root_300), (700, builder.root())]);
        for i in 0..700 {
            check.push(&entry(if i == 300 { 9_999 } else { i }));
            if i % 50 == 0 {
                check.compare(&hashes, 700);
            }
        }
        check.compare(&hashes, 700);
        let report = check.finish(Some(700));
        assert!(
            report
                .problem
                .as_deref()
                .unwrap()
                .contains("leaf 300 (position 301)"),
            "{report:?}"
        );
        assert_eq!(report.checkpoints_checked, 1);
        assert!(report.checkpoint_problem.unwrap().contains("tree size 700"));

        // A checkpoint past the log: records it covered are gone.
        let mut check = TreeCheck::new([(800, [0; 32])]);
        (0..700).for_each(|i| check.push(&entry(i)));
        assert!(
            check
                .finish(None)
                .checkpoint_problem
                .unwrap()
                .contains("holds only 700")
        );
    }

    #[test]
    fn hashes_are_fetched_in_two_passes_when_the_store_cannot_read_at_once() {
        let (hashes, builder) = stored(1000);
        let recorder = Recorder::default();
        let _ = journey_tlog::tree::inclusion_proof(400, 1000, &recorder).unwrap();
        let ranges = recorder.ranges.into_inner();
        let fetched: Vec<Vec<Hash>> = ranges
            .iter()
            .map(|r| {
                let mut out = vec![[0; 32]; r.count];
                hashes.read_hashes(r.level, r.start, &mut out).unwrap();
                out
            })
            .collect();
        let replay = Replay {
            ranges,
            hashes: fetched,
            next: std::cell::Cell::new(0),
        };
        let proof = journey_tlog::tree::inclusion_proof(400, 1000, &replay).unwrap();
        assert_eq!(
            proof,
            journey_tlog::tree::inclusion_proof(400, 1000, &hashes).unwrap()
        );
        journey_tlog::verify_inclusion(400, 1000, &entry(400).leaf_hash(), &proof, &builder.root()).unwrap();
    }
}
