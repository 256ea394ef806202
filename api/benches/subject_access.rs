//! A subject access bundle for a child with 500 events (issue #20: under 1 s), through the router as a
//! records officer asks for it, JSON and print-ready HTML, against the same child's chronology read through
//! the same router in the same process (the baseline: a read of the same records, with its access record).
//!
//! ```text
//! cargo bench -p journey-api --bench subject_access
//! JOURNEY_SAR_RUNS=50 cargo bench -p journey-api --bench subject_access
//! ```
//!
//! The child is the invented family's (`journey_core::testkit::named_family`, whose record names people the
//! bundle withholds) with contacts added until it has 500 events, each naming a neighbour and the mother in
//! free text, so that redaction has work on every entry. The store is in memory, the journal too: the
//! bundle's own work is what is measured. Nothing is asserted: the numbers are printed next to the target.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use journey_api::{AppState, Config, NewKey, Role};
use journey_core::journal::MemoryJournal;
use journey_core::store::{EventStore, InMemoryStore};
use journey_core::testkit::bench::env_number;
use journey_core::testkit::{self, named_family};
use journey_core::{ExpectedVersion, ManualClock, NewEvent, PrincipalId};
use tower::ServiceExt as _;

const EVENTS: usize = 500;

/// A contact naming the mother and a (not confidential) neighbour referrer, on day `n` after 2010-01-01.
fn contact(n: usize) -> NewEvent {
    let day = testkit::date("2010-01-01").add_days(n as i32);
    serde_json::from_value(serde_json::json!({
        "event_id": format!("bench-{n}"),
        "occurred_at": day.to_string(),
        "source": {"agency": "la.exampleshire", "system": "example-cms"},
        "type": "ContactReceived",
        "data": {
            "source": "1B",
            "concerns": ["3B"],
            "summary": format!("Neighbour Rosalind Fairclough ({n}) reports shouting; Harriet Quennell was not at home."),
            "referrer": {"person": {"person_id": "P-BENCH", "relationship": "neighbour",
                                    "name": "Rosalind Fairclough", "contact_details": "07700 900456"},
                         "confidential": false},
        },
    }))
    .expect("a valid contact")
}

fn main() {
    let runs = env_number("JOURNEY_SAR_RUNS", 20) as usize;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let family = named_family();
        let clock = Arc::new(ManualClock::new("2030-01-01T09:00:00Z".parse().unwrap()));
        let store = Arc::new(InMemoryStore::new(clock.clone()));
        family.record(store.as_ref(), &clock).await;
        let contacts = (0..EVENTS - family.events.len()).map(contact).collect();
        store
            .append(testkit::append(
                family.child_id.as_str(),
                ExpectedVersion::Any,
                contacts,
            ))
            .await
            .unwrap();
        let journal = Arc::new(MemoryJournal::new(clock.clone()));
        let state = AppState::new(store.clone(), journal.clone(), clock.clone(), Config::default());
        let key = |name: &str, role| {
            let state = state.clone();
            let journal = journal.clone();
            let name = PrincipalId::parse(name).unwrap();
            async move {
                state
                    .keys
                    .create(
                        journal.as_ref(),
                        PrincipalId::parse("bench").unwrap(),
                        NewKey {
                            name,
                            role,
                            agency: None,
                            reviews_only: false,
                        },
                    )
                    .await
                    .unwrap()
                    .token
            }
        };
        let officer = key("records-officer", Role::RecordsOfficer).await;
        let investigator = key("investigator", Role::Investigator).await;
        let app = journey_api::router(state);
        let send = |method: &str, uri: String, token: &str, body: Option<String>| {
            let request = Request::builder()
                .method(method)
                .uri(uri)
                .header("authorization", format!("Bearer {token}"))
                .header("x-journey-purpose", "benchmark (synthetic data)")
                .header("content-type", "application/json")
                .body(body.map_or_else(Body::empty, Body::from))
                .unwrap();
            let app = app.clone();
            async move {
                let response = app.oneshot(request).await.unwrap();
                assert!(response.status().is_success(), "{}", response.status());
                axum::body::to_bytes(response.into_body(), usize::MAX)
                    .await
                    .unwrap()
                    .len()
            }
        };
        let body = serde_json::json!({"child_id": family.child_id, "requester": "subject",
            "authority": "benchmark", "received_on": "2029-12-01"});
        send(
            "POST",
            "/v1/subject-access".into(),
            &officer,
            Some(body.to_string()),
        )
        .await;

        let time = |uri: String, token: String| {
            let send = &send;
            async move {
                let mut samples: Vec<Duration> = Vec::with_capacity(runs);
                let mut bytes = 0;
                for _ in 0..runs {
                    let start = Instant::now();
                    bytes = send("GET", uri.clone(), &token, None).await;
                    samples.push(start.elapsed());
                }
                samples.sort();
                (samples[samples.len() / 2], samples[samples.len() * 9 / 10], bytes)
            }
        };
        let chronology = format!("/v1/children/{}/chronology", family.child_id);
        let (base, base90, base_bytes) = time(chronology, investigator.clone()).await;
        let (json, json90, json_bytes) =
            time("/v1/subject-access/sar-1/bundle".into(), officer.clone()).await;
        let (html, html90, html_bytes) = time(
            "/v1/subject-access/sar-1/bundle?format=html".into(),
            officer.clone(),
        )
        .await;
        println!("subject access bundle, {EVENTS} events, {runs} runs each (median, p90, bytes):");
        println!("  chronology (baseline)  {base:>10.2?} {base90:>10.2?} {base_bytes:>9}");
        println!(
            "  bundle, JSON           {json:>10.2?} {json90:>10.2?} {json_bytes:>9}   {:.2}x the chronology",
            json.as_secs_f64() / base.as_secs_f64()
        );
        println!(
            "  bundle, HTML           {html:>10.2?} {html90:>10.2?} {html_bytes:>9}   {:.2}x the chronology",
            html.as_secs_f64() / base.as_secs_f64()
        );
        println!(
            "  target: under 1 s -> {}",
            if json.max(html) < Duration::from_secs(1) {
                "met"
            } else {
                "NOT met"
            }
        );
    });
}
