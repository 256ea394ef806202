//! The rules that need a child's history, and the compact state they are checked against.
//!
//! # Rules (`StreamState::check`)
//! * The first event of a stream is `ChildRegistered` (otherwise the problem is reported at `child_id`: the
//!   child is not registered), and it appears once (again only after the registration was retracted).
//! * Nothing is dated in the future: `occurred_at`, and every date field that records the past (not
//!   `expected_date_of_birth` or an order's `expires_on`), is on or before today in England.
//! * Nothing needing the child to be born is recorded for a child registered as unborn, or dated before the
//!   date of birth. Pre-birth work may be: contacts and decisions, early help, referral, assessment, child in
//!   need plans and closure, strategy discussion, section 47, conferences, child protection plans and core
//!   groups, pre-proceedings, worker allocation and transfers (`EventKind::allowed_before_birth`). A date of
//!   birth (registered, amended or corrected) must not come after any recorded event that needs the birth.
//! * After `ChildDied`: no second `ChildDied`, and nothing dated after the death except events that close an
//!   episode, plan or allocation (they may be recorded, and dated, after the death). Corrections and
//!   retractions are always possible.
//! * Episodes, plans and the like are *lanes* of opening and closing events (see `lane_op`). An opening event
//!   needs no period of the same lane open, and must not fall inside an earlier one; a closing event needs
//!   an open period that started on or before it (so: "ended but never started", "ended twice", "ended before
//!   it started" are refused), and the period it closes must not overlap a later one; an event within a
//!   period (a legal status or placement change, a plan review, a category change, a core group) must fall
//!   inside one; a return interview must follow a missing episode. Allocations and court orders *replace*:
//!   a new social worker ends the previous allocation, a renewed interim care order the previous one.
//! * References to other events (`contact_event_id`, `offer_event_id`...) name an event of this stream, of
//!   the right kind, not retracted, not dated after the referring event; a contact is decided once, an offer
//!   answered once.
//! * `EventCorrected`: the target exists in this stream, is not retracted, is not itself a correction or a
//!   retraction (corrections target the original; the latest live correction is in force), and the
//!   replacement is of the same kind. The replacement, at the corrected date, must keep every rule above,
//!   and must not break another event's: the lane is re-derived with the replacement in the target's place,
//!   and any new problem (for this or another event) is reported under `data.replacement` or
//!   `data.target_occurred_at`.
//! * `EventRetracted`: the target exists, is not a retraction and is not already retracted. A retraction is
//!   never refused for what it leaves behind: retracting the event that opened an episode removes the
//!   episode (a new one may be opened), and an orphaned closing event is then ignored by the lanes, so a run
//!   of retractions can be recorded in any order.
//! * `RecordRestricted` (UK GDPR Art. 18): with a target, the target exists, is an original event (a
//!   restriction follows its corrections), is not retracted and is not already restricted; without one (the
//!   whole record), the record is not already restricted. `RestrictionLifted` names a `RecordRestricted` of
//!   this stream that has not been lifted. Restrictions and their lifting are never corrected or retracted
//!   (a restriction recorded in error is lifted, with the reason). Like corrections, they may be recorded
//!   after the child's death. A restriction changes what the views *use*, not what the rules see: a
//!   restricted event still takes its place in its lane here.
//! * `ContinuedUnderNewIdentity` needs an adoption order (not retracted) in the stream.
//! * Merges (issue #20). After `RecordMergedInto` (this record merged into another), every event is refused,
//!   naming the surviving record, except the `MergeUndone` that names it. A record is merged into one other
//!   at a time, never into itself (checked where the stream's child is known: `store::backend`), and not while it has absorbed others (merge those into the survivor
//!   directly). `RecordMergedFrom` names a child not already merged into this record. `MergeUndone` names a
//!   merge event of this stream not already undone. Merge events are never corrected or retracted (a merge
//!   recorded in error is undone, with the reason), and may be recorded before birth or after death: they
//!   are about the record, not the child.
//!
//! # What the state keeps
//! One small `Entry` per event (kind, date, retracted, which correction is in force) and one `Mark` per
//! event that takes part in a lane (its lane, what it does there, its date). Event ids are kept as 128-bit
//! digests (SHA-256, truncated), never as strings, so cloning the state is a copy of flat vectors and a map
//! of fixed-size keys. Lanes are re-derived from their marks whenever a rule needs them, taking each event's
//! latest live content (original or correction) in its original place in the stream: retractions and
//! corrections, in any order and of any event, are therefore always reflected.
//!
//! What the state does **not** re-check when an event is corrected or retracted: the references *to* it
//! (a `ContactDecided` whose contact is later retracted stays accepted), the death rule for events already
//! recorded when `ChildDied` is added or re-dated, and payload-to-payload consistency across events (a
//! placement's type against the legal status, for instance), which the return builders validate.

use std::collections::HashMap;
use std::fmt;

use sha2::{Digest, Sha256};

use crate::error::Problems;
use crate::ids::{ChildId, EventId};
use crate::time::{Date, OccurredAt};

use super::lists::{CourtOrderKind, WorkerRole};
use super::{EventCorrected, EventKind, EventPayload, EventRetracted, not_future};

/// A 128-bit digest of an event id: the state's key for it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct Key([u8; 16]);

impl Key {
    fn of(id: &EventId) -> Key {
        let digest = Sha256::new()
            .chain_update(b"journey/state-key\0")
            .chain_update(id.as_str())
            .finalize();
        let mut k = [0u8; 16];
        k.copy_from_slice(&digest[..16]);
        Key(k)
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key({})", hex::encode(&self.0[..6]))
    }
}

/// What the state knows of one event, by its position in the stream (`seq`, from 0).
#[derive(Clone, Copy, Debug)]
struct Entry {
    kind: EventKind,
    /// For a restriction: lifted.
    retracted: bool,
    /// An original's `occurred_at` date; for a correction, the corrected date of its target.
    date: Date,
    /// For corrections, retractions and restrictions: the seq of their target (a restriction of the whole
    /// record has none). For a lifting: the seq of the restriction it lifts.
    target: Option<u32>,
    /// For originals: the seq of the event whose content is in force (itself or its latest live correction).
    current: u32,
}

/// The sequences of related events whose order the rules check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lane {
    Identity,
    Death,
    EarlyHelp,
    ChildInNeed,
    Assessment,
    Section47,
    ChildProtectionPlan,
    ChildInNeedPlan,
    PreProceedings,
    CareProceedings,
    CourtOrder,
    LookedAfter,
    Missing,
    Uasc,
    AdoptionDecision,
    AdoptivePlacement,
    PathwayPlan,
    StayingPut,
    Worker,
    Answer,
}

const LANES: usize = Lane::Answer as usize + 1;

/// What an event does in its lane.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    /// Starts a period; none may be open.
    Open,
    /// Starts a period, ending the open one (a new allocation, a renewed order).
    Replace,
    /// Happens within a period.
    Touch,
    /// Happens after a period started (possibly after it ended).
    After,
    /// Ends the open period.
    Close,
    /// Answers another event, at most once.
    Answer,
}

/// The lane an event kind takes part in, and what it does there. Exhaustive: a new kind must be placed.
fn lane_op(kind: EventKind) -> Option<(Lane, Op)> {
    use EventKind::*;
    use Lane as L;
    use Op::*;
    Some(match kind {
        ChildRegistered => (L::Identity, Open),
        ChildDetailsAmended => (L::Identity, Touch),
        ChildDied => (L::Death, Open),
        ContactDecided => (L::Answer, Answer),
        EarlyHelpStarted => (L::EarlyHelp, Open),
        EarlyHelpAssessmentCompleted => (L::EarlyHelp, Touch),
        EarlyHelpEnded => (L::EarlyHelp, Close),
        ReferralReceived => (L::ChildInNeed, Open),
        ChildInNeedEpisodeClosed => (L::ChildInNeed, Close),
        AssessmentStarted => (L::Assessment, Open),
        AssessmentReviewed => (L::Assessment, Touch),
        AssessmentCompleted => (L::Assessment, Close),
        ChildInNeedPlanStarted => (L::ChildInNeedPlan, Open),
        ChildInNeedPlanReviewed => (L::ChildInNeedPlan, Touch),
        ChildInNeedPlanEnded => (L::ChildInNeedPlan, Close),
        Section47Started => (L::Section47, Open),
        Section47Completed => (L::Section47, Close),
        ChildProtectionPlanStarted => (L::ChildProtectionPlan, Open),
        ChildProtectionCategoryChanged | CoreGroupMet => (L::ChildProtectionPlan, Touch),
        ChildProtectionPlanEnded => (L::ChildProtectionPlan, Close),
        PreProceedingsStarted => (L::PreProceedings, Open),
        LetterBeforeProceedingsSent | PreProceedingsMeetingHeld => (L::PreProceedings, Touch),
        PreProceedingsEnded => (L::PreProceedings, Close),
        CareProceedingsIssued => (L::CareProceedings, Open),
        CareProceedingsConcluded => (L::CareProceedings, Close),
        CourtOrderMade => (L::CourtOrder, Replace),
        CourtOrderEnded => (L::CourtOrder, Close),
        // A period found in progress opens the period as the history records it.
        BecameLookedAfter | CareInProgressRecorded => (L::LookedAfter, Open),
        LegalStatusChanged | PlacementChanged => (L::LookedAfter, Touch),
        CeasedToBeLookedAfter => (L::LookedAfter, Close),
        MissingEpisodeStarted => (L::Missing, Open),
        MissingEpisodeEnded => (L::Missing, Close),
        ReturnInterviewOffered | ReturnInterviewHeld | ReturnInterviewDeclined => (L::Missing, After),
        UnaccompaniedAsylumSeekingStatusRecorded => (L::Uasc, Open),
        UnaccompaniedAsylumSeekingStatusCeased => (L::Uasc, Close),
        AdoptionDecisionMade => (L::AdoptionDecision, Open),
        MatchedWithAdopters => (L::AdoptionDecision, Touch),
        AdoptionDecisionReversed => (L::AdoptionDecision, Close),
        PlacedForAdoption => (L::AdoptivePlacement, Open),
        PlacementForAdoptionCeased => (L::AdoptivePlacement, Close),
        PathwayPlanStarted => (L::PathwayPlan, Open),
        PathwayPlanReviewed => (L::PathwayPlan, Touch),
        StayingPutStarted => (L::StayingPut, Open),
        StayingPutEnded => (L::StayingPut, Close),
        EntitlementAccepted | EntitlementDeclined => (L::Answer, Answer),
        WorkerAllocated => (L::Worker, Replace),
        WorkerAllocationEnded => (L::Worker, Close),
        ContactReceived
        | StrategyDiscussionHeld
        | ChildProtectionConferenceHeld
        | ChildVisited
        | FamilyGroupConferenceOffered
        | FamilyGroupConferenceHeld
        | LookedAfterReviewHeld
        | IndependentReviewingOfficerContacted
        | HealthAssessmentCompleted
        | DentalCheckCompleted
        | ImmunisationsRecorded
        | SdqScoreRecorded
        | SubstanceMisuseIdentified
        | ChildConvicted
        | PersonalEducationPlanReviewed
        | ChildBecameParent
        | PermanencePlanRecorded
        | PreviousPermanenceRecorded
        | LeavingCareNeedsAssessmentCompleted
        | CareLeaverContactRecorded
        | HealthHistoryGiven
        | EntitlementOffered
        | TransferredIn
        | TransferredOut
        | InvalidIdentifierRecorded
        | EventCorrected
        | EventRetracted
        | RecordRestricted
        | RestrictionLifted
        | ContinuedUnderNewIdentity
        | RecordMergedInto
        | RecordMergedFrom
        | MergeUndone => return None,
    })
}

/// Whether the kind closes something (and so may be recorded after the child's death).
pub(crate) fn closes(kind: EventKind) -> bool {
    matches!(lane_op(kind), Some((_, Op::Close)))
}

/// Lane-specific content of a mark.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Data {
    None,
    /// From `ChildRegistered` and `ChildDetailsAmended`.
    Birth {
        dob: Option<Date>,
        expected: Option<Date>,
    },
    /// The seq of the event answered (`None` if it is not in the stream).
    Answers(Option<u32>),
}

/// An event's part in a lane, as computed from a payload.
#[derive(Clone, Copy, Debug)]
struct Part {
    lane: Lane,
    op: Op,
    /// Distinguishes independent sequences within a lane: the order kind, the worker role, what is answered.
    sub: u8,
    data: Data,
}

/// An event's part in a lane, as stored.
#[derive(Clone, Copy, Debug)]
struct Mark {
    /// The event whose part this is (for a correction: the original it corrects).
    owner: u32,
    /// The event that supplied this content (the original, or a correction of it).
    source: u32,
    op: Op,
    sub: u8,
    date: Date,
    data: Data,
}

/// An event under check, placed in its lanes as if recorded: a new event at the end of the stream, or a
/// correction's replacement in place of its target.
#[derive(Clone, Copy, Debug)]
struct Candidate {
    owner: u32,
    source: u32,
    kind: EventKind,
    date: Date,
    part: Option<Part>,
    /// True for a correction's replacement.
    correcting: bool,
}

/// Where problems about the candidate are reported.
#[derive(Clone, Copy, Debug)]
struct Fields {
    /// For "this kind of event cannot happen now".
    kind: &'static str,
    /// For problems with the event's date.
    date: &'static str,
    /// The prefix of the payload's fields.
    data: &'static str,
}

const EVENT_FIELDS: Fields = Fields {
    kind: "type",
    date: "occurred_at",
    data: "data",
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Birth {
    Unregistered,
    Unborn { expected: Option<Date> },
    Born { dob: Date },
}

const MERGES_STAND: &str =
    "a merge is not corrected or retracted; undo it with MergeUndone (giving the reason)";

/// The rules' view of one child's stream. Compact and cheap to clone: see the module documentation.
#[derive(Clone, Debug, Default)]
pub struct StreamState {
    index: HashMap<Key, u32>,
    entries: Vec<Entry>,
    lanes: [Vec<Mark>; LANES],
    /// Each `RecordMergedInto` and `RecordMergedFrom`: its entry and the other record. Empty but for
    /// records that were merged.
    merges: Vec<(u32, ChildId)>,
}

impl StreamState {
    /// The rules that need the stream's history, for an event (its occurred time and payload) appended now.
    /// `today` is the England date of the append's `recorded_at`. Field paths are relative to the event
    /// (`occurred_at`, `data.end_date`, `data.target_event_id`).
    pub fn check(&self, occurred_at: OccurredAt, payload: &EventPayload, today: Date) -> Problems {
        let mut p = Problems::new();
        let date = occurred_at.date();
        if let Err(e) = date.check_accepted("occurred_at") {
            p.push(e.field, e.message);
        }
        if let Err(e) = occurred_at.check_exists_in_england("occurred_at") {
            p.push(e.field, e.message);
        }
        not_future(&mut p, "occurred_at", date, today);
        if let Some(survivor) = self.merged_into()
            && !matches!(payload, EventPayload::MergeUndone(_))
        {
            p.push(
                "child_id",
                format!(
                    "this child's record was merged into {survivor} (RecordMergedInto): record events for the \
                     child under {survivor}, or undo the merge first"
                ),
            );
            return p;
        }
        match payload {
            EventPayload::RecordMergedInto(m) => self.check_merge_into(&m.surviving_child_id, &mut p),
            EventPayload::RecordMergedFrom(m) => self.check_merge_from(&m.merged_child_id, &mut p),
            EventPayload::MergeUndone(u) => self.check_merge_undone(&u.merge_event_id, &mut p),
            EventPayload::EventCorrected(c) => self.check_correction(c, today, &mut p),
            EventPayload::EventRetracted(r) => self.check_retraction(r, &mut p),
            EventPayload::RecordRestricted(r) => self.check_restriction(r.target_event_id.as_ref(), &mut p),
            EventPayload::RestrictionLifted(l) => self.check_lifting(&l.restriction_event_id, &mut p),
            payload => {
                p.extend_under("data", payload.date_problems(date, today));
                let kind = payload.kind();
                if !self.check_registration(kind, &mut p) {
                    return p;
                }
                let next = self.next_seq();
                let c = Candidate {
                    owner: next,
                    source: next,
                    kind,
                    date,
                    part: self.part_of(payload),
                    correcting: false,
                };
                self.check_content(payload, &c, &EVENT_FIELDS, &mut p);
                if kind == EventKind::ContinuedUnderNewIdentity && !self.has_adoption_order() {
                    p.push(
                        "type",
                        "ContinuedUnderNewIdentity needs an adoption order in this child's record (CourtOrderMade \
                         with order adoption_order): only adoption gives a child a new identity",
                    );
                }
            }
        }
        p
    }

    /// Whether an adoption order (not retracted) is recorded.
    fn has_adoption_order(&self) -> bool {
        self.effective(Lane::CourtOrder, None)
            .iter()
            .any(|m| m.sub == CourtOrderKind::AdoptionOrder as u8)
    }

    /// Records an event the rules accepted. Cannot fail: an event that names something missing is recorded
    /// without effect on the lanes.
    pub fn apply(&mut self, event_id: &EventId, occurred_at: OccurredAt, payload: &EventPayload) {
        let seq = self.next_seq();
        let date = occurred_at.date();
        match payload {
            EventPayload::EventCorrected(c) => {
                let target = self
                    .lookup(&c.target_event_id)
                    .filter(|&t| !self.entry(t).kind.is_about_events());
                let target_date = c
                    .target_occurred_at
                    .map(|o| o.date())
                    .or_else(|| target.map(|t| self.current_date(t)))
                    .unwrap_or(date);
                self.entries.push(Entry {
                    kind: EventKind::EventCorrected,
                    retracted: false,
                    date: target_date,
                    target,
                    current: seq,
                });
                if let Some(t) = target {
                    let part = self.part_of(&c.replacement);
                    self.entries[t as usize].current = seq;
                    if let Some(part) = part {
                        self.push_mark(t, seq, target_date, part);
                    }
                }
            }
            EventPayload::EventRetracted(r) => {
                let target = self.lookup(&r.target_event_id);
                self.entries.push(Entry {
                    kind: EventKind::EventRetracted,
                    retracted: false,
                    date,
                    target,
                    current: seq,
                });
                if let Some(t) = target {
                    self.entries[t as usize].retracted = true;
                    let te = self.entry(t);
                    if te.kind == EventKind::EventCorrected
                        && let Some(owner) = te.target
                    {
                        let restored = self.latest_live_correction(owner).unwrap_or(owner);
                        self.entries[owner as usize].current = restored;
                    }
                }
            }
            EventPayload::RecordRestricted(r) => {
                let target = r.target_event_id.as_ref().and_then(|t| self.lookup(t));
                self.entries.push(Entry {
                    kind: EventKind::RecordRestricted,
                    retracted: false,
                    date,
                    target,
                    current: seq,
                });
            }
            EventPayload::RecordMergedInto(m) => {
                self.push_about_record(EventKind::RecordMergedInto, date, None, seq);
                self.merges.push((seq, m.surviving_child_id.clone()));
            }
            EventPayload::RecordMergedFrom(m) => {
                self.push_about_record(EventKind::RecordMergedFrom, date, None, seq);
                self.merges.push((seq, m.merged_child_id.clone()));
            }
            EventPayload::MergeUndone(u) => {
                let target = self.lookup(&u.merge_event_id);
                self.push_about_record(EventKind::MergeUndone, date, target, seq);
                if let Some(t) = target
                    && self.entry(t).kind.is_merge()
                {
                    self.entries[t as usize].retracted = true;
                }
            }
            EventPayload::RestrictionLifted(l) => {
                let target = self.lookup(&l.restriction_event_id);
                self.entries.push(Entry {
                    kind: EventKind::RestrictionLifted,
                    retracted: false,
                    date,
                    target,
                    current: seq,
                });
                if let Some(t) = target
                    && self.entry(t).kind == EventKind::RecordRestricted
                {
                    self.entries[t as usize].retracted = true;
                }
            }
            payload => {
                let part = self.part_of(payload);
                self.entries.push(Entry {
                    kind: payload.kind(),
                    retracted: false,
                    date,
                    target: None,
                    current: seq,
                });
                if let Some(part) = part {
                    self.push_mark(seq, seq, date, part);
                }
            }
        }
        self.index.insert(Key::of(event_id), seq);
    }

    fn push_about_record(&mut self, kind: EventKind, date: Date, target: Option<u32>, seq: u32) {
        self.entries.push(Entry {
            kind,
            retracted: false,
            date,
            target,
            current: seq,
        });
    }

    /// The record this one is merged into, while the merge stands.
    pub fn merged_into(&self) -> Option<&ChildId> {
        self.open_merges(EventKind::RecordMergedInto).next()
    }

    /// The records merged into this one, while each merge stands.
    pub fn absorbed(&self) -> impl Iterator<Item = &ChildId> {
        self.open_merges(EventKind::RecordMergedFrom)
    }

    /// The other records of the merges of `kind` not undone ("retracted" is how an entry is marked undone).
    fn open_merges(&self, kind: EventKind) -> impl Iterator<Item = &ChildId> {
        self.merges.iter().filter_map(move |(seq, other)| {
            let e = self.entry(*seq);
            (e.kind == kind && !e.retracted).then_some(other)
        })
    }

    /// The number of events applied.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether an event with this id has been applied to the stream.
    pub fn contains(&self, event_id: &EventId) -> bool {
        self.lookup(event_id).is_some()
    }

    /// Whether the event has been retracted (`None` if it is not in the stream).
    pub fn is_retracted(&self, event_id: &EventId) -> Option<bool> {
        self.lookup(event_id).map(|s| self.entry(s).retracted)
    }

    /// The kind of an event of the stream.
    pub fn kind_of(&self, event_id: &EventId) -> Option<EventKind> {
        self.lookup(event_id).map(|s| self.entry(s).kind)
    }

    /// The child's date of birth, as currently recorded (corrections and retractions applied).
    pub fn date_of_birth(&self) -> Option<Date> {
        match self.birth(None) {
            Birth::Born { dob } => Some(dob),
            _ => None,
        }
    }

    /// The child's date of death, if recorded.
    pub fn date_of_death(&self) -> Option<Date> {
        self.death(None)
    }

    /// Whether a looked-after episode is open.
    pub fn is_looked_after(&self) -> bool {
        let marks = self.effective(Lane::LookedAfter, None);
        periods(&marks).iter().any(|p| p.end.is_none())
    }

    // ---- checks ----

    /// The registration rule; false when the event cannot be checked further.
    fn check_registration(&self, kind: EventKind, p: &mut Problems) -> bool {
        let registered = self.birth(None) != Birth::Unregistered;
        match (kind, registered) {
            (EventKind::ChildRegistered, true) => {
                p.push(
                    "type",
                    "the child is already registered: ChildRegistered appears once in a stream (use \
                     ChildDetailsAmended to change details, or EventCorrected to fix the registration)",
                );
                false
            }
            (EventKind::ChildRegistered, false) => true,
            (kind, false) if self.entries.is_empty() => {
                p.push(
                    "child_id",
                    format!(
                        "the child is not registered: the first event of a child's stream must be \
                         ChildRegistered, not {kind}"
                    ),
                );
                false
            }
            (_, false) => {
                p.push(
                    "child_id",
                    "the child's registration has been retracted: record ChildRegistered again before other events",
                );
                false
            }
            (_, true) => true,
        }
    }

    fn check_correction(&self, c: &EventCorrected, today: Date, p: &mut Problems) {
        const TARGET: &str = "data.target_event_id";
        let Some(t) = self.lookup(&c.target_event_id) else {
            p.push(
                TARGET,
                format!(
                    "no event {} in this child's stream: a correction targets an event of the same stream",
                    c.target_event_id
                ),
            );
            return;
        };
        let te = self.entry(t);
        if te.kind.is_correction() {
            p.push(
                TARGET,
                format!(
                    "is an {}: corrections target the original event (a later correction supersedes an earlier \
                     one), and a retraction cannot be corrected",
                    te.kind
                ),
            );
            return;
        }
        if te.kind.is_restriction() {
            p.push(
                TARGET,
                format!(
                    "is a {}: a restriction is not corrected; lift it with RestrictionLifted (giving the reason) \
                     and record a new one if needed",
                    te.kind
                ),
            );
            return;
        }
        if te.kind.is_merge() {
            p.push(TARGET, format!("is a {}: {MERGES_STAND}", te.kind));
            return;
        }
        if te.retracted {
            p.push(
                TARGET,
                "has been retracted: a retracted event cannot be corrected (record a new event instead)",
            );
            return;
        }
        let kind = c.replacement.kind();
        if kind != te.kind {
            p.push(
                "data.replacement.type",
                format!("must be {} like the event it corrects (got {kind}): a correction cannot change an event's kind", te.kind),
            );
            return;
        }
        let date = c
            .target_occurred_at
            .map_or_else(|| self.current_date(t), |o| o.date());
        if let Some(o) = c.target_occurred_at {
            if let Err(e) = o.date().check_accepted("data.target_occurred_at") {
                p.push(e.field, e.message);
            }
            if let Err(e) = o.check_exists_in_england("data.target_occurred_at") {
                p.push(e.field, e.message);
            }
            not_future(p, "data.target_occurred_at", o.date(), today);
        }
        p.extend_under("data.replacement.data", c.replacement.date_problems(date, today));
        let fields = Fields {
            kind: "data.replacement",
            date: if c.target_occurred_at.is_some() {
                "data.target_occurred_at"
            } else {
                "data.replacement"
            },
            data: "data.replacement.data",
        };
        let cand = Candidate {
            owner: t,
            source: self.next_seq(),
            kind,
            date,
            part: self.part_of(&c.replacement),
            correcting: true,
        };
        self.check_content(&c.replacement, &cand, &fields, p);
    }

    fn check_retraction(&self, r: &EventRetracted, p: &mut Problems) {
        const TARGET: &str = "data.target_event_id";
        let Some(t) = self.lookup(&r.target_event_id) else {
            p.push(
                TARGET,
                format!(
                    "no event {} in this child's stream: a retraction targets an event of the same stream",
                    r.target_event_id
                ),
            );
            return;
        };
        let te = self.entry(t);
        if te.kind.is_restriction() {
            p.push(
                TARGET,
                format!(
                    "is a {}: a restriction is not retracted; lift it with RestrictionLifted (giving the reason)",
                    te.kind
                ),
            );
        } else if te.kind.is_merge() {
            p.push(TARGET, format!("is a {}: {MERGES_STAND}", te.kind));
        } else if te.kind == EventKind::EventRetracted {
            p.push(
                TARGET,
                "is a retraction: a retraction cannot be retracted (record the event again instead)",
            );
        } else if te.retracted {
            p.push(TARGET, "has already been retracted");
        }
    }

    /// `RecordRestricted`: of one original event not already restricted, or of the whole record.
    fn check_restriction(&self, target: Option<&EventId>, p: &mut Problems) {
        const TARGET: &str = "data.target_event_id";
        let Some(id) = target else {
            if self.restriction_in_force(None) {
                p.push(
                    TARGET,
                    "is absent (the whole record), and the whole record is already restricted: lift that \
                     restriction first",
                );
            }
            return;
        };
        let Some(t) = self.lookup(id) else {
            p.push(
                TARGET,
                format!(
                    "no event {id} in this child's stream: a restriction names an event of the same stream"
                ),
            );
            return;
        };
        let te = self.entry(t);
        if te.kind.is_about_events() {
            p.push(
                TARGET,
                format!(
                    "is a {}: a restriction names the original event (it follows the event's corrections)",
                    te.kind
                ),
            );
        } else if te.retracted {
            p.push(
                TARGET,
                "has been retracted: a retracted event is already not used",
            );
        } else if self.restriction_in_force(Some(t)) {
            p.push(
                TARGET,
                "is already restricted: lift the restriction in force first",
            );
        }
    }

    /// `RestrictionLifted`: of a restriction of this stream, once.
    fn check_lifting(&self, restriction: &EventId, p: &mut Problems) {
        const TARGET: &str = "data.restriction_event_id";
        let Some(t) = self.lookup(restriction) else {
            p.push(
                TARGET,
                format!("no event {restriction} in this child's stream: a lifting names a restriction of the same stream"),
            );
            return;
        };
        let te = self.entry(t);
        if te.kind != EventKind::RecordRestricted {
            p.push(TARGET, format!("is a {}, not a RecordRestricted", te.kind));
        } else if te.retracted {
            p.push(TARGET, "has already been lifted");
        }
    }

    /// `RecordMergedInto`: into another record, while this one has absorbed none.
    fn check_merge_into(&self, survivor: &ChildId, p: &mut Problems) {
        const FIELD: &str = "data.surviving_child_id";
        if !self.check_registration(EventKind::RecordMergedInto, p) {
            return;
        }
        if let Some(absorbed) = self.absorbed().next() {
            p.push(
                FIELD,
                format!(
                    "cannot be merged into while this record has absorbed {absorbed}: a merged record is not \
                     merged again; undo that merge and merge both records into {survivor} directly"
                ),
            );
        }
    }

    /// `RecordMergedFrom`: a child not already merged into this record.
    fn check_merge_from(&self, merged: &ChildId, p: &mut Problems) {
        const FIELD: &str = "data.merged_child_id";
        if !self.check_registration(EventKind::RecordMergedFrom, p) {
            return;
        }
        if self.absorbed().any(|a| a == merged) {
            p.push(FIELD, format!("{merged} is already merged into this record"));
        }
    }

    /// `MergeUndone`: of a merge event of this stream, once.
    fn check_merge_undone(&self, merge: &EventId, p: &mut Problems) {
        const TARGET: &str = "data.merge_event_id";
        let Some(t) = self.lookup(merge) else {
            p.push(
                TARGET,
                format!(
                    "no event {merge} in this child's stream: an undoing names a merge of the same stream"
                ),
            );
            return;
        };
        let te = self.entry(t);
        if !matches!(te.kind, EventKind::RecordMergedInto | EventKind::RecordMergedFrom) {
            p.push(
                TARGET,
                format!("is a {}, not a RecordMergedInto or RecordMergedFrom", te.kind),
            );
        } else if te.retracted {
            p.push(TARGET, "has already been undone");
        }
    }

    /// Whether a restriction not yet lifted names `target` (`None`: the whole record).
    fn restriction_in_force(&self, target: Option<u32>) -> bool {
        self.entries
            .iter()
            .any(|e| e.kind == EventKind::RecordRestricted && !e.retracted && e.target == target)
    }

    /// The rules for an event's content, new or replacing its target.
    fn check_content(&self, payload: &EventPayload, c: &Candidate, f: &Fields, p: &mut Problems) {
        self.check_references(payload, c, f, p);
        self.check_life(c, f, p);
        if matches!(
            c.kind,
            EventKind::ChildRegistered | EventKind::ChildDetailsAmended
        ) {
            self.check_birth_change(payload, c, f, p);
        }
        self.check_lane(c, f, p);
    }

    fn check_references(&self, payload: &EventPayload, c: &Candidate, f: &Fields, p: &mut Problems) {
        for r in payload.as_dyn().references() {
            let field = format!("{}.{}", f.data, r.path);
            let Some(t) = self.lookup(r.target) else {
                p.push(
                    field,
                    format!(
                        "no event {} in this child's stream: it must name {}",
                        r.target, r.what
                    ),
                );
                continue;
            };
            let te = self.entry(t);
            if !r.kinds.contains(&te.kind) {
                let kinds: Vec<&str> = r.kinds.iter().map(|k| k.as_str()).collect();
                let a = article(&te.kind.as_str().to_ascii_lowercase());
                p.push(
                    field,
                    format!(
                        "names {a} {} event, but must name {} ({})",
                        te.kind,
                        r.what,
                        kinds.join(" or ")
                    ),
                );
            } else if te.retracted {
                p.push(
                    field,
                    format!("names an event that has been retracted; it must name {}", r.what),
                );
            } else {
                let target_date = self.current_date(t);
                if target_date > c.date {
                    p.push(
                        field,
                        format!(
                            "names an event dated {target_date}, after this one ({}): {} must come first",
                            c.date, r.what
                        ),
                    );
                }
            }
        }
    }

    /// Birth and death.
    fn check_life(&self, c: &Candidate, f: &Fields, p: &mut Problems) {
        let kind = c.kind;
        if !kind.allowed_before_birth() {
            match self.birth(None) {
                Birth::Unborn { expected } => {
                    let expected = expected.map(|d| format!(", expected {d}")).unwrap_or_default();
                    p.push(
                        f.kind,
                        format!(
                            "the child is registered as unborn{expected}: record the birth (ChildDetailsAmended with \
                             date_of_birth) before {kind}"
                        ),
                    );
                }
                Birth::Born { dob } if c.date < dob => p.push(
                    f.date,
                    format!(
                        "is before the child's date of birth ({dob}): {kind} needs the child to be born; only pre-birth \
                         work (contacts, early help, referrals, assessments, child in need and child protection work, \
                         pre-proceedings, worker allocation, transfers) may be dated before birth"
                    ),
                ),
                _ => {}
            }
        }
        if is_pre_birth_work(kind)
            && let Some((birth, what)) = birth_date(self.birth(None))
        {
            let earliest = earliest_pre_birth_work(birth);
            if c.date < earliest {
                p.push(
                    f.date,
                    format!(
                        "is more than {PRE_BIRTH_MONTHS} months before the child's {what} ({birth}): work before a \
                         birth happens during the pregnancy, so {kind} can be dated no earlier than {earliest}"
                    ),
                );
            }
        }
        let died = self.death(if c.correcting { Some(c) } else { None });
        if let Some(dd) = died {
            if kind == EventKind::ChildDied {
                if !c.correcting {
                    p.push(f.kind, format!("the child's death is already recorded ({dd})"));
                }
            } else if c.date > dd && !closes(kind) {
                p.push(
                    f.date,
                    format!(
                        "is after the child's death ({dd}): after ChildDied only events dated on or before the date of \
                         death, and events closing an episode, plan or allocation, can be recorded"
                    ),
                );
            }
        }
    }

    /// A date of birth must not come after events that need the child to be born.
    fn check_birth_change(&self, payload: &EventPayload, c: &Candidate, f: &Fields, p: &mut Problems) {
        if let EventPayload::ChildDetailsAmended(a) = payload
            && a.expected_date_of_birth.is_some()
            && a.date_of_birth.is_none()
            && !c.correcting
            && let Birth::Born { dob } = self.birth(None)
        {
            p.push(
                format!("{}.expected_date_of_birth", f.data),
                format!("the child's date of birth is already recorded ({dob}): an expected date of birth is only for an unborn child"),
            );
        }
        let earliest = self.earliest_needing_birth(c.owner);
        match (self.birth(Some(c)), earliest) {
            (Birth::Born { dob }, Some((k, d))) if d < dob => p.push(
                format!("{}.date_of_birth", f.data),
                format!(
                    "is after events that need the child to be born (the earliest: {k} on {d}): correct or retract \
                     them first"
                ),
            ),
            (Birth::Unborn { .. }, Some((k, d))) => p.push(
                format!("{}.expected_date_of_birth", f.data),
                format!("the child cannot be recorded as unborn: the stream holds events that need the birth ({k} on {d})"),
            ),
            _ => {}
        }
        // Pre-birth work already recorded bounds the birth from above, as the birth bounds it from below.
        if let Some((birth, what)) = birth_date(self.birth(Some(c)))
            && let Some((k, d)) = self.earliest_pre_birth_work(c.owner)
            && d < earliest_pre_birth_work(birth)
        {
            let field = if what == "date of birth" {
                "date_of_birth"
            } else {
                "expected_date_of_birth"
            };
            p.push(
                format!("{}.{field}", f.data),
                format!(
                    "is more than {PRE_BIRTH_MONTHS} months after the earliest work recorded before the birth ({k} on \
                     {d}): correct or retract it first"
                ),
            );
        }
    }

    /// The lane rules: the candidate's own problems, and (for a correction) any new problem it causes.
    fn check_lane(&self, c: &Candidate, f: &Fields, p: &mut Problems) {
        let Some((lane, _)) = lane_op(c.kind) else { return };
        if matches!(lane, Lane::Identity | Lane::Death) {
            return;
        }
        let after = fold(&self.effective(lane, Some(c)));
        let before = if c.correcting {
            fold(&self.effective(lane, None))
        } else {
            Vec::new()
        };
        for found in after {
            let new = if c.correcting {
                !before
                    .iter()
                    .any(|b| b.owner == found.owner && same_issue(b.issue, found.issue))
            } else {
                found.owner == c.owner
            };
            if new {
                self.report(lane, &found, c, f, p);
            }
        }
    }

    fn report(&self, lane: Lane, found: &Finding, c: &Candidate, f: &Fields, p: &mut Problems) {
        let kind = if found.owner == c.owner {
            c.kind
        } else {
            self.entry(found.owner).kind
        };
        let t = lane_text(lane, found.sub);
        let thing = &t.thing;
        let a = article(thing);
        let (field, message) = match found.issue {
            Issue::AlreadyOpen { since } => (
                f.kind,
                format!(
                    "{a} {thing} is already {} (since {since}): record {} before another {}",
                    t.open, t.closer, t.opener
                ),
            ),
            Issue::InsideEarlier { start, end } => (
                f.date,
                format!("falls within an earlier {thing} ({start} to {end}): they must not overlap"),
            ),
            Issue::NeverStarted => (
                f.kind,
                format!(
                    "no {thing} has {}, so {kind} has nothing to end: record {} first",
                    t.begun, t.opener
                ),
            ),
            Issue::AlreadyEnded { on } => (
                f.kind,
                format!(
                    "no {thing} is {}: the last one ended on {on}, and {kind} cannot end it twice",
                    t.open
                ),
            ),
            Issue::BeforeStart { start } if found.op == Op::Replace => {
                (f.date, format!("is before the current {thing} started ({start})"))
            }
            Issue::BeforeStart { start } => {
                (f.date, format!("is before the {thing} it ends started ({start})"))
            }
            Issue::NotOnDate => {
                let span = if t.closer.is_empty() {
                    format!("after {}", t.opener)
                } else {
                    format!("from {} to {}", t.opener, t.closer)
                };
                (
                    f.date,
                    format!(
                        "no {thing} was {} on this date: {kind} must fall within one ({span})",
                        t.open
                    ),
                )
            }
            Issue::NoneBefore => (
                f.date,
                format!(
                    "no {thing} started on or before this date: {kind} must follow {}",
                    t.opener
                ),
            ),
            Issue::Overlaps { start, end } => {
                let end = end.map_or_else(|| "still open".to_owned(), |e| e.to_string());
                (
                    f.date,
                    format!("would make the {thing} overlap a later one ({start} to {end})"),
                )
            }
            Issue::AlreadyAnswered => {
                let (path, what) = if found.sub == ANSWER_CONTACT {
                    (
                        "contact_event_id",
                        "this contact already has a decision (ContactDecided)",
                    )
                } else {
                    (
                        "offer_event_id",
                        "this offer has already been accepted or declined",
                    )
                };
                let field: &'static str = if f.data == "data" {
                    if path == "contact_event_id" {
                        "data.contact_event_id"
                    } else {
                        "data.offer_event_id"
                    }
                } else if path == "contact_event_id" {
                    "data.replacement.data.contact_event_id"
                } else {
                    "data.replacement.data.offer_event_id"
                };
                (
                    field,
                    format!("{what}: correct or retract the earlier one instead"),
                )
            }
        };
        let message = if found.owner == c.owner {
            message
        } else {
            format!("after this correction, the {kind} of {}: {message}", found.date)
        };
        p.push(field, message);
    }

    // ---- derived views ----

    fn next_seq(&self) -> u32 {
        u32::try_from(self.entries.len()).expect("fewer than 2^32 events in a stream")
    }

    fn entry(&self, seq: u32) -> Entry {
        self.entries[seq as usize]
    }

    fn lookup(&self, id: &EventId) -> Option<u32> {
        self.index.get(&Key::of(id)).copied()
    }

    /// The date in force for an original event (its own, or its latest live correction's).
    fn current_date(&self, seq: u32) -> Date {
        let e = self.entry(seq);
        self.entry(e.current).date
    }

    fn latest_live_correction(&self, owner: u32) -> Option<u32> {
        self.entries
            .iter()
            .enumerate()
            .rev()
            .find(|(_, e)| e.kind == EventKind::EventCorrected && e.target == Some(owner) && !e.retracted)
            .map(|(i, _)| i as u32)
    }

    fn part_of(&self, payload: &EventPayload) -> Option<Part> {
        let (lane, op) = lane_op(payload.kind())?;
        let (sub, data) = match payload {
            EventPayload::ChildRegistered(r) => (
                0,
                Data::Birth {
                    dob: r.date_of_birth,
                    expected: r.expected_date_of_birth,
                },
            ),
            EventPayload::ChildDetailsAmended(a) => (
                0,
                Data::Birth {
                    dob: a.date_of_birth,
                    expected: a.expected_date_of_birth,
                },
            ),
            EventPayload::ContactDecided(d) => {
                (ANSWER_CONTACT, Data::Answers(self.lookup(&d.contact_event_id)))
            }
            EventPayload::EntitlementAccepted(a) => {
                (ANSWER_OFFER, Data::Answers(self.lookup(&a.offer_event_id)))
            }
            EventPayload::EntitlementDeclined(d) => {
                (ANSWER_OFFER, Data::Answers(self.lookup(&d.offer_event_id)))
            }
            EventPayload::CourtOrderMade(o) => (o.order as u8, Data::None),
            EventPayload::CourtOrderEnded(o) => (o.order as u8, Data::None),
            EventPayload::WorkerAllocated(w) => (w.role as u8, Data::None),
            EventPayload::WorkerAllocationEnded(w) => (w.role as u8, Data::None),
            _ => (0, Data::None),
        };
        Some(Part { lane, op, sub, data })
    }

    fn push_mark(&mut self, owner: u32, source: u32, date: Date, part: Part) {
        self.lanes[part.lane as usize].push(Mark {
            owner,
            source,
            op: part.op,
            sub: part.sub,
            date,
            data: part.data,
        });
    }

    /// The lane's marks in force, in stream order; with `candidate`, as if it were recorded (a new event at
    /// the end, a correction's replacement in its target's place).
    fn effective(&self, lane: Lane, candidate: Option<&Candidate>) -> Vec<Mark> {
        let mut marks: Vec<Mark> = self.lanes[lane as usize]
            .iter()
            .filter(|m| {
                let owner = self.entry(m.owner);
                !owner.retracted && owner.current == m.source && candidate.is_none_or(|c| c.owner != m.owner)
            })
            .copied()
            .collect();
        if let Some(c) = candidate
            && let Some(part) = c.part
            && part.lane == lane
        {
            marks.push(Mark {
                owner: c.owner,
                source: c.source,
                op: part.op,
                sub: part.sub,
                date: c.date,
                data: part.data,
            });
        }
        // A correction's mark is pushed at the end of its lane but stands in for its target, so the lane is
        // put back in the order of the original events every time, not only when a candidate is added.
        marks.sort_by_key(|m| m.owner);
        marks
    }

    fn birth(&self, candidate: Option<&Candidate>) -> Birth {
        let mut registered = false;
        let (mut dob, mut expected) = (None, None);
        for m in self.effective(Lane::Identity, candidate) {
            let Data::Birth { dob: d, expected: e } = m.data else {
                continue;
            };
            if m.op == Op::Open {
                registered = true;
                (dob, expected) = (d, e);
            } else {
                dob = d.or(dob);
                expected = e.or(expected);
            }
        }
        match (registered, dob) {
            (false, _) => Birth::Unregistered,
            (true, Some(dob)) => Birth::Born { dob },
            (true, None) => Birth::Unborn { expected },
        }
    }

    fn death(&self, candidate: Option<&Candidate>) -> Option<Date> {
        self.effective(Lane::Death, candidate).first().map(|m| m.date)
    }

    /// The earliest live pre-birth work (other than `except`): see [`is_pre_birth_work`].
    fn earliest_pre_birth_work(&self, except: u32) -> Option<(EventKind, Date)> {
        self.earliest_live(except, is_pre_birth_work)
    }

    /// The earliest live event (other than `except`) that needs the child to be born.
    fn earliest_needing_birth(&self, except: u32) -> Option<(EventKind, Date)> {
        self.earliest_live(except, |kind| !kind.allowed_before_birth())
    }

    /// The earliest live event (not a correction, not retracted, not `except`) of a kind `of_kind` picks, by its
    /// current date.
    fn earliest_live(&self, except: u32, of_kind: impl Fn(EventKind) -> bool) -> Option<(EventKind, Date)> {
        self.entries
            .iter()
            .enumerate()
            .filter(|(i, e)| *i as u32 != except && e.target.is_none() && !e.retracted && of_kind(e.kind))
            .map(|(i, e)| (e.kind, self.current_date(i as u32)))
            .min_by_key(|(_, d)| *d)
    }
}

/// How long before a birth (or an expected birth) work about the child can have begun: a pregnancy, with a
/// margin for a birth later than expected. Nothing recorded about the unborn child is dated earlier.
const PRE_BIRTH_MONTHS: i32 = 10;

/// Work that may be dated before the birth (contacts, referrals, assessments, plans...), as opposed to the
/// records of the child's identity and the corrections, which are about the record rather than the child.
fn is_pre_birth_work(kind: EventKind) -> bool {
    kind.allowed_before_birth()
        && !kind.is_about_events()
        && !matches!(kind, EventKind::ChildRegistered | EventKind::ChildDetailsAmended)
}

/// The date of birth, or the expected one, and what it is.
fn birth_date(birth: Birth) -> Option<(Date, &'static str)> {
    match birth {
        Birth::Born { dob } => Some((dob, "date of birth")),
        Birth::Unborn { expected: Some(e) } => Some((e, "expected date of birth")),
        _ => None,
    }
}

/// The earliest date pre-birth work can have for a child born (or expected) on `birth`.
fn earliest_pre_birth_work(birth: Date) -> Date {
    birth.add_months(-PRE_BIRTH_MONTHS)
}

const ANSWER_CONTACT: u8 = 0;
const ANSWER_OFFER: u8 = 1;

/// A period of a lane.
#[derive(Clone, Copy, Debug)]
struct Period {
    sub: u8,
    start: Date,
    end: Option<Date>,
}

/// A problem the fold found with one mark.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Issue {
    AlreadyOpen { since: Date },
    InsideEarlier { start: Date, end: Date },
    NeverStarted,
    AlreadyEnded { on: Date },
    BeforeStart { start: Date },
    NotOnDate,
    NoneBefore,
    Overlaps { start: Date, end: Option<Date> },
    AlreadyAnswered,
}

fn same_issue(a: Issue, b: Issue) -> bool {
    std::mem::discriminant(&a) == std::mem::discriminant(&b)
}

#[derive(Clone, Copy, Debug)]
struct Finding {
    owner: u32,
    op: Op,
    sub: u8,
    date: Date,
    issue: Issue,
}

/// Replays a lane's marks in stream order, building its periods and noting every mark that breaks a rule.
/// Tolerant: a mark that breaks a rule still has its effect, so one problem does not hide the rest.
fn replay(marks: &[Mark]) -> (Vec<Period>, Vec<Finding>) {
    let mut periods: Vec<Period> = Vec::new();
    let mut answered: Vec<(u8, u32)> = Vec::new();
    let mut found = Vec::new();
    for m in marks {
        let mut issue = |issue: Issue| {
            found.push(Finding {
                owner: m.owner,
                op: m.op,
                sub: m.sub,
                date: m.date,
                issue,
            })
        };
        match m.op {
            Op::Open | Op::Replace => {
                let open = periods.iter().rposition(|p| p.sub == m.sub && p.end.is_none());
                match (m.op, open) {
                    (Op::Open, Some(i)) => issue(Issue::AlreadyOpen {
                        since: periods[i].start,
                    }),
                    (_, Some(i)) if m.date < periods[i].start => issue(Issue::BeforeStart {
                        start: periods[i].start,
                    }),
                    (_, Some(i)) => periods[i].end = Some(m.date),
                    (_, None) => {
                        let inside = periods.iter().find_map(|p| match p.end {
                            Some(end) if p.sub == m.sub && p.start <= m.date && m.date < end => {
                                Some((p.start, end))
                            }
                            _ => None,
                        });
                        if let Some((start, end)) = inside {
                            issue(Issue::InsideEarlier { start, end });
                        }
                    }
                }
                periods.push(Period {
                    sub: m.sub,
                    start: m.date,
                    end: None,
                });
            }
            Op::Touch => {
                if !periods
                    .iter()
                    .any(|p| p.sub == m.sub && p.start <= m.date && p.end.is_none_or(|e| m.date <= e))
                {
                    issue(Issue::NotOnDate);
                }
            }
            Op::After => {
                if !periods.iter().any(|p| p.sub == m.sub && p.start <= m.date) {
                    issue(Issue::NoneBefore);
                }
            }
            Op::Close => {
                let open: Vec<usize> = (0..periods.len())
                    .filter(|&i| periods[i].sub == m.sub && periods[i].end.is_none())
                    .collect();
                match open.iter().rev().copied().find(|&i| periods[i].start <= m.date) {
                    Some(i) => {
                        periods[i].end = Some(m.date);
                        let start = periods[i].start;
                        let later = periods
                            .iter()
                            .enumerate()
                            .find(|(j, q)| *j != i && q.sub == m.sub && q.start > start && q.start < m.date);
                        if let Some((_, q)) = later {
                            issue(Issue::Overlaps {
                                start: q.start,
                                end: q.end,
                            });
                        }
                    }
                    None => match open.last() {
                        Some(&i) => issue(Issue::BeforeStart {
                            start: periods[i].start,
                        }),
                        None => match periods
                            .iter()
                            .filter(|p| p.sub == m.sub)
                            .filter_map(|p| p.end)
                            .max()
                        {
                            Some(on) => issue(Issue::AlreadyEnded { on }),
                            None => issue(Issue::NeverStarted),
                        },
                    },
                }
            }
            Op::Answer => {
                if let Data::Answers(Some(target)) = m.data {
                    if answered.contains(&(m.sub, target)) {
                        issue(Issue::AlreadyAnswered);
                    } else {
                        answered.push((m.sub, target));
                    }
                }
            }
        }
    }
    (periods, found)
}

fn fold(marks: &[Mark]) -> Vec<Finding> {
    replay(marks).1
}

fn periods(marks: &[Mark]) -> Vec<Period> {
    replay(marks).0
}

/// How a lane is named in messages.
struct LaneText {
    thing: String,
    /// "open" or "in force".
    open: &'static str,
    /// "started" or "been made".
    begun: &'static str,
    opener: &'static str,
    closer: &'static str,
}

fn lane_text(lane: Lane, sub: u8) -> LaneText {
    let text = |thing: &str, open, opener, closer| LaneText {
        thing: thing.to_owned(),
        open,
        begun: if open == "in force" {
            "been made"
        } else {
            "started"
        },
        opener,
        closer,
    };
    match lane {
        Lane::Identity => text("registration", "recorded", "ChildRegistered", ""),
        Lane::Death => text("death", "recorded", "ChildDied", ""),
        Lane::EarlyHelp => text("early help episode", "open", "EarlyHelpStarted", "EarlyHelpEnded"),
        Lane::ChildInNeed => text(
            "child in need episode",
            "open",
            "ReferralReceived",
            "ChildInNeedEpisodeClosed",
        ),
        Lane::Assessment => text("assessment", "open", "AssessmentStarted", "AssessmentCompleted"),
        Lane::Section47 => text(
            "section 47 enquiry",
            "open",
            "Section47Started",
            "Section47Completed",
        ),
        Lane::ChildProtectionPlan => text(
            "child protection plan",
            "open",
            "ChildProtectionPlanStarted",
            "ChildProtectionPlanEnded",
        ),
        Lane::ChildInNeedPlan => text(
            "child in need plan",
            "open",
            "ChildInNeedPlanStarted",
            "ChildInNeedPlanEnded",
        ),
        Lane::PreProceedings => text(
            "pre-proceedings period",
            "open",
            "PreProceedingsStarted",
            "PreProceedingsEnded",
        ),
        Lane::CareProceedings => text(
            "set of care proceedings",
            "open",
            "CareProceedingsIssued",
            "CareProceedingsConcluded",
        ),
        Lane::CourtOrder => {
            let order = CourtOrderKind::ALL
                .get(usize::from(sub))
                .map_or("order", |o| o.code());
            text(
                &order.replace('_', " "),
                "in force",
                "CourtOrderMade",
                "CourtOrderEnded",
            )
        }
        Lane::LookedAfter => text(
            "looked-after episode",
            "open",
            "BecameLookedAfter",
            "CeasedToBeLookedAfter",
        ),
        Lane::Missing => text(
            "missing episode",
            "open",
            "MissingEpisodeStarted",
            "MissingEpisodeEnded",
        ),
        Lane::Uasc => text(
            "period as an unaccompanied asylum-seeking child",
            "open",
            "UnaccompaniedAsylumSeekingStatusRecorded",
            "UnaccompaniedAsylumSeekingStatusCeased",
        ),
        Lane::AdoptionDecision => text(
            "decision to place for adoption",
            "in force",
            "AdoptionDecisionMade",
            "AdoptionDecisionReversed",
        ),
        Lane::AdoptivePlacement => text(
            "placement for adoption",
            "open",
            "PlacedForAdoption",
            "PlacementForAdoptionCeased",
        ),
        Lane::PathwayPlan => text("pathway plan", "open", "PathwayPlanStarted", ""),
        Lane::StayingPut => text(
            "staying put arrangement",
            "open",
            "StayingPutStarted",
            "StayingPutEnded",
        ),
        Lane::Worker => {
            let role = WorkerRole::ALL
                .get(usize::from(sub))
                .map_or("worker", |r| r.code());
            text(
                &format!("{} allocation", role.replace('_', " ")),
                "open",
                "WorkerAllocated",
                "WorkerAllocationEnded",
            )
        }
        Lane::Answer => text("answer", "recorded", "", ""),
    }
}

fn article(thing: &str) -> &'static str {
    if thing.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}
