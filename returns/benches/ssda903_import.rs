//! Throughput of the SSDA903 import (rows per second), into the in-memory store and the embedded store.
//!
//! ```text
//! cargo bench -p journey-returns --bench ssda903_import
//! JOURNEY_BENCH_CHILDREN=40000 cargo bench -p journey-returns --bench ssda903_import
//! ```
//!
//! A deep-end synthetic authority (`JOURNEY_BENCH_CHILDREN`, default 20,000 children, no history before
//! 2023/24, real postcodes) is generated and loaded into an in-memory store, and its 2023/24 and 2024/25
//! returns are exported to CSV (not timed). Then, timed, each store imports 2023/24 and then 2024/25 from the
//! files: reading and parsing the CSV, reading each child's stream, planning, and appending one durable group
//! per child (`JOURNEY_BENCH_CONCURRENCY`, default 1,024, children in flight). Rows/s is every row of both
//! years over the time of both imports. A second import of the same files (nothing to append) is timed too.
//! `JOURNEY_BENCH_DIR` (default `/tmp`): where the embedded store is made.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use futures::executor::block_on;
use journey_core::codes::CollectionYear;
use journey_core::ids::{AgencyId, PrincipalId};
use journey_core::store::{EventStore, InMemoryStore};
use journey_core::{ManualClock, Timestamp};
use journey_embedded::EmbeddedStore;
use journey_returns::ssda903::{self, ImportFile, ImportOptions};
use journey_synth::{self as synth, AuthorityProfile};

/// The allocator `journey serve` uses (cli/src/main.rs), so that what is measured is what is deployed.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn ts(s: &str) -> Timestamp {
    Timestamp::parse_field("t", s).expect("a valid timestamp")
}

const YEARS: [&str; 2] = ["2023/24", "2024/25"];

fn main() {
    let children = env("JOURNEY_BENCH_CHILDREN", 20_000);
    let concurrency = env("JOURNEY_BENCH_CONCURRENCY", 1024);
    let base = std::env::var("JOURNEY_BENCH_DIR").unwrap_or_else(|_| "/tmp".to_string());
    let work = tempfile::tempdir_in(&base).expect("a temp dir");

    let t = Instant::now();
    let profile = AuthorityProfile {
        history_years: 0,
        ..AuthorityProfile::deep_end()
            .with_children(children)
            .with_real_postcodes()
    };
    let clock = Arc::new(ManualClock::new(ts("2023-04-01T00:00:00Z")));
    let source = InMemoryStore::new(clock.clone());
    let load = block_on(synth::load(&source, &clock, synth::generate(7, &profile))).expect("loads");
    let mut files: Vec<Vec<ImportFile>> = Vec::new();
    let mut rows = 0;
    for y in YEARS {
        let year = CollectionYear::parse(y).expect("a year");
        let tables = block_on(ssda903::export(&source, year, ts("2025-06-30T23:00:00Z"))).expect("exports");
        rows += tables.row_count();
        let dir = work.path().join(y.replace('/', "-"));
        tables.write_csv(&dir).expect("writes");
        files.push(ImportFile::read_dir(&dir).expect("reads"));
    }
    println!(
        "setup: {children} children, {} events generated and loaded, 2 returns of {rows} rows in all, in {:.1} s",
        load.events,
        t.elapsed().as_secs_f64()
    );
    drop(source);

    let clock = Arc::new(ManualClock::new(ts("2025-07-01T09:00:00Z")));
    let memory = InMemoryStore::new(clock.clone());
    run("in-memory store", &memory, &files, rows, concurrency);
    let dir = work.path().join("embedded");
    let embedded = EmbeddedStore::open(&dir, clock.clone()).expect("opens");
    println!("embedded store in {} ({})", dir.display(), filesystem(&dir));
    run("embedded store", &embedded, &files, rows, concurrency);
    drop(embedded);
    // Both years in one call: one append per child instead of one per child and year.
    let dir = work.path().join("embedded-years");
    let embedded = EmbeddedStore::open(&dir, clock.clone()).expect("opens");
    let returns: Vec<(CollectionYear, &[ImportFile])> = YEARS
        .iter()
        .zip(&files)
        .map(|(y, f)| (CollectionYear::parse(y).expect("a year"), f.as_slice()))
        .collect();
    let t = Instant::now();
    let r = block_on(ssda903::import_years(
        &embedded,
        &returns,
        &options(YEARS[0], concurrency),
    ))
    .expect("imports");
    let secs = t.elapsed().as_secs_f64();
    println!(
        "embedded store, both years in one import_years call: {rows} rows in {secs:.2} s = {:.0} rows/s ({} events appended, {} children refused)",
        rows as f64 / secs,
        r.tally.events_appended,
        r.tally.children_refused
    );
}

fn options(year: &str, concurrency: usize) -> ImportOptions {
    ImportOptions {
        year: CollectionYear::parse(year).expect("a year"),
        agency: AgencyId::parse("la.deepdale").expect("an agency"),
        principal: PrincipalId::parse("bench").expect("a principal"),
        source_recorded_at: ts("2025-06-01T12:00:00Z"),
        concurrency,
    }
}

fn run(name: &str, store: &dyn EventStore, files: &[Vec<ImportFile>], rows: usize, concurrency: usize) {
    for pass in ["first import", "again (nothing new)"] {
        let t = Instant::now();
        let mut events = 0;
        let mut refused = 0;
        for (y, f) in YEARS.iter().zip(files) {
            let r = block_on(ssda903::import(store, f, &options(y, concurrency))).expect("imports");
            events += r.tally.events_appended;
            refused += r.tally.children_refused;
            for p in r.tally.problems.iter().chain(&r.tally.conflicts).take(5) {
                println!("  {y}: refused: {p:?}");
            }
        }
        let secs = t.elapsed().as_secs_f64();
        println!(
            "{name}, {pass}: {rows} rows in {secs:.2} s = {:.0} rows/s ({events} events appended, {refused} children refused)",
            rows as f64 / secs
        );
    }
}

fn filesystem(dir: &Path) -> String {
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    mounts
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() > 2 && dir.starts_with(f[1])).then(|| (f[1].len(), format!("{} on {}", f[2], f[1])))
        })
        .max()
        .map(|(_, s)| s)
        .unwrap_or_else(|| "unknown filesystem".to_string())
}
