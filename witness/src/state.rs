//! The witness's state directory: per origin, the last checkpoint it cosigned and whether it is frozen, and
//! the evidence of every misbehaviour it saw.
//!
//! ```text
//! <state_dir>/witness.lock                    held by the running witness (one process per directory)
//! <state_dir>/state/<hex sha256(origin)>.checkpoint   the last cosigned checkpoint: the log's signature
//!                                             and the witness's cosignature, exactly as served
//! <state_dir>/state/<hex sha256(origin)>.frozen       why the origin is frozen (present: never cosign it)
//! <state_dir>/evidence/<hex sha256(origin)[..16]>/<kind>-<size>-<root hex[..16]>/
//!     alert.txt            what was wrong, when, both sizes and roots
//!     cosigned.checkpoint  the witness's last cosigned checkpoint of the origin, if any
//!     offered.checkpoint   the checkpoint refused, byte for byte
//!     add-checkpoint       `old <size>`, the consistency proof, the offered checkpoint: the request a
//!                          standard witness (or `journey verify-export --later`) can replay
//! ```
//!
//! Every file is replaced whole: written to a temporary file, synced, renamed over the old one, and the
//! directory synced, so a crash leaves the old state or the new one, never a mixture. A temporary file left
//! by a crash is removed on the next open.

use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use journey_tlog::{Origin, SignedCheckpoint};
use sha2::{Digest as _, Sha256};

use crate::error::{Error, Result};

/// Where temporary files get their name: `.<name>.tmp`.
const TMP_SUFFIX: &str = ".tmp";

/// The hex SHA-256 of an origin: its file name here and its path in the monitoring API
/// (c2sp.org/tlog-witness `GET <prefix>/<hex>/checkpoint`).
pub fn origin_hex(origin: &Origin) -> String {
    hex::encode(Sha256::digest(origin.as_str().as_bytes()))
}

/// Syncs a directory, so that a rename or a new file in it survives a crash.
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(dir, e))
}

/// The state directory, locked for this process.
#[derive(Debug)]
pub struct StateDir {
    root: PathBuf,
    /// Holds the lock on `witness.lock` for as long as the directory is open.
    _lock: File,
}

/// A checkpoint written and synced to its temporary file, not yet in place: [`PreparedState::commit`]
/// renames it over the state file. Dropped uncommitted, the temporary file is removed.
#[derive(Debug)]
pub struct PreparedState {
    tmp: PathBuf,
    target: PathBuf,
    dir: PathBuf,
    committed: bool,
}

impl PreparedState {
    /// Puts the checkpoint in place: rename, then sync the directory.
    pub fn commit(mut self) -> Result<()> {
        std::fs::rename(&self.tmp, &self.target).map_err(|e| Error::io(&self.target, e))?;
        self.committed = true;
        sync_dir(&self.dir)
    }
}

impl Drop for PreparedState {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// What a refused checkpoint leaves behind.
#[derive(Debug)]
pub struct Evidence<'a> {
    pub origin: &'a Origin,
    /// The alert kind or refusal, as in metrics (`split_view`).
    pub kind: &'a str,
    /// The alert's text.
    pub report: &'a str,
    pub cosigned: Option<&'a SignedCheckpoint>,
    /// The bytes offered, parsed or not.
    pub offered: &'a [u8],
    /// The offered checkpoint's size and root, when it parsed: they name the evidence directory.
    pub offered_tree: Option<(u64, [u8; 32])>,
    /// The add-checkpoint request body, when there was a proof.
    pub request: Option<Vec<u8>>,
}

impl StateDir {
    /// Opens (creating it if needed) and locks a state directory; removes temporary files a crash left.
    pub fn open(root: &Path) -> Result<StateDir> {
        for dir in [root.to_path_buf(), root.join("state"), root.join("evidence")] {
            std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        }
        let lock_path = root.join("witness.lock");
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| Error::io(&lock_path, e))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(Error::Locked {
                    path: root.to_path_buf(),
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(&lock_path, e)),
        }
        let state = root.join("state");
        let entries = std::fs::read_dir(&state).map_err(|e| Error::io(&state, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(&state, e))?;
            let name = entry.file_name();
            if name.to_string_lossy().ends_with(TMP_SUFFIX) {
                tracing::warn!(file = %entry.path().display(), "removing a temporary state file a crash left");
                std::fs::remove_file(entry.path()).map_err(|e| Error::io(entry.path(), e))?;
            }
        }
        Ok(StateDir {
            root: root.to_path_buf(),
            _lock: lock,
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The state file of an origin.
    pub fn checkpoint_path(&self, origin: &Origin) -> PathBuf {
        self.root
            .join("state")
            .join(format!("{}.checkpoint", origin_hex(origin)))
    }

    fn frozen_path(&self, origin: &Origin) -> PathBuf {
        self.root
            .join("state")
            .join(format!("{}.frozen", origin_hex(origin)))
    }

    /// The last checkpoint cosigned for an origin, read strictly (signatures are the caller's to check);
    /// `None` if the witness never cosigned one.
    pub fn read_checkpoint(&self, origin: &Origin) -> Result<Option<SignedCheckpoint>> {
        let path = self.checkpoint_path(origin);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(&path, e)),
        };
        let signed = SignedCheckpoint::parse(&bytes).map_err(|e| Error::State {
            path: path.clone(),
            reason: format!("not a signed checkpoint: {e}"),
        })?;
        if &signed.checkpoint().origin != origin {
            return Err(Error::State {
                path,
                reason: format!(
                    "holds a checkpoint of {}, not of {origin}",
                    signed.checkpoint().origin
                ),
            });
        }
        Ok(Some(signed))
    }

    /// Writes and syncs the new state of an origin to a temporary file; [`PreparedState::commit`] puts it
    /// in place.
    pub fn prepare_checkpoint(&self, signed: &SignedCheckpoint) -> Result<PreparedState> {
        let target = self.checkpoint_path(&signed.checkpoint().origin);
        let (tmp, dir) = write_synced_tmp(&target, &signed.to_bytes())?;
        Ok(PreparedState {
            tmp,
            target,
            dir,
            committed: false,
        })
    }

    /// Replaces the state of an origin atomically and durably.
    pub fn write_checkpoint(&self, signed: &SignedCheckpoint) -> Result<()> {
        self.prepare_checkpoint(signed)?.commit()
    }

    /// Why the origin is frozen, if it is.
    pub fn frozen(&self, origin: &Origin) -> Result<Option<String>> {
        let path = self.frozen_path(origin);
        match std::fs::read_to_string(&path) {
            Ok(reason) => Ok(Some(reason)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(&path, e)),
        }
    }

    /// Freezes an origin durably: the witness never cosigns it again until an operator clears it.
    pub fn freeze(&self, origin: &Origin, reason: &str) -> Result<()> {
        let target = self.frozen_path(origin);
        let (tmp, dir) = write_synced_tmp(&target, reason.as_bytes())?;
        std::fs::rename(&tmp, &target).map_err(|e| Error::io(&target, e))?;
        sync_dir(&dir)
    }

    /// Clears an origin's freeze; gives whether it was frozen. The evidence stays.
    pub fn unfreeze(&self, origin: &Origin) -> Result<bool> {
        let path = self.frozen_path(origin);
        match std::fs::remove_file(&path) {
            Ok(()) => {
                sync_dir(&self.root.join("state"))?;
                Ok(true)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(Error::io(&path, e)),
        }
    }

    /// Keeps the evidence of a refused checkpoint in its own directory, written whole before it appears.
    /// The same offence (kind, size and root) is kept once, so a log or a stranger repeating it cannot fill
    /// the disk. Gives the directory.
    pub fn keep_evidence(&self, evidence: &Evidence<'_>, now: u64) -> Result<PathBuf> {
        let origin_dir = self
            .root
            .join("evidence")
            .join(&origin_hex(evidence.origin)[..16]);
        std::fs::create_dir_all(&origin_dir).map_err(|e| Error::io(&origin_dir, e))?;
        let name = match evidence.offered_tree {
            Some((size, root)) => format!("{}-{size}-{}", evidence.kind, &hex::encode(root)[..16]),
            None => format!(
                "{}-{}",
                evidence.kind,
                &hex::encode(Sha256::digest(evidence.offered))[..16]
            ),
        };
        let target = origin_dir.join(&name);
        if target.exists() {
            return Ok(target);
        }
        let tmp = origin_dir.join(format!(".{name}{TMP_SUFFIX}"));
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir(&tmp).map_err(|e| Error::io(&tmp, e))?;
        let mut files: Vec<(&str, Vec<u8>)> = vec![
            (
                "alert.txt",
                format!("time {now}\n{}\n", evidence.report).into_bytes(),
            ),
            ("offered.checkpoint", evidence.offered.to_vec()),
        ];
        if let Some(cosigned) = evidence.cosigned {
            files.push(("cosigned.checkpoint", cosigned.to_bytes()));
        }
        if let Some(request) = &evidence.request {
            files.push(("add-checkpoint", request.clone()));
        }
        for (file, bytes) in files {
            let path = tmp.join(file);
            let mut f = File::create(&path).map_err(|e| Error::io(&path, e))?;
            f.write_all(&bytes)
                .and_then(|()| f.sync_all())
                .map_err(|e| Error::io(&path, e))?;
        }
        sync_dir(&tmp)?;
        std::fs::rename(&tmp, &target).map_err(|e| Error::io(&target, e))?;
        sync_dir(&origin_dir)?;
        Ok(target)
    }
}

/// Writes `bytes` to `.<name>.tmp` beside `target` and syncs it; gives the temporary path and the directory.
fn write_synced_tmp(target: &Path, bytes: &[u8]) -> Result<(PathBuf, PathBuf)> {
    let dir = target
        .parent()
        .expect("state files live in a directory")
        .to_path_buf();
    let name = target
        .file_name()
        .expect("state files have names")
        .to_string_lossy();
    let tmp = dir.join(format!(".{name}{TMP_SUFFIX}"));
    let mut file = File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| Error::io(&tmp, e))?;
    Ok((tmp, dir))
}
