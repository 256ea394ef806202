//! The one error type of `journey-tlog`.
//!
//! A caller must tell four things apart: the input is malformed (a text or a number breaks a format's rule:
//! fix the input), a proof or a signature does not check out (the data was altered or the server lies:
//! alarm), a request asks for something the tree cannot answer (an index past the size), or the stored
//! hashes could not be read (infrastructure: retry or rebuild).

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A text or value breaks a format's rule. `field` names what was read (`checkpoint.size`,
    /// `vkey.key_id`, `policy line 4`), `rule` the rule it broke.
    #[error("{field}: {rule}")]
    Malformed { field: String, rule: String },

    /// A request the tree cannot answer, such as an inclusion proof for an index at or past the size.
    #[error("{field}: {rule}")]
    OutOfRange { field: &'static str, rule: String },

    /// An inclusion proof does not lead from the leaf to the root (RFC 9162 §2.1.3.2).
    #[error("inclusion proof for index {index} in tree size {size} rejected: {reason}")]
    InclusionRejected {
        index: u64,
        size: u64,
        reason: &'static str,
    },

    /// A consistency proof does not show that the tree of `old_size` is a prefix of the tree of
    /// `new_size` (RFC 9162 §2.1.4.2).
    #[error("consistency proof from tree size {old_size} to {new_size} rejected: {reason}")]
    ConsistencyRejected {
        old_size: u64,
        new_size: u64,
        reason: &'static str,
    },

    /// A signature line names a trusted key (name and key ID) but the signature does not verify. The whole
    /// note is rejected (c2sp.org/signed-note: such a note is malformed).
    #[error("the signature of trusted key {name}+{key_id} does not verify")]
    BadSignature { name: String, key_id: String },

    /// No signature line of the note verifies under a trusted key.
    #[error("{what} carries no valid signature from a trusted key")]
    NotSigned { what: String },

    /// The checkpoint names another log than the one expected.
    #[error("checkpoint origin {found:?} is not the expected {expected:?}")]
    OriginMismatch { expected: String, found: String },

    /// The checkpoint's cosignatures do not satisfy the policy's quorum.
    #[error("witness quorum not met: {detail}")]
    QuorumNotMet { detail: String },

    /// The stored hashes a proof or a root needs could not be read.
    #[error("reading {count} stored hashes of level {level} from index {start}: {source}")]
    HashRead {
        level: u8,
        start: u64,
        count: u64,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl Error {
    pub(crate) fn malformed(field: impl Into<String>, rule: impl Into<String>) -> Error {
        Error::Malformed {
            field: field.into(),
            rule: rule.into(),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
