//! Child protection: strategy discussion, section 47 enquiry, conferences, the plan and its core group.

use serde::{Deserialize, Serialize};

use crate::codes::AbuseCategory;
use crate::error::Problems;
use crate::ids::EventId;

use super::super::lists::{
    ConferenceKind, ConferenceOutcome, CpPlanEndReason, Section47Outcome, StrategyOutcome,
};
use super::super::subjects::{DataSubject, ThirdPartyData, join, no_third_parties};
use super::super::values::{AgencyAttendance, LongText, PersonAttendance, Professional, duplicate};
use super::super::{EventKind, Payload, Reference};

/// A strategy discussion or meeting: who was invited and who took part, by agency, and what it decided.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct StrategyDiscussionHeld {
    /// At least one agency (children's social care, police and health at a minimum by statute).
    pub agencies: Vec<AgencyAttendance>,
    pub outcome: StrategyOutcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<LongText>,
}

impl ThirdPartyData for StrategyDiscussionHeld {
    fn third_parties(&self, at: &str, out: &mut Vec<DataSubject>) {
        self.agencies.third_parties(&join(at, "agencies"), out);
    }
}

impl Payload for StrategyDiscussionHeld {
    fn validate(&self, p: &mut Problems) {
        if self.agencies.is_empty() {
            p.push(
                "agencies",
                "must list at least one agency with its invitation and attendance",
            );
        }
        attendance_rules(&self.agencies, p);
    }
}

pub(crate) fn attendance_rules(agencies: &[AgencyAttendance], p: &mut Problems) {
    let keys = agencies
        .iter()
        .map(|a| (a.agency, a.professional.as_ref().map(|w| &w.worker_id)));
    if let Some(i) = duplicate(keys) {
        p.push(
            format!("agencies[{i}]"),
            "repeats an earlier entry (same agency and professional)",
        );
    }
}

/// A section 47 enquiry started (CIN census `S47ActualStartDate`: the strategy discussion that initiated it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct Section47Started {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy_discussion_event_id: Option<EventId>,
}

no_third_parties!(Section47Started);

impl Payload for Section47Started {
    fn references(&self) -> Vec<Reference<'_>> {
        self.strategy_discussion_event_id
            .iter()
            .map(|id| Reference {
                path: "strategy_discussion_event_id",
                target: id,
                kinds: &[EventKind::StrategyDiscussionHeld],
                what: "the strategy discussion that initiated the enquiry",
            })
            .collect()
    }
}

/// The section 47 enquiry was completed, with its outcome (CIN census `ICPCnotRequired`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct Section47Completed {
    pub outcome: Section47Outcome,
}

no_third_parties!(Section47Completed);
impl Payload for Section47Completed {}

/// A child protection conference (initial, review or transfer-in): attendance and reports by agency, the
/// family's attendance, and the outcome (CIN census `DateOfInitialCPC`, `CPPreviewDate`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct ChildProtectionConferenceHeld {
    pub kind: ConferenceKind,
    pub outcome: ConferenceOutcome,
    /// The category of abuse decided on, when a plan is required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<AbuseCategory>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub agencies: Vec<AgencyAttendance>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub family: Vec<PersonAttendance>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chair: Option<Professional>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quorate: Option<bool>,
}

impl ThirdPartyData for ChildProtectionConferenceHeld {
    fn third_parties(&self, at: &str, out: &mut Vec<DataSubject>) {
        self.agencies.third_parties(&join(at, "agencies"), out);
        self.family.third_parties(&join(at, "family"), out);
        self.chair.third_parties(&join(at, "chair"), out);
    }
}

impl Payload for ChildProtectionConferenceHeld {
    fn validate(&self, p: &mut Problems) {
        if self.category.is_some() && self.outcome == ConferenceOutcome::PlanNotRequired {
            p.push("category", "must be absent when the outcome is plan_not_required");
        }
        attendance_rules(&self.agencies, p);
        if let Some(i) = duplicate(self.family.iter().map(|f| &f.person.person_id)) {
            p.push(
                format!("family[{i}].person.person_id"),
                "names the same person twice",
            );
        }
    }
}

/// A child protection plan started (CIN census `CPPstartDate`, `InitialCategoryOfAbuse`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct ChildProtectionPlanStarted {
    pub category: AbuseCategory,
    /// The conference that decided on the plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conference_event_id: Option<EventId>,
}

no_third_parties!(ChildProtectionPlanStarted);

impl Payload for ChildProtectionPlanStarted {
    fn references(&self) -> Vec<Reference<'_>> {
        self.conference_event_id
            .iter()
            .map(|id| Reference {
                path: "conference_event_id",
                target: id,
                kinds: &[EventKind::ChildProtectionConferenceHeld],
                what: "the conference that decided on the plan",
            })
            .collect()
    }
}

/// The plan's category of abuse changed (CIN census `LatestCategoryOfAbuse`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct ChildProtectionCategoryChanged {
    pub category: AbuseCategory,
}

no_third_parties!(ChildProtectionCategoryChanged);
impl Payload for ChildProtectionCategoryChanged {}

/// The core group met (first meeting due within 10 working days of the initial conference).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct CoreGroupMet {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub agencies: Vec<AgencyAttendance>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub family: Vec<PersonAttendance>,
}

impl ThirdPartyData for CoreGroupMet {
    fn third_parties(&self, at: &str, out: &mut Vec<DataSubject>) {
        self.agencies.third_parties(&join(at, "agencies"), out);
        self.family.third_parties(&join(at, "family"), out);
    }
}

impl Payload for CoreGroupMet {
    fn validate(&self, p: &mut Problems) {
        attendance_rules(&self.agencies, p);
    }
}

/// The child protection plan ended (CIN census `CPPendDate`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct ChildProtectionPlanEnded {
    pub reason: CpPlanEndReason,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<LongText>,
}

no_third_parties!(ChildProtectionPlanEnded);

impl Payload for ChildProtectionPlanEnded {
    fn validate(&self, p: &mut Problems) {
        if self.reason == CpPlanEndReason::Other && self.detail.is_none() {
            p.push("detail", "is required when reason is other");
        }
    }
}
