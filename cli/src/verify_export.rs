//! A child's proof bundle (ADR 10): `journey export` fetches it (the verifiable export of
//! `GET /v1/children/{id}/export`) to a file, and `journey verify-export` checks it offline, against the log
//! key and witnesses the user trusts, never against anything the bundle or the server says about itself.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;
use journey_core::ChildId;
use journey_core::proof::bundle::verify_bundle;
use journey_core::store::StreamExport;
use journey_core::tlog::{Policy, VerifierKey};

use crate::api_client::ApiClient;
use crate::target::{TargetArgs, encode};

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// The child's id.
    child: ChildId,
    /// Where to write the export (JSON).
    #[arg(long)]
    out: PathBuf,
}

/// Fetches one child's export into a file: from a server, its proof bundle (each record's inclusion proof
/// against the latest witnessed checkpoint that covers it); from a data directory, the hash chains only
/// (the proofs need the server's checkpoint configuration). A read of the child's record, access-logged.
pub fn export(args: ExportArgs) -> anyhow::Result<()> {
    let client = ApiClient::open(&args.target)?;
    let bytes = client.get_bytes(&format!("/v1/children/{}/export", encode(args.child.as_str())))?;
    client.close()?;
    let export: StreamExport = serde_json::from_slice(&bytes).context("the answer is not an export")?;
    std::fs::write(&args.out, &bytes).with_context(|| format!("writing {}", args.out.display()))?;
    let proven = export.records.iter().filter(|r| r.tlog_proof.is_some()).count();
    match &export.tlog {
        Some(tlog) => eprintln!(
            "wrote {} records of child {} to {}, {proven} with an inclusion proof: {}",
            export.records.len(),
            export.child_id,
            args.out.display(),
            tlog.summary
        ),
        None => eprintln!(
            "wrote {} records of child {} to {} with their hash links; no inclusion proofs (ask a server that \
             signs checkpoints for them)",
            export.records.len(),
            export.child_id,
            args.out.display()
        ),
    }
    Ok(())
}

#[derive(Debug, Args)]
pub struct VerifyExportArgs {
    /// The export (JSON) to check.
    bundle: PathBuf,
    /// A trust policy (c2sp.org/tlog-policy): `log <vkey>`, `witness <name> <vkey>`, `group`, `quorum`.
    #[arg(long, conflicts_with_all = ["log_key", "witness", "quorum"])]
    policy: Option<PathBuf>,
    /// The log's verifier key (`<origin>+<key id>+<base64>`), instead of a policy file.
    #[arg(long)]
    log_key: Option<String>,
    /// A witness whose cosignatures count, `<name>=<vkey>` (repeat for several).
    #[arg(long, value_name = "NAME=VKEY")]
    witness: Vec<String>,
    /// How many of the witnesses must have cosigned [default: all of them].
    #[arg(long)]
    quorum: Option<usize>,
    /// A later checkpoint to check the bundle's against: `old <size>`, the consistency proof (one base64
    /// hash a line), a blank line, the later signed checkpoint (the body of c2sp.org/tlog-witness's
    /// add-checkpoint).
    #[arg(long)]
    later: Option<PathBuf>,
}

/// The policy the user named, from a file or from the options.
fn policy(args: &VerifyExportArgs) -> anyhow::Result<Policy> {
    if let Some(path) = &args.policy {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the policy {}", path.display()))?;
        return Policy::parse(&text)
            .map_err(|e| anyhow::anyhow!("{e}"))
            .with_context(|| format!("in the policy {}", path.display()));
    }
    let Some(log_key) = &args.log_key else {
        bail!(
            "name the keys to trust: --policy FILE, or --log-key VKEY with --witness NAME=VKEY and --quorum N"
        );
    };
    let log = VerifierKey::parse(log_key).map_err(|e| anyhow::anyhow!("--log-key: {e}"))?;
    let witnesses = args
        .witness
        .iter()
        .map(|w| {
            let (name, vkey) = w
                .split_once('=')
                .with_context(|| format!("--witness {w:?}: write it NAME=VKEY"))?;
            let key = VerifierKey::parse(vkey).map_err(|e| anyhow::anyhow!("--witness {name}: {e}"))?;
            Ok((name.to_owned(), key))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let quorum = args.quorum.unwrap_or(witnesses.len());
    if quorum > witnesses.len() {
        bail!(
            "--quorum {quorum} is more than the {} witnesses named",
            witnesses.len()
        );
    }
    Policy::from_keys(log, witnesses, quorum).map_err(|e| anyhow::anyhow!("{e}"))
}

pub fn run(args: VerifyExportArgs) -> anyhow::Result<()> {
    let policy = policy(&args)?;
    let text = std::fs::read(&args.bundle).with_context(|| format!("reading {}", args.bundle.display()))?;
    let export: StreamExport = serde_json::from_slice(&text)
        .with_context(|| format!("{} is not an export", args.bundle.display()))?;
    let later = match &args.later {
        Some(path) => Some(std::fs::read(path).with_context(|| format!("reading {}", path.display()))?),
        None => None,
    };
    let report = verify_bundle(&export, &policy, later.as_deref())
        .with_context(|| format!("{} does not verify", args.bundle.display()))?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}
