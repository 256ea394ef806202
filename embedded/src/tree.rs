//! The Merkle tree over the embedded log (ADR 10), as level files beside it:
//!
//! ```text
//! <data>/tree/level-0.hashes   every leaf hash, 32 bytes each: leaf i is the record at position i + 1
//! <data>/tree/level-1.hashes   the root of each full run of 256 hashes of level 0
//! <data>/tree/level-2.hashes   … and so on up (journey_tlog::tree)
//! ```
//!
//! A C2SP tile `tile/L/N[.p/W]` is bytes `[N·8192, N·8192 + 32·W)` of file L: serving it is one `pread`.
//! About 32.13 bytes per record.
//!
//! **Maintained off the commit path.** After each durable group the committer hands the group's entries
//! (`stream_hash ‖ log_hash ‖ body`, already in memory) to the tree thread and goes on: the tree thread hashes
//! the leaves, appends one write per level, and publishes the new size. Nothing is synced on the way:
//! the level files are `fdatasync`ed only before a checkpoint is signed ([`TreeMsg::Sync`]) and at close.
//! The tree is derived, like the index: whatever a crash leaves of it is repaired or rebuilt from the log.
//!
//! **Opening is O(1)** (one read per level and one of the log), and happens on the tree thread, after the
//! store is open: each level file is cut to whole hashes; level l + 1 must hold one hash per 256 of level l
//! (missing ones are recomputed, extra ones cut); level 0 may not hold more leaves than the log has
//! records; its last leaf must be the log's record at that position; and the root at the last stored
//! checkpoint's size must be that checkpoint's (at most a thousand hashes read). Then the records the tree
//! lacks are read from the log. If any check fails, or the files are missing, the tree is moved aside
//! (`tree.discarded`) and rebuilt from the log in the background; meanwhile [`TreeShared::status`] says so
//! and proofs and signatures are refused with "try again later".

use std::fs::{self, File};
use std::io::Write as _;
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, RwLock};

use futures::channel::oneshot;
use journey_core::error::{Error, Result};
use journey_core::store::tree::TreeStatus;
use journey_core::tlog::tree::{HashReader, level_count, level_len};
use journey_core::tlog::{Hash, LeafEntry, LevelAppend, TreeBuilder};

use crate::log::{EntryLocation, LogReader};

pub(crate) const TREE_DIR: &str = "tree";
/// Where a tree that failed its checks is moved before it is rebuilt (the previous one there is removed).
pub(crate) const DISCARDED_DIR: &str = "tree.discarded";

const HASH_LEN: u64 = 32;
const TILE: u64 = journey_core::tlog::tree::TILE_WIDTH as u64;
/// Records read from the log per batch while catching up or rebuilding.
const BATCH: usize = 16_384;

pub(crate) fn level_path(dir: &Path, level: u8) -> PathBuf {
    dir.join(format!("level-{level}.hashes"))
}

/// The level files as they stand: one file per level and how many hashes each holds.
#[derive(Debug, Default, Clone)]
pub(crate) struct Levels {
    files: Vec<Arc<File>>,
    lens: Vec<u64>,
}

impl Levels {
    /// The level files of `dir`, opened for reading (and appending, when `writable`), from level 0 up to the
    /// first that is missing.
    pub(crate) fn open(dir: &Path, writable: bool) -> std::io::Result<Levels> {
        let mut levels = Levels::default();
        for level in 0u8..=8 {
            let path = level_path(dir, level);
            if !path.exists() {
                break;
            }
            let file = File::options().read(true).append(writable).open(&path)?;
            let len = file.metadata()?.len() / HASH_LEN;
            levels.files.push(Arc::new(file));
            levels.lens.push(len);
        }
        Ok(levels)
    }

    pub(crate) fn len(&self, level: u8) -> u64 {
        self.lens.get(usize::from(level)).copied().unwrap_or(0)
    }

    /// Appends what a [`TreeBuilder`] completed: each append must start where its level ends.
    fn append(&mut self, dir: &Path, appends: &[LevelAppend]) -> std::io::Result<()> {
        for append in appends {
            let level = usize::from(append.level);
            if level == self.files.len() {
                let file = File::options()
                    .read(true)
                    .append(true)
                    .create(true)
                    .open(level_path(dir, append.level))?;
                self.files.push(Arc::new(file));
                self.lens.push(0);
            }
            if append.start != self.lens[level] {
                return Err(std::io::Error::other(format!(
                    "level {level} holds {} hashes; an append must start there, not at {}",
                    self.lens[level], append.start
                )));
            }
            (&*self.files[level]).write_all(&append.hashes.concat())?;
            self.lens[level] += append.hashes.len() as u64;
        }
        Ok(())
    }

    fn sync(&self, dir: &Path) -> std::io::Result<()> {
        for file in &self.files {
            file.sync_data()?;
        }
        File::open(dir)?.sync_all()
    }
}

impl HashReader for Levels {
    fn read_hashes(&self, level: u8, start: u64, out: &mut [Hash]) -> journey_core::tlog::Result<()> {
        let count = out.len() as u64;
        let unreadable = |why: String| journey_core::tlog::Error::HashRead {
            level,
            start,
            count,
            source: why.into(),
        };
        if start.checked_add(count).is_none_or(|end| end > self.len(level)) {
            return Err(unreadable(format!(
                "level {level} holds {} hashes",
                self.len(level)
            )));
        }
        let mut bytes = vec![0u8; out.len() * HASH_LEN as usize];
        self.files[usize::from(level)]
            .read_exact_at(&mut bytes, start * HASH_LEN)
            .map_err(|e| unreadable(e.to_string()))?;
        for (hash, chunk) in out.iter_mut().zip(bytes.chunks_exact(HASH_LEN as usize)) {
            hash.copy_from_slice(chunk);
        }
        Ok(())
    }
}

/// What readers see of the tree: the levels up to `size` leaves, or why it is being rebuilt.
#[derive(Debug)]
struct View {
    size: u64,
    levels: Levels,
    rebuilding: Option<String>,
    /// A rebuild asked for and not yet done (set by the asker, so that no proof or signature slips in
    /// before the thread gets to it).
    rebuild_pending: Option<String>,
    /// Set when writing the tree failed: it is behind the log until the store is reopened (and repaired).
    failed: Option<String>,
}

/// The tree, shared between its thread (the only writer) and readers (proofs, tiles).
#[derive(Debug)]
pub(crate) struct TreeShared {
    view: RwLock<View>,
}

impl TreeShared {
    pub(crate) fn new() -> TreeShared {
        TreeShared {
            view: RwLock::new(View {
                size: 0,
                levels: Levels::default(),
                rebuilding: Some("the tree is being opened".into()),
                rebuild_pending: None,
                failed: None,
            }),
        }
    }

    fn view(&self) -> std::sync::RwLockReadGuard<'_, View> {
        self.view
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn view_mut(&self) -> std::sync::RwLockWriteGuard<'_, View> {
        self.view
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn status(&self) -> TreeStatus {
        let view = self.view();
        TreeStatus {
            size: view.size,
            rebuilding: view
                .rebuilding
                .clone()
                .or_else(|| view.rebuild_pending.clone())
                .or_else(|| {
                    view.failed
                        .as_ref()
                        .map(|f| format!("writing the tree failed ({f}); reopen the store"))
                }),
        }
    }

    /// Marks the tree as being rebuilt until its thread has done so.
    pub(crate) fn rebuild_requested(&self, why: &str) {
        self.view_mut().rebuild_pending = Some(why.to_owned());
    }
}

impl HashReader for TreeShared {
    /// Reads hashes of the tree as published: never past its size, whatever the files hold.
    fn read_hashes(&self, level: u8, start: u64, out: &mut [Hash]) -> journey_core::tlog::Result<()> {
        let (levels, size) = {
            let view = self.view();
            (view.levels.clone(), view.size)
        };
        let stored = level_len(level, size);
        if start.checked_add(out.len() as u64).is_none_or(|end| end > stored) {
            return Err(journey_core::tlog::Error::HashRead {
                level,
                start,
                count: out.len() as u64,
                source: format!("the tree of {size} leaves holds {stored} hashes at level {level}").into(),
            });
        }
        levels.read_hashes(level, start, out)
    }
}

/// What the tree thread is asked to do.
pub(crate) enum TreeMsg {
    /// A durable group's log entries (`stream_hash ‖ log_hash ‖ body`), in position order, following the
    /// previous ones.
    Entries(Vec<Vec<u8>>),
    /// Make the level files durable; answer with the size they cover.
    Sync(oneshot::Sender<Result<u64>>),
    /// A check found the tree does not match the log: throw it away and rebuild it.
    Rebuild(String),
}

/// The entry of a log record: its first 64 bytes.
fn leaf_entry(bytes: &[u8]) -> Option<LeafEntry> {
    (bytes.len() >= 64).then(|| LeafEntry {
        stream_hash: bytes[..32].try_into().expect("32 bytes"),
        log_hash: bytes[32..64].try_into().expect("32 bytes"),
    })
}

/// The tree thread: opens (or rebuilds) the tree, brings it level with the `records` the log held when the
/// store opened, then follows the committer's groups. Ends when every sender is gone, after a final sync.
pub(crate) struct TreeThread {
    pub(crate) data: PathBuf,
    pub(crate) shared: Arc<TreeShared>,
    pub(crate) reader: LogReader,
    /// The number of records in the log when the store opened: the committer sends what comes after.
    pub(crate) records: u64,
    /// The last stored checkpoint's size and root, checked against the tree when it is opened.
    pub(crate) checkpoint: Option<(u64, Hash)>,
    /// Where the record at a position is in the log (the store's index).
    pub(crate) locate: Box<dyn Fn(u64) -> Option<EntryLocation> + Send>,
}

struct Tree {
    dir: PathBuf,
    levels: Levels,
    builder: TreeBuilder,
    /// Whether something was written since the last sync.
    dirty: bool,
}

impl TreeThread {
    pub(crate) fn run(self, messages: mpsc::Receiver<TreeMsg>) {
        let dir = self.data.join(TREE_DIR);
        let mut tree = match self.open(&dir) {
            Ok(tree) => Some(tree),
            Err(why) => {
                if self.records > 0 || why != NO_TREE {
                    tracing::warn!(reason = %why, records = self.records, "rebuilding the tree from the log");
                }
                self.rebuild(&dir, self.records, why)
            }
        };
        if let Some(t) = &mut tree
            && let Err(e) = self.catch_up(t)
        {
            self.fail(format!("catching the tree up with the log: {e}"));
            tree = None;
        }
        while let Ok(message) = messages.recv() {
            match message {
                TreeMsg::Entries(entries) => {
                    if let Some(t) = &mut tree
                        && let Err(e) = self.push(t, entries.iter().filter_map(|e| leaf_entry(e)))
                    {
                        self.fail(format!("appending to the tree: {e}"));
                        tree = None;
                    }
                }
                TreeMsg::Sync(reply) => {
                    let answer = match &mut tree {
                        Some(t) => t.sync().map(|()| t.builder.size()).map_err(Error::from),
                        None => Err(Error::Unavailable(
                            self.shared.status().rebuilding.unwrap_or_default(),
                        )),
                    };
                    let _ = reply.send(answer);
                }
                TreeMsg::Rebuild(why) => {
                    let Some(t) = tree.take() else { continue };
                    let size = t.builder.size();
                    drop(t);
                    tracing::error!(reason = %why, "the tree does not match the log: rebuilding it from the log");
                    tree = self.rebuild(&dir, size, why);
                }
            }
        }
        if let Some(t) = &mut tree
            && let Err(e) = t.sync()
        {
            tracing::error!(error = %e, "syncing the tree at close failed; the next open repairs it");
        }
    }

    fn fail(&self, why: String) {
        tracing::error!(error = %why, "the tree stopped: proofs and checkpoints wait until the store is reopened");
        self.shared.view_mut().failed = Some(why);
    }

    fn publish(&self, tree: &Tree) {
        let mut view = self.shared.view_mut();
        view.size = tree.builder.size();
        view.levels = tree.levels.clone();
        view.rebuilding = None;
    }

    /// Opens and checks the stored tree (see the module's documentation). `Err` says why it must be rebuilt.
    fn open(&self, dir: &Path) -> std::result::Result<Tree, String> {
        if !dir.is_dir() {
            return Err(NO_TREE.into());
        }
        let check = || -> std::result::Result<Tree, String> {
            repair_levels(dir).map_err(|e| format!("the level files cannot be repaired: {e}"))?;
            let levels = Levels::open(dir, true).map_err(|e| e.to_string())?;
            let size = levels.len(0);
            if size > self.records {
                return Err(format!(
                    "the tree holds {size} leaves, but the log only {} records",
                    self.records
                ));
            }
            if size > 0 {
                let stored = {
                    let mut leaf = [[0u8; 32]];
                    levels
                        .read_hashes(0, size - 1, &mut leaf)
                        .map_err(|e| e.to_string())?;
                    leaf[0]
                };
                let from_log = self
                    .entry_at(size)
                    .ok_or_else(|| format!("position {size} cannot be read from the log"))?;
                if from_log.leaf_hash() != stored {
                    return Err(format!(
                        "the tree's last leaf (position {size}) is not the log's record there"
                    ));
                }
            }
            if let Some((cp_size, cp_root)) = self.checkpoint
                && cp_size <= size
            {
                let root = journey_core::tlog::tree::root(cp_size, &levels).map_err(|e| e.to_string())?;
                if root != cp_root {
                    return Err(format!(
                        "the tree's root at tree size {cp_size} is not the one the checkpoint signed there"
                    ));
                }
            }
            let builder = TreeBuilder::resume(size, &levels).map_err(|e| e.to_string())?;
            Ok(Tree {
                dir: dir.to_owned(),
                levels,
                builder,
                dirty: false,
            })
        };
        let tree = check()?;
        self.publish(&tree);
        Ok(tree)
    }

    /// The entry of the record at `position`: one read, where the index says it is.
    fn entry_at(&self, position: u64) -> Option<LeafEntry> {
        let location = (self.locate)(position)?;
        leaf_entry(&self.reader.read(location).ok()?)
    }

    /// Appends leaves, one write per level, and publishes the new size.
    fn push(&self, tree: &mut Tree, entries: impl Iterator<Item = LeafEntry>) -> std::io::Result<()> {
        for entry in entries {
            tree.builder.push(entry.leaf_hash());
        }
        let appends = tree.builder.take_appends();
        if appends.is_empty() {
            return Ok(());
        }
        tree.levels.append(&tree.dir, &appends)?;
        tree.dirty = true;
        self.publish(tree);
        Ok(())
    }

    /// Reads from the log the records after the tree's last leaf, up to the records the log held at open.
    fn catch_up(&self, tree: &mut Tree) -> Result<()> {
        let from = tree.builder.size();
        if from >= self.records {
            return Ok(());
        }
        let start = (self.locate)(from + 1)
            .ok_or_else(|| Error::Index(format!("position {} is not in the index", from + 1)))?;
        let mut entries = Vec::with_capacity(BATCH);
        for item in self
            .reader
            .scan(Some((start.segment, start.offset)))
            .take((self.records - from) as usize)
        {
            let (_, bytes) = item?;
            entries.push(
                leaf_entry(&bytes)
                    .ok_or_else(|| Error::Decode("a log entry shorter than its hashes".into()))?,
            );
            if entries.len() == BATCH {
                self.push(tree, entries.drain(..))?;
            }
        }
        self.push(tree, entries.drain(..))?;
        if tree.builder.size() != self.records {
            return Err(Error::Index(format!(
                "the log held {} records when the store opened, but only {} could be read",
                self.records,
                tree.builder.size()
            )));
        }
        Ok(())
    }

    /// Moves the tree aside and builds it again from the first `size` records of the log. Proofs are
    /// refused meanwhile. `None` if that failed (logged, and said by the status).
    fn rebuild(&self, dir: &Path, size: u64, why: String) -> Option<Tree> {
        {
            let mut view = self.shared.view_mut();
            view.rebuilding = Some(why.clone());
            view.size = 0;
            view.levels = Levels::default();
        }
        let started = std::time::Instant::now();
        let built = (|| -> Result<Tree> {
            let discarded = dir.with_file_name(DISCARDED_DIR);
            if discarded.exists() {
                fs::remove_dir_all(&discarded)?;
            }
            if dir.exists() {
                fs::rename(dir, &discarded)?;
            }
            fs::create_dir_all(dir)?;
            let mut tree = Tree {
                dir: dir.to_owned(),
                levels: Levels::default(),
                builder: TreeBuilder::new(),
                dirty: true,
            };
            let mut entries = Vec::with_capacity(BATCH);
            for item in self.reader.scan(None).take(size as usize) {
                let (_, bytes) = item?;
                entries.push(
                    leaf_entry(&bytes)
                        .ok_or_else(|| Error::Decode("a log entry shorter than its hashes".into()))?,
                );
                if entries.len() == BATCH {
                    push_quietly(&mut tree, entries.drain(..))?;
                }
            }
            push_quietly(&mut tree, entries.drain(..))?;
            tree.sync()?;
            Ok(tree)
        })();
        match built {
            Ok(tree) => {
                self.shared.view_mut().rebuild_pending = None;
                tracing::info!(
                    leaves = tree.builder.size(),
                    millis = started.elapsed().as_millis() as u64,
                    reason = %why,
                    "rebuilt the tree from the log"
                );
                self.publish(&tree);
                Some(tree)
            }
            Err(e) => {
                self.fail(format!("rebuilding the tree from the log: {e}"));
                None
            }
        }
    }
}

const NO_TREE: &str = "there was no tree";

/// Appends without publishing: a tree being rebuilt is shown only once whole.
fn push_quietly(tree: &mut Tree, entries: impl Iterator<Item = LeafEntry>) -> std::io::Result<()> {
    for entry in entries {
        tree.builder.push(entry.leaf_hash());
    }
    let appends = tree.builder.take_appends();
    tree.levels.append(&tree.dir, &appends)
}

impl Tree {
    fn sync(&mut self) -> std::io::Result<()> {
        if self.dirty {
            self.levels.sync(&self.dir)?;
            self.dirty = false;
        }
        Ok(())
    }
}

/// Brings the level files to a shape a tree can have: each cut to whole hashes, each level above holding
/// one hash per full run of 256 below (recomputed when missing, cut when extra), no level above the last.
/// What a crash can leave (the files are appended level by level, never synced on the way) is repaired;
/// whether the hashes are right is checked afterwards.
fn repair_levels(dir: &Path) -> std::io::Result<()> {
    for level in 0u8..=8 {
        let path = level_path(dir, level);
        if !path.exists() {
            break;
        }
        let file = File::options().write(true).open(&path)?;
        let len = file.metadata()?.len();
        if len % HASH_LEN != 0 {
            file.set_len(len - len % HASH_LEN)?;
        }
    }
    let leaves = Levels::open(dir, false)?.len(0);
    let count = level_count(leaves);
    for level in 1u8..=8 {
        let path = level_path(dir, level);
        let wanted = level_len(level, leaves);
        if usize::from(level) >= count.max(1) {
            if path.exists() {
                fs::remove_file(&path)?;
            }
            continue;
        }
        let levels = Levels::open(dir, false)?;
        let have = levels.len(level);
        if have > wanted {
            File::options()
                .write(true)
                .open(&path)?
                .set_len(wanted * HASH_LEN)?;
        } else if have < wanted {
            let mut file = File::options().append(true).create(true).open(&path)?;
            let mut below = vec![[0u8; 32]; TILE as usize];
            for index in have..wanted {
                levels
                    .read_hashes(level - 1, index * TILE, &mut below)
                    .map_err(std::io::Error::other)?;
                let mut builder = TreeBuilder::new();
                below.iter().for_each(|h| builder.push(*h));
                file.write_all(&builder.root())?;
            }
        }
    }
    Ok(())
}

/// The level files of a data directory opened for reading only, with the number of leaves they hold
/// (`None` when there is no tree), for `journey verify`.
pub(crate) fn open_read_only(data: &Path) -> std::io::Result<Option<(Levels, u64)>> {
    let dir = data.join(TREE_DIR);
    if !dir.is_dir() {
        return Ok(None);
    }
    let levels = Levels::open(&dir, false)?;
    let size = levels.len(0);
    Ok(Some((levels, size)))
}
