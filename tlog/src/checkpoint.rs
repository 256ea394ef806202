//! Checkpoints (c2sp.org/tlog-checkpoint@v1.0.0): a signed note whose text is the log's origin, the tree
//! size and the root hash, one per line.
//!
//! ```text
//! journey.example/toy-log
//! 1000
//! /OM0wh4QVBZH2yGIJAxlVIH0IqehjKLfQ+JUXW3B0iM=
//!
//! — journey.example/toy-log 7BAnQsaOESh1LZ1yCi4q40Oj0drvDLv0VXvDn8r3aqOoDoTr0OCj16aLWEapMtzmbPpZRUQAcJGPAExgBZ1D26muwg0=
//! — witness.example/w1 3xwKNQAAAABpUkfAB5uIK8r13HSNjqvi2JeK7i6sSbIEY4fD/fEEV7TK783q4PSEh8Ui7zEQWhUimo/1PD4alw549y5wuksuTa2mAQ==
//! ```
//!
//! Journey's checkpoints carry no extension lines (the specification does not recommend them: monitors
//! cannot audit them, ML-DSA cosignatures do not sign them), and this parser refuses them. The log's key
//! name is its origin, which the specification recommends and Journey requires, so the origin a verifier
//! pins is the name its trusted key carries.

use std::fmt;

use crate::error::{Error, Result};
#[cfg(doc)]
use crate::hash::EMPTY_ROOT;
use crate::hash::Hash;
use crate::note::{KeyName, KeyType, Note, NoteSignature, NoteSigner, VerifiedSignature, VerifierKey};
use crate::wire::{b64_encode, parse_decimal, parse_hash};

/// A log's identity: the first line of its checkpoints and its key's name. Non-empty, at most 255 bytes,
/// without Unicode spaces, `+` or control characters, e.g. `journey.council.example/log/01J9ZK3M7Q4F`.
/// It never changes for a log, and a log rebuilt from an export gets a new one.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Origin(String);

impl Origin {
    pub fn parse(origin: impl Into<String>) -> Result<Origin> {
        let origin = origin.into();
        crate::note::check_name("origin", &origin)?;
        Ok(Origin(origin))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key name a log signs its checkpoints under: the origin itself.
    pub fn key_name(&self) -> KeyName {
        KeyName::parse(self.0.clone()).expect("an origin is a valid key name")
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A checkpoint's body: which log, how many leaves, which root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: Origin,
    pub size: u64,
    pub root: Hash,
}

impl Checkpoint {
    /// The note text: `<origin>\n<size>\n<base64 root>\n`.
    pub fn to_text(&self) -> String {
        format!("{}\n{}\n{}\n", self.origin, self.size, b64_encode(&self.root))
    }

    /// Reads a note text of exactly three lines: origin, size (decimal, no leading zeros), root (base64 of
    /// 32 bytes). Whether the root is right for the size is a question of verification, not of syntax: a
    /// witness answers a size-0 checkpoint with another root than [`EMPTY_ROOT`] with 422, not 400, and
    /// [`crate::verify::verify_consistency`] from size 0 refuses it.
    pub fn parse_text(text: &str) -> Result<Checkpoint> {
        let lines = crate::wire::lines("checkpoint", text)?;
        let [origin, size, root] = lines[..] else {
            let rule = if lines.len() < 3 {
                format!("has {} lines; origin, size and root hash are needed", lines.len())
            } else {
                format!(
                    "has {} lines; Journey's checkpoints carry no extension lines after origin, size and root",
                    lines.len()
                )
            };
            return Err(Error::malformed("checkpoint", rule));
        };
        Ok(Checkpoint {
            origin: Origin::parse(origin)?,
            size: parse_decimal("checkpoint.size", size)?,
            root: parse_hash("checkpoint.root", root)?,
        })
    }
}

/// A checkpoint and the note that carries it: the log's signature and any cosignatures, exactly as read or
/// made (so it can be stored and served byte for byte).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedCheckpoint {
    checkpoint: Checkpoint,
    note: Note,
}

impl SignedCheckpoint {
    /// Signs a checkpoint with the log's key, whose name must be the checkpoint's origin.
    pub fn sign(checkpoint: Checkpoint, signer: &NoteSigner) -> Result<SignedCheckpoint> {
        if signer.name().as_str() != checkpoint.origin.as_str() {
            return Err(Error::OriginMismatch {
                expected: checkpoint.origin.to_string(),
                found: signer.name().to_string(),
            });
        }
        let mut note = Note::new(checkpoint.to_text())?;
        note.add_signature(signer.sign(&note))?;
        Ok(SignedCheckpoint { checkpoint, note })
    }

    /// Reads a signed checkpoint without verifying any signature: strict note, strict body.
    pub fn parse(bytes: &[u8]) -> Result<SignedCheckpoint> {
        SignedCheckpoint::from_note(Note::parse(bytes)?)
    }

    /// The checkpoint a signed note carries.
    pub fn from_note(note: Note) -> Result<SignedCheckpoint> {
        Ok(SignedCheckpoint {
            checkpoint: Checkpoint::parse_text(note.text())?,
            note,
        })
    }

    /// Reads a signed checkpoint and verifies it under the log's key.
    pub fn open(bytes: &[u8], log_key: &VerifierKey) -> Result<SignedCheckpoint> {
        let signed = SignedCheckpoint::parse(bytes)?;
        signed.verify(log_key)?;
        Ok(signed)
    }

    /// Verifies the log's signature: the key is an Ed25519 note key named after the checkpoint's origin,
    /// and its signature line verifies (lines of other keys are ignored; see [`Note::verify`]).
    pub fn verify(&self, log_key: &VerifierKey) -> Result<()> {
        self.verify_any(std::slice::from_ref(log_key)).map(|_| ())
    }

    /// Verifies the log's signature under whichever of `log_keys` (several during a key rotation) signed;
    /// gives the index of the first that did. Keys not named after the checkpoint's origin are not used.
    pub fn verify_any(&self, log_keys: &[VerifierKey]) -> Result<usize> {
        let candidates: Vec<VerifierKey> = log_keys
            .iter()
            .filter(|k| {
                k.key_type() == KeyType::Ed25519 && k.name().as_str() == self.checkpoint.origin.as_str()
            })
            .cloned()
            .collect();
        if candidates.is_empty() {
            return Err(Error::OriginMismatch {
                expected: log_keys
                    .iter()
                    .map(|k| k.name().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                found: self.checkpoint.origin.to_string(),
            });
        }
        let verified = self.note.verify(&candidates).map_err(|e| match e {
            Error::NotSigned { .. } => Error::NotSigned {
                what: format!(
                    "checkpoint {} at size {}",
                    self.checkpoint.origin, self.checkpoint.size
                ),
            },
            other => other,
        })?;
        let signer = &candidates[verified[0].key];
        Ok(log_keys
            .iter()
            .position(|k| k == signer)
            .expect("a candidate is one of the keys"))
    }

    /// Verifies the cosignatures of trusted witness keys (type `0x04`): lines of other keys are ignored, a
    /// trusted key's line that does not verify is an error. Gives each trusted witness that cosigned, once,
    /// with its timestamp; none is not an error here (the quorum is the policy's business).
    pub fn verify_cosignatures(&self, witness_keys: &[VerifierKey]) -> Result<Vec<VerifiedSignature>> {
        if let Some(key) = witness_keys
            .iter()
            .find(|k| k.key_type() != KeyType::CosignatureV1)
        {
            return Err(Error::malformed(
                "witness_key",
                format!("{} is not a cosignature/v1 (0x04) key", key.name()),
            ));
        }
        match self.note.verify(witness_keys) {
            Ok(verified) => Ok(verified),
            Err(Error::NotSigned { .. }) => Ok(Vec::new()),
            Err(other) => Err(other),
        }
    }

    /// Adds a signature line (a witness's cosignature, once verified) after the others.
    pub fn add_signature(&mut self, signature: NoteSignature) -> Result<()> {
        self.note.add_signature(signature)
    }

    pub fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }

    pub fn note(&self) -> &Note {
        &self.note
    }

    /// The note as served: text, blank line, signature lines.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.note.to_bytes()
    }
}

impl fmt::Display for SignedCheckpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.note.fmt(f)
    }
}
