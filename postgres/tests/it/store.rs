//! What only the PostgreSQL store has to show: several server processes on one database, the gap-free order
//! under concurrent commits, NOTIFY across processes, tamper evidence in the tables, the database's own
//! constraints, batching, and migrations at open.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures::executor::block_on;
use journey_core::ExpectedVersion;
use journey_core::store::EventStore;
use journey_core::testkit::{self, append, contact, registered};
use journey_core::{Clock, Conflict, Error, Position, Version};

use journey_postgres::PostgresStore;

use crate::harness::Pg;

fn register(store: &dyn EventStore, child: &str) {
    block_on(store.append(append(
        child,
        ExpectedVersion::NoStream,
        vec![registered(&format!("{child}-reg"), "2015-06-01")],
    )))
    .unwrap();
}

/// Two stores on one schema (two server processes), two writer threads each, all appending to the same
/// three children with expected versions, while a reader checks that every `read_all` it takes is a
/// gap-free prefix of the log that only ever grows. Each version is won once, nothing is lost, both stores
/// read the same log, and the second store's head follows the first's appends through NOTIFY alone.
#[test]
fn two_servers_share_one_gap_free_log() {
    let clock = testkit::clock();
    let Some(pg) = Pg::new(clock.clone()) else { return };
    let a = pg.pg();
    // Polling an hour apart: only notifications can move this store's head in time.
    let b = pg.open_another(
        clock.clone() as Arc<dyn Clock>,
        pg.options.clone().with_poll_interval(Duration::from_secs(3600)),
    );
    let children = ["c0", "c1", "c2"];
    for c in children {
        register(&*a, c);
    }
    let rounds = 15;
    let done = AtomicBool::new(false);
    let stores: [Arc<dyn EventStore>; 2] = [a.clone(), b.clone()];
    let prefixes_seen = std::thread::scope(|scope| {
        let reader = {
            let (b, done) = (b.clone(), &done);
            scope.spawn(move || {
                let mut seen = 0usize;
                let mut reads = 0;
                while !done.load(Ordering::Acquire) {
                    let all = block_on(b.read_all(Position(1), 100_000)).unwrap();
                    let positions: Vec<u64> = all.iter().map(|e| e.envelope.position.0).collect();
                    assert_eq!(
                        positions,
                        (1..=all.len() as u64).collect::<Vec<_>>(),
                        "a read must be a gap-free prefix"
                    );
                    assert!(all.len() >= seen, "the visible log must never shrink");
                    seen = all.len();
                    reads += 1;
                }
                reads
            })
        };
        let writers: Vec<_> = (0..4)
            .map(|w| {
                let store = stores[w % 2].clone();
                scope.spawn(move || {
                    for r in 0..rounds {
                        let child = children[(w + r) % children.len()];
                        loop {
                            let version = block_on(store.stream_version(testkit::child(child)))
                                .unwrap()
                                .unwrap();
                            let request = append(
                                child,
                                ExpectedVersion::Exact(version),
                                vec![contact(&format!("w{w}-r{r}"), "2023-01-01")],
                            );
                            match block_on(store.append(request)) {
                                Ok(_) => break,
                                Err(Error::Conflict(Conflict::WrongExpectedVersion { .. })) => continue,
                                Err(e) => panic!("{e}"),
                            }
                        }
                    }
                })
            })
            .collect();
        for w in writers {
            w.join().unwrap();
        }
        done.store(true, Ordering::Release);
        reader.join().unwrap()
    });
    assert!(prefixes_seen > 0);

    let total = children.len() + 4 * rounds;
    let from_a = block_on(a.read_all(Position(1), 10_000)).unwrap();
    let from_b = block_on(b.read_all(Position(1), 10_000)).unwrap();
    assert_eq!(from_a.len(), total);
    assert_eq!(from_a, from_b);
    for c in children {
        let stream = block_on(b.read_stream(testkit::child(c), Version(1), 1000)).unwrap();
        for (i, e) in stream.iter().enumerate() {
            assert_eq!(e.envelope.version, Version(i as u64 + 1), "versions of {c}");
        }
    }
    let mut ids: Vec<_> = from_a.iter().map(|e| e.envelope.event_id.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), total, "every append stored exactly once");
    let times: Vec<_> = from_a.iter().map(|e| e.envelope.recorded_at).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]));
    assert!(block_on(b.verify()).unwrap().is_intact());

    // B's watched head reaches the end although B polls only hourly: A's notifications moved it.
    let mut head = b.watch_head();
    let deadline = Instant::now() + Duration::from_secs(10);
    while *head.borrow_and_update() < total as u64 {
        assert!(
            Instant::now() < deadline,
            "the head never reached {total} through NOTIFY"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // And a later append through A alone is announced to B.
    block_on(a.append(append(
        "c0",
        ExpectedVersion::Any,
        vec![contact("late", "2023-02-01")],
    )))
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while *head.borrow_and_update() < total as u64 + 1 {
        assert!(Instant::now() < deadline, "B never heard of A's last append");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Many appends queued at once from one process share transactions; a refused one fails alone, and an
/// append that depends on an earlier one in the same batch sees it.
#[test]
fn queued_appends_are_batched_and_fail_alone() {
    let Some(pg) = Pg::new(testkit::clock()) else {
        return;
    };
    let store = pg.pg();
    let n = 40;
    let mut requests = Vec::new();
    for i in 0..n {
        let child = format!("b{i}");
        requests.push(append(
            &child,
            ExpectedVersion::NoStream,
            vec![registered(&format!("{child}-reg"), "2015-06-01")],
        ));
        requests.push(append(
            &child,
            ExpectedVersion::Exact(Version(1)),
            vec![contact(&format!("{child}-e2"), "2023-01-01")],
        ));
        // Wrong on purpose: the stream exists by now.
        requests.push(append(
            &child,
            ExpectedVersion::NoStream,
            vec![contact(&format!("{child}-bad"), "2023-01-01")],
        ));
    }
    let results = block_on(futures::future::join_all(
        requests.into_iter().map(|r| store.append(r)),
    ));
    for (i, result) in results.iter().enumerate() {
        match i % 3 {
            0 | 1 => assert!(result.is_ok(), "append {i}: {result:?}"),
            _ => assert!(
                matches!(
                    result,
                    Err(Error::Conflict(Conflict::WrongExpectedVersion {
                        actual: Some(Version(2)),
                        ..
                    }))
                ),
                "append {i}: {result:?}"
            ),
        }
    }
    let head = block_on(store.head()).unwrap();
    assert_eq!(head.position, Some(Position(2 * n as u64)));
    let report = block_on(store.verify()).unwrap();
    assert!(report.is_intact(), "{report:?}");
    assert_eq!(report.head, head);
}

#[test]
fn verify_names_the_first_tampered_record() {
    let Some(pg) = Pg::new(testkit::clock()) else {
        return;
    };
    let store = pg.pg();
    for c in ["c1", "c2", "c3"] {
        register(&*store, c);
    }
    assert!(block_on(store.verify()).unwrap().is_intact());

    // One byte of one stored record.
    pg.sql("UPDATE journey_events SET body = overlay(body placing '\\xff'::bytea from length(body)) WHERE position = 2")
        .unwrap();
    let report = block_on(store.verify()).unwrap();
    assert_eq!(
        report.first_broken.as_ref().map(|b| b.position),
        Some(Position(2)),
        "{report:?}"
    );
    assert_eq!(report.records, 1);
}

#[test]
fn verify_notices_edited_columns_and_a_truncated_tail() {
    let Some(pg) = Pg::new(testkit::clock()) else {
        return;
    };
    let store = pg.pg();
    for c in ["c1", "c2", "c3"] {
        register(&*store, c);
    }
    // The bytes are intact but a column says another child: stream reads would answer wrongly.
    pg.sql("UPDATE journey_events SET child_id = 'c9' WHERE position = 3")
        .unwrap();
    let report = block_on(store.verify()).unwrap();
    assert_eq!(
        report.first_broken.as_ref().map(|b| b.position),
        Some(Position(3)),
        "{report:?}"
    );
    pg.sql("UPDATE journey_events SET child_id = 'c3' WHERE position = 3")
        .unwrap();
    assert!(block_on(store.verify()).unwrap().is_intact());

    // The last record deleted: every remaining link holds, but the head row still names position 3.
    pg.sql("DELETE FROM journey_events WHERE position = 3").unwrap();
    let report = block_on(store.verify()).unwrap();
    let broken = report.first_broken.expect("a truncated tail is reported");
    assert_eq!(broken.position, Position(3));
    assert!(broken.reason.contains("head"), "{}", broken.reason);
}

/// Rows deleted from the end of the log (acknowledged appends) make a server refuse to open, naming what is
/// missing, instead of appending new records over the gap; so does a head row moved back.
#[test]
fn a_deleted_tail_of_rows_is_refused_on_open() {
    let Some(pg) = Pg::new(testkit::clock()) else {
        return;
    };
    let store = pg.pg();
    for c in ["c1", "c2", "c3", "c4"] {
        register(&*store, c);
    }
    let reopen = || {
        pg.runtime.block_on(PostgresStore::open(
            pg.options.clone(),
            testkit::clock() as Arc<dyn Clock>,
        ))
    };
    assert!(reopen().is_ok());
    pg.sql("DELETE FROM journey_events WHERE position >= 3").unwrap();
    let refused = reopen().expect_err("a deleted tail must be refused");
    let text = refused.to_string();
    assert!(text.contains("positions 3 to 4 were acknowledged"), "{text}");
    assert!(text.contains("Restore the database from a backup"), "{text}");
    let core: Error = refused.into();
    assert!(matches!(core, Error::Corrupt { .. }), "{core:?}");

    // A head row moved back to hide them is refused as well.
    pg.sql(
        "UPDATE journey_log_head SET position = 1, \
         log_hash = (SELECT log_hash FROM journey_events WHERE position = 1) WHERE id = 1",
    )
    .unwrap();
    let text = reopen().expect_err("a head row behind the table").to_string();
    assert!(text.contains("the head row was moved back"), "{text}");
}

/// The constraints hold against any writer, not just Journey's: the database itself refuses a second record
/// for a version of a stream or for an event id.
#[test]
fn the_database_refuses_a_second_record_for_a_version_or_an_event_id() {
    let Some(pg) = Pg::new(testkit::clock()) else {
        return;
    };
    register(&*pg.pg(), "c1");
    let copy = |position: u64, child: &str, event_id: &str| {
        pg.sql(&format!(
            "INSERT INTO journey_events (position, child_id, version, event_id, recorded_at, content_digest, \
             stream_hash, log_hash, body) SELECT {position}, '{child}', version, '{event_id}', recorded_at, \
             content_digest, stream_hash, log_hash, body FROM journey_events WHERE position = 1"
        ))
    };
    let unique = |r: Result<u64, tokio_postgres::Error>| {
        let e = r.expect_err("the database must refuse this row");
        assert_eq!(
            e.code(),
            Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION),
            "{e}"
        );
    };
    unique(copy(2, "c1", "other-id")); // version 1 of c1 again
    unique(copy(2, "c2", "c1-reg")); // the same event id for another child
    unique(copy(1, "c2", "another")); // position 1 again
    assert_eq!(
        copy(2, "c2", "fresh").unwrap(),
        1,
        "a row breaking no constraint is accepted"
    );
}

#[test]
fn reopening_keeps_the_log_and_migrates_nothing() {
    let clock = testkit::clock();
    let Some(pg) = Pg::new(clock.clone()) else { return };
    register(&*pg.pg(), "c1");
    register(&*pg.pg(), "c2");
    let before = block_on(pg.pg().head()).unwrap();
    // A new process: runs the migrations again (a no-op), continues the same chain.
    let again = pg.open_another(clock.clone() as Arc<dyn Clock>, pg.options.clone());
    assert_eq!(block_on(again.head()).unwrap(), before);
    assert_eq!(*again.watch_head().borrow(), 2);
    block_on(again.append(append(
        "c1",
        ExpectedVersion::Exact(Version(1)),
        vec![contact("c1-e2", "2023-01-01")],
    )))
    .unwrap();
    // One row per migration, each applied once however many processes opened the store.
    assert_eq!(pg.sql("SELECT 1 FROM refinery_schema_history").unwrap(), 5);
    let report = block_on(pg.pg().verify()).unwrap();
    assert!(report.is_intact(), "{report:?}");
    assert_eq!(report.records, 3);
}

/// Recorded time never goes back along the log even when two processes' clocks disagree: the later append
/// through the slow clock is stamped with the last recorded time, not its own.
#[test]
fn recorded_time_holds_across_processes_with_different_clocks() {
    let fast = testkit::clock();
    fast.advance_micros(60_000_000);
    let Some(pg) = Pg::new(fast.clone()) else { return };
    let slow = testkit::clock();
    let other = pg.open_another(slow as Arc<dyn Clock>, pg.options.clone());
    register(&*pg.pg(), "c1");
    register(&*other, "c2");
    let all = block_on(other.read_all(Position(1), 10)).unwrap();
    assert_eq!(
        all[0].envelope.recorded_at,
        testkit::epoch().plus_micros(60_000_000)
    );
    assert_eq!(all[1].envelope.recorded_at, all[0].envelope.recorded_at);
}
