//! The side-by-side benchmark of issue #6, in one process on one machine: Journey's embedded store, Journey on
//! PostgreSQL, and a plain PostgreSQL events table written by the same client (the usual design of other event
//! stores: one row per event, `UNIQUE (stream, version)`, one INSERT per append). All durable: the embedded
//! store acknowledges after `fdatasync`, and PostgreSQL runs with `synchronous_commit = on` (checked below).
//!
//! ```text
//! export JOURNEY_TEST_POSTGRES="$(./scripts/postgres-setup)"
//! cargo bench -p journey-postgres --bench side_by_side
//! ```
//!
//! Environment: `JOURNEY_TEST_POSTGRES` (required), `JOURNEY_BENCH_SECONDS` (default 5, per measurement),
//! `JOURNEY_BENCH_DIR` (default `$TMPDIR` or `/tmp`: where the embedded store goes; not tmpfs).
//!
//! Measured: appends per second and p50/p99 latency at 1, 16 and 64 concurrent writers (each writer on its own
//! child, one event per append with an exact expected version); reading one child's 500-event stream (p50 and
//! p99 of 200 reads); and the time to open each store again (recovery: the embedded store loads its index
//! snapshot and checks the log's tail; the PostgreSQL store checks its migrations and reads the head).
//! Results are printed as a Markdown table with ratios; nothing is asserted.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::join_all;
use journey_core::ExpectedVersion;
use journey_core::store::{AppendRequest, EventStore};
use journey_core::{Clock, SystemClock, Version, testkit};
use journey_embedded::EmbeddedStore;
use journey_postgres::{PostgresOptions, PostgresStore};

const WRITERS: [usize; 3] = [1, 16, 64];
const READ_EVENTS: usize = 500;
const READS: usize = 200;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Contender {
    Embedded,
    JourneyPostgres,
    PlainTable,
}

impl Contender {
    fn name(self) -> &'static str {
        match self {
            Contender::Embedded => "Journey, embedded",
            Contender::JourneyPostgres => "Journey on PostgreSQL",
            Contender::PlainTable => "plain PostgreSQL table",
        }
    }
}

/// What one throughput measurement found.
struct Throughput {
    appends_per_second: f64,
    p50: Duration,
    p99: Duration,
}

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    if samples.is_empty() {
        return Duration::ZERO;
    }
    samples.sort_unstable();
    let rank = ((p / 100.0) * (samples.len() - 1) as f64).round() as usize;
    samples[rank.min(samples.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// The plain events table other event stores use, in a schema of its own.
struct PlainTable {
    pool: deadpool_postgres::Pool,
}

impl PlainTable {
    async fn create(url: &str, schema: &str, connections: usize) -> PlainTable {
        let mut config: tokio_postgres::Config = url.parse().expect("a PostgreSQL URL");
        config.options(format!("-c search_path={schema}"));
        let (client, connection) = config.connect(tokio_postgres::NoTls).await.expect("connect");
        tokio::spawn(connection);
        client
            .batch_execute(&format!(
                "CREATE SCHEMA IF NOT EXISTS {schema};
                 CREATE TABLE {schema}.events (
                     global_position bigserial PRIMARY KEY,
                     stream_id text NOT NULL,
                     version bigint NOT NULL,
                     event_id text NOT NULL UNIQUE,
                     recorded_at timestamptz NOT NULL DEFAULT now(),
                     data jsonb NOT NULL,
                     UNIQUE (stream_id, version)
                 );"
            ))
            .await
            .expect("create the plain table");
        let manager = deadpool_postgres::Manager::new(config, tokio_postgres::NoTls);
        let pool = deadpool_postgres::Pool::builder(manager)
            .max_size(connections)
            .build()
            .expect("pool");
        PlainTable { pool }
    }

    /// One append: one INSERT, committed on its own (autocommit), the version checked by the constraint.
    async fn append(&self, stream: &str, version: u64, event_id: &str, data: &serde_json::Value) {
        let client = self.pool.get().await.expect("connection");
        client
            .execute(
                "INSERT INTO events (stream_id, version, event_id, data) VALUES ($1, $2, $3, $4)",
                &[
                    &stream,
                    &(version as i64),
                    &event_id,
                    &tokio_postgres::types::Json(data),
                ],
            )
            .await
            .expect("insert");
    }

    async fn read(&self, stream: &str) -> usize {
        let client = self.pool.get().await.expect("connection");
        client
            .query(
                "SELECT global_position, version, event_id, recorded_at, data FROM events \
                 WHERE stream_id = $1 ORDER BY version",
                &[&stream],
            )
            .await
            .expect("read")
            .len()
    }
}

/// Appends for `seconds` from `writers` concurrent writers, each on a child of its own (registered first).
async fn throughput(
    contender: Contender,
    store: Option<Arc<dyn EventStore>>,
    plain: Option<Arc<PlainTable>>,
    writers: usize,
    seconds: u64,
    run: &str,
) -> Throughput {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let tasks = (0..writers).map(|w| {
        let (store, plain) = (store.clone(), plain.clone());
        let child = format!("{run}-w{w}");
        tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut version = 0u64;
            while Instant::now() < deadline {
                let event = if version == 0 {
                    testkit::registered(&format!("{child}-0"), "2015-06-01")
                } else {
                    testkit::contact(&format!("{child}-{version}"), "2023-03-01")
                };
                let started = Instant::now();
                match contender {
                    Contender::PlainTable => {
                        let data = serde_json::to_value(&event).expect("event JSON");
                        plain
                            .as_ref()
                            .expect("table")
                            .append(&child, version + 1, event.event_id.as_str(), &data)
                            .await;
                    }
                    _ => {
                        let expected = if version == 0 {
                            ExpectedVersion::NoStream
                        } else {
                            ExpectedVersion::Exact(Version(version))
                        };
                        let request = AppendRequest {
                            child_id: testkit::child(&child),
                            expected,
                            recorded_by: testkit::principal(),
                            events: vec![event],
                        };
                        store
                            .as_ref()
                            .expect("store")
                            .append(request)
                            .await
                            .expect("append");
                    }
                }
                latencies.push(started.elapsed());
                version += 1;
            }
            latencies
        })
    });
    let started = Instant::now();
    let mut latencies: Vec<Duration> = join_all(tasks)
        .await
        .into_iter()
        .flat_map(|t| t.expect("writer"))
        .collect();
    let elapsed = started.elapsed();
    Throughput {
        appends_per_second: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50: percentile(&mut latencies, 50.0),
        p99: percentile(&mut latencies, 99.0),
    }
}

/// Fills one child with `READ_EVENTS` events (in appends of 50) and times `READS` reads of its stream.
async fn reads(
    store: Option<&dyn EventStore>,
    plain: Option<&PlainTable>,
    child: &str,
) -> (Duration, Duration) {
    if let Some(store) = store {
        let mut events = vec![testkit::registered(&format!("{child}-0"), "2015-06-01")];
        events.extend((1..READ_EVENTS).map(|i| testkit::contact(&format!("{child}-{i}"), "2023-03-01")));
        for (n, chunk) in events.chunks(50).enumerate() {
            let expected = if n == 0 {
                ExpectedVersion::NoStream
            } else {
                ExpectedVersion::Any
            };
            store
                .append(testkit::append(child, expected, chunk.to_vec()))
                .await
                .expect("fill");
        }
    }
    if let Some(plain) = plain {
        for i in 0..READ_EVENTS {
            let event = testkit::contact(&format!("{child}-{i}"), "2023-03-01");
            let data = serde_json::to_value(&event).expect("event JSON");
            plain
                .append(child, i as u64 + 1, event.event_id.as_str(), &data)
                .await;
        }
    }
    let mut samples = Vec::with_capacity(READS);
    for _ in 0..READS {
        let started = Instant::now();
        let n = match (store, plain) {
            (Some(store), _) => store
                .read_stream(testkit::child(child), Version::FIRST, READ_EVENTS)
                .await
                .expect("read")
                .len(),
            (None, Some(plain)) => plain.read(child).await,
            (None, None) => unreachable!("something to read"),
        };
        samples.push(started.elapsed());
        assert_eq!(n, READ_EVENTS);
    }
    (percentile(&mut samples, 50.0), percentile(&mut samples, 99.0))
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let Ok(url) = std::env::var("JOURNEY_TEST_POSTGRES") else {
        eprintln!(
            "side_by_side: set JOURNEY_TEST_POSTGRES (./scripts/postgres-setup starts a server and prints it)"
        );
        return;
    };
    let seconds: u64 = std::env::var("JOURNEY_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let base = std::env::var_os("JOURNEY_BENCH_DIR")
        .or_else(|| std::env::var_os("TMPDIR"))
        .map_or_else(|| std::path::PathBuf::from("/tmp"), Into::into);
    let tag = format!("{:08x}", std::process::id());
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);

    // Durability as the issue asks: synchronous commit, fsync on.
    let (probe, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(connection);
    for setting in ["synchronous_commit", "fsync"] {
        let value: String = probe
            .query_one(&format!("SHOW {setting}"), &[])
            .await
            .expect("show")
            .get(0);
        assert_eq!(
            value, "on",
            "PostgreSQL must run with {setting} = on for this comparison"
        );
    }
    let server: String = probe
        .query_one("SHOW server_version", &[])
        .await
        .expect("version")
        .get(0);
    println!(
        "side-by-side: {seconds} s a measurement, PostgreSQL {server} (synchronous_commit = on, fsync = on), \
         {} CPUs, load average {}",
        std::thread::available_parallelism().map_or(0, usize::from),
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );

    let dir = tempfile::Builder::new()
        .prefix("journey-side-by-side")
        .tempdir_in(&base)
        .expect("temp dir");
    let embedded = Arc::new(EmbeddedStore::open(dir.path(), clock.clone()).expect("embedded store"));
    let pg_schema = format!("bench_journey_{tag}");
    let plain_schema = format!("bench_plain_{tag}");
    let pg_options = PostgresOptions::new(url.clone())
        .with_schema(pg_schema.clone())
        .with_pool_size(16);
    let journey_pg = Arc::new(
        PostgresStore::open(pg_options.clone(), clock.clone())
            .await
            .expect("pg store"),
    );
    let plain = Arc::new(PlainTable::create(&url, &plain_schema, 64).await);

    let mut rows: Vec<(usize, [Throughput; 3])> = Vec::new();
    for writers in WRITERS {
        let e = throughput(
            Contender::Embedded,
            Some(embedded.clone()),
            None,
            writers,
            seconds,
            &format!("e{writers}"),
        )
        .await;
        let j = throughput(
            Contender::JourneyPostgres,
            Some(journey_pg.clone()),
            None,
            writers,
            seconds,
            &format!("j{writers}"),
        )
        .await;
        let p = throughput(
            Contender::PlainTable,
            None,
            Some(plain.clone()),
            writers,
            seconds,
            &format!("p{writers}"),
        )
        .await;
        rows.push((writers, [e, j, p]));
    }

    let (e_read, j_read, p_read) = (
        reads(Some(&*embedded), None, "read-e").await,
        reads(Some(&*journey_pg), None, "read-j").await,
        reads(None, Some(&plain), "read-p").await,
    );

    // Recovery: close and reopen each Journey store on what it now holds.
    let held = embedded.head().await.expect("head").position.map_or(0, |p| p.0);
    drop(journey_pg);
    // A crash of the embedded store: its files as the running process leaves them when it dies (no closing
    // checkpoint of the index, so the open catches up from the last snapshot and checks the log's tail).
    let crashed = tempfile::tempdir_in(dir.path().parent().expect("a parent")).expect("a temp dir");
    copy_dir(dir.path(), crashed.path());
    let started = Instant::now();
    let recovered = EmbeddedStore::open(crashed.path(), clock.clone()).expect("open after a crash");
    let e_crash = started.elapsed();
    let recovered_report = recovered.open_report().clone();
    drop(recovered);
    let embedded = Arc::try_unwrap(embedded).expect("only handle");
    embedded.close().expect("close");
    let started = Instant::now();
    let reopened = EmbeddedStore::open(dir.path(), clock.clone()).expect("reopen");
    let e_open = started.elapsed();
    drop(reopened);
    let started = Instant::now();
    let reopened_pg = PostgresStore::open(pg_options.clone(), clock.clone())
        .await
        .expect("reopen pg");
    let j_open = started.elapsed();
    let pg_held = reopened_pg
        .head()
        .await
        .expect("head")
        .position
        .map_or(0, |p| p.0);
    drop(reopened_pg);
    // A crash of the PostgreSQL server (immediate stop: no shutdown checkpoint, WAL replayed at start), then
    // the time until Journey serves again: the server's start and recovery, the store's open, one read.
    let pg_crash = match (
        std::env::var("JOURNEY_BENCH_PG_CRASH"),
        std::env::var("JOURNEY_BENCH_PG_START"),
    ) {
        (Ok(crash), Ok(start)) => {
            run_script(&crash);
            let started = Instant::now();
            run_script(&start);
            let store = PostgresStore::open(pg_options, clock.clone())
                .await
                .expect("open after the server's crash");
            let head = store.head().await.expect("head");
            let elapsed = started.elapsed();
            assert_eq!(
                head.position.map_or(0, |p| p.0),
                pg_held,
                "nothing acknowledged was lost"
            );
            Some(elapsed)
        }
        _ => None,
    };

    println!();
    println!(
        "| writers | measure | {} | {} | {} | embedded vs plain (× faster) | Journey PG vs plain (× faster) |",
        Contender::Embedded.name(),
        Contender::JourneyPostgres.name(),
        Contender::PlainTable.name()
    );
    println!("|---|---|---|---|---|---|---|");
    for (writers, [e, j, p]) in &rows {
        println!(
            "| {writers} | appends/s | {:.0} | {:.0} | {:.0} | **{:.2}×** | {:.2}× |",
            e.appends_per_second,
            j.appends_per_second,
            p.appends_per_second,
            e.appends_per_second / p.appends_per_second,
            j.appends_per_second / p.appends_per_second
        );
        println!(
            "| {writers} | latency p50 / p99 | {} / {} | {} / {} | {} / {} | | |",
            ms(e.p50),
            ms(e.p99),
            ms(j.p50),
            ms(j.p99),
            ms(p.p50),
            ms(p.p99)
        );
    }
    println!(
        "| | read a {READ_EVENTS}-event stream, p50 / p99 | {} / {} | {} / {} | {} / {} | {:.2}× (p50) | {:.2}× (p50) |",
        ms(e_read.0),
        ms(e_read.1),
        ms(j_read.0),
        ms(j_read.1),
        ms(p_read.0),
        ms(p_read.1),
        p_read.0.as_secs_f64() / e_read.0.as_secs_f64(),
        p_read.0.as_secs_f64() / j_read.0.as_secs_f64()
    );
    println!(
        "| | reopen (recovery) | {} ({held} events) | {} ({pg_held} events) | (the server's own) | | |",
        ms(e_open),
        ms(j_open)
    );
    println!(
        "| | recovery after a crash | {} ({}) | {} | (included: the server's WAL replay) | | |",
        ms(e_crash),
        if recovered_report.index_rebuilt.is_some() {
            "index rebuilt"
        } else {
            "index snapshot + catch-up"
        },
        pg_crash.map_or_else(
            || "not measured (set JOURNEY_BENCH_PG_CRASH and _START; scripts/bench-stores does)".to_owned(),
            |d| format!("{} (server start with WAL replay + open + first read)", ms(d))
        )
    );
    println!();
    println!(
        "reads: the embedded store serves repeated reads from its read cache of decoded streams; the two \
         PostgreSQL contenders read from the server (shared buffers warm) and decode the rows"
    );
    println!("target (issue #6): the embedded store ≥ 3× the plain table at 64 writers");

    // The first connection died with the crashed server: a new one to tidy up.
    let (cleaner, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .expect("connect again");
    tokio::spawn(connection);
    for schema in [pg_schema, plain_schema] {
        cleaner
            .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
            .await
            .expect("drop the benchmark schema");
    }
}

/// Copies a data directory as it is (a running store's files, as a killed process leaves them).
fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("create");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// Runs one of the repository's scripts (the server's crash or start), its output on stderr.
fn run_script(path: &str) {
    let status = std::process::Command::new(path)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("running {path}: {e}"));
    assert!(status.success(), "{path} failed");
}
