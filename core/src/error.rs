//! The one error type of `journey-core`, separating the three things a caller must tell apart:
//! the input broke a rule (fix the input), it conflicts with what is stored (re-read and decide),
//! or the infrastructure failed (retry or page someone).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ids::ExpectedVersion;
use crate::ids::{ChildId, EventId, Position, Version};

/// One broken rule, naming the field (a path such as `events[2].payload.legal_status`) and the rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> FieldError {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The same error, with its field path placed under `prefix` (`payload` + `legal_status` gives
    /// `payload.legal_status`).
    pub fn under(mut self, prefix: &str) -> FieldError {
        self.field = if self.field.is_empty() {
            prefix.to_owned()
        } else {
            format!("{prefix}.{}", self.field)
        };
        self
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for FieldError {}

/// Every rule an input broke. Validation collects them all rather than stopping at the first, so that an
/// integrator can fix a batch in one go.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Problems(pub Vec<FieldError>);

impl Problems {
    pub fn new() -> Problems {
        Problems(Vec::new())
    }

    pub fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }

    pub fn add(&mut self, error: FieldError) {
        self.0.push(error);
    }

    pub fn extend_under(&mut self, prefix: &str, other: Problems) {
        self.0.extend(other.0.into_iter().map(|e| e.under(prefix)));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &FieldError> {
        self.0.iter()
    }

    /// `Ok(())` when nothing was found, otherwise the problems as an error.
    pub fn into_result(self) -> Result<(), Problems> {
        if self.0.is_empty() { Ok(()) } else { Err(self) }
    }
}

impl From<FieldError> for Problems {
    fn from(e: FieldError) -> Problems {
        Problems(vec![e])
    }
}

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            e.fmt(f)?;
        }
        Ok(())
    }
}

/// The append conflicts with what the stream already holds. Nothing was written.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Conflict {
    #[error("stream {child_id}: expected version {expected}, but the stream is at {}", display_version(.actual))]
    WrongExpectedVersion {
        child_id: ChildId,
        expected: ExpectedVersion,
        actual: Option<Version>,
    },
    #[error(
        "event_id {event_id} was already recorded (child {existing_child_id}, version {existing_version}) \
         with different content"
    )]
    EventIdReused {
        event_id: EventId,
        existing_child_id: ChildId,
        existing_version: Version,
    },
    #[error("event_id {event_id} appears more than once in the same append")]
    DuplicateInBatch { event_id: EventId },
    /// A checkpoint smaller than one already signed: a log's checkpoints only grow.
    #[error("a checkpoint of tree size {new} cannot follow the stored one of tree size {stored}")]
    CheckpointBehind { stored: u64, new: u64 },
    /// A checkpoint of a size already signed with another root: two inconsistent checkpoints.
    #[error("a checkpoint of tree size {size} was already signed with another root")]
    CheckpointRootDiffers { size: u64 },
    /// The log no longer extends a checkpoint it signed: nothing more is signed (`crate::proof`).
    #[error("the log does not extend the checkpoint signed at tree size {size}: {detail}")]
    NotConsistent { size: u64, detail: String },
    /// A system-journal stream (`crate::journal`) was not at the version the appender expected.
    #[error("journal stream {stream}: expected version {expected}, but the stream is at {actual}")]
    WrongJournalVersion {
        stream: String,
        expected: ExpectedVersion,
        actual: u64,
    },
}

fn display_version(v: &Option<Version>) -> String {
    match v {
        None => "no stream".to_owned(),
        Some(v) => v.to_string(),
    }
}

/// Where in the log a corruption was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogLocation {
    pub segment: String,
    pub offset: u64,
    pub position: Option<Position>,
}

impl fmt::Display for LogLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "segment {} at byte {}", self.segment, self.offset)?;
        if let Some(p) = self.position {
            write!(f, " (position {p})")?;
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input broke one or more rules; nothing was written.
    #[error("invalid input: {0}")]
    Invalid(Problems),
    /// The input conflicts with what is stored; nothing was written.
    #[error(transparent)]
    Conflict(#[from] Conflict),
    #[error("not found: {0}")]
    NotFound(String),
    /// The log is damaged somewhere other than an incomplete final write. Never skipped silently.
    #[error("the log is corrupt at {location}: {detail}")]
    Corrupt { location: LogLocation, detail: String },
    /// A stored record could not be decoded (an unknown schema version, or bytes that do not match it).
    #[error("cannot decode stored record: {0}")]
    Decode(String),
    #[error("index failure: {0}")]
    Index(String),
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The store has been closed, or its writer stopped after an unrecoverable write failure.
    #[error("the store is closed: {0}")]
    Closed(String),
    /// A sealed record's content could not be opened: its child's key was destroyed (the record is erased),
    /// or the key store is missing, incomplete or not this store's. Never answered with the ciphertext.
    #[error(transparent)]
    Key(#[from] crate::content_keys::KeyError),
    /// Not now, but soon: the tree over the log is being rebuilt, say. Ask again after a while.
    #[error("unavailable for now: {0}")]
    Unavailable(String),
}

impl From<Problems> for Error {
    fn from(p: Problems) -> Error {
        Error::Invalid(p)
    }
}

impl From<FieldError> for Error {
    fn from(e: FieldError) -> Error {
        Error::Invalid(e.into())
    }
}

impl From<bincode::error::DecodeError> for Error {
    fn from(e: bincode::error::DecodeError) -> Error {
        Error::Decode(e.to_string())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
