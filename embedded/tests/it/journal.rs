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
