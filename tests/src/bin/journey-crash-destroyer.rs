//! A destroyer to be killed: opens a sealed embedded store, registers children (each with three events)
//! unless an earlier run did, then destroys their content keys one at a time until it is killed (or runs out).
//!
//! ```text
//! journey-crash-destroyer <data-dir> <children>
//! ```
//!
//! Prints `ready`, then for each child `destroying <k>` before asking and `destroyed <k>` once the store has
//! answered (so durably destroyed), each line flushed at once. On an unexpected error it prints `fail
//! <error>` and exits with status 2.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use futures::executor::block_on;
use journey_core::store::EventStore;
use journey_core::testkit::{append, contact, registered};
use journey_core::{ChildId, ExpectedVersion, SystemClock, Timestamp, Version};
use journey_embedded::EmbeddedStore;
use journey_tests::crash;

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
        std::process::exit(3);
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (dir, children) = match args.as_slice() {
        [dir, n] if n.parse::<usize>().is_ok() => (PathBuf::from(dir), n.parse::<usize>().expect("checked")),
        _ => {
            eprintln!("usage: journey-crash-destroyer <data-dir> <children>");
            return ExitCode::from(64);
        }
    };
    let fail = |e: &dyn std::fmt::Display| {
        say(&format!("fail {}", e.to_string().replace('\n', " ")));
        ExitCode::from(2)
    };
    let store = match EmbeddedStore::open_with(&dir, Arc::new(SystemClock), crash::options()) {
        Ok(store) => store,
        Err(e) => return fail(&e),
    };
    for k in 0..children {
        let child = crash::doomed_child(k);
        let known = match block_on(store.stream_version(ChildId::parse(&child).expect("valid id"))) {
            Ok(version) => version.is_some(),
            Err(e) => return fail(&e),
        };
        if known {
            continue;
        }
        let events = vec![
            registered(&format!("{child}.1"), "2012-02-29"),
            contact(&format!("{child}.2"), "2023-05-01"),
            contact(&format!("{child}.3"), "2023-05-02"),
        ];
        if let Err(e) = block_on(store.append(append(&child, ExpectedVersion::NoStream, events))) {
            return fail(&e);
        }
    }
    say("ready");
    let at = Timestamp::from_micros(1_900_000_000_000_000).expect("in range");
    for k in 0..children {
        let child = ChildId::parse(crash::doomed_child(k)).expect("valid id");
        // Destroyed by an earlier run: nothing to do.
        if matches!(
            block_on(store.read_stream(child.clone(), Version::FIRST, 1)),
            Err(journey_core::Error::Key(_))
        ) {
            continue;
        }
        say(&format!("destroying {k}"));
        if let Err(e) = block_on(store.destroy_content(vec![child], at)) {
            return fail(&e);
        }
        say(&format!("destroyed {k}"));
    }
    if let Err(e) = store.close() {
        return fail(&e);
    }
    ExitCode::SUCCESS
}
