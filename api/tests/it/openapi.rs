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
        ("/checkpoint", "get"),
        ("/checkpoint/vkey", "get"),
        ("/checkpoints/{size}", "get"),
        ("/checkpoint/cosignatures", "post"),
        ("/v1/checkpoints", "post"),
        ("/tile/{path}", "get"),
        ("/proof/consistency", "get"),
        ("/proof/inclusion", "get"),
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
        let (kind, name) = r
            .strip_prefix("#/components/")
            .and_then(|rest| rest.split_once('/'))
            .expect("a reference to a component");
        assert!(
            matches!(kind, "schemas" | "responses"),
            "{r} is neither a schema nor a response"
        );
        assert!(doc["components"][kind][name].is_object(), "{r} does not resolve");
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

/// The problem responses are described once (`journey_api::responses`) and referenced; a route writes one
/// inline only to say what that refusal means there (a 409 on append is a wrong expected version).
#[test]
fn problem_responses_are_shared_unless_they_say_something_of_their_own() {
    let doc: serde_json::Value = serde_json::from_str(&journey_api::openapi_json()).unwrap();
    let shared = doc["components"]["responses"].as_object().unwrap();
    assert!(shared.len() >= 8, "{shared:?}");
    let mut referenced = 0;
    for (path, operations) in doc["paths"].as_object().unwrap() {
        for (method, operation) in operations.as_object().unwrap() {
            for (status, response) in operation["responses"].as_object().unwrap() {
                if response.get("$ref").is_some() {
                    referenced += 1;
                    continue;
                }
                let is_problem = response["content"].get("application/problem+json").is_some();
                let description = response["description"].as_str().unwrap_or("");
                assert!(
                    !is_problem || !description.is_empty(),
                    "{method} {path} {status}: an inline problem response with nothing of its own to say: \
                     refer to the shared one (`response = ...`)"
                );
            }
        }
    }
    assert!(referenced > 100, "{referenced}");
}

/// Every example the document gives is a request that succeeds (issue 16: it named `ContactRecorded`, which
/// the API refuses as an unknown event type). Request bodies with an example are posted to their route on a
/// test server; every example of a property satisfies that property's own constraints; every event type the
/// document names is one Journey accepts.
#[tokio::test]
async fn every_example_in_the_document_is_a_request_that_succeeds() {
    use journey_api::Role;
    let doc: serde_json::Value = serde_json::from_str(&journey_api::openapi_json()).unwrap();
    let schemas = &doc["components"]["schemas"];
    let resolve = |schema: &serde_json::Value| -> serde_json::Value {
        match schema["$ref"].as_str() {
            Some(r) => schemas[r.trim_start_matches("#/components/schemas/")].clone(),
            None => schema.clone(),
        }
    };
    let h = Harness::with_policies().await;
    let mut posted = Vec::new();
    for (path, operations) in doc["paths"].as_object().unwrap() {
        for (method, operation) in operations.as_object().unwrap() {
            let Some(media) = operation["requestBody"]["content"]["application/json"].as_object() else {
                continue;
            };
            let example = media
                .get("example")
                .cloned()
                .or_else(|| resolve(&media["schema"]).get("example").cloned());
            let Some(example) = example else { continue };
            let uri = path.replace("{child_id}", "OPENAPI-EXAMPLE-1");
            assert!(
                !uri.contains('{'),
                "{path}: give the example's path parameters a value here"
            );
            let method: Method = method.to_uppercase().parse().unwrap();
            let reply = h
                .call(
                    method.clone(),
                    &uri,
                    Some(h.token(Role::Admin)),
                    Some(example.clone()),
                )
                .await;
            assert!(
                reply.status.is_success(),
                "the example of {method} {path} is refused: {} {}\n{example:#}",
                reply.status,
                reply.text
            );
            posted.push(format!("{method} {path}"));
        }
    }
    assert!(
        posted.iter().any(|p| p == "POST /v1/children/{child_id}/events"),
        "the append route's example was not posted: {posted:?}"
    );

    // Property examples obey their own property's pattern and length.
    let mut checked = 0;
    for (name, schema) in schemas.as_object().unwrap() {
        for (property, spec) in schema["properties"].as_object().into_iter().flatten() {
            let Some(example) = spec["example"].as_str() else {
                continue;
            };
            if let Some(pattern) = spec["pattern"].as_str() {
                let re = regex::Regex::new(pattern).unwrap();
                assert!(
                    re.is_match(example),
                    "{name}.{property}: {example} does not match {pattern}"
                );
            }
            let len = example.chars().count() as u64;
            assert!(
                spec["minLength"].as_u64().is_none_or(|min| len >= min),
                "{name}.{property}"
            );
            assert!(
                spec["maxLength"].as_u64().is_none_or(|max| len <= max),
                "{name}.{property}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 3, "{checked}");

    // Event types named in descriptions are ones Journey accepts.
    let accepted: Vec<&str> = journey_core::domain::EventKind::ALL
        .iter()
        .map(|k| k.as_str())
        .collect();
    let event_type = &schemas["NewEvent"]["properties"]["type"];
    assert_eq!(event_type["enum"].as_array().unwrap().len(), accepted.len());
    let text = serde_json::to_string(&doc).unwrap();
    let named = regex::Regex::new(r"`([A-Z][a-z]+(?:[A-Z][a-z]+)*(?:Received|Recorded|Registered|Changed|Started|Ended|Held|Made|Decided))`").unwrap();
    for found in named.captures_iter(&text) {
        assert!(
            accepted.contains(&&found[1]),
            "the document names `{}`, which is not an event type",
            &found[1]
        );
    }
}
