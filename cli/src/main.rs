//! `journey`: the command line. Issue #4 adds the server, keys, policies and the rest; this is the part
//! that works on a data directory directly.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use futures::executor::block_on;
use journey_core::store::EventStore;
use journey_core::view::{AsOf, ChildSummary, Chronology, ChronologyOptions, EventStatus};
use journey_core::{ChildId, ManualClock, Timestamp, Version};
use journey_embedded::EmbeddedOptions;
use journey_embedded::EmbeddedStore;
use journey_synth::{self as synth, AuthorityProfile};

mod api_client;
mod checkpoint;
mod kek;
mod keys;
mod measures;
mod policy;
mod policy_registry;
mod records;
mod recover;
mod retention;
mod returns;
mod reviews;
mod serve;
mod subject_access;
mod target;
mod verify_export;
mod witness;

/// mimalloc rather than glibc's malloc: allocation and freeing were a quarter of the server's CPU under the
/// HTTP load test, and mimalloc cut it (docs/performance.md, "The HTTP API under load").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(
    name = "journey",
    version,
    about = "Journey: a child's journey through children's social care, as a durable, verifiable record"
)]
struct Cli {
    /// Log format on stderr: text, or json (one object per line).
    #[arg(long, env = "JOURNEY_LOG_FORMAT", default_value = "text", global = true)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the REST API on a data directory's embedded store.
    Serve(serve::ServeArgs),
    /// Create, list and revoke API keys (on a data directory no server is using).
    Keys(keys::KeysArgs),
    /// Write, build and test a policy, then deploy, activate, evaluate, dry-run and replay it (on a data
    /// directory, or a server with --server and --key).
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// Print a shell completion script: `journey completions bash > /etc/bash_completion.d/journey`.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
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
    /// Check a data directory (or a backup of one) without modifying it: the log against what it knows was
    /// durable and every hash link, the index against every record, the system journal's chain, every blob;
    /// prints what it walked as JSON and exits non-zero if any part is not intact. The directory must not
    /// be in use.
    Verify {
        #[arg(long, env = "JOURNEY_DATA", default_value = "./data")]
        data: PathBuf,
    },
    /// Go on without records that the data directory shows were durable and are lost (a missing or damaged
    /// end of the log or of the journal), when no backup holds them. Without --confirm, only shows what is
    /// lost. With it, records the loss and the reason in the system journal, then cuts the log and the
    /// journal where they can be continued. Restoring from a backup is better.
    AcceptLoss {
        #[arg(long, env = "JOURNEY_DATA", default_value = "./data")]
        data: PathBuf,
        /// Why going on without the lost records is right; recorded with the loss.
        #[arg(long)]
        reason: String,
        /// Do it (otherwise nothing is changed).
        #[arg(long)]
        confirm: bool,
    },
    /// Check a child's proof bundle (`GET /v1/children/{id}/export`) offline: the hash chains, each
    /// record's inclusion proof, the checkpoints' signatures against the log key and witnesses named here
    /// (a policy file, or --log-key, --witness and --quorum), and optionally consistency with a later
    /// checkpoint. Prints what was established as JSON; exits non-zero naming the checkpoint's tree size
    /// when anything fails.
    VerifyExport(verify_export::VerifyExportArgs),
    /// Fetch one child's verifiable export into a file: from a server (--server, --key), the proof bundle
    /// that `journey verify-export` checks; from a data directory, the hash chains only.
    Export(verify_export::ExportArgs),
    /// Re-wrap every child's content key under a new key-encryption key, without touching the log (the data
    /// directory must not be in use). The current key comes from JOURNEY_KEK or beside the data directory;
    /// afterwards only the new one opens the data directory: put it where the server finds it.
    RotateKek {
        #[arg(long, env = "JOURNEY_DATA", default_value = "./data")]
        data: PathBuf,
        /// A PostgreSQL log instead of a data directory (`postgres://user@host:port/database`): its current
        /// key-encryption key comes from JOURNEY_KEK or --kek-file. Stop every server on the database
        /// first: each is refused until restarted with the new key.
        #[arg(long, value_name = "URL", value_parser = records::parse_postgres_url)]
        store: Option<String>,
        /// The current key-encryption key's file, for --store (else JOURNEY_KEK).
        #[arg(long, requires = "store")]
        kek_file: Option<PathBuf>,
        /// The new key-encryption key's file (base64 of 32 bytes; `openssl rand -base64 32` makes one).
        #[arg(long)]
        new_kek_file: PathBuf,
    },
    /// Rebuild the index from the log (the store must not be open elsewhere).
    Rebuild {
        #[arg(long, env = "JOURNEY_DATA", default_value = "./data")]
        data: PathBuf,
    },
    /// Append events from a JSON or JSON-lines file, one append (all or nothing) per item.
    Append(records::AppendArgs),
    /// A child's timeline (chronology): what happened when, and when each agency recorded it.
    Timeline(records::ChildArgs),
    /// A child's summary on a date, as known at an instant.
    Summary(records::ChildArgs),
    /// The whole log: export it as JSON lines, or restore an export into a new data directory.
    Log {
        #[command(subcommand)]
        command: records::LogCommand,
    },
    /// Records management: holds on destruction, and the records due for destruction under the retention
    /// policy in force.
    Records {
        #[command(subcommand)]
        command: retention::RecordsCommand,
    },
    /// The children's records as a whole: candidate duplicate records, for a person to decide.
    Children {
        #[command(subcommand)]
        command: retention::ChildrenCommand,
    },
    /// Child safeguarding practice reviews: list and show them, the family chronology, and what was known at
    /// each decision (decision points added and removed by the review's investigators).
    Review {
        #[command(subcommand)]
        command: reviews::ReviewCommand,
    },
    /// Subject access requests (records officers): record one, see what is open and due, record consents
    /// and serious-harm decisions, write the redacted bundle (JSON, HTML, PDF) and release it.
    Sar {
        #[command(subcommand)]
        command: subject_access::SarCommand,
    },
    /// Timeliness measures (statutory deadlines per month and team, re-referrals, recording lag, the adoption
    /// scorecard) as a table, JSON, CSV or an HTML report.
    Measures(measures::MeasuresArgs),
    /// Statutory returns: produce them from the record, or import an authority's earlier returns.
    Returns {
        #[command(subcommand)]
        command: returns::ReturnsCommand,
    },
    /// A witness an independent body runs: cosigns a Journey log's checkpoints while each extends the last,
    /// and alerts (exit status 3, ERROR log, metric) on a rollback, split view or rewritten history.
    Witness {
        #[command(subcommand)]
        command: witness::WitnessCommand,
    },
}

#[derive(Debug, Subcommand)]
enum PolicyCommand {
    /// Create a policy (a working re-referral alert, its parameters and example cases, and the SDK it builds
    /// with, in Rust or Python) in a new folder.
    New {
        /// The folder to create.
        dir: PathBuf,
        /// The policy's name (default: the folder's name).
        #[arg(long)]
        name: Option<String>,
        /// Build against this journey-policy-sdk crate folder (for Journey's own developers: `plugins/sdk`
        /// of a checkout) instead of the SDK this binary carries, which is written into `<DIR>/sdk/`.
        #[arg(long)]
        sdk: Option<PathBuf>,
        /// The language to write the policy in: a Rust crate, or a Python module with the `journey_policy`
        /// SDK written into `<DIR>/sdk/python/`.
        #[arg(long, value_enum, default_value = "rust")]
        lang: policy::Lang,
    },
    /// Build a policy into a WebAssembly component: `cargo build --release --target wasm32-wasip2` for a Rust
    /// crate; for a Python policy (`pyproject.toml` with `[tool.journey]`), componentize-py at the version
    /// Journey pins, installed from PyPI into Journey's cache folder on first use.
    Build { dir: PathBuf },
    /// Load a component in the sandbox and run its example cases; fails if any fails.
    Test {
        /// A policy crate folder (built first) or a `.wasm` component.
        path: PathBuf,
        /// Parameters (JSON) [default: <crate>/parameters.json, else {}].
        #[arg(long)]
        parameters: Option<PathBuf>,
        /// A folder of example cases (*.json) [default: <crate>/examples].
        #[arg(long)]
        examples: Option<PathBuf>,
    },
    #[command(flatten)]
    Registry(policy_registry::RegistryCommand),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // The server logs its requests at info; the one-shot commands only what goes wrong.
    let default_filter = if matches!(
        cli.command,
        Command::Serve(_)
            | Command::Witness {
                command: witness::WitnessCommand::Run(_)
            }
    ) {
        "info"
    } else {
        "warn"
    };
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| default_filter.into());
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().init(),
    }
    match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Keys(args) => keys::run(args),
        Command::Completions { shell } => {
            use clap::CommandFactory as _;
            clap_complete::generate(shell, &mut Cli::command(), "journey", &mut std::io::stdout());
            Ok(())
        }
        Command::Policy { command } => match command {
            PolicyCommand::New { dir, name, sdk, lang } => policy::new(&dir, name, sdk, lang),
            PolicyCommand::Build { dir } => policy::build(&dir).map(|_| ()),
            PolicyCommand::Test {
                path,
                parameters,
                examples,
            } => policy::test(&path, parameters.as_deref(), examples.as_deref()),
            PolicyCommand::Registry(command) => policy_registry::run(command),
        },
        Command::Demo { data, children, seed } => demo(data, children, seed),
        Command::Verify { data } => recover::verify(data),
        Command::VerifyExport(args) => verify_export::run(args),
        Command::Export(args) => verify_export::export(args),
        Command::AcceptLoss {
            data,
            reason,
            confirm,
        } => recover::accept_loss(&data, &reason, confirm),
        Command::Append(args) => records::append(args),
        Command::Timeline(args) => records::timeline(args),
        Command::Summary(args) => records::summary(args),
        Command::Log { command } => records::log(command),
        Command::Returns { command } => returns::run(command),
        Command::Measures(args) => measures::run(args),
        Command::Records { command } => retention::run(command),
        Command::Sar { command } => subject_access::run(command),
        Command::Review { command } => reviews::run(command),
        Command::Children { command } => retention::run_children(command),
        Command::Witness { command } => witness::run(command),
        Command::RotateKek {
            data,
            store: None,
            new_kek_file,
            ..
        } => kek::rotate(&data, &new_kek_file),
        Command::RotateKek {
            store: Some(url),
            kek_file,
            new_kek_file,
            ..
        } => kek::rotate_postgres(&url, kek_file.as_deref(), &new_kek_file),
        Command::Rebuild { data } => {
            let report = EmbeddedStore::rebuild_index(&data, EmbeddedOptions::default())
                .with_context(|| format!("rebuilding the index in {}", data.display()))?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(())
        }
    }
}

/// The demo authority's LA code in its UPNs: Coventry's, where its real postcode units are.
const DEMO_LA_CODE: &str = "331";

fn demo(data: PathBuf, children: usize, seed: u64) -> anyhow::Result<()> {
    // Generated history carries its own recording times: the store's clock follows them.
    let clock = Arc::new(ManualClock::new(Timestamp::UNIX_EPOCH));
    // A demo seals content when a key-encryption key is at hand (JOURNEY_KEK, or `<data>.kek` from an earlier
    // `journey serve`); it makes none, so that its log can be exported and imported (a sealed log cannot be
    // yet: `records::restore_records`).
    let options = kek::store_options(&data, None, kek::IfMissing::Without)?;
    let store = EmbeddedStore::open_with(&data, clock.clone(), options)
        .with_context(|| format!("opening {}", data.display()))?;
    let started = Instant::now();
    let (report, showcase) = record_synthetic(&store, &clock, children, seed)?;
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

/// Records a synthetic authority of `children` children (seeded) in `store`, whose clock follows the
/// generated recording times; returns what was loaded and the child with the longest journey.
pub(crate) fn record_synthetic(
    store: &dyn EventStore,
    clock: &ManualClock,
    children: usize,
    seed: u64,
) -> anyhow::Result<(synth::LoadReport, Option<ChildId>)> {
    // Realistic identifiers, as the tests that run the DfE validators use: real postcode units (the
    // validators geocode them) and a real LA code in the UPNs (the census checks it), none a person's.
    let profile = AuthorityProfile {
        children,
        la_code: DEMO_LA_CODE.to_owned(),
        ..AuthorityProfile::small().with_real_postcodes()
    };
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
        store,
        clock,
        appends.into_iter().inspect(|_| bar.inc(1)),
    ))?;
    bar.finish_and_clear();
    Ok((report, showcase))
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

#[cfg(test)]
mod tests {
    use super::Cli;

    /// `docs/cli.md` is the CLI's reference, generated from the same definitions as `--help`; this fails when
    /// it is stale (`JOURNEY_BLESS=1 cargo test -p journey-cli docs_cli` rewrites it).
    #[test]
    fn docs_cli_md_is_current() {
        let generated = clap_markdown::help_markdown::<Cli>();
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/cli.md");
        if std::env::var_os("JOURNEY_BLESS").is_some() {
            std::fs::write(&path, &generated).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == generated,
            "docs/cli.md is stale: run `JOURNEY_BLESS=1 cargo test -p journey-cli docs_cli` and commit it"
        );
    }

    #[test]
    fn the_command_line_is_well_formed() {
        use clap::CommandFactory as _;
        Cli::command().debug_assert();
    }
}
