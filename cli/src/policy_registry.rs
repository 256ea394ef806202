//! `journey policy deploy | list | activate | retire | evaluate | dry-run | replay`: the policy registry,
//! through the REST API ([`ApiClient`]): a server's (`--server`, `--key`) or, on a data directory no server
//! holds, the same API in this process. Answers are printed as JSON (pretty), `list` as a table too.

use std::path::PathBuf;

use anyhow::bail;
use axum::http::Method;
use base64::Engine as _;
use clap::{Args, Subcommand};
use journey_core::{ChildId, Date};
use serde_json::{Value, json};

use crate::api_client::ApiClient;
use crate::records::AsOfArgs;
use crate::target::{TargetArgs, as_of_query, encode};

#[derive(Debug, Subcommand)]
pub enum RegistryCommand {
    /// Deploy a version: a policy crate folder (built first) or a `.wasm` component, with its parameters and
    /// example cases. Versions are immutable: the same again is a harmless retry, anything different is
    /// refused.
    Deploy(DeployArgs),
    /// Every version of every policy: status and effective dates.
    List {
        #[command(flatten)]
        target: TargetArgs,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Activate a deployed version (its example cases run first and must pass).
    Activate {
        #[command(flatten)]
        target: TargetArgs,
        name: String,
        version: String,
    },
    /// Retire a version: in force on no date; its record and bytes stay, so its decisions stay replayable.
    Retire {
        #[command(flatten)]
        target: TargetArgs,
        name: String,
        version: String,
        /// Why it is no longer in force.
        #[arg(long)]
        reason: String,
    },
    /// Evaluate a policy for one child: the version in force on the date (or --version), over the record as
    /// known at the instant.
    Evaluate {
        #[command(flatten)]
        target: TargetArgs,
        /// The policy's name.
        name: String,
        /// The child.
        #[arg(long)]
        child: ChildId,
        #[command(flatten)]
        as_of: AsOfArgs,
        /// A version to use instead of the one in force.
        #[arg(long)]
        version: Option<String>,
        /// Record the decision as evidence (replayable later; admins only).
        #[arg(long)]
        record: bool,
    },
    /// Evaluate a version over a cohort and report where it differs from the version in force (aggregates
    /// only: no child is named).
    DryRun {
        #[command(flatten)]
        target: TargetArgs,
        name: String,
        version: String,
        #[command(flatten)]
        as_of: AsOfArgs,
        /// At most this many children, the first registered.
        #[arg(long, default_value_t = 1000)]
        limit: usize,
    },
    /// Re-run a recorded decision and confirm the output is byte-identical (or show the difference).
    Replay {
        #[command(flatten)]
        target: TargetArgs,
        /// The decision's number.
        decision: u64,
    },
}

#[derive(Debug, Args)]
pub struct DeployArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// A policy crate folder (built first) or a `.wasm` component.
    path: PathBuf,
    /// Parameters (JSON) [default: <crate>/parameters.json, else {}].
    #[arg(long)]
    parameters: Option<PathBuf>,
    /// A folder of example cases (*.json) [default: <crate>/examples].
    #[arg(long)]
    examples: Option<PathBuf>,
    /// The first date the version may judge.
    #[arg(long)]
    effective_from: Date,
    /// The last date it may judge.
    #[arg(long)]
    effective_to: Option<Date>,
    /// Who wrote it ("Exampleshire policy team").
    #[arg(long)]
    author: String,
    /// Activate it at once if every example case passes.
    #[arg(long)]
    activate: bool,
}

pub fn run(command: RegistryCommand) -> anyhow::Result<()> {
    let (target, method, path, body) = match command {
        RegistryCommand::Deploy(args) => {
            let bundle =
                crate::policy::bundle(&args.path, args.parameters.as_deref(), args.examples.as_deref())?;
            let body = json!({
                "component_base64": base64::engine::general_purpose::STANDARD.encode(&bundle.component),
                "parameters": bundle.parameters,
                "effective_from": args.effective_from,
                "effective_to": args.effective_to,
                "author": args.author,
                "examples": bundle.examples,
                "activate": args.activate,
            });
            (args.target, Method::POST, "/v1/policies".to_owned(), Some(body))
        }
        RegistryCommand::List { target, json } => {
            let client = ApiClient::open(&target)?;
            let answer = client.call(Method::GET, "/v1/policies", None);
            client.close()?;
            let answer = answer?;
            if json {
                println!("{}", serde_json::to_string_pretty(&answer)?);
            } else {
                print_versions(&answer);
            }
            return Ok(());
        }
        RegistryCommand::Activate {
            target,
            name,
            version,
        } => {
            let path = format!(
                "/v1/policies/{}/versions/{}/activate",
                encode(&name),
                encode(&version)
            );
            (target, Method::POST, path, None)
        }
        RegistryCommand::Retire {
            target,
            name,
            version,
            reason,
        } => {
            let path = format!(
                "/v1/policies/{}/versions/{}/retire",
                encode(&name),
                encode(&version)
            );
            (target, Method::POST, path, Some(json!({ "reason": reason })))
        }
        RegistryCommand::Evaluate {
            target,
            name,
            child,
            as_of,
            version,
            record,
        } => {
            let as_of = as_of.resolve();
            let mut query = as_of_query(Some(as_of.on), Some(as_of.known_at));
            if let Some(version) = version {
                query.push_str(&format!("&version={}", encode(&version)));
            }
            if record {
                query.push_str("&record=true");
            }
            let path = format!(
                "/v1/children/{}/policies/{}/evaluate{query}",
                encode(child.as_str()),
                encode(&name)
            );
            (target, Method::POST, path, None)
        }
        RegistryCommand::DryRun {
            target,
            name,
            version,
            as_of,
            limit,
        } => {
            let as_of = as_of.resolve();
            let path = format!(
                "/v1/policies/{}/versions/{}/dry-run",
                encode(&name),
                encode(&version)
            );
            let body = json!({ "on": as_of.on, "known_at": as_of.known_at, "limit": limit });
            (target, Method::POST, path, Some(body))
        }
        RegistryCommand::Replay { target, decision } => (
            target,
            Method::POST,
            format!("/v1/decisions/{decision}/replay"),
            None,
        ),
    };
    let client = ApiClient::open(&target)?;
    let answer = client.call(method, &path, body.as_ref());
    client.close()?;
    let answer = answer?;
    println!("{}", serde_json::to_string_pretty(&answer)?);
    // A replay whose output differs is evidence that something changed: say so in the exit status too.
    if answer.get("identical") == Some(&Value::Bool(false)) {
        bail!("the replayed output differs from the recorded one");
    }
    Ok(())
}

fn print_versions(answer: &Value) {
    let empty = Vec::new();
    let versions = answer["versions"].as_array().unwrap_or(&empty);
    println!(
        "{:<28} {:<10} {:<10} {:<12} {:<12} sha256",
        "policy", "version", "status", "from", "to"
    );
    for v in versions {
        let d = v;
        let text = |v: &Value| v.as_str().unwrap_or("").to_owned();
        let hash = text(&d["content_hash"]);
        println!(
            "{:<28} {:<10} {:<10} {:<12} {:<12} {}",
            text(&d["name"]),
            text(&d["version"]),
            text(&v["status"]),
            text(&d["effective_from"]),
            text(&d["effective_to"]),
            &hash[..hash.len().min(16)]
        );
    }
}
