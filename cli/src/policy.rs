//! `journey policy new | build | test`: writing a policy, from an empty folder to a component whose example
//! cases pass in Journey's own sandbox — with nothing but this binary and the Rust toolchain.
//!
//! (Deploying, listing, activating, evaluating, dry runs and replays go through the registry: see
//! `policy_registry.rs`.)

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};
use journey_plugins::registry::{ExampleCase, run_example};
use journey_plugins::{Calendar, Host, HostConfig};

mod python;
mod sdk;

/// The language a new policy is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    Rust,
    Python,
}

const TEMPLATE_CARGO: &str = include_str!("../templates/policy/Cargo.toml.tmpl");
const TEMPLATE_LIB: &str = include_str!("../templates/policy/src/lib.rs.tmpl");
const TEMPLATE_PARAMETERS: &str = include_str!("../templates/policy/parameters.json");
const TEMPLATE_EXAMPLES: [(&str, &str); 2] = [
    (
        "01-re-referral.json",
        include_str!("../templates/policy/examples/01-re-referral.json"),
    ),
    (
        "02-years-apart.json",
        include_str!("../templates/policy/examples/02-years-apart.json"),
    ),
];

/// A policy name: what `about()` says and the crate is called.
fn check_name(name: &str) -> anyhow::Result<()> {
    let valid = name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.ends_with('-');
    if !valid {
        bail!(
            "name: must be 1 to 64 lower-case letters, digits and '-', starting with a letter (got {name:?})"
        );
    }
    // The policy's crate and the SDK's share a workspace, where two packages cannot have one name.
    if name == "journey-policy-sdk" {
        bail!("name: journey-policy-sdk is the SDK's own crate; choose another name");
    }
    Ok(())
}

/// `journey policy new <dir>`: a working policy crate (an alert for re-referrals) with parameters and
/// example cases, ready to build and test, and the SDK this binary carries in `<dir>/sdk/` (or, with
/// `--sdk`, a dependency on another copy of the SDK: Journey's own developers point at `plugins/sdk`).
pub fn new(dir: &Path, name: Option<String>, sdk: Option<PathBuf>, lang: Lang) -> anyhow::Result<()> {
    let name = match name {
        Some(name) => name,
        None => dir
            .file_name()
            .and_then(|n| n.to_str())
            .context("cannot take a policy name from the folder; pass --name")?
            .to_owned(),
    };
    check_name(&name)?;
    if dir.exists() && dir.read_dir()?.next().is_some() {
        bail!("{} exists and is not empty: choose a new folder", dir.display());
    }
    if lang == Lang::Python {
        if sdk.is_some() {
            bail!(
                "--sdk: only for a Rust policy (a Python policy names its SDK in pyproject.toml's [tool.journey] sdk)"
            );
        }
        python::new(dir, &name, TEMPLATE_PARAMETERS, &TEMPLATE_EXAMPLES)?;
        println!("Created policy {name} (Python) in {}", dir.display());
        println!(
            "with journey_policy {} (contract journey:policy@{}) in {}",
            env!("CARGO_PKG_VERSION"),
            python::contract_version()?,
            dir.join(python::PACKAGE_DIR).display()
        );
        println!(
            "Next: journey policy build {0} && journey policy test {0} (and `python -m pytest` in {0})",
            dir.display()
        );
        return Ok(());
    }
    let vendored = sdk.is_none();
    let sdk = match sdk {
        Some(sdk) => {
            let sdk = sdk
                .canonicalize()
                .with_context(|| format!("--sdk: no policy SDK at {}", sdk.display()))?;
            if !sdk.join("Cargo.toml").is_file() {
                bail!(
                    "--sdk: {} has no Cargo.toml (give the SDK crate's folder)",
                    sdk.display()
                );
            }
            sdk.display().to_string()
        }
        None => sdk::write(dir)?,
    };
    let fill = |text: &str| text.replace("{{name}}", &name).replace("{{sdk}}", &sdk);
    std::fs::create_dir_all(dir.join("src"))?;
    std::fs::create_dir_all(dir.join("examples"))?;
    std::fs::write(dir.join("Cargo.toml"), fill(TEMPLATE_CARGO))?;
    std::fs::write(dir.join("src/lib.rs"), fill(TEMPLATE_LIB))?;
    std::fs::write(dir.join("parameters.json"), TEMPLATE_PARAMETERS)?;
    for (file, text) in TEMPLATE_EXAMPLES {
        std::fs::write(dir.join("examples").join(file), text)?;
    }
    println!("Created policy {name} in {}", dir.display());
    if vendored {
        println!(
            "with journey-policy-sdk {} (contract journey:policy@{}) in {}",
            sdk::sdk_version()?,
            sdk::contract_version()?,
            dir.join(sdk::SDK_DIR).display()
        );
    }
    println!(
        "Next: journey policy build {0} && journey policy test {0}",
        dir.display()
    );
    Ok(())
}

/// `journey policy build <dir>`: `cargo build --release --target wasm32-wasip2` for a Rust policy, or
/// componentize-py for a Python one (a `pyproject.toml` with `[tool.journey]`), returning the component.
pub fn build(dir: &Path) -> anyhow::Result<PathBuf> {
    if python::is_python_policy(dir) {
        return python::build(dir);
    }
    let manifest = dir.join("Cargo.toml");
    let text =
        std::fs::read_to_string(&manifest).with_context(|| format!("reading {}", manifest.display()))?;
    let package: toml::Table =
        toml::from_str(&text).with_context(|| format!("parsing {}", manifest.display()))?;
    let crate_name = package
        .get("package")
        .and_then(|p| p.get("name"))
        .and_then(|n| n.as_str())
        .with_context(|| format!("{} has no [package] name", manifest.display()))?
        .replace('-', "_");
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(dir)
        .args(["build", "--release", "--target", "wasm32-wasip2"])
        .status()
        .context("running cargo (is the Rust toolchain installed?)")?;
    if !status.success() {
        bail!(
            "cargo build failed ({status}); if the wasm32-wasip2 target is missing: rustup target add wasm32-wasip2"
        );
    }
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| dir.join("target"));
    let wasm = target_dir.join(format!("wasm32-wasip2/release/{crate_name}.wasm"));
    if !wasm.is_file() {
        bail!("the build did not produce {}", wasm.display());
    }
    println!("{}", wasm.display());
    Ok(wasm)
}

/// Where a policy's component, parameters and examples are: a crate folder (built first) or a `.wasm` file
/// with `--parameters` and `--examples`.
pub struct Bundle {
    pub component: Vec<u8>,
    pub parameters: serde_json::Value,
    pub examples: Vec<ExampleCase>,
}

pub fn bundle(path: &Path, parameters: Option<&Path>, examples: Option<&Path>) -> anyhow::Result<Bundle> {
    let (wasm, crate_dir) = if path.is_dir() {
        (build(path)?, Some(path.to_path_buf()))
    } else {
        (path.to_path_buf(), None)
    };
    let component = std::fs::read(&wasm).with_context(|| format!("reading {}", wasm.display()))?;
    let parameters_path = parameters
        .map(Path::to_path_buf)
        .or_else(|| crate_dir.as_ref().map(|d| d.join("parameters.json")));
    let parameters = match parameters_path {
        Some(p) if p.is_file() => serde_json::from_str(&std::fs::read_to_string(&p)?)
            .with_context(|| format!("{}: not JSON", p.display()))?,
        _ => serde_json::json!({}),
    };
    let examples_dir = examples
        .map(Path::to_path_buf)
        .or_else(|| crate_dir.as_ref().map(|d| d.join("examples")));
    let mut cases = Vec::new();
    if let Some(dir) = examples_dir.filter(|d| d.is_dir()) {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        for file in files {
            let text = std::fs::read_to_string(&file)?;
            let case: ExampleCase = serde_json::from_str(&text)
                .with_context(|| format!("{}: not an example case", file.display()))?;
            cases.push(case);
        }
    }
    Ok(Bundle {
        component,
        parameters,
        examples: cases,
    })
}

/// `journey policy test <dir|wasm>`: loads the component in the sandbox (the contract checks a deployment
/// makes) and runs every example case; fails if any fails.
pub fn test(path: &Path, parameters: Option<&Path>, examples: Option<&Path>) -> anyhow::Result<()> {
    let bundle = bundle(path, parameters, examples)?;
    let host = Host::new(HostConfig::default())?;
    let policy = host.load(&bundle.component)?;
    let info = policy.info();
    println!(
        "{} {} ({:?}), sha256 {}",
        info.name,
        info.version,
        info.kind,
        policy.digest()
    );
    if bundle.examples.is_empty() {
        bail!("no example cases: a version cannot be activated without them (put them in examples/*.json)");
    }
    let calendar = Calendar::england_and_wales();
    let mut failed = 0;
    for case in &bundle.examples {
        let outcome = run_example(&host, &policy, calendar, &bundle.parameters, case);
        match &outcome.failure {
            None => println!("  pass  {} (fuel {})", case.name, outcome.fuel_used.unwrap_or(0)),
            Some(f) => {
                failed += 1;
                println!("  FAIL  {} at `{}`: {}", case.name, f.path, f.problem);
            }
        }
    }
    println!(
        "{} of {} example cases passed",
        bundle.examples.len() - failed,
        bundle.examples.len()
    );
    if failed > 0 {
        bail!("{failed} example case(s) failed");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_name;

    #[test]
    fn a_policy_name_is_lower_case_with_hyphens_and_not_the_sdk() {
        assert!(check_name("re-referrals").is_ok());
        assert!(check_name("Re-referrals").is_err());
        assert!(check_name("re-referrals-").is_err());
        let sdk = check_name("journey-policy-sdk").unwrap_err().to_string();
        assert!(
            sdk.contains("name: journey-policy-sdk is the SDK's own crate"),
            "{sdk}"
        );
    }
}
