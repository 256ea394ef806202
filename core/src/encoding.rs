//! The stored form of a record, and how every released schema version is read back.
//!
//! A stored record body is `schema_version: u16 LE` followed by the bincode 2 encoding (standard
//! configuration: little-endian, variable-length integers) of that version's body type. Decoding
//! dispatches on the version and upcasts older bodies to the current types, so a record written by any
//! released version of Journey is readable by every later one. The golden fixtures in
//! `core/tests/fixtures/` hold records of every released version and a test decodes them.
//!
//! Rules for changing the schema (see `docs/adr/0002-record-encoding.md`):
//! * never reorder, remove or change the fields of an existing `EventPayload` variant or code list
//!   entry in a released schema; add variants only at the end;
//! * anything else means a new `SCHEMA_VERSION`, a frozen copy of the old body type, and an upcaster here.

use bincode::config::{Configuration, Limit, LittleEndian, Varint};

use crate::domain::EventPayload;
use crate::envelope::{Envelope, SCHEMA_VERSION};
use crate::error::{Error, Result};

/// bincode's standard configuration, with a decode limit so a corrupt length can never make us allocate
/// without bound.
pub const CONFIG: Configuration<LittleEndian, Varint, Limit<{ 16 * 1024 * 1024 }>> =
    bincode::config::standard().with_limit::<{ 16 * 1024 * 1024 }>();

#[derive(bincode::Encode)]
struct BodyRef<'a> {
    envelope: &'a Envelope,
    payload: &'a EventPayload,
}

/// Schema version 1 of a record body.
#[derive(bincode::Decode)]
struct BodyV1 {
    envelope: Envelope,
    payload: EventPayload,
}

/// Encodes a record body in the current schema version.
pub fn encode_body(envelope: &Envelope, payload: &EventPayload) -> Vec<u8> {
    debug_assert_eq!(envelope.schema_version, SCHEMA_VERSION);
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(&SCHEMA_VERSION.to_le_bytes());
    bincode::encode_into_std_write(BodyRef { envelope, payload }, &mut out, CONFIG)
        .expect("encoding to memory cannot fail");
    out
}

/// Decodes a record body of any released schema version into the current types.
pub fn decode_body(bytes: &[u8]) -> Result<(Envelope, EventPayload)> {
    let (version, rest) = bytes
        .split_first_chunk::<2>()
        .ok_or_else(|| Error::Decode("record shorter than its schema version".into()))?;
    match u16::from_le_bytes(*version) {
        1 => {
            let (body, used): (BodyV1, usize) = bincode::decode_from_slice(rest, CONFIG)?;
            if used != rest.len() {
                return Err(Error::Decode(format!(
                    "schema 1 record has {} trailing bytes",
                    rest.len() - used
                )));
            }
            if body.envelope.schema_version != 1 {
                return Err(Error::Decode("schema 1 record claims another schema version".into()));
            }
            Ok((body.envelope, body.payload))
        }
        other => Err(Error::Decode(format!(
            "unknown schema version {other} (this build reads versions 1 to {SCHEMA_VERSION})"
        ))),
    }
}
