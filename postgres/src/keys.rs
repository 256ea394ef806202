//! Each child's content sealed under a key of its own, on PostgreSQL (issue #19, ADR 11).
//!
//! A log seals content from its first record or never: the decision is the head row's `kek_fingerprint`,
//! set while the log is empty by the first server opened with a key-encryption key, and checked by every
//! append under the head lock, so that no server appends in the clear to a sealed log (or the reverse)
//! whatever it decided at open. Content keys are kept in `journey_content_keys`, wrapped by the key-encryption
//! key; a child's key row is inserted in the same transaction as its first records (all or nothing).
//!
//! **Several servers, one database (ADR 7).** A destruction committed by one server must stop every server
//! from serving the child at once. So no server trusts a key it holds in memory on its own: every read takes
//! the child's key row in the same statement, or the same transaction, as the records it decodes, and an
//! append reads it under the head lock. The unwrapped key is cached only to save unwrapping (which a KMS
//! would make a network call): it is used when the row just read holds the same wrapped bytes it came from,
//! and never when the row says the key was destroyed. The synchronous `seal_for_child` and `open_for_child`
//! read the row too, blocking their caller for one query.

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use deadpool_postgres::GenericClient;
use journey_core::content_keys::{ContentKey, KeyEncryptionKey, KeyError};
use journey_core::encoding::KeySource;
use journey_core::envelope::SEALED_SCHEMA_VERSION;
use journey_core::store::Destruction;
use journey_core::{ChildId, Error, Timestamp};

use crate::error::{PgError, PgResult};
use crate::store::timestamp;

/// Unwrapped keys kept per server (a key is about 100 bytes with its cipher).
const UNWRAPPED_CACHE: usize = 16_384;

/// The key-encryption key of a sealed log and the keys it unwrapped.
pub(crate) struct KeyRing {
    kek: Arc<dyn KeyEncryptionKey>,
    fingerprint: String,
    /// Each child's key with the wrapped bytes it was unwrapped from: used only while the child's row holds
    /// those very bytes.
    unwrapped: Mutex<lru::LruCache<ChildId, (Vec<u8>, ContentKey)>>,
}

/// A child's key as its row says now, read with the records it opens.
#[derive(Clone, Debug)]
pub(crate) enum RowKey {
    Live(ContentKey),
    Destroyed(Timestamp),
    /// No row: a child with no records yet, or (with records) a key table that lost it.
    Absent,
}

impl KeySource for RowKey {
    fn content_key(&self, child_id: &ChildId) -> Result<ContentKey, KeyError> {
        match self {
            RowKey::Live(key) => Ok(key.clone()),
            RowKey::Destroyed(destroyed_at) => Err(KeyError::Destroyed {
                child_id: child_id.clone(),
                destroyed_at: *destroyed_at,
            }),
            RowKey::Absent => Err(KeyError::Missing {
                child_id: child_id.clone(),
            }),
        }
    }
}

impl RowKey {
    /// Refuses a destroyed child, as every read and append of its records must.
    pub(crate) fn refuse_destroyed(&self, child_id: &ChildId) -> Result<(), KeyError> {
        match self {
            RowKey::Destroyed(_) => self.content_key(child_id).map(|_| ()),
            _ => Ok(()),
        }
    }
}

impl KeyRing {
    fn new(kek: Arc<dyn KeyEncryptionKey>) -> KeyRing {
        KeyRing {
            fingerprint: kek.fingerprint(),
            kek,
            unwrapped: Mutex::new(lru::LruCache::new(
                NonZeroUsize::new(UNWRAPPED_CACHE).expect("non-zero"),
            )),
        }
    }

    pub(crate) fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The key a row of `journey_content_keys` names (`wrapped` and `destroyed_at` as read; both `None` when
    /// the child has no row).
    pub(crate) fn key_of_row(
        &self,
        child_id: &ChildId,
        wrapped: Option<&[u8]>,
        destroyed_at: Option<jiff::Timestamp>,
    ) -> PgResult<RowKey> {
        if let Some(at) = destroyed_at {
            self.forget(std::slice::from_ref(child_id));
            return Ok(RowKey::Destroyed(timestamp(at)?));
        }
        let Some(wrapped) = wrapped else {
            return Ok(RowKey::Absent);
        };
        let mut cache = self.unwrapped.lock().expect("key cache lock");
        if let Some((bytes, key)) = cache.get(child_id)
            && bytes.as_slice() == wrapped
        {
            return Ok(RowKey::Live(key.clone()));
        }
        let key = self.kek.unwrap(child_id, wrapped)?;
        cache.put(child_id.clone(), (wrapped.to_vec(), key.clone()));
        Ok(RowKey::Live(key))
    }

    /// A new key for a child without one, and its wrapped form, which the caller inserts in the transaction
    /// that writes the child's first records.
    pub(crate) fn create(&self, child_id: &ChildId) -> PgResult<(ContentKey, Vec<u8>)> {
        let key = ContentKey::generate()?;
        let wrapped = self.kek.wrap(child_id, &key)?;
        self.unwrapped
            .lock()
            .expect("key cache lock")
            .put(child_id.clone(), (wrapped.clone(), key.clone()));
        Ok((key, wrapped))
    }

    /// Drops the unwrapped keys of these children (destroyed).
    pub(crate) fn forget(&self, children: &[ChildId]) {
        let mut cache = self.unwrapped.lock().expect("key cache lock");
        for child_id in children {
            cache.pop(child_id);
        }
    }
}

/// The child's key row as the caller's statement sees it.
pub(crate) async fn read_key(
    client: &impl GenericClient,
    ring: &KeyRing,
    child_id: &ChildId,
) -> PgResult<RowKey> {
    let statement = client
        .prepare_cached("SELECT wrapped, destroyed_at FROM journey_content_keys WHERE child_id = $1")
        .await?;
    match client.query_opt(&statement, &[&child_id.as_str()]).await? {
        Some(row) => ring.key_of_row(child_id, row.get("wrapped"), row.get("destroyed_at")),
        None => Ok(RowKey::Absent),
    }
}

/// What a store opened with `kek` must do about sealing, decided under the head lock (so ordered with every
/// server's appends): the ring of a sealed log, or `None` for a log in the clear. Refused, naming why: a
/// sealed log opened without its key-encryption key or with another, a log holding sealed records whose head
/// row names no key, and a sealed log whose first or last record's child has no key row (a key table older
/// than the log). A new (empty) log opened with a key is sealed from now on; a log in the clear with records
/// stays in the clear, with a warning.
pub(crate) async fn open_sealing(
    client: &mut deadpool_postgres::Object,
    kek: Option<Arc<dyn KeyEncryptionKey>>,
    schema: &str,
) -> PgResult<Option<Arc<KeyRing>>> {
    let tx = client.transaction().await?;
    let head = tx
        .query_one(
            "SELECT position, kek_fingerprint FROM journey_log_head WHERE id = 1 FOR UPDATE",
            &[],
        )
        .await?;
    let position: i64 = head.get("position");
    let sealed_by: Option<String> = head.get("kek_fingerprint");
    // The first and last records' children, and whether those records are sealed (a log is sealed from its
    // first record or never).
    let probes = tx
        .query(
            "SELECT e.child_id, substring(e.body FROM 1 FOR 2) AS schema, k.child_id IS NOT NULL AS keyed \
             FROM journey_events e LEFT JOIN journey_content_keys k ON k.child_id = e.child_id \
             WHERE e.position IN (1, $1)",
            &[&position],
        )
        .await?;
    let sealed_records = probes
        .iter()
        .any(|row| row.get::<_, &[u8]>("schema") == SEALED_SCHEMA_VERSION.to_le_bytes());
    let ring = match (sealed_by, kek) {
        (Some(expected), Some(kek)) if expected == kek.fingerprint() => Arc::new(KeyRing::new(kek)),
        (Some(expected), Some(kek)) => {
            return Err(KeyError::WrongKek {
                expected,
                given: kek.fingerprint(),
            }
            .into());
        }
        (Some(_), None) => {
            return Err(KeyError::Malformed(format!(
                "the PostgreSQL log in schema {schema} seals each child's content: it opens only with its \
                 key-encryption key (JOURNEY_KEK, or kek_file in the server's config)"
            ))
            .into());
        }
        (None, _) if sealed_records => {
            return Err(KeyError::Malformed(format!(
                "the PostgreSQL log in schema {schema} holds sealed records but its head row names no \
                 key-encryption key: the log was altered or restored in part; restore it whole from its backup"
            ))
            .into());
        }
        (None, Some(kek)) if position == 0 => {
            tx.execute(
                "UPDATE journey_log_head SET kek_fingerprint = $1 WHERE id = 1",
                &[&kek.fingerprint()],
            )
            .await?;
            tracing::info!(
                schema,
                kek = %kek.fingerprint(),
                "a new log: each child's content is sealed under a key of its own"
            );
            Arc::new(KeyRing::new(kek))
        }
        (None, Some(_)) => {
            tracing::warn!(
                schema,
                "this PostgreSQL log was made before content was sealed: its records stay in the clear and \
                 cannot be erased by destroying keys; migrate it with `journey log export` and `journey log \
                 import --seal --store postgres://...` into a new database or schema (docs/deployment.md)"
            );
            tx.commit().await?;
            return Ok(None);
        }
        (None, None) => {
            tx.commit().await?;
            return Ok(None);
        }
    };
    let lacking: Vec<&str> = probes
        .iter()
        .filter(|row| !row.get::<_, bool>("keyed"))
        .map(|row| row.get("child_id"))
        .collect();
    if !lacking.is_empty() {
        return Err(KeyError::Malformed(format!(
            "journey_content_keys in schema {schema} has no key for children with sealed records ({}): it is \
             older than the log, or was altered; restore it from the backup taken with the log",
            lacking.join(", ")
        ))
        .into());
    }
    tx.commit().await?;
    Ok(Some(ring))
}

/// Destroys these children's content keys in one transaction under the head lock, ordered with every
/// server's appends: appends committed before it were sealed with the keys (their ciphertext stays, and is
/// unreadable), appends after it are refused. Each key row keeps only the time of its destruction.
pub(crate) async fn destroy(
    client: &mut deadpool_postgres::Object,
    ring: &KeyRing,
    mut children: Vec<ChildId>,
    destroyed_at: Timestamp,
) -> PgResult<Result<Destruction, Error>> {
    children.sort();
    children.dedup();
    let tx = client.transaction().await?;
    lock_head_sealed_by(&tx, ring).await?;
    let ids: Vec<&str> = children.iter().map(ChildId::as_str).collect();
    let rows = tx
        .query(
            "SELECT k.child_id, k.destroyed_at FROM journey_content_keys k WHERE k.child_id = ANY($1) FOR UPDATE",
            &[&ids],
        )
        .await?;
    let mut already_destroyed = Vec::new();
    let mut fresh = Vec::new();
    for child_id in &children {
        let row = rows
            .iter()
            .find(|row| row.get::<_, &str>("child_id") == child_id.as_str());
        match row.map(|row| row.get::<_, Option<jiff::Timestamp>>("destroyed_at")) {
            Some(Some(at)) => already_destroyed.push((child_id.clone(), timestamp(at)?)),
            Some(None) => fresh.push(child_id.clone()),
            None => {
                let has_records = tx
                    .query_opt(
                        "SELECT 1 FROM journey_events WHERE child_id = $1 LIMIT 1",
                        &[&child_id.as_str()],
                    )
                    .await?
                    .is_some();
                return Ok(Err(if has_records {
                    Error::Key(KeyError::Missing {
                        child_id: child_id.clone(),
                    })
                } else {
                    Error::NotFound(format!("child {child_id} has no record to destroy"))
                }));
            }
        }
    }
    if !fresh.is_empty() {
        let ids: Vec<&str> = fresh.iter().map(ChildId::as_str).collect();
        tx.execute(
            "UPDATE journey_content_keys SET wrapped = NULL, destroyed_at = $2 WHERE child_id = ANY($1)",
            &[&ids, &destroyed_at.jiff()],
        )
        .await?;
    }
    tx.commit().await?;
    ring.forget(&fresh);
    if !fresh.is_empty() {
        tracing::info!(
            children = fresh.len(),
            "content keys destroyed: those records are erased"
        );
    }
    Ok(Ok(Destruction {
        destroyed: fresh,
        already_destroyed,
        destroyed_at,
    }))
}

/// Locks the head row (ordering the caller with every server's appends) and checks it names `ring`'s
/// key-encryption key.
async fn lock_head_sealed_by(tx: &deadpool_postgres::Transaction<'_>, ring: &KeyRing) -> PgResult<()> {
    let head = tx
        .query_one(
            "SELECT kek_fingerprint FROM journey_log_head WHERE id = 1 FOR UPDATE",
            &[],
        )
        .await?;
    check_sealed_by(head.get("kek_fingerprint"), Some(ring))
}

/// Checks the head row's sealing decision (read under its lock) against this store's: a server that opened
/// a log in the clear must not append to it once another server sealed it, nor the reverse, nor under another
/// key-encryption key.
pub(crate) fn check_sealed_by(sealed_by: Option<String>, ring: Option<&KeyRing>) -> PgResult<()> {
    match (sealed_by, ring) {
        (None, None) => Ok(()),
        (Some(expected), Some(ring)) if expected == ring.fingerprint() => Ok(()),
        (Some(expected), Some(ring)) => Err(KeyError::WrongKek {
            expected,
            given: ring.fingerprint().to_owned(),
        }
        .into()),
        (Some(_), None) => Err(PgError::Key(KeyError::Malformed(
            "another server sealed this PostgreSQL log after this one opened it in the clear: restart this \
             server with the key-encryption key (JOURNEY_KEK, or kek_file in the server's config)"
                .into(),
        ))),
        (None, Some(_)) => Err(PgError::Key(KeyError::Malformed(
            "the head row of this PostgreSQL log no longer names the key-encryption key it was opened with: \
             the log was altered or replaced; restart the server"
                .into(),
        ))),
    }
}

/// Re-wraps every live content key under `new`, in one transaction under the head lock, and names `new` on
/// the head row: the log and the destroyed rows are not touched. Returns (keys re-wrapped, destroyed rows).
/// Every other server still holding the old key-encryption key is refused from then on (its appends by the
/// head row's fingerprint, its reads because the old key cannot unwrap the new rows) until it restarts with
/// the new one.
pub(crate) async fn rotate(
    client: &mut deadpool_postgres::Object,
    ring: &KeyRing,
    new: &dyn KeyEncryptionKey,
) -> PgResult<(usize, usize)> {
    let tx = client.transaction().await?;
    lock_head_sealed_by(&tx, ring).await?;
    let rows = tx
        .query(
            "SELECT child_id, wrapped FROM journey_content_keys ORDER BY child_id FOR UPDATE",
            &[],
        )
        .await?;
    let mut live = 0;
    let mut destroyed = 0;
    for row in &rows {
        let Some(wrapped) = row.get::<_, Option<&[u8]>>("wrapped") else {
            destroyed += 1;
            continue;
        };
        let child_id = ChildId::parse(row.get::<_, &str>("child_id"))
            .map_err(|e| PgError::Inconsistent(format!("journey_content_keys: {e}")))?;
        let key = ring.kek.unwrap(&child_id, wrapped)?;
        let rewrapped = new.wrap(&child_id, &key)?;
        tx.execute(
            "UPDATE journey_content_keys SET wrapped = $2 WHERE child_id = $1",
            &[&child_id.as_str(), &rewrapped],
        )
        .await?;
        live += 1;
    }
    tx.execute(
        "UPDATE journey_log_head SET kek_fingerprint = $1 WHERE id = 1",
        &[&new.fingerprint()],
    )
    .await?;
    tx.commit().await?;
    ring.unwrapped.lock().expect("key cache lock").clear();
    Ok((live, destroyed))
}
