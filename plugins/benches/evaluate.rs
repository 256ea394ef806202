//! Policy evaluation speed (issue #3), with `cargo bench -p journey-plugins --bench evaluate`:
//!
//! 1. **One evaluation of each reference policy for a child with about 200 events**, end to end: building the
//!    input from the stream through the bitemporal view, instantiating, calling, decoding and checking the
//!    output (`Host::answer`). Median and p99 over many runs, beside a baseline measured in the same process
//!    on the same stream: one replay of the child summary (`ChildSummary::replay`), the core fold every
//!    input needs. Then the median with the evidence a recorded decision keeps (`Host::evaluate`, which also
//!    hashes the input and the output), and the input hash alone.
//! 2. **All reference policies over a whole large authority** (70,000 synthetic children by default), on
//!    `JOURNEY_BENCH_THREADS` threads (default 2): each thread generates a child, records it in a private
//!    in-memory store, builds the input once (the bitemporal view and summary are the same for every policy)
//!    and evaluates every policy on it with its own parameters (`Host::answer`, as the measures and dry runs
//!    do: nothing records these); nothing is kept, so memory stays bounded
//!    (peak RSS is reported). Generation is timed apart from evaluation.
//!
//! Knobs: `JOURNEY_BENCH_CHILDREN` (default 70000), `JOURNEY_BENCH_RUNS` (default 2000), `JOURNEY_BENCH_THREADS`,
//! `JOURNEY_BENCH_RESET_DIRTY_PAGES_ONLY=1` (the operator's opt-in, `HostConfig::reset_dirty_pages_only`).
//! Results and analysis: `docs/performance.md`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::executor::block_on;
use journey_core::store::{EventStore, InMemoryStore};
use journey_core::testkit::bench::{env_number, peak_rss_bytes};
use journey_core::view::{AsOf, ChildSummary};
use journey_core::{ManualClock, RecordedEvent, Timestamp, Version};
use journey_plugins::guests::REFERENCE_POLICIES;
use journey_plugins::{Calendar, Host, HostConfig, LoadedPolicy, PolicyInput};
use journey_synth::{self as synth, AuthorityProfile};

/// The allocator `journey serve` and `journey policy` use (cli/src/main.rs), so that what is measured is what
/// is deployed.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const SEED: u64 = 2026;

fn env_usize(name: &str, default: usize) -> usize {
    env_number(name, default as u64) as usize
}

/// One child's stream, recorded as the authority recorded it.
fn record(appends: Vec<synth::GeneratedAppend>) -> Vec<RecordedEvent> {
    let Some(first) = appends.first() else {
        return Vec::new();
    };
    let child = first.request.child_id.clone();
    let clock = Arc::new(ManualClock::new(first.recorded_at));
    let store = InMemoryStore::new(clock.clone());
    for append in appends {
        clock.set(append.recorded_at);
        // The generator's appends all pass the domain's rules (core's tests hold it for many seeds); one that
        // does not is a generator bug, and measuring a child cut short would hide it.
        let child = append.request.child_id.clone();
        if let Err(e) = block_on(store.append(append.request)) {
            panic!("the store refused a generated append for {child}: {e}");
        }
    }
    block_on(store.read_stream(child, Version::FIRST, usize::MAX)).expect("read back")
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn peak_rss_mib() -> f64 {
    peak_rss_bytes().map_or(f64::NAN, |b| b as f64 / (1024.0 * 1024.0))
}

struct Policy {
    name: String,
    loaded: Arc<LoadedPolicy>,
    parameters: String,
}

fn main() {
    // `cargo bench` passes `--bench`; ignore arguments.
    let children = env_usize("JOURNEY_BENCH_CHILDREN", 70_000);
    let runs = env_usize("JOURNEY_BENCH_RUNS", 2_000);
    let threads = env_usize("JOURNEY_BENCH_THREADS", 2);
    let reset_dirty_pages_only =
        std::env::var("JOURNEY_BENCH_RESET_DIRTY_PAGES_ONLY").is_ok_and(|v| v == "1");
    let host = Arc::new(
        Host::new(HostConfig {
            reset_dirty_pages_only,
            ..HostConfig::default()
        })
        .expect("a host"),
    );
    println!("host: the default configuration, reset_dirty_pages_only = {reset_dirty_pages_only}");
    let calendar = Calendar::england_and_wales().clone();
    assert!(!REFERENCE_POLICIES.is_empty(), "no reference policies are built");
    // The versions built from source (not the earlier ones frozen in plugins/reference/).
    let policies: Vec<Policy> = REFERENCE_POLICIES
        .iter()
        .filter(|p| p.dir.starts_with("policies/"))
        .map(|p| {
            let loaded = host.load(p.component).expect("a reference policy loads");
            Policy {
                name: loaded.info().name.clone(),
                loaded,
                parameters: serde_json::from_str::<serde_json::Value>(p.parameters)
                    .expect("parameters are JSON")
                    .to_string(),
            }
        })
        .collect();

    let profile = AuthorityProfile::large_authority();
    let as_of = AsOf {
        on: profile.end,
        known_at: Timestamp::parse_field("known_at", "2030-01-01T00:00:00Z").expect("an instant"),
    };

    // ---- 1. One child of about 200 events ----
    let deep = AuthorityProfile::deep_end();
    let (events, index) = (0..deep.children.min(400))
        .map(|i| (record(synth::generate_child(SEED, i, &deep)), i))
        .min_by_key(|(events, _)| events.len().abs_diff(200))
        .expect("children");
    let child_as_of = AsOf {
        on: deep.end,
        known_at: as_of.known_at,
    };
    println!(
        "single child: deep_end child #{index}, {} events, judged on {} as known at {}",
        events.len(),
        child_as_of.on,
        child_as_of.known_at
    );
    let sample = PolicyInput::from_stream(&events, child_as_of, &calendar, "{}").expect("input");
    println!(
        "  its input: {} events, canonical encoding {} bytes (what the input hash covers)",
        sample.events.len(),
        sample.canonical_bytes().len()
    );
    let mut baseline: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            std::hint::black_box(ChildSummary::replay(&events, child_as_of));
            start.elapsed()
        })
        .collect();
    baseline.sort();
    let baseline_median = percentile(&baseline, 0.5);
    println!(
        "  baseline ChildSummary::replay: median {:.1} µs, p99 {:.1} µs",
        micros(baseline_median),
        micros(percentile(&baseline, 0.99))
    );
    println!(
        "  {:<26} {:>8} {:>10} {:>9} {:>8} {:>12} {:>8} {:>9} {:>8} {:>7}",
        "policy",
        "input µs",
        "median µs",
        "p99 µs",
        "×replay",
        "+evidence µs",
        "hash µs",
        "fuel",
        "output B",
        "target"
    );
    let build = |policy: &Policy| {
        PolicyInput::from_stream(&events, child_as_of, &calendar, policy.parameters.clone()).expect("input")
    };
    for policy in &policies {
        for _ in 0..50 {
            host.evaluate(&policy.loaded, &build(policy))
                .expect("warm-up evaluation");
        }
        // What the target times: building the input, instantiating, calling, decoding and checking the
        // output (`Host::answer`, what dry runs and the measures run).
        let (mut total, mut inputs) = (Vec::with_capacity(runs), Vec::with_capacity(runs));
        let (mut fuel, mut output_bytes) = (0, 0);
        for _ in 0..runs {
            let start = Instant::now();
            let input = build(policy);
            let built = start.elapsed();
            let answer = host.answer(&policy.loaded, &input).expect("evaluation");
            total.push(start.elapsed());
            inputs.push(built);
            fuel = answer.fuel_used;
            output_bytes = answer.output.len();
        }
        // The same with the evidence a recorded decision keeps (`Host::evaluate`: the input's and the
        // output's hashes), and the input hash alone, timed apart.
        let (mut evidenced, mut hashes) = (Vec::with_capacity(runs), Vec::with_capacity(runs));
        for _ in 0..runs {
            let start = Instant::now();
            let input = build(policy);
            std::hint::black_box(host.evaluate(&policy.loaded, &input).expect("evaluation"));
            evidenced.push(start.elapsed());
            let hashing = Instant::now();
            std::hint::black_box(input.digest());
            hashes.push(hashing.elapsed());
        }
        for timings in [&mut total, &mut inputs, &mut evidenced, &mut hashes] {
            timings.sort();
        }
        let median = percentile(&total, 0.5);
        println!(
            "  {:<26} {:>8.1} {:>10.1} {:>9.1} {:>8.1} {:>12.1} {:>8.1} {:>9} {:>8} {:>7}",
            policy.name,
            micros(percentile(&inputs, 0.5)),
            micros(median),
            micros(percentile(&total, 0.99)),
            median.as_secs_f64() / baseline_median.as_secs_f64(),
            micros(percentile(&evidenced, 0.5)),
            micros(percentile(&hashes, 0.5)),
            fuel,
            output_bytes,
            if median < Duration::from_micros(100) {
                "met"
            } else {
                "MISSED"
            }
        );
    }

    // ---- 2. The whole authority ----
    println!(
        "authority: {} children of {} ({}), {} policies, {threads} threads, judged on {}",
        children,
        profile.name,
        profile.slug,
        policies.len(),
        as_of.on
    );
    let policies = Arc::new(policies);
    let wall = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let host = Arc::clone(&host);
            let policies = Arc::clone(&policies);
            let profile = profile.clone();
            let calendar = calendar.clone();
            std::thread::spawn(move || {
                let (mut generating, mut evaluating) = (Duration::ZERO, Duration::ZERO);
                let (mut evaluations, mut failures, mut events_seen) = (0usize, 0usize, 0usize);
                for i in (t..children).step_by(threads) {
                    let start = Instant::now();
                    let events = record(synth::generate_child(SEED, i, &profile));
                    generating += start.elapsed();
                    if events.is_empty() {
                        continue;
                    }
                    events_seen += events.len();
                    let start = Instant::now();
                    // One view of the child for all the policies; each gets its own parameters, swapped in.
                    match PolicyInput::from_stream(&events, as_of, &calendar, String::new()) {
                        Ok(mut input) => {
                            for policy in policies.iter() {
                                input.parameters.clone_from(&policy.parameters);
                                match host.answer(&policy.loaded, &input) {
                                    Ok(_) => evaluations += 1,
                                    Err(_) => failures += 1,
                                }
                            }
                        }
                        Err(_) => failures += policies.len(),
                    }
                    evaluating += start.elapsed();
                }
                (generating, evaluating, evaluations, failures, events_seen)
            })
        })
        .collect();
    let results: Vec<_> = workers.into_iter().map(|w| w.join().expect("worker")).collect();
    let wall = wall.elapsed();
    let generating: Duration = results.iter().map(|r| r.0).sum();
    let evaluating: Duration = results.iter().map(|r| r.1).sum();
    let evaluations: usize = results.iter().map(|r| r.2).sum();
    let failures: usize = results.iter().map(|r| r.3).sum();
    let events_seen: usize = results.iter().map(|r| r.4).sum();
    // The threads ran side by side, so the evaluation share of the wall time is evaluation ÷ (both) of it.
    let evaluation_wall = wall.mul_f64(evaluating.as_secs_f64() / (generating + evaluating).as_secs_f64());
    println!(
        "  {evaluations} evaluations ({failures} failed) over {events_seen} events: wall {:.1} s \
         (generating {:.1} s, evaluating {:.1} s of thread time); evaluation's share of the wall {:.1} s \
         (target < 30 s: {}); {:.0} evaluations/s; peak RSS {:.0} MiB",
        wall.as_secs_f64(),
        generating.as_secs_f64(),
        evaluating.as_secs_f64(),
        evaluation_wall.as_secs_f64(),
        if evaluation_wall < Duration::from_secs(30) {
            "met"
        } else {
            "MISSED"
        },
        evaluations as f64 / evaluation_wall.as_secs_f64(),
        peak_rss_mib()
    );
}
