//! Reading one child's record on both time axes, the global log, verification and export.

use axum::http::Method;
use journey_api::Role;
use journey_core::store::{StreamExport, verify_export};
use journey_core::testkit;

use crate::common::{CHILD, Harness, request};

const PURPOSE: (&str, &str) = ("x-journey-purpose", "case 2024/118 review");

#[tokio::test]
async fn events_from_a_version_and_as_known_at_an_instant() {
    let h = Harness::new().await;
    let token = h.token(Role::Investigator);
    let get = |uri: String| h.send(request(Method::GET, &uri, Some(token), &[PURPOSE], None));
    let all = get(format!("/v1/children/{CHILD}/events")).await;
    assert_eq!(all.status, 200, "{}", all.text);
    assert_eq!(all.body["events"].as_array().unwrap().len(), 2);
    let from_two = get(format!("/v1/children/{CHILD}/events?from=2")).await;
    assert_eq!(from_two.body["events"][0]["event_id"], "e-contact");
    let paged = get(format!("/v1/children/{CHILD}/events?limit=1")).await;
    assert_eq!(paged.body["events"].as_array().unwrap().len(), 1);
    assert_eq!(paged.body["next_version"], 2);
    // Known at the epoch: only the registration had been recorded.
    let known = get(format!(
        "/v1/children/{CHILD}/events?known_at={}",
        testkit::epoch()
    ))
    .await;
    assert_eq!(
        known.body["events"].as_array().unwrap().len(),
        1,
        "{}",
        known.text
    );
    // A child with nothing recorded is not an empty page: the one answer for no such child, 404.
    let unknown_child = get("/v1/children/nobody/events".into()).await;
    unknown_child.problem(404);
}

#[tokio::test]
async fn summary_and_chronology_take_both_time_axes() {
    let h = Harness::new().await;
    let token = h.token(Role::Investigator);
    let get = |uri: String| h.send(request(Method::GET, &uri, Some(token), &[PURPOSE], None));
    let now = get(format!("/v1/children/{CHILD}/chronology")).await;
    assert_eq!(now.status, 200, "{}", now.text);
    assert_eq!(now.body["entries"].as_array().unwrap().len(), 2);
    // As known at the epoch, the contact had not been recorded.
    let then = get(format!(
        "/v1/children/{CHILD}/chronology?on=2024-01-01&known_at={}",
        testkit::epoch()
    ))
    .await;
    assert_eq!(then.body["entries"].as_array().unwrap().len(), 1, "{}", then.text);
    assert_eq!(then.body["as_of"]["on"], "2024-01-01");
    // On a date before the contact, it is not part of the story yet.
    let before = get(format!("/v1/children/{CHILD}/chronology?on=2020-01-01")).await;
    assert_eq!(before.body["entries"].as_array().unwrap().len(), 1);
    let summary = get(format!("/v1/children/{CHILD}/summary?on=2024-01-01")).await;
    assert_eq!(summary.status, 200, "{}", summary.text);
    assert_eq!(summary.body["as_of"]["on"], "2024-01-01");
    let missing = get("/v1/children/nobody/summary".into()).await;
    missing.problem(404);
}

#[tokio::test]
async fn an_export_verifies_on_its_own() {
    let h = Harness::new().await;
    let reply = h
        .send(request(
            Method::GET,
            &format!("/v1/children/{CHILD}/export"),
            Some(h.token(Role::Investigator)),
            &[PURPOSE],
            None,
        ))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let export: StreamExport = serde_json::from_value(reply.body).unwrap();
    let verified = verify_export(&export).unwrap();
    assert_eq!(verified.records, 2);
}

#[tokio::test]
async fn the_global_log_pages_by_position() {
    let h = Harness::new().await;
    let admin = h.token(Role::Admin);
    let first = h.call(Method::GET, "/v1/log?limit=1", Some(admin), None).await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.body["events"][0]["position"], 1);
    assert_eq!(first.body["next_position"], 2);
    let second = h
        .call(Method::GET, "/v1/log?from=2&limit=5", Some(admin), None)
        .await;
    assert_eq!(second.body["events"].as_array().unwrap().len(), 1);
    assert_eq!(second.body["next_position"], 3);
    let end = h.call(Method::GET, "/v1/log?from=3", Some(admin), None).await;
    assert_eq!(end.body["events"].as_array().unwrap().len(), 0);
    assert_eq!(end.body["next_position"], 3);
}

#[tokio::test]
async fn verify_reports_the_log_and_the_journal() {
    let h = Harness::new().await;
    let reply = h
        .call(Method::GET, "/v1/verify", Some(h.token(Role::Investigator)), None)
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["intact"], true);
    assert_eq!(reply.body["walked"], serde_json::json!(["log", "journal"]));
    assert_eq!(reply.body["log"]["records"], 2);
    assert!(reply.body["journal"]["records"].as_u64().unwrap() >= 4);
    // Tampering with a stored record is found.
    h.store.tamper_with_body(journey_core::Position(1), |b| {
        let last = b.len() - 1;
        b[last] ^= 1;
    });
    let reply = h
        .call(Method::GET, "/v1/verify", Some(h.token(Role::Admin)), None)
        .await;
    assert_eq!(reply.body["intact"], false, "{}", reply.text);
}

#[tokio::test]
async fn health_and_readiness() {
    let h = Harness::new().await;
    assert_eq!(
        h.call(Method::GET, "/healthz", None, None).await.body["status"],
        "ok"
    );
    let ready = h.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(ready.status, 200);
    assert_eq!(ready.body["log_position"], 2);
    h.state.begin_shutdown();
    h.call(Method::GET, "/readyz", None, None).await.problem(503);
}

#[tokio::test]
async fn a_restricted_event_is_read_marked_and_left_out_of_the_summary() {
    let h = Harness::new().await;
    let restrict = serde_json::json!({ "events": [{
        "event_id": "e-restrict",
        "occurred_at": "2024-01-02",
        "source": {"agency": crate::common::AGENCY, "system": "dpo"},
        "type": "RecordRestricted",
        "data": {"target_event_id": "e-contact", "grounds": "accuracy_contested",
                 "reason": "The parent disputes what the contact says."}
    }]});
    let appended = h
        .call(
            Method::POST,
            &format!("/v1/children/{CHILD}/events"),
            Some(h.token(Role::Integrator)),
            Some(restrict),
        )
        .await;
    assert_eq!(appended.status, 201, "{}", appended.text);

    let token = h.token(Role::Investigator);
    let get = |uri: String| h.send(request(Method::GET, &uri, Some(token), &[PURPOSE], None));
    let chronology = get(format!("/v1/children/{CHILD}/chronology")).await;
    let entries = chronology.body["entries"].as_array().unwrap();
    let contact = entries.iter().find(|e| e["event_id"] == "e-contact").unwrap();
    assert_eq!(contact["restriction"]["by_event_id"], "e-restrict", "{contact}");
    assert_eq!(contact["restriction"]["grounds"], "accuracy_contested");
    assert!(
        contact["payload"]["data"].is_object(),
        "the restricted fact stays readable"
    );
    let summary = get(format!("/v1/children/{CHILD}/summary")).await;
    assert_eq!(summary.body["restricted_events"], 1, "{}", summary.text);
    let page = get(format!("/v1/children/{CHILD}/timeline")).await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(page.text.contains(r#"data-event-id="e-contact" data-position"#));
    assert!(
        page.text.contains(r#"data-restricted="true""#),
        "the page marks it"
    );
    assert!(
        page.text
            .contains("restricted by e-restrict (accuracy_contested)")
    );

    // A second restriction of the same event is refused, naming the field and the rule.
    let again = serde_json::json!({ "events": [{
        "event_id": "e-restrict-2",
        "occurred_at": "2024-01-02",
        "source": {"agency": crate::common::AGENCY, "system": "dpo"},
        "type": "RecordRestricted",
        "data": {"target_event_id": "e-contact", "grounds": "objection_pending", "reason": "Again."}
    }]});
    let refused = h
        .call(
            Method::POST,
            &format!("/v1/children/{CHILD}/events"),
            Some(h.token(Role::Integrator)),
            Some(again),
        )
        .await;
    let problem = refused.problem(422);
    assert!(problem.to_string().contains("already restricted"), "{problem}");
    assert!(
        refused
            .fields()
            .iter()
            .any(|f| f.ends_with("data.target_event_id")),
        "{:?}",
        refused.fields()
    );
}
