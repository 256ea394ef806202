//! Example cases: the worked journeys a policy version ships with, run before it may be activated.
//!
//! A case is a child's events (exactly the JSON the API accepts, registration first) and what the decisions
//! must contain. The events are recorded in a fresh in-memory store with a clock standing at the last moment
//! of the evaluation date (England), and the policy judges that date as known then. `expect` is a JSON object
//! that must be a *subset* of the decisions' JSON: objects match key by key (keys not named are not checked);
//! arrays must have the same length, element by element matching the same way; scalars must be equal. So a
//! case states what matters ("the initial conference was missed by 3 working days") without restating every
//! reason's wording, and still pins down how many deadlines, entitlements or alerts there are.

use futures::executor::block_on;
use journey_core::ExpectedVersion;
use journey_core::store::{AppendRequest, EventStore, InMemoryStore};
use journey_core::view::AsOf;
use journey_core::{ChildId, Date, ManualClock, NewEvent, OccurredAt, PrincipalId, Version};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

use crate::host::{Host, LoadedPolicy};
use crate::{Calendar, PolicyInput};

/// One worked case.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExampleCase {
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    pub evaluation_date: Date,
    /// Parameters for this case; the version's own when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<serde_json::Value>,
    /// The child's events in the order recorded; the first registers the child.
    pub events: Vec<NewEvent>,
    /// A JSON object that must be a subset of the decisions.
    pub expect: serde_json::Value,
}

/// Why a case failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExampleFailure {
    pub case: String,
    /// Where in the decisions (or the case) the problem is: `deadlines[2].status`, `events[3]`.
    pub path: String,
    pub problem: String,
}

/// The result of one case.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExampleOutcome {
    pub case: String,
    pub passed: bool,
    pub failure: Option<ExampleFailure>,
    pub fuel_used: Option<u64>,
}

/// The canonical JSON of a list of cases: what the blob store keeps and `examples_hash` covers.
pub(crate) fn canonical_json(cases: &[ExampleCase]) -> Vec<u8> {
    serde_json::to_vec(cases).expect("example cases serialise")
}

/// Runs one case against `policy`, with `parameters` unless the case has its own.
pub fn run_example(
    host: &Host,
    policy: &LoadedPolicy,
    calendar: &Calendar,
    parameters: &serde_json::Value,
    case: &ExampleCase,
) -> ExampleOutcome {
    let fail = |path: String, problem: String| ExampleOutcome {
        case: case.name.clone(),
        passed: false,
        failure: Some(ExampleFailure {
            case: case.name.clone(),
            path,
            problem,
        }),
        fuel_used: None,
    };
    // The last microsecond of the evaluation date in England.
    let known_at = OccurredAt::on(case.evaluation_date.add_days(1))
        .to_timestamp()
        .plus_micros(-1);
    let clock = Arc::new(ManualClock::new(known_at));
    let store = InMemoryStore::new(clock);
    let child = ChildId::parse("example-child").expect("a valid id");
    let principal = PrincipalId::parse("example-runner").expect("a valid id");
    for (i, event) in case.events.iter().enumerate() {
        let request = AppendRequest {
            child_id: child.clone(),
            expected: ExpectedVersion::Any,
            recorded_by: principal.clone(),
            events: vec![event.clone()],
        };
        if let Err(e) = block_on(store.append(request)) {
            return fail(format!("events[{i}]"), format!("the event was refused: {e}"));
        }
    }
    let events = match block_on(store.read_stream(child, Version::FIRST, usize::MAX)) {
        Ok(events) => events,
        Err(e) => return fail("events".into(), e.to_string()),
    };
    let parameters = super::canonical_json(case.parameters.as_ref().unwrap_or(parameters));
    let as_of = AsOf {
        on: case.evaluation_date,
        known_at,
    };
    let input = match PolicyInput::from_stream(&events, as_of, calendar, parameters) {
        Ok(input) => input,
        Err(e) => return fail("events".into(), e.to_string()),
    };
    let evaluation = match host.answer(policy, &input) {
        Ok(evaluation) => evaluation,
        Err(e) => return fail(String::new(), format!("the evaluation failed: {e}")),
    };
    let actual = serde_json::to_value(&evaluation.decisions).expect("decisions serialise");
    match contains(&case.expect, &actual, String::new()) {
        Ok(()) => ExampleOutcome {
            case: case.name.clone(),
            passed: true,
            failure: None,
            fuel_used: Some(evaluation.fuel_used),
        },
        Err((path, problem)) => ExampleOutcome {
            fuel_used: Some(evaluation.fuel_used),
            ..fail(path, problem)
        },
    }
}

/// Whether `expected` is a subset of `actual` (see the module documentation); on failure, where and why.
pub(crate) fn contains(
    expected: &serde_json::Value,
    actual: &serde_json::Value,
    path: String,
) -> Result<(), (String, String)> {
    use serde_json::Value;
    match (expected, actual) {
        (Value::Object(expected), Value::Object(actual)) => {
            for (key, want) in expected {
                let here = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                match actual.get(key) {
                    Some(got) => contains(want, got, here)?,
                    None => return Err((here, "is missing from the decisions".into())),
                }
            }
            Ok(())
        }
        (Value::Array(expected), Value::Array(actual)) => {
            if expected.len() != actual.len() {
                return Err((
                    path,
                    format!(
                        "expected {} entries, but the policy decided {}",
                        expected.len(),
                        actual.len()
                    ),
                ));
            }
            for (i, (want, got)) in expected.iter().zip(actual).enumerate() {
                contains(want, got, format!("{path}[{i}]"))?;
            }
            Ok(())
        }
        _ if expected == actual => Ok(()),
        _ => Err((
            path,
            format!("expected {expected}, but the policy decided {actual}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::contains;
    use serde_json::json;

    #[test]
    fn expectations_are_subsets_of_objects_and_equal_elsewhere() {
        let actual = json!({"level_of_need": {"level": 3, "label": "Targeted"}, "alerts": [1, 2]});
        assert!(contains(&json!({"level_of_need": {"level": 3}}), &actual, String::new()).is_ok());
        assert!(contains(&json!({"alerts": [1, 2]}), &actual, String::new()).is_ok());
        let (path, problem) =
            contains(&json!({"level_of_need": {"level": 4}}), &actual, String::new()).unwrap_err();
        assert_eq!(path, "level_of_need.level");
        assert!(problem.contains("expected 4"), "{problem}");
        assert_eq!(
            contains(&json!({"alerts": [1]}), &actual, String::new())
                .unwrap_err()
                .0,
            "alerts"
        );
        let deadlines =
            json!({"deadlines": [{"name": "a", "status": "met"}, {"name": "b", "status": "open"}]});
        assert!(
            contains(
                &json!({"deadlines": [{"name": "a"}, {"status": "open"}]}),
                &deadlines,
                String::new()
            )
            .is_ok()
        );
        assert_eq!(
            contains(
                &json!({"deadlines": [{"name": "a"}, {"status": "met"}]}),
                &deadlines,
                String::new()
            )
            .unwrap_err()
            .0,
            "deadlines[1].status"
        );
        assert_eq!(
            contains(&json!({"step": null}), &actual, String::new())
                .unwrap_err()
                .0,
            "step"
        );
    }
}
