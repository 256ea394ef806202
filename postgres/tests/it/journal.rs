//! The system journal and the blob store in PostgreSQL: the journal contract every implementation keeps, two
//! servers sharing one journal, and blobs checked against their names.

use std::sync::Arc;
use std::time::Duration;

use futures::executor::block_on;
use journey_core::ExpectedVersion;
use journey_core::blobs::{BlobStore, blob_hash};
use journey_core::journal::{Journal, NewRecord, SystemStream};
use journey_core::{Clock, Error, PrincipalId, testkit};
use journey_postgres::{PostgresBlobStore, PostgresJournal};

use crate::harness::Pg;

fn journal(pg: &Pg) -> Arc<PostgresJournal> {
    let clock: Arc<dyn Clock> = testkit::clock();
    Arc::new(
        pg.runtime
            .block_on(PostgresJournal::open(pg.options.clone(), clock))
            .unwrap(),
    )
}

fn record(n: u64) -> NewRecord {
    NewRecord::new(
        "RecordRead",
        PrincipalId::parse("investigator").unwrap(),
        &serde_json::json!({ "n": n }),
    )
}

#[test]
fn the_postgres_journal_keeps_the_journal_contract() {
    let Some(pg) = Pg::new(testkit::clock()) else {
        return;
    };
    journey_core::testkit::journal_contract::keeps_the_contract(&*journal(&pg));
}

/// Two servers on one database: what one appends the other reads, concurrent appends to one stream through
/// both win each version exactly once, and the whole journal verifies.
#[test]
fn two_servers_share_one_journal() {
    let Some(pg) = Pg::with(testkit::clock(), |o| {
        o.with_poll_interval(Duration::from_millis(50))
    }) else {
        return;
    };
    let (a, b) = (journal(&pg), journal(&pg));
    let keys = SystemStream::parse("keys").unwrap();
    block_on(a.append(&keys, ExpectedVersion::NoStream, vec![record(0)])).unwrap();
    // Exact reads go to the database; the mirror behind stream_version catches up by polling.
    assert_eq!(block_on(b.read_stream(&keys, 1, 10)).unwrap().len(), 1);
    block_on(b.refresh()).unwrap();
    assert_eq!(b.stream_version(&keys), 1);
    assert_eq!(b.head(), a.head());
    // A version check made through one server sees the other's append.
    let err = block_on(b.append(&keys, ExpectedVersion::NoStream, vec![record(1)])).unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err:?}");

    let access = SystemStream::parse("access").unwrap();
    let writers: Vec<_> = (0..8)
        .map(|t| {
            let journal = if t % 2 == 0 { a.clone() } else { b.clone() };
            let access = access.clone();
            std::thread::spawn(move || {
                (0..20)
                    .map(|i| {
                        block_on(journal.append(&access, ExpectedVersion::Any, vec![record(t * 100 + i)]))
                            .unwrap()[0]
                            .version
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut versions: Vec<u64> = writers.into_iter().flat_map(|w| w.join().unwrap()).collect();
    versions.sort_unstable();
    assert_eq!(versions, (1..=160).collect::<Vec<_>>());
    // Each server's mirror catches up with the other's appends by itself, within a few poll intervals.
    for journal in [&a, &b] {
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while journal.stream_version(&access) < 160 {
            assert!(std::time::Instant::now() < deadline, "the mirror never caught up");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let verification = block_on(a.verify()).unwrap();
    assert!(verification.is_intact(), "{verification:?}");
    assert_eq!(verification.records, 161);
    assert_eq!(block_on(b.verify()).unwrap(), verification);
}

/// Tampering with a stored record in the database is found by verification, at that record.
#[test]
fn an_altered_journal_row_is_found_by_verification() {
    let Some(pg) = Pg::new(testkit::clock()) else {
        return;
    };
    let journal = journal(&pg);
    let access = SystemStream::parse("access").unwrap();
    for n in 0..3 {
        block_on(journal.append(&access, ExpectedVersion::Any, vec![record(n)])).unwrap();
    }
    pg.sql(
        "UPDATE journey_journal SET stored = convert_to(replace(convert_from(stored, 'UTF8'), \
         '\"n\":1', '\"n\":7'), 'UTF8') WHERE sequence = 2",
    )
    .unwrap();
    let verification = block_on(journal.verify()).unwrap();
    assert_eq!(
        verification.first_broken.as_ref().map(|(sequence, _)| *sequence),
        Some(3),
        "{verification:?}"
    );
}

#[test]
fn blobs_are_named_by_their_hash_and_checked_on_read() {
    let Some(pg) = Pg::new(testkit::clock()) else {
        return;
    };
    let blobs = pg
        .runtime
        .block_on(PostgresBlobStore::open(pg.options.clone()))
        .unwrap();
    let hash = block_on(blobs.put(b"component bytes")).unwrap();
    assert_eq!(hash, blob_hash(b"component bytes"));
    assert_eq!(
        block_on(blobs.put(b"component bytes")).unwrap(),
        hash,
        "storing twice is harmless"
    );
    assert_eq!(block_on(blobs.get(&hash)).unwrap(), b"component bytes");
    assert!(matches!(
        block_on(blobs.get(&blob_hash(b"other"))),
        Err(Error::NotFound(_))
    ));

    pg.sql("UPDATE journey_blobs SET bytes = 'altered bytes'::bytea")
        .unwrap();
    let err = block_on(blobs.get(&hash)).unwrap_err();
    assert!(err.to_string().contains("altered or damaged"), "{err}");
    // Storing the right bytes again repairs it.
    block_on(blobs.put(b"component bytes")).unwrap();
    assert_eq!(block_on(blobs.get(&hash)).unwrap(), b"component bytes");
}

/// The journal's last record deleted from its table: the chain that is left is whole, but the head row
/// still names the record. A server refuses to open it, and verify reports it.
#[test]
fn a_deleted_last_journal_record_is_refused_and_reported() {
    let Some(pg) = Pg::new(testkit::clock()) else {
        return;
    };
    let access = SystemStream::parse("access").unwrap();
    let first = journal(&pg);
    for n in 0..3 {
        block_on(first.append(&access, ExpectedVersion::Any, vec![record(n)])).unwrap();
    }
    pg.sql("DELETE FROM journey_journal WHERE sequence = 3").unwrap();
    let verification = block_on(first.verify()).unwrap();
    let (sequence, why) = verification.first_broken.expect("the missing record is reported");
    assert_eq!(sequence, 3);
    assert!(why.contains("records 3 to 3 were acknowledged"), "{why}");
    let clock: Arc<dyn Clock> = testkit::clock();
    let refused = pg
        .runtime
        .block_on(PostgresJournal::open(pg.options.clone(), clock))
        .expect_err("a journal missing a committed record must be refused");
    assert!(
        refused.to_string().contains("journey_journal ends at record 2"),
        "{refused}"
    );
}
