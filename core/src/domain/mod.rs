//! The domain model: what can happen in a child's journey through English children's social care, as
//! events, and the rules an event must keep.
//!
//! * [`EventPayload`]: one variant per event type, each a struct of its own (`events/`). JSON is
//!   `{"type": "PlacementChanged", "data": {...}}`, beside the envelope fields of [`crate::NewEvent`].
//!   Unknown fields are refused everywhere.
//! * [`EventPayload::validate`]: the rules an event keeps on its own (codes that fit together, dates of a
//!   thing within the thing, counts, bounded text). Paths are relative to `data`.
//! * [`StreamState`]: the rules that need the child's history (registered first, nothing before birth or
//!   after death, episodes and plans that open before they close, corrections and retractions that name a
//!   real target). See `state.rs`.
//! * [`EventPayload::data_subjects`]: whose personal data an event carries besides the child's, so a
//!   subject-access export can withhold it (see `subjects.rs`).
//! * `crate::examples`: one realistic synthetic example of every event type, taken from three coherent
//!   children's streams that the rules accept (beside this module, since the examples are whole events).
//! * [`EventPayload::from_type_and_data`]: reads a payload from JSON naming the exact field at fault.
//!
//! Facts are kept as the DfE returns need them (SSDA903, CIN census, Ofsted Annex A lists 1-11): each
//! payload's documentation names the return columns it feeds. Code lists are typed (`crate::codes` for
//! the DfE lists, [`lists`] for Journey's own).
//!
//! **Stored encoding (bincode 2).** `EventPayload` variants are encoded by their INDEX: the order of the
//! variants below is frozen; append new variants at the end and never reorder or remove one. Payload
//! struct fields are encoded in declaration order: never reorder, insert or remove fields of a released
//! struct (that needs a new schema version and an upcaster, `docs/adr/0002-record-encoding.md`). Code
//! lists (`crate::codes`, [`lists`]) are encoded as their code strings.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{FieldError, Problems};
use crate::ids::{ChildId, EventId};
use crate::time::Date;

mod de;
mod events;
pub mod lists;
mod state;
pub mod subjects;
pub mod values;

#[cfg(test)]
mod tests;

pub use events::*;
pub use state::StreamState;
pub(crate) use state::closes;
pub use subjects::{DataSubject, ThirdPartyData};
pub use values::{
    AgencyAttendance, Entitlement, FamilyId, LaCode, LongText, NhsNumber, PartialDate, PersonAttendance,
    PersonId, Placement, Postcode, Professional, Referrer, ShortText, ThirdParty, Upn, Urn, WorkerId,
};

/// The stage of the journey (the lane of a chronology) an event belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Who the child is.
    Identity,
    /// Contacts and front-door decisions.
    FrontDoor,
    EarlyHelp,
    /// Referral, assessment, child in need plans, closure.
    ChildInNeed,
    /// Strategy discussions, section 47 enquiries, conferences, child protection plans.
    ChildProtection,
    /// Pre-proceedings, care proceedings and court orders.
    Court,
    LookedAfter,
    /// Adoption, the permanence plan and previous permanence.
    Permanence,
    LeavingCare,
    /// Worker allocation, statutory visits, transfers between authorities.
    Casework,
    /// Events about other events: corrections, retractions, and restrictions of use and their lifting.
    Correction,
}

impl Stage {
    pub const fn as_str(self) -> &'static str {
        match self {
            Stage::Identity => "identity",
            Stage::FrontDoor => "front_door",
            Stage::EarlyHelp => "early_help",
            Stage::ChildInNeed => "child_in_need",
            Stage::ChildProtection => "child_protection",
            Stage::Court => "court",
            Stage::LookedAfter => "looked_after",
            Stage::Permanence => "permanence",
            Stage::LeavingCare => "leaving_care",
            Stage::Casework => "casework",
            Stage::Correction => "correction",
        }
    }
}

/// What every payload struct provides. Implemented once per struct in `events/`; the default methods are
/// for structs without such rules.
pub(crate) trait Payload: ThirdPartyData {
    /// Rules the payload keeps on its own; paths relative to `data`.
    fn validate(&self, _p: &mut Problems) {}
    /// Rules for the payload's own dates against the event's date (`occurred`) and today; paths relative
    /// to `data`. Every date that must not be in the future is checked here.
    fn check_dates(&self, _occurred: Date, _today: Date, _p: &mut Problems) {}
    /// Every DfE code of the payload whose list changed over the years, checked with [`code_on`] against
    /// the date the code is used on (the event's, `occurred`); paths relative to `data`. A code outside the
    /// years its list had it would be exported into a return that the DfE refuses.
    fn check_codes(&self, _occurred: Date, _p: &mut Problems) {}
    /// The other events of the stream this payload refers to.
    fn references(&self) -> Vec<Reference<'_>> {
        Vec::new()
    }
}

/// A payload field naming another event of the same stream.
#[derive(Debug)]
pub(crate) struct Reference<'a> {
    /// The field's path relative to `data`.
    pub path: &'static str,
    pub target: &'a EventId,
    /// The kinds the target may be.
    pub kinds: &'static [EventKind],
    /// What the target is, in words ("the contact it decides").
    pub what: &'static str,
}

/// A date outside the range Journey accepts (`Date::check_accepted`: 1900-01-01 to 2200-12-31). Every date
/// of an event is checked so (the test `every_date_of_every_example_is_bounded` finds any that is not).
pub(crate) fn accepted(p: &mut Problems, path: &str, date: Date) {
    if let Err(e) = date.check_accepted(path) {
        p.push(e.field, e.message);
    }
}

pub(crate) fn not_future(p: &mut Problems, path: &str, date: Date, today: Date) {
    if date > today {
        p.push(
            path,
            format!("must not be in the future (got {date}; today is {today} in England)"),
        );
    }
}

/// A DfE code used on `on` must be in its list for the collection year of `on` (`codes::check_used_on`).
pub(crate) fn code_on<C: crate::codes::CodeList>(p: &mut Problems, path: &str, code: C, on: Date) {
    if let Err(message) = crate::codes::check_used_on(code, on) {
        p.push(path, message);
    }
}

/// [`code_on`] for each code of a list (`factors[2]`).
pub(crate) fn codes_on<C: crate::codes::CodeList>(p: &mut Problems, path: &str, codes: &[C], on: Date) {
    for (i, code) in codes.iter().enumerate() {
        code_on(p, &format!("{path}[{i}]"), *code, on);
    }
}

pub(crate) fn not_before(p: &mut Problems, path: &str, date: Date, earliest: Date, what: &str) {
    if date < earliest {
        p.push(
            path,
            format!("must not be before {what}, {earliest} (got {date})"),
        );
    }
}

pub(crate) fn later_than(p: &mut Problems, path: &str, date: Date, than: Date, what: &str) {
    if date <= than {
        p.push(path, format!("must be after {what}, {than} (got {date})"));
    }
}

/// Declares `EventKind` (a fieldless mirror of `EventPayload`) and the dispatch between them from one list.
/// The list must name every variant of `EventPayload` (the exhaustive matches below do not compile
/// otherwise), in the same order (checked by a test).
macro_rules! event_payloads {
    ($( $(#[$meta:meta])* $variant:ident => $stage:ident ),+ $(,)?) => {
        /// The type of an event: a fieldless mirror of [`EventPayload`], in the same order.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum EventKind {
            $( $(#[$meta])* $variant, )+
        }

        impl EventKind {
            /// Every kind, in declaration order.
            pub const ALL: &'static [EventKind] = &[$(EventKind::$variant),+];

            /// The JSON `type`.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $( EventKind::$variant => stringify!($variant), )+
                }
            }

            /// The journey stage the event belongs to.
            pub const fn stage(self) -> Stage {
                match self {
                    $( EventKind::$variant => Stage::$stage, )+
                }
            }
        }

        impl EventPayload {
            pub fn kind(&self) -> EventKind {
                match self {
                    $( EventPayload::$variant(_) => EventKind::$variant, )+
                }
            }

            /// Deserializes the `data` of an event of this kind.
            pub(crate) fn deserialize_data<'de, D: serde::Deserializer<'de>>(
                kind: EventKind,
                d: D,
            ) -> Result<EventPayload, D::Error> {
                match kind {
                    $( EventKind::$variant => <$variant as Deserialize>::deserialize(d).map(EventPayload::$variant), )+
                }
            }

            pub(crate) fn as_dyn(&self) -> &dyn Payload {
                match self {
                    $( EventPayload::$variant(p) => p, )+
                }
            }
        }

        $(
            impl From<$variant> for EventPayload {
                fn from(p: $variant) -> EventPayload {
                    EventPayload::$variant(p)
                }
            }
        )+
    };
}

/// The content of an event. JSON: `{"type": "<variant>", "data": {<the struct's fields>}}`.
///
/// STORED ENCODING: bincode encodes the variant by its index. The order below is frozen: APPEND NEW VARIANTS
/// AT THE END; NEVER REORDER, RENAME OR REMOVE ONE. Add the same variant, in the same place, to the
/// `event_payloads!` list below (the compiler and `kind_order_matches_the_stored_variant_index` check both).
///
/// Deserialization (see `de`) refuses unknown keys, and streams `data` into its struct when `type` comes
/// first, so errors keep their path; [`EventPayload::from_type_and_data`] gives full paths in every case.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, bincode::Encode, bincode::Decode)]
#[serde(tag = "type", content = "data")]
#[allow(clippy::large_enum_variant)] // one payload per record; boxing would only add allocations
pub enum EventPayload {
    // ---- FROZEN ORDER (bincode variant index). Append new variants at the end; never reorder. ----
    /// Identity: the first event of every stream.
    ChildRegistered(ChildRegistered),
    ChildDetailsAmended(ChildDetailsAmended),
    /// SSDA903 MOTHER / MC_DOB.
    ChildBecameParent(ChildBecameParent),
    ChildDied(ChildDied),
    /// Annex A list 1.
    ContactReceived(ContactReceived),
    ContactDecided(ContactDecided),
    /// Annex A list 2.
    EarlyHelpStarted(EarlyHelpStarted),
    EarlyHelpAssessmentCompleted(EarlyHelpAssessmentCompleted),
    EarlyHelpEnded(EarlyHelpEnded),
    /// Opens a CIN episode (Annex A list 3).
    ReferralReceived(ReferralReceived),
    /// Annex A list 4.
    AssessmentStarted(AssessmentStarted),
    AssessmentReviewed(AssessmentReviewed),
    AssessmentCompleted(AssessmentCompleted),
    ChildInNeedPlanStarted(ChildInNeedPlanStarted),
    ChildInNeedPlanReviewed(ChildInNeedPlanReviewed),
    ChildInNeedPlanEnded(ChildInNeedPlanEnded),
    ChildVisited(ChildVisited),
    /// CIN census ReasonForClosure (Annex A list 6).
    ChildInNeedEpisodeClosed(ChildInNeedEpisodeClosed),
    StrategyDiscussionHeld(StrategyDiscussionHeld),
    /// Annex A list 5.
    Section47Started(Section47Started),
    Section47Completed(Section47Completed),
    ChildProtectionConferenceHeld(ChildProtectionConferenceHeld),
    /// Annex A list 7.
    ChildProtectionPlanStarted(ChildProtectionPlanStarted),
    ChildProtectionCategoryChanged(ChildProtectionCategoryChanged),
    CoreGroupMet(CoreGroupMet),
    ChildProtectionPlanEnded(ChildProtectionPlanEnded),
    PreProceedingsStarted(PreProceedingsStarted),
    LetterBeforeProceedingsSent(LetterBeforeProceedingsSent),
    FamilyGroupConferenceOffered(FamilyGroupConferenceOffered),
    FamilyGroupConferenceHeld(FamilyGroupConferenceHeld),
    PreProceedingsMeetingHeld(PreProceedingsMeetingHeld),
    PreProceedingsEnded(PreProceedingsEnded),
    CareProceedingsIssued(CareProceedingsIssued),
    CareProceedingsConcluded(CareProceedingsConcluded),
    CourtOrderMade(CourtOrderMade),
    CourtOrderEnded(CourtOrderEnded),
    /// SSDA903 Episodes (Annex A list 8).
    BecameLookedAfter(BecameLookedAfter),
    LegalStatusChanged(LegalStatusChanged),
    PlacementChanged(PlacementChanged),
    CeasedToBeLookedAfter(CeasedToBeLookedAfter),
    /// SSDA903 Reviews.
    LookedAfterReviewHeld(LookedAfterReviewHeld),
    IndependentReviewingOfficerContacted(IndependentReviewingOfficerContacted),
    /// SSDA903 OC2.
    HealthAssessmentCompleted(HealthAssessmentCompleted),
    DentalCheckCompleted(DentalCheckCompleted),
    ImmunisationsRecorded(ImmunisationsRecorded),
    SdqScoreRecorded(SdqScoreRecorded),
    SubstanceMisuseIdentified(SubstanceMisuseIdentified),
    ChildConvicted(ChildConvicted),
    PersonalEducationPlanReviewed(PersonalEducationPlanReviewed),
    /// SSDA903 Missing.
    MissingEpisodeStarted(MissingEpisodeStarted),
    MissingEpisodeEnded(MissingEpisodeEnded),
    ReturnInterviewOffered(ReturnInterviewOffered),
    ReturnInterviewHeld(ReturnInterviewHeld),
    ReturnInterviewDeclined(ReturnInterviewDeclined),
    /// SSDA903 UASC.
    UnaccompaniedAsylumSeekingStatusRecorded(UnaccompaniedAsylumSeekingStatusRecorded),
    UnaccompaniedAsylumSeekingStatusCeased(UnaccompaniedAsylumSeekingStatusCeased),
    /// SSDA903 AD1 (Annex A list 10).
    AdoptionDecisionMade(AdoptionDecisionMade),
    MatchedWithAdopters(MatchedWithAdopters),
    /// SSDA903 PlacedAdoption.
    PlacedForAdoption(PlacedForAdoption),
    PlacementForAdoptionCeased(PlacementForAdoptionCeased),
    AdoptionDecisionReversed(AdoptionDecisionReversed),
    /// Annex A list 8 "Permanence plan".
    PermanencePlanRecorded(PermanencePlanRecorded),
    /// SSDA903 PrevPerm.
    PreviousPermanenceRecorded(PreviousPermanenceRecorded),
    LeavingCareNeedsAssessmentCompleted(LeavingCareNeedsAssessmentCompleted),
    PathwayPlanStarted(PathwayPlanStarted),
    /// Annex A list 9.
    PathwayPlanReviewed(PathwayPlanReviewed),
    StayingPutStarted(StayingPutStarted),
    StayingPutEnded(StayingPutEnded),
    /// SSDA903 OC3.
    CareLeaverContactRecorded(CareLeaverContactRecorded),
    HealthHistoryGiven(HealthHistoryGiven),
    EntitlementOffered(EntitlementOffered),
    EntitlementAccepted(EntitlementAccepted),
    EntitlementDeclined(EntitlementDeclined),
    /// Annex A team/worker columns; SSDA903 SWEpisodes.
    WorkerAllocated(WorkerAllocated),
    WorkerAllocationEnded(WorkerAllocationEnded),
    TransferredIn(TransferredIn),
    TransferredOut(TransferredOut),
    EventCorrected(EventCorrected),
    EventRetracted(EventRetracted),
    /// SSDA903 Episodes: a period of care already in progress on the earliest date recorded (imported
    /// history), its start unknown.
    CareInProgressRecorded(CareInProgressRecorded),
    /// An identifier as a source recorded it, failing its check: kept and flagged, never used.
    InvalidIdentifierRecorded(InvalidIdentifierRecorded),
    /// UK GDPR Art. 18: a disputed fact (or the whole record) kept but no longer used, and its lifting.
    RecordRestricted(RecordRestricted),
    RestrictionLifted(RestrictionLifted),
    /// After an adoption order: the adoptive record's id, known only to those who may open sealed records.
    ContinuedUnderNewIdentity(ContinuedUnderNewIdentity),
    /// Two records found to be one child, and the merge undone (issue #20).
    RecordMergedInto(RecordMergedInto),
    RecordMergedFrom(RecordMergedFrom),
    MergeUndone(MergeUndone),
    // ---- Append new variants here. ----
}

event_payloads! {
    // ---- FROZEN ORDER (bincode variant index). Append new variants at the end; never reorder. ----
    /// Identity: the first event of every stream.
    ChildRegistered => Identity,
    ChildDetailsAmended => Identity,
    /// SSDA903 MOTHER / MC_DOB.
    ChildBecameParent => Identity,
    ChildDied => Identity,
    /// Annex A list 1.
    ContactReceived => FrontDoor,
    ContactDecided => FrontDoor,
    /// Annex A list 2.
    EarlyHelpStarted => EarlyHelp,
    EarlyHelpAssessmentCompleted => EarlyHelp,
    EarlyHelpEnded => EarlyHelp,
    /// Opens a CIN episode (Annex A list 3).
    ReferralReceived => ChildInNeed,
    /// Annex A list 4.
    AssessmentStarted => ChildInNeed,
    AssessmentReviewed => ChildInNeed,
    AssessmentCompleted => ChildInNeed,
    ChildInNeedPlanStarted => ChildInNeed,
    ChildInNeedPlanReviewed => ChildInNeed,
    ChildInNeedPlanEnded => ChildInNeed,
    ChildVisited => Casework,
    /// CIN census ReasonForClosure (Annex A list 6).
    ChildInNeedEpisodeClosed => ChildInNeed,
    StrategyDiscussionHeld => ChildProtection,
    /// Annex A list 5.
    Section47Started => ChildProtection,
    Section47Completed => ChildProtection,
    ChildProtectionConferenceHeld => ChildProtection,
    /// Annex A list 7.
    ChildProtectionPlanStarted => ChildProtection,
    ChildProtectionCategoryChanged => ChildProtection,
    CoreGroupMet => ChildProtection,
    ChildProtectionPlanEnded => ChildProtection,
    PreProceedingsStarted => Court,
    LetterBeforeProceedingsSent => Court,
    FamilyGroupConferenceOffered => Court,
    FamilyGroupConferenceHeld => Court,
    PreProceedingsMeetingHeld => Court,
    PreProceedingsEnded => Court,
    CareProceedingsIssued => Court,
    CareProceedingsConcluded => Court,
    CourtOrderMade => Court,
    CourtOrderEnded => Court,
    /// SSDA903 Episodes (Annex A list 8).
    BecameLookedAfter => LookedAfter,
    LegalStatusChanged => LookedAfter,
    PlacementChanged => LookedAfter,
    CeasedToBeLookedAfter => LookedAfter,
    /// SSDA903 Reviews.
    LookedAfterReviewHeld => LookedAfter,
    IndependentReviewingOfficerContacted => LookedAfter,
    /// SSDA903 OC2.
    HealthAssessmentCompleted => LookedAfter,
    DentalCheckCompleted => LookedAfter,
    ImmunisationsRecorded => LookedAfter,
    SdqScoreRecorded => LookedAfter,
    SubstanceMisuseIdentified => LookedAfter,
    ChildConvicted => LookedAfter,
    PersonalEducationPlanReviewed => LookedAfter,
    /// SSDA903 Missing.
    MissingEpisodeStarted => LookedAfter,
    MissingEpisodeEnded => LookedAfter,
    ReturnInterviewOffered => LookedAfter,
    ReturnInterviewHeld => LookedAfter,
    ReturnInterviewDeclined => LookedAfter,
    /// SSDA903 UASC.
    UnaccompaniedAsylumSeekingStatusRecorded => LookedAfter,
    UnaccompaniedAsylumSeekingStatusCeased => LookedAfter,
    /// SSDA903 AD1 (Annex A list 10).
    AdoptionDecisionMade => Permanence,
    MatchedWithAdopters => Permanence,
    /// SSDA903 PlacedAdoption.
    PlacedForAdoption => Permanence,
    PlacementForAdoptionCeased => Permanence,
    AdoptionDecisionReversed => Permanence,
    /// Annex A list 8 "Permanence plan".
    PermanencePlanRecorded => Permanence,
    /// SSDA903 PrevPerm.
    PreviousPermanenceRecorded => Permanence,
    LeavingCareNeedsAssessmentCompleted => LeavingCare,
    PathwayPlanStarted => LeavingCare,
    /// Annex A list 9.
    PathwayPlanReviewed => LeavingCare,
    StayingPutStarted => LeavingCare,
    StayingPutEnded => LeavingCare,
    /// SSDA903 OC3.
    CareLeaverContactRecorded => LeavingCare,
    HealthHistoryGiven => LeavingCare,
    EntitlementOffered => LeavingCare,
    EntitlementAccepted => LeavingCare,
    EntitlementDeclined => LeavingCare,
    /// Annex A team/worker columns; SSDA903 SWEpisodes.
    WorkerAllocated => Casework,
    WorkerAllocationEnded => Casework,
    TransferredIn => Casework,
    TransferredOut => Casework,
    EventCorrected => Correction,
    EventRetracted => Correction,
    /// SSDA903 Episodes: a period of care already in progress, its start unknown (imported history).
    CareInProgressRecorded => LookedAfter,
    /// An identifier failing its check, kept as recorded (imported history).
    InvalidIdentifierRecorded => Identity,
    /// UK GDPR Art. 18: a disputed fact (or the whole record) kept but no longer used, and its lifting.
    RecordRestricted => Correction,
    RestrictionLifted => Correction,
    /// After an adoption order: the adoptive record's id, known only to those who may open sealed records.
    ContinuedUnderNewIdentity => Identity,
    /// Two records found to be one child, and the merge undone (issue #20).
    RecordMergedInto => Identity,
    RecordMergedFrom => Identity,
    MergeUndone => Identity,
    // ---- Append new variants here. ----
}

impl EventPayload {
    /// The rules the payload keeps on its own. Field paths are relative to `data`
    /// (`placement.provider`, `factors[2]`).
    pub fn validate(&self) -> Problems {
        let mut p = Problems::new();
        self.as_dyn().validate(&mut p);
        p
    }

    /// Whose personal data the event carries besides the child's: one entry per person, with the JSON
    /// paths (relative to `data`) of the fields holding it, and whether their identity is confidential.
    pub fn data_subjects(&self) -> Vec<DataSubject> {
        let mut out = Vec::new();
        self.as_dyn().third_parties("", &mut out);
        subjects::merge(out)
    }

    /// For `RecordMergedInto` and `RecordMergedFrom`: the field naming the other record, and that record.
    pub fn merge_partner(&self) -> Option<(&'static str, &ChildId)> {
        match self {
            EventPayload::RecordMergedInto(m) => Some(("data.surviving_child_id", &m.surviving_child_id)),
            EventPayload::RecordMergedFrom(m) => Some(("data.merged_child_id", &m.merged_child_id)),
            _ => None,
        }
    }

    /// The payload's own dates checked against the event's date (`occurred`) and `today`: nothing in the
    /// future, dates of a thing within the thing; and its DfE codes against the collection year of
    /// `occurred` (a code is valid only in the years its list had it). Paths relative to `data`. For a
    /// correction, the replacement is checked against `occurred` (the caller passes the corrected target's
    /// date).
    pub fn date_problems(&self, occurred: Date, today: Date) -> Problems {
        let mut p = Problems::new();
        match self {
            EventPayload::EventCorrected(c) => {
                if let Some(t) = c.target_occurred_at {
                    accepted(&mut p, "target_occurred_at", t.date());
                    not_future(&mut p, "target_occurred_at", t.date(), today);
                }
                p.extend_under("replacement.data", c.replacement.date_problems(occurred, today));
            }
            other => {
                other.as_dyn().check_dates(occurred, today, &mut p);
                other.as_dyn().check_codes(occurred, &mut p);
                // Third parties' dates of birth (carers, adopters, family members, a baby), wherever the
                // payload holds them: found by the same exhaustive walk as the data subjects.
                let mut people = Vec::new();
                other.as_dyn().third_parties("", &mut people);
                for person in people {
                    if let (Some(dob), Some(at)) = (person.date_of_birth, person.fields.first()) {
                        let field = subjects::join(at, "date_of_birth");
                        accepted(&mut p, &field, dob);
                        not_future(&mut p, &field, dob, today);
                    }
                }
            }
        }
        p
    }
}

impl EventKind {
    /// Parses a JSON `type`, naming the valid ones on failure.
    pub fn parse(s: &str) -> Result<EventKind, FieldError> {
        EventKind::ALL
            .iter()
            .copied()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                let all: Vec<&str> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
                let got: String = s.chars().take(80).collect();
                FieldError::new(
                    "type",
                    format!("unknown event type {got:?}: must be one of {}", all.join(", ")),
                )
            })
    }

    /// Corrections and retractions: events that change which content of another event is in force.
    pub const fn is_correction(self) -> bool {
        matches!(self, EventKind::EventCorrected | EventKind::EventRetracted)
    }

    /// Restrictions of use and their lifting (UK GDPR Art. 18): events that say whether other events are used.
    pub const fn is_restriction(self) -> bool {
        matches!(self, EventKind::RecordRestricted | EventKind::RestrictionLifted)
    }

    /// Merges of two records into one and their undoing: events about the record itself, which the views
    /// never show as facts of the journey (they read the merged record instead).
    pub const fn is_merge(self) -> bool {
        matches!(
            self,
            EventKind::RecordMergedInto | EventKind::RecordMergedFrom | EventKind::MergeUndone
        )
    }

    /// Events about other events rather than about the child: never an original fact of the journey.
    pub const fn is_about_events(self) -> bool {
        self.is_correction() || self.is_restriction()
    }

    /// Pre-birth work: events that may be dated before the child's birth (and recorded for a child
    /// registered as unborn). Everything else needs the child to be born.
    pub const fn allowed_before_birth(self) -> bool {
        use EventKind::*;
        match self {
            ChildRegistered
            | ChildDetailsAmended
            | InvalidIdentifierRecorded
            | EventCorrected
            | EventRetracted
            | RecordRestricted
            | RestrictionLifted
            | RecordMergedInto
            | RecordMergedFrom
            | MergeUndone => true,
            ContactReceived
            | ContactDecided
            | EarlyHelpStarted
            | EarlyHelpAssessmentCompleted
            | EarlyHelpEnded => true,
            ReferralReceived
            | AssessmentStarted
            | AssessmentReviewed
            | AssessmentCompleted
            | ChildInNeedPlanStarted
            | ChildInNeedPlanReviewed
            | ChildInNeedPlanEnded
            | ChildInNeedEpisodeClosed => true,
            StrategyDiscussionHeld
            | Section47Started
            | Section47Completed
            | ChildProtectionConferenceHeld
            | ChildProtectionPlanStarted
            | ChildProtectionCategoryChanged
            | CoreGroupMet
            | ChildProtectionPlanEnded => true,
            PreProceedingsStarted
            | LetterBeforeProceedingsSent
            | FamilyGroupConferenceOffered
            | FamilyGroupConferenceHeld
            | PreProceedingsMeetingHeld
            | PreProceedingsEnded => true,
            WorkerAllocated | WorkerAllocationEnded | TransferredIn | TransferredOut => true,
            ChildBecameParent
            | ChildDied
            | ContinuedUnderNewIdentity
            | ChildVisited
            | CareProceedingsIssued
            | CareProceedingsConcluded
            | CourtOrderMade
            | CourtOrderEnded => false,
            BecameLookedAfter
            | CareInProgressRecorded
            | LegalStatusChanged
            | PlacementChanged
            | CeasedToBeLookedAfter
            | LookedAfterReviewHeld
            | IndependentReviewingOfficerContacted
            | HealthAssessmentCompleted
            | DentalCheckCompleted
            | ImmunisationsRecorded
            | SdqScoreRecorded
            | SubstanceMisuseIdentified
            | ChildConvicted
            | PersonalEducationPlanReviewed
            | MissingEpisodeStarted
            | MissingEpisodeEnded
            | ReturnInterviewOffered
            | ReturnInterviewHeld
            | ReturnInterviewDeclined
            | UnaccompaniedAsylumSeekingStatusRecorded
            | UnaccompaniedAsylumSeekingStatusCeased => false,
            AdoptionDecisionMade
            | MatchedWithAdopters
            | PlacedForAdoption
            | PlacementForAdoptionCeased
            | AdoptionDecisionReversed
            | PermanencePlanRecorded
            | PreviousPermanenceRecorded => false,
            LeavingCareNeedsAssessmentCompleted
            | PathwayPlanStarted
            | PathwayPlanReviewed
            | StayingPutStarted
            | StayingPutEnded
            | CareLeaverContactRecorded
            | HealthHistoryGiven
            | EntitlementOffered
            | EntitlementAccepted
            | EntitlementDeclined => false,
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EventKind {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<EventKind, FieldError> {
        EventKind::parse(s)
    }
}

impl Serialize for EventKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for EventKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<EventKind, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        EventKind::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// For `crate::testkit`: the minimal registration of a child born on `date_of_birth`.
#[doc(hidden)]
pub fn testkit_registration(date_of_birth: Date) -> EventPayload {
    EventPayload::ChildRegistered(ChildRegistered {
        given_name: None,
        family_name: None,
        preferred_name: None,
        date_of_birth: Some(date_of_birth),
        expected_date_of_birth: None,
        sex: crate::codes::Sex::U,
        ethnicity: None,
        upn: None,
        former_upn: None,
        upn_unknown_reason: None,
        nhs_number: None,
        disabilities: Vec::new(),
        family_id: None,
    })
}

/// For `crate::testkit`: a contact of ordinary size (a school's concern, with a named referrer). `_on` is
/// the contact's date, kept for callers that vary content by date.
#[doc(hidden)]
pub fn testkit_contact(_on: Date) -> EventPayload {
    let text = |s: &str| ShortText::parse(s).expect("valid text");
    EventPayload::ContactReceived(ContactReceived {
        source: crate::codes::ReferralSource::R2A,
        agency: Some(text("Oak Tree Primary School")),
        concerns: vec![crate::codes::AssessmentFactor::F16A],
        summary: Some(
            LongText::parse("Class teacher reports the child often arrives hungry and in unwashed clothes.")
                .expect("valid text"),
        ),
        referrer: Some(Referrer {
            person: ThirdParty {
                person_id: PersonId::parse("P-T-0001").expect("valid person id"),
                relationship: lists::Relationship::Professional,
                name: Some(text("Teacher One")),
                date_of_birth: None,
                contact_details: None,
            },
            confidential: false,
        }),
    })
}
