//! What was known at each decision (issue #21): a review's decision points (proposed by Journey from its
//! children's records, added and removed by its reviewers, journal-recorded), and for each the record as it
//! stood at the instant the decision was recorded, the knowledge gap, and the policies then in force, run on
//! the record as then known beside the same versions run on today's record.
//!
//! Core's `view::decisions` proposes the points and computes what was known and the gap (pure); the policy
//! registry answers then and now. Each child's stream is read once per request, access-logged with the
//! review as its purpose.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use journey_core::view::decisions::{
    AgencyGap, DecisionPoint, FamilyNow, KnownThen, known_then, point_for_event, propose,
};
use journey_core::view::family::{FamilyEntry, FamilyFilter, family_chronology};
use journey_core::view::{AsOf, ChildSummary, Chronology, ChronologyOptions};
use journey_core::{ChildId, EventId, OccurredAt, PrincipalId, Problems, RecordedEvent, Timestamp};
use journey_plugins::registry::{AtDecision, PolicyThenNow};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::{Action, Auth, Principal};
use crate::error::{ApiError, ApiResult};
use crate::extract::{AcceptedDate, AcceptedInstant, JsonBody, check_text};
use crate::responses::{
    BadRequest, Forbidden, NotFound, PayloadTooLarge, Unauthorized, Unprocessable, UnsupportedMediaType,
};
use crate::reviews::{Change, DecisionPointAdded, DecisionPointRemoved, PointChange, Review, Reviews};
use crate::routes::reviews::review_streams;

/// What every read of this module is access-logged as.
const VIEW: &str = "review-decisions";

/// How a decision point came to be one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(tag = "origin", rename_all = "snake_case")]
pub enum Origin {
    /// Journey proposed it from the child's record.
    Proposed,
    /// A reviewer added it.
    Added {
        #[schema(value_type = String)]
        added_by: PrincipalId,
        #[schema(value_type = String, format = DateTime)]
        added_at: Timestamp,
    },
}

/// A decision point and how it came to be one.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ReviewPoint {
    /// `point_id`, `child_id`, `event_id`, `kind`, `stage`, `agency`, `description`, `occurred_at` (when the
    /// decision was taken) and `decided_at` (the instant it was recorded: what was known then is the record
    /// as known at this instant).
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub point: DecisionPoint,
    #[serde(flatten)]
    pub origin: Origin,
}

/// A decision point a reviewer removed.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct RemovedPoint {
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub point: DecisionPoint,
    #[schema(value_type = String)]
    pub removed_by: PrincipalId,
    #[schema(value_type = String, format = DateTime)]
    pub removed_at: Timestamp,
    pub reason: String,
}

/// What was known at one decision.
#[derive(Debug, Serialize, ToSchema)]
pub struct DecisionReport {
    #[serde(flatten)]
    pub point: ReviewPoint,
    /// Each of the review's children's record as it stood at the decision's instant: the events in use that
    /// had occurred by the decision's date, by agency (the decision's child first).
    #[schema(value_type = Vec<Object>)]
    pub known_then: Vec<KnownThen>,
    /// The decision's child's state on the decision's date, as known at its instant.
    #[schema(value_type = Object)]
    pub summary_then: ChildSummary,
    /// The knowledge gap: what had occurred on or before the decision's date (the child's and the other
    /// children's) but was recorded after the decision, by agency, each with how late it was.
    #[schema(value_type = Vec<Object>)]
    pub gap: Vec<AgencyGap>,
    /// How many entries the gap has in all.
    pub gap_entries: usize,
    /// Each policy in force on the decision's date (retention aside): its answer on the record as known at
    /// the decision's instant beside the same version's answer on today's record. Empty when
    /// `policies_unavailable` says why.
    #[schema(value_type = Vec<Object>)]
    pub policies: Vec<PolicyThenNow>,
    /// For one decision point asked for by its id: the family chronology as known at the decision's instant,
    /// up to its date.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub chronology_then: Option<Vec<FamilyEntry<'static>>>,
}

/// What was known at each decision of a review.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewDecisions {
    pub review: Review,
    /// The instant "now" stands for: today's record is the record as known at it.
    #[schema(value_type = String, format = DateTime)]
    pub known_now: Timestamp,
    /// Why no policy answered, when none could: this server runs without a policy host, or the registry
    /// failed. Never replaced by made-up answers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policies_unavailable: Option<String>,
    /// In the order the decisions were taken.
    pub points: Vec<DecisionReport>,
    /// The points reviewers removed, with who removed each, when and why.
    pub removed: Vec<RemovedPoint>,
}

/// A decision point to add: an event of one of the review's children (`event_id`), or a decision the record
/// has no event for (`occurred_on`, `decided_at` and `label`, all three).
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDecisionPoint {
    /// The child the decision was about: one of the review's.
    #[schema(value_type = String)]
    pub child_id: ChildId,
    /// The event of the child's record that records the decision (in use: not retracted or restricted).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub event_id: Option<EventId>,
    /// When the decision was taken, for a decision without an event.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Date, example = "2023-03-10")]
    pub occurred_on: Option<AcceptedDate>,
    /// The instant the decision is taken to have been made on what the record then held.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime, example = "2023-03-10T17:00:00Z")]
    pub decided_at: Option<AcceptedInstant>,
    /// What was decided, in a few words (no personal data). 1 to 200 characters.
    #[serde(default)]
    pub label: Option<String>,
}

/// Why a decision point is removed.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PointRemoval {
    /// 1 to 1000 characters (no personal data).
    #[serde(default)]
    pub reason: String,
}

/// The review's decision points, each with what was known at it: the record as it stood at the instant the
/// decision was recorded, the knowledge gap by agency, and the policies then in force, run on the record as
/// then known and on today's. Every child's read is access-logged with the review as its purpose.
#[utoipa::path(
    get,
    path = "/v1/reviews/{review_id}/decisions",
    tag = "reviews",
    params(("review_id" = String, Path)),
    responses(
        (status = 200, body = ReviewDecisions),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    ),
    security(("bearer" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(review_id): Path<String>,
) -> ApiResult<Json<ReviewDecisions>> {
    principal.require(Action::ReadReviews)?;
    let reviews = Reviews::load(state.journal.as_ref()).await?;
    let review = reviews.get(&review_id, &principal)?.clone();
    Ok(Json(report(&state, &principal, &review, &reviews, None).await?))
}

/// One decision point with what was known at it, and the family chronology as known at its instant.
#[utoipa::path(
    get,
    path = "/v1/reviews/{review_id}/decisions/{point_id}",
    tag = "reviews",
    params(("review_id" = String, Path), ("point_id" = String, Path)),
    responses(
        (status = 200, body = ReviewDecisions),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    ),
    security(("bearer" = []))
)]
pub async fn get(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path((review_id, point)): Path<(String, String)>,
) -> ApiResult<Json<ReviewDecisions>> {
    principal.require(Action::ReadReviews)?;
    let reviews = Reviews::load(state.journal.as_ref()).await?;
    let review = reviews.get(&review_id, &principal)?.clone();
    Ok(Json(
        report(&state, &principal, &review, &reviews, Some(&point)).await?,
    ))
}

/// Adds a decision point to the review: an event of one of its children's records, or a decision the
/// record has no event for (a date, the instant it was taken, a label). Journal-recorded, attributed and
/// timestamped; admins and the review's investigators.
#[utoipa::path(
    post,
    path = "/v1/reviews/{review_id}/decisions",
    tag = "reviews",
    params(("review_id" = String, Path)),
    request_body(content = NewDecisionPoint, content_type = "application/json"),
    responses(
        (status = 201, body = ReviewPoint),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = crate::responses::Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Unprocessable),
    ),
    security(("bearer" = []))
)]
pub async fn add(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(review_id): Path<String>,
    JsonBody(body): JsonBody<NewDecisionPoint>,
) -> ApiResult<(StatusCode, Json<ReviewPoint>)> {
    principal.require(Action::WorkOnReviews)?;
    let reviews = Reviews::load(state.journal.as_ref()).await?;
    let review = reviews.get(&review_id, &principal)?.clone();
    let mut problems = Problems::new();
    if !review.children.contains(&body.child_id) {
        problems.push(
            "child_id",
            format!("must be one of the review's children, not {}", body.child_id),
        );
    }
    let by_date = [
        body.occurred_on.is_some(),
        body.decided_at.is_some(),
        body.label.is_some(),
    ];
    match (&body.event_id, by_date) {
        (Some(_), [false, false, false]) | (None, [true, true, true]) => {}
        (Some(_), _) => problems.push(
            "event_id",
            "name an event, or give occurred_on, decided_at and label instead: not both",
        ),
        (None, _) => {
            for (given, field) in by_date.iter().zip(["occurred_on", "decided_at", "label"]) {
                if !given {
                    problems.push(
                        field,
                        "is required for a decision point without an event_id (occurred_on, decided_at and label)",
                    );
                }
            }
        }
    }
    if let Some(label) = &body.label {
        check_text("label", label, 200, None, &mut problems);
    }
    problems.into_result()?;
    let now = state.clock.now();
    // A point on an event: the event as the child's record holds it now (read access-logged).
    let (event_point, proposed_there) = match &body.event_id {
        None => (None, false),
        Some(event_id) => {
            let child = narrowed(&review, &body.child_id);
            let streams = review_streams(
                &state,
                &principal,
                &child,
                VIEW,
                now,
                serde_json::json!({"review_id": review.review_id, "known_at": now, "event_id": event_id}),
            )
            .await?;
            let events = &streams[0].1;
            let Some(point) = point_for_event(events, event_id, now) else {
                let mut problems = Problems::new();
                problems.push(
                    "event_id",
                    format!(
                        "is not an event in use (recorded, not retracted or restricted) of child {}'s record",
                        body.child_id
                    ),
                );
                return Err(ApiError::Invalid(problems));
            };
            let proposed = propose(events, review.from, review.to, now)
                .iter()
                .any(|p| p.point_id == point.point_id);
            (Some(point), proposed)
        }
    };
    let (point, change) = crate::reviews::record_change(state.journal.as_ref(), &principal.name, |reviews| {
        let point = match &event_point {
            Some(point) => {
                let present = reviews
                    .changes(&review.review_id)
                    .filter(|c| c.point_id() == point.point_id)
                    .last()
                    .map_or(proposed_there, |c| matches!(c.change, Change::Added(_)));
                if present {
                    return Err(ApiError::ConflictDetail(format!(
                        "{} is already a decision point of {} ({})",
                        point.point_id, review.review_id, point.description
                    )));
                }
                point.clone()
            }
            None => DecisionPoint {
                point_id: format!("dp-added-{}", reviews.next_version()),
                child_id: body.child_id.clone(),
                event_id: None,
                kind: None,
                stage: None,
                agency: None,
                description: body.label.as_deref().unwrap_or_default().trim().to_owned(),
                occurred_at: OccurredAt::on(body.occurred_on.expect("checked").get()),
                decided_at: body.decided_at.expect("checked").get(),
            },
        };
        let added = DecisionPointAdded {
            review_id: review.review_id.clone(),
            point_id: point.point_id.clone(),
            child_id: point.child_id.clone(),
            event_id: point.event_id.clone(),
            occurred_at: point.event_id.is_none().then_some(point.occurred_at),
            decided_at: point.event_id.is_none().then_some(point.decided_at),
            label: point.event_id.is_none().then(|| point.description.clone()),
        };
        Ok((Change::Added(added), point))
    })
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(ReviewPoint {
            point,
            origin: Origin::Added {
                added_by: change.by,
                added_at: change.at,
            },
        }),
    ))
}

/// Removes a decision point from the review (proposed or added), with a reason. Journal-recorded; the point
/// is listed among the removed ones, and adding its event again restores it.
#[utoipa::path(
    post,
    path = "/v1/reviews/{review_id}/decisions/{point_id}/removal",
    tag = "reviews",
    params(("review_id" = String, Path), ("point_id" = String, Path)),
    request_body(content = PointRemoval, content_type = "application/json"),
    responses(
        (status = 200, body = RemovedPoint),
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
pub async fn remove(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path((review_id, point)): Path<(String, String)>,
    JsonBody(body): JsonBody<PointRemoval>,
) -> ApiResult<Json<RemovedPoint>> {
    principal.require(Action::WorkOnReviews)?;
    let reviews = Reviews::load(state.journal.as_ref()).await?;
    let review = reviews.get(&review_id, &principal)?.clone();
    let mut problems = Problems::new();
    check_text("reason", &body.reason, 1000, None, &mut problems);
    problems.into_result()?;
    let now = state.clock.now();
    let streams = review_streams(
        &state,
        &principal,
        &review,
        VIEW,
        now,
        serde_json::json!({"review_id": review.review_id, "known_at": now, "point_id": point}),
    )
    .await?;
    let (removed, change) =
        crate::reviews::record_change(state.journal.as_ref(), &principal.name, |reviews| {
            let (points, _) = assemble(&review, reviews, &streams, now);
            let Some(found) = points.into_iter().find(|p| p.point.point_id == point) else {
                return Err(ApiError::NotFound(format!(
                    "{point} is not a decision point of {review_id}"
                )));
            };
            let body = DecisionPointRemoved {
                review_id: review.review_id.clone(),
                point_id: point.clone(),
                reason: body.reason.trim().to_owned(),
            };
            Ok((Change::Removed(body), found.point))
        })
        .await?;
    let Change::Removed(body) = change.change else {
        unreachable!("a removal was recorded")
    };
    Ok(Json(RemovedPoint {
        point: removed,
        removed_by: change.by,
        removed_at: change.at,
        reason: body.reason,
    }))
}

/// The review as if it had one child: for reading that child alone through [`review_streams`].
fn narrowed(review: &Review, child: &ChildId) -> Review {
    Review {
        children: vec![child.clone()],
        ..review.clone()
    }
}

/// The review's decision points as known at `now` (Journey's proposals from the period, with the reviewers'
/// additions and removals applied in the order recorded), in the order taken; and the removed ones.
fn assemble(
    review: &Review,
    reviews: &Reviews,
    streams: &[(ChildId, Vec<RecordedEvent>)],
    now: Timestamp,
) -> (Vec<ReviewPoint>, Vec<RemovedPoint>) {
    let mut points: BTreeMap<String, ReviewPoint> = BTreeMap::new();
    for (_, events) in streams {
        for point in propose(events, review.from, review.to, now) {
            points.insert(
                point.point_id.clone(),
                ReviewPoint {
                    point,
                    origin: Origin::Proposed,
                },
            );
        }
    }
    let mut removed: BTreeMap<String, RemovedPoint> = BTreeMap::new();
    for PointChange { change, by, at, .. } in reviews.changes(&review.review_id) {
        match change {
            Change::Added(a) => {
                let point = match (&a.event_id, a.occurred_at, a.decided_at) {
                    (Some(event_id), _, _) => streams
                        .iter()
                        .find(|(child, _)| *child == a.child_id)
                        .and_then(|(_, events)| point_for_event(events, event_id, now)),
                    (None, Some(occurred_at), Some(decided_at)) => Some(DecisionPoint {
                        point_id: a.point_id.clone(),
                        child_id: a.child_id.clone(),
                        event_id: None,
                        kind: None,
                        stage: None,
                        agency: None,
                        description: a.label.clone().unwrap_or_default(),
                        occurred_at,
                        decided_at,
                    }),
                    _ => None,
                };
                // An added event since retracted or restricted is no longer a decision point.
                if let Some(point) = point {
                    removed.remove(&a.point_id);
                    points.insert(
                        a.point_id.clone(),
                        ReviewPoint {
                            point,
                            origin: Origin::Added {
                                added_by: by.clone(),
                                added_at: *at,
                            },
                        },
                    );
                }
            }
            Change::Removed(r) => {
                if let Some(found) = points.remove(&r.point_id) {
                    removed.insert(
                        r.point_id.clone(),
                        RemovedPoint {
                            point: found.point,
                            removed_by: by.clone(),
                            removed_at: *at,
                            reason: r.reason.clone(),
                        },
                    );
                }
            }
        }
    }
    let order = |p: &DecisionPoint| {
        (
            p.on(),
            p.occurred_at,
            p.decided_at,
            p.child_id.clone(),
            p.point_id.clone(),
        )
    };
    let mut points: Vec<ReviewPoint> = points.into_values().collect();
    points.sort_by_key(|p| order(&p.point));
    let mut removed: Vec<RemovedPoint> = removed.into_values().collect();
    removed.sort_by_key(|p| order(&p.point));
    (points, removed)
}

/// What was known at each of the review's decision points (or the one named `only`).
pub(crate) async fn report(
    state: &AppState,
    principal: &Principal,
    review: &Review,
    reviews: &Reviews,
    only: Option<&str>,
) -> ApiResult<ReviewDecisions> {
    let now = state.clock.now();
    let streams = review_streams(
        state,
        principal,
        review,
        VIEW,
        now,
        serde_json::json!({"review_id": review.review_id, "known_at": now, "point_id": only}),
    )
    .await?;
    let (mut points, removed) = assemble(review, reviews, &streams, now);
    if let Some(only) = only {
        points.retain(|p| p.point.point_id == only);
        if points.is_empty() {
            return Err(ApiError::NotFound(format!(
                "{only} is not a decision point of {}",
                review.review_id
            )));
        }
    }
    let streams: Vec<(ChildId, Arc<Vec<RecordedEvent>>)> =
        streams.into_iter().map(|(c, e)| (c, Arc::new(e))).collect();
    let stream_of = |child: &ChildId| {
        streams
            .iter()
            .find(|(c, _)| c == child)
            .map(|(_, e)| Arc::clone(e))
            .expect("a point's child is one of the review's")
    };
    // The policies first: they run on the registry's blocking threads while nothing else waits on them.
    let (policies, policies_unavailable) = match &state.registry {
        None => (
            vec![Vec::new(); points.len()],
            Some("this server runs without a policy host, so no policy was evaluated".to_owned()),
        ),
        Some(registry) => {
            let at: Vec<AtDecision> = points
                .iter()
                .map(|p| AtDecision {
                    events: stream_of(&p.point.child_id),
                    on: p.point.on(),
                    decided_at: p.point.decided_at,
                })
                .collect();
            match registry.then_and_now(&at, now).await {
                Ok(answers) => (answers, None),
                Err(e) => (
                    vec![Vec::new(); points.len()],
                    Some(format!("the policy registry failed: {e}")),
                ),
            }
        }
    };
    let options = ChronologyOptions {
        include_after_on: true,
        ..ChronologyOptions::default()
    };
    let family = FamilyNow::new(
        streams
            .iter()
            .map(|(child, events)| (child.clone(), Chronology::build(events, AsOf::now(now), options)))
            .collect(),
    );
    let reports = points
        .into_iter()
        .zip(policies)
        .map(|(point, policies)| {
            let p = &point.point;
            let mut known: Vec<KnownThen> = streams.iter().map(|(_, events)| known_then(events, p)).collect();
            known.sort_by_key(|k| !k.decision_child);
            let events = stream_of(&p.child_id);
            let summary_then = ChildSummary::replay(&events, AsOf::new(p.on(), p.decided_at));
            let gap = family.gap(p);
            let chronology_then = only.map(|_| {
                let chronologies = streams
                    .iter()
                    .map(|(child, events)| {
                        let as_of = AsOf::new(p.on(), p.decided_at);
                        (
                            child.clone(),
                            Chronology::build(events, as_of, ChronologyOptions::default()),
                        )
                    })
                    .collect();
                family_chronology(chronologies, &FamilyFilter::default())
                    .into_iter()
                    .map(|e| FamilyEntry {
                        child_id: e.child_id,
                        entry: e.entry.into_owned(),
                    })
                    .collect()
            });
            DecisionReport {
                gap_entries: gap.iter().map(|g| g.entries.len()).sum(),
                point,
                known_then: known,
                summary_then,
                gap,
                policies,
                chronology_then,
            }
        })
        .collect();
    Ok(ReviewDecisions {
        review: review.clone(),
        known_now: now,
        policies_unavailable,
        points: reports,
        removed,
    })
}
