//! One child's facts as the Annex A lists need them, beyond what the SSDA903 facts already hold: the front
//! door, children in need, child protection, allocations, orders, visits and the looked-after details
//! Ofsted asks for and the DfE does not. Built from the same events in force at `known_at` (corrections
//! applied, retractions dropped), in the order they occurred (date, then version).

use crate::ssda903::ChildFacts;
use journey_core::codes::{
    AbuseCategory, AdopterSex, CinClosureReason, Disability, PlacementType, PrimaryNeed, ReferralSource,
};
use journey_core::domain::lists::{
    ConferenceKind, ConferenceOutcome, CourtOrderKind, PermanencePlan, PlacementLocation, Section47Outcome,
    StrategyOutcome, VisitKind, WorkerRole,
};
use journey_core::domain::{EventPayload, FamilyId, LaCode, PersonId};
use journey_core::envelope::RecordedEvent;
use journey_core::time::{Date, Timestamp};

/// An early help episode (Annex A list 2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EarlyHelpSpell {
    pub start: Date,
    pub organisation: String,
    /// The first `EarlyHelpAssessmentCompleted` of the episode.
    pub assessed: Option<Date>,
    pub end: Option<Date>,
}

/// A referral (Annex A list 3) and the child in need episode it opened (list 6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Referral {
    pub on: Date,
    pub source: ReferralSource,
    pub no_further_action: bool,
    /// The primary need at referral.
    pub primary_need: PrimaryNeed,
    /// Later assessments' primary needs, with their dates.
    pub need_changes: Vec<(Date, PrimaryNeed)>,
    pub closed: Option<(Date, CinClosureReason)>,
}

/// A continuous assessment (list 4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assessment {
    pub start: Date,
    pub completed: Option<Date>,
    pub authorised: Option<Date>,
    pub child_seen: Option<bool>,
    pub requires_support: Option<bool>,
}

/// A section 47 enquiry (list 5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section47 {
    pub start: Date,
    /// The latest strategy discussion that decided on an enquiry, on or before the start.
    pub strategy: Option<Date>,
    pub end: Option<Date>,
    pub outcome: Option<Section47Outcome>,
}

/// A child protection conference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conference {
    pub on: Date,
    pub kind: ConferenceKind,
    pub outcome: ConferenceOutcome,
}

/// A child protection plan (list 7).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProtectionPlan {
    pub start: Date,
    pub initial: AbuseCategory,
    /// Changes of category, with their dates.
    pub changes: Vec<(Date, AbuseCategory)>,
    pub end: Option<Date>,
}

/// A statutory visit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VisitFact {
    pub on: Date,
    pub kind: VisitKind,
    pub seen: bool,
    pub seen_alone: Option<bool>,
}

/// A worker's allocation in a role, `[start, end]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AllocationSpell {
    pub role: WorkerRole,
    /// The worker's name as recorded, else their id.
    pub worker: String,
    pub team: Option<String>,
    pub start: Date,
    pub end: Option<Date>,
}

/// Where the child was placed, from each placement's record (the SSDA903 episodes do not keep the
/// location or the authority of the placement).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlacementFact {
    pub start: Date,
    pub place_type: PlacementType,
    pub location: Option<PlacementLocation>,
    pub la_of_placement: Option<LaCode>,
}

/// What happened after a missing or absent episode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReturnInterview {
    Offered,
    Held,
    Declined,
}

/// A match with adopters (lists 10 and 11).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MatchFact {
    pub on: Date,
    pub family_id: Option<FamilyId>,
    pub adopters_sex: AdopterSex,
    /// The adopters' person ids, when the match names them.
    pub adopters: Vec<PersonId>,
}

/// One child's facts for the Annex A lists.
#[derive(Clone, Debug, Default)]
pub struct AnnexFacts {
    /// Identity, episodes, reviews, health, missing, care leaver contacts and adoption decisions.
    pub base: ChildFacts,
    /// `None` when never recorded; `Some(empty)` never happens (an empty list is read as not recorded).
    pub disabilities: Option<Vec<Disability>>,
    pub contacts: Vec<(Date, ReferralSource)>,
    pub early_help: Vec<EarlyHelpSpell>,
    pub referrals: Vec<Referral>,
    pub assessments: Vec<Assessment>,
    pub section_47s: Vec<Section47>,
    pub conferences: Vec<Conference>,
    pub plans: Vec<ProtectionPlan>,
    pub visits: Vec<VisitFact>,
    pub allocations: Vec<AllocationSpell>,
    pub orders: Vec<(Date, CourtOrderKind)>,
    pub iro_contacts: Vec<Date>,
    pub permanence_plans: Vec<(Date, PermanencePlan)>,
    pub placements: Vec<PlacementFact>,
    pub return_interviews: Vec<(Date, ReturnInterview)>,
    pub pathway_plan_reviews: Vec<Date>,
    pub placed_for_adoption: Vec<Date>,
    pub matches: Vec<MatchFact>,
}

impl AnnexFacts {
    /// The facts of one child's stream as known at `known_at`.
    pub fn from_stream(events: &[RecordedEvent], known_at: Timestamp) -> AnnexFacts {
        let mut effective = ChildFacts::effective(events, known_at);
        effective.sort_by_key(|(d, version, _)| (*d, *version));
        let child_id = events.first().map(|e| e.envelope.child_id.clone());
        let mut f = AnnexFacts {
            base: ChildFacts::from_events(child_id, effective.clone()),
            ..AnnexFacts::default()
        };
        let mut last_strategy: Option<Date> = None;
        for (d, _, payload) in effective {
            f.apply(d, payload, &mut last_strategy);
        }
        f
    }

    fn apply(&mut self, d: Date, payload: EventPayload, last_strategy: &mut Option<Date>) {
        use EventPayload as P;
        match payload {
            P::ChildRegistered(r) => {
                self.disabilities = Some(r.disabilities).filter(|v| !v.is_empty());
            }
            P::ChildDetailsAmended(a) => {
                if let Some(v) = a.disabilities {
                    self.disabilities = Some(v).filter(|v| !v.is_empty());
                }
            }
            P::ContactReceived(c) => self.contacts.push((d, c.source)),
            P::EarlyHelpStarted(e) => self.early_help.push(EarlyHelpSpell {
                start: d,
                organisation: e.organisation.as_str().to_string(),
                assessed: None,
                end: None,
            }),
            P::EarlyHelpAssessmentCompleted(_) => {
                if let Some(e) = self.early_help.last_mut()
                    && e.end.is_none()
                    && e.assessed.is_none()
                {
                    e.assessed = Some(d);
                }
            }
            P::EarlyHelpEnded(_) => {
                if let Some(e) = self.early_help.last_mut()
                    && e.end.is_none()
                {
                    e.end = Some(d);
                }
            }
            P::ReferralReceived(r) => self.referrals.push(Referral {
                on: d,
                source: r.source,
                no_further_action: r.no_further_action,
                primary_need: r.primary_need,
                need_changes: Vec::new(),
                closed: None,
            }),
            P::ChildInNeedEpisodeClosed(c) => {
                if let Some(r) = self.referrals.last_mut()
                    && r.closed.is_none()
                {
                    r.closed = Some((d, c.reason));
                }
            }
            P::AssessmentStarted(_) => self.assessments.push(Assessment {
                start: d,
                completed: None,
                authorised: None,
                child_seen: None,
                requires_support: None,
            }),
            P::AssessmentCompleted(a) => {
                if let Some(open) = self.assessments.last_mut()
                    && open.completed.is_none()
                {
                    open.completed = Some(d);
                    open.authorised = a.authorised_on;
                    open.child_seen = a.child_seen;
                    open.requires_support = a.requires_social_care_support;
                }
                if let Some(need) = a.primary_need
                    && let Some(r) = self.referrals.last_mut()
                    && r.closed.is_none()
                {
                    r.need_changes.push((d, need));
                }
            }
            P::StrategyDiscussionHeld(s) if s.outcome == StrategyOutcome::Section47Enquiry => {
                *last_strategy = Some(d);
            }
            P::Section47Started(_) => self.section_47s.push(Section47 {
                start: d,
                strategy: last_strategy.take(),
                end: None,
                outcome: None,
            }),
            P::Section47Completed(c) => {
                if let Some(s) = self.section_47s.last_mut()
                    && s.end.is_none()
                {
                    s.end = Some(d);
                    s.outcome = Some(c.outcome);
                }
            }
            P::ChildProtectionConferenceHeld(c) => self.conferences.push(Conference {
                on: d,
                kind: c.kind,
                outcome: c.outcome,
            }),
            P::ChildProtectionPlanStarted(p) => self.plans.push(ProtectionPlan {
                start: d,
                initial: p.category,
                changes: Vec::new(),
                end: None,
            }),
            P::ChildProtectionCategoryChanged(c) => {
                if let Some(p) = self.plans.last_mut()
                    && p.end.is_none()
                {
                    p.changes.push((d, c.category));
                }
            }
            P::ChildProtectionPlanEnded(_) => {
                if let Some(p) = self.plans.last_mut()
                    && p.end.is_none()
                {
                    p.end = Some(d);
                }
            }
            P::ChildVisited(v) => self.visits.push(VisitFact {
                on: d,
                kind: v.kind,
                seen: v.seen,
                seen_alone: v.seen_alone,
            }),
            P::WorkerAllocated(w) => {
                self.end_allocation(w.role, d);
                self.allocations.push(AllocationSpell {
                    role: w.role,
                    worker: w
                        .worker
                        .name
                        .as_ref()
                        .map(|n| n.as_str().to_string())
                        .unwrap_or_else(|| w.worker.worker_id.as_str().to_string()),
                    team: w.team.as_ref().map(|t| t.as_str().to_string()),
                    start: d,
                    end: None,
                });
            }
            P::WorkerAllocationEnded(w) => self.end_allocation(w.role, d),
            P::CourtOrderMade(o) => self.orders.push((d, o.order)),
            P::IndependentReviewingOfficerContacted(_) => self.iro_contacts.push(d),
            P::PermanencePlanRecorded(p) => self.permanence_plans.push((d, p.plan)),
            P::BecameLookedAfter(b) => self.placements.push(PlacementFact {
                start: d,
                place_type: b.placement.place_type,
                location: b.placement.location,
                la_of_placement: b.placement.la_of_placement,
            }),
            P::CareInProgressRecorded(c) => self.placements.push(PlacementFact {
                start: d,
                place_type: c.placement.place_type,
                location: c.placement.location,
                la_of_placement: c.placement.la_of_placement,
            }),
            P::PlacementChanged(c) => self.placements.push(PlacementFact {
                start: d,
                place_type: c.placement.place_type,
                location: c.placement.location,
                la_of_placement: c.placement.la_of_placement,
            }),
            P::ReturnInterviewOffered(_) => self.return_interviews.push((d, ReturnInterview::Offered)),
            P::ReturnInterviewHeld(_) => self.return_interviews.push((d, ReturnInterview::Held)),
            P::ReturnInterviewDeclined(_) => self.return_interviews.push((d, ReturnInterview::Declined)),
            P::PathwayPlanReviewed(_) => self.pathway_plan_reviews.push(d),
            P::PlacedForAdoption(_) => self.placed_for_adoption.push(d),
            P::MatchedWithAdopters(m) => self.matches.push(MatchFact {
                on: d,
                family_id: m.family_id,
                adopters_sex: m.adopters_sex,
                adopters: m.adopters.into_iter().map(|a| a.person_id).collect(),
            }),
            _ => {}
        }
    }

    fn end_allocation(&mut self, role: WorkerRole, d: Date) {
        if let Some(prev) = self
            .allocations
            .iter_mut()
            .rev()
            .find(|a| a.role == role && a.end.is_none())
        {
            prev.end = Some(d);
        }
    }

    /// The allocation in `role` in force on `on` (started on or before it, not ended before it; the latest
    /// to start if several).
    pub fn allocation_on(&self, role: WorkerRole, on: Date) -> Option<&AllocationSpell> {
        self.allocations
            .iter()
            .rev()
            .find(|a| a.role == role && a.start <= on && a.end.is_none_or(|e| e >= on))
    }
}
