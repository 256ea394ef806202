//! The layering rules of `docs/ARCHITECTURE.md`, held against the dependency graph `cargo metadata` reports:
//! which workspace crate may depend on which (normal and build dependencies; tests and benchmarks may use
//! more), and which third-party crates may not reach a crate at all, however indirectly (core knows nothing
//! of WebAssembly, HTTP, PostgreSQL, the command line or the returns' file formats).

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use serde_json::Value;

/// For each workspace crate, the workspace crates it may depend on (normal and build dependencies).
const MAY_DEPEND_ON: &[(&str, &[&str])] = &[
    // The tree and checkpoints a store keeps, and the proof service, are core's; the pure tree, proofs and
    // C2SP formats below it are journey-tlog's.
    ("journey-core", &["journey-tlog"]),
    // The Merkle tree, proofs and C2SP formats: pure, below every store that keeps a tree.
    ("journey-tlog", &[]),
    // The witness an independent body runs: the formats and proofs, none of the log's storage.
    ("journey-witness", &["journey-tlog"]),
    ("journey-embedded", &["journey-core"]),
    ("journey-postgres", &["journey-core"]),
    ("journey-returns", &["journey-core"]),
    ("journey-synth", &["journey-core"]),
    ("journey-plugins", &["journey-core"]),
    // The guest side of the policy contract: never the host's crates.
    ("journey-policy-sdk", &[]),
    // The API is store-agnostic: it reaches a store only through core's traits.
    (
        "journey-api",
        &["journey-core", "journey-plugins", "journey-returns"],
    ),
    (
        "journey-cli",
        &[
            "journey-core",
            "journey-embedded",
            "journey-postgres",
            "journey-returns",
            "journey-synth",
            "journey-plugins",
            "journey-api",
            "journey-tlog",
            "journey-witness",
        ],
    ),
    (
        "journey-tests",
        &[
            "journey-core",
            "journey-embedded",
            "journey-returns",
            "journey-synth",
            "journey-tlog",
        ],
    ),
];

/// Third-party crates that must not be anywhere in a crate's dependency closure (normal and build edges).
const NEVER_REACHES: &[(&str, &[&str])] = &[
    (
        "journey-core",
        &[
            "wasmtime",
            "axum",
            "hyper",
            "tokio-postgres",
            "clap",
            "csv",
            "quick-xml",
            "roxmltree",
            "rust_xlsxwriter",
            "rand",
            "crc32c",
            "mimalloc",
        ],
    ),
    (
        "journey-tlog",
        &[
            "wasmtime",
            "axum",
            "hyper",
            "tokio",
            "tokio-postgres",
            "clap",
            "csv",
            "quick-xml",
            "rust_xlsxwriter",
            "sled",
            "rand",
            "mimalloc",
        ],
    ),
    (
        "journey-embedded",
        &[
            "wasmtime",
            "axum",
            "hyper",
            "tokio-postgres",
            "clap",
            "csv",
            "rust_xlsxwriter",
        ],
    ),
    (
        "journey-postgres",
        &["wasmtime", "axum", "clap", "csv", "rust_xlsxwriter", "crc32c"],
    ),
    (
        "journey-returns",
        &[
            "wasmtime",
            "axum",
            "hyper",
            "tokio-postgres",
            "clap",
            "rand",
            "crc32c",
        ],
    ),
    (
        "journey-synth",
        &[
            "wasmtime",
            "axum",
            "hyper",
            "tokio-postgres",
            "clap",
            "csv",
            "quick-xml",
            "rust_xlsxwriter",
        ],
    ),
    (
        "journey-plugins",
        &[
            "axum",
            "hyper",
            "tokio-postgres",
            "clap",
            "csv",
            "quick-xml",
            "rust_xlsxwriter",
            "crc32c",
        ],
    ),
    ("journey-policy-sdk", &["wasmtime", "journey-core"]),
    ("journey-api", &["tokio-postgres", "clap", "crc32c"]),
    (
        "journey-witness",
        &[
            "journey-core",
            "journey-embedded",
            "journey-postgres",
            "journey-api",
            "wasmtime",
            "tokio-postgres",
            "sled",
            "clap",
        ],
    ),
];

struct Graph {
    /// Package id → name.
    names: BTreeMap<String, String>,
    /// Package id → the ids it depends on through normal or build edges.
    edges: BTreeMap<String, BTreeSet<String>>,
    workspace: BTreeSet<String>,
}

fn graph() -> Graph {
    let cargo = option_env!("CARGO").unwrap_or("cargo");
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml");
    let output = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--locked",
            "--manifest-path",
            manifest,
        ])
        .output()
        .expect("cargo metadata runs");
    assert!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: Value = serde_json::from_slice(&output.stdout).expect("cargo metadata prints JSON");
    let names = metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["id"].as_str().unwrap().to_owned(),
                p["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let workspace = metadata["workspace_members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_str().unwrap().to_owned())
        .collect();
    let mut edges = BTreeMap::new();
    for node in metadata["resolve"]["nodes"].as_array().unwrap() {
        let targets = node["deps"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|dep| {
                // `kind` is null for a normal dependency, "dev" or "build" otherwise.
                dep["dep_kinds"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|k| k["kind"].as_str() != Some("dev"))
            })
            .map(|dep| dep["pkg"].as_str().unwrap().to_owned())
            .collect();
        edges.insert(node["id"].as_str().unwrap().to_owned(), targets);
    }
    Graph {
        names,
        edges,
        workspace,
    }
}

impl Graph {
    fn id(&self, name: &str) -> &str {
        self.workspace
            .iter()
            .find(|id| self.names[*id] == name)
            .unwrap_or_else(|| panic!("{name} is not a workspace member"))
    }

    /// Every package reachable from `id` through normal and build edges, with the path that reaches it.
    fn closure(&self, id: &str) -> BTreeMap<String, Vec<String>> {
        let mut seen: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut stack = vec![(id.to_owned(), vec![self.names[id].clone()])];
        while let Some((at, path)) = stack.pop() {
            for next in &self.edges[&at] {
                if !seen.contains_key(next) {
                    let mut longer = path.clone();
                    longer.push(self.names[next].clone());
                    seen.insert(next.clone(), longer.clone());
                    stack.push((next.clone(), longer));
                }
            }
        }
        seen
    }
}

#[test]
fn workspace_crates_depend_only_downwards() {
    let graph = graph();
    let listed: BTreeSet<&str> = MAY_DEPEND_ON.iter().map(|(name, _)| *name).collect();
    for id in &graph.workspace {
        let name = graph.names[id].as_str();
        assert!(
            listed.contains(name),
            "{name} is a new workspace crate: say in MAY_DEPEND_ON (and docs/ARCHITECTURE.md) what it may depend on"
        );
    }
    let mut breaks = Vec::new();
    for (name, allowed) in MAY_DEPEND_ON {
        let id = graph.id(name);
        for dep in &graph.edges[id] {
            let dep_name = graph.names[dep].as_str();
            if graph.workspace.contains(dep) && !allowed.contains(&dep_name) {
                breaks.push(format!("{name} depends on {dep_name}"));
            }
        }
    }
    assert!(
        breaks.is_empty(),
        "layering broken (see docs/ARCHITECTURE.md): {breaks:#?}"
    );
}

#[test]
fn nothing_depends_on_the_api_or_the_command_line_but_the_command_line() {
    let graph = graph();
    for id in &graph.workspace {
        let name = graph.names[id].as_str();
        for dep in &graph.edges[id] {
            let dep_name = graph.names[dep].as_str();
            assert!(
                dep_name != "journey-cli" && (dep_name != "journey-api" || name == "journey-cli"),
                "{name} depends on {dep_name}"
            );
        }
    }
}

#[test]
fn forbidden_crates_reach_no_layer_that_must_not_know_them() {
    let graph = graph();
    let mut breaks = Vec::new();
    for (name, forbidden) in NEVER_REACHES {
        for (dep, path) in graph.closure(graph.id(name)) {
            if forbidden.contains(&graph.names[&dep].as_str()) {
                breaks.push(path.join(" → "));
            }
        }
    }
    assert!(
        breaks.is_empty(),
        "a layer reaches a crate it must not know: {breaks:#?}"
    );
}
