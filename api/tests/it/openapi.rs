//! The OpenAPI document: generated from the code, served, and committed at `docs/openapi.json`. This test
//! fails when the committed copy is stale; `JOURNEY_BLESS=1` rewrites it.

use std::path::PathBuf;

use axum::http::Method;

use crate::common::Harness;

fn committed() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/openapi.json")
}

#[test]
fn the_committed_openapi_document_is_current() {
    let generated = journey_api::openapi_json();
    let path = committed();
    if std::env::var_os("JOURNEY_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == generated,
        "docs/openapi.json is stale: run `JOURNEY_BLESS=1 cargo nextest run -p journey-api openapi` and commit it"
    );
}

#[test]
fn the_document_is_openapi_3_1_and_describes_every_route() {
    let doc: serde_json::Value = serde_json::from_str(&journey_api::openapi_json()).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = doc["paths"].as_object().unwrap();
    for (path, method) in [
        ("/v1/children/{child_id}/events", "post"),
        ("/v1/children/{child_id}/events", "get"),
        ("/v1/children/{child_id}/summary", "get"),
        ("/v1/children/{child_id}/chronology", "get"),
        ("/v1/children/{child_id}/export", "get"),
        ("/v1/log", "get"),
        ("/v1/feed", "get"),
        ("/v1/verify", "get"),
        ("/v1/keys", "post"),
        ("/v1/keys", "get"),
        ("/v1/keys/{key_id}/revoke", "post"),
        ("/v1/access-log", "get"),
        ("/healthz", "get"),
        ("/readyz", "get"),
        ("/metrics", "get"),
    ] {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} is not described"
        );
    }
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    for schema in [
        "Problem",
        "NewEvent",
        "AppendBody",
        "RecordedEvent",
        "StreamExport",
    ] {
        assert!(
            doc["components"]["schemas"][schema].is_object(),
            "schema {schema} missing"
        );
    }
}

#[test]
fn every_reference_resolves() {
    fn refs(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, v) in m {
                    match (k.as_str(), v.as_str()) {
                        ("$ref", Some(r)) => out.push(r.to_owned()),
                        _ => refs(v, out),
                    }
                }
            }
            serde_json::Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let doc: serde_json::Value = serde_json::from_str(&journey_api::openapi_json()).unwrap();
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(!all.is_empty());
    for r in all {
        let name = r
            .strip_prefix("#/components/schemas/")
            .expect("a schema reference");
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "{r} does not resolve"
        );
    }
}

#[tokio::test]
async fn the_document_is_served() {
    let h = Harness::new().await;
    let reply = h.call(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.body,
        serde_json::from_str::<serde_json::Value>(&journey_api::openapi_json()).unwrap()
    );
}
