//! The investigator's timeline page in a real browser: Debian's headless Chromium, driven by
//! `tests/browser/timeline.mjs` (playwright-core), against the whole API served on a loopback port, with a
//! synthetic child whose record has late entries, corrections and deadlines; and the subject access bundle.
//!
//! Every page opened (sign-in, the timeline, the measures report, the bundle) is checked against WCAG 2.2 AA
//! by axe-core (`tests/browser/axe.mjs`): UK public-sector bodies must meet it (the Public Sector Bodies
//! Accessibility Regulations 2018), and the people reading these pages include screen-reader and keyboard
//! users. A violation fails the test, naming the rule and the elements.
//!
//! Needs `/usr/bin/chromium` (apt `chromium`) and `tests/browser/node_modules` (`npm ci` there):
//! `scripts/browser-setup` installs both, and `.ci/run` runs it and sets `JOURNEY_REQUIRE_BROWSER=1`. Where
//! they are missing outside CI the test says so loudly and does nothing else.
//!
//! `JOURNEY_BLESS=1` also writes the screenshot committed at `docs/timeline.png`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use futures::executor::block_on;
use journey_api::{AppState, Config, NewKey, Role};
use journey_core::blobs::MemoryBlobStore;
use journey_core::journal::{Journal, MemoryJournal};
use journey_core::store::{EventStore, InMemoryStore};
use journey_core::view::{AsOf, Chronology, ChronologyOptions, EventStatus};
use journey_core::{ChildId, ManualClock, PrincipalId, RecordedEvent, Timestamp, Version};
use journey_plugins::registry::Registry;
use journey_plugins::{Calendar, Host, HostConfig};
use journey_synth::{self as synth, AuthorityProfile};
use serde_json::Value;

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Why the browser cannot run here, if it cannot.
fn missing_browser() -> Option<String> {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !Path::new(&chromium).exists() {
        return Some(format!(
            "{chromium} is not installed (apt-get install -y chromium)"
        ));
    }
    if !repository()
        .join("tests/browser/node_modules/playwright-core")
        .is_dir()
    {
        return Some("tests/browser/node_modules is missing (cd tests/browser && npm ci)".into());
    }
    None
}

/// Records one generated child with the authority's own recording times.
fn record(store: &InMemoryStore, clock: &ManualClock, appends: Vec<synth::GeneratedAppend>) {
    for append in appends {
        clock.set(append.recorded_at);
        block_on(store.append(append.request)).expect("a generated append is accepted");
    }
}

/// A deep-end child whose record shows everything the page must: late records, a correction or retraction,
/// and enough history to step through; not adopted, since an adoption order seals the record from an
/// investigator (the sealed case is the API's `sealed.rs`).
fn pick_child(profile: &AuthorityProfile) -> (usize, Vec<synth::GeneratedAppend>) {
    (0..profile.children)
        .map(|i| (i, synth::generate_child(7, i, profile)))
        .find(|(_, appends)| {
            let events: Vec<_> = appends.iter().flat_map(|a| a.request.events.iter()).collect();
            let amended = events
                .iter()
                .any(|e| matches!(e.payload.kind().as_str(), "EventCorrected" | "EventRetracted"));
            let adopted = events.iter().any(|e| {
                journey_core::view::may_change_sealing(&e.payload) && !e.payload.kind().is_correction()
            });
            amended && !adopted && events.len() >= 25 && appends.len() >= 10
        })
        .expect("the deep-end profile has a child with corrections")
}

#[test]
fn the_timeline_page_shows_the_record_on_both_axes_in_a_real_browser() {
    let Some(runtime) = browser_runtime() else {
        return;
    };
    runtime.block_on(async {
        let profile = AuthorityProfile::deep_end();
        let (index, appends) = pick_child(&profile);
        let child: ChildId = appends[0].request.child_id.clone();
        let clock = Arc::new(ManualClock::new(appends[0].recorded_at));
        let store = Arc::new(InMemoryStore::new(clock.clone()));
        record(&store, &clock, appends);
        let events: Vec<RecordedEvent> = store
            .read_stream(child.clone(), Version::FIRST, usize::MAX)
            .await
            .unwrap();
        let last_recorded = events.last().unwrap().envelope.recorded_at;
        clock.set(last_recorded.plus_micros(3_600_000_000));

        let journal: Arc<dyn Journal> = Arc::new(MemoryJournal::new(clock.clone()));
        let host = Arc::new(Host::new(HostConfig::default()).unwrap());
        let registry = Registry::open(
            journal.clone(),
            Arc::new(MemoryBlobStore::default()),
            host,
            Calendar::england_and_wales().clone(),
            2,
        )
        .await
        .unwrap();
        for (dir, outcome) in
            journey_plugins::reference::deploy_all(&registry, &PrincipalId::parse("test").unwrap()).await
        {
            outcome.unwrap_or_else(|e| panic!("{dir}: {e}"));
        }
        let state = AppState::new(store.clone(), journal.clone(), clock.clone(), Config::default())
            .with_registry(Arc::new(registry));
        let investigator = state
            .keys
            .create(
                journal.as_ref(),
                PrincipalId::parse("test-admin").unwrap(),
                NewKey {
                    name: PrincipalId::parse("serious-case-review").unwrap(),
                    role: Role::Investigator,
                    agency: None,
                    reviews_only: false,
                },
            )
            .await
            .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let app = journey_api::router(state.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });

        let url = format!("http://{address}/v1/children/{child}/timeline");
        let today = clock_now(&clock).england_date();
        let measures_url = format!(
            "http://{address}/v1/measures/report?from={}&to={today}",
            today.add_days(-365)
        );
        let screenshot = std::env::var_os("JOURNEY_BLESS").map(|_| repository().join("docs/timeline.png"));
        let output = tokio::task::spawn_blocking({
            let token = investigator.token.clone();
            let url = url.clone();
            move || {
                let mut command = Command::new("node");
                command
                    .arg(repository().join("tests/browser/timeline.mjs"))
                    .env("JOURNEY_URL", &url)
                    .env("JOURNEY_KEY", &token)
                    .env("JOURNEY_PURPOSE", "serious case review SCR-2026-014")
                    .env("JOURNEY_MEASURES_URL", &measures_url);
                if let Some(path) = &screenshot {
                    command.env("JOURNEY_SCREENSHOT", path);
                }
                command.output().expect("node runs")
            }
        })
        .await
        .unwrap();
        assert!(
            output.status.success(),
            "the browser script failed:\n{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        let seen: Value = serde_json::from_slice(&output.stdout).expect("the script prints JSON");
        // WCAG 2.2 AA by axe-core on the sign-in form, the timeline page and the measures report.
        assert_eq!(seen["measures_status"], 200, "{seen:#}");
        for page in ["login", "timeline", "measures"] {
            let violations = &seen["accessibility"][page];
            assert_eq!(
                violations.as_array().map(Vec::len),
                Some(0),
                "axe-core finds the {page} page fails WCAG 2.2 AA:\n{violations:#}"
            );
        }
        let now = &seen["now"];

        // What the page must show, from the views themselves.
        let as_of = AsOf::new(clock_now(&clock).england_date(), clock_now(&clock));
        let chronology = Chronology::build(&events, as_of, ChronologyOptions::default());
        let count = |f: &dyn Fn(&journey_core::view::ChronologyEntry) -> bool| {
            chronology.entries.iter().filter(|e| f(e)).count() as u64
        };
        assert_eq!(seen["status"], 200, "{seen:#}");
        assert!(seen["content_type"].as_str().unwrap().starts_with("text/html"));
        assert!(
            now["heading"].as_str().unwrap().contains(child.as_str()),
            "child #{index}: {now:#}"
        );
        assert_eq!(now["chart_present"], true);
        assert_eq!(now["events"].as_u64().unwrap(), chronology.entries.len() as u64);
        assert_eq!(
            now["entry_rows"].as_u64().unwrap(),
            chronology.entries.len() as u64
        );
        assert_eq!(now["late_events"].as_u64().unwrap(), count(&|e| e.recorded_late));
        assert_eq!(now["late_marks"].as_u64().unwrap(), count(&|e| e.recorded_late));
        let by_status = |status: &str| now["events_by_status"][status].as_u64().unwrap_or(0);
        assert_eq!(
            by_status("corrected"),
            count(&|e| matches!(e.status, EventStatus::Corrected { .. }))
        );
        assert_eq!(
            by_status("retracted"),
            count(&|e| matches!(e.status, EventStatus::Retracted { .. }))
        );
        assert!(
            by_status("corrected") + by_status("retracted") > 0,
            "the chosen child's corrections are visible: {now:#}"
        );
        assert!(
            now["deadline_rows"].as_u64().unwrap() > 0,
            "deadlines are shown: {now:#}"
        );
        assert!(now["deadlines_unavailable"].is_null(), "{now:#}");
        // Every instant something was recorded, and the chosen "now" (an hour after the last record).
        assert_eq!(
            now["known_at_options"].as_u64().unwrap() as usize,
            distinct_instants(&events) + 1
        );
        assert_eq!(
            now["lanes"].as_array().unwrap().len(),
            12,
            "eleven stages and the deadlines"
        );

        // Moving the known-at instant back shows what the record said then: less.
        let first = &seen["first_known"];
        assert!(
            first["events"].as_u64().unwrap() < now["events"].as_u64().unwrap(),
            "{first:#}"
        );
        assert_eq!(
            first["known_at"].as_str().unwrap(),
            events[0].envelope.recorded_at.to_string()
        );
        let second = &seen["second_known"];
        assert!(second["events"].as_u64().unwrap() >= first["events"].as_u64().unwrap());

        // The export link works, and gives every record of the child.
        assert_eq!(seen["export"]["status"], 200, "{seen:#}");
        assert_eq!(seen["export"]["records"].as_u64().unwrap(), events.len() as u64);
        // Without a key, nothing.
        // Signed in through the form, from the page and back to it; without a session, the form again.
        let login = seen["login_url"].as_str().unwrap();
        assert!(login.contains("/login?next=%2Fv1%2Fchildren%2F"), "{login}");
        assert_eq!(seen["after_login_url"].as_str().unwrap(), url);
        assert_eq!(seen["anonymous_status"], 200);
        assert!(seen["anonymous_url"].as_str().unwrap().contains("/login?next="));
        assert_eq!(seen["anonymous_sees_form"], true);
        assert!(
            seen["after_logout_url"]
                .as_str()
                .unwrap()
                .contains("/login?next=")
        );

        // Every view was logged with its purpose.
        let reads = journal
            .read_stream(&journey_api::access::access_stream(), 1, usize::MAX)
            .await
            .unwrap();
        let timeline_reads: Vec<_> = reads
            .iter()
            .filter(|r| r.body["view"] == "timeline" && r.body["child_id"] == child.as_str())
            .collect();
        assert!(timeline_reads.len() >= 3, "{reads:#?}");
        assert!(
            timeline_reads
                .iter()
                .all(|r| r.body["purpose"] == "serious case review SCR-2026-014")
        );
    });
}

/// The runtime a browser test runs on, or `None` (said loudly) where the browser is missing outside CI. CI
/// installs the browser (scripts/browser-setup) and sets JOURNEY_REQUIRE_BROWSER=1: there, a missing browser
/// is a failure, never a silent pass.
fn browser_runtime() -> Option<tokio::runtime::Runtime> {
    if let Some(why) = missing_browser() {
        assert!(
            std::env::var_os("JOURNEY_REQUIRE_BROWSER").is_none(),
            "the browser test cannot run: {why}"
        );
        eprintln!("\n*** SKIPPED the browser test: {why} (run scripts/browser-setup) ***\n");
        return None;
    }
    Some(
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap(),
    )
}

fn clock_now(clock: &ManualClock) -> Timestamp {
    use journey_core::Clock;
    clock.now()
}

fn distinct_instants(events: &[RecordedEvent]) -> usize {
    let mut instants: Vec<Timestamp> = events.iter().map(|e| e.envelope.recorded_at).collect();
    instants.dedup();
    instants.len().min(500)
}

/// The subject access bundle (issue #20) in a real browser: the print-ready document for an invented family
/// whose record names people who must be withheld, read as a person sees it (none of them anywhere in the
/// page's text), every entry there, and printed to PDF by the browser. `JOURNEY_BLESS=1` also writes the
/// screenshot committed at `docs/subject-access.png`.
#[test]
fn the_subject_access_bundle_reads_and_prints_in_a_real_browser() {
    let Some(runtime) = browser_runtime() else {
        return;
    };
    runtime.block_on(async {
        use tower::ServiceExt as _;

        let family = journey_core::testkit::named_family();
        let clock = Arc::new(ManualClock::new("2030-01-01T09:00:00Z".parse().unwrap()));
        let store = Arc::new(InMemoryStore::new(clock.clone()));
        family.record(store.as_ref(), &clock).await;
        let journal: Arc<dyn Journal> = Arc::new(MemoryJournal::new(clock.clone()));
        let state = AppState::new(store.clone(), journal.clone(), clock.clone(), Config::default());
        let officer = state
            .keys
            .create(
                journal.as_ref(),
                PrincipalId::parse("test-admin").unwrap(),
                NewKey {
                    name: PrincipalId::parse("records-officer").unwrap(),
                    role: Role::RecordsOfficer,
                    agency: None,
                    reviews_only: false,
                },
            )
            .await
            .unwrap();
        let app = journey_api::router(state.clone());
        let body = serde_json::json!({
            "child_id": family.child_id, "requester": "subject",
            "authority": "Photo ID seen; case file SAR-2029-117", "received_on": "2029-12-14",
        });
        let created = app
            .clone()
            .oneshot(
                axum::http::Request::post("/v1/subject-access")
                    .header("authorization", format!("Bearer {}", officer.token))
                    .header("content-type", "application/json")
                    .body(axum::body::Body::from(body.to_string()))
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(created.status(), 201);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });

        let url = format!("http://{address}/v1/subject-access/sar-1/bundle?format=html");
        let screenshot =
            std::env::var_os("JOURNEY_BLESS").map(|_| repository().join("docs/subject-access.png"));
        let output = tokio::task::spawn_blocking(move || {
            let mut command = Command::new("node");
            command
                .arg(repository().join("tests/browser/bundle.mjs"))
                .env("JOURNEY_URL", &url)
                .env("JOURNEY_KEY", &officer.token);
            if let Some(path) = &screenshot {
                command.env("JOURNEY_SCREENSHOT", path);
            }
            command.output().expect("node runs")
        })
        .await
        .unwrap();
        assert!(
            output.status.success(),
            "the browser script failed:\n{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        let seen: Value = serde_json::from_slice(&output.stdout).expect("the script prints JSON");
        assert_eq!(seen["status"], 200);
        assert_eq!(seen["lang"], "en-GB");
        assert!(seen["heading"].as_str().unwrap().contains("sar-1"));
        let originals = family
            .events
            .iter()
            .filter(|e| !e.payload.kind().is_about_events())
            .count();
        assert_eq!(seen["entries"].as_u64().unwrap() as usize, originals);
        assert!(seen["withheld_marks"].as_u64().unwrap() > 0);
        assert!(seen["redaction_rows"].as_u64().unwrap() > 0);
        let text = seen["text"].as_str().unwrap();
        for value in &family.withheld {
            assert!(!text.contains(value), "{value:?} is shown on the page");
        }
        for value in &family.entitled {
            assert!(text.contains(value), "{value:?} is not shown on the page");
        }
        assert_eq!(
            seen["accessibility"].as_array().map(Vec::len),
            Some(0),
            "axe-core finds the bundle fails WCAG 2.2 AA:\n{:#}",
            seen["accessibility"]
        );
        assert_eq!(seen["pdf_starts"], "%PDF-");
        assert!(seen["pdf_bytes"].as_u64().unwrap() > 10_000);
        // The PDF as a reader shows it: the same test of what is withheld and what is there.
        assert!(seen["pdf"]["pages"].as_u64().unwrap() > 1);
        let printed = seen["pdf"]["text"].as_str().unwrap();
        for value in &family.withheld {
            assert!(!printed.contains(value), "{value:?} is in the PDF");
        }
        for value in &family.entitled {
            assert!(printed.contains(value), "{value:?} is not in the PDF");
        }
    });
}
