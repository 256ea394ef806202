//! Records management: holds on the destruction of a child's record, and the records due for destruction
//! under the retention policy in force (`shared/domain/rules.md` §8).
//!
//! Neither reads a child's record for a person: a hold is about the record, and the review names each child
//! only by id, with the rule and its date. Both still leave a trace: holds are journal-recorded
//! ([`crate::holds`]), and a review, which reads every child's record to evaluate the policy, is written to
//! the access log with the purpose "retention review" before it is answered.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use journey_core::view::AsOf;
use journey_core::{ChildId, Date};
use journey_plugins::registry::RetentionRun;
use journey_plugins::{Retention, RetentionStatus};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::access::{Purpose, PurposeHeader, record_bulk_read, record_read};
use crate::auth::{Action, Auth};
use crate::error::ApiResult;
use crate::extract::{AcceptedDate, JsonBody, QueryParams, child_id};
use crate::holds::{self, Hold, Holds, LiftHold, NewHold};
use crate::responses::{
    BadRequest, Forbidden, NotFound, PayloadTooLarge, Unauthorized, Unavailable, Unprocessable,
    UnsupportedMediaType,
};
use crate::routes::children::require_child;
use crate::routes::policies::{first_children, plugin_error, registry};

/// The purpose every retention review is access-logged with.
pub const RETENTION_REVIEW: &str = "retention review";

/// Every hold on a child's record.
#[derive(Debug, Serialize, ToSchema)]
pub struct HoldList {
    #[schema(value_type = String)]
    pub child_id: ChildId,
    /// Every hold placed, lifted or not, in the order placed.
    pub holds: Vec<Hold>,
    /// The ids of the holds in force today: while there is one, the record is not destroyed.
    pub in_force: Vec<String>,
}

/// Places a hold on a child's record: destruction is suspended while it is in force (until its last day,
/// or until lifted). Journal-recorded with who placed it, when and why; never an event in the child's
/// record.
#[utoipa::path(
    post,
    path = "/v1/children/{child_id}/holds",
    tag = "records",
    params(("child_id" = String, Path)),
    request_body(content = NewHold, content_type = "application/json"),
    responses(
        (status = 201, body = Hold),
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
pub async fn place_hold(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(raw_child): Path<String>,
    JsonBody(body): JsonBody<NewHold>,
) -> ApiResult<(StatusCode, Json<Hold>)> {
    principal.require(Action::ManageHolds)?;
    let child_id = child_id(&raw_child)?;
    let now = state.clock.now();
    require_child(&state, &principal, &child_id, now).await?;
    let hold = holds::place(
        state.journal.as_ref(),
        &principal.name,
        &child_id,
        &body,
        now.england_date(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(hold)))
}

/// Every hold placed on a child's record, lifted or not, and which are in force today. Access-logged as a
/// read (`holds`) with the purpose stated.
#[utoipa::path(
    get,
    path = "/v1/children/{child_id}/holds",
    tag = "records",
    params(("child_id" = String, Path), PurposeHeader),
    responses(
        (status = 200, body = HoldList),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    ),
    security(("bearer" = []))
)]
pub async fn list_holds(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(raw_child): Path<String>,
    purpose: Purpose,
) -> ApiResult<Json<HoldList>> {
    principal.require(Action::ManageHolds)?;
    let child_id = child_id(&raw_child)?;
    let now = state.clock.now();
    require_child(&state, &principal, &child_id, now).await?;
    record_read(
        &state,
        &principal,
        &purpose,
        &child_id,
        "holds",
        serde_json::Value::Null,
    )
    .await?;
    let all = Holds::load(state.journal.as_ref()).await?;
    let today = now.england_date();
    Ok(Json(HoldList {
        in_force: all
            .in_force(&child_id, today)
            .map(|h| h.hold_id.clone())
            .collect(),
        holds: all.of_child(&child_id).cloned().collect(),
        child_id,
    }))
}

/// Lifts a hold on a child's record, with the reason. Journal-recorded; the hold stays listed, lifted.
#[utoipa::path(
    post,
    path = "/v1/children/{child_id}/holds/{hold_id}/lift",
    tag = "records",
    params(("child_id" = String, Path), ("hold_id" = String, Path, example = "hold-1")),
    request_body(content = LiftHold, content_type = "application/json"),
    responses(
        (status = 200, body = Hold),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, description = "The hold was already lifted", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Unprocessable),
    ),
    security(("bearer" = []))
)]
pub async fn lift_hold(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path((raw_child, raw_hold)): Path<(String, String)>,
    JsonBody(body): JsonBody<LiftHold>,
) -> ApiResult<Json<Hold>> {
    principal.require(Action::ManageHolds)?;
    let child_id = child_id(&raw_child)?;
    let hold_id = holds::hold_id(&raw_hold)?;
    require_child(&state, &principal, &child_id, state.clock.now()).await?;
    let hold = holds::lift(state.journal.as_ref(), &principal.name, &child_id, hold_id, &body).await?;
    Ok(Json(hold))
}

/// One child's retention under the policy in force, with the holds in force on the date.
#[derive(Clone, Debug)]
pub struct ChildRetention {
    pub child_id: ChildId,
    pub retention: Retention,
    /// The ids of the holds in force on the review's date.
    pub holds: Vec<String>,
}

impl ChildRetention {
    /// Due for destruction on `on`: kept until a date on or before it. (A held record is due and held.)
    pub fn is_due(&self, on: Date) -> bool {
        self.retention.status == RetentionStatus::Until
            && self.retention.destroy_from.is_some_and(|d| d <= on)
    }

    pub fn is_held(&self) -> bool {
        !self.holds.is_empty()
    }
}

/// Every child's retention under the retention policy in force, as [`review`] found it.
#[derive(Clone, Debug)]
pub struct Review {
    /// The date asked about.
    pub on: Date,
    /// The policy's name and version.
    pub policy: String,
    pub version: String,
    /// The date the policy judged (the later of `on` and today) as known now.
    pub as_of: AsOf,
    pub children: Vec<ChildRetention>,
    /// Children the policy could not judge, by kind of failure.
    pub failures: BTreeMap<String, usize>,
    pub run: RetentionRun,
}

/// Evaluates the retention policy in force for `children` as known now, and finds the holds in force on the
/// later of `on` and today (the earliest a record could be destroyed). The date judged is that same day:
/// the whole record as known now, whatever `on` is. Does not write the access log: the caller does, before
/// answering.
pub async fn review(state: &AppState, children: &[ChildId], on: Date) -> ApiResult<Review> {
    let registry = registry(state)?;
    let now = state.clock.now();
    let as_of = AsOf::new(on.max(now.england_date()), now);
    let version = registry
        .retention_in_force(as_of.on)
        .await
        .map_err(plugin_error)?;
    let run = registry
        .retention_of(state.store.as_ref(), &version, children, as_of)
        .await
        .map_err(plugin_error)?;
    let holds = Holds::load(state.journal.as_ref()).await?;
    let children = run
        .retentions
        .iter()
        .map(|(child_id, retention)| ChildRetention {
            holds: holds
                .in_force(child_id, as_of.on)
                .map(|h| h.hold_id.clone())
                .collect(),
            child_id: child_id.clone(),
            retention: retention.clone(),
        })
        .collect();
    Ok(Review {
        on,
        policy: run.policy.clone(),
        version: run.version.clone(),
        as_of,
        children,
        failures: run.failures.clone(),
        run,
    })
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DueQuery {
    /// List the records that may be destroyed on this date (their `destroy_from` is on or before it), e.g.
    /// `2026-04-01`.
    #[param(value_type = String, format = Date)]
    pub on: AcceptedDate,
}

/// Whether a record due may be destroyed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DueStatus {
    /// Due, and no hold is in force.
    Destroyable,
    /// Due, but a hold is in force: never destroyed while it is.
    Held,
}

/// A record due for destruction: the child's id and the rule, nothing of the record's content.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct DueRecord {
    #[schema(value_type = String)]
    pub child_id: ChildId,
    pub status: DueStatus,
    #[schema(value_type = String, format = Date)]
    pub destroy_from: Date,
    /// The rule in words.
    pub rule: String,
    /// Where the rule comes from.
    pub source: String,
    /// The retention policy and version that decided.
    pub policy: String,
    pub version: String,
    /// The holds in force (for a held record).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub holds: Vec<String>,
}

/// The records due for destruction on a date.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct RecordsDue {
    #[schema(value_type = String, format = Date)]
    pub on: Date,
    pub policy: String,
    pub version: String,
    /// The date the policy judged (the later of `on` and today) and the instant known.
    #[schema(value_type = Object)]
    pub as_of: AsOf,
    /// Children evaluated, and how many.
    pub children: usize,
    pub evaluated: usize,
    /// Of those evaluated, how many records are due, held, and undetermined (what their date depends on is
    /// not yet known).
    pub due: usize,
    pub held: usize,
    pub undetermined: usize,
    /// Children the policy could not judge, by kind of failure: none of them is listed.
    pub failures: BTreeMap<String, usize>,
    /// The records due, by `destroy_from` then child id: destroyable and held alike.
    pub records: Vec<DueRecord>,
}

impl RecordsDue {
    pub fn from_review(review: &Review) -> RecordsDue {
        let mut records: Vec<DueRecord> = review
            .children
            .iter()
            .filter(|c| c.is_due(review.on))
            .map(|c| DueRecord {
                child_id: c.child_id.clone(),
                status: if c.is_held() {
                    DueStatus::Held
                } else {
                    DueStatus::Destroyable
                },
                destroy_from: c.retention.destroy_from.expect("due records have a date"),
                rule: c.retention.rule.clone(),
                source: c.retention.source.clone(),
                policy: review.policy.clone(),
                version: review.version.clone(),
                holds: c.holds.clone(),
            })
            .collect();
        records.sort_by(|a, b| (a.destroy_from, &a.child_id).cmp(&(b.destroy_from, &b.child_id)));
        RecordsDue {
            on: review.on,
            policy: review.policy.clone(),
            version: review.version.clone(),
            as_of: review.as_of,
            children: review.run.children,
            evaluated: review.run.evaluated,
            due: records.len(),
            held: records.iter().filter(|r| r.status == DueStatus::Held).count(),
            undetermined: review
                .children
                .iter()
                .filter(|c| c.retention.status == RetentionStatus::Undetermined)
                .count(),
            failures: review.failures.clone(),
            records,
        }
    }
}

/// The records that may be destroyed on a date under the retention policy in force, evaluated for every
/// child as known now: each child's id, the rule, its source, the date and the policy version, and whether
/// a hold is in force (a held record is listed as held, never as destroyable). Nothing of any record's
/// content. Access-logged (every child, purpose "retention review") before it is answered.
#[utoipa::path(
    get,
    path = "/v1/records/due",
    tag = "records",
    params(DueQuery),
    responses(
        (status = 200, body = RecordsDue),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = Unprocessable),
        (status = 503, response = Unavailable),
    ),
    security(("bearer" = []))
)]
pub async fn due(
    State(state): State<AppState>,
    Auth(principal): Auth,
    QueryParams(query): QueryParams<DueQuery>,
) -> ApiResult<Json<RecordsDue>> {
    principal.require(Action::ReviewRetention)?;
    registry(&state)?;
    let on = query.on.get();
    // A sealed adoption record is listed to no ordinary role, a records officer included (`crate::sealed`).
    let sealed = state.sealed.snapshot(state.store.as_ref()).await?;
    let children = first_children(state.store.as_ref(), usize::MAX, &sealed).await?;
    // Every child's record is read to evaluate the policy, though nobody sees it: the access log says so,
    // before anything is read.
    record_bulk_read(
        &state,
        &principal,
        Some(RETENTION_REVIEW.to_owned()),
        "records-due",
        children.clone(),
        serde_json::json!({ "on": on }),
    )
    .await?;
    let review = review(&state, &children, on).await?;
    Ok(Json(RecordsDue::from_review(&review)))
}
