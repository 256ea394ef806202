//! What was known at each decision (issue #21: the complete review under 1 s, the family chronology under
//! 100 ms on 2 cores): a review of 5 siblings with 500 events each and 20 decision points, through the
//! router as an investigator asks for it, against one child's chronology read through the same router in
//! the same process (the baseline).
//!
//! ```text
//! cargo bench -p journey-api --bench review_decisions
//! JOURNEY_REVIEW_RUNS=50 cargo bench -p journey-api --bench review_decisions
//! ```
//!
//! Each child: its registration, then 499 events appended one at a time, the five children's interleaved
//! (one round a day, 4.8 hours of the clock between appends): contacts on consecutive days, every seventh
//! dated a month before it was recorded (so the gaps have work), and four decisions on contacts per child (the 20 decision points). The
//! reference policies are deployed and active: at each decision point all four (retention aside) run on
//! the record as known then and as known now, 160 evaluations per review. The store and the journal are in
//! memory: the review's own work is what is measured. Nothing is asserted: the numbers are printed next to
//! the targets.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use journey_api::{AppState, Config, NewKey, Role};
use journey_core::journal::MemoryJournal;
use journey_core::store::{EventStore, InMemoryStore};
use journey_core::testkit::bench::{env_number, load_average};
use journey_core::testkit::{self};
use journey_core::{ExpectedVersion, ManualClock, NewEvent, PrincipalId};
use tower::ServiceExt as _;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const CHILDREN: usize = 5;
const EVENTS: usize = 500;

fn event(id: String, on: journey_core::Date, kind: &str, data: serde_json::Value) -> NewEvent {
    serde_json::from_value(serde_json::json!({
        "event_id": id, "occurred_at": on.to_string(),
        "source": {"agency": if kind == "ContactReceived" { "police.exampleshire" } else { "la.exampleshire" },
                   "system": "cms"},
        "type": kind, "data": data,
    }))
    .expect("a valid event")
}

/// Child `c`'s event `n` (1..500): a contact on day `n` after 2020-01-01 (every seventh dated a month
/// earlier: recorded late), or at `n % 125 == 124` the decision on the contact before it.
fn nth(c: usize, n: usize) -> NewEvent {
    let start = testkit::date("2020-01-01");
    if n % 125 == 124 {
        return event(
            format!("c{c}-{n}"),
            start.add_days(n as i32),
            "ContactDecided",
            serde_json::json!({"contact_event_id": format!("c{c}-{}", n - 1), "outcome": "no_further_action"}),
        );
    }
    let day = if n.is_multiple_of(7) {
        n as i32 - 30
    } else {
        n as i32
    };
    event(
        format!("c{c}-{n}"),
        start.add_days(day.max(0)),
        "ContactReceived",
        serde_json::json!({"source": "5A", "concerns": ["3B"]}),
    )
}

fn main() {
    let runs = env_number("JOURNEY_REVIEW_RUNS", 20) as usize;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let start: journey_core::Timestamp = "2020-01-01T00:30:00Z".parse().unwrap();
        let clock = Arc::new(ManualClock::new(start));
        let store = Arc::new(InMemoryStore::new(clock.clone()));
        for c in 0..CHILDREN {
            let registered = serde_json::from_value(serde_json::json!({
                "event_id": format!("c{c}-0"), "occurred_at": "2015-06-01",
                "source": {"agency": "la.exampleshire", "system": "cms"},
                "type": "ChildRegistered",
                "data": {"date_of_birth": "2015-06-01", "sex": "F", "family_id": "FAM-BENCH"},
            }))
            .unwrap();
            store
                .append(testkit::append(&format!("child-{c}"), ExpectedVersion::NoStream, vec![registered]))
                .await
                .unwrap();
        }
        // Round n is recorded on day n, the children's appends 4.8 hours apart.
        for n in 1..EVENTS {
            for c in 0..CHILDREN {
                clock.set(start.plus_micros((n as i64 * 86_400 + c as i64 * 17_280) * 1_000_000));
                store
                    .append(testkit::append(&format!("child-{c}"), ExpectedVersion::Any, vec![nth(c, n)]))
                    .await
                    .unwrap();
            }
        }
        clock.advance_micros(86_400_000_000);
        let journal = Arc::new(MemoryJournal::new(clock.clone()));
        let plain = AppState::new(store.clone(), journal.clone(), clock.clone(), Config::default());
        let host = Arc::new(journey_plugins::Host::new(journey_plugins::HostConfig::default()).unwrap());
        let registry = journey_plugins::registry::Registry::open(
            journal.clone(),
            Arc::new(journey_core::blobs::MemoryBlobStore::default()),
            host,
            journey_plugins::Calendar::england_and_wales().clone(),
            2,
        )
        .await
        .unwrap();
        let by = PrincipalId::parse("bench").unwrap();
        for (dir, outcome) in journey_plugins::reference::deploy_all(&registry, &by).await {
            outcome.unwrap_or_else(|e| panic!("{dir}: {e}"));
        }
        let with_policies = plain.clone().with_registry(Arc::new(registry));
        let key = |name: &str, role, reviews_only| {
            let state = plain.clone();
            let journal = journal.clone();
            let name = PrincipalId::parse(name).unwrap();
            async move {
                let created = state
                    .keys
                    .create(
                        journal.as_ref(),
                        PrincipalId::parse("bench").unwrap(),
                        NewKey {
                            name,
                            role,
                            agency: None,
                            reviews_only,
                        },
                    )
                    .await
                    .unwrap();
                (created.key.key_id, created.token)
            }
        };
        let (_, admin) = key("admin", Role::Admin, false).await;
        let (_, investigator) = key("investigator", Role::Investigator, false).await;
        let (reviewer_id, reviewer) = key("reviewer", Role::Investigator, true).await;
        let app = journey_api::router(with_policies);
        let app_without = journey_api::router(plain);
        let send = |app: &axum::Router, method: &str, uri: String, token: &str, body: Option<String>| {
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
                let status = response.status();
                let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
                    .await
                    .unwrap();
                assert!(status.is_success(), "{status}: {}", String::from_utf8_lossy(&bytes));
                bytes
            }
        };
        let body = serde_json::json!({"name": "bench review", "family_id": "FAM-BENCH",
            "from": "2019-01-01", "to": "2022-12-31", "investigators": [reviewer_id]});
        send(&app, "POST", "/v1/reviews".into(), &admin, Some(body.to_string())).await;
        let first = send(&app, "GET", "/v1/reviews/review-1/decisions".into(), &reviewer, None).await;
        let first: serde_json::Value = serde_json::from_slice(&first).unwrap();
        let points = first["points"].as_array().unwrap();
        let evaluations: usize = points
            .iter()
            .map(|p| p["policies"].as_array().unwrap().len() * 2)
            .sum();
        let gaps: u64 = points.iter().map(|p| p["gap_entries"].as_u64().unwrap()).sum();

        let time = |app: axum::Router, uri: String, token: String| {
            let send = &send;
            async move {
                let mut samples: Vec<Duration> = Vec::with_capacity(runs);
                let mut bytes = 0;
                for _ in 0..runs {
                    let start = Instant::now();
                    bytes = send(&app, "GET", uri.clone(), &token, None).await.len();
                    samples.push(start.elapsed());
                }
                samples.sort();
                (samples[samples.len() / 2], samples[samples.len() * 9 / 10], bytes)
            }
        };
        let (base, base90, base_bytes) = time(
            app.clone(),
            "/v1/children/child-0/chronology".into(),
            investigator.clone(),
        )
        .await;
        let (family, family90, family_bytes) = time(
            app.clone(),
            "/v1/reviews/review-1/chronology".into(),
            reviewer.clone(),
        )
        .await;
        let (bare, bare90, bare_bytes) = time(
            app_without.clone(),
            "/v1/reviews/review-1/decisions".into(),
            reviewer.clone(),
        )
        .await;
        let (full, full90, full_bytes) = time(
            app.clone(),
            "/v1/reviews/review-1/decisions".into(),
            reviewer.clone(),
        )
        .await;
        println!(
            "review of {CHILDREN} children x {EVENTS} events, {} decision points, {evaluations} policy evaluations, \
             {gaps} gap entries; {runs} runs each (median, p90, bytes); load average {}",
            points.len(),
            load_average()
        );
        let ratio = |d: Duration| d.as_secs_f64() / base.as_secs_f64();
        println!("  one child's chronology (baseline)     {base:>10.2?} {base90:>10.2?} {base_bytes:>9}");
        println!(
            "  family chronology                     {family:>10.2?} {family90:>10.2?} {family_bytes:>9}   {:.2}x",
            ratio(family)
        );
        println!(
            "  decisions, no policy host             {bare:>10.2?} {bare90:>10.2?} {bare_bytes:>9}   {:.2}x",
            ratio(bare)
        );
        println!(
            "  complete review (decisions, policies) {full:>10.2?} {full90:>10.2?} {full_bytes:>9}   {:.2}x",
            ratio(full)
        );
        let verdict = |d: Duration, target: Duration| if d < target { "met" } else { "NOT met" };
        println!(
            "  targets: family chronology < 100 ms -> {}; complete review < 1 s -> {}",
            verdict(family, Duration::from_millis(100)),
            verdict(full, Duration::from_secs(1))
        );
    });
}
