//! Leaving care: needs assessment, pathway plan, staying put, contact (SSDA903 OC3; Annex A list 9) and
//! entitlements. Personal advisers are assigned with `WorkerAllocated` (role `personal_adviser`).

use serde::{Deserialize, Serialize};

use crate::codes::{CareLeaverAccommodation, CareLeaverActivity, InTouch};
use crate::error::Problems;
use crate::ids::EventId;
use crate::time::Date;

use super::super::lists::ContactMode;
use super::super::subjects::{DataSubject, ThirdPartyData, join, no_third_parties};
use super::super::values::{Entitlement, LongText, ThirdParty, duplicate};
use super::super::{EventKind, Payload, Reference, code_on};

/// The eligible child's needs assessment was completed (due within 3 months of the 16th birthday).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct LeavingCareNeedsAssessmentCompleted {}

no_third_parties!(LeavingCareNeedsAssessmentCompleted);
impl Payload for LeavingCareNeedsAssessmentCompleted {}

/// The pathway plan started.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct PathwayPlanStarted {}

no_third_parties!(PathwayPlanStarted);
impl Payload for PathwayPlanStarted {}

/// The pathway plan was reviewed (Annex A list 9 "Latest Pathway Plan Review Date").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct PathwayPlanReviewed {}

no_third_parties!(PathwayPlanReviewed);
impl Payload for PathwayPlanReviewed {}

/// A staying put arrangement with former foster carers started (CA89 s23CZA).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct StayingPutStarted {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub carers: Vec<ThirdParty>,
}

impl ThirdPartyData for StayingPutStarted {
    fn third_parties(&self, at: &str, out: &mut Vec<DataSubject>) {
        self.carers.third_parties(&join(at, "carers"), out);
    }
}

impl Payload for StayingPutStarted {
    fn validate(&self, p: &mut Problems) {
        if let Some(i) = duplicate(self.carers.iter().map(|c| &c.person_id)) {
            p.push(format!("carers[{i}].person_id"), "names the same person twice");
        }
    }
}

/// The staying put arrangement ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct StayingPutEnded {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<LongText>,
}

no_third_parties!(StayingPutEnded);
impl Payload for StayingPutEnded {}

/// Contact with a care leaver, or an attempt at it (SSDA903 OC3 `IN_TOUCH`, `ACTIV`, `ACCOM`; the
/// accommodation code carries its suitability; Annex A list 9 "Latest Date of Contact").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct CareLeaverContactRecorded {
    pub in_touch: InTouch,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity: Option<CareLeaverActivity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accommodation: Option<CareLeaverAccommodation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<ContactMode>,
}

no_third_parties!(CareLeaverContactRecorded);

impl Payload for CareLeaverContactRecorded {
    fn validate(&self, p: &mut Problems) {
        if self.in_touch == InTouch::YES {
            if self.activity == Some(CareLeaverActivity::Zero) {
                p.push(
                    "activity",
                    "0 is for a young person not in touch: give the activity when in_touch is YES",
                );
            }
            if self.accommodation == Some(CareLeaverAccommodation::Zero) {
                p.push(
                    "accommodation",
                    "0 is for a young person not in touch: give the accommodation when in_touch is YES",
                );
            }
        }
    }

    fn check_codes(&self, occurred: Date, p: &mut Problems) {
        if let Some(activity) = self.activity {
            code_on(p, "activity", activity, occurred);
        }
        if let Some(accommodation) = self.accommodation {
            code_on(p, "accommodation", accommodation, occurred);
        }
    }
}

/// The young person was given their health history (health passport).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct HealthHistoryGiven {}

no_third_parties!(HealthHistoryGiven);
impl Payload for HealthHistoryGiven {}

/// An entitlement was offered to the young person: what they were told they could have, and when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct EntitlementOffered {
    pub entitlement: Entitlement,
    /// The amount offered, in pence, for a financial entitlement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount_pence: Option<u32>,
}

no_third_parties!(EntitlementOffered);

impl EntitlementOffered {
    /// £100,000: far above any care-leaver entitlement, so anything larger is a data-entry error.
    pub const MAX_AMOUNT_PENCE: u32 = 10_000_000;
}

impl Payload for EntitlementOffered {
    fn validate(&self, p: &mut Problems) {
        self.entitlement.validate("entitlement", p);
        if let Some(a) = self.amount_pence
            && a > Self::MAX_AMOUNT_PENCE
        {
            p.push(
                "amount_pence",
                format!(
                    "must be at most {} (£100,000), in pence (got {a})",
                    Self::MAX_AMOUNT_PENCE
                ),
            );
        }
    }
}

fn offer_reference(id: &EventId) -> Vec<Reference<'_>> {
    vec![Reference {
        path: "offer_event_id",
        target: id,
        kinds: &[EventKind::EntitlementOffered],
        what: "the offer it answers",
    }]
}

/// The young person accepted an offered entitlement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct EntitlementAccepted {
    /// The `EntitlementOffered` event this answers.
    pub offer_event_id: EventId,
}

no_third_parties!(EntitlementAccepted);

impl Payload for EntitlementAccepted {
    fn references(&self) -> Vec<Reference<'_>> {
        offer_reference(&self.offer_event_id)
    }
}

/// The young person declined an offered entitlement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct EntitlementDeclined {
    /// The `EntitlementOffered` event this answers.
    pub offer_event_id: EventId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<LongText>,
}

no_third_parties!(EntitlementDeclined);

impl Payload for EntitlementDeclined {
    fn references(&self) -> Vec<Reference<'_>> {
        offer_reference(&self.offer_event_id)
    }
}
