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

use crate::chain;
use crate::domain::StreamState;
use crate::encoding;
use crate::envelope::{ChainLink, RecordedEvent};
use crate::error::{Error, LogLocation, Result};
use crate::ids::{ChildId, EventId, Position, Version};
use crate::store::export::{EXPORT_FORMAT, ExportedRecord, StreamExport};
use crate::store::index::{self as index, Checkpoint, MemIndex, SnapshotFiles, Unusable};
use crate::store::log::{self, EntryLocation, LogOptions, LogReader, LogWriter, RecoveryReport};
use crate::store::read_cache::ReadCache;
use crate::store::verify::{Verifier, VerifyReport};
use crate::store::{
    AppendOutcome, AppendPlan, AppendRequest, EventStore, LogHead, StoredEventRef, plan_append, seal_append,
};
use crate::time::{Clock, Timestamp};

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
}

impl Shared {
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
        let delta = self.index_mut().take_unsaved();
        self.checkpoint_requested.store(false, Ordering::Release);
        if files.failed {
            return;
        }
        if let Some(delta) = delta
            && let Err(e) = files.append(&delta)
        {
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
    _lock: File,
    report: OpenReport,
}

const LOG_DIR: &str = "log";
const INDEX_DIR: &str = "index";

impl EmbeddedStore {
    pub fn open(dir: impl AsRef<Path>, clock: Arc<dyn Clock>) -> Result<EmbeddedStore> {
        EmbeddedStore::open_with(dir, clock, EmbeddedOptions::default())
    }

    pub fn open_with(
        dir: impl AsRef<Path>,
        clock: Arc<dyn Clock>,
        options: EmbeddedOptions,
    ) -> Result<EmbeddedStore> {
        let started = Instant::now();
        let dir = dir.as_ref();
        fs::create_dir_all(dir)?;
        let lock = lock_dir(dir)?;
        let (writer, reader, recovery) = log::open(&dir.join(LOG_DIR), options.log.clone())?;
        let (index, snapshot, rebuilt, caught_up, head) = open_index(dir, &reader)?;
        let records = head.head.position.map_or(0, |p| p.0);
        let report = OpenReport {
            records,
            truncated_bytes: recovery.truncated_bytes,
            truncation_reason: recovery.reason.clone(),
            index_rebuilt: rebuilt,
            index_caught_up: caught_up,
            open_millis: started.elapsed().as_millis() as u64,
        };
        log_recovery(&recovery, &report);
        let (head_tx, _) = tokio::sync::watch::channel(records);
        let shared = Arc::new(Shared {
            reader,
            read_cache: ReadCache::new(options.read_cache_events),
            index: RwLock::new(index),
            snapshot: Mutex::new(snapshot),
            checkpoint_requested: AtomicBool::new(false),
            head: Mutex::new(head),
            head_tx,
            stats: CommitStats::default(),
            committed: AtomicU64::new(0),
            failure: Mutex::new(None),
        });
        let (sender, receiver) = mpsc::channel();
        let cache =
            lru::LruCache::new(NonZeroUsize::new(options.stream_cache_capacity.max(1)).expect("non-zero"));
        // The checkpointer runs whenever asked, and once more when the writer has stopped (its sender dropped).
        let (checkpoint_tx, checkpoint_rx) = mpsc::channel::<()>();
        let for_checkpoints = shared.clone();
        let checkpointer = std::thread::Builder::new()
            .name("journey-index-checkpoint".into())
            .spawn(move || {
                while checkpoint_rx.recv().is_ok() {
                    for_checkpoints.checkpoint();
                }
                for_checkpoints.checkpoint();
            })?;
        let (replies_tx, replies_rx) = mpsc::channel::<Vec<Pending>>();
        let replier = std::thread::Builder::new()
            .name("journey-append-replies".into())
            .spawn(move || {
                while let Ok(pending) = replies_rx.recv() {
                    reply_all(pending);
                }
            })?;
        // The first thread hands a group over only when the committer says it is free (or the group is full).
        let (commits, groups) = mpsc::sync_channel::<Prepared>(1);
        let mut committer = Committer {
            shared: shared.clone(),
            idle_tx: sender.clone(),
            log: writer,
            options: options.clone(),
            failed: None,
            checkpoint_tx,
            replies_tx,
        };
        let committer = std::thread::Builder::new()
            .name("journey-log-commit".into())
            .spawn(move || committer.run(groups))?;
        let mut state = WriterState {
            shared: shared.clone(),
            clock,
            cache,
            options,
            head,
            in_flight: VecDeque::new(),
            next_group: 1,
            evicted: HashMap::new(),
            commits,
        };
        let handle = std::thread::Builder::new()
            .name("journey-log-writer".into())
            .spawn(move || state.run(receiver))?;
        Ok(EmbeddedStore {
            shared,
            sender: Mutex::new(Some(sender)),
            writer: Mutex::new(Some(handle)),
            committer: Mutex::new(Some(committer)),
            checkpointer: Mutex::new(Some(checkpointer)),
            replier: Mutex::new(Some(replier)),
            _lock: lock,
            report,
        })
    }

    /// Rebuilds the index from the log. The store must not be open elsewhere.
    pub fn rebuild_index(dir: impl AsRef<Path>, options: EmbeddedOptions) -> Result<OpenReport> {
        let dir = dir.as_ref();
        {
            let _lock = lock_dir(dir)?;
            remove_index(dir)?;
        }
        let store = EmbeddedStore::open_with(dir, Arc::new(crate::time::SystemClock), options)?;
        let report = store.open_report().clone();
        store.close()?;
        Ok(report)
    }

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
        Ok(())
    }

    fn read_stream_now(&self, child_id: &ChildId, from: Version, limit: usize) -> Result<Vec<RecordedEvent>> {
        let cache = &self.shared.read_cache;
        let cached = cache.get(child_id);
        let have = cached.as_ref().map_or(0, |c| c.len() as u64);
        // Served from the cache when it holds every version asked for that the stream has.
        if let Some(cached) = &cached
            && let Some(current) = self.shared.index().stream_version(child_id)
        {
            let last = current
                .0
                .min(from.0.saturating_add(limit as u64).saturating_sub(1));
            if last <= have {
                let first = (from.0 as usize - 1).min(cached.len());
                return Ok(cached[first..last as usize].to_vec());
            }
        }
        if !cache.enabled() || from.0 > have + 1 {
            // A window that starts past what is cached: read just the window, and leave the cache alone.
            let entries = self.shared.index().stream(child_id, from, limit);
            return read_entries(&self.shared.reader, &entries, child_id);
        }
        // Read what the cache lacks, up to the end of the window, and cache the longer prefix.
        let window_end = from.0.saturating_add(limit as u64).saturating_sub(1);
        let missing_limit = usize::try_from(window_end - have).unwrap_or(usize::MAX);
        let entries = self
            .shared
            .index()
            .stream(child_id, Version(have + 1), missing_limit);
        let fresh = read_entries(&self.shared.reader, &entries, child_id)?;
        let mut prefix = Vec::with_capacity(have as usize + fresh.len());
        if let Some(cached) = cached {
            prefix.extend_from_slice(&cached);
        }
        prefix.extend(fresh);
        let first = (from.0 as usize - 1).min(prefix.len());
        let out = prefix[first..].to_vec();
        cache.offer(child_id, Arc::new(prefix));
        Ok(out)
    }

    fn read_all_now(&self, from: Position, limit: usize) -> Result<Vec<RecordedEvent>> {
        let from = from.max(Position::FIRST);
        let Some(last) = self.head_state().head.position else {
            return Ok(Vec::new());
        };
        if from > last || limit == 0 {
            return Ok(Vec::new());
        }
        let mut position = from;
        let location = self.shared.index().location(from.0).ok_or_else(|| {
            Error::Index("no location for a position before the head: rebuild the index".into())
        })?;
        let mut out = Vec::with_capacity(limit.min((last.0 - from.0 + 1) as usize));
        for item in self.shared.reader.scan(Some((location.segment, location.offset))) {
            if position > last || out.len() >= limit {
                break;
            }
            let (at, bytes) = item?;
            if position >= from {
                let event = decode_entry(&bytes, at)?;
                if event.envelope.position != position {
                    return Err(Error::Index(
                        "position index points at the wrong record: rebuild the index".into(),
                    ));
                }
                out.push(event);
            }
            position = position.next();
        }
        Ok(out)
    }

    fn export_now(&self, child_id: ChildId) -> Result<StreamExport> {
        let log_head = self.head_state().head;
        // Each record's previous log hash is the log hash of the record before it in the whole log, read
        // from that record's first bytes (its body is not decoded).
        let (entries, previous) = {
            let index = self.shared.index();
            let entries = index.stream(&child_id, Version::FIRST, usize::MAX);
            let previous: Vec<Option<EntryLocation>> =
                entries.iter().map(|(_, p, _)| index.location(p.0 - 1)).collect();
            (entries, previous)
        };
        let locations: Vec<EntryLocation> = entries.iter().map(|(_, _, l)| *l).collect();
        let raw = self.shared.reader.read_many(&locations)?;
        let before: Vec<EntryLocation> = previous.iter().flatten().copied().collect();
        let mut before_raw = self.shared.reader.read_many(&before)?.into_iter();
        let mut records = Vec::with_capacity(entries.len());
        for ((bytes, (version, position, location)), prev) in raw.iter().zip(&entries).zip(&previous) {
            let (chain, body) = split_entry(bytes, *location)?;
            let (envelope, payload) = encoding::decode_body(body)?;
            if envelope.child_id != child_id || envelope.version != *version {
                return Err(stale_index(&child_id, *version));
            }
            let previous_log_hash = match prev {
                None => chain::GENESIS,
                Some(at) => {
                    let bytes = before_raw.next().expect("one read per previous location");
                    split_entry(&bytes, *at)?.0.log_hash
                }
            };
            records.push(ExportedRecord {
                position: *position,
                version: *version,
                body: body.to_vec(),
                previous_log_hash,
                chain,
                event: RecordedEvent {
                    envelope,
                    payload,
                    chain,
                },
            });
        }
        Ok(StreamExport {
            format: EXPORT_FORMAT.to_owned(),
            child_id,
            records,
            log_head,
        })
    }

    fn verify_now(&self) -> Result<VerifyReport> {
        let mut verifier = Verifier::new();
        for item in self.shared.reader.scan(None) {
            match item {
                Ok((at, bytes)) => {
                    let (chain, body) = match split_entry(&bytes, at) {
                        Ok(parts) => parts,
                        Err(e) => {
                            verifier.fail(e.to_string());
                            break;
                        }
                    };
                    if !verifier.push(body, &chain) {
                        break;
                    }
                }
                Err(e) => {
                    verifier.fail(e.to_string());
                    break;
                }
            }
        }
        Ok(verifier.finish())
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

fn lock_dir(dir: &Path) -> Result<File> {
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join("LOCK"))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(fs::TryLockError::WouldBlock) => Err(Error::Closed(format!(
            "{} is in use by another Journey process (LOCK is held)",
            dir.display()
        ))),
        Err(fs::TryLockError::Error(e)) => Err(e.into()),
    }
}

fn remove_index(dir: &Path) -> Result<()> {
    let path = dir.join(INDEX_DIR);
    if path.exists() {
        fs::remove_dir_all(&path)?;
    }
    Ok(())
}

fn log_recovery(recovery: &RecoveryReport, report: &OpenReport) {
    if recovery.truncated_at.is_some() {
        tracing::warn!(
            bytes = recovery.truncated_bytes,
            reason = recovery.reason.as_deref().unwrap_or(""),
            "cut an incomplete final write off the log (it was never acknowledged)"
        );
    }
    if let Some(why) = &report.index_rebuilt {
        tracing::warn!(reason = %why, records = report.records, "rebuilt the index from the log");
    }
    tracing::info!(
        records = report.records,
        millis = report.open_millis,
        "opened the embedded store"
    );
}

/// A segment's file name, as the log names it in its own errors.
fn segment_name(segment: u32) -> String {
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

fn split_entry(bytes: &[u8], at: EntryLocation) -> Result<(ChainLink, &[u8])> {
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

fn decode_entry(bytes: &[u8], at: EntryLocation) -> Result<RecordedEvent> {
    let (chain, body) = split_entry(bytes, at)?;
    let (envelope, payload) = encoding::decode_body(body)?;
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

/// From this many records, a read from the log (a child's first read, nothing cached) is split between two
/// threads, each reading and decoding half: for a long stream scattered over the log, the `pread`s and the
/// decoding are most of a read's time, and they parallelise. Below it, a thread costs more than it saves.
const SPLIT_READ_AT: usize = 256;

/// Reads and decodes a child's records at the index's locations, checking each is the one the index says.
fn read_entries(
    reader: &LogReader,
    entries: &[(Version, Position, EntryLocation)],
    child_id: &ChildId,
) -> Result<Vec<RecordedEvent>> {
    static CPUS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    let cpus = *CPUS.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    if entries.len() < SPLIT_READ_AT || cpus < 2 {
        return read_entries_here(reader, entries, child_id);
    }
    let (first, second) = entries.split_at(entries.len() / 2);
    let (first, second) = std::thread::scope(|scope| {
        let other = scope.spawn(|| read_entries_here(reader, second, child_id));
        let first = read_entries_here(reader, first, child_id);
        (first, other.join())
    });
    let mut out = first?;
    out.extend(second.unwrap_or_else(|panic| std::panic::resume_unwind(panic))?);
    Ok(out)
}

/// [`read_entries`] on the calling thread.
fn read_entries_here(
    reader: &LogReader,
    entries: &[(Version, Position, EntryLocation)],
    child_id: &ChildId,
) -> Result<Vec<RecordedEvent>> {
    let locations: Vec<EntryLocation> = entries.iter().map(|(_, _, l)| *l).collect();
    let decode = |k: usize, bytes: &[u8]| {
        let (version, _, location) = entries[k];
        let event = decode_entry(bytes, location)?;
        if &event.envelope.child_id != child_id || event.envelope.version != version {
            return Err(stale_index(child_id, version));
        }
        Ok(event)
    };
    // A stream's positions ascend, and so do their locations: then the payloads come in order and go
    // straight into the result.
    if locations.is_sorted_by_key(|l| (l.segment, l.offset)) {
        let mut out = Vec::with_capacity(entries.len());
        reader.read_many_each(&locations, |k, bytes| {
            debug_assert_eq!(k, out.len());
            out.push(decode(k, bytes)?);
            Ok(())
        })?;
        return Ok(out);
    }
    let mut out: Vec<Option<RecordedEvent>> = Vec::with_capacity(entries.len());
    out.resize_with(entries.len(), || None);
    reader.read_many_each(&locations, |k, bytes| {
        out[k] = Some(decode(k, bytes)?);
        Ok(())
    })?;
    Ok(out
        .into_iter()
        .map(|e| e.expect("read_many_each reads every location"))
        .collect())
}

/// Opens the index and brings it level with the log: from its snapshot if it has one that matches the
/// log, from scratch otherwise.
fn open_index(
    dir: &Path,
    reader: &LogReader,
) -> Result<(MemIndex, SnapshotFiles, Option<String>, u64, HeadState)> {
    let path = dir.join(INDEX_DIR);
    let loaded = if path.is_dir() {
        index::load(&path, |cp| check_checkpoint(cp, reader))
    } else {
        Err(Unusable::Missing)
    };
    let (mut index, mut files, mut rebuilt) = match loaded {
        Ok((index, files)) => (index, files, None),
        Err(why) => {
            remove_index(dir)?;
            fs::create_dir_all(&path)?;
            let files = SnapshotFiles::create(&path)?;
            let why = match why {
                Unusable::Missing => None,
                Unusable::Damaged(why) => Some(why),
            };
            // Sized for the whole log at about 300 bytes a record, to spare the id table's regrowth.
            let estimate = reader.estimated_bytes() / 300;
            (MemIndex::with_capacity(estimate as usize), files, why)
        }
    };
    let had_checkpoint = index.last().is_some();
    let caught_up = catch_up(&mut index, &mut files, reader)?;
    if rebuilt.is_none() && !had_checkpoint && caught_up > 0 {
        // A fresh index over an existing log: that was a full rebuild, so say so.
        rebuilt = Some("there was no index".into());
    }
    index.shrink();
    let head = match index.last() {
        Some(cp) => HeadState {
            head: LogHead {
                position: Some(cp.position),
                log_hash: cp.log_hash,
            },
            last: cp.location,
            recorded_at: cp.recorded_at,
        },
        None => HeadState {
            head: LogHead::EMPTY,
            last: EntryLocation {
                segment: 0,
                offset: 0,
                len: 0,
            },
            recorded_at: Timestamp::UNIX_EPOCH,
        },
    };
    Ok((index, files, rebuilt, caught_up, head))
}

/// The checkpoint must name a record that is in the log, at the place it says, with the hash it says.
fn check_checkpoint(checkpoint: &Checkpoint, reader: &LogReader) -> std::result::Result<(), String> {
    if checkpoint.position.0 == 0 {
        return Ok(());
    }
    let bytes = reader
        .read(checkpoint.location)
        .map_err(|e| format!("the index checkpoint is not in the log: {e}"))?;
    let (chain, body) = split_entry(&bytes, checkpoint.location).map_err(|e| e.to_string())?;
    let (fields, _) = encoding::decode_locator(body).map_err(|e| e.to_string())?;
    if chain.log_hash != checkpoint.log_hash || fields.position != checkpoint.position {
        return Err("the index checkpoint does not match the log".into());
    }
    Ok(())
}

/// Records indexed between two checkpoints while catching up, so that an interrupted rebuild resumes and
/// the snapshot's unsaved part stays small.
const CATCH_UP_CHECKPOINT: u64 = 1 << 20;

/// Indexes every record after the index's last one, checkpointing as it goes. Returns how many.
fn catch_up(index: &mut MemIndex, files: &mut SnapshotFiles, reader: &LogReader) -> Result<u64> {
    let last = index.last();
    // Scan from the last indexed record itself (already checked against the log) and skip it.
    let from = last.map(|cp| (cp.location.segment, cp.location.offset));
    let mut caught_up = 0u64;
    for item in reader.scan(from).skip(usize::from(last.is_some())) {
        let (at, bytes) = item?;
        let (chain, body) = split_entry(&bytes, at)?;
        let (store, event_id) = encoding::decode_locator(body)?;
        let expected = Position(index.len() + 1);
        if store.position != expected {
            return Err(Error::Corrupt {
                location: LogLocation {
                    segment: segment_name(at.segment),
                    offset: at.offset,
                    position: Some(expected),
                },
                detail: format!("record claims position {}", store.position),
            });
        }
        index
            .push(
                &store.child_id,
                store.version,
                index::fingerprint(event_id.as_str()),
                Checkpoint {
                    position: store.position,
                    location: at,
                    log_hash: chain.log_hash,
                    recorded_at: store.recorded_at,
                },
            )
            .map_err(|e| Error::Corrupt {
                location: LogLocation {
                    segment: segment_name(at.segment),
                    offset: at.offset,
                    position: Some(expected),
                },
                detail: e.to_string(),
            })?;
        caught_up += 1;
        if index.unsaved() >= CATCH_UP_CHECKPOINT
            && let Some(delta) = index.take_unsaved()
        {
            files.append(&delta)?;
        }
    }
    if let Some(delta) = index.take_unsaved() {
        files.append(&delta)?;
    }
    Ok(caught_up)
}

/// What the writer knows about one child between appends.
#[derive(Clone, Debug)]
struct CachedStream {
    version: Option<Version>,
    last_stream_hash: [u8; 32],
    state: StreamState,
}

/// The first of the writer's two threads. It takes appends off the channel in groups, judges each against
/// its child's state (idempotency, expected version, rules) and seals the accepted ones, then hands the
/// group to the [`Committer`]. It runs up to two groups ahead of the committer: while group *n* is written
/// and synced, group *n + 1* is judged and sealed against the state group *n* leaves. Nothing it does is
/// acknowledged before the committer has made it durable; if a write fails, the committer fails every later
/// group too, and this thread forgets the states it built on them.
struct WriterState {
    shared: Arc<Shared>,
    clock: Arc<dyn Clock>,
    cache: lru::LruCache<ChildId, CachedStream>,
    options: EmbeddedOptions,
    /// The head as the groups handed to the committer leave it.
    head: HeadState,
    /// Groups handed to the committer and perhaps not yet indexed: their number, event ids and children.
    in_flight: VecDeque<InFlight>,
    /// The number of the next group.
    next_group: u64,
    /// States evicted from the cache while their child had records in flight, with the newest group that
    /// can hold them; dropped once the committer is done with it.
    evicted: HashMap<ChildId, (u64, CachedStream)>,
    commits: mpsc::SyncSender<Prepared>,
}

struct InFlight {
    number: u64,
    ids: HashMap<EventId, StoredEventRef>,
    children: HashSet<ChildId>,
}

/// A judged and sealed group on its way to the committer.
struct Prepared {
    number: u64,
    entries: Vec<Vec<u8>>,
    to_index: Vec<ToIndex>,
    /// Answered once the group is durable and indexed (with an error if it fails): the appends written in
    /// it, and retries of appends stored earlier or in flight (answered only once those are durable).
    pending: Vec<Pending>,
    /// The head after this group (its last location is filled in once written).
    head: HeadState,
}

/// The second of the writer's threads: owns the log. For each group, in order: one write, one `fdatasync`,
/// then the in-memory index, the head, and the answers. At most one group is ever written and not yet
/// synced, as the log's recovery requires.
struct Committer {
    shared: Arc<Shared>,
    /// Tells the first thread when this one is free.
    idle_tx: mpsc::Sender<WriterMsg>,
    log: LogWriter,
    options: EmbeddedOptions,
    failed: Option<String>,
    /// Wakes the checkpointer thread; dropping it (when the committer stops) makes it write a final checkpoint.
    checkpoint_tx: mpsc::Sender<()>,
    /// To the replies thread: appends to answer, in commit order, each durable and indexed.
    replies_tx: mpsc::Sender<Vec<Pending>>,
}

/// A record of the current group, for the index once the group is durable.
struct ToIndex {
    child_id: ChildId,
    version: Version,
    fingerprint: u64,
    position: Position,
    log_hash: [u8; 32],
    recorded_at: Timestamp,
}

/// An event already stored under this id, if there is one: candidates by fingerprint from the in-memory
/// index, each confirmed by reading its record.
fn lookup_stored(shared: &Shared, id: &EventId) -> Result<Option<StoredEventRef>> {
    let candidates = shared.index().candidates(index::fingerprint(id.as_str()));
    for (_, location) in candidates {
        let bytes = shared.reader.read(location)?;
        let (_, body) = split_entry(&bytes, location)?;
        let fields = encoding::decode_index_fields(body)?;
        if fields.event_id == *id {
            return Ok(Some(StoredEventRef {
                child_id: fields.store.child_id,
                version: fields.store.version,
                position: fields.store.position,
                recorded_at: fields.store.recorded_at,
                content_digest: fields.content_digest,
            }));
        }
    }
    Ok(None)
}

/// An append waiting for its group to be durable and indexed.
struct Pending {
    reply: oneshot::Sender<Result<AppendOutcome>>,
    outcome: AppendOutcome,
}

/// Groups with at most this many appends are answered by the committer itself (a hand-off would only add
/// latency); larger ones by the replies thread.
const DIRECT_REPLIES: usize = 2;

/// Answers appends whose records are durable and indexed.
fn reply_all(pending: Vec<Pending>) {
    for p in pending {
        let _ = p.reply.send(Ok(p.outcome));
    }
}

fn fail_all(pending: Vec<Pending>, why: &str) {
    for p in pending {
        let _ = p.reply.send(Err(Error::Closed(why.to_owned())));
    }
}

impl WriterState {
    /// Prepares appends as they arrive, merging them into one group for as long as the committer is busy, and
    /// hands the group over as soon as the committer is free: so group *n + 1* is judged and sealed while
    /// group *n* is written and synced, and holds everything that arrived meanwhile.
    fn run(&mut self, receiver: mpsc::Receiver<WriterMsg>) {
        let mut open: Option<Prepared> = None;
        let mut committer_idle = false;
        let mut stop = false;
        while !stop {
            let Ok(first) = receiver.recv() else { break };
            let mut group = Vec::new();
            let mut events = open.as_ref().map_or(0, |g| g.entries.len());
            let mut take = |msg: WriterMsg, group: &mut Vec<WriteRequest>, events: &mut usize| match msg {
                WriterMsg::Append(w) => {
                    *events += w.request.events.len();
                    group.push(w);
                }
                WriterMsg::CommitterIdle => committer_idle = true,
                WriterMsg::Stop => stop = true,
            };
            take(first, &mut group, &mut events);
            while events < self.options.max_commit_events {
                match receiver.try_recv() {
                    Ok(msg) => take(msg, &mut group, &mut events),
                    Err(_) => break,
                }
            }
            if !group.is_empty()
                && let Some(prepared) = self.prepare(group)
            {
                open = Some(match open.take() {
                    None => prepared,
                    Some(mut g) => {
                        g.number = prepared.number;
                        g.entries.extend(prepared.entries);
                        g.to_index.extend(prepared.to_index);
                        g.pending.extend(prepared.pending);
                        g.head = prepared.head;
                        g
                    }
                });
            }
            // A full group waits for the committer; otherwise it is handed over only when the committer is free.
            let full = open
                .as_ref()
                .is_some_and(|g| g.entries.len() >= self.options.max_commit_events);
            if (committer_idle || full || stop)
                && let Some(g) = open.take()
            {
                committer_idle = false;
                if let Err(mpsc::SendError(lost)) = self.commits.send(g) {
                    fail_all(lost.pending, "the log committer stopped");
                }
            }
        }
    }

    /// Forgets the in-flight groups the committer is done with (their ids are in the index now).
    fn prune(&mut self) {
        let done = self.shared.committed();
        while self.in_flight.front().is_some_and(|g| g.number <= done) {
            self.in_flight.pop_front();
        }
        if !self.evicted.is_empty() {
            self.evicted.retain(|_, (newest, _)| *newest > done);
        }
    }

    /// Judges and seals appends, for the committer.
    fn prepare(&mut self, group: Vec<WriteRequest>) -> Option<Prepared> {
        if let Some(why) = self.shared.failure() {
            // The committer failed: every state built on groups after the last durable one is suspect.
            self.cache.clear();
            self.in_flight.clear();
            self.evicted.clear();
            for w in group {
                let _ = w.reply.send(Err(Error::Closed(why.clone())));
            }
            return None;
        }
        self.prune();
        let mut head = self.head;
        let mut entries: Vec<Vec<u8>> = Vec::new();
        let mut to_index: Vec<ToIndex> = Vec::new();
        let mut pending: Vec<Pending> = Vec::new();
        let mut pending_ids: HashMap<EventId, StoredEventRef> = HashMap::new();
        let mut touched: HashMap<ChildId, CachedStream> = HashMap::new();

        for WriteRequest { request, reply } in group {
            self.shared.stats.appends.fetch_add(1, Ordering::Relaxed);
            // Recorded time never goes backwards, even if the clock does.
            let recorded_at = self.clock.now().max(head.recorded_at);
            if head.head.next_position().0 + request.events.len() as u64 > index::MAX_POSITION + 1 {
                let _ = reply.send(Err(Error::Index(format!(
                    "the log has reached the index's limit of {} records",
                    index::MAX_POSITION
                ))));
                continue;
            }
            let stream = match touched.remove(&request.child_id) {
                Some(s) => s,
                None => match self.load_stream(&request.child_id) {
                    Ok(s) => s,
                    Err(e) => {
                        let _ = reply.send(Err(e));
                        continue;
                    }
                },
            };
            let shared = &*self.shared;
            let in_flight = &self.in_flight;
            let mut stream = stream;
            let plan =
                plan_append(
                    &request,
                    stream.version,
                    &mut stream.state,
                    recorded_at,
                    |id| match pending_ids
                        .get(id)
                        .or_else(|| in_flight.iter().rev().find_map(|g| g.ids.get(id)))
                    {
                        Some(found) => Ok(Some(found.clone())),
                        None => lookup_stored(shared, id),
                    },
                );
            match plan {
                Err(e) => {
                    // A refusal claims nothing about durability: answer at once.
                    touched.insert(request.child_id.clone(), stream);
                    let _ = reply.send(Err(e));
                }
                Ok(AppendPlan::AlreadyRecorded(outcome)) => {
                    // The original may still be in flight: answer with this group, after everything before
                    // it is durable.
                    touched.insert(request.child_id.clone(), stream);
                    pending.push(Pending { reply, outcome });
                }
                Ok(AppendPlan::Write) => {
                    let sealed = seal_append(
                        &request,
                        recorded_at,
                        (stream.version, stream.last_stream_hash),
                        head.head,
                    );
                    let mut appended = Vec::with_capacity(sealed.len());
                    for record in sealed {
                        let envelope = &record.event.envelope;
                        pending_ids.insert(envelope.event_id.clone(), record.stored_ref());
                        to_index.push(ToIndex {
                            child_id: envelope.child_id.clone(),
                            version: envelope.version,
                            fingerprint: index::fingerprint(envelope.event_id.as_str()),
                            position: envelope.position,
                            log_hash: record.event.chain.log_hash,
                            recorded_at,
                        });
                        entries.push(encode_entry(&record.event.chain, &record.body));
                        stream.version = Some(envelope.version);
                        stream.last_stream_hash = record.event.chain.stream_hash;
                        head.head = LogHead {
                            position: Some(envelope.position),
                            log_hash: record.event.chain.log_hash,
                        };
                        head.recorded_at = recorded_at;
                        appended.push(record.appended());
                    }
                    touched.insert(request.child_id.clone(), stream);
                    pending.push(Pending {
                        reply,
                        outcome: AppendOutcome {
                            child_id: request.child_id,
                            events: appended,
                            already_recorded: false,
                        },
                    });
                }
            }
        }

        if pending.is_empty() {
            self.remember(touched, self.next_group.saturating_sub(1));
            return None;
        }
        let number = self.next_group;
        self.next_group += 1;
        if !entries.is_empty() {
            self.in_flight.push_back(InFlight {
                number,
                ids: pending_ids,
                children: touched.keys().cloned().collect(),
            });
        }
        self.remember(touched, number);
        self.head = head;
        Some(Prepared {
            number,
            entries,
            to_index,
            pending,
            head,
        })
    }

    /// Puts states back in the cache. A state the cache evicts is kept aside if the child has records in
    /// flight (`newest` is the newest group that can hold them), since the index cannot rebuild it yet.
    fn remember(&mut self, touched: HashMap<ChildId, CachedStream>, newest: u64) {
        for (child, stream) in touched {
            if let Some((out, state)) = self.cache.push(child, stream)
                && self.in_flight.iter().any(|g| g.children.contains(&out))
            {
                self.evicted.insert(out, (newest, state));
            }
        }
    }

    /// The child's version, last hash and validation state: from the cache, or by replaying the stream.
    fn load_stream(&mut self, child_id: &ChildId) -> Result<CachedStream> {
        // Taken out of the cache, not cloned: the group puts it back when it is done with it.
        if let Some(s) = self.cache.pop(child_id) {
            return Ok(s);
        }
        // Evicted from the cache while some of its records were in flight: the index does not have them yet,
        // so the state was kept aside.
        if let Some((_, s)) = self.evicted.remove(child_id) {
            return Ok(s);
        }
        let mut stream = CachedStream {
            version: None,
            last_stream_hash: chain::GENESIS,
            state: StreamState::default(),
        };
        let entries = self.shared.index().stream(child_id, Version::FIRST, usize::MAX);
        for chunk in entries.chunks(1024) {
            for event in read_entries(&self.shared.reader, chunk, child_id)? {
                stream.state.apply(
                    &event.envelope.event_id,
                    event.envelope.occurred_at,
                    &event.payload,
                );
                stream.version = Some(event.envelope.version);
                stream.last_stream_hash = event.chain.stream_hash;
            }
        }
        Ok(stream)
    }
}

impl Committer {
    fn run(&mut self, groups: mpsc::Receiver<Prepared>) {
        loop {
            let _ = self.idle_tx.send(WriterMsg::CommitterIdle);
            let Ok(group) = groups.recv() else { break };
            let number = group.number;
            self.commit(group);
            self.shared.set_committed(number);
        }
    }

    /// Writes and syncs one group, indexes it, advances the head, then answers it.
    fn commit(&mut self, group: Prepared) {
        let Prepared {
            entries,
            to_index,
            pending,
            mut head,
            ..
        } = group;
        if let Some(why) = &self.failed {
            fail_all(pending, why);
            return;
        }
        if entries.is_empty() {
            // Only retries, of appends that are durable by now (they were in this group's predecessors).
            reply_all(pending);
            return;
        }
        let refs: Vec<&[u8]> = entries.iter().map(Vec::as_slice).collect();
        let written = self.log.write_batch(&refs).and_then(|locations| {
            self.log.sync()?;
            Ok(locations)
        });
        let locations = match written {
            Ok(locations) => locations,
            Err(e) => {
                let why = format!("a write to the log failed ({e}); reopen the store to recover");
                tracing::error!(error = %e, "log write failed: refusing further appends until reopened");
                self.shared.fail(why.clone());
                fail_all(pending, &why);
                self.failed = Some(why);
                return;
            }
        };
        head.last = *locations.last().expect("at least one entry");
        // The records are durable: from here on nothing may make an append fail. An index failure (a bug: the
        // writer numbers positions and versions itself) only means the index is behind, which the next open
        // repairs from the log; reads would miss the records until then, so stop accepting writes too and
        // say so loudly.
        {
            let mut index = self.shared.index_mut();
            for (e, location) in to_index.iter().zip(&locations) {
                let record = Checkpoint {
                    position: e.position,
                    location: *location,
                    log_hash: e.log_hash,
                    recorded_at: e.recorded_at,
                };
                if let Err(err) = index.push(&e.child_id, e.version, e.fingerprint, record) {
                    tracing::error!(error = %err, "index update failed after a durable write: reopen the store to repair it");
                    let why =
                        format!("the index could not be updated ({err}); reopen the store to repair it");
                    self.shared.fail(why.clone());
                    self.failed = Some(why);
                    break;
                }
            }
            if index.unsaved() >= self.options.checkpoint_every_events
                && !self.shared.checkpoint_requested.swap(true, Ordering::AcqRel)
            {
                let _ = self.checkpoint_tx.send(());
            }
        }
        *self.shared.head.lock().expect("head lock") = head;
        self.shared
            .head_tx
            .send_replace(head.head.position.map_or(0, |p| p.0));
        self.shared.stats.commits.fetch_add(1, Ordering::Relaxed);
        self.shared
            .stats
            .events
            .fetch_add(entries.len() as u64, Ordering::Relaxed);
        // Waking each appender is a system call; for a large group the replies thread does it while this
        // thread gets on with the next group.
        if pending.len() <= DIRECT_REPLIES {
            reply_all(pending);
        } else if let Err(mpsc::SendError(pending)) = self.replies_tx.send(pending) {
            reply_all(pending);
        }
    }
}

impl EventStore for EmbeddedStore {
    fn append(&self, request: AppendRequest) -> BoxFuture<'_, Result<AppendOutcome>> {
        let (reply, answer) = oneshot::channel();
        let sent = match self.sender.lock().expect("sender lock").as_ref() {
            Some(sender) => sender
                .send(WriterMsg::Append(WriteRequest { request, reply }))
                .map_err(|_| ()),
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
}

/// The data directory layout, for tools that need to find things.
pub fn log_dir(data_dir: &Path) -> PathBuf {
    data_dir.join(LOG_DIR)
}

pub fn index_dir(data_dir: &Path) -> PathBuf {
    data_dir.join(INDEX_DIR)
}
