//! Pre-proceedings (the Public Law Outline), care proceedings and court orders.

use serde::{Deserialize, Serialize};

use crate::error::Problems;
use crate::time::Date;

use super::super::lists::{
    CourtOrderKind, MeetingKind, OrderEndReason, PreProceedingsOutcome, ProceedingsOutcome,
};
use super::super::subjects::{DataSubject, ThirdPartyData, join, no_third_parties};
use super::super::values::{LongText, PersonAttendance, ShortText, ThirdParty, duplicate};
use super::super::{Payload, accepted, later_than, not_future};

/// The pre-proceedings period started (CIN census 2025/26 `PPStartDate`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct PreProceedingsStarted {}

no_third_parties!(PreProceedingsStarted);
impl Payload for PreProceedingsStarted {}

/// The letter before proceedings was sent (`LBPSentDate`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct LetterBeforeProceedingsSent {}

no_third_parties!(LetterBeforeProceedingsSent);
impl Payload for LetterBeforeProceedingsSent {}

/// A family group conference (family group decision meeting) was offered (`FGDMMeetingOffer`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct FamilyGroupConferenceOffered {}

no_third_parties!(FamilyGroupConferenceOffered);
impl Payload for FamilyGroupConferenceOffered {}

/// A family group conference was held (`FGDMMeetingFac`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct FamilyGroupConferenceHeld {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub participants: Vec<PersonAttendance>,
}

impl ThirdPartyData for FamilyGroupConferenceHeld {
    fn third_parties(&self, at: &str, out: &mut Vec<DataSubject>) {
        self.participants.third_parties(&join(at, "participants"), out);
    }
}

impl Payload for FamilyGroupConferenceHeld {
    fn validate(&self, p: &mut Problems) {
        if let Some(i) = duplicate(self.participants.iter().map(|f| &f.person.person_id)) {
            p.push(
                format!("participants[{i}].person.person_id"),
                "names the same person twice",
            );
        }
    }
}

/// A pre-proceedings meeting (`InitialPPMeetingDate`; review meetings are counted for `ReviewMeetingsCount`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct PreProceedingsMeetingHeld {
    pub kind: MeetingKind,
}

no_third_parties!(PreProceedingsMeetingHeld);
impl Payload for PreProceedingsMeetingHeld {}

/// The pre-proceedings period ended (`StepDecisionDate`, `PPOutcome`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct PreProceedingsEnded {
    pub outcome: PreProceedingsOutcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<LongText>,
}

no_third_parties!(PreProceedingsEnded);

impl Payload for PreProceedingsEnded {
    fn validate(&self, p: &mut Problems) {
        if self.outcome == PreProceedingsOutcome::Other && self.detail.is_none() {
            p.push("detail", "is required when outcome is other");
        }
    }
}

/// Care (or supervision) proceedings were issued (`CourtAppDate`); the 26-week limit runs from here.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct CareProceedingsIssued {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub court: Option<ShortText>,
    /// When the family was sent the letter that proceedings would be issued (CIN census 2025/26
    /// `LetterInitCPDate`; meaning UNCONFIRMED). On or before the issue date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub letter_of_issue_sent_on: Option<Date>,
}

no_third_parties!(CareProceedingsIssued);

impl Payload for CareProceedingsIssued {
    fn check_dates(&self, occurred: Date, today: Date, p: &mut Problems) {
        if let Some(d) = self.letter_of_issue_sent_on {
            accepted(p, "letter_of_issue_sent_on", d);
            not_future(p, "letter_of_issue_sent_on", d, today);
            if d > occurred {
                p.push(
                    "letter_of_issue_sent_on",
                    format!(
                        "must not be after the proceedings were issued (occurred_at), {occurred} (got {d})"
                    ),
                );
            }
        }
    }
}

/// The care proceedings concluded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct CareProceedingsConcluded {
    pub outcome: ProceedingsOutcome,
}

no_third_parties!(CareProceedingsConcluded);
impl Payload for CareProceedingsConcluded {}

/// A court made an order (or police protection was used). Orders of permanence are orders too: placement
/// order (Annex A list 10), adoption order, special guardianship order, child arrangements order; and the
/// SSDA903 DoLo table is `deprivation_of_liberty_order` made and ended. Making an order of a kind already
/// in force (renewing an interim care order) replaces it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct CourtOrderMade {
    pub order: CourtOrderKind,
    /// When the order ends unless renewed or discharged, if it says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_on: Option<Date>,
    /// The people the order is made to (special guardians, the person the child is to live with, adopters).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub in_favour_of: Vec<ThirdParty>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub court: Option<ShortText>,
    /// Required for `other`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<ShortText>,
}

impl ThirdPartyData for CourtOrderMade {
    fn third_parties(&self, at: &str, out: &mut Vec<DataSubject>) {
        self.in_favour_of.third_parties(&join(at, "in_favour_of"), out);
    }
}

impl Payload for CourtOrderMade {
    fn validate(&self, p: &mut Problems) {
        if self.order == CourtOrderKind::Other && self.detail.is_none() {
            p.push("detail", "is required when order is other: describe the order");
        }
        let to_people = matches!(
            self.order,
            CourtOrderKind::SpecialGuardianshipOrder
                | CourtOrderKind::ChildArrangementsOrder
                | CourtOrderKind::ChildArrangementsContactOrder
                | CourtOrderKind::AdoptionOrder
                | CourtOrderKind::Other
        );
        if !to_people && !self.in_favour_of.is_empty() {
            p.push(
                "in_favour_of",
                format!(
                    "must be absent for {}: only special guardianship, child arrangements, adoption and other \
                     orders are made to named people",
                    self.order
                ),
            );
        }
        if let Some(i) = duplicate(self.in_favour_of.iter().map(|t| &t.person_id)) {
            p.push(
                format!("in_favour_of[{i}].person_id"),
                "names the same person twice",
            );
        }
    }

    fn check_dates(&self, occurred: Date, _today: Date, p: &mut Problems) {
        if let Some(d) = self.expires_on {
            accepted(p, "expires_on", d);
            later_than(
                p,
                "expires_on",
                d,
                occurred,
                "the date the order was made (occurred_at)",
            );
        }
    }
}

/// An order stopped having effect (SSDA903 `DOLO_END` for a deprivation of liberty order).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct CourtOrderEnded {
    pub order: CourtOrderKind,
    pub reason: OrderEndReason,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<LongText>,
}

no_third_parties!(CourtOrderEnded);

impl Payload for CourtOrderEnded {
    fn validate(&self, p: &mut Problems) {
        if self.reason == OrderEndReason::Other && self.detail.is_none() {
            p.push("detail", "is required when reason is other");
        }
    }
}
