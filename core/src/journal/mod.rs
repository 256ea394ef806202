//! The system journal: Journey's own records about itself, kept apart from the children's streams.
//!
//! Children's streams hold what happened to a child. The journal holds what happened *to the system*: policy
//! versions uploaded, deployed, activated and retired; decisions recorded; API keys created and revoked; and
//! every read of a child's record (the access log). These are facts an investigator must be able to trust as
//! much as the children's records, so the journal keeps the same promises, with a simpler shape:
//!
//! * **Named streams** ([`SystemStream`]: `policies`, `keys`, `access`...), each versioned from 1, with an
//!   [`ExpectedVersion`] checked atomically with the append (so "deploy only if nobody else deployed this
//!   version meanwhile" is a version check, not a check-then-write race).
//! * **One hash chain** over the whole journal: each record's stored bytes include the previous record's hash,
//!   and its own hash is `SHA-256("journey/journal/v1" ‖ stored bytes)`. [`Journal::verify`] walks it.
//! * **Durable before acknowledged**: [`FileJournal`] writes through the same framed, checksummed, group-
//!   committed log as the event store (`store::log`), in its own directory.
//! * **Append-only**: there is no update or delete. A retraction is a new record.
//!
//! Records carry a typed `kind` and a JSON `body`; the crates that own each stream (`journey-plugins` for
//! policies, `journey-api` for keys and access) define the typed bodies. JSON, not bincode: the journal is
//! small, read by people during an investigation, and its bodies belong to crates that evolve separately.

use std::collections::HashMap;
use std::fmt;

use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Conflict, Error, FieldError, Result};
use crate::ids::ExpectedVersion;
use crate::ids::PrincipalId;
use crate::ids::validated_string;
use crate::time::Timestamp;

mod memory;

pub use memory::MemoryJournal;

validated_string!(
    /// The name of a stream in the system journal: `policies`, `keys`, `access`, `decisions`.
    SystemStream,
    field = "stream",
    max = 64,
    rule = "must be 1 to 64 characters: lower-case ASCII letters, digits and '-', starting with a letter",
    valid = |s| s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
);

validated_string!(
    /// The type of a journal record, in the past tense: `PolicyDeployed`, `ApiKeyCreated`, `RecordRead`.
    RecordKind,
    field = "kind",
    max = 64,
    rule = "must be 1 to 64 ASCII letters and digits, starting with an upper-case letter",
    valid = |s| s.starts_with(|c: char| c.is_ascii_uppercase()) && s.chars().all(|c| c.is_ascii_alphanumeric())
);

/// One record to append.
#[derive(Clone, Debug, PartialEq)]
pub struct NewRecord {
    pub kind: RecordKind,
    /// The authenticated principal that caused it.
    pub recorded_by: PrincipalId,
    /// The typed body, as JSON (an object).
    pub body: serde_json::Value,
}

impl NewRecord {
    /// A record whose body is `body` serialised to JSON.
    ///
    /// # Panics
    /// If `kind` is not a valid [`RecordKind`] (a programming error: kinds are constants) or `body` does not
    /// serialise to a JSON object.
    pub fn new(kind: &str, recorded_by: PrincipalId, body: &impl Serialize) -> NewRecord {
        let body = serde_json::to_value(body).expect("a journal body serialises to JSON");
        assert!(body.is_object(), "a journal body must be a JSON object");
        NewRecord {
            kind: RecordKind::parse(kind).expect("journal record kinds are valid constants"),
            recorded_by,
            body,
        }
    }
}

/// A stored journal record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JournalRecord {
    /// The record's place in the whole journal, from 1, gap-free.
    pub sequence: u64,
    pub stream: SystemStream,
    /// The record's version in its stream, from 1, gap-free.
    pub version: u64,
    pub kind: RecordKind,
    /// Set by the journal's clock; never decreases along the journal.
    pub recorded_at: Timestamp,
    pub recorded_by: PrincipalId,
    pub body: serde_json::Value,
    /// The hash of the record before this one (all zeros for the first).
    #[serde(with = "crate::envelope::hex_32")]
    pub previous_hash: [u8; 32],
    /// `SHA-256("journey/journal/v1\0" ‖ stored bytes)`: not part of the stored bytes, recomputed on read.
    #[serde(skip_deserializing, with = "crate::envelope::hex_32")]
    pub hash: [u8; 32],
}

impl JournalRecord {
    /// The record's body as `T`.
    pub fn body_as<T: serde::de::DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_value(self.body.clone()).map_err(|e| {
            Error::Decode(format!(
                "journal record {} ({} v{} {}): {e}",
                self.sequence, self.stream, self.version, self.kind
            ))
        })
    }
}

/// The stored form of a record: everything but its own hash, as compact JSON in this field order.
#[derive(Serialize)]
struct StoredRecord<'a> {
    sequence: u64,
    stream: &'a SystemStream,
    version: u64,
    kind: &'a RecordKind,
    recorded_at: Timestamp,
    recorded_by: &'a PrincipalId,
    body: &'a serde_json::Value,
    #[serde(with = "crate::envelope::hex_32")]
    previous_hash: &'a [u8; 32],
}

pub(crate) fn record_hash(stored: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"journey/journal/v1\0");
    h.update(stored);
    h.finalize().into()
}

/// Decodes a record's stored bytes, recomputing its hash; `sequence` is where it was found, for messages.
pub fn decode_record(stored: &[u8], sequence: u64) -> Result<JournalRecord> {
    let mut record: JournalRecord = serde_json::from_slice(stored)
        .map_err(|e| Error::Decode(format!("journal record {sequence}: {e}")))?;
    record.hash = record_hash(stored);
    Ok(record)
}

/// The journal's head: what an external anchor would record.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalHead {
    /// The last sequence number (0 for an empty journal).
    pub sequence: u64,
    #[serde(with = "crate::envelope::hex_32")]
    pub hash: [u8; 32],
}

/// What [`Journal::verify`] found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalVerification {
    pub records: u64,
    pub head: JournalHead,
    /// The first record whose link or numbering is wrong, with what is wrong, or `None` if all verify.
    pub first_broken: Option<(u64, String)>,
}

impl JournalVerification {
    pub fn is_intact(&self) -> bool {
        self.first_broken.is_none()
    }
}

/// Storage for the system journal. Implementations: [`MemoryJournal`] (tests) and [`FileJournal`].
pub trait Journal: Send + Sync + fmt::Debug {
    /// Appends `records` to `stream` atomically (all or none), if the stream's version is `expected`. Resolves
    /// after the records are durable.
    fn append(
        &self,
        stream: &SystemStream,
        expected: ExpectedVersion,
        records: Vec<NewRecord>,
    ) -> BoxFuture<'static, Result<Vec<JournalRecord>>>;

    /// Up to `limit` records of `stream` from version `from` (1 is the first), in order.
    fn read_stream(
        &self,
        stream: &SystemStream,
        from: u64,
        limit: usize,
    ) -> BoxFuture<'static, Result<Vec<JournalRecord>>>;

    /// The version of `stream` (0 when it has no records).
    fn stream_version(&self, stream: &SystemStream) -> u64;

    fn head(&self) -> JournalHead;

    /// Walks the whole journal, checking numbering and the hash chain.
    fn verify(&self) -> BoxFuture<'static, Result<JournalVerification>>;

    /// Why this journal cannot take appends until it is reopened, if it cannot (its writer stopped after a
    /// failed write or sync). `None` while it can. Cheap and synchronous, for readiness checks.
    fn failure(&self) -> Option<String> {
        None
    }
}

/// The bookkeeping of a journal that keeps it in memory (the memory and file journals): stream versions,
/// the chain's head, and the rule checks that turn a request into stored bytes. A journal whose state lives
/// elsewhere (`journey-postgres`) uses [`seal_records`] instead.
#[derive(Debug, Default)]
pub struct Sequencer {
    versions: HashMap<SystemStream, u64>,
    head: Option<(u64, [u8; 32], Timestamp)>,
}

impl Sequencer {
    pub fn head(&self) -> JournalHead {
        match self.head {
            Some((sequence, hash, _)) => JournalHead { sequence, hash },
            None => JournalHead {
                sequence: 0,
                hash: crate::chain::GENESIS,
            },
        }
    }

    pub fn version(&self, stream: &SystemStream) -> u64 {
        self.versions.get(stream).copied().unwrap_or(0)
    }

    /// Accounts for a record already stored (on open), checking that it continues the chain.
    pub fn replay(&mut self, record: &JournalRecord) -> std::result::Result<(), String> {
        let expected = self.head();
        if record.sequence != expected.sequence + 1 {
            return Err(format!(
                "sequence {} follows {}",
                record.sequence, expected.sequence
            ));
        }
        if record.previous_hash != expected.hash {
            return Err("its previous_hash is not the hash of the record before it".into());
        }
        let version = self.version(&record.stream);
        if record.version != version + 1 {
            return Err(format!(
                "stream {} version {} follows version {version}",
                record.stream, record.version
            ));
        }
        self.versions.insert(record.stream.clone(), record.version);
        self.head = Some((record.sequence, record.hash, record.recorded_at));
        Ok(())
    }

    /// Checks `expected`, then builds the records and their stored bytes, advancing the bookkeeping
    /// *tentatively*: the caller must call [`Sequencer::rollback`] with the returned token if storing fails.
    pub fn plan(
        &mut self,
        stream: &SystemStream,
        expected: ExpectedVersion,
        records: Vec<NewRecord>,
        now: Timestamp,
    ) -> Result<(Vec<Planned>, Rollback)> {
        if records.is_empty() {
            return Err(FieldError::new("records", "an append needs at least one record").into());
        }
        for (i, record) in records.iter().enumerate() {
            if !record.body.is_object() {
                return Err(FieldError::new(format!("records[{i}].body"), "must be a JSON object").into());
            }
        }
        let actual = self.version(stream);
        let admits = match expected {
            ExpectedVersion::Any => true,
            ExpectedVersion::NoStream => actual == 0,
            ExpectedVersion::Exact(v) => v.0 == actual,
        };
        if !admits {
            return Err(Conflict::WrongJournalVersion {
                stream: stream.to_string(),
                expected,
                actual,
            }
            .into());
        }
        let rollback = Rollback {
            stream: stream.clone(),
            version: actual,
            head: self.head,
        };
        // Recorded time never goes backwards along the journal, whatever the clock does.
        let recorded_at = match self.head {
            Some((_, _, last)) if last > now => last,
            _ => now,
        };
        let mut out = Vec::with_capacity(records.len());
        let mut version = actual;
        for record in records {
            let head = self.head();
            version += 1;
            let stored = serde_json::to_vec(&StoredRecord {
                sequence: head.sequence + 1,
                stream,
                version,
                kind: &record.kind,
                recorded_at,
                recorded_by: &record.recorded_by,
                body: &record.body,
                previous_hash: &head.hash,
            })
            .expect("a journal record serialises");
            let hash = record_hash(&stored);
            let stored_record = JournalRecord {
                sequence: head.sequence + 1,
                stream: stream.clone(),
                version,
                kind: record.kind,
                recorded_at,
                recorded_by: record.recorded_by,
                body: record.body,
                previous_hash: head.hash,
                hash,
            };
            self.head = Some((stored_record.sequence, hash, recorded_at));
            out.push((stored_record, stored));
        }
        self.versions.insert(stream.clone(), version);
        Ok((out, rollback))
    }

    pub fn rollback(&mut self, rollback: Rollback) {
        if rollback.version == 0 {
            self.versions.remove(&rollback.stream);
        } else {
            self.versions.insert(rollback.stream, rollback.version);
        }
        self.head = rollback.head;
    }
}

/// A record ready to store, with its stored bytes.
pub type Planned = (JournalRecord, Vec<u8>);

/// How to undo a [`Sequencer::plan`] whose records were not stored.
#[derive(Debug)]
pub struct Rollback {
    stream: SystemStream,
    version: u64,
    head: Option<(u64, [u8; 32], Timestamp)>,
}

/// The last record of a journal, as an implementation outside this crate reads it while it holds its append
/// lock (see [`seal_records`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JournalEnd {
    pub sequence: u64,
    pub hash: [u8; 32],
    pub recorded_at: Timestamp,
}

impl From<&JournalRecord> for JournalEnd {
    fn from(record: &JournalRecord) -> JournalEnd {
        JournalEnd {
            sequence: record.sequence,
            hash: record.hash,
            recorded_at: record.recorded_at,
        }
    }
}

/// For a [`Journal`] implemented outside this crate (`journey-postgres`): the one place where an append is
/// checked and turned into stored bytes, so every implementation numbers, stamps and chains records alike.
/// The caller holds whatever lock makes `last` and `stream_version` current until it has stored the result
/// (all records or none), and stores each record's bytes exactly as returned. `now` is the caller's clock;
/// recorded time never goes back past `last`'s.
pub fn seal_records(
    last: Option<JournalEnd>,
    stream: &SystemStream,
    stream_version: u64,
    expected: ExpectedVersion,
    records: Vec<NewRecord>,
    now: Timestamp,
) -> Result<Vec<(JournalRecord, Vec<u8>)>> {
    let mut sequencer = Sequencer {
        versions: HashMap::new(),
        head: last.map(|end| (end.sequence, end.hash, end.recorded_at)),
    };
    if stream_version > 0 {
        sequencer.versions.insert(stream.clone(), stream_version);
    }
    let (planned, _) = sequencer.plan(stream, expected, records, now)?;
    Ok(planned)
}

/// Walks stored records in journal order, checking numbering and the hash chain: what
/// [`Journal::verify`] reports, for any implementation.
pub fn verify_records<'a>(stored: impl Iterator<Item = Result<Vec<u8>>> + 'a) -> Result<JournalVerification> {
    let mut sequencer = Sequencer::default();
    let mut records = 0;
    for (i, bytes) in stored.enumerate() {
        let sequence = i as u64 + 1;
        let record = match decode_record(&bytes?, sequence) {
            Ok(record) => record,
            Err(e) => {
                return Ok(JournalVerification {
                    records,
                    head: sequencer.head(),
                    first_broken: Some((sequence, e.to_string())),
                });
            }
        };
        if let Err(detail) = sequencer.replay(&record) {
            return Ok(JournalVerification {
                records,
                head: sequencer.head(),
                first_broken: Some((sequence, detail)),
            });
        }
        records += 1;
    }
    Ok(JournalVerification {
        records,
        head: sequencer.head(),
        first_broken: None,
    })
}

#[cfg(test)]
mod tests;
