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
use journey_core::store::TreeStore;
use journey_core::store::{AppendOutcome, AppendRequest, EventStore};
use journey_core::view::{AsOf, Chronology, EventStatus};
use journey_core::{
    ChildId, Clock, Date, ManualClock, NewEvent, Position, RecordedEvent, SystemClock, Timestamp,
};
use journey_embedded::{EmbeddedStore, IMPORT_MARKER};
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
    /// Restore an exported log into an empty data directory, or an empty PostgreSQL log (`--store`): every
    /// record is appended again with its own recording time and recorder, and each rebuilt hash link is
    /// checked against the exported one, so the copy is proven identical (or the import stops at the first
    /// difference). Into a data directory it is all or nothing: the log is built in `<data>.importing` and
    /// moved to `<data>` only once every record is restored and checked; a failed or interrupted import leaves
    /// nothing at `<data>` that opens. Into PostgreSQL, import into a new database or schema and drop it if the
    /// import fails. The restored log is a new log, with a new log id (a new origin for its checkpoints):
    /// nothing is re-signed, and the original's checkpoints and proof bundles do not verify as its.
    Import {
        /// The new data directory (must be empty or absent).
        #[arg(long, required_unless_present = "store", conflicts_with = "store")]
        data: Option<PathBuf>,
        /// A PostgreSQL log to restore into instead (`postgres://user@host:port/database`, the connection's
        /// schema): it must hold no record.
        #[arg(long, value_name = "URL", value_parser = parse_postgres_url)]
        store: Option<String>,
        /// The key-encryption key's file to seal with (else JOURNEY_KEK; for a data directory, else
        /// `<data>.kek`, made if missing). A PostgreSQL log takes its key only from here or JOURNEY_KEK.
        #[arg(long)]
        kek_file: Option<PathBuf>,
        /// The JSON-lines export.
        #[arg(long)]
        file: PathBuf,
        /// Seal each child's content under a key of its own in the new data directory (ADR 11): the way a
        /// log in the clear is migrated. The export's hash links are checked against its content first; the
        /// sealed log has new hashes (they cover ciphertext), so it is checked record by record for the same
        /// content instead.
        #[arg(long)]
        seal: bool,
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
        LogCommand::Import {
            data,
            store,
            kek_file,
            file,
            seal,
        } => match (data, store) {
            (Some(data), _) => import_log(&data, &file, seal, kek_file.as_deref()),
            (None, Some(url)) => import_log_postgres(&url, &file, seal, kek_file.as_deref()),
            (None, None) => bail!("log import needs --data or --store"),
        },
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

pub(crate) fn parse_postgres_url(s: &str) -> Result<String, String> {
    if s.starts_with("postgres://") || s.starts_with("postgresql://") {
        Ok(s.to_owned())
    } else {
        Err("must be a URL starting postgres:// or postgresql://".into())
    }
}

fn import_log(data: &Path, file: &Path, seal: bool, kek_file: Option<&Path>) -> anyhow::Result<()> {
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
    // All or nothing: the log is built beside the target and renamed into place only once every record is
    // restored and checked. Until then nothing at the target opens, whatever happens to this process.
    let kek = if seal {
        Some(
            crate::kek::resolve(data, kek_file, crate::kek::IfMissing::Make)?
                .context("no key-encryption key to seal with")?,
        )
    } else {
        None
    };
    let staging = Staging::begin(data)?;
    let restored = restore(&staging.dir, file, kek)?;
    staging.commit()?;
    report_import(&restored, &data.display().to_string(), seal);
    Ok(())
}

/// `journey log import --store postgres://...`: into a PostgreSQL log that holds no record. A PostgreSQL log
/// cannot be built aside and renamed into place as a data directory is: if the import fails, the log holds
/// part of the export, and is dropped (it is a new database or schema), never served.
fn import_log_postgres(url: &str, file: &Path, seal: bool, kek_file: Option<&Path>) -> anyhow::Result<()> {
    let mut options = journey_postgres::PostgresOptions::new(url);
    if seal {
        let kek = crate::kek::resolve_named(kek_file)?.context(crate::kek::POSTGRES_NEEDS_KEK)?;
        options = options.with_kek(kek);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the PostgreSQL client's runtime")?;
    // The store stamps `recorded_at` from its clock: following each record's own time reproduces it.
    let clock = Arc::new(ManualClock::new(Timestamp::UNIX_EPOCH));
    let store = runtime
        .block_on(journey_postgres::PostgresStore::open(options, clock.clone()))
        .context("opening the PostgreSQL log to import into (check --store)")?;
    if block_on(store.head())?.position.is_some() {
        bail!(
            "the PostgreSQL log in schema {} already holds records: a log is restored into a new database or \
             schema",
            store.schema()
        );
    }
    if seal && !store.content_sealed() {
        bail!(
            "the PostgreSQL log in schema {} does not seal content",
            store.schema()
        );
    }
    let input = BufReader::new(File::open(file).with_context(|| format!("opening {}", file.display()))?);
    let restored = restore_records(&store, &clock, &mut input.lines(), file, seal)
        .and_then(|records| Ok((records, block_on(store.verify())?)));
    let (records, verified) = restored.with_context(|| {
        format!(
            "the import stopped: the PostgreSQL log in schema {} holds part of the export; drop it (never serve \
             it) and import into a new database or schema again",
            store.schema()
        )
    })?;
    if !verified.is_intact() {
        bail!(
            "the restored log failed verification: {:?}",
            verified.first_broken
        );
    }
    let where_ = format!("the PostgreSQL log in schema {}", store.schema());
    let restored = Restored {
        records,
        head: verified.head.log_hash,
        log_id: store.log_id().clone(),
    };
    drop(store);
    report_import(&restored, &where_, seal);
    Ok(())
}

/// What an import says once every record is restored and checked.
fn report_import(restored: &Restored, into: &str, seal: bool) {
    let data = into;
    if seal {
        println!(
            "restored {} records into {}, each child's content sealed under a key of its own; the export's hash \
             links match its content, every restored record has the exported content, and the log verifies; \
             its hashes are new (they cover ciphertext): head {}",
            restored.records,
            data,
            hex::encode(restored.head)
        );
    } else {
        println!(
            "restored {} records into {}; every hash link matches the export and the log verifies; head {}",
            restored.records,
            data,
            hex::encode(restored.head)
        );
    }
    println!(
        "this is a new log, not the original: its log id is {id}, so its checkpoints' origin is \
         <checkpoint.origin_base>/{id} ({}/{id} by default). A log export carries no checkpoints: nothing was \
         re-signed and no checkpoint or cosignature of the original was kept. The original's checkpoints, \
         witnesses' cosignatures and proof bundles name the original's origin and do not verify as this log's; \
         this log is proven only by checkpoints signed for it from now on, with a key named after its own \
         origin.",
        crate::checkpoint::DEFAULT_ORIGIN_BASE,
        id = restored.log_id,
    );
}

/// What [`restore`] built.
struct Restored {
    records: u64,
    head: [u8; 32],
    log_id: journey_core::store::LogId,
}

/// Restores the export `file` into the store an import is building in `dir`, record by record, checking
/// each rebuilt hash link against the exported one, and verifies the whole log.
fn restore(
    dir: &Path,
    file: &Path,
    kek: Option<Arc<dyn journey_core::content_keys::KeyEncryptionKey>>,
) -> anyhow::Result<Restored> {
    let input = BufReader::new(File::open(file).with_context(|| format!("opening {}", file.display()))?);
    // The store stamps `recorded_at` from its clock: following each record's own time reproduces it.
    let clock = Arc::new(ManualClock::new(Timestamp::UNIX_EPOCH));
    let sealing = kek.is_some();
    let options = journey_embedded::EmbeddedOptions {
        kek,
        ..journey_embedded::EmbeddedOptions::default()
    };
    let store = EmbeddedStore::open_importing_with(dir, clock.clone(), options)
        .with_context(|| format!("creating a store in {}", dir.display()))?;
    let restored = restore_records(&store, &clock, &mut input.lines(), file, sealing);
    let verified = restored.and_then(|records| Ok((records, block_on(store.verify())?)));
    let log_id = store.log_id().clone();
    let closed = store.close();
    let (records, verified) = verified?;
    closed?;
    if !verified.is_intact() {
        bail!(
            "the restored log failed verification: {:?}",
            verified.first_broken
        );
    }
    Ok(Restored {
        records,
        head: verified.head.log_hash,
        log_id,
    })
}

fn restore_records(
    store: &dyn EventStore,
    clock: &ManualClock,
    lines: &mut dyn Iterator<Item = std::io::Result<String>>,
    file: &Path,
    sealing: bool,
) -> anyhow::Result<u64> {
    // The export's own chains, recomputed from each record's content by the log's verifier (a record in the
    // clear encodes deterministically): what proves, when sealing gives the restored log new hashes, that the
    // export is the log that was exported.
    let mut chains = journey_core::store::backend::Verifier::new();
    let bar = indicatif::ProgressBar::new_spinner().with_style(
        indicatif::ProgressStyle::with_template("{spinner} restoring {pos} records ({per_sec})")
            .expect("valid template"),
    );
    let mut restored = 0u64;
    let mut expected_position = 1u64;
    for (n, line) in lines.enumerate() {
        let line = line.with_context(|| format!("reading {}", file.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        let record: RecordedEvent = serde_json::from_str(&line)
            .with_context(|| format!("{} line {}: not a stored record", file.display(), n + 1))?;
        let envelope = &record.envelope;
        if envelope.schema_version == journey_core::envelope::SEALED_SCHEMA_VERSION {
            bail!(
                "{} line {}: this is an export of a log whose content is sealed under each child's key: its hash \
                 links cover ciphertext that an import cannot reproduce, so it cannot be restored exactly. Restore \
                 a sealed log from a backup of its data directory (with its key store) and its key-encryption key \
                 (docs/deployment.md, \"Sealing content at rest\")",
                file.display(),
                n + 1
            );
        }
        if envelope.position.0 != expected_position {
            bail!(
                "{} line {}: position {} where {expected_position} was expected (an export must be whole, from \
                 position 1)",
                file.display(),
                n + 1,
                envelope.position.0
            );
        }
        if sealing {
            check_exported(&mut chains, &record).with_context(|| {
                format!(
                    "{} line {}: the export's hash links do not match its content: it was altered",
                    file.display(),
                    n + 1
                )
            })?;
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
        let same = if sealing {
            // The sealed record's hashes cover ciphertext and are new; its content must be the export's.
            stored.first().is_some_and(|s| {
                let mut as_exported = s.envelope.clone();
                as_exported.schema_version = record.envelope.schema_version;
                as_exported == record.envelope && s.payload == record.payload
            })
        } else {
            stored
                .first()
                .is_some_and(|s| s.chain == record.chain && s.envelope == record.envelope)
        };
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
    Ok(restored)
}

/// The directory an import builds its log in: `<target>.importing`, beside the target (so on the same
/// filesystem, and the final rename is atomic), marked with [`IMPORT_MARKER`] from the start so that no
/// open but the import's takes it for a data directory. Removed on any failure; renamed onto the target
/// only by [`Staging::commit`].
struct Staging {
    dir: PathBuf,
    target: PathBuf,
    committed: bool,
}

impl Staging {
    fn begin(target: &Path) -> anyhow::Result<Staging> {
        let name = target.file_name().ok_or_else(|| {
            anyhow!(
                "{}: name the new data directory by its own path (it ends in a name, not `..` or `/`)",
                target.display()
            )
        })?;
        let parent = target
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        let mut staged = name.to_owned();
        staged.push(".importing");
        let dir = parent.join(staged);
        if dir.exists() {
            remove_leftover(&dir, target)?;
        }
        std::fs::create_dir(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let staging = Staging {
            dir,
            target: target.to_owned(),
            committed: false,
        };
        let marker = staging.dir.join(IMPORT_MARKER);
        let mut file = File::create(&marker).with_context(|| format!("creating {}", marker.display()))?;
        writeln!(
            file,
            "journey log import into {} (process {}): not finished. This directory holds part of a log at \
             most and is not a data directory; the next import into the same directory removes it.",
            target.display(),
            std::process::id()
        )?;
        file.sync_all()?;
        sync_dir(&staging.dir)?;
        sync_dir(parent)?;
        Ok(staging)
    }

    /// Makes the built log durable, then unmarks it and renames it onto the target: the commit point. An
    /// existing empty target directory is replaced; one that gained entries meanwhile is left as it is.
    fn commit(mut self) -> anyhow::Result<()> {
        sync_tree(&self.dir).with_context(|| format!("syncing {}", self.dir.display()))?;
        std::fs::remove_file(self.dir.join(IMPORT_MARKER))?;
        sync_dir(&self.dir)?;
        std::fs::rename(&self.dir, &self.target).with_context(|| {
            format!(
                "moving the restored log from {} to {} (a target that gained entries meanwhile, or a mount \
                 point, cannot be replaced; nothing was left at {})",
                self.dir.display(),
                self.target.display(),
                self.target.display()
            )
        })?;
        self.committed = true;
        let parent = self
            .target
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        sync_dir(parent)?;
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed
            && let Err(e) = std::fs::remove_dir_all(&self.dir)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            eprintln!(
                "journey: could not remove the unfinished import {} ({e}); it is refused by every command \
                 and removed by the next import into {}",
                self.dir.display(),
                self.target.display()
            );
        }
    }
}

/// A `<target>.importing` found at the start of an import: the leftover of an import that was interrupted
/// (removed, and said), one still running (refused), or something else (refused, never deleted).
fn remove_leftover(dir: &Path, target: &Path) -> anyhow::Result<()> {
    let marked = dir.join(IMPORT_MARKER).is_file();
    let empty = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .next()
        .is_none();
    if !marked && !empty {
        bail!(
            "{} exists and is not an unfinished import (it has no {IMPORT_MARKER} file): it may be a finished \
             import interrupted before it was moved to {}; check it with `journey verify --data {}` and rename \
             it, or move it aside, then import again",
            dir.display(),
            target.display(),
            dir.display()
        );
    }
    if marked && let Ok(lock) = File::open(dir.join("LOCK")) {
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => bail!(
                "another `journey log import` into {} is running (it holds {})",
                target.display(),
                dir.display()
            ),
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("locking {}", dir.display()));
            }
        }
    }
    std::fs::remove_dir_all(dir).with_context(|| format!("removing {}", dir.display()))?;
    if marked {
        eprintln!(
            "journey: removed {}, the leftover of an interrupted import into {} (never a data directory: \
             every command refused it)",
            dir.display(),
            target.display()
        );
    }
    Ok(())
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Syncs every file and directory under `dir`, and `dir` itself.
fn sync_tree(dir: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            sync_tree(&entry.path())?;
        } else {
            File::open(entry.path())?.sync_all()?;
        }
    }
    sync_dir(dir)
}

/// Pushes an exported record in the clear through the log's verifier, as the bytes it was stored as.
fn check_exported(
    chains: &mut journey_core::store::backend::Verifier,
    record: &RecordedEvent,
) -> anyhow::Result<()> {
    use journey_core::encoding;
    let e = &record.envelope;
    let fields = encoding::StoreFields {
        child_id: e.child_id.clone(),
        version: e.version,
        position: e.position,
        recorded_at: e.recorded_at,
        recorded_by: e.recorded_by.clone(),
    };
    let body = encoding::encode_body(&fields, &encoding::encode_new_event(&record.as_new_event()));
    if !chains.push(&body, &record.chain) {
        let why = chains
            .first_broken()
            .map_or_else(String::new, |b| b.reason.clone());
        bail!("child {} version {}: {why}", e.child_id, e.version);
    }
    Ok(())
}
