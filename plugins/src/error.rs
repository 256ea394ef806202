//! The one error type of the crate: every way loading or evaluating a policy can fail, each a variant of its
//! own with a message a policy author can act on. None of them stops the host: after any of them the same
//! [`crate::Host`] goes on loading and evaluating other policies (and this one).

use std::time::Duration;

use crate::sandbox::Log;

#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    // ---- Loading: is this a Journey policy at all? ----
    /// Not a valid WebAssembly component, or one using a feature the engine refuses (threads, relaxed SIMD).
    #[error("the policy could not be compiled: {0}")]
    Compile(String),

    /// A component, but not a Journey policy.
    #[error(
        "the component does not export the Journey policy interface `{expected}`; it exports: {}",
        if found.is_empty() { "nothing".to_string() } else { found.join(", ") }
    )]
    WrongInterface {
        expected: &'static str,
        found: Vec<String>,
    },

    /// A Journey policy built against a contract version the host does not serve, or one whose `about`
    /// names another contract version than the interface it exports.
    #[error("the policy was built for contract {found}, but this host serves contract {expected}")]
    WrongContract { expected: &'static str, found: String },

    /// The component imports something the sandbox does not provide (only WASI 0.2 is linked, and of it
    /// nothing with ambient authority works).
    #[error("the policy needs imports the sandbox does not provide: {0}")]
    Link(String),

    /// `about` returned something unusable (an empty name, a version that is not semantic).
    #[error("the policy describes itself badly: {0}")]
    BadPolicyInfo(String),

    // ---- Running: the policy misbehaved ----
    /// The deterministic budget of work ran out: the policy does too much or never stops.
    #[error(
        "the policy ran out of fuel (its budget is {limit} units): it does too much work or never finishes"
    )]
    OutOfFuel { limit: u64, log: Log },

    /// The wall-clock backstop fired before the fuel ran out.
    #[error("the policy exceeded its time limit of {limit:?}")]
    DeadlineExceeded { limit: Duration, log: Log },

    /// The policy asked for more memory than it may have.
    #[error("the policy tried to grow its memory to {requested} bytes, over its limit of {limit} bytes")]
    MemoryLimit {
        requested: usize,
        limit: usize,
        log: Log,
    },

    /// The policy panicked; the message is the one its panic hook wrote to stderr.
    #[error("the policy panicked: {message}")]
    Panic { message: String, log: Log },

    /// The policy trapped without a panic message (`unreachable`, an out-of-bounds access, a stack overflow).
    /// `detail` has the WebAssembly backtrace.
    #[error("the policy trapped: {trap}")]
    Trap { trap: String, detail: String, log: Log },

    /// The policy declined to decide, deliberately (its `policy-error`).
    #[error("the policy refused to decide: {refusal}")]
    Refused { refusal: Refusal, log: Log },

    /// The output type-checks but breaks the contract's rules (a date that does not exist, a level of 9, a
    /// reason citing an event that is not in the input, a decision without reasons).
    #[error("the policy's output is malformed at `{path}`: {problem}")]
    MalformedOutput { path: String, problem: String, log: Log },

    /// The output is larger than the host accepts.
    #[error("the policy's output is {size} bytes, over the limit of {limit} bytes")]
    OutputTooLarge { size: usize, limit: usize, log: Log },

    // ---- The caller's or the host's side ----
    /// The input could not be built (for example a child's stream with no registration).
    #[error("the policy input is invalid: {0}")]
    InvalidInput(String),

    /// Anything else the engine reported (resource exhaustion of the host itself, for example).
    #[error("the policy host failed: {0}")]
    Host(String),

    // ---- The registry ----
    /// A request to the registry broke a rule.
    #[error("{field}: {rule}")]
    BadRequest { field: String, rule: String },

    /// No such policy or version.
    #[error("no policy version {0} is deployed")]
    UnknownPolicy(String),

    /// No active version of the policy covers the date being judged.
    #[error("no active version of {policy} is in force on {on}")]
    NotInForce { policy: String, on: journey_core::Date },

    /// The child has no stream.
    #[error("no child {0} is recorded")]
    UnknownChild(String),

    /// No recorded decision has this number.
    #[error("no decision {0} is recorded")]
    UnknownDecision(u64),

    /// Versions are immutable: this name and version is deployed with other content.
    #[error("{name} {version} is already deployed with different content ({detail}); deploy a new version")]
    VersionConflict {
        name: String,
        version: String,
        detail: String,
    },

    /// The version is not in a state that allows the request (activating a retired version).
    #[error("{0}")]
    InvalidState(String),

    /// The version's example cases did not all pass, so it was not activated.
    #[error(
        "{name} {version} failed {} of its example cases: {}",
        failures.len(),
        failures.iter().map(|f| format!("{} at `{}`: {}", f.case, f.path, f.problem)).collect::<Vec<_>>().join("; ")
    )]
    ExamplesFailed {
        name: String,
        version: String,
        failures: Vec<crate::registry::ExampleFailure>,
    },

    /// The journal, the blob store or the event store failed.
    #[error(transparent)]
    Store(#[from] journey_core::Error),
}

/// A policy's considered refusal to decide (the contract's `policy-error`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, thiserror::Error)]
#[serde(tag = "kind", content = "message", rename_all = "kebab-case")]
pub enum Refusal {
    #[error("invalid parameters: {0}")]
    InvalidParameters(String),
    #[error("unsupported input: {0}")]
    UnsupportedInput(String),
    #[error("{0}")]
    Failed(String),
}

impl PluginError {
    /// What the policy wrote to stdout and stderr before it failed, for failures while it ran.
    pub fn log(&self) -> Option<&Log> {
        match self {
            PluginError::OutOfFuel { log, .. }
            | PluginError::DeadlineExceeded { log, .. }
            | PluginError::MemoryLimit { log, .. }
            | PluginError::Panic { log, .. }
            | PluginError::Trap { log, .. }
            | PluginError::Refused { log, .. }
            | PluginError::MalformedOutput { log, .. }
            | PluginError::OutputTooLarge { log, .. } => Some(log),
            _ => None,
        }
    }
}
