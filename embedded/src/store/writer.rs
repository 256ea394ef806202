//! The writer's first thread: appends judged and sealed in groups, ahead of the committer.

//!   it is durable and indexed.

use super::*;

/// What the writer knows about one child between appends.
#[derive(Clone, Debug)]
pub(super) struct CachedStream {
    pub(super) version: Option<Version>,
    last_stream_hash: [u8; 32],
    state: StreamState,
}

/// The first of the writer's two threads. It takes appends off the channel in groups, judges each against
/// its child's state (idempotency, expected version, rules) and seals the accepted ones, then hands the
/// group to the [`Committer`]. It runs up to two groups ahead of the committer: while group *n* is written
/// and synced, group *n + 1* is judged and sealed against the state group *n* leaves. Nothing it does is
/// acknowledged before the committer has made it durable; if a write fails, the committer fails every later
/// group too, and this thread forgets the states it built on them.
pub(super) struct WriterState {
    pub(super) shared: Arc<Shared>,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) cache: lru::LruCache<ChildId, CachedStream>,
    pub(super) options: EmbeddedOptions,
    /// The head as the groups handed to the committer leave it.
    pub(super) head: HeadState,
    /// Groups handed to the committer and perhaps not yet indexed: their number, event ids and children.
    pub(super) in_flight: VecDeque<InFlight>,
    /// The number of the next group.
    pub(super) next_group: u64,
    /// States evicted from the cache while their child had records in flight, with the newest group that
    /// can hold them; dropped once the committer is done with it.
    pub(super) evicted: HashMap<ChildId, (u64, CachedStream)>,
    pub(super) commits: mpsc::SyncSender<Prepared>,
}

pub(super) struct InFlight {
    pub(super) number: u64,
    pub(super) ids: HashMap<EventId, StoredEventRef>,
    children: HashSet<ChildId>,
}

/// A judged and sealed group on its way to the committer.
pub(super) struct Prepared {
    pub(super) number: u64,
    pub(super) entries: Vec<Vec<u8>>,
    pub(super) to_index: Vec<ToIndex>,
    /// Answered once the group is durable and indexed (with an error if it fails): the appends written in
    /// it, and retries of appends stored earlier or in flight (answered only once those are durable).
    pub(super) pending: Vec<Pending>,
    /// The head after this group (its last location is filled in once written).
    pub(super) head: HeadState,
    /// Keys made for this group's new children: durable before any of the group is written.
    pub(super) new_keys: Vec<KeyEntry>,
}

/// An event already stored under this id, if there is one: candidates by fingerprint from the in-memory
/// index, each confirmed by reading its record.
fn lookup_stored(shared: &Shared, id: &EventId) -> Result<Option<StoredEventRef>> {
    let candidates = shared.index().candidates(index::fingerprint(id.as_str()));
    for (_, location) in candidates {
        let bytes = shared.reader.read(location)?;
        let (_, body) = split_entry(&bytes, location)?;
        let fields = encoding::decode_index_fields(body, shared.keys())?;
        if fields.event_id == *id {
            return Ok(Some(StoredEventRef {
                child_id: fields.store.child_id,
                version: fields.store.version,
                position: fields.store.position,
                recorded_at: fields.store.recorded_at,
                content_digest: fields.content_digest,
            }));
        }
    }
    Ok(None)
}

impl WriterState {
    /// Prepares appends as they arrive, merging them into one group for as long as the committer is busy, and
    /// hands the group over as soon as the committer is free: so group *n + 1* is judged and sealed while
    /// group *n* is written and synced, and holds everything that arrived meanwhile.
    pub(super) fn run(&mut self, receiver: mpsc::Receiver<WriterMsg>) {
        let mut open: Option<Prepared> = None;
        let mut committer_idle = false;
        let mut stop = false;
        while !stop {
            let Ok(first) = receiver.recv() else { break };
            let mut group = Vec::new();
            let mut events = open.as_ref().map_or(0, |g| g.entries.len());
            let mut take = |msg: WriterMsg, group: &mut Vec<WriteRequest>, events: &mut usize| {
                match msg {
                    WriterMsg::Append(w) => {
                        *events += w.request.events.len();
                        group.push(w);
                    }
                    WriterMsg::CommitterIdle => committer_idle = true,
                    WriterMsg::Stop => stop = true,
                    WriterMsg::Destroy(d) => return Some(d),
                }
                None
            };
            let mut destroy = take(first, &mut group, &mut events);
            // A destruction ends the batch: appends before it are judged first, appends after it see it.
            while events < self.options.max_commit_events && destroy.is_none() {
                match receiver.try_recv() {
                    Ok(msg) => destroy = take(msg, &mut group, &mut events),
                    Err(_) => break,
                }
            }
            if !group.is_empty()
                && let Some(prepared) = self.prepare(group)
            {
                open = Some(match open.take() {
                    None => prepared,
                    Some(mut g) => {
                        g.number = prepared.number;
                        g.entries.extend(prepared.entries);
                        g.to_index.extend(prepared.to_index);
                        g.pending.extend(prepared.pending);
                        g.new_keys.extend(prepared.new_keys);
                        g.head = prepared.head;
                        g
                    }
                });
            }
            if let Some(request) = destroy {
                self.destroy(request);
            }
            // A full group waits for the committer; otherwise it is handed over only when the committer is free.
            let full = open
                .as_ref()
                .is_some_and(|g| g.entries.len() >= self.options.max_commit_events);
            if (committer_idle || full || stop)
                && let Some(g) = open.take()
            {
                committer_idle = false;
                if let Err(mpsc::SendError(lost)) = self.commits.send(g) {
                    fail_all(lost.pending, "the log committer stopped");
                }
            }
        }
    }

    /// Forgets the in-flight groups the committer is done with (their ids are in the index now).
    fn prune(&mut self) {
        let done = self.shared.committed();
        while self.in_flight.front().is_some_and(|g| g.number <= done) {
            self.in_flight.pop_front();
        }
        if !self.evicted.is_empty() {
            self.evicted.retain(|_, (newest, _)| *newest > done);
        }
    }

    /// Judges and seals appends, for the committer.
    fn prepare(&mut self, group: Vec<WriteRequest>) -> Option<Prepared> {
        if let Some(why) = self.shared.failure() {
            // The committer failed: every state built on groups after the last durable one is suspect.
            self.cache.clear();
            self.in_flight.clear();
            self.evicted.clear();
            for w in group {
                let _ = w.reply.send(Err(Error::Closed(why.clone())));
            }
            return None;
        }
        self.prune();
        let mut head = self.head;
        let mut entries: Vec<Vec<u8>> = Vec::new();
        let mut to_index: Vec<ToIndex> = Vec::new();
        let mut pending: Vec<Pending> = Vec::new();
        let mut pending_ids: HashMap<EventId, StoredEventRef> = HashMap::new();
        let mut touched: HashMap<ChildId, CachedStream> = HashMap::new();
        let mut new_keys: Vec<KeyEntry> = Vec::new();

        for WriteRequest { request, reply } in group {
            self.shared.stats.appends.fetch_add(1, Ordering::Relaxed);
            // Recorded time never goes backwards, even if the clock does.
            let recorded_at = self.clock.now().max(head.recorded_at);
            if head.head.next_position().0 + request.events.len() as u64 > index::MAX_POSITION + 1 {
                let _ = reply.send(Err(Error::Index(format!(
                    "the log has reached the index's limit of {} records",
                    index::MAX_POSITION
                ))));
                continue;
            }
            let stream = match touched.remove(&request.child_id) {
                Some(s) => s,
                None => match self.load_stream(&request.child_id) {
                    Ok(s) => s,
                    Err(e) => {
                        let _ = reply.send(Err(e));
                        continue;
                    }
                },
            };
            // The child's content key, when the store seals content: a new child's is made now and made
            // durable by the committer before the group is written; a destroyed child's record is closed.
            let (key, new_key) = match self.content_key(&request.child_id, stream.version.is_none()) {
                Ok(found) => found,
                Err(e) => {
                    touched.insert(request.child_id.clone(), stream);
                    let _ = reply.send(Err(e));
                    continue;
                }
            };
            let shared = &*self.shared;
            let in_flight = &self.in_flight;
            let mut stream = stream;
            let plan =
                plan_append(
                    &request,
                    stream.version,
                    &mut stream.state,
                    recorded_at,
                    |id| match pending_ids
                        .get(id)
                        .or_else(|| in_flight.iter().rev().find_map(|g| g.ids.get(id)))
                    {
                        Some(found) => Ok(Some(found.clone())),
                        None => lookup_stored(shared, id),
                    },
                );
            if new_key.is_some() && !matches!(plan, Ok(AppendPlan::Write)) {
                self.forget_key(&request.child_id);
            }
            match plan {
                Err(e) => {
                    // A refusal claims nothing about durability: answer at once.
                    touched.insert(request.child_id.clone(), stream);
                    let _ = reply.send(Err(e));
                }
                Ok(AppendPlan::AlreadyRecorded(outcome)) => {
                    // The original may still be in flight: answer with this group, after everything before
                    // it is durable.
                    touched.insert(request.child_id.clone(), stream);
                    pending.push(Pending { reply, outcome });
                }
                Ok(AppendPlan::Write) => {
                    let sealed = match seal_append(
                        &request,
                        recorded_at,
                        (stream.version, stream.last_stream_hash),
                        head.head,
                        key.as_ref(),
                    ) {
                        Ok(sealed) => sealed,
                        Err(e) => {
                            // Only the random source can fail here, before anything is written.
                            if new_key.is_some() {
                                self.forget_key(&request.child_id);
                            }
                            let _ = reply.send(Err(e));
                            continue;
                        }
                    };
                    new_keys.extend(new_key);
                    let mut appended = Vec::with_capacity(sealed.len());
                    for record in sealed {
                        let envelope = &record.event.envelope;
                        pending_ids.insert(envelope.event_id.clone(), record.stored_ref());
                        to_index.push(ToIndex {
                            child_id: envelope.child_id.clone(),
                            version: envelope.version,
                            fingerprint: index::fingerprint(envelope.event_id.as_str()),
                            position: envelope.position,
                            log_hash: record.event.chain.log_hash,
                            recorded_at,
                        });
                        entries.push(encode_entry(&record.event.chain, &record.body));
                        stream.version = Some(envelope.version);
                        stream.last_stream_hash = record.event.chain.stream_hash;
                        head.head = LogHead {
                            position: Some(envelope.position),
                            log_hash: record.event.chain.log_hash,
                        };
                        head.recorded_at = recorded_at;
                        appended.push(record.appended());
                    }
                    touched.insert(request.child_id.clone(), stream);
                    pending.push(Pending {
                        reply,
                        outcome: AppendOutcome {
                            child_id: request.child_id,
                            events: appended,
                            already_recorded: false,
                        },
                    });
                }
            }
        }

        if pending.is_empty() {
            self.remember(touched, self.next_group.saturating_sub(1));
            return None;
        }
        let number = self.next_group;
        self.next_group += 1;
        if !entries.is_empty() {
            self.in_flight.push_back(InFlight {
                number,
                ids: pending_ids,
                children: touched.keys().cloned().collect(),
            });
        }
        self.remember(touched, number);
        self.head = head;
        Some(Prepared {
            number,
            entries,
            to_index,
            pending,
            head,
            new_keys,
        })
    }

    /// The key to seal a child's records with: `None` for a store in the clear; for a new child (`new`), a
    /// key made now, with its entry for the key store.
    fn content_key(&self, child_id: &ChildId, new: bool) -> Result<(Option<ContentKey>, Option<KeyEntry>)> {
        let Some(keys) = &self.shared.content_keys else {
            return Ok((None, None));
        };
        match keys.key(child_id) {
            Ok(key) => Ok((Some(key), None)),
            Err(KeyError::Missing { .. }) if new => {
                let (key, entry) = keys.create(child_id)?;
                Ok((Some(key), Some(entry)))
            }
            Err(e) => Err(e.into()),
        }
    }

    fn forget_key(&self, child_id: &ChildId) {
        if let Some(keys) = &self.shared.content_keys {
            keys.forget(child_id);
        }
    }

    /// Puts states back in the cache. A state the cache evicts is kept aside if the child has records in
    /// flight (`newest` is the newest group that can hold them), since the index cannot rebuild it yet.
    fn remember(&mut self, touched: HashMap<ChildId, CachedStream>, newest: u64) {
        for (child, stream) in touched {
            if let Some((out, state)) = self.cache.push(child, stream)
                && self.in_flight.iter().any(|g| g.children.contains(&out))
            {
                self.evicted.insert(out, (newest, state));
            }
        }
    }

    /// The child's version, last hash and validation state: from the cache, or by replaying the stream.
    fn load_stream(&mut self, child_id: &ChildId) -> Result<CachedStream> {
        // Taken out of the cache, not cloned: the group puts it back when it is done with it.
        if let Some(s) = self.cache.pop(child_id) {
            return Ok(s);
        }
        // Evicted from the cache while some of its records were in flight: the index does not have them yet,
        // so the state was kept aside.
        if let Some((_, s)) = self.evicted.remove(child_id) {
            return Ok(s);
        }
        let mut stream = CachedStream {
            version: None,
            last_stream_hash: chain::GENESIS,
            state: StreamState::default(),
        };
        let entries = self.shared.index().stream(child_id, Version::FIRST, usize::MAX);
        for chunk in entries.chunks(1024) {
            for event in read_entries(&self.shared.reader, self.shared.keys(), chunk, child_id)? {
                stream.state.apply(
                    &event.envelope.event_id,
                    event.envelope.occurred_at,
                    &event.payload,
                );
                stream.version = Some(event.envelope.version);
                stream.last_stream_hash = event.chain.stream_hash;
            }
        }
        Ok(stream)
    }
}
