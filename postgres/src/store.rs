//! [`PostgresStore`]: the [`EventStore`] on PostgreSQL.
//!
//! # How the global order stays gap-free
//!
//! Every append transaction first locks the single row of `journey_log_head` (`SELECT ... FOR UPDATE`), and
//! holds the lock until it commits or rolls back. Positions, the previous log hash and the last recorded
//! time are read from that row *under the lock*, the records are sealed and inserted, and the row is moved
//! on, in the same transaction. So:
//!
//! * A transaction that assigns positions p+1.. did so after the transaction that assigned ..p had ended
//!   (PostgreSQL makes a waiter for a row lock re-read the row once its holder commits, so it sees the new
//!   head). If that holder rolled back, its positions were never committed and are assigned again: no gap.
//! * PostgreSQL makes a committed transaction visible to new snapshots before it releases its locks, so by
//!   the time the next appender can even read the head, the previous one is visible to every new snapshot.
//!   Hence any snapshot that sees position p+1 sees p: `read_all` (one statement, one snapshot) always
//!   returns a gap-free prefix, and a subscriber reading from "last seen + 1" never skips a record that
//!   commits later with a smaller position. A sequence (`nextval`) could not promise this: its numbers
//!   are handed out at insert time and transactions commit in any order.
//! * The lock serialises appends across every server process on the database, which the hash chain needs
//!   anyway: `log_hash` links each record to the one before it in the whole log, so the previous log hash
//!   must be known, i.e. committed or locked, when a record is sealed.
//!
//! The lock is held through the commit, so one database commits one append transaction at a time; to keep
//! throughput up, each process gathers the appends queued while the previous transaction ran into one
//! transaction (up to `max_batch`), one commit (one WAL flush) for all of them.
//!
//! Expected versions and idempotent retries are judged under the lock, by the same `plan_append` as the
//! other stores, against rows read inside the transaction; the UNIQUE (child_id, version) and UNIQUE
//! (event_id) constraints make the database itself refuse a second record for a version or an event id even
//! from a writer that did not take the lock. If a constraint ever fires, the batch is rolled back and each
//! append is judged again on its own, so the caller gets the typed conflict (or the original outcome).

use std::collections::HashMap;
use std::fmt;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Transaction};
use futures::StreamExt;
use futures::future::{BoxFuture, FutureExt};
use journey_core::content_keys::{ContentKey, KeyEncryptionKey, KeyError};
use journey_core::domain::StreamState;
use journey_core::encoding;
use journey_core::encoding::KeySource as _;
use journey_core::envelope::ChainLink;
use journey_core::store::backend::{AppendPlan, StoredEventRef, Verifier, plan_append, seal_append};
use journey_core::store::export::EXPORT_FORMAT;
use journey_core::store::{
    AppendOutcome, AppendRequest, Destruction, EventStore, ExportedRecord, LogHead, StreamExport,
    VerifyReport,
};
use journey_core::{ChildId, Clock, Error, EventId, Position, RecordedEvent, Result, Timestamp, Version};
use tokio::sync::{mpsc, oneshot, watch};
use tokio_postgres::{AsyncMessage, IsolationLevel, NoTls, Row};

use crate::error::{PgError, PgResult};
use crate::keys::{KeyRing, RowKey};
use crate::schema::{self, PostgresOptions};
use crate::tree::TreeKeeper;
use journey_core::store::LogId;

/// Streams whose domain state is kept between appends (a stored record never changes, so a state at version
/// v plus the records after v is the state now).
const STATE_CACHE: usize = 4096;
/// Records per page when `verify` walks the log.
const VERIFY_PAGE: i64 = 4096;

/// The PostgreSQL store. Open it inside a tokio runtime: its I/O runs on that runtime whatever executor the
/// caller polls its futures on.
pub struct PostgresStore {
    inner: Arc<Inner>,
    pub(crate) runtime: tokio::runtime::Handle,
    appends: mpsc::Sender<Pending>,
    /// The Merkle tree over the log and the checkpoints signed over it (`crate::tree`).
    pub(crate) tree: Arc<TreeKeeper>,
    /// The log's identity, made once when the log was created (`crate::checkpoints`).
    pub(crate) log_id: LogId,
    /// The head listener, the fallback poll and the tree's maintainer: stopped when the store is dropped.
    background: Vec<tokio::task::AbortHandle>,
}

struct Inner {
    pool: Pool,
    clock: Arc<dyn Clock>,
    head_tx: watch::Sender<u64>,
    states: Mutex<lru::LruCache<ChildId, (Version, StreamState)>>,
    schema: String,
    /// The key-encryption key and unwrapped keys of a log that seals content (`crate::keys`); `None` for a
    /// log in the clear.
    keys: Option<Arc<KeyRing>>,
}

struct Pending {
    request: AppendRequest,
    reply: oneshot::Sender<Result<AppendOutcome>>,
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStore")
            .field("schema", &self.inner.schema)
            .field("pool", &self.inner.pool.status())
            .field("head", &*self.inner.head_tx.borrow())
            .finish_non_exhaustive()
    }
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        for task in &self.background {
            task.abort();
        }
    }
}

impl PostgresStore {
    /// Connects, creates or migrates the schema, and starts following the head. Must be called inside a
    /// tokio runtime, which the store then uses for all its I/O.
    pub async fn open(options: PostgresOptions, clock: Arc<dyn Clock>) -> PgResult<PostgresStore> {
        let config = options.client_config()?;
        let schema = schema::migrate(&config, options.schema.as_deref()).await?;
        let manager = Manager::from_config(
            config.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(options.pool_size)
            .build()
            .map_err(|e| PgError::Config(format!("connection pool: {e}")))?;
        let head = check_log_end(&**pool.get().await?).await?;
        let keys = crate::keys::open_sealing(&mut pool.get().await?, options.kek.clone(), &schema).await?;
        let log_id = crate::checkpoints::log_id(&pool.get().await?).await?;
        let tree = Arc::new(TreeKeeper::new(pool.clone()));
        let (head_tx, _) = watch::channel(head.position.map_or(0, |p| p.0));
        let inner = Arc::new(Inner {
            pool,
            clock,
            head_tx,
            states: Mutex::new(lru::LruCache::new(
                NonZeroUsize::new(STATE_CACHE).expect("non-zero"),
            )),
            schema,
            keys,
        });
        let channel = notify_channel(&inner.schema);
        let (appends, queue) = mpsc::channel(options.max_batch * 4);
        // The appender ends when the store (its only sender) is dropped, after answering what was queued.
        tokio::spawn(run_appender(inner.clone(), queue, options.max_batch));
        let listener = tokio::spawn(listen(config, channel, inner.clone()));
        let poller = tokio::spawn(poll_head(inner.clone(), options.poll_interval));
        let maintainer = tokio::spawn(crate::tree::maintain(
            tree.clone(),
            inner.head_tx.subscribe(),
            options.poll_interval,
        ));
        Ok(PostgresStore {
            inner,
            runtime: tokio::runtime::Handle::current(),
            appends,
            tree,
            log_id,
            background: vec![
                listener.abort_handle(),
                poller.abort_handle(),
                maintainer.abort_handle(),
            ],
        })
    }

    /// The schema holding this store's tables.
    /// `journey rotate-kek` on PostgreSQL: every live content key re-wrapped under `new` in one transaction,
    /// and `new` named on the head row; the log is not touched. Stop every other server first: each is
    /// refused from then on until restarted with the new key-encryption key. Returns (keys re-wrapped,
    /// destroyed rows).
    pub async fn rotate_kek(&self, new: Arc<dyn KeyEncryptionKey>) -> Result<(usize, usize)> {
        let Some(ring) = self.inner.keys.clone() else {
            return Err(Error::Key(KeyError::NotSealed));
        };
        self.run(move |inner| async move {
            let mut client = inner.pool.get().await?;
            crate::keys::rotate(&mut client, &ring, new.as_ref()).await
        })
        .await
    }

    pub fn schema(&self) -> &str {
        &self.inner.schema
    }

    /// The child's content key as its row says now (never only as this server remembers it: another server
    /// may have destroyed it). For the trait's synchronous methods, so it blocks its caller for one query:
    /// on a multi-threaded runtime's worker it tells the runtime first (`block_in_place`); a caller on a
    /// single-threaded runtime cannot wait for the store's own, and is refused.
    fn current_key(&self, child_id: &ChildId) -> Result<ContentKey> {
        use tokio::runtime::{Handle, RuntimeFlavor};
        let child = child_id.clone();
        let read = self.run(move |inner| async move {
            let ring = inner.keys.as_ref().ok_or(PgError::Key(KeyError::NotSealed))?;
            let client = inner.pool.get().await?;
            crate::keys::read_key(&client, ring, &child).await
        });
        let key = match Handle::try_current() {
            Ok(current) if current.runtime_flavor() == RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(|| futures::executor::block_on(read))
            }
            Ok(_) if self.runtime.runtime_flavor() != RuntimeFlavor::MultiThread => {
                return Err(Error::Closed(
                    "the PostgreSQL store cannot read a content key synchronously from a single-threaded \
                     runtime that may be its own: open it on a multi-threaded runtime"
                        .into(),
                ));
            }
            _ => futures::executor::block_on(read),
        }?;
        Ok(key.content_key(child_id)?)
    }

    /// Runs `op` on the store's runtime and hands its result to whichever executor awaits it.
    fn run<T, F>(&self, op: impl FnOnce(Arc<Inner>) -> F + Send + 'static) -> BoxFuture<'_, Result<T>>
    where
        T: Send + 'static,
        F: Future<Output = PgResult<T>> + Send + 'static,
    {
        let inner = self.inner.clone();
        on_runtime(&self.runtime, async move { op(inner).await })
    }
}

/// Runs `op` on `runtime` (where the store's connections live) and hands its result to whichever executor
/// awaits it.
pub(crate) fn on_runtime<T, E>(
    runtime: &tokio::runtime::Handle,
    op: impl Future<Output = std::result::Result<T, E>> + Send + 'static,
) -> BoxFuture<'static, Result<T>>
where
    T: Send + 'static,
    E: Into<Error> + Send + 'static,
{
    let runtime = runtime.clone();
    async move {
        match runtime.spawn(op).await {
            Ok(result) => result.map_err(Into::into),
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(_) => Err(Error::Closed(
                "the PostgreSQL store's runtime has shut down".into(),
            )),
        }
    }
    .boxed()
}

impl EventStore for PostgresStore {
    fn append(&self, request: AppendRequest) -> BoxFuture<'_, Result<AppendOutcome>> {
        async move {
            let (reply, answer) = oneshot::channel();
            let closed = || Error::Closed("the PostgreSQL store's appender has stopped".into());
            self.appends
                .send(Pending { request, reply })
                .await
                .map_err(|_| closed())?;
            answer.await.map_err(|_| closed())?
        }
        .boxed()
    }

    fn read_stream(
        &self,
        child_id: ChildId,
        from: Version,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<RecordedEvent>>> {
        self.run(move |inner| async move {
            let client = inner.pool.get().await?;
            let statement = client
                .prepare_cached(
                    "SELECT position, child_id, version, body, stream_hash, log_hash FROM journey_events \
                     WHERE child_id = $1 AND version >= $2 ORDER BY version LIMIT $3",
                )
                .await?;
            let (from, limit) = (to_i64(from.0), to_i64(limit as u64));
            let child = child_id.as_str();
            let params: [&(dyn tokio_postgres::types::ToSql + Sync); 3] = [&child, &from, &limit];
            let records = client.query(&statement, &params);
            // The key row is read by a statement sent with the records' (pipelined: one round trip), after
            // this read began: a destruction another server committed before it is seen.
            let (key, rows) = match &inner.keys {
                Some(ring) => futures::try_join!(crate::keys::read_key(&client, ring, &child_id), async {
                    Ok(records.await?)
                })?,
                None => (RowKey::Absent, records.await?),
            };
            key.refuse_destroyed(&child_id)?;
            rows.iter().map(|row| decode_row(row, &key)).collect()
        })
    }

    fn stream_version(&self, child_id: ChildId) -> BoxFuture<'_, Result<Option<Version>>> {
        self.run(move |inner| async move {
            let client = inner.pool.get().await?;
            let statement = client
                .prepare_cached("SELECT max(version) FROM journey_events WHERE child_id = $1")
                .await?;
            let version: Option<i64> = client.query_one(&statement, &[&child_id.as_str()]).await?.get(0);
            version.map(|v| Ok(Version(to_u64(v)?))).transpose()
        })
    }

    fn read_all(&self, from: Position, limit: usize) -> BoxFuture<'_, Result<Vec<RecordedEvent>>> {
        self.run(move |inner| async move {
            let client = inner.pool.get().await?;
            // One statement, one snapshot: a gap-free prefix of the log (see the module's documentation).
            // Each record with its child's key row as of the same snapshot; a destroyed child's records are
            // passed over (`EventStore::read_all`), and the limit counts those returned.
            let statement = client
                .prepare_cached(
                    "SELECT e.position, e.child_id, e.version, e.body, e.stream_hash, e.log_hash, k.wrapped, \
                     k.destroyed_at FROM journey_events e \
                     LEFT JOIN journey_content_keys k ON k.child_id = e.child_id \
                     WHERE e.position >= $1 AND k.destroyed_at IS NULL ORDER BY e.position LIMIT $2",
                )
                .await?;
            let rows = client
                .query(&statement, &[&to_i64(from.0), &to_i64(limit as u64)])
                .await?;
            rows.iter()
                .map(|row| {
                    let key = inner.row_key(row)?;
                    decode_row(row, &key)
                })
                .collect()
        })
    }

    fn head(&self) -> BoxFuture<'_, Result<LogHead>> {
        self.run(|inner| async move { read_head(&**inner.pool.get().await?).await })
    }

    fn watch_head(&self) -> watch::Receiver<u64> {
        self.inner.head_tx.subscribe()
    }

    fn export_stream(&self, child_id: ChildId) -> BoxFuture<'_, Result<StreamExport>> {
        self.run(move |inner| async move {
            let mut client = inner.pool.get().await?;
            // One snapshot for the records and the head they are anchored to.
            let tx = client
                .build_transaction()
                .isolation_level(IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()
                .await?;
            let key = match &inner.keys {
                Some(ring) => crate::keys::read_key(&tx, ring, &child_id).await?,
                None => RowKey::Absent,
            };
            key.refuse_destroyed(&child_id)?;
            let rows = tx
                .query(
                    "SELECT e.position, e.child_id, e.version, e.body, e.stream_hash, e.log_hash, \
                     p.log_hash AS previous_log_hash \
                     FROM journey_events e LEFT JOIN journey_events p ON p.position = e.position - 1 \
                     WHERE e.child_id = $1 ORDER BY e.version",
                    &[&child_id.as_str()],
                )
                .await?;
            let mut records = Vec::with_capacity(rows.len());
            for row in &rows {
                let event = decode_row(row, &key)?;
                let previous_log_hash = match row.get::<_, Option<&[u8]>>("previous_log_hash") {
                    Some(hash) => hash32(hash, "previous log_hash")?,
                    None if event.envelope.position == Position::FIRST => journey_core::chain::GENESIS,
                    None => {
                        return Err(PgError::Inconsistent(format!(
                            "position {} has no record before it",
                            event.envelope.position
                        )));
                    }
                };
                records.push(ExportedRecord {
                    position: event.envelope.position,
                    version: event.envelope.version,
                    body: row.get::<_, &[u8]>("body").to_vec(),
                    previous_log_hash,
                    chain: event.chain,
                    event,
                    tlog_proof: None,
                });
            }
            let log_head = read_head(&*tx).await?;
            tx.commit().await?;
            // The child's own key goes with its export when its records are sealed, as from the embedded
            // store: the holder can check the readable copies against the hashed bytes.
            let content_key = match key {
                RowKey::Live(key) if !records.is_empty() => Some(key),
                _ => None,
            };
            Ok(StreamExport {
                format: EXPORT_FORMAT.to_owned(),
                child_id,
                records,
                log_head,
                tlog: None,
                content_key,
            })
        })
    }

    fn verify(&self) -> BoxFuture<'_, Result<VerifyReport>> {
        self.run(|inner| async move { inner.verify().await })
    }

    fn content_sealed(&self) -> bool {
        self.inner.keys.is_some()
    }

    fn destroy_content(
        &self,
        children: Vec<ChildId>,
        destroyed_at: Timestamp,
    ) -> BoxFuture<'_, Result<Destruction>> {
        let Some(ring) = self.inner.keys.clone() else {
            return async { Err(Error::Key(KeyError::NotSealed)) }.boxed();
        };
        async move {
            self.run(move |inner| async move {
                let mut client = inner.pool.get().await?;
                let destruction = crate::keys::destroy(&mut client, &ring, children, destroyed_at).await?;
                if let Ok(d) = &destruction {
                    // This server's stream states of those children go too (their keys already went).
                    let mut states = inner.states.lock().expect("state cache lock");
                    for child in &d.destroyed {
                        states.pop(child);
                    }
                }
                Ok(destruction)
            })
            .await?
        }
        .boxed()
    }

    fn seal_for_child(&self, child_id: &ChildId, aad: &[u8], plaintext: &[u8]) -> Result<Option<Vec<u8>>> {
        if self.inner.keys.is_none() {
            return Ok(None);
        }
        let key = self.current_key(child_id)?;
        let mut sealed = Vec::with_capacity(plaintext.len() + 28);
        key.seal_into(aad, plaintext, &mut sealed)?;
        Ok(Some(sealed))
    }

    fn open_for_child(&self, child_id: &ChildId, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>> {
        if self.inner.keys.is_none() {
            return Err(Error::Key(KeyError::NotSealed));
        }
        let key = self.current_key(child_id)?;
        Ok(key.open(aad, sealed, || format!("sealed data of child {child_id}"))?)
    }

    /// The appender ends only with the store or its runtime; a failed transaction is answered and the next
    /// batch tried (an unreachable database shows in `head`, which readiness also asks).
    fn failure(&self) -> Option<String> {
        self.appends
            .is_closed()
            .then(|| "the PostgreSQL store's appender has stopped".to_owned())
    }
}

impl Inner {
    /// The key of a row read with its child's `wrapped` and `destroyed_at` columns.
    fn row_key(&self, row: &Row) -> PgResult<RowKey> {
        let Some(ring) = &self.keys else {
            return Ok(RowKey::Absent);
        };
        let child_id = ChildId::parse(row.get::<_, &str>("child_id")).map_err(inconsistent)?;
        ring.key_of_row(&child_id, row.get("wrapped"), row.get("destroyed_at"))
    }

    /// Appends one batch in one transaction and answers each append. If the transaction fails as a whole
    /// (a database error, a constraint that fired, a failed commit), every append is tried again on its own,
    /// so that one append's failure is not the others'; a retry of an append whose commit did in fact land
    /// is answered as the original (`already_recorded`), as any client retry would be.
    async fn append_batch(&self, batch: Vec<Pending>) {
        let requests: Vec<&AppendRequest> = batch.iter().map(|p| &p.request).collect();
        match self.append_in_one_transaction(&requests).await {
            Ok(results) => {
                for (pending, result) in batch.into_iter().zip(results) {
                    let _ = pending.reply.send(result);
                }
            }
            Err(e) if batch.len() == 1 && !e.is_unique_violation() => {
                let [pending] = <[Pending; 1]>::try_from(batch).ok().expect("one append");
                let _ = pending.reply.send(Err(e.into()));
            }
            Err(e) => {
                tracing::debug!(error = %e, appends = batch.len(), "batch failed; appending one by one");
                for pending in batch {
                    let result = self.append_alone(&pending.request).await;
                    let _ = pending.reply.send(result);
                }
            }
        }
    }

    /// One append in its own transaction. A unique violation means another writer got there first without
    /// the head lock; judged again, it becomes the typed conflict or the original outcome.
    async fn append_alone(&self, request: &AppendRequest) -> Result<AppendOutcome> {
        let mut attempts = 0;
        loop {
            attempts += 1;
            match self.append_in_one_transaction(&[request]).await {
                Ok(mut results) => return results.pop().expect("one result per append"),
                Err(e) if e.is_unique_violation() && attempts < 3 => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// The outer `Err` is the transaction failing (nothing of the batch was written); each inner result is one
    /// append's verdict, all of whose `Ok`s were committed together.
    async fn append_in_one_transaction(
        &self,
        requests: &[&AppendRequest],
    ) -> PgResult<Vec<Result<AppendOutcome>>> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let lock = tx
            .prepare_cached(
                "SELECT position, log_hash, recorded_at, kek_fingerprint FROM journey_log_head WHERE id = 1 \
                 FOR UPDATE",
            )
            .await?;
        let row = tx.query_one(&lock, &[]).await?;
        // Sealed or in the clear as every other server appends, whatever this one decided at open.
        crate::keys::check_sealed_by(row.get("kek_fingerprint"), self.keys.as_deref())?;
        let mut head = head_from_row(&row)?;
        let start = head;
        let mut last_recorded_at: Option<Timestamp> = row
            .get::<_, Option<jiff::Timestamp>>("recorded_at")
            .map(timestamp)
            .transpose()?;

        let mut states: HashMap<ChildId, (Version, StreamState)> = HashMap::new();
        let mut results = Vec::with_capacity(requests.len());
        for request in requests {
            // Recorded time never goes backwards along the log, whichever process's clock says what.
            let now = self.clock.now();
            let recorded_at = last_recorded_at.map_or(now, |last| now.max(last));
            let result = self
                .append_in(&tx, request, recorded_at, &mut head, &mut states)
                .await?;
            if matches!(&result, Ok(outcome) if !outcome.already_recorded) {
                last_recorded_at = Some(recorded_at);
            }
            results.push(result);
        }

        if head != start {
            let position = head.position.map_or(0, |p| p.0);
            let move_head = tx
                .prepare_cached(
                    "UPDATE journey_log_head SET position = $1, log_hash = $2, recorded_at = $3 WHERE id = 1",
                )
                .await?;
            let recorded_at = last_recorded_at.map(|t| t.jiff());
            tx.execute(
                &move_head,
                &[&to_i64(position), &head.log_hash.as_slice(), &recorded_at],
            )
            .await?;
            // Delivered to every listener when (and only if) this transaction commits, in commit order.
            let notify = tx.prepare_cached("SELECT pg_notify($1, $2)").await?;
            tx.execute(&notify, &[&notify_channel(&self.schema), &position.to_string()])
                .await?;
        }
        tx.commit().await?;

        if let Some(p) = head.position {
            advance(&self.head_tx, p.0);
        }
        let mut cache = self.states.lock().expect("state cache lock");
        for (child, state) in states {
            cache.put(child, state);
        }
        Ok(results)
    }

    /// Judges and, if accepted, inserts one append inside the batch's transaction. Called with the head
    /// locked, so nothing read here can change before the commit except by this transaction.
    async fn append_in(
        &self,
        tx: &Transaction<'_>,
        request: &AppendRequest,
        recorded_at: Timestamp,
        head: &mut LogHead,
        states: &mut HashMap<ChildId, (Version, StreamState)>,
    ) -> PgResult<Result<AppendOutcome>> {
        // The child's key as its row says under the head lock: a child another server destroyed is refused
        // here, retries included, as on the embedded store.
        let key = match &self.keys {
            Some(ring) => crate::keys::read_key(tx, ring, &request.child_id).await?,
            None => RowKey::Absent,
        };
        if let Err(e) = key.refuse_destroyed(&request.child_id) {
            states.remove(&request.child_id);
            self.states
                .lock()
                .expect("state cache lock")
                .pop(&request.child_id);
            return Ok(Err(e.into()));
        }
        let ids: Vec<&str> = request.events.iter().map(|e| e.event_id.as_str()).collect();
        let find_ids = tx
            .prepare_cached(
                "SELECT event_id, child_id, version, position, recorded_at, content_digest, \
                 CASE WHEN content_digest IS NULL AND child_id = $2 THEN body END AS body \
                 FROM journey_events WHERE event_id = ANY($1)",
            )
            .await?;
        let mut stored: HashMap<EventId, StoredEventRef> = HashMap::new();
        for row in tx.query(&find_ids, &[&ids, &request.child_id.as_str()]).await? {
            let event_id = EventId::parse(row.get::<_, &str>("event_id")).map_err(inconsistent)?;
            let content_digest = match (row.get::<_, Option<&[u8]>>("content_digest"), row.get("body")) {
                (Some(digest), _) => hash32(digest, "content_digest")?,
                // A sealed record keeps no digest of its plaintext (V5): opened with the child's key.
                (None, Some(body)) => match encoding::decode_index_fields(body, &key) {
                    Ok(fields) => fields.content_digest,
                    Err(e) => return Ok(Err(e)),
                },
                // Another child's sealed record: `plan_append` compares digests only within one child, so
                // the reused id is a conflict whatever this says.
                (None, None) => [0; 32],
            };
            stored.insert(
                event_id,
                StoredEventRef {
                    child_id: ChildId::parse(row.get::<_, &str>("child_id")).map_err(inconsistent)?,
                    version: Version(to_u64(row.get("version"))?),
                    position: Position(to_u64(row.get("position"))?),
                    recorded_at: timestamp(row.get("recorded_at"))?,
                    content_digest,
                },
            );
        }

        let last = tx
            .prepare_cached(
                "SELECT version, stream_hash FROM journey_events WHERE child_id = $1 \
                 ORDER BY version DESC LIMIT 1",
            )
            .await?;
        let (actual, stream_hash) = match tx.query_opt(&last, &[&request.child_id.as_str()]).await? {
            Some(row) => (
                Some(Version(to_u64(row.get("version"))?)),
                hash32(row.get("stream_hash"), "stream_hash")?,
            ),
            None => (None, journey_core::chain::GENESIS),
        };

        // plan_append settles idempotency before it looks at the state: when any event id is already stored
        // the append is a retry or a conflict, and the stream's history is not needed.
        let mut state = if stored.is_empty() {
            self.stream_state(tx, &request.child_id, actual, states, &key)
                .await?
        } else {
            StreamState::default()
        };
        let plan = plan_append(request, actual, &mut state, recorded_at, |id| {
            Ok(stored.get(id).cloned())
        });
        let outcome = match plan {
            Err(e) => {
                // A refused append leaves the state as it was: keep it for the next append of this child.
                if stored.is_empty()
                    && let Some(v) = actual
                {
                    states.insert(request.child_id.clone(), (v, state));
                }
                return Ok(Err(e));
            }
            Ok(AppendPlan::AlreadyRecorded(outcome)) => return Ok(Ok(outcome)),
            Ok(AppendPlan::Write) => {
                // A sealed log seals under the child's key (schema version 2); a new child's key is made
                // and inserted now, in this transaction, so it commits with the child's first records or not
                // at all.
                let content_key = match (&self.keys, key) {
                    (None, _) => None,
                    (Some(_), RowKey::Live(key)) => Some(key),
                    (Some(ring), RowKey::Absent) if actual.is_none() => {
                        let (key, wrapped) = ring.create(&request.child_id)?;
                        let insert_key = tx
                            .prepare_cached(
                                "INSERT INTO journey_content_keys (child_id, wrapped) VALUES ($1, $2)",
                            )
                            .await?;
                        tx.execute(&insert_key, &[&request.child_id.as_str(), &wrapped])
                            .await?;
                        Some(key)
                    }
                    (Some(_), other) => {
                        return Ok(Err(Error::Key(
                            other
                                .content_key(&request.child_id)
                                .expect_err("neither live nor made now"),
                        )));
                    }
                };
                let sealed = match seal_append(
                    request,
                    recorded_at,
                    (actual, stream_hash),
                    *head,
                    content_key.as_ref(),
                ) {
                    Ok(sealed) => sealed,
                    Err(e) => return Ok(Err(e)),
                };
                let n = sealed.len();
                let (mut positions, mut versions) = (Vec::with_capacity(n), Vec::with_capacity(n));
                let (mut event_ids, mut digests) = (Vec::with_capacity(n), Vec::with_capacity(n));
                let (mut stream_hashes, mut log_hashes) = (Vec::with_capacity(n), Vec::with_capacity(n));
                let mut bodies = Vec::with_capacity(n);
                for record in &sealed {
                    let e = &record.event.envelope;
                    positions.push(to_i64(e.position.0));
                    versions.push(to_i64(e.version.0));
                    event_ids.push(e.event_id.as_str());
                    // A sealed record keeps no digest of its plaintext (V5).
                    digests.push(content_key.is_none().then_some(record.content_digest.as_slice()));
                    stream_hashes.push(record.event.chain.stream_hash.as_slice());
                    log_hashes.push(record.event.chain.log_hash.as_slice());
                    bodies.push(record.body.as_slice());
                }
                let insert = tx
                    .prepare_cached(
                        "INSERT INTO journey_events (position, child_id, version, event_id, recorded_at, \
                         content_digest, stream_hash, log_hash, body) \
                         SELECT p, $2, v, id, $3, d, s, l, b FROM unnest($1::bigint[], $4::bigint[], \
                         $5::text[], $6::bytea[], $7::bytea[], $8::bytea[], $9::bytea[]) AS r(p, v, id, d, s, l, b)",
                    )
                    .await?;
                tx.execute(
                    &insert,
                    &[
                        &positions,
                        &request.child_id.as_str(),
                        &recorded_at.jiff(),
                        &versions,
                        &event_ids,
                        &digests,
                        &stream_hashes,
                        &log_hashes,
                        &bodies,
                    ],
                )
                .await?;
                let last = &sealed[n - 1].event;
                *head = LogHead {
                    position: Some(last.envelope.position),
                    log_hash: last.chain.log_hash,
                };
                states.insert(request.child_id.clone(), (last.envelope.version, state));
                AppendOutcome {
                    child_id: request.child_id.clone(),
                    events: sealed.iter().map(|r| r.appended()).collect(),
                    already_recorded: false,
                }
            }
        };
        Ok(Ok(outcome))
    }

    /// The child's domain state at `actual`: from this batch, else from the cache, caught up with the
    /// records stored since; else replayed from the child's first record.
    async fn stream_state(
        &self,
        tx: &Transaction<'_>,
        child_id: &ChildId,
        actual: Option<Version>,
        states: &mut HashMap<ChildId, (Version, StreamState)>,
        key: &RowKey,
    ) -> PgResult<StreamState> {
        let Some(actual) = actual else {
            return Ok(StreamState::default());
        };
        let cached = match states.remove(child_id) {
            Some(s) => Some(s),
            None => self.states.lock().expect("state cache lock").pop(child_id),
        };
        // A cached state ahead of the database cannot be this database's (a restored backup): start over.
        let (mut version, mut state) = cached
            .filter(|(v, _)| *v <= actual)
            .unwrap_or((Version(0), StreamState::default()));
        if version < actual {
            let rest = tx
                .prepare_cached(
                    "SELECT position, child_id, version, body FROM journey_events \
                     WHERE child_id = $1 AND version > $2 ORDER BY version",
                )
                .await?;
            for row in tx.query(&rest, &[&child_id.as_str(), &to_i64(version.0)]).await? {
                let (envelope, payload) = decode_checked(&row, key)?;
                if envelope.version != version.next() {
                    return Err(PgError::Inconsistent(format!(
                        "child {child_id} has version {} after {version}",
                        envelope.version
                    )));
                }
                state.apply(&envelope.event_id, envelope.occurred_at, &payload);
                version = envelope.version;
            }
            if version != actual {
                return Err(PgError::Inconsistent(format!(
                    "child {child_id} is at version {actual} but its records end at {version}"
                )));
            }
        }
        Ok(state)
    }

    /// Walks the whole log in position order in one snapshot, recomputing both chains from the stored bytes,
    /// checking each row's indexed columns against its bytes and the head row against the last record.
    async fn verify(&self) -> PgResult<VerifyReport> {
        let mut client = self.pool.get().await?;
        let tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await?;
        let head = read_head(&*tx).await?;
        let mut verifier = Verifier::new();
        // Each row's indexed columns are checked against its bytes: the database's index of the log.
        verifier.walked_too("index");
        let mut last = LogHead::EMPTY;
        let mut after = 0i64;
        'pages: loop {
            let rows = tx
                .query(
                    "SELECT e.position, e.child_id, e.version, e.event_id, e.recorded_at, e.body, \
                     e.stream_hash, e.log_hash, k.child_id IS NOT NULL AS keyed FROM journey_events e \
                     LEFT JOIN journey_content_keys k ON k.child_id = e.child_id \
                     WHERE e.position > $1 ORDER BY e.position LIMIT $2",
                    &[&after, &VERIFY_PAGE],
                )
                .await?;
            let Some(row) = rows.last() else { break };
            after = row.get("position");
            for row in &rows {
                let body: &[u8] = row.get("body");
                let chain = match (
                    hash32(row.get("stream_hash"), "stream_hash"),
                    hash32(row.get("log_hash"), "log_hash"),
                ) {
                    (Ok(stream_hash), Ok(log_hash)) => ChainLink {
                        stream_hash,
                        log_hash,
                    },
                    (Err(e), _) | (_, Err(e)) => {
                        verifier.fail(e.to_string());
                        break 'pages;
                    }
                };
                if let Err(reason) = columns_match_body(row, body) {
                    verifier.fail(reason);
                    break 'pages;
                }
                // A sealed record whose child has no key row (live or destroyed) can never be read: its key
                // was lost, and the chains alone would not say so.
                if body.starts_with(&journey_core::envelope::SEALED_SCHEMA_VERSION.to_le_bytes())
                    && !row.get::<_, bool>("keyed")
                {
                    verifier.fail(format!(
                        "the record at position {} is sealed but journey_content_keys has no row for child {}: \
                         its content key is lost; restore the table from the backup taken with the log",
                        row.get::<_, i64>("position"),
                        row.get::<_, &str>("child_id")
                    ));
                    break 'pages;
                }
                if !verifier.push(body, &chain) {
                    break 'pages;
                }
                last = LogHead {
                    position: Some(Position(to_u64(row.get("position"))?)),
                    log_hash: chain.log_hash,
                };
            }
        }
        tx.commit().await?;
        if last != head {
            // Records missing after the last one (a truncated table), or a head row moved by hand.
            verifier.fail(format!(
                "the log head row says position {} but the records end at {}",
                head.position.map_or(0, |p| p.0),
                last.position.map_or(0, |p| p.0)
            ));
        }
        Ok(verifier.finish())
    }
}

/// The indexed columns are copies of what the body says; a difference would make queries by child, version
/// or event id answer wrongly while the chains still verify.
fn columns_match_body(row: &Row, body: &[u8]) -> std::result::Result<(), String> {
    let (fields, event_id) = encoding::decode_locator(body).map_err(|e| e.to_string())?;
    let recorded_at = timestamp(row.get("recorded_at")).map_err(|e| e.to_string())?;
    let same = row.get::<_, &str>("child_id") == fields.child_id.as_str()
        && row.get::<_, i64>("version") == to_i64(fields.version.0)
        && row.get::<_, i64>("position") == to_i64(fields.position.0)
        && row.get::<_, &str>("event_id") == event_id.as_str()
        && recorded_at == fields.recorded_at;
    if same {
        Ok(())
    } else {
        Err("the row's indexed columns differ from its stored bytes".into())
    }
}

/// Decodes a row's body and checks it is the record the row's columns say it is.
/// A sealed body is opened with `key`, the child's key row as read with the record; a destroyed, missing or
/// wrong key is refused as such, never answered with the ciphertext.
fn decode_checked(
    row: &Row,
    key: &RowKey,
) -> PgResult<(journey_core::Envelope, journey_core::domain::EventPayload)> {
    let position = to_u64(row.get("position"))?;
    let (envelope, payload) = encoding::decode_body(row.get("body"), key).map_err(|e| match e {
        Error::Key(e) => PgError::Key(e),
        e => PgError::Inconsistent(format!("position {position}: {e}")),
    })?;
    if envelope.position.0 != position
        || envelope.child_id.as_str() != row.get::<_, &str>("child_id")
        || to_i64(envelope.version.0) != row.get::<_, i64>("version")
    {
        return Err(PgError::Inconsistent(format!(
            "the row at position {position} holds the record of child {} version {} position {}",
            envelope.child_id, envelope.version, envelope.position
        )));
    }
    Ok((envelope, payload))
}

fn decode_row(row: &Row, key: &RowKey) -> PgResult<RecordedEvent> {
    let (envelope, payload) = decode_checked(row, key)?;
    Ok(RecordedEvent {
        envelope,
        payload,
        chain: ChainLink {
            stream_hash: hash32(row.get("stream_hash"), "stream_hash")?,
            log_hash: hash32(row.get("log_hash"), "log_hash")?,
        },
    })
}

/// What to do about records the database lost.
const RESTORE_ADVICE: &str = "Restore the database from a backup that holds them (for example, point-in-time \
     recovery to a moment after they were committed); Journey will not append over the gap";

/// The head row names the last committed record (its position and log hash): the table must end exactly
/// there. Rows deleted from its end, or a head row moved, mean committed records are lost or the log was
/// altered: refused, so that nothing is appended over them. Returns the head.
async fn check_log_end(client: &impl tokio_postgres::GenericClient) -> PgResult<LogHead> {
    // One statement, one snapshot: the head row and the last record as of the same moment.
    let row = client
        .query_one(
            "SELECT h.position, h.log_hash, e.position AS last_position, e.log_hash AS last_log_hash \
             FROM journey_log_head h LEFT JOIN LATERAL \
             (SELECT position, log_hash FROM journey_events ORDER BY position DESC LIMIT 1) e ON true \
             WHERE h.id = 1",
            &[],
        )
        .await?;
    let head = head_from_row(&row)?;
    let last = match row.get::<_, Option<i64>>("last_position") {
        None => LogHead::EMPTY,
        Some(position) => LogHead {
            position: Some(Position(to_u64(position)?)),
            log_hash: hash32(row.get("last_log_hash"), "log_hash")?,
        },
    };
    if last == head {
        return Ok(head);
    }
    let (p, q) = (head.position.map_or(0, |p| p.0), last.position.map_or(0, |p| p.0));
    let recorded = format!(
        "journey_log_head records that position {p} (log hash {}) was committed",
        hex::encode(head.log_hash)
    );
    Err(PgError::Lost(if q < p {
        format!(
            "{recorded}, but journey_events ends at position {q}: positions {} to {p} were acknowledged and \
             are not in the table. {RESTORE_ADVICE}",
            q + 1
        )
    } else if q > p {
        format!(
            "{recorded}, but journey_events holds positions up to {q}: the head row was moved back. \
             {RESTORE_ADVICE}"
        )
    } else {
        format!(
            "{recorded}, but the record at position {p} has log hash {}: the log was altered. {RESTORE_ADVICE}",
            hex::encode(last.log_hash)
        )
    }))
}

/// The head as of the caller's snapshot. Not locked: appends take their own lock on the row, and readers
/// (verify and export run in read-only snapshots) must not.
async fn read_head(client: &impl tokio_postgres::GenericClient) -> PgResult<LogHead> {
    let row = client
        .query_one(
            "SELECT position, log_hash FROM journey_log_head WHERE id = 1",
            &[],
        )
        .await?;
    head_from_row(&row)
}

fn head_from_row(row: &Row) -> PgResult<LogHead> {
    let position = to_u64(row.get("position"))?;
    Ok(LogHead {
        position: (position > 0).then_some(Position(position)),
        log_hash: hash32(row.get("log_hash"), "log_hash")?,
    })
}

/// The notification channel of one schema's log: several logs can share a database.
fn notify_channel(schema: &str) -> String {
    format!("journey_log.{schema}")
}

/// Moves the watched head forward, never back (a late notification or poll must not rewind it).
fn advance(head_tx: &watch::Sender<u64>, position: u64) {
    head_tx.send_if_modified(|head| {
        if position > *head {
            *head = position;
            true
        } else {
            false
        }
    });
}

/// Takes appends off the queue as batches: whatever queued while the previous transaction ran.
async fn run_appender(inner: Arc<Inner>, mut queue: mpsc::Receiver<Pending>, max_batch: usize) {
    let mut batch = Vec::with_capacity(max_batch);
    while queue.recv_many(&mut batch, max_batch).await > 0 {
        inner.append_batch(std::mem::take(&mut batch)).await;
    }
}

/// Follows other processes' appends through LISTEN/NOTIFY on a connection of its own, reconnecting when it
/// drops. The head is read after each LISTEN, since anything committed before it took effect was not
/// notified.
async fn listen(config: tokio_postgres::Config, channel: String, inner: Arc<Inner>) {
    loop {
        if let Err(e) = listen_once(&config, &channel, &inner.head_tx).await {
            tracing::warn!(error = %e, "the head listener's connection failed; reconnecting");
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
}

async fn listen_once(
    config: &tokio_postgres::Config,
    channel: &str,
    head_tx: &watch::Sender<u64>,
) -> PgResult<()> {
    let (client, mut connection) = config.connect(NoTls).await?;
    let (tx, mut notifications) = mpsc::unbounded_channel();
    let driver = tokio::spawn(async move {
        let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = messages.next().await {
            match message? {
                AsyncMessage::Notification(n) => {
                    if tx.send(n.payload().to_owned()).is_err() {
                        break;
                    }
                }
                _ => continue,
            }
        }
        Ok::<_, tokio_postgres::Error>(())
    });
    // The channel name is a quoted identifier: the schema name in it was checked at open.
    client.batch_execute(&format!("LISTEN \"{channel}\"")).await?;
    let head = read_head(&client).await?;
    advance(head_tx, head.position.map_or(0, |p| p.0));
    while let Some(payload) = notifications.recv().await {
        if let Ok(position) = payload.parse::<u64>() {
            advance(head_tx, position);
        }
    }
    drop(client);
    match driver.await {
        Ok(result) => result.map_err(PgError::from),
        Err(e) => Err(PgError::Config(format!("the listener's driver stopped: {e}"))),
    }
}

/// The fallback: reads the head every `interval`, in case a notification was lost.
async fn poll_head(inner: Arc<Inner>, interval: std::time::Duration) {
    loop {
        tokio::time::sleep(interval).await;
        let head = async { read_head(&**inner.pool.get().await?).await }.await;
        match head {
            Ok(head) => advance(&inner.head_tx, head.position.map_or(0, |p| p.0)),
            Err(e) => tracing::warn!(error = %e, "polling the log head failed"),
        }
    }
}

pub(crate) fn inconsistent(e: journey_core::FieldError) -> PgError {
    PgError::Inconsistent(e.to_string())
}

pub(crate) fn hash32(bytes: &[u8], what: &str) -> PgResult<[u8; 32]> {
    bytes
        .try_into()
        .map_err(|_| PgError::Inconsistent(format!("{what} is {} bytes, not 32", bytes.len())))
}

pub(crate) fn timestamp(t: jiff::Timestamp) -> PgResult<Timestamp> {
    Timestamp::from_micros(t.as_microsecond()).map_err(inconsistent)
}

/// Positions, versions and limits fit in PostgreSQL's bigint: nothing gets near 2^63 records.
pub(crate) fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

pub(crate) fn to_u64(n: i64) -> PgResult<u64> {
    u64::try_from(n)
        .map_err(|_| PgError::Inconsistent(format!("negative number {n} in a position or version")))
}
