//! Recovery, rebuild and tamper evidence of the embedded store.

use std::fs;
use std::path::Path;
use std::sync::Arc;

use futures::executor::block_on;
use journey_core::ExpectedVersion;
use journey_core::store::EventStore;
use journey_core::testkit::{self, append, contact, registered};
use journey_core::{Error, Position, Version};
use journey_embedded::EmbeddedOptions;
use journey_embedded::EmbeddedStore;
use journey_embedded::log::{LogOptions, SyncMode};

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

fn open(dir: &Path) -> EmbeddedStore {
    EmbeddedStore::open_with(dir, testkit::clock(), small_segments()).unwrap()
}

/// Registers `children` children with `events` contacts each, one append per event.
fn fill(store: &EmbeddedStore, children: usize, events: usize) {
    for c in 0..children {
        let child = format!("c{c}");
        block_on(store.append(append(
            &child,
            ExpectedVersion::NoStream,
            vec![registered(&format!("{child}-0"), "2012-02-29")],
        )))
        .unwrap();
        for e in 1..=events {
            block_on(store.append(append(
                &child,
                ExpectedVersion::Any,
                vec![contact(&format!("{child}-{e}"), "2023-05-01")],
            )))
            .unwrap();
        }
    }
}

fn everything(store: &EmbeddedStore) -> Vec<journey_core::RecordedEvent> {
    block_on(store.read_all(Position(1), usize::MAX)).unwrap()
}

fn segments(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = fs::read_dir(dir.join("log"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "seg"))
        .collect();
    files.sort();
    files
}

#[test]
fn reopening_preserves_everything_and_appends_continue() {
    let dir = tempfile::tempdir().unwrap();
    let before = {
        let store = open(dir.path());
        fill(&store, 10, 9);
        assert!(
            segments(dir.path()).len() > 1,
            "small segments should have rotated"
        );
        let all = everything(&store);
        store.close().unwrap();
        all
    };
    let store = open(dir.path());
    assert_eq!(store.open_report().records, 100);
    assert_eq!(store.open_report().index_rebuilt, None);
    assert_eq!(store.open_report().index_caught_up, 0);
    assert_eq!(everything(&store), before);
    let out = block_on(store.append(append(
        "c3",
        ExpectedVersion::Exact(Version(10)),
        vec![contact("c3-new", "2023-06-01")],
    )))
    .unwrap();
    assert_eq!(out.events[0].position, Position(101));
    // Appending to a child the writer has not seen since reopening: its state is rebuilt from the log.
    let err = block_on(store.append(append(
        "c4",
        ExpectedVersion::Any,
        vec![registered("c4-again", "2012-02-29")],
    )))
    .unwrap_err();
    assert!(
        matches!(err, Error::Invalid(_)),
        "a second registration must be refused: {err:?}"
    );
    assert!(block_on(store.verify()).unwrap().is_intact());
}

#[test]
fn a_missing_or_damaged_index_is_rebuilt_from_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let before = {
        let store = open(dir.path());
        fill(&store, 5, 20);
        let all = everything(&store);
        store.close().unwrap();
        all
    };
    // Missing.
    fs::remove_dir_all(dir.path().join("index")).unwrap();
    {
        let store = open(dir.path());
        assert!(store.open_report().index_rebuilt.is_some());
        assert_eq!(store.open_report().index_caught_up, 105);
        assert_eq!(everything(&store), before);
        let c2 = block_on(store.read_stream(testkit::child("c2"), Version(1), 100)).unwrap();
        assert_eq!(c2.len(), 21);
    }
    // Damaged beyond opening: every file in it overwritten with garbage.
    for entry in fs::read_dir(dir.path().join("index")).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            fs::write(&path, b"not a sled file at all").unwrap();
        }
    }
    {
        let store = open(dir.path());
        assert!(
            store.open_report().index_rebuilt.is_some(),
            "{:?}",
            store.open_report()
        );
        assert_eq!(everything(&store), before);
    }
    // Explicit rebuild.
    let report = EmbeddedStore::rebuild_index(dir.path(), small_segments()).unwrap();
    assert_eq!(report.records, 105);
    let store = open(dir.path());
    assert_eq!(everything(&store), before);
}

#[test]
fn an_index_behind_the_log_is_caught_up() {
    let dir = tempfile::tempdir().unwrap();
    let stale_index = tempfile::tempdir().unwrap();
    {
        let store = open(dir.path());
        fill(&store, 3, 5);
        store.close().unwrap();
    }
    copy_dir(&dir.path().join("index"), stale_index.path());
    let before = {
        let store = open(dir.path());
        fill_more(&store);
        let all = everything(&store);
        store.close().unwrap();
        all
    };
    fs::remove_dir_all(dir.path().join("index")).unwrap();
    copy_dir(stale_index.path(), &dir.path().join("index"));
    let store = open(dir.path());
    assert_eq!(
        store.open_report().index_rebuilt,
        None,
        "{:?}",
        store.open_report()
    );
    assert_eq!(store.open_report().index_caught_up, 4);
    assert_eq!(everything(&store), before);
    assert_eq!(
        block_on(store.stream_version(testkit::child("late"))).unwrap(),
        Some(Version(4))
    );
}

fn fill_more(store: &EmbeddedStore) {
    block_on(store.append(append(
        "late",
        ExpectedVersion::NoStream,
        vec![
            registered("late-0", "2010-01-01"),
            contact("late-1", "2023-01-01"),
            contact("late-2", "2023-01-02"),
            contact("late-3", "2023-01-03"),
        ],
    )))
    .unwrap();
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn a_torn_tail_is_cut_off_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let before = {
        let store = open(dir.path());
        fill(&store, 4, 4);
        let all = everything(&store);
        store.close().unwrap();
        all
    };
    // A crash in the middle of writing: half a frame of garbage after the last whole record.
    let last = segments(dir.path()).pop().unwrap();
    let mut bytes = fs::read(&last).unwrap();
    bytes.extend_from_slice(&[0x1d, 0x4a, 0xa7, 0xe5, 200, 0, 0, 0, 1, 2, 3]);
    fs::write(&last, &bytes).unwrap();

    let store = open(dir.path());
    assert!(
        store.open_report().truncated_bytes > 0,
        "{:?}",
        store.open_report()
    );
    assert!(store.open_report().truncation_reason.is_some());
    assert_eq!(everything(&store), before);
    block_on(store.append(append(
        "c0",
        ExpectedVersion::Exact(Version(5)),
        vec![contact("after", "2023-06-01")],
    )))
    .unwrap();
    assert!(block_on(store.verify()).unwrap().is_intact());
}

#[test]
fn tampering_with_a_stored_record_is_detected_at_its_position() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open(dir.path());
        fill(&store, 6, 6);
        store.close().unwrap();
    }
    // An attacker edits a byte inside a record in the first (sealed) segment and fixes up the frame's CRC,
    // so only the hash chain can tell.
    let first = &segments(dir.path())[0];
    let mut bytes = fs::read(first).unwrap();
    let frame = 16; // the first frame follows the 16-byte segment header
    let len = u32::from_le_bytes(bytes[frame + 4..frame + 8].try_into().unwrap()) as usize;
    let payload = frame + 12;
    // Inside the body (past the two 32-byte hashes): flip a bit of the last byte of the record.
    bytes[payload + len - 1] ^= 0x01;
    let mut crc_input = bytes[frame + 4..frame + 8].to_vec();
    crc_input.extend_from_slice(&bytes[payload..payload + len]);
    let crc = crc32c::crc32c(&crc_input);
    bytes[frame + 8..frame + 12].copy_from_slice(&crc.to_le_bytes());
    fs::write(first, &bytes).unwrap();

    let store = open(dir.path());
    let report = block_on(store.verify()).unwrap();
    let broken = report.first_broken.expect("tampering must be detected");
    assert_eq!(broken.position, Position(1), "{broken:?}");
}

#[test]
fn a_damaged_frame_in_a_sealed_segment_is_an_error_never_skipped() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open(dir.path());
        fill(&store, 6, 6);
        store.close().unwrap();
    }
    let first = &segments(dir.path())[0];
    let mut bytes = fs::read(first).unwrap();
    bytes[16 + 12 + 70] ^= 0xff; // inside the first record, CRC not fixed
    fs::write(first, &bytes).unwrap();
    let store = open(dir.path());
    let report = block_on(store.verify()).unwrap();
    assert_eq!(report.first_broken.map(|b| b.position), Some(Position(1)));
    let err = block_on(store.read_stream(testkit::child("c0"), Version(1), 10)).unwrap_err();
    assert!(matches!(err, Error::Corrupt { .. }), "{err:?}");
    let err = block_on(store.read_all(Position(1), 10)).unwrap_err();
    assert!(matches!(err, Error::Corrupt { .. }), "{err:?}");
}

#[test]
fn a_data_directory_is_used_by_one_process_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let _store = open(dir.path());
    let second = EmbeddedStore::open_with(dir.path(), testkit::clock(), small_segments());
    assert!(second.is_err());
}

#[test]
fn closed_store_refuses_appends() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(open(dir.path()));
    fill(&store, 1, 1);
    drop(store);
    let store = open(dir.path());
    assert_eq!(store.open_report().records, 2);
}

/// The writer judges a group while the one before it is still being written: with a stream cache of one
/// child and groups of at most seven events, children's states are evicted while their records are in
/// flight, and retries arrive while their originals are. Versions must still be gap-free, each retry must get
/// its original's outcome, and nothing may be written twice.
#[test]
fn groups_in_flight_are_never_judged_against_a_stale_stream() {
    let dir = tempfile::tempdir().unwrap();
    let options = EmbeddedOptions {
        stream_cache_capacity: 1,
        max_commit_events: 7,
        ..small_segments()
    };
    let store = EmbeddedStore::open_with(dir.path(), testkit::clock(), options.clone()).unwrap();
    let children = 8;
    for c in 0..children {
        block_on(store.append(append(
            &format!("k{c}"),
            ExpectedVersion::NoStream,
            vec![registered(&format!("k{c}-reg"), "2012-02-29")],
        )))
        .unwrap();
    }
    let request = |i: usize| {
        append(
            &format!("k{}", i % children),
            ExpectedVersion::Any,
            vec![contact(&format!("e{i}"), "2023-05-01")],
        )
    };
    let mut calls: Vec<_> = (0..400).map(|i| store.append(request(i))).collect();
    // Retries of the first 50, sent while the originals are still being committed.
    calls.extend((0..50).map(|i| store.append(request(i))));
    let outcomes: Vec<_> = block_on(futures::future::join_all(calls))
        .into_iter()
        .map(Result::unwrap)
        .collect();
    for i in 0..50 {
        assert!(outcomes[400 + i].already_recorded, "retry {i}");
        assert_eq!(outcomes[400 + i].events, outcomes[i].events, "retry {i}");
    }
    assert!(outcomes[..400].iter().all(|o| !o.already_recorded));
    let check = |store: &EmbeddedStore| {
        for c in 0..children {
            let events =
                block_on(store.read_stream(testkit::child(&format!("k{c}")), Version(1), 1_000)).unwrap();
            assert_eq!(events.len(), 1 + 400 / children, "k{c}");
            for (i, e) in events.iter().enumerate() {
                assert_eq!(e.envelope.version, Version(i as u64 + 1));
            }
        }
        assert_eq!(everything(store).len(), children + 400);
        assert!(block_on(store.verify()).unwrap().is_intact());
    };
    check(&store);
    assert!(store.stats().commits.load(std::sync::atomic::Ordering::Relaxed) > 50);
    store.close().unwrap();
    let store = EmbeddedStore::open_with(dir.path(), testkit::clock(), options).unwrap();
    assert_eq!(store.open_report().index_caught_up, 0);
    check(&store);
}

/// A checkpoint taken while appends continue covers a prefix of the log; a store whose writer stops without
/// closing (here: the snapshot files are from an earlier checkpoint) catches up from it.
#[test]
fn checkpoints_are_taken_while_writing_and_catching_up_from_one_works() {
    let dir = tempfile::tempdir().unwrap();
    let options = EmbeddedOptions {
        checkpoint_every_events: 10,
        ..small_segments()
    };
    let saved = tempfile::tempdir().unwrap();
    let before = {
        let store = EmbeddedStore::open_with(dir.path(), testkit::clock(), options.clone()).unwrap();
        fill(&store, 4, 10);
        // Wait for the checkpointer to have caught up with at least part of it, then keep the files.
        std::thread::sleep(std::time::Duration::from_millis(200));
        copy_dir(&dir.path().join("index"), saved.path());
        fill_more(&store);
        let all = everything(&store);
        store.close().unwrap();
        all
    };
    fs::remove_dir_all(dir.path().join("index")).unwrap();
    copy_dir(saved.path(), &dir.path().join("index"));
    let store = EmbeddedStore::open_with(dir.path(), testkit::clock(), options).unwrap();
    assert_eq!(
        store.open_report().index_rebuilt,
        None,
        "{:?}",
        store.open_report()
    );
    assert!(
        store.open_report().index_caught_up >= 4,
        "{:?}",
        store.open_report()
    );
    assert!(
        store.open_report().index_caught_up < 48,
        "{:?}",
        store.open_report()
    );
    assert_eq!(everything(&store), before);
    assert_eq!(
        block_on(store.stream_version(testkit::child("late"))).unwrap(),
        Some(Version(4))
    );
}

/// The read cache keeps decoded prefixes of streams and extends them as streams grow: whatever order windows
/// are read in, and however appends interleave with the reads, every read must equal a read of the log itself
/// (a store with the cache off, reopened on the same files). A cache of 12 events makes children evict each
/// other.
#[test]
fn cached_reads_equal_reads_of_the_log_for_every_window() {
    let dir = tempfile::tempdir().unwrap();
    let with_cache = EmbeddedOptions {
        read_cache_events: 12,
        ..small_segments()
    };
    let windows: Vec<(u64, usize)> = (1..=12u64)
        .flat_map(|from| [0usize, 1, 3, 7, 100].map(move |limit| (from, limit)))
        .collect();
    let read_all_windows = |store: &EmbeddedStore, child: &str| -> Vec<Vec<journey_core::RecordedEvent>> {
        windows
            .iter()
            .map(|&(from, limit)| {
                block_on(store.read_stream(testkit::child(child), Version(from), limit)).unwrap()
            })
            .collect()
    };
    let stream_version = |store: &EmbeddedStore, child: &str| {
        block_on(store.stream_version(testkit::child(child)))
            .unwrap()
            .unwrap()
            .0
    };
    let mut seen = Vec::new();
    {
        let store = EmbeddedStore::open_with(dir.path(), testkit::clock(), with_cache).unwrap();
        fill(&store, 2, 3);
        // Reads of growing streams, windows in a scrambled order, children alternating.
        for round in 0..3 {
            for child in ["c0", "c1"] {
                seen.push((stream_version(&store, child), read_all_windows(&store, child)));
                block_on(store.append(append(
                    child,
                    ExpectedVersion::Any,
                    vec![
                        contact(&format!("{child}-r{round}a"), "2023-06-01"),
                        contact(&format!("{child}-r{round}b"), "2023-06-02"),
                    ],
                )))
                .unwrap();
            }
        }
        for child in ["c0", "c1"] {
            seen.push((stream_version(&store, child), read_all_windows(&store, child)));
        }
        store.close().unwrap();
    }
    let without_cache = EmbeddedOptions {
        read_cache_events: 0,
        ..small_segments()
    };
    let store = EmbeddedStore::open_with(dir.path(), testkit::clock(), without_cache).unwrap();
    let final_reads: Vec<_> = ["c0", "c1"].iter().map(|c| read_all_windows(&store, c)).collect();
    // The last reads through the cache saw the final streams, exactly as the log has them.
    let last_reads: Vec<_> = seen[seen.len() - 2..]
        .iter()
        .map(|(_, reads)| reads.clone())
        .collect();
    assert_eq!(last_reads, final_reads);
    // Earlier reads saw a prefix of the same records: each window's events are the log's events at those
    // versions.
    for (version, reads) in &seen {
        for (window, events) in windows.iter().zip(reads) {
            let (from, limit) = *window;
            let expected = (*version + 1).saturating_sub(from).min(limit as u64);
            assert_eq!(
                events.len() as u64,
                expected,
                "window {window:?} of a stream at version {version}"
            );
            for (k, event) in events.iter().enumerate() {
                assert_eq!(event.envelope.version.0, from + k as u64);
                let child = event.envelope.child_id.as_str();
                let truth =
                    block_on(store.read_stream(testkit::child(child), event.envelope.version, 1)).unwrap();
                assert_eq!(&truth[0], event);
            }
        }
    }
}

/// A long read from the log is split between two threads (`SPLIT_READ_AT` records and more): the halves come
/// back in order, whole, for every window, with records scattered over several segments.
#[test]
fn long_reads_from_the_log_are_the_logs_records_in_order_for_every_window() {
    let dir = tempfile::tempdir().unwrap();
    let options = EmbeddedOptions {
        read_cache_events: 0,
        ..small_segments()
    };
    let store = EmbeddedStore::open_with(dir.path(), testkit::clock(), options).unwrap();
    for child in ["c0", "c1"] {
        block_on(store.append(append(
            child,
            ExpectedVersion::NoStream,
            vec![registered(&format!("{child}-0"), "2012-02-29")],
        )))
        .unwrap();
    }
    // The two children alternate, so each one's records are scattered through the log.
    for e in 1..=600 {
        for child in ["c0", "c1"] {
            block_on(store.append(append(
                child,
                ExpectedVersion::Any,
                vec![contact(&format!("{child}-{e}"), "2023-05-01")],
            )))
            .unwrap();
        }
    }
    assert!(segments(dir.path()).len() > 2, "the records span segments");
    let log = everything(&store);
    for child in ["c0", "c1"] {
        let expected: Vec<_> = log
            .iter()
            .filter(|e| e.envelope.child_id.as_str() == child)
            .cloned()
            .collect();
        assert_eq!(expected.len(), 601);
        for (from, limit) in [
            (1u64, usize::MAX),
            (1, 256),
            (1, 257),
            (2, 300),
            (100, 502),
            (345, 1000),
            (600, 5),
        ] {
            let read = block_on(store.read_stream(testkit::child(child), Version(from), limit)).unwrap();
            let start = (from - 1) as usize;
            let end = start.saturating_add(limit).min(expected.len());
            assert_eq!(read, expected[start..end], "{child} from {from} limit {limit}");
        }
    }
    store.close().unwrap();
}

/// A data directory `journey log import` is still building holds the import marker: only the import opens it;
/// serving, verifying, repairing or accepting a loss refuse it, naming it an unfinished import. Once the
/// marker is gone it is an ordinary data directory.
#[test]
fn a_directory_an_import_is_building_opens_only_for_the_import() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data.importing");
    fs::create_dir(&dir).unwrap();
    // Without the marker, the import's open refuses: it never builds into an ordinary data directory.
    let refused = EmbeddedStore::open_importing(&dir, testkit::clock()).unwrap_err();
    assert!(
        refused.to_string().contains(journey_embedded::IMPORT_MARKER),
        "{refused}"
    );
    fs::write(dir.join(journey_embedded::IMPORT_MARKER), "an import\n").unwrap();
    let store = EmbeddedStore::open_importing(&dir, testkit::clock()).unwrap();
    fill(&store, 2, 3);
    store.close().unwrap();

    let unfinished = |e: Error| {
        let said = e.to_string();
        assert!(said.contains("unfinished `journey log import`"), "{said}");
    };
    unfinished(EmbeddedStore::open_with(&dir, testkit::clock(), small_segments()).unwrap_err());
    unfinished(EmbeddedStore::open_accepting_loss(&dir, testkit::clock(), small_segments()).unwrap_err());
    unfinished(EmbeddedStore::rebuild_index(&dir, small_segments()).unwrap_err());
    unfinished(journey_embedded::verify_data_dir(&dir, |_| Ok(Default::default())).unwrap_err());
    assert!(dir.join("index").is_dir(), "the refused rebuild deleted nothing");

    fs::remove_file(dir.join(journey_embedded::IMPORT_MARKER)).unwrap();
    let store = open(&dir);
    assert_eq!(everything(&store).len(), 8);
    store.close().unwrap();
}
