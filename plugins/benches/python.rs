//! Python policy evaluation (issue #22), beside the Rust policy it twins, in the same process:
//!
//! ```sh
//! journey policy build plugins/python/levels-of-need
//! journey policy build plugins/python/probes/empty
//! JOURNEY_PYTHON_TWIN=plugins/python/levels-of-need/.journey/levels-of-need.wasm \
//! JOURNEY_PYTHON_EMPTY=plugins/python/probes/empty/.journey/python-empty.wasm \
//!     cargo bench -p journey-plugins --bench python
//! ```
//!
//! 1. **One child of about 200 events** (the `deep_end` child `evaluate.rs` measures): the median and p99 of
//!    `Host::answer` for the Python twin of levels-of-need and for the Rust levels-of-need, and where the
//!    Python time goes: the empty probe with no events (instantiating the pre-initialised interpreter and
//!    calling it), the empty probe with the child's events (plus lowering the input into Python objects and
//!    the SDK's conversion), and the twin (plus the rules). Fuel for each, and the least memory limit (to
//!    1 MiB) under which the twin still answers, against the default limits.
//! 2. **A cohort** (`JOURNEY_BENCH_CHILDREN` of the large authority, default 2,000) on `JOURNEY_BENCH_THREADS`
//!    threads (default 2): both policies on every child as a dry run does, the evaluation time of each, and
//!    the time extrapolated to 70,000 children.
//!
//! `JOURNEY_BENCH_RUNS` (default 200) sets the runs of part 1; `JOURNEY_BENCH_KEEP_RESIDENT_MIB` the pool's
//! `memory_keep_resident` (default `HostConfig`'s). Results: `docs/performance.md`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::executor::block_on;
use journey_core::store::{EventStore, InMemoryStore};
use journey_core::testkit::bench::env_number;
use journey_core::view::AsOf;
use journey_core::{ManualClock, RecordedEvent, Timestamp, Version};
use journey_plugins::guests::{self, REFERENCE_POLICIES};
use journey_plugins::{Calendar, Host, HostConfig, Limits, LoadedPolicy, PluginError, PolicyInput};
use journey_synth::{self as synth, AuthorityProfile};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const SEED: u64 = 2026;

/// One child's stream as the authority recorded it; empty if the store refused one of its appends (the
/// cohort's count says how many were skipped).
fn record(appends: Vec<synth::GeneratedAppend>) -> Vec<RecordedEvent> {
    let Some(first) = appends.first() else {
        return Vec::new();
    };
    let child = first.request.child_id.clone();
    let clock = Arc::new(ManualClock::new(first.recorded_at));
    let store = InMemoryStore::new(clock.clone());
    for append in appends {
        clock.set(append.recorded_at);
        if block_on(store.append(append.request)).is_err() {
            return Vec::new();
        }
    }
    block_on(store.read_stream(child, Version::FIRST, usize::MAX)).expect("read back")
}

fn component(variable: &str) -> Vec<u8> {
    let path = std::env::var(variable).unwrap_or_else(|_| {
        panic!("{variable}: the path of the built component (see the header of plugins/benches/python.rs)")
    });
    std::fs::read(&path).unwrap_or_else(|e| panic!("{variable}={path}: {e}"))
}

struct Timing {
    median: Duration,
    p99: Duration,
    fuel: u64,
}

fn time(host: &Host, policy: &LoadedPolicy, input: &PolicyInput, runs: usize) -> Timing {
    for _ in 0..5 {
        host.answer(policy, input).expect("warm-up");
    }
    let mut fuel = 0;
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            let answer = host.answer(policy, input).expect("evaluation");
            fuel = answer.fuel_used;
            start.elapsed()
        })
        .collect();
    times.sort();
    Timing {
        median: times[times.len() / 2],
        p99: times[((times.len() - 1) as f64 * 0.99).round() as usize],
        fuel,
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The least memory limit, to 1 MiB, under which `bytes` still answers `input`.
fn least_memory(bytes: &[u8], input: &PolicyInput) -> usize {
    let answers = |mib: usize| {
        let host = Host::new(HostConfig {
            limits: Limits {
                memory_bytes: mib << 20,
                ..Limits::default()
            },
            concurrent_evaluations: 1,
            ..HostConfig::default()
        })
        .expect("a host");
        match host.load(bytes).and_then(|p| host.answer(&p, input)) {
            Ok(_) => true,
            Err(PluginError::MemoryLimit { .. }) => false,
            // A limit below the snapshot's own initial memory: the pool refuses the component.
            Err(PluginError::Compile(e)) if e.contains("pooling allocator") => false,
            Err(e) => panic!("{mib} MiB: {e}"),
        }
    };
    let (mut low, mut high) = (1, Limits::default().memory_bytes >> 20);
    assert!(
        answers(high),
        "the twin does not answer within the default memory limit"
    );
    while high - low > 1 {
        let mid = (low + high) / 2;
        if answers(mid) { high = mid } else { low = mid }
    }
    high << 20
}

fn main() {
    let runs = env_number("JOURNEY_BENCH_RUNS", 200) as usize;
    let children = env_number("JOURNEY_BENCH_CHILDREN", 2_000) as usize;
    let threads = env_number("JOURNEY_BENCH_THREADS", 2) as usize;
    // `JOURNEY_BENCH_KEEP_RESIDENT_MIB`: how much of each memory a pool slot keeps resident (and zeroes)
    // between instances; the default is `HostConfig`'s.
    let keep_resident = std::env::var("JOURNEY_BENCH_KEEP_RESIDENT_MIB")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .map_or(HostConfig::default().memory_keep_resident, |mib| mib << 20);
    println!(
        "host: the default configuration, memory_keep_resident = {} MiB",
        keep_resident >> 20
    );
    let host = Arc::new(
        Host::new(HostConfig {
            memory_keep_resident: keep_resident,
            ..HostConfig::default()
        })
        .expect("a host"),
    );
    let calendar = Calendar::england_and_wales().clone();
    let twin_bytes = component("JOURNEY_PYTHON_TWIN");
    let started = Instant::now();
    let twin = host.load(&twin_bytes).expect("the twin loads");
    println!(
        "python twin: {} bytes, compiled in {:.1} s",
        twin_bytes.len(),
        started.elapsed().as_secs_f64()
    );
    let empty = host
        .load(&component("JOURNEY_PYTHON_EMPTY"))
        .expect("the probe loads");
    let rust = host
        .load(&guests::bytes(guests::LEVELS_OF_NEED))
        .expect("the Rust policy loads");
    let parameters = REFERENCE_POLICIES
        .iter()
        .find(|p| p.dir == "policies/levels-of-need")
        .map(|p| {
            serde_json::from_str::<serde_json::Value>(p.parameters)
                .unwrap()
                .to_string()
        })
        .expect("levels-of-need is a reference policy");

    // ---- 1. One child of about 200 events ----
    let deep = AuthorityProfile::deep_end();
    let (events, index) = (0..deep.children.min(400))
        .map(|i| (record(synth::generate_child(SEED, i, &deep)), i))
        .min_by_key(|(events, _)| events.len().abs_diff(200))
        .expect("children");
    let known_at = Timestamp::parse_field("known_at", "2030-01-01T00:00:00Z").unwrap();
    let as_of = AsOf {
        on: deep.end,
        known_at,
    };
    let input = PolicyInput::from_stream(&events, as_of, &calendar, parameters.clone()).expect("input");
    let no_events = PolicyInput {
        events: Vec::new(),
        ..input.clone()
    };
    println!(
        "single child: deep_end child #{index}, {} events in its input; {runs} runs each",
        input.events.len()
    );
    let rust_timing = time(&host, &rust, &input, runs);
    let rows = [
        ("rust levels-of-need", &rust_timing),
        ("python empty, no events", &time(&host, &empty, &no_events, runs)),
        ("python empty, the events", &time(&host, &empty, &input, runs)),
        ("python twin", &time(&host, &twin, &input, runs)),
    ];
    println!(
        "  {:<26} {:>10} {:>10} {:>8} {:>11}",
        "", "median ms", "p99 ms", "× rust", "fuel"
    );
    for (name, t) in rows {
        println!(
            "  {name:<26} {:>10.2} {:>10.2} {:>8.1} {:>11}",
            ms(t.median),
            ms(t.p99),
            t.median.as_secs_f64() / rust_timing.median.as_secs_f64(),
            t.fuel
        );
    }
    let memory = least_memory(&twin_bytes, &input);
    let limits = Limits::default();
    println!(
        "  twin's margins: fuel {:.0}× ({} of {}), memory {:.1}× (answers with {} MiB, the limit is {} MiB)",
        limits.fuel as f64 / rows[3].1.fuel as f64,
        rows[3].1.fuel,
        limits.fuel,
        limits.memory_bytes as f64 / memory as f64,
        memory >> 20,
        limits.memory_bytes >> 20
    );

    // ---- 2. A cohort of the large authority, both policies on every child ----
    let profile = AuthorityProfile::large_authority();
    let as_of = AsOf {
        on: profile.end,
        known_at,
    };
    let policies = Arc::new([(twin, parameters.clone()), (rust, parameters)]);
    let wall = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let (host, policies, profile, calendar) = (
                Arc::clone(&host),
                Arc::clone(&policies),
                profile.clone(),
                calendar.clone(),
            );
            std::thread::spawn(move || {
                let mut spent = [Duration::ZERO; 2];
                let (mut evaluated, mut skipped) = (0, 0);
                for i in (t..children).step_by(threads) {
                    let events = record(synth::generate_child(SEED, i, &profile));
                    if events.is_empty() {
                        skipped += 1;
                        continue;
                    }
                    let input = PolicyInput::from_stream(&events, as_of, &calendar, policies[0].1.clone())
                        .expect("input");
                    for (k, (policy, _)) in policies.iter().enumerate() {
                        let start = Instant::now();
                        host.answer(policy, &input).expect("evaluation");
                        spent[k] += start.elapsed();
                    }
                    evaluated += 1;
                }
                (spent, evaluated, skipped)
            })
        })
        .collect();
    let results: Vec<_> = workers.into_iter().map(|w| w.join().expect("worker")).collect();
    let wall = wall.elapsed();
    let evaluated: usize = results.iter().map(|r| r.1).sum();
    let skipped: usize = results.iter().map(|r| r.2).sum();
    let python: Duration = results.iter().map(|r| r.0[0]).sum();
    let rust: Duration = results.iter().map(|r| r.0[1]).sum();
    let per_child = python.as_secs_f64() / evaluated as f64;
    println!(
        "cohort: {evaluated} children of {} ({skipped} skipped: a generated append refused) on {threads} threads, wall {:.1} s; python {:.2} ms/child, rust {:.3} \
         ms/child ({:.0}×); the python twin over 70,000 children on {threads} threads ≈ {:.0} s",
        profile.name,
        wall.as_secs_f64(),
        per_child * 1e3,
        rust.as_secs_f64() / evaluated as f64 * 1e3,
        python.as_secs_f64() / rust.as_secs_f64(),
        per_child * 70_000.0 / threads as f64
    );
}
