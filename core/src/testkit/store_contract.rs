//! The store contract: the same cases, the same expectations, for every [`EventStore`] implementation.
//!
//! Behind the `contract-tests` feature so that a store in another crate (`journey-postgres`) runs exactly
//! these cases, not a copy of them: its integration tests invoke [`contract_suite!`](crate::contract_suite)
//! with a [`Harness`] that makes a fresh, empty store. `journey-core`'s own tests do the same for the
//! in-memory and embedded stores.
//!
//! The cases drive the store with `futures::executor::block_on` from plain threads, as a blocking caller
//! would: a store whose I/O needs a runtime (tokio) must run it itself, not rely on the caller's.

use std::sync::Arc;

use futures::StreamExt;
use futures::executor::block_on;

use crate::ids::ExpectedVersion;
use crate::store::{DynStore, EventStore, subscribe, verify_export};
use crate::testkit::{self, append, contact, registered};
use crate::{Conflict, Error, ManualClock, Position, Version};

/// Something that can make a fresh, empty store with the given clock, and keeps whatever it needs alive
/// (a temporary directory, a database schema, a runtime) for as long as it lives.
pub trait Harness {
    fn store(&self) -> DynStore;
}

/// Appends `request`, which the store must refuse, and returns why.
#[track_caller]
fn refused(store: &dyn EventStore, request: crate::store::AppendRequest) -> Error {
    block_on(store.append(request)).expect_err("the store should have refused this append")
}

fn registered_child(store: &dyn EventStore, child: &str) {
    block_on(store.append(append(
        child,
        ExpectedVersion::NoStream,
        vec![registered(&format!("{child}-reg"), "2015-06-01")],
    )))
    .unwrap();
}

pub fn appends_get_versions_and_gap_free_positions<H: Harness>(h: H) {
    let store = h.store();
    registered_child(&*store, "c1");
    registered_child(&*store, "c2");
    let out = block_on(store.append(append(
        "c1",
        ExpectedVersion::Exact(Version(1)),
        vec![contact("c1-e2", "2023-03-01"), contact("c1-e3", "2023-03-02")],
    )))
    .unwrap();
    assert_eq!(
        out.events.iter().map(|e| e.version.0).collect::<Vec<_>>(),
        vec![2, 3]
    );
    assert_eq!(
        out.events.iter().map(|e| e.position.0).collect::<Vec<_>>(),
        vec![3, 4]
    );
    assert!(!out.already_recorded);

    let events = block_on(store.read_stream(testkit::child("c1"), Version(1), 100)).unwrap();
    assert_eq!(events.len(), 3);
    assert_eq!(events[2].envelope.event_id.as_str(), "c1-e3");
    let from2 = block_on(store.read_stream(testkit::child("c1"), Version(2), 1)).unwrap();
    assert_eq!(from2.len(), 1);
    assert_eq!(from2[0].envelope.version, Version(2));
    assert_eq!(
        block_on(store.stream_version(testkit::child("c1"))).unwrap(),
        Some(Version(3))
    );
    assert_eq!(
        block_on(store.stream_version(testkit::child("nobody"))).unwrap(),
        None
    );
    assert!(
        block_on(store.read_stream(testkit::child("nobody"), Version(1), 10))
            .unwrap()
            .is_empty()
    );

    let all = block_on(store.read_all(Position(1), 100)).unwrap();
    assert_eq!(
        all.iter().map(|e| e.envelope.position.0).collect::<Vec<_>>(),
        vec![1, 2, 3, 4]
    );
    let page = block_on(store.read_all(Position(2), 2)).unwrap();
    assert_eq!(
        page.iter().map(|e| e.envelope.position.0).collect::<Vec<_>>(),
        vec![2, 3]
    );
    assert!(block_on(store.read_all(Position(5), 10)).unwrap().is_empty());
    assert_eq!(block_on(store.head()).unwrap().position, Some(Position(4)));
}

pub fn expected_version_conflicts_carry_expected_and_actual<H: Harness>(h: H) {
    let store = h.store();
    registered_child(&*store, "c1");
    let err = refused(
        &*store,
        append("c1", ExpectedVersion::NoStream, vec![contact("x1", "2023-01-01")]),
    );
    match err {
        Error::Conflict(Conflict::WrongExpectedVersion { expected, actual, .. }) => {
            assert_eq!(expected, ExpectedVersion::NoStream);
            assert_eq!(actual, Some(Version(1)));
        }
        other => panic!("expected a version conflict, got {other:?}"),
    }
    let err = refused(
        &*store,
        append(
            "c1",
            ExpectedVersion::Exact(Version(5)),
            vec![contact("x2", "2023-01-01")],
        ),
    );
    assert!(matches!(
        err,
        Error::Conflict(Conflict::WrongExpectedVersion {
            actual: Some(Version(1)),
            expected: ExpectedVersion::Exact(Version(5)),
            ..
        })
    ));
    let err = refused(
        &*store,
        append(
            "new",
            ExpectedVersion::Exact(Version(1)),
            vec![registered("x3", "2015-01-01")],
        ),
    );
    assert!(matches!(
        err,
        Error::Conflict(Conflict::WrongExpectedVersion { actual: None, .. })
    ));
    // Nothing was written by any of them.
    assert_eq!(block_on(store.head()).unwrap().position, Some(Position(1)));
}

pub fn retries_are_idempotent_and_reused_ids_conflict<H: Harness>(h: H) {
    let store = h.store();
    registered_child(&*store, "c1");
    let request = append(
        "c1",
        ExpectedVersion::Exact(Version(1)),
        vec![contact("e2", "2023-01-01"), contact("e3", "2023-01-02")],
    );
    let first = block_on(store.append(request.clone())).unwrap();
    // The retry would fail its expected-version check, but it is recognised first.
    let retry = block_on(store.append(request)).unwrap();
    assert!(retry.already_recorded);
    assert_eq!(retry.events, first.events);
    assert_eq!(block_on(store.head()).unwrap().position, Some(Position(3)));

    // Same id, different content.
    let err = refused(
        &*store,
        append("c1", ExpectedVersion::Any, vec![contact("e2", "2023-01-05")]),
    );
    assert!(
        matches!(err, Error::Conflict(Conflict::EventIdReused { .. })),
        "{err:?}"
    );
    // Same id and content, but for another child.
    registered_child(&*store, "c2");
    let err = refused(
        &*store,
        append("c2", ExpectedVersion::Any, vec![contact("e2", "2023-01-01")]),
    );
    assert!(
        matches!(err, Error::Conflict(Conflict::EventIdReused { .. })),
        "{err:?}"
    );
    // Part stored, part new: not a retry, and not half-applied.
    let err = refused(
        &*store,
        append(
            "c1",
            ExpectedVersion::Any,
            vec![contact("e3", "2023-01-02"), contact("e4", "2023-01-03")],
        ),
    );
    assert!(
        matches!(err, Error::Conflict(Conflict::EventIdReused { .. })),
        "{err:?}"
    );
    // The same id twice in one batch.
    let err = refused(
        &*store,
        append(
            "c1",
            ExpectedVersion::Any,
            vec![contact("e9", "2023-01-02"), contact("e9", "2023-01-02")],
        ),
    );
    assert!(
        matches!(err, Error::Conflict(Conflict::DuplicateInBatch { .. })),
        "{err:?}"
    );
    assert_eq!(
        block_on(store.stream_version(testkit::child("c1"))).unwrap(),
        Some(Version(3))
    );
}

pub fn invalid_batches_write_nothing_and_name_the_field<H: Harness>(h: H) {
    let store = h.store();
    // Not registered yet.
    let err = refused(
        &*store,
        append("c1", ExpectedVersion::Any, vec![contact("e1", "2023-01-01")]),
    );
    let Error::Invalid(problems) = err else {
        panic!("expected invalid, got {err:?}")
    };
    assert_eq!(problems.0[0].field, "events[0].child_id", "{problems}");

    registered_child(&*store, "c1");
    // The second event is dated after "today" (the clock says 2024-01-01).
    let err = refused(
        &*store,
        append(
            "c1",
            ExpectedVersion::Any,
            vec![contact("e2", "2023-06-01"), contact("e3", "2030-01-01")],
        ),
    );
    let Error::Invalid(problems) = err else {
        panic!("expected invalid, got {err:?}")
    };
    assert!(
        problems.0.iter().any(|p| p.field == "events[1].occurred_at"),
        "{problems}"
    );
    assert_eq!(
        block_on(store.stream_version(testkit::child("c1"))).unwrap(),
        Some(Version(1))
    );
    assert_eq!(block_on(store.head()).unwrap().position, Some(Position(1)));
    // The valid event can then be appended on its own: the rejected batch left no state behind.
    block_on(store.append(append(
        "c1",
        ExpectedVersion::Exact(Version(1)),
        vec![contact("e2", "2023-06-01")],
    )))
    .unwrap();
}

pub fn recorded_time_comes_from_the_clock_and_never_goes_back<H: Harness>(h: H, clock: Arc<ManualClock>) {
    let store = h.store();
    registered_child(&*store, "c1");
    clock.advance_micros(-3_600_000_000); // the clock steps back an hour
    registered_child(&*store, "c2");
    clock.advance_micros(7_200_000_000);
    registered_child(&*store, "c3");
    let all = block_on(store.read_all(Position(1), 10)).unwrap();
    let times: Vec<_> = all.iter().map(|e| e.envelope.recorded_at).collect();
    assert_eq!(times[0], testkit::epoch());
    assert_eq!(times[1], times[0], "recorded time held, not moved back");
    assert_eq!(times[2], testkit::epoch().plus_micros(3_600_000_000));
}

pub fn concurrent_appenders_on_one_stream_win_each_version_once<H: Harness>(h: H) {
    let store = h.store();
    registered_child(&*store, "c1");
    let writers = 8;
    let rounds = 20;
    let wins: Vec<usize> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..writers)
            .map(|w| {
                let store = store.clone();
                scope.spawn(move || {
                    let mut won = 0;
                    for r in 0..rounds {
                        loop {
                            let version = block_on(store.stream_version(testkit::child("c1")))
                                .unwrap()
                                .unwrap();
                            let request = append(
                                "c1",
                                ExpectedVersion::Exact(version),
                                vec![contact(&format!("w{w}-r{r}"), "2023-01-01")],
                            );
                            match block_on(store.append(request)) {
                                Ok(_) => {
                                    won += 1;
                                    break;
                                }
                                Err(Error::Conflict(Conflict::WrongExpectedVersion { .. })) => continue,
                                Err(e) => panic!("{e}"),
                            }
                        }
                    }
                    won
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(wins.iter().sum::<usize>(), writers * rounds);
    let events = block_on(store.read_stream(testkit::child("c1"), Version(1), 1000)).unwrap();
    assert_eq!(events.len(), 1 + writers * rounds);
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e.envelope.version, Version(i as u64 + 1));
    }
    assert!(block_on(store.verify()).unwrap().is_intact());
}

pub fn subscription_catches_up_then_follows_without_gaps<H: Harness>(h: H) {
    let store = h.store();
    for i in 0..5 {
        registered_child(&*store, &format!("c{i}"));
    }
    let mut feed = subscribe(store.clone(), Position(3));
    let writer = {
        let store = store.clone();
        std::thread::spawn(move || {
            for i in 5..40 {
                registered_child(&*store, &format!("c{i}"));
            }
        })
    };
    let positions: Vec<u64> = block_on(async {
        let mut seen = Vec::new();
        while seen.len() < 38 {
            let event = feed.next().await.unwrap().unwrap();
            seen.push(event.envelope.position.0);
        }
        seen
    });
    writer.join().unwrap();
    assert_eq!(positions, (3..=40).collect::<Vec<_>>());
}

pub fn verification_and_single_child_export<H: Harness>(h: H) {
    let store = h.store();
    registered_child(&*store, "c1");
    registered_child(&*store, "c2");
    block_on(store.append(append(
        "c1",
        ExpectedVersion::Any,
        vec![contact("c1-e2", "2023-01-01")],
    )))
    .unwrap();
    block_on(store.append(append(
        "c2",
        ExpectedVersion::Any,
        vec![contact("c2-e2", "2023-01-01")],
    )))
    .unwrap();
    let report = block_on(store.verify()).unwrap();
    assert!(report.is_intact(), "{report:?}");
    assert_eq!(report.records, 4);
    assert_eq!(report.streams, 2);
    assert_eq!(report.head, block_on(store.head()).unwrap());

    let export = block_on(store.export_stream(testkit::child("c1"))).unwrap();
    assert_eq!(export.records.len(), 2);
    assert!(
        export
            .records
            .iter()
            .all(|r| r.event.envelope.child_id.as_str() == "c1")
    );
    let verified = verify_export(&export).unwrap();
    assert_eq!(verified.records, 2);
    // Through JSON, as an investigator would receive it.
    let json = serde_json::to_string(&export).unwrap();
    let back: crate::store::StreamExport = serde_json::from_str(&json).unwrap();
    assert_eq!(verify_export(&back).unwrap(), verified);

    // Any change to the bytes, or a dropped record, is caught.
    let mut tampered = export.clone();
    let last = tampered.records[0].body.len() - 1;
    tampered.records[0].body[last] ^= 1;
    assert!(verify_export(&tampered).is_err());
    let mut dropped = export.clone();
    dropped.records.remove(0);
    assert!(verify_export(&dropped).is_err());
    let mut relabelled = export;
    relabelled.records[1].event.envelope.occurred_at = "2020-01-01".parse().unwrap();
    assert!(verify_export(&relabelled).is_err());
}

/// One `#[test]` per contract case, in a module named `$name`. `$make` is called with a fresh
/// [`ManualClock`] (at [`testkit::epoch`]) and returns `Some(harness)`, or `None` when the store cannot be
/// tested here (the maker says so, visibly, on stderr) and the test is skipped.
#[macro_export]
macro_rules! contract_suite {
    ($name:ident, $make:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            use $crate::testkit::store_contract as cases;

            fn harness() -> Option<(impl cases::Harness, ::std::sync::Arc<$crate::ManualClock>)> {
                let clock = $crate::testkit::clock();
                #[allow(clippy::redundant_closure_call)]
                let h = ($make)(clock.clone())?;
                Some((h, clock))
            }

            #[test]
            fn appends_get_versions_and_gap_free_positions() {
                let Some((h, _)) = harness() else { return };
                cases::appends_get_versions_and_gap_free_positions(h);
            }
            #[test]
            fn expected_version_conflicts_carry_expected_and_actual() {
                let Some((h, _)) = harness() else { return };
                cases::expected_version_conflicts_carry_expected_and_actual(h);
            }
            #[test]
            fn retries_are_idempotent_and_reused_ids_conflict() {
                let Some((h, _)) = harness() else { return };
                cases::retries_are_idempotent_and_reused_ids_conflict(h);
            }
            #[test]
            fn invalid_batches_write_nothing_and_name_the_field() {
                let Some((h, _)) = harness() else { return };
                cases::invalid_batches_write_nothing_and_name_the_field(h);
            }
            #[test]
            fn recorded_time_comes_from_the_clock_and_never_goes_back() {
                let Some((h, clock)) = harness() else { return };
                cases::recorded_time_comes_from_the_clock_and_never_goes_back(h, clock);
            }
            #[test]
            fn concurrent_appenders_on_one_stream_win_each_version_once() {
                let Some((h, _)) = harness() else { return };
                cases::concurrent_appenders_on_one_stream_win_each_version_once(h);
            }
            #[test]
            fn subscription_catches_up_then_follows_without_gaps() {
                let Some((h, _)) = harness() else { return };
                cases::subscription_catches_up_then_follows_without_gaps(h);
            }
            #[test]
            fn verification_and_single_child_export() {
                let Some((h, _)) = harness() else { return };
                cases::verification_and_single_child_export(h);
            }
        }
    };
}
