//! Per-record proofs in the c2sp.org/tlog-proof@v1 text format: the proof that one record of a child's
//! export is in the log, against a witnessed checkpoint, checkable offline.
//!
//! ```text
//! c2sp.org/tlog-proof@v1
//! extra <base64 of the 64-byte entry: stream_hash ‖ log_hash>
//! index <leaf index = position − 1>
//! <inclusion proof, one base64 hash a line, the leaf's sibling first>
//!
//! <the checkpoint note, verbatim, with the log's signature and the witnesses' cosignatures>
//! ```
//!
//! The `extra` line is not authenticated: a verifier recomputes the entry from the record's bytes and the
//! chain (ADR 3) and checks its leaf hash, never trusting the one carried. The proof holds hashes only, so
//! it reveals nothing of other children.

use std::fmt;

use crate::checkpoint::SignedCheckpoint;
use crate::error::{Error, Result};
use crate::hash::{Hash, LeafEntry};
use crate::policy::{Policy, VerifiedCheckpoint, verify_checkpoint_with_policy};
use crate::wire::{b64_decode, b64_encode, parse_decimal, parse_hash};

/// The first line of a proof.
pub const HEADER: &str = "c2sp.org/tlog-proof@v1";

/// The most hashes an inclusion proof in a tree of at most 2^64 − 1 leaves has.
pub const MAX_PATH: usize = 64;

/// One record's proof of inclusion in a signed, cosigned checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordProof {
    /// Unauthenticated data to rebuild the leaf: for Journey, the 64-byte entry.
    pub extra: Option<Vec<u8>>,
    /// The leaf index (the record's position − 1).
    pub index: u64,
    /// The inclusion proof, the leaf's sibling first.
    pub path: Vec<Hash>,
    pub checkpoint: SignedCheckpoint,
}

impl RecordProof {
    /// The proof of a Journey record: its entry as `extra`.
    pub fn for_entry(
        entry: &LeafEntry,
        index: u64,
        path: Vec<Hash>,
        checkpoint: SignedCheckpoint,
    ) -> RecordProof {
        RecordProof {
            extra: Some(entry.to_bytes().to_vec()),
            index,
            path,
            checkpoint,
        }
    }

    /// The entry the `extra` line carries (unauthenticated until [`RecordProof::verify`] succeeds for its
    /// leaf hash).
    pub fn entry(&self) -> Result<LeafEntry> {
        let extra = self
            .extra
            .as_deref()
            .ok_or_else(|| Error::malformed("tlog_proof.extra", "Journey's proofs carry the entry"))?;
        LeafEntry::from_bytes(extra)
    }

    /// Reads a proof strictly; nothing is verified here.
    pub fn parse(bytes: &[u8]) -> Result<RecordProof> {
        let mut rest = bytes;
        let mut next_line = |field: &str| -> Result<&str> {
            let end = rest
                .iter()
                .position(|&b| b == b'\n')
                .ok_or_else(|| Error::malformed(field, "missing, or not ended by a newline"))?;
            let line = std::str::from_utf8(&rest[..end]).map_err(|_| Error::malformed(field, "not UTF-8"))?;
            rest = &rest[end + 1..];
            Ok(line)
        };
        if next_line("tlog_proof.header")? != HEADER {
            return Err(Error::malformed(
                "tlog_proof.header",
                format!("the first line must be {HEADER}"),
            ));
        }
        let mut line = next_line("tlog_proof.index")?;
        let mut extra = None;
        if let Some(encoded) = line.strip_prefix("extra ") {
            extra = Some(b64_decode("tlog_proof.extra", encoded)?);
            line = next_line("tlog_proof.index")?;
        }
        let index = line
            .strip_prefix("index ")
            .ok_or_else(|| Error::malformed("tlog_proof.index", "expected `index <decimal>`"))
            .and_then(|n| parse_decimal("tlog_proof.index", n))?;
        let mut path = Vec::new();
        loop {
            let line = next_line("tlog_proof.path")?;
            if line.is_empty() {
                break;
            }
            if path.len() == MAX_PATH {
                return Err(Error::malformed(
                    "tlog_proof.path",
                    format!("more than {MAX_PATH} hashes"),
                ));
            }
            path.push(parse_hash("tlog_proof.path", line)?);
        }
        Ok(RecordProof {
            extra,
            index,
            path,
            checkpoint: SignedCheckpoint::parse(rest)?,
        })
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        self.to_string().into_bytes()
    }

    /// Verifies the proof for a leaf hash the verifier computed itself: the checkpoint under the policy
    /// (log signature, cosignatures, quorum), then the inclusion of the leaf at the index.
    pub fn verify(&self, leaf_hash: &Hash, policy: &Policy) -> Result<VerifiedCheckpoint> {
        let verified = verify_checkpoint_with_policy(&self.checkpoint, policy)?;
        crate::verify::verify_inclusion(
            self.index,
            verified.checkpoint.size,
            leaf_hash,
            &self.path,
            &verified.checkpoint.root,
        )?;
        Ok(verified)
    }
}

impl fmt::Display for RecordProof {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{HEADER}")?;
        if let Some(extra) = &self.extra {
            writeln!(f, "extra {}", b64_encode(extra))?;
        }
        writeln!(f, "index {}", self.index)?;
        for hash in &self.path {
            writeln!(f, "{}", b64_encode(hash))?;
        }
        writeln!(f)?;
        self.checkpoint.fmt(f)
    }
}
