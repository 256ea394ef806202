use std::sync::Arc;

use futures::executor::block_on;
use serde_json::json;

use super::*;
use crate::store::log::{LogOptions, SyncMode};
use crate::time::ManualClock;
use crate::{Error, Version};

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

/// The promises both implementations keep.
fn contract(journal: &dyn Journal) {
    let policies = stream("policies");
    let keys = stream("keys");
    assert_eq!(journal.stream_version(&policies), 0);
    assert_eq!(journal.head().sequence, 0);

    let first = block_on(journal.append(
        &policies,
        ExpectedVersion::NoStream,
        vec![record("PolicyUploaded", 1), record("PolicyDeployed", 2)],
    ))
    .unwrap();
    assert_eq!(
        first.iter().map(|r| (r.sequence, r.version)).collect::<Vec<_>>(),
        [(1, 1), (2, 2)]
    );
    assert_eq!(first[1].previous_hash, first[0].hash);
    block_on(journal.append(&keys, ExpectedVersion::Any, vec![record("ApiKeyCreated", 3)])).unwrap();

    // The version check is atomic with the append, and names both versions.
    let err = block_on(journal.append(
        &policies,
        ExpectedVersion::NoStream,
        vec![record("PolicyDeployed", 4)],
    ))
    .unwrap_err();
    assert!(
        matches!(
            &err,
            Error::Conflict(Conflict::WrongJournalVersion { actual: 2, .. })
        ),
        "{err:?}"
    );
    assert_eq!(journal.stream_version(&policies), 2);
    let third = block_on(journal.append(
        &policies,
        ExpectedVersion::Exact(Version(2)),
        vec![record("PolicyActivated", 5)],
    ))
    .unwrap();
    assert_eq!((third[0].sequence, third[0].version), (4, 3));

    // Bad input names the field; nothing is written.
    let bad = NewRecord {
        body: json!([1, 2]),
        ..record("PolicyRetired", 6)
    };
    let err = block_on(journal.append(
        &policies,
        ExpectedVersion::Any,
        vec![record("PolicyRetired", 7), bad],
    ))
    .unwrap_err();
    assert!(err.to_string().contains("records[1].body"), "{err}");
    assert_eq!(journal.stream_version(&policies), 3);

    let read = block_on(journal.read_stream(&policies, 2, 10)).unwrap();
    assert_eq!(read.iter().map(|r| r.version).collect::<Vec<_>>(), [2, 3]);
    assert_eq!(read[1], third[0]);
    assert_eq!(read[0].body_as::<serde_json::Value>().unwrap(), json!({"n": 2}));
    assert!(
        block_on(journal.read_stream(&stream("access"), 1, 10))
            .unwrap()
            .is_empty()
    );

    let verification = block_on(journal.verify()).unwrap();
    assert!(verification.is_intact(), "{verification:?}");
    assert_eq!(verification.records, 4);
    assert_eq!(verification.head, journal.head());
    assert_eq!(journal.head().hash, third[0].hash);
}

#[test]
fn memory_journal_keeps_the_contract() {
    contract(&MemoryJournal::new(clock()));
}

#[test]
fn file_journal_keeps_the_contract_and_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let head = {
        let journal = FileJournal::open(dir.path(), clock()).unwrap();
        contract(&journal);
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

#[test]
fn recorded_time_never_goes_backwards() {
    let clock = clock();
    let journal = MemoryJournal::new(clock.clone());
    let a = block_on(journal.append(
        &stream("keys"),
        ExpectedVersion::Any,
        vec![record("ApiKeyCreated", 1)],
    ))
    .unwrap();
    clock.set(Timestamp::parse_field("t", "2025-01-01T00:00:00Z").unwrap());
    let b = block_on(journal.append(
        &stream("keys"),
        ExpectedVersion::Any,
        vec![record("ApiKeyCreated", 2)],
    ))
    .unwrap();
    assert_eq!(a[0].recorded_at, b[0].recorded_at);
}

#[test]
fn verification_names_the_first_altered_record() {
    let journal = MemoryJournal::new(clock());
    let keys = stream("keys");
    for n in 1..=3 {
        block_on(journal.append(&keys, ExpectedVersion::Any, vec![record("ApiKeyCreated", n)])).unwrap();
    }
    // Change record 2's body but keep its bytes well formed: record 3's link to it breaks.
    let altered = block_on(journal.read_stream(&keys, 2, 1)).unwrap().remove(0);
    let stored = serde_json::to_vec(&StoredRecord {
        sequence: 2,
        stream: &keys,
        version: 2,
        kind: &altered.kind,
        recorded_at: altered.recorded_at,
        recorded_by: &altered.recorded_by,
        body: &json!({"n": 99}),
        previous_hash: &altered.previous_hash,
    })
    .unwrap();
    journal.tamper(2, stored);
    let verification = block_on(journal.verify()).unwrap();
    assert_eq!(verification.records, 2);
    let (sequence, detail) = verification.first_broken.unwrap();
    assert_eq!(sequence, 3);
    assert!(detail.contains("previous_hash"), "{detail}");
}

#[test]
fn names_and_kinds_are_validated() {
    assert!(SystemStream::parse("Policies").is_err());
    assert!(SystemStream::parse("1keys").is_err());
    assert!(RecordKind::parse("policyDeployed").is_err());
    assert!(RecordKind::parse("Policy Deployed").is_err());
    assert!(RecordKind::parse("PolicyDeployed").is_ok());
}
