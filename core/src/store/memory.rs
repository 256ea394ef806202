//! An in-memory [`EventStore`] with exactly the promises of the durable ones except durability itself:
//! for tests, examples and the contract test suite.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures::future::{BoxFuture, FutureExt};

use crate::chain;
use crate::domain::StreamState;
use crate::envelope::RecordedEvent;
use crate::error::Result;
use crate::ids::{ChildId, EventId, Position, Version};
use crate::store::backend::{AppendPlan, StoredEventRef, plan_append, seal_append};
use crate::store::export::{EXPORT_FORMAT, ExportedRecord, StreamExport};
use crate::store::tree::{
    HashRange, LogId, StoredCheckpoint, StoredCosignature, TreeStatus, TreeStore, check_new_checkpoint,
};
use crate::store::verify::{Verifier, VerifyReport};
use crate::store::{AppendOutcome, AppendRequest, EventStore, LogHead};
use crate::time::{Clock, Timestamp};
use journey_tlog::tree::HashReader;
use journey_tlog::{Hash, LeafEntry, MemoryHashes, TreeBuilder};

#[derive(Debug, Default)]
struct Stream {
    positions: Vec<Position>,
    state: StreamState,
    last_stream_hash: [u8; 32],
}

#[derive(Debug, Default)]
struct Inner {
    /// Record bodies and decoded records; index `i` holds position `i + 1`.
    records: Vec<(Vec<u8>, RecordedEvent)>,
    streams: HashMap<ChildId, Stream>,
    ids: HashMap<EventId, StoredEventRef>,
    /// The tree over the records, grown with every append (everything here is "durable" at once).
    tree: MemoryHashes,
    builder: TreeBuilder,
    checkpoints: Vec<StoredCheckpoint>,
    cosignatures: Vec<StoredCosignature>,
}

#[derive(Debug, Clone)]
pub struct InMemoryStore {
    inner: Arc<Mutex<Inner>>,
    clock: Arc<dyn Clock>,
    head_tx: Arc<tokio::sync::watch::Sender<u64>>,
    log_id: LogId,
}

impl InMemoryStore {
    pub fn new(clock: Arc<dyn Clock>) -> InMemoryStore {
        InMemoryStore::with_log_id(clock, LogId::parse("0000000000000000").expect("a valid log id"))
    }

    /// A store whose log is named `log_id` (tests that need two distinct logs).
    pub fn with_log_id(clock: Arc<dyn Clock>, log_id: LogId) -> InMemoryStore {
        let (head_tx, _) = tokio::sync::watch::channel(0);
        InMemoryStore {
            inner: Arc::default(),
            clock,
            head_tx: Arc::new(head_tx),
            log_id,
        }
    }

    /// Overwrites a stored record's bytes, as an attacker with disk access could: for tamper-evidence tests.
    #[doc(hidden)]
    pub fn tamper_with_body(&self, position: Position, edit: impl FnOnce(&mut Vec<u8>)) {
        let mut inner = self.inner.lock().expect("store lock");
        edit(&mut inner.records[position.0 as usize - 1].0);
    }

    fn append_now(&self, request: AppendRequest) -> Result<AppendOutcome> {
        let mut guard = self.inner.lock().expect("store lock");
        let inner = &mut *guard;
        let last = inner
            .records
            .last()
            .map(|(_, r)| (r.envelope.recorded_at, r.chain.log_hash));
        // Recorded time never goes backwards, even if the clock does.
        let recorded_at = match last {
            Some((previous, _)) => self.clock.now().max(previous),
            None => self.clock.now(),
        };
        let stream = inner.streams.entry(request.child_id.clone()).or_default();
        let actual = (!stream.positions.is_empty()).then_some(Version(stream.positions.len() as u64));
        let ids = &inner.ids;
        let plan = plan_append(&request, actual, &mut stream.state, recorded_at, |id| {
            Ok(ids.get(id).cloned())
        });
        match plan {
            Ok(AppendPlan::Write) => {}
            Ok(AppendPlan::AlreadyRecorded(outcome)) => return Ok(outcome),
            Err(e) => {
                if stream.positions.is_empty() {
                    // Don't leave an empty stream behind for a child whose first append was refused.
                    inner.streams.remove(&request.child_id);
                }
                return Err(e);
            }
        }

        let stream = inner.streams.entry(request.child_id.clone()).or_default();
        let log = last.map_or(LogHead::EMPTY, |(_, log_hash)| LogHead {
            position: Some(Position(inner.records.len() as u64)),
            log_hash,
        });
        let sealed = seal_append(
            &request,
            recorded_at,
            (actual, stream.last_stream_hash),
            log,
            None,
        )?;
        let mut appended = Vec::with_capacity(sealed.len());
        for record in sealed {
            stream.last_stream_hash = record.event.chain.stream_hash;
            stream.positions.push(record.event.envelope.position);
            inner
                .ids
                .insert(record.event.envelope.event_id.clone(), record.stored_ref());
            appended.push(record.appended());
            inner.builder.push(
                LeafEntry {
                    stream_hash: record.event.chain.stream_hash,
                    log_hash: record.event.chain.log_hash,
                }
                .leaf_hash(),
            );
            inner.records.push((record.body, record.event));
        }
        let appends = inner.builder.take_appends();
        inner
            .tree
            .apply(&appends)
            .expect("the builder appends where each level ends");
        let head = inner.records.len() as u64;
        drop(guard);
        self.head_tx.send_replace(head);
        Ok(AppendOutcome {
            child_id: request.child_id,
            events: appended,
            already_recorded: false,
        })
    }

    fn read_stream_now(&self, child_id: &ChildId, from: Version, limit: usize) -> Vec<RecordedEvent> {
        let inner = self.inner.lock().expect("store lock");
        let Some(stream) = inner.streams.get(child_id) else {
            return Vec::new();
        };
        let skip = from.0.saturating_sub(1) as usize;
        stream
            .positions
            .iter()
            .skip(skip)
            .take(limit)
            .map(|p| inner.records[p.0 as usize - 1].1.clone())
            .collect()
    }
}

impl EventStore for InMemoryStore {
    fn append(&self, request: AppendRequest) -> BoxFuture<'_, Result<AppendOutcome>> {
        let result = self.append_now(request);
        async move { result }.boxed()
    }

    fn read_stream(
        &self,
        child_id: ChildId,
        from: Version,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<RecordedEvent>>> {
        let events = self.read_stream_now(&child_id, from, limit);
        async move { Ok(events) }.boxed()
    }

    fn stream_version(&self, child_id: ChildId) -> BoxFuture<'_, Result<Option<Version>>> {
        let inner = self.inner.lock().expect("store lock");
        let version = inner
            .streams
            .get(&child_id)
            .map(|s| Version(s.positions.len() as u64));
        async move { Ok(version) }.boxed()
    }

    fn read_all(&self, from: Position, limit: usize) -> BoxFuture<'_, Result<Vec<RecordedEvent>>> {
        let inner = self.inner.lock().expect("store lock");
        let skip = from.0.saturating_sub(1) as usize;
        let events: Vec<_> = inner
            .records
            .iter()
            .skip(skip)
            .take(limit)
            .map(|(_, r)| r.clone())
            .collect();
        async move { Ok(events) }.boxed()
    }

    fn head(&self) -> BoxFuture<'_, Result<LogHead>> {
        let inner = self.inner.lock().expect("store lock");
        let head = inner.records.last().map_or(LogHead::EMPTY, |(_, r)| LogHead {
            position: Some(r.envelope.position),
            log_hash: r.chain.log_hash,
        });
        async move { Ok(head) }.boxed()
    }

    fn watch_head(&self) -> tokio::sync::watch::Receiver<u64> {
        self.head_tx.subscribe()
    }

    fn export_stream(&self, child_id: ChildId) -> BoxFuture<'_, Result<StreamExport>> {
        let inner = self.inner.lock().expect("store lock");
        let records = inner
            .streams
            .get(&child_id)
            .map(|s| {
                s.positions
                    .iter()
                    .map(|p| {
                        let i = p.0 as usize - 1;
                        let (body, event) = &inner.records[i];
                        let previous_log_hash = if i == 0 {
                            chain::GENESIS
                        } else {
                            inner.records[i - 1].1.chain.log_hash
                        };
                        ExportedRecord {
                            position: *p,
                            version: event.envelope.version,
                            body: body.clone(),
                            previous_log_hash,
                            chain: event.chain,
                            event: event.clone(),
                            tlog_proof: None,
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        let log_head = inner.records.last().map_or(LogHead::EMPTY, |(_, r)| LogHead {
            position: Some(r.envelope.position),
            log_hash: r.chain.log_hash,
        });
        let export = StreamExport {
            format: EXPORT_FORMAT.to_owned(),
            child_id,
            records,
            log_head,
            tlog: None,
            content_key: None,
        };
        async move { Ok(export) }.boxed()
    }

    fn verify(&self) -> BoxFuture<'_, Result<VerifyReport>> {
        let inner = self.inner.lock().expect("store lock");
        let mut verifier = Verifier::new();
        for (body, record) in &inner.records {
            if !verifier.push(body, &record.chain) {
                break;
            }
        }
        let report = verifier.finish();
        async move { Ok(report) }.boxed()
    }
}

/// The instant tests start their clocks at, unless they say otherwise.
pub fn test_epoch() -> Timestamp {
    "2024-01-01T09:00:00Z".parse().expect("valid instant")
}

/// Reads the in-memory store's tree, locking it for each read. Deliberately not offered as
/// [`TreeStore::local_hashes`]: the in-memory store then makes its proofs in two passes, as a store whose
/// hashes are over the network does, so the tests of the API exercise that path.
#[derive(Debug, Clone)]
struct MemoryTreeReader(Arc<Mutex<Inner>>);

impl HashReader for MemoryTreeReader {
    fn read_hashes(&self, level: u8, start: u64, out: &mut [Hash]) -> journey_tlog::Result<()> {
        self.0
            .lock()
            .expect("store lock")
            .tree
            .read_hashes(level, start, out)
    }
}

impl InMemoryStore {
    fn tree_reader(&self) -> MemoryTreeReader {
        MemoryTreeReader(self.inner.clone())
    }

    /// Rewrites the stored tree's leaf hash at `index`, as an attacker with disk access could: for tests.
    #[doc(hidden)]
    pub fn tamper_with_tree(&self, index: u64) {
        let mut inner = self.inner.lock().expect("store lock");
        let size = inner.tree.size();
        let mut rebuilt = MemoryHashes::new();
        let mut builder = TreeBuilder::new();
        for i in 0..size {
            let mut leaf = [0u8; 32];
            inner
                .tree
                .read_hashes(0, i, std::slice::from_mut(&mut leaf))
                .expect("stored");
            if i == index {
                leaf[0] ^= 1;
            }
            builder.push(leaf);
        }
        rebuilt.apply(&builder.take_appends()).expect("whole levels");
        inner.tree = rebuilt;
        inner.builder = builder;
    }
}

impl TreeStore for InMemoryStore {
    fn log_id(&self) -> &LogId {
        &self.log_id
    }

    fn tree_status(&self) -> BoxFuture<'_, Result<TreeStatus>> {
        let size = self.inner.lock().expect("store lock").tree.size();
        async move {
            Ok(TreeStatus {
                size,
                rebuilding: None,
            })
        }
        .boxed()
    }

    fn read_hashes(&self, ranges: Vec<HashRange>) -> BoxFuture<'_, Result<Vec<Vec<Hash>>>> {
        let reader = self.tree_reader();
        let result = ranges
            .iter()
            .map(|r| {
                let mut out = vec![[0u8; 32]; r.count];
                reader
                    .read_hashes(r.level, r.start, &mut out)
                    .map(|()| out)
                    .map_err(crate::store::tree::tree_error)
            })
            .collect();
        async move { result }.boxed()
    }

    fn read_leaf_entries(&self, first: Position, count: usize) -> BoxFuture<'_, Result<Vec<LeafEntry>>> {
        let inner = self.inner.lock().expect("store lock");
        let skip = first.0.saturating_sub(1) as usize;
        let entries = inner
            .records
            .iter()
            .skip(skip)
            .take(count)
            .map(|(_, r)| LeafEntry {
                stream_hash: r.chain.stream_hash,
                log_hash: r.chain.log_hash,
            })
            .collect();
        async move { Ok(entries) }.boxed()
    }

    fn sync_tree(&self) -> BoxFuture<'_, Result<u64>> {
        let size = self.inner.lock().expect("store lock").tree.size();
        async move { Ok(size) }.boxed()
    }

    fn rebuild_tree(&self, _why: String) -> BoxFuture<'_, Result<()>> {
        let mut inner = self.inner.lock().expect("store lock");
        let mut builder = TreeBuilder::new();
        for (_, record) in &inner.records {
            builder.push(
                LeafEntry {
                    stream_hash: record.chain.stream_hash,
                    log_hash: record.chain.log_hash,
                }
                .leaf_hash(),
            );
        }
        let mut tree = MemoryHashes::new();
        tree.apply(&builder.take_appends()).expect("whole levels");
        inner.tree = tree;
        inner.builder = builder;
        async move { Ok(()) }.boxed()
    }

    fn store_checkpoint(&self, checkpoint: StoredCheckpoint) -> BoxFuture<'_, Result<StoredCheckpoint>> {
        let mut inner = self.inner.lock().expect("store lock");
        let result = match check_new_checkpoint(inner.checkpoints.last(), &checkpoint) {
            Ok(Some(stored)) => Ok(stored),
            Ok(None) => {
                inner.checkpoints.push(checkpoint.clone());
                Ok(checkpoint)
            }
            Err(e) => Err(e),
        };
        async move { result }.boxed()
    }

    fn latest_checkpoint(&self) -> BoxFuture<'_, Result<Option<StoredCheckpoint>>> {
        let latest = self.inner.lock().expect("store lock").checkpoints.last().cloned();
        async move { Ok(latest) }.boxed()
    }

    fn checkpoint_at(&self, size: u64) -> BoxFuture<'_, Result<Option<StoredCheckpoint>>> {
        let inner = self.inner.lock().expect("store lock");
        let found = inner.checkpoints.iter().find(|c| c.size == size).cloned();
        async move { Ok(found) }.boxed()
    }

    fn latest_cosigned(&self, at_most: u64) -> BoxFuture<'_, Result<Option<StoredCheckpoint>>> {
        let inner = self.inner.lock().expect("store lock");
        let found = inner
            .checkpoints
            .iter()
            .rev()
            .filter(|c| c.size <= at_most)
            .find(|c| inner.cosignatures.iter().any(|s| s.size == c.size))
            .cloned();
        async move { Ok(found) }.boxed()
    }

    fn checkpoints(&self) -> BoxFuture<'_, Result<Vec<StoredCheckpoint>>> {
        let all = self.inner.lock().expect("store lock").checkpoints.clone();
        async move { Ok(all) }.boxed()
    }

    fn store_cosignature(&self, cosignature: StoredCosignature) -> BoxFuture<'_, Result<bool>> {
        let mut inner = self.inner.lock().expect("store lock");
        let new = !inner
            .cosignatures
            .iter()
            .any(|c| c.size == cosignature.size && c.line == cosignature.line);
        if new {
            inner.cosignatures.push(cosignature);
        }
        async move { Ok(new) }.boxed()
    }

    fn cosignatures(&self, size: u64) -> BoxFuture<'_, Result<Vec<StoredCosignature>>> {
        let inner = self.inner.lock().expect("store lock");
        let found = inner
            .cosignatures
            .iter()
            .filter(|c| c.size == size)
            .cloned()
            .collect();
        async move { Ok(found) }.boxed()
    }
}
