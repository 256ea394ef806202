//! Crash recovery with a real crash: `journey-crash-writer` appends from many threads in a separate process
//! and is killed with SIGKILL while appends are in flight. The store is then reopened here and must hold
//! every acknowledged event, no part of any batch without the rest of it, gap-free positions and versions,
//! an intact hash chain, and must go on accepting appends. Each scenario kills and recovers twice on the
//! same directory (recovery after recovery), at different points.
//!
//! `JOURNEY_CRASH_SEED=<n>` replays the random kill moments of a failed run (the seed is printed).

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use futures::executor::block_on;
use journey_core::ExpectedVersion;
use journey_core::store::EventStore;
use journey_core::testkit::{append, contact, registered};
use journey_core::{ChildId, Position, RecordedEvent, SystemClock, Version};
use journey_embedded::EmbeddedStore;
use journey_tests::crash::{self, Ack};
use rand::{Rng, SeedableRng};

const WRITER: &str = env!("CARGO_BIN_EXE_journey-crash-writer");

/// A writer that has not reached its kill point by then is stuck: fail rather than hang.
const PATIENCE: Duration = Duration::from_secs(45);

#[derive(Clone, Copy, Debug)]
enum KillAt {
    /// Once this many appends have been acknowledged.
    Acks(usize),
    /// This long after the writer was started, whatever it is doing (possibly still opening the store).
    After(Duration),
}

#[test]
fn killed_after_50_acknowledged_appends_then_after_300() {
    scenario("k50", &[KillAt::Acks(50), KillAt::Acks(300)]);
}

#[test]
fn killed_after_500_acknowledged_appends_then_after_20() {
    scenario("k500", &[KillAt::Acks(500), KillAt::Acks(20)]);
}

#[test]
fn killed_after_3000_acknowledged_appends_then_after_1000() {
    scenario("k3000", &[KillAt::Acks(3000), KillAt::Acks(1000)]);
}

#[test]
fn killed_at_random_moments() {
    let seed = std::env::var("JOURNEY_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::rng().random::<u64>());
    eprintln!("JOURNEY_CRASH_SEED={seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let kills: Vec<KillAt> = (0..2)
        .map(|_| KillAt::After(Duration::from_millis(rng.random_range(20..1500))))
        .collect();
    scenario("rand", &kills);
}

#[test]
fn a_killed_writer_leaves_the_directory_lock_free() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = spawn(dir.path(), "lock");
    // Once an append has been acknowledged the writer certainly holds the lock.
    let first = writer
        .lines
        .recv_timeout(PATIENCE)
        .expect("the writer acknowledges appends");
    assert!(first.starts_with("ack "), "{first}");
    let busy = EmbeddedStore::open_with(dir.path(), Arc::new(SystemClock), crash::options());
    assert!(
        busy.is_err(),
        "the directory must be locked while the writer runs"
    );
    writer.kill();
    let store = EmbeddedStore::open_with(dir.path(), Arc::new(SystemClock), crash::options())
        .expect("the lock of a killed writer must not outlive it");
    assert!(block_on(store.verify()).unwrap().is_intact());
}

/// After a real crash, the end of the log is still known. A writer killed mid-load (rotating segments every
/// few dozen milliseconds), then its last segment deleted: the store refuses to open, naming the segment
/// (a segment is marked before anything goes into it). And once recovery has run, the whole log is marked:
/// a bit flipped inside its last group is refused, not taken for a torn write.
#[test]
fn after_a_kill_a_lost_or_damaged_end_of_the_log_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (acks, _) = run_until_killed(dir.path(), "lost", KillAt::Acks(600));
    assert!(!acks.is_empty());
    let segments = segment_files(dir.path());
    assert!(segments.len() >= 3, "the writer rotated: {segments:?}");
    let (segment, end) = newest_mark(&dir.path().join("log").join("durable"));
    eprintln!(
        "the mark after the kill: segment {segment} byte {end}, of {} segments",
        segments.len()
    );

    // Recovered (opened and closed) in a copy, then one bit flipped in its last group.
    let copy = tempfile::tempdir().unwrap();
    copy_tree(dir.path(), copy.path());
    let recovered = check(copy.path(), &acks, "recovered copy");
    // One more group after recovery, so that the newest segment holds the last group even when the kill came
    // just after the writer began a segment (which then holds only its header).
    block_on(recovered.append(append(
        "after-recovery",
        ExpectedVersion::NoStream,
        vec![registered("after-recovery-reg", "2015-06-01")],
    )))
    .unwrap();
    recovered.close().unwrap();
    let last = segment_files(copy.path()).pop().unwrap();
    let mut bytes = std::fs::read(&last).unwrap();
    let at = bytes.len() - 16 - 20;
    bytes[at] ^= 0x08;
    std::fs::write(&last, bytes).unwrap();
    let err = EmbeddedStore::open_with(copy.path(), Arc::new(SystemClock), crash::options())
        .expect_err("damage inside the marked end of the log must be refused");
    assert!(err.to_string().contains("it was durable"), "{err}");

    // The last segment deleted, straight after the kill.
    let last = segments.last().unwrap();
    std::fs::remove_file(last).unwrap();
    let err = EmbeddedStore::open_with(dir.path(), Arc::new(SystemClock), crash::options())
        .expect_err("a deleted last segment must be refused after a crash too");
    let name = last.file_name().unwrap().to_str().unwrap();
    assert!(
        err.to_string().contains(&format!("segment {name} is missing")),
        "{err}"
    );
}

fn segment_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut segments: Vec<_> = std::fs::read_dir(dir.join("log"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "seg"))
        .collect();
    segments.sort();
    segments
}

/// `(segment, end)` of the newest valid slot of a log's mark file (`journey_embedded::log` documents it).
fn newest_mark(path: &Path) -> (u32, u64) {
    let bytes = std::fs::read(path).unwrap();
    [0usize, 128]
        .iter()
        .filter_map(|&at| {
            let slot = bytes.get(at..at + 80)?;
            let crc = u32::from_le_bytes(slot[76..80].try_into().unwrap());
            (&slot[..8] == b"JRNYDUR1" && crc32c::crc32c(&slot[..76]) == crc).then(|| {
                (
                    u64::from_le_bytes(slot[8..16].try_into().unwrap()),
                    u32::from_le_bytes(slot[16..20].try_into().unwrap()),
                    u64::from_le_bytes(slot[20..28].try_into().unwrap()),
                )
            })
        })
        .max()
        .map(|(_, segment, end)| (segment, end))
        .expect("a valid mark")
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_tree(&path, &target);
        } else if path.file_name().is_some_and(|n| n != "LOCK") {
            std::fs::copy(&path, target).unwrap();
        }
    }
}

/// Kills a writer at each point in turn on one directory, checking the store after each kill.
fn scenario(name: &str, kills: &[KillAt]) {
    let dir = tempfile::tempdir().unwrap();
    let mut acked: Vec<Ack> = Vec::new();
    for (cycle, &kill) in kills.iter().enumerate() {
        let run = format!("{name}{cycle}").replace(|c: char| !c.is_ascii_alphanumeric(), "");
        let (acks, after_kill) = run_until_killed(dir.path(), &run, kill);
        eprintln!(
            "{name} cycle {cycle}: killed at {kill:?} with {} acknowledged appends ({after_kill} read after the kill)",
            acks.len()
        );
        acked.extend(acks);
        let store = check(dir.path(), &acked, &format!("{name} cycle {cycle}"));
        acked.extend(append_after_recovery(&store, &run, &acked));
        store.close().unwrap();
    }
    // And once more, cleanly, after the last recovery: everything, including the appends made after it.
    let store = check(dir.path(), &acked, &format!("{name} final"));
    store.close().unwrap();
}

struct Writer {
    process: std::process::Child,
    /// Whole lines of the writer's stdout; disconnected once it is closed.
    lines: mpsc::Receiver<String>,
}

impl Writer {
    /// SIGKILL, then reap: once `wait` returns, the process and its open files (and so its lock) are gone.
    fn kill(&mut self) {
        self.process.kill().unwrap();
        let status = self.process.wait().unwrap();
        assert_eq!(
            status.signal(),
            Some(9),
            "the writer must die by SIGKILL, not exit by itself: {status:?}"
        );
    }
}

fn spawn(dir: &Path, run: &str) -> Writer {
    let mut process = Command::new(WRITER)
        .arg(dir)
        .arg(run)
        .arg("60")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start journey-crash-writer");
    let mut stdout = BufReader::new(process.stdout.take().unwrap());
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = Vec::new();
        loop {
            line.clear();
            match stdout.read_until(b'\n', &mut line) {
                // A line without its newline was cut off by the kill: its append may not have been printed
                // whole, so it proves nothing.
                Ok(_) if line.last() == Some(&b'\n') => {
                    line.pop();
                    if tx
                        .send(String::from_utf8(line.clone()).expect("utf-8 from the writer"))
                        .is_err()
                    {
                        return;
                    }
                }
                _ => return,
            }
        }
    });
    Writer { process, lines }
}

/// Runs a writer until its kill point and kills it. Returns every append it acknowledged, and how many of
/// those were read only after the kill (printed before it, still in the pipe).
fn run_until_killed(dir: &Path, run: &str, kill: KillAt) -> (Vec<Ack>, usize) {
    let started = Instant::now();
    let mut writer = spawn(dir, run);
    let mut acks = Vec::new();
    let take = |line: String, acks: &mut Vec<Ack>| {
        if line.starts_with("fail ") {
            panic!("the writer failed: {line}");
        }
        acks.push(Ack::parse(&line).unwrap_or_else(|| panic!("unexpected line from the writer: {line:?}")));
    };
    loop {
        let due = match kill {
            KillAt::Acks(n) => acks.len() >= n,
            KillAt::After(d) => started.elapsed() >= d,
        };
        if due {
            break;
        }
        assert!(
            started.elapsed() < PATIENCE,
            "the writer did not reach {kill:?} in {PATIENCE:?}"
        );
        match writer.lines.recv_timeout(Duration::from_millis(5)) {
            Ok(line) => take(line, &mut acks),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let status = writer.process.wait().unwrap();
                panic!(
                    "the writer stopped before {kill:?} ({status:?}) after {} acknowledgements",
                    acks.len()
                );
            }
        }
    }
    writer.kill();
    let before = acks.len();
    // Whatever is still in the pipe was printed, so acknowledged, before the kill.
    while let Ok(line) = writer.lines.recv_timeout(PATIENCE) {
        take(line, &mut acks);
    }
    let after = acks.len() - before;
    (acks, after)
}

/// Reopens the store and checks everything the crash may not have broken. Returns the open store.
fn check(dir: &Path, acked: &[Ack], label: &str) -> EmbeddedStore {
    let store = EmbeddedStore::open_with(dir, Arc::new(SystemClock), crash::options())
        .unwrap_or_else(|e| panic!("{label}: reopening after the crash failed: {e}"));
    let report = store.open_report().clone();
    eprintln!("{label}: reopened: {report:?}");

    let all = block_on(store.read_all(Position(1), usize::MAX)).unwrap();
    assert_eq!(
        report.records,
        all.len() as u64,
        "{label}: the open report and the log disagree"
    );

    // One global order, gap-free.
    for (i, e) in all.iter().enumerate() {
        assert_eq!(
            e.envelope.position,
            Position(i as u64 + 1),
            "{label}: positions must be gap-free"
        );
    }
    let head = block_on(store.head()).unwrap();
    assert_eq!(
        head.position,
        all.last().map(|e| e.envelope.position),
        "{label}: head"
    );

    // Each child's versions gap-free from 1, in log order; and the index agrees with the log.
    let mut streams: BTreeMap<&str, Vec<&RecordedEvent>> = BTreeMap::new();
    for e in &all {
        let stream = streams.entry(e.envelope.child_id.as_str()).or_default();
        assert_eq!(
            e.envelope.version,
            Version(stream.len() as u64 + 1),
            "{label}: versions of {} must be gap-free ({})",
            e.envelope.child_id,
            e.envelope.event_id
        );
        stream.push(e);
    }
    for (child, events) in &streams {
        let child_id = ChildId::parse(*child).unwrap();
        let read = block_on(store.read_stream(child_id.clone(), Version(1), usize::MAX)).unwrap();
        let expected: Vec<&RecordedEvent> = events.clone();
        assert!(
            read.iter().eq(expected.into_iter()),
            "{label}: read_stream({child}) disagrees with the log"
        );
        let version = block_on(store.stream_version(child_id)).unwrap();
        assert_eq!(
            version,
            Some(Version(events.len() as u64)),
            "{label}: stream_version({child})"
        );
    }

    // Every event belongs to a batch; every batch found is whole, in order, contiguous.
    let mut by_id: HashMap<&str, &RecordedEvent> = HashMap::with_capacity(all.len());
    let mut batches: HashMap<&str, Vec<(usize, usize, &RecordedEvent)>> = HashMap::new();
    for e in &all {
        let id = e.envelope.event_id.as_str();
        assert!(
            by_id.insert(id, e).is_none(),
            "{label}: event id {id} stored twice"
        );
        let (batch, i, k) = crash::parse_event_id(id)
            .unwrap_or_else(|| panic!("{label}: an event id not written by the test: {id}"));
        assert!(
            batch.starts_with(&format!("{}.b", e.envelope.child_id)),
            "{label}: {id} is in the stream of {}",
            e.envelope.child_id
        );
        batches.entry(batch).or_default().push((i, k, e));
    }
    for (batch, members) in &batches {
        let k = members[0].1;
        let places: Vec<usize> = members.iter().map(|m| m.0).collect();
        assert!(
            members.iter().all(|m| m.1 == k) && places == (1..=k).collect::<Vec<_>>(),
            "{label}: batch {batch} is only partly stored: events {places:?} of {k} (an append must be all or nothing)"
        );
        for pair in members.windows(2) {
            let (a, b) = (&pair[0].2.envelope, &pair[1].2.envelope);
            assert_eq!(
                b.version,
                a.version.next(),
                "{label}: batch {batch} versions not contiguous"
            );
            assert_eq!(
                b.position,
                a.position.next(),
                "{label}: batch {batch} positions not contiguous"
            );
        }
    }

    // Every acknowledged event is there, in the stream it was acknowledged for.
    let mut missing = Vec::new();
    for ack in acked {
        for id in &ack.event_ids {
            match by_id.get(id.as_str()) {
                Some(e) => assert_eq!(
                    e.envelope.child_id.as_str(),
                    ack.child,
                    "{label}: {id} in the wrong stream"
                ),
                None => missing.push(id.as_str()),
            }
        }
    }
    assert!(
        missing.is_empty(),
        "{label}: {} acknowledged events are missing, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    let acked_events = acked
        .iter()
        .flat_map(|a| &a.event_ids)
        .collect::<std::collections::HashSet<_>>()
        .len();
    assert_eq!(
        acked_events,
        acked.iter().map(|a| a.event_ids.len()).sum::<usize>(),
        "{label}: an event id was acknowledged as new twice"
    );
    eprintln!(
        "{label}: {} records in {} streams, {acked_events} acknowledged, {} stored but never acknowledged",
        all.len(),
        streams.len(),
        all.len() - acked_events
    );

    let verified = block_on(store.verify()).unwrap();
    assert!(
        verified.is_intact(),
        "{label}: the hash chain is broken: {:?}",
        verified.first_broken
    );
    assert_eq!(
        verified.records,
        all.len() as u64,
        "{label}: verify checked every record"
    );
    assert_eq!(
        verified.streams,
        streams.len() as u64,
        "{label}: verify saw every stream"
    );
    assert_eq!(verified.head, head, "{label}: verify recomputes the head");
    store
}

/// The recovered store takes new appends: a new child, more for a shared child, more for an acknowledged
/// child of the writer's at its exact version. Returns them as acknowledgements.
fn append_after_recovery(store: &EmbeddedStore, run: &str, acked: &[Ack]) -> Vec<Ack> {
    let mut out = Vec::new();
    let mut push = |child: &str, expected: ExpectedVersion, events: Vec<journey_core::NewEvent>| {
        let ids = events.iter().map(|e| e.event_id.as_str().to_owned()).collect();
        let outcome = block_on(store.append(append(child, expected, events)))
            .unwrap_or_else(|e| panic!("the recovered store must accept an append to {child}: {e}"));
        assert!(!outcome.already_recorded);
        out.push(Ack {
            child: child.to_owned(),
            event_ids: ids,
        });
    };
    let child = format!("after-{run}");
    push(
        &child,
        ExpectedVersion::NoStream,
        vec![
            registered(&crash::event_id(&child, "1", 1, 2), "2015-06-01"),
            contact(&crash::event_id(&child, "1", 2, 2), "2023-07-01"),
        ],
    );
    let shared = crash::shared_child(0);
    if acked.iter().any(|a| a.child == shared) {
        push(
            &shared,
            ExpectedVersion::Any,
            vec![contact(
                &crash::event_id(&shared, &format!("after{run}"), 1, 1),
                "2023-07-01",
            )],
        );
    }
    if let Some(own) = acked.iter().rev().find(|a| a.child.starts_with('r')) {
        let version = block_on(store.stream_version(ChildId::parse(own.child.as_str()).unwrap()))
            .unwrap()
            .unwrap();
        push(
            &own.child,
            ExpectedVersion::Exact(version),
            vec![contact(
                &crash::event_id(&own.child, &format!("after{run}"), 1, 1),
                "2023-07-01",
            )],
        );
    }
    out
}

const DESTROYER: &str = env!("CARGO_BIN_EXE_journey-crash-destroyer");

/// SIGKILL during destructions of content keys: every destruction that was answered holds, the one in flight
/// is whole or not at all (the child reads as destroyed, or reads whole), every other child reads whole, the
/// key store opens, and the log verifies. Killed twice on one directory, at random moments.
#[test]
fn killed_while_destroying_content_keys() {
    const CHILDREN: usize = 600;
    let seed = std::env::var("JOURNEY_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::rng().random::<u64>());
    eprintln!("JOURNEY_CRASH_SEED={seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().unwrap();
    let mut destroyed: Vec<usize> = Vec::new();
    for cycle in 0..2 {
        let mut process = Command::new(DESTROYER)
            .arg(dir.path())
            .arg(CHILDREN.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start journey-crash-destroyer");
        let mut lines = BufReader::new(process.stdout.take().unwrap()).lines();
        let kill_after = rng.random_range(20..120);
        let (mut in_flight, mut seen) = (None, 0);
        for line in lines.by_ref() {
            let line = line.unwrap();
            assert!(!line.starts_with("fail"), "cycle {cycle}: {line}");
            if let Some(k) = line.strip_prefix("destroying ") {
                in_flight = Some(k.parse::<usize>().unwrap());
                seen += 1;
                if seen == kill_after {
                    break;
                }
            } else if let Some(k) = line.strip_prefix("destroyed ") {
                destroyed.push(k.parse().unwrap());
                in_flight = None;
            }
        }
        // Let the destruction asked for last get under way, then kill at a random point within it.
        std::thread::sleep(Duration::from_micros(rng.random_range(0..3_000)));
        process.kill().unwrap();
        assert_eq!(
            process.wait().unwrap().signal(),
            Some(9),
            "the destroyer must die by SIGKILL"
        );
        // Lines printed before the kill are still in the pipe: those destructions were answered.
        for line in lines.map_while(Result::ok) {
            if let Some(k) = line.strip_prefix("destroyed ") {
                destroyed.push(k.parse().unwrap());
                in_flight = None;
            }
        }
        let store = EmbeddedStore::open_with(dir.path(), Arc::new(SystemClock), crash::options())
            .unwrap_or_else(|e| panic!("cycle {cycle}: reopening after the kill failed: {e}"));
        let report = block_on(store.verify()).unwrap();
        assert!(report.first_broken.is_none(), "cycle {cycle}: {report:?}");
        for k in 0..CHILDREN {
            let child = ChildId::parse(crash::doomed_child(k)).unwrap();
            let read = block_on(store.read_stream(child, Version(1), usize::MAX));
            let gone = matches!(
                read,
                Err(journey_core::Error::Key(
                    journey_core::content_keys::KeyError::Destroyed { .. }
                ))
            );
            if destroyed.contains(&k) {
                assert!(
                    gone,
                    "cycle {cycle}: child {k}'s destruction was answered, yet it reads: {read:?}"
                );
            } else if in_flight == Some(k) {
                assert!(
                    gone || read.as_ref().is_ok_and(|events| events.len() == 3),
                    "cycle {cycle}: child {k}, destroyed at the kill, is half there: {read:?}"
                );
                if gone {
                    destroyed.push(k);
                }
            } else {
                let events =
                    read.unwrap_or_else(|e| panic!("cycle {cycle}: child {k} was not destroyed: {e}"));
                assert_eq!(events.len(), 3, "cycle {cycle}: child {k}");
            }
        }
        store.close().unwrap();
        eprintln!("cycle {cycle}: {} children destroyed so far", destroyed.len());
    }
}
