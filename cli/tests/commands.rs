//! The record commands run as an operator runs them: the `journey` binary on data directories holding a
//! generated (synthetic) authority. Appending from a file, a child's timeline and summary, the whole log
//! exported and restored (and a tampered export refused), and the SSDA903 return exported and imported.

mod common;

use common::journey;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use journey_core::journal::{Journal, SystemStream};
use journey_core::{SystemClock, testkit};
use journey_embedded::FileJournal;
use serde_json::{Value, json};

fn ok(args: &[&str]) -> String {
    let out = journey(args);
    assert!(
        out.status.success(),
        "journey {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn path(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 temp path")
}

/// A data directory with a small synthetic authority; returns the child `demo` showed.
fn authority(dir: &Path) -> String {
    let out = ok(&["demo", "--data", path(dir), "--children", "40", "--seed", "3"]);
    out.lines()
        .find_map(|l| l.strip_prefix("\nchild ").or_else(|| l.strip_prefix("child ")))
        .and_then(|l| l.split(':').next())
        .expect("demo names the child it shows")
        .to_owned()
}

/// A synthetic authority in `<tmp>/original` and its whole log exported to `<tmp>/log.jsonl`.
fn exported_authority() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let original = tmp.path().join("original");
    authority(&original);
    let export = tmp.path().join("log.jsonl");
    ok(&["log", "export", "--data", path(&original), "--out", path(&export)]);
    (tmp, original, export)
}

fn head_hash(dir: &Path) -> String {
    let report: Value = serde_json::from_str(&ok(&["verify", "--data", path(dir)])).unwrap();
    assert_eq!(report["first_broken"], Value::Null);
    report["head"]["log_hash"].to_string()
}

/// The log id (`log/id`) `journey verify` reports, and the number of checkpoints the data directory holds.
fn log_id(dir: &Path) -> String {
    let report: Value = serde_json::from_str(&ok(&["verify", "--data", path(dir)])).unwrap();
    report["checkpoints"]["log_id"].as_str().unwrap().to_owned()
}

#[test]
fn the_log_exported_and_restored_is_the_same_log_and_a_tampered_export_is_refused() {
    let (tmp, original, export) = exported_authority();
    let lines = std::fs::read_to_string(&export).unwrap();
    assert!(lines.lines().count() > 100);

    let copy = tmp.path().join("copy");
    let restored = ok(&["log", "import", "--data", path(&copy), "--file", path(&export)]);
    assert!(restored.contains("every hash link matches"), "{restored}");
    assert_eq!(head_hash(&original), head_hash(&copy));
    // The same records, but another log: a new log id (so a new origin), no checkpoint of the original's,
    // and the import says so, naming the new id.
    let (original_id, copy_id) = (log_id(&original), log_id(&copy));
    assert_ne!(original_id, copy_id);
    assert!(
        restored.contains(&format!(
            "this is a new log, not the original: its log id is {copy_id}"
        )) && restored.contains("nothing was re-signed"),
        "{restored}"
    );
    assert!(!tmp.path().join("copy.importing").exists());

    // Restoring over a directory with data in it is refused.
    let again = journey(&["log", "import", "--data", path(&copy), "--file", path(&export)]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("not empty"));

    // One changed character in one record (a date it occurred) and the restore stops there.
    let mut records: Vec<Value> = lines.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let victim = records.len() / 2;
    let occurred = records[victim]["occurred_at"].as_str().unwrap().to_owned();
    let moved = if occurred.starts_with("2001") {
        occurred.replacen("2001", "2002", 1)
    } else {
        format!("2001{}", &occurred[4..])
    };
    records[victim]["occurred_at"] = json!(moved);
    let tampered = tmp.path().join("tampered.jsonl");
    let text: Vec<String> = records.iter().map(|r| r.to_string()).collect();
    std::fs::write(&tampered, text.join("\n") + "\n").unwrap();
    let refused = journey(&[
        "log",
        "import",
        "--data",
        path(&tmp.path().join("tampered")),
        "--file",
        path(&tampered),
    ]);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains(&format!("line {}", victim + 1)),
        "the refusal names the line: {stderr}"
    );
}

/// The finding: an export with one `recorded_at` changed is refused, and must leave nothing behind
/// that serves or verifies. An import is all or nothing: built beside the target, moved there only when every
/// record is restored and checked; an interrupted one is refused by every command and removed by the next.
#[test]
fn a_failed_import_leaves_nothing_that_opens_and_an_interrupted_one_is_refused_then_removed() {
    let (tmp, original, export) = exported_authority();
    let lines = std::fs::read_to_string(&export).unwrap();
    let mut records: Vec<Value> = lines.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let victim = records.len() * 2 / 3;
    let recorded: journey_core::Timestamp =
        serde_json::from_value(records[victim]["recorded_at"].clone()).unwrap();
    records[victim]["recorded_at"] =
        serde_json::to_value(journey_core::Timestamp::from_micros(recorded.as_micros() - 1).unwrap())
            .unwrap();
    let altered = tmp.path().join("altered.jsonl");
    let text: Vec<String> = records.iter().map(|r| r.to_string()).collect();
    std::fs::write(&altered, text.join("\n") + "\n").unwrap();

    let refused = |data: &Path| {
        let out = journey(&["log", "import", "--data", path(data), "--file", path(&altered)]);
        assert!(!out.status.success());
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(said.contains(&format!("line {}", victim + 1)), "{said}");
        let staged = data.with_file_name(format!(
            "{}.importing",
            data.file_name().unwrap().to_str().unwrap()
        ));
        assert!(
            !staged.exists(),
            "the unfinished import was left at {}",
            staged.display()
        );
    };
    // Into a directory that did not exist: it still does not, and there is nothing to verify or serve.
    let absent = tmp.path().join("absent");
    refused(&absent);
    assert!(!absent.exists());
    let verify = journey(&["verify", "--data", path(&absent)]);
    assert!(!verify.status.success());
    assert!(String::from_utf8_lossy(&verify.stderr).contains("no data directory"));
    // Into an existing empty directory: it stays empty; the honest export then restores into it.
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    refused(&empty);
    assert_eq!(std::fs::read_dir(&empty).unwrap().count(), 0);
    ok(&["log", "import", "--data", path(&empty), "--file", path(&export)]);
    assert_eq!(head_hash(&empty), head_hash(&original));

    // An import interrupted part way (as a crash leaves it): the target was never made, and the part-built
    // log beside it is refused by every command, naming it; the next import removes it and says so.
    let target = tmp.path().join("target");
    let staged = tmp.path().join("target.importing");
    std::fs::create_dir(&staged).unwrap();
    std::fs::write(staged.join(journey_embedded::IMPORT_MARKER), "an import\n").unwrap();
    let store = journey_embedded::EmbeddedStore::open_importing(&staged, testkit::clock()).unwrap();
    futures::executor::block_on(journey_core::store::EventStore::append(
        &store,
        testkit::append(
            "child-a",
            journey_core::ExpectedVersion::NoStream,
            vec![testkit::registered("e-1", "2015-04-01")],
        ),
    ))
    .unwrap();
    store.close().unwrap();
    assert!(!target.exists());
    let verify = journey(&["verify", "--data", path(&staged)]);
    assert!(!verify.status.success());
    let said = String::from_utf8_lossy(&verify.stderr);
    assert!(said.contains("unfinished `journey log import`"), "{said}");
    let out = journey(&["log", "import", "--data", path(&target), "--file", path(&export)]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains(&format!(
            "removed {}, the leftover of an interrupted import",
            staged.display()
        )),
        "{said}"
    );
    assert!(!staged.exists());
    assert_eq!(head_hash(&target), head_hash(&original));
}

#[test]
fn timeline_and_summary_read_one_child_and_are_access_logged() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let child = authority(&data);
    let csv = ok(&[
        "timeline",
        "--data",
        path(&data),
        &child,
        "--format",
        "csv",
        "--purpose",
        "test",
    ]);
    let mut rows = csv.lines();
    assert!(
        rows.next()
            .unwrap()
            .starts_with("event_id,version,stage,kind,occurred_at,recorded_at")
    );
    assert!(rows.count() > 5);
    let json: Value = serde_json::from_str(&ok(&[
        "timeline",
        "--data",
        path(&data),
        &child,
        "--format",
        "json",
    ]))
    .unwrap();
    assert!(json["entries"].as_array().unwrap().len() > 5);
    // Known at the Unix epoch the record said nothing: the child was not registered yet, so there was no
    // such child then (404, as on every child route).
    let before = journey(&[
        "summary",
        "--data",
        path(&data),
        &child,
        "--known-at",
        "1970-01-02T00:00:00Z",
    ]);
    let said = String::from_utf8_lossy(&before.stderr);
    assert!(!before.status.success(), "{said}");
    assert!(
        said.contains(&format!(
            "nothing was recorded for child {child} as known at 1970-01-02T00:00:00Z"
        )),
        "{said}"
    );
    let summary = ok(&["summary", "--data", path(&data), &child]);
    assert!(
        summary
            .lines()
            .any(|l| l.starts_with("child_id") && l.contains(&child)),
        "{summary}"
    );

    // Each read is in the access log, with its view and purpose.
    let journal = FileJournal::open(data.join("journal"), Arc::new(SystemClock)).unwrap();
    let access = futures::executor::block_on(journal.read_stream(
        &SystemStream::parse("access").unwrap(),
        1,
        usize::MAX,
    ))
    .unwrap();
    let views: Vec<(String, Value)> = access
        .iter()
        .map(|r| {
            (
                r.body["view"].as_str().unwrap().to_owned(),
                r.body["purpose"].clone(),
            )
        })
        .collect();
    assert!(
        views.contains(&("chronology".to_owned(), json!("test"))),
        "{views:?}"
    );
    assert!(views.iter().any(|(v, _)| v == "summary"));
    assert!(access.iter().all(|r| r.body["child_id"] == json!(child)));
}

#[test]
fn appends_from_a_file_are_checked_whole_before_any_is_sent() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let good = |child: &str, id: &str| {
        json!({
            "child_id": child,
            "events": [serde_json::to_value(testkit::registered(id, "2015-06-01")).unwrap()],
        })
        .to_string()
    };
    let mut bad_event = serde_json::to_value(testkit::registered("e-bad", "2015-06-01")).unwrap();
    bad_event["data"]["sex"] = json!("Q");
    let bad = json!({ "child_id": "child-c", "events": [bad_event] }).to_string();
    let file = tmp.path().join("events.jsonl");
    std::fs::write(
        &file,
        format!("{}\n{}\n{bad}\n", good("child-a", "e-a"), good("child-b", "e-b")),
    )
    .unwrap();
    let refused = journey(&["append", "--data", path(&data), "--file", path(&file)]);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("line 3"), "{stderr}");
    assert!(stderr.contains("sex"), "the field is named: {stderr}");
    // Nothing was appended: the data directory was never even opened.
    assert!(!data.join("log").exists());

    std::fs::write(
        &file,
        format!("{}\n{}\n", good("child-a", "e-a"), good("child-b", "e-b")),
    )
    .unwrap();
    let out = ok(&["append", "--data", path(&data), "--file", path(&file)]);
    assert!(out.contains("appended 2 events"), "{out}");
    // A retry is recognised and stores nothing new.
    let out = ok(&["append", "--data", path(&data), "--file", path(&file)]);
    assert!(
        out.contains("appended 0 events; 2 appends were already recorded"),
        "{out}"
    );
}

#[test]
fn the_ssda903_returns_exported_import_into_an_empty_store_and_export_the_same() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    authority(&data);
    let known_at = "2100-01-01T00:00:00Z";
    // Every year of the generated history, so that most episode chains are whole.
    let years: Vec<String> = (2017..2025)
        .map(|y| format!("{y}/{:02}", (y + 1) % 100))
        .collect();
    let mut returns = Vec::new();
    for year in &years {
        let out = tmp.path().join(year.replace('/', "-"));
        ok(&[
            "returns",
            "ssda903",
            "export",
            "--data",
            path(&data),
            "--year",
            year,
            "--known-at",
            known_at,
            "--out",
            path(&out),
        ]);
        returns.push(format!("{year}={}", path(&out)));
    }
    let fresh = tmp.path().join("fresh");
    let mut args = vec!["returns", "ssda903", "import", "--data", path(&fresh)];
    for r in &returns {
        args.extend(["--return", r.as_str()]);
    }
    args.extend([
        "--agency",
        "la.exampleshire",
        "--produced-at",
        "2025-05-01T09:00:00Z",
    ]);
    let imported = ok(&args);
    let count = |label: &str| -> usize {
        imported
            .split(label)
            .next()
            .and_then(|s| s.split_whitespace().last())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no '{label}' in {imported}"))
    };
    assert!(count(" children imported") > 0, "{imported}");

    // Children whose episode chain began before the first year are refused (and the rows named); everyone
    // else's facts come back as they were exported.
    let year = &years[years.len() - 1];
    let second = tmp.path().join("second");
    ok(&[
        "returns",
        "ssda903",
        "export",
        "--data",
        path(&fresh),
        "--year",
        year,
        "--known-at",
        known_at,
        "--out",
        path(&second),
    ]);
    let lines = |dir: &Path, table: &str| -> Vec<String> {
        std::fs::read_to_string(dir.join(table))
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    };
    let first = tmp.path().join(year.replace('/', "-"));
    let (before, after) = (lines(&first, "header.csv"), lines(&second, "header.csv"));
    assert!(after.len() > 1, "{imported}");
    assert!(after.iter().all(|l| before.contains(l)), "{after:?}");
    let episodes = lines(&first, "episodes.csv");
    assert!(
        lines(&second, "episodes.csv")
            .iter()
            .all(|l| episodes.contains(l))
    );

    // Annex A from the same data directory: eleven CSV files and the workbook, every child in them logged.
    let annex = tmp.path().join("annex-a");
    ok(&[
        "returns",
        "annex-a",
        "--data",
        path(&data),
        "--start",
        "2024-04-01",
        "--end",
        "2025-03-31",
        "--out",
        path(&annex),
    ]);
    let files = std::fs::read_dir(&annex).unwrap().count();
    assert_eq!(files, 12, "eleven lists and a workbook");

    // The CIN census of the same data directory.
    let cin_file = tmp.path().join("cin.xml");
    ok(&[
        "returns",
        "cin",
        "export",
        "--data",
        path(&data),
        "--year",
        "2024/25",
        "--la-code",
        "990",
        "--out",
        path(&cin_file),
    ]);
    let census = std::fs::read_to_string(&cin_file).unwrap();
    assert!(census.contains("<LEA>990</LEA>"));

    // ... imported into an empty data directory, and exported from it: the same children. Imported twice,
    // nothing changes. (The core tests check the round trip element by element.)
    let cin_data = tmp.path().join("cin-data");
    let import = [
        "returns",
        "cin",
        "import",
        "--data",
        path(&cin_data),
        path(&cin_file),
        "--agency",
        "la.exampleshire",
        "--produced-at",
        "2025-05-01T09:00:00Z",
    ];
    let imported = ok(&import);
    assert!(imported.contains("2024/25"), "{imported}");
    assert!(!imported.contains(": 0 children imported"), "{imported}");
    let again = tmp.path().join("cin-again.xml");
    ok(&[
        "returns",
        "cin",
        "export",
        "--data",
        path(&cin_data),
        "--year",
        "2024/25",
        "--la-code",
        "990",
        "--out",
        path(&again),
    ]);
    let children = |xml: &str| xml.matches("<Child>").count();
    assert_eq!(
        children(&std::fs::read_to_string(&again).unwrap()),
        children(&census)
    );
    let twice = ok(&import);
    assert!(twice.contains(": 0 children imported (0 events)"), "{twice}");

    // Importing again changes nothing.
    let again = ok(&args);
    assert!(again.contains(": 0 children imported (0 events)"), "{again}");
}

/// `journey serve` on a data directory with a synthetic authority, stopped with SIGTERM when dropped.
struct Server {
    process: std::process::Child,
    base: String,
    token: String,
}

impl Server {
    fn start(data: &Path) -> Server {
        Server::start_with(data, &[])
    }

    /// As [`Server::start`], with more `journey serve` flags.
    fn start_with(data: &Path, flags: &[&str]) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let process = Command::new(env!("CARGO_BIN_EXE_journey"))
            .args([
                "serve",
                "--data",
                path(data),
                "--synthetic",
                "30",
                "--bootstrap-admin",
            ])
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(flags)
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("start journey serve");
        let base = format!("http://127.0.0.1:{port}");
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
        while agent
            .get(format!("{base}/readyz"))
            .call()
            .map_or(true, |r| r.status() != 200)
        {
            assert!(
                std::time::Instant::now() < deadline,
                "the server never became ready"
            );
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        let token = std::fs::read_to_string(data.join("bootstrap-admin.token"))
            .unwrap()
            .trim()
            .to_owned();
        Server { process, base, token }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.process.id().to_string()])
            .status();
        let _ = self.process.wait();
    }
}

#[test]
fn the_same_commands_work_against_a_server() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("data"));
    let remote = ["--server", server.base.as_str(), "--key", server.token.as_str()];
    let with = |args: &[&str]| -> String {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(remote);
        ok(&all)
    };

    let export = tmp.path().join("log.jsonl");
    with(&["log", "export", "--out", path(&export)]);
    let text = std::fs::read_to_string(&export).unwrap();
    let first: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    let child = first["child_id"].as_str().unwrap().to_owned();

    let timeline: Value = serde_json::from_str(&with(&["timeline", &child, "--format", "json"])).unwrap();
    assert!(!timeline["entries"].as_array().unwrap().is_empty());
    assert!(with(&["summary", &child]).contains(&child));

    let file = tmp.path().join("append.json");
    let body = json!({
        "child_id": "remote-child-1",
        "events": [serde_json::to_value(testkit::registered("remote-e-1", "2016-02-03")).unwrap()],
    });
    std::fs::write(&file, body.to_string()).unwrap();
    assert!(with(&["append", "--file", path(&file)]).contains("appended 1 events"));

    let out = tmp.path().join("ssda903");
    with(&[
        "returns",
        "ssda903",
        "export",
        "--year",
        "2024/25",
        "--out",
        path(&out),
    ]);
    let header = std::fs::read_to_string(out.join("header.csv")).unwrap();
    assert!(header.starts_with("CHILD,SEX,DOB"), "{header}");
    assert!(
        with(&["policy", "list"])
            .lines()
            .any(|l| l.starts_with("levels-of-need"))
    );
    let annex = tmp.path().join("annex-a");
    let listed = with(&[
        "returns",
        "annex-a",
        "--start",
        "2024-04-01",
        "--end",
        "2025-03-31",
        "--out",
        path(&annex),
    ]);
    assert!(listed.contains("List 8 - Children looked after"), "{listed}");
    assert!(
        std::fs::read(annex.join("annex-a.xlsx"))
            .unwrap()
            .starts_with(b"PK")
    );
    assert!(
        std::fs::read_to_string(annex.join("annex_a_list_01_contacts.csv"))
            .unwrap()
            .starts_with("Child Unique ID,")
    );
    let cin_file = tmp.path().join("cin.xml");
    let cin = with(&[
        "returns",
        "cin",
        "export",
        "--year",
        "2024/25",
        "--la-code",
        "878",
        "--out",
        path(&cin_file),
    ]);
    assert!(cin.contains("children in"), "{cin}");
    assert!(
        std::fs::read_to_string(&cin_file)
            .unwrap()
            .contains("<Collection>CIN</Collection>")
    );
    let measures: Value = serde_json::from_str(&with(&[
        "measures",
        "--from",
        "2024-04-01",
        "--to",
        "2025-03-31",
        "--format",
        "json",
        "--purpose",
        "test",
    ]))
    .unwrap();
    assert_eq!(measures["policy"], "statutory-timescales 2.0.0");

    // A refusal from the server is shown as the problem it is: status, title and detail.
    let mut bad: Vec<&str> = vec!["timeline", "no-such-child"];
    bad.extend(remote);
    let refused = journey(&bad);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("404 Not found") && stderr.contains("no-such-child"),
        "{stderr}"
    );
}

#[test]
fn policies_are_listed_evaluated_recorded_replayed_and_retired_on_a_data_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let child = authority(&data);
    let d = path(&data);
    let list = ok(&["policy", "list", "--data", d]);
    for name in [
        "levels-of-need",
        "statutory-timescales",
        "step-up-down",
        "care-leaver-entitlements",
        "retention",
    ] {
        assert!(
            list.lines().any(|l| l.starts_with(name) && l.contains("active")),
            "{name} is deployed and active:\n{list}"
        );
    }
    let evaluated: Value = serde_json::from_str(&ok(&[
        "policy",
        "evaluate",
        "statutory-timescales",
        "--data",
        d,
        "--child",
        &child,
        "--record",
        "--on",
        "2025-03-31",
    ]))
    .unwrap();
    assert_eq!(evaluated["policy"], "statutory-timescales");
    let decision = evaluated["decision"].as_u64().expect("the decision was recorded");
    let replay: Value =
        serde_json::from_str(&ok(&["policy", "replay", &decision.to_string(), "--data", d])).unwrap();
    assert_eq!(replay["identical"], true, "{replay}");

    let dry_run = [
        "policy",
        "dry-run",
        "levels-of-need",
        "1.1.0",
        "--data",
        d,
        "--limit",
        "10",
        "--on",
        "2025-03-31",
    ];
    let dry: Value = serde_json::from_str(&ok(&[&dry_run[..], &["--json"]].concat())).unwrap();
    assert_eq!(dry["children"], 10, "{dry}");
    let text = ok(&dry_run);
    assert!(
        text.starts_with("levels-of-need 1.1.0, judged on 2025-03-31 as known at ")
            && text.contains(": 10 children, 10 evaluated\n")
            && text.contains("\nlevels        "),
        "{text}"
    );

    ok(&[
        "policy",
        "retire",
        "step-up-down",
        "1.1.0",
        "--data",
        d,
        "--reason",
        "test",
    ]);
    let list = ok(&["policy", "list", "--data", d, "--json"]);
    let list: Value = serde_json::from_str(&list).unwrap();
    let retired = list["versions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "step-up-down" && v["version"] == "1.1.0")
        .unwrap();
    assert_eq!(retired["status"], "retired");

    // The timeliness measures, judged by the same policy: a table, CSV files and the HTML report.
    let table = ok(&[
        "measures",
        "--data",
        d,
        "--from",
        "2023-04-01",
        "--to",
        "2025-03-31",
    ]);
    assert!(table.contains("statutory-timescales 2.0.0"), "{table}");
    assert!(table.contains("Assessments within 45 working days"), "{table}");
    assert!(table.contains("adoption scorecard"), "{table}");
    let out = tmp.path().join("measures");
    let report = tmp.path().join("measures.html");
    ok(&[
        "measures",
        "--data",
        d,
        "--from",
        "2023-04-01",
        "--to",
        "2025-03-31",
        "--format",
        "csv",
        "--out",
        path(&out),
        "--html",
        path(&report),
    ]);
    for section in ["timeliness", "re-referrals", "recording-lag", "adoption"] {
        assert!(out.join(format!("{section}.csv")).is_file(), "{section}");
    }
    assert!(std::fs::read_to_string(&report).unwrap().contains("<svg"));

    // The evaluation read the child's record: the access log says so.
    let journal = FileJournal::open(data.join("journal"), Arc::new(SystemClock)).unwrap();
    let access = futures::executor::block_on(journal.read_stream(
        &SystemStream::parse("access").unwrap(),
        1,
        usize::MAX,
    ))
    .unwrap();
    assert!(
        access
            .iter()
            .any(|r| r.body["view"] == "policy:statutory-timescales" && r.body["child_id"] == json!(child))
    );
}

/// A policy upload over the server's limit shows the server's 413 problem, which names the setting and how
/// to raise it (it used to print `io: Broken pipe (os error 32)`); a server that cuts the connection while
/// the body is sent gets an explanation instead of the bare I/O error.
#[test]
fn a_policy_upload_over_the_limit_says_which_limit_and_how_to_raise_it() {
    let tmp = tempfile::tempdir().unwrap();
    // Not a component, but the server refuses it for its size before it looks inside.
    let component = tmp.path().join("big.wasm");
    std::fs::write(&component, vec![0u8; 3 << 20]).unwrap();
    let deploy = |server: &str, key: &str| {
        journey(&[
            "policy",
            "deploy",
            path(&component),
            "--effective-from",
            "2024-04-01",
            "--author",
            "Exampleshire policy team",
            "--server",
            server,
            "--key",
            key,
        ])
    };

    let server = Server::start_with(&tmp.path().join("data"), &["--policy-upload-limit", "1000000"]);
    let out = deploy(&server.base, &server.token);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        said.contains("413 Request body too large")
            && said.contains("limit of 1000000 bytes (policy_upload_limit")
            && said.contains("journey serve --policy-upload-limit"),
        "{said}"
    );

    // A server (or proxy) that closes the connection as soon as it has the request's head.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let closer = std::thread::spawn(move || {
        use std::io::Read;
        let (mut stream, _) = listener.accept().unwrap();
        let mut head = [0u8; 1024];
        let _ = stream.read(&mut head);
        // Close with unread data waiting: the kernel resets the connection, as a server does.
        drop(stream);
    });
    let out = deploy(&format!("http://{address}"), "any-key");
    closer.join().unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        said.contains("the server closed the connection while the request (4.0 MiB) was being sent")
            && said.contains("policy_upload_limit"),
        "{said}"
    );
}

/// `journey serve` keeps a tree and signs checkpoints with a key it makes beside the data directory (ADR 10);
/// a child's export from it is a proof bundle that `journey verify-export` checks offline against the log's
/// key alone, and a bundle with one record changed is refused.
#[test]
fn a_childs_export_from_a_server_verifies_offline_and_a_changed_one_does_not() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("data"));
    assert!(tmp.path().join("data.checkpoint.key").exists());
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let bearer = format!("Bearer {}", server.token);
    let read = |response: ureq::http::Response<ureq::Body>| -> (u16, String) {
        let status = response.status().as_u16();
        (status, response.into_body().read_to_string().unwrap())
    };
    let (status, signed) = read(
        agent
            .post(format!("{}/v1/checkpoints", server.base))
            .header("Authorization", &bearer)
            .send_empty()
            .unwrap(),
    );
    assert_eq!(status, 200, "{signed}");
    let (status, vkey) = read(
        agent
            .get(format!("{}/checkpoint/vkey", server.base))
            .call()
            .unwrap(),
    );
    assert_eq!(status, 200, "{vkey}");
    let (_, page) = read(
        agent
            .get(format!("{}/v1/log?limit=1", server.base))
            .header("Authorization", &bearer)
            .call()
            .unwrap(),
    );
    let page: Value = serde_json::from_str(&page).unwrap();
    let child = page["events"][0]["child_id"].as_str().unwrap().to_owned();
    let bundle = tmp.path().join("bundle.json");
    let fetched = journey(&[
        "export",
        &child,
        "--server",
        &server.base,
        "--key",
        &server.token,
        "--out",
        path(&bundle),
    ]);
    assert!(
        fetched.status.success(),
        "{}",
        String::from_utf8_lossy(&fetched.stderr)
    );
    assert!(String::from_utf8_lossy(&fetched.stderr).contains("with an inclusion proof"));
    let export = std::fs::read_to_string(&bundle).unwrap();

    let report: Value =
        serde_json::from_str(&ok(&["verify-export", path(&bundle), "--log-key", vkey.trim()])).unwrap();
    assert_eq!(report["child_id"], child.as_str());
    let size = report["checkpoints"][0]["size"].as_u64().unwrap();
    assert!(size > 0);

    // The first record given the second's inclusion proof: the chains still verify, the proof does not.
    let mut changed: Value = serde_json::from_str(&export).unwrap();
    assert!(changed["records"].as_array().unwrap().len() >= 2);
    changed["records"][0]["tlog_proof"] = changed["records"][1]["tlog_proof"].clone();
    std::fs::write(&bundle, changed.to_string()).unwrap();
    let out = journey(&["verify-export", path(&bundle), "--log-key", vkey.trim()]);
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains(&format!("tree size {size}")), "{said}");
    // Without a key to trust, nothing is checked.
    let out = journey(&["verify-export", path(&bundle)]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--log-key"));
}

/// A log rebuilt from an export is a new origin (issue 18): the import re-signs nothing and keeps no
/// checkpoint of the original; the copy's own server signs under the new log id with a key of its own, even
/// though its tree has the same root at the same size; and a child's proof bundle from the original does not
/// verify as the copy's.
#[test]
fn an_imported_log_is_a_new_origin_and_the_originals_bundle_does_not_verify_as_its() {
    let tmp = tempfile::tempdir().unwrap();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let text = |response: ureq::http::Response<ureq::Body>| -> String {
        assert_eq!(response.status(), 200);
        response.into_body().read_to_string().unwrap()
    };
    // Signs a checkpoint on a server: its note, and the log's verifier key.
    let sign = |server: &Server| -> (Value, String) {
        let signed = text(
            agent
                .post(format!("{}/v1/checkpoints", server.base))
                .header("Authorization", &format!("Bearer {}", server.token))
                .send_empty()
                .unwrap(),
        );
        let vkey = text(
            agent
                .get(format!("{}/checkpoint/vkey", server.base))
                .call()
                .unwrap(),
        );
        (serde_json::from_str(&signed).unwrap(), vkey.trim().to_owned())
    };

    let original = tmp.path().join("original");
    // A log in the clear (a demo makes no key-encryption key): a sealed log cannot be exported and imported
    // exactly (`a_sealed_logs_export_is_refused_by_import_naming_why`).
    authority(&original);
    let server = Server::start(&original);
    let (signed, original_key) = sign(&server);
    let size = signed["size"].as_u64().unwrap();
    let page: Value = serde_json::from_str(&text(
        agent
            .get(format!("{}/v1/log?limit=1", server.base))
            .header("Authorization", &format!("Bearer {}", server.token))
            .call()
            .unwrap(),
    ))
    .unwrap();
    let child = page["events"][0]["child_id"].as_str().unwrap().to_owned();
    let bundle = tmp.path().join("bundle.json");
    let remote = ["--server", server.base.as_str(), "--key", server.token.as_str()];
    let mut args = vec!["export", child.as_str(), "--out", path(&bundle)];
    args.extend(remote);
    ok(&args);
    let export = tmp.path().join("log.jsonl");
    let mut args = vec!["log", "export", "--out", path(&export)];
    args.extend(remote);
    ok(&args);
    drop(server);
    let original_id = log_id(&original);
    assert!(original_key.starts_with(&format!("journey.localhost/log/{original_id}+")));

    let copy = tmp.path().join("copy");
    let restored = ok(&["log", "import", "--data", path(&copy), "--file", path(&export)]);
    let copy_id = log_id(&copy);
    assert_ne!(copy_id, original_id);
    assert!(
        restored.contains(&format!(
            "its log id is {copy_id}, so its checkpoints' origin is <checkpoint.origin_base>/{copy_id} \
             (journey.localhost/log/{copy_id} by default)"
        )),
        "{restored}"
    );
    let report: Value = serde_json::from_str(&ok(&["verify", "--data", path(&copy)])).unwrap();
    assert_eq!(
        report["checkpoints"]["checkpoints"], 0,
        "the import kept a checkpoint: {report}"
    );

    let server = Server::start(&copy);
    let (copy_signed, copy_key) = sign(&server);
    drop(server);
    assert!(copy_key.starts_with(&format!("journey.localhost/log/{copy_id}+")));
    assert_ne!(copy_key, original_key);
    // Same records, same tree: only the origin (and the key) tell the logs apart.
    assert_eq!(copy_signed["size"].as_u64(), Some(size));
    assert_eq!(copy_signed["root"], signed["root"]);

    // The original's bundle verifies against the original's key, and not as the copy's.
    ok(&["verify-export", path(&bundle), "--log-key", &original_key]);
    let out = journey(&["verify-export", path(&bundle), "--log-key", &copy_key]);
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains(&format!(
            "checkpoint at tree size {size}: checkpoint origin \"journey.localhost/log/{original_id}\" is not \
             the expected \"journey.localhost/log/{copy_id}\""
        )),
        "{said}"
    );
}

/// A first `journey serve` makes a key-encryption key beside the data directory and seals every child's
/// content under it; the data directory alone then reads as ciphertext, opens only with that key, and a log
/// export of it is refused by import, naming why.
#[test]
fn a_first_serve_seals_content_under_a_key_it_makes_and_a_sealed_logs_export_is_refused_by_import_naming_why()
{
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("sealed");
    let server = Server::start(&data);
    drop(server);
    let kek = tmp.path().join("sealed.kek");
    assert!(
        kek.is_file(),
        "serve made no key-encryption key beside the data directory"
    );
    assert!(data.join("keys").join("content-keys").is_file());
    // Commands working on the data directory find the key beside it; verify needs none.
    let report: Value = serde_json::from_str(&ok(&["verify", "--data", path(&data)])).unwrap();
    assert_eq!(report["first_broken"], Value::Null);
    let export = tmp.path().join("log.jsonl");
    ok(&["log", "export", "--data", path(&data), "--out", path(&export)]);
    let lines = std::fs::read_to_string(&export).unwrap();
    assert!(
        lines.contains("\"schema_version\":2"),
        "the export's records are not sealed ones"
    );
    // Without its key-encryption key the data directory does not open.
    std::fs::rename(&kek, tmp.path().join("elsewhere.kek")).unwrap();
    let refused = journey(&["log", "export", "--data", path(&data), "--out", path(&export)]);
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("opens only with its key-encryption key"), "{said}");
    let out = journey(&[
        "log",
        "import",
        "--data",
        path(&tmp.path().join("copy")),
        "--file",
        path(&export),
    ]);
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("sealed under each child's key"), "{said}");
    assert!(
        !tmp.path().join("copy").exists(),
        "a refused import left a data directory behind"
    );
}

/// `journey records hold|holds|lift|due` on a data directory: a hold placed, listed as held in the records
/// due (never destroyable), lifted; a bad hold refused naming the field; the review in the access log.
#[test]
fn records_holds_and_the_records_due_on_a_data_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    authority(&data);
    let d = path(&data);
    // Far enough ahead that every synthetic child's record is due (the latest, a 100-year adoption record,
    // runs from an order in the generated years).
    let due = |on: &str| -> Value {
        serde_json::from_str(&ok(&[
            "records", "due", "--data", d, "--on", on, "--format", "json",
        ]))
        .unwrap()
    };
    let all = due("2200-12-31");
    assert_eq!(all["policy"], "retention");
    assert!(all["evaluated"].as_u64().unwrap() > 0, "{all:#}");
    let child = all["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["status"] == "destroyable")
        .map(|r| r["child_id"].as_str().unwrap().to_owned())
        .expect("a record is due by 2200");
    let status_of = |listing: &Value| -> Option<String> {
        listing["records"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["child_id"] == child.as_str())
            .map(|r| r["status"].as_str().unwrap().to_owned())
    };
    let before = status_of(&all);
    let placed: Value = serde_json::from_str(&ok(&[
        "records",
        "hold",
        "--data",
        d,
        &child,
        "--reason",
        "Inquiry moratorium",
        "--format",
        "json",
    ]))
    .unwrap();
    let hold_id = placed["hold_id"].as_str().unwrap().to_owned();
    assert_eq!(before.as_deref(), Some("destroyable"));
    assert_eq!(status_of(&due("2200-12-31")).as_deref(), Some("held"));
    let listed = ok(&["records", "holds", "--data", d, &child]);
    assert!(
        listed.contains(&hold_id) && listed.contains("until lifted"),
        "{listed}"
    );
    let lifted = ok(&[
        "records", "lift", "--data", d, &child, &hold_id, "--reason", "Lifted",
    ]);
    assert!(lifted.contains("lifted by cli"), "{lifted}");
    assert_eq!(status_of(&due("2200-12-31")), before);
    // A hold ending before today is refused naming the field.
    let out = journey(&[
        "records",
        "hold",
        "--data",
        d,
        &child,
        "--reason",
        "x",
        "--until",
        "2001-01-01",
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("until") && stderr.contains("must not be before today"),
        "{stderr}"
    );
    let table = ok(&["records", "due", "--data", d, "--on", "2200-12-31"]);
    assert!(
        table.starts_with("records due on 2200-12-31 under retention 1.0.0"),
        "{table}"
    );
}

/// A log in the clear migrated to a sealed one: `journey log import --seal` checks the export's own hash
/// links against its content, seals every child's content under its own key, and checks each restored
/// record has the exported content; an export altered anywhere is refused, and nothing is left behind.
#[test]
fn a_log_in_the_clear_is_migrated_to_a_sealed_one_and_an_altered_export_is_refused() {
    let (tmp, original, export) = exported_authority();
    let sealed = tmp.path().join("sealed");
    let out = ok(&[
        "log",
        "import",
        "--seal",
        "--data",
        path(&sealed),
        "--file",
        path(&export),
    ]);
    assert!(
        out.contains("each child's content sealed under a key of its own"),
        "{out}"
    );
    assert!(tmp.path().join("sealed.kek").is_file());
    assert!(sealed.join("keys").join("content-keys").is_file());
    // The same records, read back through the sealed store: the same content, in the same places.
    let again = tmp.path().join("again.jsonl");
    ok(&["log", "export", "--data", path(&sealed), "--out", path(&again)]);
    let read = |p: &Path| -> Vec<Value> {
        std::fs::read_to_string(p)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let (before, after) = (read(&export), read(&again));
    assert_eq!(before.len(), after.len());
    for (b, a) in before.iter().zip(&after) {
        assert_eq!((&b["type"], &b["data"]), (&a["type"], &a["data"]));
        assert_eq!(b["recorded_at"], a["recorded_at"]);
        assert_eq!(a["schema_version"], 2);
    }
    assert_ne!(
        head_hash(&original),
        head_hash(&sealed),
        "a sealed log's hashes cover ciphertext"
    );
    // A name from the original's content is on its disk in the clear, and nowhere on the sealed one's.
    let name = before
        .iter()
        .find_map(|r| r["data"]["family_name"].as_str().map(str::to_owned))
        .expect("a registration names the child");
    {
        let bytes = |dir: &Path| -> Vec<u8> {
            let mut all = Vec::new();
            for entry in std::fs::read_dir(dir.join("log")).unwrap() {
                all.extend(std::fs::read(entry.unwrap().path()).unwrap_or_default());
            }
            all
        };
        let has = |b: &[u8]| b.windows(name.len()).any(|w| w == name.as_bytes());
        assert!(has(&bytes(&original)), "{name} is not in the clear log");
        assert!(!has(&bytes(&sealed)), "{name} is readable in the sealed log");
    }
    // One record's content altered, its hashes left: refused, nothing at the target.
    let altered = tmp.path().join("altered.jsonl");
    let mut lines: Vec<String> = std::fs::read_to_string(&export)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    let mut record: Value = serde_json::from_str(&lines[10]).unwrap();
    record["occurred_at"] = json!("2001-01-01");
    lines[10] = record.to_string();
    std::fs::write(&altered, lines.join("\n")).unwrap();
    let target = tmp.path().join("refused");
    let out = journey(&[
        "log",
        "import",
        "--seal",
        "--data",
        path(&target),
        "--file",
        path(&altered),
    ]);
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("line 11: the export's hash links do not match its content"),
        "{said}"
    );
    assert!(!target.exists());
}

/// `journey sar` on a data directory, acting as a records officer: a request recorded and listed as open
/// with its deadline, the bundle written as HTML and JSON, released, and the released bundle written again
/// byte for byte the same, with the SHA-256 the release recorded; a bad request refused naming the field.
#[test]
fn subject_access_requests_on_a_data_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let child = authority(&data);
    let d = path(&data);
    let created: Value = serde_json::from_str(&ok(&[
        "sar",
        "new",
        "--data",
        d,
        "--child",
        &child,
        "--requester",
        "subject",
        "--authority",
        "Photo ID seen; case file SAR-7",
        "--received-on",
        "2024-01-31",
        "--format",
        "json",
    ]))
    .unwrap();
    assert_eq!(created["request_id"], "sar-1");
    // 31 January + one month is 29 February 2024, a Thursday.
    assert_eq!(created["due_on"], "2024-02-29");
    let listed = ok(&["sar", "list", "--data", d]);
    assert!(listed.contains("sar-1") && listed.contains("(LATE)"), "{listed}");
    let html = tmp.path().join("bundle.html");
    ok(&[
        "sar",
        "bundle",
        "--data",
        d,
        "sar-1",
        "--format",
        "html",
        "--out",
        path(&html),
    ]);
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.contains("Draft for review") && page.contains(&child),
        "{page}"
    );
    let released: Value =
        serde_json::from_str(&ok(&["sar", "release", "--data", d, "sar-1", "--format", "json"])).unwrap();
    let sha256 = released["released"]["sha256"].as_str().unwrap().to_owned();
    for name in ["first.json", "second.json"] {
        let out = tmp.path().join(name);
        ok(&[
            "sar",
            "bundle",
            "--data",
            d,
            "sar-1",
            "--format",
            "json",
            "--out",
            path(&out),
        ]);
        let bytes = std::fs::read(&out).unwrap();
        use sha2::Digest as _;
        assert_eq!(hex::encode(sha2::Sha256::digest(&bytes)), sha256);
    }
    let out = journey(&[
        "sar",
        "new",
        "--data",
        d,
        "--child",
        &child,
        "--requester",
        "subject",
        "--authority",
        " ",
        "--received-on",
        "2024-01-31",
    ]);
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("authority"), "{said}");
    // The candidate duplicates among the same records, by id and reason only.
    let duplicates = ok(&["children", "duplicates", "--data", d]);
    assert!(duplicates.contains("candidate pairs among"), "{duplicates}");
}
