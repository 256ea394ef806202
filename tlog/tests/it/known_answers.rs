//! Byte-for-byte agreement with what others produced and verified.
//!
//! `tests/fixtures/toy/` is a toy log of 1,000 entries (`record <i>\n`) built with Python's hashlib and
//! signed with the `cryptography` package (log key seed 32 × 0x01, witness key seed 32 × 0x02, cosigned at
//! 1767000000), and verified with Go's `golang.org/x/mod/sumdb/{note,tlog}` and Python's aics-tlog: its
//! checkpoints at sizes 700 and 1,000 with a cosignature each, an inclusion proof of leaf 517, a consistency
//! proof 700 → 1,000, and the C2SP tiles of both sizes. Journey must reproduce every byte. The Go vectors
//! are from `golang.org/x/mod/sumdb/note`'s documentation, the signed-note one from c2sp.org/signed-note.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use journey_tlog::hash::{Hash, leaf_hash};
use journey_tlog::tiles::{self, TileKind, TilePath};
use journey_tlog::tree::{self, HashReader};
use journey_tlog::{
    Checkpoint, Cosigner, KeyName, Note, NoteSigner, Origin, Policy, RecordProof, SignedCheckpoint,
    TreeBuilder, VerifierKey, verify_consistency, verify_inclusion,
};
use journey_tlog::{MemoryHashes, cosignature};

fn toy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/toy")
}

fn toy(name: &str) -> Vec<u8> {
    std::fs::read(toy_dir().join(name)).unwrap()
}

fn toy_text(name: &str) -> String {
    String::from_utf8(toy(name)).unwrap()
}

fn b64_hash(text: &str) -> Hash {
    STANDARD.decode(text).unwrap().try_into().unwrap()
}

const ORIGIN: &str = "journey.example/toy-log";
const WITNESS: &str = "witness.example/w1";
const COSIGNED_AT: u64 = 1_767_000_000;

fn toy_tree() -> (TreeBuilder, MemoryHashes) {
    let mut builder = TreeBuilder::new();
    let mut stored = MemoryHashes::new();
    for i in 0..1000 {
        builder.push(leaf_hash(format!("record {i}\n").as_bytes()));
        if i == 699 {
            stored.apply(&builder.take_appends()).unwrap();
        }
    }
    stored.apply(&builder.take_appends()).unwrap();
    (builder, stored)
}

fn log_signer() -> NoteSigner {
    NoteSigner::from_seed(KeyName::parse(ORIGIN).unwrap(), &[1; 32])
}

fn cosigner() -> Cosigner {
    Cosigner::from_seed(KeyName::parse(WITNESS).unwrap(), &[2; 32])
}

#[test]
fn the_toy_trees_roots_and_proofs_are_the_ones_go_and_python_verified() {
    let (builder, stored) = toy_tree();
    let new = SignedCheckpoint::parse(&toy("checkpoint")).unwrap();
    let old = SignedCheckpoint::parse(&toy("checkpoint.old")).unwrap();
    assert_eq!(builder.root(), new.checkpoint().root);
    assert_eq!(tree::root(1000, &stored).unwrap(), new.checkpoint().root);
    assert_eq!(tree::root(700, &stored).unwrap(), old.checkpoint().root);

    let inclusion = toy_text("inclusion.proof");
    let lines: Vec<&str> = inclusion.lines().collect();
    assert_eq!(lines[0], "index 517");
    let entry = STANDARD.decode(lines[1].strip_prefix("leaf ").unwrap()).unwrap();
    assert_eq!(entry, b"record 517\n");
    let expected: Vec<Hash> = lines[2..].iter().map(|l| b64_hash(l)).collect();
    let proof = tree::inclusion_proof(517, 1000, &stored).unwrap();
    assert_eq!(proof, expected);
    verify_inclusion(517, 1000, &leaf_hash(&entry), &proof, &new.checkpoint().root).unwrap();

    let consistency = toy_text("consistency.proof");
    let lines: Vec<&str> = consistency.lines().collect();
    assert_eq!(lines[0], "old 700");
    let expected: Vec<Hash> = lines[1..].iter().map(|l| b64_hash(l)).collect();
    let proof = tree::consistency_proof(700, 1000, &stored).unwrap();
    assert_eq!(proof, expected);
    verify_consistency(700, 1000, &old.checkpoint().root, &new.checkpoint().root, &proof).unwrap();
}

/// Every file under `tile/`, as a path relative to the toy directory.
fn tile_files(dir: &Path, prefix: &str, out: &mut BTreeSet<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let name = format!("{prefix}/{}", entry.file_name().to_str().unwrap());
        if entry.file_type().unwrap().is_dir() {
            tile_files(&entry.path(), &name, out);
        } else {
            out.insert(name);
        }
    }
}

#[test]
fn the_toy_tiles_are_the_stored_levels_byte_for_byte() {
    let (_, stored) = toy_tree();
    let mut files = BTreeSet::new();
    tile_files(&toy_dir().join("tile"), "tile", &mut files);
    // The tiles a log serves for its two signed sizes: every full tile, and each size's partial tiles.
    let mut expected = BTreeSet::new();
    for size in [700u64, 1000] {
        for level in 0..tree::level_count(size) as u8 {
            let len = tree::level_len(level, size);
            for start in (0..len).step_by(256) {
                let tile = TilePath::containing(TileKind::Hashes { level }, start, size).unwrap();
                expected.insert(tile.to_string());
            }
        }
        for tile in tiles::partial_tiles(size) {
            assert!(expected.contains(&tile.to_string()));
        }
    }
    assert_eq!(files, expected);
    for file in &files {
        let tile = TilePath::parse(file).unwrap();
        assert!(tile.within(1000), "{file}");
        assert_eq!(tiles::read_tile(&tile, &stored).unwrap(), toy(file), "{file}");
        // What a reader of that tile sees equals the stored level.
        let TileKind::Hashes { level } = tile.kind() else {
            unreachable!()
        };
        let mut hashes = vec![[0u8; 32]; usize::from(tile.width())];
        stored.read_hashes(level, tile.start(), &mut hashes).unwrap();
        assert_eq!(hashes.concat(), toy(file));
    }
}

#[test]
fn journey_signs_the_toy_checkpoints_as_python_did_and_go_verified() {
    let signer = log_signer();
    let log_key = signer.verifier_key();
    assert_eq!(format!("{log_key}\n"), toy_text("log.vkey"));
    assert_eq!(
        log_key.to_string(),
        "journey.example/toy-log+ec102742+AYqI4910CfGV/VLbLTy6XXLKZwm/HZQSG/N0iAG0D29c"
    );
    let cosigner = cosigner();
    let witness_key = cosigner.verifier_key();
    assert_eq!(format!("{witness_key}\n"), toy_text("witness.vkey"));
    let (_, stored) = toy_tree();
    for (file, size) in [("checkpoint", 1000), ("checkpoint.old", 700)] {
        let checkpoint = Checkpoint {
            origin: Origin::parse(ORIGIN).unwrap(),
            size,
            root: tree::root(size, &stored).unwrap(),
        };
        let mut signed = SignedCheckpoint::sign(checkpoint.clone(), &signer).unwrap();
        signed
            .add_signature(cosigner.cosign(&checkpoint, COSIGNED_AT).unwrap())
            .unwrap();
        assert_eq!(signed.to_string(), toy_text(file), "{file}");
        // And read back, verified under both keys.
        let opened = SignedCheckpoint::open(&toy(file), &log_key).unwrap();
        assert_eq!(opened, signed);
        let cosigned = opened
            .verify_cosignatures(std::slice::from_ref(&witness_key))
            .unwrap();
        assert_eq!(cosigned.len(), 1);
        assert_eq!(cosigned[0].timestamp, Some(COSIGNED_AT));
        let line = &opened.note().signatures()[1];
        assert_eq!(
            cosignature::verify(&witness_key, &checkpoint, line).unwrap(),
            COSIGNED_AT
        );
        assert_eq!(cosignature::timestamp(line).unwrap(), COSIGNED_AT);
    }
}

#[test]
fn go_reads_journeys_private_key_text_and_journey_reads_gos() {
    // golang.org/x/mod/sumdb/note's documented example key and signed note.
    let skey = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    let vkey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    let text = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
    let signed = "If you think cryptography is the answer to your problem,\n\
        then you don't know what your problem is.\n\
        \n\
        — PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
    let signer = NoteSigner::from_private_text(skey).unwrap();
    assert_eq!(signer.private_text().as_str(), skey);
    assert_eq!(signer.verifier_key().to_string(), vkey);
    let mut note = Note::new(text).unwrap();
    note.add_signature(signer.sign(&note)).unwrap();
    assert_eq!(note.to_string(), signed);
    let parsed = Note::parse(signed.as_bytes()).unwrap();
    parsed.verify(&[VerifierKey::parse(vkey).unwrap()]).unwrap();
    // A key written by Journey is read back to the same key.
    let written = log_signer().private_text();
    let read = NoteSigner::from_private_text(&written).unwrap();
    assert_eq!(read.verifier_key(), log_signer().verifier_key());
    assert!(written.starts_with("PRIVATE+KEY+journey.example/toy-log+ec102742+"));
}

#[test]
fn the_signed_note_specifications_example_verifies() {
    let key =
        VerifierKey::parse("example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k").unwrap();
    let note = Note::parse(
        "This is an example message.\n\n— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n"
            .as_bytes(),
    )
    .unwrap();
    assert_eq!(note.text(), "This is an example message.\n");
    note.verify(&[key]).unwrap();
}

#[test]
fn a_toy_record_proof_verifies_under_a_policy_of_the_toy_keys() {
    let (_, stored) = toy_tree();
    let policy = Policy::parse(&format!(
        "# the toy log and its one witness\nlog {}\nwitness w1 {}\nquorum w1\n",
        toy_text("log.vkey").trim_end(),
        toy_text("witness.vkey").trim_end()
    ))
    .unwrap();
    let proof = RecordProof {
        extra: Some(b"record 517\n".to_vec()),
        index: 517,
        path: tree::inclusion_proof(517, 1000, &stored).unwrap(),
        checkpoint: SignedCheckpoint::parse(&toy("checkpoint")).unwrap(),
    };
    let text = proof.to_bytes();
    let parsed = RecordProof::parse(&text).unwrap();
    assert_eq!(parsed, proof);
    let verified = parsed.verify(&leaf_hash(b"record 517\n"), &policy).unwrap();
    assert_eq!(verified.checkpoint.size, 1000);
    assert_eq!(verified.log.as_str(), ORIGIN);
    assert_eq!(verified.cosignatures.len(), 1);
    assert_eq!(verified.cosignatures[0].witness, "w1");
    assert_eq!(verified.cosignatures[0].timestamp, COSIGNED_AT);
    assert!(parsed.verify(&leaf_hash(b"record 516\n"), &policy).is_err());
    // The proof's text starts as c2sp.org/tlog-proof shows.
    let text = String::from_utf8(text).unwrap();
    assert!(text.starts_with("c2sp.org/tlog-proof@v1\nextra cmVjb3JkIDUxNwo=\nindex 517\ncBiQ/b/hJpIq9SRG1uUgo+Hc8Jr9l/vZ+tutDgDm5F8=\n"));
    assert!(text.ends_with(&toy_text("checkpoint")));
}
