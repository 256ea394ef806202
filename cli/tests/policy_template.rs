//! `journey policy new`, then `journey policy test`: the template an author starts from builds into a component
//! whose shipped example cases pass in Journey's sandbox — the whole authoring path, as an author runs it.

use std::path::Path;
use std::process::Command;

#[test]
fn a_new_policy_builds_and_passes_its_examples() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("re-referral-alert");
    let journey = env!("CARGO_BIN_EXE_journey");
    let created = Command::new(journey)
        .args(["policy", "new"])
        .arg(&policy)
        .output()
        .unwrap();
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    for file in [
        "Cargo.toml",
        "src/lib.rs",
        "parameters.json",
        "examples/01-re-referral.json",
    ] {
        assert!(policy.join(file).is_file(), "{file} was not created");
    }
    // The template's dependencies compile once per machine, in the workspace's target directory.
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/policy-template");
    let tested = Command::new(journey)
        .args(["policy", "test"])
        .arg(&policy)
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&tested.stdout);
    assert!(
        tested.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&tested.stderr)
    );
    assert!(stdout.contains("re-referral-alert 0.1.0"), "{stdout}");
    assert!(stdout.contains("2 of 2 example cases passed"), "{stdout}");

    // A policy folder that is not empty is never overwritten.
    let again = Command::new(journey)
        .args(["policy", "new"])
        .arg(&policy)
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("not empty"));
}
