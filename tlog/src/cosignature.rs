//! Witness cosignatures, cosignature/v1 (c2sp.org/tlog-cosignature, Ed25519, signature type `0x04`).
//!
//! A cosignature line is a note signature line on the checkpoint whose bytes after the key ID are an
//! 8-byte big-endian timestamp (POSIX seconds, at most 2^63 − 1) and a 64-byte Ed25519 signature of
//!
//! ```text
//! cosignature/v1
//! time <timestamp>
//! <the checkpoint's whole note text, ending in a newline>
//! ```
//!
//! It states: as of that time, this is the largest tree consistent with everything the witness has seen of
//! this origin. The signed message does not name the witness, so each witness needs its own key.

use zeroize::Zeroizing;

use crate::checkpoint::Checkpoint;
use crate::error::{Error, Result};
use crate::note::{KeyId, KeyName, KeyPair, KeyType, NoteSignature, VerifierKey};

/// The largest timestamp a cosignature may carry.
pub const MAX_TIMESTAMP: u64 = i64::MAX as u64;

/// The message a cosignature/v1 signs for a checkpoint note text.
pub fn signed_message(checkpoint_text: &str, timestamp: u64) -> Vec<u8> {
    format!("cosignature/v1\ntime {timestamp}\n{checkpoint_text}").into_bytes()
}

/// Splits the bytes of a cosignature after its key ID into the timestamp and the signature: exactly
/// 8 + 64 bytes, and a timestamp within range.
pub(crate) fn split(bytes: &[u8]) -> Option<(u64, [u8; 64])> {
    if bytes.len() != 8 + 64 {
        return None;
    }
    let timestamp = u64::from_be_bytes(bytes[..8].try_into().unwrap());
    if timestamp > MAX_TIMESTAMP {
        return None;
    }
    Some((timestamp, bytes[8..].try_into().unwrap()))
}

/// The timestamp a cosignature line claims, unverified (for display and ordering; verify with
/// [`verify`] or [`crate::checkpoint::SignedCheckpoint::verify_cosignatures`]).
pub fn timestamp(signature: &NoteSignature) -> Result<u64> {
    split(signature.signature()).map(|(t, _)| t).ok_or_else(|| {
        Error::malformed(
            "cosignature",
            "a cosignature/v1 is an 8-byte timestamp at most 2^63-1 and a 64-byte Ed25519 signature",
        )
    })
}

/// A witness's signing key (type `0x04`).
#[derive(Debug)]
pub struct Cosigner(KeyPair);

impl Cosigner {
    /// The key of a 32-byte Ed25519 seed, which the caller draws from the operating system's random source.
    pub fn from_seed(name: KeyName, seed: &[u8; 32]) -> Cosigner {
        Cosigner(KeyPair::from_seed(name, KeyType::CosignatureV1, seed))
    }

    /// Reads the private key text `PRIVATE+KEY+<name>+<key ID>+<base64(0x04 ‖ seed)>` (Go's layout with
    /// the cosignature type byte; Go's own note package reads only `0x01` keys).
    pub fn from_private_text(text: &str) -> Result<Cosigner> {
        KeyPair::from_private_text(text, KeyType::CosignatureV1).map(Cosigner)
    }

    pub fn private_text(&self) -> Zeroizing<String> {
        self.0.private_text()
    }

    pub fn verifier_key(&self) -> VerifierKey {
        self.0.verifier_key()
    }

    pub fn name(&self) -> &KeyName {
        self.0.name()
    }

    pub fn key_id(&self) -> KeyId {
        self.0.key_id()
    }

    /// Cosigns a checkpoint as of `timestamp` (POSIX seconds, which the caller reads from its clock).
    pub fn cosign(&self, checkpoint: &Checkpoint, timestamp: u64) -> Result<NoteSignature> {
        if timestamp > MAX_TIMESTAMP {
            return Err(Error::OutOfRange {
                field: "timestamp",
                rule: format!("a cosignature's timestamp is at most 2^63-1, not {timestamp}"),
            });
        }
        let message = signed_message(&checkpoint.to_text(), timestamp);
        Ok(self.0.sign_line(&timestamp.to_be_bytes(), &message))
    }
}

/// Verifies one cosignature line of a witness key on a checkpoint; gives its timestamp.
pub fn verify(key: &VerifierKey, checkpoint: &Checkpoint, signature: &NoteSignature) -> Result<u64> {
    if key.key_type() != KeyType::CosignatureV1 {
        return Err(Error::malformed(
            "witness_key",
            format!("{} is not a cosignature/v1 (0x04) key", key.name()),
        ));
    }
    if !key.matches_line(signature) {
        return Err(Error::NotSigned {
            what: format!(
                "a cosignature line of {}+{}",
                signature.name(),
                signature.key_id()
            ),
        });
    }
    let mut note = crate::note::Note::new(checkpoint.to_text())?;
    note.add_signature(signature.clone())?;
    let verified = note.verify(std::slice::from_ref(key))?;
    Ok(verified[0]
        .timestamp
        .expect("a cosignature key gives a timestamp"))
}
