//! The one error type of `journey-witness`.
//!
//! Errors are what keeps the witness from doing its work (a bad configuration, a state directory it cannot
//! read or write, a log it cannot reach). What the witness finds wrong with a log is not an error but an
//! [`crate::Alert`]: the witness worked, and the log misbehaved.

use std::path::PathBuf;

/// Everything that can stop the witness from doing its work.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration breaks a rule. `field` names the setting (`log[1].vkey`), `rule` the rule.
    #[error("configuration {field}: {rule}")]
    Config { field: String, rule: String },

    /// A file or directory of the witness could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A state file exists but cannot be believed. The witness never falls back to trusting the log anew
    /// (that is for the first sight of an origin only): restore the file from a backup, or investigate.
    #[error("state file {}: {reason}", path.display())]
    State { path: PathBuf, reason: String },

    /// Another witness process holds the state directory.
    #[error("the state directory {} is in use by another witness process", path.display())]
    Locked { path: PathBuf },

    /// A C2SP text (a checkpoint, a proof, a key) breaks its format, or a signature or proof the witness
    /// made itself does not check out.
    #[error(transparent)]
    Tlog(#[from] journey_tlog::Error),

    /// A request to a log's server failed: no answer, an unexpected status, or a body out of bounds.
    #[error("{url}: {reason}")]
    Fetch { url: String, reason: String },

    /// A tile the log served does not hash to the tree its signed checkpoint names: the server serves
    /// hashes of another tree than the one it signed (or damaged ones). No proof is built from it.
    #[error("{url}: tile {tile} does not match the signed root of tree size {size}: {reason}")]
    TileNotAuthentic {
        url: String,
        tile: String,
        size: u64,
        reason: String,
    },

    /// The witness's HTTP listener could not be set up.
    #[error("listening on {address}: {source}")]
    Listen {
        address: String,
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    pub(crate) fn config(field: impl Into<String>, rule: impl Into<String>) -> Error {
        Error::Config {
            field: field.into(),
            rule: rule.into(),
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
