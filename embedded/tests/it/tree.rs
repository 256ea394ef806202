//! The Merkle tree over the embedded log (level files beside it) and the checkpoints log: maintained as
//! records become durable, reopened mid-tile, repaired after a crash, rebuilt when deleted or damaged,
//! checked by `verify`, and the proofs made from it verified with journey-tlog's verifiers.

use std::fs;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::executor::block_on;
use journey_core::ExpectedVersion;
use journey_core::proof::{OriginBase, Proofs};
use journey_core::store::tree::{StoredCheckpoint, TreeStore};
use journey_core::store::{EventStore, LogId};
use journey_core::testkit::{self, append, contact, registered};
use journey_core::tlog::note::KeyName;
use journey_core::tlog::{LeafEntry, NoteSigner, Policy, TreeBuilder};
use journey_core::{Position, Timestamp};
use journey_embedded::{EmbeddedStore, tree_dir, verify_data_dir};

fn open(dir: &Path) -> Arc<EmbeddedStore> {
    Arc::new(EmbeddedStore::open(dir, testkit::clock()).unwrap())
}

/// `children` children of `events` records each, one append per record (one durable group each).
fn fill(store: &EmbeddedStore, from: usize, children: usize, events: usize) {
    for c in from..from + children {
        let child = format!("c{c}");
        block_on(store.append(append(
            &child,
            ExpectedVersion::NoStream,
            vec![registered(&format!("{child}-0"), "2012-02-29")],
        )))
        .unwrap();
        let contacts: Vec<_> = (1..events)
            .map(|e| contact(&format!("{child}-{e}"), "2023-05-01"))
            .collect();
        if !contacts.is_empty() {
            block_on(store.append(append(&child, ExpectedVersion::Any, contacts))).unwrap();
        }
    }
}

/// Waits until the tree holds `size` leaves and is not being rebuilt.
fn wait_for_tree(store: &EmbeddedStore, size: u64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let status = block_on(store.tree_status()).unwrap();
        if status.size == size && status.rebuilding.is_none() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the tree never reached {size}: {status:?}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The root of the tree over the log's records, computed from the records themselves.
fn root_from_log(store: &EmbeddedStore) -> journey_core::tlog::Hash {
    let mut builder = TreeBuilder::new();
    for record in block_on(store.read_all(Position(1), usize::MAX)).unwrap() {
        builder.push(
            LeafEntry {
                stream_hash: record.chain.stream_hash,
                log_hash: record.chain.log_hash,
            }
            .leaf_hash(),
        );
    }
    builder.root()
}

fn proofs(store: &Arc<EmbeddedStore>) -> Proofs {
    let base = OriginBase::parse("journey.test/log").unwrap();
    let origin = base.origin(store.log_id());
    let signer = NoteSigner::from_seed(KeyName::parse(origin.as_str()).unwrap(), &[3; 32]);
    Proofs::new(store.clone(), &base, signer, Vec::new(), testkit::clock()).unwrap()
}

fn tree_root(store: &Arc<EmbeddedStore>, size: u64) -> journey_core::tlog::Hash {
    block_on(proofs(store).root(size)).unwrap()
}

#[test]
fn the_tree_follows_the_log_and_its_proofs_verify() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    fill(&store, 0, 60, 9);
    wait_for_tree(&store, 540);
    assert_eq!(tree_root(&store, 540), root_from_log(&store));
    let proofs = proofs(&store);
    let old = block_on(proofs.sign()).unwrap().checkpoint;
    fill(&store, 60, 20, 5);
    wait_for_tree(&store, 640);
    let new = block_on(proofs.sign()).unwrap().checkpoint;
    assert_eq!((old.size, new.size), (540, 640));
    let consistency = block_on(proofs.consistency(old.size, new.size)).unwrap();
    journey_core::tlog::verify_consistency(old.size, new.size, &old.root, &new.root, &consistency).unwrap();
    let policy = Policy::from_keys(proofs.verifier_key(), Vec::new(), 0).unwrap();
    for position in [1, 255, 256, 257, 540, 640] {
        let proof = block_on(proofs.inclusion(position, None)).unwrap();
        let record = &block_on(store.read_all(Position(position), 1)).unwrap()[0];
        let leaf = LeafEntry {
            stream_hash: record.chain.stream_hash,
            log_hash: record.chain.log_hash,
        }
        .leaf_hash();
        proof.verify(&leaf, &policy).unwrap();
    }
    // Level files: 32 bytes a leaf, and one hash a level up per full tile.
    let tree = tree_dir(dir.path());
    assert_eq!(fs::metadata(tree.join("level-0.hashes")).unwrap().len(), 640 * 32);
    assert_eq!(fs::metadata(tree.join("level-1.hashes")).unwrap().len(), 2 * 32);
    assert!(!tree.join("level-2.hashes").exists());
}

/// A checkpoint signed just after an append is acknowledged covers it: the committer hands a group's leaves
/// to the tree before it answers the appenders, so `sync_tree` asked for afterwards queues behind them.
#[test]
fn sync_tree_after_an_acknowledged_append_covers_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    for n in 1..=300u64 {
        let child = format!("c{n}");
        block_on(store.append(append(
            &child,
            ExpectedVersion::NoStream,
            vec![registered(&format!("{child}-0"), "2012-02-29")],
        )))
        .unwrap();
        assert_eq!(
            block_on(store.sync_tree()).unwrap(),
            n,
            "the tree after append {n}"
        );
    }
}

#[test]
fn a_store_reopened_mid_tile_goes_on_as_if_it_had_never_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    fill(&store, 0, 30, 10);
    wait_for_tree(&store, 300);
    let log_id = store.log_id().clone();
    drop(store);
    let store = open(dir.path());
    assert_eq!(store.log_id(), &log_id);
    wait_for_tree(&store, 300);
    fill(&store, 30, 30, 10);
    wait_for_tree(&store, 600);
    assert_eq!(tree_root(&store, 600), root_from_log(&store));
    assert!(LogId::parse(fs::read_to_string(dir.path().join("log/id")).unwrap().trim()).is_ok());
}

#[test]
fn a_deleted_tree_is_rebuilt_from_the_log_without_holding_up_the_open() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    fill(&store, 0, 50, 10);
    wait_for_tree(&store, 500);
    let checkpoint = block_on(proofs(&store).sign()).unwrap().checkpoint;
    drop(store);
    fs::remove_dir_all(tree_dir(dir.path())).unwrap();
    let store = open(dir.path());
    // The store answers at once; the tree catches up in the background.
    fill(&store, 50, 1, 1);
    wait_for_tree(&store, 501);
    assert_eq!(tree_root(&store, 500), checkpoint.root);
    assert_eq!(tree_root(&store, 501), root_from_log(&store));
}

#[test]
fn what_a_crash_leaves_of_the_level_files_is_repaired() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    fill(&store, 0, 60, 10);
    wait_for_tree(&store, 600);
    drop(store);
    let tree = tree_dir(dir.path());
    // Half a hash written at the end of level 0, the last level-1 hash lost: as an unsynced append leaves.
    let level0 = fs::OpenOptions::new()
        .write(true)
        .open(tree.join("level-0.hashes"))
        .unwrap();
    level0.set_len(590 * 32 + 17).unwrap();
    let level1 = fs::OpenOptions::new()
        .write(true)
        .open(tree.join("level-1.hashes"))
        .unwrap();
    level1.set_len(32).unwrap();
    let store = open(dir.path());
    wait_for_tree(&store, 600);
    assert_eq!(tree_root(&store, 600), root_from_log(&store));
    assert!(
        !dir.path().join("tree.discarded").exists(),
        "repaired, not rebuilt"
    );
}

#[test]
fn a_tree_that_disagrees_with_the_log_or_a_checkpoint_is_moved_aside_and_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    fill(&store, 0, 40, 10);
    wait_for_tree(&store, 400);
    block_on(proofs(&store).sign()).unwrap();
    drop(store);
    // A level-1 hash changed: the root at the last checkpoint's size is not the signed one.
    let level1 = tree_dir(dir.path()).join("level-1.hashes");
    let mut bytes = fs::read(&level1).unwrap();
    bytes[0] ^= 1;
    fs::write(&level1, &bytes).unwrap();
    let store = open(dir.path());
    wait_for_tree(&store, 400);
    assert!(dir.path().join("tree.discarded").exists());
    assert_eq!(tree_root(&store, 400), root_from_log(&store));
    drop(store);
    fs::remove_dir_all(dir.path().join("tree.discarded")).unwrap();

    // One leaf inside a full tile changed: opening checks only the edges, so the proof through it is
    // checked before it is served, fails, and has the tree rebuilt; asked again, it is right.
    let path = tree_dir(dir.path()).join("level-0.hashes");
    let mut bytes = fs::read(&path).unwrap();
    bytes[100 * 32] ^= 1;
    fs::write(&path, &bytes).unwrap();
    let store = open(dir.path());
    wait_for_tree(&store, 400);
    // Position 102's proof starts with its sibling, leaf 100.
    let refused = block_on(proofs(&store).inclusion(102, None)).unwrap_err();
    assert!(
        matches!(refused, journey_core::Error::Unavailable(_)),
        "{refused}"
    );
    wait_for_tree(&store, 400);
    assert!(dir.path().join("tree.discarded").exists());
    block_on(proofs(&store).inclusion(102, None)).unwrap();
    drop(store);
    // The last leaf changed.
    let mut bytes = fs::read(&path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    fs::write(&path, &bytes).unwrap();
    let store = open(dir.path());
    wait_for_tree(&store, 400);
    assert_eq!(tree_root(&store, 400), root_from_log(&store));
}

#[test]
fn checkpoints_and_cosignatures_are_kept_across_opens_and_never_contradicted() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    fill(&store, 0, 10, 3);
    wait_for_tree(&store, 30);
    let signed = block_on(proofs(&store).sign()).unwrap().checkpoint;
    drop(store);
    let store = open(dir.path());
    assert_eq!(block_on(store.latest_checkpoint()).unwrap(), Some(signed.clone()));
    assert_eq!(block_on(store.checkpoint_at(30)).unwrap(), Some(signed.clone()));
    // The same size with another root, or a smaller size, is refused.
    let mut other = signed.clone();
    other.root[0] ^= 1;
    assert!(block_on(store.store_checkpoint(other)).is_err());
    let smaller = StoredCheckpoint {
        size: 29,
        ..signed.clone()
    };
    assert!(block_on(store.store_checkpoint(smaller)).is_err());
    assert_eq!(block_on(store.checkpoints()).unwrap().len(), 1);
}

#[test]
fn verify_rebuilds_the_tree_from_the_log_and_checks_it_and_every_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    fill(&store, 0, 30, 10);
    wait_for_tree(&store, 300);
    block_on(proofs(&store).sign()).unwrap();
    fill(&store, 30, 10, 10);
    wait_for_tree(&store, 400);
    block_on(proofs(&store).sign()).unwrap();
    drop(store);
    let report = verify_data_dir(dir.path(), |_| Ok(Default::default())).unwrap();
    assert!(report.intact, "{report:#?}");
    assert!(report.walked.contains(&"tree".to_owned()) && report.walked.contains(&"checkpoints".to_owned()));
    let check = report.tree.check.unwrap();
    assert_eq!((check.leaves, check.checkpoints_checked), (400, 2));
    assert_eq!(report.checkpoints.latest, Some(400));

    // A changed hash in the level files is found, and named.
    let path = tree_dir(dir.path()).join("level-0.hashes");
    let original = fs::read(&path).unwrap();
    let mut bytes = original.clone();
    bytes[7 * 32 + 3] ^= 1;
    fs::write(&path, &bytes).unwrap();
    let report = verify_data_dir(dir.path(), |_| Ok(Default::default())).unwrap();
    assert!(!report.intact);
    assert!(
        report
            .tree
            .problem
            .as_deref()
            .unwrap()
            .contains("leaf 7 (position 8)"),
        "{:?}",
        report.tree
    );
    fs::write(&path, &original).unwrap();

    // A checkpoint the log does not give: the log is not the one that was signed.
    let store = open(dir.path());
    wait_for_tree(&store, 400);
    fill(&store, 40, 1, 1);
    block_on(store.store_checkpoint(StoredCheckpoint {
        size: 401,
        root: [9; 32],
        note: b"not checked here".to_vec(),
        signed_at: Timestamp::UNIX_EPOCH,
    }))
    .unwrap();
    drop(store);
    let report = verify_data_dir(dir.path(), |_| Ok(Default::default())).unwrap();
    assert!(!report.intact);
    assert!(
        report
            .checkpoints
            .problem
            .as_deref()
            .unwrap()
            .contains("tree size 401"),
        "{:?}",
        report.checkpoints
    );
}
