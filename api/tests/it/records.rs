//! Records management over HTTP: holds placed and lifted (journal-recorded, never in the child's stream),
//! refused with the field and the rule, and the records due for destruction under the retention policy in
//! force, listed with the rule and never as destroyable while held, access-logged as a retention review.

use axum::http::Method;
use journey_api::Role;
use journey_api::holds::{HOLD_LIFTED, HOLD_PLACED, holds_stream};
use journey_core::ChildId;
use journey_core::store::EventStore;
use serde_json::{Value, json};

use crate::common::{CHILD, Harness};

fn holds_path(child: &str) -> String {
    format!("/v1/children/{child}/holds")
}

#[tokio::test]
async fn a_hold_is_placed_listed_and_lifted_in_the_journal_not_the_childs_record() {
    let h = Harness::new().await;
    let officer = h.token(Role::RecordsOfficer);
    let child: ChildId = CHILD.parse().unwrap();
    let stream_before = h.store.stream_version(child.clone()).await.unwrap();
    let placed = h
        .call(
            Method::POST,
            &holds_path(CHILD),
            Some(officer),
            Some(json!({"reason": "Child safeguarding practice review CSPR-7", "until": "2030-03-31"})),
        )
        .await;
    assert_eq!(placed.status, 201, "{}", placed.text);
    assert_eq!(placed.body["hold_id"], "hold-1");
    assert_eq!(placed.body["until"], "2030-03-31");
    assert_eq!(placed.body["placed_by"], "the-records-officer");
    // An investigator may place one too.
    let second = h
        .call(
            Method::POST,
            &holds_path(CHILD),
            Some(h.token(Role::Investigator)),
            Some(json!({"reason": "Litigation: claim 2024/117"})),
        )
        .await;
    assert_eq!(second.status, 201, "{}", second.text);
    let listed = h.call(Method::GET, &holds_path(CHILD), Some(officer), None).await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert_eq!(listed.body["in_force"], json!(["hold-1", "hold-2"]));
    let lifted = h
        .call(
            Method::POST,
            &format!("{}/hold-1/lift", holds_path(CHILD)),
            Some(officer),
            Some(json!({"reason": "The review concluded"})),
        )
        .await;
    assert_eq!(lifted.status, 200, "{}", lifted.text);
    assert_eq!(lifted.body["lifted"]["reason"], "The review concluded");
    let listed = h.call(Method::GET, &holds_path(CHILD), Some(officer), None).await;
    assert_eq!(listed.body["in_force"], json!(["hold-2"]));
    assert_eq!(listed.body["holds"].as_array().unwrap().len(), 2);
    // Lifting again is a conflict that says who lifted it.
    let again = h
        .call(
            Method::POST,
            &format!("{}/hold-1/lift", holds_path(CHILD)),
            Some(officer),
            Some(json!({"reason": "again"})),
        )
        .await;
    assert!(
        again.problem(409)["detail"]
            .as_str()
            .unwrap()
            .contains("already lifted")
    );
    // The child's stream did not change; the journal's holds stream holds the three records.
    assert_eq!(h.store.stream_version(child).await.unwrap(), stream_before);
    let records = h.state.journal.read_stream(&holds_stream(), 1, 10).await.unwrap();
    let kinds: Vec<&str> = records.iter().map(|r| r.kind.as_str()).collect();
    assert_eq!(kinds, [HOLD_PLACED, HOLD_PLACED, HOLD_LIFTED]);
    assert_eq!(records[2].recorded_by.as_str(), "the-records-officer");
}

#[tokio::test]
async fn bad_holds_are_refused_naming_the_field_and_the_rule() {
    let h = Harness::new().await;
    let officer = h.token(Role::RecordsOfficer);
    let refused = |body: Value| {
        let h = &h;
        async move {
            h.call(Method::POST, &holds_path(CHILD), Some(officer), Some(body))
                .await
        }
    };
    // The harness's clock stands in January 2024.
    let reply = refused(json!({"reason": "  ", "until": "2023-12-31"})).await;
    reply.problem(422);
    assert_eq!(reply.fields(), ["reason", "until"]);
    assert!(reply.text.contains("must not be before today"), "{}", reply.text);
    let reply = refused(json!({"until": "2030-01-01"})).await;
    reply.problem(422);
    assert_eq!(reply.fields(), ["reason"]);
    let reply = refused(json!({"reason": "x", "until": "2030-02-30"})).await;
    reply.problem(422);
    assert_eq!(reply.fields(), ["until"]);
    let reply = refused(json!({"reason": "x", "by": "me"})).await;
    reply.problem(422);
    // A child not recorded, and a hold id that is not one.
    let reply = h
        .call(
            Method::POST,
            &holds_path("never-recorded"),
            Some(officer),
            Some(json!({"reason": "x"})),
        )
        .await;
    assert!(
        reply.problem(404)["detail"]
            .as_str()
            .unwrap()
            .contains("never-recorded")
    );
    let reply = h
        .call(
            Method::POST,
            &format!("{}/hold-1/lift", holds_path("never-recorded")),
            Some(officer),
            Some(json!({"reason": "x"})),
        )
        .await;
    reply.problem(404);
    let reply = h
        .call(
            Method::POST,
            &format!("{}/1/lift", holds_path(CHILD)),
            Some(officer),
            Some(json!({"reason": "x"})),
        )
        .await;
    reply.problem(400);
    assert_eq!(reply.fields(), ["hold_id"]);
    assert_eq!(h.state.journal.stream_version(&holds_stream()), 0);
}

#[tokio::test]
async fn records_due_are_listed_with_the_rule_held_ones_as_held_and_the_review_is_access_logged() {
    let h = Harness::with_policies().await;
    let officer = h.token(Role::RecordsOfficer);
    // Child 1 was born on 2015-06-01 and has only a contact (2023-12-20): the contact and early help
    // record's local period by default, 3 years after the later of the 18th birthday and the last activity.
    let due = |on: &'static str| {
        let h = &h;
        async move {
            let reply = h
                .call(
                    Method::GET,
                    &format!("/v1/records/due?on={on}"),
                    Some(officer),
                    None,
                )
                .await;
            assert_eq!(reply.status, 200, "{}", reply.text);
            reply.body
        }
    };
    let before = due("2036-05-31").await;
    assert_eq!(
        (before["due"].clone(), before["records"].clone()),
        (json!(0), json!([]))
    );
    assert_eq!(
        (before["policy"].as_str(), before["version"].as_str()),
        (Some("retention"), Some("1.0.0"))
    );
    let listed = due("2036-06-01").await;
    assert_eq!(listed["due"], 1);
    let record = &listed["records"][0];
    assert_eq!(record["child_id"], CHILD);
    assert_eq!(record["status"], "destroyable");
    assert_eq!(record["destroy_from"], "2036-06-01");
    assert!(
        record["rule"]
            .as_str()
            .unwrap()
            .starts_with("Keep the contact and early help record")
    );
    assert!(
        record["source"]
            .as_str()
            .unwrap()
            .starts_with("Local retention schedule")
    );
    assert_eq!(
        (record["policy"].as_str(), record["version"].as_str()),
        (Some("retention"), Some("1.0.0"))
    );
    // Nothing of the record's content: no reasons, no date the period runs from (a date of birth).
    let keys: Vec<&String> = record.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "child_id",
            "destroy_from",
            "policy",
            "rule",
            "source",
            "status",
            "version"
        ]
    );
    assert!(!listed.to_string().contains("2015-06-01"), "{listed}");
    // Held: listed as held, never as destroyable, until the hold's last day.
    let placed = h
        .call(
            Method::POST,
            &holds_path(CHILD),
            Some(officer),
            Some(json!({"reason": "Inquiry moratorium", "until": "2036-12-31"})),
        )
        .await;
    assert_eq!(placed.status, 201, "{}", placed.text);
    let held = due("2036-06-01").await;
    assert_eq!(held["records"][0]["status"], "held");
    assert_eq!(held["records"][0]["holds"], json!(["hold-1"]));
    assert_eq!(held["held"], 1);
    let after = due("2037-01-01").await;
    assert_eq!(after["records"][0]["status"], "destroyable");
    // Every review is in the access log: every child, purpose "retention review".
    let log = h
        .call(Method::GET, "/v1/access-log", Some(h.token(Role::Admin)), None)
        .await;
    let reviews: Vec<&Value> = log.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["view"] == "records-due")
        .collect();
    assert_eq!(reviews.len(), 4);
    assert_eq!(reviews[0]["purpose"], "retention review");
    assert_eq!(reviews[0]["role"], "records-officer");
    assert_eq!(reviews[0]["children"], json!([CHILD]));
    assert_eq!(reviews[0]["parameters"]["on"], "2036-05-31");
    // The date is required and checked.
    let reply = h.call(Method::GET, "/v1/records/due", Some(officer), None).await;
    reply.problem(400);
    let reply = h
        .call(Method::GET, "/v1/records/due?on=2036-02-30", Some(officer), None)
        .await;
    reply.problem(400);
    assert_eq!(reply.fields(), ["on"]);
}

/// Candidate duplicates (issue #20): two records of one child, found by an NHS number in common and by one
/// birthday with names alike, for an admin; every child compared in the access log; the values compared never
/// in the answer.
#[tokio::test]
async fn duplicate_records_are_proposed_to_admins_without_the_values_compared() {
    let h = Harness::new().await;
    let event = |id: &str, data: serde_json::Value| -> journey_core::NewEvent {
        serde_json::from_value(serde_json::json!({
            "event_id": id, "occurred_at": "2015-03-10",
            "source": {"agency": crate::common::AGENCY, "system": "cms"},
            "type": "ChildRegistered", "data": data,
        }))
        .unwrap()
    };
    for (child, data) in [
        (
            "fd-1",
            serde_json::json!({"given_name": "Aiden", "family_name": "Marsh", "date_of_birth": "2015-03-10", "sex": "M"}),
        ),
        (
            "lac-9",
            serde_json::json!({"given_name": "Aidan", "family_name": "Marsh", "date_of_birth": "2015-03-10", "sex": "M", "nhs_number": "9434765919"}),
        ),
        (
            "health-4",
            serde_json::json!({"given_name": "A", "family_name": "Marsh", "date_of_birth": "2015-04-10", "sex": "M", "nhs_number": "9434765919"}),
        ),
        (
            "other-2",
            serde_json::json!({"given_name": "Zara", "family_name": "Quint", "date_of_birth": "2015-03-10", "sex": "F"}),
        ),
    ] {
        h.store
            .append(journey_core::testkit::append(
                child,
                journey_core::ExpectedVersion::NoStream,
                vec![event(&format!("{child}-r"), data)],
            ))
            .await
            .unwrap();
    }
    let found = h
        .call(
            Method::GET,
            "/v1/records/duplicates",
            Some(h.token(Role::Admin)),
            None,
        )
        .await;
    assert_eq!(found.status, 200, "{}", found.text);
    // The four here and the harness's own child.
    assert_eq!(found.body["compared"], 5);
    let pairs: Vec<(String, String, String)> = found.body["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["first"].as_str().unwrap().into(),
                c["second"].as_str().unwrap().into(),
                c["strength"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        pairs,
        [
            ("health-4".into(), "lac-9".into(), "strong".into()),
            ("fd-1".into(), "lac-9".into(), "possible".into()),
        ]
    );
    for value in ["9434765919", "Aiden", "Marsh", "2015-03-10"] {
        assert!(!found.text.contains(value), "{value} is in the answer");
    }
    let log = h
        .call(
            Method::GET,
            "/v1/access-log?principal=the-admin",
            Some(h.token(Role::Admin)),
            None,
        )
        .await;
    let read = log.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["view"] == "duplicates")
        .expect("the comparison is access-logged");
    assert_eq!(read["children"].as_array().unwrap().len(), 5);
    let refused = h
        .call(
            Method::GET,
            "/v1/records/duplicates",
            Some(h.token(Role::RecordsOfficer)),
            None,
        )
        .await;
    refused.problem(403);
}
