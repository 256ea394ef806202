//! Measuring what was generated: the shares of children reaching each stage, timeliness, late recording,
//! corrections and re-referrals, computed from the appends alone (the events as a store would hold them),
//! not from the generator's knobs. Tests compare these with the profile; the numbers are also what a
//! benchmark or demonstration reports about its data.

use std::collections::HashMap;

use serde::Serialize;

use journey_core::codes::ReasonEpisodeCeased;
use journey_core::domain::EventPayload;
use journey_core::domain::lists::{ConferenceKind, CourtOrderKind, StrategyOutcome};
use journey_core::ids::ChildId;
use journey_core::time::{Date, Timestamp};

use super::GeneratedAppend;
use super::calendar::Calendar;

/// What one child's events show (original events; corrections are counted, not applied).
#[derive(Debug, Default)]
struct Facts {
    dob: Option<Date>,
    referrals: Vec<Date>,
    assessment_started: bool,
    assessments_completed: Vec<Date>,
    s47_strategies: Vec<Date>,
    section_47: bool,
    initial_conferences: Vec<Date>,
    plan: bool,
    looked_after: Vec<Date>,
    adopted: bool,
    special_guardianship: bool,
    pathway_plan: bool,
    left_care: Vec<(Date, ReasonEpisodeCeased)>,
    placed_for_adoption: Vec<Date>,
    matched: Vec<Date>,
    placement_orders: Vec<Date>,
    missing_ended: Vec<Timestamp>,
    interviews_offered: Vec<Timestamp>,
}

/// Accumulates [`Proportions`] over appends (of one authority, in any order).
#[derive(Debug, Default)]
pub struct Tally {
    children: HashMap<ChildId, Facts>,
    appends: usize,
    multi_event_appends: usize,
    events: usize,
    live_events: usize,
    late: usize,
    imported: usize,
    corrected: usize,
    retracted: usize,
    strategy_discussions: usize,
    strategy_late: usize,
}

/// The measured shares. Stage shares are of children; `late_recorded` of live (not migrated) events;
/// `corrected` and `retracted` of all other events.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Proportions {
    pub children: usize,
    pub appends: usize,
    pub events: usize,
    pub multi_event_appends: f64,
    pub referral: f64,
    pub assessment: f64,
    pub section_47: f64,
    pub initial_conference: f64,
    pub child_protection_plan: f64,
    pub looked_after: f64,
    pub adoption: f64,
    pub special_guardianship: f64,
    /// Left care aged 16 or more with a pathway plan.
    pub care_leavers: f64,
    /// Recorded more than 7 days after the day it happened.
    pub late_recorded: f64,
    /// Of live strategy discussions, recorded more than 7 days after they were held.
    pub strategy_discussions_late: f64,
    /// Migrated at go-live (with `source_recorded_at`).
    pub imported: f64,
    pub corrected: f64,
    pub retracted: f64,
    /// Of initial conferences, held within 15 working days of the strategy discussion that started the
    /// section 47 enquiry.
    pub icpc_within_15wd: f64,
    pub initial_conferences: usize,
    /// Of completed assessments, completed within 45 working days of the referral.
    pub assessment_within_45wd: f64,
    /// Of referrals, within 12 months of a previous referral of the same child.
    pub re_referrals: f64,
    pub referrals: usize,
    /// Of return interviews offered, within 72 hours of the return.
    pub return_interview_within_72h: f64,
    /// Adoption scorecard A1 (days from entering care to placement for adoption), mean over the children
    /// placed; A2 (placement order to match), mean over those placed under a placement order.
    pub a1_mean_days: f64,
    pub a2_mean_days: f64,
    pub adoptions_placed: usize,
}

impl Tally {
    pub fn new() -> Tally {
        Tally::default()
    }

    pub fn add(&mut self, append: &GeneratedAppend) {
        self.appends += 1;
        if append.request.events.len() > 1 {
            self.multi_event_appends += 1;
        }
        let facts = self.children.entry(append.request.child_id.clone()).or_default();
        for e in &append.request.events {
            let day = e.occurred_at.date();
            match &e.payload {
                EventPayload::EventCorrected(_) => {
                    self.corrected += 1;
                    continue;
                }
                EventPayload::EventRetracted(_) => {
                    self.retracted += 1;
                    continue;
                }
                _ => {}
            }
            self.events += 1;
            if e.source_recorded_at.is_some() {
                self.imported += 1;
            } else {
                self.live_events += 1;
                let late = day.days_until(append.recorded_at.england_date()) > 7;
                if late {
                    self.late += 1;
                }
                if let EventPayload::StrategyDiscussionHeld(_) = &e.payload {
                    self.strategy_discussions += 1;
                    self.strategy_late += usize::from(late);
                }
            }
            match &e.payload {
                EventPayload::ChildRegistered(r) => facts.dob = r.date_of_birth.or(r.expected_date_of_birth),
                EventPayload::ChildDetailsAmended(a) => facts.dob = a.date_of_birth.or(facts.dob),
                EventPayload::ReferralReceived(_) => facts.referrals.push(day),
                EventPayload::AssessmentStarted(_) => facts.assessment_started = true,
                EventPayload::AssessmentCompleted(_) => facts.assessments_completed.push(day),
                EventPayload::StrategyDiscussionHeld(s) if s.outcome == StrategyOutcome::Section47Enquiry => {
                    facts.s47_strategies.push(day);
                }
                EventPayload::Section47Started(_) => facts.section_47 = true,
                EventPayload::ChildProtectionConferenceHeld(c) if c.kind == ConferenceKind::Initial => {
                    facts.initial_conferences.push(day);
                }
                EventPayload::ChildProtectionPlanStarted(_) => facts.plan = true,
                EventPayload::BecameLookedAfter(_) => facts.looked_after.push(day),
                EventPayload::CeasedToBeLookedAfter(c) => {
                    facts.adopted |= c.reason.is_adoption();
                    facts.special_guardianship |= c.reason.is_special_guardianship();
                    facts.left_care.push((day, c.reason));
                }
                EventPayload::PathwayPlanStarted(_) => facts.pathway_plan = true,
                EventPayload::PlacedForAdoption(_) => facts.placed_for_adoption.push(day),
                EventPayload::MatchedWithAdopters(_) => facts.matched.push(day),
                EventPayload::CourtOrderMade(o) if o.order == CourtOrderKind::PlacementOrder => {
                    facts.placement_orders.push(day);
                }
                EventPayload::MissingEpisodeEnded(_) => {
                    facts.missing_ended.push(e.occurred_at.to_timestamp())
                }
                EventPayload::ReturnInterviewOffered(_) => {
                    facts.interviews_offered.push(e.occurred_at.to_timestamp())
                }
                _ => {}
            }
        }
    }

    pub fn proportions(&self) -> Proportions {
        let n = self.children.len().max(1) as f64;
        let share = |f: &dyn Fn(&Facts) -> bool| self.children.values().filter(|c| f(c)).count() as f64 / n;
        let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        let cal = Calendar::new(2010, 2032);

        let (mut icpc, mut icpc_on_time) = (0, 0);
        let (mut assessed, mut assessed_on_time) = (0, 0);
        let (mut referrals, mut re_referrals) = (0, 0);
        let (mut offered, mut offered_on_time) = (0, 0);
        let (mut a1, mut a2, mut placed, mut with_order) = (0i64, 0i64, 0usize, 0usize);
        for c in self.children.values() {
            for &d in &c.initial_conferences {
                if let Some(&s) = c.s47_strategies.iter().filter(|s| **s <= d).max() {
                    icpc += 1;
                    if cal.between(s, d) <= 15 {
                        icpc_on_time += 1;
                    }
                }
            }
            for &d in &c.assessments_completed {
                if let Some(&r) = c.referrals.iter().filter(|r| **r <= d).max() {
                    assessed += 1;
                    if cal.between(r, d) <= 45 {
                        assessed_on_time += 1;
                    }
                }
            }
            let mut sorted = c.referrals.clone();
            sorted.sort_unstable();
            referrals += sorted.len();
            re_referrals += sorted.windows(2).filter(|w| w[0].days_until(w[1]) <= 365).count();
            for &o in &c.interviews_offered {
                if let Some(&back) = c.missing_ended.iter().filter(|e| **e <= o).max() {
                    offered += 1;
                    if o.as_micros() - back.as_micros() <= 72 * 3_600_000_000 {
                        offered_on_time += 1;
                    }
                }
            }
            for &p in &c.placed_for_adoption {
                if let Some(&entry) = c.looked_after.iter().filter(|e| **e <= p).max() {
                    placed += 1;
                    a1 += i64::from(entry.days_until(p));
                    let matched = c.matched.iter().filter(|m| **m <= p).max();
                    let order = c.placement_orders.iter().filter(|o| **o <= p).max();
                    if let (Some(m), Some(o)) = (matched, order) {
                        a2 += i64::from(o.days_until(*m).max(0));
                        with_order += 1;
                    }
                }
            }
        }
        let care_leaver = |c: &Facts| {
            c.pathway_plan
                && c.left_care.iter().any(|(d, r)| {
                    !r.is_adoption()
                        && !r.is_special_guardianship()
                        && c.dob.is_some_and(|dob| dob.age_on(*d) >= 16)
                })
        };
        Proportions {
            children: self.children.len(),
            appends: self.appends,
            events: self.events,
            multi_event_appends: ratio(self.multi_event_appends, self.appends),
            referral: share(&|c| !c.referrals.is_empty()),
            assessment: share(&|c| c.assessment_started),
            section_47: share(&|c| c.section_47),
            initial_conference: share(&|c| !c.initial_conferences.is_empty()),
            child_protection_plan: share(&|c| c.plan),
            looked_after: share(&|c| !c.looked_after.is_empty()),
            adoption: share(&|c| c.adopted),
            special_guardianship: share(&|c| c.special_guardianship),
            care_leavers: share(&care_leaver),
            late_recorded: ratio(self.late, self.live_events),
            strategy_discussions_late: ratio(self.strategy_late, self.strategy_discussions),
            imported: ratio(self.imported, self.events),
            corrected: ratio(self.corrected, self.events),
            retracted: ratio(self.retracted, self.events),
            icpc_within_15wd: ratio(icpc_on_time, icpc),
            initial_conferences: icpc,
            assessment_within_45wd: ratio(assessed_on_time, assessed),
            re_referrals: ratio(re_referrals, referrals),
            referrals,
            return_interview_within_72h: ratio(offered_on_time, offered),
            a1_mean_days: if placed == 0 {
                0.0
            } else {
                a1 as f64 / placed as f64
            },
            a2_mean_days: if with_order == 0 {
                0.0
            } else {
                a2 as f64 / with_order as f64
            },
            adoptions_placed: placed,
        }
    }
}
