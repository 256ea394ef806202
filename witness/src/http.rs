//! The witness's HTTP surface: c2sp.org/tlog-witness `POST /add-checkpoint` and the monitoring
//! `GET /<hex sha256(origin)>/checkpoint`, and `GET /metrics`.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use journey_tlog::witness_protocol::{CONFLICT_CONTENT_TYPE, WitnessResponse};

use crate::witness::{PushOutcome, Witness};

/// The largest add-checkpoint body read (a checkpoint with a few signatures and 63 proof lines is under
/// 8 KiB; public witnesses take 16 KiB).
pub const MAX_REQUEST: usize = 16 * 1024;

const TEXT: &str = "text/plain; charset=utf-8";

pub fn router(witness: Arc<Witness>) -> Router {
    Router::new()
        .route(
            "/add-checkpoint",
            post(add_checkpoint).layer(DefaultBodyLimit::max(MAX_REQUEST)),
        )
        .route("/{hex}/checkpoint", get(monitoring))
        .route("/metrics", get(metrics))
        .fallback(|| async {
            (
                StatusCode::NOT_FOUND,
                [(header::CONTENT_TYPE, TEXT)],
                "not found\n",
            )
        })
        .with_state(witness)
}

async fn add_checkpoint(State(witness): State<Arc<Witness>>, body: Bytes) -> Response {
    let outcome = match tokio::task::spawn_blocking(move || witness.add_checkpoint(&body)).await {
        Ok(outcome) => outcome,
        Err(e) => {
            tracing::error!(error = %e, "add-checkpoint panicked");
            return (StatusCode::INTERNAL_SERVER_ERROR, "internal error\n").into_response();
        }
    };
    match outcome {
        PushOutcome::Answer(answer) => {
            let status = StatusCode::from_u16(answer.status()).expect("the specification's statuses");
            let content_type = match answer {
                WitnessResponse::Conflict { .. } => CONFLICT_CONTENT_TYPE,
                _ => TEXT,
            };
            (status, [(header::CONTENT_TYPE, content_type)], answer.body()).into_response()
        }
        PushOutcome::Frozen(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::CONTENT_TYPE, TEXT)],
            format!(
                "this witness has frozen the origin after an alert and cosigns nothing for it: {reason}\n"
            ),
        )
            .into_response(),
        PushOutcome::Failed(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(header::CONTENT_TYPE, TEXT)],
            "the witness could not store its state; nothing was cosigned\n",
        )
            .into_response(),
    }
}

async fn monitoring(State(witness): State<Arc<Witness>>, Path(hex): Path<String>) -> Response {
    let well_formed = hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    match well_formed.then(|| witness.latest_by_hex(&hex)).flatten() {
        Some(checkpoint) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, TEXT)],
            checkpoint.to_bytes(),
        )
            .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, TEXT)],
            "no checkpoint cosigned for this origin\n",
        )
            .into_response(),
    }
}

async fn metrics(State(witness): State<Arc<Witness>>) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        witness.metrics().render(),
    )
        .into_response()
}
