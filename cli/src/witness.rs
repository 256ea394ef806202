//! `journey witness`: run a witness (an independent body's process that cosigns a Journey log's checkpoints
//! while each extends the last, and alerts otherwise), make its key, and clear a freeze after an alert. The
//! work is `journey_witness`'s; this is its command line.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use journey_tlog::Origin;
use journey_witness::{Daemon, DaemonOptions, RunExit, StartError, StateDir, SystemClock, WitnessConfig};

#[derive(Debug, Subcommand)]
pub enum WitnessCommand {
    /// Watch the configured logs: poll each one's /checkpoint, check it extends the last checkpoint
    /// cosigned (consistency proof from the log's tiles or proof route), cosign and deliver it; serve
    /// c2sp.org/tlog-witness add-checkpoint, the monitoring API and /metrics on `listen`. On a rollback,
    /// split view, inconsistency or bad signature: refuse, keep the evidence, freeze the origin, log at
    /// ERROR, count it in journey_witness_alerts_total, and exit with status 3 (unless --keep-running).
    Run(RunArgs),
    /// Make the witness's Ed25519 cosignature key (c2sp.org/tlog-cosignature) in a new file (mode 0600)
    /// and print its verifier key, which the logs' operators and verifiers configure.
    Keygen {
        /// The witness's name, e.g. partnership.example/journey-witness-1 (no spaces or `+`).
        #[arg(long)]
        name: String,
        /// The key file to create.
        #[arg(long)]
        key_file: PathBuf,
    },
    /// Clear the freeze of an origin after an alert, once it has been investigated. The evidence stays,
    /// and so does the last checkpoint cosigned: the log must still extend it. The witness must be stopped.
    Unfreeze {
        #[arg(long, env = "JOURNEY_WITNESS_CONFIG")]
        config: PathBuf,
        /// The log's origin.
        #[arg(long)]
        origin: String,
    },
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The witness's configuration file (TOML; see docs/deployment.md).
    #[arg(long, env = "JOURNEY_WITNESS_CONFIG")]
    config: PathBuf,
    /// Poll each log once and exit: 0 when every log was checked and extends what was cosigned, 3 on an
    /// alert or a frozen origin, 1 when a log could not be checked.
    #[arg(long)]
    once: bool,
    /// After an alert, go on witnessing the other logs (the origin stays frozen) instead of exiting with 3.
    #[arg(long, conflicts_with = "once")]
    keep_running: bool,
}

pub fn run(command: WitnessCommand) -> anyhow::Result<()> {
    match command {
        WitnessCommand::Run(args) => {
            let exit = run_witness(&args)?;
            if exit != RunExit::Clean {
                std::process::exit(i32::from(exit.code()));
            }
            Ok(())
        }
        WitnessCommand::Keygen { name, key_file } => {
            let vkey = journey_witness::keys::generate_key(&name, &key_file)
                .with_context(|| format!("creating the key {}", key_file.display()))?;
            eprintln!(
                "journey: wrote the witness key to {} (keep it secret)",
                key_file.display()
            );
            println!("{vkey}");
            Ok(())
        }
        WitnessCommand::Unfreeze { config, origin } => {
            let config = WitnessConfig::load(&config)?;
            let origin = Origin::parse(origin.clone()).with_context(|| format!("--origin {origin:?}"))?;
            if !config.logs.iter().any(|l| l.origin == origin) {
                bail!("--origin: {origin} is not a log in the configuration");
            }
            let state = StateDir::open(&config.state_dir)?;
            if state.unfreeze(&origin)? {
                println!(
                    "{origin} is no longer frozen; the evidence stays in {}",
                    state.root().join("evidence").display()
                );
            } else {
                println!("{origin} was not frozen");
            }
            Ok(())
        }
    }
}

fn run_witness(args: &RunArgs) -> anyhow::Result<RunExit> {
    let config = WitnessConfig::load(&args.config)?;
    let witness = journey_witness::daemon::open(&config, Arc::new(SystemClock))
        .with_context(|| format!("opening the witness of {}", args.config.display()))?;
    eprintln!(
        "journey: witness {} watching {} log(s)",
        witness.verifier_key(),
        config.logs.len()
    );
    if args.once {
        return Ok(journey_witness::daemon::run_once(&witness, &config));
    }
    let options = DaemonOptions {
        keep_running: args.keep_running,
        handle_signals: true,
    };
    match Daemon::start(witness, &config, options) {
        Ok(daemon) => {
            if let Some(address) = daemon.address() {
                eprintln!("journey: witness listening on http://{address}");
            }
            Ok(daemon.wait())
        }
        Err(StartError::Frozen) => Ok(RunExit::Alerted),
        Err(StartError::Failed(e)) => Err(e.into()),
    }
}
