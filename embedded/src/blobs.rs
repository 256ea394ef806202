//! Content-addressed blobs as files `<dir>/sha256/<hex>` (the trait and the rules are
//! `journey_core::blobs`). Each blob is written once (temporary file, `fsync`, rename, directory `fsync`),
//! so a blob named in an acknowledged journal record survives a crash: callers store the blob before the
//! record.

use std::fs::{self, File};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use futures::future::{BoxFuture, FutureExt, ready};
use journey_core::blobs::{BlobStore, blob_hash, check_blob};
use journey_core::{Error, Result};

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
        check_blob(hash, bytes)
    }
}

/// What [`verify_blob_dir`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct BlobCheck {
    /// False when the directory has no blobs at all.
    pub present: bool,
    /// Blob files re-hashed.
    pub checked: u64,
    /// Blobs the journal names, each checked present and intact.
    pub referenced: u64,
    /// What is wrong: a blob whose bytes are not the ones its name says, a named blob missing, a file that
    /// is not a blob.
    pub problems: Vec<String>,
}

/// Re-hashes every blob under `dir` (`<dir>/sha256/<hex>`) and checks that each blob in `referenced`
/// (what names it, and its hash) is there and intact. Modifies nothing; leftover temporary files of an
/// interrupted write (`.<hex>….tmp`) are ignored.
pub fn verify_blob_dir(dir: &Path, referenced: &[(String, [u8; 32])]) -> Result<BlobCheck> {
    let dir = dir.join("sha256");
    let mut check = BlobCheck::default();
    let mut intact = std::collections::HashSet::new();
    if dir.is_dir() {
        check.present = true;
        let mut entries: Vec<_> = fs::read_dir(&dir)?.collect::<std::io::Result<_>>()?;
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') && name.ends_with(".tmp") {
                continue;
            }
            let Some(hash) = hex::decode(&name)
                .ok()
                .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
            else {
                check.problems.push(format!(
                    "blobs/sha256/{name} is not a blob (its name is not a SHA-256)"
                ));
                continue;
            };
            check.checked += 1;
            match check_blob(&hash, fs::read(entry.path())?) {
                Ok(_) => {
                    intact.insert(hash);
                }
                Err(e) => check.problems.push(format!("blobs/sha256/{name}: {e}")),
            }
        }
    }
    for (what, hash) in referenced {
        check.referenced += 1;
        if !intact.contains(hash) && !dir.join(hex::encode(hash)).exists() {
            check.problems.push(format!(
                "{what} names blob sha256:{}, which is missing",
                hex::encode(hash)
            ));
        }
    }
    Ok(check)
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
    }
}
