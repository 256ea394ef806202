//! Content-addressed storage for bytes the journal refers to by hash: policy components and the example cases
//! shipped with them. A blob's name is the SHA-256 of its bytes, so a blob can never change under its name,
//! and every read re-checks the hash (a damaged or altered blob is an error, never served).
//!
//! [`FileBlobStore`] writes each blob once (temporary file, `fsync`, rename, directory `fsync`), so a blob
//! named in an acknowledged journal record survives a crash: callers store the blob before the record.

use std::collections::HashMap;
use std::fmt;
use std::fs::{self, File};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use futures::future::{BoxFuture, FutureExt, ready};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// The SHA-256 of a blob's bytes: its name.
pub fn blob_hash(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Where blobs are kept. Asynchronous, because a blob store may be a database shared by several servers
/// (`journey-postgres`); the file and memory stores here answer at once.
pub trait BlobStore: Send + Sync + fmt::Debug {
    /// Stores `bytes` (if not already stored) and returns their hash. Durable when it resolves.
    fn put(&self, bytes: &[u8]) -> BoxFuture<'static, Result<[u8; 32]>>;
    /// The bytes named `hash`, checked against it; [`Error::NotFound`] if there are none.
    fn get(&self, hash: &[u8; 32]) -> BoxFuture<'static, Result<Vec<u8>>>;
}

/// Checks bytes read from any blob store against the name they were read under.
pub fn check_blob(hash: &[u8; 32], bytes: Vec<u8>) -> Result<Vec<u8>> {
    check(hash, bytes)
}

/// Blobs as files `<dir>/sha256/<hex>`.
#[derive(Debug)]
pub struct FileBlobStore {
    dir: PathBuf,
}

impl FileBlobStore {
    pub fn open(dir: impl AsRef<Path>) -> Result<FileBlobStore> {
        let dir = dir.as_ref().join("sha256");
        fs::create_dir_all(&dir)?;
        Ok(FileBlobStore { dir })
    }

    fn path(&self, hash: &[u8; 32]) -> PathBuf {
        self.dir.join(hex::encode(hash))
    }
}

impl BlobStore for FileBlobStore {
    fn put(&self, bytes: &[u8]) -> BoxFuture<'static, Result<[u8; 32]>> {
        ready(self.put_now(bytes)).boxed()
    }

    fn get(&self, hash: &[u8; 32]) -> BoxFuture<'static, Result<Vec<u8>>> {
        ready(self.get_now(hash)).boxed()
    }
}

impl FileBlobStore {
    fn put_now(&self, bytes: &[u8]) -> Result<[u8; 32]> {
        let hash = blob_hash(bytes);
        let path = self.path(&hash);
        if path.exists() && self.get_now(&hash).is_ok() {
            return Ok(hash);
        }
        // A unique temporary name per writer, so that two writers of the same blob cannot interleave.
        let temporary = self.dir.join(format!(
            ".{}.{}.{:?}.tmp",
            hex::encode(hash),
            std::process::id(),
            std::thread::current().id()
        ));
        {
            let mut file = File::create(&temporary)?;
            file.write_all(bytes)?;
            file.sync_all()?;
        }
        fs::rename(&temporary, &path)?;
        File::open(&self.dir)?.sync_all()?;
        Ok(hash)
    }

    fn get_now(&self, hash: &[u8; 32]) -> Result<Vec<u8>> {
        let bytes = match fs::read(self.path(hash)) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Err(Error::NotFound(format!("blob sha256:{}", hex::encode(hash))));
            }
            Err(e) => return Err(e.into()),
        };
        check(hash, bytes)
    }
}

fn check(hash: &[u8; 32], bytes: Vec<u8>) -> Result<Vec<u8>> {
    if &blob_hash(&bytes) == hash {
        Ok(bytes)
    } else {
        Err(Error::Decode(format!(
            "blob sha256:{} does not match its name: it was altered or damaged",
            hex::encode(hash)
        )))
    }
}

/// Blobs in memory, for tests.
#[derive(Debug, Default)]
pub struct MemoryBlobStore {
    blobs: Mutex<HashMap<[u8; 32], Vec<u8>>>,
}

impl BlobStore for MemoryBlobStore {
    fn put(&self, bytes: &[u8]) -> BoxFuture<'static, Result<[u8; 32]>> {
        let hash = blob_hash(bytes);
        self.blobs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(hash)
            .or_insert_with(|| bytes.to_vec());
        ready(Ok(hash)).boxed()
    }

    fn get(&self, hash: &[u8; 32]) -> BoxFuture<'static, Result<Vec<u8>>> {
        let bytes = self
            .blobs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(hash)
            .cloned()
            .ok_or_else(|| Error::NotFound(format!("blob sha256:{}", hex::encode(hash))));
        ready(bytes.and_then(|bytes| check(hash, bytes))).boxed()
    }
}

#[cfg(test)]
mod tests {
    use futures::executor::block_on;

    use super::*;

    #[test]
    fn blobs_are_named_by_their_hash_and_checked_on_read() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileBlobStore::open(dir.path()).unwrap();
        let hash = block_on(store.put(b"component bytes")).unwrap();
        assert_eq!(hash, blob_hash(b"component bytes"));
        assert_eq!(
            block_on(store.put(b"component bytes")).unwrap(),
            hash,
            "storing twice is harmless"
        );
        assert_eq!(block_on(store.get(&hash)).unwrap(), b"component bytes");
        assert!(matches!(
            block_on(store.get(&blob_hash(b"other"))),
            Err(Error::NotFound(_))
        ));

        fs::write(store.path(&hash), b"altered bytes").unwrap();
        let err = block_on(store.get(&hash)).unwrap_err();
        assert!(err.to_string().contains("altered or damaged"), "{err}");
        // Storing the right bytes again repairs it.
        block_on(store.put(b"component bytes")).unwrap();
        assert_eq!(block_on(store.get(&hash)).unwrap(), b"component bytes");

        let memory = MemoryBlobStore::default();
        let hash = block_on(memory.put(b"x")).unwrap();
        assert_eq!(block_on(memory.get(&hash)).unwrap(), b"x");
    }
}
