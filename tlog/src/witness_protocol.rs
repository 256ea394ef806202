//! The witness protocol's `add-checkpoint` (c2sp.org/tlog-witness@v1.0.0): the request body, the
//! responses, and the checks a witness makes, in the order the specification gives them.
//!
//! ```text
//! POST <submission prefix>/add-checkpoint
//!
//! old 700
//! rb/HkE2ei46xHEZKoBG6slq0CzhjwDWXrUbdxwxjQUA=
//! …at most 63 consistency proof hashes…
//!
//! journey.example/toy-log
//! 1000
//! /OM0wh4QVBZH2yGIJAxlVIH0IqehjKLfQ+JUXW3B0iM=
//!
//! — journey.example/toy-log 7BAnQsaOESh1…
//! ```
//!
//! A witness must check `old` against its latest cosigned checkpoint and store the new one atomically (one
//! lock per origin around [`check_add_checkpoint`] and the store), or a stale request could roll it back.
//! The same body format carries a later checkpoint with its consistency proof to `journey verify-export`.

use std::fmt;

use crate::checkpoint::{Checkpoint, SignedCheckpoint};
use crate::error::{Error, Result};
use crate::hash::{EMPTY_ROOT, Hash};
use crate::note::{NoteSignature, VerifierKey};
use crate::wire::{b64_encode, parse_decimal, parse_hash};

/// The most consistency proof lines a request may carry.
pub const MAX_PROOF_LINES: usize = 63;

/// The `Content-Type` of a 409 response's body.
pub const CONFLICT_CONTENT_TYPE: &str = "text/x.tlog.size";

/// An `add-checkpoint` request: the size of the checkpoint the submitter believes the witness last cosigned,
/// a consistency proof from it, and the new signed checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddCheckpointRequest {
    pub old_size: u64,
    pub proof: Vec<Hash>,
    pub checkpoint: SignedCheckpoint,
}

impl AddCheckpointRequest {
    /// The request body: `old <size>`, the proof hashes one per line, a blank line, the signed checkpoint.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut body = format!("old {}\n", self.old_size);
        for hash in &self.proof {
            body.push_str(&b64_encode(hash));
            body.push('\n');
        }
        body.push('\n');
        let mut bytes = body.into_bytes();
        bytes.extend_from_slice(&self.checkpoint.to_bytes());
        bytes
    }

    /// Reads a request body strictly; the checkpoint's signatures are not verified here.
    pub fn parse(body: &[u8]) -> Result<AddCheckpointRequest> {
        let Some(first_end) = body.iter().position(|&b| b == b'\n') else {
            return Err(Error::malformed("add_checkpoint", "no old size line"));
        };
        let first = std::str::from_utf8(&body[..first_end])
            .map_err(|_| Error::malformed("add_checkpoint.old", "not UTF-8"))?;
        let old_size = first
            .strip_prefix("old ")
            .ok_or_else(|| Error::malformed("add_checkpoint.old", "the first line is `old <size>`"))
            .and_then(|size| parse_decimal("add_checkpoint.old", size))?;
        let mut proof = Vec::new();
        let mut rest = &body[first_end + 1..];
        loop {
            let Some(end) = rest.iter().position(|&b| b == b'\n') else {
                return Err(Error::malformed(
                    "add_checkpoint",
                    "no blank line before the checkpoint",
                ));
            };
            let line = &rest[..end];
            rest = &rest[end + 1..];
            if line.is_empty() {
                break;
            }
            if proof.len() == MAX_PROOF_LINES {
                return Err(Error::malformed(
                    "add_checkpoint.proof",
                    format!("more than {MAX_PROOF_LINES} proof lines"),
                ));
            }
            let line = std::str::from_utf8(line)
                .map_err(|_| Error::malformed("add_checkpoint.proof", "not UTF-8"))?;
            proof.push(parse_hash("add_checkpoint.proof", line)?);
        }
        Ok(AddCheckpointRequest {
            old_size,
            proof,
            checkpoint: SignedCheckpoint::parse(rest)?,
        })
    }
}

/// An `add-checkpoint` response, as the witness sends it and as a submitter reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WitnessResponse {
    /// 200: the witness's cosignature lines.
    Cosigned(Vec<NoteSignature>),
    /// 400: the old size is larger than the checkpoint's, or the body is malformed.
    BadRequest,
    /// 403: no valid signature of a key the witness trusts for the origin, or a failing one.
    Forbidden,
    /// 404: the witness does not know the origin.
    UnknownOrigin,
    /// 409: the old size is not that of the witness's latest cosigned checkpoint, which is given.
    Conflict { latest_size: u64 },
    /// 422: the proof does not verify (or is not empty from 0), an empty tree with another root, or the
    /// same size with another root.
    Unprocessable,
    /// 429: the witness is rate-limiting this log (not in the specification; public witnesses send it).
    TooManyRequests,
}

impl WitnessResponse {
    /// The HTTP status code.
    pub fn status(&self) -> u16 {
        match self {
            WitnessResponse::Cosigned(_) => 200,
            WitnessResponse::BadRequest => 400,
            WitnessResponse::Forbidden => 403,
            WitnessResponse::UnknownOrigin => 404,
            WitnessResponse::Conflict { .. } => 409,
            WitnessResponse::Unprocessable => 422,
            WitnessResponse::TooManyRequests => 429,
        }
    }

    /// The body: the cosignature lines for 200, `<latest size>\n` for 409 (content type
    /// [`CONFLICT_CONTENT_TYPE`]), nothing otherwise.
    pub fn body(&self) -> Vec<u8> {
        match self {
            WitnessResponse::Cosigned(lines) => lines
                .iter()
                .map(NoteSignature::to_line)
                .collect::<String>()
                .into_bytes(),
            WitnessResponse::Conflict { latest_size } => format!("{latest_size}\n").into_bytes(),
            _ => Vec::new(),
        }
    }

    /// Reads a witness's response from its status code and body.
    pub fn parse(status: u16, body: &[u8]) -> Result<WitnessResponse> {
        Ok(match status {
            200 => {
                let text = std::str::from_utf8(body)
                    .map_err(|_| Error::malformed("witness_response", "not UTF-8"))?;
                let lines = crate::wire::lines("witness_response", text)?
                    .into_iter()
                    .map(NoteSignature::parse_line)
                    .collect::<Result<Vec<_>>>()?;
                WitnessResponse::Cosigned(lines)
            }
            400 => WitnessResponse::BadRequest,
            403 => WitnessResponse::Forbidden,
            404 => WitnessResponse::UnknownOrigin,
            409 => {
                let text = std::str::from_utf8(body)
                    .ok()
                    .and_then(|t| t.strip_suffix('\n'))
                    .ok_or_else(|| Error::malformed("witness_response", "a 409 body is `<size>\\n`"))?;
                WitnessResponse::Conflict {
                    latest_size: parse_decimal("witness_response.size", text)?,
                }
            }
            422 => WitnessResponse::Unprocessable,
            429 => WitnessResponse::TooManyRequests,
            other => {
                return Err(Error::malformed(
                    "witness_response",
                    format!("status {other} is not one add-checkpoint answers with"),
                ));
            }
        })
    }
}

/// Why a witness refuses to cosign, each mapping to its response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// No trusted key is named after the checkpoint's origin (404).
    UnknownOrigin,
    /// The log's signature is missing or fails (403).
    NotSignedByLog,
    /// The old size is larger than the checkpoint's size (400).
    OldSizeAboveCheckpoint { old_size: u64, size: u64 },
    /// The old size is not that of the witness's latest cosigned checkpoint (409).
    OldSizeNotLatest { latest_size: u64 },
    /// A size-0 checkpoint with another root than the empty tree's (422).
    EmptyTreeRoot,
    /// A non-empty proof from size 0 (422).
    ProofFromEmptyTree,
    /// The same size as the latest cosigned checkpoint, another root: a split view (422).
    SplitView,
    /// The consistency proof does not verify (422).
    Inconsistent,
}

impl Refusal {
    pub fn response(&self) -> WitnessResponse {
        match self {
            Refusal::UnknownOrigin => WitnessResponse::UnknownOrigin,
            Refusal::NotSignedByLog => WitnessResponse::Forbidden,
            Refusal::OldSizeAboveCheckpoint { .. } => WitnessResponse::BadRequest,
            Refusal::OldSizeNotLatest { latest_size } => WitnessResponse::Conflict {
                latest_size: *latest_size,
            },
            Refusal::EmptyTreeRoot
            | Refusal::ProofFromEmptyTree
            | Refusal::SplitView
            | Refusal::Inconsistent => WitnessResponse::Unprocessable,
        }
    }

    /// Whether the refused checkpoint is validly signed by the log, hence worth keeping as evidence of
    /// misbehaviour (the specification allows a witness to log it).
    pub fn is_evidence(&self) -> bool {
        !matches!(self, Refusal::UnknownOrigin | Refusal::NotSignedByLog)
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::UnknownOrigin => f.write_str("the origin is not a log this witness knows"),
            Refusal::NotSignedByLog => f.write_str("the checkpoint has no valid signature of the log's key"),
            Refusal::OldSizeAboveCheckpoint { old_size, size } => {
                write!(
                    f,
                    "old size {old_size} is larger than the checkpoint's size {size}"
                )
            }
            Refusal::OldSizeNotLatest { latest_size } => {
                write!(f, "the latest checkpoint cosigned has size {latest_size}")
            }
            Refusal::EmptyTreeRoot => f.write_str("a tree of size 0 must have the empty tree's root"),
            Refusal::ProofFromEmptyTree => f.write_str("a proof from size 0 must be empty"),
            Refusal::SplitView => f.write_str("same size as the latest cosigned checkpoint, another root"),
            Refusal::Inconsistent => f.write_str("the consistency proof does not verify"),
        }
    }
}

/// The witness's checks of an `add-checkpoint` request, in the specification's order, against the log keys
/// it trusts (those named after the origin are used) and its latest cosigned checkpoint of that origin
/// (`None` if it never cosigned one). `Ok` means cosign, then store the checkpoint as the latest.
pub fn check_add_checkpoint(
    request: &AddCheckpointRequest,
    log_keys: &[VerifierKey],
    latest: Option<&Checkpoint>,
) -> Result<(), Refusal> {
    let checkpoint = request.checkpoint.checkpoint();
    if !log_keys
        .iter()
        .any(|k| k.name().as_str() == checkpoint.origin.as_str())
    {
        return Err(Refusal::UnknownOrigin);
    }
    if request.checkpoint.verify_any(log_keys).is_err() {
        return Err(Refusal::NotSignedByLog);
    }
    if request.old_size > checkpoint.size {
        return Err(Refusal::OldSizeAboveCheckpoint {
            old_size: request.old_size,
            size: checkpoint.size,
        });
    }
    let latest_size = latest.map_or(0, |l| l.size);
    if request.old_size != latest_size {
        return Err(Refusal::OldSizeNotLatest { latest_size });
    }
    if checkpoint.size == 0 && checkpoint.root != EMPTY_ROOT {
        return Err(Refusal::EmptyTreeRoot);
    }
    let Some(latest) = latest else {
        if !request.proof.is_empty() {
            return Err(Refusal::ProofFromEmptyTree);
        }
        return Ok(());
    };
    if request.old_size == 0 {
        if !request.proof.is_empty() {
            return Err(Refusal::ProofFromEmptyTree);
        }
        return Ok(());
    }
    if latest.size == checkpoint.size {
        if latest.root != checkpoint.root {
            return Err(Refusal::SplitView);
        }
        if !request.proof.is_empty() {
            return Err(Refusal::Inconsistent);
        }
        return Ok(());
    }
    crate::verify::verify_consistency(
        latest.size,
        checkpoint.size,
        &latest.root,
        &checkpoint.root,
        &request.proof,
    )
    .map_err(|_| Refusal::Inconsistent)
}
