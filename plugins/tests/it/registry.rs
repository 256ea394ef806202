//! The policy registry end to end: deploy, the immutability of versions, activation gated on the shipped
//! example cases, the version in force, recorded decisions and their replay, retirement, dry runs, and a
//! registry reopened from a durable journal.

use std::sync::Arc;

use journey_core::ExpectedVersion;
use journey_core::blobs::{BlobStore, MemoryBlobStore};
use journey_core::domain::lists::ContactOutcome;
use journey_core::domain::{ContactDecided, EventCorrected, EventPayload, testkit_contact};
use journey_core::journal::{Journal, MemoryJournal};
use journey_core::store::{AppendRequest, EventStore, InMemoryStore};
use journey_core::view::AsOf;
use journey_core::{ChildId, Date, NewEvent, OccurredAt, PrincipalId, Timestamp, testkit};
use journey_embedded::FileBlobStore;
use journey_embedded::FileJournal;
use journey_plugins::registry::{
    DeployRequest, EvaluateRequest, ExampleCase, Registry, VersionSelector, VersionStatus,
};
use journey_plugins::{Calendar, DeadlineStatus, Host, HostConfig, PluginError, guests};
use serde_json::json;

use crate::support::test_limits;

const POLICY: &str = "statutory-timescales";
const VERSION: &str = "2.0.0";

fn date(s: &str) -> Date {
    Date::parse_field("date", s).unwrap()
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn author() -> PrincipalId {
    PrincipalId::parse("policy-team").unwrap()
}

fn contact(id: &str, at: &str) -> NewEvent {
    let on = OccurredAt::parse_field("at", at).unwrap().date();
    testkit::event(id, at, testkit_contact(on))
}

fn decided(id: &str, at: &str, contact: &str) -> NewEvent {
    testkit::event(
        id,
        at,
        EventPayload::ContactDecided(ContactDecided {
            contact_event_id: testkit::event_id(contact),
            outcome: ContactOutcome::ReferralToChildrensSocialCare,
            level_of_need: None,
            decided_by: None,
            rationale: None,
        }),
    )
}

/// A contact on the Thursday before Easter 2024 decided on the Wednesday after: due the next working day,
/// Tuesday 2 April, missed.
fn easter_journey() -> Vec<NewEvent> {
    vec![
        testkit::registered("reg", "2015-06-01"),
        contact("c-1", "2024-03-28T15:00"),
        decided("d-1", "2024-04-03T11:00", "c-1"),
    ]
}

fn easter_case(status: &str) -> ExampleCase {
    ExampleCase {
        name: format!("Easter contact, decision {status}"),
        description: "A contact on Maundy Thursday decided after Easter Monday.".into(),
        evaluation_date: date("2024-04-30"),
        parameters: None,
        events: easter_journey(),
        expect: json!({"deadlines": [{"name": "contact-decision", "status": status}]}),
    }
}

fn request(examples: Vec<ExampleCase>, parameters: serde_json::Value, from: &str) -> DeployRequest {
    DeployRequest {
        component: guests::bytes(guests::STATUTORY_TIMESCALES),
        parameters,
        effective_from: date(from),
        effective_to: None,
        author: "Exampleshire policy team".into(),
        examples,
    }
}

fn host() -> Arc<Host> {
    Arc::new(
        Host::new(HostConfig {
            limits: test_limits(),
            ..HostConfig::default()
        })
        .unwrap(),
    )
}

async fn registry(journal: Arc<dyn Journal>, blobs: Arc<dyn BlobStore>) -> Registry {
    Registry::open(journal, blobs, host(), Calendar::england_and_wales().clone(), 2)
        .await
        .unwrap()
}

/// Deploys the statutory-timescales version with its Easter example case and puts it in force.
async fn deploy_and_activate_easter(registry: &Registry) {
    registry
        .deploy(
            request(vec![easter_case("missed")], json!({}), "2020-04-01"),
            &author(),
        )
        .await
        .unwrap();
    registry.activate(POLICY, VERSION, &author()).await.unwrap();
}

async fn memory_registry() -> Registry {
    registry(
        Arc::new(MemoryJournal::new(testkit::clock())),
        Arc::new(MemoryBlobStore::default()),
    )
    .await
}

/// Records `events` for `child`, each at 20:00 UTC on the day it occurred.
async fn record(
    store: &dyn EventStore,
    clock: &journey_core::ManualClock,
    child: &str,
    events: Vec<NewEvent>,
) {
    for event in events {
        clock.set(ts(&format!("{}T20:00:00Z", event.occurred_at.date())).max(clock_now(clock)));
        store
            .append(AppendRequest {
                child_id: testkit::child(child),
                expected: ExpectedVersion::Any,
                recorded_by: testkit::principal(),
                events: vec![event],
            })
            .await
            .unwrap();
    }
}

fn clock_now(clock: &journey_core::ManualClock) -> Timestamp {
    use journey_core::Clock;
    clock.now()
}

#[tokio::test]
async fn a_version_is_deployed_then_activated_only_after_its_examples_pass() {
    let registry = memory_registry().await;
    let deployed = registry
        .deploy(
            request(vec![easter_case("missed")], json!({}), "2020-04-01"),
            &author(),
        )
        .await
        .unwrap();
    assert_eq!(deployed.deployed.name, POLICY);
    assert_eq!(deployed.status, VersionStatus::Deployed);
    assert_eq!(deployed.deployed.examples, 1);
    // Deployed is not in force.
    assert!(
        registry
            .in_force(POLICY, date("2024-01-01"))
            .await
            .unwrap()
            .is_none()
    );

    let (active, outcomes) = registry.activate(POLICY, VERSION, &author()).await.unwrap();
    assert_eq!(active.status, VersionStatus::Active);
    assert!(outcomes.iter().all(|o| o.passed), "{outcomes:?}");
    assert_eq!(
        registry
            .in_force(POLICY, date("2024-01-01"))
            .await
            .unwrap()
            .unwrap()
            .deployed
            .version,
        VERSION
    );
    // Not before its effective date.
    assert!(
        registry
            .in_force(POLICY, date("2020-03-31"))
            .await
            .unwrap()
            .is_none()
    );

    // The same deployment again is a harmless retry; different content under the same version is refused.
    let again = registry
        .deploy(
            request(vec![easter_case("missed")], json!({}), "2020-04-01"),
            &author(),
        )
        .await
        .unwrap();
    assert_eq!(again.status, VersionStatus::Active);
    let err = registry
        .deploy(
            request(
                vec![easter_case("missed")],
                json!({"counting": "exclusive"}),
                "2020-04-01",
            ),
            &author(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, PluginError::VersionConflict { detail, .. } if detail.contains("parameters")),
        "{err}"
    );
}

#[tokio::test]
async fn a_version_without_example_cases_is_never_activated() {
    let registry = memory_registry().await;
    // Deploying is allowed (a version can be stored, tested and dry-run while its examples are written)...
    registry
        .deploy(request(vec![], json!({}), "2020-04-01"), &author())
        .await
        .unwrap();
    // ...but with nothing to pass, "activated only after its example cases pass" would be empty.
    let err = registry.activate(POLICY, VERSION, &author()).await.unwrap_err();
    assert!(
        matches!(&err, PluginError::BadRequest { field, rule } if field == "examples" && rule.contains("at least one")),
        "{err}"
    );
    assert_eq!(
        registry.get(POLICY, VERSION).await.unwrap().status,
        VersionStatus::Deployed
    );
    assert!(
        registry
            .in_force(POLICY, date("2024-01-01"))
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn a_failing_example_blocks_activation_and_says_where() {
    let registry = memory_registry().await;
    registry
        .deploy(
            request(
                vec![easter_case("missed"), easter_case("met")],
                json!({}),
                "2020-04-01",
            ),
            &author(),
        )
        .await
        .unwrap();
    let err = registry.activate(POLICY, VERSION, &author()).await.unwrap_err();
    let PluginError::ExamplesFailed { failures, .. } = &err else {
        panic!("{err}");
    };
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].case, "Easter contact, decision met");
    assert_eq!(failures[0].path, "deadlines[0].status");
    assert!(
        failures[0].problem.contains("\"missed\""),
        "{}",
        failures[0].problem
    );
    assert_eq!(
        registry.get(POLICY, VERSION).await.unwrap().status,
        VersionStatus::Deployed
    );
}

#[tokio::test]
async fn bad_deployments_name_the_field() {
    let registry = memory_registry().await;
    let mut bad = request(vec![], json!([1]), "2020-04-01");
    let err = registry.deploy(bad.clone(), &author()).await.unwrap_err();
    assert!(
        matches!(&err, PluginError::BadRequest { field, .. } if field == "parameters"),
        "{err}"
    );
    bad.parameters = json!({});
    bad.effective_to = Some(date("2019-01-01"));
    let err = registry.deploy(bad.clone(), &author()).await.unwrap_err();
    assert!(
        matches!(&err, PluginError::BadRequest { field, .. } if field == "effective_to"),
        "{err}"
    );
    bad.effective_to = None;
    bad.component = guests::bytes(guests::WRONG_INTERFACE);
    let err = registry.deploy(bad, &author()).await.unwrap_err();
    assert!(matches!(err, PluginError::WrongInterface { .. }), "{err}");
    assert!(registry.list().await.unwrap().is_empty(), "nothing was recorded");
}

/// On a store that seals each child's content (issue #19), a recorded decision's output, which quotes the
/// child's dates, is sealed under the child's key in the journal: it reads and replays as before, nothing of
/// it is in the journal's files in the clear, and once the child's key is destroyed it is gone too.
#[tokio::test]
async fn a_decision_on_a_sealed_store_is_sealed_in_the_journal_and_erased_with_the_child() {
    let tmp = tempfile::tempdir().unwrap();
    let clock = testkit::clock();
    let journal: Arc<dyn Journal> =
        Arc::new(FileJournal::open(tmp.path().join("journal"), clock.clone()).unwrap());
    let registry = registry(journal.clone(), Arc::new(MemoryBlobStore::default())).await;
    deploy_and_activate_easter(&registry).await;
    let options = journey_embedded::EmbeddedOptions {
        kek: Some(Arc::new(journey_core::content_keys::LocalKek::from_bytes(
            [6; 32],
        ))),
        ..Default::default()
    };
    let store =
        journey_embedded::EmbeddedStore::open_with(tmp.path().join("data"), clock.clone(), options).unwrap();
    record(&store, &clock, "C-1", easter_journey()).await;
    let evaluate = EvaluateRequest {
        policy: POLICY.into(),
        child_id: testkit::child("C-1"),
        as_of: AsOf {
            on: date("2024-04-30"),
            known_at: ts("2024-04-30T12:00:00Z"),
        },
        version: VersionSelector::InForce,
        record: true,
    };
    let outcome = registry
        .evaluate(&store, &evaluate, &testkit::principal())
        .await
        .unwrap();
    let n = outcome.decision.unwrap();
    let stored = journal
        .read_stream(&"decisions".parse().unwrap(), n, 1)
        .await
        .unwrap();
    let body = &stored[0].body;
    assert!(
        body.get("decisions").is_none() && body.get("sealed_decisions").is_some(),
        "{body}"
    );
    // Read back and replayed as on a store in the clear.
    let recorded = registry.decision(&store, n).await.unwrap();
    assert_eq!(recorded.decisions, outcome.evaluation.decisions);
    assert!(registry.replay(&store, n).await.unwrap().identical);
    // No message of the output is in the journal's files.
    let message = &outcome.evaluation.decisions.deadlines[0].reasons[0].text;
    let journal_bytes: Vec<u8> = std::fs::read_dir(tmp.path().join("journal"))
        .unwrap()
        .flat_map(|e| std::fs::read(e.unwrap().path()).unwrap_or_default())
        .collect();
    assert!(message.len() > 10);
    assert!(
        !journal_bytes
            .windows(message.len())
            .any(|w| w == message.as_bytes()),
        "{message:?} is in the journal"
    );
    // Erased with the child.
    store
        .destroy_content(vec![testkit::child("C-1")], testkit::epoch())
        .await
        .unwrap();
    let gone = registry.decision(&store, n).await.unwrap_err();
    assert!(
        matches!(
            gone,
            PluginError::Store(journey_core::Error::Key(
                journey_core::content_keys::KeyError::Destroyed { .. }
            ))
        ),
        "{gone}"
    );
}

#[tokio::test]
async fn decisions_are_recorded_and_replay_identically_whatever_was_recorded_later() {
    let registry = memory_registry().await;
    deploy_and_activate_easter(&registry).await;

    let clock = testkit::clock();
    let store = InMemoryStore::new(clock.clone());
    record(&store, &clock, "C-1", easter_journey()).await;
    let known_at = ts("2024-04-30T12:00:00Z");
    let evaluate = EvaluateRequest {
        policy: POLICY.into(),
        child_id: testkit::child("C-1"),
        as_of: AsOf {
            on: date("2024-04-30"),
            known_at,
        },
        version: VersionSelector::InForce,
        record: true,
    };
    let outcome = registry
        .evaluate(&store, &evaluate, &testkit::principal())
        .await
        .unwrap();
    assert_eq!(outcome.decision, Some(1));
    assert_eq!(
        outcome.evaluation.decisions.deadlines[0].status,
        DeadlineStatus::Missed
    );

    // A correction recorded afterwards moves the decision to the Thursday itself: today's answer changes, the
    // recorded decision's does not, because it judged what was known at its instant.
    clock.set(ts("2024-05-01T09:00:00Z"));
    let corrected = EventCorrected {
        target_event_id: testkit::event_id("d-1"),
        target_occurred_at: Some(OccurredAt::parse_field("at", "2024-03-28T17:00").unwrap()),
        replacement: Box::new(decided("d-1", "2024-03-28T17:00", "c-1").payload),
        reason: journey_core::domain::LongText::parse("decision date keyed wrongly").unwrap(),
    };
    store
        .append(AppendRequest {
            child_id: testkit::child("C-1"),
            expected: ExpectedVersion::Any,
            recorded_by: testkit::principal(),
            events: vec![testkit::event(
                "fix-1",
                "2024-05-01",
                EventPayload::EventCorrected(corrected),
            )],
        })
        .await
        .unwrap();
    let now = registry
        .evaluate(
            &store,
            &EvaluateRequest {
                as_of: AsOf {
                    on: date("2024-05-01"),
                    known_at: ts("2024-05-01T10:00:00Z"),
                },
                record: false,
                ..evaluate.clone()
            },
            &testkit::principal(),
        )
        .await
        .unwrap();
    assert_eq!(now.evaluation.decisions.deadlines[0].status, DeadlineStatus::Met);
    assert_eq!(now.decision, None);

    let replay = registry.replay(&store, 1).await.unwrap();
    assert!(
        replay.identical && replay.input_identical && replay.engine_identical,
        "{replay:?}"
    );
    assert!(replay.differences.is_empty());
    assert!(matches!(
        registry.replay(&store, 2).await,
        Err(PluginError::UnknownDecision(2))
    ));
}

#[tokio::test]
async fn retired_versions_leave_force_but_can_still_be_pinned() {
    let registry = memory_registry().await;
    deploy_and_activate_easter(&registry).await;
    let err = registry
        .retire(POLICY, VERSION, " ", &author())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, PluginError::BadRequest { field, .. } if field == "reason"),
        "{err}"
    );
    let retired = registry
        .retire(
            POLICY,
            VERSION,
            "superseded by the 2025 threshold document",
            &author(),
        )
        .await
        .unwrap();
    assert_eq!(retired.status, VersionStatus::Retired);
    assert!(
        registry
            .in_force(POLICY, date("2024-01-01"))
            .await
            .unwrap()
            .is_none()
    );
    assert!(matches!(
        registry.activate(POLICY, VERSION, &author()).await,
        Err(PluginError::InvalidState(_))
    ));

    let clock = testkit::clock();
    let store = InMemoryStore::new(clock.clone());
    record(&store, &clock, "C-1", easter_journey()).await;
    let as_of = AsOf {
        on: date("2024-04-30"),
        known_at: ts("2024-04-30T12:00:00Z"),
    };
    let in_force = EvaluateRequest {
        policy: POLICY.into(),
        child_id: testkit::child("C-1"),
        as_of,
        version: VersionSelector::InForce,
        record: false,
    };
    let err = registry
        .evaluate(&store, &in_force, &testkit::principal())
        .await
        .unwrap_err();
    assert!(matches!(err, PluginError::NotInForce { .. }), "{err}");
    let pinned = EvaluateRequest {
        version: VersionSelector::Pinned(VERSION.into()),
        ..in_force
    };
    assert!(
        registry
            .evaluate(&store, &pinned, &testkit::principal())
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn a_dry_run_reports_aggregates_over_a_cohort() {
    let registry = memory_registry().await;
    registry
        .deploy(request(vec![], json!({}), "2020-04-01"), &author())
        .await
        .unwrap();
    let clock = testkit::clock();
    let store = InMemoryStore::new(clock.clone());
    record(&store, &clock, "C-1", easter_journey()).await;
    record(
        &store,
        &clock,
        "C-2",
        vec![
            testkit::registered("reg-2", "2016-02-29"),
            contact("c-2", "2024-04-08T09:00"),
            decided("d-2", "2024-04-08T15:00", "c-2"),
        ],
    )
    .await;
    let cohort = [
        testkit::child("C-1"),
        testkit::child("C-2"),
        ChildId::parse("C-404").unwrap(),
    ];
    let as_of = AsOf {
        on: date("2024-04-30"),
        known_at: ts("2024-04-30T23:00:00Z"),
    };
    let report = registry
        .dry_run(&store, POLICY, VERSION, &cohort, as_of)
        .await
        .unwrap();
    assert_eq!((report.children, report.evaluated), (3, 2));
    assert_eq!(report.failures.get("unknown_child"), Some(&1));
    let decisions = &report.deadlines["contact-decision"];
    assert_eq!(
        (decisions.get("missed"), decisions.get("met")),
        (Some(&1), Some(&1))
    );
    assert_eq!(report.compared_with, None, "nothing is in force to compare with");
    // No child's identity appears in what a policy author sees.
    let text = serde_json::to_string(&report).unwrap();
    assert!(!text.contains("C-1") && !text.contains("C-2"), "{text}");
}

/// A deployment of a version of the `contact-threshold` probe (level 3 from two contacts in 1.0.0, from
/// three in 2.0.0), with the one example case a version needs to be activated: one contact is level 2 in
/// both. The case gives its own parameters, so that a deployment told to refuse every child still passes it.
fn threshold_probe(component: &str) -> DeployRequest {
    let one_contact = ExampleCase {
        name: "One contact".into(),
        description: "A single contact is below both versions' thresholds.".into(),
        evaluation_date: date("2024-04-30"),
        parameters: Some(json!({})),
        events: easter_journey(),
        expect: json!({"level_of_need": {"level": 2}}),
    };
    DeployRequest {
        component: guests::bytes(component),
        ..request(vec![one_contact], json!({}), "2020-04-01")
    }
}

/// A registry with both versions of the `contact-threshold` probe deployed and 1.0.0 (with these
/// parameters) active: the version in force for a dry run of 2.0.0.
async fn threshold_probes_with_1_0_0_in_force(parameters: serde_json::Value) -> Registry {
    let registry = memory_registry().await;
    let deployments = [
        DeployRequest {
            parameters,
            ..threshold_probe(guests::CONTACT_THRESHOLD_1)
        },
        threshold_probe(guests::CONTACT_THRESHOLD_2),
    ];
    for deployment in deployments {
        registry.deploy(deployment, &author()).await.unwrap();
    }
    registry
        .activate("contact-threshold", "1.0.0", &author())
        .await
        .unwrap();
    registry
}

/// Children each registered in 2015 with this many contacts in April 2024, and the cohort of them.
async fn children_with_contacts(children: &[(&str, u32)]) -> (InMemoryStore, Vec<ChildId>) {
    let clock = testkit::clock();
    let store = InMemoryStore::new(clock.clone());
    for &(child, contacts) in children {
        let mut events = vec![testkit::registered(&format!("{child}-reg"), "2015-06-01")];
        events.extend(
            (1..=contacts).map(|n| contact(&format!("{child}-c{n}"), &format!("2024-04-0{n}T09:00"))),
        );
        record(&store, &clock, child, events).await;
    }
    let cohort = children.iter().map(|(child, _)| testkit::child(child)).collect();
    (store, cohort)
}

/// The date the dry runs of the `contact-threshold` probe judge, after every contact was recorded.
fn end_of_april_2024() -> AsOf {
    AsOf {
        on: date("2024-04-30"),
        known_at: ts("2024-04-30T23:00:00Z"),
    }
}

#[tokio::test]
async fn a_dry_run_counts_the_children_whose_answers_differ_from_the_version_in_force() {
    let registry = threshold_probes_with_1_0_0_in_force(json!({})).await;
    // One, two and three contacts: 1.0.0 says 2, 3, 3 and 2.0.0 says 2, 2, 3, so only C-2's answer differs.
    let (store, cohort) = children_with_contacts(&[("C-1", 1), ("C-2", 2), ("C-3", 3)]).await;
    let as_of = end_of_april_2024();
    let candidate = registry
        .dry_run(&store, "contact-threshold", "2.0.0", &cohort, as_of)
        .await
        .unwrap();
    assert_eq!(candidate.compared_with.as_deref(), Some("1.0.0"));
    assert_eq!(candidate.evaluated, 3);
    assert_eq!(candidate.levels, [(2, 2), (3, 1)].into());
    assert_eq!(candidate.differing_from_in_force, 1);
    // The two versions name their own threshold in every reason, so C-1 and C-3 differ only there.
    assert_eq!(candidate.differing_only_in_reasons, 2);
    assert_eq!(candidate.changes, [("level 3 -> 2".to_owned(), 1)].into());
    // The version in force is not compared with itself.
    let in_force = registry
        .dry_run(&store, "contact-threshold", "1.0.0", &cohort, as_of)
        .await
        .unwrap();
    assert_eq!(in_force.compared_with, None);
    assert_eq!(in_force.levels, [(2, 1), (3, 2)].into());
    assert_eq!(
        (
            in_force.differing_from_in_force,
            in_force.differing_only_in_reasons
        ),
        (0, 0)
    );
    // No child is named in what the author sees.
    let text = serde_json::to_string(&candidate).unwrap();
    assert!(["C-1", "C-2", "C-3"].iter().all(|c| !text.contains(c)), "{text}");
    // Before 1.0.0's effective date nothing is in force, so there is nothing to differ from.
    let before = registry
        .dry_run(
            &store,
            "contact-threshold",
            "2.0.0",
            &cohort,
            AsOf {
                on: date("2020-03-31"),
                known_at: as_of.known_at,
            },
        )
        .await
        .unwrap();
    assert_eq!((before.compared_with, before.differing_from_in_force), (None, 0));
}

#[tokio::test]
async fn a_dry_run_counts_the_children_the_version_in_force_fails_for() {
    // 1.0.0 is in force but deployed to refuse every child; 2.0.0 answers.
    let registry = threshold_probes_with_1_0_0_in_force(json!({"refuse": true})).await;
    let (store, cohort) = children_with_contacts(&[("C-1", 1), ("C-2", 1)]).await;
    let as_of = end_of_april_2024();
    let report = registry
        .dry_run(&store, "contact-threshold", "2.0.0", &cohort, as_of)
        .await
        .unwrap();
    assert_eq!(report.evaluated, 2);
    assert_eq!(report.in_force_failures, [("refused".to_owned(), 2)].into());
    assert_eq!(
        (report.differing_from_in_force, report.differing_only_in_reasons),
        (0, 0),
        "nothing to compare with"
    );
    // The failing version's own dry run counts the failures as its own.
    let own = registry
        .dry_run(&store, "contact-threshold", "1.0.0", &cohort, as_of)
        .await
        .unwrap();
    assert_eq!(own.failures, [("refused".to_owned(), 2)].into());
    assert!(own.in_force_failures.is_empty());
}

#[tokio::test]
async fn a_reopened_registry_knows_everything_and_racing_deployers_cannot_both_win() {
    let dir = tempfile::tempdir().unwrap();
    let open = || async {
        let journal: Arc<dyn Journal> =
            Arc::new(FileJournal::open(dir.path().join("journal"), testkit::clock()).unwrap());
        let blobs: Arc<dyn BlobStore> = Arc::new(FileBlobStore::open(dir.path().join("blobs")).unwrap());
        registry(journal, blobs).await
    };
    {
        let registry = Arc::new(open().await);
        // Two deployers race with different effective dates for the same version: exactly one wins.
        let a = tokio::spawn({
            let registry = Arc::clone(&registry);
            async move {
                registry
                    .deploy(
                        request(vec![easter_case("missed")], json!({}), "2020-04-01"),
                        &author(),
                    )
                    .await
            }
        });
        let b = tokio::spawn({
            let registry = Arc::clone(&registry);
            async move {
                registry
                    .deploy(
                        request(vec![easter_case("missed")], json!({}), "2021-04-01"),
                        &author(),
                    )
                    .await
            }
        });
        let results = [a.await.unwrap(), b.await.unwrap()];
        assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "{results:?}");
        assert!(
            results
                .iter()
                .any(|r| matches!(r, Err(PluginError::VersionConflict { .. })))
        );
        registry.activate(POLICY, VERSION, &author()).await.unwrap();
    }
    let registry = open().await;
    let versions = registry.list().await.unwrap();
    assert_eq!(versions.len(), 1);
    assert_eq!(versions[0].status, VersionStatus::Active);
    assert_eq!(
        registry.examples(&versions[0]).await.unwrap(),
        vec![easter_case("missed")]
    );
}

#[tokio::test]
async fn the_reference_policies_deploy_and_pass_their_examples_and_redeploying_is_a_retry() {
    use journey_plugins::PolicyKind;
    let registry = memory_registry().await;
    let by = PrincipalId::parse("journey-serve").unwrap();
    let outcomes = journey_plugins::reference::deploy_all(&registry, &by).await;
    let mut kinds = Vec::new();
    for (dir, outcome) in &outcomes {
        let version = outcome.as_ref().unwrap_or_else(|e| panic!("{dir}: {e}"));
        assert_eq!(version.status, VersionStatus::Active, "{dir}");
        assert!(
            version.deployed.examples >= 3,
            "{dir} ships at least three example cases"
        );
        kinds.push(version.deployed.kind);
    }
    kinds.sort_by_key(|k| format!("{k:?}"));
    kinds.dedup();
    assert_eq!(
        kinds,
        [
            PolicyKind::CareLeaverEntitlements,
            PolicyKind::LevelOfNeed,
            PolicyKind::Retention,
            PolicyKind::StatutoryTimescales,
            PolicyKind::StepUpStepDown
        ]
    );
    // Each policy's frozen 1.0.1 (contract 1.0) and the version built from source (contract 2.0), both
    // active; the later is in force.
    let versions: Vec<(String, String, String)> = registry
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|v| (v.deployed.name, v.deployed.version, v.deployed.contract_version))
        .collect();
    let row = |n: &str, v: &str, c: &str| (n.to_string(), v.to_string(), c.to_string());
    assert_eq!(
        versions,
        [
            row("care-leaver-entitlements", "1.0.1", "1.0.0"),
            row("care-leaver-entitlements", "2.0.0", "2.0.0"),
            row("levels-of-need", "1.0.1", "1.0.0"),
            row("levels-of-need", "1.1.0", "2.0.0"),
            row("retention", "1.0.0", "2.0.0"),
            row("statutory-timescales", "1.0.1", "1.0.0"),
            row("statutory-timescales", "2.0.0", "2.0.0"),
            row("step-up-down", "1.0.1", "1.0.0"),
            row("step-up-down", "1.1.0", "2.0.0"),
        ]
    );
    let in_force = registry
        .in_force("statutory-timescales", date("2025-01-01"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(in_force.deployed.version, "2.0.0");
    let journal_version = registry.list().await.unwrap().len();
    let again = journey_plugins::reference::deploy_all(&registry, &by).await;
    assert!(again.iter().all(|(_, o)| o.is_ok()));
    assert_eq!(
        registry.list().await.unwrap().len(),
        journal_version,
        "nothing new was deployed"
    );
}

/// A blob store that counts its reads.
#[derive(Debug, Default)]
struct CountingBlobs {
    inner: MemoryBlobStore,
    gets: std::sync::atomic::AtomicUsize,
}

impl BlobStore for CountingBlobs {
    fn put(&self, bytes: &[u8]) -> futures::future::BoxFuture<'static, journey_core::Result<[u8; 32]>> {
        self.inner.put(bytes)
    }

    fn get(&self, hash: &[u8; 32]) -> futures::future::BoxFuture<'static, journey_core::Result<Vec<u8>>> {
        self.gets.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.inner.get(hash)
    }
}

/// The host's compiled-component cache is asked by the hash the registry holds before the blob is read
/// (issue 15): evaluating a policy already compiled reads no blob and hashes no bytes. A registry opened on
/// a host that has not compiled it yet reads the blob once, then never again.
#[tokio::test]
async fn an_evaluation_of_a_compiled_policy_reads_no_blob() {
    let journal: Arc<dyn Journal> = Arc::new(MemoryJournal::new(testkit::clock()));
    let blobs = Arc::new(CountingBlobs::default());
    let registry = registry(journal.clone(), blobs.clone()).await;
    deploy_and_activate_easter(&registry).await;

    let clock = testkit::clock();
    let store = InMemoryStore::new(clock.clone());
    record(&store, &clock, "C-1", easter_journey()).await;
    let evaluate = EvaluateRequest {
        policy: POLICY.into(),
        child_id: testkit::child("C-1"),
        as_of: AsOf {
            on: date("2024-04-30"),
            known_at: ts("2024-04-30T12:00:00Z"),
        },
        version: VersionSelector::InForce,
        record: false,
    };
    let gets = || blobs.gets.load(std::sync::atomic::Ordering::SeqCst);
    let before = gets();
    for _ in 0..3 {
        registry
            .evaluate(&store, &evaluate, &testkit::principal())
            .await
            .unwrap();
    }
    assert_eq!(
        gets(),
        before,
        "the deployment compiled it: no evaluation reads the blob"
    );

    // Reopened on a fresh host (a restarted server): the first evaluation reads the blob, the next do not.
    let reopened = Registry::open(
        journal,
        blobs.clone(),
        host(),
        Calendar::england_and_wales().clone(),
        2,
    )
    .await
    .unwrap();
    let before = gets();
    for _ in 0..3 {
        reopened
            .evaluate(&store, &evaluate, &testkit::principal())
            .await
            .unwrap();
    }
    assert_eq!(gets(), before + 1, "read once, to compile it");
}
