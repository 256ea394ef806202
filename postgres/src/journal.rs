//! The system journal (`journey_core::journal`: keys, policies, decisions, the access log) and its blobs in
//! PostgreSQL, shared by every server on the database: a key created or revoked, or a policy deployed,
//! through one node is seen by all of them.
//!
//! **Appends** lock the single row of `journey_journal_head` (`SELECT ... FOR UPDATE`) for the whole
//! transaction, as the event log's appends lock theirs: sequence numbers are assigned only once the previous
//! holder has committed, so they are gap-free in commit order, and each append continues the one hash chain
//! from the record before it. The records are numbered, stamped and chained by
//! `journey_core::journal::seal_records`, the same code as the file and memory journals, and the stream
//! version is also guarded by `UNIQUE (stream, version)`.
//!
//! **What is synchronous in the trait** (`stream_version`, `head`) is answered from a mirror in memory:
//! brought up to date by this process's own appends at once, and by a poll of the small
//! `journey_journal_streams` table (every [`PostgresOptions::poll_interval`]) for other processes' appends.
//! Everything that must be exact reads the database: `read_stream` and `verify` always do, and the API's key
//! and policy caches catch up with `read_stream` from the mirror's version, so another node's change is
//! seen within one poll interval.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use futures::future::{BoxFuture, FutureExt};
use journey_core::ExpectedVersion;
use journey_core::blobs::{BlobStore, blob_hash, check_blob};
use journey_core::journal::{
    Journal, JournalEnd, JournalHead, JournalRecord, JournalVerification, NewRecord, SystemStream,
    decode_record, seal_records, verify_records,
};
use journey_core::{Clock, Error, Result};
use tokio_postgres::NoTls;

use crate::error::{PgError, PgResult};
use crate::schema::{self, PostgresOptions};

/// Rows fetched per query when verifying.
const VERIFY_PAGE: i64 = 4096;

/// Connects a pool, creating or migrating the schema first (every Journey table is in one schema).
async fn open_pool(options: &PostgresOptions) -> PgResult<Pool> {
    let config = options.client_config()?;
    schema::migrate(&config, options.schema.as_deref()).await?;
    let manager = Manager::from_config(
        config,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(options.pool_size)
        .build()
        .map_err(|e| PgError::Config(format!("connection pool: {e}")))
}

/// Runs `op` on `runtime` (where the pool's connections live) and hands its result to whichever executor
/// awaits it.
fn on_runtime<T, F>(runtime: &tokio::runtime::Handle, op: F) -> BoxFuture<'static, Result<T>>
where
    T: Send + 'static,
    F: Future<Output = Result<T>> + Send + 'static,
{
    let task = runtime.spawn(op);
    async move {
        match task.await {
            Ok(result) => result,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(_) => Err(Error::Closed("the PostgreSQL runtime has shut down".into())),
        }
    }
    .boxed()
}

fn to_i64(n: u64) -> PgResult<i64> {
    i64::try_from(n).map_err(|_| PgError::Inconsistent(format!("{n} does not fit a bigint")))
}

fn to_u64(n: i64) -> PgResult<u64> {
    u64::try_from(n).map_err(|_| PgError::Inconsistent(format!("negative number {n} in the journal")))
}

/// What the synchronous parts of the trait answer from.
#[derive(Debug, Default)]
struct Mirror {
    versions: HashMap<SystemStream, u64>,
    head: JournalHead,
}

impl Mirror {
    /// Moves forward only: a poll that read the database before this process's own append committed must not
    /// undo what the append recorded.
    fn advance(&mut self, stream: &SystemStream, version: u64, head: JournalHead) {
        let current = self.versions.entry(stream.clone()).or_insert(0);
        *current = (*current).max(version);
        self.advance_head(head);
    }

    fn advance_head(&mut self, head: JournalHead) {
        if head.sequence > self.head.sequence {
            self.head = head;
        }
    }
}

struct Inner {
    pool: Pool,
    clock: Arc<dyn Clock>,
    mirror: RwLock<Mirror>,
}

/// The system journal in PostgreSQL.
pub struct PostgresJournal {
    inner: Arc<Inner>,
    runtime: tokio::runtime::Handle,
    poller: tokio::task::AbortHandle,
}

impl fmt::Debug for PostgresJournal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresJournal")
            .field("pool", &self.inner.pool.status())
            .field("head", &self.head())
            .finish_non_exhaustive()
    }
}

impl Drop for PostgresJournal {
    fn drop(&mut self) {
        self.poller.abort();
    }
}

impl PostgresJournal {
    /// Connects, creates or migrates the schema, reads the journal's end and starts polling for other
    /// processes' appends. Must be called inside a tokio runtime, which the journal then uses for its I/O.
    pub async fn open(options: PostgresOptions, clock: Arc<dyn Clock>) -> PgResult<PostgresJournal> {
        let pool = open_pool(&options).await?;
        let inner = Arc::new(Inner {
            pool,
            clock,
            mirror: RwLock::default(),
        });
        check_journal_end(&inner.pool.get().await?).await?;
        refresh(&inner).await?;
        let for_poll = inner.clone();
        let interval = options.poll_interval;
        let poller = tokio::spawn(async move {
            let mut ticks = tokio::time::interval(interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                if let Err(e) = refresh(&for_poll).await {
                    tracing::warn!(error = %e, "could not read the journal's streams; retrying");
                }
            }
        });
        Ok(PostgresJournal {
            inner,
            runtime: tokio::runtime::Handle::current(),
            poller: poller.abort_handle(),
        })
    }

    /// Brings the mirror of stream versions and the head up to date with the database now.
    pub async fn refresh(&self) -> Result<()> {
        let inner = self.inner.clone();
        on_runtime(&self.runtime, async move {
            refresh(&inner).await.map_err(Error::from)
        })
        .await
    }

    fn mirror(&self) -> std::sync::RwLockReadGuard<'_, Mirror> {
        self.inner.mirror.read().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Reads every stream's version and the journal's end, in one snapshot.
async fn refresh(inner: &Inner) -> PgResult<()> {
    let mut client = inner.pool.get().await?;
    let tx = client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await?;
    let rows = tx
        .query("SELECT stream, version FROM journey_journal_streams", &[])
        .await?;
    let last = last_record(&tx).await?;
    tx.commit().await?;
    let mut versions = Vec::with_capacity(rows.len());
    for row in rows {
        let name: String = row.get(0);
        let stream = SystemStream::parse(&name)
            .map_err(|e| PgError::Inconsistent(format!("journal stream {name:?}: {e}")))?;
        versions.push((stream, to_u64(row.get(1))?));
    }
    let head = last.map_or_else(JournalHead::default, |end| JournalHead {
        sequence: end.sequence,
        hash: end.hash,
    });
    let mut mirror = inner.mirror.write().unwrap_or_else(PoisonError::into_inner);
    for (stream, version) in versions {
        mirror.advance(&stream, version, head);
    }
    mirror.advance_head(head);
    Ok(())
}

/// The head row names the last committed journal record: the table must end exactly there. Rows deleted from
/// its end (or a head row moved) are refused, so that nothing is appended over them.
async fn check_journal_end(client: &impl deadpool_postgres::GenericClient) -> PgResult<()> {
    // One statement, one snapshot.
    let row = client
        .query_one(
            "SELECT h.sequence, (SELECT max(sequence) FROM journey_journal) FROM journey_journal_head h \
             WHERE h.id = 1",
            &[],
        )
        .await?;
    let head = to_u64(row.get(0))?;
    let last = row.get::<_, Option<i64>>(1).map(to_u64).transpose()?.unwrap_or(0);
    match journal_end_mismatch(head, last) {
        None => Ok(()),
        Some(why) => Err(PgError::Lost(format!(
            "{why}. Restore the database from a backup that holds them (for example, point-in-time recovery \
             to a moment after they were committed); Journey will not append over the gap"
        ))),
    }
}

/// What is wrong when the journal's head row says `head` and its records end at `last`.
fn journal_end_mismatch(head: u64, last: u64) -> Option<String> {
    let recorded = format!("journey_journal_head records that journal record {head} was committed");
    if last < head {
        Some(format!(
            "{recorded}, but journey_journal ends at record {last}: records {} to {head} were acknowledged and \
             are not in the table",
            last + 1
        ))
    } else if last > head {
        Some(format!(
            "{recorded}, but journey_journal holds records up to {last}: the head row was moved back"
        ))
    } else {
        None
    }
}

/// The journal's last record (sequence, hash, recorded time), read from its stored bytes.
async fn last_record(client: &impl deadpool_postgres::GenericClient) -> PgResult<Option<JournalEnd>> {
    let row = client
        .query_opt(
            "SELECT sequence, stored FROM journey_journal ORDER BY sequence DESC LIMIT 1",
            &[],
        )
        .await?;
    let Some(row) = row else { return Ok(None) };
    let sequence = to_u64(row.get(0))?;
    let stored: Vec<u8> = row.get(1);
    let record = decode_record(&stored, sequence).map_err(|e| PgError::Inconsistent(e.to_string()))?;
    Ok(Some(JournalEnd::from(&record)))
}

async fn append(
    inner: &Inner,
    stream: &SystemStream,
    expected: ExpectedVersion,
    records: Vec<NewRecord>,
) -> Result<Vec<JournalRecord>> {
    let mut client = inner.pool.get().await.map_err(PgError::from)?;
    let tx = client.transaction().await.map_err(PgError::from)?;
    // The lock that orders every journal append, in every process (see the module documentation).
    let locked: i64 = tx
        .query_one(
            "SELECT sequence FROM journey_journal_head WHERE id = 1 FOR UPDATE",
            &[],
        )
        .await
        .map_err(PgError::from)?
        .get(0);
    let last = last_record(&tx).await?;
    if last.map_or(0, |end| end.sequence) != to_u64(locked)? {
        return Err(PgError::Inconsistent(format!(
            "the journal's head row says sequence {locked}, its last record is {:?}",
            last.map(|end| end.sequence)
        ))
        .into());
    }
    let version = match tx
        .query_opt(
            "SELECT version FROM journey_journal_streams WHERE stream = $1",
            &[&stream.as_str()],
        )
        .await
        .map_err(PgError::from)?
    {
        Some(row) => to_u64(row.get(0))?,
        None => 0,
    };
    // Judged and sealed by the same code as every other journal; a conflict or bad input ends here, with the
    // transaction rolled back as it is dropped.
    let sealed = seal_records(last, stream, version, expected, records, inner.clock.now())?;
    let insert = tx
        .prepare("INSERT INTO journey_journal (sequence, stream, version, stored) VALUES ($1, $2, $3, $4)")
        .await
        .map_err(PgError::from)?;
    for (record, stored) in &sealed {
        tx.execute(
            &insert,
            &[
                &to_i64(record.sequence)?,
                &stream.as_str(),
                &to_i64(record.version)?,
                stored,
            ],
        )
        .await
        .map_err(PgError::from)?;
    }
    let (last_sequence, last_version, last_hash) = {
        let (record, _) = sealed.last().expect("seal_records refuses an empty append");
        (record.sequence, record.version, record.hash)
    };
    tx.execute(
        "INSERT INTO journey_journal_streams (stream, version) VALUES ($1, $2) \
         ON CONFLICT (stream) DO UPDATE SET version = EXCLUDED.version",
        &[&stream.as_str(), &to_i64(last_version)?],
    )
    .await
    .map_err(PgError::from)?;
    tx.execute(
        "UPDATE journey_journal_head SET sequence = $1 WHERE id = 1",
        &[&to_i64(last_sequence)?],
    )
    .await
    .map_err(PgError::from)?;
    tx.commit().await.map_err(PgError::from)?;
    inner
        .mirror
        .write()
        .unwrap_or_else(PoisonError::into_inner)
        .advance(
            stream,
            last_version,
            JournalHead {
                sequence: last_sequence,
                hash: last_hash,
            },
        );
    Ok(sealed.into_iter().map(|(record, _)| record).collect())
}

async fn read_stream(
    inner: &Inner,
    stream: &SystemStream,
    from: u64,
    limit: usize,
) -> PgResult<Vec<JournalRecord>> {
    let client = inner.pool.get().await?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = client
        .query(
            "SELECT sequence, version, stored FROM journey_journal \
             WHERE stream = $1 AND version >= $2 ORDER BY version LIMIT $3",
            &[&stream.as_str(), &to_i64(from.max(1))?, &limit],
        )
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let sequence = to_u64(row.get(0))?;
        let version = to_u64(row.get(1))?;
        let stored: Vec<u8> = row.get(2);
        let record = decode_record(&stored, sequence).map_err(|e| PgError::Inconsistent(e.to_string()))?;
        // The indexed columns must say what the stored bytes say.
        if record.sequence != sequence || record.version != version || &record.stream != stream {
            return Err(PgError::Inconsistent(format!(
                "journal row {sequence} ({stream} v{version}) holds record {} ({} v{})",
                record.sequence, record.stream, record.version
            )));
        }
        out.push(record);
    }
    Ok(out)
}

/// Every record's stored bytes and the head row's sequence, in one read-only snapshot.
async fn stored_records(inner: &Inner) -> PgResult<(Vec<Result<Vec<u8>>>, u64)> {
    let mut client = inner.pool.get().await?;
    let client = client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await?;
    let head: i64 = client
        .query_one("SELECT sequence FROM journey_journal_head WHERE id = 1", &[])
        .await?
        .get(0);
    let mut out = Vec::new();
    let mut after = 0i64;
    loop {
        let rows = client
            .query(
                "SELECT sequence, stored FROM journey_journal WHERE sequence > $1 ORDER BY sequence LIMIT $2",
                &[&after, &VERIFY_PAGE],
            )
            .await?;
        let Some(last) = rows.last() else { break };
        after = last.get(0);
        out.extend(rows.into_iter().map(|row| Ok(row.get::<_, Vec<u8>>(1))));
    }
    client.commit().await?;
    Ok((out, to_u64(head)?))
}

impl Journal for PostgresJournal {
    fn append(
        &self,
        stream: &SystemStream,
        expected: ExpectedVersion,
        records: Vec<NewRecord>,
    ) -> BoxFuture<'static, Result<Vec<JournalRecord>>> {
        let inner = self.inner.clone();
        let stream = stream.clone();
        on_runtime(&self.runtime, async move {
            append(&inner, &stream, expected, records).await
        })
    }

    fn read_stream(
        &self,
        stream: &SystemStream,
        from: u64,
        limit: usize,
    ) -> BoxFuture<'static, Result<Vec<JournalRecord>>> {
        let inner = self.inner.clone();
        let stream = stream.clone();
        on_runtime(&self.runtime, async move {
            read_stream(&inner, &stream, from, limit)
                .await
                .map_err(Error::from)
        })
    }

    fn stream_version(&self, stream: &SystemStream) -> u64 {
        self.mirror().versions.get(stream).copied().unwrap_or(0)
    }

    fn head(&self) -> JournalHead {
        self.mirror().head
    }

    fn verify(&self) -> BoxFuture<'static, Result<JournalVerification>> {
        let inner = self.inner.clone();
        on_runtime(&self.runtime, async move {
            let (stored, head) = stored_records(&inner).await?;
            let mut verification = verify_records(stored.into_iter())?;
            // The chain may be whole and still short of what the head row says was committed.
            if verification.first_broken.is_none()
                && let Some(why) = journal_end_mismatch(head, verification.head.sequence)
            {
                verification.first_broken = Some((verification.head.sequence.min(head) + 1, why));
            }
            Ok(verification)
        })
    }

    /// Each append is its own transaction, so there is no writer to stop: an unreachable database shows in
    /// the store's `head` (which readiness also asks). What can stop is the runtime the pool lives on, and
    /// with it the head's poller.
    fn failure(&self) -> Option<String> {
        self.poller
            .is_finished()
            .then(|| "the PostgreSQL journal's runtime has stopped".to_owned())
    }
}

/// Policy components and example cases in PostgreSQL, named by the SHA-256 of their bytes.
pub struct PostgresBlobStore {
    pool: Pool,
    runtime: tokio::runtime::Handle,
}

impl fmt::Debug for PostgresBlobStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresBlobStore")
            .field("pool", &self.pool.status())
            .finish_non_exhaustive()
    }
}

impl PostgresBlobStore {
    /// Connects (creating or migrating the schema). Must be called inside a tokio runtime.
    pub async fn open(options: PostgresOptions) -> PgResult<PostgresBlobStore> {
        Ok(PostgresBlobStore {
            pool: open_pool(&options).await?,
            runtime: tokio::runtime::Handle::current(),
        })
    }
}

impl BlobStore for PostgresBlobStore {
    fn put(&self, bytes: &[u8]) -> BoxFuture<'static, Result<[u8; 32]>> {
        let pool = self.pool.clone();
        let bytes = bytes.to_vec();
        on_runtime(&self.runtime, async move {
            let hash = blob_hash(&bytes);
            let client = pool.get().await.map_err(PgError::from)?;
            // Storing the right bytes again repairs a damaged row, as with the file store.
            client
                .execute(
                    "INSERT INTO journey_blobs (hash, bytes) VALUES ($1, $2) ON CONFLICT (hash) DO UPDATE \
                     SET bytes = EXCLUDED.bytes WHERE journey_blobs.bytes <> EXCLUDED.bytes",
                    &[&hash.as_slice(), &bytes],
                )
                .await
                .map_err(PgError::from)?;
            Ok(hash)
        })
    }

    fn get(&self, hash: &[u8; 32]) -> BoxFuture<'static, Result<Vec<u8>>> {
        let pool = self.pool.clone();
        let hash = *hash;
        on_runtime(&self.runtime, async move {
            let client = pool.get().await.map_err(PgError::from)?;
            let row = client
                .query_opt(
                    "SELECT bytes FROM journey_blobs WHERE hash = $1",
                    &[&hash.as_slice()],
                )
                .await
                .map_err(PgError::from)?
                .ok_or_else(|| Error::NotFound(format!("blob sha256:{}", hex::encode(hash))))?;
            check_blob(&hash, row.get(0))
        })
    }
}
