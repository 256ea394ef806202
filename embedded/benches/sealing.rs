//! What sealing each child's content costs (issue #19: at most 10 % of append throughput at 64 writers and
//! of a 1,000-event read): the same work on a store in the clear and on a sealed one, taking turns in one
//! process, reported as ratios.
//!
//! ```text
//! cargo bench -p journey-embedded --bench sealing
//! JOURNEY_BENCH_ROUNDS=6 JOURNEY_BENCH_SECONDS=5 cargo bench -p journey-embedded --bench sealing
//! ```
//!
//! * `JOURNEY_BENCH_ROUNDS` (default 4): rounds of (clear, sealed) appends, the order alternating.
//! * `JOURNEY_BENCH_SECONDS` (default 5): how long each append run lasts.
//! * `JOURNEY_BENCH_DIR` (default `$TMPDIR`, else `/tmp`): where the stores are made (not tmpfs).
//!
//! Reads are of one child's 1,000 events, interleaved with other children's in the log, with the read cache
//! off (every read decodes, and opens, every record), 1,000 times each way, alternating.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use futures::executor::block_on;
use journey_core::content_keys::LocalKek;
use journey_core::store::EventStore;
use journey_core::testkit::bench::env_number;
use journey_core::testkit::{append, child, contact, registered};
use journey_core::{ExpectedVersion, SystemClock, Version};
use journey_embedded::{EmbeddedOptions, EmbeddedStore};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const APPENDERS: usize = 64;
const READ_EVENTS: usize = 1_000;
const READ_SAMPLES: usize = 1_000;

fn options(sealed: bool) -> EmbeddedOptions {
    EmbeddedOptions {
        kek: sealed.then(|| Arc::new(LocalKek::from_bytes([7; 32])) as _),
        read_cache_events: 0,
        ..EmbeddedOptions::default()
    }
}

fn label(sealed: bool) -> &'static str {
    if sealed { "sealed" } else { "clear" }
}

/// `APPENDERS` threads, each on a child of its own, appending one event at a time and waiting for it to be
/// durable, for `duration`: acknowledged events per second.
fn appends(dir: &Path, sealed: bool, duration: Duration) -> f64 {
    let store = EmbeddedStore::open_with(dir, Arc::new(SystemClock), options(sealed)).expect("open");
    for t in 0..APPENDERS {
        let c = format!("a{t}");
        block_on(store.append(append(
            &c,
            ExpectedVersion::NoStream,
            vec![registered(&format!("{c}-0"), "2012-02-29")],
        )))
        .expect("register");
    }
    let start = Barrier::new(APPENDERS + 1);
    let stop = AtomicBool::new(false);
    let (count, elapsed) = std::thread::scope(|s| {
        let handles: Vec<_> = (0..APPENDERS)
            .map(|t| {
                let (store, start, stop) = (&store, &start, &stop);
                s.spawn(move || {
                    let c = format!("a{t}");
                    let mut version = Version(1);
                    start.wait();
                    let mut n = 0usize;
                    while !stop.load(Ordering::Relaxed) {
                        let id = format!("{c}-{}", version.0 + 1);
                        let request = append(
                            &c,
                            ExpectedVersion::Exact(version),
                            vec![contact(&id, "2023-05-01")],
                        );
                        version = block_on(store.append(request)).expect("append").events[0].version;
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        start.wait();
        let started = Instant::now();
        std::thread::sleep(duration);
        stop.store(true, Ordering::Relaxed);
        let count: usize = handles.into_iter().map(|h| h.join().expect("appender")).sum();
        (count, started.elapsed())
    });
    store.close().expect("close");
    count as f64 / elapsed.as_secs_f64()
}

/// A store whose child `reader` has `READ_EVENTS` records, each between records of 9 other children.
fn fill_for_reads(dir: &Path, sealed: bool) {
    let store = EmbeddedStore::open_with(dir, Arc::new(SystemClock), options(sealed)).expect("open");
    let children: Vec<String> = std::iter::once("reader".to_owned())
        .chain((0..9).map(|i| format!("other{i}")))
        .collect();
    for c in &children {
        block_on(store.append(append(
            c,
            ExpectedVersion::NoStream,
            vec![registered(&format!("{c}-0"), "2012-02-29")],
        )))
        .expect("register");
    }
    for e in 1..READ_EVENTS {
        for c in &children {
            let id = format!("{c}-{e}");
            block_on(store.append(append(c, ExpectedVersion::Any, vec![contact(&id, "2023-05-01")])))
                .expect("append");
        }
    }
    store.close().expect("close");
}

fn median(samples: &mut [Duration]) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn p99(samples: &mut [Duration]) -> Duration {
    samples.sort();
    samples[samples.len() * 99 / 100]
}

fn main() {
    let base: PathBuf = std::env::var_os("JOURNEY_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let rounds = env_number("JOURNEY_BENCH_ROUNDS", 4).max(1) as usize;
    let seconds = Duration::from_secs(env_number("JOURNEY_BENCH_SECONDS", 5).max(1));
    let work = tempfile::Builder::new()
        .prefix("journey-sealing-")
        .tempdir_in(&base)
        .expect("temp dir");

    // Appends at 64 writers: clear and sealed take turns, the first of each round alternating.
    let mut ratios = Vec::new();
    for round in 0..rounds {
        let order = if round % 2 == 0 {
            [false, true]
        } else {
            [true, false]
        };
        let mut rate = [0.0; 2];
        for sealed in order {
            let dir = work.path().join(format!("appends-{round}-{}", label(sealed)));
            rate[sealed as usize] = appends(&dir, sealed, seconds);
            std::fs::remove_dir_all(&dir).expect("clean up");
        }
        let ratio = rate[1] / rate[0];
        println!(
            "appends at {APPENDERS} writers, round {}: clear {:.0}/s, sealed {:.0}/s, sealed/clear {ratio:.3}",
            round + 1,
            rate[0],
            rate[1]
        );
        ratios.push(ratio);
    }
    ratios.sort_by(f64::total_cmp);
    let mean = ratios.iter().sum::<f64>() / ratios.len() as f64;
    println!(
        "appends at {APPENDERS} writers: sealed/clear median {:.3}, mean {mean:.3} (target >= 0.90)",
        ratios[ratios.len() / 2]
    );

    // Reads of a 1,000-event stream from the log (no cache), the two stores read in turns.
    let dirs = [false, true].map(|sealed| {
        let dir = work.path().join(format!("reads-{}", label(sealed)));
        fill_for_reads(&dir, sealed);
        dir
    });
    let stores = dirs.each_ref().map(|dir| {
        let sealed = dir.ends_with("reads-sealed");
        EmbeddedStore::open_with(dir, Arc::new(SystemClock), options(sealed)).expect("open")
    });
    let reader = child("reader");
    let mut samples = [Vec::with_capacity(READ_SAMPLES), Vec::with_capacity(READ_SAMPLES)];
    for i in 0..READ_SAMPLES * 2 {
        let which = (i + i / 2) % 2;
        let started = Instant::now();
        let events =
            block_on(stores[which].read_stream(reader.clone(), Version::FIRST, usize::MAX)).expect("read");
        samples[which].push(started.elapsed());
        assert_eq!(events.len(), READ_EVENTS);
    }
    let [clear, sealed] = &mut samples;
    let (clear_median, sealed_median) = (median(clear), median(sealed));
    println!(
        "read a {READ_EVENTS}-event stream from the log: clear median {:.3} ms p99 {:.3} ms, sealed median {:.3} ms \
         p99 {:.3} ms, sealed/clear time {:.3} (target <= 1.10)",
        clear_median.as_secs_f64() * 1e3,
        p99(clear).as_secs_f64() * 1e3,
        sealed_median.as_secs_f64() * 1e3,
        p99(sealed).as_secs_f64() * 1e3,
        sealed_median.as_secs_f64() / clear_median.as_secs_f64()
    );
}
