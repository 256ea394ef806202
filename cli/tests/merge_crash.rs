//! A merge killed with SIGKILL (issue #20): `journey children merge` on a data directory is killed at random
//! moments, many times. After every kill the data directory verifies, and each merge is either not there,
//! incomplete (its first half only: the merged record refuses appends, readers still see two children) or
//! whole; a merge the command reported done is whole. Repeating the merge finishes an incomplete one.
//!
//! `JOURNEY_CRASH_SEED=<n>` replays the random kill moments of a failed run (the seed is printed).

mod common;

use common::journey;
use std::collections::HashMap;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const PAIRS: usize = 40;

fn path(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 temp path")
}

fn child(i: usize) -> String {
    format!("EXS{i:06}")
}

fn merges(dir: &Path) -> HashMap<String, String> {
    let out = journey(&["children", "merges", "--format", "json", "--data", path(dir)]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    list.as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["merged"].as_str().unwrap().to_owned(),
                m["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn verified(dir: &Path, when: &str) {
    let out = journey(&["verify", "--data", path(dir)]);
    assert!(
        out.status.success(),
        "{when}: the data directory does not verify:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn merge_args(dir: &Path, pair: usize) -> Vec<String> {
    [
        "children",
        "merge",
        &child(2 * pair + 1),
        "--into",
        &child(2 * pair),
        "--reason",
        "crash test: the same synthetic child",
        "--data",
        path(dir),
    ]
    .map(str::to_owned)
    .to_vec()
}

#[test]
fn a_merge_killed_at_any_moment_is_absent_incomplete_or_whole_and_a_repeat_finishes_it() {
    let seed: u64 = std::env::var("JOURNEY_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            use std::hash::{BuildHasher, RandomState};
            RandomState::new().hash_one(std::process::id())
        });
    eprintln!("JOURNEY_CRASH_SEED={seed}");
    let mut state = seed | 1;
    let mut random = move |below: u64| {
        // xorshift64: enough to spread the kill moments, and replayable from the seed.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % below
    };

    let dir = tempfile::tempdir().unwrap();
    let demo = journey(&[
        "demo",
        "--data",
        path(dir.path()),
        "--children",
        &(2 * PAIRS).to_string(),
        "--seed",
        "11",
    ]);
    assert!(demo.status.success(), "{}", String::from_utf8_lossy(&demo.stderr));

    // How long one merge takes here, so that the kills fall across the whole of one.
    let started = Instant::now();
    let probe = journey(
        &merge_args(dir.path(), 0)
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    let typical = started.elapsed().max(Duration::from_millis(5));
    let mut done: Vec<usize> = Vec::new();
    if probe.status.success() {
        done.push(0);
    }

    let mut killed = 0;
    for pair in 1..PAIRS {
        let mut process = Command::new(env!("CARGO_BIN_EXE_journey"))
            .args(merge_args(dir.path(), pair))
            .env_remove("JOURNEY_DATA")
            .env_remove("JOURNEY_SERVER")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let micros = u64::try_from(typical.as_micros()).unwrap_or(u64::MAX);
        // Most of a merge's time is the process starting and opening the store: the kills fall from 40% to
        // 120% of a whole merge, where its two appends are.
        let from = micros.saturating_mul(4) / 10;
        std::thread::sleep(Duration::from_micros(
            from + random(micros.saturating_mul(8) / 10),
        ));
        let _ = process.kill();
        let status = process.wait().unwrap();
        if status.signal() == Some(9) {
            killed += 1;
        } else if status.success() {
            done.push(pair);
        }
        verified(dir.path(), &format!("after killing merge {pair}"));
        let states = merges(dir.path());
        let merged = child(2 * pair + 1);
        match states.get(&merged).map(String::as_str) {
            None | Some("incomplete") => assert!(
                !done.contains(&pair),
                "merge {pair} was reported done but is {:?}",
                states.get(&merged)
            ),
            Some("in_force") => {}
            other => panic!("merge {pair} is {other:?} after a kill"),
        }
    }
    eprintln!("{killed} of {} merges killed", PAIRS - 1);

    // Repeating each merge finishes it (or refuses it again, naming the rule, when the domain forbids it).
    let before = merges(dir.path());
    let incomplete = before.values().filter(|s| *s == "incomplete").count();
    eprintln!("{incomplete} merges left incomplete by a kill");
    for pair in 0..PAIRS {
        let args = merge_args(dir.path(), pair);
        let out = journey(&args.iter().map(String::as_str).collect::<Vec<_>>());
        let merged = child(2 * pair + 1);
        if before.contains_key(&merged) {
            assert!(
                out.status.success(),
                "repeating merge {pair} ({:?}) failed: {}",
                before.get(&merged),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    let after = merges(dir.path());
    assert!(after.values().all(|s| s == "in_force"), "{after:?}");
    assert!(after.len() >= before.len());
    verified(dir.path(), "after the repeats");
}
