//! Signed notes (c2sp.org/signed-note@v1.0.0): text, a blank line, and one or more signature lines
//! `— <key name> base64(key ID ‖ signature)`; verifier keys (`name+hex8+base64(type ‖ public key)`); and
//! Ed25519 signing keys, written as Go's `golang.org/x/mod/sumdb/note` writes them
//! (`PRIVATE+KEY+name+hex8+base64(type ‖ seed)`) so that Go tooling reads Journey's key file.
//!
//! Two signature types are supported: `0x01`, an Ed25519 signature of the note text (a log's checkpoint
//! signature), and `0x04`, a timestamped Ed25519 cosignature (c2sp.org/tlog-cosignature, see
//! [`crate::cosignature`]). Verification uses `verify_strict` (no small-order keys or `R` points).
//!
//! Parsing is strict: valid UTF-8, no control characters but newline, the text split from its signatures at
//! the last blank line, every line well formed, at most [`Note::MAX_SIGNATURES`] signatures. Verification
//! follows the specification: a signature whose (name, key ID) is not a trusted key is ignored, one that is
//! but does not verify rejects the whole note, and a note with no verified trusted signature is rejected.

use std::fmt;

use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::wire::{b64_decode, b64_encode};

/// The longest key name or origin accepted, in bytes. ML-DSA cosignatures (c2sp.org/tlog-cosignature)
/// carry names with a one-byte length, so a longer name could never be cosigned that way.
pub const MAX_NAME_LEN: usize = 255;

/// Checks the rules key names and origins share: non-empty, at most 255 bytes, no Unicode spaces, no `+`
/// (the vkey separator) and no control characters (a signed note has none but newline).
pub(crate) fn check_name(field: &str, name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(Error::malformed(field, "must not be empty"));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(Error::malformed(
            field,
            format!("is {} bytes; at most {MAX_NAME_LEN}", name.len()),
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| c.is_whitespace() || *c == '+' || c.is_control())
    {
        return Err(Error::malformed(
            field,
            format!("{name:?} contains {c:?}; spaces, '+' and control characters are not allowed"),
        ));
    }
    Ok(())
}

/// The name of a signing key: non-empty, at most 255 bytes, no Unicode spaces, no `+`, no control
/// characters. A log's key name is its origin.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyName(String);

impl KeyName {
    pub fn parse(name: impl Into<String>) -> Result<KeyName> {
        let name = name.into();
        check_name("key_name", &name)?;
        Ok(KeyName(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The type byte of a signature, which also enters the key ID so that one key never serves two types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyType {
    /// `0x01`: an Ed25519 signature of the note text.
    Ed25519,
    /// `0x04`: a timestamped Ed25519 checkpoint cosignature, c2sp.org/tlog-cosignature.
    CosignatureV1,
}

impl KeyType {
    pub fn byte(self) -> u8 {
        match self {
            KeyType::Ed25519 => 0x01,
            KeyType::CosignatureV1 => 0x04,
        }
    }

    fn from_byte(field: &str, byte: u8) -> Result<KeyType> {
        match byte {
            0x01 => Ok(KeyType::Ed25519),
            0x04 => Ok(KeyType::CosignatureV1),
            other => Err(Error::malformed(
                field,
                format!(
                    "signature type 0x{other:02x} is not supported (0x01 Ed25519 note signatures, 0x04 Ed25519 cosignatures)"
                ),
            )),
        }
    }
}

/// The 4-byte key ID: `SHA-256(name ‖ 0x0A ‖ type ‖ public key)[:4]`, written as 8 lowercase hex digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(pub [u8; 4]);

impl KeyId {
    pub fn compute(name: &KeyName, key_type: KeyType, public_key: &[u8; 32]) -> KeyId {
        let mut h = Sha256::new();
        h.update(name.as_str().as_bytes());
        h.update(b"\n");
        h.update([key_type.byte()]);
        h.update(public_key);
        KeyId(h.finalize()[..4].try_into().unwrap())
    }

    fn parse_hex(field: &str, text: &str) -> Result<KeyId> {
        let rule = "a key ID is 8 lowercase hexadecimal digits";
        if text.len() != 8 || !text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(Error::malformed(field, format!("{text:?}: {rule}")));
        }
        let value = u32::from_str_radix(text, 16).map_err(|_| Error::malformed(field, rule))?;
        Ok(KeyId(value.to_be_bytes()))
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:08x}", u32::from_be_bytes(self.0))
    }
}

/// A public key that verifies signatures of one type under one name, as a vkey
/// (`name+hex8(key ID)+base64(type ‖ 32-byte Ed25519 key)`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifierKey {
    name: KeyName,
    key_type: KeyType,
    key_id: KeyId,
    public_key: VerifyingKey,
}

impl VerifierKey {
    /// Reads a vkey. The key ID must be the one the name, type and key give; small-order (weak) keys are
    /// refused, as no honest signer has one.
    pub fn parse(vkey: &str) -> Result<VerifierKey> {
        let mut parts = vkey.splitn(3, '+');
        let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(Error::malformed("vkey", "expected <name>+<key ID>+<base64 key>"));
        };
        let name = KeyName::parse(name).map_err(|e| rename(e, "vkey.name"))?;
        let key_id = KeyId::parse_hex("vkey.key_id", id)?;
        let bytes = b64_decode("vkey.key", key)?;
        let Some((&type_byte, public_key)) = bytes.split_first() else {
            return Err(Error::malformed("vkey.key", "is empty"));
        };
        let key_type = KeyType::from_byte("vkey.key", type_byte)?;
        let public_key = public_key_from("vkey.key", public_key)?;
        let key = VerifierKey::new(name, key_type, public_key)?;
        if key.key_id != key_id {
            return Err(Error::malformed(
                "vkey.key_id",
                format!("{key_id} is not the ID of this name and key ({})", key.key_id),
            ));
        }
        Ok(key)
    }

    /// The verifier key of a name, a type and a 32-byte Ed25519 public key.
    pub fn new(name: KeyName, key_type: KeyType, public_key: [u8; 32]) -> Result<VerifierKey> {
        let public_key = VerifyingKey::from_bytes(&public_key)
            .map_err(|_| Error::malformed("public_key", "not a valid Ed25519 public key"))?;
        if public_key.is_weak() {
            return Err(Error::malformed(
                "public_key",
                "a small-order Ed25519 key verifies forgeries",
            ));
        }
        let key_id = KeyId::compute(&name, key_type, public_key.as_bytes());
        Ok(VerifierKey {
            name,
            key_type,
            key_id,
            public_key,
        })
    }

    pub fn name(&self) -> &KeyName {
        &self.name
    }

    pub fn key_type(&self) -> KeyType {
        self.key_type
    }

    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    pub fn public_key(&self) -> [u8; 32] {
        self.public_key.to_bytes()
    }

    /// Whether a signature line claims to be this key's (same name and key ID).
    pub fn matches_line(&self, signature: &NoteSignature) -> bool {
        self.name == signature.name && self.key_id == signature.key_id
    }

    /// Verifies the signature bytes (after the key ID) of a note with text `text`; for a cosignature, gives
    /// its timestamp.
    fn verify(&self, text: &str, signature: &[u8]) -> Option<Option<u64>> {
        match self.key_type {
            KeyType::Ed25519 => {
                let signature = Signature::from_slice(signature).ok()?;
                self.public_key.verify_strict(text.as_bytes(), &signature).ok()?;
                Some(None)
            }
            KeyType::CosignatureV1 => {
                let (timestamp, signature) = crate::cosignature::split(signature)?;
                let message = crate::cosignature::signed_message(text, timestamp);
                self.public_key
                    .verify_strict(&message, &Signature::from_bytes(&signature))
                    .ok()?;
                Some(Some(timestamp))
            }
        }
    }
}

impl fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut key = vec![self.key_type.byte()];
        key.extend_from_slice(self.public_key.as_bytes());
        write!(f, "{}+{}+{}", self.name, self.key_id, b64_encode(&key))
    }
}

fn public_key_from(field: &str, bytes: &[u8]) -> Result<[u8; 32]> {
    bytes.try_into().map_err(|_| {
        Error::malformed(
            field,
            format!(
                "an Ed25519 key is 32 bytes after the type byte, this has {}",
                bytes.len()
            ),
        )
    })
}

fn rename(error: Error, field: &str) -> Error {
    match error {
        Error::Malformed { rule, .. } => Error::malformed(field, rule),
        other => other,
    }
}

/// An Ed25519 signing key with its name and type. The secret is zeroised when dropped and never printed.
pub(crate) struct KeyPair {
    name: KeyName,
    key_type: KeyType,
    key_id: KeyId,
    secret: SigningKey,
}

impl KeyPair {
    pub(crate) fn from_seed(name: KeyName, key_type: KeyType, seed: &[u8; 32]) -> KeyPair {
        let secret = SigningKey::from_bytes(seed);
        let key_id = KeyId::compute(&name, key_type, secret.verifying_key().as_bytes());
        KeyPair {
            name,
            key_type,
            key_id,
            secret,
        }
    }

    /// Reads `PRIVATE+KEY+<name>+<hex8 key ID>+<base64(type ‖ 32-byte seed)>`, Go's layout; the key ID must
    /// be the one of the public key the seed gives.
    pub(crate) fn from_private_text(text: &str, key_type: KeyType) -> Result<KeyPair> {
        let field = "private_key";
        let mut parts = text.splitn(5, '+');
        let (Some("PRIVATE"), Some("KEY"), Some(name), Some(id), Some(key)) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(Error::malformed(
                field,
                "expected PRIVATE+KEY+<name>+<key ID>+<base64 seed>",
            ));
        };
        let name = KeyName::parse(name).map_err(|e| rename(e, "private_key.name"))?;
        let key_id = KeyId::parse_hex("private_key.key_id", id)?;
        let bytes = Zeroizing::new(b64_decode("private_key.key", key)?);
        let Some((&type_byte, seed)) = bytes.split_first() else {
            return Err(Error::malformed("private_key.key", "is empty"));
        };
        let found = KeyType::from_byte("private_key.key", type_byte)?;
        if found != key_type {
            return Err(Error::malformed(
                "private_key.key",
                format!(
                    "is a key of type 0x{:02x}, 0x{:02x} is needed here",
                    found.byte(),
                    key_type.byte()
                ),
            ));
        }
        let seed: Zeroizing<[u8; 32]> = Zeroizing::new(seed.try_into().map_err(|_| {
            Error::malformed(
                "private_key.key",
                format!("an Ed25519 seed is 32 bytes, this has {}", seed.len()),
            )
        })?);
        let pair = KeyPair::from_seed(name, key_type, &seed);
        if pair.key_id != key_id {
            return Err(Error::malformed(
                "private_key.key_id",
                format!("{key_id} is not the ID of this name and key ({})", pair.key_id),
            ));
        }
        Ok(pair)
    }

    pub(crate) fn private_text(&self) -> Zeroizing<String> {
        let mut key = Zeroizing::new(vec![self.key_type.byte()]);
        key.extend_from_slice(self.secret.as_bytes());
        Zeroizing::new(format!(
            "PRIVATE+KEY+{}+{}+{}",
            self.name,
            self.key_id,
            b64_encode(&key)
        ))
    }

    pub(crate) fn verifier_key(&self) -> VerifierKey {
        VerifierKey {
            name: self.name.clone(),
            key_type: self.key_type,
            key_id: self.key_id,
            public_key: self.secret.verifying_key(),
        }
    }

    pub(crate) fn name(&self) -> &KeyName {
        &self.name
    }

    pub(crate) fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// Signs `message` and makes the signature line, `prefix` (a cosignature's timestamp) going between
    /// the key ID and the signature.
    pub(crate) fn sign_line(&self, prefix: &[u8], message: &[u8]) -> NoteSignature {
        let mut signature = prefix.to_vec();
        signature.extend_from_slice(&self.secret.sign(message).to_bytes());
        NoteSignature {
            name: self.name.clone(),
            key_id: self.key_id,
            signature,
        }
    }
}

impl fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyPair")
            .field("name", &self.name)
            .field("key_type", &self.key_type)
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

/// A log's signing key (type `0x01`): signs note texts, checkpoints among them.
#[derive(Debug)]
pub struct NoteSigner(KeyPair);

impl NoteSigner {
    /// The key of a 32-byte Ed25519 seed, which the caller draws from the operating system's random source.
    pub fn from_seed(name: KeyName, seed: &[u8; 32]) -> NoteSigner {
        NoteSigner(KeyPair::from_seed(name, KeyType::Ed25519, seed))
    }

    /// Reads Go's private key text, `PRIVATE+KEY+<name>+<key ID>+<base64(0x01 ‖ seed)>`.
    pub fn from_private_text(text: &str) -> Result<NoteSigner> {
        KeyPair::from_private_text(text, KeyType::Ed25519).map(NoteSigner)
    }

    /// The private key text, for the key file (Go's `note.NewSigner` reads it).
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

    /// Signs a note's text.
    pub fn sign(&self, note: &Note) -> NoteSignature {
        self.0.sign_line(&[], note.text().as_bytes())
    }
}

/// One signature line: the key's name, its key ID, and the signature bytes after the ID.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteSignature {
    name: KeyName,
    key_id: KeyId,
    signature: Vec<u8>,
}

/// The prefix of a signature line: an em dash (U+2014) and a space.
const SIGNATURE_PREFIX: &str = "\u{2014} ";

impl NoteSignature {
    /// Reads one signature line, `— <name> <base64(key ID ‖ signature)>`, without its newline.
    pub fn parse_line(line: &str) -> Result<NoteSignature> {
        let field = "signature";
        let Some(rest) = line.strip_prefix(SIGNATURE_PREFIX) else {
            return Err(Error::malformed(
                field,
                format!("{line:?} does not start with an em dash (U+2014) and a space"),
            ));
        };
        let Some((name, encoded)) = rest.split_once(' ') else {
            return Err(Error::malformed(field, "expected <name> <base64 signature>"));
        };
        let name = KeyName::parse(name).map_err(|e| rename(e, "signature.name"))?;
        let bytes = b64_decode("signature.base64", encoded)?;
        if bytes.len() < 5 {
            return Err(Error::malformed(
                "signature.base64",
                "a signature is a 4-byte key ID and at least one byte more",
            ));
        }
        Ok(NoteSignature {
            name,
            key_id: KeyId(bytes[..4].try_into().unwrap()),
            signature: bytes[4..].to_vec(),
        })
    }

    /// The signature line, with its newline.
    pub fn to_line(&self) -> String {
        let mut bytes = self.key_id.0.to_vec();
        bytes.extend_from_slice(&self.signature);
        format!("{SIGNATURE_PREFIX}{} {}\n", self.name, b64_encode(&bytes))
    }

    pub fn name(&self) -> &KeyName {
        &self.name
    }

    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// The signature bytes after the key ID.
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }
}

/// A trusted key whose signature on a note verified.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VerifiedSignature {
    /// The index of the key in the list the note was verified with.
    pub key: usize,
    /// A cosignature's timestamp (POSIX seconds); `None` for a note signature.
    pub timestamp: Option<u64>,
}

/// A signed note: its text (ending in a newline) and its signature lines, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    text: String,
    signatures: Vec<NoteSignature>,
}

impl Note {
    /// The most signature lines a note may carry. The specification asks verifiers to accept at least 16;
    /// Go's verifier stops at 100.
    pub const MAX_SIGNATURES: usize = 100;

    /// A note of `text`, not yet signed. The text must end in a newline and hold no control character but
    /// newline.
    pub fn new(text: impl Into<String>) -> Result<Note> {
        let text = text.into();
        check_text("note.text", &text)?;
        if !text.ends_with('\n') {
            return Err(Error::malformed("note.text", "must end with a newline"));
        }
        Ok(Note {
            text,
            signatures: Vec::new(),
        })
    }

    /// Reads a signed note: the text, a blank line, then one or more signature lines, each ending in a
    /// newline. The text ends at the last blank line.
    pub fn parse(bytes: &[u8]) -> Result<Note> {
        let all = std::str::from_utf8(bytes)
            .map_err(|e| Error::malformed("note", format!("not valid UTF-8 ({e})")))?;
        check_text("note", all)?;
        let Some(split) = all.rfind("\n\n") else {
            return Err(Error::malformed(
                "note",
                "no blank line separates the text from the signatures",
            ));
        };
        let (text, signatures) = (&all[..split + 1], &all[split + 2..]);
        if signatures.is_empty() {
            return Err(Error::malformed("note", "has no signature lines"));
        }
        let lines = crate::wire::lines("note.signatures", signatures)?;
        if lines.len() > Self::MAX_SIGNATURES {
            return Err(Error::malformed(
                "note.signatures",
                format!(
                    "{} signature lines; at most {}",
                    lines.len(),
                    Self::MAX_SIGNATURES
                ),
            ));
        }
        let signatures = lines
            .into_iter()
            .map(NoteSignature::parse_line)
            .collect::<Result<_>>()?;
        Ok(Note {
            text: text.to_owned(),
            signatures,
        })
    }

    /// The note as sent: text, blank line, signature lines.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.to_string().into_bytes()
    }

    /// The signed text, ending in a newline.
    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn signatures(&self) -> &[NoteSignature] {
        &self.signatures
    }

    /// Adds a signature line after the others.
    pub fn add_signature(&mut self, signature: NoteSignature) -> Result<()> {
        if self.signatures.len() >= Self::MAX_SIGNATURES {
            return Err(Error::malformed(
                "note.signatures",
                format!("at most {} signature lines", Self::MAX_SIGNATURES),
            ));
        }
        self.signatures.push(signature);
        Ok(())
    }

    /// Verifies the note under trusted keys: lines of other keys are ignored; a line of a trusted key
    /// (same name and key ID) that does not verify rejects the note; at least one must verify. Gives each
    /// trusted key that signed, once, in the order of its first line.
    pub fn verify(&self, keys: &[VerifierKey]) -> Result<Vec<VerifiedSignature>> {
        let mut verified: Vec<VerifiedSignature> = Vec::new();
        for line in &self.signatures {
            let Some(key) = keys.iter().position(|k| k.matches_line(line)) else {
                continue;
            };
            let Some(timestamp) = keys[key].verify(&self.text, &line.signature) else {
                return Err(Error::BadSignature {
                    name: line.name.to_string(),
                    key_id: line.key_id.to_string(),
                });
            };
            if !verified.iter().any(|v| v.key == key) {
                verified.push(VerifiedSignature { key, timestamp });
            }
        }
        if verified.is_empty() {
            return Err(Error::NotSigned {
                what: "the note".to_owned(),
            });
        }
        Ok(verified)
    }
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)?;
        f.write_str("\n")?;
        for signature in &self.signatures {
            f.write_str(&signature.to_line())?;
        }
        Ok(())
    }
}

/// No ASCII control characters but newline (c2sp.org/signed-note).
fn check_text(field: &str, text: &str) -> Result<()> {
    if let Some(at) = text.bytes().position(|b| b < 0x20 && b != b'\n') {
        return Err(Error::malformed(
            field,
            format!(
                "control character 0x{:02x} at byte {at}; only newline is allowed",
                text.as_bytes()[at]
            ),
        ));
    }
    Ok(())
}
