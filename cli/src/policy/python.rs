//! Policies written in Python: the folder `journey policy new --lang python` makes, the SDK (`journey_policy`)
//! this binary carries and writes beside it, and `journey policy build` with `componentize-py`.
//!
//! `componentize-py` is used at one pinned version ([`COMPONENTIZE_PY`]), installed from PyPI on first use
//! into a virtual environment Journey manages in the user's cache folder (`$JOURNEY_CACHE_DIR`, else
//! `$XDG_CACHE_HOME/journey`, else `~/.cache/journey`), with the author's `python3` (or `$JOURNEY_PYTHON`).
//! A build stages the policy's modules, the SDK and the contract in `<policy>/.journey/` with fixed file
//! times, so that nothing is written into the author's sources and the build does not depend on when the
//! files were last touched.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

/// The componentize-py release every Python policy is built with. A new pin is a change to the bytes of
/// every Python policy built afterwards: change it deliberately, with the tests.
pub const COMPONENTIZE_PY: &str = "0.25.1";

/// The contract the SDK implements, and the world componentize-py builds.
const WIT_FILE: &str = "policy-2.0.0.wit";
const WORLD: &str = "policy-plugin";

/// The module componentize-py is pointed at: it exports the contract's `policy` interface for the author's
/// module, through the SDK.
const ENTRY_MODULE: &str = "journey_policy_component";

/// The folder, inside the policy's, that the SDK is written to; the package is in `python/`, beside the
/// contract in `wit/` and the calendar data in `data/` (the layout of `plugins/` in Journey's repository, so
/// that the SDK's own relative paths resolve unchanged).
pub const SDK_DIR: &str = "sdk";
pub const PACKAGE_DIR: &str = "sdk/python";

struct SdkFile {
    written: &'static str,
    text: &'static str,
}

macro_rules! embed {
    ($($written:literal from $source:literal),* $(,)?) => {
        &[$(SdkFile { written: $written, text: include_str!(concat!("../../../plugins/", $source)) }),*]
    };
}

/// Every file of the Python SDK, and where it is written inside [`SDK_DIR`]. A test fails when a file of
/// `plugins/sdk-python/journey_policy` is missing from this list.
const FILES: &[SdkFile] = embed![
    "python/journey_policy/__init__.py" from "sdk-python/journey_policy/__init__.py",
    "python/journey_policy/_guest.py" from "sdk-python/journey_policy/_guest.py",
    "python/journey_policy/content.py" from "sdk-python/journey_policy/content.py",
    "python/journey_policy/dates.py" from "sdk-python/journey_policy/dates.py",
    "python/journey_policy/output.py" from "sdk-python/journey_policy/output.py",
    "python/journey_policy/testing.py" from "sdk-python/journey_policy/testing.py",
    "python/journey_policy/types.py" from "sdk-python/journey_policy/types.py",
    "wit/policy-2.0.0.wit" from "wit/policy-2.0.0.wit",
    "data/bank-holidays-england-and-wales.json" from "data/bank-holidays-england-and-wales.json",
];

const CONTRACT_WIT: &str = include_str!("../../../plugins/wit/policy-2.0.0.wit");

const TEMPLATE_POLICY: &str = include_str!("../../templates/policy-python/policy.py.tmpl");
const TEMPLATE_PYPROJECT: &str = include_str!("../../templates/policy-python/pyproject.toml.tmpl");
const TEMPLATE_TEST: &str = include_str!("../../templates/policy-python/tests/test_policy.py");
const TEMPLATE_GITIGNORE: &str = include_str!("../../templates/policy-python/gitignore");

/// The SDK's contract version (`CONTRACT_VERSION` in its `__init__.py`).
pub fn contract_version() -> anyhow::Result<&'static str> {
    let init = FILES
        .iter()
        .find(|f| f.written.ends_with("journey_policy/__init__.py"))
        .context("the Python SDK's __init__.py is not embedded")?;
    let marker = "CONTRACT_VERSION = \"";
    let start = init
        .text
        .find(marker)
        .context("the Python SDK declares no CONTRACT_VERSION")?
        + marker.len();
    let len = init.text[start..]
        .find('"')
        .context("the Python SDK's CONTRACT_VERSION is not a string")?;
    Ok(&init.text[start..start + len])
}

/// Writes a new Python policy into `dir` (which exists and is empty): the rules, the parameters and
/// example cases (`examples` is the Rust template's, the same re-referral cases), a pytest test, and the SDK.
pub fn new(dir: &Path, name: &str, parameters: &str, examples: &[(&str, &str)]) -> anyhow::Result<()> {
    let fill = |text: &str| text.replace("{{name}}", name);
    std::fs::create_dir_all(dir.join("examples"))?;
    std::fs::create_dir_all(dir.join("tests"))?;
    std::fs::write(dir.join("policy.py"), fill(TEMPLATE_POLICY))?;
    std::fs::write(dir.join("pyproject.toml"), fill(TEMPLATE_PYPROJECT))?;
    std::fs::write(dir.join("tests/test_policy.py"), TEMPLATE_TEST)?;
    std::fs::write(dir.join(".gitignore"), TEMPLATE_GITIGNORE)?;
    std::fs::write(dir.join("parameters.json"), parameters)?;
    for (file, text) in examples {
        std::fs::write(dir.join("examples").join(file), text)?;
    }
    let root = dir.join(SDK_DIR);
    for file in FILES {
        let path = root.join(file.written);
        std::fs::create_dir_all(path.parent().expect("a file in a folder"))?;
        std::fs::write(&path, file.text).with_context(|| format!("writing {}", path.display()))?;
    }
    std::fs::write(root.join("README.md"), readme()?)?;
    Ok(())
}

fn readme() -> anyhow::Result<String> {
    let (version, contract) = (env!("CARGO_PKG_VERSION"), contract_version()?);
    Ok(format!(
        "# journey_policy {version}, contract journey:policy@{contract}\n\
         \n\
         The Python SDK for Journey policies, written here by `journey policy new --lang python` (Journey\n\
         {version}). `journey policy build` makes components that implement `journey:policy@{contract}`\n\
         (`wit/policy-{contract}.wit`, which documents every field) with componentize-py {COMPONENTIZE_PY}.\n\
         \n\
         - `python/journey_policy/`: the package your policy imports (its types carry type hints for editors).\n\
         - `wit/`: the contract.\n\
         - `data/`: the England and Wales bank holidays `journey_policy.testing` builds test inputs with.\n\
         \n\
         Nothing here refers to Journey's source. Do not edit these files: a policy's bytes are its version.\n"
    ))
}

/// Whether `dir` holds a Python policy: a `pyproject.toml` with a `[tool.journey]` table.
pub fn is_python_policy(dir: &Path) -> bool {
    config(dir).is_ok_and(|c| c.is_some())
}

/// What `[tool.journey]` in `pyproject.toml` says.
struct Config {
    name: String,
    module: String,
    sdk: PathBuf,
}

fn config(dir: &Path) -> anyhow::Result<Option<Config>> {
    let path = dir.join("pyproject.toml");
    if !path.is_file() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let table: toml::Table = toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let Some(journey) = table.get("tool").and_then(|t| t.get("journey")) else {
        return Ok(None);
    };
    let field = |key: &str| -> anyhow::Result<String> {
        journey
            .get(key)
            .and_then(|v| v.as_str())
            .map(str::to_owned)
            .with_context(|| format!("{}: [tool.journey] {key}: must be a string", path.display()))
    };
    let name = table
        .get("project")
        .and_then(|p| p.get("name"))
        .and_then(|n| n.as_str())
        .with_context(|| format!("{}: [project] name: must be a string", path.display()))?
        .to_owned();
    let module = field("module")?;
    if module.is_empty() || !module.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        bail!(
            "{}: [tool.journey] module: must be a Python module name (letters, digits and '_'), got {module:?}",
            path.display()
        );
    }
    Ok(Some(Config {
        name,
        module,
        sdk: dir.join(field("sdk")?),
    }))
}

/// Where Journey keeps the tools it installs for building Python policies.
fn cache_dir() -> anyhow::Result<PathBuf> {
    if let Some(dir) = std::env::var_os("JOURNEY_CACHE_DIR").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir).join("journey"));
    }
    let home = std::env::var_os("HOME")
        .context("cannot find a cache folder: set JOURNEY_CACHE_DIR (or HOME or XDG_CACHE_HOME)")?;
    Ok(PathBuf::from(home).join(".cache/journey"))
}

/// The interpreter of the virtual environment holding the pinned `componentize-py`, installed on first use
/// (made in a temporary folder and renamed into place, so that an interrupted installation is never taken
/// for one; the tool is run as `python -c`, because a venv's scripts name the folder they were made in).
pub fn componentize_py() -> anyhow::Result<PathBuf> {
    let venv = cache_dir()?.join(format!("componentize-py-{COMPONENTIZE_PY}"));
    let tool = venv.join("bin/python");
    if tool.exists() {
        return Ok(tool);
    }
    let python = std::env::var("JOURNEY_PYTHON").unwrap_or_else(|_| "python3".into());
    eprintln!(
        "installing componentize-py {COMPONENTIZE_PY} from PyPI into {} (once)",
        venv.display()
    );
    let parent = venv.parent().expect("the venv is in the cache folder");
    std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    let staging = parent.join(format!(
        ".componentize-py-{COMPONENTIZE_PY}.{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&staging);
    let made = Command::new(&python)
        .args(["-m", "venv"])
        .arg(&staging)
        .status()
        .with_context(|| format!("running {python} (Python 3.11 or later is needed; set JOURNEY_PYTHON)"))?;
    if !made.success() {
        bail!("{python} -m venv {} failed ({made})", staging.display());
    }
    let installed = Command::new(staging.join("bin/python"))
        .args(["-m", "pip", "install", "--disable-pip-version-check", "--quiet"])
        .arg(format!("componentize-py=={COMPONENTIZE_PY}"))
        .status()
        .context("running pip")?;
    if !installed.success() {
        let _ = std::fs::remove_dir_all(&staging);
        bail!("pip could not install componentize-py=={COMPONENTIZE_PY} ({installed}); is PyPI reachable?");
    }
    match std::fs::rename(&staging, &venv) {
        Ok(()) => {}
        // Another build installed it meanwhile.
        Err(_) if tool.exists() => {
            let _ = std::fs::remove_dir_all(&staging);
        }
        Err(e) => return Err(e).with_context(|| format!("moving {} into place", staging.display())),
    }
    Ok(tool)
}

/// `journey policy build` for a Python policy: stages the policy's top-level modules, the SDK, the contract
/// and the shipped parameters in `<dir>/.journey/stage`, runs componentize-py, and returns
/// `<dir>/.journey/<name>.wasm`.
pub fn build(dir: &Path) -> anyhow::Result<PathBuf> {
    // componentize-py runs in the staging folder: every path it is given is absolute.
    let dir = &dir
        .canonicalize()
        .with_context(|| format!("no policy folder at {}", dir.display()))?;
    let config = config(dir)?.with_context(|| format!("{} is not a Python policy", dir.display()))?;
    let module_file = dir.join(format!("{}.py", config.module));
    if !module_file.is_file() {
        bail!("[tool.journey] module: {} does not exist", module_file.display());
    }
    let sdk_package = config.sdk.join("journey_policy");
    if !sdk_package.join("__init__.py").is_file() {
        bail!(
            "[tool.journey] sdk: no journey_policy package in {}",
            config.sdk.display()
        );
    }
    let tool = componentize_py()?;

    let out_dir = dir.join(".journey");
    let stage = out_dir.join("stage");
    let _ = std::fs::remove_dir_all(&stage);
    let (policy_dir, entry_dir) = (stage.join("policy"), stage.join("entry"));
    std::fs::create_dir_all(&policy_dir)?;
    std::fs::create_dir_all(&entry_dir)?;
    // The policy's own top-level modules (tests and the SDK are not part of the component).
    for entry in std::fs::read_dir(dir)?.flatten() {
        let path = entry.path();
        if path.is_file() && path.extension().is_some_and(|x| x == "py") {
            std::fs::copy(&path, policy_dir.join(entry.file_name()))?;
        }
    }
    copy_py_tree(&sdk_package, &policy_dir.join("journey_policy"))?;
    let parameters = match std::fs::read_to_string(dir.join("parameters.json")) {
        Ok(text) => text,
        Err(_) => "{}".to_string(),
    };
    std::fs::write(
        entry_dir.join("journey_policy_shipped.py"),
        format!(
            "# Written by `journey policy build`: the policy's parameters.json.\nPARAMETERS = {}\n",
            serde_json::to_string(&parameters)?
        ),
    )?;
    std::fs::write(
        entry_dir.join(format!("{ENTRY_MODULE}.py")),
        format!(
            "# Written by `journey policy build`: exports the contract's `policy` interface for `{0}`.\n\
             from componentize_py_types import Err\n\
             from wit_world.exports import policy as _wit\n\
             \n\
             import journey_policy._guest as _guest\n\
             import {0} as _policy\n\
             \n\
             Policy = _guest.export(_policy, _wit, Err)\n",
            config.module
        ),
    )?;
    let wit = stage.join(WIT_FILE);
    std::fs::write(&wit, CONTRACT_WIT)?;
    // The interpreter caches each folder's modification time when it imports from it, and the pre-initialised
    // snapshot keeps that cache: fixed times keep the sources' times out of the component. A file where
    // `__pycache__` would be stops the interpreter writing bytecode into the staged folders (which would
    // change their times mid-build).
    for folder in [&policy_dir, &entry_dir, &policy_dir.join("journey_policy")] {
        std::fs::write(folder.join("__pycache__"), "")?;
    }
    fix_times(&stage)?;

    let wasm = out_dir.join(format!("{}.wasm", config.name));
    let output = Command::new(&tool)
        .current_dir(&stage)
        .args([
            "-c",
            "import sys; from componentize_py import script; sys.argv[0] = 'componentize-py'; sys.exit(script())",
        ])
        .arg("-d")
        .arg(&wit)
        .args(["-w", WORLD, "componentize"])
        .arg("-p")
        .arg(&entry_dir)
        .arg("-p")
        .arg(&policy_dir)
        .arg(ENTRY_MODULE)
        .arg("-o")
        .arg(&wasm)
        // Only the staged folders (and the pinned tool's own environment) reach the guest's path, not an
        // environment the author has activated.
        .env_remove("VIRTUAL_ENV")
        .env_remove("PYTHONPATH")
        .env("PYTHONHASHSEED", "0")
        .output()
        .with_context(|| format!("running {}", tool.display()))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        // componentize-py reports a Python error at import time as a traceback, then its own backtrace.
        let traceback: String = stderr
            .lines()
            .take_while(|l| !l.starts_with("Stack backtrace:"))
            .collect::<Vec<_>>()
            .join("\n");
        bail!(
            "componentize-py could not build {} ({}):\n{}",
            config.name,
            output.status,
            traceback.trim()
        );
    }
    let _ = std::fs::remove_dir_all(&stage);
    if !wasm.is_file() {
        bail!("componentize-py did not produce {}", wasm.display());
    }
    println!("{}", wasm.display());
    Ok(wasm)
}

/// Copies the `.py` files of `from` (and its sub-packages) to `to`.
fn copy_py_tree(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)?.flatten() {
        let path = entry.path();
        if path.is_dir() && entry.file_name() != "__pycache__" {
            copy_py_tree(&path, &to.join(entry.file_name()))?;
        } else if path.extension().is_some_and(|x| x == "py") {
            std::fs::copy(&path, to.join(entry.file_name()))?;
        }
    }
    Ok(())
}

/// Sets every file's and folder's modification time under `dir` to 1980-01-01.
fn fix_times(dir: &Path) -> anyhow::Result<()> {
    let fixed = std::time::UNIX_EPOCH + std::time::Duration::from_secs(315_532_800);
    for entry in std::fs::read_dir(dir)?.flatten() {
        let path = entry.path();
        if path.is_dir() {
            fix_times(&path)?;
        }
        std::fs::File::options()
            .read(true)
            .open(&path)
            .and_then(|f| f.set_modified(fixed))
            .with_context(|| format!("setting the time of {}", path.display()))?;
    }
    std::fs::File::open(dir)
        .and_then(|f| f.set_modified(fixed))
        .with_context(|| format!("setting the time of {}", dir.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every module of the SDK in the repository is written out beside a new policy.
    #[test]
    fn every_module_of_the_python_sdk_is_embedded() {
        let package = Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/sdk-python/journey_policy");
        for entry in std::fs::read_dir(&package).unwrap().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".py") {
                let written = format!("python/journey_policy/{name}");
                assert!(
                    FILES.iter().any(|f| f.written == written),
                    "{name} is not embedded in the binary's Python SDK (cli/src/policy/python.rs FILES)"
                );
            }
        }
        assert_eq!(contract_version().unwrap(), "2.0.0");
        assert!(CONTRACT_WIT.contains("package journey:policy@2.0.0;"));
    }
}
