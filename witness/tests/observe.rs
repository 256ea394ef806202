//! The witness's checks of polled checkpoints: trust on first sight only (or a pin), rollback, split view,
//! inconsistency, bad signatures and foreign origins caught, each freezing the origin durably until an
//! operator clears it, with evidence kept; and state files that cannot be believed stop the witness.

mod common;

use journey_tlog::{Checkpoint, Hash, SignedCheckpoint};
use journey_witness::state::origin_hex;
use journey_witness::{AlertKind, Error, Observation, StateDir, Witness};

use common::{TestLog, cosigner, evidence_kept, witness};

/// Observes the log's latest checkpoint, with proofs from the log itself.
fn observe(w: &Witness, log: &TestLog, served: &SignedCheckpoint) -> Observation {
    w.observe(
        &log.origin,
        &served.to_bytes(),
        &mut |old: &Checkpoint, new: &Checkpoint| Ok::<Vec<Hash>, Error>(log.proof(old.size, new.size)),
    )
    .unwrap()
}

fn alert_kind(observation: &Observation) -> Option<AlertKind> {
    match observation {
        Observation::Alert(alert) => Some(alert.kind),
        _ => None,
    }
}

#[test]
fn the_first_checkpoint_is_trusted_on_first_sight_only() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = TestLog::new("journey.example/log/1");
    log.grow(100, 0);
    let w = witness(dir.path(), vec![log.trust()]).unwrap();
    assert!(matches!(
        observe(&w, &log, &log.signed()),
        Observation::Cosigned { .. }
    ));
    // The same checkpoint again: unchanged, and the cosignature is offered again when the log serves the
    // checkpoint without it.
    match observe(&w, &log, &log.signed()) {
        Observation::Unchanged { redeliver, .. } => assert!(redeliver.is_some()),
        other => panic!("{other:?}"),
    }
    let served_with_ours = w.latest(&log.origin).unwrap();
    match observe(&w, &log, &served_with_ours) {
        Observation::Unchanged { redeliver, .. } => assert!(redeliver.is_none()),
        other => panic!("{other:?}"),
    }
    drop(w);

    // Reopened: the state is the cosigned checkpoint, and a smaller one is a rollback, not a fresh start.
    let w = witness(dir.path(), vec![log.trust()]).unwrap();
    let observed = observe(&w, &log, &log.signed_at(50));
    assert_eq!(alert_kind(&observed), Some(AlertKind::Rollback), "{observed:?}");
    let Observation::Alert(alert) = observed else {
        unreachable!()
    };
    assert_eq!(alert.witnessed.as_ref().unwrap().size, 100);
    assert_eq!(alert.offered.as_ref().unwrap().size, 50);
    let text = alert.to_string();
    assert!(
        text.contains("tree size 100") && text.contains("tree size 50"),
        "{text}"
    );
}

#[test]
fn a_damaged_state_file_stops_the_witness_instead_of_trusting_the_log_anew() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = TestLog::new("journey.example/log/1");
    log.grow(10, 0);
    let w = witness(dir.path(), vec![log.trust()]).unwrap();
    observe(&w, &log, &log.signed());
    let path = w_state_path(dir.path(), &log);
    drop(w);
    let good = std::fs::read(&path).unwrap();

    // Truncated.
    std::fs::write(&path, &good[..good.len() - 10]).unwrap();
    assert!(matches!(
        witness(dir.path(), vec![log.trust()]),
        Err(Error::State { .. })
    ));
    // Another checkpoint, signed by the log, but not cosigned by this witness.
    std::fs::write(&path, log.signed_at(5).to_bytes()).unwrap();
    let refused = witness(dir.path(), vec![log.trust()]).unwrap_err();
    assert!(
        refused.to_string().contains("no cosignature of this witness"),
        "{refused}"
    );
    // Cosigned, but the log key configured is another one.
    std::fs::write(&path, &good).unwrap();
    let mut rotated = log.trust();
    rotated.keys = vec![TestLog::new("journey.example/log/1").vkey()];
    let other = journey_tlog::NoteSigner::from_seed(
        journey_tlog::note::KeyName::parse("journey.example/log/1").unwrap(),
        &[2; 32],
    );
    rotated.keys = vec![other.verifier_key()];
    assert!(matches!(
        witness(dir.path(), vec![rotated]),
        Err(Error::State { .. })
    ));
    // Restored, the witness goes on.
    let w = witness(dir.path(), vec![log.trust()]).unwrap();
    assert_eq!(w.latest(&log.origin).unwrap().checkpoint().size, 10);
}

fn w_state_path(dir: &std::path::Path, log: &TestLog) -> std::path::PathBuf {
    dir.join("state")
        .join(format!("{}.checkpoint", origin_hex(&log.origin)))
}

#[test]
fn a_pinned_checkpoint_replaces_trust_on_first_use() {
    let mut log = TestLog::new("journey.example/log/1");
    log.grow(200, 0);
    // Another history from the first leaf on, signed with the log's key.
    let mut fork = TestLog::new("journey.example/log/1");
    fork.grow(200, 1);
    let mut trust = log.trust();
    trust.pin = Some(log.checkpoint_at(100));

    // The log's history extends the pin: cosigned at once.
    let dir = tempfile::tempdir().unwrap();
    let w = witness(dir.path(), vec![trust.clone()]).unwrap();
    assert!(matches!(
        observe(&w, &log, &log.signed()),
        Observation::Cosigned { .. }
    ));

    // A fork from the pinned size on (first sight, so no state): inconsistent with the pin.
    let dir = tempfile::tempdir().unwrap();
    let w = witness(dir.path(), vec![trust.clone()]).unwrap();
    let observed = observe(&w, &fork, &fork.signed());
    assert_eq!(
        alert_kind(&observed),
        Some(AlertKind::Inconsistent),
        "{observed:?}"
    );

    // Smaller than the pin: a rollback; the pinned size with another root: a split view.
    for (size, kind) in [(50, AlertKind::Rollback), (100, AlertKind::SplitView)] {
        let dir = tempfile::tempdir().unwrap();
        let w = witness(dir.path(), vec![trust.clone()]).unwrap();
        let mut other = TestLog::new("journey.example/log/1");
        other.grow(size, 2);
        assert_eq!(alert_kind(&observe(&w, &other, &other.signed())), Some(kind));
    }
    // The pinned checkpoint itself: cosigned.
    let dir = tempfile::tempdir().unwrap();
    let w = witness(dir.path(), vec![trust]).unwrap();
    assert!(matches!(
        observe(&w, &log, &log.signed_at(100)),
        Observation::Cosigned { .. }
    ));
}

#[test]
fn every_kind_of_misbehaviour_freezes_the_origin_durably_until_an_operator_clears_it() {
    let mut log = TestLog::new("journey.example/log/1");
    log.grow(200, 0);
    // The fork rewrites the history from leaf 200 on.
    let mut fork = log.clone();
    log.grow(400, 0);
    fork.grow(400, 5);
    let mut other_origin = TestLog::new("journey.example/log/2");
    other_origin.grow(400, 0);
    let forged = {
        let key = journey_tlog::NoteSigner::from_seed(
            journey_tlog::note::KeyName::parse("journey.example/log/1").unwrap(),
            &[4; 32],
        );
        SignedCheckpoint::sign(log.checkpoint_at(600), &key).unwrap()
    };
    let cases: [(&str, SignedCheckpoint, &TestLog, AlertKind); 5] = [
        ("rollback", log.signed_at(200), &log, AlertKind::Rollback),
        ("split view", fork.signed_at(300), &fork, AlertKind::SplitView),
        ("inconsistent", fork.signed(), &fork, AlertKind::Inconsistent),
        ("bad signature", forged, &log, AlertKind::BadSignature),
        (
            "wrong origin",
            other_origin.signed(),
            &other_origin,
            AlertKind::WrongOrigin,
        ),
    ];
    for (name, served, prover, kind) in cases {
        let dir = tempfile::tempdir().unwrap();
        let w = witness(dir.path(), vec![log.trust()]).unwrap();
        observe(&w, &log, &log.signed_at(300));
        let observed = w
            .observe(
                &log.origin,
                &served.to_bytes(),
                &mut |old: &Checkpoint, new: &Checkpoint| {
                    Ok::<Vec<Hash>, Error>(prover.proof(old.size, new.size))
                },
            )
            .unwrap();
        assert_eq!(alert_kind(&observed), Some(kind), "{name}: {observed:?}");
        assert_eq!(w.metrics().alerts(log.origin.as_str(), kind), 1, "{name}");
        // Frozen: even the honest log's next checkpoint is not cosigned.
        assert!(
            matches!(observe(&w, &log, &log.signed()), Observation::Frozen(_)),
            "{name}"
        );
        assert_eq!(w.latest(&log.origin).unwrap().checkpoint().size, 300, "{name}");
        // Evidence kept: the offered bytes and the witness's last cosigned checkpoint.
        let kept = evidence_kept(dir.path(), &log.origin);
        assert_eq!(kept.len(), 1, "{name}");
        assert!(
            kept[0]
                .file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with(kind.as_str()),
            "{name}: {kept:?}"
        );
        assert_eq!(
            std::fs::read(kept[0].join("offered.checkpoint")).unwrap(),
            served.to_bytes()
        );
        let report = std::fs::read_to_string(kept[0].join("alert.txt")).unwrap();
        assert!(
            report.contains("last witnessed checkpoint tree size 300"),
            "{name}: {report}"
        );
        if kind == AlertKind::Inconsistent {
            // The add-checkpoint request that failed, replayable elsewhere.
            let request = journey_tlog::witness_protocol::AddCheckpointRequest::parse(
                &std::fs::read(kept[0].join("add-checkpoint")).unwrap(),
            )
            .unwrap();
            assert_eq!(request.old_size, 300);
        }
        drop(w);

        // Still frozen after a restart, until unfrozen.
        let w = witness(dir.path(), vec![log.trust()]).unwrap();
        assert!(w.frozen(&log.origin).is_some(), "{name}");
        assert!(matches!(observe(&w, &log, &log.signed()), Observation::Frozen(_)));
        drop(w);
        let state = StateDir::open(dir.path()).unwrap();
        assert!(state.unfreeze(&log.origin).unwrap());
        drop(state);
        let w = witness(dir.path(), vec![log.trust()]).unwrap();
        assert!(
            matches!(observe(&w, &log, &log.signed()), Observation::Cosigned { .. }),
            "{name}"
        );
    }
}

#[test]
fn a_second_witness_process_cannot_open_the_same_state_directory() {
    let dir = tempfile::tempdir().unwrap();
    let log = TestLog::new("journey.example/log/1");
    let _first = witness(dir.path(), vec![log.trust()]).unwrap();
    assert!(matches!(
        witness(dir.path(), vec![log.trust()]),
        Err(Error::Locked { .. })
    ));
}

#[test]
fn the_cosignature_timestamp_never_goes_back() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = TestLog::new("journey.example/log/1");
    log.grow(1, 0);
    let clock = std::sync::Arc::new(common::TestClock(std::sync::atomic::AtomicU64::new(2_000)));
    let w = Witness::open(
        cosigner(),
        vec![log.trust()],
        StateDir::open(dir.path()).unwrap(),
        clock.clone(),
    )
    .unwrap();
    observe(&w, &log, &log.signed());
    clock.0.store(1_000, std::sync::atomic::Ordering::SeqCst);
    log.grow(1, 0);
    let Observation::Cosigned { cosignature, .. } = observe(&w, &log, &log.signed()) else {
        panic!()
    };
    assert_eq!(journey_tlog::cosignature::timestamp(&cosignature).unwrap(), 2_000);
}
