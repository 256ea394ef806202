//! Hostile: never returns. The host must stop it by fuel (a deterministic budget) or, with fuel
//! effectively unlimited, by the epoch deadline (the wall-clock backstop).

use journey_policy_sdk::*;

struct InfiniteLoop;

impl Policy for InfiniteLoop {
    fn about() -> PolicyInfo {
        PolicyInfo::new(
            "hostile-infinite-loop",
            PolicyKind::Other,
            "0.1.0",
            "Loops forever.",
        )
    }

    fn evaluate(_input: &EvaluationInput) -> Result<Decisions, PolicyError> {
        let mut n: u64 = 0;
        loop {
            n = std::hint::black_box(n.wrapping_add(1));
        }
    }
}

export_policy!(InfiniteLoop);
