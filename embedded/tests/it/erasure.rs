//! Content sealed at rest and erasure by destroying keys (issue #19): each child's content is ciphertext on
//! disk, a destroyed child's content is unreadable everywhere the store keeps data, and every hash, proof and
//! other child's record is untouched.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::sync::Arc;

use futures::executor::block_on;
use journey_core::content_keys::{KeyEncryptionKey, KeyError, LocalKek};
use journey_core::examples::example_streams;
use journey_core::proof::{OriginBase, Proofs};
use journey_core::store::export::verify_export;
use journey_core::store::tree::TreeStore as _;
use journey_core::store::{AppendRequest, EventStore};
use journey_core::testkit::{self, append, contact};
use journey_core::tlog::NoteSigner;
use journey_core::tlog::note::KeyName;
use journey_core::{
    ChildId, Error, ExpectedVersion, ManualClock, Position, RecordedEvent, Timestamp, Version,
};
use journey_embedded::{EmbeddedOptions, EmbeddedStore, verify_data_dir};

fn kek(byte: u8) -> Arc<dyn KeyEncryptionKey> {
    Arc::new(LocalKek::from_bytes([byte; 32]))
}

/// A clock after the last example event (the examples run to 2026).
fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(
        Timestamp::parse_field("now", "2027-01-04T09:00:00Z").unwrap(),
    ))
}

fn open_sealed(dir: &Path, kek: Arc<dyn KeyEncryptionKey>) -> journey_core::Result<EmbeddedStore> {
    let options = EmbeddedOptions {
        kek: Some(kek),
        ..EmbeddedOptions::default()
    };
    EmbeddedStore::open_with(dir, clock(), options)
}

/// The four example children (every event type, with names, addresses and free text), one append each.
fn fill(store: &EmbeddedStore) -> Vec<ChildId> {
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

fn stream(store: &EmbeddedStore, child: &ChildId) -> journey_core::Result<Vec<RecordedEvent>> {
    block_on(store.read_stream(child.clone(), Version::FIRST, usize::MAX))
}

/// Every file under `dir`, read raw.
fn all_bytes(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push((path.display().to_string(), fs::read(&path).unwrap()));
            }
        }
    }
    out
}

fn found_in(files: &[(String, Vec<u8>)], needle: &str) -> Option<String> {
    files
        .iter()
        .find(|(_, bytes)| bytes.windows(needle.len()).any(|w| w == needle.as_bytes()))
        .map(|(name, _)| name.clone())
}

fn proofs(store: &Arc<EmbeddedStore>) -> Proofs {
    let base = OriginBase::parse("journey.test/log").unwrap();
    let origin = base.origin(store.log_id());
    let signer = NoteSigner::from_seed(KeyName::parse(origin.as_str()).unwrap(), &[3; 32]);
    Proofs::new(store.clone(), &base, signer, Vec::new(), clock()).unwrap()
}

#[test]
fn content_is_sealed_on_disk_and_reads_back_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_sealed(dir.path(), kek(1)).unwrap();
    assert!(store.content_sealed());
    let children = fill(&store);
    let before: Vec<Vec<RecordedEvent>> = children.iter().map(|c| stream(&store, c).unwrap()).collect();
    assert!(
        before
            .iter()
            .all(|s| s.iter().all(|e| e.envelope.schema_version == 2))
    );
    drop(store);
    // Nothing of any child's content is on disk in the clear: the test can fail (a store in the clear has it).
    let files = all_bytes(dir.path());
    for events in &before {
        for text in testkit::plaintexts(events) {
            assert_eq!(found_in(&files, &text), None, "{text:?} is readable on disk");
        }
    }
    let clear = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(clear.path(), clock()).unwrap();
    fill(&store);
    drop(store);
    let clear_files = all_bytes(clear.path());
    assert!(
        testkit::plaintexts(&before[0])
            .iter()
            .any(|t| found_in(&clear_files, t).is_some()),
        "the check must see plaintext in a store that keeps it in the clear"
    );
    // Reopened with its key, every record reads back as it was appended.
    let store = open_sealed(dir.path(), kek(1)).unwrap();
    for (child, events) in children.iter().zip(&before) {
        assert_eq!(&stream(&store, child).unwrap(), events);
    }
    // A child's export carries its key, and verifies offline.
    let export = block_on(store.export_stream(children[0].clone())).unwrap();
    assert!(export.content_key.is_some());
    verify_export(&export).unwrap();
    let mut tampered = export.clone();
    tampered.content_key = Some(journey_core::content_keys::ContentKey::from_bytes([9; 32]));
    assert!(
        verify_export(&tampered).is_err(),
        "another key does not open the records"
    );
}

#[test]
fn a_destroyed_childs_content_is_gone_everywhere_and_every_proof_still_holds() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(open_sealed(dir.path(), kek(1)).unwrap());
    let children = fill(&store);
    let (erased, kept) = (&children[0], &children[1..]);
    let erased_events = stream(&store, erased).unwrap();
    let kept_before: Vec<_> = kept.iter().map(|c| stream(&store, c).unwrap()).collect();
    let kept_exports: Vec<_> = kept
        .iter()
        .map(|c| block_on(store.export_stream(c.clone())).unwrap())
        .collect();
    let head = block_on(store.head()).unwrap();
    let proofs_before = proofs(&store);
    block_on(store.sync_tree()).unwrap();
    let size = head.position.unwrap().0;
    let root_before = block_on(proofs_before.root(size)).unwrap();
    let all_before = block_on(store.read_all(Position(1), usize::MAX)).unwrap();

    let at = Timestamp::from_micros(1_900_000_000_000_000).unwrap();
    let destruction = block_on(store.destroy_content(vec![erased.clone()], at)).unwrap();
    assert_eq!(destruction.destroyed, vec![erased.clone()]);
    // Again: reported as already destroyed, nothing more done.
    let again = block_on(store.destroy_content(vec![erased.clone()], at)).unwrap();
    assert!(again.destroyed.is_empty());
    assert_eq!(again.already_destroyed, vec![(erased.clone(), at)]);

    let check = |store: &Arc<EmbeddedStore>| {
        match stream(store, erased) {
            Err(Error::Key(KeyError::Destroyed {
                child_id,
                destroyed_at,
            })) => {
                assert_eq!((&child_id, destroyed_at), (erased, at));
            }
            other => panic!("an erased child must read as destroyed, got {other:?}"),
        }
        assert!(block_on(store.export_stream(erased.clone())).is_err());
        for (child, events) in kept.iter().zip(&kept_before) {
            assert_eq!(
                &stream(store, child).unwrap(),
                events,
                "another child's record changed"
            );
        }
        // The feed passes over the erased records and nothing else.
        let all = block_on(store.read_all(Position(1), usize::MAX)).unwrap();
        let expected: Vec<_> = all_before
            .iter()
            .filter(|e| &e.envelope.child_id != erased)
            .cloned()
            .collect();
        assert_eq!(all, expected);
        // A small page still makes progress past a run of erased records.
        let first_kept = block_on(store.read_all(Position(1), 1)).unwrap();
        assert_eq!(first_kept, expected[..1]);
        // The chains verify, the tree's root is the one signed before, other children's exports verify.
        let report = block_on(store.verify()).unwrap();
        assert!(report.first_broken.is_none(), "{report:?}");
        // A reopened store loads its tree on a thread of its own: wait until it holds the log.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while {
            let status = block_on(store.tree_status()).unwrap();
            status.size < size || status.rebuilding.is_some()
        } {
            assert!(std::time::Instant::now() < deadline, "the tree never caught up");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert_eq!(block_on(proofs(store).root(size)).unwrap(), root_before);
        for (child, before) in kept.iter().zip(&kept_exports) {
            let now = block_on(store.export_stream(child.clone())).unwrap();
            verify_export(&now).unwrap();
            assert_eq!(now.records, before.records);
        }
        // Appends to the erased child are refused, naming why.
        let refused = block_on(store.append(append(
            erased.as_str(),
            ExpectedVersion::Any,
            vec![contact("after-erasure", "2024-01-02")],
        )));
        assert!(
            matches!(refused, Err(Error::Key(KeyError::Destroyed { .. }))),
            "{refused:?}"
        );
    };
    check(&store);
    drop(proofs_before);
    let store = Arc::try_unwrap(store).unwrap();
    store.close().unwrap();
    // Raw bytes: nothing of the erased child's content, and not its wrapped key, anywhere in the directory.
    let files = all_bytes(dir.path());
    for text in testkit::plaintexts(&erased_events) {
        assert_eq!(found_in(&files, &text), None, "{text:?} is readable on disk");
    }
    let report = verify_data_dir(dir.path(), |_| Ok(Default::default())).unwrap();
    assert!(report.intact, "{report:?}");
    // And all of it holds after reopening.
    let store = Arc::new(open_sealed(dir.path(), kek(1)).unwrap());
    check(&store);
}

#[test]
fn a_sealed_store_refuses_to_open_without_its_key_store_or_with_another_kek() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_sealed(dir.path(), kek(1)).unwrap();
    fill(&store);
    store.close().unwrap();
    let refusal = |result: journey_core::Result<EmbeddedStore>| result.unwrap_err().to_string();

    let wrong = refusal(open_sealed(dir.path(), kek(2)));
    assert!(
        wrong.contains("key-encryption key") && wrong.contains(&kek(1).fingerprint()),
        "{wrong}"
    );
    let without = refusal(EmbeddedStore::open(dir.path(), clock()));
    assert!(
        without.contains("opens only with its key-encryption key"),
        "{without}"
    );

    let keys = dir.path().join("keys").join("content-keys");
    let saved = fs::read(&keys).unwrap();
    // An older key store, from before the last children came: refused, naming them.
    let header_only = {
        let len = 8 + 1 + 16 + 4;
        saved[..len].to_vec()
    };
    fs::write(&keys, &header_only).unwrap();
    let older = refusal(open_sealed(dir.path(), kek(1)));
    assert!(older.contains("has no key for children with records"), "{older}");
    // Damaged in the middle.
    let mut damaged = saved.clone();
    damaged[8 + 1 + 16 + 4 + 20] ^= 0x55;
    fs::write(&keys, &damaged).unwrap();
    let broken = refusal(open_sealed(dir.path(), kek(1)));
    assert!(broken.contains("damaged"), "{broken}");
    // Missing altogether.
    fs::remove_dir_all(dir.path().join("keys")).unwrap();
    let missing = refusal(open_sealed(dir.path(), kek(1)));
    assert!(
        missing.contains("key store") && missing.contains("missing"),
        "{missing}"
    );
    // Put back, it opens and reads.
    fs::create_dir_all(dir.path().join("keys")).unwrap();
    fs::write(&keys, &saved).unwrap();
    let store = open_sealed(dir.path(), kek(1)).unwrap();
    assert!(stream(&store, &example_streams()[0].0).is_ok());
}

#[test]
fn a_store_made_in_the_clear_stays_in_the_clear_and_refuses_erasure() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path(), clock()).unwrap();
    let children = fill(&store);
    store.close().unwrap();
    let store = open_sealed(dir.path(), kek(1)).unwrap();
    assert!(!store.content_sealed());
    assert!(
        stream(&store, &children[0])
            .unwrap()
            .iter()
            .all(|e| e.envelope.schema_version == 1)
    );
    let refused = block_on(store.destroy_content(vec![children[0].clone()], testkit::epoch()));
    assert!(
        matches!(refused, Err(Error::Key(KeyError::NotSealed))),
        "{refused:?}"
    );
}

mod property {
    use super::*;
    use journey_core::domain::EventCorrected;
    use journey_core::domain::EventPayload;
    use journey_core::view::{AsOf, ChildSummary};
    use proptest::prelude::*;

    #[derive(Clone, Debug)]
    enum Op {
        /// Contacts for child `c` (registering it first if need be).
        Append {
            child: usize,
            contacts: usize,
        },
        /// A correction of child `c`'s latest contact.
        Correct {
            child: usize,
        },
        Erase {
            child: usize,
        },
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0..5usize, 1..4usize).prop_map(|(child, contacts)| Op::Append { child, contacts }),
            2 => (0..5usize).prop_map(|child| Op::Correct { child }),
            1 => (0..5usize).prop_map(|child| Op::Erase { child }),
        ]
    }

    /// What an investigator sees of a child: its records (with their hashes) and its summary as known now.
    fn views(store: &EmbeddedStore, child: &ChildId) -> (Vec<RecordedEvent>, ChildSummary) {
        let events = stream(store, child).unwrap();
        let as_of = AsOf {
            on: testkit::date("2026-12-31"),
            known_at: Timestamp::parse_field("t", "2027-01-04T09:00:00Z").unwrap(),
        };
        let summary = ChildSummary::replay(&events, as_of);
        (events, summary)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        /// For any sequence of appends, corrections and erasures: an erasure changes no other child's views
        /// (records, hashes, summary), every erased child stays erased, and the log verifies throughout.
        #[test]
        fn no_childs_views_change_when_another_child_is_erased(ops in proptest::collection::vec(op(), 1..30)) {
            let dir = tempfile::tempdir().unwrap();
            let store = open_sealed(dir.path(), kek(3)).unwrap();
            let name = |c: usize| ChildId::parse(format!("p{c}")).unwrap();
            let mut live: BTreeSet<usize> = BTreeSet::new();
            let mut erased: BTreeSet<usize> = BTreeSet::new();
            let mut latest_contact: Vec<Option<NewEventRef>> = vec![None; 5];
            let mut n = 0usize;
            for op in ops {
                match op {
                    Op::Append { child, contacts } if !erased.contains(&child) => {
                        let mut events = Vec::new();
                        if !live.contains(&child) {
                            events.push(testkit::registered(&format!("p{child}-r"), "2012-02-29"));
                        }
                        for _ in 0..contacts {
                            n += 1;
                            let id = format!("p{child}-{n}");
                            events.push(contact(&id, "2023-05-01"));
                            latest_contact[child] = Some(NewEventRef(id));
                        }
                        block_on(store.append(append(&format!("p{child}"), ExpectedVersion::Any, events))).unwrap();
                        live.insert(child);
                    }
                    Op::Correct { child } if live.contains(&child) => {
                        if let Some(NewEventRef(target)) = latest_contact[child].clone() {
                            n += 1;
                            let replacement = contact(&target, "2023-04-30").payload;
                            let correction = testkit::event(
                                &format!("p{child}-fix{n}"),
                                "2023-05-02",
                                EventPayload::EventCorrected(EventCorrected {
                                    target_event_id: testkit::event_id(&target),
                                    target_occurred_at: None,
                                    replacement: Box::new(replacement),
                                    reason: "recorded against the wrong day".parse().unwrap(),
                                }),
                            );
                            block_on(store.append(append(&format!("p{child}"), ExpectedVersion::Any, vec![correction]))).unwrap();
                        }
                    }
                    Op::Erase { child } if live.contains(&child) => {
                        let others: Vec<usize> = live.iter().copied().filter(|&c| c != child).collect();
                        let before: Vec<_> = others.iter().map(|&c| views(&store, &name(c))).collect();
                        block_on(store.destroy_content(vec![name(child)], testkit::epoch())).unwrap();
                        live.remove(&child);
                        erased.insert(child);
                        for (c, before) in others.iter().zip(before) {
                            prop_assert_eq!(views(&store, &name(*c)), before, "child p{} changed", c);
                        }
                    }
                    // An append or correction to an erased child is refused, and changes nothing.
                    Op::Append { child, .. } | Op::Correct { child } if erased.contains(&child) => {
                        let refused = block_on(store.append(append(&format!("p{child}"), ExpectedVersion::Any, vec![contact(&format!("late{n}"), "2023-05-01")])));
                        let destroyed = matches!(refused, Err(Error::Key(KeyError::Destroyed { .. })));
                        prop_assert!(destroyed, "an append to an erased child was not refused: {:?}", refused);
                    }
                    _ => {}
                }
            }
            for c in &erased {
                let destroyed = matches!(stream(&store, &name(*c)), Err(Error::Key(KeyError::Destroyed { .. })));
                prop_assert!(destroyed, "child p{} reads after erasure", c);
            }
            let report = block_on(store.verify()).unwrap();
            prop_assert!(report.first_broken.is_none());
        }
    }

    #[derive(Clone, Debug)]
    struct NewEventRef(String);
}
