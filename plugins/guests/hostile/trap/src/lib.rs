//! Hostile: executes `unreachable`, a WebAssembly trap, without panicking first.

use journey_policy_sdk::*;

struct Trap;

impl Policy for Trap {
    fn about() -> PolicyInfo {
        PolicyInfo::new("hostile-trap", PolicyKind::Other, "0.1.0", "Traps.")
    }

    fn evaluate(_input: &EvaluationInput) -> Result<Decisions, PolicyError> {
        core::arch::wasm32::unreachable()
    }
}

export_policy!(Trap);
