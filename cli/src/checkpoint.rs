//! The proof service of `journey serve` (ADR 10): the config file's `[checkpoint]` table, the log's signing
//! key, and the task that signs a checkpoint at the configured interval when the tree has grown.
//!
//! The signing key is the operator's and lives outside the data directory (someone who can rewrite the data
//! directory must not be able to sign for the log). A server started without one named makes one on first
//! start, as it does the bootstrap admin token: `<data>.checkpoint.key`, beside the data directory, and
//! says where it is and that production names its own.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use journey_core::Conflict;
use journey_core::proof::{OriginBase, Proofs, Witness};
use journey_core::store::TreeStore;
use journey_core::tlog::{NoteSigner, Origin};
use serde::Deserialize;

/// Where origins start when the config file does not say: fine on one machine, but a log that witnesses
/// follow needs a name of its own (`origin_base`), which never changes afterwards.
pub const DEFAULT_ORIGIN_BASE: &str = "journey.localhost/log";
/// What follows the data directory's name in the name of the key made when none is configured.
pub const DEFAULT_KEY_SUFFIX: &str = ".checkpoint.key";
const DEFAULT_INTERVAL_SECS: u64 = 60;

/// The config file's `[checkpoint]` table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointFileConfig {
    /// The start of the log's origin, `<origin_base>/<log id>`: a schema-less URL prefix.
    origin_base: Option<String>,
    /// The log's signing key (`PRIVATE+KEY+<origin>+…`), outside the data directory.
    signing_key: Option<PathBuf>,
    /// Whether checkpoints, hash tiles and consistency proofs may be read without a key.
    pub public: Option<bool>,
    /// Seconds between checkpoints (one is signed only when the tree has grown).
    interval_secs: Option<u64>,
    /// The witnesses whose cosignatures the server takes: `[[checkpoint.witness]]` with `name` and `vkey`.
    #[serde(default)]
    witness: Vec<WitnessFileConfig>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WitnessFileConfig {
    name: String,
    vkey: String,
}

/// The `[checkpoint]` table, checked.
#[derive(Debug)]
pub struct CheckpointSettings {
    pub origin_base: OriginBase,
    /// The configured key file; `None`: [`default_key`], made on first start.
    pub signing_key: Option<PathBuf>,
    pub interval: Duration,
    pub witnesses: Vec<Witness>,
}

impl CheckpointFileConfig {
    /// Checks the table.
    pub fn resolve(self) -> anyhow::Result<CheckpointSettings> {
        let origin_base =
            OriginBase::parse(self.origin_base.unwrap_or_else(|| DEFAULT_ORIGIN_BASE.to_owned()))?;
        let interval_secs = self.interval_secs.unwrap_or(DEFAULT_INTERVAL_SECS);
        if interval_secs == 0 {
            bail!("checkpoint.interval_secs must be at least 1");
        }
        let witnesses = self
            .witness
            .into_iter()
            .map(|w| Witness::new(w.name, &w.vkey))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(CheckpointSettings {
            origin_base,
            signing_key: self.signing_key,
            interval: Duration::from_secs(interval_secs),
            witnesses,
        })
    }
}

/// The key made when none is configured: `<data>.checkpoint.key`, beside the data directory (which exists).
pub fn default_key(data: &Path) -> anyhow::Result<PathBuf> {
    let data = std::fs::canonicalize(data).with_context(|| format!("finding {}", data.display()))?;
    match (data.parent(), data.file_name()) {
        (Some(parent), Some(name)) => {
            Ok(parent.join(format!("{}{DEFAULT_KEY_SUFFIX}", name.to_string_lossy())))
        }
        _ => bail!(
            "the data directory {} has no parent to keep a checkpoint signing key in: name one with \
             checkpoint.signing_key",
            data.display()
        ),
    }
}

impl CheckpointSettings {
    /// The signing key: the configured file (which must exist), or the default one beside the data
    /// directory `data`, made now if missing, named after `origin`.
    pub fn signing_key(&self, origin: &Origin, data: &Path) -> anyhow::Result<NoteSigner> {
        let path = match &self.signing_key {
            Some(path) => path.clone(),
            None => default_key(data)?,
        };
        let read = |path: &Path| -> anyhow::Result<NoteSigner> {
            let text = std::fs::read_to_string(path)?;
            NoteSigner::from_private_text(text.trim_end()).map_err(|e| anyhow::anyhow!("{e}"))
        };
        match std::fs::metadata(&path) {
            Ok(_) => {
                read(&path).with_context(|| format!("reading the checkpoint signing key {}", path.display()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && self.signing_key.is_none() => {
                make_key(&path, origin)
            }
            Err(e) => Err(e).with_context(|| {
                format!(
                    "reading the checkpoint signing key {} (checkpoint.signing_key)",
                    path.display()
                )
            }),
        }
    }
}

/// Makes a signing key named after `origin`, from the operating system's random source, in a new file only
/// the server's user can read: written whole to a temporary file, then linked into place, so that a
/// server starting at the same moment reads the whole key or none.
fn make_key(path: &Path, origin: &Origin) -> anyhow::Result<NoteSigner> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| anyhow::anyhow!("the system's random source: {e}"))?;
    let signer = NoteSigner::from_seed(origin.key_name(), &seed);
    let written = crate::kek::write_new_secret(path, signer.private_text().as_str());
    match written {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            // Another server made it first: use that one.
            let text = std::fs::read_to_string(path)?;
            return NoteSigner::from_private_text(text.trim_end())
                .map_err(|e| anyhow::anyhow!("{e}"))
                .with_context(|| format!("reading the checkpoint signing key {}", path.display()));
        }
        Err(e) => {
            return Err(e).with_context(|| format!("writing the checkpoint signing key {}", path.display()));
        }
    }
    eprintln!(
        "journey: made a checkpoint signing key in {} (verifier key {}); production names its own, kept \
         outside the data directory, with checkpoint.signing_key and checkpoint.origin_base",
        path.display(),
        signer.verifier_key()
    );
    Ok(signer)
}

/// The proof service over `tree` (the embedded store's level files or the PostgreSQL store's tables). Refused
/// when the log's last checkpoint was signed with another key: a log has one key, and on PostgreSQL every
/// server of the log must be configured with it.
pub async fn proofs(
    settings: &CheckpointSettings,
    data: &Path,
    tree: Arc<dyn TreeStore>,
    clock: Arc<dyn journey_core::Clock>,
) -> anyhow::Result<Arc<Proofs>> {
    let origin = settings.origin_base.origin(tree.log_id());
    let signer = settings.signing_key(&origin, data)?;
    let proofs = Proofs::new(
        tree,
        &settings.origin_base,
        signer,
        settings.witnesses.clone(),
        clock,
    )?;
    proofs.check_signer().await?;
    tracing::info!(
        origin = %proofs.origin(),
        verifier_key = %proofs.verifier_key(),
        witnesses = settings.witnesses.len(),
        "signing checkpoints"
    );
    Ok(Arc::new(proofs))
}

/// Signs a checkpoint every `interval` when the tree has grown, until dropped. A refusal is logged: a tree
/// being rebuilt is retried at the next tick; a log that no longer extends its last checkpoint is an alarm.
/// On PostgreSQL several servers sign the same log: a checkpoint another server stored while this one was
/// signing is not an alarm (the store refused this one, which was behind it), and a last checkpoint signed
/// with another key stops this server signing.
pub fn spawn_signer(proofs: Arc<Proofs>, interval: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match proofs.sign().await {
                Ok(signed) if signed.new => {
                    tracing::info!(size = signed.checkpoint.size, "signed a checkpoint")
                }
                Ok(_) => {}
                Err(journey_core::Error::Unavailable(why)) => {
                    tracing::warn!(reason = %why, "no checkpoint signed this time")
                }
                Err(journey_core::Error::Conflict(Conflict::CheckpointBehind { stored, new })) => {
                    tracing::debug!(stored, new, "another server signed a larger checkpoint meanwhile")
                }
                Err(e) => tracing::error!(error = %e, "refused to sign a checkpoint"),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> CheckpointFileConfig {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn the_table_is_checked_naming_the_setting() {
        let error = table("interval_secs = 0\n").resolve().unwrap_err();
        assert!(error.to_string().contains("checkpoint.interval_secs"), "{error}");
        let error = table("origin_base = \"https://x.example/log\"\n")
            .resolve()
            .unwrap_err();
        assert!(error.to_string().contains("checkpoint.origin_base"), "{error}");
        let error = table("[[witness]]\nname = \"w\"\nvkey = \"nonsense\"\n")
            .resolve()
            .unwrap_err();
        assert!(error.to_string().contains("checkpoint.witness.vkey"), "{error}");
        let settings = table("").resolve().unwrap();
        assert_eq!(settings.origin_base.as_str(), DEFAULT_ORIGIN_BASE);
        assert_eq!(settings.interval, Duration::from_secs(60));
    }

    #[test]
    fn a_key_is_made_once_beside_the_data_directory_when_none_is_named_and_a_named_one_must_exist() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir(&data).unwrap();
        let settings = table("").resolve().unwrap();
        let origin = settings
            .origin_base
            .origin(&journey_core::store::LogId::parse("0123456789abcdef").unwrap());
        let made = settings.signing_key(&origin, &data).unwrap();
        assert_eq!(made.name().as_str(), origin.as_str());
        let key = dir.path().join("data.checkpoint.key");
        let mode = std::fs::metadata(&key).unwrap().permissions();
        assert_eq!(std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777, 0o600);
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            2,
            "no temporary file is left"
        );
        // The second start reads the same key.
        let read = settings.signing_key(&origin, &data).unwrap();
        assert_eq!(read.verifier_key(), made.verifier_key());

        let missing = dir.path().join("missing.key");
        let named = table(&format!("signing_key = \"{}\"\n", missing.display()))
            .resolve()
            .unwrap();
        let error = named.signing_key(&origin, &data).unwrap_err();
        assert!(
            format!("{error:#}").contains("checkpoint.signing_key"),
            "{error:#}"
        );
        assert!(!missing.exists());
    }
}
