//! One test per guest component, named after it (`foreach_guest!` below fails the build if a guest has
//! none). The hostile guests each prove one failure is caught with a clear error, and that the same host
//! then still evaluates a well-behaved policy.

use std::time::Duration;

use journey_plugins::guests::{
    CARE_LEAVER_ENTITLEMENTS, CONTACT_THRESHOLD_1, CONTACT_THRESHOLD_2, GARBAGE_OUTPUT, INFINITE_LOOP,
    LEVELS_OF_NEED, PANIC, RETENTION, RETENTION_PROBE, SANDBOX_PROBE, STATUTORY_TIMESCALES, STEP_UP_DOWN,
    TRAP, UNBOUNDED_ALLOCATION, WRONG_CONTRACT, WRONG_INTERFACE,
};
use journey_plugins::{
    DeadlineStatus, Host, HostConfig, Limits, PluginError, PolicyEventStatus, PolicyKind, Refusal,
};

use crate::support::{child_a, host, input_on, load, test_limits};

macro_rules! assert_test_exists {
    ($name:ident) => {
        #[allow(unused_imports)]
        use self::$name as _;
    };
}
journey_plugins::foreach_guest!(assert_test_exists);

/// The statutory-timescales policy restricted to the front-door and conference timescales, whose answers
/// for Child A on 1 January 2008 are fixed below.
const THREE_RULES: &str =
    r#"{"rules": ["contact-decision", "assessment", "initial-child-protection-conference"]}"#;

/// The well-behaved policy evaluates correctly on `host`: run after every failure.
fn still_serves(host: &Host) {
    let policy = load(host, STATUTORY_TIMESCALES);
    let evaluation = host
        .evaluate(&policy, &input_on(&child_a(), "2008-01-01", THREE_RULES))
        .expect("the well-behaved policy still evaluates");
    let statuses: Vec<(&str, DeadlineStatus)> = evaluation
        .decisions
        .deadlines
        .iter()
        .map(|d| (d.name.as_str(), d.status))
        .collect();
    assert_eq!(
        statuses,
        [
            // Decided the next working day: on time.
            ("contact-decision", DeadlineStatus::Met),
            ("contact-decision", DeadlineStatus::Met),
            // A 2007 referral: the initial assessment of Working Together 2010 (10 working days).
            ("initial-assessment", DeadlineStatus::Missed),
            ("initial-child-protection-conference", DeadlineStatus::Missed),
        ]
    );
}

fn run_hostile(host: &Host, path: &str, parameters: &str) -> PluginError {
    let policy = load(host, path);
    match host.evaluate(&policy, &input_on(&child_a(), "2008-01-01", parameters)) {
        Ok(e) => panic!("{path} should fail, but returned {:?}", e.decisions),
        Err(e) => e,
    }
}

#[test]
fn statutory_timescales() {
    let host = host();
    let policy = load(host, STATUTORY_TIMESCALES);
    let info = policy.info();
    assert_eq!(
        (
            info.name.as_str(),
            info.kind,
            info.version.as_str(),
            info.contract_version.as_str()
        ),
        (
            "statutory-timescales",
            PolicyKind::StatutoryTimescales,
            "2.0.0",
            "2.0.0"
        )
    );
    // Loading the same bytes again is a cache hit: the very same compiled policy.
    assert!(std::sync::Arc::ptr_eq(&policy, &load(host, STATUTORY_TIMESCALES)));
    still_serves(host);
}

/// The identity of a reference policy, and that it evaluates Child A's whole stream without error (the
/// worked journeys are in `reference_*.rs`).
fn reference_policy(path: &str, name: &str, kind: PolicyKind, version: &str) {
    let host = host();
    let policy = load(host, path);
    let info = policy.info();
    assert_eq!(
        (
            info.name.as_str(),
            info.kind,
            info.version.as_str(),
            info.contract_version.as_str()
        ),
        (name, kind, version, "2.0.0")
    );
    for on in ["2007-10-05", "2008-01-01", "2026-03-01"] {
        host.evaluate(&policy, &input_on(&child_a(), on, ""))
            .unwrap_or_else(|e| panic!("{name} on {on}: {e}"));
    }
}

#[test]
fn levels_of_need() {
    reference_policy(LEVELS_OF_NEED, "levels-of-need", PolicyKind::LevelOfNeed, "1.1.0");
}

#[test]
fn step_up_down() {
    reference_policy(STEP_UP_DOWN, "step-up-down", PolicyKind::StepUpStepDown, "1.1.0");
}

#[test]
fn care_leaver_entitlements() {
    reference_policy(
        CARE_LEAVER_ENTITLEMENTS,
        "care-leaver-entitlements",
        PolicyKind::CareLeaverEntitlements,
        "2.0.0",
    );
}

#[test]
fn retention() {
    reference_policy(RETENTION, "retention", PolicyKind::Retention, "1.0.0");
}

#[test]
fn infinite_loop() {
    // Out of fuel: the deterministic budget.
    let host = host();
    let err = run_hostile(host, INFINITE_LOOP, "");
    assert!(
        matches!(err, PluginError::OutOfFuel { limit, .. } if limit == test_limits().fuel),
        "{err}"
    );
    assert!(err.to_string().contains("ran out of fuel"), "{err}");
    still_serves(host);

    // With fuel effectively unlimited, the epoch deadline stops it.
    let deadline = Duration::from_millis(200);
    let unlimited = Host::new(HostConfig {
        limits: Limits {
            fuel: u64::MAX,
            deadline,
            ..test_limits()
        },
        ..HostConfig::default()
    })
    .unwrap();
    let policy = load(&unlimited, INFINITE_LOOP);
    let started = std::time::Instant::now();
    let err = unlimited
        .evaluate(&policy, &input_on(&child_a(), "2008-01-01", ""))
        .unwrap_err();
    assert!(
        matches!(err, PluginError::DeadlineExceeded { limit, .. } if limit == deadline),
        "{err}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "stopped near the deadline"
    );
    still_serves(&unlimited);
}

#[test]
fn unbounded_allocation() {
    let host = host();
    let err = run_hostile(host, UNBOUNDED_ALLOCATION, "");
    match &err {
        PluginError::MemoryLimit { requested, limit, .. } => {
            assert_eq!(*limit, test_limits().memory_bytes);
            assert!(requested > limit);
        }
        other => panic!("expected a memory limit error, got {other}"),
    }
    assert!(
        err.to_string().contains("over its limit of 33554432 bytes"),
        "{err}"
    );
    still_serves(host);
}

#[test]
fn trap() {
    let host = host();
    let err = run_hostile(host, TRAP, "");
    match &err {
        PluginError::Trap { trap, detail, .. } => {
            assert!(trap.contains("unreachable"), "{trap}");
            assert!(detail.contains("wasm backtrace"), "{detail}");
        }
        other => panic!("expected a trap, got {other}"),
    }
    still_serves(host);
}

#[test]
fn panic() {
    let host = host();
    let err = run_hostile(host, PANIC, "");
    match &err {
        PluginError::Panic { message, log } => {
            // 7 + the number of events Child A has by 1 January 2008.
            assert!(
                message.starts_with("the threshold table has no row for level "),
                "{message}"
            );
            assert!(message.contains("(at hostile/panic/src/lib.rs:"), "{message}");
            assert!(log.stderr.contains("panicked at"), "{}", log.stderr);
        }
        other => panic!("expected a panic, got {other}"),
    }
    assert!(
        err.to_string()
            .starts_with("the policy panicked: the threshold table"),
        "{err}"
    );
    still_serves(host);
}

#[test]
fn garbage_output() {
    let host = host();
    let malformed = |mode: &str| match run_hostile(host, GARBAGE_OUTPUT, &format!(r#"{{"mode": "{mode}"}}"#))
    {
        PluginError::MalformedOutput { path, problem, .. } => (path, problem),
        other => panic!("{mode}: expected malformed output, got {other}"),
    };
    assert_eq!(
        malformed("bad-date"),
        (
            "entitlements[0].starts_on".into(),
            "2024-02-30 is not a real date".into()
        )
    );
    assert_eq!(
        malformed("unknown-event"),
        (
            "alerts[0].reasons[0].event_ids[0]".into(),
            "cites event \"no-such-event\", which is not in the input".into()
        )
    );
    assert_eq!(
        malformed("bad-level"),
        (
            "level_of_need.level".into(),
            "must be 1 (universal) to 4 (specialist), got 9".into()
        )
    );
    assert_eq!(
        malformed("no-reasons"),
        (
            "alerts[0].reasons".into(),
            "every decision needs at least one reason".into()
        )
    );
    // Contract 2.0's rules.
    assert_eq!(
        malformed("late-when-met"),
        (
            "deadlines[0].late_by".into(),
            "only a missed deadline is late".into()
        )
    );
    assert_eq!(
        malformed("late-by-zero"),
        (
            "deadlines[0].late_by.amount".into(),
            "a missed deadline is late by at least 1".into()
        )
    );
    assert_eq!(
        malformed("completed-at-another-day"),
        (
            "deadlines[0].completed_at".into(),
            "2024-04-02T11:00:00Z is on 2024-04-02 in England, but completed_on is 2024-04-01".into()
        )
    );
    assert_eq!(
        malformed("retention-without-date"),
        (
            "retention.destroy_from".into(),
            "a record kept until a date needs the date".into()
        )
    );
    assert_eq!(
        malformed("retention-date-when-undetermined"),
        (
            "retention.destroy_from".into(),
            "2090-01-01 given for a record with no date it may be destroyed from".into()
        )
    );
    match run_hostile(host, GARBAGE_OUTPUT, r#"{"mode": "too-large"}"#) {
        PluginError::OutputTooLarge { size, limit, .. } => {
            assert_eq!(limit, test_limits().output_bytes);
            assert!(size > limit);
        }
        other => panic!("expected output too large, got {other}"),
    }
    // A considered refusal is not garbage, and is reported as the policy put it.
    match run_hostile(host, GARBAGE_OUTPUT, r#"{"mode": "refuse"}"#) {
        PluginError::Refused { refusal, .. } => {
            assert_eq!(
                refusal,
                Refusal::InvalidParameters("mode `refuse` refuses".into())
            )
        }
        other => panic!("expected a refusal, got {other}"),
    }
    // Parameters that do not parse are the policy's to refuse (via the SDK).
    assert!(matches!(
        run_hostile(host, GARBAGE_OUTPUT, "not json"),
        PluginError::Refused {
            refusal: Refusal::InvalidParameters(_),
            ..
        }
    ));
    still_serves(host);
}

#[test]
fn wrong_interface() {
    let host = host();
    let err = host
        .load(&journey_plugins::guests::bytes(WRONG_INTERFACE))
        .unwrap_err();
    match &err {
        PluginError::WrongInterface { expected, found } => {
            assert_eq!(*expected, "journey:policy/policy@2.0.0");
            assert_eq!(found, &vec!["run".to_string()]);
        }
        other => panic!("expected the wrong interface, got {other}"),
    }
    assert_eq!(
        err.to_string(),
        "the component does not export the Journey policy interface `journey:policy/policy@2.0.0`; it \
         exports: run"
    );
    // Not a component at all.
    assert!(matches!(host.load(b"not wasm"), Err(PluginError::Compile(_))));
    still_serves(host);
}

#[test]
fn wrong_contract() {
    let host = host();
    let err = host
        .load(&journey_plugins::guests::bytes(WRONG_CONTRACT))
        .unwrap_err();
    assert!(
        matches!(&err, PluginError::WrongContract { expected: "1.0.0 or 2.0.0", found } if found == "3.0.0"),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "the policy was built for contract 3.0.0, but this host serves contract 1.0.0 or 2.0.0"
    );
    still_serves(host);
}

#[test]
fn sandbox_probe() {
    let host = host();
    let policy = load(host, SANDBOX_PROBE);
    let evaluation = host
        .evaluate(&policy, &input_on(&child_a(), "2008-01-01", ""))
        .unwrap();
    let report: serde_json::Value = serde_json::from_str(&evaluation.decisions.alerts[0].message).unwrap();
    // No ambient authority, and clocks that say nothing.
    assert_eq!(report["wall_clock_ns"], "0", "{report}");
    assert_eq!(report["monotonic_elapsed_ns"], "0", "{report}");
    assert_eq!(report["env_vars"], 0, "{report}");
    assert_eq!(report["args"], 0, "{report}");
    assert_eq!(report["root_dir_readable"], false, "{report}");
    // The log is captured.
    assert_eq!(evaluation.log.stdout, "probe: stdout line 0\n");
    assert_eq!(evaluation.log.stderr, "probe: hello from stderr\n");
    assert!(!evaluation.log.truncated);
    // A chatty policy is cut at the log limit, and still finishes.
    let chatty = host
        .evaluate(
            &policy,
            &input_on(&child_a(), "2008-01-01", r#"{"log_lines": 10000}"#),
        )
        .unwrap();
    assert!(chatty.log.truncated);
    assert_eq!(chatty.log.stdout.len(), test_limits().log_bytes);
    assert_eq!(chatty.decisions.alerts.len(), 1);
    // The deadlines of the well-behaved policy are unaffected.
    let timescales = load(host, STATUTORY_TIMESCALES);
    let e = host
        .evaluate(&timescales, &input_on(&child_a(), "2008-01-01", THREE_RULES))
        .unwrap();
    assert!(
        e.decisions
            .deadlines
            .iter()
            .all(|d| d.status != DeadlineStatus::Open)
    );
}

/// A version of the dry-run probe (registry.rs compares the two): level 3 from `threshold` contacts in force.
fn contact_threshold(path: &str, version: &str, threshold: usize) {
    let host = host();
    let policy = load(host, path);
    assert_eq!(
        (policy.info().name.as_str(), policy.info().version.as_str()),
        ("contact-threshold", version)
    );
    let mut counts = Vec::new();
    for on in ["2007-08-01", "2008-01-01", "2030-01-01"] {
        let input = input_on(&child_a(), on, "");
        let contacts: Vec<String> = input
            .events
            .iter()
            .filter(|e| e.kind.as_str() == "ContactReceived" && e.status != PolicyEventStatus::Retracted)
            .map(|e| e.event_id.to_string())
            .collect();
        let level = host
            .evaluate(&policy, &input)
            .unwrap()
            .decisions
            .level_of_need
            .expect("a level");
        assert_eq!(
            level.level,
            if contacts.len() >= threshold { 3 } else { 2 },
            "{on}"
        );
        assert_eq!(level.reasons[0].event_ids, contacts, "{on}");
        counts.push(contacts.len());
    }
    // One contact by 1 August 2007, two from then on: 1.0.0 changes its answer, 2.0.0 does not.
    assert_eq!(counts, [1, 2, 2], "Child A's contacts on each date");
}

#[test]
fn contact_threshold_1() {
    contact_threshold(CONTACT_THRESHOLD_1, "1.0.0", 2);
}

#[test]
fn contact_threshold_2() {
    contact_threshold(CONTACT_THRESHOLD_2, "2.0.0", 3);
}

/// Contract 2.0's retention: a policy of kind `retention` answers with the date the record may be destroyed
/// and the day the period runs from, or with none while it cannot be determined; the host carries it into
/// the decisions (and their JSON) unchanged.
#[test]
fn retention_probe() {
    use journey_plugins::{Contract, RetentionStatus};
    let host = host();
    let policy = load(host, RETENTION_PROBE);
    assert_eq!(policy.contract(), Contract::V2);
    assert_eq!(policy.info().kind, PolicyKind::Retention);
    assert_eq!(policy.info().contract_version, "2.0.0");
    let evaluation = host
        .evaluate(&policy, &input_on(&child_a(), "2009-06-30", ""))
        .unwrap();
    let retention = evaluation.decisions.retention.clone().expect("a retention");
    assert_eq!(retention.status, RetentionStatus::Until);
    let born = retention.runs_from.expect("runs from the birth");
    assert_eq!(retention.destroy_from, Some(born.add_years(75)));
    let json: serde_json::Value = serde_json::from_slice(&evaluation.output).unwrap();
    assert_eq!(json["retention"]["status"], "until");
    assert_eq!(json["retention"]["destroy_from"], born.add_years(75).to_string());
    // An unborn child: the date cannot be determined yet.
    let unborn = crate::support::record(
        "T-UNBORN",
        vec![crate::support::json_event(
            "reg",
            "2024-01-10",
            "ChildRegistered",
            serde_json::json!({"expected_date_of_birth": "2024-05-01", "sex": "F"}),
        )],
    );
    let evaluation = host
        .evaluate(&policy, &input_on(&unborn, "2024-02-01", ""))
        .unwrap();
    let retention = evaluation.decisions.retention.expect("a retention");
    assert_eq!(
        (retention.status, retention.destroy_from),
        (RetentionStatus::Undetermined, None)
    );
    assert_eq!(retention.reasons[0].event_ids, ["reg"]);
}
