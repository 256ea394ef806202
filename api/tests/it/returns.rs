//! The statutory returns over HTTP: the same tables as `journey_returns` produces, admins only, and
//! every child in a return written to the access log.

use std::sync::Arc;

use axum::http::Method;
use journey_api::Config;
use journey_api::Role;
use journey_core::codes::CollectionYear;
use journey_core::store::InMemoryStore;
use journey_core::testkit;
use journey_returns::ssda903::{self, TableKind};
use journey_synth::{self as synth, AuthorityProfile};

use crate::common::{Harness, request};

/// A harness holding a small synthetic authority, and the collection year with the most episodes.
pub(crate) async fn authority() -> (Harness, CollectionYear) {
    let clock = testkit::clock();
    let store = Arc::new(InMemoryStore::new(clock.clone()));
    let profile = AuthorityProfile {
        children: 150,
        ..AuthorityProfile::small()
    };
    synth::load(store.as_ref(), &clock, synth::generate(7, &profile))
        .await
        .unwrap();
    let h = Harness::with_store(Config::default(), clock.clone(), store.clone(), store.clone()).await;
    let known_at = journey_core::Clock::now(clock.as_ref());
    let mut best = None;
    for ending in 2016..=2026 {
        let year = CollectionYear::new(ending).unwrap();
        let tables = ssda903::export(store.as_ref(), year, known_at).await.unwrap();
        let episodes = tables.table(TableKind::Episodes).len();
        if best.is_none_or(|(_, n)| episodes > n) {
            best = Some((year, episodes));
        }
    }
    let (year, episodes) = best.unwrap();
    assert!(episodes > 0, "the synthetic authority has looked-after children");
    (h, year)
}

#[tokio::test]
async fn the_ssda903_return_is_the_core_export_and_its_children_are_access_logged() {
    let (h, year) = authority().await;
    let known_at = journey_core::Clock::now(h.state.clock.as_ref());
    let label = year.to_string().replace('/', "-");
    let admin = h.token(Role::Admin);
    let reply = h
        .call(
            Method::GET,
            &format!(
                "/v1/returns/ssda903/{label}?known_at={}",
                known_at.to_string().replace('+', "%2B")
            ),
            Some(admin),
            None,
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let expected = ssda903::export(h.store.as_ref(), year, known_at).await.unwrap();
    let tables = reply.body["tables"].as_array().unwrap();
    assert_eq!(tables.len(), expected.tables.len());
    for (kind, table) in &expected.tables {
        let served = tables
            .iter()
            .find(|t| t["file"] == kind.file_name())
            .unwrap_or_else(|| panic!("no {kind} in the answer"));
        let rows: Vec<Vec<String>> = serde_json::from_value(served["rows"].clone()).unwrap();
        assert_eq!(rows, table.rows, "{kind}");
        assert_eq!(served["columns"][0], "CHILD");
    }

    // Every child of the return, and nobody else, is in the access log entry of that read.
    let log = h.call(Method::GET, "/v1/access-log", Some(admin), None).await;
    let entry = log.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|e| e["view"] == "ssda903")
        .expect("the return was access-logged")
        .clone();
    let mut logged: Vec<String> = serde_json::from_value(entry["children"].clone()).unwrap();
    let mut header: Vec<String> = expected
        .table(TableKind::Header)
        .iter()
        .map(|r| r[0].clone())
        .collect();
    logged.sort();
    header.sort();
    assert_eq!(logged, header);
}

#[tokio::test]
async fn one_table_is_served_as_the_csv_file_the_dfe_takes() {
    let (h, year) = authority().await;
    let label = year.to_string().replace('/', "-");
    let admin = h.token(Role::Admin);
    let reply = h
        .call(
            Method::GET,
            &format!("/v1/returns/ssda903/{label}/tables/episodes.csv"),
            Some(admin),
            None,
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert!(reply.content_type().starts_with("text/csv"));
    let first = reply.text.lines().next().unwrap();
    assert_eq!(first, TableKind::Episodes.columns().join(","));
    assert!(reply.text.lines().count() > 1);

    // Refusals name what is wrong.
    let bad_year = h
        .call(Method::GET, "/v1/returns/ssda903/1999-00", Some(admin), None)
        .await;
    assert!(
        bad_year.fields().contains(&"year".to_owned()),
        "{}",
        bad_year.text
    );
    bad_year.problem(400);
    let no_table = h
        .send(request(
            Method::GET,
            &format!("/v1/returns/ssda903/{label}/tables/nonsense.csv"),
            Some(admin),
            &[],
            None,
        ))
        .await;
    no_table.problem(404);
}

#[tokio::test]
async fn annex_a_is_the_core_export_as_json_workbook_and_csv_and_its_children_are_access_logged() {
    use journey_returns::annex_a::{self, AnnexAWindow, ListKind};
    let (h, _) = authority().await;
    let known_at = journey_core::Clock::now(h.state.clock.as_ref());
    let admin = h.token(Role::Admin);
    let query = format!(
        "start=2024-04-01&end=2025-03-31&known_at={}",
        known_at.to_string().replace('+', "%2B")
    );
    let reply = h
        .call(
            Method::GET,
            &format!("/v1/returns/annex-a?{query}"),
            Some(admin),
            None,
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let window = AnnexAWindow {
        start: testkit::date("2024-04-01"),
        end: testkit::date("2025-03-31"),
    };
    let expected = annex_a::export(h.store.as_ref(), window, known_at).await.unwrap();
    let lists = reply.body["lists"].as_array().unwrap();
    assert_eq!(lists.len(), 11);
    for (served, list) in lists.iter().zip(&expected.lists) {
        assert_eq!(served["name"], list.name.as_str());
        let rows: Vec<Vec<String>> = serde_json::from_value(served["rows"].clone()).unwrap();
        assert_eq!(rows, list.rows, "{}", list.name);
    }
    assert!(expected.lists.iter().take(10).any(|l| !l.rows.is_empty()));

    let log = h.call(Method::GET, "/v1/access-log", Some(admin), None).await;
    let entry = log.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|e| e["view"] == "annex-a")
        .expect("the lists were access-logged")
        .clone();
    let logged: Vec<String> = serde_json::from_value(entry["children"].clone()).unwrap();
    let children: Vec<String> = expected.children().iter().map(|c| c.to_string()).collect();
    assert_eq!(logged, children);

    let workbook = h
        .call(
            Method::GET,
            &format!("/v1/returns/annex-a/workbook?{query}"),
            Some(admin),
            None,
        )
        .await;
    assert_eq!(workbook.status, 200);
    assert!(workbook.content_type().contains("spreadsheetml"));
    assert!(
        workbook.text.as_bytes().starts_with(b"PK"),
        "an xlsx is a zip file"
    );

    let csv = h
        .call(
            Method::GET,
            &format!("/v1/returns/annex-a/lists/3?{query}"),
            Some(admin),
            None,
        )
        .await;
    assert_eq!(csv.status, 200);
    let referrals = expected.list(ListKind::Referrals).unwrap();
    assert_eq!(csv.text.lines().next().unwrap(), referrals.headings.join(","));
    assert_eq!(csv.text.lines().count(), referrals.rows.len() + 1);

    let backwards = h
        .call(
            Method::GET,
            "/v1/returns/annex-a?start=2025-04-01&end=2025-03-31",
            Some(admin),
            None,
        )
        .await;
    assert!(
        backwards.fields().contains(&"start".to_owned()),
        "{}",
        backwards.text
    );
    backwards.problem(400);
    let twelve = h
        .call(
            Method::GET,
            &format!("/v1/returns/annex-a/lists/12?{query}"),
            Some(admin),
            None,
        )
        .await;
    twelve.problem(404);
}

#[tokio::test]
async fn the_cin_census_is_the_core_export_as_xml_and_its_children_are_access_logged() {
    use journey_returns::cin::{self, CinOptions};
    let (h, _) = authority().await;
    let known_at = journey_core::Clock::now(h.state.clock.as_ref());
    let admin = h.token(Role::Admin);
    let reply = h
        .call(
            Method::GET,
            &format!(
                "/v1/returns/cin/2024-25?la_code=878&known_at={}",
                known_at.to_string().replace('+', "%2B")
            ),
            Some(admin),
            None,
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert!(reply.content_type().starts_with("application/xml"));
    let expected = cin::export(
        h.store.as_ref(),
        &CinOptions {
            year: CollectionYear::parse("2024/25").unwrap(),
            known_at,
            la_code: "878".into(),
            produced_at: known_at,
            bank_holidays: &journey_plugins::Calendar::england_and_wales().bank_holidays,
        },
    )
    .await
    .unwrap();
    assert!(!expected.children.is_empty());
    assert_eq!(
        reply.text.matches("<Child>").count(),
        expected.children.len(),
        "one Child per child in the census"
    );
    let log = h.call(Method::GET, "/v1/access-log", Some(admin), None).await;
    let entry = log.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|e| e["view"] == "cin-census")
        .expect("logged")
        .clone();
    assert_eq!(
        entry["children"].as_array().unwrap().len(),
        expected.children.len()
    );

    let bad = h
        .call(
            Method::GET,
            "/v1/returns/cin/2024-25?la_code=ABC",
            Some(admin),
            None,
        )
        .await;
    assert!(bad.fields().contains(&"la_code".to_owned()), "{}", bad.text);
    bad.problem(400);
}
