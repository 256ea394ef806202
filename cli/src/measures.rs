//! `journey measures`: the timeliness measures (statutory deadlines per month and team, re-referrals,
//! recording lag, the adoption scorecard) through the REST API, a server's or this process's over a data
//! directory ([`ApiClient`]), as a table, JSON, CSV files, or the HTML report a manager opens.

use std::path::PathBuf;

use anyhow::Context;
use axum::http::Method;
use clap::Args;
use journey_core::{Clock, Date, SystemClock, Timestamp};
use serde_json::Value;

use crate::api_client::{ApiClient, Policies};
use crate::records::Format;
use crate::target::{TargetArgs, encode};

#[derive(Debug, Args)]
pub struct MeasuresArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// The first day measured, e.g. 2024-04-01.
    #[arg(long)]
    from: Date,
    /// The last day measured (deadlines are judged as on this day), e.g. 2025-03-31.
    #[arg(long)]
    to: Date,
    /// The record as it stood at this instant [default: now].
    #[arg(long)]
    known_at: Option<Timestamp>,
    /// table (each measure over the period, by team), json (everything), or csv (one file per section,
    /// into --out).
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    /// With --format csv: the folder for the CSV files.
    #[arg(long, required_if_eq("format", "csv"))]
    out: Option<PathBuf>,
    /// Also save the HTML report (charts and tables) to this file.
    #[arg(long)]
    html: Option<PathBuf>,
}

const SECTIONS: [&str; 4] = ["timeliness", "re-referrals", "recording-lag", "adoption"];

pub fn run(args: MeasuresArgs) -> anyhow::Result<()> {
    let known_at = args.known_at.unwrap_or_else(|| SystemClock.now());
    let query = format!(
        "from={}&to={}&known_at={}",
        args.from,
        args.to,
        encode(&known_at.to_string())
    );
    let client = ApiClient::open_with(&args.target, Policies::Needed)?;
    let result = (|| -> anyhow::Result<()> {
        match args.format {
            Format::Json => {
                let measures = client.call(Method::GET, &format!("/v1/measures?{query}"), None)?;
                println!("{}", serde_json::to_string_pretty(&measures)?);
            }
            Format::Csv => {
                let out = args.out.as_ref().context("--format csv needs --out")?;
                std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
                for section in SECTIONS {
                    let csv = client.get_text(&format!("/v1/measures/sections/{section}?{query}"))?;
                    let path = out.join(format!("{section}.csv"));
                    std::fs::write(&path, csv).with_context(|| format!("writing {}", path.display()))?;
                    println!("{}", path.display());
                }
            }
            Format::Table => {
                let measures = client.call(Method::GET, &format!("/v1/measures?{query}"), None)?;
                print_table(&measures);
            }
        }
        if let Some(path) = &args.html {
            let page = client.get_text(&format!("/v1/measures/report?{query}"))?;
            std::fs::write(path, page).with_context(|| format!("writing {}", path.display()))?;
            eprintln!("report: {}", path.display());
        }
        Ok(())
    })();
    client.close()?;
    result
}

/// Each measure over the whole period, then by team.
fn print_table(measures: &Value) {
    let report = &measures["report"];
    println!(
        "Timeliness {} to {}, as known at {}; deadlines judged by {}",
        report["from"].as_str().unwrap_or(""),
        report["to"].as_str().unwrap_or(""),
        report["known_at"].as_str().unwrap_or(""),
        measures["policy"]
            .as_str()
            .or(measures["deadlines_unavailable"].as_str())
            .unwrap_or("")
    );
    let empty = Vec::new();
    let rows = report["timeliness"].as_array().unwrap_or(&empty);
    let mut order: Vec<(String, String)> = Vec::new();
    for r in rows {
        let key = (
            r["measure"].as_str().unwrap_or("").to_owned(),
            r["label"].as_str().unwrap_or("").to_owned(),
        );
        if !order.contains(&key) {
            order.push(key);
        }
    }
    println!(
        "{:<48} {:>8} {:>6} {:>8} {:>9}",
        "measure", "on time", "late", "not due", "% on time"
    );
    for (code, label) in &order {
        let count = |field: &str, team: Option<&str>| -> u64 {
            rows.iter()
                .filter(|r| r["measure"] == code.as_str() && team.is_none_or(|t| r["team"] == t))
                .map(|r| r[field].as_u64().unwrap_or(0))
                .sum()
        };
        let line = |name: &str, team: Option<&str>| {
            let (on_time, late, open) = (
                count("on_time", team),
                count("late", team),
                count("not_yet_due", team),
            );
            let percent = if on_time + late > 0 {
                format!("{:.1}", on_time as f64 * 100.0 / (on_time + late) as f64)
            } else {
                "-".to_owned()
            };
            println!("{name:<48} {on_time:>8} {late:>6} {open:>8} {percent:>9}");
        };
        line(label, None);
        let mut teams: Vec<&str> = rows
            .iter()
            .filter(|r| r["measure"] == code.as_str())
            .filter_map(|r| r["team"].as_str())
            .collect();
        teams.sort_unstable();
        teams.dedup();
        for team in teams {
            line(&format!("  {team}"), Some(team));
        }
    }
    let referrals: u64 = report["re_referrals"]
        .as_array()
        .unwrap_or(&empty)
        .iter()
        .map(|r| r["referrals"].as_u64().unwrap_or(0))
        .sum();
    let again: u64 = report["re_referrals"]
        .as_array()
        .unwrap_or(&empty)
        .iter()
        .map(|r| r["within_12_months"].as_u64().unwrap_or(0))
        .sum();
    println!("\nre-referrals within 12 months: {again} of {referrals} referrals");
    let adoption = &report["adoption"];
    println!(
        "adoption scorecard {} to {} ({} adopted):",
        adoption["from"].as_str().unwrap_or(""),
        adoption["to"].as_str().unwrap_or(""),
        adoption["adopted"]
    );
    for measure in ["a1", "a2", "a10"] {
        let m = &adoption[measure];
        println!(
            "  {:<4} average {} days over {} children, threshold {} days: {}",
            measure.to_uppercase(),
            m["average_days"]
                .as_f64()
                .map_or("-".to_owned(), |d| format!("{d:.1}")),
            m["children"],
            m["threshold_days"],
            match m["met"].as_bool() {
                Some(true) => "met",
                Some(false) => "MISSED",
                None => "-",
            }
        );
    }
}
