//! The timeliness measures over HTTP: deadlines judged by the statutory-timescales policy in force, the same
//! numbers as `journey_returns::timeliness` computes from the registry's outcomes, the read of every
//! child access-logged with its purpose, CSV by section and the HTML report.

use std::sync::Arc;

use axum::http::Method;
use journey_api::Role;
use journey_api::routes::measures::timescale_outcome;
use journey_core::testkit;
use journey_core::view::AsOf;
use journey_plugins::registry::Registry;
use journey_returns::ssda903::streams_known_at;
use journey_returns::timeliness::{self, MeasuresOptions};

use crate::common::{Harness, request};
use crate::returns::authority;

async fn with_policies(h: Harness) -> (Harness, Arc<Registry>) {
    let registry = Arc::new(h.reference_registry().await);
    (h.with_registry(registry.clone()), registry)
}

const PURPOSE: (&str, &str) = ("x-journey-purpose", "quarterly performance review");

#[tokio::test]
async fn the_measures_are_the_policys_deadlines_counted_and_the_read_is_logged() {
    let (h, _) = authority().await;
    let (h, registry) = with_policies(h).await;
    let known_at = h.state.clock.now();
    let query = format!(
        "from=2023-04-01&to=2025-03-31&known_at={}",
        known_at.to_string().replace('+', "%2B")
    );
    let investigator = h.token(Role::Investigator);
    let reply = h
        .send(request(
            Method::GET,
            &format!("/v1/measures?{query}"),
            Some(investigator),
            &[PURPOSE],
            None,
        ))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["policy"], "statutory-timescales 2.0.0");
    assert_eq!(reply.body["failures"], serde_json::json!({}));

    // The same numbers as the core computes from the registry's own outcomes.
    let streams = streams_known_at(h.store.as_ref(), known_at).await.unwrap();
    let run = registry
        .timescale_outcomes(&streams, AsOf::new(testkit::date("2025-03-31"), known_at))
        .await
        .unwrap();
    assert!(run.deadlines.len() > 100, "the synthetic children have deadlines");
    let outcomes: Vec<_> = run.deadlines.into_iter().map(timescale_outcome).collect();
    let expected = timeliness::measure(
        &streams,
        &outcomes,
        &MeasuresOptions {
            from: testkit::date("2023-04-01"),
            to: testkit::date("2025-03-31"),
            known_at,
        },
    );
    assert_eq!(reply.body["report"], serde_json::to_value(&expected).unwrap());
    assert!(!expected.timeliness.is_empty());
    assert!(
        expected
            .timeliness
            .iter()
            .all(|r| r.on_time + r.late + r.not_yet_due == r.total)
    );

    // Computing them read every child's record: logged, with the purpose, naming every child read.
    let admin = h.token(Role::Admin);
    let log = h.call(Method::GET, "/v1/access-log", Some(admin), None).await;
    let entry = log.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|e| e["view"] == "measures")
        .expect("logged")
        .clone();
    assert_eq!(entry["purpose"], PURPOSE.1);
    assert_eq!(entry["children"].as_array().unwrap().len(), streams.len());

    // An investigator must say why.
    let no_purpose = h
        .call(
            Method::GET,
            &format!("/v1/measures?{query}"),
            Some(investigator),
            None,
        )
        .await;
    no_purpose.problem(400);
}

#[tokio::test]
async fn sections_come_as_csv_and_the_report_as_a_page_with_a_chart_per_measure() {
    let (h, _) = authority().await;
    let (h, _) = with_policies(h).await;
    let admin = h.token(Role::Admin);
    let query = "from=2023-04-01&to=2025-03-31";
    let csv = h
        .call(
            Method::GET,
            &format!("/v1/measures/sections/timeliness.csv?{query}"),
            Some(admin),
            None,
        )
        .await;
    assert_eq!(csv.status, 200, "{}", csv.text);
    assert!(csv.content_type().starts_with("text/csv"));
    assert!(
        csv.text
            .starts_with("month,team,measure,label,on_time,late,not_yet_due,total,percent_on_time\n")
    );
    assert!(csv.text.lines().count() > 5);

    let page = h
        .call(
            Method::GET,
            &format!("/v1/measures/report?{query}"),
            Some(admin),
            None,
        )
        .await;
    assert_eq!(page.status, 200);
    assert!(page.content_type().starts_with("text/html"));
    for needle in [
        "data-measure=\"assessment\"",
        "data-testid=\"teams\"",
        "data-testid=\"adoption\"",
        "<svg",
        "statutory-timescales 2.0.0",
    ] {
        assert!(page.text.contains(needle), "{needle} in the report");
    }

    let unknown = h
        .call(
            Method::GET,
            &format!("/v1/measures/sections/nonsense?{query}"),
            Some(admin),
            None,
        )
        .await;
    unknown.problem(404);
    let backwards = h
        .call(
            Method::GET,
            "/v1/measures?from=2025-04-01&to=2025-03-31",
            Some(admin),
            None,
        )
        .await;
    assert!(backwards.fields().contains(&"from".to_owned()));
    backwards.problem(400);
}
