//! Child in need (Children Act 1989 s17): referral, assessment, plan, visits, closure.

use serde::{Deserialize, Serialize};

use crate::codes::{AssessmentFactor, CinClosureReason, PrimaryNeed, ReferralSource};
use crate::error::Problems;
use crate::ids::EventId;
use crate::time::Date;

use super::super::lists::{CinPlanEndReason, VisitKind};
use super::super::subjects::{DataSubject, ThirdPartyData, join, no_third_parties};
use super::super::values::{LongText, Professional, Referrer, duplicate};
use super::super::{EventKind, Payload, Reference, accepted, code_on, codes_on, not_before, not_future};

/// A referral to children's social care: opens a child in need episode (CIN census `CINreferralDate`,
/// Annex A list 3). `occurred_at` is the referral date. Close the episode with `ChildInNeedEpisodeClosed`,
/// also when `no_further_action` is true.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct ReferralReceived {
    pub source: ReferralSource,
    /// The primary need at referral (N0 "not stated" when not yet known); an assessment may update it.
    pub primary_need: PrimaryNeed,
    /// CIN census `ReferralNFA`: the referral led to no further action.
    #[serde(default)]
    pub no_further_action: bool,
    /// The `ContactReceived` event the referral came from, if recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_event_id: Option<EventId>,
    /// The referrer, when no contact is recorded; absent for an anonymous referral.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referrer: Option<Referrer>,
}

impl ThirdPartyData for ReferralReceived {
    fn third_parties(&self, at: &str, out: &mut Vec<DataSubject>) {
        self.referrer.third_parties(&join(at, "referrer"), out);
    }
}

impl Payload for ReferralReceived {
    fn validate(&self, p: &mut Problems) {
        if self.source == ReferralSource::R9 && self.referrer.is_some() {
            p.push("referrer", "must be absent when source is 9 (anonymous)");
        }
    }

    fn check_codes(&self, occurred: Date, p: &mut Problems) {
        code_on(p, "source", self.source, occurred);
    }

    fn references(&self) -> Vec<Reference<'_>> {
        self.contact_event_id
            .iter()
            .map(|id| Reference {
                path: "contact_event_id",
                target: id,
                kinds: &[EventKind::ContactReceived],
                what: "the contact the referral came from",
            })
            .collect()
    }
}

/// A child and family (single/continuous) assessment started (CIN census `AssessmentActualStartDate`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct AssessmentStarted {}

no_third_parties!(AssessmentStarted);
impl Payload for AssessmentStarted {}

/// The assessment had its internal review (CIN census `AssessmentInternalReviewDate`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct AssessmentReviewed {}

no_third_parties!(AssessmentReviewed);
impl Payload for AssessmentReviewed {}

/// The assessment was completed. `occurred_at` is the completion date; `authorised_on` the manager's
/// authorisation (CIN census `AssessmentAuthorisationDate`) when later.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct AssessmentCompleted {
    /// At least one factor; `21` (no factors identified) only alone.
    pub factors: Vec<AssessmentFactor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorised_on: Option<Date>,
    /// Annex A list 4 "Child Seen During Continuous Assessment".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub child_seen: Option<bool>,
    /// Annex A list 4 "Was the child assessed as requiring LA children's social care support?".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requires_social_care_support: Option<bool>,
    /// The primary need identified, updating the episode's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_need: Option<PrimaryNeed>,
}

no_third_parties!(AssessmentCompleted);

impl Payload for AssessmentCompleted {
    fn validate(&self, p: &mut Problems) {
        factor_rules(&self.factors, p);
        if self.factors.contains(&AssessmentFactor::F21) && self.requires_social_care_support == Some(true) {
            p.push(
                "factors",
                "21 (no factors identified) is only for an assessment leading to no further action, but \
                 requires_social_care_support is true",
            );
        }
    }

    fn check_codes(&self, occurred: Date, p: &mut Problems) {
        codes_on(p, "factors", &self.factors, occurred);
    }

    fn check_dates(&self, occurred: Date, today: Date, p: &mut Problems) {
        if let Some(d) = self.authorised_on {
            accepted(p, "authorised_on", d);
            not_future(p, "authorised_on", d, today);
            not_before(
                p,
                "authorised_on",
                d,
                occurred,
                "the completion date (occurred_at)",
            );
        }
    }
}

/// CIN census assessment factors: at least one, no repeats, `21` alone.
fn factor_rules(factors: &[AssessmentFactor], p: &mut Problems) {
    if factors.is_empty() {
        p.push(
            "factors",
            "must list at least one factor (21 when no factors were identified)",
        );
    }
    if let Some(i) = duplicate(factors.iter()) {
        p.push(format!("factors[{i}]"), format!("lists {} twice", factors[i]));
    }
    if factors.len() > 1 && factors.contains(&AssessmentFactor::F21) {
        p.push(
            "factors",
            "21 (no factors identified) cannot be combined with other factors",
        );
    }
}

/// A child in need plan started (CIN census `CINPlanStartDate`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct ChildInNeedPlanStarted {}

no_third_parties!(ChildInNeedPlanStarted);
impl Payload for ChildInNeedPlanStarted {}

/// The child in need plan was reviewed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct ChildInNeedPlanReviewed {}

no_third_parties!(ChildInNeedPlanReviewed);
impl Payload for ChildInNeedPlanReviewed {}

/// The child in need plan ended (CIN census `CINPlanEndDate`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct ChildInNeedPlanEnded {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<CinPlanEndReason>,
}

no_third_parties!(ChildInNeedPlanEnded);
impl Payload for ChildInNeedPlanEnded {}

/// A statutory visit (Annex A lists 6-8 "date of last visit", "seen alone").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct ChildVisited {
    pub kind: VisitKind,
    pub seen: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seen_alone: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bedroom_seen: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visitor: Option<Professional>,
}

impl ThirdPartyData for ChildVisited {
    fn third_parties(&self, at: &str, out: &mut Vec<DataSubject>) {
        self.visitor.third_parties(&join(at, "visitor"), out);
    }
}

impl Payload for ChildVisited {
    fn validate(&self, p: &mut Problems) {
        if !self.seen && self.seen_alone == Some(true) {
            p.push("seen_alone", "cannot be true when seen is false");
        }
    }
}

/// The child in need episode closed (CIN census `CINclosureDate`, `ReasonForClosure`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct ChildInNeedEpisodeClosed {
    pub reason: CinClosureReason,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<LongText>,
}

no_third_parties!(ChildInNeedEpisodeClosed);

impl Payload for ChildInNeedEpisodeClosed {
    fn check_codes(&self, occurred: Date, p: &mut Problems) {
        code_on(p, "reason", self.reason, occurred);
    }
}
