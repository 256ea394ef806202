//! Candidate duplicates from real streams: identities as known at an instant, amendments applied in
//! occurred order, retracted facts not counted.

use futures::executor::block_on;
use journey_core::store::{EventStore, InMemoryStore};
use journey_core::testkit;
use journey_core::view::duplicates::{MatchReason, bears_on_identity, candidates, identity};
use journey_core::{ExpectedVersion, NewEvent, RecordedEvent, Timestamp, Version};

fn event(id: &str, on: &str, kind: &str, data: serde_json::Value) -> NewEvent {
    serde_json::from_value(serde_json::json!({
        "event_id": id, "occurred_at": on, "source": {"agency": "la.testshire", "system": "cms"},
        "type": kind, "data": data,
    }))
    .unwrap()
}

fn stream(store: &InMemoryStore, child: &str, events: Vec<NewEvent>) -> Vec<RecordedEvent> {
    block_on(store.append(testkit::append(child, ExpectedVersion::NoStream, events))).unwrap();
    block_on(store.read_stream(testkit::child(child), Version::FIRST, usize::MAX)).unwrap()
}

#[test]
fn identities_follow_amendments_and_leave_retracted_facts_out() {
    let store = InMemoryStore::new(testkit::clock());
    let front_door = stream(
        &store,
        "fd-1",
        vec![
            event(
                "fd-1-r",
                "2015-03-10",
                "ChildRegistered",
                serde_json::json!({"given_name": "Aiden", "family_name": "Marsh", "date_of_birth": "2015-03-10", "sex": "M"}),
            ),
            // A wrong NHS number, recorded then retracted: not evidence.
            event(
                "fd-1-a",
                "2016-01-01",
                "ChildDetailsAmended",
                serde_json::json!({"nhs_number": "9434765919"}),
            ),
            event(
                "fd-1-x",
                "2016-01-02",
                "EventRetracted",
                serde_json::json!({"target_event_id": "fd-1-a", "reason": "entered_in_error"}),
            ),
        ],
    );
    let looked_after = stream(
        &store,
        "lac-9",
        vec![event(
            "lac-9-r",
            "2015-03-10",
            "ChildRegistered",
            serde_json::json!({"given_name": "Aidan", "family_name": "Marsh", "date_of_birth": "2015-03-10",
                                   "sex": "M", "nhs_number": "9434765919"}),
        )],
    );
    let other = stream(
        &store,
        "other-2",
        vec![event(
            "o-r",
            "2015-03-10",
            "ChildRegistered",
            serde_json::json!({"given_name": "Zara", "family_name": "Quint", "date_of_birth": "2015-03-10", "sex": "F"}),
        )],
    );
    let now: Timestamp = "2030-01-01T00:00:00Z".parse().unwrap();
    // What a whole-log scan keeps of each stream gives the same identity as the whole stream.
    let kept: Vec<RecordedEvent> = front_door
        .iter()
        .filter(|e| bears_on_identity(&e.payload))
        .cloned()
        .collect();
    assert_eq!(identity(&kept, now), identity(&front_door, now));
    let ids = [
        identity(&front_door, now),
        identity(&looked_after, now),
        identity(&other, now),
    ];
    assert_eq!(ids[0].nhs_number, None, "the retracted NHS number is not counted");
    let pairs = candidates(&ids);
    assert_eq!(pairs.len(), 1, "{pairs:?}");
    assert_eq!(
        (pairs[0].first.as_str(), pairs[0].second.as_str()),
        ("fd-1", "lac-9")
    );
    assert!(matches!(
        pairs[0].reasons[..],
        [MatchReason::SameDateOfBirthSimilarNames { .. }]
    ));
    assert_eq!(pairs[0].strength, "possible");
}
