//! Content-addressed storage for bytes the journal refers to by hash: policy components and the example cases
//! shipped with them. A blob's name is the SHA-256 of its bytes, so a blob can never change under its name,
//! and every read re-checks the hash (a damaged or altered blob is an error, never served).
//!
//! The stores: `MemoryBlobStore` here (tests), the file store in `journey-embedded`, the table in
//! `journey-postgres`. Every one checks what it reads with [`check_blob`].

use std::collections::HashMap;
use std::fmt;
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
        ready(bytes.and_then(|bytes| check_blob(hash, bytes))).boxed()
    }
}

#[cfg(test)]
mod tests {
    use futures::executor::block_on;

    use super::*;

    #[test]
    fn memory_blobs_are_named_by_their_hash() {
        let memory = MemoryBlobStore::default();
        let hash = block_on(memory.put(b"x")).unwrap();
        assert_eq!(hash, blob_hash(b"x"));
        assert_eq!(block_on(memory.get(&hash)).unwrap(), b"x");
        assert!(matches!(
            block_on(memory.get(&blob_hash(b"y"))),
            Err(Error::NotFound(_))
        ));
    }
}
