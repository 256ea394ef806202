//! One child, one record (issue #20) over HTTP: a merge recorded in both records, every read of the survivor
//! the union, reads of the merged record redirected, appends to it refused naming the survivor, "as known
//! at" before the merge two children, returns counting the child once; and an undoing that restores both
//! records exactly, whatever was appended in between (property tests against a store that was never merged).

use axum::http::Method;
use journey_api::Role;
use journey_core::codes::CollectionYear;
use journey_core::store::EventStore;
use journey_core::{ExpectedVersion, NewEvent, Timestamp};
use journey_returns::ssda903::TableKind;
use proptest::prelude::*;
use serde_json::{Value, json};

use crate::common::{AGENCY, Harness};

fn event(id: &str, on: &str, kind: &str, data: Value) -> NewEvent {
    serde_json::from_value(json!({
        "event_id": id, "occurred_at": on, "source": {"agency": AGENCY, "system": "cms"},
        "type": kind, "data": data,
    }))
    .unwrap()
}

fn registered(id: &str, dob: &str) -> NewEvent {
    event(
        id,
        dob,
        "ChildRegistered",
        json!({"date_of_birth": dob, "sex": "F", "ethnicity": "WBRI"}),
    )
}

fn looked_after(id: &str, on: &str) -> NewEvent {
    event(
        id,
        on,
        "BecameLookedAfter",
        json!({"legal_status": "C2", "category_of_need": "N1",
            "placement": {"place_type": "U4", "provider": "PR1", "postcode": "ZZ1 1AA"}}),
    )
}

fn contact(id: &str, on: &str) -> NewEvent {
    journey_core::testkit::contact(id, on)
}

async fn append(h: &Harness, child: &str, events: Vec<NewEvent>) -> u16 {
    let body = json!({"events": events.iter().map(|e| serde_json::to_value(e).unwrap()).collect::<Vec<_>>()});
    let reply = h
        .call(
            Method::POST,
            &format!("/v1/children/{child}/events"),
            Some(h.token(Role::Integrator)),
            Some(body),
        )
        .await;
    reply.status.as_u16()
}

async fn get(h: &Harness, uri: &str) -> crate::common::Reply {
    h.call(Method::GET, uri, Some(h.token(Role::Admin)), None).await
}

fn at(t: Timestamp) -> String {
    t.to_string().replace('+', "%2B")
}

fn now(h: &Harness) -> Timestamp {
    h.state.clock.now()
}

async fn merge(h: &Harness, merged: &str, into: &str) -> crate::common::Reply {
    h.call(
        Method::POST,
        &format!("/v1/children/{merged}/merge"),
        Some(h.token(Role::Admin)),
        Some(json!({"into": into, "reason": "same NHS number and date of birth"})),
    )
    .await
}

async fn unmerge(h: &Harness, merged: &str) -> crate::common::Reply {
    h.call(
        Method::POST,
        &format!("/v1/children/{merged}/unmerge"),
        Some(h.token(Role::Admin)),
        Some(json!({"reason": "not the same child after all"})),
    )
    .await
}

/// Moves the harness's clock on a second, so that "as known at" instants fall between appends; the instant
/// before.
fn tick(h: &Harness) -> Timestamp {
    let before = now(h);
    h.clock.advance_micros(1_000_000);
    before
}

#[tokio::test]
async fn a_merged_child_is_read_as_one_record_under_the_survivor() {
    let h = Harness::new().await;
    assert_eq!(
        append(
            &h,
            "fd-1",
            vec![registered("f1", "2019-04-01"), contact("f2", "2023-11-02")]
        )
        .await,
        201
    );
    assert_eq!(
        append(
            &h,
            "lac-9",
            vec![registered("l1", "2019-04-02"), looked_after("l2", "2023-11-20")]
        )
        .await,
        201
    );
    tick(&h);
    let before = tick(&h);

    // Only admins merge.
    let refused = h
        .call(
            Method::POST,
            "/v1/children/lac-9/merge",
            Some(h.token(Role::Investigator)),
            Some(json!({"into": "fd-1", "reason": "x"})),
        )
        .await;
    refused.problem(403);
    let blank = h
        .call(
            Method::POST,
            "/v1/children/lac-9/merge",
            Some(h.token(Role::Admin)),
            Some(json!({"into": "fd-1", "reason": "  "})),
        )
        .await;
    blank.problem(422);
    assert_eq!(blank.fields(), ["reason"]);
    merge(&h, "lac-9", "lac-9").await.problem(422);

    let merged = merge(&h, "lac-9", "fd-1").await;
    assert_eq!(merged.status, 200, "{}", merged.text);
    assert_eq!(merged.body["state"], "in_force");
    assert_eq!(merged.body["into"], "fd-1");
    // A repeat answers the same merge and writes nothing.
    let again = merge(&h, "lac-9", "fd-1").await;
    assert_eq!(again.body, merged.body);
    tick(&h);

    // The survivor's summary is the union: the other record's care, and its different birthday as an
    // inconsistency.
    let summary = get(&h, "/v1/children/fd-1/summary?on=2024-01-01").await;
    assert_eq!(summary.status, 200, "{}", summary.text);
    assert_eq!(summary.body["child_id"], "fd-1");
    assert!(
        summary.body["open"]["looked_after"].is_object(),
        "{}",
        summary.text
    );
    let problems = summary.body["inconsistencies"].to_string();
    assert!(problems.contains("date of birth 2019-04-02"), "{problems}");

    // The chronology says which record each entry was recorded under.
    let chronology = get(&h, "/v1/children/fd-1/chronology?on=2024-01-01").await;
    let entries = chronology.body["entries"].as_array().unwrap();
    let under: Vec<(&str, Option<&str>)> = entries
        .iter()
        .map(|e| {
            (
                e["event_id"].as_str().unwrap(),
                e["recorded_under"]["child_id"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        under,
        [
            ("f1", None),
            ("l1", Some("lac-9")),
            ("f2", None),
            ("l2", Some("lac-9"))
        ]
    );

    // The events are the union as stored, each under its own record.
    let events = get(&h, "/v1/children/fd-1/events").await;
    let stored: Vec<(&str, &str)> = events.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["event_id"].as_str().unwrap(), e["child_id"].as_str().unwrap()))
        .collect();
    assert!(
        stored.contains(&("l2", "lac-9")) && stored.contains(&("f2", "fd-1")),
        "{stored:?}"
    );

    // Reads of the merged record answer a redirect to the survivor, query kept.
    let redirected = get(&h, "/v1/children/lac-9/summary?on=2024-01-01").await;
    redirected.problem(307);
    assert_eq!(
        redirected.headers["location"],
        "/v1/children/fd-1/summary?on=2024-01-01"
    );
    assert_eq!(redirected.body["type"], "urn:journey:problem:record-merged");

    // Appends to the merged record are refused, naming the survivor; to the survivor they go on.
    let refused = h
        .call(
            Method::POST,
            "/v1/children/lac-9/events",
            Some(h.token(Role::Integrator)),
            Some(json!({"events": [serde_json::to_value(contact("l3", "2024-01-02")).unwrap()]})),
        )
        .await;
    refused.problem(422);
    assert!(refused.text.contains("merged into fd-1"), "{}", refused.text);
    assert_eq!(append(&h, "fd-1", vec![contact("f3", "2024-01-02")]).await, 201);

    // As known before the merge: two children.
    let then = get(
        &h,
        &format!("/v1/children/lac-9/summary?on=2024-01-01&known_at={}", at(before)),
    )
    .await;
    assert_eq!(then.status, 200, "{}", then.text);
    assert_eq!(then.body["child_id"], "lac-9");
    let then = get(
        &h,
        &format!("/v1/children/fd-1/summary?on=2024-01-01&known_at={}", at(before)),
    )
    .await;
    assert!(then.body["open"]["looked_after"].is_null(), "{}", then.text);

    // The return counts the child once, under the survivor; as known before the merge, twice.
    let header = |reply: &crate::common::Reply| -> Vec<String> {
        let tables = reply.body["tables"].as_array().unwrap();
        let header = tables
            .iter()
            .find(|t| t["file"] == TableKind::Header.file_name())
            .unwrap();
        header["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r[0].as_str().unwrap().to_owned())
            .collect()
    };
    let year = CollectionYear::new(2024).unwrap().to_string().replace('/', "-");
    let now_return = get(&h, &format!("/v1/returns/ssda903/{year}")).await;
    assert_eq!(now_return.status, 200, "{}", now_return.text);
    assert_eq!(header(&now_return), ["fd-1"]);
    let past_return = get(&h, &format!("/v1/returns/ssda903/{year}?known_at={}", at(before))).await;
    assert_eq!(header(&past_return), ["lac-9"]);

    let merges = get(&h, "/v1/merges").await;
    assert_eq!(merges.body.as_array().unwrap().len(), 1);

    // Undone: both records as they were, and what was recorded under the survivor meanwhile stays there.
    let undone = unmerge(&h, "lac-9").await;
    assert_eq!(undone.status, 200, "{}", undone.text);
    assert_eq!(undone.body["state"], "undone");
    let lac = get(&h, "/v1/children/lac-9/summary?on=2024-01-01").await;
    assert_eq!(lac.status, 200);
    assert!(lac.body["open"]["looked_after"].is_object());
    let fd = get(&h, "/v1/children/fd-1/chronology?on=2024-01-02").await;
    let ids: Vec<&str> = fd.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["f1", "f2", "f3"]);
    assert_eq!(append(&h, "lac-9", vec![contact("l3", "2024-01-02")]).await, 201);
    unmerge(&h, "lac-9").await.problem(404);
}

#[tokio::test]
async fn a_merge_the_domain_forbids_is_refused_naming_the_rule_and_nothing_is_written() {
    let h = Harness::new().await;
    let died = event("d2", "2023-03-01", "ChildDied", json!({}));
    assert_eq!(
        append(&h, "c-1", vec![registered("d1", "2023-01-01"), died]).await,
        201
    );
    assert_eq!(
        append(
            &h,
            "c-2",
            vec![registered("e1", "2023-01-01"), looked_after("e2", "2023-04-01")]
        )
        .await,
        201
    );
    let refused = merge(&h, "c-2", "c-1").await;
    refused.problem(422);
    assert_eq!(refused.fields(), ["into"]);
    assert!(
        refused.text.contains("would follow the death recorded in c-1"),
        "{}",
        refused.text
    );
    let merges = get(&h, "/v1/merges").await;
    assert_eq!(merges.body, json!([]));
    assert_eq!(append(&h, "c-2", vec![contact("e3", "2023-05-01")]).await, 201);
    // A merge into a record that does not exist finds nothing.
    merge(&h, "c-2", "nobody").await.problem(404);
}

/// What a reader sees of one child: the summary on two dates and the chronology (without the places in the
/// log, which the merge's own records shift), and the SSDA903 header and episodes rows.
async fn views(h: &Harness, child: &str) -> Value {
    let mut out = serde_json::Map::new();
    for on in ["2023-06-01", "2024-06-01"] {
        let mut summary = get(h, &format!("/v1/children/{child}/summary?on={on}"))
            .await
            .body;
        // The counts of records known truthfully include the merge's own records.
        for key in ["records_known", "last_version", "last_recorded_at", "as_of"] {
            summary.as_object_mut().unwrap().remove(key);
        }
        out.insert(format!("summary {on}"), summary);
    }
    let mut chronology = get(h, &format!("/v1/children/{child}/chronology?on=2024-06-01"))
        .await
        .body;
    for entry in chronology["entries"].as_array_mut().unwrap() {
        let entry = entry.as_object_mut().unwrap();
        entry.remove("position");
        entry.remove("version");
        entry.remove("recorded_at");
        entry.remove("lag_days");
        entry.remove("recorded_late");
    }
    chronology.as_object_mut().unwrap().remove("as_of");
    out.insert("chronology".into(), chronology["entries"].clone());
    let year = CollectionYear::new(2024).unwrap().to_string().replace('/', "-");
    let tables = get(h, &format!("/v1/returns/ssda903/{year}")).await.body;
    let rows: Vec<Value> = tables["tables"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| {
            t["file"] == TableKind::Header.file_name() || t["file"] == TableKind::Episodes.file_name()
        })
        .map(|t| {
            let rows: Vec<Value> = t["rows"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|r| r[0] == child)
                .cloned()
                .collect();
            json!(rows)
        })
        .collect();
    out.insert("ssda903".into(), json!(rows));
    Value::Object(out)
}

/// A child's events drawn from a small menu, dated within 2023, in a valid order.
fn journey(prefix: &'static str) -> impl Strategy<Value = Vec<NewEvent>> {
    (
        1u32..=5,
        prop::collection::vec(1u32..=300, 0..4),
        prop::option::of(1u32..=300),
    )
        .prop_map(move |(born_month, contacts, care)| {
            let mut events = vec![registered(
                &format!("{prefix}-r"),
                &format!("2022-{born_month:02}-01"),
            )];
            for (i, day) in contacts.iter().enumerate() {
                events.push(contact(&format!("{prefix}-c{i}"), &day_of_2023(*day)));
            }
            if let Some(day) = care {
                events.push(looked_after(&format!("{prefix}-la"), &day_of_2023(day)));
            }
            events
        })
}

fn day_of_2023(day: u32) -> String {
    let date = journey_core::Date::new(2023, 1, 1)
        .unwrap()
        .add_days(day as i32 - 1);
    date.to_string()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// Merge then unmerge is the identity on every view, and merging commutes with appends recorded in
    /// between: after the undoing, both children read exactly as in a store that was never merged and took
    /// the same appends.
    #[test]
    fn merge_then_unmerge_is_the_identity_and_commutes_with_appends_in_between(
        a in journey("a"),
        b in journey("b"),
        between in prop::collection::vec(1u32..=360, 0..3),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let (merged, never) = (Harness::new().await, Harness::new().await);
            for h in [&merged, &never] {
                prop_assert_eq!(append(h, "pa", a.clone()).await, 201);
                prop_assert_eq!(append(h, "pb", b.clone()).await, 201);
            }
            let result = merge(&merged, "pa", "pb").await;
            prop_assert_eq!(result.status.as_u16(), 200, "{}", result.text);
            for (i, day) in between.iter().enumerate() {
                let later = contact(&format!("between-{i}"), &day_of_2023(*day));
                let status = append(&never, "pb", vec![later.clone()]).await;
                prop_assert_eq!(append(&merged, "pb", vec![later]).await, status);
            }
            let undone = unmerge(&merged, "pa").await;
            prop_assert_eq!(undone.status.as_u16(), 200, "{}", undone.text);
            for child in ["pa", "pb"] {
                prop_assert_eq!(views(&merged, child).await, views(&never, child).await, "{}", child);
            }
            Ok(())
        })?;
    }
}

#[tokio::test]
async fn an_append_to_the_merged_record_waiting_on_the_merge_never_lands_in_a_half_merged_state() {
    // The merge's first half alone (as a crash between the two would leave it): the merged record refuses
    // appends, readers still see two children, and repeating the merge finishes it.
    let h = Harness::new().await;
    assert_eq!(
        append(&h, "fd-1", vec![registered("f1", "2019-04-01")]).await,
        201
    );
    assert_eq!(
        append(&h, "lac-9", vec![registered("l1", "2019-04-01")]).await,
        201
    );
    h.store
        .append(journey_core::testkit::append(
            "lac-9",
            ExpectedVersion::Exact(journey_core::Version(1)),
            vec![event(
                "merge:lac-9:v2",
                "2024-01-01",
                "RecordMergedInto",
                json!({"surviving_child_id": "fd-1", "reason": "same NHS number and date of birth"}),
            )],
        ))
        .await
        .unwrap();
    let merges = get(&h, "/v1/merges").await;
    assert_eq!(merges.body[0]["state"], "incomplete");
    assert_eq!(get(&h, "/v1/children/lac-9/summary").await.status, 200);
    assert_eq!(append(&h, "lac-9", vec![contact("l2", "2023-12-01")]).await, 422);
    let finished = merge(&h, "lac-9", "fd-1").await;
    assert_eq!(finished.status, 200, "{}", finished.text);
    assert_eq!(finished.body["state"], "in_force");
    assert_eq!(finished.body["merge_event_id"], "merge:lac-9:v2");
    assert_eq!(get(&h, "/v1/children/lac-9/summary").await.status, 307);
}
