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
use crate::domain::StreamState;
use crate::encoding::{self, StoreFields};
use crate::envelope::{ChainLink, Envelope, NewEvent, RecordedEvent, SCHEMA_VERSION};
use crate::error::{Conflict, Error, Problems, Result};
use crate::ids::{ChildId, EventId, Position, PrincipalId, Version};
use crate::time::Timestamp;

pub mod embedded;
pub mod export;
mod index;
pub mod log;
pub mod memory;
mod read_cache;
mod subscribe;
mod verify;

pub use embedded::{EmbeddedOptions, EmbeddedStore, OpenReport};
pub use export::{ExportVerification, ExportedRecord, StreamExport, verify_export};
pub use memory::InMemoryStore;
pub use subscribe::subscribe;
pub use verify::{BrokenLink, VerifyReport};

/// What the appender believes the stream's version to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ExpectedVersion {
    /// No check.
    #[default]
    Any,
    /// The stream must not exist yet (the child is new).
    NoStream,
    /// The stream's last event must have exactly this version.
    Exact(Version),
}

impl ExpectedVersion {
    fn admits(self, actual: Option<Version>) -> bool {
        match self {
            ExpectedVersion::Any => true,
            ExpectedVersion::NoStream => actual.is_none(),
            ExpectedVersion::Exact(v) => actual == Some(v),
        }
    }
}

impl fmt::Display for ExpectedVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExpectedVersion::Any => f.write_str("any"),
            ExpectedVersion::NoStream => f.write_str("no stream"),
            ExpectedVersion::Exact(v) => v.fmt(f),
        }
    }
}

/// JSON: `"any"`, `"no_stream"` or a version number.
impl Serialize for ExpectedVersion {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            ExpectedVersion::Any => s.serialize_str("any"),
            ExpectedVersion::NoStream => s.serialize_str("no_stream"),
            ExpectedVersion::Exact(v) => s.serialize_u64(v.0),
        }
    }
}

impl<'de> Deserialize<'de> for ExpectedVersion {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Wire {
            Number(u64),
            Word(String),
        }
        const RULE: &str =
            "expected_version must be \"any\", \"no_stream\" or a version number of at least 1";
        match Wire::deserialize(d).map_err(|_| serde::de::Error::custom(RULE))? {
            Wire::Number(0) => Err(serde::de::Error::custom(RULE)),
            Wire::Number(n) => Ok(ExpectedVersion::Exact(Version(n))),
            Wire::Word(w) if w == "any" => Ok(ExpectedVersion::Any),
            Wire::Word(w) if w == "no_stream" => Ok(ExpectedVersion::NoStream),
            Wire::Word(_) => Err(serde::de::Error::custom(RULE)),
        }
    }
}

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

    /// Up to `limit` records of the global log from position `from` on, in position order.
    fn read_all(&self, from: Position, limit: usize) -> BoxFuture<'_, Result<Vec<RecordedEvent>>>;

    fn head(&self) -> BoxFuture<'_, Result<LogHead>>;

    /// A receiver that changes whenever the head advances (the value is the last position, 0 when empty).
    /// Used by [`subscribe`] to follow the log without polling.
    fn watch_head(&self) -> tokio::sync::watch::Receiver<u64>;

    /// One child's records with everything needed to verify them without any other child's data.
    fn export_stream(&self, child_id: ChildId) -> BoxFuture<'_, Result<StreamExport>>;

    /// Walks the whole log, recomputing every hash link; reports the first broken one.
    fn verify(&self) -> BoxFuture<'_, Result<VerifyReport>>;
}

/// A reference to an event already stored, as the event-id index holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct StoredEventRef {
    pub child_id: ChildId,
    pub version: Version,
    pub position: Position,
    pub recorded_at: Timestamp,
    pub content_digest: [u8; 32],
}

/// What an append turned out to be, once checked against the stream.
#[derive(Debug)]
pub(crate) enum AppendPlan {
    /// Every event is already stored with the same content: answer with the original outcome.
    AlreadyRecorded(AppendOutcome),
    /// New events, validated; the stream state has been advanced past them.
    Write,
}

/// Checks an append against the stream: idempotency first (a retry after success must not fail the version
/// check), then the expected version, then every rule, collecting all problems with their event index.
/// `lookup` finds an already stored event by id. Writes nothing; `state` is advanced only when the plan is
/// `Write`, and is left exactly as it was otherwise.
pub(crate) fn plan_append(
    request: &AppendRequest,
    actual: Option<Version>,
    state: &mut StreamState,
    recorded_at: Timestamp,
    mut lookup: impl FnMut(&EventId) -> Result<Option<StoredEventRef>>,
) -> Result<AppendPlan> {
    if request.events.is_empty() {
        return Err(Error::Invalid(
            crate::error::FieldError::new("events", "must contain at least one event").into(),
        ));
    }
    let mut seen = std::collections::HashSet::with_capacity(request.events.len());
    for e in &request.events {
        if !seen.insert(&e.event_id) {
            return Err(Conflict::DuplicateInBatch {
                event_id: e.event_id.clone(),
            }
            .into());
        }
    }

    let mut stored = Vec::with_capacity(request.events.len());
    for e in &request.events {
        if let Some(existing) = lookup(&e.event_id)? {
            if existing.child_id != request.child_id
                || existing.content_digest != e.content_digest(&request.child_id)
            {
                return Err(Conflict::EventIdReused {
                    event_id: e.event_id.clone(),
                    existing_child_id: existing.child_id,
                    existing_version: existing.version,
                }
                .into());
            }
            stored.push((e.event_id.clone(), existing));
        }
    }
    if !stored.is_empty() {
        if stored.len() == request.events.len() {
            let events = stored
                .into_iter()
                .map(|(event_id, s)| AppendedEvent {
                    event_id,
                    version: s.version,
                    position: s.position,
                    recorded_at: s.recorded_at,
                })
                .collect();
            return Ok(AppendPlan::AlreadyRecorded(AppendOutcome {
                child_id: request.child_id.clone(),
                events,
                already_recorded: true,
            }));
        }
        // Part of the batch is stored and part is not: this is not a retry of one append, and storing the rest
        // would break the batch's atomicity. Refuse, naming the first stored id.
        let (event_id, s) = stored.swap_remove(0);
        return Err(Conflict::EventIdReused {
            event_id,
            existing_child_id: s.child_id,
            existing_version: s.version,
        }
        .into());
    }

    if !request.expected.admits(actual) {
        return Err(Conflict::WrongExpectedVersion {
            child_id: request.child_id.clone(),
            expected: request.expected,
            actual,
        }
        .into());
    }

    let today = recorded_at.england_date();
    if let [event] = request.events.as_slice() {
        // The common case, one event: check against the state as it is, and advance it in place.
        let problems = check_event(state, event, today);
        if !problems.is_empty() {
            return Err(Problems(problems.0.into_iter().map(|f| f.under("events[0]")).collect()).into());
        }
        state.apply(&event.event_id, event.occurred_at, &event.payload);
        return Ok(AppendPlan::Write);
    }
    // Several events: each is checked against the state the earlier ones leave, on a copy, so that a
    // rejected batch leaves the state untouched.
    let mut next_state = state.clone();
    let mut problems = Problems::new();
    for (i, e) in request.events.iter().enumerate() {
        let p = check_event(&next_state, e, today);
        if p.is_empty() {
            next_state.apply(&e.event_id, e.occurred_at, &e.payload);
        } else {
            problems.extend_under(&format!("events[{i}]"), p);
        }
    }
    problems.into_result()?;
    *state = next_state;
    Ok(AppendPlan::Write)
}

/// Stateless rules first (reported under `data`, as the sender wrote it), then the rules that need history.
fn check_event(state: &StreamState, event: &NewEvent, today: crate::time::Date) -> Problems {
    let p = event.payload.validate();
    if !p.is_empty() {
        return Problems(p.0.into_iter().map(|f| f.under("data")).collect());
    }
    state.check(event, today)
}

/// A record sealed for storage: its exact bytes, its chain links, and the decoded form.
#[derive(Debug)]
pub(crate) struct SealedRecord {
    pub body: Vec<u8>,
    pub content_digest: [u8; 32],
    pub event: RecordedEvent,
}

impl SealedRecord {
    /// What the event-id index keeps about this record.
    pub fn stored_ref(&self) -> StoredEventRef {
        let e = &self.event.envelope;
        StoredEventRef {
            child_id: e.child_id.clone(),
            version: e.version,
            position: e.position,
            recorded_at: e.recorded_at,
            content_digest: self.content_digest,
        }
    }

    /// What the appender is told about this record.
    pub fn appended(&self) -> AppendedEvent {
        let e = &self.event.envelope;
        AppendedEvent {
            event_id: e.event_id.clone(),
            version: e.version,
            position: e.position,
            recorded_at: e.recorded_at,
        }
    }
}

/// Seals every event of an accepted append, in order: versions follow the stream's last version, positions
/// follow the log's head, and each record is hash-linked to the one before it in its stream and in the log.
/// `stream` is the child's last version and stream hash (`None` and genesis for a new child).
pub(crate) fn seal_append(
    request: &AppendRequest,
    recorded_at: Timestamp,
    stream: (Option<Version>, [u8; 32]),
    log: LogHead,
) -> Vec<SealedRecord> {
    let (mut version, mut stream_hash) = (stream.0.unwrap_or(Version(0)), stream.1);
    let (mut position, mut log_hash) = (log.next_position(), log.log_hash);
    let mut sealed = Vec::with_capacity(request.events.len());
    for event in &request.events {
        version = version.next();
        if version == Version::FIRST {
            stream_hash = chain::GENESIS;
        }
        let fields = StoreFields {
            child_id: request.child_id.clone(),
            version,
            position,
            recorded_at,
            recorded_by: request.recorded_by.clone(),
        };
        let record = seal(event, fields, &stream_hash, &log_hash);
        stream_hash = record.event.chain.stream_hash;
        log_hash = record.event.chain.log_hash;
        position = position.next();
        sealed.push(record);
    }
    sealed
}

/// Stamps an event with the store's fields, encodes it, and links it into both chains.
fn seal(
    event: &NewEvent,
    fields: StoreFields,
    previous_stream_hash: &[u8; 32],
    previous_log_hash: &[u8; 32],
) -> SealedRecord {
    let sender_bytes = encoding::encode_new_event(event);
    let content_digest = encoding::content_digest(&fields.child_id, &sender_bytes);
    let body = encoding::encode_body(&fields, &sender_bytes);
    let stream_hash = chain::stream_hash(previous_stream_hash, &body);
    let log_hash = chain::log_hash(previous_log_hash, &stream_hash);
    let envelope = Envelope {
        event_id: event.event_id.clone(),
        child_id: fields.child_id,
        version: fields.version,
        position: fields.position,
        occurred_at: event.occurred_at,
        recorded_at: fields.recorded_at,
        recorded_by: fields.recorded_by,
        source: event.source.clone(),
        correlation_id: event.correlation_id.clone(),
        causation_id: event.causation_id.clone(),
        source_recorded_at: event.source_recorded_at,
        schema_version: SCHEMA_VERSION,
    };
    SealedRecord {
        body,
        content_digest,
        event: RecordedEvent {
            envelope,
            payload: event.payload.clone(),
            chain: ChainLink {
                stream_hash,
                log_hash,
            },
        },
    }
}

/// Shared handle type for stores chosen at run time.
pub type DynStore = Arc<dyn EventStore>;
