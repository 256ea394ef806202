//! `journey records`: records management through the REST API (a server's, or this process's over a data
//! directory): holds on the destruction of a child's record, and the records due for destruction under the
//! retention policy in force. None of them shows a record's content.

use std::io::Write as _;

use anyhow::Context;
use axum::http::Method;
use clap::{Args, Subcommand, ValueEnum};
use journey_core::{ChildId, Date};
use serde_json::{Value, json};

use crate::api_client::{ApiClient, Policies};
use crate::target::{TargetArgs, encode};

#[derive(Debug, Subcommand)]
pub enum RecordsCommand {
    /// Place a hold on a child's record: it is not destroyed while the hold is in force (an inquiry, a
    /// safeguarding practice review, litigation, a complaint).
    Hold(HoldArgs),
    /// Lift a hold on a child's record, with the reason.
    Lift(LiftArgs),
    /// List every hold placed on a child's record, lifted or not.
    Holds(HoldsArgs),
    /// List the records that may be destroyed on a date under the retention policy in force (evaluated for
    /// every child as known now), with the rule, its source and whether a hold is in force.
    Due(DueArgs),
    /// Authorise the destruction of children's records (records officers and admins): each must be due under
    /// the retention policy in force and held by no hold, or nothing is destroyed. Their content keys are
    /// destroyed and a destruction certificate is recorded and printed.
    Destroy(DestroyArgs),
    /// List the destruction certificates (and any authorisation not yet certified).
    Destructions(DestructionsArgs),
}

/// `journey children ...`: questions about the children's records as a whole.
#[derive(Debug, Subcommand)]
pub enum ChildrenCommand {
    /// List pairs of records that may be one child (an NHS number or UPN in common, or one birthday and
    /// names alike), for a person to decide; nothing is merged. Names children by id and reason only.
    Duplicates(DestructionsArgs),
    /// Merge a child's record into another's, found to be the same child (admins, with the reason). Both
    /// records keep every event; from then on the child is read under the surviving record, as the union of
    /// both, and the merged record refuses appends. Repeating a merge finishes one a crash interrupted.
    Merge(MergeArgs),
    /// Undo a record's merge into another (admins, with the reason): both records are as they were, and
    /// what was recorded under the surviving record meanwhile stays there.
    Unmerge(UnmergeArgs),
    /// List every merge, and where each stands.
    Merges(DestructionsArgs),
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// The record merged away.
    child: ChildId,
    /// The surviving record.
    #[arg(long)]
    into: ChildId,
    /// What a person checked to decide the two records are one child (1 to 4000 characters).
    #[arg(long)]
    reason: String,
    #[arg(long, value_enum, default_value = "table")]
    format: Output,
}

#[derive(Debug, Args)]
pub struct UnmergeArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// The record that was merged away.
    child: ChildId,
    /// Why the merge is undone (1 to 4000 characters).
    #[arg(long)]
    reason: String,
    #[arg(long, value_enum, default_value = "table")]
    format: Output,
}

pub fn run_children(command: ChildrenCommand) -> anyhow::Result<()> {
    match command {
        ChildrenCommand::Merge(args) => {
            let merge = call(
                &args.target,
                Policies::NotNeeded,
                Method::POST,
                &format!("/v1/children/{}/merge", encode(args.child.as_str())),
                Some(&json!({"into": args.into, "reason": args.reason})),
            )?;
            print(args.format, &merge, || merges_text(std::slice::from_ref(&merge)))
        }
        ChildrenCommand::Unmerge(args) => {
            let merge = call(
                &args.target,
                Policies::NotNeeded,
                Method::POST,
                &format!("/v1/children/{}/unmerge", encode(args.child.as_str())),
                Some(&json!({"reason": args.reason})),
            )?;
            print(args.format, &merge, || merges_text(std::slice::from_ref(&merge)))
        }
        ChildrenCommand::Merges(args) => {
            let merges = call(&args.target, Policies::NotNeeded, Method::GET, "/v1/merges", None)?;
            let list = merges.as_array().cloned().unwrap_or_default();
            print(args.format, &merges, || merges_text(&list))
        }
        ChildrenCommand::Duplicates(args) => {
            let found = call(
                &args.target,
                Policies::NotNeeded,
                Method::GET,
                "/v1/records/duplicates",
                None,
            )?;
            print(args.format, &found, || duplicates_text(&found))
        }
    }
}

#[derive(Debug, Args)]
pub struct DestroyArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// The children whose records are to be destroyed, as `journey records due` lists them.
    #[arg(required = true)]
    children: Vec<ChildId>,
    /// The retention review or schedule run this belongs to (1 to 1000 characters; no personal data).
    #[arg(long)]
    reason: String,
    #[arg(long, value_enum, default_value = "table")]
    format: Output,
}

#[derive(Debug, Args)]
pub struct DestructionsArgs {
    #[command(flatten)]
    target: TargetArgs,
    #[arg(long, value_enum, default_value = "table")]
    format: Output,
}

/// table (for a person) or json (everything the API answered).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Table,
    Json,
}

#[derive(Debug, Args)]
pub struct HoldArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// The child's id.
    child: ChildId,
    /// Why destruction is suspended: name the inquiry, review or case, not the people (1 to 1000 characters).
    #[arg(long)]
    reason: String,
    /// The last day the hold holds, if known (otherwise until lifted).
    #[arg(long)]
    until: Option<Date>,
    #[arg(long, value_enum, default_value = "table")]
    format: Output,
}

#[derive(Debug, Args)]
pub struct LiftArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// The child's id.
    child: ChildId,
    /// The hold's id, as `journey records holds` lists it (`hold-3`).
    hold: String,
    /// Why the hold is lifted (1 to 1000 characters).
    #[arg(long)]
    reason: String,
    #[arg(long, value_enum, default_value = "table")]
    format: Output,
}

#[derive(Debug, Args)]
pub struct HoldsArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// The child's id.
    child: ChildId,
    #[arg(long, value_enum, default_value = "table")]
    format: Output,
}

#[derive(Debug, Args)]
pub struct DueArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// List the records that may be destroyed on this date, e.g. 2026-04-01.
    #[arg(long)]
    on: Date,
    #[arg(long, value_enum, default_value = "table")]
    format: Output,
}

pub fn run(command: RecordsCommand) -> anyhow::Result<()> {
    match command {
        RecordsCommand::Hold(args) => {
            let mut body = json!({ "reason": args.reason });
            if let Some(until) = args.until {
                body["until"] = json!(until);
            }
            let path = format!("/v1/children/{}/holds", encode(args.child.as_str()));
            let hold = call(
                &args.target,
                Policies::NotNeeded,
                Method::POST,
                &path,
                Some(&body),
            )?;
            print(args.format, &hold, || hold_line(&hold))
        }
        RecordsCommand::Lift(args) => {
            let path = format!(
                "/v1/children/{}/holds/{}/lift",
                encode(args.child.as_str()),
                encode(&args.hold)
            );
            let body = json!({ "reason": args.reason });
            let hold = call(
                &args.target,
                Policies::NotNeeded,
                Method::POST,
                &path,
                Some(&body),
            )?;
            print(args.format, &hold, || hold_line(&hold))
        }
        RecordsCommand::Holds(args) => {
            let path = format!("/v1/children/{}/holds", encode(args.child.as_str()));
            let list = call(&args.target, Policies::NotNeeded, Method::GET, &path, None)?;
            print(args.format, &list, || {
                let holds = list["holds"].as_array().cloned().unwrap_or_default();
                if holds.is_empty() {
                    return format!("no hold was ever placed on {}'s record", args.child);
                }
                holds.iter().map(hold_line).collect::<Vec<_>>().join("\n")
            })
        }
        RecordsCommand::Destroy(args) => {
            let body = json!({ "children": args.children, "reason": args.reason });
            let certificate = call(
                &args.target,
                Policies::Needed,
                Method::POST,
                "/v1/records/destructions",
                Some(&body),
            )?;
            print(args.format, &certificate, || certificate_text(&certificate))
        }
        RecordsCommand::Destructions(args) => {
            let list = call(
                &args.target,
                Policies::NotNeeded,
                Method::GET,
                "/v1/records/destructions",
                None,
            )?;
            print(args.format, &list, || {
                let all = list.as_array().cloned().unwrap_or_default();
                if all.is_empty() {
                    return "no record has been destroyed".to_owned();
                }
                all.iter().map(certificate_text).collect::<Vec<_>>().join("\n\n")
            })
        }
        RecordsCommand::Due(args) => {
            let path = format!("/v1/records/due?on={}", args.on);
            let due = call(&args.target, Policies::Needed, Method::GET, &path, None)?;
            print(args.format, &due, || due_table(&due))
        }
    }
}

/// One call to the API (a server's, or this process's over a data directory), the client closed after.
pub(crate) fn call(
    target: &TargetArgs,
    policies: Policies,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> anyhow::Result<Value> {
    let client = ApiClient::open_with(target, policies)?;
    let answer = client.call(method, path, body);
    client.close()?;
    answer
}

pub(crate) fn print(format: Output, value: &Value, table: impl FnOnce() -> String) -> anyhow::Result<()> {
    let text = match format {
        Output::Json => serde_json::to_string_pretty(value).context("writing JSON")?,
        Output::Table => table(),
    };
    // A reader that stops early (`| head`) is not an error.
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}") {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("writing to standard output"),
    }
}

pub(crate) fn text(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

/// `hold-3  child-1  in force until 2027-03-31  placed by x at ...: reason`.
fn hold_line(h: &Value) -> String {
    let state = match (&h["lifted"], h["until"].as_str()) {
        (Value::Object(l), _) => format!(
            "lifted by {} at {}: {}",
            text(&l["by"]),
            text(&l["at"]),
            text(&l["reason"])
        ),
        (_, Some(until)) => format!("until {until}"),
        _ => "until lifted".to_owned(),
    };
    format!(
        "{}  {}  placed by {} at {}: {}  [{state}]",
        text(&h["hold_id"]),
        text(&h["child_id"]),
        text(&h["placed_by"]),
        text(&h["placed_at"]),
        text(&h["reason"]),
    )
}

fn due_table(due: &Value) -> String {
    let mut lines = vec![format!(
        "records due on {} under {} {}: {} due ({} held), {} undetermined, of {} evaluated ({} children{})",
        text(&due["on"]),
        text(&due["policy"]),
        text(&due["version"]),
        due["due"],
        due["held"],
        due["undetermined"],
        due["evaluated"],
        due["children"],
        match due["failures"].as_object() {
            Some(f) if !f.is_empty() => format!("; not judged: {}", Value::Object(f.clone())),
            _ => String::new(),
        }
    )];
    for r in due["records"].as_array().into_iter().flatten() {
        let holds = r["holds"]
            .as_array()
            .map(|h| h.iter().map(text).collect::<Vec<_>>().join(","))
            .unwrap_or_default();
        lines.push(format!(
            "{:<24} {:<11} {}  {} ({}){}",
            text(&r["child_id"]),
            text(&r["status"]),
            text(&r["destroy_from"]),
            text(&r["rule"]),
            text(&r["source"]),
            if holds.is_empty() {
                String::new()
            } else {
                format!("  holds: {holds}")
            }
        ));
    }
    lines.join("\n")
}

/// A destruction certificate for a person: who, when, why, under what, and each record.
fn certificate_text(c: &Value) -> String {
    let mut lines = vec![format!(
        "{}: authorised by {} at {}, {} ({} {}): {}",
        text(&c["destruction_id"]),
        text(&c["authorised_by"]),
        text(&c["authorised_at"]),
        match c["destroyed_at"].as_str() {
            Some(at) => format!("keys destroyed at {at}"),
            None =>
                "NOT YET DESTROYED (authorised; run the same destruction again to complete it)".to_owned(),
        },
        text(&c["policy"]),
        text(&c["version"]),
        text(&c["reason"]),
    )];
    for r in c["children"].as_array().into_iter().flatten() {
        lines.push(format!(
            "  {:<24} due from {}  {} records (positions {}-{}, stream head {})  {}",
            text(&r["child_id"]),
            r["destroy_from_year"],
            r["records"],
            r["first_position"],
            r["last_position"],
            text(&r["stream_head"]),
            text(&r["rule"]),
        ));
    }
    lines.join("\n")
}

/// `lac-9  into fd-1  in_force  since 2026-12-07T10:00:00Z  (merge:lac-9:v12)`.
fn merges_text(merges: &[Value]) -> String {
    if merges.is_empty() {
        return "no merges".to_owned();
    }
    merges
        .iter()
        .map(|m| {
            let since = match text(&m["state"]) {
                "in_force" => format!("since {}", text(&m["merged_at"])),
                "undone" => format!("undone {}", text(&m["undone_at"])),
                "incomplete" => "begun, not finished: repeat the merge".to_owned(),
                _ => "undoing begun, not finished: repeat the unmerge".to_owned(),
            };
            format!(
                "{:<24} into {:<24} {:<16} {}  ({})",
                text(&m["merged"]),
                text(&m["into"]),
                text(&m["state"]),
                since,
                text(&m["merge_event_id"])
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `fd-1  lac-9  possible: same date of birth, names 91% alike`.
fn duplicates_text(found: &Value) -> String {
    let pairs = found["candidates"].as_array().cloned().unwrap_or_default();
    let mut lines = vec![format!(
        "{} candidate pairs among {} records (for a person to decide; nothing is merged):",
        pairs.len(),
        found["compared"]
    )];
    for pair in &pairs {
        let reasons: Vec<String> = pair["reasons"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| match text(&r["reason"]) {
                "same_nhs_number" => "same NHS number".to_owned(),
                "same_upn" => "same UPN".to_owned(),
                _ => format!(
                    "same date of birth, names {}% alike",
                    r["name_similarity_percent"]
                ),
            })
            .collect();
        lines.push(format!(
            "{:<24} {:<24} {}: {}",
            text(&pair["first"]),
            text(&pair["second"]),
            text(&pair["strength"]),
            reasons.join("; ")
        ));
    }
    lines.join("\n")
}
