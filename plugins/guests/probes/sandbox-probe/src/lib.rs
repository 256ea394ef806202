//! A well-behaved guest that reports what the sandbox looks like from inside: the clocks, the random
//! numbers, the environment, the arguments and the filesystem its standard library sees. It answers with
//! one alert whose message is that report as JSON, and writes to stdout and stderr so that the host's log
//! capture can be checked. Parameter `log_lines` (default 1) sets how many lines it prints to stdout.
//! Parameter `scribble_kib` (default 0) makes it allocate that much zeroed heap, count the bytes that are
//! not zero (memory freshly grown is taken to be zero, so the allocator does not clear it: anything left by
//! an earlier instance shows), and then fill it, so that the next evaluation in the slot can check too.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use journey_policy_sdk::*;
use serde::Deserialize;

struct SandboxProbe;

#[derive(Deserialize)]
#[serde(default)]
struct Parameters {
    log_lines: u32,
    scribble_kib: usize,
}

impl Default for Parameters {
    fn default() -> Parameters {
        Parameters {
            log_lines: 1,
            scribble_kib: 0,
        }
    }
}

impl Policy for SandboxProbe {
    fn about() -> PolicyInfo {
        PolicyInfo::new(
            "sandbox-probe",
            PolicyKind::Other,
            "0.1.0",
            "Reports the sandbox from inside.",
        )
    }

    // The probe reads the ambient clock on purpose, to show that the sandbox fixes it.
    #[allow(clippy::disallowed_methods)]
    fn evaluate(input: &EvaluationInput) -> Result<Decisions, PolicyError> {
        let parameters: Parameters = input.parameters()?;
        // Counts the evaluations this instance has served: always 1 when every evaluation gets a fresh
        // instance, however the host reuses memory between instances.
        let served = EVALUATIONS_SERVED.fetch_add(1, Ordering::Relaxed) + 1;
        let start = Instant::now();
        let wall_clock_ns = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let monotonic_elapsed_ns = start.elapsed().as_nanos();
        // `RandomState` is seeded from the WASI random source.
        let random_hash = RandomState::new().hash_one(42u64);
        let map: HashMap<u32, u32> = (0..16).map(|i| (i, i)).collect();
        let hash_map_order: Vec<u32> = map.keys().copied().collect();
        let mut heap = vec![0u8; parameters.scribble_kib << 10];
        let leftover_heap_bytes = heap.iter().filter(|b| **b != 0).count();
        heap.fill(0xAB);
        std::hint::black_box(&heap);
        let report = serde_json::json!({
            "wall_clock_ns": wall_clock_ns.to_string(),
            "monotonic_elapsed_ns": monotonic_elapsed_ns.to_string(),
            "random_hash": random_hash.to_string(),
            "hash_map_order": hash_map_order,
            "env_vars": std::env::vars().count(),
            "args": std::env::args().count(),
            "root_dir_readable": std::fs::read_dir("/").is_ok(),
            "cwd": std::env::current_dir().map(|p| p.display().to_string()).ok(),
            "events": input.events.len(),
            "evaluations_served_by_this_instance": served,
            "leftover_heap_bytes": leftover_heap_bytes,
        });
        for i in 0..parameters.log_lines {
            println!("probe: stdout line {i}");
        }
        eprintln!("probe: hello from stderr");
        let mut decisions = Decisions::default();
        decisions.alerts.push(Alert {
            code: "sandbox-probe".into(),
            severity: Severity::Info,
            message: report.to_string(),
            reasons: vec![Reason::because("what the sandbox looks like from inside")],
        });
        Ok(decisions)
    }
}

static EVALUATIONS_SERVED: AtomicU32 = AtomicU32::new(0);

export_policy!(SandboxProbe);
