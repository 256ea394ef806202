//! The Children in Need censuses of synthetic authorities (several seeds and a large authority) pass the DfE
//! validation rules (`csc-validator-be-cin`) with no errors, for two collection years (2023/24 with
//! `GenderCurrent`, 2024/25 with `Sex`). Queries (rules whose codes end in Q: "please check") are listed, not failed.
//!
//! The validator is Python, installed by `scripts/validators/setup` into `target/validators-venv` (or
//! `$JOURNEY_VALIDATORS_VENV`); `./scripts/test` and `.ci/run` run it first. When it is not installed this
//! test says so loudly and passes without checking anything; `JOURNEY_REQUIRE_VALIDATORS=1` (CI) makes that
//! a failure.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use futures::executor::block_on;
use journey_core::codes::CollectionYear;
use journey_core::store::InMemoryStore;
use journey_core::{Timestamp, testkit};
use journey_returns::cin::{self, CinOptions};
use journey_synth::{self as synth, AuthorityProfile};
use journey_tests::validators::{self, workspace};

fn python() -> Option<PathBuf> {
    validators::python("cin_validator", "csc-validator-be-cin")
}

#[derive(Debug, serde::Deserialize)]
struct Report {
    ruleset: String,
    rules: usize,
    hits: Vec<Hit>,
    la_level: Vec<LaHit>,
}

#[derive(Debug, serde::Deserialize)]
#[allow(dead_code)] // read through Debug in failure messages
struct Hit {
    code: String,
    message: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    child: Option<String>,
    tables: Option<String>,
    columns: Option<String>,
}

#[derive(Debug, serde::Deserialize)]
#[allow(dead_code)]
struct LaHit {
    code: String,
    message: Option<String>,
}

fn is_query(code: &str) -> bool {
    code.ends_with('Q')
}

/// The authorities the validator judges (as the SSDA903 test's): several seeds and a large authority.
/// `JOURNEY_VALIDATOR_CHILDREN` scales them (children multiplied by it / 100).
fn authorities() -> Vec<(String, AuthorityProfile, u64)> {
    let scale: usize = std::env::var("JOURNEY_VALIDATOR_CHILDREN")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100);
    let n = |children: usize| (children * scale / 100).max(50);
    // A real LA code: the census checks that each UPN's characters 2-4 are one (rule 1530).
    let real = |p: AuthorityProfile| AuthorityProfile {
        la_code: "878".into(),
        ..p
    };
    let mut out = vec![(
        "seed 17".to_owned(),
        real(AuthorityProfile::small().with_children(n(400))),
        17,
    )];
    for seed in [7, 99, 31337] {
        out.push((
            format!("seed {seed}"),
            real(AuthorityProfile::small().with_children(n(500))),
            seed,
        ));
    }
    out.push((
        "large authority, seed 5".to_owned(),
        real(AuthorityProfile::large_authority().with_children(n(1200))),
        5,
    ));
    out
}

#[test]
fn the_cin_censuses_of_synthetic_authorities_pass_the_dfe_validator() {
    let Some(python) = python() else { return };
    let started = std::time::Instant::now();
    let mut failures = Vec::new();
    for (label, profile, seed) in authorities() {
        failures.extend(
            check_authority(&python, &profile, seed)
                .into_iter()
                .map(|f| format!("{label}: {f}")),
        );
    }
    eprintln!("validated in {:.0}s", started.elapsed().as_secs_f64());
    assert!(
        failures.is_empty(),
        "the DfE validator found errors:\n{}",
        failures.join("\n")
    );
}

fn check_authority(python: &std::path::Path, profile: &AuthorityProfile, seed: u64) -> Vec<String> {
    let clock = testkit::clock();
    let store = InMemoryStore::new(clock.clone());
    let load = block_on(synth::load(&store, &clock, synth::generate(seed, profile))).unwrap();
    assert!(load.rejected.is_empty(), "{:?}", load.rejected);
    let known_at = Timestamp::parse_field("known_at", "2025-06-30T23:00:00Z").unwrap();
    let holidays = journey_plugins::Calendar::england_and_wales()
        .bank_holidays
        .clone();
    let dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for label in ["2023/24", "2024/25"] {
        let year = CollectionYear::parse(label).unwrap();
        let census = block_on(cin::export(
            &store,
            &CinOptions {
                year,
                known_at,
                la_code: "878".into(),
                produced_at: known_at,
                bank_holidays: &holidays,
            },
        ))
        .unwrap();
        // Not a vacuous pass: every module is filled.
        let episodes: Vec<_> = census.children.iter().flat_map(|c| &c.episodes).collect();
        assert!(
            census.children.len() > 50,
            "{label}: {} children",
            census.children.len()
        );
        assert!(
            episodes.iter().any(|e| !e.assessments.is_empty()),
            "{label}: assessments"
        );
        assert!(episodes.iter().any(|e| !e.plans.is_empty()), "{label}: CIN plans");
        assert!(
            episodes.iter().any(|e| !e.section47s.is_empty()),
            "{label}: section 47s"
        );
        assert!(
            episodes.iter().any(|e| !e.protection_plans.is_empty()),
            "{label}: CP plans"
        );
        let file = dir.path().join(format!("cin-{}.xml", label.replace('/', "-")));
        std::fs::write(&file, census.to_xml()).unwrap();
        let out = Command::new(python)
            .arg(workspace().join("scripts/validators/validate_cin.py"))
            .args(["--year", &year.ending_year().to_string()])
            .arg("--file")
            .arg(&file)
            .output()
            .expect("the validator runs");
        assert!(
            out.status.success(),
            "validator failed: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let report: Report = serde_json::from_slice(&out.stdout).expect("the driver prints JSON");
        let mut errors: BTreeMap<&str, Vec<&Hit>> = BTreeMap::new();
        let mut queries: BTreeMap<&str, usize> = BTreeMap::new();
        for hit in &report.hits {
            if is_query(&hit.code) {
                *queries.entry(&hit.code).or_default() += 1;
            } else {
                errors.entry(&hit.code).or_default().push(hit);
            }
        }
        eprintln!(
            "{label} ({}, {} rules): {} children, {} episodes; errors {:?}; queries {queries:?}; LA-level {:?}",
            report.ruleset,
            report.rules,
            census.children.len(),
            episodes.len(),
            errors.iter().map(|(c, h)| (*c, h.len())).collect::<Vec<_>>(),
            report.la_level
        );
        for (code, hits) in &errors {
            failures.push(format!(
                "{label}: rule {code} ({} hits), e.g. {:?}",
                hits.len(),
                &hits[..hits.len().min(3)]
            ));
        }
        for hit in report.la_level.iter().filter(|h| !is_query(&h.code)) {
            failures.push(format!(
                "{label}: authority-level rule {}: {:?}",
                hit.code, hit.message
            ));
        }
    }
    failures
}
