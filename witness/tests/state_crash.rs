//! The state file of an origin is replaced atomically: a witness killed after writing and syncing the new
//! state but before renaming it into place restarts from the old state (the new one was never handed out),
//! removes the leftover, and goes on from there.
//!
//! The kill is real: the test runs itself again in a child process that writes the new state through the
//! same `StateDir::prepare_checkpoint` the witness uses, then aborts before `PreparedState::commit`.

mod common;

use std::os::unix::process::ExitStatusExt as _;
use std::process::Command;

use journey_tlog::note::Note;
use journey_tlog::{Checkpoint, Hash, SignedCheckpoint};
use journey_witness::state::origin_hex;
use journey_witness::{Error, Observation, StateDir};

use common::{TestLog, cosigner, witness};

const CHILD: &str = "JOURNEY_WITNESS_CRASH_STATE_DIR";
/// The signal `abort` raises.
const SIGABRT: i32 = 6;

fn log() -> TestLog {
    let mut log = TestLog::new("journey.example/log/1");
    log.grow(20, 0);
    log
}

/// In the child: write the state for size 20 and die before the rename.
fn die_between_write_and_rename(dir: &str) -> ! {
    let log = log();
    let state = StateDir::open(std::path::Path::new(dir)).unwrap();
    let signed = log.signed_at(20);
    let mut note = Note::new(signed.checkpoint().to_text()).unwrap();
    note.add_signature(signed.note().signatures()[0].clone()).unwrap();
    note.add_signature(cosigner().cosign(signed.checkpoint(), 1).unwrap())
        .unwrap();
    let prepared = state
        .prepare_checkpoint(&SignedCheckpoint::from_note(note).unwrap())
        .unwrap();
    std::mem::forget(prepared);
    std::process::abort();
}

#[test]
fn killed_between_the_write_and_the_rename_the_witness_restarts_from_the_old_state() {
    if let Ok(dir) = std::env::var(CHILD) {
        die_between_write_and_rename(&dir);
    }
    let dir = tempfile::tempdir().unwrap();
    let log = log();
    let prove = |old: &Checkpoint, new: &Checkpoint| Ok::<Vec<Hash>, Error>(log.proof(old.size, new.size));
    {
        let w = witness(dir.path(), vec![log.trust()]).unwrap();
        let observed = w
            .observe(&log.origin, &log.signed_at(10).to_bytes(), &mut { prove })
            .unwrap();
        assert!(matches!(observed, Observation::Cosigned { .. }));
    }
    let state_file = dir
        .path()
        .join("state")
        .join(format!("{}.checkpoint", origin_hex(&log.origin)));
    let before = std::fs::read(&state_file).unwrap();

    let status = Command::new(std::env::current_exe().unwrap())
        .args([
            "killed_between_the_write_and_the_rename_the_witness_restarts_from_the_old_state",
            "--exact",
            "--nocapture",
        ])
        .env(CHILD, dir.path())
        .status()
        .unwrap();
    assert_eq!(
        status.signal(),
        Some(SIGABRT),
        "the child must die, not exit: {status:?}"
    );
    let leftover = dir
        .path()
        .join("state")
        .join(format!(".{}.checkpoint.tmp", origin_hex(&log.origin)));
    assert!(leftover.exists(), "the child wrote the new state before it died");
    assert_eq!(
        std::fs::read(&state_file).unwrap(),
        before,
        "the state file is untouched"
    );

    // Restarted: the old state, the leftover gone, and the witness goes on from size 10.
    let w = witness(dir.path(), vec![log.trust()]).unwrap();
    assert!(!leftover.exists());
    assert_eq!(w.latest(&log.origin).unwrap().checkpoint().size, 10);
    let observed = w
        .observe(&log.origin, &log.signed_at(20).to_bytes(), &mut { prove })
        .unwrap();
    assert!(matches!(observed, Observation::Cosigned { .. }), "{observed:?}");
    assert_eq!(w.latest(&log.origin).unwrap().checkpoint().size, 20);
}
