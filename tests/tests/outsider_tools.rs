//! Journey's checkpoints, inclusion proofs, consistency proofs and tiles, checked by code Journey did not
//! write (issue #18): Go's `golang.org/x/mod/sumdb/note` and `golang.org/x/mod/sumdb/tlog`, as Debian ships
//! them (`golang-go`, `golang-golang-x-mod-dev`), driven by `tests/tlogcheck/main.go`. The log is a real
//! Journey (`support::served_log`) and the witness `journey_witness`; what the Go program reads is what a
//! reader downloads: `/checkpoint`, a child's export's record proofs, `/proof/consistency`, `/tile/...`.
//!
//! CI installs Go and sets `JOURNEY_REQUIRE_GO=1`, so this test fails there rather than skip when Go is
//! missing. Elsewhere, without Go, it says so and passes.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use journey_core::proof::bundle::later_body;
use journey_core::tlog::SignedCheckpoint;
use journey_witness::poll::PollOutcome;
use support::served_log::{ServedLog, synthetic_appends};
use support::witness::WitnessKey;

/// Builds `tests/tlogcheck` with the system's Go in GOPATH mode (no network), or `None` without Go.
fn tlogcheck(scratch: &Path) -> Option<PathBuf> {
    let required = std::env::var("JOURNEY_REQUIRE_GO").is_ok_and(|v| v == "1");
    let have_go = Command::new("go")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !have_go {
        assert!(
            !required,
            "JOURNEY_REQUIRE_GO=1 but `go` is not installed (apt-get install golang-go golang-golang-x-mod-dev)"
        );
        eprintln!("skipped: Go is not installed here (CI installs it and sets JOURNEY_REQUIRE_GO=1)");
        return None;
    }
    let binary = scratch.join("tlogcheck");
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tlogcheck/main.go");
    let output = Command::new("go")
        .args(["build", "-o"])
        .arg(&binary)
        .arg(&source)
        .env("GO111MODULE", "off")
        .env("GOPATH", "/usr/share/gocode")
        .env("GOCACHE", scratch.join("gocache"))
        .env("GOFLAGS", "")
        .output()
        .expect("go runs");
    assert!(
        output.status.success(),
        "building tlogcheck (needs golang-golang-x-mod-dev): {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Some(binary)
}

struct Checker {
    binary: PathBuf,
    keys: Vec<String>,
}

impl Checker {
    /// Runs `tlogcheck <keys> <args>`: Ok(stdout) on exit 0, Err(stderr) on exit 1.
    fn run(&self, args: &[&str]) -> Result<String, String> {
        let output = Command::new(&self.binary)
            .args(&self.keys)
            .args(args)
            .output()
            .expect("tlogcheck runs");
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        match output.status.code() {
            Some(0) => Ok(stdout),
            Some(1) => Err(stderr),
            other => panic!("tlogcheck exited with {other:?}: {stderr}"),
        }
    }
}

/// The C2SP tile path of tile `n` of `level` (`tile/<L>/<N>[.p/<W>]`, N in groups of three digits, each
/// but the last prefixed with x).
fn tile_path(level: u8, n: u64, width: u64) -> String {
    let digits = format!("{n:03}");
    let padded = format!("{}{digits}", "0".repeat((3 - digits.len() % 3) % 3));
    let groups: Vec<&str> = padded
        .as_bytes()
        .chunks(3)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    let (last, rest) = groups.split_last().unwrap();
    let mut path = format!("tile/{level}/");
    for group in rest {
        path.push_str(&format!("x{group}/"));
    }
    path.push_str(last);
    if width < 256 {
        path.push_str(&format!(".p/{width}"));
    }
    path
}

/// Downloads every hash tile of the tree of `size` leaves into `dir`, as a reader mirrors a log.
fn mirror_tiles(log: &ServedLog, size: u64, dir: &Path) -> usize {
    let mut count = 0;
    let mut level_size = size;
    let mut level = 0u8;
    while level_size > 0 {
        for n in 0..level_size.div_ceil(256) {
            let width = (level_size - n * 256).min(256);
            let path = tile_path(level, n, width);
            let (status, body) = log.get(&format!("/{path}"));
            assert_eq!(status, 200, "{path}: {}", String::from_utf8_lossy(&body));
            let file = dir.join(&path);
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(file, body).unwrap();
            count += 1;
        }
        level_size /= 256;
        level += 1;
    }
    count
}

#[test]
fn go_x_mod_verifies_journeys_checkpoints_proofs_and_tiles_and_refuses_tampered_ones() {
    let scratch = tempfile::tempdir().unwrap();
    let Some(binary) = tlogcheck(scratch.path()) else {
        return;
    };
    let key = WitnessKey::new();
    let log = ServedLog::new(vec![key.configured()]);
    let appends = synthetic_appends(60, 7);
    let half = appends.len() / 2;
    log.append(0, appends[..half].iter().cloned());
    let old = log.sign(0);
    let watching = key.watch(&log, "tiles");
    assert!(matches!(watching.poll(), PollOutcome::Cosigned { .. }));
    log.append(0, appends[half..].iter().cloned());
    let new_size = log.sign(0).checkpoint().size;
    assert!(matches!(watching.poll(), PollOutcome::Cosigned { size, .. } if size == new_size));
    assert!(new_size > 256 + 1, "more than one tile: {new_size}");

    let checker = Checker {
        binary,
        keys: vec![
            "-log-vkey".into(),
            log.vkey().to_string(),
            "-witness-vkey".into(),
            watching.witness.verifier_key().to_string(),
            "-quorum".into(),
            "1".into(),
        ],
    };
    let file = |name: &str, bytes: &[u8]| {
        let path = scratch.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path.to_str().unwrap().to_owned()
    };

    // The checkpoint as served, with the log's signature and the witness's cosignature.
    let (status, served) = log.get("/checkpoint");
    assert_eq!(status, 200);
    let checkpoint = file("checkpoint", &served);
    checker.run(&["checkpoint", &checkpoint]).unwrap();
    let mut forged = served.clone();
    let at = forged.iter().position(|&b| b == b'\n').unwrap() + 3;
    forged[at] ^= 1; // a digit of the tree size
    assert!(
        checker
            .run(&["checkpoint", &file("forged.checkpoint", &forged)])
            .is_err()
    );

    // Every record proof of a child's export (c2sp.org/tlog-proof@v1).
    let records = log.records(0);
    let child = records[records.len() / 3].envelope.child_id.clone();
    let export = log.export(0, &child);
    assert!(export.records.len() >= 2);
    for record in &export.records {
        let proof = record.tlog_proof.as_deref().expect("a proof");
        let path = file(&format!("proof-{}", record.position.0), proof.as_bytes());
        checker
            .run(&["proof", &path])
            .unwrap_or_else(|e| panic!("position {}: {e}", record.position.0));
    }
    let mut tampered = export.records[0].tlog_proof.clone().unwrap().into_bytes();
    let hash_line = tampered.iter().position(|&b| b == b'\n').unwrap(); // after "c2sp.org/tlog-proof@v1"
    let extra = hash_line
        + 1
        + tampered[hash_line + 1..]
            .iter()
            .position(|&b| b == b'\n')
            .unwrap();
    tampered[extra + 12] ^= 1; // inside the index line or the first hash
    assert!(
        checker
            .run(&["proof", &file("tampered-proof", &tampered)])
            .is_err()
    );

    // Consistency from the first checkpoint to the latest, as /proof/consistency gives it.
    let (status, old_served) = log.get(&format!("/checkpoints/{}", old.checkpoint().size));
    assert_eq!(status, 200);
    let old_path = file("old.checkpoint", &old_served);
    // Fetched and parsed by the witness's client, as a reader's tool would.
    let hashes = watching
        .client
        .consistency_proof(old.checkpoint().size, new_size)
        .unwrap();
    let latest = SignedCheckpoint::parse(&served).unwrap();
    let later = later_body(old.checkpoint().size, hashes.clone(), latest.clone());
    checker
        .run(&["consistency", &old_path, &file("later", &later)])
        .unwrap();
    let mut bent = hashes;
    bent[0][0] ^= 1;
    let bent = later_body(old.checkpoint().size, bent, latest);
    assert!(
        checker
            .run(&["consistency", &old_path, &file("bent", &bent)])
            .is_err()
    );

    // The tiles give the signed root.
    let tiles = scratch.path().join("mirror");
    assert!(mirror_tiles(&log, new_size, &tiles) >= 3);
    checker
        .run(&["tiles", &checkpoint, tiles.to_str().unwrap()])
        .unwrap();
    // The root over full tiles is read from the level above them: a changed hash there is caught.
    let upper = tiles.join(tile_path(1, 0, new_size / 256));
    let mut bytes = std::fs::read(&upper).unwrap();
    bytes[0] ^= 1;
    std::fs::write(&upper, bytes).unwrap();
    assert!(
        checker
            .run(&["tiles", &checkpoint, tiles.to_str().unwrap()])
            .is_err()
    );
}

#[test]
fn tile_paths_are_c2sp_paths() {
    assert_eq!(tile_path(0, 0, 256), "tile/0/000");
    assert_eq!(tile_path(1, 5, 17), "tile/1/005.p/17");
    assert_eq!(tile_path(0, 1234, 256), "tile/0/x001/234");
    assert_eq!(tile_path(2, 1_234_067, 3), "tile/2/x001/x234/067.p/3");
}
