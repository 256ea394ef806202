//! # journey-policy-sdk: write a Journey policy as plain Rust
//!
//! A policy is a WebAssembly component that exports `journey:policy/policy@2.0.0`
//! (`plugins/wit/policy-2.0.0.wit`, the contract). This crate generates the guest side of that contract and
//! hides it behind one trait and one macro, so that a policy is only its rules. (Journey still serves
//! policies built against contract 1.0.0 by earlier versions of this crate; this one builds 2.0.0 only.)
//!
//!
//! ```ignore
//! use journey_policy_sdk::*;
//!
//! struct MyPolicy;
//!
//! impl Policy for MyPolicy {
//!     fn about() -> PolicyInfo {
//!         PolicyInfo::new("my-policy", PolicyKind::Other, "0.1.0", "What it decides, in one paragraph.")
//!     }
//!
//!     fn evaluate(input: &EvaluationInput) -> Result<Decisions, PolicyError> {
//!         let mut decisions = Decisions::default();
//!         for contact in input.of_kind("ContactReceived") {
//!             // ... rules ...
//!         }
//!         Ok(decisions)
//!     }
//! }
//!
//! export_policy!(MyPolicy);
//! ```
//!
//! Build it with `cargo build --target wasm32-wasip2 --release` as a `cdylib`; see `docs/policy-authoring.md`.
//!
//! ## What the helpers give you
//! * [`Date`]: civil dates with day, week, month and year arithmetic ([`Date::add_months`] clamps to the end
//!   of the month; [`Date::add_years`] and [`Date::age_on`] count a 29 February birthday as 28 February in a
//!   common year, as the DfE validators and `journey-core` do).
//! * [`Calendar`]: England and Wales working days from the host's bank-holiday data:
//!   [`Calendar::due_within_working_days`] (both counting conventions, see [`Counting`]),
//!   [`Calendar::add_working_days`] and [`Calendar::count_working_days`].
//! * [`EvaluationInput::parameters`] and [`JourneyEvent::data`]: decode the policy's parameters and an
//!   event's JSON content into your own `serde` structs, reading only the fields you need.
//! * [`Deadline::judged`], [`Deadline::late_in_working_days`], [`Deadline::judged_at`], [`Reason::new`]:
//!   build decisions whose status and lateness (in the rule's own unit: [`Lateness`]) are computed the same
//!   way by every policy; [`Deadline::counted`] says how the due date was counted ([`Counting`]).
//! * Reading a journey ([`EvaluationInput::periods`], [`EvaluationInput::care_periods`],
//!   [`EvaluationInput::age_on`], [`EvaluationInput::disabilities`], [`JourneyEvent::assessment_factors`]):
//!   spans of service between a start and an end event, periods of care with their legal statuses and
//!   placements (short breaks recognisable; [`EvaluationInput::all_care_periods`] adds a period found in
//!   progress when history was imported, whose start is unknown), and the contents most policies read.
//! * [`EvaluationInput::parameters_over`]: the parameters over the defaults the policy ships in its
//!   `parameters.json`, refusing a wrong value with the field's name; [`PolicyError::check`] for ranges.
//! * [`Date::instant_in_england`] and [`Date::in_england_at`]: civil times in England (GMT and BST) and
//!   instants, for hour-based timescales; [`Date::months_until`] for durations in months.
//!
//! ## What a policy cannot do
//! Everything a policy knows is in its input. The host gives it no files, no network and no environment;
//! the clocks a guest's standard library reads are fixed at the Unix epoch and its random numbers are a
//! fixed sequence, so that the same input always gives the same answer (see `docs/adr/0004`). Use
//! [`EvaluationInput::evaluation_date`] for "today". `println!` and `eprintln!` work: their output is
//! captured (up to a limit) and returned to the author with the evaluation, which helps debugging.
//!
//! The SDK also compiles for the host, so the helpers are unit-tested with plain `cargo test`.

// The generated export glue names this crate by its absolute path, so that the `export_policy!` macro works
// from a policy crate that does not depend on `wit-bindgen` itself; this makes the same path work here.
extern crate self as journey_policy_sdk;

mod calendar;
mod date;
mod input;
mod journey;
mod output;
pub mod testing;

pub use date::{Weekday, days};
pub use journey::{CARE_FOUND_IN_PROGRESS, CarePeriod, LegalStatusSpan, Period};
pub use output::Rule;

/// The contract version this SDK implements: the version of the `journey:policy` WIT package.
pub const CONTRACT_VERSION: &str = "2.0.0";

/// The bindings generated from `plugins/wit/policy-2.0.0.wit`. Use the re-exports at the crate root instead.
#[doc(hidden)]
// wit-bindgen generates the canonical-ABI glue: `extern "C"` exports that read and write the guest's linear
// memory through raw pointers, which is unsafe by nature and is the one reason this crate allows
// `unsafe_code` at all. The code is generated from the WIT file and not written by hand.
#[allow(unsafe_code, missing_debug_implementations, clippy::all, clippy::pedantic)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit/policy-2.0.0.wit",
        world: "policy-plugin",
        pub_export_macro: true,
        export_macro_name: "__export_policy_plugin",
        default_bindings_module: "::journey_policy_sdk::bindings",
        runtime_path: "::journey_policy_sdk::__private::wit_bindgen::rt",
        additional_derives: [PartialEq, Eq, PartialOrd, Ord, Hash],
    });
}

pub use bindings::exports::journey::policy::policy::{
    Alert, Calendar, ChildFacts, Counting, Date, Deadline, DeadlineStatus, Decisions, Entitlement,
    EvaluationInput, EventStatus, JourneyEvent, Lateness, LevelOfNeed, PolicyError, PolicyInfo, PolicyKind,
    Reason, Retention, RetentionStatus, Service, Severity, StepDirection, StepRecommendation, TimeOfDay,
    TimeUnit, Timestamp,
};

/// A policy: who it is, and how it decides. Implement this and call [`export_policy!`] once.
pub trait Policy {
    /// Who the policy is. The SDK fills in [`PolicyInfo::contract_version`] whatever you return.
    fn about() -> PolicyInfo;

    /// Decide, from the input alone. Return [`PolicyError`] for a considered refusal (wrong parameters,
    /// input outside what the policy handles); a panic is reported to the host as a crash of the policy,
    /// with the panic message.
    fn evaluate(input: &EvaluationInput) -> Result<Decisions, PolicyError>;
}

/// Exports a [`Policy`] as the component's `journey:policy/policy` interface. Call it once, at the root of
/// the policy crate (a `cdylib`).
#[macro_export]
macro_rules! export_policy {
    ($policy:ty) => {
        #[doc(hidden)]
        #[derive(Debug)]
        pub struct __JourneyPolicyExport;

        impl $crate::__private::Guest for __JourneyPolicyExport {
            fn about() -> $crate::PolicyInfo {
                $crate::__private::about::<$policy>()
            }

            fn evaluate(
                input: $crate::EvaluationInput,
            ) -> ::core::result::Result<$crate::Decisions, $crate::PolicyError> {
                $crate::__private::evaluate::<$policy>(&input)
            }
        }

        $crate::bindings::__export_policy_plugin!(__JourneyPolicyExport with_types_in $crate::bindings);
    };
}

/// What [`export_policy!`] expands to needs; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use crate::bindings::exports::journey::policy::policy::Guest;
    pub use wit_bindgen;

    use crate::{Decisions, EvaluationInput, Policy, PolicyError, PolicyInfo};

    pub fn about<P: Policy>() -> PolicyInfo {
        PolicyInfo {
            contract_version: crate::CONTRACT_VERSION.to_string(),
            ..P::about()
        }
    }

    pub fn evaluate<P: Policy>(input: &EvaluationInput) -> Result<Decisions, PolicyError> {
        P::evaluate(input)
    }
}

impl PolicyInfo {
    /// Who a policy is; the contract version is the SDK's.
    pub fn new(
        name: impl Into<String>,
        kind: PolicyKind,
        version: impl Into<String>,
        summary: impl Into<String>,
    ) -> PolicyInfo {
        PolicyInfo {
            name: name.into(),
            kind,
            version: version.into(),
            contract_version: CONTRACT_VERSION.to_string(),
            summary: summary.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_contract_version_is_the_wit_package_version() {
        let wit = include_str!("../../wit/policy-2.0.0.wit");
        let declared = format!("package journey:policy@{};", super::CONTRACT_VERSION);
        assert!(
            wit.contains(&declared),
            "policy-2.0.0.wit must declare {declared}"
        );
    }
}
