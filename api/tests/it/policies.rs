//! The policy routes and the timeline page, through the router: deploying (and what is refused), testing,
//! evaluating as an investigator (logged, with a purpose), recording and replaying decisions, dry runs that
//! name no child, retirement and pinning.

use axum::http::Method;
use journey_api::Role;
use serde_json::json;

use crate::common::{CHILD, Harness, deploy_body, request};

const PURPOSE: [(&str, &str); 1] = [("x-journey-purpose", "policy route test")];

#[tokio::test]
async fn bad_deployments_are_refused_naming_the_field() {
    let h = Harness::with_policies().await;
    let author = h.token(Role::PolicyAuthor);
    let mut body = deploy_body("policies/levels-of-need", false);
    body["component_base64"] = json!("not base64!");
    let reply = h
        .call(Method::POST, "/v1/policies", Some(author), Some(body))
        .await;
    reply.problem(422);
    assert_eq!(reply.fields(), ["component_base64"]);

    let mut body = deploy_body("policies/levels-of-need", false);
    body["component_base64"] = json!("AGFzbQEAAAA="); // an empty core module: not a component
    let reply = h
        .call(Method::POST, "/v1/policies", Some(author), Some(body))
        .await;
    reply.problem(422);
    assert_eq!(reply.fields(), ["component"]);

    let mut body = deploy_body("policies/levels-of-need", false);
    body["parameters"] = json!({"thresholds": "changed"});
    let reply = h
        .call(Method::POST, "/v1/policies", Some(author), Some(body))
        .await;
    let problem = reply.problem(409);
    assert!(
        problem["detail"].as_str().unwrap().contains("parameters"),
        "{problem}"
    );

    let mut body = deploy_body("policies/levels-of-need", false);
    body["surprise"] = json!(1);
    h.call(Method::POST, "/v1/policies", Some(author), Some(body))
        .await
        .problem(422);
}

#[tokio::test]
async fn a_version_is_tested_listed_and_evaluated_with_its_evidence() {
    let h = Harness::with_policies().await;
    let author = h.token(Role::PolicyAuthor);
    let test = h
        .call(
            Method::POST,
            "/v1/policies/statutory-timescales/versions/2.0.0/test",
            Some(author),
            None,
        )
        .await;
    assert_eq!(test.status, 200, "{}", test.text);
    assert!(test.body["passed"].as_u64().unwrap() >= 3);
    assert_eq!(test.body["failed"], 0);

    let list = h.call(Method::GET, "/v1/policies", Some(author), None).await;
    let versions = list.body["versions"].as_array().unwrap();
    // Each reference policy's frozen 1.0.1 beside the version built from source, by name then version.
    let listed: Vec<String> = versions
        .iter()
        .map(|v| {
            format!(
                "{} {}",
                v["name"].as_str().unwrap(),
                v["version"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        listed,
        [
            "care-leaver-entitlements 1.0.1",
            "care-leaver-entitlements 2.0.0",
            "levels-of-need 1.0.1",
            "levels-of-need 1.1.0",
            "retention 1.0.0",
            "statutory-timescales 1.0.1",
            "statutory-timescales 2.0.0",
            "step-up-down 1.0.1",
            "step-up-down 1.1.0",
        ],
        "{}",
        list.text
    );
    assert!(versions.iter().all(|v| v["status"] == "active"), "{}", list.text);

    let path = format!("/v1/children/{CHILD}/policies/statutory-timescales/evaluate?on=2024-01-31");
    let reply = h
        .send(request(
            Method::POST,
            &path,
            Some(h.token(Role::Investigator)),
            &PURPOSE,
            None,
        ))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["version"], "2.0.0");
    assert_eq!(reply.body["evaluation_date"], "2024-01-31");
    for evidence in [
        "policy_hash",
        "input_hash",
        "engine_config_hash",
        "output_hash",
        "fuel_used",
    ] {
        assert!(
            !reply.body[evidence].is_null(),
            "{evidence} missing: {}",
            reply.text
        );
    }
    assert!(
        reply.body["decisions"]["deadlines"]
            .as_array()
            .is_some_and(|d| !d.is_empty())
    );
    // Logged as a read of the child, with its purpose.
    let log = h
        .call(
            Method::GET,
            &format!("/v1/access-log?child_id={CHILD}"),
            Some(h.token(Role::Admin)),
            None,
        )
        .await;
    let entries = log.body["entries"].as_array().unwrap();
    let entry = entries
        .iter()
        .find(|e| e["view"] == "policy:statutory-timescales")
        .expect("logged");
    assert_eq!(entry["purpose"], "policy route test");

    // Only an admin may record a decision.
    let recorded = format!("{path}&record=true");
    h.send(request(
        Method::POST,
        &recorded,
        Some(h.token(Role::Investigator)),
        &PURPOSE,
        None,
    ))
    .await
    .problem(403);
    let reply = h
        .call(Method::POST, &recorded, Some(h.token(Role::Admin)), None)
        .await;
    assert_eq!(reply.body["decision"], 2, "{}", reply.text);
    let replay = h
        .send(request(
            Method::POST,
            "/v1/decisions/2/replay",
            Some(h.token(Role::Investigator)),
            &PURPOSE,
            None,
        ))
        .await;
    assert_eq!(replay.status, 200, "{}", replay.text);
    assert_eq!(replay.body["identical"], true);
    assert_eq!(replay.body["input_identical"], true);
    h.call(
        Method::POST,
        "/v1/decisions/99/replay",
        Some(h.token(Role::Admin)),
        None,
    )
    .await
    .problem(404);
}

#[tokio::test]
async fn a_dry_run_reports_aggregates_and_names_no_child() {
    let h = Harness::with_policies().await;
    let reply = h
        .call(
            Method::POST,
            "/v1/policies/levels-of-need/versions/1.1.0/dry-run",
            Some(h.token(Role::PolicyAuthor)),
            Some(json!({"on": "2024-01-31", "limit": 10})),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["children"], 1);
    assert_eq!(reply.body["evaluated"], 1);
    assert!(!reply.text.contains(CHILD), "{}", reply.text);
    h.call(
        Method::POST,
        "/v1/policies/levels-of-need/versions/1.1.0/dry-run",
        Some(h.token(Role::PolicyAuthor)),
        Some(json!({"limit": 0})),
    )
    .await
    .problem(422);
}

#[tokio::test]
async fn a_retired_version_is_in_force_for_no_date_but_can_be_pinned() {
    let h = Harness::with_policies().await;
    let retire = h
        .call(
            Method::POST,
            "/v1/policies/step-up-down/versions/1.1.0/retire",
            Some(h.token(Role::PolicyAuthor)),
            Some(json!({"reason": "superseded by the 2026 protocol"})),
        )
        .await;
    assert_eq!(retire.body["version"]["status"], "retired", "{}", retire.text);
    let path = format!("/v1/children/{CHILD}/policies/step-up-down/evaluate?on=2024-01-31");
    // The earlier version, still active, is in force again; once it is retired too, none is.
    let earlier = h
        .call(Method::POST, &path, Some(h.token(Role::Admin)), None)
        .await;
    assert_eq!(earlier.body["version"], "1.0.1", "{}", earlier.text);
    h.call(
        Method::POST,
        "/v1/policies/step-up-down/versions/1.0.1/retire",
        Some(h.token(Role::PolicyAuthor)),
        Some(json!({"reason": "superseded by the 2026 protocol"})),
    )
    .await;
    h.call(Method::POST, &path, Some(h.token(Role::Admin)), None)
        .await
        .problem(404);
    let pinned = h
        .call(
            Method::POST,
            &format!("{path}&version=1.1.0"),
            Some(h.token(Role::Admin)),
            None,
        )
        .await;
    assert_eq!(pinned.status, 200, "{}", pinned.text);
    h.call(
        Method::POST,
        "/v1/policies/step-up-down/versions/1.1.0/activate",
        Some(h.token(Role::Admin)),
        None,
    )
    .await
    .problem(409);
}

#[tokio::test]
async fn the_timeline_page_is_html_for_an_investigator_with_a_purpose() {
    let h = Harness::with_policies().await;
    let path = format!("/v1/children/{CHILD}/timeline");
    h.call(Method::GET, &path, Some(h.token(Role::Investigator)), None)
        .await
        .problem(400);
    let reply = h
        .call(
            Method::GET,
            &format!("{path}?purpose=case%20review&on=2024-01-31"),
            Some(h.token(Role::Investigator)),
            None,
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert!(reply.content_type().starts_with("text/html"));
    for needle in [
        "<svg",
        "data-testid=\"timeline-chart\"",
        "e-contact",
        "Statutory deadlines",
        "case review",
    ] {
        assert!(reply.text.contains(needle), "{needle} missing");
    }
    h.call(
        Method::GET,
        "/v1/children/nobody/timeline?purpose=x",
        Some(h.token(Role::Admin)),
        None,
    )
    .await
    .problem(404);
}

/// "Activated only after its example cases pass" must not be empty: a version that ships no example case is
/// deployed but never activated, and the refusal names the rule.
#[tokio::test]
async fn a_version_without_example_cases_cannot_be_activated() {
    use std::sync::Arc;
    let h = Harness::new().await;
    let registry = journey_plugins::registry::Registry::open(
        h.state.journal.clone(),
        Arc::new(journey_core::blobs::MemoryBlobStore::default()),
        crate::common::shared_host(),
        journey_plugins::Calendar::england_and_wales().clone(),
        2,
    )
    .await
    .unwrap();
    let h = h.with_registry(Arc::new(registry));
    let author = h.token(Role::PolicyAuthor);
    let mut body = deploy_body("policies/statutory-timescales", false);
    body["examples"] = json!([]);
    let deployed = h
        .call(Method::POST, "/v1/policies", Some(author), Some(body.clone()))
        .await;
    assert_eq!(deployed.status, 201, "{}", deployed.text);
    let version = deployed.body["version"]["version"].as_str().unwrap().to_owned();
    let activated = h
        .call(
            Method::POST,
            &format!("/v1/policies/statutory-timescales/versions/{version}/activate"),
            Some(author),
            None,
        )
        .await;
    let problem = activated.problem(422);
    assert_eq!(activated.fields(), ["examples"]);
    assert!(
        problem["detail"].as_str().unwrap().contains("at least one"),
        "{problem}"
    );
    // Asking for activation with the deployment is refused the same way, and nothing is in force.
    body["activate"] = json!(true);
    let at_once = h
        .call(Method::POST, "/v1/policies", Some(author), Some(body))
        .await;
    at_once.problem(422);
    assert_eq!(at_once.fields(), ["examples"]);
    let listed = h.call(Method::GET, "/v1/policies", Some(author), None).await;
    assert_eq!(
        listed.body["versions"][0]["status"], "deployed",
        "{}",
        listed.text
    );
}

/// Components are not events (issue 15): a policy upload is held to `policy_upload_limit`, every other body
/// to the smaller `body_limit`, and a refusal names the setting that raises it and how.
#[tokio::test]
async fn a_policy_upload_has_a_limit_of_its_own_named_when_it_refuses() {
    let body = deploy_body("policies/levels-of-need", false);
    let size = body.to_string().len();
    let serve_with = |body_limit: usize, policy_upload_limit: usize| async move {
        let h = Harness::with_config(journey_api::Config {
            body_limit,
            policy_upload_limit,
            ..journey_api::Config::default()
        })
        .await;
        let registry = h.reference_registry().await;
        h.with_registry(std::sync::Arc::new(registry))
    };

    // Far over the limit on events, well under the one on uploads: deployed (it is already, so 200).
    let h = serve_with(size / 8, size * 2).await;
    let author = h.token(Role::PolicyAuthor);
    let reply = h
        .call(Method::POST, "/v1/policies", Some(author), Some(body.clone()))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    // An event body of the same size is held to body_limit.
    let events = json!({"events": [], "pad": "x".repeat(size)});
    let reply = h
        .call(
            Method::POST,
            &format!("/v1/children/{CHILD}/events"),
            Some(h.token(Role::Integrator)),
            Some(events),
        )
        .await;
    let detail = reply.problem(413)["detail"].as_str().unwrap().to_owned();
    assert!(
        detail.contains(&format!("limit of {} bytes (body_limit", size / 8))
            && detail.contains("journey serve --body-limit"),
        "{detail}"
    );

    // Over the upload limit: refused, naming policy_upload_limit and how to raise it.
    let h = serve_with(size / 8, size / 2).await;
    let reply = h
        .call(
            Method::POST,
            "/v1/policies",
            Some(h.token(Role::PolicyAuthor)),
            Some(body),
        )
        .await;
    let detail = reply.problem(413)["detail"].as_str().unwrap().to_owned();
    assert!(
        detail.contains("(policy_upload_limit: raise it with `policy_upload_limit = ...`")
            && detail.contains("journey serve --policy-upload-limit"),
        "{detail}"
    );
}
