//! `journey returns`: the statutory returns, produced from the record (directly or through a server) and
//! taken in from an authority's earlier returns (directly, into a data directory).

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use futures::executor::block_on;
use journey_core::codes::CollectionYear;
use journey_core::{AgencyId, Clock, SystemClock, Timestamp};
use journey_returns::ssda903::{self, ImportFile, ImportOptions, ImportProgress, RowProblem};
use serde::Deserialize;

use crate::api_client::ApiClient;
use crate::serve::open_data_dir;
use crate::target::{TargetArgs, encode, operator};

#[derive(Debug, Subcommand)]
pub enum ReturnsCommand {
    /// The DfE's SSDA903 return (children looked after).
    Ssda903 {
        #[command(subcommand)]
        command: Ssda903Command,
    },
    /// The DfE's Children in Need census.
    Cin {
        #[command(subcommand)]
        command: CinCommand,
    },
    /// Ofsted's Annex A lists 1 to 11 for a window, as CSV files and an Excel workbook (one sheet per list).
    AnnexA {
        #[command(flatten)]
        target: TargetArgs,
        /// The first day the lists cover, e.g. 2024-04-01.
        #[arg(long)]
        start: journey_core::Date,
        /// The last day they cover (included), e.g. 2025-03-31.
        #[arg(long)]
        end: journey_core::Date,
        /// The record as it stood at this instant [default: now].
        #[arg(long)]
        known_at: Option<Timestamp>,
        /// The folder to write the CSV files and the workbook (`annex-a.xlsx`) into.
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum Ssda903Command {
    /// Write a collection year's SSDA903 tables (one CSV per table, the year's columns and codes) as the
    /// record stood at an instant.
    Export {
        #[command(flatten)]
        target: TargetArgs,
        /// The collection year, e.g. 2024/25 (1 April 2024 to 31 March 2025).
        #[arg(long)]
        year: CollectionYear,
        /// The record as it stood at this instant [default: now].
        #[arg(long)]
        known_at: Option<Timestamp>,
        /// The folder to write the CSV files into (created if missing).
        #[arg(long)]
        out: PathBuf,
    },
    /// Import earlier SSDA903 returns into a data directory: each year's tables become events on each
    /// child's stream, merged with what is there (nothing twice; conflicts reported, not resolved), all or
    /// nothing per child. Running it again changes nothing.
    Import(ImportArgs),
}

#[derive(Debug, Subcommand)]
pub enum CinCommand {
    /// Write a collection year's census as its XML, as the record stood at an instant.
    Export {
        #[command(flatten)]
        target: TargetArgs,
        /// The collection year, e.g. 2024/25.
        #[arg(long)]
        year: CollectionYear,
        /// The authority's three-digit LA code (the census's LEA), e.g. 878.
        #[arg(long)]
        la_code: String,
        /// The record as it stood at this instant [default: now].
        #[arg(long)]
        known_at: Option<Timestamp>,
        /// The XML file to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Import earlier censuses into a data directory: each file's children become events on their streams,
    /// merged with what is there (nothing twice; conflicts reported, not resolved), all or nothing per
    /// child. The year of each file is read from its header. Running it again changes nothing.
    Import(CinImportArgs),
}

#[derive(Debug, Args)]
pub struct CinImportArgs {
    #[command(flatten)]
    common: ImportCommon,
    /// Census XML files, any years, in any order.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    #[command(flatten)]
    common: ImportCommon,
    /// A year's return: `2023/24=path/to/folder` (every *.csv in the folder). Repeat for several years;
    /// they are imported in year order, each child's new facts from every year in one append.
    #[arg(long = "return", value_name = "YEAR=FOLDER", required = true, value_parser = parse_return)]
    returns: Vec<(CollectionYear, PathBuf)>,
}

/// What every import of earlier returns takes.
#[derive(Debug, Args)]
struct ImportCommon {
    /// The data directory (no server may be using it).
    #[arg(long, env = "JOURNEY_DATA")]
    data: PathBuf,
    /// The authority the returns speak for (the events' source agency), e.g. la-e08000026.
    #[arg(long)]
    agency: AgencyId,
    /// When the authority's system produced the returns (each event's `source_recorded_at`)
    /// [default: now].
    #[arg(long)]
    produced_at: Option<Timestamp>,
    /// Children imported at once.
    #[arg(long, default_value_t = 1024)]
    concurrency: usize,
    /// Write the whole report (every bad row or element, every conflict, and for a census every fact the
    /// log cannot hold) as JSON to this file.
    #[arg(long)]
    report: Option<PathBuf>,
}

impl ImportCommon {
    fn options(&self, year: CollectionYear) -> ImportOptions {
        ImportOptions {
            year,
            agency: self.agency.clone(),
            principal: operator(),
            source_recorded_at: self.produced_at.unwrap_or_else(|| SystemClock.now()),
            concurrency: self.concurrency,
        }
    }
}

fn parse_return(s: &str) -> Result<(CollectionYear, PathBuf), String> {
    let (year, dir) = s
        .split_once('=')
        .ok_or_else(|| "expected YEAR=FOLDER, e.g. 2023/24=returns/2023-24".to_string())?;
    let year = CollectionYear::parse(year.trim()).map_err(|e| e.to_string())?;
    Ok((year, PathBuf::from(dir)))
}

pub fn run(command: ReturnsCommand) -> anyhow::Result<()> {
    match command {
        ReturnsCommand::Ssda903 { command } => match command {
            Ssda903Command::Export {
                target,
                year,
                known_at,
                out,
            } => export_ssda903(target, year, known_at, &out),
            Ssda903Command::Import(args) => import_ssda903(args),
        },
        ReturnsCommand::Cin { command } => match command {
            CinCommand::Export {
                target,
                year,
                la_code,
                known_at,
                out,
            } => export_cin(target, year, &la_code, known_at, &out),
            CinCommand::Import(args) => import_cin(args),
        },
        ReturnsCommand::AnnexA {
            target,
            start,
            end,
            known_at,
            out,
        } => export_annex_a(target, start, end, known_at, &out),
    }
}

/// The JSON form of the lists as `GET /v1/returns/annex-a` gives them.
#[derive(Debug, Deserialize)]
struct AnnexAAnswer {
    lists: Vec<AnnexAList>,
}

#[derive(Debug, Deserialize)]
struct AnnexAList {
    number: u8,
    name: String,
    headings: Vec<String>,
    rows: Vec<Vec<String>>,
}

fn export_annex_a(
    target: TargetArgs,
    start: journey_core::Date,
    end: journey_core::Date,
    known_at: Option<Timestamp>,
    out: &Path,
) -> anyhow::Result<()> {
    use journey_returns::annex_a::ListKind;
    if start > end {
        bail!("--start must be on or before --end");
    }
    let client = ApiClient::open(&target)?;
    let known_at = known_at.unwrap_or_else(|| SystemClock.now());
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let workbook = out.join("annex-a.xlsx");
    let mut summary: Vec<(String, usize)> = Vec::new();
    let query = format!(
        "start={start}&end={end}&known_at={}",
        encode(&known_at.to_string())
    );
    let lists: AnnexAAnswer = client.get_json(&format!("/v1/returns/annex-a?{query}"))?;
    for list in lists.lists {
        let kind = ListKind::ALL
            .into_iter()
            .find(|k| k.number() == list.number)
            .with_context(|| format!("the answer has a list numbered {}", list.number))?;
        let mut w = csv::Writer::from_path(out.join(kind.file_name()))?;
        w.write_record(&list.headings)?;
        for row in &list.rows {
            w.write_record(row)?;
        }
        w.flush()?;
        summary.push((list.name, list.rows.len()));
    }
    std::fs::write(
        &workbook,
        client.get_bytes(&format!("/v1/returns/annex-a/workbook?{query}"))?,
    )?;
    client.close()?;
    println!(
        "Annex A, {start} to {end}, as known at {known_at}, in {}:",
        out.display()
    );
    for (name, rows) in summary {
        println!("  {name:<32} {rows:>7} rows");
    }
    println!("  workbook: {}", workbook.display());
    Ok(())
}

/// The JSON form of a return as `GET /v1/returns/ssda903/{year}` gives it.
#[derive(Debug, Deserialize)]
struct TablesAnswer {
    tables: Vec<TableAnswer>,
}

#[derive(Debug, Deserialize)]
struct TableAnswer {
    file: String,
    columns: Vec<String>,
    rows: Vec<Vec<String>>,
}

fn export_ssda903(
    target: TargetArgs,
    year: CollectionYear,
    known_at: Option<Timestamp>,
    out: &Path,
) -> anyhow::Result<()> {
    let client = ApiClient::open(&target)?;
    let known_at = known_at.unwrap_or_else(|| SystemClock.now());
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let mut written = Vec::new();
    let tables: TablesAnswer = client.get_json(&format!(
        "/v1/returns/ssda903/{}?known_at={}",
        encode(&year.to_string()),
        encode(&known_at.to_string())
    ))?;
    for table in tables.tables {
        let mut w = csv::Writer::from_path(out.join(&table.file))?;
        w.write_record(&table.columns)?;
        for row in &table.rows {
            w.write_record(row)?;
        }
        w.flush()?;
        written.push((table.file, table.rows.len()));
    }
    client.close()?;
    println!("SSDA903 {year} as known at {known_at}, in {}:", out.display());
    for (file, rows) in written {
        println!("  {file:<24} {rows:>7} rows");
    }
    Ok(())
}

struct Bar(indicatif::ProgressBar);

impl ImportProgress for Bar {
    fn children_found(&self, children: usize) {
        self.0.set_length(children as u64);
        self.0.set_message("importing");
    }

    fn child_done(&self) {
        self.0.inc(1);
    }
}

fn import_ssda903(args: ImportArgs) -> anyhow::Result<()> {
    let mut files = Vec::new();
    for (year, dir) in &args.returns {
        let read = ImportFile::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?;
        if read.is_empty() {
            bail!("there are no .csv files in {} (the {year} return)", dir.display());
        }
        files.push((*year, read));
    }
    let backend = open_data_dir(&args.common.data)?;
    let options = args.common.options(files[0].0);
    let returns: Vec<(CollectionYear, &[ImportFile])> =
        files.iter().map(|(y, f)| (*y, f.as_slice())).collect();
    let bar = Bar(crate::records::progress(0, "reading", "children"));
    let started = std::time::Instant::now();
    let report = block_on(ssda903::import_years_with_progress(
        backend.store.as_ref(),
        &returns,
        &options,
        &bar,
    ))?;
    bar.0.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    backend.close()?;
    println!(
        "read {} rows in {} files ({:.0} rows/s): {} children imported ({} events), {} unchanged, {} refused; \
         {} facts were already recorded",
        report.rows,
        report.files.len(),
        report.rows as f64 / seconds.max(1e-9),
        report.tally.children_imported,
        report.tally.events_appended,
        report.tally.children_unchanged,
        report.tally.children_refused,
        report.tally.facts_already_present,
    );
    for (file, kind, rows) in &report.files {
        let kind = kind.map_or("not an SSDA903 table".to_owned(), |k| k.to_string());
        println!("  {file:<32} {kind:<16} {rows:>7} rows");
    }
    print_problems(
        &[
            ("bad row", &report.tally.problems),
            ("journey rule", &report.tally.refused_by_rules),
            ("conflict", &report.tally.conflicts),
            ("identifier kept as recorded", &report.tally.flagged),
        ],
        "row",
        "column",
    );
    print_rules(&report.tally);
    write_report(args.common.report.as_deref(), &report)
}

/// The first 20 of each list on stderr: file, where in it, what rule, which child.
fn print_problems(lists: &[(&str, &Vec<RowProblem>)], row: &str, column: &str) {
    for (label, list) in lists {
        for p in list.iter().take(20) {
            eprintln!(
                "{label}: {} {row} {} {column} {}: {}{}",
                p.file,
                p.row,
                p.column,
                p.rule,
                p.child
                    .as_deref()
                    .map(|c| format!(" (child {c})"))
                    .unwrap_or_default()
            );
        }
        if list.len() > 20 {
            eprintln!("... and {} more {label}s", list.len() - 20);
        }
    }
}

/// The rules met, most frequent first, and how many refused children only need their values corrected.
fn print_rules(tally: &journey_returns::report::ChildTally) {
    if tally.by_rule.is_empty() {
        return;
    }
    println!("by rule (kind, column, rule: times, children):");
    for r in tally.by_rule.iter().take(30) {
        println!(
            "  {:<16} {:<22} {}: {} times, {} children",
            r.kind, r.column, r.rule, r.count, r.children
        );
    }
    if tally.by_rule.len() > 30 {
        println!("  ... and {} more rules (see --report)", tally.by_rule.len() - 30);
    }
    println!(
        "{} of {} refused children were refused only for bad values: correct those and import again",
        tally.refused_only_for_values.len(),
        tally.children_refused
    );
}

fn write_report(path: Option<&Path>, report: &impl serde::Serialize) -> anyhow::Result<()> {
    if let Some(path) = path {
        std::fs::write(path, serde_json::to_vec_pretty(report)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

fn import_cin(args: CinImportArgs) -> anyhow::Result<()> {
    use journey_returns::cin;
    let mut files = Vec::new();
    for path in &args.files {
        files.push(ImportFile {
            name: path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned(),
            bytes: std::fs::read(path).with_context(|| format!("reading {}", path.display()))?,
        });
    }
    let backend = open_data_dir(&args.common.data)?;
    // The census's year is read from each file's header.
    let options = args.common.options(CollectionYear::LAST_SUPPORTED);
    let bar = Bar(crate::records::progress(0, "reading", "children"));
    let started = std::time::Instant::now();
    let report = block_on(cin::import_census(backend.store.as_ref(), &files, &options, &bar))?;
    bar.0.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    backend.close()?;
    let children: usize = report.files.iter().map(|f| f.children).sum();
    println!(
        "read {children} children in {} files ({:.0} children/s): {} children imported ({} events), {} unchanged, \
         {} refused; {} facts were already recorded, {} could not be recorded",
        report.files.len(),
        children as f64 / seconds.max(1e-9),
        report.tally.children_imported,
        report.tally.events_appended,
        report.tally.children_unchanged,
        report.tally.children_refused,
        report.tally.facts_already_present,
        report.unrecorded.len(),
    );
    for f in &report.files {
        let year = f.year.map_or("not a census".to_owned(), |y| y.to_string());
        println!("  {:<32} {year:<12} {:>7} children", f.file, f.children);
    }
    print_problems(
        &[
            ("bad element", &report.tally.problems),
            ("journey rule", &report.tally.refused_by_rules),
            ("conflict", &report.tally.conflicts),
            ("identifier kept as recorded", &report.tally.flagged),
            ("not recorded", &report.unrecorded),
        ],
        "line",
        "element",
    );
    print_rules(&report.tally);
    write_report(args.common.report.as_deref(), &report)
}

fn export_cin(
    target: TargetArgs,
    year: CollectionYear,
    la_code: &str,
    known_at: Option<Timestamp>,
    out: &Path,
) -> anyhow::Result<()> {
    if !(la_code.len() == 3 && la_code.bytes().all(|b| b.is_ascii_digit())) {
        bail!("--la-code must be the authority's three-digit LA code, e.g. 878");
    }
    let client = ApiClient::open(&target)?;
    let known_at = known_at.unwrap_or_else(|| SystemClock.now());
    let xml = client.get_bytes(&format!(
        "/v1/returns/cin/{}?la_code={la_code}&known_at={}",
        encode(&year.to_string()),
        encode(&known_at.to_string())
    ))?;
    let children = String::from_utf8_lossy(&xml).matches("<Child>").count();
    client.close()?;
    std::fs::write(out, xml).with_context(|| format!("writing {}", out.display()))?;
    println!(
        "CIN census {year} as known at {known_at}: {children} children in {}",
        out.display()
    );
    Ok(())
}
