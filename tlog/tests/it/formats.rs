//! Every text format round-trips, refuses what breaks its rules with an error naming the field, and
//! verifies by the rules its specification gives.

use journey_tlog::hash::{EMPTY_ROOT, Hash, LeafEntry};
use journey_tlog::note::{KeyType, NoteSignature, VerifiedSignature};
use journey_tlog::policy::verify_checkpoint_with_policy;
use journey_tlog::tree;
use journey_tlog::witness_protocol::{AddCheckpointRequest, Refusal, WitnessResponse, check_add_checkpoint};
use journey_tlog::{
    Checkpoint, Cosigner, Error, KeyName, Note, NoteSigner, Origin, Policy, RecordProof, SignedCheckpoint,
    VerifierKey,
};
use proptest::prelude::*;

use crate::support::{leaves, stored};

const ORIGIN: &str = "journey.council.example/log/01J9ZK3M7Q4F";

fn name(name: &str) -> KeyName {
    KeyName::parse(name).unwrap()
}

fn log_signer() -> NoteSigner {
    NoteSigner::from_seed(name(ORIGIN), &[11; 32])
}

fn witness(n: u8) -> Cosigner {
    Cosigner::from_seed(name(&format!("witness-{n}.example/journey")), &[100 + n; 32])
}

fn checkpoint(size: u64, root: Hash) -> Checkpoint {
    Checkpoint {
        origin: Origin::parse(ORIGIN).unwrap(),
        size,
        root,
    }
}

fn field_of(error: Error) -> String {
    match error {
        Error::Malformed { field, .. } => field,
        other => panic!("expected a malformed-input error, got {other}"),
    }
}

proptest! {
    #[test]
    fn checkpoints_round_trip_through_their_signed_text(
        origin in "[a-z0-9.-]{1,20}(/[A-Za-z0-9_.-]{1,20}){0,3}",
        size in any::<u64>(),
        root in any::<[u8; 32]>(),
        seed in any::<[u8; 32]>(),
        time in 0u64..=i64::MAX as u64,
    ) {
        let signer = NoteSigner::from_seed(name(&origin), &seed);
        let cosigner = Cosigner::from_seed(name("w.example"), &seed.map(|b| b ^ 0x55));
        let checkpoint = Checkpoint { origin: Origin::parse(origin).unwrap(), size, root };
        let mut signed = SignedCheckpoint::sign(checkpoint.clone(), &signer).unwrap();
        signed.add_signature(cosigner.cosign(&checkpoint, time).unwrap()).unwrap();
        let bytes = signed.to_bytes();
        let parsed = SignedCheckpoint::open(&bytes, &signer.verifier_key()).unwrap();
        prop_assert_eq!(&parsed, &signed);
        prop_assert_eq!(parsed.to_bytes(), bytes);
        let cosigned = parsed.verify_cosignatures(&[cosigner.verifier_key()]).unwrap();
        prop_assert_eq!(cosigned, vec![VerifiedSignature { key: 0, timestamp: Some(time) }]);
        // Keys round-trip through their texts.
        prop_assert_eq!(VerifierKey::parse(&signer.verifier_key().to_string()).unwrap(), signer.verifier_key());
        let reread = Cosigner::from_private_text(&cosigner.private_text()).unwrap();
        prop_assert_eq!(reread.verifier_key(), cosigner.verifier_key());
    }
}

/// The same signature line with one bit of its signature bytes flipped.
fn flip_signature_bit(line: &NoteSignature, bit: usize) -> NoteSignature {
    let mut bytes = line.key_id().0.to_vec();
    bytes.extend_from_slice(line.signature());
    bytes[4 + bit / 8] ^= 1 << (bit % 8);
    let encoded = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &bytes);
    NoteSignature::parse_line(&format!("\u{2014} {} {encoded}", line.name())).unwrap()
}

#[test]
fn notes_break_no_rule_of_the_signed_note_format() {
    let signer = log_signer();
    let mut note = Note::new("line one\n\nline three\n").unwrap();
    note.add_signature(signer.sign(&note)).unwrap();
    let good = note.to_string();
    // Blank lines inside the text are the text's: it ends at the last blank line.
    let parsed = Note::parse(good.as_bytes()).unwrap();
    assert_eq!(parsed.text(), "line one\n\nline three\n");
    parsed.verify(&[signer.verifier_key()]).unwrap();
    let line = note.signatures()[0].to_line();
    for bad in [
        "no signatures\n".to_owned(),
        "no signatures\n\n".to_owned(),
        good.trim_end_matches('\n').to_owned(),
        good.replace("line one", "line\rone"),
        good.replace("line one", "line\tone"),
        good.replace('\u{2014}', "-"),
        good.replace("\u{2014} ", "\u{2014}  "),
        format!("text\n\n{}", line.replace(ORIGIN, "")),
        format!("text\n\n{}", line.replace(ORIGIN, "name+plus")),
        format!("text\n\n\u{2014} {ORIGIN} AAAA\n"),
        format!("text\n\n\u{2014} {ORIGIN} not-base64!\n"),
        format!("text\n\n{line}\n"),
        format!("text\n\n{}", line.repeat(101)),
    ] {
        assert!(Note::parse(bad.as_bytes()).is_err(), "{bad:?} accepted");
    }
    assert!(Note::parse(&[b'a', 0xff, b'\n', b'\n']).is_err());
    Note::parse(format!("text\n\n{}", line.repeat(100)).as_bytes()).unwrap();
    assert!(Note::new("no newline").is_err());
    assert!(Note::new("bell\u{7}\n").is_err());
}

#[test]
fn note_verification_ignores_strangers_and_rejects_a_trusted_keys_bad_signature() {
    let signer = log_signer();
    let stranger = NoteSigner::from_seed(name("stranger.example"), &[3; 32]);
    // Same name as the log, another key: another key ID, so a stranger too.
    let impostor = NoteSigner::from_seed(name(ORIGIN), &[4; 32]);
    let mut note = Note::new("text\n").unwrap();
    note.add_signature(stranger.sign(&note)).unwrap();
    note.add_signature(impostor.sign(&note)).unwrap();
    let trusted = [signer.verifier_key()];
    assert!(matches!(note.verify(&trusted), Err(Error::NotSigned { .. })));
    note.add_signature(signer.sign(&note)).unwrap();
    note.add_signature(signer.sign(&note)).unwrap();
    // The trusted key signed twice: one verified signature.
    assert_eq!(
        note.verify(&trusted).unwrap(),
        vec![VerifiedSignature {
            key: 0,
            timestamp: None
        }]
    );
    // A line with the trusted name and key ID whose signature fails rejects the whole note.
    let mut damaged = note.clone();
    damaged
        .add_signature(flip_signature_bit(&note.signatures()[2], 0))
        .unwrap();
    assert!(matches!(
        damaged.verify(&trusted),
        Err(Error::BadSignature { .. })
    ));
    // A note verifies under the key of its own text only.
    let mut other = Note::new("other text\n").unwrap();
    other.add_signature(note.signatures()[2].clone()).unwrap();
    assert!(matches!(other.verify(&trusted), Err(Error::BadSignature { .. })));
}

#[test]
fn checkpoint_bodies_are_strict() {
    let root = EMPTY_ROOT;
    let good = checkpoint(5, root).to_text();
    assert_eq!(Checkpoint::parse_text(&good).unwrap(), checkpoint(5, root));
    let cases = [
        (good.replace("\n5\n", "\n05\n"), "checkpoint.size"),
        (good.replace("\n5\n", "\n+5\n"), "checkpoint.size"),
        (good.replace("\n5\n", "\n5 \n"), "checkpoint.size"),
        (good.replace(ORIGIN, "has space"), "origin"),
        (good.replace(ORIGIN, "has+plus"), "origin"),
        (good.replace(ORIGIN, ""), "origin"),
        (format!("{good}extension\n"), "checkpoint"),
        (good.replacen('\n', "\n\n", 1), "checkpoint"),
        (good.trim_end().to_owned(), "checkpoint"),
        (format!("{ORIGIN}\n5\n{}\n", "A".repeat(40)), "checkpoint.root"),
        (format!("{ORIGIN}\n5\n"), "checkpoint"),
    ];
    for (bad, field) in cases {
        assert_eq!(
            field_of(Checkpoint::parse_text(&bad).unwrap_err()),
            field,
            "{bad:?}"
        );
    }
    assert!(Origin::parse("x".repeat(255)).is_ok());
    assert!(Origin::parse("x".repeat(256)).is_err());
    assert!(Origin::parse("no\u{a0}break").is_err());
}

#[test]
fn a_checkpoint_verifies_only_under_the_log_named_after_its_origin() {
    let signer = log_signer();
    let signed = SignedCheckpoint::sign(checkpoint(3, [1; 32]), &signer).unwrap();
    signed.verify(&signer.verifier_key()).unwrap();
    // Signing under a key named otherwise is refused.
    let other = NoteSigner::from_seed(name("other.example/log"), &[11; 32]);
    assert!(matches!(
        SignedCheckpoint::sign(checkpoint(3, [1; 32]), &other),
        Err(Error::OriginMismatch { .. })
    ));
    assert!(matches!(
        signed.verify(&other.verifier_key()),
        Err(Error::OriginMismatch { .. })
    ));
    // A cosignature key cannot stand in for the log's.
    let as_witness = Cosigner::from_seed(name(ORIGIN), &[11; 32]);
    assert!(signed.verify(&as_witness.verifier_key()).is_err());
    // The same name with another key is not the log.
    let impostor = NoteSigner::from_seed(name(ORIGIN), &[12; 32]);
    assert!(matches!(
        signed.verify(&impostor.verifier_key()),
        Err(Error::NotSigned { .. })
    ));
    // Edited size: the signature no longer verifies.
    let edited = String::from_utf8(signed.to_bytes())
        .unwrap()
        .replacen("\n3\n", "\n4\n", 1);
    assert!(matches!(
        SignedCheckpoint::open(edited.as_bytes(), &signer.verifier_key()),
        Err(Error::BadSignature { .. })
    ));
}

#[test]
fn keys_are_read_strictly() {
    let key = log_signer().verifier_key().to_string();
    let (name_part, rest) = key.split_once('+').unwrap();
    let (id, material) = rest.split_once('+').unwrap();
    let cases = [
        (
            format!("{name_part}+{}+{material}", id.to_uppercase()),
            "vkey.key_id",
        ),
        (format!("{name_part}+00000000+{material}"), "vkey.key_id"),
        (format!("{name_part}+{id}"), "vkey"),
        (format!("other+{id}+{material}"), "vkey.key_id"),
        (
            format!("{name_part}+{id}+{}", material.replacen('A', "Ag", 1)),
            "vkey.key",
        ),
        (
            format!("{name_part}+{id}+AgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
            "vkey.key",
        ),
        (
            format!("{name_part}+{id}+AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=="),
            "vkey.key",
        ),
        (format!(" {key}"), "vkey.name"),
    ];
    for (bad, field) in cases {
        assert_eq!(field_of(VerifierKey::parse(&bad).unwrap_err()), field, "{bad:?}");
    }
    // A small-order key (the identity point) verifies forgeries: refused.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    assert!(VerifierKey::new(name("weak"), KeyType::Ed25519, identity).is_err());

    let private = log_signer().private_text();
    let read = NoteSigner::from_private_text(&private).unwrap();
    assert_eq!(read.key_id(), log_signer().key_id());
    let cosigner_text = witness(1).private_text();
    assert_eq!(
        field_of(NoteSigner::from_private_text(&cosigner_text).unwrap_err()),
        "private_key.key"
    );
    assert_eq!(
        field_of(Cosigner::from_private_text(&private).unwrap_err()),
        "private_key.key"
    );
    let wrong_id = private.replacen("PRIVATE+KEY+", "PRIVATE+KEY+x", 1);
    assert_eq!(
        field_of(NoteSigner::from_private_text(&wrong_id).unwrap_err()),
        "private_key.key_id"
    );
    assert_eq!(
        field_of(NoteSigner::from_private_text(&private[8..]).unwrap_err()),
        "private_key"
    );
    // Debug output never shows the secret.
    let shown = format!("{:?}", log_signer());
    assert!(!shown.contains(&private[private.len() - 20..]) && shown.contains("key_id"));
}

#[test]
fn cosignatures_are_bound_to_their_time_and_checkpoint() {
    let cosigner = witness(1);
    let key = cosigner.verifier_key();
    let cp = checkpoint(9, [9; 32]);
    let line = cosigner.cosign(&cp, 1_767_000_000).unwrap();
    assert_eq!(
        journey_tlog::cosignature::verify(&key, &cp, &line).unwrap(),
        1_767_000_000
    );
    assert_eq!(line.signature().len(), 72);
    // Another time in the line (its last bit), or any other bit of the signature; another checkpoint;
    // a note key: refused.
    let retimed = flip_signature_bit(&line, 56);
    assert_eq!(
        journey_tlog::cosignature::timestamp(&retimed).unwrap(),
        1_767_000_001
    );
    for bit in (0..72 * 8).step_by(7) {
        assert!(journey_tlog::cosignature::verify(&key, &cp, &flip_signature_bit(&line, bit)).is_err());
    }
    assert!(journey_tlog::cosignature::verify(&key, &cp, &retimed).is_err());
    assert!(journey_tlog::cosignature::verify(&key, &checkpoint(10, [9; 32]), &line).is_err());
    assert!(journey_tlog::cosignature::verify(&log_signer().verifier_key(), &cp, &line).is_err());
    assert!(cosigner.cosign(&cp, i64::MAX as u64 + 1).is_err());
    cosigner.cosign(&cp, i64::MAX as u64).unwrap();
}

/// A tree of `n` synthetic leaves, its log-signed checkpoint at `size`, and the stored levels.
fn signed_at(size: u64, stored: &journey_tlog::MemoryHashes) -> SignedCheckpoint {
    let root = tree::root(size, stored).unwrap();
    SignedCheckpoint::sign(checkpoint(size, root), &log_signer()).unwrap()
}

#[test]
fn add_checkpoint_requests_and_responses_round_trip() {
    let all = leaves(100);
    let stored = stored(&all, 100);
    let request = AddCheckpointRequest {
        old_size: 60,
        proof: tree::consistency_proof(60, 100, &stored).unwrap(),
        checkpoint: signed_at(100, &stored),
    };
    let body = request.to_bytes();
    assert!(body.starts_with(b"old 60\n"));
    assert_eq!(AddCheckpointRequest::parse(&body).unwrap(), request);
    let text = String::from_utf8(body.clone()).unwrap();
    let hash_line = format!("{}\n", text.lines().nth(1).unwrap());
    for bad in [
        text.replacen("old 60", "old 060", 1),
        text.replacen("old 60", "old  60", 1),
        text.replacen("old 60", "new 60", 1),
        text.replacen("\n\n", "\n", 1),
        text.replacen(&hash_line, &format!("{}=\n", hash_line.trim_end())[..], 1),
        format!("old 60\n{}\n{}", hash_line.repeat(64), request.checkpoint),
    ] {
        assert!(AddCheckpointRequest::parse(bad.as_bytes()).is_err(), "{bad:?}");
    }
    // 63 proof lines is the limit, and an empty proof is allowed.
    AddCheckpointRequest::parse(
        format!("old 60\n{}\n{}", hash_line.repeat(63), request.checkpoint).as_bytes(),
    )
    .unwrap();
    AddCheckpointRequest::parse(format!("old 0\n\n{}", request.checkpoint).as_bytes()).unwrap();

    let cosigned = WitnessResponse::Cosigned(vec![
        witness(1).cosign(request.checkpoint.checkpoint(), 5).unwrap(),
    ]);
    for response in [
        cosigned,
        WitnessResponse::BadRequest,
        WitnessResponse::Forbidden,
        WitnessResponse::UnknownOrigin,
        WitnessResponse::Conflict { latest_size: 42 },
        WitnessResponse::Unprocessable,
        WitnessResponse::TooManyRequests,
    ] {
        let parsed = WitnessResponse::parse(response.status(), &response.body()).unwrap();
        assert_eq!(parsed, response);
    }
    assert_eq!(WitnessResponse::Conflict { latest_size: 42 }.body(), b"42\n");
    assert!(WitnessResponse::parse(409, b"042\n").is_err());
    assert!(WitnessResponse::parse(500, b"").is_err());
}

#[test]
fn the_witness_checks_follow_the_specifications_order_and_codes() {
    let all = leaves(300);
    let stored = stored(&all, 300);
    let log_keys = [log_signer().verifier_key()];
    let at = |size| signed_at(size, &stored);
    let request = |old_size, proof: Vec<Hash>, checkpoint| AddCheckpointRequest {
        old_size,
        proof,
        checkpoint,
    };
    let latest = at(200).checkpoint().clone();
    let proof = tree::consistency_proof(200, 300, &stored).unwrap();
    let check =
        |r: &AddCheckpointRequest, latest: Option<&Checkpoint>| check_add_checkpoint(r, &log_keys, latest);
    // The honest extension is cosigned; so is a first checkpoint from 0 with no proof.
    check(&request(200, proof.clone(), at(300)), Some(&latest)).unwrap();
    check(&request(0, vec![], at(300)), None).unwrap();
    // Resubmitting the latest at its own size with no proof is fine (a fresh cosignature).
    check(&request(200, vec![], at(200)), Some(&latest)).unwrap();

    let refusal = |r: AddCheckpointRequest, latest: Option<&Checkpoint>| check(&r, latest).unwrap_err();
    let stranger = NoteSigner::from_seed(name("stranger.example"), &[5; 32]);
    let foreign = SignedCheckpoint::sign(
        Checkpoint {
            origin: Origin::parse("stranger.example").unwrap(),
            size: 300,
            root: [0; 32],
        },
        &stranger,
    )
    .unwrap();
    assert_eq!(
        refusal(request(200, proof.clone(), foreign), Some(&latest)),
        Refusal::UnknownOrigin
    );
    let impostor = NoteSigner::from_seed(name(ORIGIN), &[6; 32]);
    let unsigned = SignedCheckpoint::sign(at(300).checkpoint().clone(), &impostor).unwrap();
    assert_eq!(
        refusal(request(200, proof.clone(), unsigned), Some(&latest)),
        Refusal::NotSignedByLog
    );
    assert_eq!(
        refusal(request(301, proof.clone(), at(300)), Some(&latest)),
        Refusal::OldSizeAboveCheckpoint {
            old_size: 301,
            size: 300
        }
    );
    assert_eq!(
        refusal(request(100, proof.clone(), at(300)), Some(&latest)),
        Refusal::OldSizeNotLatest { latest_size: 200 }
    );
    assert_eq!(
        refusal(request(0, vec![], at(300)), Some(&latest)).response(),
        WitnessResponse::Conflict { latest_size: 200 }
    );
    let wrong_empty = SignedCheckpoint::sign(checkpoint(0, [1; 32]), &log_signer()).unwrap();
    assert_eq!(
        refusal(request(0, vec![], wrong_empty), None),
        Refusal::EmptyTreeRoot
    );
    assert_eq!(
        refusal(request(0, proof.clone(), at(300)), None),
        Refusal::ProofFromEmptyTree
    );
    // Same size, another root: a split view.
    let fork = SignedCheckpoint::sign(checkpoint(200, [7; 32]), &log_signer()).unwrap();
    let split = refusal(request(200, vec![], fork), Some(&latest));
    assert_eq!(split, Refusal::SplitView);
    assert!(split.is_evidence());
    assert_eq!(split.response().status(), 422);
    // A history rewritten before the cosigned size: validly signed, inconsistent with what was cosigned.
    let mut rewritten = all.clone();
    rewritten[150] = [0xee; 32];
    let rewritten_stored = crate::support::stored(&rewritten, 300);
    let rewritten_at = signed_at(300, &rewritten_stored);
    let refused = refusal(
        request(
            200,
            tree::consistency_proof(200, 300, &rewritten_stored).unwrap(),
            rewritten_at,
        ),
        Some(&latest),
    );
    assert_eq!(refused, Refusal::Inconsistent);
    assert_eq!(refused.response().status(), 422);
    // A proof from the right size for the wrong tree.
    let mut damaged = proof.clone();
    damaged[0][0] ^= 1;
    assert_eq!(
        refusal(request(200, damaged, at(300)), Some(&latest)),
        Refusal::Inconsistent
    );
    assert_eq!(Refusal::UnknownOrigin.response().status(), 404);
    assert_eq!(Refusal::NotSignedByLog.response().status(), 403);
    assert!(!Refusal::NotSignedByLog.is_evidence());
}

const POLICY_HEAD: &str = "# trust policy\n";

fn policy_text(quorum: &str) -> String {
    format!(
        "{POLICY_HEAD}log {} https://journey.council.example/\n\n\
         witness partnership {}\n\twitness  regulator {} https://w.example/\n\
         witness police {}\n\
         group agencies any partnership police\n\
         group both all agencies regulator\n\
         quorum {quorum}\n",
        log_signer().verifier_key(),
        witness(1).verifier_key(),
        witness(2).verifier_key(),
        witness(3).verifier_key(),
    )
}

fn cosigned_by(witnesses: &[u8]) -> SignedCheckpoint {
    let mut signed = SignedCheckpoint::sign(checkpoint(7, [7; 32]), &log_signer()).unwrap();
    for &w in witnesses {
        signed
            .add_signature(
                witness(w)
                    .cosign(signed.checkpoint(), 1_000 + u64::from(w))
                    .unwrap(),
            )
            .unwrap();
    }
    signed
}

#[test]
fn policies_count_distinct_witnesses_against_nested_groups() {
    let policy = Policy::parse(&policy_text("both")).unwrap();
    assert_eq!(policy.logs().len(), 1);
    assert_eq!(
        policy.logs()[0].url.as_deref(),
        Some("https://journey.council.example/")
    );
    assert_eq!(policy.witnesses().len(), 3);
    // both = all of (any of partnership, police) and regulator.
    for (cosigners, accepted) in [
        (vec![], false),
        (vec![1], false),
        (vec![2], false),
        (vec![1, 3], false),
        (vec![1, 2], true),
        (vec![3, 2], true),
        (vec![1, 2, 3], true),
        (vec![1, 1, 1], false),
    ] {
        let result = verify_checkpoint_with_policy(&cosigned_by(&cosigners), &policy);
        assert_eq!(result.is_ok(), accepted, "{cosigners:?}: {result:?}");
        if !accepted {
            assert!(matches!(result, Err(Error::QuorumNotMet { .. })));
        }
    }
    let verified = verify_checkpoint_with_policy(&cosigned_by(&[2, 2, 1]), &policy).unwrap();
    let names: Vec<&str> = verified.cosignatures.iter().map(|c| c.witness.as_str()).collect();
    assert_eq!(names, ["regulator", "partnership"]);
    assert_eq!(verified.cosignatures[0].timestamp, 1_002);
    // A threshold counts distinct witnesses: one witness's three lines are one cosigner.
    let two = Policy::from_keys(
        log_signer().verifier_key(),
        vec![
            ("regulator".to_owned(), witness(2).verifier_key()),
            ("fourth".to_owned(), witness(4).verifier_key()),
        ],
        2,
    )
    .unwrap();
    let mut repeated = cosigned_by(&[2]);
    for time in [1, 2] {
        repeated
            .add_signature(witness(2).cosign(repeated.checkpoint(), time).unwrap())
            .unwrap();
    }
    assert!(matches!(
        verify_checkpoint_with_policy(&repeated, &two),
        Err(Error::QuorumNotMet { .. })
    ));
    verify_checkpoint_with_policy(&cosigned_by(&[2, 4]), &two).unwrap();
    // The same from keys given one by one.
    let keys = |ws: &[u8]| {
        ws.iter()
            .map(|&w| (format!("w{w}"), witness(w).verifier_key()))
            .collect()
    };
    let two_of_three = Policy::from_keys(log_signer().verifier_key(), keys(&[1, 2, 3]), 2).unwrap();
    verify_checkpoint_with_policy(&cosigned_by(&[3, 1]), &two_of_three).unwrap();
    assert!(verify_checkpoint_with_policy(&cosigned_by(&[3, 3]), &two_of_three).is_err());
    let unwitnessed = Policy::from_keys(log_signer().verifier_key(), vec![], 0).unwrap();
    verify_checkpoint_with_policy(&cosigned_by(&[]), &unwitnessed).unwrap();
    assert!(Policy::from_keys(log_signer().verifier_key(), keys(&[1]), 2).is_err());
    // A single witness as the quorum, and none.
    let one = Policy::parse(&policy_text("police")).unwrap();
    assert!(verify_checkpoint_with_policy(&cosigned_by(&[1, 2]), &one).is_err());
    verify_checkpoint_with_policy(&cosigned_by(&[3]), &one).unwrap();
    let none = Policy::parse(&policy_text("none")).unwrap();
    verify_checkpoint_with_policy(&cosigned_by(&[]), &none).unwrap();
    // An unknown witness's line is ignored; a known witness's bad line rejects the checkpoint.
    let mut with_stranger = cosigned_by(&[1, 2]);
    let stranger = Cosigner::from_seed(name("stranger.example"), &[9; 32]);
    with_stranger
        .add_signature(stranger.cosign(with_stranger.checkpoint(), 1).unwrap())
        .unwrap();
    verify_checkpoint_with_policy(&with_stranger, &policy).unwrap();
    let mut with_bad = cosigned_by(&[1]);
    let other_checkpoint = checkpoint(8, [7; 32]);
    with_bad
        .add_signature(witness(2).cosign(&other_checkpoint, 1).unwrap())
        .unwrap();
    assert!(matches!(
        verify_checkpoint_with_policy(&with_bad, &policy),
        Err(Error::BadSignature { .. })
    ));
    // A checkpoint of a log the policy does not list.
    let other_log = NoteSigner::from_seed(name("other.example/log"), &[1; 32]);
    let foreign = SignedCheckpoint::sign(
        Checkpoint {
            origin: Origin::parse("other.example/log").unwrap(),
            size: 1,
            root: [1; 32],
        },
        &other_log,
    )
    .unwrap();
    assert!(matches!(
        verify_checkpoint_with_policy(&foreign, &none),
        Err(Error::OriginMismatch { .. })
    ));
}

#[test]
fn policies_break_no_rule_of_the_policy_format() {
    let good = policy_text("both");
    let policy = Policy::parse(&good).unwrap();
    // Written back in its canonical form, it reads as the same policy.
    let written = policy.to_string();
    assert_eq!(Policy::parse(&written).unwrap(), policy);
    assert_eq!(Policy::parse(&written).unwrap().to_string(), written);
    assert!(
        written.ends_with("group both all agencies regulator\nquorum both\n"),
        "{written}"
    );
    let w1 = witness(1).verifier_key().to_string();
    let log = log_signer().verifier_key().to_string();
    let bad = [
        good.replace("quorum both\n", ""),
        format!("{good}quorum both\n"),
        good.replace("quorum both", "quorum nobody"),
        good.replace(
            "group agencies any partnership police",
            "group agencies any partnership ghost",
        ),
        good.replace(
            "group agencies any partnership police",
            "group agencies 3 partnership police",
        ),
        good.replace(
            "group agencies any partnership police",
            "group agencies 0 partnership police",
        ),
        good.replace(
            "group agencies any partnership police",
            "group agencies 01 partnership police",
        ),
        good.replace("group agencies any partnership police", "group agencies any"),
        good.replace(
            "group agencies any partnership police",
            "group agencies any partnership partnership",
        ),
        good.replace("all agencies regulator", "all agencies regulator partnership"),
        good.replace("witness police", "witness partnership"),
        good.replace("witness police", "witness none"),
        good.replace("witness police", "witness agencies"),
        format!("{good}witness copy {w1}\n"),
        format!("{good}log {log}\n"),
        format!("{good}log {w1}\n"),
        format!("{good}witness logkey {log}\n"),
        good.replace("# trust policy", "# trust policy\r"),
        format!("{good}trust everyone\n"),
        format!("{good}log\n"),
        format!("{good}quorum\n"),
        // Groups may name only what is defined above them.
        format!("group early any partnership\n{good}"),
    ];
    for text in bad {
        let error = Policy::parse(&text).unwrap_err();
        assert!(field_of(error).starts_with("policy"), "{text:?}");
    }
}

#[test]
fn record_proofs_round_trip_and_fail_on_any_change() {
    let all: Vec<LeafEntry> = (0..50u8)
        .map(|i| LeafEntry {
            stream_hash: [i; 32],
            log_hash: [i ^ 0xff; 32],
        })
        .collect();
    let hashes: Vec<Hash> = all.iter().map(LeafEntry::leaf_hash).collect();
    let stored = stored(&hashes, 50);
    let mut signed = signed_at(50, &stored);
    for w in [1, 2] {
        signed
            .add_signature(witness(w).cosign(signed.checkpoint(), 77).unwrap())
            .unwrap();
    }
    let policy = Policy::parse(&policy_text("both")).unwrap();
    let proof = RecordProof::for_entry(
        &all[20],
        20,
        tree::inclusion_proof(20, 50, &stored).unwrap(),
        signed,
    );
    let bytes = proof.to_bytes();
    let parsed = RecordProof::parse(&bytes).unwrap();
    assert_eq!(parsed, proof);
    assert_eq!(parsed.entry().unwrap(), all[20]);
    parsed.verify(&all[20].leaf_hash(), &policy).unwrap();
    // Another leaf, another index, a stricter policy.
    assert!(parsed.verify(&all[21].leaf_hash(), &policy).is_err());
    let mut moved = parsed.clone();
    moved.index = 21;
    assert!(matches!(
        moved.verify(&all[20].leaf_hash(), &policy),
        Err(Error::InclusionRejected { .. })
    ));
    let strict = Policy::parse(&policy_text("police")).unwrap();
    assert!(matches!(
        parsed.verify(&all[20].leaf_hash(), &strict),
        Err(Error::QuorumNotMet { .. })
    ));
    // Without extra, and strictness of the text.
    let bare = RecordProof {
        extra: None,
        ..proof.clone()
    };
    assert_eq!(RecordProof::parse(&bare.to_bytes()).unwrap(), bare);
    assert!(bare.entry().is_err());
    let text = String::from_utf8(bytes).unwrap();
    for bad in [
        text.replacen("c2sp.org/tlog-proof@v1", "c2sp.org/tlog-proof@v2", 1),
        text.replacen("index 20", "index 020", 1),
        text.replacen("index 20\n", "", 1),
        text.replacen("extra ", "extra  ", 1),
        text.replacen("index 20\n", "index 20\nnot a hash\n", 1),
        text.replacen("\n\n", "\n", 1),
    ] {
        assert!(RecordProof::parse(bad.as_bytes()).is_err(), "{bad:?}");
    }
}
