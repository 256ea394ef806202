//! The tree-store contract: the same cases for every store that keeps the Merkle tree over its log and the
//! checkpoints signed over it ([`TreeStore`], ADR 10), whatever it keeps them in (level files beside the
//! embedded log, tables in PostgreSQL). Run with [`tree_contract_suite!`](crate::tree_contract_suite) and a
//! [`TreeHarness`] that opens (and reopens) a store on one log and can damage its stored tree as someone
//! with write access to the disk or the database could.
//!
//! Like the store contract, the cases drive the stores with `futures::executor::block_on` from plain threads.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::executor::block_on;
use journey_tlog::note::KeyName;
use journey_tlog::{
    Cosigner, Hash, LeafEntry, MemoryHashes, NoteSigner, Policy, SignedCheckpoint, TreeBuilder,
};

use crate::error::{Conflict, Error};
use crate::ids::{ExpectedVersion, Position};
use crate::proof::{OriginBase, Proofs, Witness};
use crate::store::EventStore;
use crate::store::tree::{HashRange, StoredCheckpoint, TreeStore, with_hashes};
use crate::testkit::{self, append, contact, registered};

/// A store with a tree: what the cases open.
pub trait LogWithTree: EventStore + TreeStore {}
impl<T: EventStore + TreeStore + ?Sized> LogWithTree for T {}

pub type DynLogWithTree = Arc<dyn LogWithTree>;

/// Opens stores on one log (a data directory, a database schema), kept for as long as it lives.
pub trait TreeHarness {
    /// A store on the harness's log, as a server opening it finds it. The cases drop the one they had first,
    /// unless they ask for [`TreeHarness::another`].
    fn open(&self) -> DynLogWithTree;
    /// A second handle appending to the same log at the same time as `first`: another store on the same
    /// database, or `first` itself for a store only one process may open.
    fn another(&self, first: &DynLogWithTree) -> DynLogWithTree;
    /// Loses the whole stored tree (its files deleted, its tables dropped), with no handle from
    /// [`TreeHarness::open`] open.
    fn lose_tree(&self);
    /// Flips one bit of the stored leaf hash `index` (level 0), with no handle open.
    fn tamper_with_leaf(&self, index: u64);
}

const BASE: &str = "journey.test/log";

/// The proof service over `store`, with one witness (the cosigner is returned).
fn proofs(store: &DynLogWithTree) -> (Proofs, Cosigner) {
    let base = OriginBase::parse(BASE).expect("a valid base");
    let origin = base.origin(store.log_id());
    let signer = NoteSigner::from_seed(origin.key_name(), &[3; 32]);
    let cosigner = Cosigner::from_seed(KeyName::parse("witness.test/w").expect("a valid name"), &[9; 32]);
    let witness = Witness::new("the witness", &cosigner.verifier_key().to_string()).expect("a valid key");
    let tree: Arc<dyn TreeStore> = store.clone();
    let proofs = Proofs::new(tree, &base, signer, vec![witness], testkit::clock()).expect("the key's name");
    (proofs, cosigner)
}

/// `children` children from number `from` on, `events` records each, in two appends per child.
fn fill(store: &dyn EventStore, from: usize, children: usize, events: usize) {
    for c in from..from + children {
        let child = format!("t{c}");
        block_on(store.append(append(
            &child,
            ExpectedVersion::NoStream,
            vec![registered(&format!("{child}-0"), "2013-04-02")],
        )))
        .expect("the registration");
        let contacts: Vec<_> = (1..events)
            .map(|e| contact(&format!("{child}-{e}"), "2023-05-01"))
            .collect();
        if !contacts.is_empty() {
            block_on(store.append(append(&child, ExpectedVersion::Any, contacts))).expect("the contacts");
        }
    }
}

/// Waits until the tree holds every record of the log and is not being rebuilt.
fn wait_for_tree(store: &dyn LogWithTree) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let head = block_on(store.head())
            .expect("the head")
            .position
            .map_or(0, |p| p.0);
        let status = block_on(store.tree_status()).expect("the tree's status");
        if status.size == head && status.rebuilding.is_none() {
            return head;
        }
        assert!(
            Instant::now() < deadline,
            "the tree never caught up with the log's {head} records: {status:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The log's leaf entries, from its records.
fn entries_from_log(store: &dyn EventStore) -> Vec<LeafEntry> {
    block_on(store.read_all(Position(1), usize::MAX))
        .expect("the log")
        .iter()
        .map(|record| LeafEntry {
            stream_hash: record.chain.stream_hash,
            log_hash: record.chain.log_hash,
        })
        .collect()
}

/// The tree over the first `size` of `entries`, built in memory by journey-tlog.
fn tree_of(entries: &[LeafEntry]) -> MemoryHashes {
    let mut builder = TreeBuilder::new();
    entries.iter().for_each(|e| builder.push(e.leaf_hash()));
    let mut hashes = MemoryHashes::new();
    hashes.apply(&builder.take_appends()).expect("whole levels");
    hashes
}

/// The root of the stored tree at `size`.
fn stored_root(store: &dyn LogWithTree, size: u64) -> Hash {
    block_on(with_hashes(store, |reader| {
        journey_tlog::tree::root(size, &reader)
    }))
    .expect("the stored root")
}

/// Every stored hash of a tree of `size` leaves equals journey-tlog's tree over the log's entries, and so
/// does its root at every size in `sizes`.
fn assert_tree_is_the_logs(store: &dyn LogWithTree, size: u64, sizes: &[u64]) {
    let entries = entries_from_log(store);
    assert_eq!(entries.len() as u64, size);
    let expected = tree_of(&entries);
    let levels = journey_tlog::tree::level_count(size);
    let ranges: Vec<HashRange> = (0..levels as u8)
        .map(|level| HashRange {
            level,
            start: 0,
            count: journey_tlog::tree::level_len(level, size) as usize,
        })
        .collect();
    let stored = block_on(store.read_hashes(ranges)).expect("the stored levels");
    for (level, hashes) in stored.iter().enumerate() {
        let wanted = expected.level(level as u8);
        assert_eq!(hashes.len(), wanted.len(), "level {level}'s length");
        if let Some(index) = (0..wanted.len()).find(|&i| hashes[i] != wanted[i]) {
            panic!("the stored tree's level {level} hash {index} is not the one the log gives");
        }
    }
    for &at in sizes {
        assert_eq!(
            stored_root(store, at),
            journey_tlog::tree::root(at, &expected).expect("the log's root"),
            "the root at tree size {at}"
        );
    }
}

/// The stored tree is journey-tlog's tree over the log's entries, level by level; the entries it serves
/// are the log's; checkpoints signed over it are consistent, and inclusion proofs from it verify.
pub fn the_tree_follows_the_log_and_its_proofs_verify<H: TreeHarness>(h: H) {
    let store = h.open();
    fill(&*store, 0, 70, 10);
    let size = wait_for_tree(&*store);
    assert_eq!(size, 700);
    assert_tree_is_the_logs(&*store, 700, &[1, 255, 256, 257, 512, 699, 700]);
    let entries = entries_from_log(&*store);
    assert_eq!(
        block_on(store.read_leaf_entries(Position(250), 20)).unwrap(),
        entries[249..269].to_vec()
    );
    assert!(
        block_on(store.read_hashes(vec![HashRange {
            level: 0,
            start: 690,
            count: 11,
        }]))
        .is_err(),
        "a range past the stored tree fails"
    );

    let (proofs, _) = proofs(&store);
    let old = block_on(proofs.sign()).unwrap().checkpoint;
    fill(&*store, 70, 60, 5);
    assert_eq!(wait_for_tree(&*store), 1000);
    let new = block_on(proofs.sign()).unwrap().checkpoint;
    assert_eq!((old.size, new.size), (700, 1000));
    assert_tree_is_the_logs(&*store, 1000, &[700, 768, 1000]);
    let consistency = block_on(proofs.consistency(old.size, new.size)).unwrap();
    journey_tlog::verify_consistency(old.size, new.size, &old.root, &new.root, &consistency).unwrap();
    let policy = Policy::from_keys(proofs.verifier_key(), Vec::new(), 0).unwrap();
    let entries = entries_from_log(&*store);
    for position in [1u64, 255, 256, 257, 700, 701, 1000] {
        let proof = block_on(proofs.inclusion(position, None)).unwrap();
        proof
            .verify(&entries[position as usize - 1].leaf_hash(), &policy)
            .unwrap_or_else(|e| panic!("position {position}: {e}"));
    }
}

/// A tree lost whole is rebuilt from the log: the same root as the checkpoint signed before, and it goes on
/// growing with the log.
pub fn a_lost_tree_is_rebuilt_from_the_log<H: TreeHarness>(h: H) {
    let store = h.open();
    fill(&*store, 0, 50, 10);
    wait_for_tree(&*store);
    let checkpoint = block_on(proofs(&store).0.sign()).unwrap().checkpoint;
    let log_id = store.log_id().clone();
    drop(store);
    h.lose_tree();
    let store = h.open();
    assert_eq!(store.log_id(), &log_id, "the log's identity is not the tree's");
    fill(&*store, 50, 1, 1);
    assert_eq!(wait_for_tree(&*store), 501);
    assert_eq!(stored_root(&*store, 500), checkpoint.root);
    assert_tree_is_the_logs(&*store, 501, &[500, 501]);
    let signed = block_on(proofs(&store).0.sign()).unwrap();
    assert!(signed.new && signed.checkpoint.size == 501);
}

/// A stored hash changed behind the store's back is found, and the tree rebuilt from the log: a leaf inside
/// a full tile when a proof through it does not verify (the proof is refused, "try again later"), a leaf
/// the last checkpoint's root covers when the store opens, and the last leaf as soon as the store looks at
/// the tree's edge.
pub fn a_tampered_hash_is_found_and_the_tree_rebuilt<H: TreeHarness>(h: H) {
    let store = h.open();
    fill(&*store, 0, 40, 10);
    wait_for_tree(&*store);
    block_on(proofs(&store).0.sign()).unwrap();
    drop(store);

    h.tamper_with_leaf(100);
    let store = h.open();
    wait_for_tree(&*store);
    let (proofs_now, _) = proofs(&store);
    // Position 102's proof starts with its sibling, leaf 100.
    let refused = block_on(proofs_now.inclusion(102, None)).unwrap_err();
    assert!(matches!(refused, Error::Unavailable(_)), "{refused}");
    wait_for_tree(&*store);
    let policy = Policy::from_keys(proofs_now.verifier_key(), Vec::new(), 0).unwrap();
    let entries = entries_from_log(&*store);
    block_on(proofs_now.inclusion(102, None))
        .unwrap()
        .verify(&entries[101].leaf_hash(), &policy)
        .unwrap();
    assert_tree_is_the_logs(&*store, 400, &[400]);
    drop((proofs_now, store));

    // Leaf 300 is in the last checkpoint's partial edge tile: the root at that checkpoint's size, checked as
    // the store opens, reads it.
    h.tamper_with_leaf(300);
    let store = h.open();
    wait_for_tree(&*store);
    assert_tree_is_the_logs(&*store, 400, &[400]);
    fill(&*store, 40, 1, 3);
    assert_eq!(wait_for_tree(&*store), 403);
    drop(store);

    // The last leaf, past every checkpoint: the tree's edge no longer matches the log's last record.
    h.tamper_with_leaf(402);
    let store = h.open();
    wait_for_tree(&*store);
    assert_tree_is_the_logs(&*store, 403, &[400, 403]);
    fill(&*store, 41, 1, 2);
    assert_eq!(wait_for_tree(&*store), 405);
    assert_tree_is_the_logs(&*store, 405, &[400, 405]);
    assert!(block_on(proofs(&store).0.sign()).unwrap().new);
}

/// Checkpoints and cosignatures are kept across opens exactly as stored, and a checkpoint that contradicts
/// a stored one is refused; the log's id stays.
pub fn checkpoints_and_cosignatures_are_kept_across_opens<H: TreeHarness>(h: H) {
    let store = h.open();
    fill(&*store, 0, 10, 3);
    wait_for_tree(&*store);
    let (proofs_then, cosigner) = proofs(&store);
    let first = block_on(proofs_then.sign()).unwrap().checkpoint;
    fill(&*store, 10, 5, 2);
    wait_for_tree(&*store);
    let second = block_on(proofs_then.sign()).unwrap().checkpoint;
    let signed = SignedCheckpoint::parse(&first.note).unwrap();
    let mut note = signed.clone();
    note.add_signature(cosigner.cosign(signed.checkpoint(), 1_700_000_000).unwrap())
        .unwrap();
    let accepted = block_on(proofs_then.receive_cosignatures(&note.to_bytes(), None)).unwrap();
    assert_eq!(accepted.stored, vec!["the witness".to_owned()]);
    let cosignatures = block_on(store.cosignatures(30)).unwrap();
    assert_eq!(cosignatures.len(), 1);
    assert_eq!(cosignatures[0].timestamp, 1_700_000_000);
    let log_id = store.log_id().clone();
    drop((proofs_then, store));

    let store = h.open();
    assert_eq!(store.log_id(), &log_id);
    assert_eq!(block_on(store.latest_checkpoint()).unwrap(), Some(second.clone()));
    assert_eq!(block_on(store.checkpoint_at(30)).unwrap(), Some(first.clone()));
    assert_eq!(block_on(store.checkpoint_at(31)).unwrap(), None);
    assert_eq!(
        block_on(store.checkpoints()).unwrap(),
        vec![first.clone(), second.clone()]
    );
    assert_eq!(
        block_on(store.latest_cosigned(u64::MAX)).unwrap(),
        Some(first.clone())
    );
    assert_eq!(block_on(store.latest_cosigned(29)).unwrap(), None);
    assert_eq!(block_on(store.cosignatures(30)).unwrap(), cosignatures);
    assert!(block_on(store.cosignatures(40)).unwrap().is_empty());
    assert!(!block_on(store.store_cosignature(cosignatures[0].clone())).unwrap());

    // The same checkpoint again changes nothing; another root at a stored size, or a smaller size, is
    // refused.
    assert_eq!(block_on(store.store_checkpoint(second.clone())).unwrap(), second);
    let mut other_root = second.clone();
    other_root.root[0] ^= 1;
    assert!(matches!(
        block_on(store.store_checkpoint(other_root)),
        Err(Error::Conflict(Conflict::CheckpointRootDiffers { size: 40 }))
    ));
    let behind = StoredCheckpoint {
        size: 35,
        ..second.clone()
    };
    assert!(matches!(
        block_on(store.store_checkpoint(behind)),
        Err(Error::Conflict(Conflict::CheckpointBehind {
            stored: 40,
            new: 35
        }))
    ));
    assert_eq!(block_on(store.checkpoints()).unwrap().len(), 2);
    // The served checkpoint carries the witness's cosignature.
    let (proofs_now, _) = proofs(&store);
    let served = block_on(proofs_now.at(30)).unwrap().unwrap();
    assert_eq!(served.to_bytes(), note.to_bytes());
}

/// Two handles appending at once, and signing at once, while the tree is maintained: one tree, the log's,
/// without gaps; every checkpoint signed is the log's root at its size, and none made the tree be rebuilt.
pub fn concurrent_appenders_give_one_gap_free_tree<H: TreeHarness>(h: H) {
    let a = h.open();
    let b = h.another(&a);
    wait_for_tree(&*a);
    wait_for_tree(&*b);
    let stores = [a.clone(), b.clone()];
    let signers = [proofs(&a).0, proofs(&b).0];
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        let writers: Vec<_> = (0..4)
            .map(|w| {
                let store = stores[w % 2].clone();
                scope.spawn(move || fill(&*store, w * 1000, 25, 4))
            })
            .collect();
        let signing: Vec<_> = signers
            .iter()
            .map(|proofs| {
                let done = &done;
                scope.spawn(move || {
                    while !done.load(std::sync::atomic::Ordering::Acquire) {
                        match block_on(proofs.sign()) {
                            Ok(_) => {}
                            // The other handle stored a larger checkpoint between this one's reading the tree
                            // and its storing: refused by the store, as it must be.
                            Err(Error::Conflict(Conflict::CheckpointBehind { .. })) => {}
                            Err(e) => panic!("signing while the log grows: {e}"),
                        }
                        std::thread::sleep(Duration::from_millis(5));
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.join().expect("a writer");
        }
        done.store(true, std::sync::atomic::Ordering::Release);
        for signer in signing {
            signer.join().expect("a signer");
        }
    });
    assert_eq!(wait_for_tree(&*a), 400);
    assert_eq!(wait_for_tree(&*b), 400);
    assert_tree_is_the_logs(&*a, 400, &[400]);
    assert_tree_is_the_logs(&*b, 400, &[400]);
    let last = block_on(signers[1].sign()).unwrap().checkpoint;
    assert_eq!(last.size, 400);
    let expected = tree_of(&entries_from_log(&*a));
    let checkpoints = block_on(a.checkpoints()).unwrap();
    assert_eq!(block_on(b.checkpoints()).unwrap(), checkpoints);
    for checkpoint in &checkpoints {
        assert_eq!(
            checkpoint.root,
            journey_tlog::tree::root(checkpoint.size, &expected).unwrap(),
            "the checkpoint at tree size {}",
            checkpoint.size
        );
    }
}

/// One `#[test]` per tree-contract case, in a module named `$name`. `$make` returns `Some(harness)`, or
/// `None` when the store cannot be tested here (the maker says so on stderr) and the test is skipped.
#[macro_export]
macro_rules! tree_contract_suite {
    ($name:ident, $make:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            use $crate::testkit::tree_contract as cases;

            fn harness() -> Option<impl cases::TreeHarness> {
                #[allow(clippy::redundant_closure_call)]
                ($make)()
            }

            #[test]
            fn the_tree_follows_the_log_and_its_proofs_verify() {
                let Some(h) = harness() else { return };
                cases::the_tree_follows_the_log_and_its_proofs_verify(h);
            }
            #[test]
            fn a_lost_tree_is_rebuilt_from_the_log() {
                let Some(h) = harness() else { return };
                cases::a_lost_tree_is_rebuilt_from_the_log(h);
            }
            #[test]
            fn a_tampered_hash_is_found_and_the_tree_rebuilt() {
                let Some(h) = harness() else { return };
                cases::a_tampered_hash_is_found_and_the_tree_rebuilt(h);
            }
            #[test]
            fn checkpoints_and_cosignatures_are_kept_across_opens() {
                let Some(h) = harness() else { return };
                cases::checkpoints_and_cosignatures_are_kept_across_opens(h);
            }
            #[test]
            fn concurrent_appenders_give_one_gap_free_tree() {
                let Some(h) = harness() else { return };
                cases::concurrent_appenders_give_one_gap_free_tree(h);
            }
        }
    };
}
