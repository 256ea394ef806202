//! Holds: destruction of a child's record suspended while an inquiry, a review, litigation or a complaint
//! needs it (`shared/domain/rules.md` §8: the IICSA moratorium, child safeguarding practice reviews).
//!
//! A hold is about the record, not about the child's journey, so it is never an event in the child's
//! stream: the journal's `holds` stream holds `HoldPlaced` and `HoldLifted` records (typed here, as the
//! `keys` and `access` streams are by [`crate::auth`] and [`crate::access`]), each naming who and when (the
//! record's `recorded_by` and `recorded_at`) and why. Nothing is ever removed: a lifted hold stays listed
//! with its lifting.
//!
//! A hold is in force on a date while it is not lifted (as known now) and its optional end (`until`, the
//! last day it holds) is not before the date: [`Holds::in_force`]. Placing and lifting check the stream's
//! version, so that two officers lifting the same hold at once lift it once, and hold ids are the stream
//! version they were placed at (`hold-7`): unique and in the order placed.

use journey_core::journal::{Journal, JournalRecord, NewRecord, SystemStream};
use journey_core::{ChildId, Date, ExpectedVersion, FieldError, PrincipalId, Problems, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::extract::{AcceptedDate, check_text};

/// The journal stream of holds.
pub const HOLDS_STREAM: &str = "holds";
pub const HOLD_PLACED: &str = "HoldPlaced";
pub const HOLD_LIFTED: &str = "HoldLifted";
/// The longest reason a hold is placed or lifted with, in characters.
pub const REASON_MAX_CHARS: usize = 1000;
/// How many times placing or lifting is retried when another hold was placed or lifted meanwhile.
const ATTEMPTS: usize = 8;

pub fn holds_stream() -> SystemStream {
    SystemStream::parse(HOLDS_STREAM).expect("valid stream name")
}

/// The body of a `HoldPlaced` record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HoldPlaced {
    pub hold_id: String,
    pub child_id: ChildId,
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<Date>,
}

/// The body of a `HoldLifted` record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HoldLifted {
    pub hold_id: String,
    pub child_id: ChildId,
    pub reason: String,
}

/// A request to place a hold.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewHold {
    /// Why destruction is suspended: the inquiry, review, litigation or complaint (no personal data: name
    /// the case, not the people). 1 to 1000 characters.
    #[schema(example = "Child safeguarding practice review CSPR-2025-04")]
    #[serde(default)]
    pub reason: String,
    /// The last day the hold holds, if it is known; open-ended otherwise. Not before today.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Date, example = "2027-03-31")]
    pub until: Option<AcceptedDate>,
}

/// A request to lift a hold.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LiftHold {
    /// Why the hold is lifted (the review concluded). 1 to 1000 characters.
    #[schema(example = "The review concluded on 2026-01-15")]
    #[serde(default)]
    pub reason: String,
}

/// A hold's lifting.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Lifting {
    #[schema(value_type = String)]
    pub by: PrincipalId,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    pub reason: String,
}

/// A hold as the journal records it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Hold {
    /// `hold-<n>`: the `holds` stream's version it was placed at.
    pub hold_id: String,
    #[schema(value_type = String)]
    pub child_id: ChildId,
    pub reason: String,
    /// The last day it holds; none for a hold until lifted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = Date)]
    pub until: Option<Date>,
    #[schema(value_type = String)]
    pub placed_by: PrincipalId,
    #[schema(value_type = String, format = DateTime)]
    pub placed_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifted: Option<Lifting>,
}

impl Hold {
    /// In force on `on`: not lifted, and `on` is not after its last day.
    pub fn in_force_on(&self, on: Date) -> bool {
        self.lifted.is_none() && self.until.is_none_or(|last| on <= last)
    }
}

/// Reads a journal stream whole, a page at a time, handing each record to `apply` in order: how the streams
/// typed in this crate (holds, subject access requests, reviews) are loaded.
pub(crate) async fn each_record(
    journal: &dyn Journal,
    stream: &SystemStream,
    mut apply: impl FnMut(&JournalRecord) -> Result<(), ApiError>,
) -> Result<(), ApiError> {
    let mut next = 1;
    loop {
        let page = journal.read_stream(stream, next, 1024).await?;
        let Some(last) = page.last() else {
            return Ok(());
        };
        next = last.version + 1;
        page.iter().try_for_each(&mut apply)?;
    }
}

/// Every hold, as the journal's `holds` stream says, in the order placed.
#[derive(Clone, Debug, Default)]
pub struct Holds {
    /// The stream version this view was read at.
    version: u64,
    holds: Vec<Hold>,
}

impl Holds {
    /// Reads the whole `holds` stream.
    pub async fn load(journal: &dyn Journal) -> Result<Holds, ApiError> {
        let mut holds = Holds::default();
        each_record(journal, &holds_stream(), |record| holds.apply(record)).await?;
        Ok(holds)
    }

    fn apply(&mut self, record: &JournalRecord) -> Result<(), ApiError> {
        match record.kind.as_str() {
            HOLD_PLACED => {
                let placed: HoldPlaced = record.body_as()?;
                self.holds.push(Hold {
                    hold_id: placed.hold_id,
                    child_id: placed.child_id,
                    reason: placed.reason,
                    until: placed.until,
                    placed_by: record.recorded_by.clone(),
                    placed_at: record.recorded_at,
                    lifted: None,
                });
            }
            HOLD_LIFTED => {
                let lifted: HoldLifted = record.body_as()?;
                let hold = self
                    .holds
                    .iter_mut()
                    .find(|h| h.hold_id == lifted.hold_id)
                    .ok_or_else(|| {
                        ApiError::Internal(format!(
                            "holds stream v{}: {} lifted before it was placed",
                            record.version, lifted.hold_id
                        ))
                    })?;
                hold.lifted = Some(Lifting {
                    by: record.recorded_by.clone(),
                    at: record.recorded_at,
                    reason: lifted.reason,
                });
            }
            other => {
                return Err(ApiError::Internal(format!(
                    "holds stream v{}: unknown record kind {other}",
                    record.version
                )));
            }
        }
        self.version = record.version;
        Ok(())
    }

    /// Every hold placed on the child's record, lifted or not, in the order placed.
    pub fn of_child<'a>(&'a self, child_id: &'a ChildId) -> impl Iterator<Item = &'a Hold> + 'a {
        self.holds.iter().filter(move |h| &h.child_id == child_id)
    }

    /// The holds in force on the child's record on `on`: destruction must not happen while there is one.
    pub fn in_force<'a>(&'a self, child_id: &'a ChildId, on: Date) -> impl Iterator<Item = &'a Hold> + 'a {
        self.of_child(child_id).filter(move |h| h.in_force_on(on))
    }

    /// Whether any hold is in force on the child's record on `on`.
    pub fn is_held(&self, child_id: &ChildId, on: Date) -> bool {
        self.in_force(child_id, on).next().is_some()
    }
}

fn check_reason(reason: &str, problems: &mut Problems) {
    check_text(
        "reason",
        reason,
        REASON_MAX_CHARS,
        Some("say why (the inquiry, review, litigation or complaint)"),
        problems,
    );
}

/// Places a hold on the child's record, `by` whom, on `today` (the server's date): the hold as recorded.
/// Refuses (422) a reason that is empty or too long, and an end before today.
pub async fn place(
    journal: &dyn Journal,
    by: &PrincipalId,
    child_id: &ChildId,
    request: &NewHold,
    today: Date,
) -> Result<Hold, ApiError> {
    let mut problems = Problems::new();
    check_reason(&request.reason, &mut problems);
    let until = request.until.map(AcceptedDate::get);
    if let Some(last) = until
        && last < today
    {
        problems.push(
            "until",
            format!("must not be before today ({today}): the last day the hold holds (got {last})"),
        );
    }
    problems.into_result()?;
    for _ in 0..ATTEMPTS {
        let holds = Holds::load(journal).await?;
        let hold_id = format!("hold-{}", holds.version + 1);
        let body = HoldPlaced {
            hold_id: hold_id.clone(),
            child_id: child_id.clone(),
            reason: request.reason.trim().to_owned(),
            until,
        };
        let record = NewRecord::new(HOLD_PLACED, by.clone(), &body);
        if let Some(stored) = append_if_unchanged(journal, &holds_stream(), holds.version, record).await? {
            return Ok(Hold {
                hold_id,
                child_id: body.child_id,
                reason: body.reason,
                until,
                placed_by: stored.recorded_by,
                placed_at: stored.recorded_at,
                lifted: None,
            });
        }
    }
    Err(ApiError::Unavailable(
        "holds are being placed and lifted faster than this one could be: try again".into(),
    ))
}

/// Lifts a hold on the child's record: the hold with its lifting. 404 for a hold not placed on this
/// child's record; 409 for a hold already lifted; 422 for a missing or too long reason.
pub async fn lift(
    journal: &dyn Journal,
    by: &PrincipalId,
    child_id: &ChildId,
    hold_id: &str,
    request: &LiftHold,
) -> Result<Hold, ApiError> {
    let mut problems = Problems::new();
    check_reason(&request.reason, &mut problems);
    problems.into_result()?;
    for _ in 0..ATTEMPTS {
        let holds = Holds::load(journal).await?;
        let hold = holds
            .of_child(child_id)
            .find(|h| h.hold_id == hold_id)
            .cloned()
            .ok_or_else(|| ApiError::NotFound(format!("no hold {hold_id} on child {child_id}'s record")))?;
        if let Some(lifted) = &hold.lifted {
            return Err(ApiError::ConflictDetail(format!(
                "hold {hold_id} was already lifted by {} at {}",
                lifted.by, lifted.at
            )));
        }
        let body = HoldLifted {
            hold_id: hold_id.to_owned(),
            child_id: child_id.clone(),
            reason: request.reason.trim().to_owned(),
        };
        let record = NewRecord::new(HOLD_LIFTED, by.clone(), &body);
        if let Some(stored) = append_if_unchanged(journal, &holds_stream(), holds.version, record).await? {
            return Ok(Hold {
                lifted: Some(Lifting {
                    by: stored.recorded_by,
                    at: stored.recorded_at,
                    reason: body.reason,
                }),
                ..hold
            });
        }
    }
    Err(ApiError::Unavailable(
        "holds are being placed and lifted faster than this one could be lifted: try again".into(),
    ))
}

/// Appends `record` to `stream` if the stream is still at `version` (as its caller loaded it): the stored
/// record, or `None` when another record was appended meanwhile (the caller loads again and retries). Holds,
/// subject access requests and reviews are each recorded this way.
pub(crate) async fn append_if_unchanged(
    journal: &dyn Journal,
    stream: &SystemStream,
    version: u64,
    record: NewRecord,
) -> Result<Option<JournalRecord>, ApiError> {
    let expected = if version == 0 {
        ExpectedVersion::NoStream
    } else {
        ExpectedVersion::Exact(journey_core::Version(version))
    };
    match journal.append(stream, expected, vec![record]).await {
        Ok(mut stored) => stored
            .pop()
            .map(Some)
            .ok_or_else(|| ApiError::Internal(format!("the journal stored no record in {stream}"))),
        Err(journey_core::Error::Conflict(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// A hold id as a path gives it: `hold-<n>`.
pub fn hold_id(raw: &str) -> Result<&str, ApiError> {
    let ok = raw
        .strip_prefix("hold-")
        .is_some_and(|n| !n.is_empty() && n.len() <= 20 && n.bytes().all(|b| b.is_ascii_digit()));
    if ok {
        Ok(raw)
    } else {
        Err(ApiError::BadRequest {
            detail: format!("{raw:?} is not a hold id"),
            errors: vec![FieldError::new(
                "hold_id",
                "must be hold-<n>, as the hold was listed",
            )],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use journey_core::journal::MemoryJournal;

    fn child() -> ChildId {
        ChildId::parse("child-1").unwrap()
    }

    fn officer() -> PrincipalId {
        PrincipalId::parse("records-officer").unwrap()
    }

    fn date(s: &str) -> Date {
        Date::parse_field("d", s).unwrap()
    }

    fn new(reason: &str, until: Option<&str>) -> NewHold {
        NewHold {
            reason: reason.into(),
            until: until.map(|u| AcceptedDate(date(u))),
        }
    }

    #[tokio::test]
    async fn a_hold_is_in_force_until_its_last_day_or_its_lifting() {
        let journal = MemoryJournal::new(std::sync::Arc::new(journey_core::SystemClock));
        let today = date("2025-01-10");
        let open = place(&journal, &officer(), &child(), &new("IICSA", None), today)
            .await
            .unwrap();
        let ends = place(
            &journal,
            &officer(),
            &child(),
            &new("Review", Some("2025-06-30")),
            today,
        )
        .await
        .unwrap();
        assert_eq!(
            (open.hold_id.as_str(), ends.hold_id.as_str()),
            ("hold-1", "hold-2")
        );
        let holds = Holds::load(&journal).await.unwrap();
        assert_eq!(holds.in_force(&child(), date("2025-06-30")).count(), 2);
        assert_eq!(holds.in_force(&child(), date("2025-07-01")).count(), 1);
        let other = ChildId::parse("child-2").unwrap();
        assert!(!holds.is_held(&other, today));
        lift(
            &journal,
            &officer(),
            &child(),
            "hold-1",
            &LiftHold {
                reason: "Moratorium lifted".into(),
            },
        )
        .await
        .unwrap();
        let holds = Holds::load(&journal).await.unwrap();
        assert!(holds.is_held(&child(), date("2025-06-30")));
        assert!(!holds.is_held(&child(), date("2025-07-01")));
        assert_eq!(holds.of_child(&child()).count(), 2, "a lifted hold stays listed");
        // Lifting again is a conflict, and lifting on another child's record is not found.
        let again = lift(
            &journal,
            &officer(),
            &child(),
            "hold-1",
            &LiftHold { reason: "x".into() },
        )
        .await;
        assert!(matches!(again, Err(ApiError::ConflictDetail(_))), "{again:?}");
        let elsewhere = lift(
            &journal,
            &officer(),
            &other,
            "hold-2",
            &LiftHold { reason: "x".into() },
        )
        .await;
        assert!(matches!(elsewhere, Err(ApiError::NotFound(_))), "{elsewhere:?}");
    }

    #[tokio::test]
    async fn bad_holds_are_refused_naming_the_field() {
        let journal = MemoryJournal::new(std::sync::Arc::new(journey_core::SystemClock));
        let today = date("2025-01-10");
        let fields = |e: ApiError| match e {
            ApiError::Invalid(p) => p.0.into_iter().map(|f| f.field).collect::<Vec<_>>(),
            other => panic!("{other:?}"),
        };
        let refused = place(
            &journal,
            &officer(),
            &child(),
            &new(" ", Some("2025-01-09")),
            today,
        )
        .await
        .unwrap_err();
        assert_eq!(fields(refused), ["reason", "until"]);
        let long = "x".repeat(REASON_MAX_CHARS + 1);
        let refused = place(&journal, &officer(), &child(), &new(&long, None), today)
            .await
            .unwrap_err();
        assert_eq!(fields(refused), ["reason"]);
        assert_eq!(journal.stream_version(&holds_stream()), 0, "nothing was recorded");
        assert!(hold_id("hold-12").is_ok());
        assert!(hold_id("hold-").is_err() && hold_id("h-1").is_err() && hold_id("hold-1x").is_err());
    }
}
