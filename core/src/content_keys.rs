//! Each child's personal content sealed at rest under a key of that child's (issue #19, ADR 11).
//!
//! A child's record bodies are encrypted with the child's *content key* (AES-256-GCM, a random 96-bit nonce
//! per record). Content keys are stored only wrapped by the operator's *key-encryption key* (a
//! [`KeyEncryptionKey`]: a local key from a file or the environment now, a KMS later). Destroying a child's
//! content key is erasure: every copy of the ciphertext, in the log and anywhere it was copied, becomes
//! unreadable at once, while the hash chains and the Merkle tree, which cover the stored ciphertext, still
//! verify.
//!
//! [`ContentKeys`] is the in-memory ring of unwrapped keys a store holds while open; where the wrapped keys
//! are kept durably is the store's business (`journey-embedded`'s key file, PostgreSQL's table).

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, RwLock};

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::ids::ChildId;
use crate::time::Timestamp;

/// Bytes in a content key or a key-encryption key (AES-256).
pub const KEY_BYTES: usize = 32;
/// Bytes in a nonce (AES-GCM's 96 bits).
pub const NONCE_BYTES: usize = 12;
/// Bytes in an authentication tag.
pub const TAG_BYTES: usize = 16;
/// The one cipher suite so far, named in every sealed body so that another can follow: AES-256-GCM.
pub const SUITE_AES_256_GCM: u8 = 1;

/// Why content could not be sealed or opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The child's content key was destroyed: the content is erased.
    #[error(
        "the record of child {child_id} was destroyed at {destroyed_at}: its content key no longer exists"
    )]
    Destroyed {
        child_id: ChildId,
        destroyed_at: Timestamp,
    },
    /// A sealed body whose child has no key and no record of destruction: the key store is missing or
    /// incomplete. Never answered with the ciphertext.
    #[error("no content key for child {child_id}: the key store is missing or incomplete")]
    Missing { child_id: ChildId },
    /// Authentication failed: the bytes, or the key, are not the ones sealed together.
    #[error("{what} does not authenticate under its key (damaged bytes, or the wrong key)")]
    Unauthentic { what: String },
    /// The key-encryption key is not the one the store's keys were wrapped with.
    #[error(
        "the key-encryption key {given} is not the one this store's content keys are wrapped with ({expected})"
    )]
    WrongKek { expected: String, given: String },
    /// The store keeps content in the clear (made before content was sealed, or a store without keys):
    /// nothing in it can be erased without breaking its proofs.
    #[error(
        "this store keeps children's content in the clear: it cannot erase a record without breaking its proofs; \
         migrate it to a sealed store (docs/deployment.md, \"Sealing content at rest\")"
    )]
    NotSealed,
    #[error("the operating system's random source failed: {0}")]
    Random(String),
    #[error("malformed sealed bytes: {0}")]
    Malformed(String),
}

fn random_bytes<const N: usize>() -> Result<[u8; N], KeyError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| KeyError::Random(e.to_string()))?;
    Ok(bytes)
}

/// A nonce from the operating system's random source, drawn from a per-thread buffer refilled 4 KiB at a
/// time: one `getrandom` call per record was most of what sealing added to an append.
fn random_nonce() -> Result<[u8; NONCE_BYTES], KeyError> {
    use std::cell::RefCell;
    const POOL: usize = 4096 - 4096 % NONCE_BYTES;
    thread_local! {
        static NONCES: RefCell<(Zeroizing<Vec<u8>>, usize)> = RefCell::new((Zeroizing::new(vec![0; POOL]), POOL));
    }
    NONCES.with(|cell| {
        let (pool, used) = &mut *cell.borrow_mut();
        if *used == POOL {
            getrandom::fill(&mut pool[..]).map_err(|e| KeyError::Random(e.to_string()))?;
            *used = 0;
        }
        let nonce: [u8; NONCE_BYTES] = pool[*used..*used + NONCE_BYTES].try_into().expect("12 bytes");
        // Each nonce is handed out once: its bytes in the pool are cleared as it goes.
        pool[*used..*used + NONCE_BYTES].fill(0);
        *used += NONCE_BYTES;
        Ok(nonce)
    })
}

/// A child's content key, with its cipher ready (the AES key schedule is made once per key, not per record:
/// it was a third of a sealed read's extra cost). The raw key is zeroed when dropped; never printed.
#[derive(Clone)]
pub struct ContentKey(Arc<KeyMaterial>);

struct KeyMaterial {
    bytes: Zeroizing<[u8; KEY_BYTES]>,
    cipher: LessSafeKey,
}

impl fmt::Debug for ContentKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ContentKey(…)")
    }
}

/// Compared in constant time (a key is never compared in a hot path, but never leak it by timing either).
impl PartialEq for ContentKey {
    fn eq(&self, other: &ContentKey) -> bool {
        let (a, b) = (self.expose(), other.expose());
        a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

impl Eq for ContentKey {}

impl ContentKey {
    /// A new key from the operating system's random source.
    pub fn generate() -> Result<ContentKey, KeyError> {
        Ok(ContentKey::from_bytes(random_bytes()?))
    }

    pub fn from_bytes(bytes: [u8; KEY_BYTES]) -> ContentKey {
        let bytes = Zeroizing::new(bytes);
        let cipher =
            LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &bytes[..]).expect("a 32-byte AES-256 key"));
        ContentKey(Arc::new(KeyMaterial { bytes, cipher }))
    }

    /// The raw key: for wrapping, and for a child's own export (whose holder has the plaintext already).
    pub fn expose(&self) -> &[u8; KEY_BYTES] {
        &self.0.bytes
    }

    fn cipher(&self) -> &LessSafeKey {
        &self.0.cipher
    }

    /// Seals `plaintext`, bound to `aad`: `nonce ‖ ciphertext ‖ tag`, appended to `out`.
    pub fn seal_into(&self, aad: &[u8], plaintext: &[u8], out: &mut Vec<u8>) -> Result<(), KeyError> {
        let nonce = random_nonce()?;
        out.reserve(NONCE_BYTES + plaintext.len() + TAG_BYTES);
        out.extend_from_slice(&nonce);
        let start = out.len();
        out.extend_from_slice(plaintext);
        let tag = self
            .cipher()
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad),
                &mut out[start..],
            )
            .map_err(|_| KeyError::Malformed("AES-GCM refused to seal".into()))?;
        out.extend_from_slice(tag.as_ref());
        Ok(())
    }

    /// Opens `nonce ‖ ciphertext ‖ tag` sealed with [`ContentKey::seal_into`] under the same `aad`; `what`
    /// names the bytes in an error (made only then).
    pub fn open(
        &self,
        aad: &[u8],
        sealed: &[u8],
        what: impl FnOnce() -> String,
    ) -> Result<Vec<u8>, KeyError> {
        self.open_with(aad, sealed, what, <[u8]>::to_vec)
    }
}

impl ContentKey {
    /// As [`ContentKey::open`], handing the plaintext to `f` in a per-thread buffer instead of a new one:
    /// a read opens thousands of records and decodes each at once (the allocation was a tenth of a sealed
    /// record's extra cost).
    pub fn open_with<R>(
        &self,
        aad: &[u8],
        sealed: &[u8],
        what: impl FnOnce() -> String,
        f: impl FnOnce(&[u8]) -> R,
    ) -> Result<R, KeyError> {
        use std::cell::RefCell;
        thread_local! {
            static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
        }
        if sealed.len() < NONCE_BYTES + TAG_BYTES {
            return Err(KeyError::Malformed(format!(
                "{} is shorter than a nonce and a tag",
                what()
            )));
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_BYTES);
        let nonce = Nonce::try_assume_unique_for_key(nonce).expect("12 bytes");
        SCRATCH.with(|scratch| {
            let mut buffer = scratch.borrow_mut();
            buffer.clear();
            buffer.extend_from_slice(ciphertext);
            let plaintext = self
                .cipher()
                .open_in_place(nonce, Aad::from(aad), &mut buffer[..])
                .map_err(|_| KeyError::Unauthentic { what: what() })?;
            let answer = f(plaintext);
            // Nothing opened (a child's content, an unwrapped key) outlives the call in the buffer.
            zeroize::Zeroize::zeroize(&mut buffer[..]);
            Ok(answer)
        })
    }
}

/// The operator's key-encryption key: wraps and unwraps content keys. A KMS implements the same.
pub trait KeyEncryptionKey: Send + Sync + fmt::Debug {
    /// Names the key without revealing it (hex), stored with the wrapped keys so that opening a store with
    /// another key is refused by name before anything is unwrapped.
    fn fingerprint(&self) -> String;
    /// Wraps `key`, bound to `child_id`.
    fn wrap(&self, child_id: &ChildId, key: &ContentKey) -> Result<Vec<u8>, KeyError>;
    /// Unwraps what [`KeyEncryptionKey::wrap`] made for `child_id`.
    fn unwrap(&self, child_id: &ChildId, wrapped: &[u8]) -> Result<ContentKey, KeyError>;
}

/// A key-encryption key held by this process (from a file or the environment): AES-256-GCM key wrapping,
/// each wrap bound to its child.
pub struct LocalKek {
    key: ContentKey,
    fingerprint: String,
}

impl fmt::Debug for LocalKek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LocalKek({})", self.fingerprint)
    }
}

fn wrap_aad(child_id: &ChildId) -> Vec<u8> {
    let mut aad = b"journey/content-key/v1\0".to_vec();
    aad.extend_from_slice(child_id.as_str().as_bytes());
    aad
}

impl LocalKek {
    pub fn from_bytes(bytes: [u8; KEY_BYTES]) -> LocalKek {
        let digest = Sha256::new()
            .chain_update(b"journey/kek-fingerprint/v1\0")
            .chain_update(bytes)
            .finalize();
        LocalKek {
            key: ContentKey::from_bytes(bytes),
            fingerprint: hex::encode(&digest[..8]),
        }
    }

    /// A new key from the operating system's random source.
    pub fn generate() -> Result<LocalKek, KeyError> {
        Ok(LocalKek::from_bytes(random_bytes()?))
    }

    /// The key as text: base64 of its 32 bytes, the form `parse` reads (a key file's content, or the
    /// `JOURNEY_KEK` environment variable).
    pub fn to_text(&self) -> Zeroizing<String> {
        use base64::Engine as _;
        Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(self.key.expose()))
    }

    /// Reads [`LocalKek::to_text`]'s form (surrounding white space ignored).
    pub fn parse(text: &str) -> Result<LocalKek, KeyError> {
        use base64::Engine as _;
        let bytes = Zeroizing::new(
            base64::engine::general_purpose::STANDARD
                .decode(text.trim())
                .map_err(|_| KeyError::Malformed("a key-encryption key must be base64 of 32 bytes".into()))?,
        );
        let bytes: [u8; KEY_BYTES] = bytes[..].try_into().map_err(|_| {
            KeyError::Malformed(format!("a key-encryption key is 32 bytes, not {}", bytes.len()))
        })?;
        Ok(LocalKek::from_bytes(bytes))
    }
}

impl KeyEncryptionKey for LocalKek {
    fn fingerprint(&self) -> String {
        self.fingerprint.clone()
    }

    fn wrap(&self, child_id: &ChildId, key: &ContentKey) -> Result<Vec<u8>, KeyError> {
        let mut out = Vec::with_capacity(NONCE_BYTES + KEY_BYTES + TAG_BYTES);
        self.key.seal_into(&wrap_aad(child_id), key.expose(), &mut out)?;
        Ok(out)
    }

    fn unwrap(&self, child_id: &ChildId, wrapped: &[u8]) -> Result<ContentKey, KeyError> {
        let what = format!("the wrapped content key of child {child_id}");
        let bytes = Zeroizing::new(self.key.open(&wrap_aad(child_id), wrapped, || what.clone())?);
        let bytes: [u8; KEY_BYTES] = bytes[..]
            .try_into()
            .map_err(|_| KeyError::Malformed(format!("{what} is not 32 bytes")))?;
        Ok(ContentKey::from_bytes(bytes))
    }
}

/// Where a child's key stands.
#[derive(Clone, Debug)]
enum KeyState {
    Live(ContentKey),
    Destroyed(Timestamp),
}

/// A stored entry of a key store: a child's wrapped key, or the fact that it was destroyed (and when).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyEntry {
    Wrapped {
        child_id: ChildId,
        wrapped: Vec<u8>,
    },
    Destroyed {
        child_id: ChildId,
        destroyed_at: Timestamp,
    },
}

impl KeyEntry {
    pub fn child_id(&self) -> &ChildId {
        match self {
            KeyEntry::Wrapped { child_id, .. } | KeyEntry::Destroyed { child_id, .. } => child_id,
        }
    }
}

/// The keys of an open store, unwrapped, and the record of which were destroyed. Shared by the store's
/// writer (which makes a key for each new child) and its readers.
pub struct ContentKeys {
    kek: Arc<dyn KeyEncryptionKey>,
    keys: RwLock<HashMap<ChildId, KeyState>>,
}

impl fmt::Debug for ContentKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys = self.keys.read().expect("content keys lock");
        write!(f, "ContentKeys({} children, {:?})", keys.len(), self.kek)
    }
}

impl ContentKeys {
    /// The ring from a store's entries, in the order they were written (a later entry for a child replaces an
    /// earlier one). Every wrapped key is unwrapped now, so a wrong or damaged key store is found at open.
    pub fn load(
        kek: Arc<dyn KeyEncryptionKey>,
        entries: impl IntoIterator<Item = KeyEntry>,
    ) -> Result<ContentKeys, KeyError> {
        let mut keys = HashMap::new();
        for entry in entries {
            match entry {
                KeyEntry::Wrapped { child_id, wrapped } => {
                    let key = kek.unwrap(&child_id, &wrapped)?;
                    keys.insert(child_id, KeyState::Live(key));
                }
                KeyEntry::Destroyed {
                    child_id,
                    destroyed_at,
                } => {
                    keys.insert(child_id, KeyState::Destroyed(destroyed_at));
                }
            }
        }
        Ok(ContentKeys {
            kek,
            keys: RwLock::new(keys),
        })
    }

    /// The key-encryption key the ring's keys are wrapped with.
    pub fn kek(&self) -> Arc<dyn KeyEncryptionKey> {
        self.kek.clone()
    }

    pub fn kek_fingerprint(&self) -> String {
        self.kek.fingerprint()
    }

    /// The child's key for reading its content.
    pub fn key(&self, child_id: &ChildId) -> Result<ContentKey, KeyError> {
        match self.keys.read().expect("content keys lock").get(child_id) {
            Some(KeyState::Live(key)) => Ok(key.clone()),
            Some(KeyState::Destroyed(at)) => Err(KeyError::Destroyed {
                child_id: child_id.clone(),
                destroyed_at: *at,
            }),
            None => Err(KeyError::Missing {
                child_id: child_id.clone(),
            }),
        }
    }

    /// Whether the child ever had a key here (live or destroyed).
    pub fn knows(&self, child_id: &ChildId) -> bool {
        self.keys
            .read()
            .expect("content keys lock")
            .contains_key(child_id)
    }

    /// When the child's key was destroyed, if it was.
    pub fn destroyed_at(&self, child_id: &ChildId) -> Option<Timestamp> {
        match self.keys.read().expect("content keys lock").get(child_id) {
            Some(KeyState::Destroyed(at)) => Some(*at),
            _ => None,
        }
    }

    /// A new key for a child that has none, and its entry for the store to make durable *before* anything
    /// sealed with it is acknowledged. The key is usable at once (the caller holds it back until durable).
    pub fn create(&self, child_id: &ChildId) -> Result<(ContentKey, KeyEntry), KeyError> {
        let key = ContentKey::generate()?;
        let wrapped = self.kek.wrap(child_id, &key)?;
        self.keys
            .write()
            .expect("content keys lock")
            .insert(child_id.clone(), KeyState::Live(key.clone()));
        Ok((
            key,
            KeyEntry::Wrapped {
                child_id: child_id.clone(),
                wrapped,
            },
        ))
    }

    /// Forgets a key made by [`ContentKeys::create`] whose entry could not be made durable.
    pub fn forget(&self, child_id: &ChildId) {
        let mut keys = self.keys.write().expect("content keys lock");
        if let Some(KeyState::Live(_)) = keys.get(child_id) {
            keys.remove(child_id);
        }
    }

    /// Marks keys destroyed in memory, once the store has made their destruction durable. The unwrapped
    /// keys are zeroed as their last holders drop them.
    pub fn mark_destroyed(&self, children: &[ChildId], destroyed_at: Timestamp) {
        let mut keys = self.keys.write().expect("content keys lock");
        for child_id in children {
            keys.insert(child_id.clone(), KeyState::Destroyed(destroyed_at));
        }
    }

    /// Every entry, wrapped under `kek` (this ring's own, or a new one when rotating): what a store writes
    /// when it compacts or re-wraps its keys.
    pub fn entries_wrapped_by(&self, kek: &dyn KeyEncryptionKey) -> Result<Vec<KeyEntry>, KeyError> {
        let keys = self.keys.read().expect("content keys lock");
        let mut children: Vec<&ChildId> = keys.keys().collect();
        children.sort();
        children
            .into_iter()
            .map(|child_id| match &keys[child_id] {
                KeyState::Live(key) => Ok(KeyEntry::Wrapped {
                    child_id: child_id.clone(),
                    wrapped: kek.wrap(child_id, key)?,
                }),
                KeyState::Destroyed(at) => Ok(KeyEntry::Destroyed {
                    child_id: child_id.clone(),
                    destroyed_at: *at,
                }),
            })
            .collect()
    }

    /// How many children have a live key, and how many were destroyed.
    pub fn counts(&self) -> (usize, usize) {
        let keys = self.keys.read().expect("content keys lock");
        let destroyed = keys
            .values()
            .filter(|k| matches!(k, KeyState::Destroyed(_)))
            .count();
        (keys.len() - destroyed, destroyed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn child(s: &str) -> ChildId {
        ChildId::parse(s).unwrap()
    }

    #[test]
    fn sealed_content_opens_only_with_its_key_and_its_aad() {
        let key = ContentKey::generate().unwrap();
        let mut sealed = Vec::new();
        key.seal_into(b"aad", b"plaintext", &mut sealed).unwrap();
        assert!(!sealed.windows(9).any(|w| w == b"plaintext"));
        assert_eq!(key.open(b"aad", &sealed, String::new).unwrap(), b"plaintext");
        assert!(matches!(
            key.open(b"aaD", &sealed, String::new),
            Err(KeyError::Unauthentic { .. })
        ));
        let other = ContentKey::generate().unwrap();
        assert!(matches!(
            other.open(b"aad", &sealed, String::new),
            Err(KeyError::Unauthentic { .. })
        ));
        let mut flipped = sealed.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert!(matches!(
            key.open(b"aad", &flipped, String::new),
            Err(KeyError::Unauthentic { .. })
        ));
        // A fresh nonce each time: the same plaintext never seals to the same bytes, across refills of the
        // nonce pool too.
        let mut nonces = std::collections::HashSet::new();
        for _ in 0..2_000 {
            let mut again = Vec::new();
            key.seal_into(b"aad", b"plaintext", &mut again).unwrap();
            assert!(nonces.insert(again[..NONCE_BYTES].to_vec()), "a nonce came twice");
            assert_ne!(sealed, again);
        }
    }

    #[test]
    fn a_wrapped_key_unwraps_only_under_its_kek_and_for_its_child() {
        let kek = LocalKek::generate().unwrap();
        let key = ContentKey::generate().unwrap();
        let wrapped = kek.wrap(&child("c-1"), &key).unwrap();
        assert_eq!(
            kek.unwrap(&child("c-1"), &wrapped).unwrap().expose(),
            key.expose()
        );
        assert!(
            kek.unwrap(&child("c-2"), &wrapped).is_err(),
            "moved to another child"
        );
        assert!(
            LocalKek::generate()
                .unwrap()
                .unwrap(&child("c-1"), &wrapped)
                .is_err()
        );
        let text = kek.to_text();
        assert_eq!(LocalKek::parse(&text).unwrap().fingerprint(), kek.fingerprint());
        assert!(LocalKek::parse("not base64!").is_err());
        assert!(LocalKek::parse("AAAA").is_err(), "three bytes is not a key");
    }

    #[test]
    fn a_destroyed_key_answers_destroyed_and_is_never_wrapped_again() {
        let kek: Arc<dyn KeyEncryptionKey> = Arc::new(LocalKek::generate().unwrap());
        let keys = ContentKeys::load(kek.clone(), []).unwrap();
        let (_, entry) = keys.create(&child("c-1")).unwrap();
        keys.create(&child("c-2")).unwrap();
        assert!(matches!(entry, KeyEntry::Wrapped { .. }));
        keys.mark_destroyed(&[child("c-1")], Timestamp::from_micros(5).unwrap());
        assert!(matches!(keys.key(&child("c-1")), Err(KeyError::Destroyed { .. })));
        assert!(keys.key(&child("c-2")).is_ok());
        assert!(matches!(keys.key(&child("c-3")), Err(KeyError::Missing { .. })));
        let entries = keys.entries_wrapped_by(kek.as_ref()).unwrap();
        assert_eq!(
            entries[0],
            KeyEntry::Destroyed {
                child_id: child("c-1"),
                destroyed_at: Timestamp::from_micros(5).unwrap()
            }
        );
        let reloaded = ContentKeys::load(kek, entries).unwrap();
        assert_eq!(reloaded.counts(), (1, 1));
    }
}

#[cfg(test)]
mod suite_costs {
    /// AES-256-GCM against ChaCha20-Poly1305 (both ring) on a record-sized message (run by hand:
    /// `cargo test -p journey-core --release --lib suite_costs -- --ignored --nocapture`).
    #[test]
    #[ignore]
    fn open_costs() {
        use ring::aead::{AES_256_GCM, Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, UnboundKey};
        for (name, alg) in [
            ("aes-256-gcm", &AES_256_GCM),
            ("chacha20-poly1305", &CHACHA20_POLY1305),
        ] {
            let key = LessSafeKey::new(UnboundKey::new(alg, &[7u8; 32]).unwrap());
            let mut sealed = vec![5u8; 188];
            let tag = key
                .seal_in_place_separate_tag(
                    Nonce::assume_unique_for_key([1; 12]),
                    Aad::from(b"aad"),
                    &mut sealed,
                )
                .unwrap();
            sealed.extend_from_slice(tag.as_ref());
            let mut buffer = Vec::new();
            let n = 500_000;
            let t = std::time::Instant::now();
            for _ in 0..n {
                buffer.clear();
                buffer.extend_from_slice(&sealed);
                let opened = key
                    .open_in_place(
                        Nonce::assume_unique_for_key([1; 12]),
                        Aad::from(b"aad"),
                        &mut buffer,
                    )
                    .unwrap();
                std::hint::black_box(opened);
            }
            println!("{name}: {:.0} ns", t.elapsed().as_nanos() as f64 / n as f64);
        }
    }
}
