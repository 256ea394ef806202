//! `journey`: the command line. Issue #4 adds the server, keys, policies and the rest; this is the part
//! that works on a data directory directly.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use futures::executor::block_on;
use journey_core::store::{EmbeddedOptions, EmbeddedStore, EventStore};
use journey_core::synth::{self, AuthorityProfile};
use journey_core::view::{AsOf, ChildSummary, Chronology, ChronologyOptions, EventStatus};
use journey_core::{ChildId, ManualClock, SystemClock, Timestamp, Version};

#[derive(Debug, Parser)]
#[command(
    name = "journey",
    version,
    about = "Journey: a child's journey through children's social care, as a durable, verifiable record"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Generate a synthetic local authority into a data directory, verify it, and show one child.
    Demo {
        /// The data directory (created if missing).
        #[arg(long, env = "JOURNEY_DATA", default_value = "./data")]
        data: PathBuf,
        /// How many synthetic children.
        #[arg(long, default_value_t = 500)]
        children: usize,
        /// The generator's seed: the same seed gives the same authority.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Walk the whole log, recomputing every hash link; exits non-zero if any is broken.
    Verify {
        #[arg(long, env = "JOURNEY_DATA", default_value = "./data")]
        data: PathBuf,
    },
    /// Rebuild the index from the log (the store must not be open elsewhere).
    Rebuild {
        #[arg(long, env = "JOURNEY_DATA", default_value = "./data")]
        data: PathBuf,
    },
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Demo { data, children, seed } => demo(data, children, seed),
        Command::Verify { data } => verify(data),
        Command::Rebuild { data } => {
            let report = EmbeddedStore::rebuild_index(&data, EmbeddedOptions::default())
                .with_context(|| format!("rebuilding the index in {}", data.display()))?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(())
        }
    }
}

fn demo(data: PathBuf, children: usize, seed: u64) -> anyhow::Result<()> {
    let profile = AuthorityProfile {
        children,
        ..AuthorityProfile::small()
    };
    // Generated history carries its own recording times: the store's clock follows them.
    let clock = Arc::new(ManualClock::new(Timestamp::UNIX_EPOCH));
    let store =
        EmbeddedStore::open(&data, clock.clone()).with_context(|| format!("opening {}", data.display()))?;
    let started = Instant::now();
    let appends: Vec<_> = synth::generate(seed, &profile).collect();
    // The child with the longest journey is the one worth showing.
    let mut events_per_child: HashMap<ChildId, usize> = HashMap::new();
    for a in &appends {
        *events_per_child.entry(a.request.child_id.clone()).or_default() += a.request.events.len();
    }
    let showcase = events_per_child
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
        .map(|(c, _)| c);
    let bar = indicatif::ProgressBar::new(appends.len() as u64).with_style(
        indicatif::ProgressStyle::with_template("{msg} {bar:40} {pos}/{len} appends ({per_sec}, {eta} left)")
            .expect("valid template"),
    );
    bar.set_message("recording");
    let report = block_on(synth::load(
        &store,
        &clock,
        appends.into_iter().inspect(|_| bar.inc(1)),
    ))?;
    bar.finish_and_clear();
    println!(
        "recorded {} events in {} appends for {children} synthetic children in {:.1}s \
         ({} appends already recorded, {} refused)",
        report.events,
        report.appends,
        started.elapsed().as_secs_f64(),
        report.already_recorded,
        report.rejected.len()
    );
    for r in report.rejected.iter().take(5) {
        println!("  refused: {} {:?}: {}", r.child_id, r.event_ids, r.error);
    }
    let verified = block_on(store.verify())?;
    let head = verified.head;
    println!(
        "verified {} records of {} children: {}; head position {} hash {}",
        verified.records,
        verified.streams,
        if verified.is_intact() { "intact" } else { "BROKEN" },
        head.position.map_or(0, |p| p.0),
        hex::encode(head.log_hash)
    );
    if !verified.is_intact() {
        bail!("the log failed verification: {:?}", verified.first_broken);
    }
    if let Some(child) = showcase {
        show_child(&store, child)?;
    }
    println!("data directory: {}", data.display());
    Ok(())
}

/// Prints a child's summary and chronology as known at the end of the generated history.
fn show_child(store: &EmbeddedStore, child: ChildId) -> anyhow::Result<()> {
    let events = block_on(store.read_stream(child.clone(), Version::FIRST, usize::MAX))?;
    let Some(last) = events.last() else { return Ok(()) };
    let as_of = AsOf::now(last.envelope.recorded_at);
    let summary = ChildSummary::replay(&events, as_of);
    println!(
        "\nchild {child}: {} events, as known at {}",
        events.len(),
        as_of.known_at
    );
    println!("{}", serde_json::to_string_pretty(&summary)?);
    let chronology = Chronology::build(&events, as_of, ChronologyOptions::default());
    println!(
        "\n{:<12} {:<12} {:>5}  {:<10} summary",
        "occurred", "recorded", "lag", "status"
    );
    for entry in &chronology.entries {
        let status = match &entry.status {
            EventStatus::Current => "",
            EventStatus::Corrected { .. } => "corrected",
            EventStatus::Retracted { .. } => "retracted",
        };
        println!(
            "{:<12} {:<12} {:>4}{} {:<10} {}",
            entry.occurred_at.date().to_string(),
            entry.recorded_at.england_date().to_string(),
            entry.lag_days,
            if entry.recorded_late { "!" } else { " " },
            status,
            entry.summary
        );
    }
    Ok(())
}

fn verify(data: PathBuf) -> anyhow::Result<()> {
    let store = EmbeddedStore::open(&data, Arc::new(SystemClock))
        .with_context(|| format!("opening {}", data.display()))?;
    let report = block_on(store.verify())?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    if !report.is_intact() {
        bail!("the log failed verification");
    }
    Ok(())
}
