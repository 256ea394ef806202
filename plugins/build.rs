//! Builds every guest component in `plugins/guests/` (its own Cargo workspace) for `wasm32-wasip2`, into a
//! target directory under OUT_DIR, and generates `OUT_DIR/guests.rs`: one constant per artifact with the
//! path of its `.wasm` file, and a `foreach_guest!` macro naming them all (the pattern of wasmtime's
//! `crates/test-programs/artifacts/build.rs`).
//!
//! Also records the exact wasmtime version from `Cargo.lock` for the engine-configuration hash.

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const TARGET: &str = "wasm32-wasip2";

fn main() {
    let manifest_dir =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    record_wasmtime_version(&manifest_dir);

    let guests = manifest_dir.join("guests");
    watch(&manifest_dir, &guests);
    require_target();
    let artifacts = build_guests(&guests, &out_dir.join("guests-target"));
    let frozen = frozen_reference(&manifest_dir.join("reference"));
    fs::write(out_dir.join("guests.rs"), generate(&guests, &artifacts, &frozen)).expect("write guests.rs");
}

/// Rebuild when a guest, the SDK or the contract changes (but not when a guest's own `target/` does).
fn watch(manifest_dir: &Path, guests: &Path) {
    let mut paths = vec![
        manifest_dir.join("wit"),
        manifest_dir.join("sdk/src"),
        manifest_dir.join("sdk/Cargo.toml"),
        manifest_dir.join("data"),
        manifest_dir.join("reference"),
        guests.join("Cargo.toml"),
        guests.join("Cargo.lock"),
    ];
    for group in ["policies", "hostile", "probes"] {
        let Ok(entries) = fs::read_dir(guests.join(group)) else {
            continue;
        };
        paths.push(guests.join(group));
        for crate_dir in entries.flatten().map(|e| e.path()).filter(|p| p.is_dir()) {
            for part in ["Cargo.toml", "src", "wit", "parameters.json", "examples"] {
                if crate_dir.join(part).exists() {
                    paths.push(crate_dir.join(part));
                }
            }
        }
    }
    for p in paths {
        println!("cargo:rerun-if-changed={}", p.display());
    }
}

/// Makes sure the wasm32-wasip2 standard library is installed for the toolchain building this crate: where
/// rustup manages the toolchain (the default Rust install), it installs the target itself, so that the
/// README's first command works on a machine with nothing but the default toolchain; elsewhere it fails with
/// instructions.
fn require_target() {
    if target_installed() {
        return;
    }
    println!(
        "cargo:warning=installing the {TARGET} target with rustup (the policy guests are built for it; once \
         per toolchain)"
    );
    // Under rustup, cargo runs with RUSTUP_TOOLCHAIN set to the toolchain in use, and `rustup` inherits it,
    // so the target is added to the very toolchain whose rustc builds the guests.
    let added = Command::new("rustup")
        .args(["target", "add", TARGET])
        .status()
        .is_ok_and(|status| status.success());
    if !(added && target_installed()) {
        panic!(
            "\n\njourney-plugins builds its policy guests (plugins/guests/) for the `{TARGET}` target, which is \
             not installed for this toolchain{}.\nInstall it once with:\n\n    rustup target add {TARGET}\n\n",
            if added {
                ""
            } else {
                ", and `rustup target add` could not install it"
            }
        );
    }
}

fn target_installed() -> bool {
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let sysroot = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    sysroot.is_some_and(|s| {
        Path::new(&s)
            .join("lib/rustlib")
            .join(TARGET)
            .join("lib")
            .is_dir()
    })
}

/// A policy's content hash is its identity (a version is refused if its bytes change), so the bytes must be
/// a function of the source alone. Panic messages carry source paths: every registry crate's is under
/// `CARGO_HOME`, and anything reached outside the guests' workspace by an absolute path would carry the
/// checkout's, so a build by another user or in another directory gave other bytes for the same version.
/// Both prefixes are rewritten to fixed names; the standard library's are `/rustc/<commit>/` already. (The
/// SDK is reached inside the workspace, through the `guests/sdk` symlink, for the same reason: see
/// `guests/Cargo.toml`.) Separated by 0x1f, as `CARGO_ENCODED_RUSTFLAGS` wants.
fn reproducible_rustflags(guests: &Path, target_dir: &Path) -> String {
    let checkout = guests
        .parent()
        .and_then(Path::parent)
        .expect("plugins/guests sits two levels below the checkout");
    let cargo_home = env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")));
    // When several prefixes match a path the last one wins: the target directory (often inside the
    // checkout) comes last.
    let mut remaps = vec![(checkout.to_path_buf(), "/journey")];
    remaps.extend(cargo_home.map(|home| (home, "/cargo-home")));
    remaps.push((target_dir.to_path_buf(), "/journey-guests-target"));
    remaps
        .iter()
        .map(|(from, to)| format!("--remap-path-prefix={}={to}", from.display()))
        .collect::<Vec<_>>()
        .join("\u{1f}")
}

/// `(crate directory relative to guests/, target name, path of the .wasm)` for every guest built.
type Artifact = (String, String, PathBuf);

fn build_guests(guests: &Path, target_dir: &Path) -> Vec<Artifact> {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(guests)
        .args(["build", "--release", "--workspace", "--target", TARGET])
        .arg("--target-dir")
        .arg(target_dir)
        .arg("--message-format=json-render-diagnostics")
        // The outer build's flags and wrappers are for the host target (and clippy), not for the guests;
        // the guests get only the flags that make their bytes independent of where they were built.
        .env(
            "CARGO_ENCODED_RUSTFLAGS",
            reproducible_rustflags(guests, target_dir),
        )
        .env_remove("RUSTFLAGS")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("CARGO_PRIMARY_PACKAGE")
        .stdout(Stdio::piped());
    let mut child = cmd.spawn().expect("run cargo to build the guest components");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut artifacts = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("read cargo's output");
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        if msg["reason"] != "compiler-artifact" {
            continue;
        }
        let is_cdylib = msg["target"]["kind"]
            .as_array()
            .is_some_and(|k| k.iter().any(|k| k == "cdylib"));
        if !is_cdylib {
            continue;
        }
        let name = msg["target"]["name"].as_str().expect("artifact name").to_string();
        let manifest = PathBuf::from(msg["manifest_path"].as_str().expect("artifact manifest"));
        let crate_dir = manifest.parent().expect("manifest in a directory");
        let relative = crate_dir
            .strip_prefix(guests)
            .unwrap_or(crate_dir)
            .display()
            .to_string();
        let wasm = msg["filenames"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f.as_str())
            .find(|f| f.ends_with(".wasm"))
            .map(PathBuf::from)
            .unwrap_or_else(|| panic!("guest {name} produced no .wasm file"));
        artifacts.push((relative, name, wasm));
    }
    let status = child.wait().expect("wait for cargo");
    if !status.success() {
        panic!(
            "building the guest components in {} failed (see the errors above)",
            guests.display()
        );
    }
    artifacts.sort();
    artifacts
}

/// The reference policies' earlier versions, frozen: `reference/<name>-<version>/` holds the component as it
/// was shipped (`component.wasm`), its `parameters.json` and `examples/`. Their bytes are kept rather than
/// rebuilt, because a version is its bytes and the source they were built from (the SDK of an earlier
/// contract, an earlier toolchain) is no longer what the guests build with. `(directory under plugins/,
/// its path)`, in name order.
fn frozen_reference(reference: &Path) -> Vec<(String, PathBuf)> {
    let mut frozen: Vec<(String, PathBuf)> = fs::read_dir(reference)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.join("component.wasm").is_file())
                .map(|p| {
                    let name = p.file_name().unwrap_or_default().to_string_lossy().into_owned();
                    (format!("reference/{name}"), p)
                })
                .collect()
        })
        .unwrap_or_default();
    frozen.sort();
    for (_, dir) in &frozen {
        for part in ["component.wasm", "parameters.json", "examples"] {
            println!("cargo:rerun-if-changed={}", dir.join(part).display());
        }
    }
    frozen
}

fn generate(guests: &Path, artifacts: &[Artifact], frozen: &[(String, PathBuf)]) -> String {
    let mut src = String::from("// Generated by plugins/build.rs. Do not edit.\n\n");
    for (dir, name, wasm) in artifacts {
        let _ = writeln!(
            src,
            "/// `plugins/guests/{dir}` ({}), built for {TARGET}.\npub const {}: &str = {:?};\n",
            guests.join(dir).join("src/lib.rs").display(),
            name.to_uppercase(),
            wasm.display().to_string(),
        );
    }
    src.push_str("/// Every guest: `(directory under plugins/guests, path of the .wasm)`.\npub const ALL: &[(&str, &str)] = &[\n");
    for (dir, name, _) in artifacts {
        let _ = writeln!(src, "    ({dir:?}, {}),", name.to_uppercase());
    }
    src.push_str("];\n\n");
    generate_reference(&mut src, guests, artifacts, frozen);
    src.push_str(
        "/// Calls `$mac!(name)` for every guest (its crate name in snake case). Tests use it to insist that\n\
         /// each guest has a test of the same name.\n#[macro_export]\nmacro_rules! foreach_guest {\n    ($mac:ident) => {\n",
    );
    for (_, name, _) in artifacts {
        let _ = writeln!(src, "        $mac!({name});");
    }
    src.push_str("    };\n}\n");
    src
}

/// The reference policies (`policies/*` guests that ship a `parameters.json`, and the earlier versions
/// frozen in `reference/`), embedded in the library with their default parameters and example cases, so
/// that a server binary can deploy them with nothing else on disk.
fn generate_reference(src: &mut String, guests: &Path, artifacts: &[Artifact], frozen: &[(String, PathBuf)]) {
    src.push_str(
        "/// The reference policies, embedded: component bytes, default parameters, example cases. The earlier \
         versions\n/// frozen in `plugins/reference/` come first, then the ones built from `plugins/guests/policies/`.\n",
    );
    src.push_str("pub const REFERENCE_POLICIES: &[ReferencePolicy] = &[\n");
    let built = artifacts.iter().filter_map(|(dir, _, wasm)| {
        let crate_dir = guests.join(dir);
        (dir.starts_with("policies/") && crate_dir.join("parameters.json").is_file())
            .then(|| (dir.clone(), crate_dir, wasm.clone()))
    });
    let frozen = frozen
        .iter()
        .map(|(dir, path)| (dir.clone(), path.clone(), path.join("component.wasm")));
    for (dir, crate_dir, wasm) in frozen.chain(built) {
        let parameters = crate_dir.join("parameters.json");
        let mut examples: Vec<PathBuf> = fs::read_dir(crate_dir.join("examples"))
            .map(|entries| {
                entries
                    .flatten()
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "json"))
                    .collect()
            })
            .unwrap_or_default();
        examples.sort();
        let _ = writeln!(
            src,
            "    ReferencePolicy {{\n        dir: {dir:?},\n        component: include_bytes!({:?}),\n        \
             parameters: include_str!({:?}),\n        examples: &[",
            wasm.display().to_string(),
            parameters.display().to_string()
        );
        for example in &examples {
            let name = example
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let _ = writeln!(
                src,
                "            ({name:?}, include_str!({:?})),",
                example.display().to_string()
            );
        }
        src.push_str("        ],\n    },\n");
    }
    src.push_str("];\n\n");
}

/// Exposes the exact wasmtime version in `Cargo.lock` as `JOURNEY_WASMTIME_VERSION`.
fn record_wasmtime_version(manifest_dir: &Path) {
    let lock = manifest_dir.join("../Cargo.lock");
    println!("cargo:rerun-if-changed={}", lock.display());
    let text = fs::read_to_string(&lock).unwrap_or_default();
    let version = text
        .split("[[package]]")
        .find(|p| p.lines().any(|l| l.trim() == "name = \"wasmtime\""))
        .and_then(|p| p.lines().find_map(|l| l.trim().strip_prefix("version = \"")))
        .map(|v| v.trim_end_matches('"').to_string())
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=JOURNEY_WASMTIME_VERSION={version}");
}
