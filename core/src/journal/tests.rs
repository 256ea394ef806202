use std::sync::Arc;

use futures::executor::block_on;
use serde_json::json;

use super::*;
use crate::time::ManualClock;

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
fn memory_journal_keeps_the_contract() {
    crate::testkit::journal_contract::keeps_the_contract(&MemoryJournal::new(clock()));
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
