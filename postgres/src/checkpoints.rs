//! The log's identity, the checkpoints it signed and the cosignatures witnesses sent, in their tables
//! (`migrations/V4__journey_checkpoints.sql`). Unlike the tree they are not derived: every write is one
//! committed transaction before it is acknowledged, and nothing rebuilds them.
//!
//! Storing a checkpoint locks the identity row first, so that the rule against contradicting a stored
//! checkpoint (`check_new_checkpoint`) is judged and written atomically across every server on the database.

use deadpool_postgres::GenericClient;
use journey_core::store::LogId;
use journey_core::store::tree::{StoredCheckpoint, StoredCosignature, check_new_checkpoint};
use journey_core::{Error, Result};
use tokio_postgres::Row;

use crate::error::{PgError, PgResult};
use crate::store::{hash32, timestamp, to_i64, to_u64};

/// The log's id: the stored one, or, the first time a log is opened after the migration that added it, one
/// made now from the operating system's random source (two servers opening at once agree: the first insert
/// wins, and both read it back).
pub(crate) async fn log_id(client: &impl GenericClient) -> PgResult<LogId> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).map_err(|e| PgError::Config(format!("the system's random source: {e}")))?;
    let made = LogId::from_random(bytes);
    let inserted = client
        .execute(
            "INSERT INTO journey_log_identity (id, log_id) VALUES (1, $1) ON CONFLICT (id) DO NOTHING",
            &[&made.as_str()],
        )
        .await?;
    let row = client
        .query_one("SELECT log_id FROM journey_log_identity WHERE id = 1", &[])
        .await?;
    let id = LogId::parse(row.get::<_, String>(0)).map_err(crate::store::inconsistent)?;
    if inserted == 1 {
        tracing::info!(log_id = %id, "gave the log its id");
    }
    Ok(id)
}

const CHECKPOINT_COLUMNS: &str = "size, root, note, signed_at";

fn checkpoint(row: &Row) -> PgResult<StoredCheckpoint> {
    Ok(StoredCheckpoint {
        size: to_u64(row.get("size"))?,
        root: hash32(row.get("root"), "a checkpoint's root")?,
        note: row.get::<_, Vec<u8>>("note"),
        signed_at: timestamp(row.get("signed_at"))?,
    })
}

async fn one(client: &impl GenericClient, filter: &str, size: i64) -> PgResult<Option<StoredCheckpoint>> {
    let sql = format!("SELECT {CHECKPOINT_COLUMNS} FROM journey_checkpoints c {filter}");
    let statement = client.prepare_cached(&sql).await?;
    client
        .query_opt(&statement, &[&size])
        .await?
        .map(|row| checkpoint(&row))
        .transpose()
}

/// The largest checkpoint of at most `at_most` leaves.
const LATEST: &str = "WHERE size <= $1 ORDER BY size DESC LIMIT 1";

pub(crate) async fn latest(client: &impl GenericClient) -> PgResult<Option<StoredCheckpoint>> {
    one(client, LATEST, i64::MAX).await
}

pub(crate) async fn at(client: &impl GenericClient, size: u64) -> PgResult<Option<StoredCheckpoint>> {
    one(client, "WHERE size = $1", to_i64(size)).await
}

pub(crate) async fn latest_cosigned(
    client: &impl GenericClient,
    at_most: u64,
) -> PgResult<Option<StoredCheckpoint>> {
    one(
        client,
        "WHERE size <= $1 AND EXISTS (SELECT 1 FROM journey_cosignatures s WHERE s.size = c.size) \
         ORDER BY size DESC LIMIT 1",
        to_i64(at_most),
    )
    .await
}

pub(crate) async fn all(client: &impl GenericClient) -> PgResult<Vec<StoredCheckpoint>> {
    let sql = format!("SELECT {CHECKPOINT_COLUMNS} FROM journey_checkpoints ORDER BY size");
    client.query(&sql, &[]).await?.iter().map(checkpoint).collect()
}

/// Stores `new` unless it contradicts a stored checkpoint (refused) or is already stored (given back), with
/// the identity row locked from the check to the commit.
pub(crate) async fn store(
    client: &mut deadpool_postgres::Object,
    new: StoredCheckpoint,
) -> Result<StoredCheckpoint> {
    let attempt = async {
        let tx = client.transaction().await?;
        tx.execute("SELECT 1 FROM journey_log_identity WHERE id = 1 FOR UPDATE", &[])
            .await?;
        let latest = latest(&tx).await?;
        match check_new_checkpoint(latest.as_ref(), &new) {
            Ok(Some(stored)) => return Ok(Ok(stored)),
            Err(e) => return Ok(Err(e)),
            Ok(None) => {}
        }
        tx.execute(
            "INSERT INTO journey_checkpoints (size, root, note, signed_at) VALUES ($1, $2, $3, $4)",
            &[
                &to_i64(new.size),
                &new.root.as_slice(),
                &new.note,
                &new.signed_at.jiff(),
            ],
        )
        .await?;
        tx.commit().await?;
        Ok::<_, PgError>(Ok(new.clone()))
    };
    attempt.await.map_err(Error::from)?
}

/// Stores a cosignature; false when that line was already stored for that checkpoint.
pub(crate) async fn store_cosignature(
    client: &impl GenericClient,
    cosignature: &StoredCosignature,
) -> PgResult<bool> {
    let inserted = client
        .execute(
            "INSERT INTO journey_cosignatures (size, line, received_at) VALUES ($1, $2, $3) \
             ON CONFLICT ON CONSTRAINT journey_cosignatures_once DO NOTHING",
            &[
                &to_i64(cosignature.size),
                &cosignature.line,
                &cosignature.received_at.jiff(),
            ],
        )
        .await?;
    Ok(inserted == 1)
}

pub(crate) async fn cosignatures(client: &impl GenericClient, size: u64) -> Result<Vec<StoredCosignature>> {
    let rows = client
        .query(
            "SELECT size, line, received_at FROM journey_cosignatures WHERE size = $1 ORDER BY received",
            &[&to_i64(size)],
        )
        .await
        .map_err(PgError::from)?;
    rows.iter()
        .map(|row| {
            let received_at = timestamp(row.get("received_at"))?;
            StoredCosignature::from_line(size, row.get("line"), received_at)
        })
        .collect()
}
