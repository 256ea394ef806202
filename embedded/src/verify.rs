//! Verifying a whole data directory without opening it for writing (`journey verify --data`, and the way
//! to check a backup): everything `journey serve` checks when it opens one, and more, modifying nothing.
//!
//! * **log**: opened read-only under the same rules as an open for writing (the mark, a torn tail only
//!   after it), then every record walked: hash links, positions, versions, recorded times, bodies; the
//!   record at the mark must be the one the mark recorded.
//! * **index**: its checkpoint must name a record the log still holds (else durable records are lost);
//!   the snapshot is loaded as an open would load it and checked against every record it covers (place,
//!   event-id fingerprint, child and version). A missing or damaged snapshot is reported as what an open
//!   would rebuild, not as a failure: the index is derived.
//! * **journal**: opened read-only with the same rules, its whole chain walked.
//! * **blobs**: every blob file re-hashed, and every blob the journal names (given by the caller, which
//!   knows the record bodies) present and intact.
//! * **tree** and **checkpoints**: the Merkle tree rebuilt from the log's records as they are walked must
//!   equal the stored level files hash for hash, and its root at every stored checkpoint's size must be that
//!   checkpoint's (`journey_core::store::tree::TreeCheck`). A missing tree is what an open would rebuild; a
//!   checkpoint the log does not give means the log is not the one that was signed.

use std::fs::File;
use std::path::Path;

use serde::Serialize;

use crate::blobs::{BlobCheck, verify_blob_dir};
use crate::checkpoints::CheckpointLog;
use crate::index::{self, MemIndex, Unusable};
use crate::journal::FileJournal;
use crate::log::{self, DurableMark, EntryLocation, LogReader, RecoveryReport};
use crate::store::{check_checkpoint, check_indexed, checkpoint_in_log, segment_name, split_entry};
use journey_core::error::{Error, Result};
use journey_core::journal::{Journal, JournalVerification};
use journey_core::store::backend::Verifier;
use journey_core::store::tree::{TreeCheck, TreeReport};
use journey_core::store::{BrokenLink, LogHead, VerifyReport};
use journey_core::tlog::LeafEntry;

/// What [`verify_data_dir`] found.
#[derive(Debug, Serialize)]
pub struct DataDirVerification {
    /// True when no part reports a problem and every chain is intact.
    pub intact: bool,
    /// The parts walked, in order: `log`, `index`, `journal`, `blobs`, `tree`, `checkpoints` (a part the
    /// directory does not have, or that could not be opened, is not listed; the tree only when the log
    /// walked whole).
    pub walked: Vec<String>,
    /// The log's walk, also at the top level for readers of the report `journey verify` gave before it
    /// walked the other parts: records checked, streams, the recomputed head and the first broken link.
    pub records: u64,
    pub streams: u64,
    pub head: LogHead,
    pub first_broken: Option<BrokenLink>,
    pub log: LogPart,
    pub index: IndexPart,
    pub journal: JournalPart,
    pub blobs: BlobCheck,
    pub tree: TreePart,
    pub checkpoints: CheckpointsPart,
}

/// The Merkle tree's level files, against the log.
#[derive(Debug, Default, Serialize)]
pub struct TreePart {
    /// What is wrong, if anything: stored hashes the log does not give (deleting `tree/` makes the next
    /// open rebuild it; but a tree changed below a checkpoint is worth asking about).
    pub problem: Option<String>,
    /// Why an open would rebuild it (there is none): costs time, loses nothing.
    pub rebuild: Option<String>,
    /// Leaves the level files hold.
    pub leaves: u64,
    /// What rebuilding it from the log found.
    pub check: Option<TreeReport>,
}

/// The checkpoints this log signed and the cosignatures it received.
#[derive(Debug, Default, Serialize)]
pub struct CheckpointsPart {
    /// What is wrong, if anything: a checkpoint the log does not give (the log is not the one that was
    /// signed), or a checkpoints log that cannot be read.
    pub problem: Option<String>,
    /// The log's id (`log/id`), the last part of its checkpoints' origin.
    pub log_id: Option<String>,
    pub checkpoints: u64,
    /// The largest signed tree size.
    pub latest: Option<u64>,
}

/// The children's log.
#[derive(Debug, Default, Serialize)]
pub struct LogPart {
    /// What is wrong, if anything (a refusal to open, or the record at the mark not being the marked one).
    pub problem: Option<String>,
    pub segments: usize,
    /// How far the log was known to be durable (its mark), in words.
    pub durable_mark: Option<String>,
    /// A torn last group an open for writing would cut (written after the mark: never acknowledged).
    pub torn_tail: Option<String>,
}

/// The derived index.
#[derive(Debug, Default, Serialize)]
pub struct IndexPart {
    /// What is wrong, if anything: a checkpoint naming durable records the log lost, or a snapshot that
    /// disagrees with the log (`journey rebuild` repairs the latter).
    pub problem: Option<String>,
    /// The last position the snapshot covers.
    pub checkpoint: Option<u64>,
    /// Why an open would rebuild the index (no snapshot, or a damaged one): costs time, loses nothing.
    pub rebuild: Option<String>,
    /// Records checked against the snapshot.
    pub records_checked: u64,
}

/// The system journal.
#[derive(Debug, Default, Serialize)]
pub struct JournalPart {
    /// False when the directory has no journal (a data directory only `journey demo` has used).
    pub present: bool,
    /// What is wrong, if anything (a refusal to open, a broken chain).
    pub problem: Option<String>,
    pub durable_mark: Option<String>,
    pub torn_tail: Option<String>,
    pub verification: Option<JournalVerification>,
    /// Losses of durable records an operator accepted, as the journal records them: not a failure (they
    /// were accepted knowingly, and said), but listed, so that no one misses them.
    pub accepted_losses: Vec<String>,
}

/// What the caller reads from the journal's records, whose bodies belong to other crates.
#[derive(Clone, Debug, Default)]
pub struct FromJournal {
    /// The blobs the journal names: what names each (in words), and its hash.
    pub blobs: Vec<(String, [u8; 32])>,
    /// Losses an operator accepted (`journey accept-loss`), in words, as the journal records them.
    pub accepted_losses: Vec<String>,
}

/// Verifies the data directory `data` (see the module documentation). `read_journal` reads what the
/// report needs from the journal's records. Fails only if the directory is in use by another process, is an
/// unfinished import, or cannot be read at all; everything found wrong is in the report.
pub fn verify_data_dir(
    data: &Path,
    read_journal: impl FnOnce(&FileJournal) -> Result<FromJournal>,
) -> Result<DataDirVerification> {
    if !data.is_dir() {
        return Err(Error::NotFound(format!(
            "no data directory at {}",
            data.display()
        )));
    }
    crate::store::refuse_unfinished_import(data)?;
    let _lock = lock_existing(data)?;
    let mut walked = Vec::new();
    let mut log = LogPart::default();
    let mut index = IndexPart::default();
    let mut chain = Verifier::new().finish();
    let mut tree = TreePart::default();
    let mut checkpoints = CheckpointsPart {
        log_id: std::fs::read_to_string(crate::store::log_dir(data).join(crate::store::LOG_ID_FILE))
            .ok()
            .map(|id| id.trim_end().to_owned()),
        ..CheckpointsPart::default()
    };
    let mut checkpoints_present = false;
    let signed = match CheckpointLog::open_read_only(&crate::store::checkpoints_dir(data)) {
        Ok(Some(log)) => {
            checkpoints_present = true;
            let roots = log.roots();
            checkpoints.checkpoints = roots.len() as u64;
            checkpoints.latest = roots.last().map(|r| r.0);
            roots
        }
        Ok(None) => Vec::new(),
        Err(e) => {
            checkpoints.problem = Some(e.to_string());
            Vec::new()
        }
    };
    let stored_tree = match crate::tree::open_read_only(data) {
        Ok(Some(levels)) => Some(levels),
        Ok(None) => {
            tree.rebuild = Some("there is no tree".into());
            None
        }
        Err(e) => {
            tree.problem = Some(format!("the level files cannot be read: {e}"));
            None
        }
    };
    tree.leaves = stored_tree.as_ref().map_or(0, |(_, size)| *size);
    let mut tree_check = TreeCheck::new(signed);
    match log::open_read_only(&crate::store::log_dir(data)) {
        Err(e) => log.problem = Some(e.to_string()),
        Ok((reader, report)) => {
            walked.push("log".to_owned());
            describe_recovery(&report, &mut log.durable_mark, &mut log.torn_tail);
            log.segments = report.segments;
            let snapshot = load_index(data, &reader, &mut index);
            if snapshot.is_some() {
                walked.push("index".to_owned());
            }
            let walk = walk_log(
                &reader,
                snapshot.as_ref(),
                report.mark,
                &mut tree_check,
                stored_tree.as_ref(),
            );
            chain = walk.chain;
            index.records_checked = walk.indexed;
            if let Some(why) = walk.index_problem {
                index.problem.get_or_insert(format!(
                    "{why}: run `journey rebuild` to rebuild the index from the log"
                ));
            }
            log.problem = walk.mark_problem;
        }
    }

    let mut journal = JournalPart::default();
    let mut references = Vec::new();
    let journal_dir = data.join("journal");
    if journal_dir.is_dir() {
        journal.present = true;
        match FileJournal::open_read_only(&journal_dir) {
            Err(e) => journal.problem = Some(e.to_string()),
            Ok((opened, report)) => {
                walked.push("journal".to_owned());
                describe_recovery(&report, &mut journal.durable_mark, &mut journal.torn_tail);
                let verification = futures::executor::block_on(opened.verify())?;
                if let Some((sequence, why)) = &verification.first_broken {
                    journal.problem = Some(format!("journal record {sequence}: {why}"));
                }
                journal.verification = Some(verification);
                match read_journal(&opened) {
                    Ok(found) => {
                        references = found.blobs;
                        journal.accepted_losses = found.accepted_losses;
                    }
                    Err(e) => {
                        journal
                            .problem
                            .get_or_insert(format!("the blobs the journal names cannot be listed: {e}"));
                    }
                }
            }
        }
    }

    let blobs = verify_blob_dir(&data.join("blobs"), &references)?;
    if blobs.present {
        walked.push("blobs".to_owned());
    }
    // The tree is compared with the log only as far as the log walked whole.
    if chain.is_intact() && log.problem.is_none() {
        if stored_tree.is_some() {
            walked.push("tree".to_owned());
        }
        let report = tree_check.finish(stored_tree.as_ref().map(|(_, size)| *size));
        if tree.problem.is_none() {
            tree.problem = report
                .problem
                .clone()
                .map(|p| format!("{p}: delete tree/ and the next open rebuilds it from the log"));
        }
        if checkpoints.problem.is_none() {
            checkpoints.problem = report.checkpoint_problem.clone();
        }
        tree.check = Some(report);
    }
    if checkpoints_present {
        walked.push("checkpoints".to_owned());
    }
    let intact = log.problem.is_none()
        && chain.is_intact()
        && index.problem.is_none()
        && journal.problem.is_none()
        && blobs.problems.is_empty()
        && tree.problem.is_none()
        && checkpoints.problem.is_none();
    Ok(DataDirVerification {
        intact,
        walked,
        records: chain.records,
        streams: chain.streams,
        head: chain.head,
        first_broken: chain.first_broken,
        log,
        index,
        journal,
        blobs,
        tree,
        checkpoints,
    })
}

/// The data directory's lock, if it has a lock file: held, so that no server opens it meanwhile. A
/// directory without one is not created one (nothing is modified).
fn lock_existing(data: &Path) -> Result<Option<File>> {
    let Ok(file) = File::open(data.join("LOCK")) else {
        return Ok(None);
    };
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => Err(Error::Closed(format!(
            "{} is in use by another Journey process (LOCK is held): verify a copy, or stop the server",
            data.display()
        ))),
        Err(std::fs::TryLockError::Error(e)) => Err(e.into()),
    }
}

fn describe_recovery(report: &RecoveryReport, mark: &mut Option<String>, torn: &mut Option<String>) {
    *mark = report.mark.map(|m| m.describe());
    *torn = report.truncated_at.map(|(segment, offset)| {
        format!(
            "{} bytes from segment {} byte {offset} would be cut on open ({}): written after the last \
             durable mark, so never acknowledged",
            report.truncated_bytes,
            segment_name(segment),
            report.reason.as_deref().unwrap_or("a torn last group")
        )
    });
}

/// The index snapshot as an open would load it, after checking that its checkpoint names a record the
/// log holds. Fills in `part`; `None` if there is no usable snapshot.
fn load_index(data: &Path, reader: &LogReader, part: &mut IndexPart) -> Option<MemIndex> {
    let dir = crate::store::index_dir(data);
    match index::read_checkpoint(&dir) {
        Err(Unusable::Missing) => {
            part.rebuild = Some("there is no index snapshot".into());
            return None;
        }
        Err(Unusable::Damaged(why)) => {
            part.rebuild = Some(why);
            return None;
        }
        Ok(checkpoint) => {
            part.checkpoint = Some(checkpoint.position.0);
            match checkpoint_in_log(&checkpoint, reader) {
                Ok(None) => {}
                Ok(Some(why)) => {
                    part.problem = Some(format!("{why}. {}.", log::RESTORE_ADVICE));
                    return None;
                }
                Err(e) => {
                    part.problem = Some(e.to_string());
                    return None;
                }
            }
        }
    }
    match index::load_read_only(&dir, |cp| check_checkpoint(cp, reader)) {
        Ok(snapshot) => Some(snapshot),
        Err(Unusable::Missing) => {
            part.rebuild = Some("there is no index snapshot".into());
            None
        }
        Err(Unusable::Damaged(why)) => {
            part.rebuild = Some(why);
            None
        }
    }
}

struct Walk {
    chain: VerifyReport,
    /// Records checked against the index snapshot.
    indexed: u64,
    index_problem: Option<String>,
    mark_problem: Option<String>,
}

/// Walks every record of the log through the chain [`Verifier`], checking the index snapshot (if any)
/// against each record it covers, and the record at the mark against the mark.
fn walk_log(
    reader: &LogReader,
    snapshot: Option<&MemIndex>,
    mark: Option<DurableMark>,
    tree: &mut TreeCheck,
    stored_tree: Option<&(crate::tree::Levels, u64)>,
) -> Walk {
    let marked = mark.and_then(|m| m.head.filter(|h| h.entries > 0).map(|h| (m, h)));
    let mut verifier = Verifier::new();
    let mut indexed = 0;
    let mut index_problem = None;
    // The record at the mark's position: where it is, its log hash, and where the next one is.
    let mut at_mark: Option<(EntryLocation, [u8; 32], Option<EntryLocation>)> = None;
    for item in reader.scan(None) {
        let (at, bytes) = match item {
            Ok(item) => item,
            Err(e) => {
                verifier.fail(e.to_string());
                break;
            }
        };
        let (link, body) = match split_entry(&bytes, at) {
            Ok(parts) => parts,
            Err(e) => {
                verifier.fail(e.to_string());
                break;
            }
        };
        let position = verifier.next_position();
        if let Some((_, _, next @ None)) = &mut at_mark {
            *next = Some(at);
        }
        if marked.is_some_and(|(_, head)| head.entries == position.0) {
            at_mark = Some((at, link.log_hash, None));
        }
        if !verifier.push(body, &link) {
            break;
        }
        tree.push(&LeafEntry {
            stream_hash: link.stream_hash,
            log_hash: link.log_hash,
        });
        if let Some((levels, size)) = stored_tree
            && position.0.is_multiple_of(4096)
        {
            tree.compare(levels, *size);
        }
        if let Some(snapshot) = snapshot
            && index_problem.is_none()
            && position.0 <= snapshot.len()
        {
            match check_indexed(snapshot, position, at, body) {
                Ok(()) => indexed += 1,
                Err(why) => index_problem = Some(why),
            }
        }
    }
    if let Some((levels, size)) = stored_tree {
        tree.compare(levels, *size);
    }
    let chain = verifier.finish();
    let mark_problem = marked.and_then(|(mark, head)| {
        let recorded = format!(
            "log/{} records that position {} (log hash {}) was durable",
            log::MARK_FILE,
            head.entries,
            hex::encode(head.hash)
        );
        match at_mark {
            // A walk stopped short by a broken link is reported as that; this is only for a whole walk.
            None if chain.is_intact() => Some(format!(
                "{recorded}, but the log holds only {} records: positions {} to {} are missing. {}.",
                chain.records,
                chain.records + 1,
                head.entries,
                log::RESTORE_ADVICE
            )),
            Some((at, hash, next)) if !mark.is_last_entry(at, next) || hash != head.hash => Some(format!(
                "{recorded} at {}, but the log holds another record there: it is not the log that was \
                 marked. {}.",
                mark.describe(),
                log::RESTORE_ADVICE
            )),
            _ => None,
        }
    });
    Walk {
        chain,
        indexed,
        index_problem,
        mark_problem,
    }
}
