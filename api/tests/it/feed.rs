//! The live change feed: Server-Sent Events from a position, resumable with Last-Event-ID, following new
//! appends, and ending when the server shuts down.

use std::time::Duration;

use axum::body::Body;
use axum::http::Method;
use http_body_util::BodyExt;
use journey_api::Role;
use journey_core::ExpectedVersion;
use journey_core::store::EventStore;
use journey_core::testkit;
use tower::ServiceExt;

use crate::common::{CHILD, Harness, request};

/// Reads frames until `n` more events have arrived; returns their ids.
async fn ids(body: &mut Body, n: usize) -> Vec<u64> {
    let mut text = String::new();
    let mut out = Vec::new();
    while out.len() < n {
        let frame = tokio::time::timeout(Duration::from_secs(10), body.frame())
            .await
            .expect("an event in time")
            .expect("the stream is open")
            .unwrap();
        if let Ok(data) = frame.into_data() {
            text.push_str(&String::from_utf8_lossy(&data));
        }
        out = text
            .lines()
            .filter_map(|l| l.strip_prefix("id: ").or_else(|| l.strip_prefix("id:")))
            .map(|id| id.trim().parse().unwrap())
            .collect();
    }
    out
}

#[tokio::test]
async fn the_feed_catches_up_follows_and_resumes() {
    let h = Harness::new().await;
    let admin = h.token(Role::Admin).to_owned();
    let response = h
        .app
        .clone()
        .oneshot(request(Method::GET, "/v1/feed", Some(&admin), &[], None))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let mut body = response.into_body();
    assert_eq!(ids(&mut body, 2).await, [1, 2]);
    // A new append arrives on the open feed.
    h.store
        .append(testkit::append(
            CHILD,
            ExpectedVersion::Any,
            vec![testkit::contact("f-1", "2023-12-24")],
        ))
        .await
        .unwrap();
    assert_eq!(ids(&mut body, 1).await, [3]);

    // Reconnecting with Last-Event-ID resumes after it.
    let response = h
        .app
        .clone()
        .oneshot(request(
            Method::GET,
            "/v1/feed",
            Some(&admin),
            &[("last-event-id", "2")],
            None,
        ))
        .await
        .unwrap();
    let mut resumed = response.into_body();
    assert_eq!(ids(&mut resumed, 1).await, [3]);

    // Shutting down ends open feeds, so a graceful shutdown can finish.
    h.state.begin_shutdown();
    let end = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(frame) = resumed.frame().await {
            frame.unwrap();
        }
    })
    .await;
    assert!(end.is_ok(), "the feed did not end on shutdown");
}

#[tokio::test]
async fn a_bad_last_event_id_is_400() {
    let h = Harness::new().await;
    let reply = h
        .send(request(
            Method::GET,
            "/v1/feed",
            Some(h.token(Role::Admin)),
            &[("last-event-id", "yesterday")],
            None,
        ))
        .await;
    reply.problem(400);
    assert_eq!(reply.fields(), ["Last-Event-ID"]);
}
