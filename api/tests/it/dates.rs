//! Dates and instants near the ends of what Journey accepts (1900-01-01 to 2200-12-31), through every route
//! that takes one: inside the range nothing fails on the server; outside it the parameter is refused by name
//! (400 for a query parameter, 422 for a field of a JSON body), before anything computes with it.

use axum::http::Method;
use journey_api::Role;
use journey_core::Date;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Value, json};

use crate::common::{CHILD, Harness, deploy_body, request};
use crate::routes::{Operation, Param, default_query_value, operations};

/// The rule's words, for dates ("must be from 1900-01-01 to 2200-12-31") and instants ("must be an instant
/// from 1900-01-01T00:00:00Z to 2200-12-31T23:59:59.999999Z").
fn states_the_range(message: &str) -> bool {
    message.contains("from 1900-01-01") && message.contains(" to 2200-12-31")
}
const PURPOSE: (&str, &str) = ("x-journey-purpose", "date bounds test");

fn date(s: &str) -> Date {
    s.parse().unwrap()
}

/// The body an operation's date field is put into (the other fields valid). A new route whose body takes a
/// date needs a line here.
fn base_body(op: &Operation) -> Value {
    if op.path.ends_with("/dry-run") {
        json!({ "limit": 1 })
    } else if op.path.ends_with("/holds") {
        json!({ "reason": "date bounds test" })
    } else if op.path == "/v1/reviews/{review_id}/decisions" {
        json!({ "child_id": CHILD, "occurred_on": "2024-01-01", "decided_at": "2024-01-01T10:00:00Z",
                "label": "date bounds test" })
    } else if op.path == "/v1/reviews" {
        json!({ "name": "date bounds test", "children": [CHILD] })
    } else if op.path == "/v1/subject-access" {
        json!({ "child_id": CHILD, "requester": "subject", "authority": "date bounds test" })
    } else if op.path == "/v1/policies" {
        deploy_body("policies/statutory-timescales", false)
    } else {
        panic!("no base body for {}: add one to dates::base_body", op.label())
    }
}

/// Sends `value` as `param` of `op` (in the query, or in the body), with every other required query
/// parameter valid.
async fn send(
    h: &Harness,
    op: &Operation,
    param: &Param,
    in_body: bool,
    value: &str,
) -> crate::common::Reply {
    let mut query: Vec<(String, String)> = op
        .query
        .iter()
        .filter(|p| p.required && (in_body || p.name != param.name))
        .map(|p| (p.name.clone(), default_query_value(&p.name).to_owned()))
        .collect();
    let mut body = None;
    if in_body {
        let mut b = base_body(op);
        b[&param.name] = json!(value);
        body = Some(b);
    } else {
        query.push((param.name.clone(), value.to_owned()));
    }
    let query: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&query)
        .finish();
    let uri = format!("{}?{query}", op.concrete_path(h, CHILD));
    h.send(request(
        op.method.clone(),
        &uri,
        Some(h.token(Role::Admin)),
        &[PURPOSE],
        body,
    ))
    .await
}

/// A date written as a request would, and whether Journey accepts it.
fn date_near_a_bound() -> impl Strategy<Value = (String, bool)> {
    let near = (prop_oneof![Just("1900-01-01"), Just("2200-12-31")], -800i32..800)
        .prop_map(|(anchor, days)| date(anchor).add_days(days));
    let extreme = prop_oneof![
        Just(date("0000-01-01")),
        Just(date("0001-01-01")),
        Just(date("9999-03-01")),
        Just(date("9999-12-31")),
    ];
    prop_oneof![4 => near, 1 => extreme].prop_map(|d| {
        let accepted = d >= date("1900-01-01") && d <= date("2200-12-31");
        (d.to_string(), accepted)
    })
}

/// An instant (RFC 3339, UTC) near a bound, and whether Journey accepts it.
fn instant_near_a_bound() -> impl Strategy<Value = (String, bool)> {
    (date_near_a_bound(), 0u32..86_400, 0u32..1_000_000).prop_map(|((day, _), seconds, micros)| {
        let text = format!(
            "{day}T{:02}:{:02}:{:02}.{micros:06}Z",
            seconds / 3600,
            seconds / 60 % 60,
            seconds % 60
        );
        let day = date(&day);
        (text, day >= date("1900-01-01") && day <= date("2200-12-31"))
    })
}

fn check(
    op: &Operation,
    param: &Param,
    in_body: bool,
    value: &str,
    accepted: bool,
    reply: &crate::common::Reply,
) -> Result<(), TestCaseError> {
    let what = format!(
        "{} {} = {value}: {} {}",
        op.label(),
        param.name,
        reply.status,
        reply.text
    );
    prop_assert!(!reply.status.is_server_error(), "{}", what);
    let refused_by_range =
        reply.body["errors"].as_array().into_iter().flatten().any(|e| {
            e["field"] == param.name.as_str() && states_the_range(e["message"].as_str().unwrap_or(""))
        });
    if accepted {
        prop_assert!(!refused_by_range, "{}", what);
    } else {
        let status = if in_body { 422 } else { 400 };
        prop_assert_eq!(reply.status.as_u16(), status, "{}", what);
        prop_assert!(refused_by_range, "{}", what);
    }
    Ok(())
}

#[test]
fn every_route_that_takes_a_date_bounds_it_and_never_fails_near_the_bounds() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let h = runtime.block_on(Harness::with_policies());
    let mut walked = Vec::new();
    for op in operations() {
        let params = op
            .query
            .iter()
            .map(|p| (p, false))
            .chain(op.body.iter().map(|p| (p, true)));
        for (param, in_body) in params {
            let strategy = match param.format.as_str() {
                "date" => date_near_a_bound().boxed(),
                "date-time" => instant_near_a_bound().boxed(),
                _ => continue,
            };
            // Deployments carry a whole component: fewer of them.
            let cases = if op.path == "/v1/policies" { 4 } else { 12 };
            let mut runner = TestRunner::new(Config {
                cases,
                failure_persistence: None,
                ..Config::default()
            });
            runner
                .run(&strategy, |(value, accepted)| {
                    let reply = runtime.block_on(send(&h, &op, param, in_body, &value));
                    check(&op, param, in_body, &value, accepted, &reply)
                })
                .unwrap_or_else(|e| panic!("{}: {e}", op.label()));
            walked.push(format!("{} {}", op.label(), param.name));
        }
    }
    // The routes the acceptance tests found crashing are among those walked.
    for expected in [
        "GET /v1/children/{child_id}/summary on",
        "GET /v1/measures to",
        "GET /v1/returns/annex-a end",
        "POST /v1/children/{child_id}/policies/{name}/evaluate on",
        "POST /v1/policies/{name}/versions/{version}/dry-run known_at",
    ] {
        assert!(
            walked.iter().any(|w| w == expected),
            "{expected} not walked: {walked:#?}"
        );
    }
    assert!(walked.len() >= 25, "{walked:#?}");
}

/// The four requests that crashed a handler (a panic answered 500) in the acceptance tests.
#[tokio::test]
async fn the_dates_that_crashed_handlers_are_refused_by_name() {
    let h = Harness::with_policies().await;
    for (method, uri, field) in [
        (
            Method::GET,
            format!("/v1/children/{CHILD}/summary?on=9999-03-01"),
            "on",
        ),
        (
            Method::GET,
            "/v1/measures?from=2024-04-01&to=9999-12-31".to_owned(),
            "to",
        ),
        (
            Method::GET,
            "/v1/returns/annex-a?start=2024-04-01&end=9999-12-31".to_owned(),
            "end",
        ),
        (
            Method::POST,
            format!("/v1/children/{CHILD}/policies/statutory-timescales/evaluate?on=9999-12-31"),
            "on",
        ),
    ] {
        let reply = h
            .send(request(
                method,
                &uri,
                Some(h.token(Role::Admin)),
                &[PURPOSE],
                None,
            ))
            .await;
        let problem = reply.problem(400);
        assert_eq!(reply.fields(), [field], "{uri}: {problem}");
        assert!(
            states_the_range(problem["detail"].as_str().unwrap()),
            "{uri}: {problem}"
        );
    }
}
