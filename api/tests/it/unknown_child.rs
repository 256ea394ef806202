//! "No such child (as known then)" has one answer on every route that reads a child's record: 404, the same
//! problem type, naming the child. Child ids are case-sensitive: `bad-1` is not `BAD-1`.

use axum::http::Method;
use journey_api::Role;
use journey_core::store::EventStore;
use journey_core::{ExpectedVersion, testkit};

use crate::common::{CHILD, Harness, request};
use crate::routes::{default_query_value, operations};

const PURPOSE: (&str, &str) = ("x-journey-purpose", "unknown child test");

#[tokio::test]
async fn every_child_route_answers_404_for_a_child_not_recorded_or_not_yet_known() {
    let h = Harness::with_policies().await;
    h.store
        .append(testkit::append(
            "BAD-1",
            ExpectedVersion::NoStream,
            vec![testkit::registered("bad-reg", "2015-06-01")],
        ))
        .await
        .unwrap();
    let doc: serde_json::Value = serde_json::from_str(&journey_api::openapi_json()).unwrap();
    let mut walked = Vec::new();
    for op in operations() {
        // Every read of one child's record (appending is how a child comes to be recorded; a write with a
        // body, as placing or lifting a hold, is refused on its body first: `records.rs` checks those).
        // The links between identities (`sealed.rs`) are no read of a record: they answer the same for any
        // child with none, recorded or not, so that asking does not tell whether a child exists.
        if !op.path.contains("{child_id}")
            || op.method == Method::POST && !op.body.is_empty()
            || op.path.ends_with("/identities")
        {
            continue;
        }
        // The document says so too (a client generated from it, or a fuzzer checking it, expects the 404).
        let documented = &doc["paths"][&op.path][op.method.as_str().to_lowercase()]["responses"];
        assert!(
            documented.get("404").is_some(),
            "{} {} answers 404 for no such child but its OpenAPI description does not list it",
            op.method,
            op.path
        );
        let takes_known_at = op.query.iter().any(|p| p.name == "known_at");
        let required: Vec<(String, String)> = op
            .query
            .iter()
            .filter(|p| p.required)
            .map(|p| (p.name.clone(), default_query_value(&p.name).to_owned()))
            .collect();
        let with = |extra: &[(&str, &str)]| {
            let mut pairs = required.clone();
            pairs.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
            form_urlencoded::Serializer::new(String::new())
                .extend_pairs(&pairs)
                .finish()
        };
        let mut cases = vec![
            // Case matters: BAD-1 is recorded, bad-1 is not.
            (op.concrete_path(&h, "bad-1"), with(&[]), "bad-1"),
            (
                op.concrete_path(&h, "never-recorded"),
                with(&[]),
                "never-recorded",
            ),
        ];
        if takes_known_at {
            // Recorded, but not yet at that instant (the harness's first record is at 2024-01-01T09:00Z).
            cases.push((
                op.concrete_path(&h, CHILD),
                with(&[("known_at", "2023-12-31T00:00:00Z")]),
                CHILD,
            ));
        }
        let mut details = Vec::new();
        for (path, query, child) in cases {
            let uri = format!("{path}?{query}");
            let reply = h
                .send(request(
                    op.method.clone(),
                    &uri,
                    Some(h.token(Role::Admin)),
                    &[PURPOSE],
                    None,
                ))
                .await;
            let problem = reply.problem(404);
            assert_eq!(problem["type"], "urn:journey:problem:not-found", "{uri}");
            let detail = problem["detail"].as_str().unwrap().to_owned();
            assert!(detail.contains(child), "{uri}: {detail}");
            details.push(detail);
        }
        // The same words for the same case on every route.
        assert!(
            details[0].contains("case-sensitive"),
            "{}: {}",
            op.label(),
            details[0]
        );
        walked.push((op.label(), details));
    }
    let labels: Vec<&str> = walked.iter().map(|(l, _)| l.as_str()).collect();
    for expected in [
        "GET /v1/children/{child_id}/events",
        "GET /v1/children/{child_id}/summary",
        "GET /v1/children/{child_id}/chronology",
        "GET /v1/children/{child_id}/timeline",
        "GET /v1/children/{child_id}/export",
        "POST /v1/children/{child_id}/policies/{name}/evaluate",
    ] {
        assert!(labels.contains(&expected), "{expected} not walked: {labels:?}");
    }
    let first = &walked[0].1;
    for (label, details) in &walked {
        for (detail, reference) in details.iter().zip(first) {
            if detail.contains("as known at") || reference.contains("as known at") {
                continue;
            }
            assert_eq!(
                detail.replace("never-recorded", "X").replace("bad-1", "X"),
                reference.replace("never-recorded", "X").replace("bad-1", "X"),
                "{label}"
            );
        }
    }
    // BAD-1 itself is there.
    let found = h
        .send(request(
            Method::GET,
            "/v1/children/BAD-1/summary",
            Some(h.token(Role::Admin)),
            &[PURPOSE],
            None,
        ))
        .await;
    assert_eq!(found.status, 200, "{}", found.text);
    assert_eq!(found.body["child_id"], "BAD-1");
}

#[tokio::test]
async fn replaying_a_decision_that_does_not_exist_is_404_too() {
    let h = Harness::with_policies().await;
    let reply = h
        .send(request(
            Method::POST,
            "/v1/decisions/999/replay",
            Some(h.token(Role::Admin)),
            &[PURPOSE],
            None,
        ))
        .await;
    reply.problem(404);
}
