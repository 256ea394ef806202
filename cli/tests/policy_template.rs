//! `journey policy new`, `build` and `test` as an author runs them with nothing but the `journey` binary and
//! the Rust toolchain: a copy of the binary in a folder of its own, outside the checkout it was built from,
//! with an author's environment (no variable of the build), a target directory of its own and, where the
//! machine allows a mount namespace, the checkout and the built binary's folder hidden under empty
//! file systems, so that reaching into them fails.

use std::path::{Component, Path, PathBuf};
use std::process::{Command, Output};

/// The checkout the binary was built from.
fn checkout() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .unwrap()
}

/// How the commands are run: in a mount namespace that hides `hidden`, if the machine allows one.
struct Author {
    journey: PathBuf,
    cwd: PathBuf,
    target: PathBuf,
    hidden: Vec<PathBuf>,
    namespace: bool,
}

impl Author {
    fn new(root: &Path) -> Author {
        let bin = root.join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let journey = bin.join("journey");
        std::fs::copy(env!("CARGO_BIN_EXE_journey"), &journey).unwrap();
        let cwd = root.join("author");
        std::fs::create_dir_all(&cwd).unwrap();
        let built = Path::new(env!("CARGO_BIN_EXE_journey"))
            .parent()
            .unwrap()
            .canonicalize()
            .unwrap();
        // The built binary's folder, unless it is inside the checkout (the usual `target/`): hiding the
        // checkout hides it, and a mount point inside a hidden folder no longer exists.
        let mut hidden = vec![checkout()];
        if !built.starts_with(&hidden[0]) {
            hidden.push(built);
        }
        let root = root.canonicalize().unwrap();
        for dir in &hidden {
            assert!(
                !root.starts_with(dir),
                "the test's folder {} must be outside {}",
                root.display(),
                dir.display()
            );
        }
        // Only root (or a user namespace) may mount: probe once, on the checkout itself.
        let namespace = Command::new("unshare")
            .args(["--mount", "--propagation", "private", "--", "sh", "-c"])
            .arg("mount -t tmpfs journey-hidden \"$1\" && [ ! -e \"$1/Cargo.toml\" ]")
            .arg("sh")
            .arg(checkout())
            .output()
            .is_ok_and(|o| o.status.success());
        if !namespace {
            eprintln!(
                "unshare --mount is not available here: the checkout stays reachable, and only the manifests, \
                 the environment and the component's bytes show that nothing refers to it"
            );
        }
        Author {
            journey,
            cwd,
            target: root.join("target"),
            hidden,
            namespace,
        }
    }

    /// `journey <args>` in the author's folder, with the author's environment.
    fn run(&self, args: &[&str]) -> Output {
        self.run_in(&self.journey.clone(), args, &self.cwd.clone())
    }

    /// `program <args>` in `cwd`, with the author's environment.
    fn run_in(&self, program: &Path, args: &[&str], cwd: &Path) -> Output {
        let mut command = if self.namespace {
            // Mount an empty file system over each hidden folder, check it is empty, then run journey.
            let mut c = Command::new("unshare");
            c.args(["--mount", "--propagation", "private", "--", "sh", "-c"])
                .arg(
                    "n=$1; shift; while [ \"$n\" -gt 0 ]; do \
                       mount -t tmpfs journey-hidden \"$1\" || exit 97; \
                       [ -z \"$(ls -A \"$1\")\" ] || exit 98; \
                       shift; n=$((n - 1)); \
                     done; exec \"$@\"",
                )
                .arg("sh")
                .arg(self.hidden.len().to_string())
                .args(&self.hidden)
                .arg(program);
            c
        } else {
            Command::new(program)
        };
        command.args(args).current_dir(cwd).env_clear();
        // What an author's shell has: where the toolchain is, and nothing from this build.
        for name in ["PATH", "HOME", "CARGO_HOME", "RUSTUP_HOME", "RUSTUP_TOOLCHAIN"] {
            if let Some(value) = std::env::var_os(name) {
                let text = value.to_string_lossy();
                assert!(
                    !text.contains(checkout().to_str().unwrap()) || name == "PATH",
                    "{name} points into the checkout"
                );
                command.env(name, value);
            }
        }
        command.env("CARGO_TARGET_DIR", &self.target);
        command.output().unwrap()
    }
}

fn succeeded(output: &Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{}\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// Every `path` of a dependency in `manifest` is relative and stays inside `policy`; nothing is inherited
/// from a workspace (`workspace = true`, in any table).
fn check_manifest(manifest: &Path, policy: &Path) {
    let text = std::fs::read_to_string(manifest).unwrap();
    let table: toml::Table = toml::from_str(&text).unwrap();
    fn walk(value: &toml::Value, at: &str, manifest: &Path, policy: &Path) {
        let Some(table) = value.as_table() else {
            return;
        };
        for (key, value) in table {
            let at = format!("{at}.{key}");
            if key == "workspace" && value.as_bool() == Some(true) {
                panic!("{}: {at} inherits from a workspace", manifest.display());
            }
            if key == "path"
                && let Some(path) = value.as_str()
            {
                let path = Path::new(path);
                assert!(path.is_relative(), "{}: {at} is absolute", manifest.display());
                let mut resolved = manifest.parent().unwrap().to_path_buf();
                for part in path.components() {
                    match part {
                        Component::ParentDir => assert!(resolved.pop()),
                        Component::CurDir => {}
                        other => resolved.push(other),
                    }
                }
                assert!(
                    resolved.starts_with(policy),
                    "{}: {at} = {} leaves the policy's folder",
                    manifest.display(),
                    path.display()
                );
            }
            walk(value, &at, manifest, policy);
        }
    }
    walk(&toml::Value::Table(table), "", manifest, policy);
}

#[test]
fn a_new_policy_builds_and_passes_its_examples_with_only_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let author = Author::new(dir.path());
    let policy = author.cwd.join("re-referral-alert");

    let created = succeeded(&author.run(&["policy", "new", "re-referral-alert"]));
    assert!(created.contains("contract journey:policy@"), "{created}");
    for file in [
        "Cargo.toml",
        "src/lib.rs",
        "parameters.json",
        "examples/01-re-referral.json",
        "sdk/README.md",
        "sdk/journey-policy-sdk/Cargo.toml",
        "sdk/journey-policy-sdk/src/lib.rs",
        "sdk/wit/policy-2.0.0.wit",
        "sdk/data/bank-holidays-england-and-wales.json",
    ] {
        assert!(policy.join(file).is_file(), "{file} was not created");
    }

    // Nothing written refers to the checkout, and every manifest builds from the policy's folder alone.
    let checkout_path = checkout().to_str().unwrap().to_owned();
    let written = files(&policy);
    for file in &written {
        let bytes = std::fs::read(file).unwrap();
        assert!(
            !String::from_utf8_lossy(&bytes).contains(&checkout_path),
            "{} refers to the checkout {checkout_path}",
            file.display()
        );
        if file.file_name().is_some_and(|n| n == "Cargo.toml") {
            check_manifest(file, &policy);
        }
    }
    assert_eq!(
        written
            .iter()
            .filter(|f| f.file_name().is_some_and(|n| n == "Cargo.toml"))
            .count(),
        2
    );
    // The SDK says which Journey it came from and which contract it implements.
    let readme = std::fs::read_to_string(policy.join("sdk/README.md")).unwrap();
    assert!(
        readme.starts_with(&format!(
            "# journey-policy-sdk {}, contract journey:policy@2.0.0",
            env!("CARGO_PKG_VERSION")
        )),
        "{readme}"
    );

    let built = succeeded(&author.run(&["policy", "build", "re-referral-alert"]));
    let wasm = PathBuf::from(built.trim().lines().last().unwrap());
    assert!(
        wasm.starts_with(&author.target),
        "{} is not in CARGO_TARGET_DIR",
        wasm.display()
    );
    let component = std::fs::read(&wasm).unwrap();
    assert!(
        !String::from_utf8_lossy(&component).contains(&checkout_path),
        "the component names the checkout {checkout_path}"
    );
    let policy_path = policy.canonicalize().unwrap();
    assert!(
        !String::from_utf8_lossy(&component).contains(policy_path.to_str().unwrap()),
        "the component names the policy's folder {}",
        policy_path.display()
    );

    let tested = succeeded(&author.run(&["policy", "test", "re-referral-alert"]));
    assert!(tested.contains("re-referral-alert 0.1.0"), "{tested}");
    assert!(tested.contains("2 of 2 example cases passed"), "{tested}");

    // The component is a function of the folder's contents, not of where the folder is: the SDK is a member
    // of the policy's own workspace, so no absolute path is hashed into its symbols.
    let moved = author.cwd.join("moved/another-name");
    for file in files(&policy) {
        let to = moved.join(file.strip_prefix(&policy).unwrap());
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(&file, &to).unwrap();
    }
    let rebuilt = succeeded(&author.run(&["policy", "build", "moved/another-name"]));
    let rebuilt = std::fs::read(rebuilt.trim().lines().last().unwrap()).unwrap();
    assert!(
        rebuilt == component,
        "the same policy built in another folder gave other bytes"
    );

    // The rules' unit tests, natively (the SDK's testing helpers read the calendar written beside it).
    let unit = author.run_in(Path::new("cargo"), &["test"], &policy);
    let stdout = String::from_utf8_lossy(&unit.stdout);
    assert!(
        unit.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&unit.stderr)
    );
    assert!(stdout.contains("test result: ok. 2 passed"), "{stdout}");

    // A policy folder that is not empty is never overwritten.
    let again = author.run(&["policy", "new", "re-referral-alert"]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("not empty"));
    eprintln!(
        "checkout hidden by a mount namespace: {}",
        if author.namespace { "yes" } else { "no" }
    );
}

/// Journey's own developers can still build against the SDK of their checkout: `--sdk` names it, and no
/// copy is written.
#[test]
fn sdk_points_a_new_policy_at_another_copy_of_the_sdk() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("in-tree");
    let sdk = checkout().join("plugins/sdk");
    let created = Command::new(env!("CARGO_BIN_EXE_journey"))
        .args(["policy", "new"])
        .arg(&policy)
        .arg("--sdk")
        .arg(&sdk)
        .output()
        .unwrap();
    succeeded(&created);
    let manifest: toml::Table =
        toml::from_str(&std::fs::read_to_string(policy.join("Cargo.toml")).unwrap()).unwrap();
    assert_eq!(
        manifest["dependencies"]["journey-policy-sdk"]["path"].as_str(),
        Some(sdk.to_str().unwrap())
    );
    assert!(!policy.join("sdk").exists());

    let missing = Command::new(env!("CARGO_BIN_EXE_journey"))
        .args(["policy", "new"])
        .arg(dir.path().join("other"))
        .arg("--sdk")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!missing.status.success());
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("--sdk"),
        "{}",
        String::from_utf8_lossy(&missing.stderr)
    );
}

/// The same for a Python policy: `policy new --lang python` writes the rules, a pytest test and the
/// `journey_policy` SDK from the binary; `policy build` installs the pinned componentize-py (from PyPI, once,
/// into Journey's cache folder) and builds the component; `policy test` runs the examples in the sandbox.
#[test]
fn a_new_python_policy_builds_and_passes_its_examples_with_only_the_binary() {
    let python = Command::new("python3")
        .args(["-c", "import sys, venv; sys.exit(sys.version_info < (3, 11))"])
        .status()
        .is_ok_and(|s| s.success());
    if !python {
        assert!(
            std::env::var("JOURNEY_REQUIRE_PYTHON_POLICIES").as_deref() != Ok("1"),
            "python3 3.11 or later with venv is required (JOURNEY_REQUIRE_PYTHON_POLICIES=1)"
        );
        eprintln!("SKIPPED: no python3 3.11 or later with venv to build a Python policy");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let author = Author::new(dir.path());
    let policy = author.cwd.join("re-referral-alert");

    let created = succeeded(&author.run(&["policy", "new", "--lang", "python", "re-referral-alert"]));
    assert!(created.contains("contract journey:policy@2.0.0"), "{created}");
    for file in [
        "policy.py",
        "pyproject.toml",
        "parameters.json",
        "examples/01-re-referral.json",
        "tests/test_policy.py",
        "sdk/README.md",
        "sdk/python/journey_policy/__init__.py",
        "sdk/python/journey_policy/testing.py",
        "sdk/wit/policy-2.0.0.wit",
        "sdk/data/bank-holidays-england-and-wales.json",
    ] {
        assert!(policy.join(file).is_file(), "{file} was not created");
    }
    let checkout_path = checkout().to_str().unwrap().to_owned();
    for file in files(&policy) {
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(
            !text.contains(&checkout_path),
            "{} refers to the checkout {checkout_path}",
            file.display()
        );
    }

    let built = succeeded(&author.run(&["policy", "build", "re-referral-alert"]));
    let wasm = PathBuf::from(built.trim().lines().last().unwrap());
    assert!(wasm.starts_with(&policy), "{}", wasm.display());
    let component = std::fs::read(&wasm).unwrap();
    let text = String::from_utf8_lossy(&component);
    assert!(!text.contains(&checkout_path), "the component names the checkout");
    assert!(
        !text.contains(policy.canonicalize().unwrap().to_str().unwrap()),
        "the component names the policy's folder"
    );
    assert!(
        !policy.join(".journey/stage").exists(),
        "the staging folder is left behind"
    );

    let tested = succeeded(&author.run(&["policy", "test", "re-referral-alert"]));
    assert!(tested.contains("re-referral-alert 0.1.0"), "{tested}");
    assert!(tested.contains("2 of 2 example cases passed"), "{tested}");

    // The rules' tests and the example cases, natively, where pytest is installed.
    let pytest = Path::new("python3");
    let has_pytest = author
        .run_in(pytest, &["-m", "pytest", "--version"], &policy)
        .status
        .success();
    if has_pytest {
        let unit = author.run_in(pytest, &["-m", "pytest", "-q", "-p", "no:cacheprovider"], &policy);
        let stdout = String::from_utf8_lossy(&unit.stdout);
        assert!(
            unit.status.success(),
            "{stdout}\n{}",
            String::from_utf8_lossy(&unit.stderr)
        );
        assert!(stdout.contains("5 passed"), "{stdout}");
    } else {
        eprintln!("pytest is not installed for python3: the native tests were not run");
    }
    eprintln!(
        "checkout hidden by a mount namespace: {}",
        if author.namespace { "yes" } else { "no" }
    );
}
