//! The example cases every reference policy ships (`plugins/guests/policies/*/examples/*.json`), proven
//! against the real sandboxed evaluation: each case's events are recorded in an in-memory store with the
//! clock at the last moment of its evaluation date (in England), the policy judges that date as known then,
//! and the case's `expect` must be a subset of the decisions' JSON (objects key by key, arrays element by
//! element with the same length, scalars equal). This is the format the deployment registry runs before
//! activating a version; the registry's own runner is checked against the same cases below.

use std::sync::Arc;

use futures::executor::block_on;
use journey_core::ExpectedVersion;
use journey_core::store::{AppendRequest, EventStore, InMemoryStore};
use journey_core::view::AsOf;
use journey_core::{ChildId, Date, ManualClock, NewEvent, OccurredAt, PrincipalId, Version};
use journey_plugins::guests::{REFERENCE_POLICIES, ReferencePolicy};
use journey_plugins::registry::{ExampleCase, run_example};
use journey_plugins::{Calendar, PolicyInput};
use serde::Deserialize;
use serde_json::Value;

use crate::support::host;

/// One case, as the policy author writes it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    description: String,
    evaluation_date: Date,
    #[serde(default)]
    parameters: Option<Value>,
    events: Vec<NewEvent>,
    expect: Value,
}

/// Where `expected` is not a subset of `actual`, if anywhere.
fn mismatch(expected: &Value, actual: &Value, path: &str) -> Option<String> {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => e.iter().find_map(|(k, want)| match a.get(k) {
            Some(got) => mismatch(want, got, &format!("{path}.{k}")),
            None => Some(format!("{path}.{k}: missing")),
        }),
        (Value::Array(e), Value::Array(a)) if e.len() != a.len() => Some(format!(
            "{path}: expected {} entries, got {}: {actual:#}",
            e.len(),
            a.len()
        )),
        (Value::Array(e), Value::Array(a)) => e
            .iter()
            .zip(a)
            .enumerate()
            .find_map(|(i, (want, got))| mismatch(want, got, &format!("{path}[{i}]"))),
        _ if expected == actual => None,
        _ => Some(format!("{path}: expected {expected}, got {actual}")),
    }
}

/// Records the case's events as the registry does and evaluates it in the sandbox.
fn evaluate(policy: &ReferencePolicy, case: &Case) -> Result<Value, String> {
    let known_at = OccurredAt::on(case.evaluation_date.add_days(1))
        .to_timestamp()
        .plus_micros(-1);
    let store = InMemoryStore::new(Arc::new(ManualClock::new(known_at)));
    let child = ChildId::parse("example-child").unwrap();
    for (i, event) in case.events.iter().enumerate() {
        let request = AppendRequest {
            child_id: child.clone(),
            expected: ExpectedVersion::Any,
            recorded_by: PrincipalId::parse("example-runner").unwrap(),
            events: vec![event.clone()],
        };
        if let Err(e) = block_on(store.append(request)) {
            return Err(format!("events[{i}] refused: {e:?}"));
        }
    }
    let events = block_on(store.read_stream(child, Version::FIRST, usize::MAX)).unwrap();
    let defaults: Value = serde_json::from_str(policy.parameters).unwrap();
    let parameters = case.parameters.as_ref().unwrap_or(&defaults).to_string();
    let as_of = AsOf {
        on: case.evaluation_date,
        known_at,
    };
    let input = PolicyInput::from_stream(&events, as_of, Calendar::england_and_wales(), parameters).unwrap();
    let host = host();
    let loaded = host.load(policy.component).unwrap();
    let evaluation = host.evaluate(&loaded, &input).map_err(|e| e.to_string())?;
    Ok(serde_json::to_value(&evaluation.decisions).unwrap())
}

#[test]
fn every_reference_policy_ships_parameters_and_three_to_six_examples() {
    let mut dirs: Vec<&str> = REFERENCE_POLICIES.iter().map(|p| p.dir).collect();
    dirs.sort_unstable();
    assert_eq!(
        dirs,
        [
            "policies/care-leaver-entitlements",
            "policies/levels-of-need",
            "policies/retention",
            "policies/statutory-timescales",
            "policies/step-up-down",
            "reference/care-leaver-entitlements-1.0.1",
            "reference/levels-of-need-1.0.1",
            "reference/statutory-timescales-1.0.1",
            "reference/step-up-down-1.0.1",
        ]
    );
    for policy in REFERENCE_POLICIES {
        assert!(
            (3..=8).contains(&policy.examples.len()),
            "{}: {} examples",
            policy.dir,
            policy.examples.len()
        );
        let parameters: Value = serde_json::from_str(policy.parameters).unwrap();
        assert!(
            parameters.is_object(),
            "{}: parameters.json is an object",
            policy.dir
        );
    }
}

#[test]
fn the_shipped_examples_hold_in_the_sandbox() {
    let mut failures = Vec::new();
    for policy in REFERENCE_POLICIES {
        for (file, text) in policy.examples {
            let case: Case =
                serde_json::from_str(text).unwrap_or_else(|e| panic!("{}/examples/{file}: {e}", policy.dir));
            assert!(!case.name.is_empty() && !case.description.is_empty(), "{file}");
            assert!(case.expect.is_object(), "{file}: expect is an object");
            let first = serde_json::to_value(&case.events[0]).unwrap();
            assert_eq!(
                first["type"], "ChildRegistered",
                "{file}: the first event registers the child"
            );
            let actual = match evaluate(policy, &case) {
                Ok(actual) => actual,
                Err(e) => {
                    failures.push(format!("{}/examples/{file}: {e}", policy.dir));
                    continue;
                }
            };
            if let Some(problem) = mismatch(&case.expect, &actual, "") {
                failures.push(format!("{}/examples/{file}: {problem}\n{actual:#}", policy.dir));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn the_registry_runner_agrees_on_every_shipped_example() {
    let host = host();
    for policy in REFERENCE_POLICIES {
        let loaded = host.load(policy.component).unwrap();
        let parameters: Value = serde_json::from_str(policy.parameters).unwrap();
        for (file, text) in policy.examples {
            let case: ExampleCase = serde_json::from_str(text).unwrap();
            let outcome = run_example(host, &loaded, Calendar::england_and_wales(), &parameters, &case);
            assert!(
                outcome.passed,
                "{}/examples/{file}: {:?}",
                policy.dir, outcome.failure
            );
        }
    }
}

#[test]
fn the_shipped_parameters_are_the_defaults() {
    // Each policy reads its parameters over its own parameters.json: giving the file explicitly, or nothing,
    // decides the same.
    let host = host();
    for policy in REFERENCE_POLICIES {
        let loaded = host.load(policy.component).unwrap();
        let (_, text) = policy.examples[0];
        let case: Case = serde_json::from_str(text).unwrap();
        if case.parameters.is_some() {
            continue;
        }
        let events = crate::support::record("T-DEFAULTS", case.events.clone());
        let on = case.evaluation_date.to_string();
        let with_file = host
            .evaluate(
                &loaded,
                &crate::support::input_on(&events, &on, policy.parameters),
            )
            .unwrap();
        let with_nothing = host
            .evaluate(&loaded, &crate::support::input_on(&events, &on, "{}"))
            .unwrap();
        assert_eq!(with_file.output, with_nothing.output, "{}", policy.dir);
    }
}
