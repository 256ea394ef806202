//! The embedded store: Journey's own segmented log as the source of truth, an in-memory index derived
//! from it (persisted as snapshot files at checkpoints, see `index.rs`).
//!
//! ```text
//!  append() ──► channel ──► writer thread: judge, seal ──(a group, when the committer is free)──┐
//!                             (group n + 1, while n syncs)                                     ▼
//!  future resolves ◄── replies thread (large groups) ◄── head, index push (µs) ◄── committer: write, fdatasync
//!                                                              └──► checkpointer thread: snapshot files
//! ```
//!
//! * **Group commit, pipelined.** The writer thread drains the appends waiting in the channel, judges them in
//!   order against each child's state and seals them; everything that arrives while the committer thread is
//!   busy joins the same group, which is handed over as soon as the committer is free. The committer writes a
//!   group's records with one write and makes them durable with one `fdatasync`, then indexes them. No
//!   append is acknowledged before that sync returns, and no group is written before the previous one's sync
//!   returned (the log's recovery depends on at most one unsynced group). The writer's view of the streams
//!   runs ahead of the log by at most the groups in flight: their event ids are kept for idempotency until
//!   indexed, states evicted from the cache meanwhile are kept aside, and a retry of an append still in
//!   flight is answered only with a later group, once the original is durable.
//! * **Fail-stop.** If a write or sync fails, the committer answers every waiting append with the error and
//!   refuses all later groups (the writer thread drops the states it built on them): after a failed `fsync` the kernel may have dropped the dirty pages, so the
//!   only safe recovery is to reopen, which re-reads the log from disk.
//! * **Derived index.** The in-memory index is updated after the sync, before the append is acknowledged.
//!   Every `checkpoint_every_events` records a checkpointer thread appends what is new to the snapshot files;
//!   closing writes a final checkpoint. On open, the snapshot is loaded and caught up from its checkpoint by
//!   scanning the log; a missing, unreadable or inconsistent snapshot is rebuilt from the log.
//! * **Idempotency** looks event ids up by 64-bit fingerprint in memory and confirms a hit by reading the
//!   stored record: no per-event I/O unless the id (or its fingerprint) is already there.
//! * **Reads** go through the index to exact log locations and `pread`, and never see a record before

//!   it is durable and indexed.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fs::{self, File};
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::thread::JoinHandle;
use std::time::Instant;

use futures::channel::oneshot;
use futures::future::{BoxFuture, FutureExt};
use serde::Serialize;

use crate::checkpoints::{CHECKPOINTS_DIR, CheckpointLog};
use crate::index::{self as index, Checkpoint, MemIndex, SnapshotFiles, Unusable};
use crate::keys::KeyFile;
use crate::log::{self, DurableMark, EntryLocation, LogOptions, LogReader, LogWriter, RecoveryReport};
use crate::read_cache::ReadCache;
use crate::tree::{TreeMsg, TreeShared};
use journey_core::chain;
use journey_core::content_keys::{ContentKey, ContentKeys, KeyEncryptionKey, KeyEntry, KeyError};
use journey_core::domain::StreamState;
use journey_core::encoding;
use journey_core::envelope::{ChainLink, RecordedEvent};
use journey_core::error::{Error, LogLocation, Result};
use journey_core::ids::{ChildId, EventId, Position, Version};
use journey_core::store::VerifyReport;
use journey_core::store::backend::Verifier;
use journey_core::store::backend::{AppendPlan, StoredEventRef, plan_append, seal_append};
use journey_core::store::export::{EXPORT_FORMAT, ExportedRecord, StreamExport};
use journey_core::store::tree::LogId;
use journey_core::store::{AppendOutcome, AppendRequest, Destruction, EventStore, LogHead};
use journey_core::time::{Clock, Timestamp};

mod committer;
mod erasure;
mod open;
pub(crate) use open::lock_dir as lock_data_dir;
mod proofs;
mod reads;
mod writer;

pub(crate) use open::{check_checkpoint, checkpoint_in_log, refuse_unfinished_import};
pub(crate) use reads::check_indexed;

// What one thread hands another, named here so that each file sees its neighbours' parts.
use committer::{Committer, Pending, ToIndex, fail_all, reply_all};
use erasure::DestroyRequest;
use reads::read_entries;
use writer::{Prepared, WriterState};

/// Tuning for the embedded store. The defaults suit one local authority on one machine.
#[derive(Clone, Debug)]
pub struct EmbeddedOptions {
    pub log: LogOptions,
    /// How many records the in-memory index may get ahead of its snapshot files before the checkpointer
    /// thread writes them out. Bounds the catch-up (a log scan) after a crash; a clean close always writes a
    /// final checkpoint.
    pub checkpoint_every_events: u64,
    /// How many children's validation state the writer keeps in memory.
    pub stream_cache_capacity: usize,
    /// The most events one group commit takes, bounding the latency of the appends that wait behind it.
    pub max_commit_events: usize,
    /// How many decoded events the read cache keeps (recently read children's streams); 0 turns it off.
    pub read_cache_events: usize,
    /// The operator's key-encryption key. A new data directory opened with one seals each child's content
    /// under a key of that child's (schema version 2, `crate::keys`); a data directory whose content is
    /// sealed cannot be opened without it. `None`: a store in the clear (tests, benchmarks, and data
    /// directories made before issue #19, which stay in the clear until migrated by export and import).
    pub kek: Option<Arc<dyn KeyEncryptionKey>>,
}

impl Default for EmbeddedOptions {
    fn default() -> EmbeddedOptions {
        EmbeddedOptions {
            log: LogOptions::default(),
            checkpoint_every_events: 1_000_000,
            stream_cache_capacity: 20_000,
            max_commit_events: 8_192,
            // A few hundred bytes each decoded: tens of MiB, for the streams investigators have open.
            read_cache_events: 50_000,
            kek: None,
        }
    }
}

/// What opening the store found and did.
#[derive(Clone, Debug, Serialize)]
pub struct OpenReport {
    pub records: u64,
    /// Bytes of an incomplete final write that were cut off the log (never acknowledged).
    pub truncated_bytes: u64,
    pub truncation_reason: Option<String>,
    /// Why the index was rebuilt from scratch, if it was.
    pub index_rebuilt: Option<String>,
    /// Records the index was behind the log by, and caught up.
    pub index_caught_up: u64,
    pub open_millis: u64,
    /// Only when opened with [`EmbeddedStore::open_accepting_loss`]: what was known to be durable and is no
    /// longer in the log, in words (`None` if nothing was).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub loss_accepted: Option<String>,
}

/// Counters for metrics: how well group commit is batching.
#[derive(Debug, Default)]
pub struct CommitStats {
    pub commits: AtomicU64,
    pub events: AtomicU64,
    pub appends: AtomicU64,
}

#[derive(Debug)]
struct Shared {
    reader: LogReader,
    read_cache: ReadCache,
    index: RwLock<MemIndex>,
    /// The snapshot files; whoever holds this lock may take the index's unsaved records and write them.
    snapshot: Mutex<SnapshotFiles>,
    /// Set when the checkpointer has been asked to run and has not yet taken the records.
    checkpoint_requested: AtomicBool,
    head: Mutex<HeadState>,
    head_tx: tokio::sync::watch::Sender<u64>,
    stats: CommitStats,
    /// The number of the last group the committer is done with (durable and indexed, or failed).
    committed: AtomicU64,
    /// Why the writer stopped, once it has.
    failure: Mutex<Option<String>>,
    /// The children's content keys, unwrapped, when the store seals content (`None`: in the clear).
    content_keys: Option<Arc<ContentKeys>>,
    /// The key store on disk: appended by the committer (new children's keys, synced before their group),
    /// rewritten by a destruction.
    key_file: Mutex<Option<KeyFile>>,
}

impl Shared {
    /// Where reads find content keys.
    fn keys(&self) -> &dyn encoding::KeySource {
        match &self.content_keys {
            Some(keys) => keys.as_ref(),
            None => &encoding::NoKeys,
        }
    }

    /// Refuses a child whose content key was destroyed.
    fn refuse_destroyed(&self, child_id: &ChildId) -> Result<()> {
        match self.content_keys.as_ref().and_then(|k| k.destroyed_at(child_id)) {
            Some(destroyed_at) => Err(Error::Key(KeyError::Destroyed {
                child_id: child_id.clone(),
                destroyed_at,
            })),
            None => Ok(()),
        }
    }

    fn committed(&self) -> u64 {
        self.committed.load(Ordering::Acquire)
    }

    fn set_committed(&self, number: u64) {
        self.committed.store(number, Ordering::Release);
    }

    fn failure(&self) -> Option<String> {
        self.failure.lock().expect("failure lock").clone()
    }

    fn fail(&self, why: String) {
        self.failure.lock().expect("failure lock").get_or_insert(why);
    }

    fn index(&self) -> RwLockReadGuard<'_, MemIndex> {
        // The index is only mutated by pushes that validate first, so a panic elsewhere cannot leave it
        // half-updated.
        self.index
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn index_mut(&self) -> RwLockWriteGuard<'_, MemIndex> {
        self.index
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Writes whatever the index holds beyond the snapshot files to them. Errors are logged, and stop later
    /// checkpoints (the next open catches up from the last good one).
    fn checkpoint(&self) {
        let mut files = self
            .snapshot
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let delta = self.index_mut().begin_unsaved();
        self.checkpoint_requested.store(false, Ordering::Release);
        if files.failed {
            return;
        }
        let Some(mut delta) = delta else { return };
        // In pieces, each under the read lock: a million records copied in one hold would make the
        // committer, and every append behind it, wait for the whole copy.
        while !delta.copy_from(&self.index(), CHECKPOINT_COPY_PIECE) {}
        if let Err(e) = files.append(&delta) {
            tracing::error!(error = %e, "writing an index checkpoint failed; the next open will catch up from the log");
            files.failed = true;
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct HeadState {
    head: LogHead,
    /// Where the last record is in the log (meaningless while the log is empty).
    last: EntryLocation,
    recorded_at: Timestamp,
}

/// What the writer's first thread receives: appends, and word that the committer is free.
enum WriterMsg {
    Append(WriteRequest),
    /// The committer is waiting for a group.
    CommitterIdle,
    /// Hand over what is prepared and stop (sent when the store closes).
    Stop,
    /// Destroy children's content keys, in order with the appends around it (`store/erasure.rs`).
    Destroy(DestroyRequest),
}

struct WriteRequest {
    request: AppendRequest,
    reply: oneshot::Sender<Result<AppendOutcome>>,
}

/// The durable store on a local disk. Opening takes an exclusive lock on the data directory.
#[derive(Debug)]
pub struct EmbeddedStore {
    shared: Arc<Shared>,
    sender: Mutex<Option<mpsc::Sender<WriterMsg>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    committer: Mutex<Option<JoinHandle<()>>>,
    checkpointer: Mutex<Option<JoinHandle<()>>>,
    replier: Mutex<Option<JoinHandle<()>>>,
    /// The Merkle tree over the log (`crate::tree`): what its thread publishes, how to reach it, the thread.
    tree: Arc<TreeShared>,
    tree_tx: Mutex<Option<mpsc::Sender<TreeMsg>>>,
    tree_thread: Mutex<Option<JoinHandle<()>>>,
    /// The checkpoints signed over the tree and the cosignatures received (`crate::checkpoints`).
    checkpoints: CheckpointLog,
    log_id: LogId,
    _lock: File,
    report: OpenReport,
}

/// Records (and children) the checkpointer copies out of the index per hold of its read lock.
const CHECKPOINT_COPY_PIECE: usize = 16_384;

const LOG_DIR: &str = "log";
const INDEX_DIR: &str = "index";
/// The log's identity (`journey_core::store::LogId`), in the log's directory.
pub(crate) const LOG_ID_FILE: &str = "id";
/// The file that marks a data directory `journey log import` is still building: written before anything
/// else, removed only once every record is restored and checked. Every open but the import's refuses a
/// directory that holds it.
pub const IMPORT_MARKER: &str = "IMPORTING";

impl EmbeddedStore {
    pub fn open_report(&self) -> &OpenReport {
        &self.report
    }

    pub fn stats(&self) -> &CommitStats {
        &self.shared.stats
    }

    /// Stops the writer after the appends already queued, and writes a final index checkpoint.
    pub fn close(self) -> Result<()> {
        self.shutdown()
    }

    fn shutdown(&self) -> Result<()> {
        if let Some(sender) = self.sender.lock().expect("sender lock").take() {
            let _ = sender.send(WriterMsg::Stop);
        }
        if let Some(handle) = self.writer.lock().expect("writer lock").take() {
            handle
                .join()
                .map_err(|_| Error::Closed("the writer thread panicked".into()))?;
        }
        // The writer held the committer's only sender: the committer finishes the groups handed to it.
        if let Some(handle) = self.committer.lock().expect("committer lock").take() {
            handle
                .join()
                .map_err(|_| Error::Closed("the log committer thread panicked".into()))?;
        }
        if let Some(handle) = self.replier.lock().expect("replier lock").take() {
            handle
                .join()
                .map_err(|_| Error::Closed("the replies thread panicked".into()))?;
        }
        // The committer held the checkpointer's only sender: with it gone, the checkpointer writes the final
        // checkpoint and stops.
        if let Some(handle) = self.checkpointer.lock().expect("checkpointer lock").take() {
            handle
                .join()
                .map_err(|_| Error::Closed("the index checkpoint thread panicked".into()))?;
        }
        // The committer's sender went with it; with this one gone the tree thread syncs and stops.
        drop(self.tree_tx.lock().expect("tree sender lock").take());
        if let Some(handle) = self.tree_thread.lock().expect("tree thread lock").take() {
            handle
                .join()
                .map_err(|_| Error::Closed("the tree thread panicked".into()))?;
        }
        Ok(())
    }
    fn head_state(&self) -> HeadState {
        *self.shared.head.lock().expect("head lock")
    }
}

impl Drop for EmbeddedStore {
    fn drop(&mut self) {
        if let Err(e) = self.shutdown() {
            tracing::error!(error = %e, "closing the embedded store");
        }
    }
}

/// A segment's file name, as the log names it in its own errors.
pub(crate) fn segment_name(segment: u32) -> String {
    format!("{segment:010}.seg")
}

/// An entry in the log is `stream_hash ‖ log_hash ‖ body`.
fn encode_entry(chain: &ChainLink, body: &[u8]) -> Vec<u8> {
    let mut entry = Vec::with_capacity(64 + body.len());
    entry.extend_from_slice(&chain.stream_hash);
    entry.extend_from_slice(&chain.log_hash);
    entry.extend_from_slice(body);
    entry
}

pub(crate) fn split_entry(bytes: &[u8], at: EntryLocation) -> Result<(ChainLink, &[u8])> {
    if bytes.len() < 64 {
        return Err(Error::Corrupt {
            location: LogLocation {
                segment: segment_name(at.segment),
                offset: at.offset,
                position: None,
            },
            detail: "entry shorter than its hashes".into(),
        });
    }
    let chain = ChainLink {
        stream_hash: bytes[0..32].try_into().expect("32"),
        log_hash: bytes[32..64].try_into().expect("32"),
    };
    Ok((chain, &bytes[64..]))
}

fn decode_entry(bytes: &[u8], at: EntryLocation, keys: &dyn encoding::KeySource) -> Result<RecordedEvent> {
    let (chain, body) = split_entry(bytes, at)?;
    let (envelope, payload) = encoding::decode_body(body, keys)?;
    Ok(RecordedEvent {
        envelope,
        payload,
        chain,
    })
}

fn stale_index(child_id: &ChildId, version: Version) -> Error {
    Error::Index(format!(
        "index entry for {child_id} version {version} points at another record: rebuild the index"
    ))
}

impl EmbeddedStore {
    /// Hands the writer's first thread a message and waits for its `answer` (an append, a destruction).
    fn ask_writer<T: Send + 'static>(
        &self,
        message: WriterMsg,
        answer: oneshot::Receiver<Result<T>>,
    ) -> BoxFuture<'_, Result<T>> {
        let sent = match self.sender.lock().expect("sender lock").as_ref() {
            Some(sender) => sender.send(message).map_err(|_| ()),
            None => Err(()),
        };
        async move {
            sent.map_err(|()| Error::Closed("the store is closed".into()))?;
            answer
                .await
                .map_err(|_| Error::Closed("the writer stopped".into()))?
        }
        .boxed()
    }
}

impl EventStore for EmbeddedStore {
    fn append(&self, request: AppendRequest) -> BoxFuture<'_, Result<AppendOutcome>> {
        let (reply, answer) = oneshot::channel();
        self.ask_writer(WriterMsg::Append(WriteRequest { request, reply }), answer)
    }

    fn read_stream(
        &self,
        child_id: ChildId,
        from: Version,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<RecordedEvent>>> {
        let result = self.read_stream_now(&child_id, from.max(Version::FIRST), limit);
        async move { result }.boxed()
    }

    fn stream_version(&self, child_id: ChildId) -> BoxFuture<'_, Result<Option<Version>>> {
        let result = Ok(self.shared.index().stream_version(&child_id));
        async move { result }.boxed()
    }

    fn read_all(&self, from: Position, limit: usize) -> BoxFuture<'_, Result<Vec<RecordedEvent>>> {
        let result = self.read_all_now(from, limit);
        async move { result }.boxed()
    }

    fn head(&self) -> BoxFuture<'_, Result<LogHead>> {
        let head = self.head_state().head;
        async move { Ok(head) }.boxed()
    }

    fn watch_head(&self) -> tokio::sync::watch::Receiver<u64> {
        self.shared.head_tx.subscribe()
    }

    fn export_stream(&self, child_id: ChildId) -> BoxFuture<'_, Result<StreamExport>> {
        let result = self.export_now(child_id);
        async move { result }.boxed()
    }

    fn verify(&self) -> BoxFuture<'_, Result<VerifyReport>> {
        let result = self.verify_now();
        async move { result }.boxed()
    }

    fn content_sealed(&self) -> bool {
        self.shared.content_keys.is_some()
    }

    fn seal_for_child(&self, child_id: &ChildId, aad: &[u8], plaintext: &[u8]) -> Result<Option<Vec<u8>>> {
        let Some(keys) = &self.shared.content_keys else {
            return Ok(None);
        };
        let mut sealed = Vec::with_capacity(plaintext.len() + 28);
        keys.key(child_id)?.seal_into(aad, plaintext, &mut sealed)?;
        Ok(Some(sealed))
    }

    fn open_for_child(&self, child_id: &ChildId, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>> {
        let keys = self
            .shared
            .content_keys
            .as_ref()
            .ok_or(Error::Key(KeyError::NotSealed))?;
        Ok(keys
            .key(child_id)?
            .open(aad, sealed, || format!("sealed data of child {child_id}"))?)
    }

    fn destroy_content(
        &self,
        children: Vec<ChildId>,
        destroyed_at: Timestamp,
    ) -> BoxFuture<'_, Result<Destruction>> {
        self.destroy_content_now(children, destroyed_at)
    }

    fn failure(&self) -> Option<String> {
        if let Some(why) = self.shared.failure() {
            return Some(format!(
                "the writer stopped after a failure and the store must be reopened: {why}"
            ));
        }
        self.sender
            .lock()
            .expect("sender lock")
            .is_none()
            .then(|| "the store is closed".to_owned())
    }
}

/// The data directory layout, for tools that need to find things.
pub fn log_dir(data_dir: &Path) -> PathBuf {
    data_dir.join(LOG_DIR)
}

pub fn index_dir(data_dir: &Path) -> PathBuf {
    data_dir.join(INDEX_DIR)
}

/// The tree's level files (derived: deleting them costs a rebuild from the log).
pub fn tree_dir(data_dir: &Path) -> PathBuf {
    data_dir.join(crate::tree::TREE_DIR)
}

/// The checkpoints and cosignatures (not derived: nothing rebuilds them).
pub fn checkpoints_dir(data_dir: &Path) -> PathBuf {
    data_dir.join(CHECKPOINTS_DIR)
}
