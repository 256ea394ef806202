//! Looked-after children: episodes (SSDA903 Episodes), reviews, health (OC2), missing episodes, UASC.

use serde::{Deserialize, Serialize};

use crate::codes::{
    CategoryOfNeed, LegalStatus, MissingKind, ReasonEpisodeCeased, ReasonNewEpisode, ReasonPlaceChange,
    ReviewParticipation, SdqReason,
};
use crate::error::Problems;
use crate::time::Date;

use super::super::lists::{ContactMode, ConvictionKind, HealthAssessmentKind, SubstanceMisuseIntervention};
use super::super::subjects::{DataSubject, ThirdPartyData, join, no_third_parties};
use super::super::values::{Placement, Postcode, Professional};
use super::super::{Payload, code_on};

/// The child started to be looked after (SSDA903 episode with `RNE` = S): legal status, category of need
/// and the first placement. `occurred_at` is `DECOM`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct BecameLookedAfter {
    pub legal_status: LegalStatus,
    pub category_of_need: CategoryOfNeed,
    pub placement: Placement,
    /// The postcode of the child's home when they became looked after (SSDA903 `HOME_POST`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub home_postcode: Option<Postcode>,
}

impl ThirdPartyData for BecameLookedAfter {
    fn third_parties(&self, at: &str, out: &mut Vec<DataSubject>) {
        self.placement.third_parties(&join(at, "placement"), out);
    }
}

impl Payload for BecameLookedAfter {
    fn validate(&self, p: &mut Problems) {
        self.placement.validate("placement", p);
    }

    fn check_codes(&self, occurred: Date, p: &mut Problems) {
        self.placement.check_codes("placement", occurred, p);
    }
}

/// The child was already looked after on this date, in a period of care whose start is not recorded: the
/// earliest episode an authority's history holds (its earliest SSDA903 return) continues a period that began
/// in a year no file still has (`RNE` L, P, T, B or U). It opens the period of care as [`BecameLookedAfter`]
/// does, with the episode that starts on this date; everything counted from the period's start (days looked
/// after, the care-leaver time test, entering care) is then "at least", counted from this date. When the
/// earlier history is recorded later, this event is retracted and the episode recorded as the change it was.
/// `occurred_at` is the episode's `DECOM`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct CareInProgressRecorded {
    /// The SSDA903 `RNE` of the episode starting on this date: how it continued the period (not S).
    pub reason_new_episode: ReasonNewEpisode,
    pub legal_status: LegalStatus,
    pub category_of_need: CategoryOfNeed,
    pub placement: Placement,
    /// The postcode of the child's home when the period began, where the return gives it (`HOME_POST`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub home_postcode: Option<Postcode>,
}

impl ThirdPartyData for CareInProgressRecorded {
    fn third_parties(&self, at: &str, out: &mut Vec<DataSubject>) {
        self.placement.third_parties(&join(at, "placement"), out);
    }
}

impl Payload for CareInProgressRecorded {
    fn validate(&self, p: &mut Problems) {
        if self.reason_new_episode == ReasonNewEpisode::S {
            p.push(
                "reason_new_episode",
                "must be L, P, T, B or U (an episode continuing a period of care): a period that starts on \
                 this date is BecameLookedAfter",
            );
        }
        self.placement.validate("placement", p);
    }

    /// The placement type is used on the day the episode found in progress started (its `DECOM`).
    fn check_codes(&self, occurred: Date, p: &mut Problems) {
        self.placement.check_codes("placement", occurred, p);
    }
}

/// The legal status changed within a period of care (a new SSDA903 episode, `RNE` L, or B/U together with
/// a `PlacementChanged` on the same day).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct LegalStatusChanged {
    pub legal_status: LegalStatus,
}

no_third_parties!(LegalStatusChanged);
impl Payload for LegalStatusChanged {}

/// The child moved placement within a period of care (SSDA903 `RNE` P, or T with `same_carers`).
/// Placements for adoption (A3-A6) and fostering for adoption (U2, U5) are placements too.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct PlacementChanged {
    pub placement: Placement,
    /// SSDA903 `REASON_PLACE_CHANGE` (not required for temporary placements).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<ReasonPlaceChange>,
    /// The child stays with the same carers (SSDA903 `RNE` T rather than P).
    #[serde(default)]
    pub same_carers: bool,
}

impl ThirdPartyData for PlacementChanged {
    fn third_parties(&self, at: &str, out: &mut Vec<DataSubject>) {
        self.placement.third_parties(&join(at, "placement"), out);
    }
}

impl Payload for PlacementChanged {
    fn validate(&self, p: &mut Problems) {
        self.placement.validate("placement", p);
    }

    fn check_codes(&self, occurred: Date, p: &mut Problems) {
        self.placement.check_codes("placement", occurred, p);
        if let Some(reason) = self.reason {
            code_on(p, "reason", reason, occurred);
        }
    }
}

/// The period of care ended (SSDA903 `DEC` and `REC`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct CeasedToBeLookedAfter {
    /// Any REC code except X1.
    pub reason: ReasonEpisodeCeased,
}

no_third_parties!(CeasedToBeLookedAfter);

impl Payload for CeasedToBeLookedAfter {
    fn validate(&self, p: &mut Problems) {
        if !self.reason.ends_period_of_care() {
            p.push(
                "reason",
                "X1 (episode ceases and a new one begins the same day) does not end the period of care: record \
                 LegalStatusChanged or PlacementChanged instead",
            );
        }
    }

    /// The reason is used on the day care ended (SSDA903 `DEC`): E43/E44 up to 2017/18, E45-E48 from
    /// 2018/19.
    fn check_codes(&self, occurred: Date, p: &mut Problems) {
        code_on(p, "reason", self.reason, occurred);
    }
}

/// A looked-after review (SSDA903 Reviews `REVIEW`, `REVIEW_CODE`). Not tied to an open episode: reviews
/// of a child on a series of short breaks happen between breaks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct LookedAfterReviewHeld {
    pub participation: ReviewParticipation,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chair: Option<Professional>,
}

impl ThirdPartyData for LookedAfterReviewHeld {
    fn third_parties(&self, at: &str, out: &mut Vec<DataSubject>) {
        self.chair.third_parties(&join(at, "chair"), out);
    }
}

impl Payload for LookedAfterReviewHeld {}

/// The independent reviewing officer was in contact with the child (Annex A list 8 "Date of Last IRO
/// Visit/Contact"). IROs are assigned with `WorkerAllocated`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct IndependentReviewingOfficerContacted {
    pub mode: ContactMode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub officer: Option<Professional>,
}

impl ThirdPartyData for IndependentReviewingOfficerContacted {
    fn third_parties(&self, at: &str, out: &mut Vec<DataSubject>) {
        self.officer.third_parties(&join(at, "officer"), out);
    }
}

impl Payload for IndependentReviewingOfficerContacted {}

/// A statutory health assessment (OC2 `HEALTH_ASSESSMENT`, `HEALTH_CHECK`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct HealthAssessmentCompleted {
    pub kind: HealthAssessmentKind,
}

no_third_parties!(HealthAssessmentCompleted);
impl Payload for HealthAssessmentCompleted {}

/// A dental check (OC2 `TEETH_CHECK`, Annex A list 8).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct DentalCheckCompleted {}

no_third_parties!(DentalCheckCompleted);
impl Payload for DentalCheckCompleted {}

/// Whether the child's immunisations are up to date (OC2 `IMMUNISATIONS`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct ImmunisationsRecorded {
    pub up_to_date: bool,
}

no_third_parties!(ImmunisationsRecorded);
impl Payload for ImmunisationsRecorded {}

/// A Strengths and Difficulties Questionnaire score, or why there is none (OC2 `SDQ_SCORE`, `SDQ_REASON`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct SdqScoreRecorded {
    /// 0 to 40.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_not_completed: Option<SdqReason>,
}

no_third_parties!(SdqScoreRecorded);

impl Payload for SdqScoreRecorded {
    fn validate(&self, p: &mut Problems) {
        match (self.score, self.reason_not_completed) {
            (Some(_), Some(_)) => p.push("reason_not_completed", "must be absent when a score is given"),
            (None, None) => p.push(
                "score",
                "is required unless reason_not_completed says why there is none",
            ),
            (Some(s), None) if s > 40 => p.push("score", format!("must be 0 to 40 (got {s})")),
            _ => {}
        }
    }
}

/// The child was identified as having a substance misuse problem (OC2 `SUBSTANCE_MISUSE`,
/// `INTERVENTION_RECEIVED`, `INTERVENTION_OFFERED`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct SubstanceMisuseIdentified {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intervention: Option<SubstanceMisuseIntervention>,
}

no_third_parties!(SubstanceMisuseIdentified);
impl Payload for SubstanceMisuseIdentified {}

/// The child was convicted or cautioned (OC2 `CONVICTED`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct ChildConvicted {
    pub outcome: ConvictionKind,
}

no_third_parties!(ChildConvicted);
impl Payload for ChildConvicted {}

/// The personal education plan was reviewed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct PersonalEducationPlanReviewed {}

no_third_parties!(PersonalEducationPlanReviewed);
impl Payload for PersonalEducationPlanReviewed {}

/// The child went missing or away without authorisation (SSDA903 Missing `MISSING`, `MIS_START`).
/// `occurred_at` should carry the time of day.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct MissingEpisodeStarted {
    pub kind: MissingKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reported_to_police: Option<bool>,
}

no_third_parties!(MissingEpisodeStarted);
impl Payload for MissingEpisodeStarted {}

/// The child returned or was found (`MIS_END`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct MissingEpisodeEnded {}

no_third_parties!(MissingEpisodeEnded);
impl Payload for MissingEpisodeEnded {}

/// A return home interview was offered (due within 72 hours of return; Annex A list 8).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct ReturnInterviewOffered {}

no_third_parties!(ReturnInterviewOffered);
impl Payload for ReturnInterviewOffered {}

/// The return home interview took place.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct ReturnInterviewHeld {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conducted_by: Option<Professional>,
}

impl ThirdPartyData for ReturnInterviewHeld {
    fn third_parties(&self, at: &str, out: &mut Vec<DataSubject>) {
        self.conducted_by.third_parties(&join(at, "conducted_by"), out);
    }
}

impl Payload for ReturnInterviewHeld {}

/// The child declined the return home interview.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct ReturnInterviewDeclined {}

no_third_parties!(ReturnInterviewDeclined);
impl Payload for ReturnInterviewDeclined {}

/// The child is an unaccompanied asylum-seeking child (SSDA903 UASC; Annex A lists 8-9).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct UnaccompaniedAsylumSeekingStatusRecorded {}

no_third_parties!(UnaccompaniedAsylumSeekingStatusRecorded);
impl Payload for UnaccompaniedAsylumSeekingStatusRecorded {}

/// The child's UASC status ceased (SSDA903 `DUC`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct UnaccompaniedAsylumSeekingStatusCeased {}

no_third_parties!(UnaccompaniedAsylumSeekingStatusCeased);
impl Payload for UnaccompaniedAsylumSeekingStatusCeased {}
