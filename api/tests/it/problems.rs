//! RFC 9457 problem details for every kind of refusal, including those no handler produces.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request};
use futures::future::{BoxFuture, FutureExt};
use journey_api::{Config, Role};
use journey_core::store::{
    AppendOutcome, AppendRequest, EventStore, InMemoryStore, LogHead, StreamExport, VerifyReport,
};
use journey_core::{ChildId, Position, RecordedEvent, Result, Version, testkit};
use serde_json::json;

use crate::common::{CHILD, Harness, contact_body};

fn events_uri() -> String {
    format!("/v1/children/{CHILD}/events")
}

fn raw(method: Method, uri: &str, token: &str, content_type: Option<&str>, body: &str) -> Request<Body> {
    let mut b = Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {token}"));
    if let Some(ct) = content_type {
        b = b.header("content-type", ct);
    }
    b.body(Body::from(body.to_owned())).unwrap()
}

#[tokio::test]
async fn malformed_json_is_400() {
    let h = Harness::new().await;
    let token = h.token(Role::Integrator);
    for body in ["{\"events\": [", "not json", "{\"events\": []} trailing"] {
        let reply = h
            .send(raw(
                Method::POST,
                &events_uri(),
                token,
                Some("application/json"),
                body,
            ))
            .await;
        let p = reply.problem(400);
        assert!(
            p["detail"].as_str().unwrap().contains("malformed JSON"),
            "{}",
            reply.text
        );
    }
}

#[tokio::test]
async fn a_body_that_is_not_json_is_415() {
    let h = Harness::new().await;
    let token = h.token(Role::Integrator);
    let body = serde_json::to_string(&contact_body("t-1")).unwrap();
    for ct in [Some("text/plain"), None, Some("application/xml")] {
        let reply = h.send(raw(Method::POST, &events_uri(), token, ct, &body)).await;
        reply.problem(415);
    }
    // JSON with parameters, or a +json type, is fine.
    let reply = h
        .send(raw(
            Method::POST,
            &events_uri(),
            token,
            Some("application/json; charset=utf-8"),
            &body,
        ))
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
}

#[tokio::test]
async fn unknown_fields_are_422_naming_them() {
    let h = Harness::new().await;
    let token = h.token(Role::Integrator);
    let mut body = contact_body("u-1");
    body["colour"] = json!("blue");
    let reply = h.call(Method::POST, &events_uri(), Some(token), Some(body)).await;
    reply.problem(422);
    assert_eq!(reply.fields(), ["colour"], "{}", reply.text);
    let mut body = contact_body("u-2");
    body["events"][0]["colour"] = json!("blue");
    let reply = h.call(Method::POST, &events_uri(), Some(token), Some(body)).await;
    reply.problem(422);
    assert_eq!(reply.fields(), ["events[0].colour"], "{}", reply.text);
    let mut body = contact_body("u-3");
    body["events"][0]["data"]["colour"] = json!("blue");
    let reply = h.call(Method::POST, &events_uri(), Some(token), Some(body)).await;
    reply.problem(422);
    assert_eq!(reply.fields(), ["events[0].data.colour"], "{}", reply.text);
}

#[tokio::test]
async fn a_body_over_the_limit_is_413() {
    let h = Harness::with_config(Config {
        body_limit: 512,
        ..Config::default()
    })
    .await;
    let token = h.token(Role::Integrator);
    let big = format!("{{\"events\": [], \"pad\": \"{}\"}}", "x".repeat(2000));
    let reply = h
        .send(raw(
            Method::POST,
            &events_uri(),
            token,
            Some("application/json"),
            &big,
        ))
        .await;
    reply.problem(413);
    // Without a Content-Length (a streamed body), the limit still holds.
    let chunks: Vec<std::result::Result<String, std::io::Error>> = vec![Ok(big.clone())];
    let streamed = Request::builder()
        .method(Method::POST)
        .uri(events_uri())
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(Body::from_stream(futures::stream::iter(chunks)))
        .unwrap();
    h.send(streamed).await.problem(413);
}

#[tokio::test]
async fn unknown_routes_and_wrong_methods_are_problems() {
    let h = Harness::new().await;
    let reply = h.call(Method::GET, "/v1/nothing-here", None, None).await;
    reply.problem(404);
    let reply = h
        .call(Method::DELETE, "/v1/keys", Some(h.token(Role::Admin)), None)
        .await;
    reply.problem(405);
    let allow = reply.headers["allow"].to_str().unwrap();
    assert!(allow.contains("GET") && allow.contains("POST"), "{allow}");
    // The detail names the methods too (it once read "this route accepts: " and nothing more).
    let detail = reply.body["detail"].as_str().unwrap();
    assert!(detail.contains("GET") && detail.contains("POST"), "{detail}");
    let reply = h.call(Method::PUT, "/healthz", None, None).await;
    reply.problem(405);
    let detail = reply.body["detail"].as_str().unwrap();
    assert!(
        detail.ends_with("GET, HEAD") || detail.ends_with("GET"),
        "{detail}"
    );
}

#[tokio::test]
async fn bad_query_parameters_are_400_naming_them() {
    let h = Harness::new().await;
    let admin = h.token(Role::Admin);
    let uri = format!("/v1/children/{CHILD}/summary?known_at=yesterday");
    let reply = h.call(Method::GET, &uri, Some(admin), None).await;
    reply.problem(400);
    assert_eq!(reply.fields(), ["known_at"], "{}", reply.text);
    let uri = format!("/v1/children/{CHILD}/summary?colour=blue");
    let reply = h.call(Method::GET, &uri, Some(admin), None).await;
    reply.problem(400);
    let reply = h.call(Method::GET, "/v1/log?limit=0", Some(admin), None).await;
    reply.problem(400);
    assert_eq!(reply.fields(), ["limit"]);
    let reply = h
        .call(Method::GET, "/v1/children/bad%20id/summary", Some(admin), None)
        .await;
    reply.problem(400);
    assert_eq!(reply.fields(), ["child_id"]);
}

/// A store that delegates to an in-memory store, except that `verify` misbehaves as told.
#[derive(Debug)]
struct Faulty {
    inner: Arc<InMemoryStore>,
    verify: Fault,
}

#[derive(Debug, Clone, Copy)]
enum Fault {
    Slow,
    Corrupt,
    Panic,
}

impl EventStore for Faulty {
    fn append(&self, request: AppendRequest) -> BoxFuture<'_, Result<AppendOutcome>> {
        self.inner.append(request)
    }
    fn read_stream(
        &self,
        c: ChildId,
        from: Version,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<RecordedEvent>>> {
        self.inner.read_stream(c, from, limit)
    }
    fn stream_version(&self, c: ChildId) -> BoxFuture<'_, Result<Option<Version>>> {
        self.inner.stream_version(c)
    }
    fn read_all(&self, from: Position, limit: usize) -> BoxFuture<'_, Result<Vec<RecordedEvent>>> {
        self.inner.read_all(from, limit)
    }
    fn head(&self) -> BoxFuture<'_, Result<LogHead>> {
        self.inner.head()
    }
    fn watch_head(&self) -> tokio::sync::watch::Receiver<u64> {
        self.inner.watch_head()
    }
    fn export_stream(&self, c: ChildId) -> BoxFuture<'_, Result<StreamExport>> {
        self.inner.export_stream(c)
    }
    fn verify(&self) -> BoxFuture<'_, Result<VerifyReport>> {
        match self.verify {
            Fault::Slow => async {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                unreachable!("the request times out first")
            }
            .boxed(),
            Fault::Corrupt => async {
                Err(journey_core::Error::Decode(
                    "secret internal detail at /srv/journey".into(),
                ))
            }
            .boxed(),
            Fault::Panic => async { panic!("a bug in the store") }.boxed(),
        }
    }
}

async fn faulty(fault: Fault, config: Config) -> Harness {
    let clock = testkit::clock();
    let store = Arc::new(InMemoryStore::new(clock.clone()));
    let served = Arc::new(Faulty {
        inner: store.clone(),
        verify: fault,
    });
    Harness::with_store(config, clock, store, served).await
}

#[tokio::test(start_paused = true)]
async fn a_request_that_takes_too_long_is_503_timeout() {
    let h = faulty(
        Fault::Slow,
        Config {
            request_timeout: Duration::from_millis(200),
            ..Config::default()
        },
    )
    .await;
    let reply = h
        .call(Method::GET, "/v1/verify", Some(h.token(Role::Admin)), None)
        .await;
    let p = reply.problem(503);
    assert_eq!(p["type"], "urn:journey:problem:timeout");
    assert!(reply.headers.contains_key("retry-after"));
}

#[tokio::test]
async fn an_internal_error_is_a_generic_500_with_the_detail_only_in_the_log() {
    for fault in [Fault::Corrupt, Fault::Panic] {
        let h = faulty(fault, Config::default()).await;
        let reply = h
            .call(Method::GET, "/v1/verify", Some(h.token(Role::Admin)), None)
            .await;
        let p = reply.problem(500);
        assert_eq!(p["type"], "urn:journey:problem:internal");
        assert!(!reply.text.contains("secret internal detail"), "{}", reply.text);
        assert!(!reply.text.contains("a bug in the store"), "{}", reply.text);
        // The server keeps serving.
        assert_eq!(h.call(Method::GET, "/healthz", None, None).await.status, 200);
    }
}
