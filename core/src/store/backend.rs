//! What an [`EventStore`](super::EventStore) implementation outside `journey-core` needs to keep the same
//! promises as the stores inside it, without copying their logic: the one place where an append is judged
//! ([`plan_append`]), the one place where records are stamped, encoded and hash-linked ([`seal_append`]), and
//! the one chain walker ([`Verifier`]).
//!
//! An implementation's append, under whatever serialisation makes its version check atomic, does:
//!
//! 1. read the child's current version and [`StreamState`], and the log's head;
//! 2. pick `recorded_at`: the store's clock, but never earlier than the last record's;
//! 3. `plan_append(request, actual, &mut state, recorded_at, lookup)`: idempotent retries answered with the
//!    original outcome, then the expected version, then every domain rule;
//! 4. on [`AppendPlan::Write`], `seal_append(request, recorded_at, (actual, last stream hash), head)` gives the
//!    exact bytes to store for each record ([`SealedRecord::body`]) with its chain links, version and position;
//! 5. store them all or none, and only then answer with [`SealedRecord::appended`].
//!
//! `verify` feeds every stored body and its stored links, in position order, to a [`Verifier`].

use crate::chain;
use crate::content_keys::ContentKey;
use crate::domain::StreamState;
use crate::encoding::{self, StoreFields};
use crate::envelope::{ChainLink, Envelope, NewEvent, RecordedEvent, SCHEMA_VERSION, SEALED_SCHEMA_VERSION};
use crate::error::{Conflict, Error, Problems, Result};
use crate::ids::{ChildId, EventId, Position, Version};
use crate::store::{AppendOutcome, AppendRequest, AppendedEvent, LogHead};
use crate::time::Timestamp;

pub use crate::store::verify::Verifier;

/// A reference to an event already stored, as the event-id index holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredEventRef {
    pub child_id: ChildId,
    pub version: Version,
    pub position: Position,
    pub recorded_at: Timestamp,
    pub content_digest: [u8; 32],
}

/// What an append turned out to be, once checked against the stream.
#[derive(Debug)]
pub enum AppendPlan {
    /// Every event is already stored with the same content: answer with the original outcome.
    AlreadyRecorded(AppendOutcome),
    /// New events, validated; the stream state has been advanced past them.
    Write,
}

/// Checks an append against the stream: idempotency first (a retry after success must not fail the version
/// check), then the expected version, then every rule, collecting all problems with their event index.
/// `lookup` finds an already stored event by id. Writes nothing; `state` is advanced only when the plan is
/// `Write`, and is left exactly as it was otherwise.
pub fn plan_append(
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
                || existing.content_digest != encoding::new_event_digest(&request.child_id, e)
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

    if let [event] = request.events.as_slice() {
        // The common case, one event: check against the state as it is, and advance it in place.
        let problems = check_event(state, &request.child_id, event, recorded_at);
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
        let p = check_event(&next_state, &request.child_id, e, recorded_at);
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
/// `recorded_at` is the instant the append is recorded; its date in England is "today".
fn check_event(
    state: &StreamState,
    child_id: &ChildId,
    event: &NewEvent,
    recorded_at: Timestamp,
) -> Problems {
    let p = event.payload.validate();
    if !p.is_empty() {
        return Problems(p.0.into_iter().map(|f| f.under("data")).collect());
    }
    let mut p = state.check(event.occurred_at, &event.payload, recorded_at.england_date());
    if let Some((field, other)) = event.payload.merge_partner()
        && other == child_id
    {
        p.push(
            field,
            "is this child: a merge joins two different children's records",
        );
    }
    if let Some(claimed) = event.source_recorded_at {
        source_recorded_at_problems(claimed, recorded_at, &mut p);
    }
    p
}

/// Another system's claim of when it recorded the fact: in the accepted range, and not after Journey records
/// it (a claim from the future is a wrong clock or a wrong field).
fn source_recorded_at_problems(claimed: Timestamp, recorded_at: Timestamp, p: &mut Problems) {
    const FIELD: &str = "source_recorded_at";
    if let Err(e) = claimed.check_accepted(FIELD) {
        p.push(e.field, e.message);
    } else if claimed > recorded_at {
        p.push(
            FIELD,
            format!("must not be after the time Journey records the event, {recorded_at} (got {claimed})"),
        );
    }
}

/// A record sealed for storage: its exact bytes, its chain links, and the decoded form.
#[derive(Debug)]
pub struct SealedRecord {
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
/// `stream` is the child's last version and stream hash (`None` and genesis for a new child). With the
/// child's content `key`, the sender's part of each record is sealed under it (schema version 2); without,
/// it is stored in the clear (schema version 1, a store that keeps no content keys).
pub fn seal_append(
    request: &AppendRequest,
    recorded_at: Timestamp,
    stream: (Option<Version>, [u8; 32]),
    log: LogHead,
    key: Option<&ContentKey>,
) -> Result<Vec<SealedRecord>> {
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
        let record = seal(event, fields, &stream_hash, &log_hash, key)?;
        stream_hash = record.event.chain.stream_hash;
        log_hash = record.event.chain.log_hash;
        position = position.next();
        sealed.push(record);
    }
    Ok(sealed)
}

/// Stamps an event with the store's fields, encodes it, and links it into both chains.
fn seal(
    event: &NewEvent,
    fields: StoreFields,
    previous_stream_hash: &[u8; 32],
    previous_log_hash: &[u8; 32],
    key: Option<&ContentKey>,
) -> Result<SealedRecord> {
    let sender_bytes = encoding::encode_new_event(event);
    let content_digest = encoding::content_digest(&fields.child_id, &sender_bytes);
    let (body, schema_version) = match key {
        Some(key) => (
            encoding::encode_sealed_body(&fields, &event.event_id, &sender_bytes, key)?,
            SEALED_SCHEMA_VERSION,
        ),
        None => (encoding::encode_body(&fields, &sender_bytes), SCHEMA_VERSION),
    };
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
        schema_version,
    };
    Ok(SealedRecord {
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
    })
}
