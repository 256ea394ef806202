//! The record commands: append events from a file, a child's timeline and summary, and the whole log
//! exported to (and restored from) JSON lines. Each works on a data directory or a server through the REST
//! API ([`ApiClient`]), except the restore, which builds a new data directory.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, anyhow, bail};
use clap::{Args, Subcommand, ValueEnum};
use futures::executor::block_on;
use journey_core::ExpectedVersion;
use journey_core::store::{AppendOutcome, AppendRequest, EventStore};
use journey_core::view::{AsOf, Chronology, EventStatus};
use journey_core::{
    ChildId, Clock, Date, ManualClock, NewEvent, Position, RecordedEvent, SystemClock, Timestamp,
};
use journey_embedded::EmbeddedStore;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api_client::ApiClient;
use crate::target::{LogPage, TargetArgs, as_of_query, encode};

/// Output formats for what a person reads or a program takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
    Csv,
}

/// Both time axes: the date described and the instant of knowledge.
#[derive(Clone, Debug, Args)]
pub struct AsOfArgs {
    /// The date described (valid time), e.g. 2024-03-01 [default: today in England].
    #[arg(long)]
    pub on: Option<Date>,
    /// What the record said at this instant (transaction time), e.g. 2024-03-01T12:00:00Z [default: now].
    #[arg(long)]
    pub known_at: Option<Timestamp>,
}

impl AsOfArgs {
    pub fn resolve(&self) -> AsOf {
        // The operator's "now" is the default instant of knowledge.
        let known_at = self.known_at.unwrap_or_else(|| SystemClock.now());
        AsOf::new(self.on.unwrap_or_else(|| known_at.england_date()), known_at)
    }
}

#[derive(Debug, Args)]
pub struct AppendArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// A JSON file (one append, or an array of them) or JSON lines (`.jsonl`, one append per line). An
    /// append is `{"child_id": "...", "events": [...], "expected_version": 3}` (`expected_version`
    /// optional), the events as `POST /v1/children/{child_id}/events` takes them.
    #[arg(long)]
    pub file: PathBuf,
}

#[derive(Debug, Args)]
pub struct ChildArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// The child's id.
    pub child: ChildId,
    #[command(flatten)]
    pub as_of: AsOfArgs,
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

#[derive(Debug, Subcommand)]
pub enum LogCommand {
    /// Write the whole log (or from a position) as JSON lines, one stored record per line in position order,
    /// with each record's hash links, for a backup, another system or `journey log import`.
    Export {
        #[command(flatten)]
        target: TargetArgs,
        /// The file to write (`-` for standard output).
        #[arg(long)]
        out: PathBuf,
        /// The first position to export.
        #[arg(long, default_value_t = 1)]
        from: u64,
    },
    /// Restore an exported log into an empty data directory: every record is appended again with its own
    /// recording time and recorder, and each rebuilt hash link is checked against the exported one, so the
    /// copy is proven identical (or the import stops at the first difference).
    Import {
        /// The new data directory (must be empty or absent).
        #[arg(long)]
        data: PathBuf,
        /// The JSON-lines export.
        #[arg(long)]
        file: PathBuf,
    },
}

/// One append of an append file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AppendItem {
    child_id: ChildId,
    events: Vec<NewEvent>,
    #[serde(default)]
    expected_version: Option<ExpectedVersion>,
}

/// Reads an append file: a JSON object, a JSON array of objects, or JSON lines. Errors name the line (or
/// array index) and the field path.
fn read_appends(path: &Path) -> anyhow::Result<Vec<(String, AppendItem)>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let trimmed = text.trim_start();
    let decode = |label: String, json: &str| -> anyhow::Result<(String, AppendItem)> {
        journey_api::extract::decode_json::<AppendItem>(json.as_bytes())
            .map(|item| (label.clone(), item))
            .map_err(|e| anyhow!("{}, {label}: {}", path.display(), problem_of(&e)))
    };
    let lines = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("jsonl") || e.eq_ignore_ascii_case("ndjson"));
    if !lines && trimmed.starts_with('[') {
        let items: Vec<Value> = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a JSON array of appends", path.display()))?;
        return items
            .iter()
            .enumerate()
            .map(|(i, v)| decode(format!("item {}", i + 1), &v.to_string()))
            .collect();
    }
    if !lines && serde_json::from_str::<Value>(&text).is_ok() {
        return Ok(vec![decode("the append".into(), &text)?]);
    }
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| decode(format!("line {}", i + 1), l))
        .collect()
}

/// An API error's problem as one line per field.
fn problem_of(e: &journey_api::ApiError) -> String {
    let problem = e.to_problem();
    let mut out = problem.detail.clone().unwrap_or_else(|| problem.title.clone());
    for f in &problem.errors {
        out.push_str(&format!("\n  {}: {}", f.field, f.message));
    }
    out
}

pub fn append(args: AppendArgs) -> anyhow::Result<()> {
    // Every line is checked before anything is sent, so a file with a bad line appends nothing.
    let items = read_appends(&args.file)?;
    let client = ApiClient::open(&args.target)?;
    let bar = progress(items.len() as u64, "appending", "appends");
    let (mut events, mut retries) = (0usize, 0usize);
    let mut failed = Vec::new();
    for (label, item) in items {
        let mut body = json!({ "events": item.events });
        if let Some(expected) = item.expected_version {
            body["expected_version"] = serde_json::to_value(expected)?;
        }
        let path = format!("/v1/children/{}/events", encode(item.child_id.as_str()));
        match client.post_json::<AppendOutcome>(&path, &body) {
            Ok(outcome) if outcome.already_recorded => retries += 1,
            Ok(outcome) => events += outcome.events.len(),
            Err(e) => failed.push(format!("{label} (child {}): {e:#}", item.child_id)),
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    client.close()?;
    println!(
        "appended {events} events; {retries} appends were already recorded (retries), {} refused",
        failed.len()
    );
    for f in &failed {
        eprintln!("refused: {f}");
    }
    if !failed.is_empty() {
        bail!("{} appends were refused (the others were stored)", failed.len());
    }
    Ok(())
}

pub fn progress(len: u64, message: &'static str, unit: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(len).with_style(
        indicatif::ProgressStyle::with_template(&format!(
            "{{msg}} {{bar:40}} {{pos}}/{{len}} {unit} ({{per_sec}}, {{eta}} left)"
        ))
        .expect("valid template"),
    );
    bar.set_message(message);
    bar
}

/// `/v1/children/{child}/{view}` on a date as known at an instant.
fn child_view_path(child: &ChildId, view: &str, as_of: AsOf) -> String {
    format!(
        "/v1/children/{}/{view}{}",
        encode(child.as_str()),
        as_of_query(Some(as_of.on), Some(as_of.known_at))
    )
}

pub fn timeline(args: ChildArgs) -> anyhow::Result<()> {
    let client = ApiClient::open(&args.target)?;
    let as_of = args.as_of.resolve();
    let chronology: Chronology<'static> =
        client.get_json(&child_view_path(&args.child, "chronology", as_of))?;
    client.close()?;
    let mut out = std::io::stdout().lock();
    match args.format {
        Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&chronology)?)?,
        Format::Csv => {
            let mut w = csv::Writer::from_writer(out);
            w.write_record([
                "event_id",
                "version",
                "stage",
                "kind",
                "occurred_at",
                "recorded_at",
                "lag_days",
                "recorded_late",
                "source_agency",
                "recorded_by",
                "status",
                "summary",
            ])?;
            for e in &chronology.entries {
                w.write_record([
                    e.event_id.to_string(),
                    e.version.to_string(),
                    format!("{:?}", e.stage),
                    format!("{:?}", e.kind),
                    e.occurred_at.to_string(),
                    e.recorded_at.to_string(),
                    e.lag_days.to_string(),
                    e.recorded_late.to_string(),
                    e.source.agency.to_string(),
                    e.recorded_by.to_string(),
                    status_word(&e.status).to_owned(),
                    e.summary.clone(),
                ])?;
            }
            w.flush()?;
        }
        Format::Table => {
            writeln!(
                out,
                "child {} on {} as known at {}: {} entries",
                args.child,
                as_of.on,
                as_of.known_at,
                chronology.entries.len()
            )?;
            writeln!(
                out,
                "{:<12} {:<12} {:>6}  {:<10} {:<14} summary",
                "occurred", "recorded", "lag", "status", "agency"
            )?;
            for e in &chronology.entries {
                writeln!(
                    out,
                    "{:<12} {:<12} {:>5}{} {:<10} {:<14} {}",
                    e.occurred_at.date().to_string(),
                    e.recorded_at.england_date().to_string(),
                    e.lag_days,
                    if e.recorded_late { "!" } else { " " },
                    status_word(&e.status),
                    e.source.agency.to_string(),
                    e.summary
                )?;
            }
            writeln!(out, "(! recorded late)")?;
        }
    }
    Ok(())
}

fn status_word(status: &EventStatus) -> &'static str {
    match status {
        EventStatus::Current => "current",
        EventStatus::Corrected { .. } => "corrected",
        EventStatus::Retracted { .. } => "retracted",
    }
}

pub fn summary(args: ChildArgs) -> anyhow::Result<()> {
    let client = ApiClient::open(&args.target)?;
    let as_of = args.as_of.resolve();
    let value: Value = client.get_json(&child_view_path(&args.child, "summary", as_of))?;
    client.close()?;
    let mut out = std::io::stdout().lock();
    match args.format {
        Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&value)?)?,
        Format::Csv | Format::Table => {
            let mut rows = Vec::new();
            flatten("", &value, &mut rows);
            if args.format == Format::Csv {
                let mut w = csv::Writer::from_writer(out);
                w.write_record(["field", "value"])?;
                for (k, v) in rows {
                    w.write_record([k, v])?;
                }
                w.flush()?;
            } else {
                let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
                for (k, v) in rows {
                    writeln!(out, "{k:<width$}  {v}")?;
                }
            }
        }
    }
    Ok(())
}

/// A JSON document as `path = value` rows (`open.looked_after.placement.place_type = U1`).
fn flatten(prefix: &str, value: &Value, out: &mut Vec<(String, String)>) {
    let join = |k: &str| {
        if prefix.is_empty() {
            k.to_owned()
        } else {
            format!("{prefix}.{k}")
        }
    };
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                flatten(&join(k), v, out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                flatten(&join(&i.to_string()), v, out);
            }
        }
        Value::Null => {}
        Value::String(s) => out.push((prefix.to_owned(), s.clone())),
        other => out.push((prefix.to_owned(), other.to_string())),
    }
}

pub fn log(command: LogCommand) -> anyhow::Result<()> {
    match command {
        LogCommand::Export { target, out, from } => export_log(target, &out, from),
        LogCommand::Import { data, file } => import_log(&data, &file),
    }
}

const PAGE: usize = 1_000;

fn export_log(target: TargetArgs, out: &Path, from: u64) -> anyhow::Result<()> {
    let client = ApiClient::open(&target)?;
    let mut writer: Box<dyn Write> = if out == Path::new("-") {
        Box::new(std::io::stdout().lock())
    } else {
        Box::new(BufWriter::new(
            File::create(out).with_context(|| format!("creating {}", out.display()))?,
        ))
    };
    let bar = indicatif::ProgressBar::new_spinner().with_style(
        indicatif::ProgressStyle::with_template("{spinner} exporting {pos} records ({per_sec})")
            .expect("valid template"),
    );
    let mut position = Position(from.max(1));
    let mut written = 0u64;
    loop {
        let page: LogPage = client.get_json(&format!("/v1/log?from={}&limit={PAGE}", position.0))?;
        for e in &page.events {
            serde_json::to_writer(&mut writer, e)?;
            writer.write_all(b"\n")?;
        }
        written += page.events.len() as u64;
        bar.set_position(written);
        if page.events.len() < PAGE || page.next_position <= position.0 {
            break;
        }
        position = Position(page.next_position);
    }
    writer.flush()?;
    drop(writer);
    bar.finish_and_clear();
    client.close()?;
    eprintln!("exported {written} records");
    Ok(())
}

fn import_log(data: &Path, file: &Path) -> anyhow::Result<()> {
    if data.exists()
        && std::fs::read_dir(data)
            .with_context(|| format!("reading {}", data.display()))?
            .next()
            .is_some()
    {
        bail!(
            "{} is not empty: a log is restored into a new data directory",
            data.display()
        );
    }
    let input = BufReader::new(File::open(file).with_context(|| format!("opening {}", file.display()))?);
    // The store stamps `recorded_at` from its clock: following each record's own time reproduces it.
    let clock = Arc::new(ManualClock::new(Timestamp::UNIX_EPOCH));
    let store = EmbeddedStore::open(data, clock.clone())
        .with_context(|| format!("creating a store in {}", data.display()))?;
    let bar = indicatif::ProgressBar::new_spinner().with_style(
        indicatif::ProgressStyle::with_template("{spinner} restoring {pos} records ({per_sec})")
            .expect("valid template"),
    );
    let mut restored = 0u64;
    let mut expected_position = 1u64;
    for (n, line) in input.lines().enumerate() {
        let line = line.with_context(|| format!("reading {}", file.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        let record: RecordedEvent = serde_json::from_str(&line)
            .with_context(|| format!("{} line {}: not a stored record", file.display(), n + 1))?;
        let envelope = &record.envelope;
        if envelope.position.0 != expected_position {
            bail!(
                "{} line {}: position {} where {expected_position} was expected (an export must be whole, from \
                 position 1)",
                file.display(),
                n + 1,
                envelope.position.0
            );
        }
        clock.set(envelope.recorded_at);
        let outcome = block_on(store.append(AppendRequest {
            child_id: envelope.child_id.clone(),
            expected: match envelope.version.0 {
                1 => ExpectedVersion::NoStream,
                n => ExpectedVersion::Exact(journey_core::Version(n - 1)),
            },
            recorded_by: envelope.recorded_by.clone(),
            events: vec![record.as_new_event()],
        }))
        .with_context(|| format!("{} line {}: the store refused the record", file.display(), n + 1))?;
        let stored = block_on(store.read_stream(envelope.child_id.clone(), envelope.version, 1))?;
        let same = stored
            .first()
            .is_some_and(|s| s.chain == record.chain && s.envelope == record.envelope);
        if !same || outcome.events.len() != 1 {
            bail!(
                "{} line {}: the restored record's hash links differ from the exported ones (child {}, version \
                 {}): the export was altered, or written by a Journey whose record format differs",
                file.display(),
                n + 1,
                envelope.child_id,
                envelope.version
            );
        }
        expected_position += 1;
        restored += 1;
        bar.set_position(restored);
    }
    bar.finish_and_clear();
    let verified = block_on(store.verify())?;
    store.close()?;
    if !verified.is_intact() {
        bail!(
            "the restored log failed verification: {:?}",
            verified.first_broken
        );
    }
    println!(
        "restored {restored} records into {}; every hash link matches the export and the log verifies; head \
         {}",
        data.display(),
        hex::encode(verified.head.log_hash)
    );
    Ok(())
}
