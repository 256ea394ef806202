//! The synthetic journey generator: deterministic, accepted by the domain's rules, in the configured
//! proportions.

use std::time::Instant;

use futures::executor::block_on;
use journey_core::ExpectedVersion;
use journey_core::store::{EventStore, InMemoryStore};
use journey_core::{Position, testkit};
use journey_synth::{self as synth, AuthorityProfile, Tally};

fn load_all(profile: &AuthorityProfile, seed: u64) -> (InMemoryStore, synth::LoadReport) {
    let clock = testkit::clock();
    let store = InMemoryStore::new(clock.clone());
    let report = block_on(synth::load(&store, &clock, synth::generate(seed, profile))).unwrap();
    (store, report)
}

fn json(appends: impl IntoIterator<Item = synth::GeneratedAppend>) -> String {
    serde_json::to_string(&appends.into_iter().collect::<Vec<_>>()).unwrap()
}

#[test]
fn the_same_seed_gives_the_same_authority_and_another_seed_another() {
    let profile = AuthorityProfile::small().with_children(120);
    let a = json(synth::generate(7, &profile));
    assert_eq!(a, json(synth::generate(7, &profile)));
    assert_ne!(a, json(synth::generate(8, &profile)));
}

#[test]
fn a_child_is_reproducible_alone_and_unchanged_by_the_size_of_the_authority() {
    let small = AuthorityProfile::small().with_children(60);
    let all: Vec<_> = synth::generate(3, &small).collect();
    let larger: Vec<_> = synth::generate(3, &small.clone().with_children(90)).collect();
    for index in [0, 17, 59] {
        let id = synth::child_id(&small, index);
        let alone = synth::generate_child(3, index, &small);
        let from_all: Vec<_> = all.iter().filter(|a| a.request.child_id == id).cloned().collect();
        let from_larger: Vec<_> = larger
            .iter()
            .filter(|a| a.request.child_id == id)
            .cloned()
            .collect();
        assert!(!alone.is_empty());
        assert_eq!(json(alone.clone()), json(from_all));
        assert_eq!(json(alone), json(from_larger));
    }
}

#[test]
fn appends_come_in_recorded_order_with_unique_event_ids_and_exact_versions() {
    let profile = AuthorityProfile::deep_end().with_children(150);
    let appends: Vec<_> = synth::generate(5, &profile).collect();
    assert!(appends.windows(2).all(|w| w[0].recorded_at <= w[1].recorded_at));
    let mut ids = std::collections::HashSet::new();
    let mut versions = std::collections::HashMap::new();
    for a in &appends {
        let v: &mut u64 = versions.entry(a.request.child_id.clone()).or_default();
        let expected = if *v == 0 {
            ExpectedVersion::NoStream
        } else {
            ExpectedVersion::Exact(journey_core::Version(*v))
        };
        assert_eq!(a.request.expected, expected);
        *v += a.request.events.len() as u64;
        for e in &a.request.events {
            assert!(ids.insert(e.event_id.clone()), "{} twice", e.event_id);
            assert!(
                e.occurred_at.date() <= a.recorded_at.england_date(),
                "{} recorded before it happened",
                e.event_id
            );
        }
    }
    assert!(
        appends.iter().any(|a| a.request.events.len() > 1),
        "some appends carry several events"
    );
    assert!(
        appends
            .iter()
            .any(|a| a.request.events.iter().any(|e| e.source_recorded_at.is_some())),
        "some history is migrated"
    );
    let agencies: std::collections::HashSet<_> = appends
        .iter()
        .flat_map(|a| {
            a.request
                .events
                .iter()
                .map(|e| e.source.agency.as_str().split('.').next().unwrap().to_owned())
        })
        .collect();
    for a in ["la", "police", "nhs", "school"] {
        assert!(agencies.contains(a), "no events from {a}: {agencies:?}");
    }
}

#[test]
fn a_small_authority_loads_without_a_single_rejection() {
    for (profile, seed) in [(AuthorityProfile::small(), 1), (AuthorityProfile::deep_end(), 2)] {
        let (store, report) = load_all(&profile, seed);
        let mut seen = std::collections::HashSet::new();
        for r in report
            .rejected
            .iter()
            .filter(|r| seen.insert(r.child_id.clone()))
            .take(30)
        {
            eprintln!("{} {} {:?}: {}", r.child_id, r.recorded_at, r.event_ids, r.error);
        }
        assert!(
            report.rejected.is_empty(),
            "{} of {} appends rejected",
            report.rejected.len(),
            report.appends + report.rejected.len()
        );
        assert!(report.events > profile.children * 3, "{report:?}");
        let head = block_on(store.head()).unwrap();
        assert_eq!(head.position, Some(Position(report.events as u64)));
        assert!(block_on(store.verify()).unwrap().is_intact());
    }
}

/// A care leaver whose needs assessment came late, so that the pathway plan started only after the child had
/// left care: its first plan review used to be dated before the plan existed, and the store refused it and
/// every append after it (found by the policy benchmark's 70,000-child authority: child 8005 of seed 2026).
#[test]
fn a_pathway_plan_started_after_leaving_care_is_reviewed_only_after_it_starts() {
    use journey_core::domain::EventKind;
    let appends = synth::generate_child(2026, 8005, &AuthorityProfile::large_authority());
    let clock = testkit::clock();
    let store = InMemoryStore::new(clock.clone());
    let report = block_on(synth::load(&store, &clock, appends.clone())).unwrap();
    assert!(report.rejected.is_empty(), "{:?}", report.rejected.first());

    let first = |kind: EventKind| {
        appends
            .iter()
            .flat_map(|a| &a.request.events)
            .filter(|e| e.payload.kind() == kind)
            .map(|e| e.occurred_at.date())
            .min()
            .unwrap_or_else(|| panic!("no {kind:?}"))
    };
    let (left, started) = (
        first(EventKind::CeasedToBeLookedAfter),
        first(EventKind::PathwayPlanStarted),
    );
    assert!(
        started > left,
        "still the case this test is about: plan {started}, left care {left}"
    );
    assert!(first(EventKind::PathwayPlanReviewed) > started);
}

#[test]
#[ignore = "slow in debug builds: many seeds of both profiles; run with --release --ignored"]
fn many_seeds_load_without_a_single_rejection() {
    let mut failures = Vec::new();
    for seed in 10..30 {
        for profile in [AuthorityProfile::small(), AuthorityProfile::deep_end()] {
            let (_, report) = load_all(&profile, seed);
            if let Some(r) = report.rejected.first() {
                failures.push(format!(
                    "seed {seed} {} ({} rejected): {:?} {}",
                    r.child_id,
                    report.rejected.len(),
                    r.event_ids.first(),
                    r.error
                ));
            }
        }
    }
    for f in &failures {
        eprintln!("{}", f.chars().take(700).collect::<String>());
    }
    assert!(
        failures.is_empty(),
        "{} of 40 loads had rejections",
        failures.len()
    );
}

fn within(name: &str, measured: f64, lo: f64, hi: f64) {
    assert!(
        (lo..=hi).contains(&measured),
        "{name}: measured {measured:.4}, expected {lo:.4} to {hi:.4}"
    );
}

#[test]
fn proportions_follow_the_profile() {
    let profile = AuthorityProfile::small().with_children(2000);
    let mut tally = Tally::new();
    for a in synth::generate(11, &profile) {
        tally.add(&a);
    }
    let m = tally.proportions();
    println!("{}", serde_json::to_string_pretty(&m).unwrap());
    let s = &profile.shares;
    let l = &profile.looked_after;
    let t = &profile.timeliness;
    let r = &profile.recording;
    assert_eq!(m.children, 2000);
    // Stages: within 25% (relative) of the configured share, or 2 percentage points for small shares.
    let near = |name: &str, measured: f64, configured: f64| {
        let slack = (configured * 0.25).max(0.02);
        within(name, measured, configured - slack, configured + slack);
    };
    near("referral", m.referral, s.referral);
    near("assessment", m.assessment, s.assessment);
    near("section_47", m.section_47, s.section_47);
    near("initial_conference", m.initial_conference, s.initial_conference);
    near(
        "child_protection_plan",
        m.child_protection_plan,
        s.child_protection_plan,
    );
    near("looked_after", m.looked_after, s.looked_after);
    within(
        "adoption",
        m.adoption,
        0.3 * s.looked_after * l.adoption,
        2.0 * s.looked_after * l.adoption,
    );
    within(
        "special_guardianship",
        m.special_guardianship,
        0.3 * s.looked_after * l.special_guardianship,
        2.0 * s.looked_after * l.special_guardianship,
    );
    within(
        "care_leavers",
        m.care_leavers,
        0.3 * s.looked_after * l.leaving_care,
        2.0 * s.looked_after * l.leaving_care,
    );
    // Timeliness and recording.
    within(
        "icpc_within_15wd",
        m.icpc_within_15wd,
        t.icpc_within_15wd - 0.12,
        t.icpc_within_15wd + 0.12,
    );
    within(
        "assessment_within_45wd",
        m.assessment_within_45wd,
        t.assessment_within_45wd - 0.08,
        t.assessment_within_45wd + 0.08,
    );
    within("late_recorded", m.late_recorded, r.late, r.late * 2.5);
    within("corrected", m.corrected, r.corrected * 0.5, r.corrected * 1.5);
    within("retracted", m.retracted, r.retracted * 0.3, r.retracted * 1.7);
    within(
        "re_referrals",
        m.re_referrals,
        s.re_referral * 0.6,
        s.re_referral * 1.3,
    );
    within("imported", m.imported, 0.01, 0.6);
    assert!(m.multi_event_appends > 0.01, "{}", m.multi_event_appends);
}

/// `cargo test --release -p journey-synth --test it generating_a_large_authority -- --ignored --nocapture`
#[test]
#[ignore = "a timing: run in release mode"]
fn generating_a_large_authority() {
    let profile = AuthorityProfile::large_authority();
    let started = Instant::now();
    let (mut appends, mut events, mut peak) = (0usize, 0usize, 0usize);
    let mut generator = synth::generate(2024, &profile);
    while let Some(a) = generator.next() {
        appends += 1;
        events += a.request.events.len();
        if appends % 4096 == 0 {
            peak = peak.max(generator.in_flight());
        }
    }
    let elapsed = started.elapsed();
    println!(
        "{} children: {events} events in {appends} appends, generated in {elapsed:.2?} (peak {peak} children in flight)",
        profile.children
    );
    let started = Instant::now();
    let mut tally = Tally::new();
    for a in synth::generate(2024, &profile) {
        tally.add(&a);
    }
    println!("generated and tallied in {:.2?}", started.elapsed());
    println!("{}", serde_json::to_string_pretty(&tally.proportions()).unwrap());
}

/// `SYNTH_CHILD=65 SYNTH_SEED=1 cargo test -p journey-synth --test it dump_a_child -- --ignored --nocapture`
#[test]
#[ignore = "a debugging aid"]
fn dump_a_child() {
    let index: usize = std::env::var("SYNTH_CHILD")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let seed: u64 = std::env::var("SYNTH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let profile = if std::env::var("SYNTH_DEEP").is_ok() {
        AuthorityProfile::deep_end()
    } else {
        AuthorityProfile::small()
    };
    for a in synth::generate_child(seed, index, &profile) {
        for e in &a.request.events {
            println!(
                "{} {:>22} {:<16} {}",
                a.recorded_at,
                e.occurred_at.to_string(),
                e.event_id,
                serde_json::to_string(&e.payload).unwrap()
            );
        }
    }
}
