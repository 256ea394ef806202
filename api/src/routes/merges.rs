//! Merging two records found to be one child, undoing it, and listing merges (issue #20; `crate::merges`).
//! Admins only, each with a reason. Both records are read to check the merge, access-logged with the merge
//! as the purpose; a sealed adoption record is not found, as everywhere.

use axum::Json;
use axum::extract::{Path, State};
use journey_core::domain::LongText;
use journey_core::{ChildId, FieldError, Problems};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::access::record_bulk_read;
use crate::auth::{Action, Auth, Principal};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{JsonBody, child_id};
use crate::merges::Merge;
use crate::responses::{BadRequest, Forbidden, NotFound, Unauthorized, UnsupportedMediaType};
use crate::routes::children::unknown_child;

/// A merge of this record into another.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeBody {
    /// The surviving record: from now on the child is read under it, as the union of both.
    #[schema(value_type = String)]
    pub into: ChildId,
    /// Why the two records are one child: what a person checked (1 to 4,000 characters).
    pub reason: String,
}

/// The undoing of this record's merge into another.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnmergeBody {
    /// Why the merge is undone (1 to 4,000 characters).
    pub reason: String,
}

/// Merges this child's record into another's, found to be the same child. Recorded as events in both
/// records (`RecordMergedInto` here, `RecordMergedFrom` in `into`); nothing is rewritten. From then on every
/// read of `into` is the union of both records, reads of this record answer 307 to `into`, and appends to
/// this record are refused naming `into`. Refused (422, naming the rule) when the merged history would be
/// impossible: events before the birth, or after a death, recorded in either. Conflicting facts (two dates
/// of birth, two open episodes) are not refused: the merged summary lists them as inconsistencies. A repeat
/// of a merge answers it again, and finishes one a crash left incomplete.
#[utoipa::path(
    post,
    path = "/v1/children/{child_id}/merge",
    tag = "children",
    params(("child_id" = String, Path, description = "The record merged away")),
    request_body(content = MergeBody, content_type = "application/json"),
    responses(
        (status = 200, description = "Merged (or already merged)", body = Merge),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, description = "Merged into another record already, or a concurrent append: repeat", body = Problem, content_type = "application/problem+json"),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, description = "The merged history would break a rule, or a field is invalid", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn merge(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(raw_child): Path<String>,
    JsonBody(body): JsonBody<MergeBody>,
) -> ApiResult<Json<Merge>> {
    principal.require(Action::MergeRecords)?;
    let merged = child_id(&raw_child)?;
    let reason = reason(&body.reason)?;
    visible(&state, &merged).await?;
    visible(&state, &body.into).await?;
    let now = state.clock.now();
    log_reads(&state, &principal, &merged, &body.into).await?;
    let merge = state
        .merges
        .merge(
            state.store.as_ref(),
            &merged,
            &body.into,
            &reason,
            &principal.name,
            now,
        )
        .await?;
    Ok(Json(merge))
}

/// Undoes this record's merge into another: `MergeUndone` in the surviving record (its reads are its own
/// again), then here (this record takes appends again). Both records are as they were; what was recorded
/// under the surviving record meanwhile stays there. A repeat finishes an undoing a crash left incomplete.
#[utoipa::path(
    post,
    path = "/v1/children/{child_id}/unmerge",
    tag = "children",
    params(("child_id" = String, Path, description = "The record that was merged away")),
    request_body(content = UnmergeBody, content_type = "application/json"),
    responses(
        (status = 200, description = "Undone", body = Merge),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, description = "No such child, or the record is not merged", body = Problem, content_type = "application/problem+json"),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, description = "A field is invalid", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn unmerge(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(raw_child): Path<String>,
    JsonBody(body): JsonBody<UnmergeBody>,
) -> ApiResult<Json<Merge>> {
    principal.require(Action::MergeRecords)?;
    let merged = child_id(&raw_child)?;
    let reason = reason(&body.reason)?;
    visible(&state, &merged).await?;
    let merge = state
        .merges
        .undo(
            state.store.as_ref(),
            &merged,
            &reason,
            &principal.name,
            state.clock.now(),
        )
        .await?;
    Ok(Json(merge))
}

/// Every merge, in the order begun (ids and instants; the reason is in the records), with where it stands (`incomplete` and `undo_incomplete`: a crash came
/// between the two halves; repeat the command to finish).
#[utoipa::path(
    get,
    path = "/v1/merges",
    tag = "records",
    responses(
        (status = 200, body = Vec<Merge>),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    ),
    security(("bearer" = []))
)]
pub async fn list(State(state): State<AppState>, Auth(principal): Auth) -> ApiResult<Json<Vec<Merge>>> {
    principal.require(Action::MergeRecords)?;
    // A record sealed by an adoption order since its merge does not exist to an administrator.
    let sealed = state.sealed.snapshot(state.store.as_ref()).await?;
    let mut merges = state.merges.list(state.store.as_ref()).await?;
    merges.retain(|m| !sealed.contains_key(&m.merged) && !sealed.contains_key(&m.into));
    Ok(Json(merges))
}

fn reason(text: &str) -> ApiResult<LongText> {
    LongText::parse(text.trim())
        .map_err(|e| ApiError::Invalid(Problems::from(FieldError::new("reason", e.message))))
}

/// A sealed adoption record does not exist to an administrator (`crate::sealed`).
async fn visible(state: &AppState, child: &ChildId) -> ApiResult<()> {
    if state
        .sealed
        .sealed_since(state.store.as_ref(), child)
        .await?
        .is_some()
    {
        return Err(unknown_child(child, None));
    }
    Ok(())
}

/// Both records are read to check the merge: logged before they are.
async fn log_reads(
    state: &AppState,
    principal: &Principal,
    merged: &ChildId,
    into: &ChildId,
) -> ApiResult<()> {
    record_bulk_read(
        state,
        principal,
        Some(format!("merge of {merged} into {into}")),
        "merge",
        vec![merged.clone(), into.clone()],
        serde_json::json!({"merged": merged, "into": into}),
    )
    .await
}
