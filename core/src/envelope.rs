//! What a sender submits ([`NewEvent`]) and what the store records around it ([`Envelope`],
//! [`RecordedEvent`]).
//!
//! The split is the point: everything in a `NewEvent` is the sender's claim; everything the store adds
//! (`version`, `position`, `recorded_at`, `recorded_by`, the hashes) is the store's, and no sender can set it.

use serde::{Deserialize, Serialize};

use crate::domain::EventPayload;
use crate::error::FieldError;
use crate::ids::{ChildId, CorrelationId, EventId, Position, PrincipalId, Source, Version};
use crate::time::{OccurredAt, Timestamp};

/// The schema version of records stored in the clear (stores without content keys, and every record written
/// before issue #19). Every released version stays decodable forever (see `encoding` and the golden fixtures
/// in `core/tests/fixtures`).
pub const SCHEMA_VERSION: u16 = 1;
/// The schema version of records whose sender's part is sealed under the child's content key
/// (`crate::content_keys`): the same fields, the content encrypted.
pub const SEALED_SCHEMA_VERSION: u16 = 2;

/// An event as a sender submits it. In JSON the payload sits beside the envelope fields as
/// `"type": "PlacementChanged", "data": {...}`; unknown fields anywhere are refused.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(try_from = "NewEventWire")]
pub struct NewEvent {
    /// Chosen by the sender; a retry with the same id and the same content is recognised and not stored twice.
    pub event_id: EventId,
    /// When it happened (valid time), in England.
    pub occurred_at: OccurredAt,
    /// The agency and system the event speaks for.
    pub source: Source,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<CorrelationId>,
    /// The event that led to this one (a conference outcome leading to a plan).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub causation_id: Option<EventId>,
    /// For history imported from another system: when that system says it recorded the fact. A claim, kept
    /// beside Journey's own `recorded_at`, never instead of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_recorded_at: Option<Timestamp>,
    #[serde(flatten)]
    pub payload: EventPayload,
}

/// The strict JSON form of [`NewEvent`]. serde cannot combine `flatten` with `deny_unknown_fields`, so the
/// payload is taken as `type` + raw `data` here and decoded with its field path kept for error messages.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewEventWire {
    event_id: EventId,
    occurred_at: OccurredAt,
    source: Source,
    #[serde(default)]
    correlation_id: Option<CorrelationId>,
    #[serde(default)]
    causation_id: Option<EventId>,
    #[serde(default)]
    source_recorded_at: Option<Timestamp>,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    data: serde_json::Value,
}

impl TryFrom<NewEventWire> for NewEvent {
    type Error = FieldError;

    fn try_from(wire: NewEventWire) -> Result<NewEvent, FieldError> {
        let payload = EventPayload::from_type_and_data(&wire.kind, wire.data)?;
        Ok(NewEvent {
            event_id: wire.event_id,
            occurred_at: wire.occurred_at,
            source: wire.source,
            correlation_id: wire.correlation_id,
            causation_id: wire.causation_id,
            source_recorded_at: wire.source_recorded_at,
            payload,
        })
    }
}

/// What the store knows about a recorded event besides its payload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
pub struct Envelope {
    pub event_id: EventId,
    pub child_id: ChildId,
    pub version: Version,
    pub position: Position,
    pub occurred_at: OccurredAt,
    /// Transaction time, from the store's clock. Non-decreasing along the log, so "as known at T" is always
    /// a prefix of the log.
    pub recorded_at: Timestamp,
    pub recorded_by: PrincipalId,
    pub source: Source,
    pub correlation_id: Option<CorrelationId>,
    pub causation_id: Option<EventId>,
    pub source_recorded_at: Option<Timestamp>,
    pub schema_version: u16,
}

/// The two hashes that make the log tamper-evident (see `crate::chain`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ChainLink {
    /// Links this record to the previous record of the same child: a child's records verify alone.
    #[serde(with = "hex_32")]
    pub stream_hash: [u8; 32],
    /// Links this record to the previous record of the whole log.
    #[serde(with = "hex_32")]
    pub log_hash: [u8; 32],
}

/// An event as stored: envelope, payload and its place in the hash chains.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecordedEvent {
    #[serde(flatten)]
    pub envelope: Envelope,
    #[serde(flatten)]
    pub payload: EventPayload,
    pub chain: ChainLink,
}

impl RecordedEvent {
    /// The sender's part of the record, as it was submitted: used to recognise an idempotent retry.
    pub fn as_new_event(&self) -> NewEvent {
        NewEvent {
            event_id: self.envelope.event_id.clone(),
            occurred_at: self.envelope.occurred_at,
            source: self.envelope.source.clone(),
            correlation_id: self.envelope.correlation_id.clone(),
            causation_id: self.envelope.causation_id.clone(),
            source_recorded_at: self.envelope.source_recorded_at,
            payload: self.payload.clone(),
        }
    }
}

/// Serialises 32-byte hashes as lower-case hex.
pub mod hex_32 {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        let mut out = [0u8; 32];
        hex::decode_to_slice(s.as_bytes(), &mut out).map_err(serde::de::Error::custom)?;
        Ok(out)
    }
}
