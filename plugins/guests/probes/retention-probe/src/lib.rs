//! Probe: the shape of a retention policy under contract 2.0 (`policy-kind.retention`,
//! `decisions.retention`), for the host's tests. Not the reference retention policy: one rule only, the
//! looked-after case record kept until the 75th anniversary of the child's birth (CPPCR 2010 reg 50), with
//! no date while the child is unborn.

use journey_policy_sdk::*;

struct RetentionProbe;

impl Policy for RetentionProbe {
    fn about() -> PolicyInfo {
        PolicyInfo::new(
            "retention-probe",
            PolicyKind::Retention,
            "0.1.0",
            "Probe: keeps the record until the 75th anniversary of the child's birth.",
        )
    }

    fn evaluate(input: &EvaluationInput) -> Result<Decisions, PolicyError> {
        let registration: Vec<&str> = input
            .of_kind("ChildRegistered")
            .map(|e| e.event_id.as_str())
            .take(1)
            .collect();
        let rule = "Keep the case record until the 75th anniversary of the child's birth".to_string();
        let source =
            "Care Planning, Placement and Case Review (England) Regulations 2010, regulation 50".to_string();
        let retention = match input.date_of_birth() {
            Some(born) => Retention {
                status: RetentionStatus::Until,
                destroy_from: Some(born.birthday(75)),
                runs_from: Some(born),
                rule,
                source,
                reasons: vec![Reason::new(format!("Born on {born}"), registration)],
            },
            None => Retention {
                status: RetentionStatus::Undetermined,
                destroy_from: None,
                runs_from: None,
                rule,
                source,
                reasons: vec![Reason::new("No date of birth is recorded yet", registration)],
            },
        };
        Ok(Decisions {
            retention: Some(retention),
            ..Decisions::default()
        })
    }
}

export_policy!(RetentionProbe);
