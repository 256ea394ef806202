//! Appending over HTTP: outcomes, safe retries, conflicts, rules and the integrator's agency.

use axum::http::Method;
use journey_api::Role;
use journey_core::testkit;
use serde_json::json;

use crate::common::{CHILD, Harness, contact_body, event_json};

#[tokio::test]
async fn an_append_answers_versions_and_positions_and_a_retry_changes_nothing() {
    let h = Harness::new().await;
    let token = h.token(Role::Integrator);
    let uri = format!("/v1/children/{CHILD}/events");
    let body = json!({
        "expected_version": 2,
        "events": [
            event_json(&testkit::contact("a-1", "2023-12-22")),
            event_json(&testkit::contact("a-2", "2023-12-23")),
        ]
    });
    let first = h.call(Method::POST, &uri, Some(token), Some(body.clone())).await;
    assert_eq!(first.status, 201, "{}", first.text);
    assert_eq!(first.body["already_recorded"], false);
    let events = first.body["events"].as_array().unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["version"], 3);
    assert_eq!(events[1]["version"], 4);
    assert_eq!(events[0]["position"], 3);
    assert_eq!(events[1]["position"], 4);
    // The same request again (a client retrying after a lost response): the original outcome, nothing new.
    let retry = h.call(Method::POST, &uri, Some(token), Some(body)).await;
    assert_eq!(retry.status, 200, "{}", retry.text);
    assert_eq!(retry.body["already_recorded"], true);
    assert_eq!(retry.body["events"], first.body["events"]);
    let recorded = h
        .call(
            Method::GET,
            &format!("/v1/children/{CHILD}/events"),
            Some(h.token(Role::Admin)),
            None,
        )
        .await;
    assert_eq!(recorded.body["events"].as_array().unwrap().len(), 4);
    // recorded_by is the key's name, never anything the sender said.
    assert_eq!(recorded.body["events"][2]["recorded_by"], "the-integrator");
}

#[tokio::test]
async fn a_wrong_expected_version_is_a_conflict() {
    let h = Harness::new().await;
    let mut body = contact_body("c-1");
    body["expected_version"] = json!(1);
    let reply = h
        .call(
            Method::POST,
            &format!("/v1/children/{CHILD}/events"),
            Some(h.token(Role::Integrator)),
            Some(body),
        )
        .await;
    let problem = reply.problem(409);
    assert_eq!(problem["type"], "urn:journey:problem:wrong-expected-version");
    assert!(problem["detail"].as_str().unwrap().contains("expected version 1"));
}

#[tokio::test]
async fn an_event_id_reused_for_other_content_is_a_conflict() {
    let h = Harness::new().await;
    let body = json!({ "events": [event_json(&testkit::contact("e-contact", "2023-12-25"))] });
    let reply = h
        .call(
            Method::POST,
            &format!("/v1/children/{CHILD}/events"),
            Some(h.token(Role::Integrator)),
            Some(body),
        )
        .await;
    assert_eq!(reply.problem(409)["type"], "urn:journey:problem:event-id-reused");
}

#[tokio::test]
async fn broken_rules_are_422_naming_each_field() {
    let h = Harness::new().await;
    // A contact for a child never registered: the stream's rules refuse it.
    let reply = h
        .call(
            Method::POST,
            "/v1/children/nobody/events",
            Some(h.token(Role::Integrator)),
            Some(contact_body("n-1")),
        )
        .await;
    reply.problem(422);
    assert!(reply.fields()[0].starts_with("events[0]"), "{}", reply.text);
    // A bad code inside the payload: the exact path.
    let mut event = event_json(&testkit::contact("n-2", "2023-12-21"));
    event["data"]["source"] = json!("ZZ");
    let reply = h
        .call(
            Method::POST,
            &format!("/v1/children/{CHILD}/events"),
            Some(h.token(Role::Integrator)),
            Some(json!({ "events": [event] })),
        )
        .await;
    reply.problem(422);
    assert_eq!(reply.fields(), ["events[0].data.source"], "{}", reply.text);
    // A bad identifier in the envelope.
    let mut event = event_json(&testkit::contact("n-3", "2023-12-21"));
    event["event_id"] = json!("has space");
    let reply = h
        .call(
            Method::POST,
            &format!("/v1/children/{CHILD}/events"),
            Some(h.token(Role::Integrator)),
            Some(json!({ "events": [event] })),
        )
        .await;
    reply.problem(422);
    assert_eq!(reply.fields(), ["events[0].event_id"], "{}", reply.text);
    // An empty batch.
    let reply = h
        .call(
            Method::POST,
            &format!("/v1/children/{CHILD}/events"),
            Some(h.token(Role::Integrator)),
            Some(json!({ "events": [] })),
        )
        .await;
    reply.problem(422);
    assert_eq!(reply.fields(), ["events"]);
}

#[tokio::test]
async fn an_integrator_cannot_write_as_another_agency() {
    let h = Harness::new().await;
    let mut other = event_json(&testkit::contact("x-2", "2023-12-21"));
    other["source"]["agency"] = json!("police.elsewhere");
    let body = json!({ "events": [event_json(&testkit::contact("x-1", "2023-12-21")), other] });
    let reply = h
        .call(
            Method::POST,
            &format!("/v1/children/{CHILD}/events"),
            Some(h.token(Role::Integrator)),
            Some(body.clone()),
        )
        .await;
    reply.problem(403);
    assert_eq!(reply.fields(), ["events[1].source.agency"]);
    // Nothing of the batch was written; an admin may write for any agency.
    let admin = h
        .call(
            Method::POST,
            &format!("/v1/children/{CHILD}/events"),
            Some(h.token(Role::Admin)),
            Some(body),
        )
        .await;
    assert_eq!(admin.status, 201, "{}", admin.text);
    assert_eq!(admin.body["events"][0]["version"], 3);
}

#[tokio::test]
async fn appends_are_counted_in_metrics() {
    let h = Harness::new().await;
    let reply = h
        .call(
            Method::POST,
            &format!("/v1/children/{CHILD}/events"),
            Some(h.token(Role::Integrator)),
            Some(contact_body("m-1")),
        )
        .await;
    assert_eq!(reply.status, 201);
    let metrics = h.call(Method::GET, "/metrics", None, None).await;
    assert!(metrics.content_type().starts_with("text/plain"));
    assert!(
        metrics.text.contains("journey_events_appended_total 1"),
        "{}",
        metrics.text
    );
    assert!(metrics.text.contains(
        "journey_http_requests_total{route=\"/v1/children/{child_id}/events\",method=\"POST\",status=\"201\"} 1"
    ));
    assert!(
        metrics.text.contains(
            "journey_http_request_duration_seconds_bucket{route=\"/v1/children/{child_id}/events\""
        )
    );
}

/// Dates that cannot be true of a child born on 2015-06-01, recorded on 2024-01-03: each refused (422) at its
/// own field with the rule it breaks.
#[tokio::test]
async fn dates_that_cannot_be_true_are_refused_naming_the_field() {
    let h = Harness::new().await;
    let token = h.token(Role::Integrator);
    let uri = format!("/v1/children/{CHILD}/events");
    let contact = |field: &str, value: &str| {
        let mut event = event_json(&testkit::contact(&format!("d-{field}-{value}"), "2023-12-22"));
        event[field] = json!(value);
        json!({ "events": [event] })
    };
    for (field, value, rule) in [
        // Acceptance findings: a contact dated 0000-01-01, a time the clocks skipped, claims from 2999 and year 1.
        (
            "occurred_at",
            "0000-01-01",
            "must be from 1900-01-01 to 2200-12-31",
        ),
        (
            "occurred_at",
            "2014-07-31",
            "more than 10 months before the child's date of birth (2015-06-01)",
        ),
        (
            "occurred_at",
            "2023-03-26T01:30",
            "is not a time that happened in England",
        ),
        (
            "source_recorded_at",
            "2999-01-01T00:00:00Z",
            "must be an instant from 1900-01-01T00:00:00Z",
        ),
        (
            "source_recorded_at",
            "0001-01-01T00:00:00Z",
            "must be an instant from 1900-01-01T00:00:00Z",
        ),
        (
            "source_recorded_at",
            "2024-01-03T09:00:00.000001Z",
            "must not be after the time Journey records the event, 2024-01-03T09:00:00Z",
        ),
    ] {
        let reply = h
            .call(Method::POST, &uri, Some(token), Some(contact(field, value)))
            .await;
        let problem = reply.problem(422);
        let path = format!("events[0].{field}");
        assert!(
            problem["errors"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["field"] == path.as_str() && e["message"].as_str().unwrap().contains(rule)),
            "{field} = {value}: {problem}"
        );
    }
    // Inside every bound: accepted.
    for (field, value) in [
        ("occurred_at", "2014-08-01"),
        ("occurred_at", "2023-03-26T02:00"),
        ("source_recorded_at", "2024-01-03T09:00:00Z"),
        ("source_recorded_at", "1900-01-01T00:00:00Z"),
    ] {
        let reply = h
            .call(Method::POST, &uri, Some(token), Some(contact(field, value)))
            .await;
        assert_eq!(reply.status, 201, "{field} = {value}: {}", reply.text);
    }
}
