//! Child safeguarding practice reviews (issue #21): each review a record in the journal's `reviews` stream,
//! never an event in a child's record.
//!
//! An admin creates a review: a name, the subject children (named, or found by the family identifier of
//! Annex A list 10, resolved when the review is created and kept), a period, and the investigators' keys
//! that may work on it. A key scoped to reviews (`NewKey::reviews_only`) reads only the children of the
//! reviews that name it, and every read it makes is access-logged with the review as its purpose.

use std::collections::BTreeSet;

use journey_core::journal::{Journal, JournalRecord, NewRecord, SystemStream};
use journey_core::{ChildId, Date, EventId, OccurredAt, PrincipalId, Problems, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::{AcceptedDate, check_text};

pub const REVIEWS_STREAM: &str = "reviews";
const REVIEW_CREATED: &str = "ReviewCreated";
const DECISION_POINT_ADDED: &str = "DecisionPointAdded";
const DECISION_POINT_REMOVED: &str = "DecisionPointRemoved";
/// The most children a review covers.
pub const MAX_CHILDREN: usize = 50;

pub fn reviews_stream() -> SystemStream {
    SystemStream::parse(REVIEWS_STREAM).expect("valid stream name")
}

/// The body of a `ReviewCreated` record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReviewCreated {
    review_id: String,
    name: String,
    children: Vec<ChildId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    family_id: Option<String>,
    from: Date,
    to: Date,
    investigators: Vec<String>,
}

/// A review as the journal records it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct Review {
    /// `review-<n>`: the stream's version it was created at.
    pub review_id: String,
    pub name: String,
    /// The subject children: those named, and those of the family when the review was created.
    #[schema(value_type = Vec<String>)]
    pub children: Vec<ChildId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family_id: Option<String>,
    /// The period the review covers (valid time).
    #[schema(value_type = String, format = Date)]
    pub from: Date,
    #[schema(value_type = String, format = Date)]
    pub to: Date,
    /// The keys (ids) of the investigators who may work on it.
    pub investigators: Vec<String>,
    #[schema(value_type = String)]
    pub created_by: PrincipalId,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

impl Review {
    /// The purpose every read made within the review is access-logged with.
    pub fn purpose(&self) -> String {
        format!("review {}: {}", self.review_id, self.name)
    }

    /// Whether `principal` may work on the review: an admin, or an investigator it names.
    pub fn admits(&self, principal: &Principal) -> bool {
        principal.role == crate::auth::Role::Admin || self.investigators.contains(&principal.key_id)
    }
}

/// A request to create a review.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewReview {
    /// The review's name (no personal data: "CSPR-2026-04"). 1 to 200 characters.
    #[serde(default)]
    pub name: String,
    /// Children named as subjects.
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub children: Vec<ChildId>,
    /// A family identifier: every child of that family as known now joins the subjects.
    #[serde(default)]
    pub family_id: Option<String>,
    #[schema(value_type = String, format = Date, example = "2024-04-01")]
    pub from: AcceptedDate,
    #[schema(value_type = String, format = Date, example = "2026-03-31")]
    pub to: AcceptedDate,
    /// The ids of the investigators' keys that may work on the review.
    #[serde(default)]
    pub investigators: Vec<String>,
}

/// The body of a `DecisionPointAdded` record: a reviewer's decision point, either an event of the child's
/// record (`event_id`) or a moment the record has no event for (`occurred_at`, `decided_at`, `label`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionPointAdded {
    pub review_id: String,
    pub point_id: String,
    pub child_id: ChildId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<EventId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub occurred_at: Option<OccurredAt>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

/// The body of a `DecisionPointRemoved` record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionPointRemoved {
    pub review_id: String,
    pub point_id: String,
    pub reason: String,
}

/// A reviewer's change to a review's decision points, as the journal records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PointChange {
    pub change: Change,
    pub by: PrincipalId,
    pub at: Timestamp,
    /// The `reviews` stream's version of the record.
    pub version: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    Added(DecisionPointAdded),
    Removed(DecisionPointRemoved),
}

impl PointChange {
    pub fn review_id(&self) -> &str {
        match &self.change {
            Change::Added(a) => &a.review_id,
            Change::Removed(r) => &r.review_id,
        }
    }

    pub fn point_id(&self) -> &str {
        match &self.change {
            Change::Added(a) => &a.point_id,
            Change::Removed(r) => &r.point_id,
        }
    }
}

/// Every review, in the order created, and the reviewers' changes to their decision points.
#[derive(Clone, Debug, Default)]
pub struct Reviews {
    version: u64,
    reviews: Vec<Review>,
    changes: Vec<PointChange>,
}

impl Reviews {
    pub async fn load(journal: &dyn Journal) -> Result<Reviews, ApiError> {
        let mut reviews = Reviews::default();
        crate::holds::each_record(journal, &reviews_stream(), |record| reviews.apply(record)).await?;
        Ok(reviews)
    }

    fn apply(&mut self, record: &JournalRecord) -> Result<(), ApiError> {
        match record.kind.as_str() {
            REVIEW_CREATED => {
                let r: ReviewCreated = record.body_as()?;
                self.reviews.push(Review {
                    review_id: r.review_id,
                    name: r.name,
                    children: r.children,
                    family_id: r.family_id,
                    from: r.from,
                    to: r.to,
                    investigators: r.investigators,
                    created_by: record.recorded_by.clone(),
                    created_at: record.recorded_at,
                });
            }
            DECISION_POINT_ADDED | DECISION_POINT_REMOVED => {
                let change = if record.kind.as_str() == DECISION_POINT_ADDED {
                    Change::Added(record.body_as()?)
                } else {
                    Change::Removed(record.body_as()?)
                };
                self.changes.push(PointChange {
                    change,
                    by: record.recorded_by.clone(),
                    at: record.recorded_at,
                    version: record.version,
                });
            }
            other => {
                return Err(ApiError::Internal(format!(
                    "reviews stream v{}: unknown record kind {other}",
                    record.version
                )));
            }
        }
        self.version = record.version;
        Ok(())
    }

    pub fn all(&self) -> &[Review] {
        &self.reviews
    }

    /// The reviewers' changes to `review_id`'s decision points, in the order recorded.
    pub fn changes<'a>(&'a self, review_id: &'a str) -> impl Iterator<Item = &'a PointChange> + 'a {
        self.changes.iter().filter(move |c| c.review_id() == review_id)
    }

    /// The review, to a principal that may work on it; 404 otherwise (a review's existence is not told to
    /// those it does not name).
    pub fn get(&self, review_id: &str, principal: &Principal) -> Result<&Review, ApiError> {
        self.reviews
            .iter()
            .find(|r| r.review_id == review_id && r.admits(principal))
            .ok_or_else(|| ApiError::NotFound(format!("no review {review_id} for this key")))
    }

    /// The first review that names `principal` and covers `child`: what a scoped key's read is made within.
    pub fn covering(&self, principal: &Principal, child: &ChildId) -> Option<&Review> {
        self.reviews
            .iter()
            .find(|r| r.investigators.contains(&principal.key_id) && r.children.contains(child))
    }
}

/// Creates a review whose subjects are `children` (the named ones and the family's, resolved by the caller).
/// 422 naming each field at fault: a name, at least one child, a period that runs forwards, known
/// investigators' keys (`is_investigator`).
pub async fn create(
    journal: &dyn Journal,
    by: &PrincipalId,
    request: &NewReview,
    children: Vec<ChildId>,
    is_investigator: impl Fn(&str) -> bool,
) -> Result<Review, ApiError> {
    let mut problems = Problems::new();
    check_text("name", &request.name, 200, None, &mut problems);
    let (from, to) = (request.from.get(), request.to.get());
    if to < from {
        problems.push(
            "to",
            format!("must not be before from ({from}): the period the review covers"),
        );
    }
    let distinct: BTreeSet<&ChildId> = children.iter().collect();
    if distinct.is_empty() {
        problems.push(
            "children",
            "a review needs a subject child: name children, or a family_id that has children",
        );
    } else if distinct.len() > MAX_CHILDREN {
        problems.push(
            "children",
            format!("a review covers at most {MAX_CHILDREN} children"),
        );
    }
    for (i, key_id) in request.investigators.iter().enumerate() {
        if !is_investigator(key_id) {
            problems.push(
                format!("investigators[{i}]"),
                format!("{key_id} is not the id of a live investigator's key"),
            );
        }
    }
    problems.into_result()?;
    for _ in 0..8 {
        let reviews = Reviews::load(journal).await?;
        let body = ReviewCreated {
            review_id: format!("review-{}", reviews.version + 1),
            name: request.name.trim().to_owned(),
            children: distinct.iter().map(|c| (*c).clone()).collect(),
            family_id: request.family_id.clone(),
            from,
            to,
            investigators: request.investigators.clone(),
        };
        let record = NewRecord::new(REVIEW_CREATED, by.clone(), &body);
        let stored =
            crate::holds::append_if_unchanged(journal, &reviews_stream(), reviews.version, record).await?;
        if let Some(stored) = stored {
            return Ok(Review {
                review_id: body.review_id,
                name: body.name,
                children: body.children,
                family_id: body.family_id,
                from,
                to,
                investigators: body.investigators,
                created_by: stored.recorded_by,
                created_at: stored.recorded_at,
            });
        }
    }
    Err(ApiError::Unavailable(
        "reviews are being created faster than this one could be: try again".into(),
    ))
}

/// Records a reviewer's change to a review's decision points, if the `reviews` stream is still at the
/// version `decide` was given (retried on a conflict, `decide` called again with the reviews as they are).
/// `decide` answers the record to append, or a refusal.
pub async fn record_change<T>(
    journal: &dyn Journal,
    by: &PrincipalId,
    mut decide: impl FnMut(&Reviews) -> Result<(Change, T), ApiError>,
) -> Result<(T, PointChange), ApiError> {
    for _ in 0..8 {
        let reviews = Reviews::load(journal).await?;
        let (change, answer) = decide(&reviews)?;
        let record = match &change {
            Change::Added(body) => NewRecord::new(DECISION_POINT_ADDED, by.clone(), body),
            Change::Removed(body) => NewRecord::new(DECISION_POINT_REMOVED, by.clone(), body),
        };
        let stored =
            crate::holds::append_if_unchanged(journal, &reviews_stream(), reviews.version, record).await?;
        if let Some(stored) = stored {
            let change = PointChange {
                change,
                by: stored.recorded_by,
                at: stored.recorded_at,
                version: stored.version,
            };
            return Ok((answer, change));
        }
    }
    Err(ApiError::Unavailable(
        "the review is being changed faster than this change could be recorded: try again".into(),
    ))
}

impl Reviews {
    /// The version the next record of the `reviews` stream will have.
    pub fn next_version(&self) -> u64 {
        self.version + 1
    }
}
