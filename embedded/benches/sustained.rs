//! The tail of append latency under sustained load (issue 17 H), with
//! `cargo bench -p journey-embedded --bench sustained`:
//!
//! Appends of one event each arrive at a fixed rate (open loop: each has a time it was due, and its
//! latency runs from then, so a stall counts against every append that queued behind it, not only the one
//! that met it). First the baseline, `disk`: no store, the same bytes written and synced in groups as the
//! store's group commit does, so that the disk's own tail is measured in the same run. Then two shapes,
//! each on a fresh store:
//! * `per-event`: every append registers a new child (the shape that stalled: millions of children);
//! * `per-child`: children of `JOURNEY_SUSTAINED_EVENTS_PER_CHILD` events each (default 200),
//!   `JOURNEY_SUSTAINED_ACTIVE` of them (default 2,000) written at a time.
//!
//! For each shape it prints the latency percentiles up to p99.99 and the maximum, throughput, and every
//! stall (an append over `JOURNEY_SUSTAINED_STALL_MS`, default 50 ms) grouped by the second it was due, with
//! the number of records and children in the store at that moment, so that a stall can be matched with what
//! the store was doing. Then, for the `per-event` store, the time and peak memory to open it again, in a
//! child process (`VmHWM` is the process's own), per child.
//!
//! Knobs: `JOURNEY_SUSTAINED_RATE` (appends/s, default 20,000), `JOURNEY_SUSTAINED_SECONDS` (per shape,
//! default 600), `JOURNEY_SUSTAINED_SHAPES` (default `per-event,per-child`), `JOURNEY_BENCH_DIR` (default
//! `$TMPDIR`, else `/tmp`), `JOURNEY_SUSTAINED_KEEP=1` (keep each store and print its path, to open, verify or
//! profile it afterwards). Results and analysis: `docs/performance.md`, "Sustained load".

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use journey_core::ExpectedVersion;
use journey_core::SystemClock;
use journey_core::store::EventStore;
use journey_core::testkit::bench::{env_flag, env_number, load_average, peak_rss_bytes};
use journey_core::testkit::{append, contact, registered};
use journey_embedded::{EmbeddedOptions, EmbeddedStore};

/// The allocator `journey serve` uses (cli/src/main.rs), so that what is measured is what is deployed.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Appends are released in ticks of this length (a timer finer than a millisecond is not to be had).
const TICK: Duration = Duration::from_millis(1);

#[derive(Clone, Copy, Debug, PartialEq)]
enum Shape {
    /// No store: the disk alone, written and synced as the store's group commit would (the baseline).
    Disk,
    PerEvent,
    PerChild,
}

impl Shape {
    fn name(self) -> &'static str {
        match self {
            Shape::Disk => "disk",
            Shape::PerEvent => "per-event",
            Shape::PerChild => "per-child",
        }
    }
}

/// Bytes the disk baseline writes for each append: about one stored event of the per-event shape.
const DISK_BYTES_PER_APPEND: usize = 300;

struct Config {
    rate: u64,
    seconds: u64,
    shapes: Vec<Shape>,
    events_per_child: u64,
    active: u64,
    stall: Duration,
    base: PathBuf,
    keep: bool,
}

impl Config {
    fn from_env() -> Config {
        let shapes = std::env::var("JOURNEY_SUSTAINED_SHAPES")
            .unwrap_or_else(|_| "disk,per-event,per-child".into())
            .split(',')
            .map(|s| match s.trim() {
                "disk" => Shape::Disk,
                "per-event" => Shape::PerEvent,
                "per-child" => Shape::PerChild,
                other => {
                    panic!("JOURNEY_SUSTAINED_SHAPES: unknown shape {other:?} (disk, per-event, per-child)")
                }
            })
            .collect();
        Config {
            rate: env_number("JOURNEY_SUSTAINED_RATE", 20_000).max(1),
            seconds: env_number("JOURNEY_SUSTAINED_SECONDS", 600).max(1),
            shapes,
            events_per_child: env_number("JOURNEY_SUSTAINED_EVENTS_PER_CHILD", 200).max(1),
            active: env_number("JOURNEY_SUSTAINED_ACTIVE", 2_000).max(1),
            stall: Duration::from_millis(env_number("JOURNEY_SUSTAINED_STALL_MS", 50)),
            base: std::env::var_os("JOURNEY_BENCH_DIR")
                .or_else(|| std::env::var_os("TMPDIR"))
                .map_or_else(|| PathBuf::from("/tmp"), PathBuf::from),
            keep: env_flag("JOURNEY_SUSTAINED_KEEP"),
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--open") {
        open_phase(Path::new(&args[i + 1]), args[i + 2].parse().expect("children"));
        return;
    }
    let config = Config::from_env();
    std::fs::create_dir_all(&config.base).expect("create the benchmark directory");
    println!("# sustained appends: the latency tail");
    println!(
        "rate {} appends/s of one event, {} s per shape, stall threshold {} ms, load average at start {}",
        config.rate,
        config.seconds,
        config.stall.as_millis(),
        load_average()
    );
    for &shape in &config.shapes {
        let dir = tempfile::Builder::new()
            .prefix("journey-sustained-")
            .tempdir_in(&config.base)
            .expect("temp dir");
        if shape == Shape::Disk {
            run_disk(&config, dir.path());
        } else {
            run_shape(&config, shape, dir.path());
        }
        if shape == Shape::PerEvent {
            // One child per append: the store holds rate × seconds children.
            reopen(dir.path(), config.rate * config.seconds);
        }
        if config.keep {
            println!("kept: {}", dir.keep().display());
        }
    }
}

/// What the appenders share: how far the store has got, for labelling stalls.
#[derive(Default)]
struct Progress {
    acknowledged: AtomicU64,
}

fn run_shape(config: &Config, shape: Shape, dir: &Path) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let store = Arc::new(
        EmbeddedStore::open_with(dir, Arc::new(SystemClock), EmbeddedOptions::default())
            .expect("open the store"),
    );
    let total = config.rate * config.seconds;
    let progress = Arc::new(Progress::default());
    println!();
    println!(
        "## {} ({total} appends{})",
        shape.name(),
        match shape {
            Shape::Disk => unreachable!("the disk baseline has no store"),
            Shape::PerEvent => String::from(", one new child each"),
            Shape::PerChild => format!(
                ", children of {} events, {} written at a time",
                config.events_per_child, config.active
            ),
        }
    );
    let (tail, elapsed) = runtime.block_on(drive(config, shape, store.clone(), progress));
    tail.report(config, elapsed);
    let stats = store.stats();
    let (commits, events) = (
        stats.commits.load(Ordering::Relaxed),
        stats.events.load(Ordering::Relaxed),
    );
    println!(
        "group commits: {commits} ({:.1} events each)",
        events as f64 / commits.max(1) as f64
    );
    Arc::into_inner(store)
        .expect("the appenders are done")
        .close()
        .expect("close the store");
}

/// Stalls of one second: how many appends due in it went over the threshold, and the worst.
struct Stall {
    appends: u64,
    worst: Duration,
    acknowledged: u64,
}

/// The latencies of one run, and its stalls keyed by the second the appends were due (answers arrive out
/// of order).
struct Tail {
    latencies: Histogram<u64>,
    stalls: BTreeMap<u64, Stall>,
    threshold: Duration,
    rate: u64,
}

impl Tail {
    fn new(config: &Config) -> Tail {
        Tail {
            latencies: Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("histogram"),
            stalls: BTreeMap::new(),
            threshold: config.stall,
            rate: config.rate,
        }
    }

    /// Append `n` was answered `latency` after it was due, when `acknowledged` appends had been answered.
    fn record(&mut self, n: u64, latency: Duration, acknowledged: u64) {
        self.latencies
            .saturating_record(latency.as_micros().max(1) as u64);
        if latency > self.threshold {
            let s = self.stalls.entry(n / self.rate).or_insert(Stall {
                appends: 0,
                worst: latency,
                acknowledged,
            });
            s.appends += 1;
            s.worst = s.worst.max(latency);
        }
    }

    fn report(&self, config: &Config, elapsed: Duration) {
        let latencies = &self.latencies;
        let tail = |q: f64| Duration::from_micros(latencies.value_at_quantile(q));
        println!(
            "achieved {:.0} appends/s over {:.1} s; load average at end {}",
            latencies.len() as f64 / elapsed.as_secs_f64(),
            elapsed.as_secs_f64(),
            load_average()
        );
        println!(
            "latency from when each append was due: p50 {} · p99 {} · p99.9 {} · p99.99 {} · max {}",
            ms(tail(0.5)),
            ms(tail(0.99)),
            ms(tail(0.999)),
            ms(tail(0.9999)),
            ms(Duration::from_micros(latencies.max()))
        );
        let over = |limit: Duration| latencies.count_between(limit.as_micros() as u64, u64::MAX);
        println!(
            "appends over 50 ms: {} · over 100 ms: {} · over 500 ms: {} · over 1 s: {}",
            over(Duration::from_millis(50)),
            over(Duration::from_millis(100)),
            over(Duration::from_millis(500)),
            over(Duration::from_secs(1))
        );
        if self.stalls.is_empty() {
            println!("no stalls over {} ms", config.stall.as_millis());
            return;
        }
        println!(
            "stalls over {} ms, by the second the appends were due:",
            config.stall.as_millis()
        );
        println!("| second | appends | worst | appends answered when the first was answered |");
        println!("|---:|---:|---:|---:|");
        for (second, s) in &self.stalls {
            println!(
                "| {second} | {} | {} | {} |",
                s.appends,
                ms(s.worst),
                s.acknowledged
            );
        }
    }
}

async fn drive(
    config: &Config,
    shape: Shape,
    store: Arc<EmbeddedStore>,
    progress: Arc<Progress>,
) -> (Tail, Duration) {
    let total = config.rate * config.seconds;
    let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel::<(u64, Duration)>();
    let start = tokio::time::Instant::now();
    let per_tick = |elapsed: Duration| (elapsed.as_secs_f64() * config.rate as f64) as u64;
    let collector = {
        let progress = progress.clone();
        let mut tail = Tail::new(config);
        tokio::spawn(async move {
            while let Some((n, latency)) = done_rx.recv().await {
                tail.record(n, latency, progress.acknowledged.load(Ordering::Relaxed));
            }
            tail
        })
    };
    let mut next = 0u64;
    let mut ticker = tokio::time::interval(TICK);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    while next < total {
        ticker.tick().await;
        let due_by = per_tick(start.elapsed()).min(total);
        while next < due_by {
            let n = next;
            next += 1;
            // When append n was due: its latency counts from then, however late it was sent.
            let due = start + Duration::from_secs_f64(n as f64 / config.rate as f64);
            let request = request(config, shape, n);
            let store = store.clone();
            let done = done_tx.clone();
            let progress = progress.clone();
            tokio::spawn(async move {
                store.append(request).await.expect("append");
                progress.acknowledged.fetch_add(1, Ordering::Relaxed);
                let _ = done.send((n, due.elapsed()));
            });
        }
    }
    drop(done_tx);
    let tail = collector.await.expect("collector");
    (tail, start.elapsed())
}

/// The baseline: no store, only the disk, driven as the store's group commit drives it. One thread writes
/// [`DISK_BYTES_PER_APPEND`] bytes for every append due and not yet written, in one write, then
/// `fdatasync`s, and counts each of those appends answered then; it starts a new file every 64 MiB, as the
/// log starts a segment. What this shows of the tail is the disk's and the kernel's, which no store on this
/// machine can do better than.
fn run_disk(config: &Config, dir: &Path) {
    use std::io::Write;
    const SEGMENT: u64 = 64 << 20;
    let total = config.rate * config.seconds;
    println!();
    println!(
        "## disk: the baseline ({total} appends of {DISK_BYTES_PER_APPEND} bytes, written and synced in groups, no store)"
    );
    let mut tail = Tail::new(config);
    let open = |n: u32| std::fs::File::create(dir.join(format!("{n:08}.seg"))).expect("create a segment");
    let (mut file, mut segment, mut written_bytes) = (open(0), 0u32, 0u64);
    let buffer = vec![0x5au8; DISK_BYTES_PER_APPEND * 65_536];
    let start = Instant::now();
    let mut written = 0u64;
    while written < total {
        let due_by = ((start.elapsed().as_secs_f64() * config.rate as f64) as u64).min(total);
        if due_by == written {
            std::thread::sleep(Duration::from_micros(100));
            continue;
        }
        let group = (due_by - written).min(65_536);
        let bytes = group as usize * DISK_BYTES_PER_APPEND;
        if written_bytes + bytes as u64 > SEGMENT {
            file.sync_data().expect("sync");
            segment += 1;
            file = open(segment);
            written_bytes = 0;
        }
        file.write_all(&buffer[..bytes]).expect("write");
        file.sync_data().expect("sync");
        written_bytes += bytes as u64;
        let now = Instant::now();
        for n in written..written + group {
            let due = start + Duration::from_secs_f64(n as f64 / config.rate as f64);
            tail.record(n, now.saturating_duration_since(due), written);
        }
        written += group;
    }
    tail.report(config, start.elapsed());
}

/// Append number `n` of the shape: a registration for a child's first event, a contact after it.
fn request(config: &Config, shape: Shape, n: u64) -> journey_core::store::AppendRequest {
    let (child, version) = match shape {
        Shape::Disk => unreachable!("the disk baseline has no store"),
        Shape::PerEvent => (n, 0),
        Shape::PerChild => {
            // Children are written `active` at a time, round robin, each up to `events_per_child` events.
            let generation = n / (config.active * config.events_per_child);
            let within = n % (config.active * config.events_per_child);
            (
                generation * config.active + within % config.active,
                within / config.active,
            )
        }
    };
    let child_id = format!("sustained-{child:09}");
    let event_id = format!("{child_id}-{version}");
    let event = if version == 0 {
        registered(&event_id, "2015-03-01")
    } else {
        contact(&event_id, "2020-06-01")
    };
    append(&child_id, ExpectedVersion::Any, vec![event])
}

/// Opens the store in a child process, which prints its time and peak memory.
fn reopen(dir: &Path, children: u64) {
    let output = Command::new(std::env::current_exe().expect("this binary"))
        .arg("--open")
        .arg(dir)
        .arg(children.to_string())
        .output()
        .expect("run the open phase");
    print!("{}", String::from_utf8_lossy(&output.stdout));
    if !output.status.success() {
        println!(
            "the open phase failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

fn open_phase(dir: &Path, children: u64) {
    let started = Instant::now();
    let store = EmbeddedStore::open_with(dir, Arc::new(SystemClock), EmbeddedOptions::default())
        .expect("open the store");
    let took = started.elapsed();
    let report = store.open_report();
    let children = children.max(1);
    let peak = peak_rss_bytes().unwrap_or(0);
    println!(
        "open again: {} records, {} children in {:.2} s ({:.2} µs a child), peak RSS {} MiB ({:.0} bytes a child)",
        report.records,
        children,
        took.as_secs_f64(),
        took.as_secs_f64() * 1e6 / children as f64,
        peak >> 20,
        peak as f64 / children as f64
    );
    store.close().expect("close the store");
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}
