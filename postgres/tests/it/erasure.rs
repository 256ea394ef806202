//! Content sealed at rest and erasure by destroying keys on PostgreSQL (issue #19, ADR 11): every child's
//! content is ciphertext in the tables, a destroyed child's content is unreadable in every Journey table and
//! on every server sharing the database, and every hash, proof and other child's record is untouched.

use std::sync::Arc;
use std::time::Duration;

use futures::executor::block_on;
use journey_core::content_keys::KeyError;
use journey_core::examples::example_streams;
use journey_core::journal::{Journal as _, NewRecord, SystemStream};
use journey_core::proof::{OriginBase, Proofs};
use journey_core::store::export::verify_export;
use journey_core::store::tree::TreeStore as _;
use journey_core::store::{AppendRequest, EventStore};
use journey_core::testkit::{self, append, contact};
use journey_core::tlog::NoteSigner;
use journey_core::tlog::note::KeyName;
use journey_core::{
    ChildId, Clock, Error, ExpectedVersion, ManualClock, Position, PrincipalId, RecordedEvent, Timestamp,
    Version,
};
use journey_postgres::{PostgresJournal, PostgresStore};

use crate::harness::{Pg, kek};

/// A clock after the last example event (the examples run to 2026).
fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(
        Timestamp::parse_field("now", "2027-01-04T09:00:00Z").unwrap(),
    ))
}

/// The four example children (every event type, with names, addresses and free text), one append each.
fn fill(store: &dyn EventStore) -> Vec<ChildId> {
    let mut children = Vec::new();
    for (child_id, events) in example_streams() {
        block_on(store.append(AppendRequest {
            child_id: child_id.clone(),
            expected: ExpectedVersion::NoStream,
            recorded_by: testkit::principal(),
            events,
        }))
        .unwrap();
        children.push(child_id);
    }
    children
}

fn stream(store: &dyn EventStore, child: &ChildId) -> journey_core::Result<Vec<RecordedEvent>> {
    block_on(store.read_stream(child.clone(), Version::FIRST, usize::MAX))
}

/// Every Journey table in the test's schema, read raw: each row as text (`t::text`, which shows bytea as
/// hex) and every bytea column's bytes as stored.
fn table_bytes(pg: &Pg) -> Vec<(String, Vec<u8>)> {
    let tables = pg.query(
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema() \
         AND table_type = 'BASE TABLE'",
    );
    assert!(tables.len() >= 10, "every Journey table is searched");
    let mut out = Vec::new();
    for table in tables {
        let table: String = table.get(0);
        for row in pg.query(&format!("SELECT t::text FROM {table} t")) {
            out.push((table.clone(), row.get::<_, String>(0).into_bytes()));
        }
        let columns = pg.query(&format!(
            "SELECT column_name::text FROM information_schema.columns WHERE table_schema = current_schema() \
             AND table_name = '{table}' AND data_type = 'bytea'"
        ));
        for column in columns {
            let column: String = column.get(0);
            for row in pg.query(&format!(
                "SELECT {column} FROM {table} WHERE {column} IS NOT NULL"
            )) {
                out.push((format!("{table}.{column}"), row.get::<_, Vec<u8>>(0)));
            }
        }
    }
    out
}

fn found_in(tables: &[(String, Vec<u8>)], needle: &[u8]) -> Option<String> {
    tables
        .iter()
        .find(|(_, bytes)| bytes.windows(needle.len()).any(|w| w == needle))
        .map(|(name, _)| name.clone())
}

fn proofs(store: &Arc<PostgresStore>) -> Proofs {
    let base = OriginBase::parse("journey.test/log").unwrap();
    let origin = base.origin(store.log_id());
    let signer = NoteSigner::from_seed(KeyName::parse(origin.as_str()).unwrap(), &[3; 32]);
    Proofs::new(store.clone(), &base, signer, Vec::new(), clock()).unwrap()
}

fn destroyed(result: journey_core::Result<impl std::fmt::Debug>) -> bool {
    matches!(result, Err(Error::Key(KeyError::Destroyed { .. })))
}

#[test]
fn content_is_sealed_in_every_table_and_reads_back_exactly() {
    let Some(pg) = Pg::sealed(clock()) else { return };
    let store = pg.pg();
    assert!(store.content_sealed());
    let children = fill(&*store);
    let before: Vec<Vec<RecordedEvent>> = children.iter().map(|c| stream(&*store, c).unwrap()).collect();
    assert!(
        before
            .iter()
            .all(|s| s.iter().all(|e| e.envelope.schema_version == 2))
    );
    let tables = table_bytes(&pg);
    for events in &before {
        for text in testkit::plaintexts(events) {
            assert_eq!(
                found_in(&tables, text.as_bytes()),
                None,
                "{text:?} is readable in the tables"
            );
        }
    }
    // No digest of any sealed record's plaintext either.
    assert_eq!(
        pg.query("SELECT 1 FROM journey_events WHERE content_digest IS NOT NULL")
            .len(),
        0
    );
    // The search can fail: a log in the clear shows the same content.
    let clear = Pg::new(clock()).unwrap();
    fill(&*clear.pg());
    let clear_tables = table_bytes(&clear);
    assert!(
        testkit::plaintexts(&before[0])
            .iter()
            .any(|t| found_in(&clear_tables, t.as_bytes()).is_some()),
        "the search must see plaintext in a log that keeps it in the clear"
    );
    // Another server with the key reads every record as it was appended.
    let other = pg.open_another(clock() as Arc<dyn Clock>, pg.options.clone());
    for (child, events) in children.iter().zip(&before) {
        assert_eq!(&stream(&*other, child).unwrap(), events);
    }
    assert_eq!(
        block_on(other.read_all(Position(1), usize::MAX)).unwrap().len(),
        before.iter().map(Vec::len).sum::<usize>()
    );
    // A child's export carries its key and verifies offline.
    let export = block_on(other.export_stream(children[0].clone())).unwrap();
    assert!(export.content_key.is_some());
    verify_export(&export).unwrap();
    // Retries of sealed records are judged by their content: the same is already recorded, another is not.
    let (child, events) = example_streams().remove(0);
    let retry = block_on(store.append(AppendRequest {
        child_id: child.clone(),
        expected: ExpectedVersion::NoStream,
        recorded_by: testkit::principal(),
        events: events.clone(),
    }))
    .unwrap();
    assert!(retry.already_recorded);
    let mut changed = events[..1].to_vec();
    changed[0].occurred_at = contact("x", "2001-01-01").occurred_at;
    let conflict = block_on(store.append(AppendRequest {
        child_id: child,
        expected: ExpectedVersion::Any,
        recorded_by: testkit::principal(),
        events: changed,
    }));
    assert!(matches!(conflict, Err(Error::Conflict(_))), "{conflict:?}");
}

#[test]
fn a_destroyed_childs_content_is_gone_from_every_table_and_every_proof_still_holds() {
    let Some(pg) = Pg::sealed(clock()) else { return };
    let store = pg.pg();
    let children = fill(&*store);
    let (erased, kept) = (&children[0], &children[1..]);
    let erased_events = stream(&*store, erased).unwrap();
    let kept_before: Vec<_> = kept.iter().map(|c| stream(&*store, c).unwrap()).collect();
    let kept_exports: Vec<_> = kept
        .iter()
        .map(|c| block_on(store.export_stream(c.clone())).unwrap())
        .collect();
    let all_before = block_on(store.read_all(Position(1), usize::MAX)).unwrap();
    let size = block_on(store.head()).unwrap().position.unwrap().0;
    block_on(store.sync_tree()).unwrap();
    let root_before = block_on(proofs(&store).root(size)).unwrap();
    // A decision's output about the child, sealed under its key in the journal as the policy registry does.
    let journal = pg
        .runtime
        .block_on(PostgresJournal::open(
            pg.options.clone(),
            clock() as Arc<dyn Clock>,
        ))
        .unwrap();
    let output = br#"{"deadline":"2025-03-14","reason":"a secret only the child's record knows"}"#;
    let sealed_output = store
        .seal_for_child(erased, b"decision 1", output)
        .unwrap()
        .expect("a sealed log seals");
    assert_eq!(
        store
            .open_for_child(erased, b"decision 1", &sealed_output)
            .unwrap(),
        output
    );
    block_on(journal.append(
        &SystemStream::parse("decisions").unwrap(),
        ExpectedVersion::Any,
        vec![NewRecord::new(
            "DecisionRecorded",
            PrincipalId::parse("journey-test").unwrap(),
            &serde_json::json!({ "child_id": erased, "sealed_decisions": hex::encode(&sealed_output) }),
        )],
    ))
    .unwrap();
    let wrapped: Vec<u8> = pg.query(&format!(
        "SELECT wrapped FROM journey_content_keys WHERE child_id = '{erased}'"
    ))[0]
        .get(0);
    assert!(
        found_in(&table_bytes(&pg), &wrapped).is_some(),
        "the search finds the wrapped key while it exists"
    );

    let at = Timestamp::from_micros(1_900_000_000_000_000).unwrap();
    let destruction = block_on(store.destroy_content(vec![erased.clone(), erased.clone()], at)).unwrap();
    assert_eq!(destruction.destroyed, vec![erased.clone()]);
    let again = block_on(store.destroy_content(vec![erased.clone()], at)).unwrap();
    assert!(again.destroyed.is_empty());
    assert_eq!(again.already_destroyed, vec![(erased.clone(), at)]);
    let unknown = block_on(store.destroy_content(vec![testkit::child("never-seen")], at));
    assert!(matches!(unknown, Err(Error::NotFound(_))), "{unknown:?}");

    let check = |store: &Arc<PostgresStore>| {
        match stream(&**store, erased) {
            Err(Error::Key(KeyError::Destroyed {
                child_id,
                destroyed_at,
            })) => assert_eq!((&child_id, destroyed_at), (erased, at)),
            other => panic!("an erased child must read as destroyed, got {other:?}"),
        }
        assert!(destroyed(block_on(store.export_stream(erased.clone()))));
        assert!(destroyed(store.open_for_child(
            erased,
            b"decision 1",
            &sealed_output
        )));
        for (child, events) in kept.iter().zip(&kept_before) {
            assert_eq!(
                &stream(&**store, child).unwrap(),
                events,
                "another child's record changed"
            );
        }
        // The feed passes over the erased records and nothing else, and a small page makes progress.
        let expected: Vec<_> = all_before
            .iter()
            .filter(|e| &e.envelope.child_id != erased)
            .cloned()
            .collect();
        assert_eq!(
            block_on(store.read_all(Position(1), usize::MAX)).unwrap(),
            expected
        );
        assert_eq!(block_on(store.read_all(Position(1), 1)).unwrap(), expected[..1]);
        // The chains verify without any key, the tree's root is the one before, other exports verify.
        let report = block_on(store.verify()).unwrap();
        assert!(report.is_intact(), "{report:?}");
        block_on(store.sync_tree()).unwrap();
        assert_eq!(block_on(proofs(store).root(size)).unwrap(), root_before);
        for (child, before) in kept.iter().zip(&kept_exports) {
            let now = block_on(store.export_stream(child.clone())).unwrap();
            verify_export(&now).unwrap();
            assert_eq!(now.records, before.records);
        }
        let refused = block_on(store.append(append(
            erased.as_str(),
            ExpectedVersion::Any,
            vec![contact("after-erasure", "2024-01-02")],
        )));
        assert!(destroyed(refused));
    };
    check(&store);
    // Another server opened afterwards sees the same, and the tree rebuilt from the log has the same root.
    let later = pg.open_another(clock() as Arc<dyn Clock>, pg.options.clone());
    check(&later);
    block_on(later.rebuild_tree("the test rebuilds it after an erasure".into())).unwrap();
    check(&later);

    // Raw bytes: nothing of the erased child's content, and not its wrapped key, in any Journey table.
    let tables = table_bytes(&pg);
    for text in testkit::plaintexts(&erased_events) {
        assert_eq!(
            found_in(&tables, text.as_bytes()),
            None,
            "{text:?} is readable in the tables"
        );
    }
    assert_eq!(found_in(&tables, &output[..]), None);
    assert_eq!(
        found_in(&tables, &wrapped),
        None,
        "the destroyed child's wrapped key is still stored"
    );
}

/// Several servers, one database (ADR 7): a server that read a child, and so holds its key, stops serving it
/// the moment another server destroys it, without a restart, a notification or a poll.
#[test]
fn a_destruction_on_one_server_stops_every_other_server_at_once() {
    let Some(pg) = Pg::sealed(clock()) else { return };
    let a = pg.pg();
    let b = pg.open_another(
        clock() as Arc<dyn Clock>,
        pg.options.clone().with_poll_interval(Duration::from_secs(3600)),
    );
    let children = fill(&*a);
    let child = &children[1];
    // B reads the child (and unwraps its key), seals and opens data of it.
    assert!(!stream(&*b, child).unwrap().is_empty());
    let sealed = b
        .seal_for_child(child, b"aad", b"about the child")
        .unwrap()
        .unwrap();
    assert_eq!(
        b.open_for_child(child, b"aad", &sealed).unwrap(),
        b"about the child"
    );
    block_on(b.append(append(
        child.as_str(),
        ExpectedVersion::Any,
        vec![contact("b-before", "2024-01-02")],
    )))
    .unwrap();

    block_on(a.destroy_content(vec![child.clone()], testkit::epoch())).unwrap();

    assert!(destroyed(stream(&*b, child)));
    assert!(destroyed(block_on(b.export_stream(child.clone()))));
    assert!(destroyed(b.open_for_child(child, b"aad", &sealed)));
    assert!(destroyed(b.seal_for_child(child, b"aad", b"more")));
    let refused = block_on(b.append(append(
        child.as_str(),
        ExpectedVersion::Any,
        vec![contact("b-after", "2024-01-03")],
    )));
    assert!(destroyed(refused));
    assert!(
        block_on(b.read_all(Position(1), usize::MAX))
            .unwrap()
            .iter()
            .all(|e| &e.envelope.child_id != child)
    );
    // The other children still read on both.
    for store in [&a, &b] {
        assert!(!stream(&**store, &children[0]).unwrap().is_empty());
    }
    // And B destroying it again reports it as already destroyed.
    let again = block_on(b.destroy_content(vec![child.clone()], testkit::epoch())).unwrap();
    assert!(again.destroyed.is_empty() && again.already_destroyed.len() == 1);
}

#[test]
fn a_sealed_log_refuses_another_kek_and_no_kek_by_name() {
    let Some(pg) = Pg::sealed(clock()) else { return };
    fill(&*pg.pg());
    let open = |options| {
        pg.runtime
            .block_on(PostgresStore::open(options, clock() as Arc<dyn Clock>))
            .map(|_| ())
            .unwrap_err()
            .to_string()
    };
    let wrong = open(pg.options.clone().with_kek(kek(6)));
    assert!(
        wrong.contains("key-encryption key") && wrong.contains(&kek(5).fingerprint()),
        "{wrong}"
    );
    let mut without = pg.options.clone();
    without.kek = None;
    let without = open(without);
    assert!(
        without.contains("opens only with its key-encryption key"),
        "{without}"
    );
}

#[test]
fn a_log_made_in_the_clear_stays_in_the_clear_and_refuses_erasure() {
    let Some(pg) = Pg::new(clock()) else { return };
    let children = fill(&*pg.pg());
    let sealed = pg.open_another(clock() as Arc<dyn Clock>, pg.options.clone().with_kek(kek(5)));
    assert!(!sealed.content_sealed());
    assert!(
        stream(&*sealed, &children[0])
            .unwrap()
            .iter()
            .all(|e| e.envelope.schema_version == 1)
    );
    block_on(sealed.append(append(
        children[0].as_str(),
        ExpectedVersion::Any,
        vec![contact("still-clear", "2024-01-02")],
    )))
    .unwrap();
    assert_eq!(
        pg.query("SELECT 1 FROM journey_events WHERE substring(body FROM 1 FOR 2) = '\\x0200'::bytea")
            .len(),
        0,
        "no record of a log in the clear is sealed"
    );
    let refused = block_on(sealed.destroy_content(vec![children[0].clone()], testkit::epoch()));
    assert!(
        matches!(refused, Err(Error::Key(KeyError::NotSealed))),
        "{refused:?}"
    );
    assert_eq!(sealed.seal_for_child(&children[0], b"a", b"b").unwrap(), None);
}

/// Two servers open an empty log, one without a key-encryption key (in the clear), then one with (which
/// seals it): the first may no longer append, or the log would mix sealed records and records in the clear.
#[test]
fn a_server_that_opened_a_log_in_the_clear_cannot_append_once_another_sealed_it() {
    let Some(pg) = Pg::new(clock()) else { return };
    let clear = pg.pg();
    assert!(!clear.content_sealed());
    let sealing = pg.open_another(clock() as Arc<dyn Clock>, pg.options.clone().with_kek(kek(5)));
    assert!(
        sealing.content_sealed(),
        "an empty log opened with a key is sealed"
    );
    let refused = block_on(clear.append(append(
        "c1",
        ExpectedVersion::NoStream,
        vec![testkit::registered("c1-reg", "2015-06-01")],
    )));
    assert!(matches!(&refused, Err(Error::Key(_))) && refused.unwrap_err().to_string().contains("sealed"),);
    fill(&*sealing);
    assert_eq!(
        pg.query("SELECT 1 FROM journey_events WHERE content_digest IS NOT NULL")
            .len(),
        0
    );
}

/// A sealed record whose child's key row is gone is never answered with its ciphertext: reads refuse naming
/// the child, verify reports it, and a log whose last record's child lacks its key refuses to open.
#[test]
fn a_missing_or_damaged_key_row_is_refused_loudly() {
    let Some(pg) = Pg::sealed(clock()) else { return };
    let store = pg.pg();
    let children = fill(&*store);
    let last = children.last().unwrap();
    assert!(stream(&*store, last).is_ok());
    // Damaged: another key's bytes.
    pg.sql(&format!(
        "UPDATE journey_content_keys SET wrapped = (SELECT wrapped FROM journey_content_keys WHERE child_id = \
         '{}') WHERE child_id = '{last}'",
        children[0]
    ))
    .unwrap();
    let damaged = stream(&*store, last);
    assert!(
        matches!(damaged, Err(Error::Key(KeyError::Unauthentic { .. }))),
        "{damaged:?}"
    );
    // Missing.
    pg.sql(&format!(
        "DELETE FROM journey_content_keys WHERE child_id = '{last}'"
    ))
    .unwrap();
    let missing = stream(&*store, last);
    assert!(
        matches!(&missing, Err(Error::Key(KeyError::Missing { child_id })) if child_id == last),
        "{missing:?}"
    );
    let feed = block_on(store.read_all(Position(1), usize::MAX));
    assert!(
        matches!(feed, Err(Error::Key(KeyError::Missing { .. }))),
        "{feed:?}"
    );
    let refused = block_on(store.append(append(
        last.as_str(),
        ExpectedVersion::Any,
        vec![contact("no-key", "2024-01-02")],
    )));
    assert!(
        matches!(refused, Err(Error::Key(KeyError::Missing { .. }))),
        "{refused:?}"
    );
    let report = block_on(store.verify()).unwrap();
    let broken = report.first_broken.expect("verify reports a lost key");
    assert!(broken.reason.contains("journey_content_keys"), "{broken:?}");
    let reopened = pg
        .runtime
        .block_on(PostgresStore::open(pg.options.clone(), clock() as Arc<dyn Clock>))
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(
        reopened.contains("no key for children with sealed records") && reopened.contains(last.as_str()),
        "{reopened}"
    );
    // Another child still reads on the open store.
    assert!(stream(&*store, &children[0]).is_ok());
}

/// A new child's key is inserted in the transaction that writes its first records: if that transaction
/// fails, neither is stored; when it commits, both are.
#[test]
fn a_new_childs_key_commits_with_its_first_records_or_not_at_all() {
    let Some(pg) = Pg::sealed(clock()) else { return };
    let store = pg.pg();
    pg.sql(
        "CREATE FUNCTION refuse_doomed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
         IF NEW.child_id = 'doomed' THEN RAISE EXCEPTION 'the test refuses this insert'; END IF; \
         RETURN NEW; END $$",
    )
    .unwrap();
    pg.sql(
        "CREATE TRIGGER refuse_doomed BEFORE INSERT ON journey_events FOR EACH ROW \
         EXECUTE FUNCTION refuse_doomed()",
    )
    .unwrap();
    let failed = block_on(store.append(append(
        "doomed",
        ExpectedVersion::NoStream,
        vec![testkit::registered("doomed-reg", "2015-06-01")],
    )));
    assert!(failed.is_err());
    let keys = |child: &str| {
        pg.query(&format!(
            "SELECT 1 FROM journey_content_keys WHERE child_id = '{child}'"
        ))
        .len()
    };
    assert_eq!(keys("doomed"), 0, "a key without its records was committed");
    pg.sql("DROP TRIGGER refuse_doomed ON journey_events").unwrap();
    block_on(store.append(append(
        "doomed",
        ExpectedVersion::NoStream,
        vec![testkit::registered("doomed-reg", "2015-06-01")],
    )))
    .unwrap();
    assert_eq!(keys("doomed"), 1);
    assert_eq!(stream(&*store, &testkit::child("doomed")).unwrap().len(), 1);
}

#[test]
fn rotating_the_kek_rewraps_every_key_without_touching_the_log() {
    let Some(pg) = Pg::sealed(clock()) else { return };
    let store = pg.pg();
    let children = fill(&*store);
    let (kept, gone) = (&children[0], &children[1]);
    let before = stream(&*store, kept).unwrap();
    pg.runtime
        .block_on(store.destroy_content(vec![gone.clone()], clock().now()))
        .unwrap();
    let log_before = table_bytes(&pg)
        .into_iter()
        .find(|(name, _)| name == "journey_events")
        .expect("the events table");
    // Another server still holding the old key-encryption key.
    let other = pg.open_another(clock(), pg.options.clone());

    let (live, destroyed_rows) = pg.runtime.block_on(store.rotate_kek(kek(7))).unwrap();
    assert_eq!((live, destroyed_rows), (children.len() - 1, 1));
    let log_after = table_bytes(&pg)
        .into_iter()
        .find(|(name, _)| name == "journey_events")
        .unwrap();
    assert_eq!(log_before, log_after, "the log is not touched");

    // Only the new key opens the log now; the old one is refused by name.
    let open = |kek| {
        pg.runtime.block_on(PostgresStore::open(
            pg.options.clone().with_kek(kek),
            clock() as Arc<dyn Clock>,
        ))
    };
    let old = open(kek(5)).map(|_| ()).unwrap_err().to_string();
    assert!(old.contains(&kek(7).fingerprint()), "{old}");
    let rotated = open(kek(7)).unwrap();
    assert_eq!(
        stream(&rotated, kept).unwrap(),
        before,
        "the same content, under the new key"
    );
    assert!(
        destroyed(stream(&rotated, gone)),
        "a destroyed child stays destroyed"
    );
    assert!(pg.runtime.block_on(rotated.verify()).unwrap().is_intact());
    // The server still on the old key can neither append nor read.
    let append = block_on(other.append(append(
        kept.as_str(),
        ExpectedVersion::Any,
        vec![contact("late", "2026-12-01")],
    )));
    assert!(append.is_err(), "{append:?}");
    assert!(stream(&*other, kept).is_err());
}
