//! `journey policy deploy | list | activate | retire | evaluate | dry-run | replay`: the policy registry,
//! through the REST API ([`ApiClient`]): a server's (`--server`, `--key`) or, on a data directory no server
//! holds, the same API in this process. Answers are printed as JSON (pretty); `list` and `dry-run` print
//! text unless asked for JSON.

use std::path::PathBuf;

use anyhow::bail;
use axum::http::Method;
use base64::Engine as _;
use clap::{Args, Subcommand};
use journey_core::{ChildId, Date};
use serde_json::{Value, json};

use crate::api_client::{ApiClient, Policies};
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
        /// Print the report as JSON instead of as text.
        #[arg(long)]
        json: bool,
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
    // The request, and how to print its answer as text where the command has a text form and was not asked
    // for JSON (pretty JSON otherwise).
    let (target, method, path, body, print_text): (_, _, _, _, Option<fn(&Value)>) = match command {
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
            (
                args.target,
                Method::POST,
                "/v1/policies".to_owned(),
                Some(body),
                None,
            )
        }
        RegistryCommand::List { target, json } => (
            target,
            Method::GET,
            "/v1/policies".to_owned(),
            None,
            (!json).then_some(print_versions as fn(&Value)),
        ),
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
            (target, Method::POST, path, None, None)
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
            (
                target,
                Method::POST,
                path,
                Some(json!({ "reason": reason })),
                None,
            )
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
            (target, Method::POST, path, None, None)
        }
        RegistryCommand::DryRun {
            target,
            name,
            version,
            as_of,
            limit,
            json,
        } => {
            let as_of = as_of.resolve();
            let path = format!(
                "/v1/policies/{}/versions/{}/dry-run",
                encode(&name),
                encode(&version)
            );
            let body = json!({ "on": as_of.on, "known_at": as_of.known_at, "limit": limit });
            let print_dry_run: fn(&Value) = |report| print!("{}", dry_run_text(report));
            (
                target,
                Method::POST,
                path,
                Some(body),
                (!json).then_some(print_dry_run),
            )
        }
        RegistryCommand::Replay { target, decision } => (
            target,
            Method::POST,
            format!("/v1/decisions/{decision}/replay"),
            None,
            None,
        ),
    };
    let client = ApiClient::open_with(&target, Policies::Needed)?;
    let answer = client.call(method, &path, body.as_ref());
    client.close()?;
    let answer = answer?;
    match print_text {
        Some(print) => print(&answer),
        None => println!("{}", serde_json::to_string_pretty(&answer)?),
    }
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

/// A dry run's report (`DryRunReport`) as text for a policy author: what was judged, what failed, how the
/// answers compare with the version in force, then the counts. Like the report, it names no child.
fn dry_run_text(report: &Value) -> String {
    use std::fmt::Write as _;
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    let count = |v: &Value| v.as_u64().unwrap_or(0);
    let entries = |v: &Value| -> Vec<(String, Value)> {
        v.as_object()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default()
    };
    let counts = |v: &Value| {
        entries(v)
            .iter()
            .map(|(k, n)| format!("{k}: {}", count(n)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} {}, judged on {} as known at {}: {} children, {} evaluated",
        text(&report["policy"]),
        text(&report["version"]),
        text(&report["evaluation_date"]),
        text(&report["known_at"]),
        count(&report["children"]),
        count(&report["evaluated"]),
    );
    if !entries(&report["failures"]).is_empty() {
        let _ = writeln!(out, "failed: {}", counts(&report["failures"]));
    }
    match &report["compared_with"] {
        Value::String(in_force) => {
            let _ = writeln!(
                out,
                "compared with {in_force}, in force on that date: answers differ for {} children, only the \
                 reasons for {}",
                count(&report["differing_from_in_force"]),
                count(&report["differing_only_in_reasons"]),
            );
            if !entries(&report["in_force_failures"]).is_empty() {
                let _ = writeln!(
                    out,
                    "  {in_force} failed (not compared): {}",
                    counts(&report["in_force_failures"])
                );
            }
            let mut changes = entries(&report["changes"]);
            changes.sort_by(|a, b| count(&b.1).cmp(&count(&a.1)).then(a.0.cmp(&b.0)));
            for (change, n) in changes {
                let _ = writeln!(out, "  {change:<48} {:>8}", count(&n));
            }
        }
        _ => {
            let _ = writeln!(out, "no other version is in force on that date to compare with");
        }
    }
    for (label, key) in [
        ("levels", "levels"),
        ("steps", "steps"),
        ("entitlements", "entitlements"),
        ("alerts", "alerts"),
        ("retention", "retention"),
    ] {
        if !entries(&report[key]).is_empty() {
            let _ = writeln!(out, "{label:<13} {}", counts(&report[key]));
        }
    }
    let deadlines = entries(&report["deadlines"]);
    if !deadlines.is_empty() {
        let _ = writeln!(out, "deadlines");
        for (name, statuses) in deadlines {
            let _ = writeln!(out, "  {name:<48} {}", counts(&statuses));
        }
    }
    let _ = writeln!(
        out,
        "fuel          {} in all, at most {} for one child",
        count(&report["fuel_total"]),
        count(&report["fuel_max"]),
    );
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::dry_run_text;

    #[test]
    fn a_dry_run_reads_as_text_with_the_changes_largest_first() {
        let report = json!({
            "policy": "levels-of-need", "version": "2.0.0", "evaluation_date": "2025-03-31",
            "known_at": "2025-04-01T00:00:00Z", "children": 3, "evaluated": 2,
            "failures": {"unknown_child": 1}, "levels": {"2": 1, "3": 1}, "steps": {}, "deadlines": {},
            "entitlements": {}, "alerts": {}, "compared_with": "1.0.1", "differing_from_in_force": 2,
            "differing_only_in_reasons": 0, "in_force_failures": {"out_of_fuel": 1},
            "changes": {"alert x added": 1, "level 3 -> 2": 2},
            "fuel_total": 1000, "fuel_max": 600
        });
        let text = dry_run_text(&report);
        assert_eq!(
            text.lines().collect::<Vec<_>>(),
            [
                "levels-of-need 2.0.0, judged on 2025-03-31 as known at 2025-04-01T00:00:00Z: 3 children, 2 evaluated",
                "failed: unknown_child: 1",
                "compared with 1.0.1, in force on that date: answers differ for 2 children, only the reasons for 0",
                "  1.0.1 failed (not compared): out_of_fuel: 1",
                "  level 3 -> 2                                            2",
                "  alert x added                                           1",
                "levels        2: 1, 3: 1",
                "fuel          1000 in all, at most 600 for one child",
            ]
        );
    }
}
