//! `journey verify`, `journey serve` and `journey accept-loss` on damaged data directories (issue 17, A and
//! B): verify walks everything serve checks (the log against its mark, the index, the system journal, the
//! blobs) and fails where serve refuses to open; a lost end of the log is refused until an operator accepts
//! the loss, which is recorded and listed by verify from then on.

mod common;

use common::journey;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn path(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 temp path")
}

fn text(out: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn ok(args: &[&str]) -> String {
    let out = journey(args);
    assert!(out.status.success(), "journey {args:?} failed:\n{}", text(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A data directory with a synthetic authority and three API keys (so its journal has records).
fn data_dir(dir: &Path) {
    ok(&["demo", "--data", path(dir), "--children", "20", "--seed", "5"]);
    for name in ["first", "second", "third"] {
        ok(&[
            "keys",
            "create",
            "--data",
            path(dir),
            "--role",
            "admin",
            "--name",
            name,
        ]);
    }
}

fn verify(dir: &Path) -> (bool, Value, String) {
    let out = journey(&["verify", "--data", path(dir)]);
    let report = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.success(), report, text(&out))
}

/// Runs `journey serve` on `dir` and expects it to refuse to start; returns what it said.
fn serve_refuses(dir: &Path) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_journey"))
        .args(["serve", "--data", path(dir), "--listen", "127.0.0.1:0"])
        .env_remove("JOURNEY_DATA")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(60) {
            child.kill().unwrap();
            panic!("journey serve opened a data directory it must refuse");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success());
    text(&out)
}

/// The journal's segment with record 1's JSON edited (`recorded_by` of the first key, same length) and both
/// CRCs recomputed: only the hash chain can tell.
fn tamper_with_the_first_journal_record(segment: &Path) {
    let mut bytes = std::fs::read(segment).unwrap();
    let frame = 16;
    let len = u32::from_le_bytes(bytes[frame + 4..frame + 8].try_into().unwrap()) as usize;
    let payload = frame + 12;
    let json = String::from_utf8(bytes[payload..payload + len].to_vec()).unwrap();
    let edited = json.replacen("\"recorded_by\":\"cli\"", "\"recorded_by\":\"clj\"", 1);
    assert_ne!(json, edited, "{json}");
    bytes[payload..payload + len].copy_from_slice(edited.as_bytes());
    let crc = crc32c::crc32c_append(crc32c::crc32c(&(len as u32).to_le_bytes()), edited.as_bytes());
    bytes[frame + 8..frame + 12].copy_from_slice(&crc.to_le_bytes());
    // The group's commit frame: magic, group_len, entries, CRC of (group_len ‖ entries ‖ the group).
    let commit = payload + len;
    let mut covered = bytes[commit + 4..commit + 12].to_vec();
    covered.extend_from_slice(&bytes[frame..commit]);
    let crc = crc32c::crc32c(&covered);
    bytes[commit + 12..commit + 16].copy_from_slice(&crc.to_le_bytes());
    std::fs::write(segment, bytes).unwrap();
}

#[test]
fn verify_walks_every_part_and_fails_on_a_tampered_or_damaged_journal_as_serve_refuses_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    data_dir(&dir);
    let (intact, report, said) = verify(&dir);
    assert!(intact, "{said}");
    assert_eq!(report["intact"], true);
    assert_eq!(
        report["walked"],
        serde_json::json!(["log", "index", "journal", "tree", "checkpoints"])
    );
    assert_eq!(report["first_broken"], Value::Null);
    assert_eq!(report["journal"]["verification"]["records"], 3);
    assert_eq!(report["index"]["records_checked"], report["records"]);

    let segment = dir.join("journal").join("0000000001.seg");
    let original = std::fs::read(&segment).unwrap();
    // Tampered, CRCs recomputed.
    tamper_with_the_first_journal_record(&segment);
    let (intact, report, said) = verify(&dir);
    assert!(!intact, "a tampered journal must fail verification: {said}");
    assert_eq!(report["intact"], false);
    assert!(said.contains("journal"), "{said}");
    serve_refuses(&dir);

    // One bit flipped, nothing recomputed.
    let mut flipped = original.clone();
    flipped[16 + 12 + 5] ^= 0x04;
    std::fs::write(&segment, &flipped).unwrap();
    let (intact, _, said) = verify(&dir);
    assert!(!intact, "a damaged journal must fail verification: {said}");
    assert!(said.contains("journal"), "{said}");
    serve_refuses(&dir);

    std::fs::write(&segment, &original).unwrap();
    assert!(verify(&dir).0);
}

#[test]
fn a_damaged_last_acknowledged_group_is_refused_until_the_loss_is_accepted_and_recorded() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    data_dir(&dir);
    let (_, report, _) = verify(&dir);
    let records = report["records"].as_u64().unwrap();
    // One bit inside the last record of the log (its group: that record, then a 16-byte commit frame).
    let segment = dir.join("log").join("0000000001.seg");
    let mut bytes = std::fs::read(&segment).unwrap();
    let at = bytes.len() - 16 - 20;
    bytes[at] ^= 0x10;
    std::fs::write(&segment, &bytes).unwrap();

    let (intact, report, said) = verify(&dir);
    assert!(!intact, "{said}");
    assert!(
        report["log"]["problem"]
            .as_str()
            .unwrap()
            .contains("it was durable"),
        "{said}"
    );
    let refused = serve_refuses(&dir);
    assert!(refused.contains("was durable"), "{refused}");
    assert!(
        refused.contains("Restore the data directory from a backup"),
        "{refused}"
    );
    assert!(refused.contains("journey accept-loss"), "{refused}");
    let rebuilt = journey(&["rebuild", "--data", path(&dir)]);
    assert!(
        !rebuilt.status.success(),
        "a rebuild must not go over the loss: {}",
        text(&rebuilt)
    );
    assert_eq!(std::fs::read(&segment).unwrap(), bytes, "nothing was cut");

    // Accepting needs a reason and --confirm; without --confirm nothing changes.
    let shown = journey(&[
        "accept-loss",
        "--data",
        path(&dir),
        "--reason",
        "no backup holds it",
    ]);
    assert!(!shown.status.success());
    assert!(text(&shown).contains("nothing was changed"), "{}", text(&shown));
    assert_eq!(std::fs::read(&segment).unwrap(), bytes);
    let accepted = journey(&[
        "accept-loss",
        "--data",
        path(&dir),
        "--reason",
        "no backup holds it",
        "--confirm",
    ]);
    assert!(accepted.status.success(), "{}", text(&accepted));
    assert!(text(&accepted).contains("LOSS ACCEPTED"), "{}", text(&accepted));

    // From then on the directory opens, verifies, and says what was lost and why.
    let (intact, report, said) = verify(&dir);
    assert!(intact, "{said}");
    assert_eq!(report["records"].as_u64().unwrap(), records - 1);
    let losses = report["journal"]["accepted_losses"].as_array().unwrap();
    assert_eq!(losses.len(), 1, "{report}");
    let loss = losses[0].as_str().unwrap();
    assert!(
        loss.contains("no backup holds it") && loss.contains("by cli"),
        "{loss}"
    );
    assert!(
        said.contains("an operator accepted a loss of durable records"),
        "{said}"
    );
}
