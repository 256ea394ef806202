//! The same policy bytes, engine configuration and input give byte-identical output, on fresh hosts; and
//! what a guest can observe of time and chance is the same every run.

use journey_plugins::guests::{SANDBOX_PROBE, STATUTORY_TIMESCALES};
use journey_plugins::{Contract, Digest, Evaluation, Host, HostConfig, Limits, guests};

use crate::support::{child_a, input_on, load, test_limits};

fn fresh_host() -> Host {
    Host::new(HostConfig {
        limits: test_limits(),
        ..HostConfig::default()
    })
    .unwrap()
}

fn evaluate_on_fresh_host(path: &str, on: &str) -> Evaluation {
    let host = fresh_host();
    let policy = load(&host, path);
    host.evaluate(&policy, &input_on(&child_a(), on, "")).unwrap()
}

#[test]
fn same_bytes_config_and_input_give_byte_identical_output() {
    for on in ["2007-10-05", "2008-01-01", "2026-03-01"] {
        let a = evaluate_on_fresh_host(STATUTORY_TIMESCALES, on);
        let b = evaluate_on_fresh_host(STATUTORY_TIMESCALES, on);
        assert_eq!(a.output, b.output, "{on}");
        assert_eq!(a.output_hash, Digest::of(&a.output));
        assert_eq!(
            (
                a.output_hash,
                a.input_hash,
                a.policy_hash,
                a.engine_config_hash,
                a.fuel_used
            ),
            (
                b.output_hash,
                b.input_hash,
                b.policy_hash,
                b.engine_config_hash,
                b.fuel_used
            ),
            "{on}: the evidence agrees, fuel included"
        );
        assert_eq!(a.policy_hash, Digest::of(&guests::bytes(STATUTORY_TIMESCALES)));
        assert!(a.fuel_used > 0);
    }
}

#[test]
fn clocks_and_random_numbers_are_the_same_every_run() {
    let a = evaluate_on_fresh_host(SANDBOX_PROBE, "2008-01-01");
    let b = evaluate_on_fresh_host(SANDBOX_PROBE, "2008-01-01");
    assert_eq!(a.output, b.output);
    // And within one host, run after run.
    let host = fresh_host();
    let policy = load(&host, SANDBOX_PROBE);
    let input = input_on(&child_a(), "2008-01-01", "");
    let first = host.evaluate(&policy, &input).unwrap();
    for _ in 0..3 {
        assert_eq!(host.evaluate(&policy, &input).unwrap().output, first.output);
    }
    assert_eq!(first.output, a.output);
    let report: serde_json::Value = serde_json::from_str(&a.decisions.alerts[0].message).unwrap();
    assert_ne!(
        report["random_hash"], "0",
        "random numbers are produced, just always the same"
    );
}

#[test]
fn the_engine_configuration_hash_covers_what_changes_results() {
    let base = fresh_host();
    assert_eq!(
        base.engine_config_hash(Contract::V1),
        fresh_host().engine_config_hash(Contract::V1)
    );
    let more_fuel = Host::new(HostConfig {
        limits: Limits {
            fuel: test_limits().fuel + 1,
            ..test_limits()
        },
        ..HostConfig::default()
    })
    .unwrap();
    assert_ne!(
        base.engine_config_hash(Contract::V1),
        more_fuel.engine_config_hash(Contract::V1)
    );
    // The deadline is a backstop only: it does not change what a finished evaluation returns.
    let longer_deadline = Host::new(HostConfig {
        limits: Limits {
            deadline: test_limits().deadline * 2,
            ..test_limits()
        },
        ..HostConfig::default()
    })
    .unwrap();
    assert_eq!(
        base.engine_config_hash(Contract::V1),
        longer_deadline.engine_config_hash(Contract::V1)
    );
    let settings = base.engine_settings(Contract::V1);
    assert!(settings.cranelift_nan_canonicalization && !settings.relaxed_simd && !settings.threads);
    assert!(settings.wasmtime.starts_with("48."), "{}", settings.wasmtime);
    assert_eq!(
        base.engine_config_hash(Contract::V1),
        Digest::of(&serde_json::to_vec(settings).unwrap())
    );
}

/// Instances come from a pool whose slots are reused: more evaluations at once than there are slots wait
/// for one instead of failing, and every evaluation still runs in an instance of its own, with nothing left
/// over from the evaluation that used the slot before.
#[test]
fn a_small_instance_pool_serves_many_threads_with_a_fresh_instance_each_time() {
    let host = Host::new(HostConfig {
        limits: test_limits(),
        concurrent_evaluations: 2,
        ..HostConfig::default()
    })
    .unwrap();
    let policy = load(&host, SANDBOX_PROBE);
    let input = input_on(&child_a(), "2008-01-01", "");
    let outputs: Vec<Vec<u8>> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..8)
            .map(|_| {
                s.spawn(|| {
                    (0..5)
                        .map(|_| host.evaluate(&policy, &input).expect("an evaluation").output)
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers.into_iter().flat_map(|w| w.join().unwrap()).collect()
    });
    assert_eq!(outputs.len(), 40);
    assert!(outputs.iter().all(|o| *o == outputs[0]), "identical every time");
    let evaluation = host.evaluate(&policy, &input).unwrap();
    let report: serde_json::Value = serde_json::from_str(&evaluation.decisions.alerts[0].message).unwrap();
    assert_eq!(report["evaluations_served_by_this_instance"], 1);
}

/// Nothing an evaluation writes reaches the next one in the same pool slot, whichever way the slot's memory
/// is reset (all of the kept-resident part, or only the pages written, where the kernel can tell): the
/// probe fills 8 MiB of heap, twice the part kept resident, and the next evaluation finds it all zero.
#[test]
fn an_evaluation_never_sees_what_the_one_before_it_wrote() {
    for reset_dirty_pages_only in [false, true] {
        let host = match Host::new(HostConfig {
            limits: test_limits(),
            concurrent_evaluations: 1,
            reset_dirty_pages_only,
            ..HostConfig::default()
        }) {
            Ok(host) => host,
            // Refused on a machine with swap, which is what it is for.
            Err(e) if reset_dirty_pages_only && e.to_string().contains("swap is on") => continue,
            Err(e) => panic!("{e}"),
        };
        let policy = load(&host, SANDBOX_PROBE);
        let input = input_on(&child_a(), "2008-01-01", r#"{"scribble_kib": 8192}"#);
        for run in 0..3 {
            let evaluation = host.evaluate(&policy, &input).unwrap();
            let report: serde_json::Value =
                serde_json::from_str(&evaluation.decisions.alerts[0].message).unwrap();
            assert_eq!(
                report["leftover_heap_bytes"], 0,
                "run {run}, reset_dirty_pages_only {reset_dirty_pages_only}"
            );
        }
    }
}

/// A policy's bytes are its identity (a version whose bytes change is refused), so they must be the same
/// wherever the checkout is and whoever's cargo home built them. Two things made them differ: panic
/// locations carried absolute paths (`build.rs` now remaps the checkout and cargo home), and cargo hashed the
/// SDK's absolute path into every symbol because the SDK sat outside the guests' workspace (it is now inside,
/// through the `plugins/guests/sdk` symlink). Checked by hand: two copies of the tree, built in directories
/// of different lengths, give byte-identical reference policies. This test guards the first cause; the
/// second shows in `Cargo.toml`.
#[test]
fn the_guests_bytes_name_neither_the_checkout_nor_the_cargo_home() {
    let checkout = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("plugins/ is in the checkout");
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| std::path::PathBuf::from(home).join(".cargo")));
    let forbidden: Vec<String> = std::iter::once(checkout.to_path_buf())
        .chain(cargo_home)
        .map(|p| p.display().to_string())
        .collect();
    let contains = |bytes: &[u8], needle: &str| bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
    let mut remapped_registry_paths = 0;
    for (dir, path) in guests::ALL {
        let bytes = guests::bytes(path);
        for needle in &forbidden {
            assert!(!contains(&bytes, needle), "guest {dir} names {needle}");
        }
        remapped_registry_paths += usize::from(contains(&bytes, "/cargo-home/registry/"));
    }
    // Registry crates' panic locations are there, under the fixed name: the search above looks where the
    // paths are.
    assert!(
        remapped_registry_paths > 0,
        "no guest carries a remapped registry path"
    );
}
