//! Shared test setup: a host, the guests, and children's streams recorded in an in-memory store.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use futures::executor::block_on;
use journey_core::ExpectedVersion;
use journey_core::store::{AppendRequest, EventStore, InMemoryStore};
use journey_core::view::AsOf;
use journey_core::{ChildId, NewEvent, RecordedEvent, Timestamp, Version, testkit};
use journey_plugins::{Calendar, Host, HostConfig, Limits, LoadedPolicy, PolicyInput, guests};

/// Limits for tests: small enough that the hostile guests fail fast, large enough for real policies.
pub fn test_limits() -> Limits {
    Limits {
        fuel: 100_000_000,
        memory_bytes: 32 << 20,
        deadline: Duration::from_secs(10),
        output_bytes: 256 << 10,
        log_bytes: 4 << 10,
    }
}

/// One host shared by the tests of this binary, as a server shares one: every hostile guest runs on it,
/// and well-behaved policies must keep working on it after each.
pub fn host() -> &'static Host {
    static HOST: OnceLock<Host> = OnceLock::new();
    HOST.get_or_init(|| {
        Host::new(HostConfig {
            limits: test_limits(),
            ..HostConfig::default()
        })
        .expect("a host")
    })
}

pub fn load(host: &Host, path: &str) -> Arc<LoadedPolicy> {
    host.load(&guests::bytes(path))
        .unwrap_or_else(|e| panic!("{path} should load: {e}"))
}

pub fn ts(s: &str) -> Timestamp {
    s.parse().expect("valid instant")
}

/// Records `events` (in the order given) for `child`, each at 20:00 UTC on the day it occurred (or just
/// after the previous record, if that is later), and returns the stream.
pub fn record(child: &str, events: Vec<NewEvent>) -> Vec<RecordedEvent> {
    record_at(child, events.into_iter().map(|e| (None, e)).collect())
}

/// As [`record`], each event recorded `days` days after it occurred (at 20:00 UTC).
pub fn record_late(child: &str, days: i32, events: Vec<NewEvent>) -> Vec<RecordedEvent> {
    let late = |e: &NewEvent| Some(ts(&format!("{}T20:00:00Z", e.occurred_at.date().add_days(days))));
    record_at(child, events.into_iter().map(|e| (late(&e), e)).collect())
}

/// As [`record`], with an explicit recording instant for some events (a late record, a correction).
pub fn record_at(child: &str, events: Vec<(Option<Timestamp>, NewEvent)>) -> Vec<RecordedEvent> {
    let clock = testkit::clock();
    let store = InMemoryStore::new(clock.clone());
    let mut last = Timestamp::UNIX_EPOCH;
    for (at, event) in events {
        let at = at.unwrap_or_else(|| ts(&format!("{}T20:00:00Z", event.occurred_at.date())));
        let at = at.max(last.plus_micros(1));
        clock.set(at);
        let id = event.event_id.clone();
        let request = AppendRequest {
            child_id: testkit::child(child),
            expected: ExpectedVersion::Any,
            recorded_by: testkit::principal(),
            events: vec![event],
        };
        if let Err(e) = block_on(store.append(request)) {
            panic!("{id} refused: {e:?}");
        }
        last = at;
    }
    block_on(store.read_stream(testkit::child(child), Version::FIRST, usize::MAX)).expect("read the stream")
}

/// The example stream of Child A (`journey_core::examples::example_streams`), each event recorded 30 days
/// after it occurred (some carry dates of their own a few days after the event, such as an assessment's
/// authorisation, which the rules refuse to record before they happen).
pub fn child_a() -> Vec<RecordedEvent> {
    example_child("EX-A")
}

/// The example stream of `child`, recorded as [`child_a`]'s is.
pub fn example_child(child: &str) -> Vec<RecordedEvent> {
    let (child, events): (ChildId, Vec<NewEvent>) = journey_core::examples::example_streams()
        .into_iter()
        .find(|(c, _)| c.as_str() == child)
        .expect("an example child");
    record_late(child.as_str(), 30, events)
}

/// The input judging `on`, as known at `known_at`.
pub fn input_as_of(events: &[RecordedEvent], on: &str, known_at: &str, parameters: &str) -> PolicyInput {
    let as_of = AsOf::new(testkit::date(on), ts(known_at));
    PolicyInput::from_stream(events, as_of, Calendar::england_and_wales(), parameters).expect("an input")
}

/// The input judging `on`, as known long afterwards (everything recorded).
pub fn input_on(events: &[RecordedEvent], on: &str, parameters: &str) -> PolicyInput {
    input_as_of(events, on, "2100-01-01T00:00:00Z", parameters)
}

/// An event from the JSON body the API accepts: `json_event("c-1", "2024-03-28T15:00", "ContactReceived",
/// json!({"source": "2A"}))`. The reference policies' tests build journeys this way, as their example
/// cases do.
pub fn json_event(id: &str, at: &str, kind: &str, data: serde_json::Value) -> NewEvent {
    let body = serde_json::json!({
        "event_id": id,
        "occurred_at": at,
        "source": {"agency": "la.testshire", "system": "testkit"},
        "type": kind,
        "data": data,
    });
    serde_json::from_value(body).unwrap_or_else(|e| panic!("{id} ({kind}): {e}"))
}

/// The registration opening a stream: born on `date_of_birth`, with any other `data` (disabilities...).
pub fn registration(date_of_birth: &str, mut data: serde_json::Value) -> NewEvent {
    data["date_of_birth"] = date_of_birth.into();
    data["sex"] = "F".into();
    json_event("reg", date_of_birth, "ChildRegistered", data)
}

/// A correction of `target` (which occurred at `target_at`, or is moved there) to `kind` with `data`.
pub fn correction(
    id: &str,
    on: &str,
    target: &str,
    target_at: &str,
    kind: &str,
    data: serde_json::Value,
) -> NewEvent {
    json_event(
        id,
        on,
        "EventCorrected",
        serde_json::json!({
            "target_event_id": target,
            "target_occurred_at": target_at,
            "replacement": {"type": kind, "data": data},
            "reason": "Recorded wrongly; corrected from the case file.",
        }),
    )
}

/// A retraction of `target`, entered in error.
pub fn retraction(id: &str, on: &str, target: &str) -> NewEvent {
    json_event(
        id,
        on,
        "EventRetracted",
        serde_json::json!({"target_event_id": target, "reason": "entered_in_error"}),
    )
}

/// Evaluates `path` on `input`, panicking with the policy's error.
pub fn decide(path: &str, input: &PolicyInput) -> journey_plugins::Decisions {
    let host = host();
    let policy = load(host, path);
    host.evaluate(&policy, input)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .decisions
}
