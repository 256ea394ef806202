//! A test log for the witness and the outsider's checks (issue #18): real Journey records from a synthetic
//! authority, the Merkle tree over their `stream_hash ‖ log_hash` entries, checkpoints signed with the log's
//! key, and an HTTP server speaking the routes `journey serve` serves for them (docs/adr/0010, memo §5.6):
//!
//! ```text
//! GET  /checkpoint                      the latest signed checkpoint with the cosignatures received
//! GET  /checkpoints/<size>
//! GET  /tile/<L>/<N>[.p/<W>]            c2sp.org/tlog-tiles
//! GET  /tile/entries/<N>[.p/<W>]
//! GET  /proof/consistency?old=M&new=N   proof hashes, base64, one per line
//! POST /checkpoint/cosignatures         cosignature lines of a configured witness (bearer key)
//! ```
//!
//! It is a fixture, built from `journey-tlog` alone, for the tests to run before the server has these
//! routes. It can also play the adversary: an operator with write access to the data and the log's key,
//! who rebuilds the records with chains recomputed ([`rebuild`]), replaces the tree and re-signs
//! ([`FixtureLog::replace`]), or shows different logs to different clients ([`FixtureLog::fork`],
//! [`FixtureLog::show`]).

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures::executor::block_on;
use journey_core::store::{AppendRequest, EventStore, InMemoryStore};
use journey_core::{ExpectedVersion, ManualClock, Position, RecordedEvent, Timestamp};
use journey_synth::{self as synth, AuthorityProfile, GeneratedAppend};
use journey_tlog::note::KeyName;
use journey_tlog::tiles::{TileKind, encode_entry_bundle, read_tile};
use journey_tlog::witness_protocol::AddCheckpointRequest;
use journey_tlog::{
    Checkpoint, LeafEntry, MemoryHashes, NoteSignature, NoteSigner, Origin, RecordProof, SignedCheckpoint,
    TilePath, TreeBuilder, VerifierKey,
};

/// The records of a synthetic authority of `children` children, as a store records them.
pub fn synthetic_records(children: usize, seed: u64) -> Vec<RecordedEvent> {
    let profile = AuthorityProfile {
        children,
        ..AuthorityProfile::small()
    };
    load(synth::generate(seed, &profile))
}

fn load(appends: impl IntoIterator<Item = GeneratedAppend>) -> Vec<RecordedEvent> {
    let clock = ManualClock::new(Timestamp::UNIX_EPOCH);
    let store = InMemoryStore::new(Arc::new(clock.clone()));
    let report = block_on(synth::load(&store, &clock, appends)).expect("the load runs");
    assert!(report.rejected.is_empty(), "refused: {:?}", report.rejected);
    block_on(store.read_all(Position::FIRST, usize::MAX)).expect("the log reads back")
}

/// One record as an append of its own, at its recording time: what an export holds, and what an adversary
/// re-imports record by record.
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

/// The adversary's rebuild: the appends recorded again into a fresh store, which recomputes every chain
/// hash, so `journey verify` would pass on the result.
pub fn rebuild(appends: impl IntoIterator<Item = GeneratedAppend>) -> Vec<RecordedEvent> {
    load(appends)
}

/// The tree entry of a record.
pub fn entry(record: &RecordedEvent) -> LeafEntry {
    LeafEntry {
        stream_hash: record.chain.stream_hash,
        log_hash: record.chain.log_hash,
    }
}

/// One log as a server holds it: entries, tree, signed checkpoints and the cosignatures received.
#[derive(Clone, Debug, Default)]
pub struct LogState {
    pub entries: Vec<LeafEntry>,
    builder: TreeBuilder,
    pub hashes: MemoryHashes,
    checkpoints: BTreeMap<u64, SignedCheckpoint>,
    cosignatures: BTreeMap<u64, Vec<NoteSignature>>,
    latest: Option<u64>,
}

impl LogState {
    fn of(entries: &[LeafEntry]) -> LogState {
        let mut state = LogState::default();
        state.push(entries);
        state
    }

    fn push(&mut self, entries: &[LeafEntry]) {
        for entry in entries {
            self.builder.push(entry.leaf_hash());
            self.entries.push(*entry);
        }
        self.hashes
            .apply(&self.builder.take_appends())
            .expect("appends follow the stored levels");
    }

    pub fn size(&self) -> u64 {
        self.entries.len() as u64
    }

    /// The checkpoint at a size the log signed, with the cosignatures received for it, as served.
    pub fn served(&self, size: u64) -> Option<Vec<u8>> {
        let mut signed = self.checkpoints.get(&size)?.clone();
        for line in self.cosignatures.get(&size).into_iter().flatten() {
            signed.add_signature(line.clone()).expect("few signatures");
        }
        Some(signed.to_bytes())
    }

    pub fn latest(&self) -> Option<u64> {
        self.latest
    }
}

#[derive(Debug, Default)]
struct Inner {
    /// View 0 is what everyone sees unless shown another.
    views: Vec<LogState>,
    /// Bearer key → the view its holder is shown.
    shown: HashMap<String, usize>,
    /// Witnesses whose cosignatures the server takes: (key, the bearer key it delivers with).
    witnesses: Vec<(VerifierKey, String)>,
    /// Cosignature deliveries refused, with the status.
    refused_deliveries: Vec<u16>,
}

/// A log with its key and (once [`FixtureLog::serve`]d) its server.
#[derive(Clone, Debug)]
pub struct FixtureLog {
    pub origin: Origin,
    signer: Arc<NoteSigner>,
    inner: Arc<Mutex<Inner>>,
}

impl FixtureLog {
    /// An empty log named `origin`, with a signing key made from `key_seed`.
    pub fn new(origin: &str, key_seed: [u8; 32]) -> FixtureLog {
        let origin = Origin::parse(origin).expect("a valid origin");
        FixtureLog {
            signer: Arc::new(NoteSigner::from_seed(
                KeyName::parse(origin.as_str()).unwrap(),
                &key_seed,
            )),
            origin,
            inner: Arc::new(Mutex::new(Inner {
                views: vec![LogState::default()],
                ..Inner::default()
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn vkey(&self) -> VerifierKey {
        self.signer.verifier_key()
    }

    /// The log's private key text, in Go's layout.
    pub fn private_key(&self) -> String {
        self.signer.private_text().to_string()
    }

    /// Takes the cosignatures of a witness delivered with `bearer`.
    pub fn accept_witness(&self, key: VerifierKey, bearer: &str) {
        self.lock().witnesses.push((key, bearer.to_owned()));
    }

    /// Appends entries to a view.
    pub fn append(&self, view: usize, entries: &[LeafEntry]) {
        self.lock().views[view].push(entries);
    }

    /// Signs a view's whole tree as its latest checkpoint.
    pub fn sign(&self, view: usize) -> SignedCheckpoint {
        let mut inner = self.lock();
        let state = &mut inner.views[view];
        let size = state.size();
        let checkpoint = Checkpoint {
            origin: self.origin.clone(),
            size,
            root: state.builder.root(),
        };
        let signed = SignedCheckpoint::sign(checkpoint, &self.signer).expect("the key is named after the origin");
        state.checkpoints.insert(size, signed.clone());
        state.latest = Some(size);
        signed
    }

    /// The adversary replaces a view's log with other entries, deletes what the server stored of the old
    /// one (checkpoints, cosignatures), and signs the new tree with the log's key.
    pub fn replace(&self, view: usize, entries: &[LeafEntry]) -> SignedCheckpoint {
        self.lock().views[view] = LogState::of(entries);
        self.sign(view)
    }

    /// A new view, a copy of view 0 as it stands, to show some clients another log than others.
    pub fn fork(&self) -> usize {
        let mut inner = self.lock();
        let copy = inner.views[0].clone();
        inner.views.push(copy);
        inner.views.len() - 1
    }

    /// Shows `view` to whoever presents `bearer`.
    pub fn show(&self, bearer: &str, view: usize) {
        self.lock().shown.insert(bearer.to_owned(), view);
    }

    /// A copy of a view.
    pub fn state(&self, view: usize) -> LogState {
        self.lock().views[view].clone()
    }

    /// The inclusion proof of the record at `position`, against the view's checkpoint at `size` as served
    /// (with the cosignatures received): one record of a child's proof bundle.
    pub fn record_proof(&self, view: usize, position: u64, size: u64) -> RecordProof {
        let inner = self.lock();
        let state = &inner.views[view];
        let index = journey_tlog::hash::leaf_index(position).unwrap();
        let path = journey_tlog::tree::inclusion_proof(index, size, &state.hashes).unwrap();
        let checkpoint = SignedCheckpoint::parse(&state.served(size).expect("a signed size")).unwrap();
        RecordProof::for_entry(&state.entries[index as usize], index, path, checkpoint)
    }

    /// The add-checkpoint body from `old` to the view's checkpoint at `new` (the `--later` file of
    /// `journey verify-export`), with the proof the view's tree gives.
    pub fn later(&self, view: usize, old: u64, new: u64) -> Vec<u8> {
        let inner = self.lock();
        let state = &inner.views[view];
        AddCheckpointRequest {
            old_size: old,
            proof: journey_tlog::tree::consistency_proof(old, new, &state.hashes).unwrap(),
            checkpoint: SignedCheckpoint::parse(&state.served(new).expect("a signed size")).unwrap(),
        }
        .to_bytes()
    }

    /// Serves the log on a loopback port, in a thread of its own, for as long as the server is held.
    pub fn serve(&self) -> FixtureServer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        listener.set_nonblocking(true).unwrap();
        let address = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let app = router(self.clone());
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stopped.await;
                    })
                    .await
                    .unwrap();
            });
        });
        FixtureServer {
            address,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// The statuses of cosignature deliveries the server refused.
    pub fn refused_deliveries(&self) -> Vec<u16> {
        self.lock().refused_deliveries.clone()
    }
}

/// A running fixture server; stopped when dropped.
#[derive(Debug)]
pub struct FixtureServer {
    pub address: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FixtureServer {
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }
}

impl Drop for FixtureServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

const TEXT: &str = "text/plain; charset=utf-8";

fn router(log: FixtureLog) -> Router {
    Router::new()
        .route("/checkpoint", get(checkpoint).post(|| async { StatusCode::METHOD_NOT_ALLOWED }))
        .route("/checkpoints/{size}", get(checkpoint_at))
        .route("/tile/{*path}", get(tile))
        .route("/proof/consistency", get(consistency))
        .route("/checkpoint/cosignatures", axum::routing::post(cosignatures))
        .with_state(log)
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::to_owned)
}

/// The view shown to a request.
fn view_of(inner: &Inner, headers: &HeaderMap) -> usize {
    bearer(headers)
        .and_then(|b| inner.shown.get(&b).copied())
        .unwrap_or(0)
}

fn text(status: StatusCode, body: impl Into<axum::body::Body>) -> Response {
    (status, [(header::CONTENT_TYPE, TEXT)], body.into()).into_response()
}

async fn checkpoint(State(log): State<FixtureLog>, headers: HeaderMap) -> Response {
    let inner = log.lock();
    let state = &inner.views[view_of(&inner, &headers)];
    match state.latest.and_then(|size| state.served(size)) {
        Some(bytes) => text(StatusCode::OK, bytes),
        None => text(StatusCode::NOT_FOUND, "no checkpoint yet\n"),
    }
}

async fn checkpoint_at(State(log): State<FixtureLog>, headers: HeaderMap, Path(size): Path<u64>) -> Response {
    let inner = log.lock();
    let state = &inner.views[view_of(&inner, &headers)];
    match state.served(size) {
        Some(bytes) => text(StatusCode::OK, bytes),
        None => text(StatusCode::NOT_FOUND, "no checkpoint of that size\n"),
    }
}

async fn tile(State(log): State<FixtureLog>, headers: HeaderMap, Path(path): Path<String>) -> Response {
    let Ok(tile) = TilePath::parse(&format!("tile/{path}")) else {
        return text(StatusCode::NOT_FOUND, "not a tile path\n");
    };
    let inner = log.lock();
    let state = &inner.views[view_of(&inner, &headers)];
    if !tile.within(state.size()) {
        return text(StatusCode::NOT_FOUND, "not in the tree\n");
    }
    let bytes = match tile.kind() {
        TileKind::Hashes { .. } => read_tile(&tile, &state.hashes).unwrap(),
        TileKind::Entries => {
            let start = tile.start() as usize;
            let entries: Vec<[u8; 64]> = state.entries[start..start + usize::from(tile.width())]
                .iter()
                .map(LeafEntry::to_bytes)
                .collect();
            encode_entry_bundle(entries.iter().map(|e| &e[..])).unwrap()
        }
    };
    ([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response()
}

#[derive(serde::Deserialize)]
struct Sizes {
    old: u64,
    new: u64,
}

async fn consistency(State(log): State<FixtureLog>, headers: HeaderMap, Query(sizes): Query<Sizes>) -> Response {
    let inner = log.lock();
    let state = &inner.views[view_of(&inner, &headers)];
    if sizes.new > state.size() {
        return text(StatusCode::NOT_FOUND, "past the tree\n");
    }
    match journey_tlog::tree::consistency_proof(sizes.old, sizes.new, &state.hashes) {
        Ok(proof) => {
            let body: String = proof
                .iter()
                .map(|h| {
                    use base64::Engine as _;
                    format!("{}\n", base64::engine::general_purpose::STANDARD.encode(h))
                })
                .collect();
            text(StatusCode::OK, body)
        }
        Err(e) => text(StatusCode::BAD_REQUEST, format!("{e}\n")),
    }
}

async fn cosignatures(State(log): State<FixtureLog>, headers: HeaderMap, body: String) -> Response {
    let mut inner = log.lock();
    let refuse = |inner: &mut Inner, status: StatusCode, why: &str| {
        inner.refused_deliveries.push(status.as_u16());
        text(status, format!("{why}\n"))
    };
    let Some(bearer) = bearer(&headers) else {
        return refuse(&mut inner, StatusCode::UNAUTHORIZED, "a witness's bearer key is needed");
    };
    let keys: Vec<VerifierKey> = inner
        .witnesses
        .iter()
        .filter(|(_, b)| *b == bearer)
        .map(|(k, _)| k.clone())
        .collect();
    if keys.is_empty() {
        return refuse(&mut inner, StatusCode::FORBIDDEN, "not a witness of this log");
    }
    let Some(lines) = body.strip_suffix('\n') else {
        return refuse(&mut inner, StatusCode::BAD_REQUEST, "cosignature lines end with a newline");
    };
    let view = inner.shown.get(&bearer).copied().unwrap_or(0);
    let mut accepted = Vec::new();
    for line in lines.split('\n') {
        let Ok(line) = NoteSignature::parse_line(line) else {
            return refuse(&mut inner, StatusCode::BAD_REQUEST, "not a cosignature line");
        };
        // The checkpoint it cosigns: the latest first, then any other this view signed.
        let state = &inner.views[view];
        let mut sizes: Vec<u64> = state.latest.into_iter().collect();
        sizes.extend(state.checkpoints.keys().rev().filter(|s| Some(**s) != state.latest));
        let found = sizes.into_iter().find(|size| {
            keys.iter().any(|k| {
                journey_tlog::cosignature::verify(k, state.checkpoints[size].checkpoint(), &line).is_ok()
            })
        });
        match found {
            Some(size) => accepted.push((size, line)),
            None => {
                return refuse(
                    &mut inner,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "the line verifies over no checkpoint this log signed",
                );
            }
        }
    }
    for (size, line) in accepted {
        let stored = inner.views[view].cosignatures.entry(size).or_default();
        // One line per witness key and checkpoint: the newest replaces the older.
        stored.retain(|s| !(s.name() == line.name() && s.key_id() == line.key_id()));
        stored.push(line);
    }
    StatusCode::NO_CONTENT.into_response()
}
