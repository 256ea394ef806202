//! Valid time: the child's state, folded from the events in force in the order they occurred.
//!
//! Each event in force is reduced to a compact [`Fact`] (only what the summary needs), and the facts are
//! applied in order of their date, then their version. Ordering by date first is what makes a late record
//! land where it happened. Within a day, version order is used and the time of day is not: the domain rules
//! order a day's opening and closing events by their place in the stream (a period may end and a new one
//! start on the same day, and only the stream says which came first).
//!
//! The fold never fails. Something the record does not support (a placement change when no period of care
//! is open, an episode closed that never opened — possible after a retraction, which the domain never
//! refuses for what it leaves behind) is skipped and reported as an [`Inconsistency`].

use serde::{Deserialize, Serialize};

use crate::codes::{
    AbuseCategory, CategoryOfNeed, Ethnicity, LegalStatus, MissingKind, PlacementProvider, PlacementType,
    PrimaryNeed, ReasonEpisodeCeased, ReasonPlaceChange, ReferralSource, Sex,
};
use crate::domain::lists::{CourtOrderKind, PermanencePlan, VisitKind, WorkerRole};
use crate::domain::{EventKind, EventPayload, ShortText, WorkerId};
use crate::ids::EventId;
use crate::time::{Date, OccurredAt};

/// Who the child is, as registered (the baseline that amendments change from their date on).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Identity {
    pub date_of_birth: Option<Date>,
    pub expected_date_of_birth: Option<Date>,
    pub sex: Option<Sex>,
    pub ethnicity: Option<Ethnicity>,
}

/// What the summary needs of one event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Fact {
    Registered(Identity),
    /// Only the fields given change.
    Amended(Identity),
    Died,
    EarlyHelpStarted,
    EarlyHelpEnded,
    Referral {
        primary_need: PrimaryNeed,
        source: ReferralSource,
    },
    ChildInNeedClosed,
    AssessmentStarted,
    AssessmentCompleted {
        primary_need: Option<PrimaryNeed>,
    },
    ChildInNeedPlanStarted,
    ChildInNeedPlanEnded,
    Section47Started,
    Section47Completed,
    Conference,
    ChildProtectionPlanStarted {
        category: AbuseCategory,
    },
    ChildProtectionCategoryChanged {
        category: AbuseCategory,
    },
    ChildProtectionPlanEnded,
    OrderMade {
        order: CourtOrderKind,
        expires_on: Option<Date>,
    },
    OrderEnded {
        order: CourtOrderKind,
    },
    BecameLookedAfter {
        legal_status: LegalStatus,
        category_of_need: CategoryOfNeed,
        placement: PlacementFact,
        /// `CareInProgressRecorded`: the period began before this date, on a date not recorded.
        start_unknown: bool,
    },
    LegalStatusChanged {
        legal_status: LegalStatus,
    },
    PlacementChanged {
        placement: PlacementFact,
        reason: Option<ReasonPlaceChange>,
    },
    Ceased {
        reason: ReasonEpisodeCeased,
    },
    LookedAfterReview,
    Visited {
        kind: VisitKind,
        seen: bool,
        seen_alone: Option<bool>,
    },
    MissingStarted {
        kind: MissingKind,
    },
    MissingEnded,
    UascRecorded,
    UascCeased,
    PathwayPlanStarted,
    StayingPutStarted,
    StayingPutEnded,
    PermanencePlan {
        plan: PermanencePlan,
    },
    Allocated {
        role: WorkerRole,
        worker_id: WorkerId,
        name: Option<ShortText>,
        team: Option<ShortText>,
    },
    AllocationEnded {
        role: WorkerRole,
    },
    /// An event with no part in the summary (it still counts as an event in view).
    Other(EventKind),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PlacementFact {
    pub place_type: PlacementType,
    pub provider: Option<PlacementProvider>,
}

impl Fact {
    pub fn of(payload: &EventPayload) -> Fact {
        use EventPayload as P;
        match payload {
            P::ChildRegistered(r) => Fact::Registered(Identity {
                date_of_birth: r.date_of_birth,
                expected_date_of_birth: r.expected_date_of_birth,
                sex: Some(r.sex),
                ethnicity: r.ethnicity,
            }),
            P::ChildDetailsAmended(a) => Fact::Amended(Identity {
                date_of_birth: a.date_of_birth,
                expected_date_of_birth: a.expected_date_of_birth,
                sex: a.sex,
                ethnicity: a.ethnicity,
            }),
            P::ChildDied(_) => Fact::Died,
            P::EarlyHelpStarted(_) => Fact::EarlyHelpStarted,
            P::EarlyHelpEnded(_) => Fact::EarlyHelpEnded,
            P::ReferralReceived(r) => Fact::Referral {
                primary_need: r.primary_need,
                source: r.source,
            },
            P::ChildInNeedEpisodeClosed(_) => Fact::ChildInNeedClosed,
            P::AssessmentStarted(_) => Fact::AssessmentStarted,
            P::AssessmentCompleted(a) => Fact::AssessmentCompleted {
                primary_need: a.primary_need,
            },
            P::ChildInNeedPlanStarted(_) => Fact::ChildInNeedPlanStarted,
            P::ChildInNeedPlanEnded(_) => Fact::ChildInNeedPlanEnded,
            P::Section47Started(_) => Fact::Section47Started,
            P::Section47Completed(_) => Fact::Section47Completed,
            P::ChildProtectionConferenceHeld(_) => Fact::Conference,
            P::ChildProtectionPlanStarted(p) => Fact::ChildProtectionPlanStarted { category: p.category },
            P::ChildProtectionCategoryChanged(c) => {
                Fact::ChildProtectionCategoryChanged { category: c.category }
            }
            P::ChildProtectionPlanEnded(_) => Fact::ChildProtectionPlanEnded,
            P::CourtOrderMade(o) => Fact::OrderMade {
                order: o.order,
                expires_on: o.expires_on,
            },
            P::CourtOrderEnded(o) => Fact::OrderEnded { order: o.order },
            P::BecameLookedAfter(b) => Fact::BecameLookedAfter {
                legal_status: b.legal_status,
                category_of_need: b.category_of_need,
                placement: PlacementFact {
                    place_type: b.placement.place_type,
                    provider: b.placement.provider,
                },
                start_unknown: false,
            },
            P::CareInProgressRecorded(c) => Fact::BecameLookedAfter {
                legal_status: c.legal_status,
                category_of_need: c.category_of_need,
                placement: PlacementFact {
                    place_type: c.placement.place_type,
                    provider: c.placement.provider,
                },
                start_unknown: true,
            },
            P::LegalStatusChanged(l) => Fact::LegalStatusChanged {
                legal_status: l.legal_status,
            },
            P::PlacementChanged(p) => Fact::PlacementChanged {
                placement: PlacementFact {
                    place_type: p.placement.place_type,
                    provider: p.placement.provider,
                },
                reason: p.reason,
            },
            P::CeasedToBeLookedAfter(c) => Fact::Ceased { reason: c.reason },
            P::LookedAfterReviewHeld(_) => Fact::LookedAfterReview,
            P::ChildVisited(v) => Fact::Visited {
                kind: v.kind,
                seen: v.seen,
                seen_alone: v.seen_alone,
            },
            P::MissingEpisodeStarted(m) => Fact::MissingStarted { kind: m.kind },
            P::MissingEpisodeEnded(_) => Fact::MissingEnded,
            P::UnaccompaniedAsylumSeekingStatusRecorded(_) => Fact::UascRecorded,
            P::UnaccompaniedAsylumSeekingStatusCeased(_) => Fact::UascCeased,
            P::PathwayPlanStarted(_) => Fact::PathwayPlanStarted,
            P::StayingPutStarted(_) => Fact::StayingPutStarted,
            P::StayingPutEnded(_) => Fact::StayingPutEnded,
            P::PermanencePlanRecorded(p) => Fact::PermanencePlan { plan: p.plan },
            P::WorkerAllocated(w) => Fact::Allocated {
                role: w.role,
                worker_id: w.worker.worker_id.clone(),
                name: w.worker.name.clone(),
                team: w.team.clone(),
            },
            P::WorkerAllocationEnded(w) => Fact::AllocationEnded { role: w.role },
            other => Fact::Other(other.kind()),
        }
    }

    pub fn kind(&self) -> EventKind {
        use EventKind as K;
        match self {
            Fact::Registered(_) => K::ChildRegistered,
            Fact::Amended(_) => K::ChildDetailsAmended,
            Fact::Died => K::ChildDied,
            Fact::EarlyHelpStarted => K::EarlyHelpStarted,
            Fact::EarlyHelpEnded => K::EarlyHelpEnded,
            Fact::Referral { .. } => K::ReferralReceived,
            Fact::ChildInNeedClosed => K::ChildInNeedEpisodeClosed,
            Fact::AssessmentStarted => K::AssessmentStarted,
            Fact::AssessmentCompleted { .. } => K::AssessmentCompleted,
            Fact::ChildInNeedPlanStarted => K::ChildInNeedPlanStarted,
            Fact::ChildInNeedPlanEnded => K::ChildInNeedPlanEnded,
            Fact::Section47Started => K::Section47Started,
            Fact::Section47Completed => K::Section47Completed,
            Fact::Conference => K::ChildProtectionConferenceHeld,
            Fact::ChildProtectionPlanStarted { .. } => K::ChildProtectionPlanStarted,
            Fact::ChildProtectionCategoryChanged { .. } => K::ChildProtectionCategoryChanged,
            Fact::ChildProtectionPlanEnded => K::ChildProtectionPlanEnded,
            Fact::OrderMade { .. } => K::CourtOrderMade,
            Fact::OrderEnded { .. } => K::CourtOrderEnded,
            Fact::BecameLookedAfter {
                start_unknown: false, ..
            } => K::BecameLookedAfter,
            Fact::BecameLookedAfter {
                start_unknown: true, ..
            } => K::CareInProgressRecorded,
            Fact::LegalStatusChanged { .. } => K::LegalStatusChanged,
            Fact::PlacementChanged { .. } => K::PlacementChanged,
            Fact::Ceased { .. } => K::CeasedToBeLookedAfter,
            Fact::LookedAfterReview => K::LookedAfterReviewHeld,
            Fact::Visited { .. } => K::ChildVisited,
            Fact::MissingStarted { .. } => K::MissingEpisodeStarted,
            Fact::MissingEnded => K::MissingEpisodeEnded,
            Fact::UascRecorded => K::UnaccompaniedAsylumSeekingStatusRecorded,
            Fact::UascCeased => K::UnaccompaniedAsylumSeekingStatusCeased,
            Fact::PathwayPlanStarted => K::PathwayPlanStarted,
            Fact::StayingPutStarted => K::StayingPutStarted,
            Fact::StayingPutEnded => K::StayingPutEnded,
            Fact::PermanencePlan { .. } => K::PermanencePlanRecorded,
            Fact::Allocated { .. } => K::WorkerAllocated,
            Fact::AllocationEnded { .. } => K::WorkerAllocationEnded,
            Fact::Other(k) => *k,
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// The parts of the summary the fold produces
// ---------------------------------------------------------------------------------------------------------

/// Something open, since a date, opened by an event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenSince {
    pub since: Date,
    pub event_id: EventId,
}

/// An open child in need episode (opened by a referral).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChildInNeedEpisode {
    pub since: Date,
    pub event_id: EventId,
    pub source: ReferralSource,
    /// From the referral, updated by a completed assessment that names one.
    pub primary_need: PrimaryNeed,
}

/// An open child protection plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChildProtectionPlan {
    pub since: Date,
    pub event_id: EventId,
    pub initial_category: AbuseCategory,
    pub category: AbuseCategory,
    pub category_since: Date,
}

/// The current legal status of a looked-after child (SSDA903 `LS`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegalStatusNow {
    pub code: LegalStatus,
    pub since: Date,
}

/// The current placement of a looked-after child.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlacementNow {
    pub place_type: PlacementType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<PlacementProvider>,
    pub since: Date,
    /// Why the previous placement ended (absent for the first placement of a period of care).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<ReasonPlaceChange>,
    pub event_id: EventId,
}

/// The open period of care.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LookedAfterEpisode {
    /// When this period of care started.
    pub since: Date,
    pub event_id: EventId,
    pub category_of_need: CategoryOfNeed,
    pub legal_status: LegalStatusNow,
    pub placement: PlacementNow,
}

/// The child is missing or away from placement now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissingNow {
    pub kind: MissingKind,
    pub since: OccurredAt,
    pub event_id: EventId,
}

/// A court order (or police protection) in force.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderInForce {
    pub order: CourtOrderKind,
    pub since: Date,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_on: Option<Date>,
    pub event_id: EventId,
}

/// A period of care (from becoming looked after to ceasing), up to the view's date.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeriodOfCare {
    /// The day the period began; for a period found in progress (`start_unknown`), the earliest day the
    /// record knows it was open.
    pub start: Date,
    /// The period began before `start`, on a date the record does not hold (imported history whose earliest
    /// return starts mid-period): `days` and everything counted from the start are at least what is given.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub start_unknown: bool,
    /// `None`: still looked after on the view's date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_ceased: Option<ReasonEpisodeCeased>,
    /// Days looked after in this period up to the view's date: `end - start`, or `on - start` while open
    /// (the SSDA903 convention, as the DfE validators count it).
    pub days: i64,
    /// Placements in this period (the first one included).
    pub placements: u32,
    pub event_id: EventId,
}

/// What the care-leaver rules count (CA89 Sch 2 para 19B; CPPCR 2010 reg 40), as the DfE validators
/// operationalise it (SSDA903 rule 1001): days looked after on or after the 14th birthday, summed over
/// periods and excluding short breaks (legal status V3 and V4); and days on or after the 16th birthday.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CareLeaverFacts {
    /// `date_of_birth + 14 years` (29 February births: 28 February in a common year).
    pub fourteenth_birthday: Date,
    pub sixteenth_birthday: Date,
    /// Days looked after from the 14th birthday up to the view's date, short breaks excluded.
    pub days_after_14th_birthday: i64,
    /// Days looked after from the 16th birthday up to the view's date, short breaks excluded.
    pub days_after_16th_birthday: i64,
    /// At least one day looked after after the 16th birthday (validator rule 1001: `>= 1`).
    pub looked_after_after_16th_birthday: bool,
    /// At least 13 weeks (91 days) after the 14th birthday and at least one day after the 16th: the time
    /// test for an eligible, relevant or former relevant child. The other conditions are a policy's.
    /// Met by the days recorded: with a period whose start is unknown it can only become true.
    pub thirteen_weeks_test_met: bool,
    /// `days_after_14th_birthday` is a lower bound: a period whose start is not recorded began after the 14th
    /// birthday, so days before its recorded start may count too.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub days_after_14th_birthday_at_least: bool,
    /// `days_after_16th_birthday` is a lower bound, likewise.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub days_after_16th_birthday_at_least: bool,
    /// The time test is not met by the days recorded but could be by the days not recorded: whether the
    /// young person is a care leaver depends on when a period began, which the record does not hold.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub thirteen_weeks_test_unknown: bool,
}

/// The permanence plan as last recorded (Ofsted Annex A list 8 "Permanence plan").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PermanencePlanNow {
    pub plan: PermanencePlan,
    pub since: Date,
    pub event_id: EventId,
}

/// A worker allocated to the child, in a role.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Allocation {
    pub role: WorkerRole,
    pub worker_id: WorkerId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<ShortText>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<ShortText>,
    pub since: Date,
    pub event_id: EventId,
}

/// A statutory visit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Visit {
    pub on: Date,
    pub kind: VisitKind,
    pub seen: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seen_alone: Option<bool>,
    pub event_id: EventId,
}

/// An event the fold could not apply as recorded (see the module documentation).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inconsistency {
    pub event_id: EventId,
    pub kind: EventKind,
    pub on: Date,
    pub problem: String,
}

/// Everything open on the view's date.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenEpisodes {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub early_help: Option<OpenSince>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub child_in_need: Option<ChildInNeedEpisode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assessment: Option<OpenSince>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub section_47: Option<OpenSince>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub child_protection_plan: Option<ChildProtectionPlan>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub child_in_need_plan: Option<OpenSince>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub looked_after: Option<LookedAfterEpisode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pathway_plan: Option<OpenSince>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staying_put: Option<OpenSince>,
}

// ---------------------------------------------------------------------------------------------------------
// The fold
// ---------------------------------------------------------------------------------------------------------

/// A period of care as folded so far.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Period {
    pub start: Date,
    /// Begun before `start`, on a date not recorded (`CareInProgressRecorded`).
    pub start_unknown: bool,
    pub end: Option<Date>,
    pub reason_ceased: Option<ReasonEpisodeCeased>,
    pub category_of_need: CategoryOfNeed,
    pub placements: u32,
    pub event_id: EventId,
}

/// How a period of care opens: its first episode, and whether it began before that on a date not recorded.
#[derive(Clone, Copy, Debug)]
struct PeriodStart {
    legal_status: LegalStatus,
    category_of_need: CategoryOfNeed,
    placement: PlacementFact,
    unknown: bool,
}

/// A stretch of one legal status within a period of care: `[start, end)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Segment {
    pub start: Date,
    pub end: Option<Date>,
    pub legal_status: LegalStatus,
}

/// The state after applying facts up to some point. Cheap to clone (a checkpoint of the projection).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Fold {
    /// The latest value given for each identity field by an amendment.
    pub amended: Identity,
    pub died_on: Option<Date>,
    pub uasc_since: Option<Date>,
    pub open: OpenEpisodes,
    pub orders: Vec<OrderInForce>,
    pub periods: Vec<Period>,
    pub segments: Vec<Segment>,
    pub legal_status: Option<LegalStatusNow>,
    pub placement: Option<PlacementNow>,
    pub placement_starts: Vec<Date>,
    pub missing: Option<MissingNow>,
    /// Ordered by role.
    pub allocations: Vec<Allocation>,
    pub last_visit: Option<Visit>,
    pub latest_looked_after_review: Option<Date>,
    pub latest_child_protection_conference: Option<Date>,
    pub permanence_plan: Option<PermanencePlanNow>,
    /// When the last child protection plan ended.
    pub child_protection_plan_ended_on: Option<Date>,
    pub events: u32,
    pub inconsistencies: Vec<Inconsistency>,
}

impl Fold {
    /// Applies the next fact in valid-time order. `at` is when the event occurred (as in force).
    pub fn apply(&mut self, at: OccurredAt, event_id: &EventId, fact: &Fact) {
        let on = at.date();
        self.events += 1;
        let open = |event_id: &EventId| OpenSince {
            since: on,
            event_id: event_id.clone(),
        };
        match fact {
            Fact::Registered(_) | Fact::Other(_) => {}
            Fact::Amended(a) => {
                let m = &mut self.amended;
                m.date_of_birth = a.date_of_birth.or(m.date_of_birth);
                m.expected_date_of_birth = a.expected_date_of_birth.or(m.expected_date_of_birth);
                m.sex = a.sex.or(m.sex);
                m.ethnicity = a.ethnicity.or(m.ethnicity);
            }
            Fact::Died => match self.died_on {
                Some(d) => self.note(
                    event_id,
                    fact,
                    on,
                    format!("the child's death was already recorded on {d}"),
                ),
                None => self.died_on = Some(on),
            },
            Fact::EarlyHelpStarted => {
                if let Some(o) = &self.open.early_help {
                    let problem = already_open("early help episode", o.since);
                    self.note(event_id, fact, on, problem);
                } else {
                    self.open.early_help = Some(open(event_id));
                }
            }
            Fact::EarlyHelpEnded => {
                if self.open.early_help.take().is_none() {
                    self.note(event_id, fact, on, nothing_open("early help episode"));
                }
            }
            Fact::Referral { primary_need, source } => {
                if let Some(o) = &self.open.child_in_need {
                    let problem = already_open("child in need episode", o.since);
                    self.note(event_id, fact, on, problem);
                } else {
                    self.open.child_in_need = Some(ChildInNeedEpisode {
                        since: on,
                        event_id: event_id.clone(),
                        source: *source,
                        primary_need: *primary_need,
                    });
                }
            }
            Fact::ChildInNeedClosed => {
                if self.open.child_in_need.take().is_none() {
                    self.note(event_id, fact, on, nothing_open("child in need episode"));
                }
            }
            Fact::AssessmentStarted => {
                if let Some(o) = &self.open.assessment {
                    let problem = already_open("assessment", o.since);
                    self.note(event_id, fact, on, problem);
                } else {
                    self.open.assessment = Some(open(event_id));
                }
            }
            Fact::AssessmentCompleted { primary_need } => {
                if let (Some(need), Some(cin)) = (primary_need, &mut self.open.child_in_need) {
                    cin.primary_need = *need;
                }
                if self.open.assessment.take().is_none() {
                    self.note(event_id, fact, on, nothing_open("assessment"));
                }
            }
            Fact::ChildInNeedPlanStarted => {
                if let Some(o) = &self.open.child_in_need_plan {
                    let problem = already_open("child in need plan", o.since);
                    self.note(event_id, fact, on, problem);
                } else {
                    self.open.child_in_need_plan = Some(open(event_id));
                }
            }
            Fact::ChildInNeedPlanEnded => {
                if self.open.child_in_need_plan.take().is_none() {
                    self.note(event_id, fact, on, nothing_open("child in need plan"));
                }
            }
            Fact::Section47Started => {
                if let Some(o) = &self.open.section_47 {
                    let problem = already_open("section 47 enquiry", o.since);
                    self.note(event_id, fact, on, problem);
                } else {
                    self.open.section_47 = Some(open(event_id));
                }
            }
            Fact::Section47Completed => {
                if self.open.section_47.take().is_none() {
                    self.note(event_id, fact, on, nothing_open("section 47 enquiry"));
                }
            }
            Fact::Conference => self.latest_child_protection_conference = Some(on),
            Fact::ChildProtectionPlanStarted { category } => {
                if let Some(o) = &self.open.child_protection_plan {
                    let problem = already_open("child protection plan", o.since);
                    self.note(event_id, fact, on, problem);
                } else {
                    self.open.child_protection_plan = Some(ChildProtectionPlan {
                        since: on,
                        event_id: event_id.clone(),
                        initial_category: *category,
                        category: *category,
                        category_since: on,
                    });
                }
            }
            Fact::ChildProtectionCategoryChanged { category } => match &mut self.open.child_protection_plan {
                Some(plan) => {
                    plan.category = *category;
                    plan.category_since = on;
                }
                // A change dated on the day the plan ended belongs to that plan (the domain rules accept it).
                None if self.child_protection_plan_ended_on == Some(on) => {}
                None => self.note(event_id, fact, on, nothing_open("child protection plan")),
            },
            Fact::ChildProtectionPlanEnded => {
                if self.open.child_protection_plan.take().is_some() {
                    self.child_protection_plan_ended_on = Some(on);
                } else {
                    self.note(event_id, fact, on, nothing_open("child protection plan"));
                }
            }
            Fact::OrderMade { order, expires_on } => {
                // Making an order of a kind already in force replaces it (a renewed interim care order).
                self.orders.retain(|o| o.order != *order);
                self.orders.push(OrderInForce {
                    order: *order,
                    since: on,
                    expires_on: *expires_on,
                    event_id: event_id.clone(),
                });
                self.orders.sort_by_key(|o| o.order);
            }
            Fact::OrderEnded { order } => {
                let before = self.orders.len();
                self.orders.retain(|o| o.order != *order);
                if self.orders.len() == before {
                    self.note(
                        event_id,
                        fact,
                        on,
                        format!("no {} was in force", order.code().replace('_', " ")),
                    );
                }
            }
            Fact::BecameLookedAfter {
                legal_status,
                category_of_need,
                placement,
                start_unknown,
            } => {
                let start = PeriodStart {
                    legal_status: *legal_status,
                    category_of_need: *category_of_need,
                    placement: *placement,
                    unknown: *start_unknown,
                };
                self.became_looked_after(on, event_id, fact, start);
            }
            Fact::LegalStatusChanged { legal_status } => {
                self.legal_status_changed(on, event_id, fact, *legal_status)
            }
            Fact::PlacementChanged { placement, reason } => {
                self.placement_changed(on, event_id, fact, *placement, *reason);
            }
            Fact::Ceased { reason } => match self.open_period() {
                Some(i) => {
                    let p = &mut self.periods[i];
                    p.end = Some(on);
                    p.reason_ceased = Some(*reason);
                    self.end_segment(on);
                    self.legal_status = None;
                    self.placement = None;
                    self.open.looked_after = None;
                }
                None => self.note(event_id, fact, on, nothing_open("period of care")),
            },
            Fact::LookedAfterReview => self.latest_looked_after_review = Some(on),
            Fact::Visited {
                kind,
                seen,
                seen_alone,
            } => {
                self.last_visit = Some(Visit {
                    on,
                    kind: *kind,
                    seen: *seen,
                    seen_alone: *seen_alone,
                    event_id: event_id.clone(),
                });
            }
            Fact::MissingStarted { kind } => {
                if let Some(m) = &self.missing {
                    let problem = already_open("missing episode", m.since.date());
                    self.note(event_id, fact, on, problem);
                } else {
                    self.missing = Some(MissingNow {
                        kind: *kind,
                        since: at,
                        event_id: event_id.clone(),
                    });
                }
            }
            Fact::MissingEnded => {
                if self.missing.take().is_none() {
                    self.note(event_id, fact, on, nothing_open("missing episode"));
                }
            }
            Fact::UascRecorded => {
                if self.uasc_since.is_none() {
                    self.uasc_since = Some(on);
                }
            }
            Fact::UascCeased => {
                if self.uasc_since.take().is_none() {
                    self.note(
                        event_id,
                        fact,
                        on,
                        nothing_open("period as an unaccompanied asylum-seeking child"),
                    );
                }
            }
            Fact::PathwayPlanStarted => {
                if self.open.pathway_plan.is_none() {
                    self.open.pathway_plan = Some(open(event_id));
                }
            }
            Fact::StayingPutStarted => {
                if let Some(o) = &self.open.staying_put {
                    let problem = already_open("staying put arrangement", o.since);
                    self.note(event_id, fact, on, problem);
                } else {
                    self.open.staying_put = Some(open(event_id));
                }
            }
            Fact::StayingPutEnded => {
                if self.open.staying_put.take().is_none() {
                    self.note(event_id, fact, on, nothing_open("staying put arrangement"));
                }
            }
            Fact::PermanencePlan { plan } => {
                self.permanence_plan = Some(PermanencePlanNow {
                    plan: *plan,
                    since: on,
                    event_id: event_id.clone(),
                });
            }
            Fact::Allocated {
                role,
                worker_id,
                name,
                team,
            } => {
                // A new allocation in a role replaces the worker in it.
                self.allocations.retain(|a| a.role != *role);
                self.allocations.push(Allocation {
                    role: *role,
                    worker_id: worker_id.clone(),
                    name: name.clone(),
                    team: team.clone(),
                    since: on,
                    event_id: event_id.clone(),
                });
                self.allocations.sort_by_key(|a| a.role);
            }
            Fact::AllocationEnded { role } => {
                let before = self.allocations.len();
                self.allocations.retain(|a| a.role != *role);
                if self.allocations.len() == before {
                    self.note(
                        event_id,
                        fact,
                        on,
                        format!("no {} was allocated", role.code().replace('_', " ")),
                    );
                }
            }
        }
    }

    fn note(&mut self, event_id: &EventId, fact: &Fact, on: Date, problem: String) {
        self.inconsistencies.push(Inconsistency {
            event_id: event_id.clone(),
            kind: fact.kind(),
            on,
            problem,
        });
    }

    fn open_period(&self) -> Option<usize> {
        self.periods
            .last()
            .filter(|p| p.end.is_none())
            .map(|_| self.periods.len() - 1)
    }

    /// The period that ended on `on`, when none is open: a change dated on the day a period ended belongs to
    /// it (the domain rules accept it there).
    fn period_ended_on(&self, on: Date) -> Option<usize> {
        self.periods
            .last()
            .filter(|p| p.end == Some(on))
            .map(|_| self.periods.len() - 1)
    }

    fn end_segment(&mut self, on: Date) {
        if let Some(s) = self.segments.last_mut().filter(|s| s.end.is_none()) {
            s.end = Some(on);
        }
    }

    fn start_segment(&mut self, on: Date, legal_status: LegalStatus) {
        self.end_segment(on);
        self.segments.push(Segment {
            start: on,
            end: None,
            legal_status,
        });
        self.legal_status = Some(LegalStatusNow {
            code: legal_status,
            since: on,
        });
    }

    fn set_placement(
        &mut self,
        on: Date,
        event_id: &EventId,
        p: PlacementFact,
        reason: Option<ReasonPlaceChange>,
    ) {
        self.placement = Some(PlacementNow {
            place_type: p.place_type,
            provider: p.provider,
            since: on,
            reason,
            event_id: event_id.clone(),
        });
        self.placement_starts.push(on);
    }

    fn became_looked_after(&mut self, on: Date, event_id: &EventId, fact: &Fact, start: PeriodStart) {
        let PeriodStart {
            legal_status,
            category_of_need,
            placement,
            unknown,
        } = start;
        match self.open_period() {
            Some(i) => {
                // Possible after the retraction of the event that ended the earlier period: the child is
                // taken to have stayed looked after, with this legal status and placement from this date.
                let since = self.periods[i].start;
                self.note(
                    event_id,
                    fact,
                    on,
                    format!(
                        "{}: applied as a change of legal status and placement",
                        already_open("period of care", since)
                    ),
                );
                self.periods[i].placements += 1;
                self.start_segment(on, legal_status);
                self.set_placement(on, event_id, placement, None);
            }
            None => {
                self.periods.push(Period {
                    start: on,
                    start_unknown: unknown,
                    end: None,
                    reason_ceased: None,
                    category_of_need,
                    placements: 1,
                    event_id: event_id.clone(),
                });
                self.start_segment(on, legal_status);
                self.set_placement(on, event_id, placement, None);
            }
        }
        self.refresh_episode();
    }

    fn legal_status_changed(&mut self, on: Date, event_id: &EventId, fact: &Fact, legal_status: LegalStatus) {
        if self.open_period().is_some() {
            self.start_segment(on, legal_status);
            self.refresh_episode();
        } else if self.period_ended_on(on).is_none() {
            self.note(event_id, fact, on, nothing_open("period of care"));
        }
    }

    fn placement_changed(
        &mut self,
        on: Date,
        event_id: &EventId,
        fact: &Fact,
        placement: PlacementFact,
        reason: Option<ReasonPlaceChange>,
    ) {
        if let Some(i) = self.open_period() {
            self.periods[i].placements += 1;
            self.set_placement(on, event_id, placement, reason);
            self.refresh_episode();
        } else if let Some(i) = self.period_ended_on(on) {
            self.periods[i].placements += 1;
            self.placement_starts.push(on);
        } else {
            self.note(event_id, fact, on, nothing_open("period of care"));
        }
    }

    fn refresh_episode(&mut self) {
        self.open.looked_after = match (self.open_period(), self.legal_status, &self.placement) {
            (Some(i), Some(legal_status), Some(placement)) => {
                let p = &self.periods[i];
                Some(LookedAfterEpisode {
                    since: p.start,
                    event_id: p.event_id.clone(),
                    category_of_need: p.category_of_need,
                    legal_status,
                    placement: placement.clone(),
                })
            }
            _ => None,
        };
    }
}

fn already_open(thing: &str, since: Date) -> String {
    let article = if thing.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {thing} was already open (since {since})")
}

fn nothing_open(thing: &str) -> String {
    format!("no {thing} was open to end or change")
}

/// Days of `[start, end)` clipped to `[from, on)`; `end: None` means still running on `on`.
pub(crate) fn days_within(start: Date, end: Option<Date>, from: Option<Date>, on: Date) -> i64 {
    let end = end.map_or(on, |e| e.min(on));
    let start = from.map_or(start, |f| start.max(f));
    i64::from(start.days_until(end)).max(0)
}
