//! Who the child is: registration, amendments, becoming a parent, death.

use serde::{Deserialize, Serialize};

use crate::codes::{Disability, Ethnicity, Sex, UpnUnknownReason};
use crate::error::Problems;
use crate::ids::{ChildId, EventId};
use crate::time::Date;

use super::super::lists::{IdentifierKind, Relationship};
use super::super::subjects::{DataSubject, ThirdPartyData, join, no_third_parties};
use super::super::values::{FamilyId, LongText, NhsNumber, ShortText, ThirdParty, Upn, duplicate};
use super::super::{Payload, accepted, not_future};

/// The first event of every stream: who the child is. For an unborn child, give `expected_date_of_birth`
/// instead of `date_of_birth`, and record the birth later with `ChildDetailsAmended`.
///
/// An unborn child's `sex` is held as recorded (a sex known from a scan is a fact practitioners use), not
/// refused: refusing it would make a true record unrecordable and an import refuse the child. The returns
/// report what each requires instead: the CIN census reports `U` for a child unborn on its reference date
/// (rule 8750) whatever is recorded here.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct ChildRegistered {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<ShortText>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_name: Option<ShortText>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_name: Option<ShortText>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_of_birth: Option<Date>,
    /// For an unborn child (CIN census `ExpectedPersonBirthDate`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_date_of_birth: Option<Date>,
    pub sex: Sex,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ethnicity: Option<Ethnicity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upn: Option<Upn>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub former_upn: Option<Upn>,
    /// Why there is no UPN (UN1-UN7); only without `upn`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upn_unknown_reason: Option<UpnUnknownReason>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nhs_number: Option<NhsNumber>,
    /// CIN census disabilities; `NONE` alone for none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub disabilities: Vec<Disability>,
    /// Groups siblings (Ofsted Annex A list 10 "family identifier").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_id: Option<FamilyId>,
}

no_third_parties!(ChildRegistered);

impl Payload for ChildRegistered {
    fn validate(&self, p: &mut Problems) {
        match (self.date_of_birth, self.expected_date_of_birth) {
            (Some(_), Some(_)) => p.push(
                "expected_date_of_birth",
                "must be absent when date_of_birth is given (expected_date_of_birth is for an unborn child)",
            ),
            (None, None) => p.push(
                "date_of_birth",
                "is required: give date_of_birth, or expected_date_of_birth for an unborn child",
            ),
            _ => {}
        }
        if self.date_of_birth.is_none() && self.expected_date_of_birth.is_some() {
            for (field, present) in [
                ("upn", self.upn.is_some()),
                ("former_upn", self.former_upn.is_some()),
                ("nhs_number", self.nhs_number.is_some()),
            ] {
                if present {
                    p.push(
                        field,
                        "must be absent for an unborn child (registered with expected_date_of_birth)",
                    );
                }
            }
        }
        upn_rules(&self.upn, &self.former_upn, &self.upn_unknown_reason, p);
        disability_rules(&self.disabilities, p);
    }

    fn check_dates(&self, _occurred: Date, today: Date, p: &mut Problems) {
        if let Some(d) = self.date_of_birth {
            accepted(p, "date_of_birth", d);
            not_future(p, "date_of_birth", d, today);
        }
        if let Some(d) = self.expected_date_of_birth {
            accepted(p, "expected_date_of_birth", d);
        }
    }
}

/// Changes to the child's details. Only the fields given change; at least one must be given. Recording
/// `date_of_birth` for a child registered as unborn records the birth.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct ChildDetailsAmended {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<ShortText>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_name: Option<ShortText>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_name: Option<ShortText>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_of_birth: Option<Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_date_of_birth: Option<Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sex: Option<Sex>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ethnicity: Option<Ethnicity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upn: Option<Upn>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub former_upn: Option<Upn>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upn_unknown_reason: Option<UpnUnknownReason>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nhs_number: Option<NhsNumber>,
    /// The full new list of disabilities (replaces the old one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabilities: Option<Vec<Disability>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_id: Option<FamilyId>,
}

no_third_parties!(ChildDetailsAmended);

impl Payload for ChildDetailsAmended {
    fn validate(&self, p: &mut Problems) {
        if *self == ChildDetailsAmended::default() {
            p.push("", "must change at least one detail");
        }
        if self.date_of_birth.is_some() && self.expected_date_of_birth.is_some() {
            p.push(
                "expected_date_of_birth",
                "must be absent when date_of_birth is given (the child has been born)",
            );
        }
        upn_rules(&self.upn, &self.former_upn, &self.upn_unknown_reason, p);
        if let Some(d) = &self.disabilities {
            if d.is_empty() {
                p.push(
                    "disabilities",
                    "must list at least one code (NONE for no disability)",
                );
            }
            disability_rules(d, p);
        }
    }

    fn check_dates(&self, _occurred: Date, today: Date, p: &mut Problems) {
        if let Some(d) = self.date_of_birth {
            accepted(p, "date_of_birth", d);
            not_future(p, "date_of_birth", d, today);
        }
        if let Some(d) = self.expected_date_of_birth {
            accepted(p, "expected_date_of_birth", d);
        }
    }
}

fn upn_rules(upn: &Option<Upn>, former: &Option<Upn>, unknown: &Option<UpnUnknownReason>, p: &mut Problems) {
    if upn.is_some() && unknown.is_some() {
        p.push("upn_unknown_reason", "must be absent when upn is given");
    }
    if upn.is_some() && upn == former {
        p.push("former_upn", "must differ from upn");
    }
}

fn disability_rules(d: &[Disability], p: &mut Problems) {
    if let Some(i) = duplicate(d.iter()) {
        p.push(format!("disabilities[{i}]"), format!("lists {} twice", d[i]));
    }
    if d.len() > 1 && d.contains(&Disability::NONE) {
        p.push(
            "disabilities",
            "NONE (no disability) cannot be combined with other disability codes",
        );
    }
}

/// The child became a parent (SSDA903 header `MOTHER` and `MC_DOB`). `occurred_at` is the baby's date of
/// birth.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct ChildBecameParent {
    /// The baby, a third party (who may have a stream of their own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baby: Option<ThirdParty>,
}

impl ThirdPartyData for ChildBecameParent {
    fn third_parties(&self, at: &str, out: &mut Vec<DataSubject>) {
        self.baby.third_parties(&join(at, "baby"), out);
    }
}

impl Payload for ChildBecameParent {
    fn validate(&self, p: &mut Problems) {
        if let Some(b) = &self.baby
            && b.relationship != Relationship::OwnChild
        {
            p.push(
                "baby.relationship",
                format!("must be own_child (got {})", b.relationship),
            );
        }
    }
}

/// The child died. `occurred_at` is the date of death (CIN census `PersonDeathDate`). Episodes and plans
/// open at the time are closed with their own events (CeasedToBeLookedAfter E2, ChildInNeedEpisodeClosed
/// RC2), which may be recorded after this one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct ChildDied {}

no_third_parties!(ChildDied);
impl Payload for ChildDied {}

/// An identifier of the child as a source system recorded it, which fails its check (a UPN's check letter,
/// an NHS number's check digit, a postcode's format). Kept as recorded and flagged, never used as the
/// child's identifier: no rule, view or return reads it as one. Imports of history record it instead of
/// refusing the child over one identifier; the valid value, once found, is recorded as usual
/// (`ChildDetailsAmended`, a placement's postcode). `occurred_at` is when the source says it held.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct InvalidIdentifierRecorded {
    pub identifier: IdentifierKind,
    /// The value exactly as recorded (trimmed).
    pub recorded: ShortText,
    /// The check it fails.
    pub problem: LongText,
}

no_third_parties!(InvalidIdentifierRecorded);
impl Payload for InvalidIdentifierRecorded {}

/// After an adoption order, the child continues under a new identity: the adoptive record, under
/// `new_child_id`. Recorded in the pre-adoption record, which the order seals, so that the link between the
/// birth identity and the adoptive one is known only to those who may open sealed records (`rules.md` §8):
/// nothing in the new record points back. Needs an adoption order in this stream.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct ContinuedUnderNewIdentity {
    pub new_child_id: ChildId,
}

no_third_parties!(ContinuedUnderNewIdentity);
impl Payload for ContinuedUnderNewIdentity {}

/// Two records found to be one child (issue #20), recorded in the record merged away (`A`): from now on the
/// child is read under `surviving_child_id` (`B`), whose reads are the union of both records, and this
/// record takes no more events (they are refused naming `B`) until the merge is undone with
/// `MergeUndone`. Nothing is rewritten: both records keep every event and hash. Recorded first, before
/// `RecordMergedFrom` in `B`, so that nothing can be appended here once the merge has begun.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct RecordMergedInto {
    pub surviving_child_id: ChildId,
    /// Why the two records are one child: what a person checked.
    pub reason: LongText,
}

no_third_parties!(RecordMergedInto);
impl Payload for RecordMergedInto {}

/// The other half of a merge, recorded in the surviving record (`B`) once `RecordMergedInto` is in `A`:
/// the instant the merge takes effect for every read. `merge_event_id` is `A`'s `RecordMergedInto`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct RecordMergedFrom {
    pub merged_child_id: ChildId,
    pub merge_event_id: EventId,
    pub reason: LongText,
}

no_third_parties!(RecordMergedFrom);
impl Payload for RecordMergedFrom {}

/// Undoes a merge, in both records: in `B` first (naming its `RecordMergedFrom`: from then on reads of `B`
/// are `B`'s own records again), then in `A` (naming its `RecordMergedInto`: `A` takes events again).
/// Both records are as they were, with whatever was recorded under `B` meanwhile staying in `B`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct MergeUndone {
    /// This record's `RecordMergedInto` or `RecordMergedFrom`.
    pub merge_event_id: EventId,
    pub reason: LongText,
}

no_third_parties!(MergeUndone);
impl Payload for MergeUndone {}
