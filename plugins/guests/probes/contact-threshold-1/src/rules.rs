//! The rule both versions of the `contact-threshold` probe share; only the threshold differs between them.

/// Declares a version of the probe at the crate root: `contact_threshold!("1.0.0", 2)`.
macro_rules! contact_threshold {
    ($version:literal, $threshold:literal) => {
        struct ContactThreshold;

        impl Policy for ContactThreshold {
            fn about() -> PolicyInfo {
                PolicyInfo::new(
                    "contact-threshold",
                    PolicyKind::LevelOfNeed,
                    $version,
                    concat!("Level 3 from ", $threshold, " contacts (a dry-run probe)."),
                )
            }

            fn evaluate(input: &EvaluationInput) -> Result<Decisions, PolicyError> {
                rules::evaluate(input, $threshold)
            }
        }

        export_policy!(ContactThreshold);
    };
}

use journey_policy_sdk::*;

#[derive(serde::Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct Parameters {
    /// Refuse every child: a version that fails, for the dry run's counts of failures.
    refuse: bool,
}

/// Level 3 once the child has had `threshold` contacts in force, level 2 before.
pub fn evaluate(input: &EvaluationInput, threshold: usize) -> Result<Decisions, PolicyError> {
    let parameters: Parameters = input.parameters()?;
    if parameters.refuse {
        return Err(PolicyError::UnsupportedInput(
            "deployed to refuse every child".into(),
        ));
    }
    let contacts: Vec<&str> = input
        .of_kind("ContactReceived")
        .map(|e| e.event_id.as_str())
        .collect();
    let level = if contacts.len() >= threshold { 3 } else { 2 };
    Ok(Decisions {
        level_of_need: Some(LevelOfNeed {
            level,
            label: format!("level {level}"),
            reasons: vec![Reason::new(
                format!("{} contacts against a threshold of {threshold}", contacts.len()),
                contacts,
            )],
        }),
        ..Decisions::default()
    })
}
