//! Hostile: allocates a mebibyte at a time and never lets go. The host's memory limit must stop it.

use journey_policy_sdk::*;

struct UnboundedAllocation;

impl Policy for UnboundedAllocation {
    fn about() -> PolicyInfo {
        PolicyInfo::new(
            "hostile-unbounded-allocation",
            PolicyKind::Other,
            "0.1.0",
            "Hoards memory.",
        )
    }

    fn evaluate(_input: &EvaluationInput) -> Result<Decisions, PolicyError> {
        let mut hoard: Vec<Vec<u8>> = Vec::new();
        loop {
            hoard.push(vec![7u8; 1 << 20]);
            std::hint::black_box(&hoard);
        }
    }
}

export_policy!(UnboundedAllocation);
