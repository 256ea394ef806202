//! The Rust policy SDK this binary carries, written out beside a new policy, so that an author who has only
//! the `journey` binary (not Journey's source) can build a policy against the contract this binary runs.
//!
//! Every file is embedded from where it lives in the repository (the SDK's sources, the WIT contract its
//! bindings are generated from, the calendar data its testing helpers read), from the one list [`FILES`];
//! a test fails when a file of `plugins/sdk/src` or `plugins/wit`, or a file an embedded source includes,
//! is missing from it. The SDK's `Cargo.toml` is written from `plugins/sdk/Cargo.toml` with what it takes
//! from the workspace made concrete: the package fields, and each dependency at the version in the
//! workspace's `Cargo.lock` (what Journey itself is built and tested with).

use std::path::Path;

use anyhow::{Context, bail};

/// The folder, inside the policy's, that the SDK is written to.
pub const SDK_DIR: &str = "sdk";
/// The crate's folder inside [`SDK_DIR`]: the policy's `Cargo.toml` depends on `sdk/journey-policy-sdk`.
pub const CRATE_DIR: &str = "journey-policy-sdk";

/// One embedded file: where it is written inside [`SDK_DIR`], where it lives in the repository (relative
/// to `plugins/`), and its text.
struct SdkFile {
    written: &'static str,
    source: &'static str,
    text: &'static str,
}

/// Embeds each file from `plugins/<source>`, to be written to `sdk/<written>`.
macro_rules! embed {
    ($($written:literal from $source:literal),* $(,)?) => {
        &[$(SdkFile {
            written: $written,
            source: $source,
            text: include_str!(concat!("../../../plugins/", $source)),
        }),*]
    };
}

/// Every file of the SDK. The written layout mirrors `plugins/` (the crate in a folder beside `wit/` and
/// `data/`), so that the sources' own relative paths (`generate!`'s `../wit/…`, the testing helpers'
/// `../../data/…`) resolve unchanged, inside the policy's folder.
const FILES: &[SdkFile] = embed![
    "journey-policy-sdk/src/calendar.rs" from "sdk/src/calendar.rs",
    "journey-policy-sdk/src/date.rs" from "sdk/src/date.rs",
    "journey-policy-sdk/src/input.rs" from "sdk/src/input.rs",
    "journey-policy-sdk/src/journey.rs" from "sdk/src/journey.rs",
    "journey-policy-sdk/src/lib.rs" from "sdk/src/lib.rs",
    "journey-policy-sdk/src/output.rs" from "sdk/src/output.rs",
    "journey-policy-sdk/src/testing.rs" from "sdk/src/testing.rs",
    // The contract the SDK generates its bindings from, and the earlier one Journey still runs: the
    // author reads the contract here.
    "wit/policy-2.0.0.wit" from "wit/policy-2.0.0.wit",
    "wit/policy.wit" from "wit/policy.wit",
    // The bank holidays `journey_policy_sdk::testing` builds native test inputs with.
    "data/bank-holidays-england-and-wales.json" from "data/bank-holidays-england-and-wales.json",
];

/// The SDK's manifest, and the workspace's, whose fields and dependency versions it inherits.
const SDK_MANIFEST: &str = include_str!("../../../plugins/sdk/Cargo.toml");
const WORKSPACE_MANIFEST: &str = include_str!("../../../Cargo.toml");
const WORKSPACE_LOCK: &str = include_str!("../../../Cargo.lock");

/// The contract version the SDK implements (its `CONTRACT_VERSION`, which the SDK's own test holds equal to
/// the WIT package's version).
pub fn contract_version() -> anyhow::Result<&'static str> {
    let lib = FILES
        .iter()
        .find(|f| f.source == "sdk/src/lib.rs")
        .context("the SDK's lib.rs is not embedded")?;
    let marker = "pub const CONTRACT_VERSION: &str = \"";
    let start = lib
        .text
        .find(marker)
        .context("the SDK's lib.rs declares no CONTRACT_VERSION")?
        + marker.len();
    let len = lib.text[start..]
        .find('"')
        .context("the SDK's CONTRACT_VERSION is not a string literal")?;
    Ok(&lib.text[start..start + len])
}

/// The SDK's version: Journey's, the workspace's package version.
pub fn sdk_version() -> anyhow::Result<String> {
    let workspace: toml::Table = toml::from_str(WORKSPACE_MANIFEST)?;
    workspace
        .get("workspace")
        .and_then(|w| w.get("package"))
        .and_then(|p| p.get("version"))
        .and_then(|v| v.as_str())
        .map(str::to_owned)
        .context("the workspace's Cargo.toml has no [workspace.package] version")
}

/// Writes the SDK into `<policy>/sdk/`; returns the crate's path relative to the policy's folder.
pub fn write(policy: &Path) -> anyhow::Result<String> {
    let root = policy.join(SDK_DIR);
    for file in FILES {
        let path = root.join(file.written);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, file.text).with_context(|| format!("writing {}", path.display()))?;
    }
    std::fs::write(root.join(CRATE_DIR).join("Cargo.toml"), manifest()?)?;
    std::fs::write(root.join("README.md"), readme()?)?;
    Ok(format!("{SDK_DIR}/{CRATE_DIR}"))
}

fn readme() -> anyhow::Result<String> {
    let (version, contract) = (sdk_version()?, contract_version()?);
    Ok(format!(
        "# journey-policy-sdk {version}, contract journey:policy@{contract}\n\
         \n\
         The Rust SDK for Journey policies, written here by `journey policy new` (Journey {version}). It builds\n\
         components that implement the contract `journey:policy@{contract}` (`wit/policy-{contract}.wit`, which\n\
         documents every field), and Journey {version} runs them.\n\
         \n\
         - `journey-policy-sdk/`: the crate your policy depends on (`cargo doc -p journey-policy-sdk --open`).\n\
         - `wit/`: the contract (and `policy.wit`, the earlier `journey:policy@1.0.0`, which Journey still runs).\n\
         - `data/`: the England and Wales bank holidays that `journey_policy_sdk::testing` builds test inputs with.\n\
         \n\
         Nothing here refers to Journey's source. Do not edit these files: a policy's bytes are its version. To\n\
         take the SDK of another Journey release, run that release's `journey policy new` in an empty folder and\n\
         copy its `sdk/` folder over this one.\n"
    ))
}

/// `plugins/sdk/Cargo.toml` with everything it inherits from the workspace made concrete, so that it builds
/// in a policy's folder with no Journey workspace above it.
pub fn manifest() -> anyhow::Result<String> {
    let sdk: toml::Table = toml::from_str(SDK_MANIFEST).context("parsing plugins/sdk/Cargo.toml")?;
    let workspace: toml::Table = toml::from_str(WORKSPACE_MANIFEST).context("parsing Cargo.toml")?;
    let workspace = workspace
        .get("workspace")
        .and_then(|w| w.as_table())
        .context("Cargo.toml has no [workspace]")?;
    let lock: toml::Table = toml::from_str(WORKSPACE_LOCK).context("parsing Cargo.lock")?;

    let mut out = format!(
        "# Written by `journey policy new` from Journey {}: the Rust SDK for contract journey:policy@{}.\n\
         # Its dependencies are at the versions Journey is built and tested with.\n\n[package]\n",
        sdk_version()?,
        contract_version()?
    );
    let package = sdk
        .get("package")
        .and_then(|p| p.as_table())
        .context("plugins/sdk/Cargo.toml has no [package]")?;
    // The name and version first, as a reader expects them.
    let mut keys: Vec<&String> = package.keys().collect();
    keys.sort_by_key(|k| (k.as_str() != "name", k.as_str() != "version"));
    for key in keys {
        let value = &package[key];
        let value = if inherits(value) {
            workspace
                .get("package")
                .and_then(|p| p.get(key))
                .with_context(|| format!("package.{key}: inherited, but [workspace.package] has no {key}"))?
        } else {
            value
        };
        out += &format!("{key} = {value}\n");
    }
    out += &format!(
        "\n# Which Journey this SDK came from, and the contract its components implement.\n\
         [package.metadata.journey]\njourney = \"{}\"\ncontract = \"journey:policy@{}\"\n",
        sdk_version()?,
        contract_version()?
    );

    for section in ["dependencies", "build-dependencies", "dev-dependencies"] {
        let Some(deps) = sdk.get(section).and_then(|d| d.as_table()) else {
            continue;
        };
        out += &format!("\n[{section}]\n");
        for (name, spec) in deps {
            out += &format!("{name} = {}\n", concrete(name, spec, workspace, &lock)?);
        }
    }

    if let Some(lints) = sdk.get("lints").and_then(|l| l.as_table()) {
        for (tool, rules) in lints {
            let rules = rules.as_table().with_context(|| {
                format!("lints.{tool}: the SDK's lints must be its own, not the workspace's")
            })?;
            out += &format!("\n[lints.{tool}]\n");
            for (rule, level) in rules {
                out += &format!("{rule} = {level}\n");
            }
        }
    }
    for key in sdk.keys() {
        if !matches!(
            key.as_str(),
            "package" | "dependencies" | "build-dependencies" | "dev-dependencies" | "lints"
        ) {
            bail!("plugins/sdk/Cargo.toml: [{key}] is not carried into the SDK written beside a policy");
        }
    }
    Ok(out)
}

/// `{ workspace = true }`: a field taken from the workspace.
fn inherits(value: &toml::Value) -> bool {
    value
        .as_table()
        .and_then(|t| t.get("workspace"))
        .and_then(|w| w.as_bool())
        == Some(true)
}

/// A dependency of the SDK as an inline table with a concrete version: the workspace's entry (its features
/// and default features, and the member's added features) at the version its `Cargo.lock` resolved.
fn concrete(
    name: &str,
    spec: &toml::Value,
    workspace: &toml::Table,
    lock: &toml::Table,
) -> anyhow::Result<toml::Value> {
    let own = match spec {
        toml::Value::String(_) => bail!("dependencies.{name}: give it in the workspace's Cargo.toml"),
        toml::Value::Table(t) => t,
        _ => bail!("dependencies.{name}: not a dependency specification"),
    };
    if !inherits(spec) {
        bail!("dependencies.{name}: the SDK's dependencies must come from the workspace");
    }
    let mut table = match workspace.get("dependencies").and_then(|d| d.get(name)) {
        Some(toml::Value::String(version)) => {
            let mut t = toml::Table::new();
            t.insert("version".into(), version.clone().into());
            t
        }
        Some(toml::Value::Table(t)) => t.clone(),
        _ => bail!("dependencies.{name}: inherited, but [workspace.dependencies] has no {name}"),
    };
    if table.contains_key("path") || table.contains_key("git") {
        bail!("dependencies.{name}: only registry dependencies can be written beside a policy");
    }
    let requirement = table
        .get("version")
        .and_then(|v| v.as_str())
        .with_context(|| format!("workspace.dependencies.{name}: no version"))?;
    let locked = locked_version(lock, name, requirement)?;
    table.insert("version".into(), locked.into());
    for (key, value) in own {
        match key.as_str() {
            "workspace" => {}
            "features" => {
                let mut features = table
                    .get("features")
                    .and_then(|f| f.as_array())
                    .cloned()
                    .unwrap_or_default();
                for feature in value.as_array().into_iter().flatten() {
                    if !features.contains(feature) {
                        features.push(feature.clone());
                    }
                }
                table.insert("features".into(), features.into());
            }
            _ => {
                table.insert(key.clone(), value.clone());
            }
        }
    }
    Ok(toml::Value::Table(table))
}

/// The version of `name` in the lock file that satisfies `requirement`, a caret requirement such as `"1"` or
/// `"0.61"` (the only form the workspace uses for the SDK's dependencies).
fn locked_version(lock: &toml::Table, name: &str, requirement: &str) -> anyhow::Result<String> {
    let wanted = numbers(requirement).with_context(|| {
        format!("{name}: the requirement {requirement:?} is not of the form 1, 1.2 or 1.2.3")
    })?;
    let mut found = Vec::new();
    for package in lock
        .get("package")
        .and_then(|p| p.as_array())
        .into_iter()
        .flatten()
    {
        if package.get("name").and_then(|n| n.as_str()) != Some(name) {
            continue;
        }
        let Some(version) = package.get("version").and_then(|v| v.as_str()) else {
            continue;
        };
        let Some(have) = numbers(version) else { continue };
        if caret_matches(&wanted, &have) {
            found.push(version.to_owned());
        }
    }
    match found.as_slice() {
        [one] => Ok(one.clone()),
        [] => bail!("{name}: Cargo.lock has no version matching {requirement:?}"),
        _ => bail!("{name}: Cargo.lock has several versions matching {requirement:?}: {found:?}"),
    }
}

/// The numeric components of `1`, `1.2` or `1.2.3` (a pre-release or build suffix is refused).
fn numbers(version: &str) -> Option<Vec<u64>> {
    let parts: Option<Vec<u64>> = version.split('.').map(|p| p.parse().ok()).collect();
    parts.filter(|p| (1..=3).contains(&p.len()))
}

/// Cargo's caret rule: the same left-most non-zero component (and everything before it), and not older.
fn caret_matches(wanted: &[u64], have: &[u64]) -> bool {
    let have = [
        have.first().copied().unwrap_or(0),
        have.get(1).copied().unwrap_or(0),
        have.get(2).copied().unwrap_or(0),
    ];
    // The components that must be equal: up to and including the first non-zero one that was given.
    let fixed = wanted
        .iter()
        .position(|&n| n != 0)
        .map_or(wanted.len(), |i| i + 1);
    wanted[..fixed] == have[..fixed] && have[..wanted.len()] >= *wanted
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;
    use std::path::PathBuf;

    fn plugins() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins")
    }

    fn files_under(dir: &Path, base: &Path, into: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                files_under(&path, base, into);
            } else {
                into.insert(
                    path.strip_prefix(base)
                        .unwrap()
                        .to_string_lossy()
                        .replace('\\', "/"),
                );
            }
        }
    }

    /// A file added to the SDK's sources or to the contract's folder, and not to [`FILES`], would be missing
    /// from every policy written by this binary: this fails instead.
    #[test]
    fn every_file_of_the_sdk_and_the_contract_is_embedded() {
        let embedded: BTreeSet<&str> = FILES.iter().map(|f| f.source).collect();
        let mut on_disk = BTreeSet::new();
        files_under(&plugins().join("sdk/src"), &plugins(), &mut on_disk);
        files_under(&plugins().join("wit"), &plugins(), &mut on_disk);
        let missing: Vec<&String> = on_disk
            .iter()
            .filter(|f| !embedded.contains(f.as_str()))
            .collect();
        assert!(
            missing.is_empty(),
            "add these files to FILES in cli/src/policy/sdk.rs: {missing:?}"
        );
        for file in FILES {
            assert_eq!(
                std::fs::read_to_string(plugins().join(file.source)).unwrap(),
                file.text,
                "{}",
                file.source
            );
        }
    }

    /// Every file an embedded source reads at compile time (`include_str!`, `include_bytes!`, and the WIT of
    /// `generate!`) is written too, where the source's relative path finds it.
    #[test]
    fn every_file_the_sdk_includes_is_written_where_its_source_looks() {
        let written: BTreeSet<PathBuf> = FILES.iter().map(|f| PathBuf::from(f.written)).collect();
        let crate_dir = Path::new(CRATE_DIR);
        let mut checked = 0;
        for file in FILES.iter().filter(|f| f.written.ends_with(".rs")) {
            let dir = Path::new(file.written).parent().unwrap();
            for (marker, base) in [
                ("include_str!(\"", dir),
                ("include_bytes!(\"", dir),
                ("path: \"", crate_dir),
            ] {
                for (at, _) in file.text.match_indices(marker) {
                    // `path:` as a field of its own (not the end of `runtime_path:`).
                    let before = file.text[..at].chars().next_back();
                    if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                        continue;
                    }
                    let rest = &file.text[at + marker.len()..];
                    let relative = &rest[..rest.find('"').unwrap()];
                    let target = normalise(&base.join(relative));
                    assert!(
                        written.contains(&target),
                        "{} reads {relative}, which would be {} in the written SDK: embed it",
                        file.source,
                        target.display()
                    );
                    checked += 1;
                }
            }
        }
        // The WIT of `generate!`, the calendar of `testing`, the WIT of lib.rs's own test.
        assert!(checked >= 3, "found only {checked} included files");
    }

    fn normalise(path: &Path) -> PathBuf {
        let mut out = PathBuf::new();
        for part in path.components() {
            match part {
                std::path::Component::ParentDir => assert!(out.pop(), "{} leaves the SDK", path.display()),
                std::path::Component::CurDir => {}
                other => out.push(other),
            }
        }
        out
    }

    #[test]
    fn the_manifest_has_concrete_versions_from_the_lock_and_nothing_from_the_workspace() {
        let text = manifest().unwrap();
        let manifest: toml::Table = toml::from_str(&text).unwrap();
        assert!(!text.contains("workspace"), "{text}");
        let package = manifest["package"].as_table().unwrap();
        assert_eq!(package["name"].as_str(), Some("journey-policy-sdk"));
        assert_eq!(package["version"].as_str(), Some(sdk_version().unwrap().as_str()));
        assert_eq!(package["edition"].as_str(), Some("2024"));
        assert_eq!(
            package["metadata"]["journey"]["contract"].as_str(),
            Some(format!("journey:policy@{}", contract_version().unwrap()).as_str())
        );
        // Each dependency at the version Journey's Cargo.lock has, and the one the shipped policies are
        // built with (the guest workspace's lock), with the workspace's features.
        let guests: toml::Table =
            toml::from_str(&std::fs::read_to_string(plugins().join("guests/Cargo.lock")).unwrap()).unwrap();
        let deps = manifest["dependencies"].as_table().unwrap();
        assert_eq!(
            deps.keys().collect::<Vec<_>>(),
            ["serde", "serde_json", "wit-bindgen"]
        );
        for (name, spec) in deps {
            assert!(
                spec.get("path").is_none() && spec.get("git").is_none(),
                "{name}: {spec}"
            );
            let version = spec["version"].as_str().unwrap();
            assert_eq!(numbers(version).map(|n| n.len()), Some(3), "{name} {version}");
            let in_guests = guests["package"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["name"].as_str() == Some(name) && p["version"].as_str() == Some(version));
            assert!(
                in_guests,
                "{name} {version} is not what the shipped policies are built with"
            );
        }
        assert_eq!(
            deps["serde"]["features"].as_array().unwrap(),
            &vec![toml::Value::from("derive")]
        );
        assert_eq!(deps["wit-bindgen"]["default-features"].as_bool(), Some(false));
        assert_eq!(manifest["lints"]["rust"]["unsafe_code"].as_str(), Some("deny"));
    }

    #[test]
    fn the_contract_version_is_the_wit_package_it_generates_from() {
        let version = contract_version().unwrap();
        let wit = FILES
            .iter()
            .find(|f| f.written == format!("wit/policy-{version}.wit"))
            .expect("the contract's WIT is embedded");
        assert!(wit.text.contains(&format!("package journey:policy@{version};")));
    }

    #[test]
    fn caret_requirements_match_as_cargo_matches_them() {
        let yes = |req: &str, v: &str| caret_matches(&numbers(req).unwrap(), &numbers(v).unwrap());
        assert!(yes("1", "1.0.229"));
        assert!(!yes("1", "2.0.0"));
        assert!(yes("0.61", "0.61.1"));
        assert!(!yes("0.61", "0.57.1"));
        assert!(!yes("0.61", "0.62.0"));
        assert!(yes("1.2", "1.9.0"));
        assert!(!yes("1.2", "1.1.9"));
        assert!(yes("0.0.3", "0.0.3"));
        assert!(!yes("0.0.3", "0.0.4"));
        assert!(!yes("1.2.3", "1.2.2"));
        assert!(numbers("1.0.0-rc.1").is_none());
    }
}
