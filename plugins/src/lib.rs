//! `journey-plugins`: Journey's policy host.
//!
//! Local authorities' rules (threshold documents, step-up and step-down protocols, the local offer,
//! statutory timescales, records retention) run as WebAssembly components that export
//! `journey:policy/policy@2.0.0` (`plugins/wit/policy-2.0.0.wit`, the contract), or the earlier
//! `journey:policy/policy@1.0.0` (`plugins/wit/policy.wit`), which is still served ([`Contract`]). Authors
//! write them with `journey-policy-sdk` (`docs/policy-authoring.md`); this crate runs them:
//!
//! * [`Host`]: one wasmtime engine; [`Host::load`] compiles a component once (cached by the SHA-256 of its
//!   bytes), checks it is a policy of this contract and pre-instantiates it; [`Host::evaluate`] runs it in a
//!   fresh, sandboxed instance with limits on fuel, memory, time and output ([`Limits`]).
//! * [`PolicyInput::from_stream`]: the input, built from one child's stream through the bitemporal view
//!   (`journey_core::view::known_at` and `ChildSummary`), with the working-day [`Calendar`].
//! * [`Evaluation`]: the checked [`Decisions`] and the evidence to replay them: policy hash, input hash,
//!   engine-configuration hash, output hash, fuel used, and the policy's captured log.
//! * [`PluginError`]: every failure, one variant each; the host keeps serving after any of them.
//!
//! Determinism: the same policy bytes, engine settings ([`EngineSettings`]) and input give byte-identical
//! output. NaNs are canonicalised, relaxed SIMD and threads are off, and the sandbox's clocks and random
//! numbers are fixed (see `sandbox.rs` and `docs/adr/0004-policies-as-components.md`).

mod bindings;
mod calendar;
mod digest;
mod error;
pub mod guests;
mod host;
mod input;
mod output;
pub mod reference;
pub mod registry;
mod sandbox;

pub use calendar::Calendar;
pub use digest::Digest;
pub use error::{PluginError, Refusal};
pub use host::{
    Answer, CONTRACT_INTERFACE, CONTRACT_VERSION, Contract, EngineSettings, Evaluation, Host, HostConfig,
    Limits, LoadedPolicy, PolicyInfo, PolicyKind, WasiSettings,
};
pub use input::{ChildFacts, PolicyEvent, PolicyEventStatus, PolicyInput};
pub use output::{
    Alert, Counting, Deadline, DeadlineStatus, Decisions, Entitlement, Lateness, LevelOfNeed, Reason,
    Retention, RetentionStatus, Service, Severity, StepDirection, StepRecommendation, TimeUnit,
};
pub use sandbox::Log;
