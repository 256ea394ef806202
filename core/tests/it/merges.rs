//! One child, one record (issue #20), in core: the rules a merge keeps in each record, the union a merged
//! child is read as, the merges the domain refuses, and the inconsistencies a merged summary shows.

use futures::executor::block_on;
use journey_core::store::{EventStore, InMemoryStore};
use journey_core::testkit;
use journey_core::view::merge::{merge_problems, merged_stream, merged_version};
use journey_core::view::{AsOf, ChildSummary, Chronology, ChronologyOptions};
use journey_core::{Error, ExpectedVersion, NewEvent, RecordedEvent, Timestamp, Version};

fn event(id: &str, on: &str, kind: &str, data: serde_json::Value) -> NewEvent {
    serde_json::from_value(serde_json::json!({
        "event_id": id, "occurred_at": on, "source": {"agency": "la.testshire", "system": "cms"},
        "type": kind, "data": data,
    }))
    .unwrap()
}

fn registered(id: &str, dob: &str) -> NewEvent {
    event(
        id,
        dob,
        "ChildRegistered",
        serde_json::json!({"date_of_birth": dob, "sex": "F"}),
    )
}

fn looked_after(id: &str, on: &str) -> NewEvent {
    event(
        id,
        on,
        "BecameLookedAfter",
        serde_json::json!({"legal_status": "C2", "category_of_need": "N1",
            "placement": {"place_type": "U4", "provider": "PR1"}}),
    )
}

fn merged_into(id: &str, on: &str, survivor: &str) -> NewEvent {
    event(
        id,
        on,
        "RecordMergedInto",
        serde_json::json!({"surviving_child_id": survivor, "reason": "same NHS number"}),
    )
}

fn merged_from(id: &str, on: &str, merged: &str, merge_event: &str) -> NewEvent {
    event(
        id,
        on,
        "RecordMergedFrom",
        serde_json::json!({"merged_child_id": merged, "merge_event_id": merge_event, "reason": "same NHS number"}),
    )
}

fn undone(id: &str, on: &str, merge_event: &str) -> NewEvent {
    event(
        id,
        on,
        "MergeUndone",
        serde_json::json!({"merge_event_id": merge_event, "reason": "not the same child"}),
    )
}

/// A store whose clock stands in 2025, after every date used here.
fn new_store() -> InMemoryStore {
    let clock = testkit::clock();
    clock.set("2025-01-01T09:00:00Z".parse().unwrap());
    InMemoryStore::new(clock)
}

fn append(store: &InMemoryStore, child: &str, events: Vec<NewEvent>) -> Result<(), Error> {
    block_on(store.append(testkit::append(child, ExpectedVersion::Any, events))).map(|_| ())
}

fn stream(store: &InMemoryStore, child: &str) -> Vec<RecordedEvent> {
    block_on(store.read_stream(testkit::child(child), Version::FIRST, usize::MAX)).unwrap()
}

fn problems(e: Error) -> Vec<(String, String)> {
    match e {
        Error::Invalid(p) => p.0.into_iter().map(|f| (f.field, f.message)).collect(),
        other => panic!("expected problems, got {other:?}"),
    }
}

#[test]
fn a_merged_record_refuses_appends_naming_the_survivor_until_the_merge_is_undone() {
    let store = new_store();
    append(&store, "lac-9", vec![registered("a1", "2019-04-01")]).unwrap();
    append(&store, "lac-9", vec![merged_into("a2", "2024-05-01", "fd-1")]).unwrap();

    let refused = problems(append(&store, "lac-9", vec![looked_after("a3", "2024-05-02")]).unwrap_err());
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0].0, "events[0].child_id");
    assert!(refused[0].1.contains("merged into fd-1"), "{refused:?}");

    // The merge event itself is never corrected or retracted: it is undone.
    let retraction = event(
        "a4",
        "2024-05-02",
        "EventRetracted",
        serde_json::json!({"target_event_id": "a2", "reason": "entered_in_error"}),
    );
    let refused = problems(append(&store, "lac-9", vec![retraction]).unwrap_err());
    assert!(refused[0].0.ends_with("child_id"), "{refused:?}");

    append(&store, "lac-9", vec![undone("a5", "2024-05-03", "a2")]).unwrap();
    append(&store, "lac-9", vec![looked_after("a6", "2024-05-04")]).unwrap();
    let refused = problems(append(&store, "lac-9", vec![undone("a7", "2024-05-05", "a2")]).unwrap_err());
    assert_eq!(
        refused[0],
        (
            "events[0].data.merge_event_id".into(),
            "has already been undone".into()
        )
    );
}

#[test]
fn a_record_is_not_merged_into_itself_twice_or_while_it_holds_others() {
    let store = new_store();
    append(&store, "fd-1", vec![registered("b1", "2019-04-01")]).unwrap();
    let refused =
        problems(append(&store, "fd-1", vec![merged_into("b2", "2024-05-01", "fd-1")]).unwrap_err());
    assert_eq!(refused[0].0, "events[0].data.surviving_child_id");
    assert!(refused[0].1.contains("is this child"));

    append(
        &store,
        "fd-1",
        vec![merged_from("b3", "2024-05-01", "lac-9", "a2")],
    )
    .unwrap();
    let refused = problems(
        append(
            &store,
            "fd-1",
            vec![merged_from("b4", "2024-05-01", "lac-9", "a2")],
        )
        .unwrap_err(),
    );
    assert!(
        refused[0].1.contains("already merged into this record"),
        "{refused:?}"
    );
    let refused = problems(append(&store, "fd-1", vec![merged_into("b5", "2024-05-01", "x-1")]).unwrap_err());
    assert!(refused[0].1.contains("has absorbed lac-9"), "{refused:?}");
    let correction = event(
        "b6",
        "2024-05-02",
        "EventCorrected",
        serde_json::json!({"target_event_id": "b3", "reason": "typo",
            "replacement": {"type": "RecordMergedFrom", "data": {"merged_child_id": "lac-8", "merge_event_id": "a2", "reason": "x"}}}),
    );
    let refused = problems(append(&store, "fd-1", vec![correction]).unwrap_err());
    assert!(
        refused
            .iter()
            .any(|(_, m)| m.contains("undo it with MergeUndone")),
        "{refused:?}"
    );
}

#[test]
fn the_union_is_in_log_order_numbered_again_and_says_where_each_event_was_recorded() {
    let store = new_store();
    append(&store, "fd-1", vec![registered("f1", "2019-04-01")]).unwrap();
    append(&store, "lac-9", vec![registered("l1", "2019-04-01")]).unwrap();
    append(&store, "fd-1", vec![testkit::contact("f2", "2024-01-10")]).unwrap();
    append(&store, "lac-9", vec![looked_after("l2", "2024-02-01")]).unwrap();
    let (fd, lac) = (stream(&store, "fd-1"), stream(&store, "lac-9"));
    let union = merged_stream(&testkit::child("fd-1"), vec![fd.clone(), lac.clone()]);
    let ids: Vec<&str> = union
        .events
        .iter()
        .map(|e| e.envelope.event_id.as_str())
        .collect();
    assert_eq!(ids, ["f1", "l1", "f2", "l2"]);
    assert!(
        union
            .events
            .iter()
            .all(|e| e.envelope.child_id.as_str() == "fd-1")
    );
    let versions: Vec<u64> = union.events.iter().map(|e| e.envelope.version.0).collect();
    assert_eq!(versions, [1, 2, 3, 4]);
    assert_eq!(union.recorded_under.len(), 2);
    let l2 = &union.recorded_under[&lac[1].envelope.position];
    assert_eq!((l2.child_id.as_str(), l2.version), ("lac-9", Version(2)));
    // A reader of the whole log numbers them the same way.
    let positions: Vec<_> = union.events.iter().map(|e| e.envelope.position).collect();
    for e in &union.events {
        assert_eq!(
            merged_version(&positions, e.envelope.position),
            e.envelope.version
        );
    }

    // The chronology of the union marks what came from the other record.
    let known = union.events.last().unwrap().envelope.recorded_at;
    let mut chronology = Chronology::build(
        &union.events,
        AsOf::new(testkit::date("2024-06-01"), known),
        ChronologyOptions::default(),
    );
    chronology.mark_recorded_under(&union.recorded_under);
    let under: Vec<Option<&str>> = chronology
        .entries
        .iter()
        .map(|e| e.recorded_under.as_ref().map(|r| r.child_id.as_str()))
        .collect();
    assert_eq!(under, [None, Some("lac-9"), None, Some("lac-9")]);
}

#[test]
fn conflicting_facts_are_inconsistencies_of_the_merged_summary_not_errors() {
    let store = new_store();
    append(
        &store,
        "fd-1",
        vec![registered("f1", "2019-04-01"), looked_after("f2", "2024-01-10")],
    )
    .unwrap();
    append(
        &store,
        "lac-9",
        vec![registered("l1", "2019-04-02"), looked_after("l2", "2024-02-01")],
    )
    .unwrap();
    let (fd, lac) = (stream(&store, "fd-1"), stream(&store, "lac-9"));
    let now: Timestamp = lac.last().unwrap().envelope.recorded_at;
    assert!(merge_problems(&fd, &lac, now, "into").is_empty());
    let union = merged_stream(&testkit::child("fd-1"), vec![fd, lac]);
    let summary = ChildSummary::replay(&union.events, AsOf::new(testkit::date("2024-06-01"), now));
    assert_eq!(summary.child_id.as_ref().map(|c| c.as_str()), Some("fd-1"));
    // The earliest recorded registration stands.
    assert_eq!(summary.date_of_birth, Some(testkit::date("2019-04-01")));
    let problems: Vec<&str> = summary
        .inconsistencies
        .iter()
        .map(|i| i.problem.as_str())
        .collect();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(
        problems[0].contains("date of birth 2019-04-02 (the record's is 2019-04-01)"),
        "{problems:?}"
    );
    assert_eq!(summary.inconsistencies[1].event_id.as_str(), "l2");
}

#[test]
fn a_merge_that_would_put_events_after_a_death_or_before_the_birth_is_refused_naming_the_rule() {
    let store = new_store();
    append(
        &store,
        "c-1",
        vec![
            registered("c1", "2023-01-01"),
            event("c2", "2023-03-01", "ChildDied", serde_json::json!({})),
        ],
    )
    .unwrap();
    append(
        &store,
        "c-2",
        vec![registered("d1", "2023-01-01"), looked_after("d2", "2023-04-01")],
    )
    .unwrap();
    let (dead, alive) = (stream(&store, "c-1"), stream(&store, "c-2"));
    let now = alive.last().unwrap().envelope.recorded_at;
    let p = merge_problems(&dead, &alive, now, "into");
    assert_eq!(p.0.len(), 1, "{p:?}");
    assert_eq!(p.0[0].field, "into");
    assert!(
        p.0[0].message.contains(
            "c-2's BecameLookedAfter d2 of 2023-04-01 would follow the death recorded in c-1 on 2023-03-01"
        ),
        "{p:?}"
    );
    // Either way round.
    assert_eq!(merge_problems(&alive, &dead, now, "into").0.len(), 1);

    // The registration recorded first stands: care in a later record before that birth is impossible.
    let store = new_store();
    append(&store, "c-4", vec![registered("g1", "2023-05-01")]).unwrap();
    append(
        &store,
        "c-5",
        vec![registered("h1", "2023-01-01"), looked_after("h2", "2023-04-01")],
    )
    .unwrap();
    let (first, second) = (stream(&store, "c-4"), stream(&store, "c-5"));
    let now = second.last().unwrap().envelope.recorded_at;
    let p = merge_problems(&first, &second, now, "into");
    assert_eq!(p.0.len(), 1, "{p:?}");
    assert!(
        p.0[0]
            .message
            .contains("would come before the merged record's date of birth 2023-05-01"),
        "{p:?}"
    );
}
