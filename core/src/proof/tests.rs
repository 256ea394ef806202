use std::sync::Arc;

use futures::executor::block_on;
use journey_tlog::note::KeyName;
use journey_tlog::{Cosigner, EMPTY_ROOT, NoteSigner, Policy};

use super::bundle::{later_body, verify_bundle};
use super::*;
use crate::ExpectedVersion;
use crate::store::{EventStore, InMemoryStore};
use crate::testkit;

const BASE: &str = "journey.test/log";

fn base() -> OriginBase {
    OriginBase::parse(BASE).unwrap()
}

fn signer_for(store: &InMemoryStore) -> NoteSigner {
    let origin = base().origin(store.log_id());
    NoteSigner::from_seed(origin.key_name(), &[7; 32])
}

fn witness(name: &str, seed: u8) -> (Cosigner, Witness) {
    let cosigner = Cosigner::from_seed(KeyName::parse(format!("{name}.test/w")).unwrap(), &[seed; 32]);
    let witness = Witness::new(name, &cosigner.verifier_key().to_string()).unwrap();
    (cosigner, witness)
}

struct Setup {
    store: Arc<InMemoryStore>,
    proofs: Proofs,
    witnesses: Vec<Cosigner>,
    clock: Arc<crate::ManualClock>,
}

fn setup(witness_count: usize) -> Setup {
    let clock = testkit::clock();
    let store = Arc::new(InMemoryStore::new(clock.clone()));
    let (cosigners, witnesses): (Vec<_>, Vec<_>) = (0..witness_count)
        .map(|i| witness(&format!("w{i}"), 20 + i as u8))
        .unzip();
    let proofs = Proofs::new(
        store.clone(),
        &base(),
        signer_for(&store),
        witnesses,
        clock.clone(),
    )
    .unwrap();
    Setup {
        store,
        proofs,
        witnesses: cosigners,
        clock,
    }
}

/// Appends a child with `records` records (registration and contacts).
fn record_child(store: &InMemoryStore, child: &str, records: usize) {
    let mut events = vec![testkit::registered(&format!("{child}-reg"), "2015-03-01")];
    for i in 1..records {
        events.push(testkit::contact(&format!("{child}-c{i}"), "2024-01-01"));
    }
    for (i, event) in events.into_iter().enumerate() {
        let expected = if i == 0 {
            ExpectedVersion::NoStream
        } else {
            ExpectedVersion::Exact(crate::Version(i as u64))
        };
        block_on(store.append(testkit::append(child, expected, vec![event]))).unwrap();
    }
}

fn cosign(setup: &Setup, witness: usize, size: u64, at: u64) -> String {
    let stored = block_on(setup.store.checkpoint_at(size)).unwrap().unwrap();
    let signed = SignedCheckpoint::parse(&stored.note).unwrap();
    let line = setup.witnesses[witness].cosign(signed.checkpoint(), at).unwrap();
    let mut note = signed.clone();
    note.add_signature(line).unwrap();
    note.to_string()
}

fn policy(setup: &Setup, quorum: usize) -> Policy {
    Policy::from_keys(
        setup.proofs.verifier_key(),
        setup
            .proofs
            .witnesses()
            .iter()
            .map(|w| (w.name.clone(), w.key.clone()))
            .collect(),
        quorum,
    )
    .unwrap()
}

#[test]
fn checkpoints_are_signed_as_the_tree_grows_and_never_twice_for_one_size() {
    let s = setup(0);
    let empty = block_on(s.proofs.sign()).unwrap();
    assert!(empty.new);
    assert_eq!((empty.checkpoint.size, empty.checkpoint.root), (0, EMPTY_ROOT));
    record_child(&s.store, "child-a", 3);
    let first = block_on(s.proofs.sign()).unwrap();
    assert!(first.new);
    assert_eq!(first.checkpoint.size, 3);
    let signed = SignedCheckpoint::open(&first.checkpoint.note, &s.proofs.verifier_key()).unwrap();
    assert_eq!(
        signed.checkpoint().origin.as_str(),
        format!("{BASE}/0000000000000000")
    );
    let again = block_on(s.proofs.sign()).unwrap();
    assert!(!again.new);
    assert_eq!(again.checkpoint, first.checkpoint);
    record_child(&s.store, "child-b", 2);
    let second = block_on(s.proofs.sign()).unwrap();
    assert_eq!(second.checkpoint.size, 5);
    assert_eq!(block_on(s.store.checkpoints()).unwrap().len(), 3);
}

#[test]
fn a_key_not_named_after_the_origin_is_refused() {
    let clock = testkit::clock();
    let store = Arc::new(InMemoryStore::new(clock.clone()));
    let signer = NoteSigner::from_seed(KeyName::parse("journey.test/log/other").unwrap(), &[1; 32]);
    let error = Proofs::new(store, &base(), signer, Vec::new(), clock).unwrap_err();
    assert!(error.to_string().contains("checkpoint.signing_key"), "{error}");
    for bad in ["", "https://x/log", "x/log/", "x log", "x+log"] {
        assert!(OriginBase::parse(bad).is_err(), "{bad:?}");
    }
}

/// A log signs with one key: a service over the same log with another key (a second server configured
/// with a key of its own, or the on-demand signing route on it) refuses to sign, naming the setting.
#[test]
fn a_log_whose_last_checkpoint_another_key_signed_is_not_signed_again() {
    let s = setup(0);
    record_child(&s.store, "child-a", 3);
    block_on(s.proofs.sign()).unwrap();
    let other_key = NoteSigner::from_seed(base().origin(s.store.log_id()).key_name(), &[8; 32]);
    let other = Proofs::new(s.store.clone(), &base(), other_key, Vec::new(), s.clock.clone()).unwrap();
    let refused = block_on(other.check_signer()).unwrap_err();
    assert!(
        refused.to_string().contains("checkpoint.signing_key"),
        "{refused}"
    );
    record_child(&s.store, "child-b", 2);
    let refused = block_on(other.sign()).unwrap_err();
    assert!(
        refused.to_string().contains("signed with another key"),
        "{refused}"
    );
    assert_eq!(
        block_on(s.store.checkpoints()).unwrap().len(),
        1,
        "nothing stored"
    );
    block_on(s.proofs.check_signer()).unwrap();
    assert_eq!(block_on(s.proofs.sign()).unwrap().checkpoint.size, 5);
}

#[test]
fn a_damaged_tree_is_rebuilt_before_signing_and_a_changed_log_is_never_signed() {
    let s = setup(0);
    record_child(&s.store, "child-a", 4);
    block_on(s.proofs.sign()).unwrap();
    record_child(&s.store, "child-b", 2);
    // The stored tree is damaged below the last checkpoint: refused, rebuilt, then signed.
    s.store.tamper_with_tree(1);
    let refused = block_on(s.proofs.sign()).unwrap_err();
    assert!(matches!(refused, Error::Unavailable(_)), "{refused}");
    assert!(
        refused
            .to_string()
            .contains("does not extend the checkpoint signed at tree size 4")
    );
    assert_eq!(block_on(s.proofs.sign()).unwrap().checkpoint.size, 6);

    // Another log under the same identity, given this log's last checkpoint: its tree does not extend it,
    // and rebuilding does not help.
    let other = Arc::new(InMemoryStore::new(s.clock.clone()));
    record_child(&other, "child-x", 7);
    let last = block_on(s.store.latest_checkpoint()).unwrap().unwrap();
    block_on(other.store_checkpoint(last)).unwrap();
    let proofs = Proofs::new(
        other.clone(),
        &base(),
        signer_for(&other),
        Vec::new(),
        s.clock.clone(),
    )
    .unwrap();
    assert!(matches!(block_on(proofs.sign()), Err(Error::Unavailable(_))));
    let refused = block_on(proofs.sign()).unwrap_err();
    assert!(
        matches!(refused, Error::Conflict(Conflict::NotConsistent { size: 6, .. })),
        "{refused}"
    );
    assert_eq!(block_on(other.checkpoints()).unwrap().len(), 1);
}

#[test]
fn cosignatures_of_configured_witnesses_are_verified_stored_and_served() {
    let s = setup(2);
    record_child(&s.store, "child-a", 3);
    block_on(s.proofs.sign()).unwrap();
    // As a witness serves it: the checkpoint note with its cosignature.
    let body = cosign(&s, 0, 3, 1_700_000_000);
    let accepted = block_on(s.proofs.receive_cosignatures(body.as_bytes(), None)).unwrap();
    assert_eq!(
        (accepted.stored.clone(), accepted.ignored),
        (vec!["w0".to_owned()], 1)
    );
    let again = block_on(s.proofs.receive_cosignatures(body.as_bytes(), None)).unwrap();
    assert_eq!(again.already_stored, ["w0"]);
    // Bare lines, of the latest checkpoint.
    let line = cosign(&s, 1, 3, 1_700_000_100);
    let bare = line.lines().last().unwrap().to_owned() + "\n";
    block_on(s.proofs.receive_cosignatures(bare.as_bytes(), None)).unwrap();
    let served = block_on(s.proofs.latest()).unwrap().unwrap();
    let verified = journey_tlog::verify_checkpoint_with_policy(&served, &policy(&s, 2)).unwrap();
    let mut names: Vec<_> = verified.cosignatures.iter().map(|c| c.witness.clone()).collect();
    names.sort();
    assert_eq!(names, ["w0", "w1"]);
    let provenance = block_on(
        s.proofs
            .provenance(&block_on(s.store.checkpoint_at(3)).unwrap().unwrap()),
    )
    .unwrap();
    assert_eq!(provenance.cosigned[0].witness, "w0");
    assert_eq!(provenance.cosigned[0].timestamp, 1_700_000_000);

    // A configured witness's line that does not verify refuses the request; so does an unknown witness
    // alone, a checkpoint this log did not sign, and one that is not this log's.
    let mut broken = body.clone().into_bytes();
    let at = broken.len() - 10;
    broken[at] = if broken[at] == b'A' { b'B' } else { b'A' };
    assert!(block_on(s.proofs.receive_cosignatures(&broken, None)).is_err());
    let (stranger, _) = witness("stranger", 99);
    let stored = block_on(s.store.checkpoint_at(3)).unwrap().unwrap();
    let mut signed = SignedCheckpoint::parse(&stored.note).unwrap();
    signed
        .add_signature(stranger.cosign(signed.checkpoint(), 1).unwrap())
        .unwrap();
    let error = block_on(s.proofs.receive_cosignatures(signed.to_string().as_bytes(), None)).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("no cosignature of a configured witness"),
        "{error}"
    );
    let forged = body.replacen("\n3\n", "\n2\n", 1);
    assert!(matches!(
        block_on(s.proofs.receive_cosignatures(forged.as_bytes(), None)),
        Err(Error::NotFound(_))
    ));
}

#[test]
fn proofs_and_tiles_from_the_service_verify_with_the_tlog_verifiers() {
    let s = setup(0);
    for c in 0..40 {
        record_child(&s.store, &format!("child-{c}"), 8);
    }
    let old = block_on(s.proofs.sign()).unwrap().checkpoint;
    for c in 40..70 {
        record_child(&s.store, &format!("child-{c}"), 7);
    }
    let new = block_on(s.proofs.sign()).unwrap().checkpoint;
    assert_eq!((old.size, new.size), (320, 530));
    let proof = block_on(s.proofs.consistency(old.size, new.size)).unwrap();
    journey_tlog::verify_consistency(old.size, new.size, &old.root, &new.root, &proof).unwrap();
    for position in [1, 256, 257, 320, 530] {
        let record = block_on(s.proofs.inclusion(position, None)).unwrap();
        let leaf = record.entry().unwrap().leaf_hash();
        let verified = record.verify(&leaf, &policy(&s, 0)).unwrap();
        assert_eq!(verified.checkpoint.size, 530);
    }
    let at_old = block_on(s.proofs.inclusion(5, Some(320))).unwrap();
    assert_eq!(at_old.checkpoint.checkpoint().size, 320);
    assert!(block_on(s.proofs.inclusion(400, Some(320))).is_err());
    assert!(matches!(
        block_on(s.proofs.inclusion(5, Some(321))),
        Err(Error::NotFound(_))
    ));
    assert!(block_on(s.proofs.consistency(10, 531)).is_err());

    // The level-0 tile holds the leaf hashes of the entries the entry bundle holds.
    let tile = block_on(s.proofs.tile(&TilePath::parse("tile/0/000").unwrap())).unwrap();
    let entries = block_on(s.proofs.tile(&TilePath::parse("tile/entries/000").unwrap())).unwrap();
    let decoded = journey_tlog::tiles::decode_entry_bundle(&entries).unwrap();
    assert_eq!((tile.len(), decoded.len()), (256 * 32, 256));
    for (i, entry) in decoded.iter().enumerate() {
        assert_eq!(journey_tlog::leaf_hash(entry), tile[i * 32..(i + 1) * 32]);
    }
    let partial = block_on(s.proofs.tile(&TilePath::parse("tile/0/002.p/18").unwrap())).unwrap();
    assert_eq!(partial.len(), 18 * 32);
    let level1 = block_on(s.proofs.tile(&TilePath::parse("tile/1/000.p/2").unwrap())).unwrap();
    assert_eq!(level1.len(), 64);
    assert!(matches!(
        block_on(s.proofs.tile(&TilePath::parse("tile/0/002.p/19").unwrap())),
        Err(Error::NotFound(_))
    ));
}

#[test]
fn an_erased_body_breaks_no_proof_because_a_leaf_commits_to_hashes_only() {
    let s = setup(0);
    record_child(&s.store, "child-a", 5);
    let checkpoint = block_on(s.proofs.sign()).unwrap().checkpoint;
    let before = block_on(s.proofs.inclusion(3, None)).unwrap();
    // The body's bytes are destroyed (its key shredded, say); its 64 hash bytes stay.
    s.store
        .tamper_with_body(crate::Position(3), |body| body.iter_mut().for_each(|b| *b = 0));
    let after = block_on(s.proofs.inclusion(3, None)).unwrap();
    assert_eq!(before, after);
    after
        .verify(&after.entry().unwrap().leaf_hash(), &policy(&s, 0))
        .unwrap();
    assert_eq!(block_on(s.proofs.root(5)).unwrap(), checkpoint.root);
}

#[test]
fn a_bundle_verifies_offline_against_a_policy_and_a_later_checkpoint() {
    let s = setup(2);
    record_child(&s.store, "child-a", 4);
    record_child(&s.store, "child-b", 3);
    block_on(s.proofs.sign()).unwrap();
    for w in 0..2 {
        block_on(
            s.proofs
                .receive_cosignatures(cosign(&s, w, 7, 1_700_000_000 + w as u64).as_bytes(), None),
        )
        .unwrap();
    }
    // A record after the witnessed checkpoint, in a newer one not yet witnessed.
    block_on(s.store.append(testkit::append(
        "child-a",
        ExpectedVersion::Exact(crate::Version(4)),
        vec![testkit::contact("child-a-late", "2024-01-01")],
    )))
    .unwrap();
    block_on(s.proofs.sign()).unwrap();
    let mut export = block_on(s.store.export_stream(testkit::child("child-a"))).unwrap();
    block_on(s.proofs.attach(&mut export)).unwrap();
    let tlog = export.tlog.clone().unwrap();
    assert_eq!(tlog.checkpoints.len(), 2);
    assert!(tlog.summary.contains("cosigned by w0, w1"), "{}", tlog.summary);
    assert!(tlog.summary.contains("not yet cosigned"), "{}", tlog.summary);
    // Hashes only: nothing of child-b's records is in the bundle but hashes.
    let json = serde_json::to_string(&export).unwrap();
    assert!(!json.contains("child-b"));

    // Witnessed records pass a quorum of two; the newest is in an unwitnessed checkpoint, so the policy
    // that asks for witnesses refuses it, naming the tree size.
    let error = verify_bundle(&export, &policy(&s, 2), None).unwrap_err();
    assert!(error.to_string().contains("tree size 8"), "{error}");
    let report = verify_bundle(&export, &policy(&s, 0), None).unwrap();
    assert_eq!(report.checkpoints.len(), 2);
    assert_eq!(report.checkpoints[0].positions, [1, 2, 3, 4]);
    assert_eq!(report.checkpoints[1].positions, [8]);

    // Consistent with a later checkpoint; not with a rolled-back or rewritten one.
    record_child(&s.store, "child-c", 2);
    let later = block_on(s.proofs.sign()).unwrap().checkpoint;
    let proof = block_on(s.proofs.consistency(8, later.size)).unwrap();
    let body = later_body(8, proof, SignedCheckpoint::parse(&later.note).unwrap());
    let report = verify_bundle(&export, &policy(&s, 0), Some(&body)).unwrap();
    assert_eq!(report.later.unwrap().size, 10);
    let smaller = block_on(s.store.checkpoint_at(7)).unwrap().unwrap();
    let rollback = later_body(8, Vec::new(), SignedCheckpoint::parse(&smaller.note).unwrap());
    let error = verify_bundle(&export, &policy(&s, 0), Some(&rollback)).unwrap_err();
    assert!(error.to_string().contains("rolled back"), "{error}");
    let mut bad_proof = block_on(s.proofs.consistency(8, later.size)).unwrap();
    bad_proof[0][0] ^= 1;
    let bad = later_body(8, bad_proof, SignedCheckpoint::parse(&later.note).unwrap());
    let error = verify_bundle(&export, &policy(&s, 0), Some(&bad)).unwrap_err();
    assert!(error.to_string().contains("tree size 8"), "{error}");

    // A changed proof hash, or a record moved, is refused naming the checkpoint.
    let mut tampered = export.clone();
    let text = tampered.records[1].tlog_proof.clone().unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let mut hash = lines[3].to_owned();
    hash.replace_range(0..1, if hash.starts_with('A') { "B" } else { "A" });
    tampered.records[1].tlog_proof = Some(text.replacen(lines[3], &hash, 1));
    let error = verify_bundle(&tampered, &policy(&s, 0), None).unwrap_err();
    assert!(error.to_string().contains("tree size 7"), "{error}");
    let mut unproven = export.clone();
    unproven.records[0].tlog_proof = None;
    assert!(verify_bundle(&unproven, &policy(&s, 0), None).is_err());
}

#[test]
fn an_export_taken_before_any_checkpoint_says_so() {
    let s = setup(0);
    record_child(&s.store, "child-a", 2);
    let mut export = block_on(s.store.export_stream(testkit::child("child-a"))).unwrap();
    block_on(s.proofs.attach(&mut export)).unwrap();
    let tlog = export.tlog.clone().unwrap();
    assert!(tlog.checkpoints.is_empty());
    assert!(tlog.summary.contains("no checkpoint covers"), "{}", tlog.summary);
    assert!(verify_bundle(&export, &policy(&s, 0), None).is_err());
}

#[test]
fn the_provenance_of_a_record_is_said_in_words() {
    let s = setup(2);
    record_child(&s.store, "child-a", 3);
    let signed = block_on(s.proofs.sign()).unwrap().checkpoint;
    let words = block_on(s.proofs.provenance(&signed)).unwrap().in_words();
    assert!(
        words.starts_with(&format!(
            "Proven in log {BASE}/0000000000000000 at tree size 3 (root "
        )),
        "{words}"
    );
    assert!(words.ends_with(", not yet cosigned by any witness."), "{words}");
    for (witness, at) in [(0, 1_700_000_000), (1, 1_700_000_060)] {
        let body = cosign(&s, witness, 3, at);
        block_on(s.proofs.receive_cosignatures(body.as_bytes(), None)).unwrap();
    }
    let words = block_on(s.proofs.provenance(&signed)).unwrap().in_words();
    let first = Timestamp::from_micros(1_700_000_000_000_000).unwrap();
    let second = Timestamp::from_micros(1_700_000_060_000_000).unwrap();
    assert!(
        words.ends_with(&format!(", cosigned by w0 at {first} and w1 at {second}.")),
        "{words}"
    );
}
