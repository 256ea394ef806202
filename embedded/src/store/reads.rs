//! Reads: through the index to exact log locations, decoded and checked against what the index named;
//! recently read streams come from the read cache.

//!   it is durable and indexed.

use super::*;

impl EmbeddedStore {
    pub(super) fn read_stream_now(
        &self,
        child_id: &ChildId,
        from: Version,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>> {
        // Before the cache: a read that raced a destruction may have cached the stream after it was dropped.
        self.shared.refuse_destroyed(child_id)?;
        let cache = &self.shared.read_cache;
        let cached = cache.get(child_id);
        let have = cached.as_ref().map_or(0, |c| c.len() as u64);
        // Served from the cache when it holds every version asked for that the stream has.
        if let Some(cached) = &cached
            && let Some(current) = self.shared.index().stream_version(child_id)
        {
            let last = current
                .0
                .min(from.0.saturating_add(limit as u64).saturating_sub(1));
            if last <= have {
                let first = (from.0 as usize - 1).min(cached.len());
                return Ok(cached[first..last as usize].to_vec());
            }
        }
        if !cache.enabled() || from.0 > have + 1 {
            // A window that starts past what is cached: read just the window, and leave the cache alone.
            let entries = self.shared.index().stream(child_id, from, limit);
            return read_entries(&self.shared.reader, self.shared.keys(), &entries, child_id);
        }
        // Read what the cache lacks, up to the end of the window, and cache the longer prefix.
        let window_end = from.0.saturating_add(limit as u64).saturating_sub(1);
        let missing_limit = usize::try_from(window_end - have).unwrap_or(usize::MAX);
        let entries = self
            .shared
            .index()
            .stream(child_id, Version(have + 1), missing_limit);
        let fresh = read_entries(&self.shared.reader, self.shared.keys(), &entries, child_id)?;
        let mut prefix = Vec::with_capacity(have as usize + fresh.len());
        if let Some(cached) = cached {
            prefix.extend_from_slice(&cached);
        }
        prefix.extend(fresh);
        let first = (from.0 as usize - 1).min(prefix.len());
        let out = prefix[first..].to_vec();
        cache.offer(child_id, Arc::new(prefix));
        Ok(out)
    }

    pub(super) fn read_all_now(&self, from: Position, limit: usize) -> Result<Vec<RecordedEvent>> {
        let from = from.max(Position::FIRST);
        let Some(last) = self.head_state().head.position else {
            return Ok(Vec::new());
        };
        if from > last || limit == 0 {
            return Ok(Vec::new());
        }
        let mut position = from;
        let location = self.shared.index().location(from.0).ok_or_else(|| {
            Error::Index("no location for a position before the head: rebuild the index".into())
        })?;
        let mut out = Vec::with_capacity(limit.min((last.0 - from.0 + 1) as usize));
        for item in self.shared.reader.scan(Some((location.segment, location.offset))) {
            if position > last || out.len() >= limit {
                break;
            }
            let (at, bytes) = item?;
            if position >= from {
                let event = match decode_entry(&bytes, at, self.shared.keys()) {
                    // A destroyed child's records are erased: the feed passes over them (their positions,
                    // hashes and proofs stay; `EventStore::read_all`).
                    Err(Error::Key(KeyError::Destroyed { .. })) => {
                        position = position.next();
                        continue;
                    }
                    other => other?,
                };
                if event.envelope.position != position {
                    return Err(Error::Index(
                        "position index points at the wrong record: rebuild the index".into(),
                    ));
                }
                out.push(event);
            }
            position = position.next();
        }
        Ok(out)
    }

    pub(super) fn export_now(&self, child_id: ChildId) -> Result<StreamExport> {
        self.shared.refuse_destroyed(&child_id)?;
        // The child's own key goes with its export when its records are sealed: the holder can then check
        // that the readable copies are what the hashed bytes say (it opens nothing but this child's).
        let content_key = match &self.shared.content_keys {
            Some(keys) if self.shared.index().stream_version(&child_id).is_some() => {
                Some(keys.key(&child_id)?)
            }
            _ => None,
        };
        let log_head = self.head_state().head;
        // Each record's previous log hash is the log hash of the record before it in the whole log, read
        // from that record's first bytes (its body is not decoded).
        let (entries, previous) = {
            let index = self.shared.index();
            let entries = index.stream(&child_id, Version::FIRST, usize::MAX);
            let previous: Vec<Option<EntryLocation>> =
                entries.iter().map(|(_, p, _)| index.location(p.0 - 1)).collect();
            (entries, previous)
        };
        let locations: Vec<EntryLocation> = entries.iter().map(|(_, _, l)| *l).collect();
        let raw = self.shared.reader.read_many(&locations)?;
        let before: Vec<EntryLocation> = previous.iter().flatten().copied().collect();
        let mut before_raw = self.shared.reader.read_many(&before)?.into_iter();
        let mut records = Vec::with_capacity(entries.len());
        for ((bytes, (version, position, location)), prev) in raw.iter().zip(&entries).zip(&previous) {
            let (chain, body) = split_entry(bytes, *location)?;
            let (envelope, payload) = encoding::decode_body(body, self.shared.keys())?;
            if envelope.child_id != child_id || envelope.version != *version {
                return Err(stale_index(&child_id, *version));
            }
            let previous_log_hash = match prev {
                None => chain::GENESIS,
                Some(at) => {
                    let bytes = before_raw.next().expect("one read per previous location");
                    split_entry(&bytes, *at)?.0.log_hash
                }
            };
            records.push(ExportedRecord {
                position: *position,
                version: *version,
                body: body.to_vec(),
                previous_log_hash,
                chain,
                event: RecordedEvent {
                    envelope,
                    payload,
                    chain,
                },
                tlog_proof: None,
            });
        }
        Ok(StreamExport {
            format: EXPORT_FORMAT.to_owned(),
            child_id,
            records,
            log_head,
            tlog: None,
            content_key,
        })
    }

    /// Walks the log (every hash link, position, version, time and body) and checks the in-memory index
    /// against every record it has indexed: where it is, its event id's fingerprint, its child and version.
    pub(super) fn verify_now(&self) -> Result<VerifyReport> {
        let mut verifier = Verifier::new();
        verifier.walked_too("index");
        for item in self.shared.reader.scan(None) {
            match item {
                Ok((at, bytes)) => {
                    let (chain, body) = match split_entry(&bytes, at) {
                        Ok(parts) => parts,
                        Err(e) => {
                            verifier.fail(e.to_string());
                            break;
                        }
                    };
                    let position = verifier.next_position();
                    if !verifier.push(body, &chain) {
                        break;
                    }
                    if let Err(why) = check_indexed(&self.shared.index(), position, at, body) {
                        verifier.fail(why);
                        break;
                    }
                }
                Err(e) => {
                    verifier.fail(e.to_string());
                    break;
                }
            }
        }
        Ok(verifier.finish())
    }
}

/// Whether `index` says of the record at `position` (at `at`, with stored `body`) what the log holds.
pub(crate) fn check_indexed(
    index: &MemIndex,
    position: Position,
    at: EntryLocation,
    body: &[u8],
) -> std::result::Result<(), String> {
    let (fields, event_id) = encoding::decode_locator(body).map_err(|e| e.to_string())?;
    index.check_record(
        position,
        at,
        index::fingerprint(event_id.as_str()),
        &fields.child_id,
        fields.version,
    )
}

/// From this many records, a read from the log (a child's first read, nothing cached) is split between two
/// threads, each reading and decoding half: for a long stream scattered over the log, the `pread`s and the
/// decoding are most of a read's time, and they parallelise. Below it, a thread costs more than it saves.
const SPLIT_READ_AT: usize = 256;

/// Reads and decodes a child's records at the index's locations, checking each is the one the index says.
pub(super) fn read_entries(
    reader: &LogReader,
    keys: &dyn encoding::KeySource,
    entries: &[(Version, Position, EntryLocation)],
    child_id: &ChildId,
) -> Result<Vec<RecordedEvent>> {
    static CPUS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    let cpus = *CPUS.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    if entries.len() < SPLIT_READ_AT || cpus < 2 {
        return read_entries_here(reader, keys, entries, child_id);
    }
    let (first, second) = entries.split_at(entries.len() / 2);
    let (first, second) = std::thread::scope(|scope| {
        let other = scope.spawn(|| read_entries_here(reader, keys, second, child_id));
        let first = read_entries_here(reader, keys, first, child_id);
        (first, other.join())
    });
    let mut out = first?;
    out.extend(second.unwrap_or_else(|panic| std::panic::resume_unwind(panic))?);
    Ok(out)
}

/// [`read_entries`] on the calling thread.
fn read_entries_here(
    reader: &LogReader,
    keys: &dyn encoding::KeySource,
    entries: &[(Version, Position, EntryLocation)],
    child_id: &ChildId,
) -> Result<Vec<RecordedEvent>> {
    let locations: Vec<EntryLocation> = entries.iter().map(|(_, _, l)| *l).collect();
    // Every record here is this child's: its key is looked up once, not once per record.
    let child_key = keys.content_key(child_id).ok();
    let keys: &dyn encoding::KeySource = match &child_key {
        Some(key) => key,
        None => keys,
    };
    let decode = |k: usize, bytes: &[u8]| {
        let (version, _, location) = entries[k];
        let event = decode_entry(bytes, location, keys)?;
        if &event.envelope.child_id != child_id || event.envelope.version != version {
            return Err(stale_index(child_id, version));
        }
        Ok(event)
    };
    // A stream's positions ascend, and so do their locations: then the payloads come in order and go
    // straight into the result.
    if locations.is_sorted_by_key(|l| (l.segment, l.offset)) {
        let mut out = Vec::with_capacity(entries.len());
        reader.read_many_each(&locations, |k, bytes| {
            debug_assert_eq!(k, out.len());
            out.push(decode(k, bytes)?);
            Ok(())
        })?;
        return Ok(out);
    }
    let mut out: Vec<Option<RecordedEvent>> = Vec::with_capacity(entries.len());
    out.resize_with(entries.len(), || None);
    reader.read_many_each(&locations, |k, bytes| {
        out[k] = Some(decode(k, bytes)?);
        Ok(())
    })?;
    Ok(out
        .into_iter()
        .map(|e| e.expect("read_many_each reads every location"))
        .collect())
}
