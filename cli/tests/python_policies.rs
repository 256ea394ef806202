//! Policies written in Python, built by `journey policy build` (componentize-py at the pinned version, from
//! Journey's managed environment: installed from PyPI on first use) and run in Journey's sandbox:
//!
//! * the Python twin of levels-of-need (`plugins/python/levels-of-need`) answers as the Rust reference
//!   policy does, for every child of a synthetic authority, in a dry run against the Rust version in force;
//! * a recorded decision of a Python policy replays byte for byte;
//! * Python policies that loop, allocate without bound or raise are contained as the Rust hostile guests are.
//!
//! They need `python3` (3.11 or later) and PyPI once. Without python3 they say SKIPPED on stderr; with
//! `JOURNEY_REQUIRE_PYTHON_POLICIES=1` (CI) they fail instead.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use futures::executor::block_on;
use journey_core::blobs::MemoryBlobStore;
use journey_core::journal::MemoryJournal;
use journey_core::store::{EventStore, InMemoryStore};
use journey_core::view::AsOf;
use journey_core::{ChildId, Clock, Date, ManualClock, PrincipalId, Version};
use journey_plugins::registry::{DeployRequest, EvaluateRequest, ExampleCase, Registry, VersionSelector};
use journey_plugins::{Calendar, Host, HostConfig, Limits, PluginError, PolicyInput, guests};
use journey_synth::{self as synth, AuthorityProfile};

const TWIN_VERSION: &str = "1.1.0-python";

fn checkout() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .unwrap()
}

/// Whether this machine can build Python policies at all; if not, SKIPPED (or, under CI, a failure).
fn python_available(test: &str) -> bool {
    let python = std::env::var("JOURNEY_PYTHON").unwrap_or_else(|_| "python3".into());
    let ok = Command::new(&python)
        .args(["-c", "import sys, venv; sys.exit(sys.version_info < (3, 11))"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            std::env::var("JOURNEY_REQUIRE_PYTHON_POLICIES").as_deref() != Ok("1"),
            "{test}: {python} (3.11 or later, with venv) is required (JOURNEY_REQUIRE_PYTHON_POLICIES=1)"
        );
        eprintln!("SKIPPED {test}: no {python} 3.11 or later with venv to build Python policies");
    }
    ok
}

/// Builds the Python policy in `plugins/python/<folder>` with `journey policy build`, from a copy in a
/// temporary folder (the build writes `.journey/` beside the policy), and returns the component's bytes.
fn build(folder: &str) -> Vec<u8> {
    let source = checkout().join("plugins/python").join(folder);
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("policy");
    std::fs::create_dir_all(&copy).unwrap();
    for entry in std::fs::read_dir(&source).unwrap().flatten() {
        let path = entry.path();
        // parameters.json and examples/ may be symbolic links to the Rust twin's: copy what they point at.
        if path.is_file() {
            std::fs::copy(&path, copy.join(entry.file_name())).unwrap();
        }
    }
    // The SDK of the checkout, by absolute path (the folder's own is relative to where it lives).
    let pyproject = std::fs::read_to_string(source.join("pyproject.toml")).unwrap();
    let sdk = checkout().join("plugins/sdk-python");
    let pyproject: String = pyproject
        .lines()
        .map(|line| {
            if line.starts_with("sdk = ") {
                format!("sdk = {:?}", sdk.display().to_string())
            } else {
                line.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(copy.join("pyproject.toml"), pyproject).unwrap();
    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_journey"))
        .args(["policy", "build"])
        .arg(&copy)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "journey policy build {folder}: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let wasm = stdout.trim().lines().last().unwrap();
    let bytes = std::fs::read(wasm).unwrap();
    eprintln!(
        "built {folder} in {:.1} s: {} bytes",
        started.elapsed().as_secs_f64(),
        bytes.len()
    );
    bytes
}

fn date(s: &str) -> Date {
    Date::parse_field("date", s).unwrap()
}

fn author() -> PrincipalId {
    PrincipalId::parse("policy-team").unwrap()
}

/// The Rust levels-of-need's parameters and example cases (the Python twin's are links to them).
fn levels_of_need_bundle() -> (serde_json::Value, Vec<ExampleCase>) {
    let dir = checkout().join("plugins/guests/policies/levels-of-need");
    let parameters =
        serde_json::from_str(&std::fs::read_to_string(dir.join("parameters.json")).unwrap()).unwrap();
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("examples"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    let examples = files
        .iter()
        .map(|f| serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap())
        .collect();
    (parameters, examples)
}

/// A registry with the Rust levels-of-need active from 2000 and the Python twin deployed beside it.
async fn registry_with_both(twin: Vec<u8>) -> Registry {
    let clock = Arc::new(ManualClock::new("2026-01-01T00:00:00Z".parse().unwrap()));
    let host = Arc::new(Host::new(HostConfig::default()).unwrap());
    let registry = Registry::open(
        Arc::new(MemoryJournal::new(clock)),
        Arc::new(MemoryBlobStore::default()),
        host,
        Calendar::england_and_wales().clone(),
        2,
    )
    .await
    .unwrap();
    let (parameters, examples) = levels_of_need_bundle();
    let deploy = |component| DeployRequest {
        component,
        parameters: parameters.clone(),
        effective_from: date("2000-01-01"),
        effective_to: None,
        author: "Journey's reference policies".into(),
        examples: examples.clone(),
    };
    let rust = registry
        .deploy(deploy(guests::bytes(guests::LEVELS_OF_NEED)), &author())
        .await
        .unwrap();
    registry
        .activate("levels-of-need", &rust.deployed.version, &author())
        .await
        .unwrap();
    let python = registry.deploy(deploy(twin), &author()).await.unwrap();
    assert_eq!(python.deployed.version, TWIN_VERSION);
    // The twin passes the reference policy's own example cases in the sandbox.
    let (_, outcomes) = registry
        .activate("levels-of-need", TWIN_VERSION, &author())
        .await
        .unwrap();
    assert!(outcomes.iter().all(|o| o.passed), "{outcomes:?}");
    registry
        .activate("levels-of-need", &rust.deployed.version, &author())
        .await
        .unwrap();
    registry
}

/// A synthetic authority of `children`, recorded into a store, and the instant its history ends.
fn authority(children: usize) -> (InMemoryStore, AuthorityProfile, Arc<ManualClock>) {
    let profile = AuthorityProfile::small().with_children(children);
    let appends: Vec<_> = synth::generate(22, &profile).collect();
    let clock = Arc::new(ManualClock::new(appends[0].recorded_at));
    let store = InMemoryStore::new(clock.clone());
    let report = block_on(synth::load(&store, &clock, appends)).unwrap();
    assert!(report.rejected.is_empty(), "{:?}", report.rejected.first());
    (store, profile, clock)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_twin_of_levels_of_need_answers_as_the_rust_policy_for_every_child() {
    if !python_available("the_python_twin_of_levels_of_need_answers_as_the_rust_policy_for_every_child") {
        return;
    }
    let twin = build("levels-of-need");
    let registry = registry_with_both(twin).await;
    let started = Instant::now();
    let children = 5_000;
    let (store, profile, clock) = authority(children);
    eprintln!(
        "generated and recorded {children} children in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let cohort: Vec<ChildId> = (0..children).map(|i| synth::child_id(&profile, i)).collect();
    let as_of = AsOf {
        on: profile.end,
        known_at: clock.now(),
    };
    let started = Instant::now();
    let report = registry
        .dry_run(&store, "levels-of-need", TWIN_VERSION, &cohort, as_of)
        .await
        .unwrap();
    eprintln!(
        "dry run of the twin against the Rust version over {children} children: {:.1} s, fuel {} in all, \
         at most {}",
        started.elapsed().as_secs_f64(),
        report.fuel_total,
        report.fuel_max
    );
    assert_eq!(report.compared_with.as_deref(), Some("1.1.0"));
    assert_eq!(report.evaluated, children, "{:?}", report.failures);
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    assert!(
        report.in_force_failures.is_empty(),
        "{:?}",
        report.in_force_failures
    );
    // Not one child's answer differs, nor (byte for byte) its reasons.
    assert_eq!(
        (report.differing_from_in_force, report.differing_only_in_reasons),
        (0, 0),
        "{:?}",
        report.changes
    );
    // The cohort exercises the rules: every level, and the alert.
    assert_eq!(report.levels.len(), 4, "{:?}", report.levels);
    assert!(
        report.alerts.contains_key("recorded-level-differs"),
        "{:?}",
        report.alerts
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorded_decision_of_a_python_policy_replays_byte_for_byte() {
    if !python_available("a_recorded_decision_of_a_python_policy_replays_byte_for_byte") {
        return;
    }
    let registry = registry_with_both(build("levels-of-need")).await;
    let (store, profile, clock) = authority(40);
    // The child with the longest journey.
    let mut longest = None;
    for i in 0..profile.children {
        let child = synth::child_id(&profile, i);
        let n = store
            .read_stream(child.clone(), Version::FIRST, usize::MAX)
            .await
            .unwrap()
            .len();
        if longest.as_ref().is_none_or(|(_, m)| n > *m) {
            longest = Some((child, n));
        }
    }
    let (child, events) = longest.unwrap();
    let request = EvaluateRequest {
        policy: "levels-of-need".into(),
        child_id: child,
        as_of: AsOf {
            on: profile.end,
            known_at: clock.now(),
        },
        version: VersionSelector::Pinned(TWIN_VERSION.into()),
        record: true,
    };
    let outcome = registry.evaluate(&store, &request, &author()).await.unwrap();
    let decision = outcome.decision.expect("recorded");
    let replay = registry.replay(&store, decision).await.unwrap();
    assert!(
        replay.identical && replay.input_identical && replay.engine_identical,
        "{events} events: {:?}",
        replay.differences
    );
    assert!(replay.differences.is_empty());
    // And evaluating again (a fresh instance from the same bytes) gives the same output hash.
    let again = registry
        .evaluate(
            &store,
            &EvaluateRequest {
                record: false,
                ..request
            },
            &author(),
        )
        .await
        .unwrap();
    assert_eq!(again.evaluation.output_hash, outcome.evaluation.output_hash);
}

/// The limits the hostile guests meet: the defaults but a short deadline.
fn hostile_host() -> Host {
    Host::new(HostConfig {
        limits: Limits {
            deadline: std::time::Duration::from_secs(10),
            ..Limits::default()
        },
        ..HostConfig::default()
    })
    .unwrap()
}

fn some_input() -> PolicyInput {
    let (store, profile, clock) = authority(3);
    let events =
        block_on(store.read_stream(synth::child_id(&profile, 0), Version::FIRST, usize::MAX)).unwrap();
    let as_of = AsOf {
        on: profile.end,
        known_at: clock.now(),
    };
    PolicyInput::from_stream(&events, as_of, Calendar::england_and_wales(), "{}").unwrap()
}

#[test]
fn python_policies_that_loop_allocate_without_bound_or_raise_are_contained() {
    if !python_available("python_policies_that_loop_allocate_without_bound_or_raise_are_contained") {
        return;
    }
    let host = hostile_host();
    let input = some_input();
    let limits = Limits::default();

    let looping = host.load(&build("hostile/infinite-loop")).unwrap();
    let err = host.evaluate(&looping, &input).unwrap_err();
    assert!(
        matches!(err, PluginError::OutOfFuel { limit, .. } if limit == limits.fuel),
        "{err}"
    );

    let hoarding = host.load(&build("hostile/unbounded-allocation")).unwrap();
    let err = host.evaluate(&hoarding, &input).unwrap_err();
    match &err {
        PluginError::MemoryLimit { requested, limit, .. } => {
            assert_eq!(*limit, limits.memory_bytes);
            assert!(requested > limit);
        }
        other => panic!("expected the memory limit, got {other}"),
    }

    let raising = host.load(&build("hostile/raises")).unwrap();
    let err = host.evaluate(&raising, &input).unwrap_err();
    match &err {
        PluginError::Trap { log, .. } | PluginError::Panic { log, .. } => {
            assert!(log.stderr.contains("KeyError"), "{}", log.stderr);
        }
        other => panic!("expected a crash reported with the traceback, got {other}"),
    }

    // The host still serves a well-behaved policy after each.
    let policy = host.load(&guests::bytes(guests::LEVELS_OF_NEED)).unwrap();
    assert!(host.evaluate(&policy, &input).is_ok());
}

/// The SDK's own tests (dates, working days, decoding, journeys: the Rust SDK's cases), natively.
#[test]
fn the_python_sdk_passes_its_own_tests() {
    if !python_available("the_python_sdk_passes_its_own_tests") {
        return;
    }
    let python = std::env::var("JOURNEY_PYTHON").unwrap_or_else(|_| "python3".into());
    let output = Command::new(python)
        .args(["-m", "unittest", "discover", "-s", "tests"])
        .current_dir(checkout().join("plugins/sdk-python"))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("OK"), "{stderr}");
}
