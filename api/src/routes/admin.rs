//! API keys and the access log (admins only).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use journey_core::ChildId;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::access::{self, AccessEntry, AccessQuery};
use crate::auth::{Action, Auth, CreatedKey, KeyInfo, NewKey};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{JsonBody, QueryParams};
use crate::responses::{BadRequest, Forbidden, NotFound, Unauthorized, Unprocessable, UnsupportedMediaType};

/// Creates an API key. The token is in this response and nowhere else: only its hash is stored.
#[utoipa::path(
    post,
    path = "/v1/keys",
    tag = "admin",
    request_body(content = NewKey, content_type = "application/json"),
    responses(
        (status = 201, body = CreatedKey),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, description = "An active key already has this name", body = Problem, content_type = "application/problem+json"),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Unprocessable),
    ),
    security(("bearer" = []))
)]
pub async fn create_key(
    State(state): State<AppState>,
    Auth(principal): Auth,
    JsonBody(request): JsonBody<NewKey>,
) -> ApiResult<(StatusCode, Json<CreatedKey>)> {
    principal.require(Action::ManageKeys)?;
    let created = state
        .keys
        .create(state.journal.as_ref(), principal.name.clone(), request)
        .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KeyList {
    pub keys: Vec<KeyInfo>,
}

/// Lists every key, revoked ones included (never a secret or hash).
#[utoipa::path(
    get,
    path = "/v1/keys",
    tag = "admin",
    responses(
        (status = 200, body = KeyList),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    ),
    security(("bearer" = []))
)]
pub async fn list_keys(State(state): State<AppState>, Auth(principal): Auth) -> ApiResult<Json<KeyList>> {
    principal.require(Action::ManageKeys)?;
    state.keys.refresh(state.journal.as_ref()).await?;
    Ok(Json(KeyList {
        keys: state.keys.list(),
    }))
}

/// Revokes a key: it stops working at once. Revoking a revoked key changes nothing.
#[utoipa::path(
    post,
    path = "/v1/keys/{key_id}/revoke",
    tag = "admin",
    params(("key_id" = String, Path)),
    responses(
        (status = 200, body = KeyInfo),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    ),
    security(("bearer" = []))
)]
pub async fn revoke_key(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(key_id): Path<String>,
) -> ApiResult<Json<KeyInfo>> {
    principal.require(Action::ManageKeys)?;
    let info = state
        .keys
        .revoke(state.journal.as_ref(), principal.name.clone(), &key_id, None)
        .await?;
    Ok(Json(info))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AccessLogQuery {
    /// Only reads of this child's record.
    #[param(value_type = Option<String>)]
    pub child_id: Option<ChildId>,
    /// Only reads by this principal (a key's name or id).
    pub principal: Option<String>,
    /// The first entry to look at (its `version`; default 1).
    #[param(minimum = 1)]
    pub from: Option<u64>,
    /// At most this many entries (default and maximum: the server's page size).
    #[param(minimum = 1)]
    pub limit: Option<usize>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AccessLogPage {
    pub entries: Vec<AccessEntry>,
    /// The `from` of the next page, when there are more entries to look at.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<u64>,
}

/// Queries the access log: who read which child's record, when, through which view, and why.
#[utoipa::path(
    get,
    path = "/v1/access-log",
    tag = "admin",
    params(AccessLogQuery),
    responses(
        (status = 200, body = AccessLogPage),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    ),
    security(("bearer" = []))
)]
pub async fn access_log(
    State(state): State<AppState>,
    Auth(principal): Auth,
    QueryParams(q): QueryParams<AccessLogQuery>,
) -> ApiResult<Json<AccessLogPage>> {
    principal.require(Action::ReadAccessLog)?;
    if q.limit == Some(0) || q.from == Some(0) {
        return Err(ApiError::bad_request("from and limit must be at least 1"));
    }
    let query = AccessQuery {
        child_id: q.child_id,
        principal: q.principal,
        from: q.from.unwrap_or(1),
        limit: q
            .limit
            .unwrap_or(state.config.max_page)
            .min(state.config.max_page),
    };
    let (entries, next) = access::query(state.journal.as_ref(), &query).await?;
    Ok(Json(AccessLogPage { entries, next }))
}
