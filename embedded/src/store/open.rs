//! Opening: the lock on the data directory, the log's recovery, the index from its snapshot or rebuilt from
//! the log and caught up with it, and the writer's threads started.

//!   it is durable and indexed.

use super::*;

impl EmbeddedStore {
    pub fn open(dir: impl AsRef<Path>, clock: Arc<dyn Clock>) -> Result<EmbeddedStore> {
        EmbeddedStore::open_with(dir, clock, EmbeddedOptions::default())
    }

    /// Opens the store in `dir`, creating it if need be. Refuses a log that ends before what the data
    /// directory shows was durable (the log's mark, the index checkpoint): see `crate::log` and
    /// [`EmbeddedStore::open_accepting_loss`].
    pub fn open_with(
        dir: impl AsRef<Path>,
        clock: Arc<dyn Clock>,
        options: EmbeddedOptions,
    ) -> Result<EmbeddedStore> {
        EmbeddedStore::open_as(dir.as_ref(), clock, options, OpenMode::Normal)
    }

    /// Opens the store for an operator who has decided to go on without what its log lost: the log is cut
    /// where it can be continued, an index checkpoint beyond it is rebuilt, and the loss is described in
    /// [`OpenReport::loss_accepted`] (and logged as an error). The caller must record it where an
    /// investigator will see it (`journey accept-loss` writes it to the system journal). Damage that is not
    /// a lost tail is still refused.
    pub fn open_accepting_loss(
        dir: impl AsRef<Path>,
        clock: Arc<dyn Clock>,
        options: EmbeddedOptions,
    ) -> Result<EmbeddedStore> {
        EmbeddedStore::open_as(dir.as_ref(), clock, options, OpenMode::AcceptLoss)
    }

    /// Opens the store a `journey log import` is building in `dir`, which must hold the
    /// [`IMPORT_MARKER`] the import wrote first: every other open refuses such a directory, so a part-built
    /// log is never served or verified as a log (the import removes the marker, then renames the directory
    /// into place, only once every record is restored and checked).
    pub fn open_importing(dir: impl AsRef<Path>, clock: Arc<dyn Clock>) -> Result<EmbeddedStore> {
        EmbeddedStore::open_importing_with(dir, clock, EmbeddedOptions::default())
    }

    /// As [`EmbeddedStore::open_importing`], with options: a key-encryption key seals what is imported.
    pub fn open_importing_with(
        dir: impl AsRef<Path>,
        clock: Arc<dyn Clock>,
        options: EmbeddedOptions,
    ) -> Result<EmbeddedStore> {
        let dir = dir.as_ref();
        if !dir.join(IMPORT_MARKER).is_file() {
            return Err(Error::Closed(format!(
                "{} is not a directory an import is building (it has no {IMPORT_MARKER} file)",
                dir.display()
            )));
        }
        EmbeddedStore::open_as(dir, clock, options, OpenMode::Importing)
    }

    fn open_as(
        dir: &Path,
        clock: Arc<dyn Clock>,
        options: EmbeddedOptions,
        mode: OpenMode,
    ) -> Result<EmbeddedStore> {
        let started = Instant::now();
        if mode != OpenMode::Importing {
            refuse_unfinished_import(dir)?;
        }
        let accept_loss = mode == OpenMode::AcceptLoss;
        fs::create_dir_all(dir)?;
        let lock = lock_dir(dir)?;
        let (mut writer, reader, recovery) = if accept_loss {
            log::open_accepting_loss(&dir.join(LOG_DIR), options.log.clone())?
        } else {
            log::open(&dir.join(LOG_DIR), options.log.clone())?
        };
        let mut losses: Vec<String> = recovery.loss.iter().cloned().collect();
        let (index, snapshot, rebuilt, caught_up, head) =
            open_index(dir, &reader, accept_loss.then_some(&mut losses))?;
        if recovery.loss.is_none()
            && let Some(mark) = recovery.mark
            && let Err(why) = check_mark_head(&mark, &index, &reader)
        {
            if !accept_loss {
                return Err(lost(mark_location(&mark), why));
            }
            losses.push(why);
        }
        let records = head.head.position.map_or(0, |p| p.0);
        // Everything kept is durable now (recovery synced it): the mark says so, with the head, before
        // anything new is written.
        writer.mark_durable(log::Head {
            entries: records,
            hash: head.head.log_hash,
        })?;
        let report = OpenReport {
            records,
            truncated_bytes: recovery.truncated_bytes,
            truncation_reason: recovery.reason.clone(),
            index_rebuilt: rebuilt,
            index_caught_up: caught_up,
            open_millis: started.elapsed().as_millis() as u64,
            loss_accepted: (!losses.is_empty()).then(|| losses.join("; ")),
        };
        log_recovery(&recovery, &report);
        let (key_file, content_keys) = open_keys(dir, options.kek.clone(), &reader, &index)?;
        let (head_tx, _) = tokio::sync::watch::channel(records);
        let shared = Arc::new(Shared {
            reader,
            read_cache: ReadCache::new(options.read_cache_events),
            index: RwLock::new(index),
            snapshot: Mutex::new(snapshot),
            checkpoint_requested: AtomicBool::new(false),
            head: Mutex::new(head),
            head_tx,
            stats: CommitStats::default(),
            committed: AtomicU64::new(0),
            failure: Mutex::new(None),
            content_keys,
            key_file: Mutex::new(key_file),
        });
        let log_id = log_id(&dir.join(LOG_DIR), records)?;
        let checkpoints = CheckpointLog::open(&dir.join(CHECKPOINTS_DIR), options.log.clone())?;
        // The tree opens (or is rebuilt) on its own thread: the store is usable at once, and proofs wait.
        let tree = Arc::new(TreeShared::new());
        let (tree_tx, tree_rx) = mpsc::channel::<TreeMsg>();
        let for_tree = shared.clone();
        let tree_thread = crate::tree::TreeThread {
            data: dir.to_owned(),
            shared: tree.clone(),
            reader: shared.reader.clone(),
            records,
            checkpoint: checkpoints.latest_root(),
            locate: Box::new(move |position| for_tree.index().location(position)),
        };
        let tree_thread = std::thread::Builder::new()
            .name("journey-tree".into())
            .spawn(move || tree_thread.run(tree_rx))?;
        let (sender, receiver) = mpsc::channel();
        let cache =
            lru::LruCache::new(NonZeroUsize::new(options.stream_cache_capacity.max(1)).expect("non-zero"));
        // The checkpointer runs whenever asked, and once more when the writer has stopped (its sender dropped).
        let (checkpoint_tx, checkpoint_rx) = mpsc::channel::<()>();
        let for_checkpoints = shared.clone();
        let checkpointer = std::thread::Builder::new()
            .name("journey-index-checkpoint".into())
            .spawn(move || {
                while checkpoint_rx.recv().is_ok() {
                    for_checkpoints.checkpoint();
                }
                for_checkpoints.checkpoint();
            })?;
        let (replies_tx, replies_rx) = mpsc::channel::<Vec<Pending>>();
        let replier = std::thread::Builder::new()
            .name("journey-append-replies".into())
            .spawn(move || {
                while let Ok(pending) = replies_rx.recv() {
                    reply_all(pending);
                }
            })?;
        // The first thread hands a group over only when the committer says it is free (or the group is full).
        let (commits, groups) = mpsc::sync_channel::<Prepared>(1);
        let mut committer = Committer {
            shared: shared.clone(),
            idle_tx: sender.clone(),
            log: writer,
            options: options.clone(),
            failed: None,
            checkpoint_tx,
            replies_tx,
            tree_tx: tree_tx.clone(),
        };
        let committer = std::thread::Builder::new()
            .name("journey-log-commit".into())
            .spawn(move || committer.run(groups))?;
        let mut state = WriterState {
            shared: shared.clone(),
            clock,
            cache,
            options,
            head,
            in_flight: VecDeque::new(),
            next_group: 1,
            evicted: HashMap::new(),
            commits,
        };
        let handle = std::thread::Builder::new()
            .name("journey-log-writer".into())
            .spawn(move || state.run(receiver))?;
        Ok(EmbeddedStore {
            shared,
            sender: Mutex::new(Some(sender)),
            writer: Mutex::new(Some(handle)),
            committer: Mutex::new(Some(committer)),
            checkpointer: Mutex::new(Some(checkpointer)),
            replier: Mutex::new(Some(replier)),
            tree,
            tree_tx: Mutex::new(Some(tree_tx)),
            tree_thread: Mutex::new(Some(tree_thread)),
            checkpoints,
            log_id,
            _lock: lock,
            report,
        })
    }

    /// Rebuilds the index from the log. The store must not be open elsewhere. Refuses, before deleting
    /// anything, a log that ends before what the index checkpoint or the log's mark shows was durable: the
    /// checkpoint is evidence of that, and a rebuild must not erase it.
    pub fn rebuild_index(dir: impl AsRef<Path>, options: EmbeddedOptions) -> Result<OpenReport> {
        let dir = dir.as_ref();
        refuse_unfinished_import(dir)?;
        {
            let _lock = lock_dir(dir)?;
            if dir.join(LOG_DIR).is_dir() {
                let (reader, _) = log::open_read_only(&dir.join(LOG_DIR))?;
                if let Ok(checkpoint) = index::read_checkpoint(&dir.join(INDEX_DIR))
                    && let Some(why) = checkpoint_in_log(&checkpoint, &reader)?
                {
                    return Err(lost(checkpoint_location(&checkpoint), why));
                }
            }
            remove_index(dir)?;
        }
        let store = EmbeddedStore::open_with(dir, Arc::new(journey_core::time::SystemClock), options)?;
        let report = store.open_report().clone();
        store.close()?;
        Ok(report)
    }
}

/// How a store is opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum OpenMode {
    Normal,
    /// The operator goes on without what the log lost ([`EmbeddedStore::open_accepting_loss`]).
    AcceptLoss,
    /// A `journey log import` builds the store ([`EmbeddedStore::open_importing`]).
    Importing,
}

/// Refuses a data directory that a `journey log import` began and did not finish (it holds the
/// [`IMPORT_MARKER`]): it holds part of a log at most, and must not be served, verified or repaired as one.
pub(crate) fn refuse_unfinished_import(dir: &Path) -> Result<()> {
    if dir.join(IMPORT_MARKER).exists() {
        return Err(Error::Closed(format!(
            "{} is an unfinished `journey log import` (it holds {IMPORT_MARKER}): it holds at most part of a \
             log and is never opened as one; delete it and import again (the next import into the same \
             data directory removes it)",
            dir.display()
        )));
    }
    Ok(())
}

/// The log's id, from `log/id`; made at random (and written durably) when the log has none: when the log
/// is created, or the first time a log from before ids is opened.
fn log_id(log_dir: &Path, records: u64) -> Result<LogId> {
    let path = log_dir.join(LOG_ID_FILE);
    match fs::read_to_string(&path) {
        Ok(text) => LogId::parse(text.trim_end()).map_err(|e| Error::Corrupt {
            location: LogLocation {
                segment: format!("log/{LOG_ID_FILE}"),
                offset: 0,
                position: None,
            },
            detail: e.to_string(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut bytes = [0u8; 8];
            getrandom::fill(&mut bytes)
                .map_err(|e| Error::Io(std::io::Error::other(format!("the system's random source: {e}"))))?;
            let id = LogId::from_random(bytes);
            write_durably(&path, format!("{id}\n").as_bytes())?;
            if records > 0 {
                tracing::warn!(log_id = %id, records, "gave the log, which had none, its id");
            }
            Ok(id)
        }
        Err(e) => Err(e.into()),
    }
}

/// Writes a small file whole or not at all: a temporary file, synced, renamed into place, the directory
/// synced.
pub(crate) fn write_durably(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    {
        let mut file = File::create(&tmp)?;
        std::io::Write::write_all(&mut file, bytes)?;
        file.sync_all()?;
    }
    fs::rename(&tmp, path)?;
    if let Some(parent) = path.parent() {
        File::open(parent)?.sync_all()?;
    }
    Ok(())
}

pub(crate) fn lock_dir(dir: &Path) -> Result<File> {
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join("LOCK"))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(fs::TryLockError::WouldBlock) => Err(Error::Closed(format!(
            "{} is in use by another Journey process (LOCK is held)",
            dir.display()
        ))),
        Err(fs::TryLockError::Error(e)) => Err(e.into()),
    }
}

fn remove_index(dir: &Path) -> Result<()> {
    let path = dir.join(INDEX_DIR);
    if path.exists() {
        fs::remove_dir_all(&path)?;
    }
    Ok(())
}

/// The refusal for durable records the log no longer holds, with the advice on restoring.
fn lost(location: LogLocation, why: String) -> Error {
    Error::Corrupt {
        location,
        detail: format!("{why}. {}.", log::RESTORE_ADVICE),
    }
}

fn mark_location(mark: &DurableMark) -> LogLocation {
    LogLocation {
        segment: segment_name(mark.segment),
        offset: mark.end,
        position: mark.head.map(|h| Position(h.entries)),
    }
}

/// The mark recorded the head as of its end: the record there must still be that record.
fn check_mark_head(
    mark: &DurableMark,
    index: &MemIndex,
    reader: &LogReader,
) -> std::result::Result<(), String> {
    let Some(head) = mark.head.filter(|h| h.entries > 0) else {
        return Ok(());
    };
    let recorded = format!(
        "log/{} records that position {} (log hash {}) was durable at segment {} byte {}",
        log::MARK_FILE,
        head.entries,
        hex::encode(head.hash),
        segment_name(mark.segment),
        mark.end
    );
    let Some(location) = index.location(head.entries) else {
        return Err(format!(
            "{recorded}, but the log holds only {} records: positions {} to {} are missing",
            index.len(),
            index.len() + 1,
            head.entries
        ));
    };
    if !mark.is_last_entry(location, index.location(head.entries + 1)) {
        return Err(format!(
            "{recorded}, but position {} is at segment {} byte {} in the log: the log is not the one that              was marked",
            head.entries,
            segment_name(location.segment),
            location.offset
        ));
    }
    let bytes = reader.read(location).map_err(|e| e.to_string())?;
    let (chain, _) = split_entry(&bytes, location).map_err(|e| e.to_string())?;
    if chain.log_hash != head.hash {
        return Err(format!(
            "{recorded}, but the record there has log hash {}: the log is not the one that was marked",
            hex::encode(chain.log_hash)
        ));
    }
    Ok(())
}

fn checkpoint_location(checkpoint: &Checkpoint) -> LogLocation {
    LogLocation {
        segment: segment_name(checkpoint.location.segment),
        offset: checkpoint.location.offset,
        position: Some(checkpoint.position),
    }
}

/// The index checkpoint names a record that was durable when it was written (the index holds only durable
/// records): the log must still hold it, at the place the checkpoint says and with the hash it says.
/// Returns what is lost, in words, if it does not (or if the log was replaced): that is refused, never
/// rebuilt over. A record there that cannot be read is an error of its own (corruption).
pub(crate) fn checkpoint_in_log(checkpoint: &Checkpoint, reader: &LogReader) -> Result<Option<String>> {
    if checkpoint.position.0 == 0 {
        return Ok(None);
    }
    let recorded = format!(
        "index/checkpoint records that position {} (log hash {}) was durable at segment {} byte {}",
        checkpoint.position,
        hex::encode(checkpoint.log_hash),
        segment_name(checkpoint.location.segment),
        checkpoint.location.offset
    );
    let bytes = match reader.read(checkpoint.location) {
        Ok(bytes) => bytes,
        Err(Error::NotFound(_)) => {
            let (segment, offset) = reader.end();
            let held = reader.scan(None).take_while(|item| item.is_ok()).count() as u64;
            return Ok(Some(format!(
                "{recorded}, but the log ends before it, at segment {} byte {offset} after position {held}: \
                 positions {} to {} were acknowledged and are not in the log",
                segment_name(segment),
                held + 1,
                checkpoint.position
            )));
        }
        Err(e) => return Err(e),
    };
    let (chain, body) = split_entry(&bytes, checkpoint.location)?;
    let (fields, _) = encoding::decode_locator(body)?;
    if chain.log_hash != checkpoint.log_hash || fields.position != checkpoint.position {
        return Ok(Some(format!(
            "{recorded}, but the log holds position {} with log hash {} there: the log is not the one the \
             index was built from",
            fields.position,
            hex::encode(chain.log_hash)
        )));
    }
    Ok(None)
}

fn log_recovery(recovery: &RecoveryReport, report: &OpenReport) {
    if recovery.truncated_at.is_some() {
        tracing::warn!(
            bytes = recovery.truncated_bytes,
            reason = recovery.reason.as_deref().unwrap_or(""),
            "cut an incomplete final write off the log (it was never acknowledged)"
        );
    }
    if let Some(loss) = &report.loss_accepted {
        tracing::error!(
            loss = %loss,
            records = report.records,
            "opened the store accepting the loss of durable records"
        );
    }
    if let Some(why) = &report.index_rebuilt {
        tracing::warn!(reason = %why, records = report.records, "rebuilt the index from the log");
    }
    tracing::info!(
        records = report.records,
        millis = report.open_millis,
        "opened the embedded store"
    );
}

/// Opens the index and brings it level with the log: from its snapshot if it has one that matches the
/// log, from scratch otherwise.
///
/// A checkpoint that names a record the log no longer holds is refused (see [`checkpoint_in_log`]), unless
/// `losses` is given (the operator accepts the loss): then it is described there and the index rebuilt.
fn open_index(
    dir: &Path,
    reader: &LogReader,
    losses: Option<&mut Vec<String>>,
) -> Result<(MemIndex, SnapshotFiles, Option<String>, u64, HeadState)> {
    let path = dir.join(INDEX_DIR);
    let mut beyond_log = None;
    if let Ok(checkpoint) = index::read_checkpoint(&path)
        && let Some(why) = checkpoint_in_log(&checkpoint, reader)?
    {
        let Some(losses) = losses else {
            return Err(lost(checkpoint_location(&checkpoint), why));
        };
        losses.push(why);
        beyond_log = Some(Unusable::Damaged(
            "the index checkpoint names records the log lost (the loss was accepted)".into(),
        ));
    }
    let loaded = match beyond_log {
        Some(why) => Err(why),
        None if path.is_dir() => index::load(&path, |cp| check_checkpoint(cp, reader)),
        None => Err(Unusable::Missing),
    };
    let (mut index, mut files, mut rebuilt) = match loaded {
        Ok((index, files)) => (index, files, None),
        Err(why) => {
            remove_index(dir)?;
            fs::create_dir_all(&path)?;
            let files = SnapshotFiles::create(&path)?;
            let why = match why {
                Unusable::Missing => None,
                Unusable::Damaged(why) => Some(why),
            };
            // Sized for the whole log at about 300 bytes a record, to spare the id table's regrowth.
            let estimate = reader.estimated_bytes() / 300;
            (MemIndex::with_capacity(estimate as usize), files, why)
        }
    };
    let had_checkpoint = index.last().is_some();
    let caught_up = catch_up(&mut index, &mut files, reader)?;
    if rebuilt.is_none() && !had_checkpoint && caught_up > 0 {
        // A fresh index over an existing log: that was a full rebuild, so say so.
        rebuilt = Some("there was no index".into());
    }
    index.shrink();
    let head = match index.last() {
        Some(cp) => HeadState {
            head: LogHead {
                position: Some(cp.position),
                log_hash: cp.log_hash,
            },
            last: cp.location,
            recorded_at: cp.recorded_at,
        },
        None => HeadState {
            head: LogHead::EMPTY,
            last: EntryLocation {
                segment: 0,
                offset: 0,
                len: 0,
            },
            recorded_at: Timestamp::UNIX_EPOCH,
        },
    };
    Ok((index, files, rebuilt, caught_up, head))
}

/// The checkpoint must name a record that is in the log, at the place it says, with the hash it says.
pub(crate) fn check_checkpoint(
    checkpoint: &Checkpoint,
    reader: &LogReader,
) -> std::result::Result<(), String> {
    if checkpoint.position.0 == 0 {
        return Ok(());
    }
    let bytes = reader
        .read(checkpoint.location)
        .map_err(|e| format!("the index checkpoint is not in the log: {e}"))?;
    let (chain, body) = split_entry(&bytes, checkpoint.location).map_err(|e| e.to_string())?;
    let (fields, _) = encoding::decode_locator(body).map_err(|e| e.to_string())?;
    if chain.log_hash != checkpoint.log_hash || fields.position != checkpoint.position {
        return Err("the index checkpoint does not match the log".into());
    }
    Ok(())
}

/// Records indexed between two checkpoints while catching up, so that an interrupted rebuild resumes and
/// the snapshot's unsaved part stays small.
const CATCH_UP_CHECKPOINT: u64 = 1 << 20;

/// Indexes every record after the index's last one, checkpointing as it goes. Returns how many.
fn catch_up(index: &mut MemIndex, files: &mut SnapshotFiles, reader: &LogReader) -> Result<u64> {
    let last = index.last();
    // Scan from the last indexed record itself (already checked against the log) and skip it.
    let from = last.map(|cp| (cp.location.segment, cp.location.offset));
    let mut caught_up = 0u64;
    for item in reader.scan(from).skip(usize::from(last.is_some())) {
        let (at, bytes) = item?;
        let (chain, body) = split_entry(&bytes, at)?;
        let (store, event_id) = encoding::decode_locator(body)?;
        let expected = Position(index.len() + 1);
        if store.position != expected {
            return Err(Error::Corrupt {
                location: LogLocation {
                    segment: segment_name(at.segment),
                    offset: at.offset,
                    position: Some(expected),
                },
                detail: format!("record claims position {}", store.position),
            });
        }
        index
            .push(
                &store.child_id,
                store.version,
                index::fingerprint(event_id.as_str()),
                Checkpoint {
                    position: store.position,
                    location: at,
                    log_hash: chain.log_hash,
                    recorded_at: store.recorded_at,
                },
            )
            .map_err(|e| Error::Corrupt {
                location: LogLocation {
                    segment: segment_name(at.segment),
                    offset: at.offset,
                    position: Some(expected),
                },
                detail: e.to_string(),
            })?;
        caught_up += 1;
        if index.unsaved() >= CATCH_UP_CHECKPOINT
            && let Some(delta) = index.take_unsaved()
        {
            files.append(&delta)?;
        }
    }
    if let Some(delta) = index.take_unsaved() {
        files.append(&delta)?;
    }
    Ok(caught_up)
}

/// The key store of `dir`, when the store seals content. A data directory seals content from its first record
/// when it is made with a key-encryption key, and then never opens without it; one made in the clear stays
/// in the clear (it is migrated by export and import, `docs/deployment.md`). Refused loudly: a sealed log
/// whose key store is missing, a key store of another key-encryption key, a damaged one, and one that lacks
/// a key for a child with records (a key store older than the log), so that ciphertext is never served as
/// content and no child's records are silently unreadable.
fn open_keys(
    dir: &Path,
    kek: Option<Arc<dyn KeyEncryptionKey>>,
    reader: &LogReader,
    index: &MemIndex,
) -> Result<(Option<KeyFile>, Option<Arc<ContentKeys>>)> {
    // Whether the log holds sealed records, judged by its first and last records (a log is sealed from its
    // first record or never). One that cannot be read here is left for the reads to report.
    let sealed_at = |position: u64| -> bool {
        let Some(location) = index.location(position) else {
            return false;
        };
        let Ok(bytes) = reader.read(location) else {
            return false;
        };
        split_entry(&bytes, location).is_ok_and(|(_, body)| {
            body.starts_with(&journey_core::envelope::SEALED_SCHEMA_VERSION.to_le_bytes())
        })
    };
    let (file, keys) = match (crate::keys::exists(dir), kek) {
        (true, Some(kek)) => KeyFile::open(dir, kek)?,
        (true, None) => {
            return Err(Error::Key(KeyError::Malformed(format!(
                "{} seals each child's content: it opens only with its key-encryption key (JOURNEY_KEK, \
                 or kek_file in the server's config)",
                dir.display()
            ))));
        }
        (false, _) if sealed_at(1) || sealed_at(index.len()) => {
            return Err(Error::Key(KeyError::Malformed(format!(
                "{} holds sealed records but its key store ({}/{}) is missing: restore it from the backup \
                 taken with this data directory; without it no child's content can be read",
                dir.display(),
                dir.display(),
                crate::keys::KEYS_DIR
            ))));
        }
        (false, Some(kek)) if index.len() == 0 => KeyFile::create(dir, kek)?,
        (false, Some(_)) => {
            tracing::warn!(
                data = %dir.display(),
                "this data directory was made before content was sealed: its records stay in the clear and \
                 cannot be erased by destroying keys; migrate it with `journey log export` and `journey log \
                 import --seal` into a new data directory (docs/deployment.md)"
            );
            return Ok((None, None));
        }
        (false, None) => return Ok((None, None)),
    };
    let lacking: Vec<&ChildId> = index.children().filter(|c| !keys.knows(c)).take(5).collect();
    if !lacking.is_empty() {
        return Err(Error::Key(KeyError::Malformed(format!(
            "the key store of {} has no key for children with records ({}): it is older than the log, or \
             damaged; restore the key store taken with this data directory",
            dir.display(),
            lacking.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", ")
        ))));
    }
    Ok((Some(file), Some(Arc::new(keys))))
}
