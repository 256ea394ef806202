//! The stored form of a record, and how every released schema version is read back.
//!
//! A stored record body (schema version 1) is three parts, back to back:
//!
//! ```text
//! schema_version: u16 LE | bincode(StoreFields) | bincode(NewEvent)
//! ```
//!
//! `StoreFields` is what the store stamps (stream, version, position, recorded time and principal); the
//! `NewEvent` part is exactly what the sender submitted. Keeping the sender's part a contiguous byte range
//! means its digest (for idempotent retries) and its event id can be read from the stored bytes without
//! re-encoding anything, which keeps index rebuilds fast.
//!
//! bincode 2 standard configuration: little-endian, variable-length integers, code lists as their code
//! strings, enum variants by index. Decoding dispatches on the version and upcasts older bodies to the
//! current types, so a record written by any released version of Journey is readable by every later one.
//! The golden fixtures in `core/tests/fixtures/` hold records of every released version and a test decodes
//! them. Rules for changing the schema are in `docs/adr/0002-record-encoding.md`.

use bincode::config::{Configuration, Limit, LittleEndian, Varint};
use sha2::{Digest, Sha256};

use crate::envelope::{Envelope, NewEvent, SCHEMA_VERSION};
use crate::error::{Error, Result};
use crate::ids::{ChildId, EventId, Position, PrincipalId, Version};
use crate::time::Timestamp;

/// bincode's standard configuration, with a decode limit so a corrupt length can never make us allocate
/// without bound.
pub const CONFIG: Configuration<LittleEndian, Varint, Limit<{ 16 * 1024 * 1024 }>> =
    bincode::config::standard().with_limit::<{ 16 * 1024 * 1024 }>();

/// The fields the store stamps on a record. Frozen for schema version 1.
#[derive(Clone, Debug, PartialEq, Eq, bincode::Encode, bincode::Decode)]
pub struct StoreFields {
    pub child_id: ChildId,
    pub version: Version,
    pub position: Position,
    pub recorded_at: Timestamp,
    pub recorded_by: PrincipalId,
}

/// Encodes the sender's part of a record. Its bytes are what the content digest covers.
pub fn encode_new_event(event: &NewEvent) -> Vec<u8> {
    bincode::encode_to_vec(event, CONFIG).expect("encoding to memory cannot fail")
}

/// The digest that decides whether a resubmitted `event_id` is the same event: the child and the
/// sender's bytes, nothing the store stamped.
pub fn content_digest(child_id: &ChildId, new_event_bytes: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(b"journey/content/v1\0");
    hasher.update(child_id.as_str().as_bytes());
    hasher.update([0]);
    hasher.update(new_event_bytes);
    hasher.finalize().into()
}

/// [`content_digest`] of a sender's event as it would be stored: two submissions of the same `event_id` are
/// "the same event" exactly when these match.
pub fn new_event_digest(child_id: &ChildId, event: &NewEvent) -> [u8; 32] {
    content_digest(child_id, &encode_new_event(event))
}

/// Encodes a record body in the current schema version from the store's fields and the sender's bytes.
pub fn encode_body(fields: &StoreFields, new_event_bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + new_event_bytes.len());
    out.extend_from_slice(&SCHEMA_VERSION.to_le_bytes());
    bincode::encode_into_std_write(fields, &mut out, CONFIG).expect("encoding to memory cannot fail");
    out.extend_from_slice(new_event_bytes);
    out
}

/// The parts of a body an index needs, read without decoding the payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexFields {
    pub store: StoreFields,
    pub event_id: EventId,
    pub content_digest: [u8; 32],
}

fn split_version(bytes: &[u8]) -> Result<(u16, &[u8])> {
    let (version, rest) = bytes
        .split_first_chunk::<2>()
        .ok_or_else(|| Error::Decode("record shorter than its schema version".into()))?;
    Ok((u16::from_le_bytes(*version), rest))
}

fn unknown_version(version: u16) -> Error {
    Error::Decode(format!(
        "unknown schema version {version} (this build reads versions 1 to {SCHEMA_VERSION})"
    ))
}

/// Decodes what the indexes need: the store's fields, the event id and the content digest.
pub fn decode_index_fields(bytes: &[u8]) -> Result<IndexFields> {
    let (version, rest) = split_version(bytes)?;
    match version {
        1 => {
            let (store, used): (StoreFields, usize) = bincode::decode_from_slice(rest, CONFIG)?;
            let sender = &rest[used..];
            // `event_id` is the first field of `NewEvent`, so it decodes on its own.
            let (event_id, _): (EventId, usize) = bincode::decode_from_slice(sender, CONFIG)?;
            let content_digest = content_digest(&store.child_id, sender);
            Ok(IndexFields {
                store,
                event_id,
                content_digest,
            })
        }
        other => Err(unknown_version(other)),
    }
}

/// Decodes what the in-memory index needs: the store's fields and the event id (no digest).
pub fn decode_locator(bytes: &[u8]) -> Result<(StoreFields, EventId)> {
    let (version, rest) = split_version(bytes)?;
    match version {
        1 => {
            let (store, used): (StoreFields, usize) = bincode::decode_from_slice(rest, CONFIG)?;
            let (event_id, _): (EventId, usize) = bincode::decode_from_slice(&rest[used..], CONFIG)?;
            Ok((store, event_id))
        }
        other => Err(unknown_version(other)),
    }
}

/// Decodes a record body of any released schema version into the current types.
pub fn decode_body(bytes: &[u8]) -> Result<(Envelope, crate::domain::EventPayload)> {
    let (version, rest) = split_version(bytes)?;
    match version {
        1 => {
            let (store, used): (StoreFields, usize) = bincode::decode_from_slice(rest, CONFIG)?;
            let (event, used_event): (NewEvent, usize) = bincode::decode_from_slice(&rest[used..], CONFIG)?;
            if used + used_event != rest.len() {
                return Err(Error::Decode(format!(
                    "schema 1 record has {} trailing bytes",
                    rest.len() - used - used_event
                )));
            }
            let envelope = Envelope {
                event_id: event.event_id,
                child_id: store.child_id,
                version: store.version,
                position: store.position,
                occurred_at: event.occurred_at,
                recorded_at: store.recorded_at,
                recorded_by: store.recorded_by,
                source: event.source,
                correlation_id: event.correlation_id,
                causation_id: event.causation_id,
                source_recorded_at: event.source_recorded_at,
                schema_version: 1,
            };
            Ok((envelope, event.payload))
        }
        other => Err(unknown_version(other)),
    }
}
