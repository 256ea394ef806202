//! The key store: each child's content key, wrapped by the operator's key-encryption key, in
//! `<data>/keys/content-keys` (issue #19, ADR 11).
//!
//! As durable as the log: a new child's key is appended and `fdatasync`ed before the group holding its first
//! record is written, so no acknowledged record is ever without its key. Every entry carries a CRC32C. The
//! file starts with a header naming the fingerprint of the key-encryption key, so a store opened with another
//! key is refused by name before anything is unwrapped.
//!
//! ```text
//! header: magic "JKEYS001" | fingerprint_len: u8 | fingerprint (ASCII hex) | crc32c: u32 LE (of what precedes)
//! entry:  payload_len: u32 LE | crc32c: u32 LE (of the payload) | payload
//! payload: 1 | child_len: u16 LE | child id | wrapped_len: u16 LE | wrapped key      (a live key)
//!          2 | child_len: u16 LE | child id | destroyed_at: i64 LE (microseconds)     (a destroyed one)
//! ```
//!
//! Destroying keys rewrites the file without them (a temporary file, `fsync`, rename over the old one,
//! directory `fsync`): each destruction is all or nothing, whatever moment the process dies. The old file's
//! bytes are then overwritten with zeros and synced before it is closed, so the wrapped keys do not linger in
//! its blocks where the file system reuses them in place. What a copy-on-write file system or an SSD's
//! firmware keeps of earlier blocks, and backups, are outside Journey's reach (`docs/deployment.md`).
//!
//! A torn final entry (a crash during an append of new keys) is cut off at open: its records were never
//! written, because the log is written only after the keys are synced. Damage anywhere else is refused.

use std::fs::{self, File, OpenOptions};
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use journey_core::content_keys::{ContentKeys, KeyEncryptionKey, KeyEntry, KeyError};
use journey_core::{ChildId, Error, Result, Timestamp};

/// The key store's directory inside a data directory.
pub const KEYS_DIR: &str = "keys";
const KEYS_FILE: &str = "content-keys";
const MAGIC: &[u8; 8] = b"JKEYS001";
const LIVE: u8 = 1;
const DESTROYED: u8 = 2;

/// The open key file: appends new keys, rewrites it to destroy or re-wrap them.
#[derive(Debug)]
pub(crate) struct KeyFile {
    dir: PathBuf,
    file: File,
}

fn corrupt(path: &Path, detail: impl Into<String>) -> Error {
    Error::Key(KeyError::Malformed(format!(
        "the key store {} is damaged: {}; the server will not start without every content key (restore the \
         key store from the backup taken with this data directory)",
        path.display(),
        detail.into()
    )))
}

fn header(fingerprint: &str) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    out.push(fingerprint.len() as u8);
    out.extend_from_slice(fingerprint.as_bytes());
    let crc = crc32c::crc32c(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

fn encode_entry(entry: &KeyEntry, out: &mut Vec<u8>) {
    let mut payload = Vec::with_capacity(96);
    let child = |payload: &mut Vec<u8>, id: &ChildId| {
        payload.extend_from_slice(&(id.as_str().len() as u16).to_le_bytes());
        payload.extend_from_slice(id.as_str().as_bytes());
    };
    match entry {
        KeyEntry::Wrapped { child_id, wrapped } => {
            payload.push(LIVE);
            child(&mut payload, child_id);
            payload.extend_from_slice(&(wrapped.len() as u16).to_le_bytes());
            payload.extend_from_slice(wrapped);
        }
        KeyEntry::Destroyed {
            child_id,
            destroyed_at,
        } => {
            payload.push(DESTROYED);
            child(&mut payload, child_id);
            payload.extend_from_slice(&destroyed_at.as_micros().to_le_bytes());
        }
    }
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32c::crc32c(&payload).to_le_bytes());
    out.extend_from_slice(&payload);
}

fn decode_payload(payload: &[u8]) -> std::result::Result<KeyEntry, String> {
    let take = |at: &mut usize, n: usize| -> std::result::Result<&[u8], String> {
        let part = payload.get(*at..*at + n).ok_or("an entry ends early")?;
        *at += n;
        Ok(part)
    };
    let mut at = 0;
    let kind = take(&mut at, 1)?[0];
    let len = u16::from_le_bytes(take(&mut at, 2)?.try_into().expect("2")) as usize;
    let child = std::str::from_utf8(take(&mut at, len)?).map_err(|_| "a child id is not UTF-8")?;
    let child_id = ChildId::parse(child).map_err(|e| e.to_string())?;
    let entry = match kind {
        LIVE => {
            let len = u16::from_le_bytes(take(&mut at, 2)?.try_into().expect("2")) as usize;
            KeyEntry::Wrapped {
                child_id,
                wrapped: take(&mut at, len)?.to_vec(),
            }
        }
        DESTROYED => KeyEntry::Destroyed {
            child_id,
            destroyed_at: Timestamp::from_micros(i64::from_le_bytes(
                take(&mut at, 8)?.try_into().expect("8"),
            ))
            .map_err(|e| e.to_string())?,
        },
        other => return Err(format!("unknown entry kind {other}")),
    };
    if at != payload.len() {
        return Err("an entry has trailing bytes".into());
    }
    Ok(entry)
}

/// Whether `data` has a key store (a store made with content keys).
pub(crate) fn exists(data: &Path) -> bool {
    data.join(KEYS_DIR).join(KEYS_FILE).is_file()
}

impl KeyFile {
    fn path(&self) -> PathBuf {
        self.dir.join(KEYS_FILE)
    }

    /// Creates an empty key store for `kek` in `data` (which has none).
    pub(crate) fn create(data: &Path, kek: Arc<dyn KeyEncryptionKey>) -> Result<(KeyFile, ContentKeys)> {
        let dir = data.join(KEYS_DIR);
        fs::create_dir_all(&dir)?;
        write_whole(&dir, &header(&kek.fingerprint()))?;
        let file = OpenOptions::new().append(true).open(dir.join(KEYS_FILE))?;
        let keys = ContentKeys::load(kek, [])?;
        Ok((KeyFile { dir, file }, keys))
    }

    /// Opens the key store of `data` with `kek`: refused when the key-encryption key is another, or the file
    /// is damaged anywhere but a torn final entry; every key is unwrapped now.
    pub(crate) fn open(data: &Path, kek: Arc<dyn KeyEncryptionKey>) -> Result<(KeyFile, ContentKeys)> {
        let dir = data.join(KEYS_DIR);
        let path = dir.join(KEYS_FILE);
        let mut bytes = Vec::new();
        File::open(&path)
            .and_then(|mut f| f.read_to_end(&mut bytes))
            .map_err(|e| corrupt(&path, format!("it cannot be read ({e})")))?;
        if bytes.len() < MAGIC.len() + 1 || &bytes[..MAGIC.len()] != MAGIC {
            return Err(corrupt(&path, "it does not start with a key store's header"));
        }
        let fingerprint_len = bytes[MAGIC.len()] as usize;
        let header_len = MAGIC.len() + 1 + fingerprint_len;
        let crc = bytes
            .get(header_len..header_len + 4)
            .ok_or_else(|| corrupt(&path, "its header is cut short"))?;
        if crc32c::crc32c(&bytes[..header_len]) != u32::from_le_bytes(crc.try_into().expect("4")) {
            return Err(corrupt(&path, "its header fails its checksum"));
        }
        let stored = String::from_utf8_lossy(&bytes[MAGIC.len() + 1..header_len]).into_owned();
        if stored != kek.fingerprint() {
            return Err(Error::Key(KeyError::WrongKek {
                expected: stored,
                given: kek.fingerprint(),
            }));
        }
        let mut entries = Vec::new();
        let mut at = header_len + 4;
        let mut torn = None;
        while at < bytes.len() {
            let frame = bytes.get(at..at + 8);
            let (len, crc) = match frame {
                Some(f) => (
                    u32::from_le_bytes(f[..4].try_into().expect("4")) as usize,
                    u32::from_le_bytes(f[4..].try_into().expect("4")),
                ),
                None => {
                    torn = Some(at);
                    break;
                }
            };
            let Some(payload) = bytes.get(at + 8..at + 8 + len) else {
                torn = Some(at);
                break;
            };
            if crc32c::crc32c(payload) != crc {
                if at + 8 + len == bytes.len() {
                    torn = Some(at);
                    break;
                }
                return Err(corrupt(
                    &path,
                    format!("the entry at byte {at} fails its checksum"),
                ));
            }
            let entry = decode_payload(payload)
                .map_err(|e| corrupt(&path, format!("the entry at byte {at}: {e}")))?;
            entries.push(entry);
            at += 8 + len;
        }
        if let Some(cut) = torn {
            tracing::warn!(
                path = %path.display(),
                bytes = bytes.len() - cut,
                "the key store ends in a torn entry (a crash while keys for new children were written, before \
                 any of their records): cut off"
            );
            let file = OpenOptions::new().write(true).open(&path)?;
            file.set_len(cut as u64)?;
            file.sync_all()?;
        }
        let keys = ContentKeys::load(kek, entries).map_err(|e| match e {
            KeyError::Unauthentic { what } => corrupt(&path, format!("{what} does not unwrap")),
            other => Error::Key(other),
        })?;
        let file = OpenOptions::new().append(true).open(&path)?;
        Ok((KeyFile { dir, file }, keys))
    }

    /// Appends entries and makes them durable before returning.
    pub(crate) fn append(&mut self, entries: &[KeyEntry]) -> Result<()> {
        let mut out = Vec::with_capacity(entries.len() * 96);
        for entry in entries {
            encode_entry(entry, &mut out);
        }
        self.file.write_all(&out)?;
        self.file.sync_data()?;
        Ok(())
    }

    /// Replaces the whole store with `entries` under `kek`'s fingerprint (after a destruction, or to re-wrap
    /// every key under a new key-encryption key), all or nothing; then zeroes the old file's bytes.
    pub(crate) fn rewrite(&mut self, kek: &dyn KeyEncryptionKey, entries: &[KeyEntry]) -> Result<()> {
        let mut out = header(&kek.fingerprint());
        for entry in entries {
            encode_entry(entry, &mut out);
        }
        let mut old = OpenOptions::new().read(true).write(true).open(self.path())?;
        write_whole(&self.dir, &out)?;
        self.file = OpenOptions::new().append(true).open(self.path())?;
        // The old file is unlinked now; overwrite what it held before letting go of it.
        let len = old.seek(SeekFrom::End(0))?;
        old.seek(SeekFrom::Start(0))?;
        old.write_all(&vec![0u8; len as usize])?;
        old.sync_all()?;
        Ok(())
    }
}

/// Re-wraps every content key of the data directory `data` from the key-encryption key `old` to `new`, without
/// touching the log (the store must not be open: its lock is taken). All or nothing: a crash leaves the key
/// store wrapped wholly by one key or wholly by the other. Returns how many live and destroyed keys it holds.
pub fn rotate_kek(
    data: &Path,
    old: Arc<dyn KeyEncryptionKey>,
    new: &dyn KeyEncryptionKey,
) -> Result<(usize, usize)> {
    let _lock = crate::store::lock_data_dir(data)?;
    if !exists(data) {
        return Err(Error::Key(KeyError::NotSealed));
    }
    let (mut file, keys) = KeyFile::open(data, old)?;
    file.rewrite(new, &keys.entries_wrapped_by(new)?)?;
    Ok(keys.counts())
}

/// Writes `bytes` as the key file of `dir`: temporary file, `fsync`, rename, directory `fsync`.
fn write_whole(dir: &Path, bytes: &[u8]) -> Result<()> {
    let temporary = dir.join(format!("{KEYS_FILE}.new"));
    {
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
    }
    fs::rename(&temporary, dir.join(KEYS_FILE))?;
    File::open(dir)?.sync_all()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use journey_core::content_keys::LocalKek;

    fn kek() -> Arc<dyn KeyEncryptionKey> {
        Arc::new(LocalKek::from_bytes([7; 32]))
    }

    fn child(s: &str) -> ChildId {
        ChildId::parse(s).unwrap()
    }

    #[test]
    fn keys_survive_reopening_and_a_destruction_leaves_no_wrapped_key_in_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let (mut file, keys) = KeyFile::create(dir.path(), kek()).unwrap();
        let (k1, e1) = keys.create(&child("c-1")).unwrap();
        let (_, e2) = keys.create(&child("c-2")).unwrap();
        let wrapped_1 = match &e1 {
            KeyEntry::Wrapped { wrapped, .. } => wrapped.clone(),
            _ => unreachable!(),
        };
        file.append(&[e1, e2]).unwrap();
        drop(file);
        let (mut file, keys) = KeyFile::open(dir.path(), kek()).unwrap();
        assert_eq!(keys.key(&child("c-1")).unwrap().expose(), k1.expose());
        keys.mark_destroyed(&[child("c-1")], Timestamp::from_micros(9).unwrap());
        file.rewrite(kek().as_ref(), &keys.entries_wrapped_by(kek().as_ref()).unwrap())
            .unwrap();
        let bytes = fs::read(dir.path().join(KEYS_DIR).join(KEYS_FILE)).unwrap();
        assert!(!bytes.windows(wrapped_1.len()).any(|w| w == wrapped_1));
        let (_, keys) = KeyFile::open(dir.path(), kek()).unwrap();
        assert!(matches!(keys.key(&child("c-1")), Err(KeyError::Destroyed { .. })));
        assert!(keys.key(&child("c-2")).is_ok());
    }

    #[test]
    fn rotating_the_kek_rewraps_every_key_and_the_old_one_no_longer_opens_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let (mut file, keys) = KeyFile::create(dir.path(), kek()).unwrap();
        let (k1, e1) = keys.create(&child("c-1")).unwrap();
        file.append(&[e1]).unwrap();
        drop(file);
        let new = LocalKek::from_bytes([9; 32]);
        assert_eq!(rotate_kek(dir.path(), kek(), &new).unwrap(), (1, 0));
        let err = KeyFile::open(dir.path(), kek()).unwrap_err();
        assert!(matches!(err, Error::Key(KeyError::WrongKek { .. })), "{err}");
        let (_, keys) = KeyFile::open(dir.path(), Arc::new(new)).unwrap();
        assert_eq!(keys.key(&child("c-1")).unwrap().expose(), k1.expose());
        // With the wrong old key nothing changes.
        let wrong: Arc<dyn KeyEncryptionKey> = Arc::new(LocalKek::from_bytes([1; 32]));
        assert!(rotate_kek(dir.path(), wrong, &LocalKek::from_bytes([2; 32])).is_err());
    }

    #[test]
    fn another_kek_is_refused_by_name_and_damage_is_refused_but_a_torn_tail_is_cut() {
        let dir = tempfile::tempdir().unwrap();
        let (mut file, keys) = KeyFile::create(dir.path(), kek()).unwrap();
        let (_, e1) = keys.create(&child("c-1")).unwrap();
        let (_, e2) = keys.create(&child("c-2")).unwrap();
        file.append(&[e1]).unwrap();
        file.append(&[e2]).unwrap();
        drop(file);
        let other: Arc<dyn KeyEncryptionKey> = Arc::new(LocalKek::from_bytes([8; 32]));
        let err = KeyFile::open(dir.path(), other).unwrap_err();
        assert!(matches!(err, Error::Key(KeyError::WrongKek { .. })), "{err}");

        let path = dir.path().join(KEYS_DIR).join(KEYS_FILE);
        let whole = fs::read(&path).unwrap();
        // A torn final entry: cut off, the first key kept.
        fs::write(&path, &whole[..whole.len() - 5]).unwrap();
        let (_, keys) = KeyFile::open(dir.path(), kek()).unwrap();
        assert_eq!(keys.counts(), (1, 0));
        // A flipped byte inside the first entry: refused, loudly.
        let mut damaged = whole.clone();
        let header_len = MAGIC.len() + 1 + 16 + 4;
        damaged[header_len + 12] ^= 0xff;
        fs::write(&path, &damaged).unwrap();
        let err = KeyFile::open(dir.path(), kek()).unwrap_err().to_string();
        assert!(err.contains("fails its checksum"), "{err}");
        // No header at all.
        fs::write(&path, b"").unwrap();
        assert!(KeyFile::open(dir.path(), kek()).is_err());
    }
}
