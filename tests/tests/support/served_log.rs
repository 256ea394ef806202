//! A Journey log as its operator runs it, for the tests of proof an outsider can check (issue #18): an
//! embedded store in a data directory, the proof service signing its checkpoints with the log's key, and
//! `journey_api::router` serving it over HTTP on a local port, the routes a witness and a reader use.
//!
//! It can also play the adversary the issue names: an operator with full write access to the data directory
//! and the log's signing key. It rebuilds the log from appends it chooses into a fresh directory (every
//! chain recomputed, so `journey verify` passes on the result) under the same log id, moves it into place
//! and restarts the server ([`ServedLog::replace`]); restores an older copy of the directory
//! ([`ServedLog::backup`], [`ServedLog::restore`]); or runs a second copy and shows each client the one it
//! chooses ([`ServedLog::fork`], [`ServedLog::show`]), by the bearer key a client presents.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::header;
use journey_api::{AppState, Config};
use journey_core::journal::MemoryJournal;
use journey_core::proof::{OriginBase, Proofs, Witness};
use journey_core::store::{AppendRequest, EventStore, StreamExport, TreeStore};
use journey_core::tlog::{NoteSigner, SignedCheckpoint, VerifierKey};
use journey_core::{ChildId, ExpectedVersion, ManualClock, Position, RecordedEvent, Timestamp};
use journey_embedded::EmbeddedStore;
use journey_synth::{self as synth, AuthorityProfile, GeneratedAppend};
use tower::ServiceExt;

/// Where the test log's origin starts: its origin is `<base>/<log id>`.
pub const ORIGIN_BASE: &str = "journey.council.example/log";
/// The seed of the log's signing key (the operator's, and so the adversary's).
const LOG_KEY_SEED: [u8; 32] = [7; 32];

/// The appends of a synthetic authority of `children` children, in the order it records them.
pub fn synthetic_appends(children: usize, seed: u64) -> Vec<GeneratedAppend> {
    let profile = AuthorityProfile {
        children,
        ..AuthorityProfile::small()
    };
    synth::generate(seed, &profile).collect()
}

/// One stored record as an append of its own, at its recording time: what an export holds, and what an
/// adversary re-imports record by record.
pub fn as_append(record: &RecordedEvent) -> GeneratedAppend {
    GeneratedAppend {
        recorded_at: record.envelope.recorded_at,
        request: AppendRequest {
            child_id: record.envelope.child_id.clone(),
            expected: ExpectedVersion::Any,
            recorded_by: record.envelope.recorded_by.clone(),
            events: vec![record.as_new_event()],
        },
    }
}

/// One copy of the log: a data directory, its open store, the proof service over it and the router.
struct View {
    dir: PathBuf,
    store: Arc<EmbeddedStore>,
    clock: Arc<ManualClock>,
    proofs: Arc<Proofs>,
    router: Router,
}

/// The log, served. View 0 is the operator's data directory; forks are further copies.
pub struct ServedLog {
    runtime: tokio::runtime::Runtime,
    root: tempfile::TempDir,
    witnesses: Vec<Witness>,
    views: Arc<Mutex<Vec<Option<Arc<View>>>>>,
    /// Which view the client presenting a bearer key is shown (view 0 otherwise).
    shown: Arc<Mutex<HashMap<String, usize>>>,
    address: SocketAddr,
    /// Numbers the directories the adversary makes, so none is made twice.
    made: Mutex<u32>,
}

impl ServedLog {
    /// A new log in a fresh data directory, accepting cosignatures from `witnesses`, served on a local port.
    pub fn new(witnesses: Vec<Witness>) -> ServedLog {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime");
        let root = tempfile::tempdir().expect("a temporary directory");
        let views: Arc<Mutex<Vec<Option<Arc<View>>>>> = Arc::new(Mutex::new(Vec::new()));
        let shown: Arc<Mutex<HashMap<String, usize>>> = Arc::new(Mutex::new(HashMap::new()));
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("a local port");
        let address = listener.local_addr().expect("its address");
        let front = {
            let views = views.clone();
            let shown = shown.clone();
            Router::new().fallback(move |request: Request| {
                let views = views.clone();
                let shown = shown.clone();
                async move { forward(&views, &shown, request).await }
            })
        };
        runtime.spawn(async move {
            axum::serve(listener, front).await.expect("the test server runs");
        });
        let log = ServedLog {
            runtime,
            root,
            witnesses,
            views,
            shown,
            address,
            made: Mutex::new(0),
        };
        let dir = log.root.path().join("data");
        let view = log.open(&dir);
        log.views.lock().unwrap().push(Some(view));
        log
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    fn open(&self, dir: &Path) -> Arc<View> {
        let clock = Arc::new(ManualClock::new(Timestamp::UNIX_EPOCH));
        let store = Arc::new(EmbeddedStore::open(dir, clock.clone()).expect("the store opens"));
        if let Some(newest) = self
            .runtime
            .block_on(store.read_all(Position::FIRST, usize::MAX))
            .expect("the log reads")
            .last()
        {
            clock.set(newest.envelope.recorded_at);
        }
        let base = OriginBase::parse(ORIGIN_BASE).unwrap();
        let signer = NoteSigner::from_seed(base.origin(store.log_id()).key_name(), &LOG_KEY_SEED);
        let proofs = Arc::new(
            Proofs::new(
                store.clone() as Arc<dyn TreeStore>,
                &base,
                signer,
                self.witnesses.clone(),
                clock.clone(),
            )
            .expect("the proof service"),
        );
        let state = AppState::new(
            store.clone(),
            Arc::new(MemoryJournal::new(clock.clone())),
            clock.clone(),
            Config::default(),
        )
        .with_proofs(proofs.clone());
        Arc::new(View {
            dir: dir.to_owned(),
            store,
            clock,
            proofs,
            router: journey_api::router(state),
        })
    }

    /// A path for a new directory the adversary makes: `<what>-<n>` in the test's directory.
    fn fresh(&self, what: &str) -> PathBuf {
        let mut made = self.made.lock().unwrap();
        *made += 1;
        self.root.path().join(format!("{what}-{made}"))
    }

    fn view(&self, view: usize) -> Arc<View> {
        self.views.lock().unwrap()[view].clone().expect("an open view")
    }

    /// Stops the server of `view` and closes its store, as the adversary does before touching its files.
    fn close(&self, view: usize) -> PathBuf {
        let taken = self.views.lock().unwrap()[view].take().expect("an open view");
        let View { dir, store, .. } = Arc::into_inner(taken).expect("no request in flight");
        Arc::into_inner(store)
            .expect("the store is no longer shared")
            .close()
            .expect("the store closes cleanly");
        dir
    }

    fn reopen(&self, view: usize, dir: &Path) {
        let opened = self.open(dir);
        self.views.lock().unwrap()[view] = Some(opened);
    }

    /// The log's verifier key (the same for every view: the adversary holds the key).
    pub fn vkey(&self) -> VerifierKey {
        self.view(0).proofs.verifier_key()
    }

    pub fn origin(&self, view: usize) -> String {
        self.view(view).proofs.origin().to_string()
    }

    /// Appends to `view`'s log, each at its recording time, as an integrator's server would have.
    pub fn append(&self, view: usize, appends: impl IntoIterator<Item = GeneratedAppend>) {
        let view = self.view(view);
        let report = self
            .runtime
            .block_on(synth::load(view.store.as_ref(), &view.clock, appends))
            .expect("the load runs");
        assert!(report.rejected.is_empty(), "refused: {:?}", report.rejected);
    }

    /// Every record of `view`'s log.
    pub fn records(&self, view: usize) -> Vec<RecordedEvent> {
        self.runtime
            .block_on(self.view(view).store.read_all(Position::FIRST, usize::MAX))
            .expect("the log reads")
    }

    /// The server signs a checkpoint of `view`'s tree as it stands (what it does at its interval).
    pub fn sign(&self, view: usize) -> SignedCheckpoint {
        let proofs = self.view(view).proofs.clone();
        self.runtime.block_on(async {
            proofs.sign().await.expect("the server signs");
            proofs.latest().await.expect("reads").expect("a checkpoint")
        })
    }

    /// The adversary's rebuild: a fresh data directory under `view`'s log id, filled from `appends` (each
    /// chain recomputed by the store as it records them), moved into the place of `view`'s directory, and
    /// served; the server then signs a checkpoint of it with the log's key. Returns that checkpoint.
    pub fn replace(&self, view: usize, appends: Vec<GeneratedAppend>) -> SignedCheckpoint {
        let log_id = self.view(view).store.log_id().clone();
        let rebuilt = self.fresh("rebuilt");
        // The log's identity is a file in its directory: written first, the new store takes it as its own.
        std::fs::create_dir_all(rebuilt.join("log")).unwrap();
        std::fs::write(rebuilt.join("log").join("id"), format!("{log_id}\n")).unwrap();
        {
            let clock = ManualClock::new(Timestamp::UNIX_EPOCH);
            let store = EmbeddedStore::open(&rebuilt, Arc::new(clock.clone())).expect("a new store");
            assert_eq!(store.log_id(), &log_id, "the rebuilt log takes the original's id");
            let report = self
                .runtime
                .block_on(synth::load(&store, &clock, appends))
                .expect("the load runs");
            assert!(report.rejected.is_empty(), "refused: {:?}", report.rejected);
            store.close().expect("closes");
        }
        let dir = self.close(view);
        std::fs::rename(&dir, self.fresh("replaced")).unwrap();
        std::fs::rename(&rebuilt, &dir).unwrap();
        self.reopen(view, &dir);
        self.sign(view)
    }

    /// A copy of `view`'s data directory as it is now (the server stopped while it is taken).
    pub fn backup(&self, view: usize) -> PathBuf {
        let dir = self.close(view);
        let copy = self.fresh("backup");
        copy_dir(&dir, &copy);
        self.reopen(view, &dir);
        copy
    }

    /// The adversary restores `backup` in place of `view`'s directory and restarts the server, which signs
    /// (or serves again) the checkpoint the backup holds.
    pub fn restore(&self, view: usize, backup: &Path) -> SignedCheckpoint {
        let dir = self.close(view);
        std::fs::remove_dir_all(&dir).unwrap();
        copy_dir(backup, &dir);
        self.reopen(view, &dir);
        self.sign(view)
    }

    /// A second copy of the operator's log, served to whoever [`ServedLog::show`] sends to it.
    pub fn fork(&self) -> usize {
        let copy = self.backup(0);
        let dir = self
            .root
            .path()
            .join(format!("fork-{}", self.views.lock().unwrap().len()));
        std::fs::rename(&copy, &dir).unwrap();
        let opened = self.open(&dir);
        let mut views = self.views.lock().unwrap();
        views.push(Some(opened));
        views.len() - 1
    }

    /// A GET of `path` (with its query) from view 0's server, without a key, as an outsider asks.
    pub fn get(&self, path: &str) -> (u16, Vec<u8>) {
        let router = self.view(0).router.clone();
        self.runtime.block_on(async {
            let request = Request::get(path).body(Body::empty()).unwrap();
            let response = router.oneshot(request).await.expect("infallible");
            let status = response.status().as_u16();
            let body = axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .unwrap();
            (status, body.to_vec())
        })
    }

    /// From now on, the client presenting `bearer` is shown `view`.
    pub fn show(&self, bearer: &str, view: usize) {
        self.shown.lock().unwrap().insert(bearer.to_owned(), view);
    }

    /// The child's verifiable export from `view`, with its proof bundle, as `GET /v1/children/{id}/export`
    /// answers it.
    pub fn export(&self, view: usize, child: &ChildId) -> StreamExport {
        let view = self.view(view);
        self.runtime.block_on(async {
            let mut export = view.store.export_stream(child.clone()).await.expect("exports");
            view.proofs.attach(&mut export).await.expect("proofs attach");
            export
        })
    }
}

impl Drop for ServedLog {
    fn drop(&mut self) {
        // Close every store before its directory goes.
        let views = std::mem::take(&mut *self.views.lock().unwrap());
        drop(views);
    }
}

async fn forward(
    views: &Mutex<Vec<Option<Arc<View>>>>,
    shown: &Mutex<HashMap<String, usize>>,
    mut request: Request,
) -> axum::response::Response {
    let bearer = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    // The adversary's front takes the key: the routes a witness uses are public.
    request.headers_mut().remove(header::AUTHORIZATION);
    let index = bearer
        .and_then(|b| shown.lock().unwrap().get(&b).copied())
        .unwrap_or(0);
    let router = views.lock().unwrap()[index].as_ref().map(|v| v.router.clone());
    match router {
        Some(router) => router.oneshot(request).await.expect("infallible"),
        None => axum::response::Response::builder()
            .status(503)
            .body(Body::from("the server is stopped"))
            .unwrap(),
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}
