//! The stored form of a record, and how every released schema version is read back.
//!
//! A stored record body of schema version 1 (in the clear) is three parts, back to back:
//!
//! ```text
//! schema_version: u16 LE (1) | bincode(StoreFields) | bincode(NewEvent)
//! ```
//!
//! Schema version 2 seals the sender's part under the child's content key (`crate::content_keys`, issue
//! #19), so that destroying the key erases the content while every hash, which covers these stored bytes,
//! still verifies:
//!
//! ```text
//! schema_version: u16 LE (2) | bincode(StoreFields) | bincode(EventId) | suite: u8 | nonce | ciphertext | tag
//! ```
//!
//! The plaintext is exactly version 1's `bincode(NewEvent)`; the associated data is every byte before the
//! nonce, so a sealed part cannot be moved to another record, child, version or position. The store's
//! fields and the event id stay readable: the index, `journey verify` and the proofs need them and nothing
//! else, and they hold no personal content. The random nonce also salts a child's first record, whose
//! previous stream hash is the well-known genesis (ADR 10).
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

use crate::content_keys::{ContentKey, ContentKeys, KeyError, SUITE_AES_256_GCM};
use crate::envelope::{Envelope, NewEvent, SCHEMA_VERSION, SEALED_SCHEMA_VERSION};
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

/// Encodes a record body in schema version 2: the sender's bytes sealed under the child's content key.
pub fn encode_sealed_body(
    fields: &StoreFields,
    event_id: &EventId,
    new_event_bytes: &[u8],
    key: &ContentKey,
) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(96 + new_event_bytes.len());
    out.extend_from_slice(&SEALED_SCHEMA_VERSION.to_le_bytes());
    bincode::encode_into_std_write(fields, &mut out, CONFIG).expect("encoding to memory cannot fail");
    bincode::encode_into_std_write(event_id, &mut out, CONFIG).expect("encoding to memory cannot fail");
    out.push(SUITE_AES_256_GCM);
    let aad_len = out.len();
    // The associated data is the prefix just written; sealing appends after it.
    let aad = out[..aad_len].to_vec();
    key.seal_into(&aad, new_event_bytes, &mut out)?;
    Ok(out)
}

/// Where decoding finds the content key of a sealed record's child.
pub trait KeySource: Send + Sync {
    fn content_key(&self, child_id: &ChildId) -> std::result::Result<ContentKey, KeyError>;
}

impl KeySource for ContentKeys {
    fn content_key(&self, child_id: &ChildId) -> std::result::Result<ContentKey, KeyError> {
        self.key(child_id)
    }
}

/// One child's key (a child's own export carries it): the associated data names the child, so it opens
/// only that child's records.
impl KeySource for ContentKey {
    fn content_key(&self, _: &ChildId) -> std::result::Result<ContentKey, KeyError> {
        Ok(self.clone())
    }
}

/// No keys: records in the clear decode, sealed ones are refused as [`KeyError::Missing`].
#[derive(Debug)]
pub struct NoKeys;

impl KeySource for NoKeys {
    fn content_key(&self, child_id: &ChildId) -> std::result::Result<ContentKey, KeyError> {
        Err(KeyError::Missing {
            child_id: child_id.clone(),
        })
    }
}

/// The store's fields of a body of any version, read without its content (and without any key).
pub fn decode_store_fields(bytes: &[u8]) -> Result<StoreFields> {
    let (version, rest) = split_version(bytes)?;
    match version {
        1 | 2 => Ok(bincode::decode_from_slice(rest, CONFIG)?.0),
        other => Err(unknown_version(other)),
    }
}

/// A schema 2 body's parts: the store's fields, the event id, and the sender's bytes opened with the key.
struct Sealed<'a> {
    store: StoreFields,
    /// Borrowed, not decoded into an `EventId`: a read checks it against the sealed part's own.
    event_id: &'a str,
    aad: &'a [u8],
    sealed: &'a [u8],
}

fn split_sealed(bytes: &[u8]) -> Result<Sealed<'_>> {
    let rest = &bytes[2..];
    let (store, used): (StoreFields, usize) = bincode::decode_from_slice(rest, CONFIG)?;
    let (event_id, used_id): (&str, usize) = bincode::borrow_decode_from_slice(&rest[used..], CONFIG)?;
    let suite_at = 2 + used + used_id;
    match bytes.get(suite_at) {
        Some(&SUITE_AES_256_GCM) => {}
        Some(other) => {
            return Err(Error::Decode(format!(
                "unknown cipher suite {other} in a sealed record"
            )));
        }
        None => return Err(Error::Decode("sealed record ends before its cipher suite".into())),
    }
    Ok(Sealed {
        store,
        event_id,
        aad: &bytes[..suite_at + 1],
        sealed: &bytes[suite_at + 1..],
    })
}

impl Sealed<'_> {
    /// The sender's bytes, opened with the child's key, handed to `f`.
    fn open_with<R>(&self, keys: &dyn KeySource, f: impl FnOnce(&[u8]) -> R) -> Result<R> {
        let key = keys.content_key(&self.store.child_id)?;
        let position = self.store.position;
        Ok(key.open_with(
            self.aad,
            self.sealed,
            || format!("the record at position {position}"),
            f,
        )?)
    }
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
        "unknown schema version {version} (this build reads versions 1 to {SEALED_SCHEMA_VERSION})"
    ))
}

/// Decodes what the indexes need: the store's fields, the event id and the content digest (of the sender's
/// bytes in the clear: a sealed record is opened with its child's key).
pub fn decode_index_fields(bytes: &[u8], keys: &dyn KeySource) -> Result<IndexFields> {
    let (version, rest) = split_version(bytes)?;
    match version {
        2 => {
            let sealed = split_sealed(bytes)?;
            let content_digest =
                sealed.open_with(keys, |sender| content_digest(&sealed.store.child_id, sender))?;
            let event_id = EventId::parse(sealed.event_id)?;
            Ok(IndexFields {
                store: sealed.store,
                event_id,
                content_digest,
            })
        }
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
        // Version 2 keeps the event id in the clear right after the store's fields, as version 1's sender
        // part begins with it.
        1 | 2 => {
            let (store, used): (StoreFields, usize) = bincode::decode_from_slice(rest, CONFIG)?;
            let (event_id, _): (EventId, usize) = bincode::decode_from_slice(&rest[used..], CONFIG)?;
            Ok((store, event_id))
        }
        other => Err(unknown_version(other)),
    }
}

/// Decodes a record body of any released schema version into the current types, opening a sealed one with
/// its child's key from `keys`.
pub fn decode_body(bytes: &[u8], keys: &dyn KeySource) -> Result<(Envelope, crate::domain::EventPayload)> {
    let (version, rest) = split_version(bytes)?;
    match version {
        2 => {
            let sealed = split_sealed(bytes)?;
            let (event, used, len): (NewEvent, usize, usize) = sealed.open_with(keys, |sender| {
                bincode::decode_from_slice(sender, CONFIG).map(|(event, used)| (event, used, sender.len()))
            })??;
            if used != len {
                return Err(Error::Decode(format!(
                    "schema 2 record has {} trailing bytes in its sealed part",
                    len - used
                )));
            }
            if event.event_id.as_str() != sealed.event_id {
                return Err(Error::Decode(format!(
                    "schema 2 record names event {} outside its sealed part and {} inside",
                    sealed.event_id, event.event_id
                )));
            }
            Ok(into_envelope(sealed.store, event, 2))
        }
        1 => {
            let (store, used): (StoreFields, usize) = bincode::decode_from_slice(rest, CONFIG)?;
            let (event, used_event): (NewEvent, usize) = bincode::decode_from_slice(&rest[used..], CONFIG)?;
            if used + used_event != rest.len() {
                return Err(Error::Decode(format!(
                    "schema 1 record has {} trailing bytes",
                    rest.len() - used - used_event
                )));
            }
            Ok(into_envelope(store, event, 1))
        }
        other => Err(unknown_version(other)),
    }
}

/// A stored record's envelope and payload from its store fields and the sender's event.
fn into_envelope(
    store: StoreFields,
    event: NewEvent,
    schema_version: u16,
) -> (Envelope, crate::domain::EventPayload) {
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
        schema_version,
    };
    (envelope, event.payload)
}

#[cfg(test)]
mod sealing_costs {
    use super::*;
    use crate::content_keys::ContentKey;

    /// Where a sealed read's extra time goes (run by hand: `cargo test -p journey-core --release --lib
    /// sealing_costs -- --ignored --nocapture`).
    #[test]
    #[ignore]
    fn decode_costs() {
        let event = crate::testkit::contact("c-1-2", "2023-05-01");
        let fields = StoreFields {
            child_id: crate::testkit::child("c-1"),
            version: Version(2),
            position: Position(2),
            recorded_at: Timestamp::UNIX_EPOCH,
            recorded_by: crate::testkit::principal(),
        };
        let sender = encode_new_event(&event);
        let clear = encode_body(&fields, &sender);
        let key = ContentKey::generate().unwrap();
        let sealed = encode_sealed_body(&fields, &event.event_id, &sender, &key).unwrap();
        println!(
            "plaintext {} bytes, clear body {}, sealed body {}",
            sender.len(),
            clear.len(),
            sealed.len()
        );
        let n = 200_000;
        let time = |name: &str, f: &dyn Fn()| {
            let t = std::time::Instant::now();
            for _ in 0..n {
                f();
            }
            println!("{name}: {:.0} ns", t.elapsed().as_nanos() as f64 / n as f64);
        };
        time("decode clear", &|| {
            std::hint::black_box(decode_body(&clear, &NoKeys).unwrap());
        });
        time("decode sealed", &|| {
            std::hint::black_box(decode_body(&sealed, &key).unwrap());
        });
        let parts = split_sealed(&sealed).unwrap();
        time("split sealed", &|| {
            std::hint::black_box(split_sealed(&sealed).unwrap());
        });
        time("open only", &|| {
            std::hint::black_box(
                key.open_with(parts.aad, parts.sealed, String::new, |p| p.len())
                    .unwrap(),
            );
        });
    }
}
