//! `journey serve`: the REST API on the embedded store of a data directory, or on PostgreSQL.
//!
//! Settings come from flags, then the environment (`JOURNEY_DATA`, `JOURNEY_LISTEN`, ...), then a TOML
//! config file (`--config`, `JOURNEY_CONFIG`), then the defaults (`./data`, `127.0.0.1:8080`). The data
//! directory keeps one layout: the store's `LOCK`, `log/` and `index/` at its top (as `demo`, `verify` and
//! `rebuild` use it), the system journal in `journal/` and policy blobs in `blobs/`.
//!
//! With `--store postgres://...` the event log, the system journal (keys, policies, decisions, access log)
//! and the blobs are all in that database instead, so several `journey serve` processes on it are one
//! service (docs/deployment.md); the data directory then holds only the bootstrap token, if asked for. Either
//! way the server signs checkpoints over its store's Merkle tree and serves the proof routes (ADR 10).
//!
//! On SIGTERM or ctrl-c the server stops accepting, ends open change feeds, lets in-flight requests finish,
//! then closes the store and the journal (every acknowledged write is already synced) and exits 0.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use journey_api::{AppState, Config, StoreStats};
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;

use journey_core::blobs::BlobStore;
use journey_core::journal::Journal;
use journey_core::store::{EventStore, TreeStore};
use journey_core::{ManualClock, PrincipalId, SystemClock, Timestamp};
use journey_embedded::EmbeddedStore;
use journey_embedded::FileBlobStore;
use journey_embedded::FileJournal;
use journey_plugins::registry::Registry;
use journey_plugins::{Calendar, Host, HostConfig};
use journey_postgres::{PostgresBlobStore, PostgresJournal, PostgresOptions, PostgresStore};
use serde::Deserialize;

pub const DEFAULT_DATA: &str = "./data";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The data directory [default: ./data].
    #[arg(long, env = "JOURNEY_DATA")]
    data: Option<PathBuf>,
    /// The address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "JOURNEY_LISTEN")]
    listen: Option<SocketAddr>,
    /// A TOML file with any of: data, listen, store, body_limit, policy_upload_limit, request_timeout_secs, max_page,
    /// session_minutes, secure_cookies, header_read_timeout_secs, idle_timeout_secs, max_connections, and a
    /// [policy] table of the policy sandbox's limits: fuel,
    /// memory_mib, deadline_ms, output_kib, log_kib, concurrent_evaluations, keep_resident_mib,
    /// reset_dirty_pages_only;
    /// and a [checkpoint] table: origin_base, signing_key, public, interval_secs, [[checkpoint.witness]]
    /// name and vkey (docs/deployment.md).
    #[arg(long, env = "JOURNEY_CONFIG")]
    config: Option<PathBuf>,
    /// The largest request body accepted, in bytes, except a policy upload's [default: 4 MiB].
    #[arg(long, env = "JOURNEY_BODY_LIMIT")]
    body_limit: Option<usize>,
    /// The largest policy upload (`journey policy deploy --server`) accepted, in bytes [default: 64 MiB]. A
    /// component written in Python or JavaScript is easily 20 MB.
    #[arg(long, env = "JOURNEY_POLICY_UPLOAD_LIMIT")]
    policy_upload_limit: Option<usize>,
    /// Seconds a request may take before it is answered 503 [default: 30].
    #[arg(long, env = "JOURNEY_REQUEST_TIMEOUT_SECS")]
    request_timeout_secs: Option<u64>,
    /// When the store is empty, first record a synthetic local authority of this many children (seeded,
    /// reproducible; all invented), so that there is something to look at.
    #[arg(long, value_name = "CHILDREN")]
    synthetic: Option<usize>,
    /// When no API key exists yet, create an admin key and write its token (once, mode 0600) to
    /// `<data>/bootstrap-admin.token`.
    #[arg(long)]
    bootstrap_admin: bool,
    /// Run without the policy host (no policy routes, no reference policies).
    #[arg(long)]
    no_policies: bool,
    /// Where the records are: `embedded` (the data directory's own log) or a PostgreSQL URL
    /// (`postgres://user@host:port/database`) shared by every server of one service [default: embedded].
    #[arg(long, env = "JOURNEY_STORE", value_name = "embedded|URL")]
    store: Option<StoreChoice>,
    /// Minutes a browser session (signed in at /login) lasts [default: 30].
    #[arg(long, env = "JOURNEY_SESSION_MINUTES")]
    session_minutes: Option<u64>,
    /// Mark the session cookie Secure: set this when the server is reached over HTTPS (as it must be
    /// anywhere but loopback).
    #[arg(long, env = "JOURNEY_SECURE_COOKIES")]
    secure_cookies: bool,
}

/// Where `journey serve` keeps its records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreChoice {
    Embedded,
    Postgres(String),
}

impl std::str::FromStr for StoreChoice {
    type Err = String;

    fn from_str(s: &str) -> Result<StoreChoice, String> {
        if s == "embedded" {
            Ok(StoreChoice::Embedded)
        } else if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            Ok(StoreChoice::Postgres(s.to_owned()))
        } else {
            Err("store must be \"embedded\" or a URL starting postgres:// or postgresql://".into())
        }
    }
}

impl<'de> Deserialize<'de> for StoreChoice {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<StoreChoice, D::Error> {
        String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
    }
}

/// The config file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    data: Option<PathBuf>,
    listen: Option<SocketAddr>,
    body_limit: Option<usize>,
    policy_upload_limit: Option<usize>,
    request_timeout_secs: Option<u64>,
    max_page: Option<usize>,
    store: Option<StoreChoice>,
    session_minutes: Option<u64>,
    secure_cookies: Option<bool>,
    header_read_timeout_secs: Option<u64>,
    idle_timeout_secs: Option<u64>,
    max_connections: Option<usize>,
    #[serde(default)]
    policy: PolicyFileConfig,
    #[serde(default)]
    checkpoint: crate::checkpoint::CheckpointFileConfig,
    /// The key-encryption key's file (`crate::kek`); unset: `JOURNEY_KEK`, or `<data>.kek`, made on first start.
    kek_file: Option<PathBuf>,
}

/// The config file's `[policy]` table: the sandbox's limits for every evaluation (unset: the defaults of
/// `journey_plugins::Limits`). Fuel, memory and output size are part of the engine configuration recorded
/// with every decision, so changing them changes its hash and a replay shows the difference.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFileConfig {
    fuel: Option<u64>,
    memory_mib: Option<usize>,
    deadline_ms: Option<u64>,
    output_kib: Option<usize>,
    log_kib: Option<usize>,
    concurrent_evaluations: Option<u32>,
    /// How much of each slot's memory stays resident between evaluations, in MiB: 16 takes a Python
    /// policy's evaluation from 7-10 ms to 5-6 ms (its 13 MB snapshot is not faulted in again), at up to
    /// 16 MiB × concurrent_evaluations of memory kept (`docs/performance.md`, "Policies written in Python").
    keep_resident_mib: Option<usize>,
    reset_dirty_pages_only: Option<bool>,
}

impl PolicyFileConfig {
    /// WebAssembly's 32-bit memories end at 4 GiB.
    const MAX_MEMORY_MIB: usize = 4 << 10;
    /// Every slot reserves address space for its memories when the server starts.
    const MAX_CONCURRENT_EVALUATIONS: u32 = 1024;

    fn host_config(&self) -> anyhow::Result<HostConfig> {
        for (field, zero) in [
            ("fuel", self.fuel == Some(0)),
            ("deadline_ms", self.deadline_ms == Some(0)),
            ("output_kib", self.output_kib == Some(0)),
            ("log_kib", self.log_kib == Some(0)),
        ] {
            if zero {
                bail!("policy.{field} must be at least 1");
            }
        }
        if let Some(mib) = self.memory_mib
            && !(1..=Self::MAX_MEMORY_MIB).contains(&mib)
        {
            bail!(
                "policy.memory_mib must be from 1 to {} (a policy's memory is 32-bit), got {mib}",
                Self::MAX_MEMORY_MIB
            );
        }
        if let Some(n) = self.concurrent_evaluations
            && !(1..=Self::MAX_CONCURRENT_EVALUATIONS).contains(&n)
        {
            bail!(
                "policy.concurrent_evaluations must be from 1 to {}, got {n}",
                Self::MAX_CONCURRENT_EVALUATIONS
            );
        }
        if let Some(mib) = self.keep_resident_mib
            && mib
                > self
                    .memory_mib
                    .unwrap_or(HostConfig::default().limits.memory_bytes >> 20)
        {
            bail!(
                "policy.keep_resident_mib must not be more than the memory a policy may use (memory_mib), got {mib}"
            );
        }
        let defaults = HostConfig::default();
        let limits = journey_plugins::Limits {
            fuel: self.fuel.unwrap_or(defaults.limits.fuel),
            memory_bytes: self.memory_mib.map_or(defaults.limits.memory_bytes, |m| m << 20),
            deadline: self
                .deadline_ms
                .map_or(defaults.limits.deadline, Duration::from_millis),
            output_bytes: self
                .output_kib
                .map_or(defaults.limits.output_bytes, |k| k.saturating_mul(1 << 10)),
            log_bytes: self
                .log_kib
                .map_or(defaults.limits.log_bytes, |k| k.saturating_mul(1 << 10)),
        };
        Ok(HostConfig {
            limits,
            concurrent_evaluations: self
                .concurrent_evaluations
                .unwrap_or(defaults.concurrent_evaluations),
            memory_keep_resident: self
                .keep_resident_mib
                .map_or(defaults.memory_keep_resident, |m| m << 20),
            reset_dirty_pages_only: self
                .reset_dirty_pages_only
                .unwrap_or(defaults.reset_dirty_pages_only),
            ..defaults
        })
    }
}

/// Settings after flags, environment, config file and defaults.
#[derive(Debug)]
pub struct Settings {
    pub data: PathBuf,
    pub listen: SocketAddr,
    pub config: Config,
    pub synthetic: Option<usize>,
    pub bootstrap_admin: bool,
    pub policies: bool,
    /// The policy host's limits (the config file's `[policy]` table).
    pub host: HostConfig,
    pub store: StoreChoice,
    /// The config file's `[checkpoint]` table: the proof an outsider can check (ADR 10).
    pub checkpoint: crate::checkpoint::CheckpointSettings,
    /// The config file's `kek_file`: the key-encryption key that wraps every child's content key.
    pub kek_file: Option<PathBuf>,
}

impl Settings {
    pub fn resolve(args: ServeArgs) -> anyhow::Result<Settings> {
        let file = match &args.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading the config file {}", path.display()))?;
                toml::from_str::<FileConfig>(&text)
                    .with_context(|| format!("in the config file {}", path.display()))?
            }
            None => FileConfig::default(),
        };
        let defaults = Config::default();
        let config = Config {
            body_limit: args.body_limit.or(file.body_limit).unwrap_or(defaults.body_limit),
            policy_upload_limit: args
                .policy_upload_limit
                .or(file.policy_upload_limit)
                .unwrap_or(defaults.policy_upload_limit),
            request_timeout: args
                .request_timeout_secs
                .or(file.request_timeout_secs)
                .map_or(defaults.request_timeout, Duration::from_secs),
            max_page: file.max_page.unwrap_or(defaults.max_page),
            session_ttl: args
                .session_minutes
                .or(file.session_minutes)
                .map_or(defaults.session_ttl, |m| {
                    Duration::from_secs(m.saturating_mul(60))
                }),
            secure_cookies: args.secure_cookies || file.secure_cookies.unwrap_or(false),
            header_read_timeout: file
                .header_read_timeout_secs
                .map_or(defaults.header_read_timeout, Duration::from_secs),
            idle_timeout: file
                .idle_timeout_secs
                .map_or(defaults.idle_timeout, Duration::from_secs),
            max_connections: file.max_connections.unwrap_or(defaults.max_connections),
            checkpoint_public: file.checkpoint.public.unwrap_or(defaults.checkpoint_public),
            ..defaults
        };
        if config.body_limit == 0
            || config.policy_upload_limit == 0
            || config.max_page == 0
            || config.request_timeout.is_zero()
            || config.session_ttl.is_zero()
            || config.header_read_timeout.is_zero()
            || config.idle_timeout.is_zero()
            || config.max_connections == 0
        {
            bail!(
                "body_limit, policy_upload_limit, max_page, request_timeout_secs, session_minutes, header_read_timeout_secs, \
                 idle_timeout_secs and max_connections must be at least 1"
            );
        }
        Ok(Settings {
            data: args.data.or(file.data).unwrap_or_else(|| DEFAULT_DATA.into()),
            listen: match args.listen.or(file.listen) {
                Some(listen) => listen,
                None => DEFAULT_LISTEN.parse().expect("a valid default address"),
            },
            config,
            synthetic: args.synthetic,
            bootstrap_admin: args.bootstrap_admin,
            policies: !args.no_policies,
            host: file
                .policy
                .host_config()
                .context("in the config file's [policy] table")?,
            store: args.store.or(file.store).unwrap_or(StoreChoice::Embedded),
            checkpoint: file
                .checkpoint
                .resolve()
                .context("in the config file's [checkpoint] table")?,
            kek_file: file.kek_file,
        })
    }
}

pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    let settings = Settings::resolve(args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("journey-http")
        .build()
        .context("starting the runtime")?;
    runtime.block_on(serve(settings))
}

fn journal_dir(data: &Path) -> PathBuf {
    crate::keys::journal_dir(data)
}

/// Records a synthetic authority when the store is empty (`--synthetic`), with the store's clock following the
/// generated recording times; then closes the store for the server to reopen on the system clock.
fn seed_synthetic(data: &Path, kek_file: Option<&Path>, children: usize) -> anyhow::Result<()> {
    let clock = Arc::new(ManualClock::new(Timestamp::UNIX_EPOCH));
    let options = crate::kek::store_options(data, kek_file, crate::kek::IfMissing::Make)?;
    let store = EmbeddedStore::open_with(data, clock.clone(), options)
        .with_context(|| format!("opening the store in {}", data.display()))?;
    record_synthetic_if_empty(&store, &clock, children)?;
    store.close().context("closing the store")?;
    Ok(())
}

fn record_synthetic_if_empty(
    store: &dyn EventStore,
    clock: &ManualClock,
    children: usize,
) -> anyhow::Result<()> {
    if futures::executor::block_on(store.head())?.position.is_none() {
        eprintln!("journey: recording a synthetic authority of {children} children (all invented)");
        let (report, _) = crate::record_synthetic(store, clock, children, 1)?;
        eprintln!(
            "journey: recorded {} events for {children} synthetic children ({} refused)",
            report.events,
            report.rejected.len()
        );
    }
    Ok(())
}

/// Creates the first admin key when there is none (`--bootstrap-admin`), writing its token to a file only
/// the server's user can read.
async fn bootstrap_admin(state: &AppState, data: &Path) -> anyhow::Result<()> {
    if state.journal.stream_version(&journey_api::auth::keys_stream()) > 0 {
        return Ok(());
    }
    let created = state
        .keys
        .create(
            state.journal.as_ref(),
            PrincipalId::parse("journey-serve").expect("a valid id"),
            journey_api::NewKey {
                name: PrincipalId::parse("bootstrap-admin").expect("a valid id"),
                role: journey_api::Role::Admin,
                agency: None,
                reviews_only: false,
            },
        )
        .await
        .map_err(|e| anyhow::anyhow!("creating the bootstrap admin key: {e}"))?;
    let path = data.join("bootstrap-admin.token");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("writing {}", path.display()))?;
    writeln!(file, "{}", created.token)?;
    file.sync_all()?;
    eprintln!(
        "journey: created admin key {} (token in {}, shown nowhere else; create other keys with it and \
         delete the file)",
        created.key.key_id,
        path.display()
    );
    Ok(())
}

/// The policy registry over the journal and the blob store, with the reference policies deployed and
/// activated (a retry on every start after the first, and on every server of a shared store).
pub(crate) async fn policy_registry(
    journal: Arc<dyn Journal>,
    blobs: Arc<dyn BlobStore>,
    host: HostConfig,
    by: &PrincipalId,
) -> anyhow::Result<Arc<Registry>> {
    let host = Arc::new(Host::new(host).context("starting the policy host")?);
    let concurrency = std::thread::available_parallelism().map_or(2, usize::from);
    let registry = Registry::open(
        journal,
        blobs,
        host,
        Calendar::england_and_wales().clone(),
        concurrency,
    )
    .await
    .context("opening the policy registry")?;
    for (dir, outcome) in journey_plugins::reference::deploy_all(&registry, by).await {
        match outcome {
            Ok(version) => tracing::info!(
                policy = %version.deployed.name,
                version = %version.deployed.version,
                status = ?version.status,
                "reference policy ready"
            ),
            // A reference policy that cannot be deployed (changed without a new version) is reported and
            // left out; the server still serves everything else.
            Err(e) => tracing::error!(policy = dir, error = %e, "reference policy not deployed"),
        }
    }
    Ok(Arc::new(registry))
}

/// The records a server works on, and what must be closed when it stops.
pub(crate) struct Backend {
    pub(crate) store: Arc<dyn EventStore>,
    pub(crate) journal: Arc<dyn Journal>,
    pub(crate) blobs: Arc<dyn BlobStore>,
    /// The Merkle tree over the store's log and its checkpoints (ADR 10): the same store, seen as a tree.
    pub(crate) tree: Arc<dyn TreeStore>,
    /// The embedded store and file journal, closed (final checkpoint, files synced) on the way out.
    embedded: Option<(Arc<EmbeddedStore>, Arc<FileJournal>)>,
}

impl Backend {
    /// Closes the embedded store and journal (everything acknowledged is already synced).
    pub(crate) fn close(self) -> anyhow::Result<()> {
        let Backend {
            store,
            tree,
            embedded,
            ..
        } = self;
        drop((store, tree));
        if let Some((store, journal)) = embedded {
            journal.close().context("closing the journal")?;
            match Arc::try_unwrap(store) {
                Ok(store) => store.close().context("closing the store")?,
                // Something still holds the store (a detached task): dropping the last handle closes it.
                Err(_) => {
                    tracing::warn!("the store is still referenced; it closes when the last handle goes")
                }
            }
        }
        Ok(())
    }
}

async fn open_embedded(settings: &Settings) -> anyhow::Result<Backend> {
    let data = &settings.data;
    if let Some(children) = settings.synthetic {
        let (data, kek_file) = (data.clone(), settings.kek_file.clone());
        tokio::task::spawn_blocking(move || seed_synthetic(&data, kek_file.as_deref(), children)).await??;
    }
    let options = crate::kek::store_options(data, settings.kek_file.as_deref(), crate::kek::IfMissing::Make)?;
    open_data_dir_with(data, options)
}

/// A data directory's embedded store, file journal and blob store, for a command working on it directly: the
/// key-encryption key from `JOURNEY_KEK` or beside the data directory.
pub(crate) fn open_data_dir(data: &Path) -> anyhow::Result<Backend> {
    let options = crate::kek::store_options(data, None, crate::kek::IfMissing::Without)?;
    open_data_dir_with(data, options)
}

fn open_data_dir_with(data: &Path, options: journey_embedded::EmbeddedOptions) -> anyhow::Result<Backend> {
    let clock = Arc::new(SystemClock);
    let store = Arc::new(
        EmbeddedStore::open_with(data, clock.clone(), options)
            .with_context(|| format!("opening the store in {}", data.display()))?,
    );
    let report = store.open_report();
    tracing::info!(
        records = report.records,
        truncated_bytes = report.truncated_bytes,
        index_rebuilt = report.index_rebuilt.as_deref(),
        open_millis = report.open_millis,
        "store opened"
    );
    let journal = Arc::new(
        FileJournal::open(journal_dir(data), clock)
            .with_context(|| format!("opening the journal in {}", journal_dir(data).display()))?,
    );
    let blobs = Arc::new(
        FileBlobStore::open(data.join("blobs"))
            .with_context(|| format!("opening the blob store in {}", data.join("blobs").display()))?,
    );
    Ok(Backend {
        store: store.clone(),
        journal: journal.clone(),
        blobs,
        tree: store.clone(),
        embedded: Some((store, journal)),
    })
}

async fn open_postgres(settings: &Settings, url: &str) -> anyhow::Result<Backend> {
    let options = postgres_options(url, settings.kek_file.as_deref())?;
    let where_ = "opening the PostgreSQL store (check --store)";
    let clock = Arc::new(SystemClock);
    let store = PostgresStore::open(options.clone(), clock.clone())
        .await
        .context(where_)?;
    check_postgres_sealing(&store).await?;
    if let Some(children) = settings.synthetic {
        let clock = Arc::new(ManualClock::new(Timestamp::UNIX_EPOCH));
        let seeding = Arc::new(
            PostgresStore::open(options.clone(), clock.clone())
                .await
                .context(where_)?,
        );
        let store = seeding.clone();
        tokio::task::spawn_blocking(move || record_synthetic_if_empty(&*store, &clock, children)).await??;
    }
    let journal = PostgresJournal::open(options.clone(), clock)
        .await
        .context(where_)?;
    let blobs = PostgresBlobStore::open(options).await.context(where_)?;
    tracing::info!(schema = store.schema(), log_id = %store.log_id(), "PostgreSQL store opened");
    let store = Arc::new(store);
    Ok(Backend {
        store: store.clone(),
        journal: Arc::new(journal),
        blobs: Arc::new(blobs),
        tree: store,
        embedded: None,
    })
}

/// The PostgreSQL store's options for `url`, with the key-encryption key `JOURNEY_KEK` or `kek_file` names.
pub(crate) fn postgres_options(url: &str, kek_file: Option<&Path>) -> anyhow::Result<PostgresOptions> {
    let options = PostgresOptions::new(url);
    Ok(match crate::kek::resolve_named(kek_file)? {
        Some(kek) => options.with_kek(kek),
        None => options,
    })
}

/// A PostgreSQL log opened without a key-encryption key may only be one that already keeps its records in
/// the clear (it stays so, with a warning): there is no data directory to make a key beside, so a new log
/// without one is refused, naming where to configure it, rather than started in the clear for good.
pub(crate) async fn check_postgres_sealing(store: &PostgresStore) -> anyhow::Result<()> {
    if store.content_sealed() {
        return Ok(());
    }
    if store.head().await?.position.is_none() {
        bail!(crate::kek::POSTGRES_NEEDS_KEK);
    }
    tracing::warn!(
        schema = store.schema(),
        "this PostgreSQL log keeps children's content in the clear: no record of it can be erased without \
         breaking its proofs; migrate it with `journey log export` and `journey log import --seal --store \
         postgres://...` into a new database or schema (docs/deployment.md, \"Sealing content at rest\")"
    );
    Ok(())
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let data = &settings.data;
    let backend = match &settings.store {
        StoreChoice::Embedded => open_embedded(&settings).await?,
        StoreChoice::Postgres(url) => {
            std::fs::create_dir_all(data).with_context(|| format!("creating {}", data.display()))?;
            open_postgres(&settings, url).await?
        }
    };
    let clock: Arc<dyn journey_core::Clock> = Arc::new(SystemClock);
    let mut state = AppState::new(
        backend.store.clone(),
        backend.journal.clone(),
        clock.clone(),
        settings.config,
    );
    if settings.policies {
        let by = PrincipalId::parse("journey-serve").expect("a valid id");
        state = state.with_registry(
            policy_registry(
                backend.journal.clone(),
                backend.blobs.clone(),
                settings.host.clone(),
                &by,
            )
            .await?,
        );
    }
    if settings.bootstrap_admin {
        bootstrap_admin(&state, data).await?;
    }
    // The index of sealed adoption records reads the whole log once; done now, in the background, rather
    // than on the first request that reads a child.
    {
        let (sealed, store) = (state.sealed.clone(), state.store.clone());
        tokio::spawn(async move {
            if let Err(e) = sealed.snapshot(store.as_ref()).await {
                tracing::warn!(error = ?e, "indexing the sealed adoption records failed; retried on first use");
            }
        });
    }
    // Checkpoints over the store's tree (level files beside the embedded log, tables in PostgreSQL), signed
    // at the interval. On PostgreSQL every server signs: the store refuses, atomically, a checkpoint that
    // contradicts one another server stored, and every server must sign with the same key.
    if matches!(settings.store, StoreChoice::Postgres(_)) && settings.checkpoint.signing_key.is_none() {
        tracing::warn!(
            "no checkpoint.signing_key configured: this server signs with a key of its own beside {}; every \
             server on one database must be configured with the same key",
            data.display()
        );
    }
    let proofs =
        crate::checkpoint::proofs(&settings.checkpoint, data, backend.tree.clone(), clock.clone()).await?;
    state = state.with_proofs(proofs.clone());
    let signer = crate::checkpoint::spawn_signer(proofs, settings.checkpoint.interval);
    if let Some((store, _)) = &backend.embedded {
        let weak: Weak<EmbeddedStore> = Arc::downgrade(store);
        state.metrics.set_store_stats(move || {
            weak.upgrade().map_or_else(StoreStats::default, |s| {
                let stats = s.stats();
                StoreStats {
                    commits: stats.commits.load(Ordering::Relaxed),
                    events: stats.events.load(Ordering::Relaxed),
                    appends: stats.appends.load(Ordering::Relaxed),
                }
            })
        });
    }
    if !settings.bootstrap_admin && state.journal.stream_version(&journey_api::auth::keys_stream()) == 0 {
        tracing::warn!(
            "no API keys yet: stop the server and create the first admin key with \
             `journey keys create --role admin --name <name> --data {}`",
            data.display()
        );
    }
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("listening on {}", settings.listen))?;
    let serving = match &settings.store {
        StoreChoice::Embedded => data.display().to_string(),
        StoreChoice::Postgres(_) => "the PostgreSQL store".to_owned(),
    };
    tracing::info!(listen = %settings.listen, store = %serving, "journey serving");
    eprintln!("journey: serving {serving} on http://{}", settings.listen);
    // The router behind the connection limits (header-read and idle timeouts, the cap on connections); on
    // the signal the state begins to shut down and requests in flight finish.
    journey_api::serve(listener, state.clone(), async {
        shutdown_signal().await;
        tracing::info!("shutting down: finishing in-flight requests");
    })
    .await
    .context("serving")?;
    // The signer holds the store: it stops before the store is closed.
    signer.abort();
    let _ = signer.await;
    drop(state);
    backend.close()?;
    tracing::info!("stopped cleanly");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for ctrl-c");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct T {
        #[command(flatten)]
        serve: ServeArgs,
    }

    #[test]
    fn flags_beat_the_config_file_which_beats_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("journey.toml");
        std::fs::write(
            &file,
            "data = \"/srv/journey\"\nlisten = \"0.0.0.0:9000\"\nbody_limit = 1024\npolicy_upload_limit = 2048\n",
        )
        .unwrap();
        let args = T::try_parse_from([
            "t",
            "--config",
            file.to_str().unwrap(),
            "--listen",
            "127.0.0.1:9999",
        ])
        .unwrap();
        let s = Settings::resolve(args.serve).unwrap();
        assert_eq!(s.data, PathBuf::from("/srv/journey"));
        assert_eq!(s.listen, "127.0.0.1:9999".parse().unwrap());
        assert_eq!(s.config.body_limit, 1024);
        assert_eq!(s.config.policy_upload_limit, 2048);
        let args = T::try_parse_from([
            "t",
            "--config",
            file.to_str().unwrap(),
            "--policy-upload-limit",
            "4096",
        ])
        .unwrap();
        let s = Settings::resolve(args.serve).unwrap();
        assert_eq!(s.config.policy_upload_limit, 4096);
    }

    #[test]
    fn the_policy_table_sets_the_sandbox_limits_and_names_a_bad_one() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("journey.toml");
        let resolve = |toml: &str| {
            std::fs::write(&file, toml).unwrap();
            let args = T::try_parse_from(["t", "--config", file.to_str().unwrap()]).unwrap();
            Settings::resolve(args.serve)
        };

        let defaults = resolve("").unwrap().host;
        assert_eq!(defaults, HostConfig::default());

        let s = resolve(
            "[policy]\nfuel = 5000000\nmemory_mib = 16\ndeadline_ms = 250\noutput_kib = 64\nlog_kib = 8\n\
             concurrent_evaluations = 4\n",
        )
        .unwrap();
        let limits = &s.host.limits;
        assert_eq!(limits.fuel, 5_000_000);
        assert_eq!(limits.memory_bytes, 16 << 20);
        assert_eq!(limits.deadline, Duration::from_millis(250));
        assert_eq!(limits.output_bytes, 64 << 10);
        assert_eq!(limits.log_bytes, 8 << 10);
        assert_eq!(s.host.concurrent_evaluations, 4);
        // What the table does not set keeps its default.
        assert_eq!(s.host.epoch_tick, defaults.epoch_tick);
        assert_eq!(s.host.memory_keep_resident, defaults.memory_keep_resident);
        let kept = resolve("[policy]\nkeep_resident_mib = 16\n").unwrap();
        assert_eq!(kept.host.memory_keep_resident, 16 << 20);

        for (toml, expected) in [
            ("[policy]\nfuel = 0\n", "policy.fuel must be at least 1"),
            (
                "[policy]\nmemory_mib = 8192\n",
                "policy.memory_mib must be from 1 to 4096",
            ),
            (
                "[policy]\nconcurrent_evaluations = 0\n",
                "policy.concurrent_evaluations must be from 1",
            ),
            ("[policy]\nfuell = 10\n", "unknown field `fuell`"),
            (
                "[policy]\nmemory_mib = 8\nkeep_resident_mib = 16\n",
                "policy.keep_resident_mib must not be more than",
            ),
        ] {
            let error = format!("{:#}", resolve(toml).unwrap_err());
            assert!(error.contains(expected), "{toml:?}: {error}");
        }
    }

    #[test]
    fn the_config_file_in_the_deployment_guide_is_valid_and_shows_the_defaults() {
        let guide = include_str!("../../docs/deployment.md");
        let toml = guide
            .split("```toml\n")
            .nth(1)
            .and_then(|rest| rest.split("```").next())
            .expect("docs/deployment.md shows a config file");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("journey.toml");
        std::fs::write(&file, toml).unwrap();
        let args = T::try_parse_from(["t", "--config", file.to_str().unwrap()]).unwrap();
        let s = Settings::resolve(args.serve).unwrap();
        assert_eq!(s.host, HostConfig::default());
        let defaults = Config::default();
        assert_eq!(s.config.body_limit, defaults.body_limit);
        assert_eq!(s.config.policy_upload_limit, defaults.policy_upload_limit);
        assert_eq!(s.config.request_timeout, defaults.request_timeout);
        assert_eq!(s.config.session_ttl, defaults.session_ttl);
        assert_eq!(s.config.header_read_timeout, defaults.header_read_timeout);
        assert_eq!(s.config.idle_timeout, defaults.idle_timeout);
        assert_eq!(s.config.max_connections, defaults.max_connections);
        assert_eq!(s.config.checkpoint_public, defaults.checkpoint_public);
        assert_eq!(
            s.checkpoint.origin_base.as_str(),
            crate::checkpoint::DEFAULT_ORIGIN_BASE
        );
        assert_eq!(s.checkpoint.interval, Duration::from_secs(60));
        assert_eq!(s.checkpoint.signing_key, None);
    }

    #[test]
    fn unknown_config_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("journey.toml");
        std::fs::write(&file, "lisen = \"0.0.0.0:9000\"\n").unwrap();
        let args = T::try_parse_from(["t", "--config", file.to_str().unwrap()]).unwrap();
        assert!(Settings::resolve(args.serve).is_err());
    }
}
