//! Proof an outsider can check (ADR 10), in the C2SP formats, at the server's root so that the tlog-tiles
//! prefix is the server itself:
//!
//! * `GET /checkpoint` — the latest signed checkpoint with every configured witness's cosignature
//!   (c2sp.org/tlog-checkpoint in a signed note); `GET /checkpoints/{size}` — an earlier one;
//!   `GET /checkpoint/vkey` — the log's verifier key (for convenience: trust it only out of band).
//! * `GET /tile/{L}/{N}[.p/{W}]` — hashes of the tree (c2sp.org/tlog-tiles); `GET /tile/entries/{N}[.p/{W}]`
//!   — each record's 64-byte entry (`stream_hash ‖ log_hash`).
//! * `GET /proof/consistency?old=M&new=N` — one base64 hash a line (RFC 9162 §2.1.4).
//! * `GET /proof/inclusion?position=P[&size=N]` — a c2sp.org/tlog-proof of the record at P, with its
//!   checkpoint: a read of that child's record, authorised and access-logged as such.
//! * `POST /checkpoint/cosignatures` — a witness delivers its cosignature (the cosigned checkpoint note, or
//!   bare cosignature lines): kept only if it verifies under a configured witness key over a checkpoint this
//!   log signed, so it needs no API key: the signature is the credential.
//! * `POST /v1/checkpoints` — an admin has a checkpoint signed now.
//!
//! Who may read: checkpoints, hash tiles and consistency proofs carry no personal data (an origin, sizes
//! and hashes of hashes), and a witness or monitor must read them without a Journey key, so they are public
//! unless the config file says `[checkpoint] public = false` (then any valid key). They do show how many
//! records were written when. Entry bundles are not public: they give every record's `stream_hash`, with
//! which a guess of a child's first record could be tested (ADR 10); they need a key that may verify the
//! log (investigator, admin).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use journey_core::error::{Error as CoreError, FieldError};
use journey_core::proof::Proofs;
use journey_core::tlog::TilePath;
use journey_core::{Position, Timestamp};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::access::{Purpose, PurposeHeader, record_read};
use crate::auth::{Action, Auth};
use crate::error::{ApiError, ApiResult, Problem, problem_for_status, problem_response};
use crate::extract::QueryParams;
use crate::responses::{
    BadRequest, Forbidden, NoTree, PayloadTooLarge, TreeUnavailable, Unauthorized, UnauthorizedWhenPrivate,
};

const TEXT: &str = "text/plain; charset=utf-8";
/// The largest cosignature delivery taken: a checkpoint note with a few dozen signature lines is a few
/// KiB (c2sp.org/tlog-witness takes 16 KiB for a checkpoint with its proof).
const COSIGNATURE_BODY_LIMIT: usize = 16 * 1024;
/// How long a client should wait while the tree is rebuilt from the log.
const REBUILD_RETRY_SECS: &str = "5";

/// The proof service, or 503 for a server that keeps no tree.
fn proofs(state: &AppState) -> ApiResult<&Arc<Proofs>> {
    state.proofs.as_ref().ok_or_else(|| {
        ApiError::Unavailable("this server signs no checkpoints (it was started without a tree)".into())
    })
}

/// A refusal of the proof service: "not now" (the tree is being rebuilt) is 503 with a longer
/// `Retry-After`; the rest as everywhere.
fn refusal(e: CoreError) -> Response {
    match e {
        CoreError::Unavailable(why) => {
            let mut response = ApiError::Unavailable(why).into_response();
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static(REBUILD_RETRY_SECS));
            response
        }
        other => ApiError::from(other).into_response(),
    }
}

/// Public unless the config file made these routes need a key.
fn public_read(state: &AppState, auth: Result<Auth, ApiError>) -> ApiResult<()> {
    if state.config.checkpoint_public {
        Ok(())
    } else {
        auth.map(|_| ())
    }
}

fn text(body: impl Into<axum::body::Body>, cache: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(TEXT)),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        ],
        body.into(),
    )
        .into_response()
}

fn b64(hash: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(hash)
}

/// The latest checkpoint, with every configured witness's cosignature.
#[utoipa::path(
    get,
    path = "/checkpoint",
    tag = "proof",
    responses(
        (status = 200, description = "c2sp.org/tlog-checkpoint in a c2sp.org/signed-note: origin, tree size, base64 root; a blank line; the log's signature and the witnesses' cosignature/v1 lines", body = String, content_type = "text/plain; charset=utf-8"),
        (status = 401, response = UnauthorizedWhenPrivate),
        (status = 404, description = "No checkpoint signed yet", body = Problem, content_type = "application/problem+json"),
        (status = 503, response = NoTree),
    )
)]
pub async fn latest(State(state): State<AppState>, auth: Result<Auth, ApiError>) -> ApiResult<Response> {
    public_read(&state, auth)?;
    let proofs = proofs(&state)?;
    match proofs.latest().await {
        Ok(Some(signed)) => Ok(text(signed.to_bytes(), "no-cache")),
        Ok(None) => Err(ApiError::NotFound("no checkpoint has been signed yet".into())),
        Err(e) => Ok(refusal(e)),
    }
}

/// The checkpoint signed at one tree size, with its cosignatures.
#[utoipa::path(
    get,
    path = "/checkpoints/{size}",
    tag = "proof",
    params(("size" = u64, Path, description = "A tree size this log signed")),
    responses(
        (status = 200, description = "The signed note, as `GET /checkpoint`", body = String, content_type = "text/plain; charset=utf-8"),
        (status = 400, response = BadRequest),
        (status = 401, response = UnauthorizedWhenPrivate),
        (status = 404, description = "No checkpoint of that size", body = Problem, content_type = "application/problem+json"),
        (status = 503, response = NoTree),
    )
)]
pub async fn at_size(
    State(state): State<AppState>,
    auth: Result<Auth, ApiError>,
    Path(size): Path<String>,
) -> ApiResult<Response> {
    public_read(&state, auth)?;
    let size = decimal("size", &size)?;
    let proofs = proofs(&state)?;
    match proofs.at(size).await {
        Ok(Some(signed)) => Ok(text(signed.to_bytes(), "no-cache")),
        Ok(None) => Err(ApiError::NotFound(format!(
            "this log signed no checkpoint of tree size {size}"
        ))),
        Err(e) => Ok(refusal(e)),
    }
}

/// The log's verifier key, `<origin>+<key id>+<base64>`: what a verifier's policy names, given to it out of
/// band (this copy is for convenience).
#[utoipa::path(
    get,
    path = "/checkpoint/vkey",
    tag = "proof",
    responses(
        (status = 200, description = "The verifier key and a newline (c2sp.org/signed-note)", body = String, content_type = "text/plain; charset=utf-8"),
        (status = 401, response = UnauthorizedWhenPrivate),
        (status = 503, response = NoTree),
    )
)]
pub async fn vkey(State(state): State<AppState>, auth: Result<Auth, ApiError>) -> ApiResult<Response> {
    public_read(&state, auth)?;
    let proofs = proofs(&state)?;
    Ok(text(format!("{}\n", proofs.verifier_key()), "no-cache"))
}

/// A decimal without sign or leading zeros, naming the field when it is not one.
fn decimal(field: &str, text: &str) -> ApiResult<u64> {
    let canonical = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && !(text.len() > 1 && text.starts_with('0'));
    match text.parse::<u64>() {
        Ok(n) if canonical => Ok(n),
        _ => Err(ApiError::BadRequest {
            detail: format!("{field} must be a decimal number without leading zeros (got {text:?})"),
            errors: vec![FieldError::new(field, "a decimal number without leading zeros")],
        }),
    }
}

/// A tile of the tree (c2sp.org/tlog-tiles): `tile/{L}/{N}[.p/{W}]`, 256 (or W) hashes of 32 bytes of level
/// L; or an entry bundle, `tile/entries/{N}[.p/{W}]`: each record's 64-byte entry with a 2-byte length.
/// Tiles never change: a partial tile of width W is the first W hashes of the tile.
#[utoipa::path(
    get,
    path = "/tile/{path}",
    tag = "proof",
    params(("path" = String, Path, description = "`{L}/{N}[.p/{W}]` or `entries/{N}[.p/{W}]`, N in zero-padded groups of three digits, all but the last prefixed `x` (`x001/x234/067`)")),
    responses(
        (status = 200, description = "The tile's hashes (32 bytes each), or the entry bundle", body = Vec<u8>, content_type = "application/octet-stream"),
        (status = 400, description = "Not a tile path", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "An entry bundle without a key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "An entry bundle with a key that may not verify the log", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Beyond the tree as it stands", body = Problem, content_type = "application/problem+json"),
        (status = 503, response = TreeUnavailable),
    )
)]
pub async fn tile(
    State(state): State<AppState>,
    auth: Result<Auth, ApiError>,
    Path(path): Path<String>,
) -> ApiResult<Response> {
    let tile = TilePath::parse(&format!("tile/{path}")).map_err(|e| ApiError::BadRequest {
        detail: e.to_string(),
        errors: vec![FieldError::new("path", e.to_string())],
    })?;
    if tile.kind() == journey_core::tlog::tiles::TileKind::Entries {
        auth?.0.require(Action::Verify)?;
    } else {
        public_read(&state, auth)?;
    }
    let proofs = proofs(&state)?;
    match proofs.tile(&tile).await {
        Ok(bytes) => Ok((
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/octet-stream"),
                ),
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=31536000, immutable"),
                ),
            ],
            bytes,
        )
            .into_response()),
        Err(e) => Ok(refusal(e)),
    }
}

#[derive(Debug, Deserialize, Serialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ConsistencyQuery {
    /// The smaller tree size.
    pub old: String,
    /// The larger tree size (at most the tree's).
    pub new: String,
}

/// The consistency proof from the tree of `old` leaves to the tree of `new` leaves (RFC 9162 §2.1.4): one
/// base64 hash a line, as in the body of c2sp.org/tlog-witness's add-checkpoint. Empty when `old` is 0 or
/// equal to `new`.
#[utoipa::path(
    get,
    path = "/proof/consistency",
    tag = "proof",
    params(ConsistencyQuery),
    responses(
        (status = 200, description = "One base64 hash a line", body = String, content_type = "text/plain; charset=utf-8"),
        (status = 400, response = BadRequest),
        (status = 401, response = UnauthorizedWhenPrivate),
        (status = 422, description = "Sizes the tree cannot answer for", body = Problem, content_type = "application/problem+json"),
        (status = 503, response = TreeUnavailable),
    )
)]
pub async fn consistency(
    State(state): State<AppState>,
    auth: Result<Auth, ApiError>,
    QueryParams(query): QueryParams<ConsistencyQuery>,
) -> ApiResult<Response> {
    public_read(&state, auth)?;
    let old = decimal("old", &query.old)?;
    let new = decimal("new", &query.new)?;
    let proofs = proofs(&state)?;
    match proofs.consistency(old, new).await {
        Ok(proof) => {
            let body: String = proof.iter().map(|h| b64(h) + "\n").collect();
            Ok(text(body, "public, max-age=31536000, immutable"))
        }
        Err(e) => Ok(refusal(e)),
    }
}

#[derive(Debug, Deserialize, Serialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct InclusionQuery {
    /// The record's position in the log (from 1).
    pub position: String,
    /// A tree size this log signed. Default: the latest checkpoint witnesses cosigned that covers the record,
    /// else the latest signed one that does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<String>,
}

/// The inclusion proof of the record at `position`, as c2sp.org/tlog-proof@v1: `extra` (the record's
/// entry, `stream_hash ‖ log_hash`), `index` (position − 1), the proof's hashes, a blank line, and the
/// checkpoint with its cosignatures. The position names one child's record, so this is a read of that
/// child's record: the role must allow reading children, investigators state a purpose, and it is written
/// to the access log (view `inclusion-proof`) before it is answered.
#[utoipa::path(
    get,
    path = "/proof/inclusion",
    tag = "proof",
    params(InclusionQuery, PurposeHeader),
    responses(
        (status = 200, description = "c2sp.org/tlog-proof@v1", body = String, content_type = "text/plain; charset=utf-8"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, description = "No record at that position, or no checkpoint of that size (or none yet that covers the record)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A position beyond the checkpoint asked for", body = Problem, content_type = "application/problem+json"),
        (status = 503, response = TreeUnavailable),
    ),
    security(("bearer" = []))
)]
pub async fn inclusion(
    State(state): State<AppState>,
    Auth(principal): Auth,
    purpose: Purpose,
    QueryParams(query): QueryParams<InclusionQuery>,
) -> ApiResult<Response> {
    principal.require(Action::ReadChild)?;
    purpose.required_for(&principal)?;
    let position = decimal("position", &query.position)?;
    let size = query.size.as_deref().map(|s| decimal("size", s)).transpose()?;
    let proofs = proofs(&state)?;
    // Whose record it is, to log the read under that child (nothing of it is answered but hashes).
    let record = if position == 0 {
        None
    } else {
        state
            .store
            .read_all(Position(position), 1)
            .await?
            .into_iter()
            .next()
            .filter(|r| r.envelope.position.0 == position)
    };
    let record = record.ok_or_else(|| ApiError::NotFound(format!("no record at position {position}")))?;
    record_read(
        &state,
        &principal,
        &purpose,
        &record.envelope.child_id,
        "inclusion-proof",
        serde_json::to_value(&query).expect("query serialises"),
    )
    .await?;
    match proofs.inclusion(position, size).await {
        Ok(proof) => Ok(text(proof.to_bytes(), "no-cache")),
        Err(e) => Ok(refusal(e)),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CosignatureQuery {
    /// With bare cosignature lines: the tree size of the checkpoint they cosign (default: the latest).
    pub size: Option<String>,
}

/// A witness delivers its cosignature of one of this log's checkpoints: the cosigned checkpoint as a signed
/// note (the checkpoint, a blank line, the log's signature and the witness's cosignature/v1 lines: what a
/// witness serves as its latest cosigned checkpoint), or bare cosignature lines. Each line of a configured
/// witness's key is verified over the checkpoint this log signed and stored; one that does not verify
/// refuses the request; lines of other keys are ignored. Needs no API key: a cosignature only a configured
/// witness could have made is its own credential. Answers with the checkpoint as now served.
#[utoipa::path(
    post,
    path = "/checkpoint/cosignatures",
    tag = "proof",
    params(CosignatureQuery),
    request_body(content = String, content_type = "text/plain"),
    responses(
        (status = 200, description = "Stored (or already stored): the checkpoint with its cosignatures", body = String, content_type = "text/plain; charset=utf-8"),
        (status = 400, response = BadRequest),
        (status = 404, description = "This log signed no such checkpoint", body = Problem, content_type = "application/problem+json"),
        (status = 413, response = PayloadTooLarge),
        (status = 422, description = "Not a checkpoint of this log, a cosignature that does not verify, or none of a configured witness", body = Problem, content_type = "application/problem+json"),
        (status = 503, response = NoTree),
    )
)]
pub async fn cosignatures(
    State(state): State<AppState>,
    QueryParams(query): QueryParams<CosignatureQuery>,
    body: Bytes,
) -> ApiResult<Response> {
    let proofs = proofs(&state)?;
    let size = query.size.as_deref().map(|s| decimal("size", s)).transpose()?;
    if body.len() > COSIGNATURE_BODY_LIMIT {
        // Not a setting: no witness's delivery comes near it.
        return Ok(problem_response(&problem_for_status(
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            Some(format!(
                "a cosignature delivery is at most {COSIGNATURE_BODY_LIMIT} bytes (got {})",
                body.len()
            )),
        )));
    }
    let accepted = match proofs.receive_cosignatures(&body, size).await {
        Ok(accepted) => accepted,
        Err(e) => return Ok(refusal(e)),
    };
    if !accepted.stored.is_empty() {
        tracing::info!(
            size = accepted.size,
            witnesses = ?accepted.stored,
            "stored witness cosignatures"
        );
    }
    match proofs.at(accepted.size).await {
        Ok(Some(signed)) => Ok(text(signed.to_bytes(), "no-cache")),
        Ok(None) => Err(ApiError::Internal("a cosigned checkpoint vanished".into())),
        Err(e) => Ok(refusal(e)),
    }
}

/// A checkpoint just signed (or the last one again, when the tree has not grown).
#[derive(Debug, Serialize, ToSchema)]
pub struct SignedCheckpoint {
    pub origin: String,
    pub size: u64,
    /// The root, base64 as in the checkpoint.
    pub root: String,
    #[schema(value_type = String, format = DateTime)]
    pub signed_at: Timestamp,
    /// False when the tree had not grown since the last checkpoint, which is given again.
    pub new: bool,
    /// The signed note, as `GET /checkpoint` serves it (without cosignatures yet, when new).
    pub checkpoint: String,
}

/// Signs a checkpoint of the tree as it stands now (otherwise one is signed at the configured interval when
/// the tree has grown). Refused while the tree is rebuilt (503), and for good if the log no longer extends
/// the last checkpoint (409): the log was changed after it was signed.
#[utoipa::path(
    post,
    path = "/v1/checkpoints",
    tag = "proof",
    responses(
        (status = 200, description = "The checkpoint signed now, or the last one again when the tree has not grown", body = SignedCheckpoint),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, description = "The log does not extend the last checkpoint", body = Problem, content_type = "application/problem+json"),
        (status = 503, response = TreeUnavailable),
    ),
    security(("bearer" = []))
)]
pub async fn sign(State(state): State<AppState>, Auth(principal): Auth) -> ApiResult<Response> {
    principal.require(Action::SignCheckpoint)?;
    let proofs = proofs(&state)?;
    let signed = match proofs.sign().await {
        Ok(signed) => signed,
        Err(e) => {
            if let CoreError::Conflict(c) = &e {
                tracing::error!(error = %c, "refused to sign a checkpoint: the log does not extend the last one");
            }
            return Ok(refusal(e));
        }
    };
    let note = proofs.served(&signed.checkpoint).await.map_err(ApiError::from)?;
    Ok(axum::Json(SignedCheckpoint {
        origin: proofs.origin().to_string(),
        size: signed.checkpoint.size,
        root: b64(&signed.checkpoint.root),
        signed_at: signed.checkpoint.signed_at,
        new: signed.new,
        checkpoint: note.to_string(),
    })
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;

    #[test]
    fn sizes_have_one_spelling() {
        assert_eq!(decimal("size", "0").unwrap(), 0);
        assert_eq!(decimal("size", "530").unwrap(), 530);
        for bad in ["", "01", "-1", "+1", "1e3", " 1", "18446744073709551616"] {
            assert!(decimal("size", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_tree_being_rebuilt_asks_to_come_back_later() {
        let response = refusal(CoreError::Unavailable("rebuilding".into()));
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[header::RETRY_AFTER], REBUILD_RETRY_SECS);
    }
}
