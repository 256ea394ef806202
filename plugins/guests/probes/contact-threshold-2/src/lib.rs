//! A probe for dry runs, version 2.0.0 of the `contact-threshold` policy: level 3 from the third contact
//! (see `contact-threshold-1`, whose rule it shares).

#[path = "../../contact-threshold-1/src/rules.rs"]
mod rules;

use journey_policy_sdk::*;

struct ContactThreshold;

impl Policy for ContactThreshold {
    fn about() -> PolicyInfo {
        PolicyInfo::new(
            "contact-threshold",
            PolicyKind::LevelOfNeed,
            "2.0.0",
            "Level 3 from the third contact (a dry-run probe).",
        )
    }

    fn evaluate(input: &EvaluationInput) -> Result<Decisions, PolicyError> {
        rules::evaluate(input, 3)
    }
}

export_policy!(ContactThreshold);
