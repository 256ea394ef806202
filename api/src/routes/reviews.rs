//! Reviews over HTTP (`crate::reviews`): admins create them; the investigators they name list them and read
//! the family chronology, every child's read access-logged with the review as its purpose.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use journey_core::domain::Stage;
use journey_core::view::family::{FamilyEntry, FamilyFilter, family_chronology};
use journey_core::view::{Chronology, ChronologyOptions};
use journey_core::{AgencyId, ChildId, FieldError, RecordedEvent, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::access::{Purpose, record_read};
use crate::auth::{Action, Auth, Principal, Role};
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBody, QueryParams};
use crate::responses::{
    BadRequest, Forbidden, NotFound, PayloadTooLarge, Unauthorized, Unprocessable, UnsupportedMediaType,
};
use crate::reviews::{NewReview, Review, Reviews};
use crate::routes::children::{as_of, whole_stream};

/// Creates a review: its name, subject children (named, and every child of `family_id` as known now), the
/// period it covers and the investigators' keys that may work on it. Journal-recorded.
#[utoipa::path(
    post,
    path = "/v1/reviews",
    tag = "reviews",
    request_body(content = NewReview, content_type = "application/json"),
    responses(
        (status = 201, body = Review),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Unprocessable),
    ),
    security(("bearer" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    Auth(principal): Auth,
    JsonBody(body): JsonBody<NewReview>,
) -> ApiResult<(StatusCode, Json<Review>)> {
    principal.require(Action::ManageReviews)?;
    let now = state.clock.now();
    for child in &body.children {
        crate::routes::children::require_child(&state, &principal, child, now).await?;
    }
    let mut children = body.children.clone();
    if let Some(family) = &body.family_id {
        for (child, identity) in crate::routes::duplicates::identities(&state, now).await? {
            if identity.family_id.as_deref() == Some(family.as_str()) && !children.contains(&child) {
                children.push(child);
            }
        }
    }
    let keys = state.keys.list();
    let is_investigator = |key_id: &str| {
        keys.iter()
            .any(|k| k.key_id == key_id && k.is_active() && k.role == Role::Investigator)
    };
    let review = crate::reviews::create(
        state.journal.as_ref(),
        &principal.name,
        &body,
        children,
        is_investigator,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(review)))
}

/// The reviews: all of them to an admin, the ones naming the key to an investigator.
#[utoipa::path(
    get,
    path = "/v1/reviews",
    tag = "reviews",
    responses(
        (status = 200, body = Vec<Review>),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    ),
    security(("bearer" = []))
)]
pub async fn list(State(state): State<AppState>, Auth(principal): Auth) -> ApiResult<Json<Vec<Review>>> {
    principal.require(Action::ReadReviews)?;
    let reviews = Reviews::load(state.journal.as_ref()).await?;
    Ok(Json(
        reviews
            .all()
            .iter()
            .filter(|r| r.admits(&principal))
            .cloned()
            .collect(),
    ))
}

/// One review (404 to a key it does not name).
#[utoipa::path(
    get,
    path = "/v1/reviews/{review_id}",
    tag = "reviews",
    params(("review_id" = String, Path)),
    responses(
        (status = 200, body = Review),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    ),
    security(("bearer" = []))
)]
pub async fn get(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(review_id): Path<String>,
) -> ApiResult<Json<Review>> {
    principal.require(Action::ReadReviews)?;
    let reviews = Reviews::load(state.journal.as_ref()).await?;
    Ok(Json(reviews.get(&review_id, &principal)?.clone()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FamilyQuery {
    /// Only the entries recorded by this agency.
    #[param(value_type = Option<String>)]
    pub agency: Option<String>,
    /// Only the entries of this stage (`front_door`, `child_protection`, `looked_after`...).
    pub stage: Option<String>,
    /// Only the entries about this child (one of the review's).
    #[param(value_type = Option<String>)]
    pub child: Option<String>,
}

/// The family chronology.
#[derive(Debug, Serialize, ToSchema)]
pub struct FamilyChronology {
    pub review: Review,
    /// Every subject child's entries, in valid-time order: which child, which agency recorded it, when it
    /// happened and when it was recorded, the lag and late flag, corrections and retractions.
    #[schema(value_type = Vec<Object>)]
    pub entries: Vec<FamilyEntry<'static>>,
}

/// The family chronology of a review: all its children in one chronology, in valid-time order, as known now;
/// filtered by agency, stage and child. Each child's read is access-logged with the review as its purpose.
#[utoipa::path(
    get,
    path = "/v1/reviews/{review_id}/chronology",
    tag = "reviews",
    params(("review_id" = String, Path), FamilyQuery),
    responses(
        (status = 200, body = FamilyChronology),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    ),
    security(("bearer" = []))
)]
pub async fn chronology(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(review_id): Path<String>,
    QueryParams(query): QueryParams<FamilyQuery>,
) -> ApiResult<Json<FamilyChronology>> {
    principal.require(Action::ReadReviews)?;
    let reviews = Reviews::load(state.journal.as_ref()).await?;
    let review = reviews.get(&review_id, &principal)?.clone();
    let filter = filter(&query, &review)?;
    let as_of = as_of(&state, None, None);
    let streams = review_streams(
        &state,
        &principal,
        &review,
        "review-chronology",
        as_of.known_at,
        serde_json::json!({"review_id": review.review_id, "known_at": as_of.known_at}),
    )
    .await?;
    let options = ChronologyOptions {
        include_after_on: true,
        ..ChronologyOptions::default()
    };
    let chronologies = streams
        .iter()
        .map(|(child, events)| (child.clone(), Chronology::build(events, as_of, options)))
        .collect();
    let entries = family_chronology(chronologies, &filter)
        .into_iter()
        .map(|e| FamilyEntry {
            child_id: e.child_id,
            entry: e.entry.into_owned(),
        })
        .collect();
    Ok(Json(FamilyChronology { review, entries }))
}

/// Every child of `review`, each read access-logged first (as `view`, with `parameters`) with the review as
/// its purpose, then read whole (404 for a child with nothing known at `known_at`). Each stream is read once.
pub(crate) async fn review_streams(
    state: &AppState,
    principal: &Principal,
    review: &Review,
    view: &str,
    known_at: Timestamp,
    parameters: serde_json::Value,
) -> ApiResult<Vec<(ChildId, Vec<RecordedEvent>)>> {
    let purpose = Purpose::stated(Some(review.purpose()));
    let mut streams = Vec::with_capacity(review.children.len());
    for child in &review.children {
        record_read(state, principal, &purpose, child, view, parameters.clone()).await?;
        streams.push((child.clone(), whole_stream(state, child, known_at).await?));
    }
    Ok(streams)
}

/// The query's filters, each checked (400 naming the parameter).
fn filter(query: &FamilyQuery, review: &Review) -> ApiResult<FamilyFilter> {
    let bad = |field: &str, rule: String| ApiError::BadRequest {
        detail: format!("{field} {rule}"),
        errors: vec![FieldError::new(field, rule)],
    };
    let agency = match &query.agency {
        None => None,
        Some(a) => Some(AgencyId::parse(a).map_err(|e| bad("agency", e.message))?),
    };
    let stage = match &query.stage {
        None => None,
        Some(s) => Some(
            serde_json::from_value::<Stage>(serde_json::Value::String(s.clone())).map_err(|_| {
                bad(
                    "stage",
                    format!("must be a journey stage (front_door, child_protection...), not {s:?}"),
                )
            })?,
        ),
    };
    let child = match &query.child {
        None => None,
        Some(c) => {
            let child = ChildId::parse(c).map_err(|e| bad("child", e.message))?;
            if !review.children.contains(&child) {
                return Err(bad(
                    "child",
                    format!("must be one of the review's children, not {child}"),
                ));
            }
            Some(child)
        }
    };
    Ok(FamilyFilter { agency, stage, child })
}
