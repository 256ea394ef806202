//! The front door (contacts and their decisions) and early help.

use serde::{Deserialize, Serialize};

use crate::codes::{AssessmentFactor, ReferralSource};
use crate::error::Problems;
use crate::ids::EventId;
use crate::time::Date;

use super::super::lists::{ContactOutcome, EarlyHelpEndReason};
use super::super::subjects::{DataSubject, ThirdPartyData, join, no_third_parties};
use super::super::values::{LongText, Professional, Referrer, ShortText, duplicate};
use super::super::{EventKind, Payload, Reference, code_on, codes_on};

/// Someone raised a concern about the child (Ofsted Annex A list 1). `occurred_at` is when the contact was
/// received, with a time of day where known (the decision is due within one working day).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct ContactReceived {
    /// The CIN census referral-source code of whoever made the contact.
    pub source: ReferralSource,
    /// The agency the contact came from, as free text ("Oak Tree Primary School").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agency: Option<ShortText>,
    /// The concerns raised, in the CIN census assessment-factor codes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub concerns: Vec<AssessmentFactor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<LongText>,
    /// Who made the contact; absent for an anonymous contact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referrer: Option<Referrer>,
}

impl ThirdPartyData for ContactReceived {
    fn third_parties(&self, at: &str, out: &mut Vec<DataSubject>) {
        self.referrer.third_parties(&join(at, "referrer"), out);
    }
}

impl Payload for ContactReceived {
    fn validate(&self, p: &mut Problems) {
        if let Some(i) = duplicate(self.concerns.iter()) {
            p.push(
                format!("concerns[{i}]"),
                format!("lists {} twice", self.concerns[i]),
            );
        }
        if self.source == ReferralSource::R9 && self.referrer.is_some() {
            p.push("referrer", "must be absent when source is 9 (anonymous)");
        }
    }

    fn check_codes(&self, occurred: Date, p: &mut Problems) {
        code_on(p, "source", self.source, occurred);
        codes_on(p, "concerns", &self.concerns, occurred);
    }
}

/// The front door's decision on a contact.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct ContactDecided {
    /// The `ContactReceived` event this decides.
    pub contact_event_id: EventId,
    pub outcome: ContactOutcome,
    /// The level of need under the local threshold document, 1 (universal) to 4 (specialist).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level_of_need: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<Professional>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rationale: Option<LongText>,
}

impl ThirdPartyData for ContactDecided {
    fn third_parties(&self, at: &str, out: &mut Vec<DataSubject>) {
        self.decided_by.third_parties(&join(at, "decided_by"), out);
    }
}

impl Payload for ContactDecided {
    fn validate(&self, p: &mut Problems) {
        if let Some(l) = self.level_of_need
            && !(1..=4).contains(&l)
        {
            p.push("level_of_need", format!("must be 1 to 4 (got {l})"));
        }
    }

    fn references(&self) -> Vec<Reference<'_>> {
        vec![Reference {
            path: "contact_event_id",
            target: &self.contact_event_id,
            kinds: &[EventKind::ContactReceived],
            what: "the contact it decides",
        }]
    }
}

/// Early help started (Ofsted Annex A list 2): `occurred_at` is the start of the early help assessment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct EarlyHelpStarted {
    /// The organisation completing the assessment (Annex A list 2).
    pub organisation: ShortText,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lead_professional: Option<Professional>,
    /// True when this is a step down from children's social care.
    #[serde(default)]
    pub stepped_down_from_social_care: bool,
}

impl ThirdPartyData for EarlyHelpStarted {
    fn third_parties(&self, at: &str, out: &mut Vec<DataSubject>) {
        self.lead_professional
            .third_parties(&join(at, "lead_professional"), out);
    }
}

impl Payload for EarlyHelpStarted {}

/// The early help assessment was completed (Annex A list 2 "Assessment completion date").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct EarlyHelpAssessmentCompleted {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub factors: Vec<AssessmentFactor>,
}

no_third_parties!(EarlyHelpAssessmentCompleted);

impl Payload for EarlyHelpAssessmentCompleted {
    fn validate(&self, p: &mut Problems) {
        if let Some(i) = duplicate(self.factors.iter()) {
            p.push(
                format!("factors[{i}]"),
                format!("lists {} twice", self.factors[i]),
            );
        }
    }

    fn check_codes(&self, occurred: Date, p: &mut Problems) {
        codes_on(p, "factors", &self.factors, occurred);
    }
}

/// Early help ended; `stepped_up_to_social_care` records a step up.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct EarlyHelpEnded {
    pub reason: EarlyHelpEndReason,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<LongText>,
}

no_third_parties!(EarlyHelpEnded);

impl Payload for EarlyHelpEnded {
    fn validate(&self, p: &mut Problems) {
        if self.reason == EarlyHelpEndReason::Other && self.detail.is_none() {
            p.push("detail", "is required when reason is other");
        }
    }
}
