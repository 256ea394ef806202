//! Hostile: panics with a message, as a policy with a bug would. The host must report the message (the
//! panic hook writes it to stderr, which the host captures).

use journey_policy_sdk::*;

struct Panics;

impl Policy for Panics {
    fn about() -> PolicyInfo {
        PolicyInfo::new("hostile-panic", PolicyKind::Other, "0.1.0", "Panics.")
    }

    fn evaluate(input: &EvaluationInput) -> Result<Decisions, PolicyError> {
        let level = std::hint::black_box(input.events.len() + 7);
        panic!("the threshold table has no row for level {level}");
    }
}

export_policy!(Panics);
