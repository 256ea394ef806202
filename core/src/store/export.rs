//! Exporting one child's record so that anyone can verify it without the rest of the log.

use serde::{Deserialize, Serialize};

use crate::chain;
use crate::encoding;
use crate::envelope::{ChainLink, RecordedEvent};
use crate::error::{Error, Result};
use crate::ids::{ChildId, Position, Version};
use crate::store::LogHead;

/// The format of exports: v1 plus, when the server keeps a tree, proof an outsider can check (`tlog`, and
/// each record's `tlog_proof`). Exports of format v1 still verify.
pub const EXPORT_FORMAT: &str = "journey-stream-export/v2";
/// The format before the Merkle tree: the chains only.
pub const EXPORT_FORMAT_V1: &str = "journey-stream-export/v1";

/// One child's records: the exact stored bytes of each, its hash links, and the decoded event for reading.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StreamExport {
    pub format: String,
    pub child_id: ChildId,
    pub records: Vec<ExportedRecord>,
    /// The whole log's head when the export was taken: anchor it externally to prove later that nothing
    /// before it changed.
    pub log_head: LogHead,
    /// The checkpoints the records are proven in (`crate::proof::bundle`); absent when the server keeps no
    /// tree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tlog: Option<ExportProofs>,
    /// The child's content key (hex), when the records are sealed (schema version 2): with it anyone can
    /// check that each readable copy is what the hashed, stored bytes say. It opens only this child's
    /// records, whose content the export already holds in the clear.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "content_key_hex")]
    pub content_key: Option<crate::content_keys::ContentKey>,
}

mod content_key_hex {
    use crate::content_keys::{ContentKey, KEY_BYTES};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(key: &Option<ContentKey>, s: S) -> Result<S::Ok, S::Error> {
        match key {
            Some(key) => s.serialize_str(&hex::encode(key.expose())),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<ContentKey>, D::Error> {
        let Some(text) = Option::<String>::deserialize(d)? else {
            return Ok(None);
        };
        let bytes = hex::decode(&text).map_err(serde::de::Error::custom)?;
        let bytes: [u8; KEY_BYTES] = bytes
            .try_into()
            .map_err(|_| serde::de::Error::custom("content_key must be 32 bytes of hex"))?;
        Ok(Some(ContentKey::from_bytes(bytes)))
    }
}

/// The checkpoints a child's records are proven in: hashes and signed notes only, nothing of other
/// children.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportProofs {
    /// The log's origin (its checkpoints' first line).
    pub origin: String,
    /// The checkpoints the records' proofs are against, smallest first, each as served with its
    /// cosignatures (c2sp.org/tlog-checkpoint): the latest one witnesses cosigned, and the latest signed
    /// when records are newer than that.
    pub checkpoints: Vec<String>,
    /// When there are two checkpoints: the consistency proof from the first to the second (base64 hashes,
    /// RFC 9162 §2.1.4).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub consistency: Vec<String>,
    /// In words: which checkpoints, whether witnessed, and which records have no proof yet.
    pub summary: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExportedRecord {
    pub position: Position,
    pub version: Version,
    /// The record exactly as stored (hex): what the hashes cover.
    #[serde(with = "hex_bytes")]
    pub body: Vec<u8>,
    /// The log hash of the record before this one in the whole log (another child's, usually): enough to
    /// recompute this record's log hash without seeing that record.
    #[serde(with = "crate::envelope::hex_32")]
    pub previous_log_hash: [u8; 32],
    pub chain: ChainLink,
    /// The decoded record, for people. Verification checks that it says what `body` says.
    pub event: RecordedEvent,
    /// The record's inclusion proof (c2sp.org/tlog-proof@v1: its 64-byte entry, leaf index position − 1,
    /// the proof's hashes and the checkpoint with its cosignatures), when a checkpoint covers it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tlog_proof: Option<String>,
}

/// What a successful verification establishes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportVerification {
    pub child_id: ChildId,
    pub records: usize,
    /// The child's last stream hash: equal to the live log's for this child if nothing has been altered.
    #[serde(with = "crate::envelope::hex_32")]
    pub stream_head: [u8; 32],
}

/// Verifies an export on its own: the child's chain from genesis, each record's link into the global chain,
/// that every record belongs to this child with versions 1, 2, 3... and that the readable copy matches the bytes.
pub fn verify_export(export: &StreamExport) -> Result<ExportVerification> {
    let fail = |position: Position, reason: String| {
        Err(Error::Invalid(
            crate::error::FieldError::new(format!("records[position={position}]"), reason).into(),
        ))
    };
    if export.format != EXPORT_FORMAT && export.format != EXPORT_FORMAT_V1 {
        return Err(crate::error::FieldError::new(
            "format",
            format!("must be {EXPORT_FORMAT:?} or {EXPORT_FORMAT_V1:?}"),
        )
        .into());
    }
    let mut previous_stream_hash = chain::GENESIS;
    let mut previous_position = Position(0);
    for (i, record) in export.records.iter().enumerate() {
        let keys: &dyn encoding::KeySource = match &export.content_key {
            Some(key) => key,
            None => &encoding::NoKeys,
        };
        let (envelope, payload) = match encoding::decode_body(&record.body, keys) {
            Ok(decoded) => decoded,
            Err(e) => return fail(record.position, format!("body does not decode: {e}")),
        };
        let expected_version = Version(i as u64 + 1);
        if envelope.child_id != export.child_id {
            return fail(
                record.position,
                format!("record belongs to child {}", envelope.child_id),
            );
        }
        if envelope.version != expected_version || record.version != expected_version {
            return fail(
                record.position,
                format!("expected version {expected_version}: a record is missing"),
            );
        }
        if envelope.position != record.position || record.position <= previous_position {
            return fail(
                record.position,
                "positions must match the body and increase".into(),
            );
        }
        let stream_hash = chain::stream_hash(&previous_stream_hash, &record.body);
        if stream_hash != record.chain.stream_hash {
            return fail(
                record.position,
                "stream hash does not match the bytes and the previous record".into(),
            );
        }
        if chain::log_hash(&record.previous_log_hash, &stream_hash) != record.chain.log_hash {
            return fail(record.position, "log hash does not match its predecessor".into());
        }
        if record.event.envelope != envelope
            || record.event.payload != payload
            || record.event.chain != record.chain
        {
            return fail(
                record.position,
                "the readable copy differs from the stored bytes".into(),
            );
        }
        previous_stream_hash = stream_hash;
        previous_position = record.position;
    }
    Ok(ExportVerification {
        child_id: export.child_id.clone(),
        records: export.records.len(),
        stream_head: previous_stream_hash,
    })
}

mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        hex::decode(s.as_bytes()).map_err(serde::de::Error::custom)
    }
}
