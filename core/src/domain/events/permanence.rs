//! Permanence: adoption (SSDA903 AD1, PlacedAdoption; Annex A list 10) and previous permanence (PrevPerm).
//! Also the permanence plan (Annex A list 8). Placement, adoption, special guardianship and child
//! arrangements orders are `CourtOrderMade`;
//! fostering-for-adoption placements are `PlacementChanged` to U2 or U5.

use serde::{Deserialize, Serialize};

use crate::codes::{AdopterLegalStatus, AdopterSex, PreviousPermanence, ReasonPlacedCeased};
use crate::error::Problems;
use crate::time::Date;

use super::super::lists::{PermanencePlan, Relationship};
use super::super::subjects::{DataSubject, ThirdPartyData, join, no_third_parties};
use super::super::values::{FamilyId, LaCode, LongText, PartialDate, ThirdParty, duplicate};
use super::super::{Payload, accepted, not_future};

/// The agency decision maker decided the child should be placed for adoption (SSDA903 AD1 `DATE_INT`;
/// Annex A list 10 "Date of ADM decision").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct AdoptionDecisionMade {}

no_third_parties!(AdoptionDecisionMade);
impl Payload for AdoptionDecisionMade {}

/// The child was matched with prospective adopters (AD1 `DATE_MATCH`, `NB_ADOPTR`, `SEX_ADOPTR`,
/// `LS_ADOPTR`, `FOSTER_CARE`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct MatchedWithAdopters {
    /// 1 or 2.
    pub adopter_count: u8,
    pub adopters_sex: AdopterSex,
    pub adopters_legal_status: AdopterLegalStatus,
    /// The adopters are the child's current foster carers (`FOSTER_CARE`).
    pub adopters_were_foster_carers: bool,
    /// The adoptive family's identifier (Annex A lists 10 and 11).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_id: Option<FamilyId>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub adopters: Vec<ThirdParty>,
}

impl ThirdPartyData for MatchedWithAdopters {
    fn third_parties(&self, at: &str, out: &mut Vec<DataSubject>) {
        out.push(DataSubject {
            person_id: None,
            relationship: Relationship::Adopter,
            fields: [
                "adopter_count",
                "adopters_sex",
                "adopters_legal_status",
                "adopters_were_foster_carers",
            ]
            .iter()
            .map(|f| join(at, f))
            .collect(),
            confidential: false,
            date_of_birth: None,
        });
        self.adopters.third_parties(&join(at, "adopters"), out);
    }
}

impl Payload for MatchedWithAdopters {
    fn validate(&self, p: &mut Problems) {
        let n = self.adopter_count;
        if !(1..=2).contains(&n) {
            p.push("adopter_count", format!("must be 1 or 2 (got {n})"));
            return;
        }
        let sex_count = match self.adopters_sex {
            AdopterSex::M1 | AdopterSex::F1 => 1,
            AdopterSex::MM | AdopterSex::FF | AdopterSex::MF => 2,
        };
        if sex_count != n {
            p.push(
                "adopters_sex",
                format!(
                    "{} describes {sex_count} adopter(s), but adopter_count is {n}",
                    self.adopters_sex
                ),
            );
        }
        let ls_count = if self.adopters_legal_status == AdopterLegalStatus::L0 {
            1
        } else {
            2
        };
        if ls_count != n {
            p.push(
                "adopters_legal_status",
                format!(
                    "{} describes {ls_count} adopter(s), but adopter_count is {n}",
                    self.adopters_legal_status
                ),
            );
        }
        if self.adopters.len() > usize::from(n) {
            p.push(
                "adopters",
                format!(
                    "names {} people, more than adopter_count ({n})",
                    self.adopters.len()
                ),
            );
        }
        if let Some(i) = duplicate(self.adopters.iter().map(|a| &a.person_id)) {
            p.push(format!("adopters[{i}].person_id"), "names the same person twice");
        }
        for (i, a) in self.adopters.iter().enumerate() {
            if a.relationship != Relationship::Adopter {
                p.push(
                    format!("adopters[{i}].relationship"),
                    format!("must be adopter (got {})", a.relationship),
                );
            }
        }
    }
}

/// The child was placed for adoption (SSDA903 PlacedAdoption `DATE_PLACED`; Annex A list 10). Record the
/// move itself as a `PlacementChanged` to A3-A6 too: the SSDA903 episode and the PlacedAdoption row are
/// separate facts in the return.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct PlacedForAdoption {}

no_third_parties!(PlacedForAdoption);
impl Payload for PlacedForAdoption {}

/// The placement for adoption ended without an adoption order (`DATE_PLACED_CEASED`,
/// `REASON_PLACED_CEASED`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct PlacementForAdoptionCeased {
    pub reason: ReasonPlacedCeased,
}

no_third_parties!(PlacementForAdoptionCeased);
impl Payload for PlacementForAdoptionCeased {}

/// The decision that the child should be placed for adoption was reversed (Annex A list 10 "Date of
/// decision no longer to be placed", "Reason").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct AdoptionDecisionReversed {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<LongText>,
}

no_third_parties!(AdoptionDecisionReversed);
impl Payload for AdoptionDecisionReversed {}

/// The looked-after child's permanence plan was set or changed (Ofsted Annex A list 8 "Permanence plan").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct PermanencePlanRecorded {
    pub plan: PermanencePlan,
}

no_third_parties!(PermanencePlanRecorded);
impl Payload for PermanencePlanRecorded {}

/// Permanence the child had before becoming looked after (SSDA903 PrevPerm `PREV_PERM`, `LA_PERM`,
/// `DATE_PERM`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct PreviousPermanenceRecorded {
    pub previous: PreviousPermanence,
    /// The authority that granted or supported it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_authority: Option<LaCode>,
    /// When the order was made; the day or month may be unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_date: Option<PartialDate>,
}

no_third_parties!(PreviousPermanenceRecorded);

impl Payload for PreviousPermanenceRecorded {
    fn validate(&self, p: &mut Problems) {
        if self.previous == PreviousPermanence::Z1 {
            for (f, present) in [
                ("local_authority", self.local_authority.is_some()),
                ("order_date", self.order_date.is_some()),
            ] {
                if present {
                    p.push(f, "must be absent when previous is Z1 (no previous permanence)");
                }
            }
        }
    }

    fn check_dates(&self, _occurred: Date, today: Date, p: &mut Problems) {
        if let Some(d) = &self.order_date {
            accepted(p, "order_date", d.earliest());
            not_future(p, "order_date", d.earliest(), today);
        }
    }
}
