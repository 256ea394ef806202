//! The durable journal: records framed and checksummed in a `crate::log` of its own, written by one thread
//! that commits in groups (one `fdatasync` for every append waiting), and indexed in memory on open.
//!
//! The journal is small next to the children's log (thousands of policy and key records; one access record
//! per read of a child's record), so the index is a vector of locations rebuilt by scanning on open, which
//! also re-verifies the whole chain every time the journal is opened.

use std::collections::HashMap;
use std::path::Path;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use futures::channel::oneshot;
use futures::future::{BoxFuture, FutureExt};

use crate::log::{self, DurableMark, EntryLocation, LogOptions, LogReader, LogWriter};
use journey_core::error::{Error, LogLocation, Result};
use journey_core::ids::ExpectedVersion;
use journey_core::journal::{
    Journal, JournalHead, JournalRecord, JournalVerification, NewRecord, Sequencer, SystemStream,
    decode_record,
};
use journey_core::time::Clock;

/// What readers see: only records that are durable.
#[derive(Debug, Default)]
struct Visible {
    /// `locations[sequence - 1]`.
    locations: Vec<EntryLocation>,
    /// For each stream, the sequence numbers of its records in version order.
    streams: HashMap<SystemStream, Vec<u64>>,
    head: JournalHead,
}

#[derive(Debug)]
struct Request {
    stream: SystemStream,
    expected: ExpectedVersion,
    records: Vec<NewRecord>,
    reply: oneshot::Sender<Result<Vec<JournalRecord>>>,
}

/// The system journal in a directory of its own.
#[derive(Debug)]
pub struct FileJournal {
    visible: Arc<RwLock<Visible>>,
    reader: LogReader,
    sender: Mutex<Option<mpsc::Sender<Request>>>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// Why the writer stopped, once it has (the writer's own `failed`, for readiness checks).
    failure: Arc<Mutex<Option<String>>>,
}

impl FileJournal {
    /// Opens (creating if need be) the journal in `dir`: recovers the log's tail as the event store does
    /// (refusing a journal that ends before what its mark shows was durable), then reads every record,
    /// checking the numbering and the hash chain. A broken chain is an error.
    pub fn open(dir: impl AsRef<Path>, clock: Arc<dyn Clock>) -> Result<FileJournal> {
        Self::open_with(dir, clock, LogOptions::default())
    }

    /// [`FileJournal::open`] with explicit log options (tests use small segments, or no syncing).
    pub fn open_with(
        dir: impl AsRef<Path>,
        clock: Arc<dyn Clock>,
        options: LogOptions,
    ) -> Result<FileJournal> {
        let (journal, _) = Self::open_as(dir.as_ref(), clock, options, false)?;
        Ok(journal)
    }

    /// Opens the journal for an operator who has decided to go on without what it lost (see
    /// `crate::log::open_accepting_loss`): returns it with the loss in words, if there was one. The caller
    /// must record the loss (`journey accept-loss` appends it to this journal).
    pub fn open_accepting_loss(
        dir: impl AsRef<Path>,
        clock: Arc<dyn Clock>,
    ) -> Result<(FileJournal, Option<String>)> {
        Self::open_as(dir.as_ref(), clock, LogOptions::default(), true)
    }

    /// Opens the journal in `dir` for reading only, with the same checks as [`FileJournal::open`] and
    /// without modifying anything (a torn tail is left in place, unread): for verifying a data directory or
    /// a backup. Appends are refused. Returns what the log's recovery found too.
    pub fn open_read_only(dir: impl AsRef<Path>) -> Result<(FileJournal, log::RecoveryReport)> {
        let (reader, report) = log::open_read_only(dir.as_ref())?;
        let (_, visible, mismatch) = read_all(&reader, report.mark)?;
        if let Some(why) = mismatch {
            return Err(lost(report.mark, why));
        }
        let journal = FileJournal {
            visible: Arc::new(RwLock::new(visible)),
            reader,
            sender: Mutex::new(None),
            writer: Mutex::new(None),
            failure: Arc::new(Mutex::new(None)),
        };
        Ok((journal, report))
    }

    fn open_as(
        dir: &Path,
        clock: Arc<dyn Clock>,
        options: LogOptions,
        accept_loss: bool,
    ) -> Result<(FileJournal, Option<String>)> {
        let (mut writer, reader, report) = if accept_loss {
            log::open_accepting_loss(dir, options)?
        } else {
            log::open(dir, options)?
        };
        let (sequencer, visible, mismatch) = read_all(&reader, report.mark)?;
        let mut loss = report.loss.clone();
        if let Some(why) = mismatch
            && loss.is_none()
        {
            if !accept_loss {
                return Err(lost(report.mark, why));
            }
            loss = Some(why);
        }
        if let Some(loss) = &loss {
            tracing::error!(dir = %dir.display(), loss = %loss, "opened the journal accepting the loss of durable records");
        }
        let head = sequencer.head();
        // Everything kept is durable now: the mark says so, with the head, before anything new is written.
        writer.mark_durable(log::Head {
            entries: head.sequence,
            hash: head.hash,
        })?;
        let visible = Arc::new(RwLock::new(visible));
        let failure = Arc::new(Mutex::new(None));
        let (sender, receiver) = mpsc::channel();
        let mut writer_state = WriterState {
            log: writer,
            sequencer,
            clock,
            visible: Arc::clone(&visible),
            failed: None,
            failure: Arc::clone(&failure),
        };
        let handle = std::thread::Builder::new()
            .name("journey-journal-writer".into())
            .spawn(move || writer_state.run(receiver))?;
        Ok((
            FileJournal {
                visible,
                reader,
                sender: Mutex::new(Some(sender)),
                writer: Mutex::new(Some(handle)),
                failure,
            },
            loss,
        ))
    }

    fn visible(&self) -> std::sync::RwLockReadGuard<'_, Visible> {
        self.visible.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Stops the writer after the appends already sent are durable.
    pub fn close(&self) -> Result<()> {
        drop(self.sender.lock().unwrap_or_else(PoisonError::into_inner).take());
        if let Some(handle) = self.writer.lock().unwrap_or_else(PoisonError::into_inner).take() {
            handle
                .join()
                .map_err(|_| Error::Closed("the journal writer panicked".into()))?;
        }
        Ok(())
    }

    fn read_sequences(&self, sequences: &[u64]) -> Result<Vec<JournalRecord>> {
        let locations: Vec<EntryLocation> = {
            let visible = self.visible();
            sequences
                .iter()
                .map(|&s| visible.locations[s as usize - 1])
                .collect()
        };
        let stored = self.reader.read_many(&locations)?;
        stored
            .iter()
            .zip(sequences)
            .map(|(bytes, &sequence)| decode_record(bytes, sequence))
            .collect()
    }
}

/// Reads every record, checking the numbering and the chain, and checks the record at the log's mark: the
/// mark recorded its sequence number and hash when it was durable. Returns the bookkeeping, what readers
/// see, and what differs from the mark, in words, if anything does.
fn read_all(reader: &LogReader, mark: Option<DurableMark>) -> Result<(Sequencer, Visible, Option<String>)> {
    let marked = mark.and_then(|m| m.head.filter(|h| h.entries > 0).map(|h| (m, h)));
    let mut hash_at_mark = None;
    let mut sequencer = Sequencer::default();
    let mut visible = Visible::default();
    for entry in reader.scan(None) {
        let (location, bytes) = entry?;
        let sequence = visible.locations.len() as u64 + 1;
        let record = decode_record(&bytes, sequence)?;
        sequencer.replay(&record).map_err(|detail| Error::Corrupt {
            location: LogLocation {
                segment: format!("journal {}", location.segment),
                offset: location.offset,
                position: None,
            },
            detail: format!("journal record {sequence}: {detail}"),
        })?;
        if let Some((_, head)) = marked
            && sequence == head.entries
        {
            hash_at_mark = Some(record.hash);
        }
        visible.locations.push(location);
        visible.streams.entry(record.stream).or_default().push(sequence);
    }
    visible.head = sequencer.head();
    let mismatch = marked.and_then(|(mark, head)| {
        let recorded = format!(
            "journal/{} records that journal record {} (hash {}) was durable at segment {} byte {}",
            log::MARK_FILE,
            head.entries,
            hex::encode(head.hash),
            mark.segment,
            mark.end
        );
        let at_mark = hash_at_mark.map(|hash| {
            let n = head.entries as usize;
            let placed = mark.is_last_entry(visible.locations[n - 1], visible.locations.get(n).copied());
            (placed, hash)
        });
        match at_mark {
            None => Some(format!(
                "{recorded}, but the journal holds only {} records: records {} to {} are missing",
                visible.locations.len(),
                visible.locations.len() + 1,
                head.entries
            )),
            Some((false, _)) => Some(format!(
                "{recorded}, but that record is elsewhere in the journal: it is not the journal that was marked"
            )),
            Some((true, hash)) if hash != head.hash => Some(format!(
                "{recorded}, but that record's hash is {}: it is not the journal that was marked",
                hex::encode(hash)
            )),
            Some(_) => None,
        }
    });
    Ok((sequencer, visible, mismatch))
}

/// The refusal for durable journal records that are no longer there, with the advice on restoring.
fn lost(mark: Option<DurableMark>, why: String) -> Error {
    Error::Corrupt {
        location: LogLocation {
            segment: mark.map_or_else(|| "journal".to_owned(), |m| format!("journal {}", m.segment)),
            offset: mark.map_or(0, |m| m.end),
            position: None,
        },
        detail: format!("{why}. {}.", log::RESTORE_ADVICE),
    }
}

impl Drop for FileJournal {
    fn drop(&mut self) {
        let _ = self.close();
    }
}

impl Journal for FileJournal {
    fn append(
        &self,
        stream: &SystemStream,
        expected: ExpectedVersion,
        records: Vec<NewRecord>,
    ) -> BoxFuture<'static, Result<Vec<JournalRecord>>> {
        let (reply, answer) = oneshot::channel();
        let request = Request {
            stream: stream.clone(),
            expected,
            records,
            reply,
        };
        let sent = match &*self.sender.lock().unwrap_or_else(PoisonError::into_inner) {
            Some(sender) => sender.send(request).is_ok(),
            None => false,
        };
        async move {
            if !sent {
                return Err(Error::Closed("the journal is closed".into()));
            }
            answer
                .await
                .map_err(|_| Error::Closed("the journal writer stopped".into()))?
        }
        .boxed()
    }

    fn read_stream(
        &self,
        stream: &SystemStream,
        from: u64,
        limit: usize,
    ) -> BoxFuture<'static, Result<Vec<JournalRecord>>> {
        let sequences: Vec<u64> = self
            .visible()
            .streams
            .get(stream)
            .map(|seqs| {
                let skip = usize::try_from(from.saturating_sub(1)).unwrap_or(usize::MAX);
                seqs.iter().skip(skip).take(limit).copied().collect()
            })
            .unwrap_or_default();
        futures::future::ready(self.read_sequences(&sequences)).boxed()
    }

    fn stream_version(&self, stream: &SystemStream) -> u64 {
        self.visible().streams.get(stream).map_or(0, |s| s.len() as u64)
    }

    fn head(&self) -> JournalHead {
        self.visible().head
    }

    fn verify(&self) -> BoxFuture<'static, Result<JournalVerification>> {
        let end = self.visible().locations.len();
        let stored: Vec<Result<Vec<u8>>> = self
            .reader
            .scan(None)
            .take(end)
            .map(|entry| entry.map(|(_, bytes)| bytes))
            .collect();
        futures::future::ready(journey_core::journal::verify_records(stored.into_iter())).boxed()
    }

    fn failure(&self) -> Option<String> {
        if let Some(why) = self
            .failure
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
        {
            return Some(format!(
                "the journal writer stopped after a failure and the journal must be reopened: {why}"
            ));
        }
        self.sender
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_none()
            .then(|| "the journal is closed".to_owned())
    }
}

struct WriterState {
    log: LogWriter,
    /// The writer's own bookkeeping, ahead of [`Visible`] while a group is being made durable.
    sequencer: Sequencer,
    clock: Arc<dyn Clock>,
    visible: Arc<RwLock<Visible>>,
    /// After a failed write or sync nothing more is written until the journal is reopened (fail-stop, as the
    /// event store's writer).
    failed: Option<String>,
    /// The same reason, shared with [`FileJournal::failure`].
    failure: Arc<Mutex<Option<String>>>,
}

impl WriterState {
    fn run(&mut self, receiver: mpsc::Receiver<Request>) {
        while let Ok(first) = receiver.recv() {
            let mut group = vec![first];
            group.extend(receiver.try_iter());
            self.commit(group);
        }
    }

    fn commit(&mut self, group: Vec<Request>) {
        let now = self.clock.now();
        let mut planned = Vec::with_capacity(group.len());
        let mut rollbacks = Vec::new();
        for request in group {
            if let Some(reason) = &self.failed {
                let _ = request.reply.send(Err(Error::Closed(format!(
                    "the journal writer stopped: {reason}"
                ))));
                continue;
            }
            match self
                .sequencer
                .plan(&request.stream, request.expected, request.records, now)
            {
                Ok((records, rollback)) => {
                    rollbacks.push(rollback);
                    planned.push((request.reply, records));
                }
                Err(e) => {
                    let _ = request.reply.send(Err(e));
                }
            }
        }
        if planned.is_empty() {
            return;
        }
        let entries: Vec<&[u8]> = planned
            .iter()
            .flat_map(|(_, records)| records.iter().map(|(_, stored)| stored.as_slice()))
            .collect();
        let head = self.sequencer.head();
        let written = self.log.write_batch(&entries).and_then(|locations| {
            self.log.set_head(log::Head {
                entries: head.sequence,
                hash: head.hash,
            });
            self.log.sync()?;
            Ok(locations)
        });
        match written {
            Ok(locations) => {
                {
                    let mut visible = self.visible.write().unwrap_or_else(PoisonError::into_inner);
                    let records = planned.iter().flat_map(|(_, records)| records.iter());
                    for ((record, _), location) in records.zip(locations) {
                        visible.locations.push(location);
                        visible
                            .streams
                            .entry(record.stream.clone())
                            .or_default()
                            .push(record.sequence);
                    }
                    visible.head = self.sequencer.head();
                }
                for (reply, records) in planned {
                    let _ = reply.send(Ok(records.into_iter().map(|(record, _)| record).collect()));
                }
            }
            Err(e) => {
                for rollback in rollbacks.into_iter().rev() {
                    self.sequencer.rollback(rollback);
                }
                let reason = e.to_string();
                self.failed = Some(reason.clone());
                *self.failure.lock().unwrap_or_else(PoisonError::into_inner) = Some(reason.clone());
                for (reply, _) in planned {
                    let _ = reply.send(Err(Error::Closed(format!(
                        "the journal could not be written: {reason}"
                    ))));
                }
            }
        }
    }
}
