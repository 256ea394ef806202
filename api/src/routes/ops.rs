//! Health, readiness, metrics, and the fallback for unknown routes.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, Uri, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::responses::Unavailable;

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    pub status: &'static str,
}

/// Liveness: the process is up and serving.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    pub status: &'static str,
    /// The log's last position (0 when empty).
    pub log_position: u64,
    /// The journal's last sequence number.
    pub journal_sequence: u64,
}

/// Readiness: the node can serve. Not ready (503, saying why) while it shuts down, when the store's or the
/// journal's writer has stopped after a failed write (every append, and every read that must be written
/// to the access log, would fail until the server is restarted), or when the store does not answer. A load
/// balancer takes the node out of service; `journey_ready` in `/metrics` says the same.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    responses(
        (status = 200, body = Readiness),
        (status = 503, response = Unavailable),
    )
)]
pub async fn readyz(State(state): State<AppState>) -> ApiResult<Json<Readiness>> {
    if let Some((_, why)) = state.unready().into_iter().next() {
        return Err(ApiError::Unavailable(why));
    }
    let head = state
        .store
        .head()
        .await
        .map_err(|e| ApiError::Unavailable(format!("the store does not answer: {e}")))?;
    Ok(Json(Readiness {
        status: "ready",
        log_position: head.position.map_or(0, |p| p.0),
        journal_sequence: state.journal.head().sequence,
    }))
}

/// Prometheus metrics (text exposition format 0.0.4).
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    responses((status = 200, content_type = "text/plain; version=0.0.4", body = String))
)]
pub async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        state.metrics.render() + &crate::metrics::render_readiness(&state.unready()),
    )
        .into_response()
}

pub async fn not_found(uri: Uri) -> ApiError {
    ApiError::NotFound(format!("no route {}", uri.path()))
}
