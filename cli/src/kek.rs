//! The key-encryption key that wraps every child's content key (issue #19, ADR 11): where the command line
//! finds it, and the one it makes on a first start so that `journey serve` still just works.
//!
//! In order: the `JOURNEY_KEK` environment variable (base64 of 32 bytes); the file named by the config file's
//! `kek_file`; the file beside the data directory, `<data>.kek`. A server or demo starting with none of them
//! makes the last, says loudly where it is, and that losing it loses every record.

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context as _, bail};
use journey_core::content_keys::{KeyEncryptionKey, LocalKek};
use journey_embedded::EmbeddedOptions;

/// The environment variable that may hold the key-encryption key.
pub const KEK_ENV: &str = "JOURNEY_KEK";
const DEFAULT_SUFFIX: &str = ".kek";

/// Where the key-encryption key lives when none is named: `<data>.kek`, beside the data directory, so that a
/// copy of the data directory alone cannot be read.
pub fn default_kek_path(data: &Path) -> anyhow::Result<PathBuf> {
    let absolute = std::path::absolute(data).with_context(|| format!("finding {}", data.display()))?;
    match (absolute.parent(), absolute.file_name()) {
        (Some(parent), Some(name)) => Ok(parent.join(format!("{}{DEFAULT_SUFFIX}", name.to_string_lossy()))),
        _ => bail!(
            "the data directory {} has no parent to keep a key-encryption key in: set {KEK_ENV} or kek_file",
            data.display()
        ),
    }
}

/// Whether to make a key when none exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IfMissing {
    /// A server or a demo starting: make one beside the data directory.
    Make,
    /// Any other command: go on without (a store in the clear opens; a sealed one refuses, naming the key).
    Without,
}

/// The key-encryption key for `data`, if there is one (or one is made).
pub fn resolve(
    data: &Path,
    configured: Option<&Path>,
    if_missing: IfMissing,
) -> anyhow::Result<Option<Arc<dyn KeyEncryptionKey>>> {
    if let Some(kek) = resolve_named(configured)? {
        return Ok(Some(kek));
    }
    let path = default_kek_path(data)?;
    if path.exists() {
        return read(&path).map(Some);
    }
    match if_missing {
        IfMissing::Without => Ok(None),
        IfMissing::Make => make(&path).map(Some),
    }
}

/// The key-encryption key named by `JOURNEY_KEK` or the config file's `kek_file`, if either names one. A
/// PostgreSQL log has no data directory to keep one beside, so this is the only place its key comes from.
pub fn resolve_named(configured: Option<&Path>) -> anyhow::Result<Option<Arc<dyn KeyEncryptionKey>>> {
    if let Ok(text) = std::env::var(KEK_ENV) {
        let kek = LocalKek::parse(&text).with_context(|| format!("in the environment variable {KEK_ENV}"))?;
        return Ok(Some(Arc::new(kek)));
    }
    match configured {
        Some(path) => read(path).map(Some).context("the config file's kek_file"),
        None => Ok(None),
    }
}

/// Why a new PostgreSQL log is refused without a key-encryption key.
pub const POSTGRES_NEEDS_KEK: &str = "a new PostgreSQL log seals each child's content under a key-encryption \
     key, and none is configured: set JOURNEY_KEK (base64 of 32 bytes: `openssl rand -base64 32`) or kek_file \
     in the config file, keep a copy apart from the database (losing it loses every record), and start again \
     (docs/deployment.md, \"Sealing content at rest\")";

/// A key-encryption key from its file.
fn read(path: &Path) -> anyhow::Result<Arc<dyn KeyEncryptionKey>> {
    let text = zeroize::Zeroizing::new(
        std::fs::read_to_string(path)
            .with_context(|| format!("reading the key-encryption key {}", path.display()))?,
    );
    let kek =
        LocalKek::parse(&text).with_context(|| format!("in the key-encryption key {}", path.display()))?;
    Ok(Arc::new(kek))
}

/// The embedded store's options for `data` with its key-encryption key.
pub fn store_options(
    data: &Path,
    configured: Option<&Path>,
    if_missing: IfMissing,
) -> anyhow::Result<EmbeddedOptions> {
    Ok(EmbeddedOptions {
        kek: resolve(data, configured, if_missing)?,
        ..EmbeddedOptions::default()
    })
}

/// `journey rotate-kek`: every content key re-wrapped under the key in `new_file`.
pub fn rotate(data: &Path, new_file: &Path) -> anyhow::Result<()> {
    let old = resolve(data, None, IfMissing::Without)?.with_context(|| {
        format!(
            "no key-encryption key for {}: set {KEK_ENV} or put it at {}",
            data.display(),
            default_kek_path(data)
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        )
    })?;
    let new = read(new_file)?;
    if new.fingerprint() == old.fingerprint() {
        bail!("the new key-encryption key is the current one");
    }
    let (live, destroyed) = journey_embedded::rotate_kek(data, old.clone(), new.as_ref())
        .with_context(|| format!("re-wrapping the content keys of {}", data.display()))?;
    println!(
        "re-wrapped {live} content keys ({destroyed} destroyed ones stay destroyed) from key-encryption key {} to {}; \
         the log was not touched. Only the new key opens {} now: keep it where the server finds it (kek_file, \
         {KEK_ENV}, or {}), and destroy the old one once backups taken under it have expired.",
        old.fingerprint(),
        new.fingerprint(),
        data.display(),
        default_kek_path(data)?.display()
    );
    Ok(())
}

/// `journey rotate-kek --store postgres://...`: every live content key of the PostgreSQL log re-wrapped under
/// the key in `new_file`, in one transaction; the log is not touched.
pub fn rotate_postgres(url: &str, kek_file: Option<&Path>, new_file: &Path) -> anyhow::Result<()> {
    let old = resolve_named(kek_file)?.with_context(|| {
        format!("no current key-encryption key for the PostgreSQL log: set {KEK_ENV} or give --kek-file")
    })?;
    let new = read(new_file)?;
    if new.fingerprint() == old.fingerprint() {
        bail!("the new key-encryption key is the current one");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the PostgreSQL client's runtime")?;
    let (live, destroyed) = runtime.block_on(async {
        let options = journey_postgres::PostgresOptions::new(url).with_kek(old.clone());
        let clock: Arc<dyn journey_core::Clock> = Arc::new(journey_core::SystemClock);
        let store = journey_postgres::PostgresStore::open(options, clock)
            .await
            .context("opening the PostgreSQL log with its current key-encryption key (check --store)")?;
        store
            .rotate_kek(new.clone())
            .await
            .context("re-wrapping the content keys")
    })?;
    println!(
        "re-wrapped {live} content keys ({destroyed} destroyed ones stay destroyed) from key-encryption key {} to {}; \
         the log was not touched. Only the new key opens this PostgreSQL log now: give it to every server \
         ({KEK_ENV} or kek_file) and restart them, and destroy the old one once backups taken under it have expired.",
        old.fingerprint(),
        new.fingerprint()
    );
    Ok(())
}

/// Writes `text` and a newline as a new file only this user can read: whole to a temporary file, synced, then
/// linked into place (and the directory synced), so that a process starting at the same moment reads the
/// whole secret or none. `AlreadyExists` when another process made it first.
pub(crate) fn write_new_secret(path: &Path, text: &str) -> std::io::Result<()> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let written = (|| -> std::io::Result<()> {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        writeln!(file, "{text}")?;
        file.sync_all()?;
        std::fs::hard_link(&tmp, path)?;
        if let Some(parent) = path.parent() {
            std::fs::File::open(parent)?.sync_all()?;
        }
        Ok(())
    })();
    let _ = std::fs::remove_file(&tmp);
    written
}

/// Makes a key-encryption key in a new file only the server's user can read: written whole to a temporary
/// file, synced, then linked into place, so that two processes starting together use one key.
fn make(path: &Path) -> anyhow::Result<Arc<dyn KeyEncryptionKey>> {
    let kek = LocalKek::generate().context("making a key-encryption key")?;
    match write_new_secret(path, kek.to_text().as_str()) {
        Ok(()) => {}
        // Another process made it first: use that one.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return read(path),
        Err(e) => {
            return Err(e).with_context(|| format!("writing the key-encryption key {}", path.display()));
        }
    }
    eprintln!(
        "journey: made a key-encryption key in {} (fingerprint {}).\n\
         journey: EVERY CHILD'S RECORD IS ENCRYPTED UNDER KEYS THIS KEY WRAPS: LOSE IT AND EVERY RECORD IS LOST.\n\
         journey: Back it up apart from the data directory; production names its own with kek_file or {KEK_ENV} \
         (docs/deployment.md, \"Sealing content at rest\").",
        path.display(),
        kek.fingerprint()
    );
    Ok(Arc::new(kek))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_made_once_beside_the_data_directory_and_a_named_one_must_exist() {
        // The environment variable would take precedence; this test runs without it.
        if std::env::var(KEK_ENV).is_ok() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        assert!(resolve(&data, None, IfMissing::Without).unwrap().is_none());
        let made = resolve(&data, None, IfMissing::Make).unwrap().unwrap();
        let again = resolve(&data, None, IfMissing::Without).unwrap().unwrap();
        assert_eq!(made.fingerprint(), again.fingerprint());
        let path = dir.path().join("data.kek");
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let missing = resolve(&data, Some(&dir.path().join("nope")), IfMissing::Make).unwrap_err();
        assert!(format!("{missing:#}").contains("kek_file"), "{missing:#}");
        std::fs::write(dir.path().join("bad"), "not a key").unwrap();
        let bad = resolve(&data, Some(&dir.path().join("bad")), IfMissing::Make).unwrap_err();
        assert!(format!("{bad:#}").contains("base64"), "{bad:#}");
    }
}
