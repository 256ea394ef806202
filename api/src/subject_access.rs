//! Subject access requests (UK GDPR Art. 15; `shared/domain/rules.md` §8): each request a record in the
//! journal's `subject-access` stream, its deadline, and the bundle made for it.
//!
//! A request is about the record, not the child's journey, so it is never an event in a child's stream
//! (as holds are not: [`crate::holds`]). Its records, each naming who and when:
//! - `SubjectAccessRequested`: whose data (a child, or a person by the sending system's person id), who
//!   asked (the subject, a parent, a representative) on what authority, the date received, and what may be
//!   disclosed beyond the subject's own data ([`Disclosure`]). No requester's name or address is kept: the
//!   council's own case file holds the identity checks, and `reference` points to it.
//! - `SubjectAccessExtended` (two further months, Art. 12(3), with the reason), `DisclosureChanged` (a
//!   consent arrived), `EntryWithheld` and `EntryReinstated` (a reviewer's serious-harm decision on one
//!   entry, DPA 2018 Sch. 3 Pt 3), `BundleReleased` (the instant the bundle was made as known at, the log's
//!   size and head hash then, and the SHA-256 of the released JSON).
//!
//! A released bundle is never stored: it is made again from the log as known at the release instant, with
//! the decisions recorded before it, and its SHA-256 must match the one recorded. The bundle is a function of
//! the record, which erasure aside never changes.
//!
//! Deadlines follow the ICO's reading of Art. 12(3): one month from the day the request is received, to the
//! corresponding date of the next month (the month's last day when it has none), moved to the next working
//! day when it falls on a weekend or a bank holiday in England; three months when extended.

use std::collections::BTreeSet;

use journey_core::domain::PersonId;
use journey_core::journal::{Journal, JournalRecord, NewRecord, SystemStream};
use journey_core::view::subject_access::{AccessSubject, Disclosure, Withholding};
use journey_core::{ChildId, Date, EventId, PrincipalId, Problems, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::extract::{AcceptedDate, check_text};

pub const SUBJECT_ACCESS_STREAM: &str = "subject-access";
const REQUESTED: &str = "SubjectAccessRequested";
const EXTENDED: &str = "SubjectAccessExtended";
const DISCLOSURE_CHANGED: &str = "DisclosureChanged";
const ENTRY_WITHHELD: &str = "EntryWithheld";
const ENTRY_REINSTATED: &str = "EntryReinstated";
const RELEASED: &str = "BundleReleased";
/// The longest free text a request's records carry, in characters.
pub const TEXT_MAX_CHARS: usize = 1000;
/// The most children a request about a person may name.
pub const MAX_CHILDREN: usize = 100;
/// How many times a record is retried when another was recorded meanwhile.
const ATTEMPTS: usize = 8;

pub fn subject_access_stream() -> SystemStream {
    SystemStream::parse(SUBJECT_ACCESS_STREAM).expect("valid stream name")
}

/// Who asked (`shared/domain/rules.md` §8, "Requests come from").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Requester {
    /// The data subject: the child, the young person, the care leaver, or the person the data is about.
    Subject,
    /// A parent or person with parental responsibility, for the child's record (subject to the child's
    /// interests).
    Parent,
    /// A solicitor, advocate or other person with the subject's authority.
    Representative,
}

/// The body of a `SubjectAccessRequested` record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Requested {
    pub request_id: String,
    pub subject: AccessSubject,
    /// For a request about a person: the children's records to look in (empty: every record).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<ChildId>,
    pub requester: Requester,
    pub authority: String,
    pub received_on: Date,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    #[serde(default)]
    pub disclosure: Disclosure,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Extended {
    request_id: String,
    reason: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct DisclosureChanged {
    request_id: String,
    disclosure: Disclosure,
    reason: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryDecision {
    request_id: String,
    event_id: EventId,
    reason: String,
}

/// What a bundle is made from, named in it, and recorded at its release so that the released bundle can be
/// made again exactly.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MadeFrom {
    /// The instant the record was read as known at.
    #[schema(value_type = String, format = DateTime)]
    pub known_at: Timestamp,
    /// The log's size and head hash then.
    pub log_size: u64,
    pub log_hash: String,
    /// The latest signed checkpoint that proves every record in the bundle, if one did yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint_size: Option<u64>,
    /// The policy versions in force on the day it was made (`name version`).
    pub policy_versions: Vec<String>,
    /// The Journey release that made it. Made again by the same release, a released bundle is byte for byte
    /// what was released; a later release may word an entry differently (a code list's description, say).
    pub made_by: String,
}

/// The body of a `BundleReleased` record: what the released bundle was made from, and its digest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Released {
    pub request_id: String,
    pub made_from: MadeFrom,
    /// SHA-256 of the released bundle's JSON, hex.
    pub sha256: String,
}

/// A request as the journal records it, with its deadline and decisions.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct SubjectAccessRequest {
    /// `sar-<n>`: the stream's version it was recorded at.
    pub request_id: String,
    #[schema(value_type = Object)]
    pub subject: AccessSubject,
    #[schema(value_type = Vec<String>)]
    pub children: Vec<ChildId>,
    pub requester: Requester,
    pub authority: String,
    #[schema(value_type = String, format = Date)]
    pub received_on: Date,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    #[schema(value_type = Object)]
    pub disclosure: Disclosure,
    /// The last day to answer: one month, or three when extended.
    #[schema(value_type = String, format = Date)]
    pub due_on: Date,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extension: Option<Decision>,
    /// The entries withheld for serious harm, each with the reviewer's decision.
    pub withheld: Vec<EntryWithholding>,
    #[schema(value_type = String)]
    pub recorded_by: PrincipalId,
    #[schema(value_type = String, format = DateTime)]
    pub recorded_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub released: Option<Release>,
    /// `open` or `released`.
    pub status: &'static str,
    /// Open after its last day, or released after it.
    pub late: bool,
}

/// A decision recorded on a request: who, when and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct Decision {
    #[schema(value_type = String)]
    pub by: PrincipalId,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    pub reason: String,
}

/// One entry withheld for serious harm.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct EntryWithholding {
    #[schema(value_type = String)]
    pub event_id: EventId,
    pub decision: Decision,
}

/// A request's release.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct Release {
    #[schema(value_type = String)]
    pub by: PrincipalId,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    pub made_from: MadeFrom,
    pub sha256: String,
}

impl SubjectAccessRequest {
    /// The reviewer's withholdings in force, as the core's bundle takes them.
    pub fn withholdings(&self) -> Vec<Withholding> {
        self.withheld
            .iter()
            .map(|w| Withholding {
                event_id: w.event_id.clone(),
                reason: w.decision.reason.clone(),
            })
            .collect()
    }

    /// The purpose every read made for the request is access-logged with.
    pub fn purpose(&self) -> String {
        format!("subject access request {}", self.request_id)
    }

    fn judge_lateness(&mut self, today: Date) {
        self.late = match &self.released {
            Some(release) => release.at.england_date() > self.due_on,
            None => today > self.due_on,
        };
    }
}

/// The last day to answer a request received on `received_on`, given `months` (1, or 3 when extended).
pub fn due_on(received_on: Date, months: i32, bank_holidays: &[Date]) -> Date {
    let mut due = received_on.add_months(months);
    // Saturday and Sunday are the 6th and 7th days from Monday.
    while due.civil().weekday().to_monday_one_offset() >= 6 || bank_holidays.contains(&due) {
        due = due.add_days(1);
    }
    due
}

/// Every request, as the journal's stream says, in the order received.
#[derive(Clone, Debug, Default)]
pub struct Requests {
    version: u64,
    requests: Vec<SubjectAccessRequest>,
}

impl Requests {
    /// Reads the whole stream, judging deadlines against `today` with the bank holidays given.
    pub async fn load(
        journal: &dyn Journal,
        today: Date,
        bank_holidays: &[Date],
    ) -> Result<Requests, ApiError> {
        let mut requests = Requests::default();
        crate::holds::each_record(journal, &subject_access_stream(), |record| {
            requests.apply(record, bank_holidays)
        })
        .await?;
        for request in &mut requests.requests {
            request.judge_lateness(today);
        }
        Ok(requests)
    }

    pub fn all(&self) -> &[SubjectAccessRequest] {
        &self.requests
    }

    pub fn get(&self, request_id: &str) -> Result<&SubjectAccessRequest, ApiError> {
        self.requests
            .iter()
            .find(|r| r.request_id == request_id)
            .ok_or_else(|| ApiError::NotFound(format!("no subject access request {request_id}")))
    }

    /// The request as it stood just after its release was recorded (its decisions then), for making the
    /// released bundle again.
    fn request_mut(
        &mut self,
        request_id: &str,
        record: &JournalRecord,
    ) -> Result<&mut SubjectAccessRequest, ApiError> {
        self.requests
            .iter_mut()
            .find(|r| r.request_id == request_id)
            .ok_or_else(|| {
                ApiError::Internal(format!(
                    "subject-access stream v{}: {request_id} before it was requested",
                    record.version
                ))
            })
    }

    fn apply(&mut self, record: &JournalRecord, bank_holidays: &[Date]) -> Result<(), ApiError> {
        let decision = |reason: String| Decision {
            by: record.recorded_by.clone(),
            at: record.recorded_at,
            reason,
        };
        match record.kind.as_str() {
            REQUESTED => {
                let r: Requested = record.body_as()?;
                self.requests.push(SubjectAccessRequest {
                    due_on: due_on(r.received_on, 1, bank_holidays),
                    request_id: r.request_id,
                    subject: r.subject,
                    children: r.children,
                    requester: r.requester,
                    authority: r.authority,
                    received_on: r.received_on,
                    reference: r.reference,
                    disclosure: r.disclosure,
                    extension: None,
                    withheld: Vec::new(),
                    recorded_by: record.recorded_by.clone(),
                    recorded_at: record.recorded_at,
                    released: None,
                    status: "open",
                    late: false,
                });
            }
            EXTENDED => {
                let e: Extended = record.body_as()?;
                let request = self.request_mut(&e.request_id, record)?;
                request.due_on = due_on(request.received_on, 3, bank_holidays);
                request.extension = Some(decision(e.reason));
            }
            DISCLOSURE_CHANGED => {
                let d: DisclosureChanged = record.body_as()?;
                self.request_mut(&d.request_id, record)?.disclosure = d.disclosure;
            }
            ENTRY_WITHHELD => {
                let w: EntryDecision = record.body_as()?;
                self.request_mut(&w.request_id, record)?
                    .withheld
                    .push(EntryWithholding {
                        event_id: w.event_id,
                        decision: decision(w.reason),
                    });
            }
            ENTRY_REINSTATED => {
                let w: EntryDecision = record.body_as()?;
                self.request_mut(&w.request_id, record)?
                    .withheld
                    .retain(|e| e.event_id != w.event_id);
            }
            RELEASED => {
                let r: Released = record.body_as()?;
                let request = self.request_mut(&r.request_id, record)?;
                request.status = "released";
                request.released = Some(Release {
                    by: record.recorded_by.clone(),
                    at: record.recorded_at,
                    made_from: r.made_from,
                    sha256: r.sha256,
                });
            }
            other => {
                return Err(ApiError::Internal(format!(
                    "subject-access stream v{}: unknown record kind {other}",
                    record.version
                )));
            }
        }
        self.version = record.version;
        Ok(())
    }
}

/// A request to record (the API's body).
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRequest {
    /// The child whose record is asked for (a request by or for the child), or ...
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "C-0001")]
    pub child_id: Option<ChildId>,
    /// ... the person (the sending system's person id) whose data the record carries: a parent asking for
    /// what is held about them. Exactly one of `child_id` and `person_id`.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub person_id: Option<String>,
    /// For a request about a person: the children's records to look in (at most 100); every record when
    /// absent.
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub children: Vec<ChildId>,
    pub requester: Requester,
    /// How the requester's identity and authority were established (no personal data: "photo ID seen;
    /// parental responsibility evidenced, case file SAR-2026-014"). 1 to 1000 characters.
    #[serde(default)]
    pub authority: String,
    /// The day the request was received: the one-month clock starts then. Not after today.
    #[schema(value_type = String, format = Date, example = "2026-11-02")]
    pub received_on: AcceptedDate,
    /// The council's own reference for the request (1 to 200 characters).
    #[serde(default)]
    pub reference: Option<String>,
    /// What may be disclosed beyond the subject's own data: `persons` (ids who consented or whose
    /// disclosure is reasonable), `withhold_professionals`, `child_information` (for a request about a
    /// person).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub disclosure: Disclosure,
}

/// A reason for a decision on a request (an extension, a reinstatement).
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reason {
    /// Why (1 to 1000 characters; no personal data).
    #[serde(default)]
    pub reason: String,
}

/// A reviewer's decision on one entry.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EntryDecisionBody {
    /// The entry's event id, as the draft bundle shows it.
    #[schema(value_type = String)]
    pub event_id: EventId,
    /// The reviewer's reason (1 to 1000 characters): kept for the data protection officer, never released.
    #[serde(default)]
    pub reason: String,
}

/// A change of what may be disclosed (a consent arrived, or was withdrawn).
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DisclosureBody {
    #[schema(value_type = Object)]
    pub disclosure: Disclosure,
    /// Why (1 to 1000 characters; no personal data).
    #[serde(default)]
    pub reason: String,
}

/// Each person a disclosure names must be a valid person id.
fn check_persons(disclosure: &Disclosure, problems: &mut Problems) {
    for (i, id) in disclosure.persons.iter().enumerate() {
        if let Err(e) = PersonId::parse(id) {
            problems.push(format!("disclosure.persons[{i}]"), e.message);
        }
    }
}

impl NewRequest {
    /// The record's body, or every problem with the request, each naming its field.
    fn validate(&self, today: Date) -> Result<Requested, ApiError> {
        let mut problems = Problems::new();
        let subject = match (&self.child_id, &self.person_id) {
            (Some(child_id), None) => {
                if !self.children.is_empty() {
                    problems.push(
                        "children",
                        "is only for a request about a person: leave it out for a child",
                    );
                }
                Some(AccessSubject::Child {
                    child_id: child_id.clone(),
                })
            }
            (None, Some(person_id)) => match PersonId::parse(person_id) {
                Ok(id) => Some(AccessSubject::Person {
                    person_id: id.as_str().to_owned(),
                }),
                Err(e) => {
                    problems.push("person_id", e.message);
                    None
                }
            },
            _ => {
                problems.push(
                    "child_id",
                    "exactly one of child_id (the child's record) and person_id (a person's data) is required",
                );
                None
            }
        };
        if self.children.len() > MAX_CHILDREN {
            problems.push("children", format!("must name at most {MAX_CHILDREN} children"));
        }
        let distinct: BTreeSet<&ChildId> = self.children.iter().collect();
        if distinct.len() != self.children.len() {
            problems.push("children", "must not name a child twice");
        }
        check_text("authority", &self.authority, TEXT_MAX_CHARS, None, &mut problems);
        if let Some(reference) = &self.reference {
            check_text("reference", reference, 200, None, &mut problems);
        }
        let received_on = self.received_on.get();
        if received_on > today {
            problems.push(
                "received_on",
                format!(
                    "must not be after today ({today}): the day the request was received (got {received_on})"
                ),
            );
        }
        check_persons(&self.disclosure, &mut problems);
        problems.into_result()?;
        Ok(Requested {
            request_id: String::new(),
            subject: subject.expect("checked above"),
            children: self.children.clone(),
            requester: self.requester,
            authority: self.authority.trim().to_owned(),
            received_on,
            reference: self.reference.as_ref().map(|r| r.trim().to_owned()),
            disclosure: self.disclosure.clone(),
        })
    }
}

/// The journal and the deadline rules, for recording requests and decisions.
#[allow(missing_debug_implementations)] // holds the journal, which has no Debug
pub(crate) struct Recorder<'a> {
    pub journal: &'a dyn Journal,
    pub by: &'a PrincipalId,
    pub today: Date,
    pub bank_holidays: &'a [Date],
}

impl Recorder<'_> {
    async fn load(&self) -> Result<Requests, ApiError> {
        Requests::load(self.journal, self.today, self.bank_holidays).await
    }

    /// Records a request received: the request as recorded, with its deadline. 422 naming each field at
    /// fault.
    pub async fn request(&self, body: &NewRequest) -> Result<SubjectAccessRequest, ApiError> {
        let requested = body.validate(self.today)?;
        self.append_then(|requests| {
            let request_id = format!("sar-{}", requests.version + 1);
            let body = Requested {
                request_id: request_id.clone(),
                ..requested.clone()
            };
            Ok((NewRecord::new(REQUESTED, self.by.clone(), &body), request_id))
        })
        .await
    }

    /// Extends a request's deadline to three months. 409 when already extended or released.
    pub async fn extend(&self, request_id: &str, reason: &str) -> Result<SubjectAccessRequest, ApiError> {
        let mut problems = Problems::new();
        check_text("reason", reason, TEXT_MAX_CHARS, None, &mut problems);
        problems.into_result()?;
        self.append_then(|requests| {
            let request = open(requests, request_id)?;
            if let Some(extension) = &request.extension {
                return Err(ApiError::ConflictDetail(format!(
                    "{request_id} was already extended by {} at {}: a request is extended once, to three months",
                    extension.by, extension.at
                )));
            }
            let body = Extended {
                request_id: request_id.to_owned(),
                reason: reason.trim().to_owned(),
            };
            Ok((NewRecord::new(EXTENDED, self.by.clone(), &body), request_id.to_owned()))
        })
        .await
    }

    /// Changes what may be disclosed. 409 once released.
    pub async fn disclose(
        &self,
        request_id: &str,
        body: &DisclosureBody,
    ) -> Result<SubjectAccessRequest, ApiError> {
        let mut problems = Problems::new();
        check_text("reason", &body.reason, TEXT_MAX_CHARS, None, &mut problems);
        check_persons(&body.disclosure, &mut problems);
        problems.into_result()?;
        self.append_then(|requests| {
            open(requests, request_id)?;
            let record = DisclosureChanged {
                request_id: request_id.to_owned(),
                disclosure: body.disclosure.clone(),
                reason: body.reason.trim().to_owned(),
            };
            Ok((
                NewRecord::new(DISCLOSURE_CHANGED, self.by.clone(), &record),
                request_id.to_owned(),
            ))
        })
        .await
    }

    /// Withholds one entry (`withhold`) or reinstates it. The entry must be one the bundle holds: the caller
    /// checks that against the record (`entry_exists`). 409 when already so, or once released.
    pub async fn decide_entry(
        &self,
        request_id: &str,
        body: &EntryDecisionBody,
        withhold: bool,
        entry_exists: bool,
    ) -> Result<SubjectAccessRequest, ApiError> {
        let mut problems = Problems::new();
        check_text("reason", &body.reason, TEXT_MAX_CHARS, None, &mut problems);
        if !entry_exists {
            problems.push(
                "event_id",
                format!(
                    "must be an entry of the request's bundle: {} is not one",
                    body.event_id
                ),
            );
        }
        problems.into_result()?;
        self.append_then(|requests| {
            let request = open(requests, request_id)?;
            let is_withheld = request.withheld.iter().any(|w| w.event_id == body.event_id);
            if is_withheld == withhold {
                return Err(ApiError::ConflictDetail(format!(
                    "entry {} of {request_id} is already {}",
                    body.event_id,
                    if withhold { "withheld" } else { "not withheld" }
                )));
            }
            let record = EntryDecision {
                request_id: request_id.to_owned(),
                event_id: body.event_id.clone(),
                reason: body.reason.trim().to_owned(),
            };
            let kind = if withhold {
                ENTRY_WITHHELD
            } else {
                ENTRY_REINSTATED
            };
            Ok((
                NewRecord::new(kind, self.by.clone(), &record),
                request_id.to_owned(),
            ))
        })
        .await
    }

    /// Records a release, provided nothing was recorded on the request since `seen` (the stream version the
    /// bundle was made at): otherwise 409, and the officer looks again.
    pub async fn release(&self, seen: u64, released: Released) -> Result<SubjectAccessRequest, ApiError> {
        let request_id = released.request_id.clone();
        self.append_then(|requests| {
            if requests.version != seen {
                return Err(ApiError::ConflictDetail(format!(
                    "{request_id} changed while its bundle was being made: make it again and release it"
                )));
            }
            open(requests, &request_id)?;
            Ok((
                NewRecord::new(RELEASED, self.by.clone(), &released),
                request_id.clone(),
            ))
        })
        .await
    }

    /// Loads the requests, builds one record from them, appends it if nothing was recorded meanwhile
    /// (retrying otherwise), and answers the request it names as it stands afterwards.
    async fn append_then(
        &self,
        build: impl Fn(&Requests) -> Result<(NewRecord, String), ApiError>,
    ) -> Result<SubjectAccessRequest, ApiError> {
        for _ in 0..ATTEMPTS {
            let requests = self.load().await?;
            let (record, request_id) = build(&requests)?;
            let stream = subject_access_stream();
            if crate::holds::append_if_unchanged(self.journal, &stream, requests.version, record)
                .await?
                .is_some()
            {
                return self.load().await?.get(&request_id).cloned();
            }
        }
        Err(ApiError::Unavailable(
            "subject access requests are being recorded faster than this one could be: try again".into(),
        ))
    }
}

/// The request, if it is still open (409 once released).
pub(crate) fn open<'r>(
    requests: &'r Requests,
    request_id: &str,
) -> Result<&'r SubjectAccessRequest, ApiError> {
    let request = requests.get(request_id)?;
    if let Some(release) = &request.released {
        return Err(ApiError::ConflictDetail(format!(
            "{request_id} was released by {} at {}: a released request does not change",
            release.by, release.at
        )));
    }
    Ok(request)
}

impl Requests {
    /// The stream version read.
    pub fn version(&self) -> u64 {
        self.version
    }
}

/// A request id as a path gives it: `sar-<n>`.
pub fn request_id(raw: &str) -> Result<&str, ApiError> {
    let ok = raw
        .strip_prefix("sar-")
        .is_some_and(|n| !n.is_empty() && n.len() <= 19 && n.bytes().all(|b| b.is_ascii_digit()));
    if ok {
        Ok(raw)
    } else {
        Err(ApiError::BadRequest {
            detail: format!("request_id {raw:?} is not a subject access request id"),
            errors: vec![journey_core::FieldError::new(
                "request_id",
                "must be sar-<n>, as the request was recorded",
            )],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        Date::parse_field("date", s).unwrap()
    }

    #[test]
    fn a_month_is_the_corresponding_date_or_the_months_last_day_then_a_working_day() {
        // Received on a Monday: due on the same date a month later (a Wednesday).
        assert_eq!(due_on(d("2026-09-14"), 1, &[]), d("2026-10-14"));
        // 31 January: February has no 31st, so its last day, a Saturday in 2026, moved to Monday.
        assert_eq!(due_on(d("2026-01-31"), 1, &[]), d("2026-03-02"));
        // Due on a bank holiday (Christmas Day 2026, a Friday), then Boxing Day's substitute on Monday 28th.
        let holidays = [d("2026-12-25"), d("2026-12-28")];
        assert_eq!(due_on(d("2026-11-25"), 1, &holidays), d("2026-12-29"));
        // Extended: three months from receipt.
        assert_eq!(due_on(d("2026-09-14"), 3, &[]), d("2026-12-14"));
    }
}
