//! A writer to be killed: opens an embedded store and appends to it from many threads at once until it is
//! killed (or, so that it can never run away, until a deadline passes).
//!
//! ```text
//! journey-crash-writer <data-dir> <run-tag> [max-seconds]
//! ```
//!
//! Prints `ack <child> <event_id>,...` to stdout, one flushed line per append whose future resolved `Ok`
//! (see `journey_tests::crash`), and nothing else. On any unexpected error it prints `fail <child> <error>`
//! and exits with status 2. `<run-tag>` (letters and digits) keeps the children and event ids of successive
//! runs on the same directory apart.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::executor::block_on;
use journey_core::ExpectedVersion;
use journey_core::store::{AppendRequest, EventStore};
use journey_core::testkit::{append, contact, registered};
use journey_core::{Conflict, Error, SystemClock, Version};
use journey_embedded::EmbeddedStore;
use journey_tests::crash::{self, Ack};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Appenders, each with one append in flight at a time.
const THREADS: usize = 32;
/// A bound on the whole run besides the deadline.
const MAX_ACKS: u64 = 10_000_000;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (dir, run) = match args.as_slice() {
        [dir, run, ..] if !run.is_empty() && run.chars().all(|c| c.is_ascii_alphanumeric()) => {
            (PathBuf::from(dir), run.clone())
        }
        _ => {
            eprintln!("usage: journey-crash-writer <data-dir> <run-tag> [max-seconds]");
            return ExitCode::from(64);
        }
    };
    let seconds = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(60);
    let deadline = Instant::now() + Duration::from_secs(seconds);

    let store = match EmbeddedStore::open_with(&dir, Arc::new(SystemClock), crash::options()) {
        Ok(store) => store,
        Err(e) => {
            report_failure("-", &e);
            return ExitCode::from(2);
        }
    };
    for k in 0..crash::SHARED_CHILDREN {
        let child = crash::shared_child(k);
        let id = crash::event_id(&child, "0", 1, 1);
        match block_on(store.append(append(
            &child,
            ExpectedVersion::NoStream,
            vec![registered(&id, "2012-02-29")],
        ))) {
            Ok(outcome) if !outcome.already_recorded => acknowledge(&Ack {
                child,
                event_ids: vec![id],
            }),
            // Registered by an earlier run on this directory: with this very event (a retry, answered
            // with the original outcome), or with another (the expected version no longer holds).
            Ok(_) | Err(Error::Conflict(Conflict::WrongExpectedVersion { .. })) => {}
            Err(e) => {
                report_failure(&child, &e);
                return ExitCode::from(2);
            }
        }
    }

    let acks = AtomicU64::new(0);
    let failed = AtomicBool::new(false);
    let seed = run.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let (store, run, acks, failed) = (&store, &run, &acks, &failed);
            s.spawn(move || {
                let mut appender = Appender::new(run, t, seed);
                while !failed.load(Ordering::Relaxed)
                    && Instant::now() < deadline
                    && acks.load(Ordering::Relaxed) < MAX_ACKS
                {
                    let (request, target) = appender.next();
                    let child = request.child_id.as_str().to_owned();
                    let event_ids = request
                        .events
                        .iter()
                        .map(|e| e.event_id.as_str().to_owned())
                        .collect();
                    match block_on(store.append(request)) {
                        Ok(outcome) if !outcome.already_recorded => {
                            let version = outcome.events.last().expect("at least one event").version;
                            appender.acknowledged(target, version);
                            acknowledge(&Ack { child, event_ids });
                            acks.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(_) => {
                            report_failure(&child, &"a new batch was answered as a retry");
                            failed.store(true, Ordering::Relaxed);
                        }
                        Err(e) => {
                            report_failure(&child, &e);
                            failed.store(true, Ordering::Relaxed);
                        }
                    }
                }
            });
        }
    });
    let failed = failed.load(Ordering::Relaxed);
    if let Err(e) = store.close() {
        report_failure("-", &e);
        return ExitCode::from(2);
    }
    if failed {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    }
}

/// Prints an acknowledgement and pushes it out of the process at once: a line still in a buffer when the
/// process is killed is lost, and the test would not know the append was acknowledged (which is allowed:
/// it only checks the acknowledgements it saw). A partly written line is ignored by the test.
fn acknowledge(ack: &Ack) {
    let mut out = std::io::stdout().lock();
    if writeln!(out, "{}", ack.line())
        .and_then(|()| out.flush())
        .is_err()
    {
        // Nobody is listening any more.
        std::process::exit(3);
    }
}

fn report_failure(child: &str, error: &dyn std::fmt::Display) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "fail {child} {}", error.to_string().replace('\n', " "));
    let _ = out.flush();
}

/// Where an append goes, so the appender can track its own children's versions.
#[derive(Clone, Copy)]
enum Target {
    NewChild,
    Own(usize),
    Shared,
}

/// One thread's appends: new children of its own (registration first), more events for them with an exact
/// expected version, and events for the shared children with `ExpectedVersion::Any`. Every batch holds 1 to
/// 4 events.
struct Appender {
    rng: StdRng,
    prefix: String,
    shared_prefix: String,
    /// The thread's children and their versions.
    own: Vec<(String, Version)>,
    batches: u64,
}

impl Appender {
    fn new(run: &str, thread: usize, seed: u64) -> Appender {
        Appender {
            rng: StdRng::seed_from_u64(seed ^ thread as u64),
            prefix: format!("r{run}-t{thread:02}"),
            shared_prefix: format!("r{run}t{thread:02}n"),
            own: Vec::new(),
            batches: 0,
        }
    }

    fn next(&mut self) -> (AppendRequest, Target) {
        self.batches += 1;
        let k = self.rng.random_range(1..=4);
        let roll = self.rng.random_range(0..10);
        let (child, batch, expected, target) = if self.own.is_empty() || roll < 2 {
            let child = format!("{}-c{}", self.prefix, self.own.len());
            (
                child,
                self.batches.to_string(),
                ExpectedVersion::NoStream,
                Target::NewChild,
            )
        } else if roll < 5 {
            let child = crash::shared_child(self.rng.random_range(0..crash::SHARED_CHILDREN));
            (
                child,
                format!("{}{}", self.shared_prefix, self.batches),
                ExpectedVersion::Any,
                Target::Shared,
            )
        } else {
            let i = self.rng.random_range(0..self.own.len());
            let (child, version) = &self.own[i];
            (
                child.clone(),
                self.batches.to_string(),
                ExpectedVersion::Exact(*version),
                Target::Own(i),
            )
        };
        let events = (1..=k)
            .map(|i| {
                let id = crash::event_id(&child, &batch, i, k);
                if i == 1 && matches!(target, Target::NewChild) {
                    registered(&id, "2012-02-29")
                } else {
                    contact(&id, "2023-05-01")
                }
            })
            .collect();
        (append(&child, expected, events), target)
    }

    fn acknowledged(&mut self, target: Target, version: Version) {
        match target {
            Target::NewChild => {
                let child = format!("{}-c{}", self.prefix, self.own.len());
                self.own.push((child, version));
            }
            Target::Own(i) => self.own[i].1 = version,
            Target::Shared => {}
        }
    }
}
