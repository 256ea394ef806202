//! Walking the log's hash chains. Shared by every store: each feeds its records, in position order, to a
//! [`Verifier`].

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::chain;
use crate::encoding;
use crate::envelope::ChainLink;
use crate::ids::{ChildId, Position, Version};
use crate::store::LogHead;
use crate::time::Timestamp;

/// The first place where the log stops being what its hashes say it is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokenLink {
    pub position: Position,
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyReport {
    /// Records checked (up to the first broken link).
    pub records: u64,
    pub streams: u64,
    /// The head as recomputed from the records checked.
    pub head: LogHead,
    pub first_broken: Option<BrokenLink>,
    /// What the walk covered: `log` (every record's hashes, position, version, time and body), and `index`
    /// when the store also checked its index against every record (the embedded store's in-memory index,
    /// PostgreSQL's indexed columns).
    #[serde(default)]
    pub walked: Vec<String>,
}

impl VerifyReport {
    pub fn is_intact(&self) -> bool {
        self.first_broken.is_none()
    }
}

/// Checks records one by one: positions gap-free from 1, each child's versions gap-free from 1, recorded time
/// non-decreasing, both hashes recomputed from the exact stored bytes, and every body decodable.
#[derive(Debug)]
pub struct Verifier {
    next_position: Position,
    previous_log_hash: [u8; 32],
    last_recorded_at: Timestamp,
    streams: HashMap<ChildId, (Version, [u8; 32])>,
    records: u64,
    broken: Option<BrokenLink>,
    walked: Vec<String>,
}

impl Default for Verifier {
    fn default() -> Verifier {
        Verifier::new()
    }
}

impl Verifier {
    pub fn new() -> Verifier {
        Verifier {
            next_position: Position::FIRST,
            previous_log_hash: chain::GENESIS,
            last_recorded_at: Timestamp::UNIX_EPOCH,
            streams: HashMap::new(),
            records: 0,
            broken: None,
            walked: vec!["log".to_owned()],
        }
    }

    /// Notes that the walk also covered `part` (say, the store's index), for the report.
    pub fn walked_too(&mut self, part: &str) {
        if !self.walked.iter().any(|p| p == part) {
            self.walked.push(part.to_owned());
        }
    }

    /// The position the next record must have.
    pub fn next_position(&self) -> Position {
        self.next_position
    }

    /// Checks the next record. Returns false once a link is broken (and remembers the first).
    pub fn push(&mut self, body: &[u8], stored: &ChainLink) -> bool {
        if self.broken.is_some() {
            return false;
        }
        match self.check(body, stored) {
            Ok(()) => {
                self.records += 1;
                true
            }
            Err(reason) => {
                self.broken = Some(BrokenLink {
                    position: self.next_position,
                    reason,
                });
                false
            }
        }
    }

    /// The first broken link found so far.
    pub fn first_broken(&self) -> Option<&BrokenLink> {
        self.broken.as_ref()
    }

    /// Records that the log could not be read at the next position (an unreadable frame).
    pub fn fail(&mut self, reason: String) {
        if self.broken.is_none() {
            self.broken = Some(BrokenLink {
                position: self.next_position,
                reason,
            });
        }
    }

    fn check(&mut self, body: &[u8], stored: &ChainLink) -> Result<(), String> {
        // Only the store's fields are needed, and they are never sealed, so a log whose children's content
        // is sealed (or erased: its keys destroyed) verifies without any key. A record in the clear is
        // decoded whole as well, as it always was.
        let envelope = encoding::decode_store_fields(body).map_err(|e| e.to_string())?;
        if body.starts_with(&crate::envelope::SCHEMA_VERSION.to_le_bytes()) {
            encoding::decode_body(body, &encoding::NoKeys).map_err(|e| e.to_string())?;
        }
        if envelope.position != self.next_position {
            return Err(format!(
                "record claims position {}, expected {}",
                envelope.position, self.next_position
            ));
        }
        if envelope.recorded_at < self.last_recorded_at {
            return Err(format!(
                "recorded_at {} is earlier than the previous record's {}",
                envelope.recorded_at, self.last_recorded_at
            ));
        }
        let (previous_version, previous_stream_hash) = self
            .streams
            .get(&envelope.child_id)
            .copied()
            .unwrap_or((Version(0), chain::GENESIS));
        if envelope.version != previous_version.next() {
            return Err(format!(
                "child {} record claims version {}, expected {}",
                envelope.child_id,
                envelope.version,
                previous_version.next()
            ));
        }
        let stream_hash = chain::stream_hash(&previous_stream_hash, body);
        if stream_hash != stored.stream_hash {
            return Err(
                "stream hash does not match the record's bytes and its child's previous record".into(),
            );
        }
        let log_hash = chain::log_hash(&self.previous_log_hash, &stream_hash);
        if log_hash != stored.log_hash {
            return Err("log hash does not match the previous record's log hash".into());
        }
        self.streams
            .insert(envelope.child_id, (envelope.version, stream_hash));
        self.previous_log_hash = log_hash;
        self.last_recorded_at = envelope.recorded_at;
        self.next_position = self.next_position.next();
        Ok(())
    }

    pub fn finish(self) -> VerifyReport {
        let head = if self.records == 0 {
            LogHead::EMPTY
        } else {
            LogHead {
                position: Some(Position(self.records)),
                log_hash: self.previous_log_hash,
            }
        };
        VerifyReport {
            records: self.records,
            streams: self.streams.len() as u64,
            head,
            first_broken: self.broken,
            walked: self.walked,
        }
    }
}
