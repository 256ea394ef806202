//! What the data directory proves was durable, and the refusals when the log ends before it (issue 17 A):
//! a deleted last segment and a damaged last group that had been acknowledged are refused with what is
//! missing and how to restore, never cut or rebuilt over; a torn group written after the last durable mark
//! is still cut silently; accepting a loss is explicit and reported.

use std::fs;
use std::path::{Path, PathBuf};

use futures::executor::block_on;
use journey_core::store::EventStore;
use journey_core::testkit::{self, append, contact, registered};
use journey_core::{Error, ExpectedVersion};
use journey_embedded::log::{LogOptions, SyncMode};
use journey_embedded::{EmbeddedOptions, EmbeddedStore};

fn small_segments() -> EmbeddedOptions {
    EmbeddedOptions {
        log: LogOptions {
            segment_max_bytes: 4096,
            sync: SyncMode::Data,
            ..LogOptions::default()
        },
        ..EmbeddedOptions::default()
    }
}

fn open(dir: &Path) -> journey_core::Result<EmbeddedStore> {
    EmbeddedStore::open_with(dir, testkit::clock(), small_segments())
}

/// Appends one event per call (each acknowledged, as a sender's 201) until the log has `segments` segments;
/// returns how many events were acknowledged.
fn acknowledged(store: &EmbeddedStore, dir: &Path, segments: usize) -> u64 {
    block_on(store.append(append(
        "child",
        ExpectedVersion::NoStream,
        vec![registered("e-0", "2012-02-29")],
    )))
    .unwrap();
    let mut n = 1;
    while segment_files(dir).len() < segments {
        block_on(store.append(append(
            "child",
            ExpectedVersion::Any,
            vec![contact(&format!("e-{n}"), "2023-05-01")],
        )))
        .unwrap();
        n += 1;
    }
    n
}

fn segment_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<_> = fs::read_dir(dir.join("log"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "seg"))
        .collect();
    files.sort();
    files
}

fn mark_file(dir: &Path) -> PathBuf {
    dir.join("log").join("durable")
}

/// Every file under `dir` with its bytes, to show a refusal modified nothing.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(snapshot(&path));
        } else {
            out.push((path.clone(), fs::read(&path).unwrap()));
        }
    }
    out.sort();
    out
}

fn refusal(result: journey_core::Result<EmbeddedStore>) -> String {
    match result {
        Err(Error::Corrupt { location, detail }) => format!("{location}: {detail}"),
        Err(other) => panic!("expected a refusal (Corrupt), got {other:?}"),
        Ok(store) => panic!("expected a refusal, but it opened: {:?}", store.open_report()),
    }
}

#[test]
fn a_deleted_last_segment_is_refused_naming_the_acknowledged_positions_lost() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let store = open(dir).unwrap();
    let acked = acknowledged(&store, dir, 4);
    store.close().unwrap();
    let last = segment_files(dir).pop().unwrap();
    let kept = acked - events_in(&last);
    fs::remove_file(&last).unwrap();
    let before = snapshot(dir);

    let why = refusal(open(dir));
    for needed in [
        format!(
            "segment {} is missing",
            last.file_name().unwrap().to_str().unwrap()
        ),
        format!("after record {kept}"),
        format!("ending with record {acked}"),
        format!("Records {} to {acked} were acknowledged", kept + 1),
        "Restore the data directory from a backup".to_owned(),
        "journey accept-loss".to_owned(),
    ] {
        assert!(why.contains(&needed), "{needed:?} is not in the refusal: {why}");
    }
    assert_eq!(snapshot(dir), before, "a refusal changes nothing");
    // Nor can the index be rebuilt over the loss.
    let rebuilt = EmbeddedStore::rebuild_index(dir, small_segments());
    assert!(matches!(rebuilt, Err(Error::Corrupt { .. })), "{rebuilt:?}");
    assert_eq!(snapshot(dir), before);
}

/// How many events a segment file holds (its frames, less the commit frames), read by scanning its bytes.
fn events_in(segment: &Path) -> u64 {
    let bytes = fs::read(segment).unwrap();
    let (mut at, mut n) = (16usize, 0);
    while at + 16 <= bytes.len() {
        let magic = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
        if magic == journey_embedded::log::COMMIT_MAGIC {
            at += 16;
        } else {
            let len = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().unwrap()) as usize;
            at += 12 + len;
            n += 1;
        }
    }
    n
}

#[test]
fn a_flipped_bit_in_the_last_acknowledged_group_is_refused_not_cut() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let store = open(dir).unwrap();
    let acked = acknowledged(&store, dir, 2);
    store.close().unwrap();
    // Inside the last record's payload (the group is one record, then its 16-byte commit frame).
    let last = segment_files(dir).pop().unwrap();
    let mut bytes = fs::read(&last).unwrap();
    let at = bytes.len() - 16 - 20;
    bytes[at] ^= 0x08;
    fs::write(&last, &bytes).unwrap();
    let before = snapshot(dir);

    let why = refusal(open(dir));
    assert!(
        why.contains("it was durable: it is not a torn last write"),
        "{why}"
    );
    assert!(
        why.contains(&format!("Records {acked} to {acked} were acknowledged")),
        "{why}"
    );
    assert_eq!(snapshot(dir), before, "nothing was cut");

    // Going on without it is possible, but only explicitly, and it is said.
    let store = EmbeddedStore::open_accepting_loss(dir, testkit::clock(), small_segments()).unwrap();
    let report = store.open_report().clone();
    assert_eq!(report.records, acked - 1);
    let loss = report.loss_accepted.expect("the loss is reported");
    assert!(loss.contains(&format!("record {acked}")), "{loss}");
    store.close().unwrap();
    let store = open(dir).unwrap();
    assert_eq!(store.open_report().loss_accepted, None);
    assert!(block_on(store.verify()).unwrap().is_intact());
}

#[test]
fn a_torn_last_group_that_was_never_acknowledged_is_still_cut_silently() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let store = open(dir).unwrap();
    let before = acknowledged(&store, dir, 2);
    store.close().unwrap();
    // The mark and the index as they stood before the last group: as a power loss leaves them when that
    // group was being written (its sync had not returned, so it was never acknowledged, marked or indexed).
    let mark = fs::read(mark_file(dir)).unwrap();
    let index = snapshot(&dir.join("index"));
    let store = open(dir).unwrap();
    block_on(store.append(append(
        "child",
        ExpectedVersion::Any,
        vec![contact("torn", "2023-05-02")],
    )))
    .unwrap();
    store.close().unwrap();
    fs::write(mark_file(dir), mark).unwrap();
    fs::remove_dir_all(dir.join("index")).unwrap();
    fs::create_dir(dir.join("index")).unwrap();
    for (path, bytes) in index {
        fs::write(path, bytes).unwrap();
    }
    let last = segment_files(dir).pop().unwrap();
    let mut bytes = fs::read(&last).unwrap();
    let at = bytes.len() - 16 - 20;
    bytes[at] ^= 0x08;
    fs::write(&last, &bytes).unwrap();

    let store = open(dir).unwrap();
    let report = store.open_report();
    assert_eq!(report.records, before);
    assert!(report.truncated_bytes > 0, "{report:?}");
    assert_eq!(report.loss_accepted, None);
    assert!(block_on(store.verify()).unwrap().is_intact());
}

#[test]
fn an_index_checkpoint_beyond_the_log_is_refused_not_rebuilt_over() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let store = open(dir).unwrap();
    acknowledged(&store, dir, 3);
    store.close().unwrap();
    // The mark from a moment when the log had two segments, then the third segment deleted: the mark no
    // longer proves the loss, but the index checkpoint (written at close) still does.
    let last = segment_files(dir).pop().unwrap();
    fs::remove_file(&last).unwrap();
    let before_mark = {
        // Mark the shortened log as a mark taken before the third segment existed would.
        let copy = tempfile::tempdir().unwrap();
        copy_log_only(dir, copy.path());
        let store =
            EmbeddedStore::open_accepting_loss(copy.path(), testkit::clock(), small_segments()).unwrap();
        store.close().unwrap();
        fs::read(mark_file(copy.path())).unwrap()
    };
    fs::write(mark_file(dir), before_mark).unwrap();
    let why = refusal(open(dir));
    assert!(why.contains("index/checkpoint records that position"), "{why}");
    assert!(why.contains("were acknowledged and are not in the log"), "{why}");
}

/// Copies `dir`'s log (segments and mark), without the index.
fn copy_log_only(dir: &Path, to: &Path) {
    fs::create_dir_all(to.join("log")).unwrap();
    for entry in fs::read_dir(dir.join("log")).unwrap() {
        let path = entry.unwrap().path();
        fs::copy(&path, to.join("log").join(path.file_name().unwrap())).unwrap();
    }
}
