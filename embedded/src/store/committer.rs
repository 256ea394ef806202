//! The writer's second thread: owns the log; for each group one write, one `fdatasync`, then the index,
//! the head and the answers.

//!   it is durable and indexed.

use super::*;

/// The second of the writer's threads: owns the log. For each group, in order: one write, one `fdatasync`,
/// then the in-memory index, the head, and the answers. At most one group is ever written and not yet
/// synced, as the log's recovery requires.
pub(super) struct Committer {
    pub(super) shared: Arc<Shared>,
    /// Tells the first thread when this one is free.
    pub(super) idle_tx: mpsc::Sender<WriterMsg>,
    pub(super) log: LogWriter,
    pub(super) options: EmbeddedOptions,
    pub(super) failed: Option<String>,
    /// Wakes the checkpointer thread; dropping it (when the committer stops) makes it write a final checkpoint.
    pub(super) checkpoint_tx: mpsc::Sender<()>,
    /// To the replies thread: appends to answer, in commit order, each durable and indexed.
    pub(super) replies_tx: mpsc::Sender<Vec<Pending>>,
    /// To the tree thread: each durable group's entries, after the group is answered.
    pub(super) tree_tx: mpsc::Sender<TreeMsg>,
}

/// A record of the current group, for the index once the group is durable.
pub(super) struct ToIndex {
    pub(super) child_id: ChildId,
    pub(super) version: Version,
    pub(super) fingerprint: u64,
    pub(super) position: Position,
    pub(super) log_hash: [u8; 32],
    pub(super) recorded_at: Timestamp,
}

/// An append waiting for its group to be durable and indexed.
pub(super) struct Pending {
    pub(super) reply: oneshot::Sender<Result<AppendOutcome>>,
    pub(super) outcome: AppendOutcome,
}

/// Groups with at most this many appends are answered by the committer itself (a hand-off would only add
/// latency); larger ones by the replies thread.
const DIRECT_REPLIES: usize = 2;

/// Answers appends whose records are durable and indexed.
pub(super) fn reply_all(pending: Vec<Pending>) {
    for p in pending {
        let _ = p.reply.send(Ok(p.outcome));
    }
}

pub(super) fn fail_all(pending: Vec<Pending>, why: &str) {
    for p in pending {
        let _ = p.reply.send(Err(Error::Closed(why.to_owned())));
    }
}

impl Committer {
    pub(super) fn run(&mut self, groups: mpsc::Receiver<Prepared>) {
        loop {
            let _ = self.idle_tx.send(WriterMsg::CommitterIdle);
            let Ok(group) = groups.recv() else { break };
            let number = group.number;
            self.commit(group);
            self.shared.set_committed(number);
        }
    }

    /// Writes and syncs one group, indexes it, advances the head, then answers it.
    pub(super) fn commit(&mut self, group: Prepared) {
        let Prepared {
            entries,
            to_index,
            pending,
            mut head,
            new_keys,
            ..
        } = group;
        if let Some(why) = &self.failed {
            fail_all(pending, why);
            return;
        }
        if entries.is_empty() {
            // Only retries, of appends that are durable by now (they were in this group's predecessors).
            reply_all(pending);
            return;
        }
        let refs: Vec<&[u8]> = entries.iter().map(Vec::as_slice).collect();
        // What the log's mark will say about this group's end once it is durable.
        let marked = log::Head {
            entries: head.head.position.map_or(0, |p| p.0),
            hash: head.head.log_hash,
        };
        // New children's keys first, synced: no record on disk is ever without its key.
        let keys_written = if new_keys.is_empty() {
            Ok(())
        } else {
            match self.shared.key_file.lock().expect("key file lock").as_mut() {
                Some(file) => file.append(&new_keys),
                None => Err(Error::Closed(
                    "the store seals content but has no key store".into(),
                )),
            }
        };
        if let Err(e) = keys_written {
            let why = format!("a write to the key store failed ({e}); reopen the store to recover");
            tracing::error!(error = %e, "key store write failed: refusing further appends until reopened");
            self.shared.fail(why.clone());
            fail_all(pending, &why);
            self.failed = Some(why);
            return;
        }
        let written = self.log.write_batch(&refs).and_then(|locations| {
            self.log.set_head(marked);
            self.log.sync()?;
            Ok(locations)
        });
        let locations = match written {
            Ok(locations) => locations,
            Err(e) => {
                let why = format!("a write to the log failed ({e}); reopen the store to recover");
                tracing::error!(error = %e, "log write failed: refusing further appends until reopened");
                self.shared.fail(why.clone());
                fail_all(pending, &why);
                self.failed = Some(why);
                return;
            }
        };
        head.last = *locations.last().expect("at least one entry");
        // The records are durable: from here on nothing may make an append fail. An index failure (a bug: the
        // writer numbers positions and versions itself) only means the index is behind, which the next open
        // repairs from the log; reads would miss the records until then, so stop accepting writes too and
        // say so loudly.
        {
            let mut index = self.shared.index_mut();
            for (e, location) in to_index.iter().zip(&locations) {
                let record = Checkpoint {
                    position: e.position,
                    location: *location,
                    log_hash: e.log_hash,
                    recorded_at: e.recorded_at,
                };
                if let Err(err) = index.push(&e.child_id, e.version, e.fingerprint, record) {
                    tracing::error!(error = %err, "index update failed after a durable write: reopen the store to repair it");
                    let why =
                        format!("the index could not be updated ({err}); reopen the store to repair it");
                    self.shared.fail(why.clone());
                    self.failed = Some(why);
                    break;
                }
            }
            if index.unsaved() >= self.options.checkpoint_every_events
                && !self.shared.checkpoint_requested.swap(true, Ordering::AcqRel)
            {
                let _ = self.checkpoint_tx.send(());
            }
        }
        *self.shared.head.lock().expect("head lock") = head;
        self.shared
            .head_tx
            .send_replace(head.head.position.map_or(0, |p| p.0));
        self.shared.stats.commits.fetch_add(1, Ordering::Relaxed);
        self.shared
            .stats
            .events
            .fetch_add(entries.len() as u64, Ordering::Relaxed);
        // The tree grows on its own thread, off this one's path: handing the entries over costs no copy
        // (their first 64 bytes are the leaf entries), and frees them there. They are handed over before any
        // appender hears back, so a `sync_tree` asked for after an acknowledged append (a checkpoint signed
        // just after it) is queued behind them and covers it.
        let _ = self.tree_tx.send(TreeMsg::Entries(entries));
        // Waking each appender is a system call; for a large group the replies thread does it while this
        // thread gets on with the next group.
        if pending.len() <= DIRECT_REPLIES {
            reply_all(pending);
        } else if let Err(mpsc::SendError(pending)) = self.replies_tx.send(pending) {
            reply_all(pending);
        }
    }
}
