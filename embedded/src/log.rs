//! The append-only, segmented log file that is Journey's source of truth. Everything else (the
//! indexes, the views) is derived from it and can be rebuilt from it.
//!
//! This module knows only bytes: it appends opaque entries in groups (one group per
//! [`LogWriter::write_batch`]), hands back where each entry went, reads them back (checking every byte),
//! and on open repairs the one kind of damage a crash or a power loss is allowed to cause — an incomplete
//! last group. Any other damage is reported as [`Error::Corrupt`], never skipped. A group is all or
//! nothing: after a crash, either all of its entries are served or none is.
//!
//! # On-disk format (version 2)
//!
//! The log directory holds segment files named `{seq:010}.seg` (`0000000001.seg`, `0000000002.seg`, …),
//! numbered from 1 without gaps. Only the last segment is ever appended to; the earlier ones are sealed.
//! Files whose names do not end in `.seg` are ignored; a `.seg` file whose name is not exactly ten digits
//! (or is 0, or does not fit a `u32`) is treated as corruption. Errors name a segment by its file name.
//!
//! Each segment starts with a 16-byte header:
//!
//! | bytes  | content                                  |
//! |--------|------------------------------------------|
//! | 0..8   | magic `b"JRNYSEG1"`                      |
//! | 8..12  | format version, `u32` little-endian (= 2) |
//! | 12..16 | the segment's own sequence number, `u32` LE (must match the file name) |
//!
//! followed by groups, back to back. A group is the entry frames of one [`LogWriter::write_batch`] call,
//! back to back, one per entry:
//!
//! | bytes        | content                                                        |
//! |--------------|----------------------------------------------------------------|
//! | 0..4         | [`FRAME_MAGIC`] `0xE5A7_4A1D`, `u32` LE (bytes `1D 4A A7 E5`)   |
//! | 4..8         | `len`, the payload length, `u32` LE, at most [`MAX_ENTRY_LEN`]  |
//! | 8..12        | CRC-32C (Castagnoli) of the 4 `len` bytes followed by the payload, `u32` LE |
//! | 12..12+len   | payload                                                        |
//!
//! then one 16-byte commit frame, which closes the group:
//!
//! | bytes  | content                                                                          |
//! |--------|----------------------------------------------------------------------------------|
//! | 0..4   | [`COMMIT_MAGIC`] `0x3C0F_FEC7`, `u32` LE (bytes `C7 FE 0F 3C`)                     |
//! | 4..8   | `group_len`: how many bytes of entry frames precede it in its group, `u32` LE     |
//! | 8..12  | `entries`: how many entry frames the group holds (at least 1), `u32` LE           |
//! | 12..16 | CRC-32C of bytes 4..12 followed by the group's `group_len` bytes of entry frames, `u32` LE |
//!
//! (Neither magic can occur in UTF-8 text, and neither is zero.) An [`EntryLocation`] is
//! `(segment, offset of the entry frame's first byte, len)`; commit frames have no location and readers
//! skip them. Within a group the entry frames are contiguous (the next one starts at
//! [`EntryLocation::end`]); the group's last frame is followed by its commit frame. A group never spans
//! segments. A segment is at most [`LogOptions::segment_max_bytes`] long (header included), except that a
//! group too large to fit even in an empty segment goes alone into a segment of its own.
//!
//! # Durability
//!
//! * A new segment is created as: create the file, write its header, fsync it, fsync the directory — all
//!   before any frame is written to it, so a durable frame never lives in a file whose name is not durable.
//! * A group, commit frame included, is assembled in memory and written with one `pwrite` (repeated only
//!   if the kernel writes part of it), not synced.
//! * Before the writer leaves a segment for the next one it fdatasyncs the old one. Hence every segment but
//!   the last is complete and durable, which is what lets recovery scan only the last segment.
//! * [`LogWriter::write_batch`] does not sync (except at such a rotation); [`LogWriter::sync`] does. Readers
//!   see a group only once a `sync` covering its commit frame has returned (with [`SyncMode::Data`]).
//! * The store calls `sync` after every `write_batch` and acknowledges nothing before `sync` returns. So at
//!   any moment at most one group — the last one — is unsynced, and every group before it is durable.
//!   Recovery relies on this (see below). A caller that writes several groups between two syncs still gets
//!   all-or-nothing groups, but a power loss that leaves a hole in an unsynced group other than the last
//!   one written makes [`open`] fail with [`Error::Corrupt`] (it cannot tell that hole from damage to
//!   durable data); it never serves a partial group.
//!
//! # Recovery on open
//!
//! Only the last segment is walked, group by group: entry frames (magic, length, CRC checked) up to a commit
//! frame, whose `group_len`, `entries` and CRC must match the group just read. The durable end is the end of
//! the last commit frame whose group verifies. At the first problem after it — an invalid or incomplete
//! entry frame, the end of the file inside a group, a commit frame that does not verify, or bytes that are
//! neither kind of frame — the rest of the segment is searched, byte by byte, for a commit frame starting at
//! or after the problem that verifies together with its group (`group_len` gives where the group starts; its
//! frames must all be valid, be `entries` in number and end exactly at the commit frame, and the group CRC
//! must match).
//!
//! * If there is one, committed data lies beyond the damage. Since only the last group can be unsynced, a
//!   verified group after the damage proves that the damaged bytes were synced (a later group is only ever
//!   written after the sync of the earlier one returned): the damage is to durable data. Open fails with
//!   [`Error::Corrupt`] naming the segment and the offset of the problem, and nothing is modified.
//! * Otherwise the bytes after the durable end are the remains of the last, unsynced and unacknowledged
//!   group: cut short by a crash, or — after a power loss, since the disk may write back the pages of an
//!   unsynced write in any order — with holes (zeros or stale bytes) before frames that did reach the disk.
//!   The file is truncated to the durable end (dropping any valid-looking entry frames of that group, which
//!   never got a valid commit frame), fsynced, and this is reported in the [`RecoveryReport`] and logged.
//!
//! A last segment whose header is incomplete (the crash came right after it was created; its bytes are a
//! prefix of the expected header, with zeros for the rest) and which holds no verified group gets its
//! header rewritten. The earlier segments only have their headers checked on open; damage inside them is
//! found by [`LogReader::read`] / [`LogReader::scan`] (entry CRCs, and a sealed segment must end exactly
//! at a commit frame that matches its group). Damage that hits only the last group of the last segment,
//! synced or not, looks exactly like a torn unsynced group and is truncated as one: nothing on disk tells
//! them apart.
//!
//! One writer per directory: [`open`] takes an exclusive advisory lock (`flock`) on the directory, held by
//! the [`LogWriter`].

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, ErrorKind};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard};

use journey_core::error::{Error, LogLocation};

/// The largest payload a single entry may have.
pub const MAX_ENTRY_LEN: u32 = 16 * 1024 * 1024;

/// The default for [`LogOptions::segment_max_bytes`].
pub const DEFAULT_SEGMENT_MAX_BYTES: u64 = 64 * 1024 * 1024;

/// The first four bytes of every frame. Not ASCII and not zero, so that neither text nor zero-filled
/// blocks look like the start of a frame.
pub const FRAME_MAGIC: u32 = 0xE5A7_4A1D;

/// How many bytes a frame adds to its payload (magic, length, CRC): the frame of an entry at `offset` with
/// payload length `len` ends at `offset + FRAME_OVERHEAD + len`.
pub const FRAME_OVERHEAD: u64 = 12;

/// The first four bytes of every commit frame, the frame that closes a group. Not ASCII, not valid UTF-8,
/// not zero, and not [`FRAME_MAGIC`].
pub const COMMIT_MAGIC: u32 = 0x3C0F_FEC7;

/// The length of a commit frame: magic, `group_len`, `entries`, CRC.
const COMMIT_FRAME_LEN: u64 = 16;

const SEGMENT_MAGIC: [u8; 8] = *b"JRNYSEG1";
const FORMAT_VERSION: u32 = 2;
const SEGMENT_HEADER_LEN: u64 = 16;

/// How much a sequential scan reads per `pread`.
const SCAN_CHUNK: usize = 1024 * 1024;
/// `read_many` reads two frames with one `pread` when at most this many bytes lie between them: copying a
/// few KiB from the page cache costs about as much as one more system call.
const COALESCE_GAP: u64 = 8 * 1024;
/// …and as long as one `pread` spans at most this many bytes (a single larger frame is still read whole).
const COALESCE_MAX_SPAN: u64 = 1024 * 1024;

/// When the writer makes data durable.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SyncMode {
    /// `fdatasync` in [`LogWriter::sync`] and whenever a segment is sealed; `fsync` of new segment
    /// headers and of the directory. The only mode in which the log is durable.
    #[default]
    Data,
    /// Never syncs anything, and makes entries visible to readers as soon as they are written.
    /// **Not durable**: for tests and benchmarks only.
    None,
}

/// Options for [`open`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogOptions {
    /// A segment (header included) is not allowed to grow past this many bytes, except that a group (one
    /// [`LogWriter::write_batch`]) that does not fit even in an empty segment goes alone into a segment of
    /// its own. Default 64 MiB.
    pub segment_max_bytes: u64,
    pub sync: SyncMode,
}

impl Default for LogOptions {
    fn default() -> LogOptions {
        LogOptions {
            segment_max_bytes: DEFAULT_SEGMENT_MAX_BYTES,
            sync: SyncMode::Data,
        }
    }
}

/// Where one entry lives: `offset` is the first byte of its frame in segment `segment`, `len` the length of
/// its payload. Locations order the same way as the entries were appended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EntryLocation {
    pub segment: u32,
    pub offset: u64,
    pub len: u32,
}

impl EntryLocation {
    /// The byte just past this entry's frame, i.e. where the next frame in the segment starts.
    pub fn end(&self) -> u64 {
        self.offset.saturating_add(self.frame_len())
    }

    fn frame_len(&self) -> u64 {
        FRAME_OVERHEAD + u64::from(self.len)
    }
}

/// What [`open`] found and repaired.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// How many segments the log has after opening.
    pub segments: usize,
    /// How many bytes of torn tail were cut off the last segment (0 if none).
    pub truncated_bytes: u64,
    /// Where the last segment was cut: `(segment, offset)` of the first byte removed. Offset 0 means the
    /// segment's header was incomplete and has been rewritten (dropping everything after it).
    pub truncated_at: Option<(u32, u64)>,
    /// Why, in words (e.g. the CRC mismatch found), when anything was repaired.
    pub reason: Option<String>,
}

/// What readers may see: the sealed segments and the durable end of the last one.
#[derive(Clone, Debug)]
struct Visible {
    /// `sealed[i]` is the length of segment `i + 1`, for every segment before `end.0`.
    sealed: Vec<u64>,
    /// `(segment, offset)` just past the last commit frame readers may see; `end.0 == sealed.len() + 1`.
    end: (u32, u64),
}

impl Visible {
    /// The end of the visible bytes of segment `seq`, or `None` if readers cannot see that segment.
    fn segment_end(&self, seq: u32) -> Option<u64> {
        if seq == 0 || seq > self.end.0 {
            None
        } else if seq == self.end.0 {
            Some(self.end.1)
        } else {
            Some(self.sealed[seq as usize - 1])
        }
    }
}

/// State shared by the writer and all readers.
#[derive(Debug)]
struct Shared {
    dir: PathBuf,
    visible: RwLock<Visible>,
    /// Read-only handles, opened lazily (header checked once) and kept: `pread` needs no lock.
    files: RwLock<HashMap<u32, Arc<File>>>,
}

impl Shared {
    fn visible(&self) -> RwLockReadGuard<'_, Visible> {
        // Nothing can panic half-way through an update of `Visible`, so a poisoned lock still holds a
        // consistent value.
        self.visible.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn file(&self, seq: u32) -> Result<Arc<File>, Error> {
        if let Some(file) = self
            .files
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&seq)
        {
            return Ok(Arc::clone(file));
        }
        let file = match File::open(self.dir.join(segment_file_name(seq))) {
            Ok(file) => file,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Err(corrupt(seq, 0, "the segment file is missing"));
            }
            Err(e) => return Err(e.into()),
        };
        check_sealed_header(&file, seq)?;
        let mut files = self.files.write().unwrap_or_else(PoisonError::into_inner);
        Ok(Arc::clone(files.entry(seq).or_insert_with(|| Arc::new(file))))
    }
}

/// Opens (creating if need be) the log in `dir`, repairs a torn tail, and returns its one writer, a reader
/// (clone it for more) and what recovery did. See the module documentation for the rules.
pub fn open(dir: &Path, options: LogOptions) -> Result<(LogWriter, LogReader, RecoveryReport), Error> {
    let sync = options.sync == SyncMode::Data;
    create_dir(dir, sync)?;
    let dir_handle = File::open(dir)?;
    match dir_handle.try_lock() {
        Ok(()) => {}
        Err(fs::TryLockError::WouldBlock) => {
            return Err(io::Error::new(
                ErrorKind::WouldBlock,
                format!("the log in {} is already open for writing", dir.display()),
            )
            .into());
        }
        Err(fs::TryLockError::Error(e)) => return Err(e.into()),
    }

    let mut report = RecoveryReport::default();
    let mut seqs = list_segments(dir)?;
    if seqs.is_empty() {
        create_segment(dir, &dir_handle, 1, sync)?;
        seqs.push(1);
    }
    let last = *seqs.last().expect("at least one segment");

    let mut files = HashMap::new();
    let mut sealed = Vec::with_capacity(seqs.len() - 1);
    for &seq in &seqs[..seqs.len() - 1] {
        let file = File::open(dir.join(segment_file_name(seq)))?;
        sealed.push(check_sealed_header(&file, seq)?);
        files.insert(seq, Arc::new(file));
    }

    let (file, len) = recover_last_segment(dir, &dir_handle, last, sync, &mut report)?;
    report.segments = seqs.len();

    let shared = Arc::new(Shared {
        dir: dir.to_path_buf(),
        visible: RwLock::new(Visible {
            sealed,
            end: (last, len),
        }),
        files: RwLock::new(files),
    });
    let writer = LogWriter {
        shared: Arc::clone(&shared),
        options,
        dir_handle,
        seq: last,
        file,
        len,
        dirty: false,
        sealed_unpublished: Vec::new(),
        buf: Vec::new(),
        failed: None,
    };
    Ok((writer, LogReader { shared }, report))
}

/// Appends to the log. There is exactly one per log directory; it is meant to be owned by one writer
/// thread.
///
/// Dropping the writer does not sync: call [`LogWriter::sync`] first.
///
/// After any I/O failure the writer stops: every later call returns [`Error::Closed`]. (After a failed
/// write or `fdatasync` the state of the file and of the page cache cannot be trusted; reopening the log
/// runs recovery, which can.)
#[derive(Debug)]
pub struct LogWriter {
    shared: Arc<Shared>,
    options: LogOptions,
    /// The log directory: holds the writer's lock, and is fsynced after creating a segment.
    dir_handle: File,
    /// The active (last) segment.
    seq: u32,
    file: File,
    /// End of the last commit frame written to the active segment (the header's end if none).
    len: u64,
    /// Whether the active segment has been written since it was last synced.
    dirty: bool,
    /// Lengths of the segments sealed since the last publication to readers.
    sealed_unpublished: Vec<u64>,
    /// The group being assembled for one write; kept to reuse its allocation.
    buf: Vec<u8>,
    /// Set after an I/O failure; the writer refuses all further work.
    failed: Option<String>,
}

impl LogWriter {
    /// Appends `entries` as one group: their frames back to back, then the group's commit frame, with a
    /// single write, WITHOUT syncing. If the group does not fit in what remains of the active segment
    /// (`segment_max_bytes`), rotates to a new segment first, syncing the one left behind; a group larger
    /// than a whole segment goes alone into a new segment. A group never spans segments, so the entries'
    /// frames are contiguous: each starts at the previous one's [`EntryLocation::end`]. Returns each entry's
    /// location, in order. An empty batch writes nothing.
    ///
    /// An entry longer than [`MAX_ENTRY_LEN`], or a batch whose frames add up to more than `u32::MAX`
    /// bytes, fails the whole batch with `Error::Io(InvalidInput)` before anything is written. If writing
    /// fails, the writer stops; whatever part of the group reached the file has no valid commit frame and
    /// is never served (it is cut off on the next open).
    pub fn write_batch(&mut self, entries: &[&[u8]]) -> Result<Vec<EntryLocation>, Error> {
        self.check_usable()?;
        let mut group_len = 0u64;
        for (i, entry) in entries.iter().enumerate() {
            if entry.len() > MAX_ENTRY_LEN as usize {
                return Err(io::Error::new(
                    ErrorKind::InvalidInput,
                    format!(
                        "log entry {i} of the batch is {} bytes; the maximum is {MAX_ENTRY_LEN}",
                        entry.len()
                    ),
                )
                .into());
            }
            group_len += FRAME_OVERHEAD + entry.len() as u64;
        }
        if entries.is_empty() {
            return Ok(Vec::new());
        }
        let Ok(group_len) = u32::try_from(group_len) else {
            return Err(io::Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "the batch's {} entries take {group_len} bytes of frames; the maximum for a batch is {}",
                    entries.len(),
                    u32::MAX
                ),
            )
            .into());
        };
        match self.append(entries, group_len) {
            Ok(locations) => {
                if self.options.sync == SyncMode::None {
                    self.publish();
                }
                Ok(locations)
            }
            Err(e) => Err(self.fail(e)),
        }
    }

    /// `fdatasync` of the active segment. (Segments rotated away from were already synced when they were
    /// left.) After this returns `Ok`, every group written so far is durable and visible to readers.
    pub fn sync(&mut self) -> Result<(), Error> {
        self.check_usable()?;
        if self.dirty
            && self.options.sync == SyncMode::Data
            && let Err(e) = self.file.sync_data()
        {
            return Err(self.fail(e.into()));
        }
        self.dirty = false;
        self.publish();
        Ok(())
    }

    /// `(segment, offset)` just past the last group written (synced or not), i.e. past its commit frame:
    /// where the next group goes, unless it needs a new segment.
    pub fn end(&self) -> (u32, u64) {
        (self.seq, self.len)
    }

    fn check_usable(&self) -> Result<(), Error> {
        match &self.failed {
            None => Ok(()),
            Some(why) => Err(Error::Closed(format!(
                "the log writer stopped after a failure: {why}"
            ))),
        }
    }

    /// Writes one non-empty group whose entry frames take `group_len` bytes.
    fn append(&mut self, entries: &[&[u8]], group_len: u32) -> Result<Vec<EntryLocation>, Error> {
        let total = u64::from(group_len) + COMMIT_FRAME_LEN;
        // Rotate unless the segment holds no group yet: an oversized group goes alone into a segment.
        if self.len > SEGMENT_HEADER_LEN && self.len + total > self.options.segment_max_bytes {
            self.rotate()?;
        }
        self.buf.clear();
        self.buf.reserve(total as usize);
        let mut locations = Vec::with_capacity(entries.len());
        for entry in entries {
            locations.push(EntryLocation {
                segment: self.seq,
                offset: self.len + self.buf.len() as u64,
                len: entry.len() as u32,
            });
            encode_frame(&mut self.buf, entry);
        }
        debug_assert_eq!(self.buf.len() as u64, u64::from(group_len));
        let commit = encode_commit(entries.len() as u32, &self.buf);
        self.buf.extend_from_slice(&commit);
        self.file.write_all_at(&self.buf, self.len)?;
        self.len += total;
        self.dirty = true;
        self.buf.clear();
        Ok(locations)
    }

    /// Seals the active segment and starts the next one.
    fn rotate(&mut self) -> Result<(), Error> {
        let sync = self.options.sync == SyncMode::Data;
        // The segment being left must be durable before a later one exists: recovery scans only the last
        // segment, so a torn tail left in an earlier one would later read as corruption.
        if sync && self.dirty {
            self.file.sync_data()?;
        }
        let next = self
            .seq
            .checked_add(1)
            .ok_or_else(|| io::Error::other("segment numbers exhausted"))?;
        let file = create_segment(&self.shared.dir, &self.dir_handle, next, sync)?;
        self.sealed_unpublished.push(self.len);
        self.seq = next;
        self.file = file;
        self.len = SEGMENT_HEADER_LEN;
        self.dirty = false;
        Ok(())
    }

    /// Makes everything written so far visible to readers.
    fn publish(&mut self) {
        let mut visible = self
            .shared
            .visible
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        visible.sealed.append(&mut self.sealed_unpublished);
        visible.end = (self.seq, self.len);
        debug_assert_eq!(visible.end.0 as usize, visible.sealed.len() + 1);
    }

    /// Stops the writer after an I/O failure, returning the error.
    fn fail(&mut self, error: Error) -> Error {
        // Best effort: do not leave part of a failed write behind the last commit frame. (It could not be
        // taken for a group on the next open, having no valid commit frame, but it is garbage.)
        let _ = self.file.set_len(self.len);
        self.buf.clear();
        tracing::error!(
            segment = %segment_file_name(self.seq),
            error = %error,
            "the log writer failed and is stopped"
        );
        self.failed = Some(error.to_string());
        error
    }
}

/// Reads the log. Cheap to clone; may be used from many threads at once. Sees only groups made durable by
/// [`LogWriter::sync`] (or all written groups, with [`SyncMode::None`]). Commit frames are invisible to it:
/// it deals in entries only.
#[derive(Clone, Debug)]
pub struct LogReader {
    shared: Arc<Shared>,
}

impl LogReader {
    /// The payload at `loc`, after checking the frame's magic, length and CRC ([`Error::Corrupt`] on any
    /// mismatch). A location beyond what readers can see is [`Error::NotFound`].
    pub fn read(&self, loc: EntryLocation) -> Result<Vec<u8>, Error> {
        check_visible(&self.shared.visible(), loc)?;
        let file = self.shared.file(loc.segment)?;
        let mut frame = vec![0; loc.frame_len() as usize];
        file.read_exact_at(&mut frame, loc.offset)
            .map_err(|e| read_error(e, loc.segment, loc.offset))?;
        verify_frame(&frame, loc)?;
        frame.drain(..FRAME_OVERHEAD as usize);
        Ok(frame)
    }

    /// The payloads at `locs`, in the same order, checked as by [`LogReader::read`]. Locations in the same
    /// segment that are adjacent or close together are read with a single `pread`.
    pub fn read_many(&self, locs: &[EntryLocation]) -> Result<Vec<Vec<u8>>, Error> {
        let mut out = vec![Vec::new(); locs.len()];
        self.read_many_each(locs, |k, payload| {
            out[k] = payload.to_vec();
            Ok(())
        })?;
        Ok(out)
    }

    /// Like [`LogReader::read_many`], but hands each payload, checked, to `f` together with its index in
    /// `locs`, straight from the read buffer instead of copying it. Payloads come in file order (which is
    /// `locs`' order when they ascend). Stops at the first error, `f`'s included.
    pub fn read_many_each(
        &self,
        locs: &[EntryLocation],
        mut f: impl FnMut(usize, &[u8]) -> Result<(), Error>,
    ) -> Result<(), Error> {
        {
            let visible = self.shared.visible();
            for &loc in locs {
                check_visible(&visible, loc)?;
            }
        }
        let mut order: Vec<usize> = (0..locs.len()).collect();
        if !locs.is_sorted_by_key(|l| (l.segment, l.offset)) {
            order.sort_unstable_by_key(|&i| (locs[i].segment, locs[i].offset));
        }

        // The read buffer is kept per thread, so that a read does not allocate (and zero) it afresh.
        let mut span = SPAN.with(|s| s.take());
        let mut file: Option<(u32, Arc<File>)> = None;
        let mut i = 0;
        let result = loop {
            if i >= order.len() {
                break Ok(());
            }
            // Grow a run of locations [i, j) that one pread can cover.
            let first = locs[order[i]];
            let start = first.offset;
            let mut end = first.end();
            let mut j = i + 1;
            while let Some(&k) = order.get(j) {
                let next = locs[k];
                if next.segment != first.segment
                    || next.offset > end + COALESCE_GAP
                    || next.end().max(end) - start > COALESCE_MAX_SPAN
                {
                    break;
                }
                end = end.max(next.end());
                j += 1;
            }

            let handle = match &file {
                Some((seq, handle)) if *seq == first.segment => handle,
                _ => match self.shared.file(first.segment) {
                    Ok(handle) => &file.insert((first.segment, handle)).1,
                    Err(e) => break Err(e),
                },
            };
            span.clear();
            span.resize((end - start) as usize, 0);
            if let Err(e) = handle.read_exact_at(&mut span, start) {
                break Err(read_error(e, first.segment, start));
            }
            let run = order[i..j].iter().try_for_each(|&k| {
                let loc = locs[k];
                let from = (loc.offset - start) as usize;
                let frame = &span[from..from + loc.frame_len() as usize];
                verify_frame(frame, loc)?;
                f(k, &frame[FRAME_OVERHEAD as usize..])
            });
            if let Err(e) = run {
                break Err(e);
            }
            i = j;
        };
        if span.capacity() <= 2 * COALESCE_MAX_SPAN as usize {
            SPAN.with(|s| s.replace(span));
        }
        result
    }

    /// Reads the log in order, from `from` (a frame boundary: `(segment, offset)`, e.g. a former
    /// [`LogWriter::end`] or [`EntryLocation::end`], which may be where a commit frame starts) or from the
    /// very start with `None`, up to the durable end as it was when the scan began. Yields each entry's
    /// location and payload, skipping commit frames (checking that each matches the entries before it, when
    /// the scan saw its whole group). Damage — including a sealed segment that does not end with a commit
    /// frame — yields one `Err` naming the segment and offset, and ends the iteration; so does a `from`
    /// outside the log ([`Error::NotFound`]).
    pub fn scan(
        &self,
        from: Option<(u32, u64)>,
    ) -> impl Iterator<Item = Result<(EntryLocation, Vec<u8>), Error>> + '_ {
        let visible = self.shared.visible().clone();
        let (seq, offset) = from.unwrap_or((1, SEGMENT_HEADER_LEN));
        let pending = match visible.segment_end(seq) {
            Some(end) if (SEGMENT_HEADER_LEN..=end).contains(&offset) => None,
            _ => Some(Error::NotFound(format!(
                "cannot scan the log from segment {seq} offset {offset}: it is outside the durable log, \
                 which ends at segment {} offset {}",
                visible.end.0, visible.end.1
            ))),
        };
        Scan {
            shared: Arc::clone(&self.shared),
            visible,
            seq,
            offset,
            group_start: offset,
            group_whole: offset == SEGMENT_HEADER_LEN,
            group_entries: 0,
            file: None,
            window: Window::default(),
            pending,
            done: false,
        }
    }

    /// How many bytes of segments readers can see (headers included): for sizing things by the log.
    pub fn estimated_bytes(&self) -> u64 {
        let visible = self.shared.visible();
        visible.sealed.iter().sum::<u64>() + visible.end.1
    }

    /// `(segment, offset)` just past the last commit frame readers can see (the durable end); `(1, 16)`
    /// for an empty log.
    pub fn end(&self) -> (u32, u64) {
        self.shared.visible().end
    }

    /// The sequence numbers of the segments readers can see, in order. Never empty: an empty log has
    /// segment 1, holding only its header.
    pub fn segments(&self) -> Vec<u32> {
        (1..=self.shared.visible().end.0).collect()
    }
}

thread_local! {
    /// [`LogReader::read_many_each`]'s read buffer, kept between reads on the same thread.
    static SPAN: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The iterator behind [`LogReader::scan`].
struct Scan {
    shared: Arc<Shared>,
    visible: Visible,
    seq: u32,
    offset: u64,
    /// Where the current group started, or where the scan began if that may have been inside a group.
    group_start: u64,
    /// Whether `group_start` is known to be where the current group starts: the scan began at a segment's
    /// first frame, or has passed a commit frame since it began.
    group_whole: bool,
    /// How many entries of the current group the scan has yielded.
    group_entries: u32,
    file: Option<Arc<File>>,
    window: Window,
    /// An error to yield first (a bad starting point).
    pending: Option<Error>,
    done: bool,
}

impl Scan {
    fn step(&mut self) -> Result<Option<(EntryLocation, Vec<u8>)>, Error> {
        loop {
            let end = self
                .visible
                .segment_end(self.seq)
                .expect("the scan stays within the visible segments");
            if self.offset >= end {
                if self.offset != self.group_start {
                    return Err(corrupt(
                        self.seq,
                        self.offset,
                        format!(
                            "the segment ends inside a group: {} entry frame(s) after the last commit frame",
                            self.group_entries
                        ),
                    ));
                }
                if self.seq >= self.visible.end.0 {
                    return Ok(None);
                }
                self.seq += 1;
                self.offset = SEGMENT_HEADER_LEN;
                self.group_start = SEGMENT_HEADER_LEN;
                self.group_whole = true;
                self.group_entries = 0;
                self.file = None;
                self.window.clear();
                continue;
            }
            if self.file.is_none() {
                self.file = Some(self.shared.file(self.seq)?);
            }
            let file = self.file.as_deref().expect("opened above");
            let (seq, offset) = (self.seq, self.offset);
            let len = match probe_frame(file, &mut self.window, offset, end) {
                Ok(Probe::Entry(len)) => len,
                Ok(Probe::Commit(commit)) => {
                    let seen = offset - self.group_start;
                    let checked = if self.group_whole {
                        commit.matches(seen, self.group_entries)
                    } else {
                        commit.covers(seen, self.group_entries)
                    };
                    if let Err(why) = checked {
                        return Err(corrupt(seq, offset, why));
                    }
                    self.offset = offset + COMMIT_FRAME_LEN;
                    self.group_start = self.offset;
                    self.group_whole = true;
                    self.group_entries = 0;
                    continue;
                }
                Ok(Probe::Invalid(why)) => return Err(corrupt(seq, offset, why)),
                Err(e) => return Err(read_error(e, seq, offset)),
            };
            let payload = self
                .window
                .get(file, offset + FRAME_OVERHEAD, len as usize, end)
                .map_err(|e| read_error(e, seq, offset))?
                .to_vec();
            let loc = EntryLocation {
                segment: seq,
                offset,
                len,
            };
            self.offset = loc.end();
            self.group_entries = self.group_entries.saturating_add(1);
            return Ok(Some((loc, payload)));
        }
    }
}

impl Iterator for Scan {
    type Item = Result<(EntryLocation, Vec<u8>), Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        if let Some(e) = self.pending.take() {
            self.done = true;
            return Some(Err(e));
        }
        match self.step() {
            Ok(Some(item)) => Some(Ok(item)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

/// A read-ahead buffer over part of one file, so that sequential frame parsing costs one `pread` per
/// [`SCAN_CHUNK`] rather than two per frame.
#[derive(Default)]
struct Window {
    buf: Vec<u8>,
    /// File offset of `buf[0]`.
    start: u64,
}

impl Window {
    fn clear(&mut self) {
        self.buf.clear();
        self.start = 0;
    }

    /// Bytes `[offset, offset + len)` of `file`, reading ahead up to `limit`, which the caller guarantees
    /// is at least `offset + len` and at most the file's length.
    fn get(&mut self, file: &File, offset: u64, len: usize, limit: u64) -> io::Result<&[u8]> {
        let covered = offset >= self.start && offset + len as u64 <= self.start + self.buf.len() as u64;
        if !covered {
            let want = (len.max(SCAN_CHUNK) as u64).min(limit - offset) as usize;
            self.buf.clear();
            self.buf.resize(want, 0);
            if let Err(e) = file.read_exact_at(&mut self.buf, offset) {
                self.clear();
                return Err(e);
            }
            self.start = offset;
        }
        let from = (offset - self.start) as usize;
        Ok(&self.buf[from..from + len])
    }
}

/// The fields of a commit frame.
#[derive(Clone, Copy, Debug)]
struct Commit {
    group_len: u32,
    entries: u32,
    crc: u32,
}

impl Commit {
    fn parse(bytes: &[u8]) -> Commit {
        let word = |i: usize| u32::from_le_bytes(bytes[i..i + 4].try_into().expect("4 bytes"));
        Commit {
            group_len: word(4),
            entries: word(8),
            crc: word(12),
        }
    }

    /// Whether this commit frame closes a group of `entries` entry frames taking `group_len` bytes (its
    /// CRC not checked).
    fn matches(&self, group_len: u64, entries: u32) -> Result<(), String> {
        if self.entries == 0 {
            Err("a commit frame for an empty group".to_owned())
        } else if u64::from(self.group_len) != group_len || self.entries != entries {
            Err(format!(
                "the commit frame is for {} entries in {} bytes, but {entries} entries in {group_len} bytes \
                 precede it",
                self.entries, self.group_len
            ))
        } else {
            Ok(())
        }
    }

    /// Whether this commit frame can close a group whose last `entries` entry frames, taking `group_len`
    /// bytes, precede it (for a scan that began inside the group).
    fn covers(&self, group_len: u64, entries: u32) -> Result<(), String> {
        if self.entries < entries || u64::from(self.group_len) < group_len {
            Err(format!(
                "the commit frame is for {} entries in {} bytes, fewer than the {entries} entries in \
                 {group_len} bytes before it",
                self.entries, self.group_len
            ))
        } else {
            Ok(())
        }
    }
}

/// What is at an offset where a frame should start.
enum Probe {
    /// A whole entry frame with this payload length, magic and CRC correct.
    Entry(u32),
    /// A whole commit frame (not checked against its group).
    Commit(Commit),
    /// Neither, and why.
    Invalid(String),
}

/// Checks the frame at `offset`, which must end by `limit`.
fn probe_frame(file: &File, window: &mut Window, offset: u64, limit: u64) -> io::Result<Probe> {
    let remaining = limit.saturating_sub(offset);
    if remaining < 4 {
        return Ok(Probe::Invalid(format!(
            "incomplete frame: {remaining} bytes before the end of the segment"
        )));
    }
    let magic = u32::from_le_bytes(window.get(file, offset, 4, limit)?.try_into().expect("4 bytes"));
    if magic == COMMIT_MAGIC {
        if remaining < COMMIT_FRAME_LEN {
            return Ok(Probe::Invalid(format!(
                "incomplete commit frame: {remaining} of {COMMIT_FRAME_LEN} bytes before the end of the \
                 segment"
            )));
        }
        let bytes = window.get(file, offset, COMMIT_FRAME_LEN as usize, limit)?;
        return Ok(Probe::Commit(Commit::parse(bytes)));
    }
    if magic != FRAME_MAGIC {
        return Ok(Probe::Invalid(format!("bad frame magic {magic:#010x}")));
    }
    if remaining < FRAME_OVERHEAD {
        return Ok(Probe::Invalid(format!(
            "incomplete frame header: {remaining} of {FRAME_OVERHEAD} bytes before the end of the segment"
        )));
    }
    let (_, len, stored_crc) =
        parse_frame_header(window.get(file, offset, FRAME_OVERHEAD as usize, limit)?);
    if len > MAX_ENTRY_LEN {
        return Ok(Probe::Invalid(format!(
            "frame length {len} exceeds the maximum {MAX_ENTRY_LEN}"
        )));
    }
    if u64::from(len) > remaining - FRAME_OVERHEAD {
        return Ok(Probe::Invalid(format!(
            "incomplete frame: payload of {len} bytes, but only {} bytes before the end of the segment",
            remaining - FRAME_OVERHEAD
        )));
    }
    let payload = window.get(file, offset + FRAME_OVERHEAD, len as usize, limit)?;
    let actual_crc = frame_crc(len, payload);
    if actual_crc != stored_crc {
        return Ok(Probe::Invalid(format!(
            "frame CRC mismatch: stored {stored_crc:#010x}, computed {actual_crc:#010x}"
        )));
    }
    Ok(Probe::Entry(len))
}

/// Checks the commit frame `commit` at `commit_at` against the group it closes, which starts at `start`
/// and whose `entries` entry frames the caller has found valid and contiguous up to `commit_at`. Reads the
/// group's bytes (through `window`, up to `limit`) for its CRC.
fn check_commit(
    file: &File,
    window: &mut Window,
    start: u64,
    commit_at: u64,
    entries: u32,
    commit: Commit,
    limit: u64,
) -> io::Result<Result<(), String>> {
    if let Err(why) = commit.matches(commit_at - start, entries) {
        return Ok(Err(why));
    }
    let mut crc = crc32c::crc32c(&commit_crc_prefix(commit.group_len, commit.entries));
    let mut at = start;
    while at < commit_at {
        let n = (SCAN_CHUNK as u64).min(commit_at - at) as usize;
        crc = crc32c::crc32c_append(crc, window.get(file, at, n, limit)?);
        at += n as u64;
    }
    Ok(if crc == commit.crc {
        Ok(())
    } else {
        Err(format!(
            "commit frame CRC mismatch: stored {:#010x}, computed {crc:#010x}",
            commit.crc
        ))
    })
}

/// Whether the bytes at `commit_at` are a commit frame that verifies together with its group: `group_len`
/// bytes before it, after the segment header, holding exactly `entries` valid entry frames back to back and
/// matching the CRC. Returns where the group starts.
fn verify_group_at(file: &File, window: &mut Window, commit_at: u64, limit: u64) -> io::Result<Option<u64>> {
    let Probe::Commit(commit) = probe_frame(file, window, commit_at, limit)? else {
        return Ok(None);
    };
    let Some(start) = commit_at
        .checked_sub(u64::from(commit.group_len))
        .filter(|&start| start >= SEGMENT_HEADER_LEN)
    else {
        return Ok(None);
    };
    let mut offset = start;
    let mut entries = 0u32;
    while offset < commit_at {
        // Frames must end by the commit frame.
        let Probe::Entry(len) = probe_frame(file, window, offset, commit_at)? else {
            return Ok(None);
        };
        offset += FRAME_OVERHEAD + u64::from(len);
        entries += 1;
    }
    Ok(
        check_commit(file, window, start, commit_at, entries, commit, limit)?
            .is_ok()
            .then_some(start),
    )
}

/// The first offset at or after `from` where a commit frame starts that verifies together with its group
/// (see [`verify_group_at`]) and ends by `limit`, with where its group starts.
fn find_committed_group(file: &File, from: u64, limit: u64) -> io::Result<Option<(u64, u64)>> {
    let magic = COMMIT_MAGIC.to_le_bytes();
    let mut window = Window::default();
    let mut group_window = Window::default();
    let mut at = from;
    while at + COMMIT_FRAME_LEN <= limit {
        let n = (SCAN_CHUNK as u64).min(limit - at) as usize;
        let candidate = window
            .get(file, at, n, limit)?
            .windows(magic.len())
            .position(|w| w == magic);
        match candidate {
            Some(i) => {
                let candidate = at + i as u64;
                if let Some(start) = verify_group_at(file, &mut group_window, candidate, limit)? {
                    return Ok(Some((candidate, start)));
                }
                at = candidate + 1;
            }
            // Continue so that a magic straddling the chunk boundary is still seen.
            None => at += (n - (magic.len() - 1)) as u64,
        }
    }
    Ok(None)
}

/// The result of walking a segment group by group.
struct Walk {
    /// The end of the last commit frame whose group verifies (the header's end if none).
    durable: u64,
    /// The first problem after `durable`, if the segment does not end there: where, and what.
    problem: Option<(u64, String)>,
}

/// Walks the groups of the segment `file`, of length `limit`, from `from` (a group boundary).
fn walk_groups(file: &File, from: u64, limit: u64) -> io::Result<Walk> {
    let mut window = Window::default();
    let mut durable = from;
    let mut offset = from;
    let mut entries = 0u32;
    let problem = loop {
        if offset >= limit {
            if offset == durable {
                break None;
            }
            break Some((
                offset,
                format!("the file ends inside a group, after {entries} entry frame(s) and no commit frame"),
            ));
        }
        match probe_frame(file, &mut window, offset, limit)? {
            Probe::Entry(len) => {
                let next = offset + FRAME_OVERHEAD + u64::from(len);
                if next - durable > u64::from(u32::MAX) {
                    break Some((offset, "a group longer than any batch can be".to_owned()));
                }
                offset = next;
                entries += 1;
            }
            Probe::Commit(commit) => {
                match check_commit(file, &mut window, durable, offset, entries, commit, limit)? {
                    Ok(()) => {
                        offset += COMMIT_FRAME_LEN;
                        durable = offset;
                        entries = 0;
                    }
                    Err(why) => break Some((offset, why)),
                }
            }
            Probe::Invalid(why) => break Some((offset, why)),
        }
    };
    Ok(Walk { durable, problem })
}

/// Checks the last segment, truncates a torn last group (or rewrites a torn header), and returns the
/// segment opened for writing with the end of its last verified group.
fn recover_last_segment(
    dir: &Path,
    dir_handle: &File,
    seq: u32,
    sync: bool,
    report: &mut RecoveryReport,
) -> Result<(File, u64), Error> {
    let name = segment_file_name(seq);
    let file = OpenOptions::new().read(true).write(true).open(dir.join(&name))?;
    let file_len = file.metadata()?.len();

    let mut header = vec![0; file_len.min(SEGMENT_HEADER_LEN) as usize];
    file.read_exact_at(&mut header, 0)?;
    match classify_header(&header, seq) {
        HeaderState::Valid => {}
        HeaderState::Bad(why) => return Err(corrupt(seq, 0, why)),
        HeaderState::Torn(why) => {
            // Frames are written only after the header is durable, so a torn header means the segment
            // never held a synced group. A verified group in it means something else happened.
            if let Some((at, _)) = find_committed_group(&file, SEGMENT_HEADER_LEN, file_len)? {
                return Err(corrupt(
                    seq,
                    0,
                    format!("{why}, yet a committed group follows (its commit frame is at byte {at})"),
                ));
            }
            file.write_all_at(&segment_header(seq), 0)?;
            file.set_len(SEGMENT_HEADER_LEN)?;
            if sync {
                file.sync_all()?;
                dir_handle.sync_all()?;
            }
            let truncated = file_len.saturating_sub(SEGMENT_HEADER_LEN);
            let reason = format!("{why}; header rewritten");
            tracing::warn!(
                segment = %name,
                truncated_bytes = truncated,
                reason = %reason,
                "repaired the torn header of the last log segment"
            );
            *report = RecoveryReport {
                segments: 0,
                truncated_bytes: truncated,
                truncated_at: Some((seq, 0)),
                reason: Some(reason),
            };
            return Ok((file, SEGMENT_HEADER_LEN));
        }
    }

    let Walk { durable, problem } = walk_groups(&file, SEGMENT_HEADER_LEN, file_len)?;
    if let Some((at, why)) = problem {
        // Only the last group can be unsynced. A verified group after the problem was written after the
        // bytes at the problem were synced: they are durable data, damaged.
        if let Some((commit_at, start)) = find_committed_group(&file, at, file_len)? {
            return Err(corrupt(
                seq,
                at,
                format!(
                    "{why}, yet a committed group follows (bytes {start}..{}): the damage is not a torn \
                     last write",
                    commit_at + COMMIT_FRAME_LEN
                ),
            ));
        }
        let truncated = file_len - durable;
        let reason = if at == durable {
            format!("{why} at byte {at}")
        } else {
            format!(
                "{why} at byte {at}; the group from byte {durable} has no valid commit frame: dropped whole"
            )
        };
        tracing::warn!(
            segment = %name,
            offset = durable,
            truncated_bytes = truncated,
            reason = %reason,
            "truncating the torn last group of the log (it was never acknowledged)"
        );
        file.set_len(durable)?;
        if sync {
            file.sync_all()?;
            dir_handle.sync_all()?;
        }
        *report = RecoveryReport {
            segments: 0,
            truncated_bytes: truncated,
            truncated_at: Some((seq, durable)),
            reason: Some(reason),
        };
        return Ok((file, durable));
    }
    if sync {
        // The previous process may have died (without the machine crashing) after writing but before
        // syncing. Readers will see everything up to here, so make it durable first. The directory too, in
        // case it died between creating a segment and syncing the directory.
        file.sync_data()?;
        dir_handle.sync_all()?;
    }
    Ok((file, durable))
}

enum HeaderState {
    Valid,
    /// Incomplete: what is there is a prefix of the expected header, the rest zeros or missing.
    Torn(String),
    /// Wrong: not a header of this segment at all.
    Bad(String),
}

fn classify_header(bytes: &[u8], seq: u32) -> HeaderState {
    let expected = segment_header(seq);
    if bytes == expected {
        return HeaderState::Valid;
    }
    if bytes.iter().zip(expected).all(|(&b, e)| b == e || b == 0) {
        return HeaderState::Torn(if bytes.len() < expected.len() {
            format!(
                "incomplete segment header: the file is {} bytes long",
                bytes.len()
            )
        } else {
            "incomplete segment header: partly zeros".to_owned()
        });
    }
    if bytes.len() < expected.len() {
        return HeaderState::Bad(format!(
            "the segment file is {} bytes long, shorter than its header, and holds something else",
            bytes.len()
        ));
    }
    let version = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
    let named = u32::from_le_bytes(bytes[12..16].try_into().expect("4 bytes"));
    HeaderState::Bad(if bytes[..8] != SEGMENT_MAGIC {
        format!("bad segment magic {:?}", String::from_utf8_lossy(&bytes[..8]))
    } else if version != FORMAT_VERSION {
        format!("unsupported segment format version {version} (expected {FORMAT_VERSION})")
    } else {
        format!("the segment header names segment {named}")
    })
}

/// Checks the header of a segment that is not (or no longer) appended to; returns the segment's length.
fn check_sealed_header(file: &File, seq: u32) -> Result<u64, Error> {
    let len = file.metadata()?.len();
    let mut header = vec![0; len.min(SEGMENT_HEADER_LEN) as usize];
    file.read_exact_at(&mut header, 0)?;
    match classify_header(&header, seq) {
        HeaderState::Valid => Ok(len),
        HeaderState::Torn(why) | HeaderState::Bad(why) => Err(corrupt(seq, 0, why)),
    }
}

/// The segment numbers in `dir`, sorted; they must be exactly `1..=n`.
fn list_segments(dir: &Path) -> Result<Vec<u32>, Error> {
    let mut seqs = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        // Anything not named `*.seg` is not ours (a non-UTF-8 name cannot be).
        let Some(stem) = name.to_str().and_then(|n| n.strip_suffix(".seg")) else {
            continue;
        };
        let name = name.to_string_lossy();
        let seq = (stem.len() == 10 && stem.bytes().all(|b| b.is_ascii_digit()))
            .then(|| stem.parse::<u64>().ok())
            .flatten()
            .filter(|&s| s >= 1)
            .and_then(|s| u32::try_from(s).ok());
        let Some(seq) = seq else {
            return Err(corrupt_named(
                &name,
                0,
                "stray file in the log directory: not a valid segment name",
            ));
        };
        if !entry.file_type()?.is_file() {
            return Err(corrupt_named(&name, 0, "not a regular file"));
        }
        seqs.push(seq);
    }
    seqs.sort_unstable();
    for (i, &seq) in seqs.iter().enumerate() {
        let expected = i as u32 + 1;
        if seq != expected {
            return Err(corrupt(
                expected,
                0,
                format!(
                    "the segment is missing (the log has {} segments, up to {})",
                    seqs.len(),
                    seqs[seqs.len() - 1]
                ),
            ));
        }
    }
    Ok(seqs)
}

/// Creates a segment: the file, its header, fsync of both and of the directory (when syncing).
fn create_segment(dir: &Path, dir_handle: &File, seq: u32, sync: bool) -> io::Result<File> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(dir.join(segment_file_name(seq)))?;
    file.write_all_at(&segment_header(seq), 0)?;
    if sync {
        file.sync_all()?;
        dir_handle.sync_all()?;
    }
    Ok(file)
}

/// Creates `dir` if it is missing, syncing the parent of every directory created.
fn create_dir(dir: &Path, sync: bool) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut missing = Vec::new();
    let mut path = Some(dir);
    while let Some(p) = path.filter(|p| !p.as_os_str().is_empty() && !p.exists()) {
        missing.push(p);
        path = p.parent();
    }
    fs::create_dir_all(dir)?;
    if sync {
        for created in missing.iter().rev() {
            let parent = created
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            File::open(parent)?.sync_all()?;
        }
    }
    Ok(())
}

fn segment_file_name(seq: u32) -> String {
    format!("{seq:010}.seg")
}

fn segment_header(seq: u32) -> [u8; SEGMENT_HEADER_LEN as usize] {
    let mut header = [0; SEGMENT_HEADER_LEN as usize];
    header[..8].copy_from_slice(&SEGMENT_MAGIC);
    header[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    header[12..16].copy_from_slice(&seq.to_le_bytes());
    header
}

fn frame_crc(len: u32, payload: &[u8]) -> u32 {
    crc32c::crc32c_append(crc32c::crc32c(&len.to_le_bytes()), payload)
}

/// The first 8 bytes covered by a commit frame's CRC: `group_len ‖ entries`.
fn commit_crc_prefix(group_len: u32, entries: u32) -> [u8; 8] {
    let mut prefix = [0; 8];
    prefix[..4].copy_from_slice(&group_len.to_le_bytes());
    prefix[4..].copy_from_slice(&entries.to_le_bytes());
    prefix
}

/// The commit frame closing a group of `entries` entry frames, `group` (all their bytes, at most
/// `u32::MAX`).
fn encode_commit(entries: u32, group: &[u8]) -> [u8; COMMIT_FRAME_LEN as usize] {
    let prefix = commit_crc_prefix(group.len() as u32, entries);
    let crc = crc32c::crc32c_append(crc32c::crc32c(&prefix), group);
    let mut frame = [0; COMMIT_FRAME_LEN as usize];
    frame[..4].copy_from_slice(&COMMIT_MAGIC.to_le_bytes());
    frame[4..12].copy_from_slice(&prefix);
    frame[12..].copy_from_slice(&crc.to_le_bytes());
    frame
}

fn encode_frame(buf: &mut Vec<u8>, payload: &[u8]) {
    let len = payload.len() as u32;
    buf.extend_from_slice(&FRAME_MAGIC.to_le_bytes());
    buf.extend_from_slice(&len.to_le_bytes());
    buf.extend_from_slice(&frame_crc(len, payload).to_le_bytes());
    buf.extend_from_slice(payload);
}

/// `(magic, len, crc)` from the first 12 bytes of a frame.
fn parse_frame_header(bytes: &[u8]) -> (u32, u32, u32) {
    let word = |i: usize| u32::from_le_bytes(bytes[i..i + 4].try_into().expect("4 bytes"));
    (word(0), word(4), word(8))
}

/// Checks that `frame` (exactly the bytes `loc` covers) is the frame `loc` describes.
fn verify_frame(frame: &[u8], loc: EntryLocation) -> Result<(), Error> {
    let (magic, len, stored_crc) = parse_frame_header(frame);
    if magic != FRAME_MAGIC {
        return Err(corrupt(
            loc.segment,
            loc.offset,
            format!("bad frame magic {magic:#010x}"),
        ));
    }
    if len != loc.len {
        return Err(corrupt(
            loc.segment,
            loc.offset,
            format!("frame length {len} differs from the expected {}", loc.len),
        ));
    }
    let actual_crc = frame_crc(len, &frame[FRAME_OVERHEAD as usize..]);
    if actual_crc != stored_crc {
        return Err(corrupt(
            loc.segment,
            loc.offset,
            format!("frame CRC mismatch: stored {stored_crc:#010x}, computed {actual_crc:#010x}"),
        ));
    }
    Ok(())
}

/// `NotFound` unless readers can see all of `loc`'s frame.
fn check_visible(visible: &Visible, loc: EntryLocation) -> Result<(), Error> {
    match visible.segment_end(loc.segment) {
        Some(end) if loc.offset >= SEGMENT_HEADER_LEN && loc.end() <= end => Ok(()),
        _ => Err(Error::NotFound(format!(
            "no durable log entry at segment {} offset {} (length {}): the durable log ends at segment {} \
             offset {}",
            loc.segment, loc.offset, loc.len, visible.end.0, visible.end.1
        ))),
    }
}

/// A failed read of bytes readers were told exist: a file shorter than that is corruption.
fn read_error(e: io::Error, seq: u32, offset: u64) -> Error {
    if e.kind() == ErrorKind::UnexpectedEof {
        corrupt(
            seq,
            offset,
            "the segment file ends before the data it should hold",
        )
    } else {
        e.into()
    }
}

fn corrupt(seq: u32, offset: u64, detail: impl Into<String>) -> Error {
    corrupt_named(&segment_file_name(seq), offset, detail)
}

fn corrupt_named(segment: &str, offset: u64, detail: impl Into<String>) -> Error {
    Error::Corrupt {
        location: LogLocation {
            segment: segment.to_owned(),
            offset,
            position: None,
        },
        detail: detail.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn options(segment_max_bytes: u64) -> LogOptions {
        LogOptions {
            segment_max_bytes,
            sync: SyncMode::Data,
        }
    }

    /// Deterministic, distinct content for entry `i` of `size` bytes.
    fn entry(i: usize, size: usize) -> Vec<u8> {
        let mut x = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..size)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    fn write(writer: &mut LogWriter, entries: &[Vec<u8>]) -> Vec<EntryLocation> {
        let refs: Vec<&[u8]> = entries.iter().map(Vec::as_slice).collect();
        writer.write_batch(&refs).unwrap()
    }

    /// Writes each entry as a group of its own, syncing after each, as the store does.
    fn write_each(writer: &mut LogWriter, entries: &[Vec<u8>]) -> Vec<EntryLocation> {
        entries
            .iter()
            .map(|e| {
                let loc = write(writer, std::slice::from_ref(e))[0];
                writer.sync().unwrap();
                loc
            })
            .collect()
    }

    /// The end of the commit frame of the group whose last entry is at `last`.
    fn group_end(last: EntryLocation) -> u64 {
        last.end() + COMMIT_FRAME_LEN
    }

    fn scan_all(reader: &LogReader) -> Vec<(EntryLocation, Vec<u8>)> {
        reader.scan(None).collect::<Result<_, _>>().unwrap()
    }

    fn payloads(items: &[(EntryLocation, Vec<u8>)]) -> Vec<Vec<u8>> {
        items.iter().map(|(_, p)| p.clone()).collect()
    }

    fn seg_path(dir: &Path, seq: u32) -> PathBuf {
        dir.join(segment_file_name(seq))
    }

    fn append_bytes(path: &Path, bytes: &[u8]) {
        use std::io::Write;
        OpenOptions::new()
            .append(true)
            .open(path)
            .unwrap()
            .write_all(bytes)
            .unwrap();
    }

    fn flip_byte(path: &Path, at: u64) {
        let mut bytes = fs::read(path).unwrap();
        bytes[at as usize] ^= 0x40;
        fs::write(path, bytes).unwrap();
    }

    fn corrupt_location(result: Result<impl std::fmt::Debug, Error>) -> (String, u64, String) {
        match result {
            Err(Error::Corrupt { location, detail }) => (location.segment, location.offset, detail),
            other => panic!("expected Corrupt, got {other:?}"),
        }
    }

    #[test]
    fn commit_frame_layout() {
        let group = [frame(b"ab"), frame(b"")].concat();
        let commit = encode_commit(2, &group);
        assert_eq!(commit[..4], [0xC7, 0xFE, 0x0F, 0x3C]);
        assert_eq!(commit[4..8], (group.len() as u32).to_le_bytes());
        assert_eq!(commit[8..12], 2u32.to_le_bytes());
        let mut covered = commit[4..12].to_vec();
        covered.extend(&group);
        assert_eq!(commit[12..], crc32c::crc32c(&covered).to_le_bytes());
        assert_ne!(COMMIT_MAGIC, FRAME_MAGIC);
        assert!(std::str::from_utf8(&COMMIT_MAGIC.to_le_bytes()).is_err());
        assert!(std::str::from_utf8(&FRAME_MAGIC.to_le_bytes()).is_err());
    }

    #[test]
    fn round_trip_across_rotations() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("log");
        let (mut writer, reader, report) = open(&dir, options(200)).unwrap();
        assert_eq!(
            report,
            RecoveryReport {
                segments: 1,
                ..RecoveryReport::default()
            }
        );
        assert_eq!(writer.end(), (1, SEGMENT_HEADER_LEN));

        let mut expected = Vec::new();
        let mut groups = Vec::new();
        for batch in 0..14 {
            // Sizes from empty to larger than a whole segment; groups from one entry to many.
            let entries: Vec<Vec<u8>> = (0..batch % 5 + 1)
                .map(|i| entry(batch * 100 + i, (batch * 37 + i * 23) % 260))
                .collect();
            let locs = write(&mut writer, &entries);
            assert_eq!(writer.end(), (locs[0].segment, group_end(*locs.last().unwrap())));
            groups.push(locs);
            expected.extend(entries);
            writer.sync().unwrap();
        }
        assert!(reader.segments().len() > 5, "segments: {:?}", reader.segments());
        assert_eq!(reader.segments(), (1..=writer.end().0).collect::<Vec<_>>());
        assert_eq!(reader.end(), writer.end());

        // Locations are increasing, contiguous within a group, and a group's commit frame comes right after
        // its last entry; the next group starts after it or at the start of a new segment.
        let locations: Vec<EntryLocation> = groups.concat();
        for pair in locations.windows(2) {
            assert!(pair[0] < pair[1]);
        }
        for group in &groups {
            assert!(group.iter().all(|l| l.segment == group[0].segment));
            for pair in group.windows(2) {
                assert_eq!(pair[0].end(), pair[1].offset);
            }
        }
        for pair in groups.windows(2) {
            let (last, next) = (*pair[0].last().unwrap(), pair[1][0]);
            if last.segment == next.segment {
                assert_eq!(group_end(last), next.offset);
            } else {
                assert_eq!(next.offset, SEGMENT_HEADER_LEN);
                // A sealed segment ends exactly with its last group's commit frame.
                let len = fs::metadata(seg_path(&dir, last.segment)).unwrap().len();
                assert_eq!(len, group_end(last));
            }
        }

        // Segments respect the maximum unless they hold a single oversized group.
        for seq in reader.segments() {
            let len = fs::metadata(seg_path(&dir, seq)).unwrap().len();
            let in_seq = groups.iter().filter(|g| g[0].segment == seq).count();
            assert!(
                len <= 200 || in_seq == 1,
                "segment {seq}: {len} bytes, {in_seq} groups"
            );
        }

        let scanned = scan_all(&reader);
        assert_eq!(scanned.iter().map(|(l, _)| *l).collect::<Vec<_>>(), locations);
        assert_eq!(payloads(&scanned), expected);
        for (loc, payload) in locations.iter().zip(&expected) {
            assert_eq!(&reader.read(*loc).unwrap(), payload);
        }

        // Scanning from the middle: from every location's end (inside a group, at a commit frame, or at the
        // end of a segment) and from every group's end.
        for (i, loc) in locations.iter().enumerate() {
            let tail: Vec<_> = reader
                .scan(Some((loc.segment, loc.end())))
                .collect::<Result<_, _>>()
                .unwrap();
            assert_eq!(payloads(&tail), expected[i + 1..]);
        }
        let mut before = 0;
        for group in &groups {
            before += group.len();
            let last = *group.last().unwrap();
            let tail: Vec<_> = reader
                .scan(Some((last.segment, group_end(last))))
                .collect::<Result<_, _>>()
                .unwrap();
            assert_eq!(payloads(&tail), expected[before..]);
        }
        assert_eq!(reader.scan(Some(writer.end())).count(), 0);
    }

    #[test]
    fn oversized_entry_goes_alone_and_too_large_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let (mut writer, reader, _) = open(tmp.path(), options(100)).unwrap();
        let entries = vec![entry(1, 10), entry(2, 500), entry(3, 10)];
        let locs = write_each(&mut writer, &entries);
        assert_eq!(locs.iter().map(|l| l.segment).collect::<Vec<_>>(), vec![1, 2, 3]);

        let too_big = vec![0u8; MAX_ENTRY_LEN as usize + 1];
        let end = writer.end();
        match writer.write_batch(&[b"fine", &too_big]) {
            Err(Error::Io(e)) => assert_eq!(e.kind(), ErrorKind::InvalidInput),
            other => panic!("expected InvalidInput, got {other:?}"),
        }
        assert_eq!(writer.end(), end, "nothing of a refused batch is written");
        writer.sync().unwrap();
        assert_eq!(payloads(&scan_all(&reader)), entries);

        // The maximum itself is fine.
        let max = vec![7u8; MAX_ENTRY_LEN as usize];
        let loc = writer.write_batch(&[&max]).unwrap()[0];
        writer.sync().unwrap();
        assert_eq!(reader.read(loc).unwrap(), max);

        // An empty batch writes nothing, not even a commit frame.
        let end = writer.end();
        assert!(writer.write_batch(&[]).unwrap().is_empty());
        assert_eq!(writer.end(), end);
    }

    #[test]
    fn a_batch_that_does_not_fit_rotates_whole() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let (mut writer, reader, _) = open(dir, options(300)).unwrap();
        let first = write(&mut writer, &[entry(0, 100)]);
        assert_eq!(writer.end(), (1, 16 + 112 + 16));

        // 3 frames of 62 bytes and a commit frame: 202 bytes, more than the 156 left in segment 1, though the
        // first two frames alone would fit. All go to segment 2, contiguously.
        let batch: Vec<Vec<u8>> = (1..4).map(|i| entry(i, 50)).collect();
        let locs = write(&mut writer, &batch);
        assert_eq!(
            locs.iter().map(|l| (l.segment, l.offset)).collect::<Vec<_>>(),
            vec![(2, 16), (2, 78), (2, 140)]
        );
        assert_eq!(writer.end(), (2, 218));
        assert_eq!(fs::metadata(seg_path(dir, 1)).unwrap().len(), 144);

        // A group larger than a whole segment goes alone into a fresh one, which exceeds the maximum…
        let big: Vec<Vec<u8>> = (4..9).map(|i| entry(i, 100)).collect();
        let big_locs = write(&mut writer, &big);
        assert!(big_locs.iter().all(|l| l.segment == 3));
        assert_eq!(big_locs[0].offset, SEGMENT_HEADER_LEN);
        assert_eq!(writer.end(), (3, 16 + 5 * 112 + 16));
        // …and the next group starts another.
        let last = write(&mut writer, &[entry(9, 10)]);
        assert_eq!((last[0].segment, last[0].offset), (4, SEGMENT_HEADER_LEN));
        writer.sync().unwrap();

        let all = [vec![entry(0, 100)], batch, big, vec![entry(9, 10)]].concat();
        assert_eq!(payloads(&scan_all(&reader)), all);
        assert_eq!(
            reader.read_many(&[first, locs, big_locs, last].concat()).unwrap(),
            all
        );
        drop((writer, reader));
        let (_, reader, report) = open(dir, options(300)).unwrap();
        assert_eq!(report.truncated_at, None);
        assert_eq!(payloads(&scan_all(&reader)), all);
    }

    #[test]
    fn reopen_continues_after_the_last_entry() {
        let tmp = tempfile::tempdir().unwrap();
        let mut expected = Vec::new();
        let mut end = (0, 0);
        for round in 0..6 {
            let (mut writer, reader, report) = open(tmp.path(), options(300)).unwrap();
            assert_eq!(report.truncated_at, None);
            assert_eq!(report.segments, reader.segments().len());
            if round > 0 {
                assert_eq!(writer.end(), end);
                assert_eq!(reader.end(), end);
            }
            assert_eq!(payloads(&scan_all(&reader)), expected);
            let entries: Vec<Vec<u8>> = (0..round + 1).map(|i| entry(round * 10 + i, 40 + i)).collect();
            let locs = write(&mut writer, &entries);
            assert!(locs[0].segment > end.0 || locs[0].offset == end.1);
            writer.sync().unwrap();
            expected.extend(entries);
            end = writer.end();
        }
        let (_, reader, _) = open(tmp.path(), options(300)).unwrap();
        assert_eq!(payloads(&scan_all(&reader)), expected);
    }

    #[test]
    fn readers_see_entries_only_after_sync() {
        let tmp = tempfile::tempdir().unwrap();
        let (mut writer, reader, _) = open(tmp.path(), options(150)).unwrap();
        let other = reader.clone();
        let first = write(&mut writer, &[entry(1, 20)]);
        assert_eq!(reader.scan(None).count(), 0);
        assert!(matches!(reader.read(first[0]), Err(Error::NotFound(_))));
        assert!(matches!(reader.read_many(&first), Err(Error::NotFound(_))));
        writer.sync().unwrap();
        assert_eq!(other.read(first[0]).unwrap(), entry(1, 20));
        assert_eq!(reader.end(), (1, group_end(first[0])));

        // Several groups written across several rotations, still invisible until the sync.
        let entries: Vec<Vec<u8>> = (2..12).map(|i| entry(i, 60)).collect();
        let locs: Vec<EntryLocation> = entries
            .iter()
            .flat_map(|e| write(&mut writer, std::slice::from_ref(e)))
            .collect();
        assert!(locs.last().unwrap().segment > 2);
        assert_eq!(reader.segments(), vec![1]);
        assert_eq!(reader.scan(None).count(), 1);
        assert!(matches!(reader.read(locs[0]), Err(Error::NotFound(_))));
        writer.sync().unwrap();
        assert_eq!(
            reader.segments(),
            (1..=locs.last().unwrap().segment).collect::<Vec<_>>()
        );
        assert_eq!(scan_all(&other).len(), 11);
        assert_eq!(reader.read_many(&locs).unwrap(), entries);

        // With SyncMode::None entries are visible as soon as they are written.
        drop((writer, reader, other));
        let (mut writer, reader, _) = open(
            tmp.path(),
            LogOptions {
                segment_max_bytes: 150,
                sync: SyncMode::None,
            },
        )
        .unwrap();
        let loc = write(&mut writer, &[entry(99, 5)])[0];
        assert_eq!(reader.read(loc).unwrap(), entry(99, 5));
        assert_eq!(reader.end(), writer.end());
    }

    #[test]
    fn handles_can_move_between_threads() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<LogReader>();
        send_sync::<LogWriter>();
    }

    #[test]
    fn only_one_writer_per_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let (writer, _reader, _) = open(tmp.path(), LogOptions::default()).unwrap();
        match open(tmp.path(), LogOptions::default()) {
            Err(Error::Io(e)) => assert_eq!(e.kind(), ErrorKind::WouldBlock),
            other => panic!("expected WouldBlock, got {other:?}"),
        }
        drop(writer);
        open(tmp.path(), LogOptions::default()).unwrap();
    }

    /// Writes a log of several segments (groups of up to three entries, each synced), applies `damage` to
    /// the last segment, reopens, and checks that the damage was truncated and reported and that the log
    /// then works normally.
    fn check_torn_tail(damage: impl FnOnce(&Path, u32), expect_truncated: u64, expect_header: bool) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let entries: Vec<Vec<u8>> = (0..12).map(|i| entry(i, 30 + i * 7)).collect();
        let (last, len) = {
            let (mut writer, _, _) = open(dir, options(256)).unwrap();
            for chunk in entries.chunks(3) {
                write(&mut writer, chunk);
                writer.sync().unwrap();
            }
            writer.end()
        };
        assert!(last > 1);
        damage(dir, last);
        let last_file = if expect_header { last + 1 } else { last };
        let before = fs::metadata(seg_path(dir, last_file)).unwrap().len();

        let (mut writer, reader, report) = open(dir, options(256)).unwrap();
        assert_eq!(report.truncated_bytes, expect_truncated, "{report:?}");
        assert!(report.reason.is_some());
        if expect_header {
            assert_eq!(report.truncated_at, Some((last + 1, 0)));
            assert_eq!(writer.end(), (last + 1, SEGMENT_HEADER_LEN));
            assert_eq!(report.segments, last as usize + 1);
        } else {
            assert_eq!(report.truncated_at, Some((last, len)));
            assert_eq!(before - expect_truncated, len);
            assert_eq!(writer.end(), (last, len));
            assert_eq!(report.segments, last as usize);
        }
        assert_eq!(
            fs::metadata(seg_path(dir, last_file)).unwrap().len(),
            writer.end().1
        );
        assert_eq!(payloads(&scan_all(&reader)), entries);

        let more: Vec<Vec<u8>> = (100..105).map(|i| entry(i, 50)).collect();
        write(&mut writer, &more);
        writer.sync().unwrap();
        drop((writer, reader));
        let (_, reader, report) = open(dir, options(256)).unwrap();
        assert_eq!(report.truncated_at, None);
        assert_eq!(payloads(&scan_all(&reader)), [entries, more].concat());
    }

    fn frame(payload: &[u8]) -> Vec<u8> {
        let mut buf = Vec::new();
        encode_frame(&mut buf, payload);
        buf
    }

    /// A whole group: the frames of `payloads` and their commit frame.
    fn group(payloads: &[Vec<u8>]) -> Vec<u8> {
        let mut buf = Vec::new();
        for p in payloads {
            encode_frame(&mut buf, p);
        }
        let commit = encode_commit(payloads.len() as u32, &buf);
        buf.extend(commit);
        buf
    }

    #[test]
    fn torn_tail_mid_frame_header() {
        check_torn_tail(
            |dir, last| append_bytes(&seg_path(dir, last), &frame(b"lost")[..7]),
            7,
            false,
        );
    }

    #[test]
    fn torn_tail_mid_payload() {
        let f = frame(&entry(7, 100));
        check_torn_tail(
            |dir, last| append_bytes(&seg_path(dir, last), &f[..60]),
            60,
            false,
        );
    }

    #[test]
    fn torn_tail_whole_frame_with_bad_crc() {
        let mut f = frame(&entry(7, 100));
        *f.last_mut().unwrap() ^= 1;
        let n = f.len() as u64;
        check_torn_tail(move |dir, last| append_bytes(&seg_path(dir, last), &f), n, false);
    }

    #[test]
    fn torn_tail_whole_frames_without_their_commit_frame() {
        // Valid entry frames are not enough: without the commit frame, the group never happened.
        let frames = [frame(&entry(7, 100)), frame(&entry(8, 10))].concat();
        let n = frames.len() as u64;
        check_torn_tail(
            move |dir, last| append_bytes(&seg_path(dir, last), &frames),
            n,
            false,
        );
    }

    #[test]
    fn torn_tail_group_with_a_damaged_commit_frame() {
        let whole = group(&[entry(7, 100), entry(8, 10)]);
        let n = whole.len() as u64;
        // Cut inside the commit frame, or whole with each of its fields wrong.
        for cut in [n - 16, n - 15, n - 9, n - 1] {
            let w = whole.clone();
            check_torn_tail(
                move |dir, last| append_bytes(&seg_path(dir, last), &w[..cut as usize]),
                cut,
                false,
            );
        }
        for at in [n - 16, n - 12, n - 8, n - 4] {
            let mut w = whole.clone();
            w[at as usize] ^= 1;
            check_torn_tail(move |dir, last| append_bytes(&seg_path(dir, last), &w), n, false);
        }
    }

    #[test]
    fn torn_tail_trailing_zeros() {
        check_torn_tail(
            |dir, last| append_bytes(&seg_path(dir, last), &[0; 4096]),
            4096,
            false,
        );
    }

    #[test]
    fn torn_tail_trailing_garbage() {
        let garbage = entry(12345, 3000);
        check_torn_tail(
            |dir, last| append_bytes(&seg_path(dir, last), &garbage),
            3000,
            false,
        );
    }

    #[test]
    fn torn_tail_garbage_containing_magics() {
        // A frame start whose CRC does not check out is not a valid frame, and a commit frame whose group
        // does not verify commits nothing: still a torn tail.
        let mut garbage = entry(1, 40);
        garbage.extend(&frame(&entry(2, 30))[..20]);
        garbage.extend(entry(3, 40));
        let mut bad_group = group(&[entry(4, 20), entry(5, 20)]);
        bad_group[20] ^= 1;
        garbage.extend(&bad_group);
        garbage.extend(&group(&[entry(6, 20)])[12 + 20..]);
        let n = garbage.len() as u64;
        check_torn_tail(
            move |dir, last| append_bytes(&seg_path(dir, last), &garbage),
            n,
            false,
        );
    }

    #[test]
    fn torn_segment_header_variants() {
        // A new segment whose header did not (fully) reach the disk.
        for (contents, truncated) in [
            (Vec::new(), 0),
            (b"JRNYSE".to_vec(), 0),
            (vec![0; 16], 0),
            (vec![0; 4096], 4096 - 16),
        ] {
            check_torn_tail(
                |dir, last| {
                    let mut bytes = contents.clone();
                    // A prefix of the real header may have been written.
                    if !bytes.is_empty() && bytes.len() < 16 {
                        let n = bytes.len();
                        bytes.copy_from_slice(&segment_header(last + 1)[..n]);
                    }
                    fs::write(seg_path(dir, last + 1), bytes).unwrap();
                },
                truncated,
                true,
            );
        }
        // Magic written, version and sequence still zeros.
        check_torn_tail(
            |dir, last| {
                let mut bytes = segment_header(last + 1).to_vec();
                bytes[8..].fill(0);
                fs::write(seg_path(dir, last + 1), bytes).unwrap();
            },
            0,
            true,
        );
        // Zeros for a header, then entry frames without a commit frame: nothing was committed.
        let frames = [frame(&entry(1, 10)), frame(&entry(2, 10))].concat();
        let n = frames.len() as u64;
        check_torn_tail(
            move |dir, last| fs::write(seg_path(dir, last + 1), [vec![0; 16], frames].concat()).unwrap(),
            n,
            true,
        );
    }

    #[test]
    fn a_torn_looking_header_with_a_group_after_it_is_corruption() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        {
            let (mut writer, _, _) = open(dir, options(1000)).unwrap();
            write(&mut writer, &[entry(1, 10), entry(2, 10)]);
            writer.sync().unwrap();
        }
        let path = seg_path(dir, 1);
        let mut bytes = fs::read(&path).unwrap();
        bytes[..16].fill(0);
        fs::write(&path, &bytes).unwrap();
        let (segment, offset, detail) = corrupt_location(open(dir, options(1000)));
        assert_eq!((segment.as_str(), offset), ("0000000001.seg", 0));
        assert!(detail.contains("committed group follows"), "{detail}");
        assert_eq!(fs::read(&path).unwrap(), bytes);
    }

    /// Writes committed groups into one segment, each synced, the last of them with `last_group` entries;
    /// returns the groups' locations and payloads.
    fn write_groups(dir: &Path, sizes: &[&[usize]]) -> (Vec<Vec<EntryLocation>>, Vec<Vec<Vec<u8>>>) {
        let (mut writer, _, _) = open(dir, options(1 << 20)).unwrap();
        let mut locs = Vec::new();
        let mut payloads = Vec::new();
        for (g, sizes) in sizes.iter().enumerate() {
            let entries: Vec<Vec<u8>> = sizes
                .iter()
                .enumerate()
                .map(|(i, &size)| entry(g * 100 + i, size))
                .collect();
            locs.push(write(&mut writer, &entries));
            writer.sync().unwrap();
            payloads.push(entries);
        }
        assert_eq!(writer.end().0, 1);
        (locs, payloads)
    }

    /// Reopens a log whose last group (`last_start..`) was damaged, and checks that the group was cut off,
    /// leaving exactly the earlier groups, `kept`.
    fn check_last_group_dropped(dir: &Path, kept: &[Vec<u8>], last_start: u64, file_len: u64) {
        let (mut writer, reader, report) = open(dir, options(1 << 20)).unwrap();
        assert_eq!(payloads(&scan_all(&reader)), kept);
        assert_eq!(writer.end(), (1, last_start));
        assert_eq!(reader.end(), (1, last_start));
        if file_len == last_start {
            assert_eq!(report.truncated_at, None, "{report:?}");
        } else {
            assert_eq!(report.truncated_at, Some((1, last_start)), "{report:?}");
            assert_eq!(report.truncated_bytes, file_len - last_start);
            assert!(report.reason.is_some());
        }
        assert_eq!(fs::metadata(seg_path(dir, 1)).unwrap().len(), last_start);
        // The log goes on normally.
        let loc = write(&mut writer, &[b"next".to_vec()])[0];
        assert_eq!(loc.offset, last_start);
        writer.sync().unwrap();
        assert_eq!(reader.read(loc).unwrap(), b"next");
    }

    #[test]
    fn a_crash_anywhere_inside_the_last_group_drops_it_whole() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let (locs, groups) = write_groups(dir, &[&[30, 0], &[5], &[17, 40, 3], &[20, 0, 33, 8, 25]]);
        let path = seg_path(dir, 1);
        let full = fs::read(&path).unwrap();
        let last_start = locs[3][0].offset;
        let commit_at = locs[3].last().unwrap().end();
        assert_eq!(full.len() as u64, commit_at + COMMIT_FRAME_LEN);
        assert_eq!(last_start, group_end(*locs[2].last().unwrap()));
        let kept = groups[..3].concat();
        // Every cut from the group's first byte to one byte short of its end, including exactly before
        // its commit frame; with nothing after the cut, or zeros (a file system may extend a file with
        // zeros after a crash).
        for cut in last_start..full.len() as u64 {
            for zeros in [0, 100] {
                let mut bytes = full[..cut as usize].to_vec();
                bytes.resize(bytes.len() + zeros, 0);
                fs::write(&path, &bytes).unwrap();
                check_last_group_dropped(dir, &kept, last_start, bytes.len() as u64);
            }
        }
        // The whole group survives whole.
        fs::write(&path, &full).unwrap();
        let (_, reader, report) = open(dir, options(1 << 20)).unwrap();
        assert_eq!(report.truncated_at, None);
        assert_eq!(payloads(&scan_all(&reader)), groups.concat());
        let _ = commit_at;
    }

    #[test]
    fn a_hole_in_the_last_group_is_a_torn_tail() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let (locs, groups) = write_groups(dir, &[&[30, 20], &[50], &[40, 60, 20, 70, 30]]);
        let path = seg_path(dir, 1);
        let full = fs::read(&path).unwrap();
        let last = &locs[2];
        let last_start = last[0].offset;
        let commit_at = last[4].end();
        let kept = groups[..2].concat();
        // Holes (pages not written back before the power went out) with later frames and the commit frame
        // intact: in a frame header, in a payload, over whole frames, from the group's start; zeros or
        // stale bytes.
        let holes = [
            (last[1].offset, last[1].offset + 12),
            (last[1].offset + 20, last[1].offset + 40),
            (last[1].offset, last[3].offset),
            (last[0].offset, last[2].offset + 5),
            (last[0].offset + 1, last[0].offset + 2),
            (last[3].offset + 30, commit_at),
            (commit_at + 12, commit_at + 16),
        ];
        for (from, to) in holes {
            for fill in [0u8, 0xA5] {
                let mut bytes = full.clone();
                bytes[from as usize..to as usize].fill(fill);
                assert_ne!(bytes, full);
                fs::write(&path, &bytes).unwrap();
                let (_, _, report) = open(dir, options(1 << 20)).unwrap();
                // Reported as a torn last group, then checked as such on a second copy.
                assert!(report.reason.is_some());
                fs::write(&path, &bytes).unwrap();
                check_last_group_dropped(dir, &kept, last_start, full.len() as u64);
            }
        }
    }

    #[test]
    fn damage_in_an_earlier_group_of_the_last_segment_is_corruption_and_untouched() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let (locs, _) = write_groups(dir, &[&[40, 40], &[40, 40, 40], &[40], &[40, 40]]);
        let path = seg_path(dir, 1);
        let pristine = fs::read(&path).unwrap();
        let target = locs[1][1];
        let commit_at = locs[1][2].end();
        // (what to damage, where the problem is reported)
        let cases: [(u64, u64, u64); 10] = [
            // An entry frame's magic, length, CRC, payload.
            (target.offset + 1, 1, target.offset),
            (target.offset + 5, 1, target.offset),
            (target.offset + 9, 1, target.offset),
            (target.offset + 20, 1, target.offset),
            // A hole of zeros over a frame header and payload.
            (target.offset, 30, target.offset),
            // The commit frame's magic, group_len, entries, CRC.
            (commit_at, 1, commit_at),
            (commit_at + 4, 1, commit_at),
            (commit_at + 8, 1, commit_at),
            (commit_at + 12, 1, commit_at),
            // The first group's first frame.
            (SEGMENT_HEADER_LEN + 2, 1, SEGMENT_HEADER_LEN),
        ];
        for (at, len, reported) in cases {
            let mut bytes = pristine.clone();
            if len == 1 {
                bytes[at as usize] ^= 0x40;
            } else {
                bytes[at as usize..(at + len) as usize].fill(0);
            }
            fs::write(&path, &bytes).unwrap();

            let (segment, offset, detail) = corrupt_location(open(dir, options(1 << 20)));
            assert_eq!(
                (segment.as_str(), offset),
                ("0000000001.seg", reported),
                "{detail}"
            );
            assert!(detail.contains("committed group follows"), "{detail}");
            assert_eq!(fs::read(&path).unwrap(), bytes, "the file must not be modified");
            // Still refused on a second attempt: nothing was "repaired".
            corrupt_location(open(dir, options(1 << 20)));
        }
    }

    #[test]
    fn damage_in_a_sealed_segment_is_reported_by_scan_and_read() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let entries: Vec<Vec<u8>> = (0..20).map(|i| entry(i, 50)).collect();
        let locs = {
            let (mut writer, _, _) = open(dir, options(200)).unwrap();
            write_each(&mut writer, &entries)
        };
        let bad = locs.iter().position(|l| l.segment == 2).unwrap() + 1;
        let target = locs[bad];
        assert_eq!(target.segment, 2);
        assert!(locs.last().unwrap().segment > 2);
        flip_byte(&seg_path(dir, 2), target.offset + 30);

        let (_, reader, report) = open(dir, options(200)).unwrap();
        assert_eq!(report.truncated_at, None);
        let items: Vec<_> = reader.scan(None).collect();
        assert_eq!(
            items.len(),
            bad + 1,
            "entries before the damage, then one error, then nothing"
        );
        for (item, payload) in items[..bad].iter().zip(&entries) {
            assert_eq!(&item.as_ref().unwrap().1, payload);
        }
        let (segment, offset, detail) = corrupt_location(items.into_iter().last().unwrap());
        assert_eq!((segment.as_str(), offset), ("0000000002.seg", target.offset));
        assert!(detail.contains("CRC"), "{detail}");

        let (segment, offset, _) = corrupt_location(reader.read(target));
        assert_eq!((segment.as_str(), offset), ("0000000002.seg", target.offset));
        let (segment, offset, _) = corrupt_location(reader.read_many(&locs));
        assert_eq!((segment.as_str(), offset), ("0000000002.seg", target.offset));
        // Other entries are still readable.
        assert_eq!(reader.read(locs[bad + 1]).unwrap(), entries[bad + 1]);
        assert_eq!(reader.read(locs[0]).unwrap(), entries[0]);
    }

    #[test]
    fn a_sealed_segment_must_end_with_a_commit_frame_that_matches() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let groups: Vec<Vec<Vec<u8>>> = (0..6)
            .map(|g| (0..2).map(|i| entry(g * 10 + i, 40)).collect())
            .collect();
        let locs: Vec<Vec<EntryLocation>> = {
            let (mut writer, _, _) = open(dir, options(260)).unwrap();
            groups
                .iter()
                .map(|g| {
                    let locs = write(&mut writer, g);
                    writer.sync().unwrap();
                    locs
                })
                .collect()
        };
        // Two groups of 2 × 52 + 16 bytes per segment.
        assert_eq!(locs[1][0].segment, 1);
        assert_eq!(locs[2][0].segment, 2);
        let path = seg_path(dir, 1);
        let pristine = fs::read(&path).unwrap();
        let commit_at = locs[1][1].end();
        assert_eq!(pristine.len() as u64, commit_at + COMMIT_FRAME_LEN);

        let scan_error = |bytes: &[u8]| {
            fs::write(&path, bytes).unwrap();
            let (_, reader, report) = open(dir, options(260)).unwrap();
            assert_eq!(report.truncated_at, None);
            let items: Vec<_> = reader.scan(None).collect();
            let err = items.into_iter().find_map(Result::err);
            corrupt_location(err.map_or(Ok(()), Err))
        };

        // Its last commit frame missing: the segment ends inside a group.
        let (segment, offset, detail) = scan_error(&pristine[..commit_at as usize]);
        assert_eq!(
            (segment.as_str(), offset),
            ("0000000001.seg", commit_at),
            "{detail}"
        );
        assert!(detail.contains("inside a group"), "{detail}");

        // A commit frame that is not one, or that does not match its group.
        for (field, expect) in [(0, "magic"), (4, "bytes"), (8, "entries")] {
            let mut bytes = pristine.clone();
            bytes[(commit_at + field) as usize] ^= 0x01;
            let (segment, offset, detail) = scan_error(&bytes);
            assert_eq!(
                (segment.as_str(), offset),
                ("0000000001.seg", commit_at),
                "{detail}"
            );
            assert!(detail.contains(expect), "{detail}");
        }

        // The same checks hold for a scan that starts at a group boundary or inside a group.
        fs::write(&path, &pristine[..commit_at as usize]).unwrap();
        let (_, reader, _) = open(dir, options(260)).unwrap();
        for from in [locs[1][0].offset, locs[1][0].end()] {
            let err = reader.scan(Some((1, from))).find_map(Result::err);
            let (segment, offset, _) = corrupt_location(err.map_or(Ok(()), Err));
            assert_eq!((segment.as_str(), offset), ("0000000001.seg", commit_at));
        }
        fs::write(&path, &pristine).unwrap();
        let (_, reader, _) = open(dir, options(260)).unwrap();
        assert_eq!(payloads(&scan_all(&reader)), groups.concat());
    }

    #[test]
    fn truncated_sealed_segment_is_reported_by_scan() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let locs = {
            let (mut writer, _, _) = open(dir, options(200)).unwrap();
            write_each(&mut writer, &(0..10).map(|i| entry(i, 50)).collect::<Vec<_>>())
        };
        let (_, reader, _) = open(dir, options(200)).unwrap();
        // Cut segment 1 after the reader learnt its length.
        let first = locs[0];
        OpenOptions::new()
            .write(true)
            .open(seg_path(dir, 1))
            .unwrap()
            .set_len(first.end() - 1)
            .unwrap();
        let err = reader.scan(None).find_map(Result::err);
        let (segment, offset, _) = corrupt_location(err.map_or(Ok(()), Err));
        assert_eq!((segment.as_str(), offset), ("0000000001.seg", first.offset));
        corrupt_location(reader.read(first));
    }

    #[test]
    fn damaged_sealed_header_fails_open() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        {
            let (mut writer, _, _) = open(dir, options(100)).unwrap();
            write_each(&mut writer, &(0..5).map(|i| entry(i, 50)).collect::<Vec<_>>());
        }
        flip_byte(&seg_path(dir, 2), 14);
        let (segment, offset, _) = corrupt_location(open(dir, options(100)));
        assert_eq!((segment.as_str(), offset), ("0000000002.seg", 0));
        // A segment of an older format version is not read.
        flip_byte(&seg_path(dir, 2), 14);
        let path = seg_path(dir, 1);
        let mut bytes = fs::read(&path).unwrap();
        bytes[8..12].copy_from_slice(&1u32.to_le_bytes());
        fs::write(&path, bytes).unwrap();
        let (segment, offset, detail) = corrupt_location(open(dir, options(100)));
        assert_eq!((segment.as_str(), offset), ("0000000001.seg", 0));
        assert!(detail.contains("version 1"), "{detail}");
    }

    #[test]
    fn gaps_and_stray_files() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        {
            let (mut writer, _, _) = open(dir, options(100)).unwrap();
            write_each(&mut writer, &(0..5).map(|i| entry(i, 50)).collect::<Vec<_>>());
        }
        // Unrelated files are ignored.
        fs::write(dir.join("README"), b"hello").unwrap();
        fs::create_dir(dir.join("index")).unwrap();
        open(dir, options(100)).unwrap();

        fs::write(dir.join("12.seg"), b"").unwrap();
        let (segment, _, _) = corrupt_location(open(dir, options(100)));
        assert_eq!(segment, "12.seg");
        fs::remove_file(dir.join("12.seg")).unwrap();

        fs::rename(seg_path(dir, 3), dir.join("moved")).unwrap();
        let (segment, offset, _) = corrupt_location(open(dir, options(100)));
        assert_eq!((segment.as_str(), offset), ("0000000003.seg", 0));
        fs::rename(dir.join("moved"), seg_path(dir, 3)).unwrap();

        fs::rename(seg_path(dir, 1), dir.join("moved")).unwrap();
        let (segment, _, _) = corrupt_location(open(dir, options(100)));
        assert_eq!(segment, "0000000001.seg");
        fs::rename(dir.join("moved"), seg_path(dir, 1)).unwrap();
        open(dir, options(100)).unwrap();
    }

    #[test]
    fn scan_from_outside_the_log_is_an_error() {
        let tmp = tempfile::tempdir().unwrap();
        let (mut writer, reader, _) = open(tmp.path(), options(1000)).unwrap();
        write(&mut writer, &[entry(1, 10)]);
        writer.sync().unwrap();
        for from in [(0, 16), (1, 3), (1, 1000), (2, 16)] {
            let items: Vec<_> = reader.scan(Some(from)).collect();
            assert_eq!(items.len(), 1);
            assert!(matches!(items[0], Err(Error::NotFound(_))), "{from:?}");
        }
    }

    #[test]
    fn read_many_matches_read() {
        let tmp = tempfile::tempdir().unwrap();
        let (mut writer, reader, _) = open(tmp.path(), options(64 * 1024)).unwrap();
        // Sizes vary from tiny to larger than the coalescing gap and span, so that runs both merge and split.
        let entries: Vec<Vec<u8>> = (0..600)
            .map(|i| {
                entry(
                    i,
                    if i % 97 == 0 {
                        70_000
                    } else if i % 13 == 0 {
                        9_000
                    } else {
                        i % 300
                    },
                )
            })
            .collect();
        let mut locs = Vec::new();
        for chunk in entries.chunks(50) {
            locs.extend(write(&mut writer, chunk));
        }
        writer.sync().unwrap();
        assert!(reader.segments().len() > 3);

        // Every third entry (gaps), in a scrambled order, with duplicates.
        let mut picked: Vec<usize> = (0..entries.len()).filter(|i| i % 3 != 1).collect();
        picked.reverse();
        picked.rotate_left(17);
        picked.extend([5, 5, 598, 0]);
        let wanted: Vec<EntryLocation> = picked.iter().map(|&i| locs[i]).collect();
        let many = reader.read_many(&wanted).unwrap();
        assert_eq!(many.len(), wanted.len());
        for (loc, payload) in wanted.iter().zip(&many) {
            assert_eq!(payload, &reader.read(*loc).unwrap());
        }
        for (&i, payload) in picked.iter().zip(&many) {
            assert_eq!(payload, &entries[i]);
        }
        assert_eq!(reader.read_many(&locs).unwrap(), entries);
        assert!(reader.read_many(&[]).unwrap().is_empty());

        // A location that does not match the frame there is corruption, not a wrong answer; so is one that
        // points at a commit frame.
        let wrong = EntryLocation {
            len: locs[3].len + 1,
            ..locs[3]
        };
        corrupt_location(reader.read_many(&[locs[2], wrong]));
        corrupt_location(reader.read(wrong));
        let commit = EntryLocation {
            segment: locs[49].segment,
            offset: locs[49].end(),
            len: 4,
        };
        let (_, _, detail) = corrupt_location(reader.read(commit));
        assert!(detail.contains("magic"), "{detail}");
    }

    #[test]
    fn concurrent_readers_see_a_consistent_prefix() {
        let tmp = tempfile::tempdir().unwrap();
        let (mut writer, reader, _) = open(tmp.path(), options(4096)).unwrap();
        let done = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|s| {
            for _ in 0..4 {
                let reader = reader.clone();
                let done = &done;
                s.spawn(move || {
                    while !done.load(std::sync::atomic::Ordering::Relaxed) {
                        let items = scan_all(&reader);
                        // Whole groups only.
                        assert_eq!(items.len() % 5, 0);
                        for (i, (loc, payload)) in items.iter().enumerate() {
                            assert_eq!(payload, &entry(i, i % 200));
                            if i % 17 == 0 {
                                assert_eq!(&reader.read(*loc).unwrap(), payload);
                            }
                        }
                    }
                });
            }
            let mut n = 0;
            for _ in 0..100 {
                let batch: Vec<Vec<u8>> = (n..n + 5).map(|i| entry(i, i % 200)).collect();
                n += 5;
                write(&mut writer, &batch);
                writer.sync().unwrap();
            }
            done.store(true, std::sync::atomic::Ordering::Relaxed);
        });
        assert_eq!(scan_all(&reader).len(), 500);
    }

    #[test]
    fn missing_directories_are_created() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a").join("b").join("log");
        let (mut writer, reader, report) = open(&dir, LogOptions::default()).unwrap();
        assert_eq!(report.segments, 1);
        write(&mut writer, &[b"x".to_vec()]);
        writer.sync().unwrap();
        assert_eq!(payloads(&scan_all(&reader)), vec![b"x".to_vec()]);
        assert_eq!(fs::read(seg_path(&dir, 1)).unwrap()[..16], segment_header(1));
    }

    /// One group as written by the proptest.
    #[derive(Clone, Debug)]
    struct Written {
        entries: Vec<(EntryLocation, Vec<u8>)>,
        /// `(segment, offset)` just past its commit frame.
        end: (u32, u64),
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]

        /// Random batches (each synced or not; the segments left behind are synced at rotation), then the
        /// last segment damaged after its last synced byte — as a crash or power loss may leave it: cut at a
        /// random point (and maybe zeros appended, as a file system may leave), and maybe a hole of zeros or
        /// stale bytes in the last, unsynced group. What survives a reopen is exactly the groups wholly
        /// before the cut and untouched by the hole, each all or nothing — a prefix of the groups written,
        /// including every synced one.
        #[test]
        fn prop_damaged_last_segment_leaves_whole_groups(
            batches in proptest::collection::vec(
                (proptest::collection::vec(0usize..300, 1..8), any::<bool>()),
                1..12,
            ),
            segment_max_bytes in 64u64..1500,
            cut_fraction in 0.0f64..=1.0,
            zeros in prop_oneof![Just(0usize), 1usize..600],
            hole in proptest::option::of((0.0f64..1.0, 1u64..200, any::<bool>())),
        ) {
            let tmp = tempfile::tempdir().unwrap();
            let dir = tmp.path();
            let mut written: Vec<Written> = Vec::new();
            let mut synced_end = (1, SEGMENT_HEADER_LEN);
            {
                let (mut writer, _, _) = open(dir, options(segment_max_bytes)).unwrap();
                let mut n = 0;
                for (sizes, sync) in &batches {
                    let entries: Vec<Vec<u8>> =
                        sizes.iter().map(|&size| entry(n * 1000 + size, size)).collect();
                    n += entries.len();
                    let locs = write(&mut writer, &entries);
                    prop_assert_eq!(writer.end(), (locs[0].segment, group_end(*locs.last().unwrap())));
                    written.push(Written {
                        entries: locs.into_iter().zip(entries).collect(),
                        end: writer.end(),
                    });
                    if *sync {
                        writer.sync().unwrap();
                        synced_end = writer.end();
                    }
                }
            }
            let last = written.last().unwrap().end.0;
            let path = seg_path(dir, last);
            let original = fs::read(&path).unwrap();
            let len = original.len() as u64;
            prop_assert_eq!(len, written.last().unwrap().end.1);
            // What a power loss can damage: the bytes written since the last sync (of this segment, or of
            // the previous one at rotation; the header is synced when the segment is created).
            let floor = if synced_end.0 == last { synced_end.1 } else { SEGMENT_HEADER_LEN };
            let last_start = written.last().unwrap().entries[0].0.offset;

            let mut bytes = original.clone();
            if let Some((at, hole_len, stale)) = hole
                && last_start >= floor
            {
                let from = last_start + ((len - last_start) as f64 * at) as u64;
                let to = (from + hole_len).min(len);
                bytes[from as usize..to as usize].fill(if stale { 0xA5 } else { 0 });
            }
            let cut = floor + ((len - floor) as f64 * cut_fraction) as u64;
            bytes.truncate(cut as usize);
            let from = last_start.min(cut) as usize;
            let hole_hit_last = bytes[from..] != original[from..cut as usize];
            bytes.resize(bytes.len() + zeros, 0);
            fs::write(&path, &bytes).unwrap();

            let (mut writer, reader, report) = open(dir, options(segment_max_bytes)).unwrap();
            let survivors = scan_all(&reader);
            let kept: Vec<&Written> = written
                .iter()
                .enumerate()
                .filter(|&(i, g)| {
                    g.end.0 < last
                        || (g.end.1 <= cut && !(i == written.len() - 1 && hole_hit_last))
                })
                .map(|(_, g)| g)
                .collect();
            let expected: Vec<(EntryLocation, Vec<u8>)> =
                kept.iter().flat_map(|g| g.entries.clone()).collect();
            prop_assert_eq!(&survivors, &expected);
            // A prefix of the groups, including every synced one.
            prop_assert!(kept.iter().zip(&written).all(|(k, w)| k.end == w.end));
            prop_assert!(kept.last().is_none_or(|k| k.end >= synced_end));
            // Exactly what was cut is reported.
            let new_len = bytes.len() as u64;
            let recovered_end = kept
                .iter()
                .filter(|g| g.end.0 == last)
                .map(|g| g.end.1)
                .max()
                .unwrap_or(SEGMENT_HEADER_LEN);
            prop_assert_eq!(writer.end(), (last, recovered_end));
            prop_assert_eq!(reader.end(), (last, recovered_end));
            prop_assert_eq!(report.truncated_bytes, new_len - recovered_end);
            let truncated_at = (new_len != recovered_end).then_some((last, recovered_end));
            prop_assert_eq!(report.truncated_at, truncated_at);

            // The log works normally afterwards.
            let loc = writer.write_batch(&[b"after", b"and more"]).unwrap()[0];
            writer.sync().unwrap();
            prop_assert_eq!(reader.read(loc).unwrap(), b"after".to_vec());
            drop((writer, reader));
            let (_, reader, report) = open(dir, options(segment_max_bytes)).unwrap();
            prop_assert_eq!(report.truncated_at, None);
            let all = scan_all(&reader);
            prop_assert_eq!(all.len(), expected.len() + 2);
            prop_assert_eq!(&all[..expected.len()], &expected[..]);
        }
    }
}
