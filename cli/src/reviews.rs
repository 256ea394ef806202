//! `journey review`: child safeguarding practice reviews through the REST API (a server's, with an
//! investigator's or admin's key, or this process's over a data directory): the reviews, the family
//! chronology, and what was known at each decision. Every read of a child's record is access-logged by the
//! server with the review as its purpose.

use anyhow::Context as _;
use axum::http::Method;
use clap::{Args, Subcommand};
use journey_core::ChildId;
use serde_json::{Value, json};

use crate::api_client::Policies;
use crate::retention::{Output, call, print, text};
use crate::target::{TargetArgs, encode};

#[derive(Debug, Subcommand)]
pub enum ReviewCommand {
    /// List the reviews: every one to an admin, the ones naming the key to an investigator.
    List(ListArgs),
    /// One review: its name, children, period and investigators.
    Show(ReviewArgs),
    /// The family chronology of a review: all its children's entries in the order things happened.
    Chronology(ChronologyArgs),
    /// What was known at each decision: the decision points, each with the record as it stood when the
    /// decision was recorded, the knowledge gap by agency, and the policies then in force, then and now.
    Decisions(DecisionsArgs),
    /// Add a decision point: an event of one of the review's children, or a decision with no event
    /// (--on, --decided-at and --label).
    AddDecision(AddDecisionArgs),
    /// Remove a decision point (proposed or added), with the reason.
    RemoveDecision(RemoveDecisionArgs),
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Everything the API answered, as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct ReviewArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// The review's id (`review-1`).
    review_id: String,
    /// Everything the API answered, as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct ChronologyArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// The review's id (`review-1`).
    review_id: String,
    /// Only the entries recorded by this agency.
    #[arg(long)]
    agency: Option<String>,
    /// Only the entries of this stage (front_door, child_protection, looked_after...).
    #[arg(long)]
    stage: Option<String>,
    /// Only the entries about this child (one of the review's).
    #[arg(long)]
    child: Option<String>,
    /// Everything the API answered, as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct DecisionsArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// The review's id (`review-1`).
    review_id: String,
    /// Only this decision point (with the family chronology as known at it).
    #[arg(long)]
    point: Option<String>,
    /// Everything the API answered, as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct AddDecisionArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// The review's id (`review-1`).
    review_id: String,
    /// The child the decision was about (one of the review's).
    #[arg(long)]
    child: ChildId,
    /// The event of the child's record that records the decision.
    #[arg(long, conflicts_with_all = ["on", "decided_at", "label"])]
    event: Option<String>,
    /// For a decision with no event: the date it was taken.
    #[arg(long)]
    on: Option<String>,
    /// For a decision with no event: the instant it was taken on what the record then held (RFC 3339).
    #[arg(long)]
    decided_at: Option<String>,
    /// For a decision with no event: what was decided, in a few words (no personal data).
    #[arg(long)]
    label: Option<String>,
    /// Everything the API answered, as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct RemoveDecisionArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// The review's id (`review-1`).
    review_id: String,
    /// The decision point's id, as `journey review decisions` lists it.
    point: String,
    /// Why it is not a decision point of this review (no personal data).
    #[arg(long)]
    reason: String,
    /// Everything the API answered, as JSON.
    #[arg(long)]
    json: bool,
}

fn format(json: bool) -> Output {
    if json { Output::Json } else { Output::Table }
}

pub fn run(command: ReviewCommand) -> anyhow::Result<()> {
    match command {
        ReviewCommand::List(args) => {
            let reviews = call(
                &args.target,
                Policies::NotNeeded,
                Method::GET,
                "/v1/reviews",
                None,
            )?;
            print(format(args.json), &reviews, || {
                let reviews = reviews.as_array().cloned().unwrap_or_default();
                let mut lines = vec![format!("{} reviews", reviews.len())];
                lines.extend(reviews.iter().map(review_line));
                lines.join("\n")
            })
        }
        ReviewCommand::Show(args) => {
            let path = format!("/v1/reviews/{}", encode(&args.review_id));
            let review = call(&args.target, Policies::NotNeeded, Method::GET, &path, None)?;
            print(format(args.json), &review, || review_line(&review))
        }
        ReviewCommand::Chronology(args) => {
            let mut query = Vec::new();
            for (name, value) in [
                ("agency", &args.agency),
                ("stage", &args.stage),
                ("child", &args.child),
            ] {
                if let Some(value) = value {
                    query.push(format!("{name}={}", encode(value)));
                }
            }
            let mut path = format!("/v1/reviews/{}/chronology", encode(&args.review_id));
            if !query.is_empty() {
                path = format!("{path}?{}", query.join("&"));
            }
            let chronology = call(&args.target, Policies::NotNeeded, Method::GET, &path, None)?;
            print(format(args.json), &chronology, || {
                let entries = chronology["entries"].as_array().cloned().unwrap_or_default();
                let mut lines = vec![review_line(&chronology["review"])];
                lines.extend(entries.iter().map(|e| {
                    format!(
                        "{:<10} {:<12} {:<24} recorded {} (lag {} days{}): {}",
                        date_of(&e["occurred_at"]),
                        text(&e["child_id"]),
                        text(&e["source"]["agency"]),
                        text(&e["recorded_at"]),
                        e["lag_days"],
                        if e["recorded_late"] == true { ", late" } else { "" },
                        text(&e["summary"])
                    )
                }));
                lines.join("\n")
            })
        }
        ReviewCommand::Decisions(args) => {
            let mut path = format!("/v1/reviews/{}/decisions", encode(&args.review_id));
            if let Some(point) = &args.point {
                path = format!("{path}/{}", encode(point));
            }
            let decisions = call(&args.target, Policies::Needed, Method::GET, &path, None)?;
            print(format(args.json), &decisions, || decisions_text(&decisions))
        }
        ReviewCommand::AddDecision(args) => {
            let mut body = json!({"child_id": args.child});
            match &args.event {
                Some(event) => body["event_id"] = json!(event),
                None => {
                    for (name, value) in [
                        ("occurred_on", &args.on),
                        ("decided_at", &args.decided_at),
                        ("label", &args.label),
                    ] {
                        if let Some(value) = value {
                            body[name] = json!(value);
                        }
                    }
                }
            }
            let path = format!("/v1/reviews/{}/decisions", encode(&args.review_id));
            let added = call(
                &args.target,
                Policies::NotNeeded,
                Method::POST,
                &path,
                Some(&body),
            )?;
            print(format(args.json), &added, || {
                format!("added {}", point_line(&added))
            })
        }
        ReviewCommand::RemoveDecision(args) => {
            let path = format!(
                "/v1/reviews/{}/decisions/{}/removal",
                encode(&args.review_id),
                encode(&args.point)
            );
            let body = json!({"reason": args.reason});
            let removed = call(
                &args.target,
                Policies::NotNeeded,
                Method::POST,
                &path,
                Some(&body),
            )
            .context("removing the decision point")?;
            print(format(args.json), &removed, || {
                format!(
                    "removed {} — by {} at {}: {}",
                    point_line(&removed),
                    text(&removed["removed_by"]),
                    text(&removed["removed_at"]),
                    text(&removed["reason"])
                )
            })
        }
    }
}

/// `review-1  CSPR-2026-04  2024-01-01 to 2024-12-31  children sib-1, sib-2`.
fn review_line(r: &Value) -> String {
    let children: Vec<&str> = r["children"].as_array().into_iter().flatten().map(text).collect();
    format!(
        "{:<10} {}  {} to {}  children {}",
        text(&r["review_id"]),
        text(&r["name"]),
        text(&r["from"]),
        text(&r["to"]),
        children.join(", ")
    )
}

/// The date part of an `occurred_at` (`2024-03-10` or `2024-03-10T14:00`).
fn date_of(v: &Value) -> &str {
    let s = text(v);
    s.get(..10).unwrap_or(s)
}

/// `dp-…  2024-03-10 sib-1 (recorded 2024-03-11T09:00:00Z): Strategy discussion: …`.
fn point_line(p: &Value) -> String {
    format!(
        "{} {} {} (recorded {}): {}",
        text(&p["point_id"]),
        date_of(&p["occurred_at"]),
        text(&p["child_id"]),
        text(&p["decided_at"]),
        text(&p["description"])
    )
}

fn decisions_text(d: &Value) -> String {
    let mut lines = vec![review_line(&d["review"])];
    if let Some(why) = d["policies_unavailable"].as_str() {
        lines.push(format!("Policies: not evaluated ({why})."));
    }
    for p in d["points"].as_array().into_iter().flatten() {
        lines.push(String::new());
        let origin = match text(&p["origin"]) {
            "added" => format!(" [added by {}]", text(&p["added_by"])),
            _ => String::new(),
        };
        lines.push(format!("{}{origin}", point_line(p)));
        let known: Vec<String> = p["known_then"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|k| format!("{} {} events", text(&k["child_id"]), k["events"]))
            .collect();
        lines.push(format!("  known then: {}", known.join("; ")));
        lines.push(format!(
            "  recorded after the decision, happened before it: {}",
            p["gap_entries"]
        ));
        for agency in p["gap"].as_array().into_iter().flatten() {
            for e in agency["entries"].as_array().into_iter().flatten() {
                let late = e["late_by_seconds"].as_i64().unwrap_or(0);
                lines.push(format!(
                    "    {:<24} {} {}{} recorded {} later (lag {} days): {}",
                    text(&agency["agency"]),
                    date_of(&e["occurred_at"]),
                    text(&e["child_id"]),
                    if e["sibling"] == true { " (sibling)" } else { "" },
                    duration(late),
                    e["lag_days"],
                    text(&e["summary"])
                ));
            }
        }
        for policy in p["policies"].as_array().into_iter().flatten() {
            let verdict = if policy["differs"] == true {
                "DIFFERS now"
            } else if policy["reasons_differ"] == true {
                "same answer, other reasons now"
            } else {
                "same now"
            };
            lines.push(format!(
                "  {} {}: {verdict}",
                text(&policy["policy"]),
                text(&policy["version"])
            ));
        }
    }
    let removed = d["removed"].as_array().cloned().unwrap_or_default();
    if !removed.is_empty() {
        lines.push(String::new());
        lines.push("Removed by reviewers:".into());
        for r in &removed {
            lines.push(format!(
                "  {} — by {}: {}",
                point_line(r),
                text(&r["removed_by"]),
                text(&r["reason"])
            ));
        }
    }
    lines.join("\n")
}

/// `3d 4h`, `5h 10m`, `12m`.
fn duration(seconds: i64) -> String {
    let (d, h, m) = (seconds / 86_400, seconds % 86_400 / 3600, seconds % 3600 / 60);
    match (d, h) {
        (0, 0) => format!("{m}m"),
        (0, _) => format!("{h}h {m}m"),
        _ => format!("{d}d {h}h"),
    }
}

#[cfg(test)]
mod tests {
    use super::duration;

    #[test]
    fn durations_read_as_days_hours_and_minutes() {
        assert_eq!(duration(3 * 86_400), "3d 0h");
        assert_eq!(duration(86_400 + 16 * 3600), "1d 16h");
        assert_eq!(duration(5 * 3600 + 600), "5h 10m");
        assert_eq!(duration(720), "12m");
    }
}
