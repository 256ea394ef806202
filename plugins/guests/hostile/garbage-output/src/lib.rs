//! Hostile: returns output that type-checks but means nothing. The `mode` parameter picks the garbage:
//! `bad-date` (30 February), `unknown-event` (a reason citing an event that is not in the input),
//! `bad-level` (level 9), `no-reasons` (a decision without a reason), `too-large` (megabytes of alerts),
//! `refuse` (a considered `policy-error`); and against contract 2.0's rules: `late-when-met` (lateness on
//! a met deadline), `late-by-zero` (a missed deadline late by nothing), `completed-at-another-day` (a
//! completion instant on another day than its date), `retention-without-date` (kept until no date),
//! `retention-date-when-undetermined` (a date for a retention that cannot be determined).

use journey_policy_sdk::*;
use serde::Deserialize;

struct GarbageOutput;

#[derive(Deserialize)]
struct Parameters {
    mode: String,
}

fn deadline(status: DeadlineStatus, late_by: Option<Lateness>, reasons: Vec<Reason>) -> Deadline {
    let rule = Rule {
        name: "garbage",
        rule: "Within a day",
        source: "Nowhere",
    };
    let day = Date::ymd(2024, 4, 1);
    Deadline {
        status,
        late_by,
        ..Deadline::judged(rule, day, day, Some(day), day, reasons)
    }
}

fn retention(status: RetentionStatus, destroy_from: Option<Date>, reasons: Vec<Reason>) -> Retention {
    Retention {
        status,
        destroy_from,
        runs_from: None,
        rule: "Keep it".into(),
        source: "Nowhere".into(),
        reasons,
    }
}

fn alert(message: String, reasons: Vec<Reason>) -> Alert {
    Alert {
        code: "garbage".into(),
        severity: Severity::Info,
        message,
        reasons,
    }
}

impl Policy for GarbageOutput {
    fn about() -> PolicyInfo {
        PolicyInfo::new(
            "hostile-garbage-output",
            PolicyKind::Other,
            "0.1.0",
            "Returns garbage.",
        )
    }

    fn evaluate(input: &EvaluationInput) -> Result<Decisions, PolicyError> {
        let Parameters { mode } = input.parameters()?;
        let mut d = Decisions::default();
        let first = input
            .events
            .first()
            .map(|e| e.event_id.clone())
            .into_iter()
            .collect::<Vec<_>>();
        match mode.as_str() {
            "bad-date" => d.entitlements.push(Entitlement {
                name: "bursary".into(),
                category: None,
                starts_on: Date {
                    year: 2024,
                    month: 2,
                    day: 30,
                },
                ends_on: None,
                reasons: vec![Reason::new("because", first)],
            }),
            "unknown-event" => d.alerts.push(alert(
                "hello".into(),
                vec![Reason::new("because", ["no-such-event"])],
            )),
            "bad-level" => {
                d.level_of_need = Some(LevelOfNeed {
                    level: 9,
                    label: "Beyond specialist".into(),
                    reasons: vec![Reason::new("because", first)],
                })
            }
            "no-reasons" => d.alerts.push(alert("unexplained".into(), vec![])),
            "too-large" => {
                for i in 0..3_000 {
                    d.alerts
                        .push(alert(format!("{i:0>100}"), vec![Reason::because("padding")]));
                }
            }
            "late-when-met" => d.deadlines.push(deadline(
                DeadlineStatus::Met,
                Some(Lateness::new(2, TimeUnit::WorkingDays)),
                vec![Reason::new("because", first)],
            )),
            "late-by-zero" => d.deadlines.push(deadline(
                DeadlineStatus::Missed,
                Some(Lateness::new(0, TimeUnit::Hours)),
                vec![Reason::new("because", first)],
            )),
            "completed-at-another-day" => d.deadlines.push(
                deadline(DeadlineStatus::Met, None, vec![Reason::new("because", first)])
                    // 2 April 2024 at noon (BST), for a deadline done on 1 April.
                    .with_completed_at(Date::ymd(2024, 4, 2).instant_in_england(None) + 12 * 3_600_000_000),
            ),
            "retention-without-date" => {
                d.retention = Some(retention(
                    RetentionStatus::Until,
                    None,
                    vec![Reason::new("because", first)],
                ))
            }
            "retention-date-when-undetermined" => {
                d.retention = Some(retention(
                    RetentionStatus::Undetermined,
                    Some(Date::ymd(2090, 1, 1)),
                    vec![Reason::new("because", first)],
                ))
            }
            "refuse" => return Err(PolicyError::InvalidParameters("mode `refuse` refuses".into())),
            other => return Err(PolicyError::InvalidParameters(format!("unknown mode {other:?}"))),
        }
        Ok(d)
    }
}

export_policy!(GarbageOutput);
