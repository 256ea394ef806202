//! Hostile: returns output that type-checks but means nothing. The `mode` parameter picks the garbage:
//! `bad-date` (30 February), `unknown-event` (a reason citing an event that is not in the input),
//! `bad-level` (level 9), `no-reasons` (a decision without a reason), `too-large` (megabytes of alerts),
//! `refuse` (a considered `policy-error`), `unknown-status-days` (days late on a met deadline).

use journey_policy_sdk::*;
use serde::Deserialize;

struct GarbageOutput;

#[derive(Deserialize)]
struct Parameters {
    mode: String,
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
            "refuse" => return Err(PolicyError::InvalidParameters("mode `refuse` refuses".into())),
            other => return Err(PolicyError::InvalidParameters(format!("unknown mode {other:?}"))),
        }
        Ok(d)
    }
}

export_policy!(GarbageOutput);
