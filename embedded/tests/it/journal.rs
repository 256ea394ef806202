//! The file journal keeps the journal contract (`journey_core::testkit::journal_contract`), across reopening and
//! under concurrent appends.

use std::sync::Arc;

use futures::executor::block_on;
use journey_core::ExpectedVersion;
use journey_core::journal::{Journal, NewRecord, SystemStream};
use journey_core::testkit::journal_contract as contract;
use journey_core::{ManualClock, PrincipalId, Timestamp, Version};
use journey_embedded::FileJournal;
use journey_embedded::log::{LogOptions, SyncMode};
use serde_json::json;

fn stream(name: &str) -> SystemStream {
    SystemStream::parse(name).unwrap()
}

fn record(kind: &str, n: u64) -> NewRecord {
    NewRecord::new(kind, PrincipalId::parse("admin").unwrap(), &json!({ "n": n }))
}

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(
        Timestamp::parse_field("t", "2026-01-05T09:00:00Z").unwrap(),
    ))
}

#[test]
fn file_journal_keeps_the_contract_and_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let head = {
        let journal = FileJournal::open(dir.path(), clock()).unwrap();
        contract::keeps_the_contract(&journal);
        journal.close().unwrap();
        journal.head()
    };
    let journal = FileJournal::open(dir.path(), clock()).unwrap();
    assert_eq!(journal.head(), head);
    assert_eq!(journal.stream_version(&stream("policies")), 3);
    let next = block_on(journal.append(
        &stream("keys"),
        ExpectedVersion::Exact(Version(1)),
        vec![record("ApiKeyRevoked", 8)],
    ))
    .unwrap();
    assert_eq!((next[0].sequence, next[0].previous_hash), (5, head.hash));
}

#[test]
fn concurrent_appends_to_one_stream_each_win_one_version() {
    let dir = tempfile::tempdir().unwrap();
    let options = LogOptions {
        sync: SyncMode::None,
        ..LogOptions::default()
    };
    let journal = Arc::new(FileJournal::open_with(dir.path(), clock(), options).unwrap());
    let access = stream("access");
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let journal = Arc::clone(&journal);
            let access = access.clone();
            std::thread::spawn(move || {
                (0..50)
                    .map(|i| {
                        block_on(journal.append(
                            &access,
                            ExpectedVersion::Any,
                            vec![record("RecordRead", t * 100 + i)],
                        ))
                        .unwrap()[0]
                            .version
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut versions: Vec<u64> = threads.into_iter().flat_map(|t| t.join().unwrap()).collect();
    versions.sort_unstable();
    assert_eq!(versions, (1..=400).collect::<Vec<_>>());
    assert!(block_on(journal.verify()).unwrap().is_intact());
}

/// The journal's segment file and its length after each acknowledged append.
fn journal_with_appends(dir: &std::path::Path, n: u64) -> (std::path::PathBuf, Vec<u64>) {
    let journal = FileJournal::open(dir, clock()).unwrap();
    let segment = dir.join("0000000001.seg");
    let mut ends = Vec::new();
    for i in 0..n {
        block_on(journal.append(
            &stream("access"),
            ExpectedVersion::Any,
            vec![record("RecordRead", i)],
        ))
        .unwrap();
        ends.push(std::fs::metadata(&segment).unwrap().len());
    }
    journal.close().unwrap();
    (segment, ends)
}

#[test]
fn removing_the_last_journal_record_cleanly_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (segment, ends) = journal_with_appends(dir.path(), 5);
    // Cut exactly at the end of the fourth record's group: a well-formed journal, one record short.
    let file = std::fs::OpenOptions::new().write(true).open(&segment).unwrap();
    file.set_len(ends[3]).unwrap();
    drop(file);
    let err = FileJournal::open(dir.path(), clock()).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, journey_core::Error::Corrupt { .. }), "{err:?}");
    assert!(text.contains("after record 4"), "{text}");
    assert!(text.contains("ending with record 5"), "{text}");
    assert!(text.contains("journey accept-loss"), "{text}");
    assert!(FileJournal::open_read_only(dir.path()).is_err());

    // Accepted explicitly, the journal goes on from record 4, and says what it lost.
    let (journal, loss) = FileJournal::open_accepting_loss(dir.path(), clock()).unwrap();
    assert!(loss.unwrap().contains("record 5"));
    assert_eq!(journal.head().sequence, 4);
    journal.close().unwrap();
    let journal = FileJournal::open(dir.path(), clock()).unwrap();
    assert_eq!(journal.head().sequence, 4);
}

#[test]
fn a_read_only_journal_reads_and_verifies_and_refuses_appends() {
    let dir = tempfile::tempdir().unwrap();
    let (segment, _) = journal_with_appends(dir.path(), 3);
    let before = std::fs::read(&segment).unwrap();
    let (journal, _) = FileJournal::open_read_only(dir.path()).unwrap();
    assert_eq!(journal.head().sequence, 3);
    assert!(block_on(journal.verify()).unwrap().is_intact());
    assert_eq!(
        block_on(journal.read_stream(&stream("access"), 1, 10))
            .unwrap()
            .len(),
        3
    );
    assert!(
        block_on(journal.append(
            &stream("access"),
            ExpectedVersion::Any,
            vec![record("RecordRead", 9)]
        ))
        .is_err()
    );
    drop(journal);
    assert_eq!(std::fs::read(&segment).unwrap(), before);
}
