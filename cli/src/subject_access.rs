//! `journey sar`: subject access requests through the REST API (a server's, with a records officer's key,
//! or this process's over a data directory, acting as a records officer): record a request, see what is
//! open and due, extend it, record consents and serious-harm decisions, write the bundle (JSON, HTML, or
//! PDF printed by a headless Chromium) and release it.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use axum::http::Method;
use clap::{Args, Subcommand, ValueEnum};
use journey_api::Role;
use journey_core::{ChildId, Date};
use serde_json::{Value, json};

use crate::api_client::{ApiClient, Policies};
use crate::retention::{Output, print, text};
use crate::target::{TargetArgs, encode};

#[derive(Debug, Subcommand)]
pub enum SarCommand {
    /// Record a subject access request received: the one-month clock starts on the day it was received.
    New(NewArgs),
    /// List the requests: the open ones, soonest due first, with those overdue marked.
    List(ListArgs),
    /// Show one request with its deadline and decisions.
    Show(IdArgs),
    /// Extend a complex request to three months from receipt, with the reason (once).
    Extend(ReasonArgs),
    /// Change what may be disclosed beyond the subject's own data (a consent arrived), with the reason.
    Disclose(DiscloseArgs),
    /// Withhold one entry for serious harm (a reviewer's decision), with the reason.
    Withhold(EntryArgs),
    /// Reinstate an entry withheld for serious harm, with the reason.
    Reinstate(EntryArgs),
    /// Write the bundle: the draft as known now, or once released exactly what was released.
    Bundle(BundleArgs),
    /// Print the data protection officer's schedule of redactions (whose data, the reviewer's reasons).
    Schedule(IdArgs),
    /// Release the bundle: its SHA-256 and the log's size are recorded, and the request is complete.
    Release(IdArgs),
}

/// Who asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RequesterArg {
    Subject,
    Parent,
    Representative,
}

#[derive(Debug, Args)]
pub struct DisclosureArgs {
    /// A person (id) who consented, or whose disclosure was judged reasonable (repeatable).
    #[arg(long = "disclose-person", value_name = "PERSON_ID")]
    persons: Vec<String>,
    /// Withhold professionals too (normally disclosed).
    #[arg(long)]
    withhold_professionals: bool,
    /// For a request about a person: disclose the child's own information too.
    #[arg(long)]
    child_information: bool,
}

impl DisclosureArgs {
    fn json(&self) -> Value {
        json!({
            "persons": self.persons,
            "withhold_professionals": self.withhold_professionals,
            "child_information": self.child_information,
        })
    }
}

#[derive(Debug, Args)]
pub struct NewArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// The child whose record is asked for.
    #[arg(long, conflicts_with = "person", required_unless_present = "person")]
    child: Option<ChildId>,
    /// Or the person (the sending system's id) whose data is asked for.
    #[arg(long)]
    person: Option<String>,
    /// For --person: a child's record to look in (repeatable; every record when none).
    #[arg(long = "in-child", requires = "person")]
    children: Vec<ChildId>,
    #[arg(long, value_enum)]
    requester: RequesterArg,
    /// How identity and authority were established (no personal data).
    #[arg(long)]
    authority: String,
    /// The day the request was received, e.g. 2026-11-02.
    #[arg(long)]
    received_on: Date,
    /// The council's own reference.
    #[arg(long)]
    reference: Option<String>,
    #[command(flatten)]
    disclosure: DisclosureArgs,
    #[arg(long, value_enum, default_value = "table")]
    format: Output,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    target: TargetArgs,
    #[arg(long, value_enum, default_value = "table")]
    format: Output,
}

#[derive(Debug, Args)]
pub struct IdArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// The request's id (`sar-3`).
    request: String,
    #[arg(long, value_enum, default_value = "table")]
    format: Output,
}

#[derive(Debug, Args)]
pub struct ReasonArgs {
    #[command(flatten)]
    target: TargetArgs,
    request: String,
    #[arg(long)]
    reason: String,
    #[arg(long, value_enum, default_value = "table")]
    format: Output,
}

#[derive(Debug, Args)]
pub struct DiscloseArgs {
    #[command(flatten)]
    target: TargetArgs,
    request: String,
    #[command(flatten)]
    disclosure: DisclosureArgs,
    #[arg(long)]
    reason: String,
    #[arg(long, value_enum, default_value = "table")]
    format: Output,
}

#[derive(Debug, Args)]
pub struct EntryArgs {
    #[command(flatten)]
    target: TargetArgs,
    request: String,
    /// The entry's event id, as the bundle shows it.
    event: String,
    #[arg(long)]
    reason: String,
    #[arg(long, value_enum, default_value = "table")]
    format: Output,
}

/// The bundle's form.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum BundleFormat {
    Json,
    Html,
    /// The HTML printed to PDF (A4) by a headless Chromium (`JOURNEY_CHROMIUM`, or `chromium` on PATH).
    Pdf,
}

#[derive(Debug, Args)]
pub struct BundleArgs {
    #[command(flatten)]
    target: TargetArgs,
    request: String,
    #[arg(long, value_enum, default_value = "html")]
    format: BundleFormat,
    /// The file to write.
    #[arg(long)]
    out: PathBuf,
}

/// The API as a records officer. Over a data directory, the policy registry is opened only for what makes a
/// bundle (it names the policy versions in force): opening it deploys the reference policies.
fn client(target: &TargetArgs, policies: Policies) -> anyhow::Result<ApiClient> {
    ApiClient::open_as(target, policies, Role::RecordsOfficer)
}

fn call(target: &TargetArgs, method: Method, path: &str, body: Option<&Value>) -> anyhow::Result<Value> {
    let makes_a_bundle = [
        "/bundle",
        "/schedule",
        "/release",
        "/withholdings",
        "/reinstatements",
    ]
    .iter()
    .any(|tail| path.ends_with(tail));
    let policies = if makes_a_bundle {
        Policies::Needed
    } else {
        Policies::NotNeeded
    };
    let client = client(target, policies)?;
    let answer = client.call(method, path, body);
    client.close()?;
    answer
}

fn request_path(id: &str, tail: &str) -> String {
    format!("/v1/subject-access/{}{tail}", encode(id))
}

pub fn run(command: SarCommand) -> anyhow::Result<()> {
    match command {
        SarCommand::New(args) => {
            let mut body = json!({
                "requester": match args.requester {
                    RequesterArg::Subject => "subject",
                    RequesterArg::Parent => "parent",
                    RequesterArg::Representative => "representative",
                },
                "authority": args.authority,
                "received_on": args.received_on,
                "disclosure": args.disclosure.json(),
            });
            match (&args.child, &args.person) {
                (Some(child), _) => body["child_id"] = json!(child),
                (None, Some(person)) => {
                    body["person_id"] = json!(person);
                    body["children"] = json!(args.children);
                }
                (None, None) => bail!("say whose data: --child or --person"),
            }
            if let Some(reference) = &args.reference {
                body["reference"] = json!(reference);
            }
            let request = call(&args.target, Method::POST, "/v1/subject-access", Some(&body))?;
            print(args.format, &request, || request_text(&request))
        }
        SarCommand::List(args) => {
            let list = call(&args.target, Method::GET, "/v1/subject-access", None)?;
            print(args.format, &list, || list_text(&list))
        }
        SarCommand::Show(args) => {
            let request = call(&args.target, Method::GET, &request_path(&args.request, ""), None)?;
            print(args.format, &request, || request_text(&request))
        }
        SarCommand::Extend(args) => {
            let body = json!({ "reason": args.reason });
            let path = request_path(&args.request, "/extension");
            let request = call(&args.target, Method::POST, &path, Some(&body))?;
            print(args.format, &request, || request_text(&request))
        }
        SarCommand::Disclose(args) => {
            let body = json!({ "disclosure": args.disclosure.json(), "reason": args.reason });
            let path = request_path(&args.request, "/disclosure");
            let request = call(&args.target, Method::POST, &path, Some(&body))?;
            print(args.format, &request, || request_text(&request))
        }
        SarCommand::Withhold(args) => decide(args, "/withholdings"),
        SarCommand::Reinstate(args) => decide(args, "/reinstatements"),
        SarCommand::Bundle(args) => bundle(args),
        SarCommand::Schedule(args) => {
            let schedule = call(
                &args.target,
                Method::GET,
                &request_path(&args.request, "/schedule"),
                None,
            )?;
            print(args.format, &schedule, || schedule_text(&schedule))
        }
        SarCommand::Release(args) => {
            let request = call(
                &args.target,
                Method::POST,
                &request_path(&args.request, "/release"),
                None,
            )?;
            print(args.format, &request, || request_text(&request))
        }
    }
}

fn decide(args: EntryArgs, tail: &str) -> anyhow::Result<()> {
    let body = json!({ "event_id": args.event, "reason": args.reason });
    let request = call(
        &args.target,
        Method::POST,
        &request_path(&args.request, tail),
        Some(&body),
    )?;
    print(args.format, &request, || request_text(&request))
}

fn bundle(args: BundleArgs) -> anyhow::Result<()> {
    let format = match args.format {
        BundleFormat::Json => "json",
        BundleFormat::Html | BundleFormat::Pdf => "html",
    };
    let client = client(&args.target, Policies::Needed)?;
    let bytes = client.get_bytes(&request_path(&args.request, &format!("/bundle?format={format}")));
    client.close()?;
    let bytes = bytes?;
    match args.format {
        BundleFormat::Json | BundleFormat::Html => write_new(&args.out, &bytes),
        BundleFormat::Pdf => print_to_pdf(&bytes, &args.out),
    }
}

/// Writes `bytes` to `path` through a temporary file beside it, so that a failure leaves no half file.
fn write_new(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut file =
        tempfile::NamedTempFile::new_in(dir).with_context(|| format!("writing in {}", dir.display()))?;
    file.write_all(bytes).context("writing the bundle")?;
    file.as_file().sync_all().context("syncing the bundle")?;
    file.persist(path)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// The browser that prints the bundle: `JOURNEY_CHROMIUM`, else the first of the usual names on PATH.
fn chromium() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os("JOURNEY_CHROMIUM") {
        return Ok(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        for name in [
            "chromium",
            "chromium-browser",
            "google-chrome",
            "google-chrome-stable",
        ] {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    bail!(
        "a PDF is printed by a headless Chromium, and none was found: install one (`apt-get install chromium`) \
         or set JOURNEY_CHROMIUM to its path; or write --format html and print that"
    )
}

/// Prints the HTML to an A4 PDF with a headless Chromium: the document from a private temporary folder, no
/// network (`--no-proxy-server`, nothing to fetch: the page has no external resources).
fn print_to_pdf(html: &[u8], out: &Path) -> anyhow::Result<()> {
    let browser = chromium()?;
    let work = tempfile::tempdir().context("making a temporary folder")?;
    let page = work.path().join("bundle.html");
    std::fs::write(&page, html).context("writing the bundle for printing")?;
    let pdf = work.path().join("bundle.pdf");
    let status = std::process::Command::new(&browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-proxy-server",
            "--no-pdf-header-footer",
            &format!("--user-data-dir={}", work.path().join("profile").display()),
            &format!("--print-to-pdf={}", pdf.display()),
        ])
        .arg(format!("file://{}", page.display()))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .with_context(|| format!("running {}", browser.display()))?;
    let printed = std::fs::read(&pdf).unwrap_or_default();
    if !status.success() || !printed.starts_with(b"%PDF-") {
        bail!("{} did not print the bundle to PDF ({status})", browser.display());
    }
    write_new(out, &printed)
}

fn subject_text(subject: &Value) -> String {
    match text(&subject["kind"]) {
        "child" => format!("child {}", text(&subject["child_id"])),
        _ => format!("person {}", text(&subject["person_id"])),
    }
}

/// `sar-3  child C-1  received 2026-11-02, due 2026-12-02  open (LATE)  ...`.
fn request_text(r: &Value) -> String {
    let mut line = format!(
        "{}  {}  requested by the {} on {}, due {}  {}{}",
        text(&r["request_id"]),
        subject_text(&r["subject"]),
        text(&r["requester"]),
        text(&r["received_on"]),
        text(&r["due_on"]),
        text(&r["status"]),
        if r["late"] == true { " (LATE)" } else { "" },
    );
    if let Some(ext) = r["extension"].as_object() {
        line.push_str(&format!(
            "\n  extended by {}: {}",
            text(&ext["by"]),
            text(&ext["reason"])
        ));
    }
    for w in r["withheld"].as_array().into_iter().flatten() {
        line.push_str(&format!(
            "\n  entry {} withheld by {}: {}",
            text(&w["event_id"]),
            text(&w["decision"]["by"]),
            text(&w["decision"]["reason"])
        ));
    }
    if let Some(rel) = r["released"].as_object() {
        line.push_str(&format!(
            "\n  released by {} at {}: sha256 {}, made from the log at size {}",
            text(&rel["by"]),
            text(&rel["at"]),
            text(&rel["sha256"]),
            rel["made_from"]["log_size"],
        ));
    }
    line
}

fn list_text(list: &Value) -> String {
    let requests = list["requests"].as_array().cloned().unwrap_or_default();
    let open: Vec<&str> = list["open"].as_array().into_iter().flatten().map(text).collect();
    if open.is_empty() {
        return format!("no open subject access request ({} in all)", requests.len());
    }
    let mut lines = vec![format!(
        "{} open ({} overdue), soonest due first:",
        open.len(),
        list["overdue"].as_array().map_or(0, Vec::len)
    )];
    for id in open {
        if let Some(r) = requests.iter().find(|r| r["request_id"] == id) {
            lines.push(request_text(r));
        }
    }
    lines.join("\n")
}

fn schedule_text(schedule: &Value) -> String {
    let mut lines = vec![format!("redactions in {}:", text(&schedule["request_id"]))];
    for r in schedule["redactions"].as_array().into_iter().flatten() {
        let whose = &r["internal"];
        lines.push(format!(
            "  {:<16} {:<32} {:<24} {}{}",
            text(&r["event_id"]),
            text(&r["field"]),
            text(&r["rule"]),
            text(&whose["person_id"]),
            match whose["reason"].as_str() {
                Some(reason) => format!(" reason: {reason}"),
                None => String::new(),
            }
        ));
    }
    lines.join("\n")
}
