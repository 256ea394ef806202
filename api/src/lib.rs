//! `journey-api`: the REST API (issue #4).
//!
//! [`router`] builds the whole HTTP surface from an [`AppState`], so tests drive it with
//! `tower::ServiceExt::oneshot` and `journey serve` binds it to a socket. Every refusal is an RFC 9457
//! problem ([`error`]); every route that reads a child's record writes to the access log first
//! ([`access`]); keys and roles are in [`auth`]; the OpenAPI 3.1 document is generated from the handlers
//! ([`openapi`]).
//!
//! Layering: depends on `journey-core` (and `journey-plugins` for the policy routes); nothing depends on it
//! but the CLI.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use journey_core::journal::Journal;
use journey_core::store::EventStore;
use journey_core::time::Clock;
use utoipa_axum::router::OpenApiRouter;

pub mod access;
pub mod auth;
pub mod error;
pub mod extract;
pub mod holds;
pub mod measures_report;
pub mod merges;
pub mod metrics;
mod middleware;
pub mod responses;
pub mod reviews;
pub mod routes;
pub mod schemas;
pub mod sealed;
pub mod server;
pub mod session;
pub mod subject_access;
pub mod subject_access_page;
pub mod timeline;

pub use auth::{Action, KeyRing, LocalOperator, NewKey, Principal, Role};
pub use error::{ApiError, ApiResult, Problem};
pub use metrics::{Metrics, StoreStats};
pub use server::serve;

/// Limits and timings of the server.
#[derive(Clone, Debug)]
pub struct Config {
    /// The largest request body accepted, in bytes (413 above it), except a policy upload's.
    pub body_limit: usize,
    /// The largest policy upload (`POST /v1/policies`: a component, base64 in JSON, with its parameters and
    /// examples) accepted, in bytes. Components are not events: one written in another language (Python,
    /// JavaScript) is easily 20 MB, so uploads have a limit of their own.
    pub policy_upload_limit: usize,
    /// How long a request may take before it is answered 503 (the change feed's stream is not bounded).
    pub request_timeout: Duration,
    /// The most records one page of a read returns.
    pub max_page: usize,
    /// How often the change feed sends a keep-alive comment when nothing happens.
    pub feed_keep_alive: Duration,
    /// How long a browser session (`POST /login`) lasts.
    pub session_ttl: Duration,
    /// Mark the session cookie `Secure` (the server is reached over HTTPS, as it should be in production).
    pub secure_cookies: bool,
    /// Whether checkpoints, hash tiles and consistency proofs may be read without a key (they carry no
    /// personal data; witnesses and monitors read them). `false`: any valid key (`routes::proof`).
    pub checkpoint_public: bool,
    /// How long a client may take to send a request's head once it has begun it ([`serve`]).
    pub header_read_timeout: Duration,
    /// How long a connection with no request in flight stays open ([`serve`]).
    pub idle_timeout: Duration,
    /// The most connections served at once ([`serve`]); keep it below the limit on open files.
    pub max_connections: usize,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            body_limit: 4 * 1024 * 1024,
            policy_upload_limit: 64 * 1024 * 1024,
            request_timeout: Duration::from_secs(30),
            max_page: 1000,
            feed_keep_alive: Duration::from_secs(15),
            session_ttl: Duration::from_secs(30 * 60),
            secure_cookies: false,
            checkpoint_public: true,
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: 512,
        }
    }
}

/// Everything the handlers share. A plain struct: add a field (and set it in [`AppState::new`]) for a new
/// component.
#[derive(Clone, Debug)]
pub struct AppState {
    pub store: Arc<dyn EventStore>,
    /// The system journal: the `keys` and `access` streams (and `policies`).
    pub journal: Arc<dyn Journal>,
    /// Transaction time for defaults ("known at now").
    pub clock: Arc<dyn Clock>,
    pub config: Arc<Config>,
    pub metrics: Arc<Metrics>,
    /// The API keys, as the journal's `keys` stream says.
    pub keys: Arc<KeyRing>,
    /// Flips to `true` when the server begins to shut down: readiness fails and change feeds end.
    pub shutdown: Arc<tokio::sync::watch::Sender<bool>>,
    /// The policy registry (deploy, evaluate, replay); `None` for a server without a policy host, whose
    /// policy routes answer 503.
    pub registry: Option<Arc<journey_plugins::registry::Registry>>,
    /// Browser sessions signed in on this server (`session.rs`).
    pub sessions: Arc<session::Sessions>,
    /// The tree over the log, its checkpoints and proofs (ADR 10); `None` for a server that keeps no tree,
    /// whose proof routes answer 503.
    pub proofs: Option<Arc<journey_core::proof::Proofs>>,
    /// The sealed adoption records, caught up from the log on each use (`sealed.rs`).
    pub sealed: Arc<sealed::SealedRecords>,
    /// The merges of records found to be one child, caught up from the log on each use (`merges.rs`).
    pub merges: Arc<merges::Merges>,
}

impl AppState {
    pub fn new(
        store: Arc<dyn EventStore>,
        journal: Arc<dyn Journal>,
        clock: Arc<dyn Clock>,
        config: Config,
    ) -> AppState {
        AppState {
            store,
            journal,
            clock,
            config: Arc::new(config),
            metrics: Arc::new(Metrics::new()),
            keys: Arc::new(KeyRing::new()),
            shutdown: Arc::new(tokio::sync::watch::channel(false).0),
            registry: None,
            sessions: Arc::new(session::Sessions::default()),
            proofs: None,
            sealed: Arc::new(sealed::SealedRecords::default()),
            merges: Arc::new(merges::Merges::default()),
        }
    }

    /// The same state with the proof service: checkpoints, tiles, proofs, and proofs in exports.
    pub fn with_proofs(mut self, proofs: Arc<journey_core::proof::Proofs>) -> AppState {
        self.proofs = Some(proofs);
        self
    }

    /// The same state with a policy registry.
    pub fn with_registry(mut self, registry: Arc<journey_plugins::registry::Registry>) -> AppState {
        self.registry = Some(registry);
        self
    }

    /// Starts shutting down: `/readyz` answers 503 and open change feeds end, so that a graceful shutdown
    /// can finish.
    pub fn begin_shutdown(&self) {
        self.shutdown.send_replace(true);
    }

    pub fn is_shutting_down(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// Why this node cannot serve now: for each part that cannot (`shutdown`, `store`, `journal`), why. Empty
    /// when it can. A store or journal whose writer stopped after a failed write (fail-stop: nothing more is
    /// written until the server is restarted on a repaired disk), or one that was closed, cannot. `/readyz`
    /// and `/metrics` say so.
    pub fn unready(&self) -> Vec<(&'static str, String)> {
        let mut reasons = Vec::new();
        if self.is_shutting_down() {
            reasons.push(("shutdown", "shutting down".to_owned()));
        }
        if let Some(why) = self.store.failure() {
            reasons.push(("store", format!("the store cannot take writes: {why}")));
        }
        if let Some(why) = self.journal.failure() {
            reasons.push((
                "journal",
                format!("the journal (keys, access log, policies) cannot take writes: {why}"),
            ));
        }
        reasons
    }
}

/// The routes with their OpenAPI descriptions, before state and middleware.
fn api_routes() -> OpenApiRouter<AppState> {
    routes::all()
}

/// The whole HTTP surface: `/v1`, health, metrics and `/openapi.json`, with problem details for every
/// refusal, the request timeout, metrics and request logs.
pub fn router(state: AppState) -> Router {
    let (router, api) = api_routes().split_for_parts();
    let document = Arc::new(api);
    let routed = router
        .route(
            "/openapi.json",
            axum::routing::get(move || {
                let document = Arc::clone(&document);
                async move { axum::Json(document.as_ref().clone()) }
            }),
        )
        .fallback(routes::ops::not_found)
        .layer(axum::middleware::from_fn(middleware::merged_location))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::timeout,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            session::layer,
        ))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            middleware::panic_response,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::observe,
        ))
        .with_state(state);
    // Bodiless refusals become problems around the whole router, not inside each route: a route's layers
    // run inside its method router, which adds the `Allow` header of a 405 only after them.
    Router::new()
        .fallback_service(routed)
        .layer(axum::middleware::from_fn(middleware::problem_details))
}

/// The OpenAPI 3.1 document, as served at `/openapi.json` and committed at `docs/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api_routes().into_openapi()
}

/// The OpenAPI document as committed: pretty JSON with a final newline.
pub fn openapi_json() -> String {
    let mut text = openapi()
        .to_pretty_json()
        .expect("the OpenAPI document serialises");
    text.push('\n');
    text
}
