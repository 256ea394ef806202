//! Storage behind one narrow trait, [`EventStore`], with the promises every implementation keeps:
//!
//! * **Atomic appends** of one or many events to one child's stream: all are stored or none.
//! * **Optimistic concurrency**: an [`ExpectedVersion`] is checked atomically with the append; a mismatch is a
//!   typed [`Conflict`] carrying expected and actual versions.
//! * **Idempotent retries**: an append whose every `event_id` is already stored in this stream with identical
//!   content returns the original outcome; the same id with different content is a conflict.
//! * **Durability**: an append's future resolves `Ok` only after its events are durable.
//! * **One global order**: positions are gap-free and `read_all` returns records in position order; a record
//!   at position *p* is visible only once every record before it is.
//! * **Recorded time never goes backwards** along the log, so "as known at T" is a prefix of the log.
//! * **Tamper evidence**: every record carries the hash links of `crate::chain`, and [`EventStore::verify`]
//!   walks them.
//!
//! Validation that needs the stream's history (`domain::StreamState`) runs inside the append, under the
//! same serialisation as the version check, so no two appends can both pass a rule that only one may.

use std::fmt;
use std::sync::Arc;

use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

use crate::chain;
use crate::envelope::{NewEvent, RecordedEvent};
use crate::error::{Error, Result};
use crate::ids::{ChildId, EventId, ExpectedVersion, Position, PrincipalId, Version};
use crate::time::Timestamp;

pub mod backend;
pub mod export;
pub mod memory;
mod subscribe;
pub mod tree;
mod verify;

pub use export::{ExportProofs, ExportVerification, ExportedRecord, StreamExport, verify_export};
pub use memory::InMemoryStore;
pub use subscribe::subscribe;
pub use tree::{LogId, TreeStore};
pub use verify::{BrokenLink, VerifyReport};

/// One atomic append to one child's stream.
#[derive(Clone, Debug, PartialEq)]
pub struct AppendRequest {
    pub child_id: ChildId,
    pub expected: ExpectedVersion,
    /// The authenticated principal, from credentials (never from the payload).
    pub recorded_by: PrincipalId,
    pub events: Vec<NewEvent>,
}

/// Where one appended event went.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppendedEvent {
    pub event_id: EventId,
    pub version: Version,
    pub position: Position,
    pub recorded_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppendOutcome {
    pub child_id: ChildId,
    pub events: Vec<AppendedEvent>,
    /// True when every event was already stored: this was a retry, and nothing new was written.
    pub already_recorded: bool,
}

/// The end of the log: what an external anchor (a published checkpoint) records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogHead {
    /// The last position, or `None` for an empty log.
    pub position: Option<Position>,
    #[serde(with = "crate::envelope::hex_32")]
    pub log_hash: [u8; 32],
}

impl LogHead {
    pub const EMPTY: LogHead = LogHead {
        position: None,
        log_hash: chain::GENESIS,
    };

    pub fn next_position(&self) -> Position {
        self.position.map_or(Position::FIRST, Position::next)
    }
}

/// The storage contract. Object-safe, so a server can choose its store at run time.
pub trait EventStore: Send + Sync + fmt::Debug {
    fn append(&self, request: AppendRequest) -> BoxFuture<'_, Result<AppendOutcome>>;

    /// Up to `limit` events of one child's stream, from version `from` on, in version order.
    /// An unknown child gives an empty list.
    fn read_stream(
        &self,
        child_id: ChildId,
        from: Version,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<RecordedEvent>>>;

    /// The child's current version, `None` if nothing has been recorded for the child.
    fn stream_version(&self, child_id: ChildId) -> BoxFuture<'_, Result<Option<Version>>>;

    /// Up to `limit` records of the global log from position `from` on, in position order. Records whose
    /// child's content key was destroyed are passed over (their positions, hashes and proofs stay; their
    /// content is gone): `limit` counts the records returned.
    fn read_all(&self, from: Position, limit: usize) -> BoxFuture<'_, Result<Vec<RecordedEvent>>>;

    fn head(&self) -> BoxFuture<'_, Result<LogHead>>;

    /// A receiver that changes whenever the head advances (the value is the last position, 0 when empty).
    /// Used by [`subscribe`] to follow the log without polling.
    fn watch_head(&self) -> tokio::sync::watch::Receiver<u64>;

    /// One child's records with everything needed to verify them without any other child's data.
    fn export_stream(&self, child_id: ChildId) -> BoxFuture<'_, Result<StreamExport>>;

    /// Walks the whole log, recomputing every hash link; reports the first broken one.
    fn verify(&self) -> BoxFuture<'_, Result<VerifyReport>>;

    /// Whether each child's content is sealed under a key of its own (schema version 2), so that
    /// [`EventStore::destroy_content`] can erase it.
    fn content_sealed(&self) -> bool {
        false
    }

    /// Erases these children's records by destroying their content keys (issue #19): from then on their
    /// content cannot be read anywhere it was copied, appends to them are refused, and every hash, proof and
    /// other child's record is untouched. All or nothing, and durable before it answers; a child already
    /// destroyed is reported as such. A store that keeps content in the clear refuses: nothing can be erased
    /// from it without breaking its proofs.
    fn destroy_content(
        &self,
        children: Vec<ChildId>,
        destroyed_at: Timestamp,
    ) -> BoxFuture<'_, Result<Destruction>> {
        let _ = (children, destroyed_at);
        Box::pin(async { Err(Error::Key(crate::content_keys::KeyError::NotSealed)) })
    }

    /// Seals bytes that carry a child's personal data outside its records (a recorded decision's output, say)
    /// under the child's content key, bound to `aad`, so that destroying the key erases them too. `None` from
    /// a store that keeps content in the clear: the caller keeps the bytes as they are.
    fn seal_for_child(&self, child_id: &ChildId, aad: &[u8], plaintext: &[u8]) -> Result<Option<Vec<u8>>> {
        let _ = (child_id, aad, plaintext);
        Ok(None)
    }

    /// Opens what [`EventStore::seal_for_child`] sealed; a destroyed child's answers `KeyError::Destroyed`.
    fn open_for_child(&self, child_id: &ChildId, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>> {
        let _ = (child_id, aad, sealed);
        Err(Error::Key(crate::content_keys::KeyError::NotSealed))
    }

    /// Why this store cannot take appends until it is reopened, if it cannot: its writer stopped after a
    /// failed write or sync (fail-stop), or it was closed. `None` while it can. Cheap and synchronous: a
    /// readiness check (`/readyz`) asks it on every probe.
    fn failure(&self) -> Option<String> {
        None
    }
}

/// What a destruction did ([`EventStore::destroy_content`]).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Destruction {
    /// The children whose keys this destruction destroyed.
    pub destroyed: Vec<ChildId>,
    /// Children whose keys an earlier destruction had destroyed, and when.
    pub already_destroyed: Vec<(ChildId, Timestamp)>,
    pub destroyed_at: Timestamp,
}

/// Shared handle type for stores chosen at run time.
pub type DynStore = Arc<dyn EventStore>;
