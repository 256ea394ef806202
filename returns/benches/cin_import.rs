//! Throughput of the CIN census import, into the in-memory store and the embedded store.
//!
//! ```text
//! cargo bench -p journey-returns --bench cin_import
//! JOURNEY_BENCH_CHILDREN=40000 cargo bench -p journey-returns --bench cin_import
//! ```
//!
//! A synthetic authority (`JOURNEY_BENCH_CHILDREN`, default 20,000 children, no history before 2023/24) is
//! generated and loaded into an in-memory store, and its 2023/24 and 2024/25 censuses are exported (not
//! timed). Then, timed, each store imports both files in one call: parsing the XML, reading each child's
//! stream, merging, and appending one durable group per child (`JOURNEY_BENCH_CONCURRENCY`, default 1,024,
//! children in flight); then the same files again (nothing to append). A census has no rows: the analogue
//! counted is its records, every `Child`, `CINdetails`, `Assessments`, `CINPlanDates`, `Section47`,
//! `ChildProtectionPlans` and `Reviews` element. `JOURNEY_BENCH_DIR` (default `/tmp`): where the embedded
//! store is made.

use std::sync::Arc;
use std::time::Instant;

use futures::executor::block_on;
use journey_core::codes::CollectionYear;
use journey_core::ids::{AgencyId, PrincipalId};
use journey_core::store::{EventStore, InMemoryStore};
use journey_core::{ManualClock, Timestamp};
use journey_embedded::EmbeddedStore;
use journey_returns::cin::{self, CinOptions};
use journey_returns::ssda903::{ImportFile, ImportOptions};
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

const RECORDS: [&str; 7] = [
    "<Child>",
    "<CINdetails>",
    "<Assessments>",
    "<CINPlanDates>",
    "<Section47>",
    "<ChildProtectionPlans>",
    "<Reviews>",
];

fn main() {
    let children = env("JOURNEY_BENCH_CHILDREN", 20_000);
    let concurrency = env("JOURNEY_BENCH_CONCURRENCY", 1024);
    let base = std::env::var("JOURNEY_BENCH_DIR").unwrap_or_else(|_| "/tmp".to_string());
    let work = tempfile::tempdir_in(&base).expect("a temp dir");

    let t = Instant::now();
    let profile = AuthorityProfile {
        history_years: 0,
        la_code: "878".into(),
        ..AuthorityProfile::small().with_children(children)
    };
    let clock = Arc::new(ManualClock::new(ts("2023-04-01T00:00:00Z")));
    let source = InMemoryStore::new(clock.clone());
    let load = block_on(synth::load(&source, &clock, synth::generate(7, &profile))).expect("loads");
    let mut files = Vec::new();
    let mut records = 0;
    for y in ["2023/24", "2024/25"] {
        let census = block_on(cin::export(
            &source,
            &CinOptions {
                year: CollectionYear::parse(y).expect("a year"),
                known_at: ts("2025-06-30T23:00:00Z"),
                la_code: "878".into(),
                produced_at: ts("2025-06-30T23:00:00Z"),
                bank_holidays: &[],
            },
        ))
        .expect("exports");
        let bytes = census.to_xml();
        let text = String::from_utf8_lossy(&bytes);
        records += RECORDS.iter().map(|r| text.matches(r).count()).sum::<usize>();
        files.push(ImportFile {
            name: format!("cin-{}.xml", y.replace('/', "-")),
            bytes,
        });
    }
    let megabytes = files.iter().map(|f| f.bytes.len()).sum::<usize>() as f64 / 1e6;
    println!(
        "setup: {children} children, {} events generated and loaded, 2 censuses of {records} records \
         ({megabytes:.1} MB) in all, in {:.1} s",
        load.events,
        t.elapsed().as_secs_f64()
    );
    drop(source);

    let clock = Arc::new(ManualClock::new(ts("2025-07-01T09:00:00Z")));
    let memory = InMemoryStore::new(clock.clone());
    run("in-memory store", &memory, &files, records, concurrency);
    let dir = work.path().join("embedded");
    let embedded = EmbeddedStore::open(&dir, clock.clone()).expect("opens");
    run("embedded store", &embedded, &files, records, concurrency);
}

fn run(name: &str, store: &dyn EventStore, files: &[ImportFile], records: usize, concurrency: usize) {
    let options = ImportOptions {
        year: CollectionYear::parse("2024/25").expect("a year"),
        agency: AgencyId::parse("la-878").expect("an agency"),
        principal: PrincipalId::parse("bench").expect("a principal"),
        source_recorded_at: ts("2025-06-01T12:00:00Z"),
        concurrency,
    };
    for pass in ["first import", "again (nothing new)"] {
        let t = Instant::now();
        let r = block_on(cin::import_census(store, files, &options, &())).expect("imports");
        let secs = t.elapsed().as_secs_f64();
        for p in r.tally.problems.iter().chain(&r.tally.conflicts).take(5) {
            println!("  refused: {p:?}");
        }
        println!(
            "{name}, {pass}: {records} records in {secs:.2} s = {:.0} records/s ({} events appended, {} children \
             refused, {} facts not recordable)",
            records as f64 / secs,
            r.tally.events_appended,
            r.tally.children_refused,
            r.unrecorded.len()
        );
    }
}
