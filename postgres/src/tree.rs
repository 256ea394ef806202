//! The Merkle tree over the log (ADR 10) in tables (`migrations/V3__journey_tree.sql`), and the
//! [`TreeStore`] of the PostgreSQL store.
//!
//! ```text
//! journey_tree_state   (size, rebuilding)        one row: how many leaves are stored, and why it is rebuilt
//! journey_tree_tiles   (level, tile, hashes)     hashes [tile·256, tile·256 + n) of one level, n ≤ 256
//! ```
//!
//! Level 0 holds every leaf hash (leaf i is the record at position i + 1, its entry `stream_hash ‖ log_hash`),
//! each level above the root of every full run of 256 hashes below (`journey_tlog::tree`). Only the last
//! row of a level (its edge) holds fewer than 256 hashes; it is rewritten as the level grows, so a partial
//! tile at any level is one row to read, never a recomputation. About 32.2 bytes per record.
//!
//! **Maintained from the committed log, off the commit path.** Appends do not touch these tables. Each
//! server runs a maintainer ([`maintain`]) that, when the log head moves (its own commits, other servers'
//! through NOTIFY, or the fallback poll), extends the tree in passes: one transaction that locks the state
//! row `FOR UPDATE` (so one server at a time, whichever appended the records), reads the edge rows, reads the
//! records after the tree's last leaf from `journey_events` (one statement, one snapshot: a gap-free prefix
//! of the committed log, see `crate::store`), and writes the new tiles and size together. Positions are
//! checked to follow each other, so the tree is the log's prefix without gaps, and a committed tree is
//! durable: what may be signed.
//!
//! **Derived, so rebuilt when it does not match.** Each pass checks that the edge rows have the shape a
//! tree of the stored size has and that the tree's last leaf is the log's record at that position; at open
//! the root at the last checkpoint's size is checked against that checkpoint. Tables dropped are made again
//! (the migration's own text), a state row gone is a tree to build. A failed check, or a proof the proof
//! service found not to verify (`rebuild_tree`), empties the tiles and sets `rebuilding`: the maintainers
//! build the tree again from position 1, pass by pass, and clear it once caught up with the log. Meanwhile
//! [`TreeStatus::rebuilding`] says why, on every server, and proofs and signatures wait.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use deadpool_postgres::{GenericClient, Pool};
use futures::future::BoxFuture;
use journey_core::store::tree::{
    HashRange, LogId, StoredCheckpoint, StoredCosignature, TreeStatus, TreeStore,
};
use journey_core::tlog::tree::{HashReader, TILE_WIDTH, level_count, level_len};
use journey_core::tlog::{Hash, LeafEntry, TreeBuilder};
use journey_core::{Error, Position, Result};
use tokio::sync::{Notify, watch};
use tokio_postgres::error::SqlState;

use crate::PostgresStore;
use crate::error::{PgError, PgResult};
use crate::store::{hash32, on_runtime, to_i64, to_u64};

const TILE: u64 = TILE_WIDTH as u64;
const HASH_LEN: usize = 32;
/// Records read from the log per pass: a rebuild of 10M records is about 600 passes.
const PASS: usize = 16_384;
/// After the head moves, how long the maintainer waits for more appends before its pass, so that a busy
/// log's edge rows are rewritten a few times a second, not once per commit.
const GATHER: Duration = Duration::from_millis(20);
/// The text that makes the tree's tables: run again when they are found missing.
const TREE_TABLES: &str = include_str!("../migrations/V3__journey_tree.sql");
/// Why a tree is built when it has no state row (new, or its table was emptied).
const NO_TREE: &str = "there was no tree";
/// What a server says of the tree until it has checked it.
const OPENING: &str = "the tree is being opened";

/// The tree of one store: its database, and a way to wake its maintainer.
#[derive(Debug)]
pub(crate) struct TreeKeeper {
    pool: Pool,
    wake: Notify,
    /// Set once this server's maintainer has checked the stored tree (its edge against the log, its root
    /// against the last checkpoint): until then the tree is "being opened" here, as in the embedded store,
    /// and nothing is proven from it.
    opened: AtomicBool,
}

/// What one maintenance pass did.
#[derive(Debug, PartialEq, Eq)]
enum Pass {
    /// The tree holds every record the pass could see.
    CaughtUp,
    /// There is more to do at once (more records, or a tree just reset).
    More,
}

/// The edge of the stored tree, as read at the start of a pass.
#[derive(Debug, Default)]
struct Edge {
    /// Per level: the index of its last tile and the hashes of that tile when it is not full.
    partial: BTreeMap<u8, (u64, Vec<Hash>)>,
    last_leaf: Option<Hash>,
}

impl HashReader for Edge {
    /// Answers what `TreeBuilder::resume` reads: each level's incomplete tile.
    fn read_hashes(&self, level: u8, start: u64, out: &mut [Hash]) -> journey_core::tlog::Result<()> {
        if out.is_empty() {
            return Ok(());
        }
        match self.partial.get(&level) {
            Some((tile, hashes)) if start == tile * TILE && out.len() == hashes.len() => {
                out.copy_from_slice(hashes);
                Ok(())
            }
            _ => Err(journey_core::tlog::Error::HashRead {
                level,
                start,
                count: out.len() as u64,
                source: "not the edge of the stored tree".into(),
            }),
        }
    }
}

fn is_undefined_table(e: &tokio_postgres::Error) -> bool {
    e.code() == Some(&SqlState::UNDEFINED_TABLE)
}

fn hashes_of(bytes: &[u8]) -> Vec<Hash> {
    bytes
        .chunks_exact(HASH_LEN)
        .map(|c| c.try_into().expect("32 bytes"))
        .collect()
}

/// Checks that the edge rows are those of a tree of `size` leaves: each of its levels ends with the tile
/// and the number of hashes that size gives, and no level above is stored. `Err` says why not.
fn check_edge(size: u64, rows: &[tokio_postgres::Row]) -> std::result::Result<Edge, String> {
    let levels = level_count(size);
    let mut edge = Edge::default();
    let mut seen = 0usize;
    for row in rows {
        let level = u8::try_from(row.get::<_, i32>("level")).map_err(|e| e.to_string())?;
        let tile = u64::try_from(row.get::<_, i64>("tile")).map_err(|e| e.to_string())?;
        let bytes = u64::try_from(row.get::<_, i32>("len")).map_err(|e| e.to_string())?;
        if usize::from(level) >= levels {
            return Err(format!(
                "the tree's tiles hold hashes at level {level}, which a tree of {size} leaves does not have"
            ));
        }
        let len = level_len(level, size);
        let stored_end = tile * TILE + bytes / HASH_LEN as u64;
        if stored_end != len || bytes % HASH_LEN as u64 != 0 {
            return Err(format!(
                "the tree's level {level} ends at hash {stored_end}, but a tree of {size} leaves has {len} there"
            ));
        }
        if let Some(partial) = row.get::<_, Option<&[u8]>>("partial") {
            edge.partial.insert(level, (tile, hashes_of(partial)));
        }
        if level == 0 {
            edge.last_leaf = Some(hash32(row.get("last_hash"), "a leaf hash").map_err(|e| e.to_string())?);
        }
        seen += 1;
    }
    if seen != levels {
        return Err(format!(
            "a tree of {size} leaves has {levels} levels, but only {seen} are stored"
        ));
    }
    Ok(edge)
}

/// The last row of every level: its tile, its length, its hashes when it is not full, and (level 0) the last
/// leaf. Nine index probes.
const EDGE: &str = "SELECT l.level, t.tile, length(t.hashes) AS len, \
     CASE WHEN length(t.hashes) < 8192 THEN t.hashes END AS partial, \
     CASE WHEN l.level = 0 THEN substring(t.hashes FROM length(t.hashes) - 31 FOR 32) END AS last_hash \
     FROM generate_series(0, 8) AS l(level) CROSS JOIN LATERAL \
     (SELECT tile, hashes FROM journey_tree_tiles WHERE level = l.level ORDER BY tile DESC LIMIT 1) t";

impl TreeKeeper {
    pub(crate) fn new(pool: Pool) -> TreeKeeper {
        TreeKeeper {
            pool,
            wake: Notify::new(),
            opened: AtomicBool::new(false),
        }
    }

    /// Makes the tree's tables again (they were dropped), under a lock so that servers finding them gone
    /// together make them once. The tree is then built from the log.
    async fn recreate(&self) -> PgResult<()> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        tx.batch_execute(
            "SELECT pg_advisory_xact_lock(hashtext('journey-tree-tables.' || current_schema()))",
        )
        .await?;
        tx.batch_execute(TREE_TABLES).await?;
        tx.execute(
            "INSERT INTO journey_tree_state (id, size, rebuilding) VALUES (1, 0, $1) ON CONFLICT (id) DO NOTHING",
            &[&"the tree's tables were missing"],
        )
        .await?;
        tx.commit().await?;
        tracing::error!("the tree's tables were missing: made them again; rebuilding the tree from the log");
        Ok(())
    }

    /// One pass (see the module's documentation).
    async fn extend(&self) -> PgResult<Pass> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let lock = "SELECT size, rebuilding FROM journey_tree_state WHERE id = 1 FOR UPDATE";
        let state = match tx.query_opt(lock, &[]).await {
            Ok(Some(row)) => row,
            Ok(None) => {
                tx.execute(
                    "INSERT INTO journey_tree_state (id, size, rebuilding) VALUES (1, 0, $1) \
                     ON CONFLICT (id) DO NOTHING",
                    &[&NO_TREE],
                )
                .await?;
                tx.commit().await?;
                return Ok(Pass::More);
            }
            Err(e) if is_undefined_table(&e) => {
                drop(tx);
                drop(client);
                self.recreate().await?;
                return Ok(Pass::More);
            }
            Err(e) => return Err(e.into()),
        };
        let size = to_u64(state.get("size"))?;
        let rebuilding: Option<String> = state.get("rebuilding");
        let edge = match check_edge(size, &tx.query(EDGE, &[]).await?) {
            Ok(edge) => edge,
            Err(why) => {
                reset(&tx, &why).await?;
                tx.commit().await?;
                return Ok(Pass::More);
            }
        };
        let mut builder = TreeBuilder::resume(size, &edge)
            .map_err(|e| PgError::Inconsistent(format!("resuming the tree: {e}")))?;

        // From the tree's last leaf on, to check it is still the log's record there.
        let read = tx
            .prepare_cached(
                "SELECT position, stream_hash, log_hash FROM journey_events \
                 WHERE position >= $1 ORDER BY position LIMIT $2",
            )
            .await?;
        let overlap = usize::from(size > 0);
        let rows = tx
            .query(&read, &[&to_i64(size.max(1)), &((PASS + overlap) as i64)])
            .await?;
        let mut entries = Vec::with_capacity(rows.len());
        for row in &rows {
            entries.push((
                to_u64(row.get("position"))?,
                LeafEntry {
                    stream_hash: hash32(row.get("stream_hash"), "stream_hash")?,
                    log_hash: hash32(row.get("log_hash"), "log_hash")?,
                },
            ));
        }
        if size > 0 {
            let matches = entries.first().is_some_and(|(position, entry)| {
                *position == size && Some(entry.leaf_hash()) == edge.last_leaf
            });
            if !matches {
                let why = format!("the tree's last leaf (position {size}) is not the log's record there");
                reset(&tx, &why).await?;
                tx.commit().await?;
                return Ok(Pass::More);
            }
        }
        let new = &entries[overlap.min(entries.len())..];
        for (i, (position, entry)) in new.iter().enumerate() {
            if *position != size + 1 + i as u64 {
                return Err(PgError::Inconsistent(format!(
                    "the log read after position {} has position {position} where {} belongs",
                    size,
                    size + 1 + i as u64
                )));
            }
            builder.push(entry.leaf_hash());
        }
        let caught_up = new.len() < PASS;
        let finished_rebuild = caught_up && rebuilding.is_some();
        if new.is_empty() && !finished_rebuild {
            tx.commit().await?;
            return Ok(Pass::CaughtUp);
        }
        write_tiles(&tx, &edge, builder.take_appends()).await?;
        tx.execute(
            "UPDATE journey_tree_state SET size = $1, rebuilding = CASE WHEN $2 THEN NULL ELSE rebuilding END \
             WHERE id = 1",
            &[&to_i64(builder.size()), &caught_up],
        )
        .await?;
        tx.commit().await?;
        if let Some(why) = rebuilding.filter(|_| finished_rebuild) {
            tracing::info!(leaves = builder.size(), reason = %why, "built the tree from the log");
        }
        Ok(if caught_up { Pass::CaughtUp } else { Pass::More })
    }

    /// Passes until the tree has caught up with the log as it was when the last one began.
    async fn catch_up(&self) -> PgResult<()> {
        while self.extend().await? == Pass::More {}
        Ok(())
    }

    /// The state row; a missing table or row is a tree to build (the maintainer is woken to do it). Until
    /// this server has checked the tree, it says so.
    async fn status(&self) -> PgResult<TreeStatus> {
        let status = self.stored_status().await?;
        if status.rebuilding.is_none() && !self.opened.load(Ordering::Acquire) {
            return Ok(TreeStatus {
                rebuilding: Some(OPENING.to_owned()),
                ..status
            });
        }
        Ok(status)
    }

    async fn stored_status(&self) -> PgResult<TreeStatus> {
        let client = self.pool.get().await?;
        match client
            .query_opt(
                "SELECT size, rebuilding FROM journey_tree_state WHERE id = 1",
                &[],
            )
            .await
        {
            Ok(Some(row)) => Ok(TreeStatus {
                size: to_u64(row.get("size"))?,
                rebuilding: row.get("rebuilding"),
            }),
            Ok(None) => {
                self.wake.notify_one();
                Ok(TreeStatus {
                    size: 0,
                    rebuilding: Some(NO_TREE.to_owned()),
                })
            }
            Err(e) if is_undefined_table(&e) => {
                self.wake.notify_one();
                Ok(TreeStatus {
                    size: 0,
                    rebuilding: Some("the tree's tables are missing".to_owned()),
                })
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Empties the tree and has it rebuilt from the log, unless it is being rebuilt already.
    async fn rebuild(&self, why: &str) -> PgResult<()> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        match tx
            .query_opt(
                "SELECT rebuilding FROM journey_tree_state WHERE id = 1 FOR UPDATE",
                &[],
            )
            .await
        {
            Ok(Some(row)) if row.get::<_, Option<String>>(0).is_none() => {
                reset(&tx, why).await?;
                tx.commit().await?;
            }
            Ok(_) => {}
            Err(e) if is_undefined_table(&e) => {}
            Err(e) => return Err(e.into()),
        }
        self.wake.notify_one();
        Ok(())
    }

    /// The hashes of each range, from the tiles: each range is cut at tile boundaries and each piece read
    /// as a slice of its row, all in one statement. A range not wholly stored fails.
    async fn read(&self, ranges: &[HashRange]) -> PgResult<std::result::Result<Vec<Vec<Hash>>, String>> {
        let (mut piece_ids, mut levels, mut tiles, mut offsets, mut lens) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        // Per piece: the range it belongs to and the number of hashes it is.
        let mut pieces: Vec<(usize, usize)> = Vec::new();
        for (r, range) in ranges.iter().enumerate() {
            let mut at = range.start;
            let end = range.start + range.count as u64;
            while at < end {
                let tile = at / TILE;
                let n = (end.min((tile + 1) * TILE) - at) as usize;
                piece_ids.push(pieces.len() as i32);
                levels.push(i16::from(range.level));
                tiles.push(to_i64(tile));
                offsets.push(((at % TILE) as usize * HASH_LEN + 1) as i32);
                lens.push((n * HASH_LEN) as i32);
                pieces.push((r, n));
                at += n as u64;
            }
        }
        let mut found: HashMap<i32, Vec<u8>> = HashMap::with_capacity(pieces.len());
        if !pieces.is_empty() {
            let client = self.pool.get().await?;
            let statement = client
                .prepare_cached(
                    "SELECT w.piece, substring(t.hashes FROM w.off FOR w.len) AS hashes \
                     FROM unnest($1::int[], $2::smallint[], $3::bigint[], $4::int[], $5::int[]) \
                     AS w(piece, level, tile, off, len) \
                     JOIN journey_tree_tiles t ON t.level = w.level AND t.tile = w.tile",
                )
                .await?;
            for row in client
                .query(&statement, &[&piece_ids, &levels, &tiles, &offsets, &lens])
                .await?
            {
                found.insert(row.get(0), row.get(1));
            }
        }
        let mut out: Vec<Vec<Hash>> = ranges.iter().map(|r| Vec::with_capacity(r.count)).collect();
        for (id, (r, n)) in pieces.iter().enumerate() {
            match found.get(&(id as i32)) {
                Some(bytes) if bytes.len() == n * HASH_LEN => out[*r].extend(hashes_of(bytes)),
                _ => {
                    let range = ranges[*r];
                    return Ok(Err(format!(
                        "level {} hashes {}..{} are not all stored",
                        range.level,
                        range.start,
                        range.start + range.count as u64
                    )));
                }
            }
        }
        Ok(Ok(out))
    }

    /// Checks the stored tree against the last checkpoint, as a server opens: the root of the stored tree at
    /// that checkpoint's size must be the one signed. A tree that does not give it is rebuilt.
    async fn check_against_checkpoint(&self) -> PgResult<()> {
        let client = self.pool.get().await?;
        let Some(checkpoint) = crate::checkpoints::latest(&client).await? else {
            return Ok(());
        };
        drop(client);
        let status = self.stored_status().await?;
        if status.rebuilding.is_some() || status.size < checkpoint.size || checkpoint.size == 0 {
            return Ok(());
        }
        let root = self
            .compute(|reader| journey_core::tlog::tree::root(checkpoint.size, &reader))
            .await?;
        if root != Ok(checkpoint.root) {
            let why = format!(
                "the tree's root at tree size {} is not the one the checkpoint signed there",
                checkpoint.size
            );
            tracing::error!(reason = %why, "rebuilding the tree from the log");
            self.rebuild(&why).await?;
        }
        Ok(())
    }

    /// Runs `compute` over the stored hashes in two passes: the ranges it reads are recorded, fetched in
    /// one statement, and handed to it again. The inner `Err` says why the hashes could not be read or used.
    async fn compute<T>(
        &self,
        compute: impl Fn(&dyn HashReader) -> journey_core::tlog::Result<T>,
    ) -> PgResult<std::result::Result<T, String>> {
        let recorder = Recorder::default();
        if let Err(e) = compute(&recorder) {
            return Ok(Err(e.to_string()));
        }
        let ranges = recorder.ranges.into_inner().expect("recorder lock");
        let hashes = match self.read(&ranges).await? {
            Ok(hashes) => hashes,
            Err(why) => return Ok(Err(why)),
        };
        let fetched = Fetched(ranges.into_iter().zip(hashes).collect());
        Ok(compute(&fetched).map_err(|e| e.to_string()))
    }
}

/// Records the ranges a computation reads, answering zeros.
#[derive(Default)]
struct Recorder {
    ranges: std::sync::Mutex<Vec<HashRange>>,
}

impl HashReader for Recorder {
    fn read_hashes(&self, level: u8, start: u64, out: &mut [Hash]) -> journey_core::tlog::Result<()> {
        self.ranges.lock().expect("recorder lock").push(HashRange {
            level,
            start,
            count: out.len(),
        });
        out.fill([0; 32]);
        Ok(())
    }
}

/// Answers from ranges fetched beforehand.
struct Fetched(HashMap<HashRange, Vec<Hash>>);

impl HashReader for Fetched {
    fn read_hashes(&self, level: u8, start: u64, out: &mut [Hash]) -> journey_core::tlog::Result<()> {
        let range = HashRange {
            level,
            start,
            count: out.len(),
        };
        match self.0.get(&range) {
            Some(hashes) => {
                out.copy_from_slice(hashes);
                Ok(())
            }
            None => Err(journey_core::tlog::Error::HashRead {
                level,
                start,
                count: out.len() as u64,
                source: "not fetched".into(),
            }),
        }
    }
}

/// Throws the tree away inside the caller's transaction (which holds the state row): the maintainers build
/// it again from the log.
async fn reset(tx: &deadpool_postgres::Transaction<'_>, why: &str) -> PgResult<()> {
    tracing::error!(reason = %why, "the tree does not match the log: rebuilding it from the log");
    tx.execute("DELETE FROM journey_tree_tiles", &[]).await?;
    tx.execute(
        "UPDATE journey_tree_state SET size = 0, rebuilding = $1 WHERE id = 1",
        &[&why],
    )
    .await?;
    Ok(())
}

/// Writes what the builder completed: each touched tile whole (an edge row is its stored hashes and the new
/// ones), in one statement.
async fn write_tiles(
    tx: &deadpool_postgres::Transaction<'_>,
    edge: &Edge,
    appends: Vec<journey_core::tlog::LevelAppend>,
) -> PgResult<()> {
    let mut rows: BTreeMap<(u8, u64), Vec<u8>> = BTreeMap::new();
    for append in appends {
        for (i, hash) in append.hashes.iter().enumerate() {
            let index = append.start + i as u64;
            let tile = index / TILE;
            let bytes =
                rows.entry((append.level, tile))
                    .or_insert_with(|| match edge.partial.get(&append.level) {
                        Some((edge_tile, hashes)) if *edge_tile == tile => hashes.concat(),
                        _ => Vec::with_capacity(TILE_WIDTH * HASH_LEN),
                    });
            if bytes.len() != (index % TILE) as usize * HASH_LEN {
                return Err(PgError::Inconsistent(format!(
                    "level {} hash {index} does not follow the stored tile {tile}",
                    append.level
                )));
            }
            bytes.extend_from_slice(hash);
        }
    }
    if rows.is_empty() {
        return Ok(());
    }
    let levels: Vec<i16> = rows.keys().map(|(l, _)| i16::from(*l)).collect();
    let tiles: Vec<i64> = rows.keys().map(|(_, t)| to_i64(*t)).collect();
    let hashes: Vec<&[u8]> = rows.values().map(Vec::as_slice).collect();
    let statement = tx
        .prepare_cached(
            "INSERT INTO journey_tree_tiles (level, tile, hashes) \
             SELECT * FROM unnest($1::smallint[], $2::bigint[], $3::bytea[]) \
             ON CONFLICT (level, tile) DO UPDATE SET hashes = excluded.hashes",
        )
        .await?;
    tx.execute(&statement, &[&levels, &tiles, &hashes]).await?;
    Ok(())
}

/// A server's maintainer: checks the tree against the last checkpoint, then extends it whenever the log
/// head moves, when woken, and every `poll` in any case (another server may have reset it). Runs until the
/// store is dropped.
pub(crate) async fn maintain(keeper: Arc<TreeKeeper>, mut head: watch::Receiver<u64>, poll: Duration) {
    loop {
        match keeper.catch_up().await {
            Err(e) => tracing::warn!(error = %e, "extending the tree failed; trying again"),
            Ok(()) if !keeper.opened.load(Ordering::Acquire) => match keeper.check_against_checkpoint().await
            {
                Ok(()) => {
                    keeper.opened.store(true, Ordering::Release);
                    // A tree found wrong there is being rebuilt: at once.
                    continue;
                }
                Err(e) => tracing::warn!(error = %e, "checking the tree against the last checkpoint failed"),
            },
            Ok(()) => {}
        }
        tokio::select! {
            changed = head.changed() => if changed.is_err() { return },
            () = keeper.wake.notified() => {}
            () = tokio::time::sleep(poll) => {}
        }
        tokio::time::sleep(GATHER).await;
    }
}

impl PostgresStore {
    /// Runs `op` with the tree on the store's runtime.
    fn with_tree<T, E, F>(
        &self,
        op: impl FnOnce(Arc<TreeKeeper>) -> F + Send + 'static,
    ) -> BoxFuture<'_, Result<T>>
    where
        T: Send + 'static,
        E: Into<Error> + Send + 'static,
        F: Future<Output = std::result::Result<T, E>> + Send + 'static,
    {
        let tree = self.tree.clone();
        on_runtime(&self.runtime, async move { op(tree).await })
    }
}

impl TreeStore for PostgresStore {
    fn log_id(&self) -> &LogId {
        &self.log_id
    }

    fn tree_status(&self) -> BoxFuture<'_, Result<TreeStatus>> {
        self.with_tree(|tree| async move { tree.status().await })
    }

    fn read_hashes(&self, ranges: Vec<HashRange>) -> BoxFuture<'_, Result<Vec<Vec<Hash>>>> {
        self.with_tree(|tree| async move {
            match tree.read(&ranges).await? {
                Ok(hashes) => Ok(hashes),
                Err(why) => Err(Error::Index(format!("the tree: {why}"))),
            }
        })
    }

    fn read_leaf_entries(&self, first: Position, count: usize) -> BoxFuture<'_, Result<Vec<LeafEntry>>> {
        self.with_tree(move |tree| async move {
            let client = tree.pool.get().await.map_err(PgError::from)?;
            let statement = client
                .prepare_cached(
                    "SELECT position, stream_hash, log_hash FROM journey_events \
                     WHERE position >= $1 ORDER BY position LIMIT $2",
                )
                .await
                .map_err(PgError::from)?;
            let first = first.0.max(1);
            let rows = client
                .query(&statement, &[&to_i64(first), &to_i64(count as u64)])
                .await
                .map_err(PgError::from)?;
            let mut entries = Vec::with_capacity(rows.len());
            for (i, row) in rows.iter().enumerate() {
                let position = to_u64(row.get("position"))?;
                if position != first + i as u64 {
                    return Err(Error::from(PgError::Inconsistent(format!(
                        "the log has position {position} where {} belongs",
                        first + i as u64
                    ))));
                }
                entries.push(LeafEntry {
                    stream_hash: hash32(row.get("stream_hash"), "stream_hash")?,
                    log_hash: hash32(row.get("log_hash"), "log_hash")?,
                });
            }
            Ok(entries)
        })
    }

    /// Extends the tree to the log as it is now (a committed tree is durable) and gives its size.
    fn sync_tree(&self) -> BoxFuture<'_, Result<u64>> {
        self.with_tree(|tree| async move {
            tree.catch_up().await?;
            let status = tree.status().await?;
            match status.rebuilding {
                Some(why) => Err(Error::Unavailable(format!(
                    "the tree over the log is being rebuilt from the log ({why}); {} leaves so far",
                    status.size
                ))),
                None => Ok(status.size),
            }
        })
    }

    fn rebuild_tree(&self, why: String) -> BoxFuture<'_, Result<()>> {
        self.with_tree(|tree| async move { tree.rebuild(&why).await })
    }

    fn store_checkpoint(&self, checkpoint: StoredCheckpoint) -> BoxFuture<'_, Result<StoredCheckpoint>> {
        self.with_tree(|tree| async move {
            let mut client = tree.pool.get().await.map_err(PgError::from)?;
            crate::checkpoints::store(&mut client, checkpoint).await
        })
    }

    fn latest_checkpoint(&self) -> BoxFuture<'_, Result<Option<StoredCheckpoint>>> {
        self.with_tree(|tree| async move { crate::checkpoints::latest(&tree.pool.get().await?).await })
    }

    fn checkpoint_at(&self, size: u64) -> BoxFuture<'_, Result<Option<StoredCheckpoint>>> {
        self.with_tree(move |tree| async move { crate::checkpoints::at(&tree.pool.get().await?, size).await })
    }

    fn latest_cosigned(&self, at_most: u64) -> BoxFuture<'_, Result<Option<StoredCheckpoint>>> {
        self.with_tree(move |tree| async move {
            crate::checkpoints::latest_cosigned(&tree.pool.get().await?, at_most).await
        })
    }

    fn checkpoints(&self) -> BoxFuture<'_, Result<Vec<StoredCheckpoint>>> {
        self.with_tree(|tree| async move { crate::checkpoints::all(&tree.pool.get().await?).await })
    }

    fn store_cosignature(&self, cosignature: StoredCosignature) -> BoxFuture<'_, Result<bool>> {
        self.with_tree(|tree| async move {
            crate::checkpoints::store_cosignature(&tree.pool.get().await?, &cosignature).await
        })
    }

    fn cosignatures(&self, size: u64) -> BoxFuture<'_, Result<Vec<StoredCosignature>>> {
        self.with_tree(move |tree| async move {
            let client = tree.pool.get().await.map_err(PgError::from)?;
            crate::checkpoints::cosignatures(&client, size).await
        })
    }
}
