//! The append-only, segmented log file that is Journey's source of truth. Everything else (the
//! indexes, the views) is derived from it and can be rebuilt from it.
//!
//! This module knows only bytes: it appends opaque entries in groups (one group per
//! [`LogWriter::write_batch`]), hands back where each entry went, reads them back (checking every byte),
//! and on open repairs the one kind of damage a crash or a power loss is allowed to cause — an incomplete
//! last group, written after the last point the log knows was durable. Any other damage, and a log that
//! ends before what it knows was durable, is reported as [`Error::Corrupt`], never skipped or cut. A group
//! is all or nothing: after a crash, either all of its entries are served or none is.
//!
//! # On-disk format (version 3)
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
//! | 8..12  | format version, `u32` little-endian (= 3; 2 for segments written before the mark file) |
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
//! at a commit frame that matches its group).
//!
//! # Proof of durability: the mark
//!
//! The bytes after the durable end may be cut only if they could not have been acknowledged. Nothing in a
//! group tells whether its `fdatasync` returned, so the log keeps that proof beside itself, in
//! [`MARK_FILE`] (`log/durable`): a **mark** `(segment, end, CRC of the commit frame ending there, and the
//! layer above's head there — its record count and last hash)`, meaning "everything before this point was
//! durable". The file has two 128-byte slots, each with a generation number and a CRC, written alternately
//! (one `pwrite` and one `fdatasync`), so a torn write of one leaves the other; the newest valid slot counts.
//! A mark is only ever recorded for bytes whose sync has returned, so it is a lower bound of what was
//! acknowledged. It is recorded:
//!
//! * when a new log is created, before its first segment (so a segment of format 3 without a mark file
//!   means the mark was lost, not that it was never written);
//! * on open, by the layer above once it has read the log ([`LogWriter::mark_durable`]): after a crash,
//!   everything recovery kept has been synced by then;
//! * when a segment is created (after the previous one is synced, before any group goes into the new one):
//!   so a lost last segment is always noticed;
//! * by a background thread every [`LogOptions::mark_interval`] (100 ms by default), if the durable end
//!   has moved: off the writer's path;
//! * when the writer is dropped: after a clean stop the whole log is marked.
//!
//! On open, the mark is checked before anything is cut:
//!
//! * every segment up to the mark's must exist, and a sealed one must reach the mark and have the recorded
//!   commit frame there;
//! * in the last segment, if the mark is in it, the last whole group must end at or after the mark, and
//!   the commit frame ending at the mark must be the recorded one. A damaged or missing group before the
//!   mark is **lost durable data**, not a torn tail: open refuses, naming what is missing (segments, the
//!   records after the last whole group up to the mark's, the mark's record and hash), and how to restore
//!   (a backup, or [`open_accepting_loss`], which the CLI's `journey accept-loss` uses and records);
//! * only the bytes after both the mark and the last whole group are treated as a torn tail as described
//!   above: they were written after the last point known to be durable.
//!
//! What remains unprovable is a group synced (and acknowledged) after the last mark and damaged before the
//! next open: after a crash, at most [`LogOptions::mark_interval`] of acknowledged groups are in that window;
//! after a clean stop, none.

//! One writer per directory: [`open`] takes an exclusive advisory lock (`flock`) on the directory, held by
//! the [`LogWriter`].

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, ErrorKind};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock, RwLockReadGuard, mpsc};
use std::thread::JoinHandle;
use std::time::Duration;

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
/// The format of the segments this code creates: 3 says "this log keeps a [`MARK_FILE`]", so that a missing
/// one is noticed.
const FORMAT_VERSION: u32 = 3;
/// Segments created before the log kept a [`MARK_FILE`]. Their frames are the same, so they are read as they
/// are; the first open for writing gives the log its mark.
const FORMAT_VERSION_WITHOUT_MARK: u32 = 2;
const SEGMENT_HEADER_LEN: u64 = 16;

/// The file in the log directory that records how far the log is known to be durable (see "Proof of
/// durability" in the module documentation).
pub const MARK_FILE: &str = "durable";
const MARK_MAGIC: [u8; 8] = *b"JRNYDUR1";
/// The mark file holds two slots, written alternately, so that a torn write of one leaves the other.
const MARK_SLOT: u64 = 128;
/// magic, generation, segment, end, commit CRC, flags, entries, hash, CRC.
const MARK_LEN: usize = 8 + 8 + 4 + 8 + 4 + 4 + 8 + 32 + 4;
const MARK_HEAD_KNOWN: u32 = 1;

/// The default for [`LogOptions::mark_interval`].
pub const DEFAULT_MARK_INTERVAL: Duration = Duration::from_millis(100);

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
    /// How often, at most, a background thread records the durable end in [`MARK_FILE`] while groups are
    /// being written (it is also recorded when the log is opened, at every new segment, and when the writer
    /// is dropped). Only groups written since the last mark can be taken for a torn tail after a crash; a
    /// mark costs one small write and `fdatasync`, off the writer's path. Default 100 ms.
    pub mark_interval: Duration,
}

impl Default for LogOptions {
    fn default() -> LogOptions {
        LogOptions {
            segment_max_bytes: DEFAULT_SEGMENT_MAX_BYTES,
            sync: SyncMode::Data,
            mark_interval: DEFAULT_MARK_INTERVAL,
        }
    }
}

/// What the layer above says the log holds up to a point: how many entries (its positions or sequence
/// numbers count them from 1), and the hash it gives the last one. The log records it in its mark, so that
/// a refusal can name the last record known to be durable, and the layer above can check that the record
/// at the mark is still that one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Head {
    pub entries: u64,
    pub hash: [u8; 32],
}

/// A point the log is known to have reached durably, as recorded in [`MARK_FILE`]: everything before
/// `(segment, end)` had been made durable (by an `fdatasync` that returned) when it was recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DurableMark {
    pub segment: u32,
    /// Just past the commit frame of a group, or the segment header's end (a segment that had just been
    /// created).
    pub end: u64,
    /// The CRC field of the commit frame that ends at `end` (0 when `end` is the header's end): ties the
    /// mark to the bytes, not only to a length.
    pub commit_crc: u32,
    /// The layer above's count and hash of the entries up to `end`, when it had told the log.
    pub head: Option<Head>,
}

impl DurableMark {
    /// Whether the entry at `loc`, followed by the entry at `next` (`None` if it is the log's last), is the
    /// last one before the mark: the last of the group whose commit frame ends at the mark, or, for a mark
    /// at the start of a segment, the last of the segment before it.
    pub fn is_last_entry(&self, loc: EntryLocation, next: Option<EntryLocation>) -> bool {
        if self.end > SEGMENT_HEADER_LEN {
            loc.segment == self.segment && loc.end() + COMMIT_FRAME_LEN == self.end
        } else {
            loc.segment + 1 == self.segment && next.is_none_or(|n| n.segment >= self.segment)
        }
    }

    /// The mark, in words: where, and which record, when known.
    pub fn describe(&self) -> String {
        let place = format!("segment {} byte {}", segment_file_name(self.segment), self.end);
        match self.head {
            Some(head) if head.entries > 0 => format!(
                "{place}, ending with record {} (hash {})",
                head.entries,
                hex_of(&head.hash)
            ),
            Some(_) => format!("{place}, before any record"),
            None => place,
        }
    }
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
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
    /// The log's [`MARK_FILE`] as found on open (before this open recorded a new one), if it had one.
    pub mark: Option<DurableMark>,
    /// Only from [`open_accepting_loss`]: what was known to be durable and is no longer in the log, in
    /// words. The caller must make that loss known (the CLI records it in the system journal).
    pub loss: Option<String>,
    /// True for [`open_read_only`]: nothing was modified, and `truncated_*` say what an open for writing
    /// would cut.
    pub read_only: bool,
}

/// What readers may see: the sealed segments and the durable end of the last one.
#[derive(Clone, Debug)]
struct Visible {
    /// `sealed[i]` is the length of segment `i + 1`, for every segment before `end.0`.
    sealed: Vec<u64>,
    /// `(segment, offset)` just past the last commit frame readers may see; `end.0 == sealed.len() + 1`.
    end: (u32, u64),
    /// The CRC field of the commit frame that ends at `end` (0 if none does).
    commit_crc: u32,
    /// What the layer above said the log holds up to `end`, if it did.
    head: Option<Head>,
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
    /// The mark file, for whoever records a mark (the writer, or its marking thread).
    mark: Mutex<MarkState>,
    /// Whether marks are synced ([`SyncMode::Data`]).
    sync: bool,
    /// A read-only open's shared lock on the log directory, held as long as its readers live.
    _read_lock: Option<File>,
}

/// What this process has recorded in the mark file.
#[derive(Debug, Default)]
struct MarkState {
    /// Open once the file exists.
    file: Option<File>,
    /// The generation of the newest valid slot; the next write gets one more, in the other slot.
    generation: u64,
    /// The last mark written (or found valid on open): its place, and whether it named the head.
    written: Option<((u32, u64), bool)>,
}

impl MarkState {
    /// Writes `mark` into the mark file's other slot, unless a mark at or past it was already written.
    fn record(&mut self, dir: &Path, sync: bool, mark: DurableMark) -> io::Result<()> {
        let place = (mark.segment, mark.end);
        if let Some((written, named_head)) = self.written
            && (written > place || (written == place && (named_head || mark.head.is_none())))
        {
            return Ok(());
        }
        let generation = self.generation + 1;
        let slot = encode_mark(&mark, generation);
        let at = (generation % 2) * MARK_SLOT;
        match &self.file {
            Some(file) => {
                file.write_all_at(&slot, at)?;
                if sync {
                    file.sync_data()?;
                }
            }
            None => {
                // Created whole under another name and renamed, so that the file is never seen empty.
                let temporary = dir.join(format!("{MARK_FILE}.tmp"));
                let file = OpenOptions::new()
                    .read(true)
                    .write(true)
                    .create(true)
                    .truncate(true)
                    .open(&temporary)?;
                file.set_len(2 * MARK_SLOT)?;
                file.write_all_at(&slot, at)?;
                if sync {
                    file.sync_all()?;
                }
                fs::rename(&temporary, dir.join(MARK_FILE))?;
                if sync {
                    File::open(dir)?.sync_all()?;
                }
                self.file = Some(file);
            }
        }
        self.generation = generation;
        self.written = Some((place, mark.head.is_some()));
        Ok(())
    }
}

impl Shared {
    /// The durable end readers see, as a mark.
    fn current_mark(&self) -> DurableMark {
        let visible = self.visible();
        DurableMark {
            segment: visible.end.0,
            end: visible.end.1,
            commit_crc: visible.commit_crc,
            head: visible.head,
        }
    }

    /// Records `mark` in the mark file, unless one at or past it is already there. Durable when it returns
    /// (with [`SyncMode::Data`]).
    fn record_mark(&self, mark: DurableMark) -> io::Result<()> {
        self.mark
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .record(&self.dir, self.sync, mark)
    }

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
/// (clone it for more) and what recovery did. Refuses a log that ends before what its [`MARK_FILE`] shows
/// was durable. See the module documentation for the rules.
pub fn open(dir: &Path, options: LogOptions) -> Result<(LogWriter, LogReader, RecoveryReport), Error> {
    open_for_writing(dir, options, Opening::Strict)
}

/// [`open`] for an operator who has decided to go on without what the log lost: a log that ends before
/// its mark is cut where recovery can continue it (the last whole group before the damage), the loss is
/// described in [`RecoveryReport::loss`], and the mark is recorded afresh. Damage that is not at the end of
/// the log (a valid group after it, or a sealed segment) is still refused.
pub fn open_accepting_loss(
    dir: &Path,
    options: LogOptions,
) -> Result<(LogWriter, LogReader, RecoveryReport), Error> {
    open_for_writing(dir, options, Opening::AcceptLoss)
}

/// Opens the log in `dir` for reading only, applying the same rules as [`open`] but modifying nothing: a
/// torn tail is left in place and only reported (readers never see it), and nothing is created. Takes a
/// shared lock, so it fails while a writer has the log open.
pub fn open_read_only(dir: &Path) -> Result<(LogReader, RecoveryReport), Error> {
    if !dir.is_dir() {
        return Err(Error::NotFound(format!("no log in {}", dir.display())));
    }
    let dir_handle = File::open(dir)?;
    lock_log_dir(&dir_handle, dir, true)?;
    let recovered = recover(dir, &dir_handle, Opening::ReadOnly, false)?;
    let shared = Arc::new(Shared {
        dir: dir.to_path_buf(),
        visible: RwLock::new(recovered.visible),
        files: RwLock::new(recovered.files),
        mark: Mutex::default(),
        sync: false,
        _read_lock: Some(dir_handle),
    });
    Ok((LogReader { shared }, recovered.report))
}

/// How an open treats a log that ends before its mark.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Opening {
    /// Refuse to open it.
    Strict,
    /// Cut the log where it can be continued, report the loss, and open it.
    AcceptLoss,
    /// Refuse as `Strict` does, and modify nothing at all.
    ReadOnly,
}

fn lock_log_dir(dir_handle: &File, dir: &Path, shared: bool) -> Result<(), Error> {
    let locked = if shared {
        dir_handle.try_lock_shared()
    } else {
        dir_handle.try_lock()
    };
    match locked {
        Ok(()) => Ok(()),
        Err(fs::TryLockError::WouldBlock) => Err(io::Error::new(
            ErrorKind::WouldBlock,
            format!("the log in {} is already open for writing", dir.display()),
        )
        .into()),
        Err(fs::TryLockError::Error(e)) => Err(e.into()),
    }
}

fn open_for_writing(
    dir: &Path,
    options: LogOptions,
    opening: Opening,
) -> Result<(LogWriter, LogReader, RecoveryReport), Error> {
    let sync = options.sync == SyncMode::Data;
    create_dir(dir, sync)?;
    let dir_handle = File::open(dir)?;
    lock_log_dir(&dir_handle, dir, false)?;
    let Recovered {
        report,
        visible,
        files,
        last,
        mark,
    } = recover(dir, &dir_handle, opening, sync)?;
    let (file, len) = last.expect("an open for writing opens the last segment for writing");
    let (seq, commit_crc, head) = (visible.end.0, visible.commit_crc, visible.head);
    let shared = Arc::new(Shared {
        dir: dir.to_path_buf(),
        visible: RwLock::new(visible),
        files: RwLock::new(files),
        mark: Mutex::new(mark),
        sync,
        _read_lock: None,
    });
    let (stop, stopped) = mpsc::channel::<()>();
    let for_marks = Arc::clone(&shared);
    let interval = options.mark_interval;
    let thread = std::thread::Builder::new()
        .name("journey-log-mark".into())
        .spawn(move || {
            let mut failing = false;
            while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(interval) {
                match for_marks.record_mark(for_marks.current_mark()) {
                    Ok(()) => failing = false,
                    Err(e) => {
                        if !failing {
                            tracing::warn!(
                                dir = %for_marks.dir.display(),
                                error = %e,
                                "could not record how far the log is durable; will retry"
                            );
                        }
                        failing = true;
                    }
                }
            }
        })?;
    let writer = LogWriter {
        shared: Arc::clone(&shared),
        options,
        dir_handle,
        seq,
        file,
        len,
        dirty: false,
        sealed_unpublished: Vec::new(),
        buf: Vec::new(),
        failed: None,
        commit_crc,
        head,
        marker: Some(Marker { stop, thread }),
    };
    Ok((writer, LogReader { shared }, report))
}

/// What [`recover`] found: the visible log, the handles of its sealed segments, the last segment open for
/// writing (unless read-only) with its durable end, and the mark file's state.
struct Recovered {
    report: RecoveryReport,
    visible: Visible,
    files: HashMap<u32, Arc<File>>,
    last: Option<(File, u64)>,
    mark: MarkState,
}

/// The advice every refusal for lost durable data ends with (the store and the journal use it too).
pub const RESTORE_ADVICE: &str = "Restore the data directory from a backup that holds them; or, to go on without \
     them, run `journey accept-loss`, which cuts the log where it can be continued and records the loss in \
     the system journal";

/// A tail loss found on open: what the mark showed was durable and the log no longer holds.
struct Loss {
    /// Where the loss starts, for the error's location.
    segment: u32,
    offset: u64,
    /// What is missing or damaged, in words.
    what: String,
}

/// Checks the log in `dir` against its mark and repairs a torn tail (unless read-only); see the module
/// documentation.
fn recover(dir: &Path, dir_handle: &File, opening: Opening, sync: bool) -> Result<Recovered, Error> {
    let writing = opening != Opening::ReadOnly;
    let mut report = RecoveryReport {
        read_only: !writing,
        ..RecoveryReport::default()
    };
    let mut losses: Vec<Loss> = Vec::new();
    let mut mark_state = MarkState::default();
    let mark = match read_mark(dir)? {
        MarkRead::Absent => None,
        MarkRead::Found { mark, generation } => {
            mark_state.generation = generation;
            if writing {
                mark_state.file = Some(
                    OpenOptions::new()
                        .read(true)
                        .write(true)
                        .open(dir.join(MARK_FILE))?,
                );
            }
            if opening == Opening::Strict {
                mark_state.written = Some(((mark.segment, mark.end), mark.head.is_some()));
            }
            Some(mark)
        }
        MarkRead::Damaged(why) => {
            if opening != Opening::AcceptLoss {
                return Err(corrupt_named(
                    MARK_FILE,
                    0,
                    format!(
                        "{why}. It records how far the log is known to be durable, so the log cannot be \
                         checked against it. {RESTORE_ADVICE}"
                    ),
                ));
            }
            losses.push(Loss {
                segment: 1,
                offset: 0,
                what: format!("{MARK_FILE} was damaged ({why}); what it recorded is unknown"),
            });
            None
        }
    };
    report.mark = mark;
    // A mark past the start of segment 1 claims that something was durable.
    let claimed = mark.filter(|m| (m.segment, m.end) > (1, SEGMENT_HEADER_LEN));

    let mut seqs = list_segments(dir)?;
    let mut new_log = false;
    if seqs.is_empty() {
        if let Some(m) = claimed {
            losses.push(Loss {
                segment: 1,
                offset: 0,
                what: format!(
                    "the log directory holds no segment at all, where segments 1 to {} were",
                    m.segment
                ),
            });
        }
        if writing {
            // A new log is marked before its first segment exists, so that a segment of this format without a
            // mark is always a lost mark.
            if mark.is_none() || !losses.is_empty() {
                record_new_log_mark(dir, &mut mark_state, sync)?;
                new_log = true;
            }
            create_segment(dir, dir_handle, 1, sync)?;
            seqs.push(1);
        }
    }
    let Some(&last) = seqs.last() else {
        // Read-only, and no segment: an empty log (or a loss, reported below).
        if let Some(loss) = losses.pop() {
            return Err(loss_error(dir, mark, &[], (1, SEGMENT_HEADER_LEN), loss));
        }
        return Ok(Recovered {
            report,
            visible: Visible {
                sealed: Vec::new(),
                end: (1, SEGMENT_HEADER_LEN),
                commit_crc: 0,
                head: None,
            },
            files: HashMap::new(),
            last: None,
            mark: mark_state,
        });
    };

    let mut files = HashMap::new();
    let mut sealed = Vec::with_capacity(seqs.len() - 1);
    let mut marked_format = false;
    for &seq in &seqs[..seqs.len() - 1] {
        let file = File::open(dir.join(segment_file_name(seq)))?;
        let (len, version) = check_sealed_header(&file, seq)?;
        marked_format |= version == FORMAT_VERSION;
        sealed.push(len);
        files.insert(seq, Arc::new(file));
    }
    if let Some(m) = claimed {
        if m.segment > last {
            let missing = if m.segment == last + 1 {
                format!("segment {} is missing", segment_file_name(m.segment))
            } else {
                format!(
                    "segments {} to {} are missing",
                    segment_file_name(last + 1),
                    segment_file_name(m.segment)
                )
            };
            losses.push(Loss {
                segment: last + 1,
                offset: 0,
                what: missing,
            });
        } else if m.segment < last {
            // A sealed segment: complete since its successor exists. Damage in it is not a lost tail.
            let len = sealed[m.segment as usize - 1];
            let file = &files[&m.segment];
            if len < m.end {
                return Err(corrupt(
                    m.segment,
                    len,
                    format!(
                        "the sealed segment is {len} bytes long, but {MARK_FILE} records that it held {} \
                         durable bytes",
                        m.end
                    ),
                ));
            }
            if let Err(why) = check_marked_commit(file, m)? {
                return Err(corrupt(m.segment, m.end - COMMIT_FRAME_LEN, why));
            }
        }
    }

    // The last segment: everything before `known` is known to be durable.
    let known = match claimed {
        Some(m) if m.segment == last => m.end,
        _ => SEGMENT_HEADER_LEN,
    };
    let name = segment_file_name(last);
    let path = dir.join(&name);
    let file = if writing {
        OpenOptions::new().read(true).write(true).open(&path)?
    } else {
        File::open(&path)?
    };
    let file_len = file.metadata()?.len();
    let mut header = vec![0; file_len.min(SEGMENT_HEADER_LEN) as usize];
    file.read_exact_at(&mut header, 0)?;
    let (durable, cut) = match classify_header(&header, last) {
        HeaderState::Bad(why) => return Err(corrupt(last, 0, why)),
        HeaderState::Torn(why) => {
            // Frames are written only after the header is durable, so a torn header means the segment
            // never held a synced group. A verified group in it means something else happened.
            if let Some((at, _)) = find_committed_group(&file, SEGMENT_HEADER_LEN, file_len)? {
                return Err(corrupt(
                    last,
                    0,
                    format!("{why}, yet a committed group follows (its commit frame is at byte {at})"),
                ));
            }
            if known > SEGMENT_HEADER_LEN {
                losses.push(Loss {
                    segment: last,
                    offset: 0,
                    what: format!("{why}, and its groups up to byte {known} are gone"),
                });
            }
            (SEGMENT_HEADER_LEN, Some((0, format!("{why}; header rewritten"))))
        }
        HeaderState::Valid(version) => {
            marked_format |= version == FORMAT_VERSION;
            let Walk { durable, problem } = walk_groups(&file, SEGMENT_HEADER_LEN, file_len)?;
            let cut = match problem {
                Some((at, why)) => {
                    // Only the last group can be unsynced. A verified group after the problem was written
                    // after the bytes at the problem were synced: they are durable data, damaged.
                    if let Some((commit_at, start)) = find_committed_group(&file, at, file_len)? {
                        return Err(corrupt(
                            last,
                            at,
                            format!(
                                "{why}, yet a committed group follows (bytes {start}..{}): the damage is \
                                 not a torn last write",
                                commit_at + COMMIT_FRAME_LEN
                            ),
                        ));
                    }
                    if durable < known {
                        losses.push(Loss {
                            segment: last,
                            offset: durable,
                            what: format!(
                                "the group from byte {durable} is damaged ({why} at byte {at}), and it was \
                                 durable: it is not a torn last write"
                            ),
                        });
                    }
                    Some((
                        durable,
                        if at == durable {
                            format!("{why} at byte {at}")
                        } else {
                            format!(
                                "{why} at byte {at}; the group from byte {durable} has no valid commit \
                                 frame: dropped whole"
                            )
                        },
                    ))
                }
                None => {
                    if durable < known {
                        losses.push(Loss {
                            segment: last,
                            offset: durable,
                            what: format!("the segment ends at byte {durable}, before byte {known}"),
                        });
                    }
                    None
                }
            };
            (durable, cut)
        }
    };
    if let Some(m) = claimed.filter(|m| m.segment == last && durable >= m.end)
        && let Err(why) = check_marked_commit(&file, m)?
    {
        if opening != Opening::AcceptLoss {
            return Err(corrupt(
                last,
                m.end - COMMIT_FRAME_LEN,
                format!("{why}: the log is not the one {MARK_FILE} recorded as durable. {RESTORE_ADVICE}"),
            ));
        }
        losses.push(Loss {
            segment: last,
            offset: m.end - COMMIT_FRAME_LEN,
            what: format!("{why}: the log is not the one {MARK_FILE} recorded"),
        });
    }
    if mark.is_none() && !new_log && marked_format && losses.is_empty() {
        losses.push(Loss {
            segment: last,
            offset: 0,
            what: format!(
                "{MARK_FILE} is missing, although the log's segments are of the format that always has one: \
                 how far the log was durable is unknown"
            ),
        });
    }
    if opening != Opening::AcceptLoss && !losses.is_empty() {
        let loss = losses.swap_remove(0);
        return Err(loss_error(dir, mark, &sealed, (last, durable), loss));
    }
    if !losses.is_empty() {
        let what: Vec<String> = losses.iter().map(|l| l.what.clone()).collect();
        let ends = match count_entries(dir, &sealed, (last, durable)) {
            Some(n) => format!("; the log now ends at segment {name} byte {durable}, after record {n}"),
            None => format!("; the log now ends at segment {name} byte {durable}"),
        };
        let marked = mark.map_or(String::new(), |m| {
            format!("{MARK_FILE} recorded it durable up to {}: ", m.describe())
        });
        let loss = format!("{marked}{}{ends}", what.join("; "));
        tracing::error!(dir = %dir.display(), loss = %loss, "accepting the loss of durable log data");
        report.loss = Some(loss);
    }

    if let Some((at, reason)) = cut {
        let truncated = file_len - at;
        if writing {
            if at == 0 {
                file.write_all_at(&segment_header(last), 0)?;
                file.set_len(SEGMENT_HEADER_LEN)?;
            } else {
                file.set_len(at)?;
            }
            if sync {
                file.sync_all()?;
                dir_handle.sync_all()?;
            }
            tracing::warn!(
                segment = %name,
                offset = at,
                truncated_bytes = truncated,
                reason = %reason,
                "truncating the torn last group of the log (written after the last durable mark: never \
                 acknowledged)"
            );
        }
        report.truncated_bytes = if at == 0 {
            file_len.saturating_sub(SEGMENT_HEADER_LEN)
        } else {
            truncated
        };
        report.truncated_at = Some((last, at));
        report.reason = Some(reason);
    } else if writing && sync {
        // The previous process may have died (without the machine crashing) after writing but before
        // syncing. Readers will see everything up to here, so make it durable first. The directory too, in
        // case it died between creating a segment and syncing the directory.
        file.sync_data()?;
        dir_handle.sync_all()?;
    }
    report.segments = seqs.len();
    let commit_crc = commit_crc_before(&file, durable)?;
    let last = if writing {
        Some((file, durable))
    } else {
        files.insert(last, Arc::new(file));
        None
    };
    Ok(Recovered {
        report,
        visible: Visible {
            sealed,
            end: (seqs[seqs.len() - 1], durable),
            commit_crc,
            head: None,
        },
        files,
        last,
        mark: mark_state,
    })
}

/// Records the mark of a new, empty log (before its first segment is created).
fn record_new_log_mark(dir: &Path, state: &mut MarkState, sync: bool) -> io::Result<()> {
    state.record(
        dir,
        sync,
        DurableMark {
            segment: 1,
            end: SEGMENT_HEADER_LEN,
            commit_crc: 0,
            head: None,
        },
    )
}

/// The refusal for a tail loss: what is missing, where the log can be continued, what the mark recorded,
/// and how to restore.
fn loss_error(dir: &Path, mark: Option<DurableMark>, sealed: &[u64], end: (u32, u64), loss: Loss) -> Error {
    let count = count_entries(dir, sealed, end);
    let ends = format!(
        "the last whole group ends at segment {} byte {}{}",
        segment_file_name(end.0),
        end.1,
        count.map_or(String::new(), |n| format!(", after record {n}"))
    );
    let marked = mark.map_or(String::new(), |m| {
        format!(
            ", but {MARK_FILE} records that the log was durable up to {}",
            m.describe()
        )
    });
    let missing = match (mark.and_then(|m| m.head), count) {
        (Some(head), Some(n)) if head.entries > n => format!(
            " Records {} to {} were acknowledged and are not in the log.",
            n + 1,
            head.entries
        ),
        _ => String::new(),
    };
    corrupt(
        loss.segment,
        loss.offset,
        format!("{}: {ends}{marked}.{missing} {RESTORE_ADVICE}.", loss.what),
    )
}

/// How many entries the log holds up to `end`, if it can be read that far (for messages).
fn count_entries(dir: &Path, sealed: &[u64], end: (u32, u64)) -> Option<u64> {
    let reader = LogReader {
        shared: Arc::new(Shared {
            dir: dir.to_path_buf(),
            visible: RwLock::new(Visible {
                sealed: sealed.to_vec(),
                end,
                commit_crc: 0,
                head: None,
            }),
            files: RwLock::default(),
            mark: Mutex::default(),
            sync: false,
            _read_lock: None,
        }),
    };
    let mut n = 0;
    for item in reader.scan(None) {
        item.ok()?;
        n += 1;
    }
    Some(n)
}

/// The CRC field of the commit frame that ends at `end`, or 0 if none does (`end` is the header's end).
fn commit_crc_before(file: &File, end: u64) -> io::Result<u32> {
    if end < SEGMENT_HEADER_LEN + COMMIT_FRAME_LEN {
        return Ok(0);
    }
    let mut frame = [0; COMMIT_FRAME_LEN as usize];
    file.read_exact_at(&mut frame, end - COMMIT_FRAME_LEN)?;
    let word = |i: usize| u32::from_le_bytes(frame[i..i + 4].try_into().expect("4 bytes"));
    Ok(if word(0) == COMMIT_MAGIC { word(12) } else { 0 })
}

/// Whether the commit frame that ends at the mark's end is the one the mark recorded.
fn check_marked_commit(file: &File, mark: DurableMark) -> io::Result<Result<(), String>> {
    if mark.end < SEGMENT_HEADER_LEN + COMMIT_FRAME_LEN {
        return Ok(Ok(()));
    }
    let at = mark.end - COMMIT_FRAME_LEN;
    let mut frame = [0; COMMIT_FRAME_LEN as usize];
    match file.read_exact_at(&mut frame, at) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::UnexpectedEof => {
            return Ok(Err(format!("the segment ends before byte {}", mark.end)));
        }
        Err(e) => return Err(e),
    }
    let word = |i: usize| u32::from_le_bytes(frame[i..i + 4].try_into().expect("4 bytes"));
    Ok(if word(0) != COMMIT_MAGIC {
        Err(format!(
            "no commit frame ends at byte {}, where {MARK_FILE} recorded one",
            mark.end
        ))
    } else if word(12) != mark.commit_crc {
        Err(format!(
            "the commit frame ending at byte {} has CRC {:#010x}, but {MARK_FILE} recorded {:#010x}",
            mark.end,
            word(12),
            mark.commit_crc
        ))
    } else {
        Ok(())
    })
}

/// What the mark file holds.
enum MarkRead {
    Absent,
    Found { mark: DurableMark, generation: u64 },
    Damaged(String),
}

fn read_mark(dir: &Path) -> io::Result<MarkRead> {
    let bytes = match fs::read(dir.join(MARK_FILE)) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(MarkRead::Absent),
        Err(e) => return Err(e),
    };
    let newest = (0..2)
        .filter_map(|slot| {
            let at = slot * MARK_SLOT as usize;
            bytes.get(at..at + MARK_LEN).and_then(decode_mark)
        })
        .max_by_key(|(generation, _)| *generation);
    Ok(match newest {
        Some((generation, mark)) => MarkRead::Found { mark, generation },
        None => MarkRead::Damaged(format!("neither slot of {MARK_FILE} holds a valid mark")),
    })
}

/// One slot of the mark file: magic, generation, segment, end, commit CRC, flags, entries, hash, and a
/// CRC-32C of everything before it; integers little-endian.
fn encode_mark(mark: &DurableMark, generation: u64) -> [u8; MARK_LEN] {
    let mut slot = [0; MARK_LEN];
    let head = mark.head.unwrap_or_default();
    slot[0..8].copy_from_slice(&MARK_MAGIC);
    slot[8..16].copy_from_slice(&generation.to_le_bytes());
    slot[16..20].copy_from_slice(&mark.segment.to_le_bytes());
    slot[20..28].copy_from_slice(&mark.end.to_le_bytes());
    slot[28..32].copy_from_slice(&mark.commit_crc.to_le_bytes());
    let flags = if mark.head.is_some() { MARK_HEAD_KNOWN } else { 0 };
    slot[32..36].copy_from_slice(&flags.to_le_bytes());
    slot[36..44].copy_from_slice(&head.entries.to_le_bytes());
    slot[44..76].copy_from_slice(&head.hash);
    let crc = crc32c::crc32c(&slot[..76]);
    slot[76..80].copy_from_slice(&crc.to_le_bytes());
    slot
}

fn decode_mark(slot: &[u8]) -> Option<(u64, DurableMark)> {
    let u32_at = |i: usize| u32::from_le_bytes(slot[i..i + 4].try_into().expect("4 bytes"));
    let u64_at = |i: usize| u64::from_le_bytes(slot[i..i + 8].try_into().expect("8 bytes"));
    if slot[0..8] != MARK_MAGIC || crc32c::crc32c(&slot[..76]) != u32_at(76) {
        return None;
    }
    let (segment, end) = (u32_at(16), u64_at(20));
    if segment == 0 || end < SEGMENT_HEADER_LEN {
        return None;
    }
    let head = (u32_at(32) & MARK_HEAD_KNOWN != 0).then(|| Head {
        entries: u64_at(36),
        hash: slot[44..76].try_into().expect("32 bytes"),
    });
    Some((
        u64_at(8),
        DurableMark {
            segment,
            end,
            commit_crc: u32_at(28),
            head,
        },
    ))
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
    /// The CRC field of the last commit frame written (0 if none in the active segment).
    commit_crc: u32,
    /// What the layer above said the log holds up to `(seq, len)` ([`LogWriter::set_head`]); `None` once
    /// a group is written, until it says again.
    head: Option<Head>,
    /// The thread that records the durable end every [`LogOptions::mark_interval`].
    marker: Option<Marker>,
}

/// The marking thread, stopped by dropping `stop`.
#[derive(Debug)]
struct Marker {
    stop: mpsc::Sender<()>,
    thread: JoinHandle<()>,
}

impl Drop for LogWriter {
    /// Stops the marking thread and records the durable end once more, so that after a clean stop the whole
    /// log is known to be durable. (What was written and not synced is not durable, and not marked.)
    fn drop(&mut self) {
        if let Some(Marker { stop, thread }) = self.marker.take() {
            drop(stop);
            let _ = thread.join();
        }
        if self.failed.is_none()
            && let Err(e) = self.shared.record_mark(self.shared.current_mark())
        {
            tracing::warn!(
                dir = %self.shared.dir.display(),
                error = %e,
                "could not record how far the log is durable on closing it"
            );
        }
    }
}

impl LogWriter {
    /// Tells the log what the layer above counts up to the end of the group just written: how many entries
    /// and the hash of the last. Recorded with that end in the mark once it is durable. Call it after
    /// [`LogWriter::write_batch`] and before [`LogWriter::sync`]; a group it is not called for is marked
    /// without a head.
    pub fn set_head(&mut self, head: Head) {
        self.head = Some(head);
    }

    /// Records now, durably, that the log's end is durable and holds what `head` says: for the layer
    /// above to call once it has read the log on open (its count and hash of the last entry), and before it
    /// writes. Fails (and stops the writer) if the mark cannot be written.
    pub fn mark_durable(&mut self, head: Head) -> Result<(), Error> {
        self.check_usable()?;
        self.head = Some(head);
        self.sync()?;
        self.shared
            .record_mark(self.shared.current_mark())
            .map_err(|e| self.fail(e.into()))
    }

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
        // From here on the end is this group's, whose head the layer above has not given yet.
        self.head = None;
        self.commit_crc = u32::from_le_bytes(commit[12..16].try_into().expect("4 bytes"));
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
        // The new segment is marked before any group goes into it: if it is ever lost, the mark says it
        // existed (and that the one before it was complete).
        self.shared.record_mark(DurableMark {
            segment: next,
            end: SEGMENT_HEADER_LEN,
            commit_crc: 0,
            head: self.head,
        })?;
        self.sealed_unpublished.push(self.len);
        self.seq = next;
        self.file = file;
        self.len = SEGMENT_HEADER_LEN;
        self.dirty = false;
        self.commit_crc = 0;
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
        visible.commit_crc = self.commit_crc;
        visible.head = self.head;
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

enum HeaderState {
    /// A header of this segment, in this format version.
    Valid(u32),
    /// Incomplete: what is there is a prefix of the expected header, the rest zeros or missing.
    Torn(String),
    /// Wrong: not a header of this segment at all.
    Bad(String),
}

fn classify_header(bytes: &[u8], seq: u32) -> HeaderState {
    for version in [FORMAT_VERSION, FORMAT_VERSION_WITHOUT_MARK] {
        if bytes == segment_header_of(seq, version) {
            return HeaderState::Valid(version);
        }
    }
    let expected = segment_header(seq);
    if [FORMAT_VERSION, FORMAT_VERSION_WITHOUT_MARK]
        .iter()
        .any(|&version| {
            bytes
                .iter()
                .zip(segment_header_of(seq, version))
                .all(|(&b, e)| b == e || b == 0)
        })
    {
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
    } else if version != FORMAT_VERSION && version != FORMAT_VERSION_WITHOUT_MARK {
        format!("unsupported segment format version {version} (expected {FORMAT_VERSION})")
    } else {
        format!("the segment header names segment {named}")
    })
}

/// Checks the header of a segment that is not (or no longer) appended to; returns the segment's length
/// and format version.
fn check_sealed_header(file: &File, seq: u32) -> Result<(u64, u32), Error> {
    let len = file.metadata()?.len();
    let mut header = vec![0; len.min(SEGMENT_HEADER_LEN) as usize];
    file.read_exact_at(&mut header, 0)?;
    match classify_header(&header, seq) {
        HeaderState::Valid(version) => Ok((len, version)),
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

/// The header of a segment this code creates.
fn segment_header(seq: u32) -> [u8; SEGMENT_HEADER_LEN as usize] {
    segment_header_of(seq, FORMAT_VERSION)
}

fn segment_header_of(seq: u32, version: u32) -> [u8; SEGMENT_HEADER_LEN as usize] {
    let mut header = [0; SEGMENT_HEADER_LEN as usize];
    header[..8].copy_from_slice(&SEGMENT_MAGIC);
    header[8..12].copy_from_slice(&version.to_le_bytes());
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
            ..LogOptions::default()
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
                ..LogOptions::default()
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
    /// Writes groups of entries of these sizes into segment 1, syncing each but the last, which is written
    /// and not synced, as the store leaves the group it was writing when the power goes: the only group
    /// that recovery may take for a torn tail. (The writer is then dropped, which marks the synced end.)
    fn write_groups(dir: &Path, sizes: &[&[usize]]) -> (Vec<Vec<EntryLocation>>, Vec<Vec<Vec<u8>>>) {
        let (mut writer, _, _) = open(dir, options(1 << 20)).unwrap();
        let mut locs = Vec::new();
        let mut payloads = Vec::new();
        for (g, group) in sizes.iter().enumerate() {
            let entries: Vec<Vec<u8>> = group
                .iter()
                .enumerate()
                .map(|(i, &size)| entry(g * 100 + i, size))
                .collect();
            locs.push(write(&mut writer, &entries));
            if g + 1 < sizes.len() {
                writer.sync().unwrap();
            }
            payloads.push(entries);
        }
        assert_eq!(writer.end().0, 1);
        (locs, payloads)
    }

    /// Puts back a segment's bytes and the mark file as they were (a test's reopening marks further).
    fn put_back(dir: &Path, segment: &[u8], mark: &[u8]) {
        fs::write(seg_path(dir, 1), segment).unwrap();
        fs::write(dir.join(MARK_FILE), mark).unwrap();
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
        let mark = fs::read(dir.join(MARK_FILE)).unwrap();
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
                put_back(dir, &bytes, &mark);
                check_last_group_dropped(dir, &kept, last_start, bytes.len() as u64);
            }
        }
        // The whole group survives whole.
        put_back(dir, &full, &mark);
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
        let mark = fs::read(dir.join(MARK_FILE)).unwrap();
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
                put_back(dir, &bytes, &mark);
                let (_, _, report) = open(dir, options(1 << 20)).unwrap();
                // Reported as a torn last group, then checked as such on a second copy.
                assert!(report.reason.is_some());
                put_back(dir, &bytes, &mark);
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

    /// Writes one group per entry, syncing each and telling the log each group's head (record `i + 1`, hash
    /// `[i + 1; 32]`), then drops the writer, which marks the end: what a clean stop leaves.
    fn marked_log(dir: &Path, segment_max_bytes: u64, n: usize) -> Vec<EntryLocation> {
        let (mut writer, _, _) = open(dir, options(segment_max_bytes)).unwrap();
        (0..n)
            .map(|i| {
                let loc = write(&mut writer, &[entry(i, 40)])[0];
                writer.set_head(Head {
                    entries: i as u64 + 1,
                    hash: [i as u8 + 1; 32],
                });
                writer.sync().unwrap();
                loc
            })
            .collect()
    }

    fn mark_of(dir: &Path) -> DurableMark {
        match read_mark(dir).unwrap() {
            MarkRead::Found { mark, .. } => mark,
            MarkRead::Absent => panic!("no mark"),
            MarkRead::Damaged(why) => panic!("damaged mark: {why}"),
        }
    }

    /// The bytes of every file in `dir`, to show that nothing was modified.
    fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
        let mut files: Vec<_> = fs::read_dir(dir)
            .unwrap()
            .map(|e| {
                let path = e.unwrap().path();
                let bytes = fs::read(&path).unwrap();
                (path, bytes)
            })
            .collect();
        files.sort();
        files
    }

    #[test]
    fn a_clean_stop_marks_the_whole_log_with_its_head() {
        let tmp = tempfile::tempdir().unwrap();
        let locs = marked_log(tmp.path(), 1 << 20, 5);
        let mark = mark_of(tmp.path());
        assert_eq!((mark.segment, mark.end), (1, group_end(locs[4])));
        assert!(mark.is_last_entry(locs[4], None));
        assert!(!mark.is_last_entry(locs[3], Some(locs[4])));
        assert_eq!(
            mark.head,
            Some(Head {
                entries: 5,
                hash: [5; 32]
            })
        );
        let (_, _, report) = open(tmp.path(), options(1 << 20)).unwrap();
        assert_eq!(report.mark, Some(mark));
        assert_eq!(report.truncated_at, None);
    }

    #[test]
    fn a_missing_last_segment_is_refused_naming_what_is_missing() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let locs = marked_log(dir, 200, 12);
        let last = locs.last().unwrap().segment;
        assert!(last > 2, "the log rotated: {last} segments");
        let first_lost = locs.iter().position(|l| l.segment == last).unwrap();
        fs::remove_file(seg_path(dir, last)).unwrap();
        let before = snapshot(dir);

        let (segment, _, detail) = corrupt_location(open(dir, options(200)));
        assert_eq!(segment, segment_file_name(last));
        for needed in [
            format!("segment {} is missing", segment_file_name(last)),
            format!("after record {first_lost}"),
            format!("ending with record 12 (hash {})", hex_of(&[12; 32])),
            format!("Records {} to 12 were acknowledged", first_lost + 1),
            "journey accept-loss".to_owned(),
        ] {
            assert!(detail.contains(&needed), "{needed:?} not in: {detail}");
        }
        assert!(open_read_only(dir).is_err());
        assert_eq!(snapshot(dir), before, "a refusal modifies nothing");
    }

    #[test]
    fn damage_inside_the_last_marked_group_is_refused_not_cut() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let locs = marked_log(dir, 1 << 20, 6);
        // One bit of the last record, which was synced and marked (acknowledged, for the store).
        flip_byte(&seg_path(dir, 1), locs[5].offset + FRAME_OVERHEAD + 3);
        let before = snapshot(dir);
        let (_, offset, detail) = corrupt_location(open(dir, options(1 << 20)));
        assert_eq!(offset, locs[5].offset);
        assert!(detail.contains("it was durable"), "{detail}");
        assert!(detail.contains("Records 6 to 6"), "{detail}");
        assert!(matches!(open_read_only(dir), Err(Error::Corrupt { .. })));
        assert_eq!(snapshot(dir), before);

        // An operator who accepts the loss gets the log cut before the damaged group, and told so.
        let (mut writer, reader, report) = open_accepting_loss(dir, options(1 << 20)).unwrap();
        let loss = report.loss.expect("the loss is reported");
        assert!(loss.contains("after record 5"), "{loss}");
        assert_eq!(report.truncated_at, Some((1, locs[5].offset)));
        assert_eq!(scan_all(&reader).len(), 5);
        writer
            .mark_durable(Head {
                entries: 5,
                hash: [5; 32],
            })
            .unwrap();
        drop((writer, reader));
        // From then on the log is whole again.
        let (_, reader, report) = open(dir, options(1 << 20)).unwrap();
        assert_eq!(report.loss, None);
        assert_eq!(scan_all(&reader).len(), 5);
    }

    #[test]
    fn accepting_the_loss_of_a_missing_segment_continues_from_the_one_before() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let locs = marked_log(dir, 200, 12);
        let last = locs.last().unwrap().segment;
        fs::remove_file(seg_path(dir, last)).unwrap();
        let (mut writer, reader, report) = open_accepting_loss(dir, options(200)).unwrap();
        assert!(report.loss.unwrap().contains("is missing"));
        let kept = locs.iter().filter(|l| l.segment < last).count();
        assert_eq!(scan_all(&reader).len(), kept);
        let next = write(&mut writer, &[b"after the loss".to_vec()])[0];
        writer.sync().unwrap();
        drop(writer);
        let (_, reader, _) = open(dir, options(200)).unwrap();
        assert_eq!(reader.read(next).unwrap(), b"after the loss");
    }

    #[test]
    fn a_log_replaced_under_its_mark_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let (dir, other) = (tmp.path().join("a"), tmp.path().join("b"));
        marked_log(&dir, 1 << 20, 4);
        // Another log of the same shape: same lengths, other bytes.
        {
            let (mut writer, _, _) = open(&other, options(1 << 20)).unwrap();
            for i in 0..4 {
                write(&mut writer, &[entry(100 + i, 40)]);
                writer.sync().unwrap();
            }
        }
        fs::copy(seg_path(&other, 1), seg_path(&dir, 1)).unwrap();
        let (_, _, detail) = corrupt_location(open(&dir, options(1 << 20)));
        assert!(detail.contains("not the one durable recorded"), "{detail}");
    }

    #[test]
    fn a_new_segment_is_marked_before_a_group_goes_into_it() {
        let tmp = tempfile::tempdir().unwrap();
        let (mut writer, _, _) = open(tmp.path(), options(200)).unwrap();
        let mut rotated = false;
        for i in 0..20 {
            let loc = write(&mut writer, &[entry(i, 40)])[0];
            if loc.segment > 1 {
                // Not synced yet: the mark names the new segment, and no group in it.
                let mark = mark_of(tmp.path());
                assert_eq!((mark.segment, mark.end), (loc.segment, SEGMENT_HEADER_LEN));
                rotated = true;
                break;
            }
            writer.sync().unwrap();
        }
        assert!(rotated);
    }

    #[test]
    fn the_marking_thread_follows_the_durable_end_and_only_it() {
        let tmp = tempfile::tempdir().unwrap();
        let options = LogOptions {
            mark_interval: Duration::from_millis(5),
            ..options(1 << 20)
        };
        let (mut writer, _, _) = open(tmp.path(), options).unwrap();
        for i in 0..3 {
            write(&mut writer, &[entry(i, 40)]);
            writer.sync().unwrap();
        }
        let synced = writer.end();
        let waited = std::time::Instant::now();
        while (mark_of(tmp.path()).segment, mark_of(tmp.path()).end) != synced {
            assert!(
                waited.elapsed() < Duration::from_secs(10),
                "the mark never caught up"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        // Written and not synced: never marked.
        write(&mut writer, &[entry(9, 40)]);
        std::thread::sleep(Duration::from_millis(100));
        let mark = mark_of(tmp.path());
        assert_eq!((mark.segment, mark.end), synced);
    }

    #[test]
    fn a_lost_mark_is_refused_and_a_log_from_before_marks_gets_one() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        marked_log(dir, 1 << 20, 3);
        fs::remove_file(dir.join(MARK_FILE)).unwrap();
        let (_, _, detail) = corrupt_location(open(dir, options(1 << 20)));
        assert!(detail.contains("durable is missing"), "{detail}");

        // The same log as the format before marks wrote it: opened, and marked from then on.
        let path = seg_path(dir, 1);
        let mut bytes = fs::read(&path).unwrap();
        bytes[8..12].copy_from_slice(&FORMAT_VERSION_WITHOUT_MARK.to_le_bytes());
        fs::write(&path, bytes).unwrap();
        let (writer, reader, report) = open(dir, options(1 << 20)).unwrap();
        assert_eq!(report.mark, None);
        assert_eq!(scan_all(&reader).len(), 3);
        drop((writer, reader));
        assert_eq!(mark_of(dir).end, fs::metadata(&path).unwrap().len());
    }

    #[test]
    fn a_torn_slot_of_the_mark_leaves_the_other() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let locs = marked_log(dir, 1 << 20, 3);
        let (generation, newest) = match read_mark(dir).unwrap() {
            MarkRead::Found { mark, generation } => (generation, mark),
            _ => panic!("a mark"),
        };
        assert_eq!(newest.end, group_end(locs[2]));
        // Tear the newest slot: the other one, older, is used; older is still a true lower bound.
        flip_byte(&dir.join(MARK_FILE), (generation % 2) * MARK_SLOT + 30);
        let MarkRead::Found {
            generation: older, ..
        } = read_mark(dir).unwrap()
        else {
            panic!("the other slot holds a mark");
        };
        assert_eq!(older, generation - 1);
        assert!(open(dir, options(1 << 20)).is_ok());
        // Both torn: refused, since what was durable is unknown.
        fs::write(dir.join(MARK_FILE), vec![0xA5; 2 * MARK_SLOT as usize]).unwrap();
        let (segment, _, _) = corrupt_location(open(dir, options(1 << 20)));
        assert_eq!(segment, MARK_FILE);
    }

    #[test]
    fn a_read_only_open_reports_a_torn_tail_and_modifies_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let locs = marked_log(dir, 1 << 20, 3);
        append_bytes(
            &seg_path(dir, 1),
            &[0x1d, 0x4a, 0xa7, 0xe5, 200, 0, 0, 0, 1, 2, 3],
        );
        let before = snapshot(dir);
        {
            let (reader, report) = open_read_only(dir).unwrap();
            assert!(report.read_only);
            assert_eq!(report.truncated_at, Some((1, group_end(locs[2]))));
            assert_eq!(report.truncated_bytes, 11);
            assert_eq!(scan_all(&reader).len(), 3);
            // A writer cannot open the log while it is being read this way.
            assert!(open(dir, options(1 << 20)).is_err());
        }
        assert_eq!(snapshot(dir), before);
        let (writer, _, _) = open(dir, options(1 << 20)).unwrap();
        assert!(open_read_only(dir).is_err(), "nor read it while a writer has it");
        drop(writer);
        assert!(matches!(
            open_read_only(&dir.join("absent")),
            Err(Error::NotFound(_))
        ));
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
