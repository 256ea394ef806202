//! Benchmarks of the embedded store against the targets in `docs/performance.md`.
//!
//! ```text
//! cargo bench -p journey-embedded --bench store
//! JOURNEY_BENCH_EVENTS=10000000 cargo bench -p journey-embedded --bench store
//! ```
//!
//! Environment:
//! * `JOURNEY_BENCH_EVENTS` (default 1,000,000): the size of the store that is opened, rebuilt and read.
//! * `JOURNEY_BENCH_SECONDS` (default 10): how long each throughput phase runs.
//! * `JOURNEY_BENCH_DIR` (default `$TMPDIR`, else `/tmp`): where the stores are made. Must not be tmpfs if
//!   the sync numbers are to mean anything; the filesystem is printed.
//! * `JOURNEY_BENCH_COLD=1`: also time an open with the page cache dropped (needs root).
//! * `JOURNEY_BENCH_KEEP=1`: keep the filled store and print its path (for `perf` on a single phase).
//! * `JOURNEY_BENCH_REBUILD=0`: skip the rebuild (with `JOURNEY_BENCH_KEEP=1`, keeps the index whole).
//! * `JOURNEY_BENCH_SLED=1`: also load the index entries into sled alone, three ways (see `sled_load`).
//! * `JOURNEY_BENCH_RSS_LIMIT_MIB` (default 4096): a child phase whose RSS passes this is killed and
//!   reported as such.
//!
//! Phases that measure opening, rebuilding and peak memory run in a child process (this binary re-run as
//! `store --phase <name> <dir>`), so that each one's peak RSS (`VmHWM`) is its own.
//!
//! Nothing is asserted: the numbers are reported next to their targets.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::executor::block_on;
use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use journey_core::ExpectedVersion;
use journey_core::store::{AppendOutcome, AppendRequest, EventStore, TreeStore};
use journey_core::testkit::bench::{env_flag, env_number, load_average, peak_rss_bytes};
use journey_core::testkit::{append, child, contact, registered};
use journey_core::{SystemClock, Version, encoding};
use journey_embedded::EmbeddedOptions;
use journey_embedded::EmbeddedStore;
use journey_embedded::log::{self, EntryLocation, LogOptions};
use journey_embedded::{index_dir, log_dir, tree_dir};

/// The allocator `journey serve` uses (cli/src/main.rs), so that what is measured is what is deployed.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const CONCURRENT_APPENDERS: usize = 64;
/// The fill gives each ordinary child this many events, appended this many at a time.
const EVENTS_PER_CHILD: usize = 100;
const FILL_BATCH: usize = 10;
/// Children filled together, so the writer's cache of stream states (20,000 by default) holds them all.
const FILL_CHILDREN_AT_ONCE: usize = 5_000;
/// Appends in flight during the fill.
const FILL_WINDOW: usize = 2_048;
/// The two children whose streams are read back.
const READ_EVENTS: usize = 1_000;
const READ_SAMPLES: usize = 1_000;
/// sled's page cache in the diagnostics that compare with the former sled index.
const SLED_CACHE: u64 = 64 * 1024 * 1024;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--phase") {
        let (phase, dir) = (&args[i + 1], Path::new(&args[i + 2]));
        child_phase(phase, dir);
        return;
    }
    let config = Config::from_env();
    run(&config);
}

struct Config {
    events: usize,
    seconds: u64,
    base: PathBuf,
    cold: bool,
    keep: bool,
    sled_diagnostic: bool,
    rebuild: bool,
}

impl Config {
    fn from_env() -> Config {
        let base = std::env::var_os("JOURNEY_BENCH_DIR")
            .or_else(|| std::env::var_os("TMPDIR"))
            .map_or_else(|| PathBuf::from("/tmp"), PathBuf::from);
        Config {
            events: env_number("JOURNEY_BENCH_EVENTS", 1_000_000).max(10_000) as usize,
            seconds: env_number("JOURNEY_BENCH_SECONDS", 10).max(1),
            base,
            cold: env_flag("JOURNEY_BENCH_COLD"),
            keep: env_flag("JOURNEY_BENCH_KEEP"),
            sled_diagnostic: env_flag("JOURNEY_BENCH_SLED"),
            rebuild: !matches!(std::env::var("JOURNEY_BENCH_REBUILD").as_deref(), Ok("0")),
        }
    }
}

/// One line of the results table.
struct Row {
    measure: String,
    result: String,
    target: String,
    /// Result ÷ target or ÷ baseline, where there is one.
    ratio: String,
    met: Option<bool>,
}

impl Row {
    fn new(measure: impl Into<String>, result: impl Into<String>) -> Row {
        Row {
            measure: measure.into(),
            result: result.into(),
            target: String::new(),
            ratio: String::new(),
            met: None,
        }
    }

    fn target(mut self, target: impl Into<String>, ratio: impl Into<String>, met: bool) -> Row {
        self.target = target.into();
        self.ratio = ratio.into();
        self.met = Some(met);
        self
    }
}

fn run(config: &Config) {
    fs::create_dir_all(&config.base).expect("create the benchmark directory");
    let work = tempfile::Builder::new()
        .prefix("journey-bench-")
        .tempdir_in(&config.base)
        .expect("temp dir");
    println!("# journey-core store benchmark");
    println!(
        "directory: {} ({})",
        work.path().display(),
        filesystem_of(work.path())
    );
    println!("machine: {}", machine());
    println!("load average at start: {}", load_average());
    println!(
        "events: {}, seconds per throughput phase: {}",
        config.events, config.seconds
    );
    println!();
    let mut rows = Vec::new();
    let seconds = Duration::from_secs(config.seconds);

    let raw_idle = raw_fdatasync(&work.path().join("raw-idle"), seconds);
    let raw_busy = with_spinner(|| raw_fdatasync(&work.path().join("raw-busy"), seconds));
    // Durable throughput with many appenders.
    let (rate, stats, latency) =
        concurrent_appends(&work.path().join("concurrent"), CONCURRENT_APPENDERS, seconds);
    rows.push(
        Row::new(
            format!("{CONCURRENT_APPENDERS} concurrent appenders, durable, 1 event each"),
            format!("{rate:.0} events/s"),
        )
        .target(
            "≥ 50,000 events/s",
            format!("{:.2}× target", rate / 50_000.0),
            rate >= 50_000.0,
        ),
    );
    rows.push(Row::new(
        "  group commit: events per commit (appends per commit)",
        format!(
            "{:.1} ({:.1}), {} commits",
            stats.events_per_commit(),
            stats.appends_per_commit(),
            stats.commits
        ),
    ));
    rows.push(Row::new(
        "  append latency p50 / p99",
        format!(
            "{} / {}",
            millis(percentile(&latency, 50.0)),
            millis(percentile(&latency, 99.0))
        ),
    ));

    // What the disk allows: with at most one event per appender per sync, throughput cannot exceed
    // appenders ÷ sync latency (Little's law), whatever the store does.
    let bound = CONCURRENT_APPENDERS as f64 / percentile(&raw_busy.1, 50.0).as_secs_f64();
    rows.push(Row::new(
        format!("  bound: {CONCURRENT_APPENDERS} in flight ÷ median raw fdatasync latency (spinning)"),
        format!("{bound:.0} events/s"),
    ));

    // Where the limit is: the same appenders without syncing (the CPU's ceiling), and more appends in flight.
    let (nosync, nosync_stats, _) = concurrent_appends_with(
        &work.path().join("nosync"),
        CONCURRENT_APPENDERS,
        seconds,
        EmbeddedOptions {
            log: LogOptions {
                sync: log::SyncMode::None,
                ..LogOptions::default()
            },
            ..EmbeddedOptions::default()
        },
    );
    rows.push(Row::new(
        format!("  diagnostic: the same {CONCURRENT_APPENDERS} appenders, NOT durable (SyncMode::None)"),
        format!(
            "{nosync:.0} events/s, {:.1} events per commit",
            nosync_stats.events_per_commit()
        ),
    ));
    for k in [64, 1024] {
        let (rate, stats) = pipelined_appends(&work.path().join(format!("pipelined-{k}")), k, seconds);
        rows.push(Row::new(
            format!("  diagnostic: {k} appends in flight from one thread (async-server shape), durable"),
            format!(
                "{rate:.0} events/s, {:.1} events per commit",
                stats.events_per_commit()
            ),
        ));
    }

    // One appender against the disk's own sync rate. On this VM a thread waiting for a flush while the CPUs
    // are otherwise idle is woken up to a timer tick (4 ms) late, so each is measured twice: as is, and with
    // one other thread spinning (as on a server with other work). The spinning pair is the fair comparison.
    let (single_idle, _, single_idle_latency) =
        concurrent_appends(&work.path().join("single-idle"), 1, seconds);
    let (single, single_stats, single_latency) =
        with_spinner(|| concurrent_appends(&work.path().join("single-busy"), 1, seconds));
    for (label, raw) in [
        ("CPU otherwise idle", &raw_idle),
        ("one other thread spinning", &raw_busy),
    ] {
        rows.push(Row::new(
            format!("raw write(300 B) + fdatasync, same directory, {label}"),
            format!(
                "{:.0} /s (latency p50 {}, p99 {})",
                raw.0,
                millis(percentile(&raw.1, 50.0)),
                millis(percentile(&raw.1, 99.0))
            ),
        ));
    }
    rows.push(
        Row::new(
            "1 appender, durable, 1 event per append, one other thread spinning",
            format!("{single:.0} appends/s"),
        )
        .target(
            "≥ 0.5 × raw fdatasync rate",
            format!("{:.2}× raw (spinning)", single / raw_busy.0),
            single / raw_busy.0 >= 0.5,
        ),
    );
    rows.push(Row::new(
        "  append latency p50 / p99",
        format!(
            "{} / {} ({} commits)",
            millis(percentile(&single_latency, 50.0)),
            millis(percentile(&single_latency, 99.0)),
            single_stats.commits
        ),
    ));
    rows.push(Row::new(
        "  the same, CPU otherwise idle",
        format!(
            "{single_idle:.0} appends/s, {:.2}× raw (idle); latency p50 {}",
            single_idle / raw_idle.0,
            millis(percentile(&single_idle_latency, 50.0))
        ),
    ));

    // A store of N events.
    let store_dir = work.path().join("big");
    let filled = fill(&store_dir, config.events);
    let log_bytes = dir_size(&log_dir(&store_dir));
    let index_bytes = dir_size(&index_dir(&store_dir));
    rows.push(Row::new(
        format!(
            "fill {} events (batches of {FILL_BATCH}, {FILL_WINDOW} appends in flight)",
            thousands(filled.events)
        ),
        format!(
            "{:.1} s, {:.0} events/s; log {:.0} MiB ({:.0} B/event), index {:.0} MiB",
            filled.elapsed.as_secs_f64(),
            filled.events as f64 / filled.elapsed.as_secs_f64(),
            mib(log_bytes),
            log_bytes as f64 / filled.events as f64,
            mib(index_bytes)
        ),
    ));
    let n = filled.events as f64;
    let scale = 10_000_000.0 / n;

    let open = phase("open", &store_dir, &[]);
    let open_s = open.get("seconds");
    let extrapolated = open_s * scale;
    rows.push(
        Row::new(
            format!(
                "open a store of {} events: first open after the filling process closed it (warm page cache)",
                thousands(filled.events)
            ),
            format!("{} s", secs(open_s)),
        )
        .target(
            "10M events < 2 s",
            format!(
                "{:.2}× target{}",
                extrapolated / 2.0,
                extrapolation_note(filled.events, extrapolated)
            ),
            extrapolated < 2.0,
        ),
    );
    let again = phase("open", &store_dir, &[]);
    rows.push(Row::new(
        "  the same again, straight after",
        format!(
            "{} s, peak RSS {:.0} MiB",
            secs(again.get("seconds")),
            again.get("hwm_kib") / 1024.0
        ),
    ));
    let log_open = phase("log-open", &store_dir, &[]);
    rows.push(Row::new(
        "  of which: log::open alone (segment headers, last segment's frames checked)",
        format!(
            "{} s, {} segments",
            secs(log_open.get("seconds")),
            log_open.get("segments")
        ),
    ));
    if config.cold {
        match phase_cold("open", &store_dir) {
            Some(cold) => rows.push(Row::new(
                "open, page cache dropped first",
                format!("{} s", secs(cold.get("seconds"))),
            )),
            None => rows.push(Row::new(
                "open, page cache dropped first",
                "not measured (cannot drop caches)",
            )),
        }
    }
    let open_hwm = open.get("hwm_kib") / 1024.0;
    rows.push(
        Row::new("  peak RSS of the opening process", format!("{open_hwm:.0} MiB")).target(
            "< 512 MiB",
            format!("{:.2}× target", open_hwm / 512.0),
            open_hwm < 512.0,
        ),
    );

    // Proof an outsider can check (issue #18), over the tree the appends maintained beside the log.
    let tree_bytes = dir_size(&tree_dir(&store_dir));
    rows.push(Row::new(
        "Merkle tree level files beside the log (C2SP tiles are reads of them)",
        format!(
            "{:.0} MiB, {:.2} B/record",
            mib(tree_bytes),
            tree_bytes as f64 / filled.events as f64
        ),
    ));
    let proofs = phase("proofs", &store_dir, &[]);
    rows.push(
        Row::new(
            format!(
                "inclusion proof of a record (random positions, checkpoint of {} records): median / p99",
                thousands(proofs.get("size") as usize)
            ),
            format!(
                "{:.3} / {:.3} ms",
                proofs.get("inclusion_p50_ms"),
                proofs.get("inclusion_p99_ms")
            ),
        )
        .target(
            "10M records < 1 ms",
            format!("{:.2}× target (p99)", proofs.get("inclusion_p99_ms") / 1.0),
            proofs.get("inclusion_p99_ms") < 1.0,
        ),
    );
    rows.push(
        Row::new(
            "consistency proof between two signed checkpoints, checked against both roots: median / p99",
            format!(
                "{:.3} / {:.3} ms",
                proofs.get("consistency_p50_ms"),
                proofs.get("consistency_p99_ms")
            ),
        )
        .target(
            "< 10 ms",
            format!("{:.2}× target (p99)", proofs.get("consistency_p99_ms") / 10.0),
            proofs.get("consistency_p99_ms") < 10.0,
        ),
    );
    rows.push(Row::new(
        "  consistency proof from a random older size to the latest checkpoint: median / p99",
        format!(
            "{:.3} / {:.3} ms",
            proofs.get("random_consistency_p50_ms"),
            proofs.get("random_consistency_p99_ms")
        ),
    ));
    rows.push(Row::new(
        "  signing a checkpoint (tree synced to disk, root, Ed25519, stored durably)",
        format!("{:.1} ms", proofs.get("sign_ms")),
    ));
    let lost = phase("tree-lost", &store_dir, &[]);
    rows.push(
        Row::new(
            "open with the tree's level files deleted (rebuilt from the log behind the open)",
            format!(
                "{} s; the tree rebuilt {} s after the open",
                secs(lost.get("open_seconds")),
                secs(lost.get("rebuild_seconds"))
            ),
        )
        .target(
            "10M records: open < 2 s",
            format!("{:.2}× target", lost.get("open_seconds") * scale / 2.0),
            lost.get("open_seconds") * scale < 2.0,
        ),
    );

    // Reading one child's stream, in the filled store (its index as the appends built it): through the read
    // cache (an investigator re-reading a timeline), and from the log with the cache off (a child nobody has
    // read since the store opened: every read a miss).
    for (how, cache_events) in [
        ("cached", EmbeddedOptions::default().read_cache_events),
        ("from the log", 0),
    ] {
        let reads = read_streams(&store_dir, cache_events);
        for (name, samples) in [
            ("contiguous", &reads.contiguous),
            ("interleaved", &reads.interleaved),
        ] {
            let (p50, p99) = (percentile(samples, 50.0), percentile(samples, 99.0));
            rows.push(
                Row::new(
                    format!("read one child's {READ_EVENTS}-event stream, {name}, {how}: median / p99"),
                    format!("{} / {}", millis(p50), millis(p99)),
                )
                .target(
                    "p99 < 2 ms",
                    format!("{:.2}× target", p99.as_secs_f64() / 0.002),
                    p99 < Duration::from_millis(2),
                ),
            );
        }
    }
    let parts = phase("read-parts", &store_dir, &[]);
    for name in ["contig", "inter"] {
        rows.push(Row::new(
            format!("  {name}: median of log preads / decode"),
            format!(
                "{:.3} / {:.3} ms (≈{} preads)",
                parts.get(&format!("{name}_read_ms")),
                parts.get(&format!("{name}_decode_ms")),
                parts.get(&format!("{name}_preads"))
            ),
        ));
    }
    rows.push(Row::new(
        "peak RSS of the benchmark process (fill, reads)",
        format!("{:.0} MiB", vm_hwm_kib() / 1024.0),
    ));

    // Rebuilding, last: it replaces the index, and may be stopped by the memory watchdog half-way.
    let scan = phase("scan", &store_dir, &[]);
    let rebuild = if config.rebuild {
        phase("rebuild", &store_dir, &[])
    } else {
        PhaseResult(Vec::new())
    };
    let rebuild_s = rebuild
        .0
        .iter()
        .find(|(k, _)| k == "seconds")
        .map_or(f64::NAN, |(_, v)| *v);
    let limit = rss_limit_mib();
    if !config.rebuild {
        rows.push(Row::new(
            "rebuild the index from the log",
            "skipped (JOURNEY_BENCH_REBUILD=0)",
        ));
    } else if rebuild.killed() {
        rows.push(
            Row::new(
                format!(
                    "rebuild the index from the log ({} events)",
                    thousands(filled.events)
                ),
                format!(
                    "stopped by the watchdog at {limit} MiB RSS after {} s",
                    secs(rebuild_s)
                ),
            )
            .target("≥ 500,000 events/s", "n/a", false),
        );
        rows.push(
            Row::new(
                "  peak RSS of the rebuilding process",
                format!("> {limit} MiB (killed)"),
            )
            .target(
                "< 512 MiB",
                format!("> {:.1}× target", limit as f64 / 512.0),
                false,
            ),
        );
    } else {
        let rebuild_rate = n / rebuild_s;
        rows.push(
            Row::new(
                format!(
                    "rebuild the index from the log ({} events)",
                    thousands(filled.events)
                ),
                format!("{} s, {rebuild_rate:.0} events/s", secs(rebuild_s)),
            )
            .target(
                "≥ 500,000 events/s",
                format!("{:.2}× target", rebuild_rate / 500_000.0),
                rebuild_rate >= 500_000.0,
            ),
        );
        let rebuild_hwm = rebuild.get("hwm_kib") / 1024.0;
        rows.push(
            Row::new(
                "  peak RSS of the rebuilding process",
                format!("{rebuild_hwm:.0} MiB"),
            )
            .target(
                "< 512 MiB",
                format!("{:.2}× target", rebuild_hwm / 512.0),
                rebuild_hwm < 512.0,
            ),
        );
        rows.push(Row::new(
            "  of which: index building, snapshot writes, open (rebuild − scan and decode)",
            format!("{} s", secs(rebuild_s - scan.get("decode_seconds"))),
        ));
    }
    rows.push(Row::new(
        "  of which: scanning the log (frames, CRC)",
        format!(
            "{} s, {:.0} events/s",
            secs(scan.get("scan_seconds")),
            n / scan.get("scan_seconds")
        ),
    ));
    rows.push(Row::new(
        "  of which: scan + decode index fields (incl. content SHA-256)",
        format!(
            "{} s, {:.0} events/s",
            secs(scan.get("decode_seconds")),
            n / scan.get("decode_seconds")
        ),
    ));
    if config.sled_diagnostic {
        for (label, env) in [
            (
                "sled alone, one Batch per tree per 8,192 records (as the store)",
                &[("JOURNEY_SLED_BATCH", "8192")][..],
            ),
            (
                "sled alone, one Batch per tree per 1,024 records",
                &[("JOURNEY_SLED_BATCH", "1024")][..],
            ),
            (
                "sled alone, plain inserts (no Batch)",
                &[("JOURNEY_SLED_PLAIN", "1")][..],
            ),
        ] {
            let r = phase("sled-load", &store_dir, env);
            let result = if r.killed() {
                format!(
                    "stopped by the watchdog at {limit} MiB RSS after {} s",
                    secs(r.get("seconds"))
                )
            } else {
                format!(
                    "{} s, {:.0} events/s, peak RSS {:.0} MiB",
                    secs(r.get("seconds")),
                    n / r.get("seconds"),
                    r.get("hwm_kib") / 1024.0
                )
            };
            rows.push(Row::new(format!("  diagnostic: {label}"), result));
        }
    }

    println!();
    println!("load average at end: {}", load_average());
    println!();
    print_table(&rows);
    if config.keep {
        let kept = work.keep();
        println!("\nkept: {}", kept.join("big").display());
    }
}

fn extrapolation_note(events: usize, extrapolated: f64) -> String {
    if events == 10_000_000 {
        String::new()
    } else {
        format!(" (10M linearly: {extrapolated:.2} s)")
    }
}

fn print_table(rows: &[Row]) {
    println!("| measure | result | target | ratio | met |");
    println!("|---|---|---|---|---|");
    for r in rows {
        let met = match r.met {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "",
        };
        println!(
            "| {} | {} | {} | {} | {} |",
            r.measure, r.result, r.target, r.ratio, met
        );
    }
}

// ---------------------------------------------------------------------------------------------------------
// Appends

#[derive(Clone, Copy, Default)]
struct Stats {
    commits: u64,
    events: u64,
    appends: u64,
}

impl Stats {
    fn of(store: &EmbeddedStore) -> Stats {
        let s = store.stats();
        Stats {
            commits: s.commits.load(Ordering::Relaxed),
            events: s.events.load(Ordering::Relaxed),
            appends: s.appends.load(Ordering::Relaxed),
        }
    }

    fn since(self, before: Stats) -> Stats {
        Stats {
            commits: self.commits - before.commits,
            events: self.events - before.events,
            appends: self.appends - before.appends,
        }
    }

    fn events_per_commit(&self) -> f64 {
        self.events as f64 / self.commits.max(1) as f64
    }

    fn appends_per_commit(&self) -> f64 {
        self.appends as f64 / self.commits.max(1) as f64
    }
}

/// `appenders` threads, each on a child of its own, each appending one typical event at a time and waiting
/// for it to be durable, for `duration`. Returns acknowledged events per second, the group commit counters
/// over the run, and every append's latency.
fn concurrent_appends(dir: &Path, appenders: usize, duration: Duration) -> (f64, Stats, Vec<Duration>) {
    concurrent_appends_with(dir, appenders, duration, EmbeddedOptions::default())
}

fn concurrent_appends_with(
    dir: &Path,
    appenders: usize,
    duration: Duration,
    options: EmbeddedOptions,
) -> (f64, Stats, Vec<Duration>) {
    let store = EmbeddedStore::open_with(dir, Arc::new(SystemClock), options).expect("open");
    let registrations: Vec<_> = (0..appenders)
        .map(|t| {
            let c = format!("a{t}");
            store.append(append(
                &c,
                ExpectedVersion::NoStream,
                vec![registered(&format!("{c}-0"), "2012-02-29")],
            ))
        })
        .collect();
    for r in block_on(futures::future::join_all(registrations)) {
        r.expect("register");
    }
    let start = Barrier::new(appenders + 1);
    let stop = AtomicBool::new(false);
    let before = Stats::of(&store);
    let mut results = Vec::with_capacity(appenders);
    let started = std::thread::scope(|s| {
        let handles: Vec<_> = (0..appenders)
            .map(|t| {
                let (store, start, stop) = (&store, &start, &stop);
                s.spawn(move || {
                    let c = format!("a{t}");
                    let mut version = Version(1);
                    let mut latencies = Vec::with_capacity(1 << 16);
                    start.wait();
                    while !stop.load(Ordering::Relaxed) {
                        let id = format!("{c}-{}", version.0 + 1);
                        let request = append(
                            &c,
                            ExpectedVersion::Exact(version),
                            vec![contact(&id, "2023-05-01")],
                        );
                        let sent = Instant::now();
                        let out = block_on(store.append(request)).expect("append");
                        latencies.push(sent.elapsed());
                        version = out.events[0].version;
                    }
                    latencies
                })
            })
            .collect();
        start.wait();
        let started = Instant::now();
        std::thread::sleep(duration);
        stop.store(true, Ordering::Relaxed);
        for h in handles {
            results.push(h.join().expect("appender"));
        }
        started
    });
    // Every append that was started before the stop is counted, so the time is until the last one ended.
    let elapsed = started.elapsed();
    let stats = Stats::of(&store).since(before);
    store.close().expect("close");
    let latencies: Vec<Duration> = results.into_iter().flatten().collect();
    (latencies.len() as f64 / elapsed.as_secs_f64(), stats, latencies)
}

/// An async server's shape: one thread keeps `in_flight` appends outstanding, each to its own child, and
/// sends the next event for a child as soon as its previous append is durable. Returns events per second and
/// the group commit counters.
fn pipelined_appends(dir: &Path, in_flight: usize, duration: Duration) -> (f64, Stats) {
    let store = EmbeddedStore::open(dir, Arc::new(SystemClock)).expect("open");
    let mut pending = FuturesUnordered::new();
    for t in 0..in_flight {
        let c = format!("p{t}");
        pending.push(store.append(append(
            &c,
            ExpectedVersion::NoStream,
            vec![registered(&format!("{c}-1"), "2012-02-29")],
        )));
    }
    while let Some(r) = block_on(pending.next()) {
        r.expect("register");
    }
    let before = Stats::of(&store);
    let next = |child: &journey_core::ChildId, version: Version| {
        let id = format!("{child}-{}", version.0 + 1);
        store.append(append(
            child.as_str(),
            ExpectedVersion::Exact(version),
            vec![contact(&id, "2023-05-01")],
        ))
    };
    for t in 0..in_flight {
        pending.push(next(&child(&format!("p{t}")), Version(1)));
    }
    let started = Instant::now();
    let mut events = 0u64;
    while let Some(r) = block_on(pending.next()) {
        let out = r.expect("append");
        events += 1;
        if started.elapsed() < duration {
            pending.push(next(&out.child_id, out.events[0].version));
        }
    }
    let elapsed = started.elapsed();
    drop(pending);
    let stats = Stats::of(&store).since(before);
    store.close().expect("close");
    (events as f64 / elapsed.as_secs_f64(), stats)
}

/// Runs `f` while another thread spins on a CPU.
fn with_spinner<T>(f: impl FnOnce() -> T) -> T {
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            while !stop.load(Ordering::Relaxed) {
                std::hint::spin_loop();
            }
        });
        let out = f();
        stop.store(true, Ordering::Relaxed);
        out
    })
}

/// The disk's own rate: append ~300 bytes and `fdatasync`, in a loop, as the log does for one event.
fn raw_fdatasync(dir: &Path, duration: Duration) -> (f64, Vec<Duration>) {
    fs::create_dir_all(dir).expect("dir");
    let mut file = File::create(dir.join("raw")).expect("create");
    let record = [0x5a_u8; 300];
    let mut latencies = Vec::new();
    let started = Instant::now();
    while started.elapsed() < duration {
        let t = Instant::now();
        file.write_all(&record).expect("write");
        file.sync_data().expect("fdatasync");
        latencies.push(t.elapsed());
    }
    (
        latencies.len() as f64 / started.elapsed().as_secs_f64(),
        latencies,
    )
}

struct Filled {
    events: usize,
    elapsed: Duration,
}

/// Fills a store with `n` events, fast: batches of [`FILL_BATCH`] events to one child each, many appends in
/// flight, so that group commits are large. Ordinary children get [`EVENTS_PER_CHILD`] events each, a few
/// thousand children at a time so that their events interleave. Two children are there to be read back:
/// `contig` has all its events in one append half-way through; `inter` gets one event every `n / 1000`
/// events across the whole fill, so each of its events is far from the next in the log.
fn fill(dir: &Path, n: usize) -> Filled {
    let store = EmbeddedStore::open(dir, Arc::new(SystemClock)).expect("open");
    let started = Instant::now();
    let regular = n - 2 * READ_EVENTS;
    let children = regular.div_ceil(EVENTS_PER_CHILD);
    let spacing = regular / (READ_EVENTS - 1);
    let mut filler = Filler {
        store: &store,
        in_flight: FuturesUnordered::new(),
    };
    filler.submit(append(
        "inter",
        ExpectedVersion::NoStream,
        vec![registered("inter-1", "2010-01-01")],
    ));
    let mut inter = 1usize;
    let mut contig_done = false;
    let mut regular_done = 0usize;
    for first in (0..children).step_by(FILL_CHILDREN_AT_ONCE) {
        let chunk = first..(first + FILL_CHILDREN_AT_ONCE).min(children);
        for round in 0..EVENTS_PER_CHILD.div_ceil(FILL_BATCH) {
            for c in chunk.clone() {
                let have = round * FILL_BATCH;
                let quota = EVENTS_PER_CHILD.min(regular - c * EVENTS_PER_CHILD);
                if have >= quota {
                    continue;
                }
                let name = format!("c{c}");
                let events: Vec<_> = (have..(have + FILL_BATCH).min(quota))
                    .map(|e| {
                        let id = format!("{name}-{e}");
                        if e == 0 {
                            registered(&id, "2012-02-29")
                        } else {
                            contact(&id, "2023-05-01")
                        }
                    })
                    .collect();
                regular_done += events.len();
                let expected = if have == 0 {
                    ExpectedVersion::NoStream
                } else {
                    ExpectedVersion::Any
                };
                filler.submit(append(&name, expected, events));
                if inter < READ_EVENTS && regular_done >= inter * spacing {
                    inter += 1;
                    filler.submit(append(
                        "inter",
                        ExpectedVersion::Any,
                        vec![contact(&format!("inter-{inter}"), "2023-05-01")],
                    ));
                }
                if !contig_done && regular_done >= regular / 2 {
                    contig_done = true;
                    let events = (1..=READ_EVENTS)
                        .map(|e| {
                            let id = format!("contig-{e}");
                            if e == 1 {
                                registered(&id, "2010-01-01")
                            } else {
                                contact(&id, "2023-05-01")
                            }
                        })
                        .collect();
                    filler.submit(append("contig", ExpectedVersion::NoStream, events));
                }
            }
        }
    }
    while inter < READ_EVENTS {
        inter += 1;
        filler.submit(append(
            "inter",
            ExpectedVersion::Any,
            vec![contact(&format!("inter-{inter}"), "2023-05-01")],
        ));
    }
    filler.finish();
    let elapsed = started.elapsed();
    let events = block_on(store.head()).expect("head").position.map_or(0, |p| p.0) as usize;
    store.close().expect("close");
    Filled { events, elapsed }
}

/// Keeps up to [`FILL_WINDOW`] appends in flight.
struct Filler<'a> {
    store: &'a EmbeddedStore,
    in_flight: FuturesUnordered<BoxFuture<'a, journey_core::Result<AppendOutcome>>>,
}

impl Filler<'_> {
    fn submit(&mut self, request: AppendRequest) {
        while self.in_flight.len() >= FILL_WINDOW {
            self.wait_one();
        }
        self.in_flight.push(self.store.append(request));
    }

    fn wait_one(&mut self) {
        if let Some(result) = block_on(self.in_flight.next()) {
            result.expect("fill append");
        }
    }

    fn finish(mut self) {
        while !self.in_flight.is_empty() {
            self.wait_one();
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// Reads

struct Reads {
    contiguous: Vec<Duration>,
    interleaved: Vec<Duration>,
}

/// Reads `contig`'s and `inter`'s whole streams, alternately, after a warm-up. The page cache is warm: the
/// store was just filled.
fn read_streams(dir: &Path, read_cache_events: usize) -> Reads {
    let options = EmbeddedOptions {
        read_cache_events,
        ..EmbeddedOptions::default()
    };
    let store = EmbeddedStore::open_with(dir, Arc::new(SystemClock), options).expect("open");
    let (contig, inter) = (child("contig"), child("inter"));
    let read = |c: &journey_core::ChildId| {
        let t = Instant::now();
        let events = block_on(store.read_stream(c.clone(), Version(1), READ_EVENTS)).expect("read");
        let elapsed = t.elapsed();
        assert_eq!(events.len(), READ_EVENTS, "{c} has {READ_EVENTS} events");
        elapsed
    };
    for _ in 0..50 {
        read(&contig);
        read(&inter);
    }
    let mut reads = Reads {
        contiguous: Vec::new(),
        interleaved: Vec::new(),
    };
    for _ in 0..READ_SAMPLES {
        reads.contiguous.push(read(&contig));
        reads.interleaved.push(read(&inter));
    }
    store.close().expect("close");
    reads
}

// ---------------------------------------------------------------------------------------------------------
// Child processes

/// What a child phase printed: `key=value` pairs.
struct PhaseResult(Vec<(String, f64)>);

impl PhaseResult {
    fn killed(&self) -> bool {
        self.0.iter().any(|(k, _)| k == "killed")
    }

    fn get(&self, key: &str) -> f64 {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .unwrap_or_else(|| panic!("phase result has no {key}"))
            .1
    }
}

fn rss_limit_mib() -> u64 {
    std::env::var("JOURNEY_BENCH_RSS_LIMIT_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4_096)
}

/// Runs `phase` in a child process and parses what it prints. A watchdog polls the child's RSS and kills it
/// past `JOURNEY_BENCH_RSS_LIMIT_MIB` (default 4,096), so that a phase whose memory grows with N cannot take
/// the machine down; the result then holds `killed=1` and the `seconds` it ran.
fn phase(name: &str, dir: &Path, env: &[(&str, &str)]) -> PhaseResult {
    let exe = std::env::current_exe().expect("current exe");
    let mut child = Command::new(exe)
        .arg("--phase")
        .arg(name)
        .arg(dir)
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run phase");
    let started = Instant::now();
    let limit_kib = rss_limit_mib() * 1024;
    let status_path = format!("/proc/{}/status", child.id());
    let mut killed = false;
    loop {
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        let rss = fs::read_to_string(&status_path)
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("VmRSS:"))
                    .map(str::to_owned)
            })
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .unwrap_or(0);
        if rss > limit_kib {
            let _ = child.kill();
            killed = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let seconds = started.elapsed().as_secs_f64();
    let out = child.wait_with_output().expect("phase output");
    if killed {
        return PhaseResult(vec![("killed".into(), 1.0), ("seconds".into(), seconds)]);
    }
    assert!(
        out.status.success(),
        "phase {name} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let pairs = text
        .split_whitespace()
        .filter_map(|w| w.split_once('='))
        .filter_map(|(k, v)| Some((k.to_owned(), v.parse().ok()?)))
        .collect();
    PhaseResult(pairs)
}

fn phase_cold(name: &str, dir: &Path) -> Option<PhaseResult> {
    // SAFETY of the data is not at stake: `sync` then dropping clean pages only costs re-reading them.
    Command::new("sync").status().ok()?;
    fs::write("/proc/sys/vm/drop_caches", "3").ok()?;
    Some(phase(name, dir, &[]))
}

fn child_phase(phase: &str, dir: &Path) {
    match phase {
        "open" => {
            let started = Instant::now();
            let store = EmbeddedStore::open(dir, Arc::new(SystemClock)).expect("open");
            let seconds = started.elapsed().as_secs_f64();
            let records = store.open_report().records;
            assert!(
                store.open_report().index_rebuilt.is_none(),
                "{:?}",
                store.open_report()
            );
            println!("seconds={seconds} records={records} hwm_kib={}", vm_hwm_kib());
            store.close().expect("close");
        }
        "proofs" => proofs_phase(dir),
        "tree-lost" => {
            fs::remove_dir_all(tree_dir(dir)).expect("delete the tree");
            let started = Instant::now();
            let store = EmbeddedStore::open(dir, Arc::new(SystemClock)).expect("open");
            let open_seconds = started.elapsed().as_secs_f64();
            let records = store.open_report().records;
            loop {
                let status = block_on(store.tree_status()).expect("tree status");
                if status.size == records && status.rebuilding.is_none() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            let rebuild_seconds = started.elapsed().as_secs_f64();
            println!("open_seconds={open_seconds} rebuild_seconds={rebuild_seconds} records={records}");
            store.close().expect("close");
        }
        "log-open" => {
            let started = Instant::now();
            let (writer, _reader, report) =
                log::open(&log_dir(dir), LogOptions::default()).expect("open the log");
            let seconds = started.elapsed().as_secs_f64();
            drop(writer);
            println!(
                "seconds={seconds} segments={} hwm_kib={}",
                report.segments,
                vm_hwm_kib()
            );
        }
        "rebuild" => {
            let started = Instant::now();
            let report = EmbeddedStore::rebuild_index(dir, EmbeddedOptions::default()).expect("rebuild");
            let seconds = started.elapsed().as_secs_f64();
            assert!(report.index_rebuilt.is_some(), "{report:?}");
            println!(
                "seconds={seconds} records={} hwm_kib={}",
                report.records,
                vm_hwm_kib()
            );
        }
        "scan" => {
            let (writer, reader, _) = log::open(&log_dir(dir), LogOptions::default()).expect("open the log");
            let started = Instant::now();
            let mut n = 0u64;
            let mut bytes = 0u64;
            for item in reader.scan(None) {
                let (_, entry) = item.expect("scan");
                n += 1;
                bytes += entry.len() as u64;
            }
            let scan_seconds = started.elapsed().as_secs_f64();
            let started = Instant::now();
            let mut check = 0u64;
            for item in reader.scan(None) {
                let (_, entry) = item.expect("scan");
                // An entry is `stream_hash ‖ log_hash ‖ body`.
                let fields = encoding::decode_index_fields(&entry[64..], &encoding::NoKeys).expect("decode");
                check ^= fields.store.position.0;
            }
            let decode_seconds = started.elapsed().as_secs_f64();
            drop(writer);
            println!(
                "scan_seconds={scan_seconds} decode_seconds={decode_seconds} entries={n} bytes={bytes} check={check}"
            );
        }
        "appenders" => {
            // For profiling one throughput phase on its own: `JOURNEY_BENCH_APPENDERS` threads (default 1)
            // for `JOURNEY_BENCH_SECONDS`, in a new store under `dir`.
            let n = std::env::var("JOURNEY_BENCH_APPENDERS")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(1);
            let seconds = Duration::from_secs(Config::from_env().seconds);
            let target = tempfile::Builder::new()
                .prefix("appenders-")
                .tempdir_in(dir)
                .expect("temp dir");
            // `JOURNEY_BENCH_NOSYNC=1`: with `SyncMode::None`, to see the cost of everything but the sync.
            let mut options = EmbeddedOptions::default();
            if env_flag("JOURNEY_BENCH_NOSYNC") {
                options.log.sync = log::SyncMode::None;
            }
            let (rate, stats, latency) = concurrent_appends_with(target.path(), n, seconds, options);
            println!(
                "rate={rate} events_per_commit={} p50_ms={}",
                stats.events_per_commit(),
                percentile(&latency, 50.0).as_secs_f64() * 1000.0
            );
        }
        "reads" => {
            // For profiling reads on their own: `read_streams` on a kept store, medians and p99s printed, with
            // the read cache (`JOURNEY_READ_CACHE_EVENTS`, default the store's) or without it (0).
            let cache_events = std::env::var("JOURNEY_READ_CACHE_EVENTS")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(EmbeddedOptions::default().read_cache_events);
            let reads = read_streams(dir, cache_events);
            println!(
                "contig_p50_ms={} contig_p99_ms={} inter_p50_ms={} inter_p99_ms={}",
                percentile(&reads.contiguous, 50.0).as_secs_f64() * 1000.0,
                percentile(&reads.contiguous, 99.0).as_secs_f64() * 1000.0,
                percentile(&reads.interleaved, 50.0).as_secs_f64() * 1000.0,
                percentile(&reads.interleaved, 99.0).as_secs_f64() * 1000.0
            );
        }
        "commit-parts" => commit_parts(dir),
        "read-parts" => read_parts(dir),
        "sled-load" => sled_load(dir),
        other => panic!("unknown phase {other}"),
    }
}

/// Where the time of a stream read goes: `read_many` from the log and decoding, each timed on its own (the
/// in-memory index lookup before them takes microseconds). The locations come from one scan of the log.
/// Inclusion and consistency proofs over the tree the fill built, through the proof service as the proof
/// routes call it: a checkpoint signed at the store's size, then 1,000 more records and another, so that the
/// consistency proof between them is also checked against both signed roots before it is given.
fn proofs_phase(dir: &Path) {
    use journey_core::proof::{OriginBase, Proofs};
    use journey_core::tlog::NoteSigner;
    const SAMPLES: u64 = 2_000;
    let store = Arc::new(EmbeddedStore::open(dir, Arc::new(SystemClock)).expect("open"));
    let base = OriginBase::parse("bench.example/log").expect("a base");
    let signer = NoteSigner::from_seed(base.origin(store.log_id()).key_name(), &[1; 32]);
    let proofs =
        Proofs::new(store.clone(), &base, signer, Vec::new(), Arc::new(SystemClock)).expect("proofs");
    let sign = || {
        let started = Instant::now();
        let signed = loop {
            match block_on(proofs.sign()) {
                Ok(signed) => break signed,
                // The tree is caught up with the log behind the open.
                Err(journey_core::Error::Unavailable(_)) => std::thread::sleep(Duration::from_millis(10)),
                Err(e) => panic!("signing: {e}"),
            }
        };
        (signed.checkpoint.size, started.elapsed())
    };
    let (old, _) = sign();
    // 1,000 more records: ten new children of a hundred (a child's stream begins with its registration).
    for c in 0..10 {
        let child = format!("proofs-bench-{old}-{c}");
        let mut events = vec![registered(&format!("{child}-0"), "2012-02-29")];
        events.extend((1..100).map(|e| contact(&format!("{child}-{e}"), "2024-01-01")));
        if let Err(e) = block_on(store.append(append(&child, ExpectedVersion::NoStream, events))) {
            panic!(
                "appending: {}",
                e.to_string().chars().take(500).collect::<String>()
            );
        }
    }
    let (size, sign_time) = sign();
    // Positions spread over the whole log (a multiplicative step, so no two samples share a tile by design).
    let positions = (0..SAMPLES).map(|i| 1 + (i * 2_654_435_761) % size);
    let mut inclusion = Vec::new();
    for position in positions.clone() {
        let started = Instant::now();
        block_on(proofs.inclusion(position, Some(size))).expect("an inclusion proof");
        inclusion.push(started.elapsed());
    }
    let mut consistency = Vec::new();
    for _ in 0..SAMPLES {
        let started = Instant::now();
        block_on(proofs.consistency(old, size)).expect("a consistency proof");
        consistency.push(started.elapsed());
    }
    let mut random_consistency = Vec::new();
    for position in positions {
        let started = Instant::now();
        block_on(proofs.consistency(position, size)).expect("a consistency proof");
        random_consistency.push(started.elapsed());
    }
    let ms = |samples: &[Duration], p: f64| percentile(samples, p).as_secs_f64() * 1e3;
    println!(
        "size={size} inclusion_p50_ms={} inclusion_p99_ms={} consistency_p50_ms={} consistency_p99_ms={} \
         random_consistency_p50_ms={} random_consistency_p99_ms={} sign_ms={}",
        ms(&inclusion, 50.0),
        ms(&inclusion, 99.0),
        ms(&consistency, 50.0),
        ms(&consistency, 99.0),
        ms(&random_consistency, 50.0),
        ms(&random_consistency, 99.0),
        sign_time.as_secs_f64() * 1e3
    );
    drop(proofs);
    Arc::into_inner(store)
        .expect("the only handle")
        .close()
        .expect("close");
}

fn read_parts(dir: &Path) {
    let (writer, reader, _) = log::open(&log_dir(dir), LogOptions::default()).expect("open the log");
    let mut wanted: [(&str, Vec<EntryLocation>); 2] = [("contig", Vec::new()), ("inter", Vec::new())];
    for item in reader.scan(None) {
        let (at, entry) = item.expect("scan");
        let (store, _) = encoding::decode_locator(&entry[64..]).expect("decode");
        for (name, locations) in &mut wanted {
            if store.child_id.as_str() == *name {
                locations.push(at);
            }
        }
    }
    let mut out = String::new();
    for (name, locations) in &wanted {
        let (mut read, mut decode) = (Vec::new(), Vec::new());
        for i in 0..(READ_SAMPLES + 50) {
            let t = Instant::now();
            let raw = reader.read_many(locations).expect("read_many");
            let t_read = t.elapsed();
            let t = Instant::now();
            for entry in &raw {
                encoding::decode_body(&entry[64..], &encoding::NoKeys).expect("decode");
            }
            let t_decode = t.elapsed();
            assert_eq!(raw.len(), READ_EVENTS);
            if i >= 50 {
                read.push(t_read);
                decode.push(t_decode);
            }
        }
        let ms = |v: &[Duration]| percentile(v, 50.0).as_secs_f64() * 1000.0;
        out.push_str(&format!(
            "{name}_read_ms={} {name}_decode_ms={} {name}_preads={} ",
            ms(&read),
            ms(&decode),
            count_preads(locations)
        ));
    }
    drop(writer);
    println!("{out}");
}

/// A diagnostic for the append path: the two halves of a group commit on their own, in fresh files under
/// `dir`, for `JOURNEY_COMMIT_EVENTS` events per commit (default 1), each for 3 s:
/// * the log: `write_batch` of that many ~300-byte entries, then `sync` (fdatasync);
/// * the index: what `Index::apply` does per commit — one `sled::Batch` per tree (`streams`, `event_ids`,
///   and `positions` every 64th record) and the `checkpoint` insert;
/// * the index again with plain `Tree::insert`s instead of batches;
/// * the log and then the index, one after the other, as the store's writer does (both ways).
///
/// Prints each one's median and p99 latency per commit, in ms.
fn commit_parts(dir: &Path) {
    let k: usize = std::env::var("JOURNEY_COMMIT_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let duration = Duration::from_secs(3);
    let target = tempfile::Builder::new()
        .prefix("commit-parts-")
        .tempdir_in(dir)
        .expect("temp dir");
    let mut out = String::new();
    let entry = vec![0x42_u8; 300];
    let refs: Vec<&[u8]> = (0..k).map(|_| entry.as_slice()).collect();
    // (name, write the log?, index with sled? as plain inserts?)
    let variants = [
        ("log", true, false, false),
        ("sled_batch", false, true, false),
        ("sled_plain", false, true, true),
        ("log_then_sled_batch", true, true, false),
        ("log_then_sled_plain", true, true, true),
    ];
    for (name, with_log, with_sled, plain) in variants {
        let place = target.path().join(name);
        let mut writer = with_log.then(|| {
            log::open(&place.join("log"), LogOptions::default())
                .expect("log")
                .0
        });
        let db = with_sled.then(|| {
            sled::Config::new()
                .path(place.join("index"))
                .cache_capacity(SLED_CACHE)
                .open()
                .expect("sled open")
        });
        let trees = db
            .as_ref()
            .map(|db| ["streams", "event_ids", "positions", "meta"].map(|t| db.open_tree(t).expect("tree")));
        let mut samples = Vec::new();
        let mut position = 0u64;
        let started = Instant::now();
        while started.elapsed() < duration {
            let t = Instant::now();
            if let Some(writer) = writer.as_mut() {
                writer.write_batch(&refs).expect("write");
                writer.sync().expect("sync");
            }
            if let Some(trees) = &trees {
                let mut batches: [Vec<(Vec<u8>, Vec<u8>)>; 3] = Default::default();
                for _ in 0..k {
                    position += 1;
                    let mut key = format!("child-{}", position % 5_000).into_bytes();
                    key.push(0);
                    key.extend_from_slice(&position.to_be_bytes());
                    batches[0].push((key, vec![0; 56]));
                    batches[1].push((format!("event-{position}").into_bytes(), vec![0; 70]));
                    if (position - 1).is_multiple_of(64) {
                        batches[2].push((position.to_be_bytes().to_vec(), vec![0; 16]));
                    }
                }
                for (tree, entries) in trees.iter().zip(batches) {
                    if plain {
                        for (key, value) in entries {
                            tree.insert(key, value).expect("insert");
                        }
                    } else {
                        let mut b = sled::Batch::default();
                        for (key, value) in entries {
                            b.insert(key, value);
                        }
                        tree.apply_batch(b).expect("apply");
                    }
                }
                trees[3].insert("checkpoint", vec![0; 64]).expect("checkpoint");
            }
            samples.push(t.elapsed());
        }
        out.push_str(&format!(
            "{name}_p50_ms={} {name}_p99_ms={} ",
            percentile(&samples, 50.0).as_secs_f64() * 1000.0,
            percentile(&samples, 99.0).as_secs_f64() * 1000.0
        ));
    }
    println!("{out}");
}

/// A diagnostic for the rebuild: loads the log's index entries into a fresh sled database the way
/// `Index::apply` does (same trees, same key and value sizes, a batch per tree per `JOURNEY_SLED_BATCH`
/// records, 8,192 by default as in the store's catch-up), without the store around it. With
/// `JOURNEY_SLED_SORTED=1` each batch is sorted by key first; with `JOURNEY_SLED_PLAIN=1` its entries are
/// inserted one by one (`Tree::insert`) instead of as one `sled::Batch`. Reports time and peak RSS.
fn sled_load(dir: &Path) {
    let batch: usize = std::env::var("JOURNEY_SLED_BATCH")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8_192);
    let sorted = env_flag("JOURNEY_SLED_SORTED");
    let plain = env_flag("JOURNEY_SLED_PLAIN");
    let target = tempfile::Builder::new()
        .prefix("sled-load-")
        .tempdir_in(dir)
        .expect("temp dir");
    let db = sled::Config::new()
        .path(target.path())
        .cache_capacity(SLED_CACHE)
        .open()
        .expect("sled open");
    let trees = ["streams", "event_ids", "positions"].map(|t| db.open_tree(t).expect("tree"));
    let (writer, reader, _) = log::open(&log_dir(dir), LogOptions::default()).expect("open the log");
    let started = Instant::now();
    let mut pending: [Vec<(Vec<u8>, Vec<u8>)>; 3] = Default::default();
    let mut n = 0usize;
    let flush = |pending: &mut [Vec<(Vec<u8>, Vec<u8>)>; 3]| {
        for (tree, entries) in trees.iter().zip(pending.iter_mut()) {
            if sorted {
                entries.sort_unstable();
            }
            if plain {
                for (k, v) in entries.drain(..) {
                    tree.insert(k, v).expect("insert");
                }
            } else {
                let mut b = sled::Batch::default();
                for (k, v) in entries.drain(..) {
                    b.insert(k, v);
                }
                tree.apply_batch(b).expect("apply");
            }
        }
    };
    for item in reader.scan(None) {
        let (at, entry) = item.expect("scan");
        let f = encoding::decode_index_fields(&entry[64..], &encoding::NoKeys).expect("decode");
        let mut key = f.store.child_id.as_str().as_bytes().to_vec();
        key.push(0);
        key.extend_from_slice(&f.store.version.0.to_be_bytes());
        let mut value = vec![0u8; 56];
        value[0..4].copy_from_slice(&at.segment.to_be_bytes());
        value[4..12].copy_from_slice(&at.offset.to_be_bytes());
        pending[0].push((key, value));
        let mut value = vec![0u8; 56];
        value.extend_from_slice(f.store.child_id.as_str().as_bytes());
        pending[1].push((f.event_id.as_str().as_bytes().to_vec(), value));
        if (f.store.position.0 - 1).is_multiple_of(64) {
            pending[2].push((f.store.position.0.to_be_bytes().to_vec(), vec![0u8; 16]));
        }
        n += 1;
        if n.is_multiple_of(batch) {
            flush(&mut pending);
        }
    }
    flush(&mut pending);
    db.flush().expect("flush");
    let seconds = started.elapsed().as_secs_f64();
    drop(writer);
    println!(
        "seconds={seconds} records={n} batch={batch} hwm_kib={}",
        vm_hwm_kib()
    );
}

/// How many `pread`s `read_many` needs for these locations: it joins frames less than 8 KiB apart.
fn count_preads(locations: &[EntryLocation]) -> usize {
    let mut sorted = locations.to_vec();
    sorted.sort();
    let mut n = 0;
    let mut end: Option<(u32, u64)> = None;
    for l in sorted {
        match end {
            Some((seg, e)) if seg == l.segment && l.offset <= e + 8 * 1024 => {}
            _ => n += 1,
        }
        end = Some((l.segment, l.end()));
    }
    n
}

// ---------------------------------------------------------------------------------------------------------
// Small things

fn vm_hwm_kib() -> f64 {
    peak_rss_bytes().map_or(f64::NAN, |b| b as f64 / 1024.0)
}

/// The p-th percentile (nearest rank).
fn percentile(samples: &[Duration], p: f64) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn millis(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

fn secs(s: f64) -> String {
    format!("{s:.2}")
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn dir_size(dir: &Path) -> u64 {
    fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => dir_size(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

/// The mount that holds `path`, from `/proc/self/mounts`: `fstype on mountpoint (device)`.
fn filesystem_of(path: &Path) -> String {
    let path = fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let mounts = fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    mounts
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            (f.len() >= 3 && path.starts_with(f[1]))
                .then(|| (f[1].len(), format!("{} on {} ({})", f[2], f[1], f[0])))
        })
        .max_by_key(|(len, _)| *len)
        .map_or_else(|| "unknown filesystem".into(), |(_, s)| s)
}

fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let meminfo = fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .map_or("?", str::trim)
        .to_owned();
    let kernel = fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!("{cpus} CPUs, {mem} memory, kernel {}", kernel.trim())
}
