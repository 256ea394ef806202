//! Several nodes, one PostgreSQL (issue #6): three `journey serve --store postgres://...` processes on one
//! database are one service. Concurrent appends to the same children through all three win each version
//! exactly once and lose nothing; the global log and the live change feed read from any node are the same
//! gap-free sequence; a key created through one node works on the others; and a policy retired
//! through one node is no longer in force on the others.
//!
//! Needs a PostgreSQL server: `JOURNEY_TEST_POSTGRES` (`./scripts/postgres-setup` starts one and prints the
//! URL). Without it the test says SKIPPED on stderr; with `JOURNEY_REQUIRE_POSTGRES=1` (CI) it fails instead.

mod common;

use common::journey;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use journey_core::ExpectedVersion;
use journey_core::testkit;
use serde_json::{Value, json};

const CHILDREN: usize = 4;
/// Successful appends each node makes to each child, racing the other two nodes.
const WINS_PER_NODE: u64 = 8;
const PURPOSE: &str = "multi-node test (synthetic data)";

fn postgres_url() -> Option<String> {
    match std::env::var("JOURNEY_TEST_POSTGRES") {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("JOURNEY_REQUIRE_POSTGRES").as_deref() != Ok("1"),
                "JOURNEY_REQUIRE_POSTGRES=1 but JOURNEY_TEST_POSTGRES is not set"
            );
            eprintln!(
                "SKIPPED: the multi-node test needs a PostgreSQL server; set JOURNEY_TEST_POSTGRES \
                 (./scripts/postgres-setup starts one and prints its URL)"
            );
            None
        }
    }
}

/// A database of its own for this test, dropped at the end.
struct Database {
    admin_url: String,
    name: String,
    runtime: tokio::runtime::Runtime,
}

impl Database {
    fn create(admin_url: &str) -> Database {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let name = format!("journey_nodes_{:016x}", rand_u64());
        let database = Database {
            admin_url: admin_url.to_owned(),
            name,
            runtime,
        };
        database.execute(&format!("CREATE DATABASE {}", database.name));
        database
    }

    fn url(&self) -> String {
        let mut config: tokio_postgres::Config = self.admin_url.parse().unwrap();
        config.dbname(&self.name);
        let host = match &config.get_hosts()[0] {
            tokio_postgres::config::Host::Tcp(host) => host.clone(),
            other => panic!("the test needs a TCP PostgreSQL URL, not {other:?}"),
        };
        let port = config.get_ports().first().copied().unwrap_or(5432);
        let user = config.get_user().unwrap_or("postgres");
        format!("postgresql://{user}@{host}:{port}/{}", self.name)
    }

    fn execute(&self, sql: &str) {
        let url = self.admin_url.clone();
        let sql = sql.to_owned();
        self.runtime.block_on(async move {
            let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .unwrap();
            tokio::spawn(connection);
            client.batch_execute(&sql).await.unwrap();
        });
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        let url = self.admin_url.clone();
        let dropped = self.runtime.block_on(async move {
            let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
            tokio::spawn(connection);
            client.batch_execute(&sql).await
        });
        if let Err(e) = dropped {
            eprintln!("could not drop the test database {}: {e}", self.name);
        }
    }
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::process::id())
}

/// The key-encryption key the nodes of a test share (base64 of 32 bytes of 7): a new PostgreSQL log is
/// sealed, and refused without one.
const TEST_KEK: &str = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=";

/// One `journey serve` process, stopped with SIGTERM when dropped.
struct Node {
    process: Child,
    base: String,
}

impl Node {
    fn start(url: &str, data: &Path, bootstrap: bool) -> Node {
        Node::start_with_kek(url, data, bootstrap, Some(TEST_KEK))
    }

    /// With this key-encryption key in `JOURNEY_KEK`, or none.
    fn start_with_kek(url: &str, data: &Path, bootstrap: bool, kek: Option<&str>) -> Node {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let mut command = Command::new(env!("CARGO_BIN_EXE_journey"));
        command
            .args(["serve", "--store", url, "--listen", &format!("127.0.0.1:{port}")])
            .arg("--data")
            .arg(data)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        match kek {
            Some(kek) => command.env("JOURNEY_KEK", kek),
            None => command.env_remove("JOURNEY_KEK"),
        };
        if bootstrap {
            command.arg("--bootstrap-admin");
        }
        let process = command.spawn().expect("start journey serve");
        let node = Node {
            process,
            base: format!("http://127.0.0.1:{port}"),
        };
        node.wait_ready();
        node
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(180);
        loop {
            if let Ok(response) = agent().get(format!("{}/readyz", self.base)).call()
                && response.status() == 200
            {
                return;
            }
            assert!(Instant::now() < deadline, "{} never became ready", self.base);
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.process.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.process.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.process.kill();
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

/// A request with the token and a purpose; returns the status and the JSON body (Null when there is none).
fn call(method: &str, url: &str, token: &str, body: Option<Value>) -> (u16, Value) {
    let agent = agent();
    let auth = format!("Bearer {token}");
    let response = match (method, body) {
        ("GET", _) => agent
            .get(url)
            .header("Authorization", &auth)
            .header("X-Journey-Purpose", PURPOSE)
            .call(),
        (_, Some(body)) => agent
            .post(url)
            .header("Authorization", &auth)
            .header("X-Journey-Purpose", PURPOSE)
            .send_json(body),
        (_, None) => agent
            .post(url)
            .header("Authorization", &auth)
            .header("X-Journey-Purpose", PURPOSE)
            .send_empty(),
    }
    .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let status = response.status().as_u16();
    let text = response.into_body().read_to_string().unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn event_json(event: &journey_core::NewEvent) -> Value {
    serde_json::to_value(event).unwrap()
}

/// The stream's events as a node reports them: (version, event id).
fn stream(node: &Node, token: &str, child: &str) -> Vec<(u64, String)> {
    let (status, body) = call(
        "GET",
        &format!("{}/v1/children/{child}/events?from=1&limit=1000", node.base),
        token,
        None,
    );
    assert_eq!(status, 200, "{body}");
    body["events"]
        .as_array()
        .unwrap_or_else(|| panic!("no events in {body}"))
        .iter()
        .map(|e| {
            (
                e["version"].as_u64().unwrap(),
                e["event_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// The whole global log from a node, page by page: (position, event id).
fn global_log(node: &Node, token: &str) -> Vec<(u64, String)> {
    let mut out = Vec::new();
    loop {
        let from = out.len() + 1;
        let (status, body) = call(
            "GET",
            &format!("{}/v1/log?from={from}&limit=100", node.base),
            token,
            None,
        );
        assert_eq!(status, 200, "{body}");
        let records = body["events"]
            .as_array()
            .unwrap_or_else(|| panic!("no events in {body}"));
        if records.is_empty() {
            return out;
        }
        out.extend(records.iter().map(|r| {
            (
                r["position"].as_u64().unwrap(),
                r["event_id"].as_str().unwrap().to_owned(),
            )
        }));
    }
}

/// The first `count` records of a node's live change feed: the position in each event's `id`.
fn feed(node: &Node, token: &str, count: usize) -> Vec<u64> {
    let response = agent()
        .get(format!("{}/v1/feed?from=1", node.base))
        .header("Authorization", &format!("Bearer {token}"))
        .header("X-Journey-Purpose", PURPOSE)
        .call()
        .unwrap();
    assert_eq!(response.status(), 200);
    let mut positions = Vec::new();
    for line in BufReader::new(response.into_body().into_reader()).lines() {
        let line = line.unwrap();
        if let Some(id) = line.strip_prefix("id:") {
            positions.push(id.trim().parse().unwrap());
            if positions.len() == count {
                break;
            }
        }
    }
    positions
}

#[test]
fn three_nodes_on_one_postgres_are_one_service() {
    let Some(admin_url) = postgres_url() else { return };
    let database = Database::create(&admin_url);
    let url = database.url();
    let data = tempfile::tempdir().unwrap();
    let first = Node::start(&url, data.path(), true);
    let token = std::fs::read_to_string(data.path().join("bootstrap-admin.token")).unwrap();
    let token = token.trim().to_owned();
    let nodes = [
        first,
        Node::start(&url, data.path(), false),
        Node::start(&url, data.path(), false),
    ];

    // A key created through one node works at once on another.
    let (status, created) = call(
        "POST",
        &format!("{}/v1/keys", nodes[0].base),
        &token,
        Some(json!({"name": "sc-reviewer", "role": "investigator"})),
    );
    assert_eq!(status, 201, "{created}");
    let investigator = created["token"].as_str().unwrap().to_owned();

    let children: Vec<String> = (0..CHILDREN).map(|c| format!("node-child-{c}")).collect();
    for child in &children {
        let body = json!({
            "events": [event_json(&testkit::registered(&format!("{child}-reg"), "2015-06-01"))],
            "expected_version": "no_stream",
        });
        let (status, answer) = call(
            "POST",
            &format!("{}/v1/children/{child}/events", nodes[0].base),
            &token,
            Some(body),
        );
        assert_eq!(status, 201, "{answer}");
    }

    // Every node races the other two on every child, each append expecting the version it last saw.
    let mut racers = Vec::new();
    for (n, node) in nodes.iter().enumerate() {
        for child in &children {
            let (base, token, child) = (node.base.clone(), token.clone(), child.clone());
            racers.push(std::thread::spawn(move || {
                let mut won: Vec<(u64, String)> = Vec::new();
                let mut expected = 1u64;
                let mut attempt = 0;
                while (won.len() as u64) < WINS_PER_NODE {
                    attempt += 1;
                    let id = format!("{child}-n{n}-a{attempt}");
                    let body = json!({
                        "events": [event_json(&testkit::contact(&id, "2023-03-01"))],
                        "expected_version": serde_json::to_value(ExpectedVersion::Exact(journey_core::Version(expected))).unwrap(),
                    });
                    let (status, answer) =
                        call("POST", &format!("{base}/v1/children/{child}/events"), &token, Some(body));
                    match status {
                        201 => {
                            let version = answer["events"][0]["version"].as_u64().unwrap();
                            assert_eq!(version, expected + 1, "{answer}");
                            won.push((version, id));
                            expected = version;
                        }
                        409 => {
                            // Someone else won that version: find out where the stream is now.
                            let (status, page) = call(
                                "GET",
                                &format!("{base}/v1/children/{child}/events?from={}&limit=1000", expected + 1),
                                &token,
                                None,
                            );
                            assert_eq!(status, 200, "{page}");
                            let seen = page["events"].as_array().unwrap();
                            assert!(!seen.is_empty(), "a 409 for version {expected} but nothing after it");
                            expected = seen.last().unwrap()["version"].as_u64().unwrap();
                        }
                        other => panic!("append answered {other}: {answer}"),
                    }
                }
                (child, won)
            }));
        }
    }
    let mut winners: BTreeMap<String, BTreeMap<u64, String>> = BTreeMap::new();
    for racer in racers {
        let (child, won) = racer.join().unwrap();
        let versions = winners.entry(child).or_default();
        for (version, id) in won {
            assert!(
                versions.insert(version, id).is_none(),
                "version {version} was won twice"
            );
        }
    }

    // Each version was won exactly once, nothing was lost, and every node reads the same streams.
    let final_version = 1 + 3 * WINS_PER_NODE;
    for child in &children {
        let won = &winners[child];
        assert_eq!(
            won.keys().copied().collect::<Vec<_>>(),
            (2..=final_version).collect::<Vec<_>>()
        );
        for node in &nodes {
            let events = stream(node, &token, child);
            assert_eq!(events.len() as u64, final_version);
            for (version, id) in events.iter().skip(1) {
                assert_eq!(&won[version], id, "{child} v{version} on {}", node.base);
            }
        }
    }

    // The global log and the live feed are the same gap-free sequence from every node.
    let total = CHILDREN as u64 * final_version;
    let log = global_log(&nodes[0], &token);
    assert_eq!(
        log.iter().map(|(p, _)| *p).collect::<Vec<_>>(),
        (1..=total).collect::<Vec<_>>()
    );
    for node in &nodes[1..] {
        assert_eq!(global_log(node, &token), log, "the log from {}", node.base);
    }
    for node in &nodes {
        assert_eq!(
            feed(node, &token, total as usize),
            (1..=total).collect::<Vec<_>>(),
            "the feed from {}",
            node.base
        );
    }

    // The key created through the first node reads through the third.
    let (status, body) = call(
        "GET",
        &format!("{}/v1/children/{}/chronology", nodes[2].base, children[0]),
        &investigator,
        None,
    );
    assert_eq!(status, 200, "{body}");

    // A policy retired through one node is no longer in force on another (each node's registry catches up
    // with the shared journal before every decision).
    let evaluate = format!(
        "{}/v1/children/{}/policies/levels-of-need/evaluate?on=2024-01-10",
        nodes[2].base, children[0]
    );
    let (status, body) = call("POST", &evaluate, &token, None);
    assert_eq!(status, 200, "{body}");
    // Both versions (the one built from source, and the frozen 1.0.1 earlier version that takes over when it
    // is retired).
    for version in ["1.1.0", "1.0.1"] {
        let (status, body) = call(
            "POST",
            &format!(
                "{}/v1/policies/levels-of-need/versions/{version}/retire",
                nodes[1].base
            ),
            &token,
            Some(json!({"reason": "multi-node test"})),
        );
        assert_eq!(status, 200, "{body}");
    }
    let (status, body) = call("POST", &evaluate, &token, None);
    assert!(
        (400..500).contains(&status),
        "a retired policy judged on another node: {status} {body}"
    );

    drop(nodes);
    drop(database);
}

/// A GET without a key (the checkpoint routes are public by default), as text.
fn get_text(url: &str) -> (u16, String) {
    let response = agent()
        .get(url)
        .call()
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let status = response.status().as_u16();
    (status, response.into_body().read_to_string().unwrap())
}

/// The tree size a signed checkpoint note names (its second line).
fn note_size(note: &str) -> u64 {
    note.lines()
        .nth(1)
        .and_then(|l| l.parse().ok())
        .unwrap_or_else(|| panic!("no size in {note:?}"))
}

/// Two `journey serve` nodes on one PostgreSQL keep one Merkle tree in the database (ADR 10): a checkpoint
/// signed through one node is served by the other, appends through the second are proven against a later
/// checkpoint consistent with the first, a child's export from either node is a proof bundle `journey
/// verify-export` checks offline, and a node that would sign the same log with another key refuses to start.
#[test]
fn two_nodes_on_one_postgres_sign_and_prove_one_tree() {
    let Some(admin_url) = postgres_url() else { return };
    let database = Database::create(&admin_url);
    let url = database.url();
    let data = tempfile::tempdir().unwrap();
    // Both nodes use the key the first one makes beside the shared data directory.
    let a = Node::start(&url, data.path(), true);
    let b = Node::start(&url, data.path(), false);
    let token = std::fs::read_to_string(data.path().join("bootstrap-admin.token")).unwrap();
    let token = token.trim().to_owned();
    let append = |node: &Node, child: &str, events: Vec<journey_core::NewEvent>, expected: Value| {
        let body = json!({
            "events": events.iter().map(event_json).collect::<Vec<_>>(),
            "expected_version": expected,
        });
        let (status, answer) = call(
            "POST",
            &format!("{}/v1/children/{child}/events", node.base),
            &token,
            Some(body),
        );
        assert_eq!(status, 201, "{answer}");
    };
    for c in 0..3 {
        let child = format!("proof-child-{c}");
        append(
            &a,
            &child,
            vec![
                testkit::registered(&format!("{child}-reg"), "2014-09-01"),
                testkit::contact(&format!("{child}-c1"), "2023-03-01"),
            ],
            json!("no_stream"),
        );
    }
    let (status, first) = call("POST", &format!("{}/v1/checkpoints", a.base), &token, None);
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["size"], 6, "{first}");
    let (status, served) = get_text(&format!("{}/checkpoint", b.base));
    assert_eq!(status, 200, "{served}");
    assert_eq!(served, first["checkpoint"].as_str().unwrap());

    append(
        &b,
        "proof-child-0",
        vec![testkit::contact("proof-child-0-c2", "2023-04-01")],
        json!("any"),
    );
    let (status, second) = call("POST", &format!("{}/v1/checkpoints", b.base), &token, None);
    assert_eq!(status, 200, "{second}");
    assert_eq!(
        (second["size"].as_u64(), second["new"].as_bool()),
        (Some(7), Some(true))
    );
    let (status, latest) = get_text(&format!("{}/checkpoint", a.base));
    assert_eq!((status, note_size(&latest)), (200, 7));
    let (status, proof) = get_text(&format!("{}/proof/consistency?old=6&new=7", a.base));
    assert_eq!(status, 200, "{proof}");
    assert!(!proof.trim().is_empty());
    let tile = agent().get(format!("{}/tile/0/000.p/7", b.base)).call().unwrap();
    assert_eq!(tile.status(), 200);
    assert_eq!(tile.into_body().read_to_vec().unwrap().len(), 7 * 32);

    // A child's export from the second node carries inclusion proofs that verify against the log's key.
    let (status, vkey) = get_text(&format!("{}/checkpoint/vkey", a.base));
    assert_eq!(status, 200, "{vkey}");
    let bundle = data.path().join("bundle.json");
    let fetched = journey(&[
        "export",
        "proof-child-0",
        "--server",
        &b.base,
        "--key",
        &token,
        "--out",
        bundle.to_str().unwrap(),
    ]);
    let said = String::from_utf8_lossy(&fetched.stderr);
    assert!(
        fetched.status.success() && said.contains("with an inclusion proof"),
        "{said}"
    );
    let verified = journey(&[
        "verify-export",
        bundle.to_str().unwrap(),
        "--log-key",
        vkey.trim(),
    ]);
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );
    let report: Value = serde_json::from_slice(&verified.stdout).unwrap();
    assert_eq!(report["checkpoints"][0]["size"], 7, "{report}");

    // A third node with a key of its own (another data directory) would give the log a second key.
    let other = tempfile::tempdir().unwrap();
    let mut third = Command::new(env!("CARGO_BIN_EXE_journey"))
        .args(["serve", "--store", &url, "--listen", "127.0.0.1:0"])
        .arg("--data")
        .arg(other.path())
        .env("RUST_LOG", "warn")
        .env("JOURNEY_KEK", TEST_KEK)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while third.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = third.kill();
            panic!("a node with another signing key started serving the same log");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let refused = third.wait_with_output().unwrap();
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success() && said.contains("checkpoint.signing_key"),
        "{said}"
    );
    drop((a, b));
    drop(database);
}

/// Runs the journey binary to its end with this key-encryption key in `JOURNEY_KEK`, or none.
fn journey_with_kek(args: &[&str], kek: Option<&str>) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_journey"));
    command
        .args(args)
        .env_remove("JOURNEY_DATA")
        .env_remove("JOURNEY_SERVER")
        .env("RUST_LOG", "warn");
    match kek {
        Some(kek) => command.env("JOURNEY_KEK", kek),
        None => command.env_remove("JOURNEY_KEK"),
    };
    command.output().expect("the journey binary runs")
}

/// A `journey serve` that must refuse to start: its standard error. One still running after two minutes
/// started serving: killed, and the test fails.
fn refused_serve(url: &str, data: &Path, kek: Option<&str>) -> String {
    let mut command = Command::new(env!("CARGO_BIN_EXE_journey"));
    command
        .args(["serve", "--store", url, "--listen", "127.0.0.1:0", "--data"])
        .arg(data)
        .env_remove("JOURNEY_DATA")
        .env_remove("JOURNEY_SERVER")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    match kek {
        Some(kek) => command.env("JOURNEY_KEK", kek),
        None => command.env_remove("JOURNEY_KEK"),
    };
    let mut process = command.spawn().expect("start journey serve");
    let deadline = Instant::now() + Duration::from_secs(120);
    while process.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = process.kill();
            panic!("journey serve started where it had to refuse");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = process.wait_with_output().unwrap();
    assert!(!out.status.success(), "journey serve started");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Issue #19 on PostgreSQL, as an operator meets it: a new log is not started without a key-encryption key;
/// a log in the clear still serves (with a warning) and is migrated by `journey log export` from its server
/// and `journey log import --seal --store postgres://...` into a new database, whose records are then sealed,
/// read back with the same content, and refused without the key.
#[test]
fn a_postgres_log_in_the_clear_is_migrated_to_a_sealed_one() {
    let Some(admin_url) = postgres_url() else { return };
    let (clear_db, sealed_db) = (Database::create(&admin_url), Database::create(&admin_url));
    let tmp = tempfile::tempdir().unwrap();
    let p = |name: &str| tmp.path().join(name);

    let said = refused_serve(&sealed_db.url(), &p("refused"), None);
    assert!(
        said.contains("kek_file") && said.contains("JOURNEY_KEK"),
        "{said}"
    );

    // A log in the clear, as PostgreSQL logs were before sealing: a synthetic authority restored into one.
    let ok = |out: std::process::Output| {
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let demo = p("demo");
    let demo_export = p("demo.jsonl");
    ok(journey_with_kek(
        &[
            "demo",
            "--data",
            demo.to_str().unwrap(),
            "--children",
            "12",
            "--seed",
            "5",
        ],
        None,
    ));
    ok(journey_with_kek(
        &[
            "log",
            "export",
            "--data",
            demo.to_str().unwrap(),
            "--out",
            demo_export.to_str().unwrap(),
        ],
        None,
    ));
    let imported = ok(journey_with_kek(
        &[
            "log",
            "import",
            "--store",
            &clear_db.url(),
            "--file",
            demo_export.to_str().unwrap(),
        ],
        None,
    ));
    assert!(imported.contains("every hash link matches"), "{imported}");

    // It still serves without a key, and its log is exported from the server.
    let clear_data = p("clear-node");
    let node = Node::start_with_kek(&clear_db.url(), &clear_data, true, None);
    let token = std::fs::read_to_string(clear_data.join("bootstrap-admin.token")).unwrap();
    let export = p("postgres.jsonl");
    let exported = journey(&[
        "log",
        "export",
        "--server",
        &node.base,
        "--key",
        token.trim(),
        "--out",
        export.to_str().unwrap(),
    ]);
    assert!(
        exported.status.success(),
        "{}",
        String::from_utf8_lossy(&exported.stderr)
    );
    drop(node);
    let records = |path: &Path| -> Vec<Value> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let clear_records = records(&export);
    assert_eq!(
        clear_records,
        records(&demo_export),
        "the PostgreSQL log is the demo's"
    );

    // Migrated: sealed into a new database, the export's links and every record's content checked.
    let kek_file = p("kek");
    std::fs::write(&kek_file, format!("{TEST_KEK}\n")).unwrap();
    let migrated = ok(journey_with_kek(
        &[
            "log",
            "import",
            "--seal",
            "--store",
            &sealed_db.url(),
            "--kek-file",
            kek_file.to_str().unwrap(),
            "--file",
            export.to_str().unwrap(),
        ],
        None,
    ));
    assert!(migrated.contains("sealed under a key of its own"), "{migrated}");
    // Importing again into a log that holds records is refused.
    let again = journey_with_kek(
        &[
            "log",
            "import",
            "--seal",
            "--store",
            &sealed_db.url(),
            "--file",
            export.to_str().unwrap(),
        ],
        Some(TEST_KEK),
    );
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already holds records"));

    // The tables hold ciphertext only: every record sealed, no plaintext digest, a key row per child.
    let rows = sealed_db.runtime.block_on({
        let url = sealed_db.url();
        async move {
            let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
            tokio::spawn(connection);
            client
                .query_one(
                    "SELECT count(*) FILTER (WHERE substring(body FROM 1 FOR 2) = '\\x0200'::bytea), \
                     count(*) FILTER (WHERE content_digest IS NOT NULL), count(DISTINCT child_id), \
                     (SELECT count(*) FROM journey_content_keys WHERE wrapped IS NOT NULL) FROM journey_events",
                    &[],
                )
                .await
                .unwrap()
        }
    });
    let (sealed, digests, children, keys): (i64, i64, i64, i64) =
        (rows.get(0), rows.get(1), rows.get(2), rows.get(3));
    assert_eq!(
        (sealed as usize, digests, keys),
        (clear_records.len(), 0, children)
    );

    // Served with its key, every record reads back with the content it had in the clear.
    let refused = refused_serve(&sealed_db.url(), &p("no-key"), None);
    assert!(
        refused.contains("opens only with its key-encryption key"),
        "{refused}"
    );
    let sealed_data = p("sealed-node");
    let node = Node::start(&sealed_db.url(), &sealed_data, true);
    let token = std::fs::read_to_string(sealed_data.join("bootstrap-admin.token")).unwrap();
    let sealed_export = p("sealed.jsonl");
    let exported = journey(&[
        "log",
        "export",
        "--server",
        &node.base,
        "--key",
        token.trim(),
        "--out",
        sealed_export.to_str().unwrap(),
    ]);
    assert!(
        exported.status.success(),
        "{}",
        String::from_utf8_lossy(&exported.stderr)
    );
    let content = |mut record: Value| {
        let map = record.as_object_mut().unwrap();
        for field in ["schema_version", "chain"] {
            map.remove(field);
        }
        record
    };
    let sealed_records = records(&sealed_export);
    assert_eq!(sealed_records.len(), clear_records.len());
    for (sealed, clear) in sealed_records.into_iter().zip(clear_records) {
        assert_ne!(
            sealed["chain"], clear["chain"],
            "a sealed record's hashes are new"
        );
        assert_eq!(content(sealed), content(clear));
    }
}
