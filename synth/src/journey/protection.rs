//! Child protection: strategy discussions, section 47 enquiries, conferences and child protection plans.

use super::*;

impl Sim<'_> {
    /// A strategy discussion on `s` that starts a section 47 enquiry the same day, the enquiry naming and
    /// caused by it.
    pub(super) fn section_47_from_strategy_discussion(&mut self, s: Date) {
        let sd = self.strategy_discussion(s, StrategyOutcome::Section47Enquiry);
        let started = self.emit(
            s,
            Section47Started {
                strategy_discussion_event_id: Some(self.id(sd)),
            },
            Src::La,
        );
        if let Some(dr) = self.last_mut(started) {
            // Optional: left out if the strategy discussion is only typed up after the enquiry is recorded.
            dr.optional_ref = Some(sd);
            dr.causation = Some(sd);
        }
    }

    pub(super) fn strategy_discussion(&mut self, d: Date, outcome: StrategyOutcome) -> u32 {
        let mut agencies = vec![AgencyAttendance {
            agency: PartnerAgency::ChildrensSocialCare,
            invited: true,
            attended: true,
            report_submitted: None,
            professional: self.sw.map(|n| self.social_worker(n, "Assessment Team")),
        }];
        agencies.push(self.attendance(PartnerAgency::Police, 0.72, None));
        let health = self.health_agency(d);
        agencies.push(self.attendance(health, 0.62, None));
        if (4..=17).contains(&self.age_on(d)) {
            agencies.push(self.attendance(PartnerAgency::Education, 0.55, None));
        }
        let summary = Some(long(match outcome {
            StrategyOutcome::Section47Enquiry => {
                "Reasonable cause to suspect significant harm: section 47 enquiry to start."
            }
            StrategyOutcome::ContinueChildInNeed => {
                "Threshold for section 47 not met: continue the assessment under section 17."
            }
            _ => "No further action.",
        }));
        let held = StrategyDiscussionHeld {
            agencies,
            outcome,
            summary,
        };
        self.emit(d, held, Src::La)
    }

    /// Strategy discussion, section 47, perhaps an initial conference and a plan. For a looked-after
    /// journey through protection, `care` says when the child enters care: the plan runs until then.
    /// Returns the date the plan started, if one did.
    pub(super) fn protection(&mut self, r: Date, depth: Depth, care: Option<CarePlan>) -> Option<Date> {
        let urgent = self.rng.chance(0.3);
        let lag = self.rng.int(1, 8);
        let s = if urgent { r } else { self.wd(r, lag) };
        self.section_47_from_strategy_discussion(s);
        let conference = depth != Depth::Section47;
        // The initial conference: within 15 working days of the strategy discussion, or late.
        let icpc_wd = if self.rng.chance(self.p.timeliness.icpc_within_15wd) {
            self.rng.int(6, 15)
        } else {
            self.rng.int(16, 40)
        };
        let icpc = self.wd(s, icpc_wd);
        let s47_done = if conference {
            let n = self.rng.int(3, icpc_wd - 1);
            self.wd(s, n)
        } else {
            let n = self.rng.int(5, 20);
            self.wd(s, n)
        };
        let outcome = if conference {
            Section47Outcome::ConferenceRequired
        } else if self.rng.chance(0.55) {
            Section47Outcome::NotSubstantiated
        } else {
            Section47Outcome::SubstantiatedNoConference
        };
        self.emit(s47_done, Section47Completed { outcome }, Src::La);
        let plan = matches!(depth, Depth::ProtectionPlan | Depth::LookedAfter);
        let assessment_done = self.assessment(r, None, true);
        if !conference {
            if self.rng.chance(0.45) {
                let start = assessment_done.max(s47_done);
                let g = self.group();
                self.emit_in(g, start, ChildInNeedPlanStarted {});
                let len = self.rng.log_normal_days(180.0, 0.5, 60, 600);
                self.child_in_need_plan(start, start.add_days(len), false);
            } else {
                // Closed after a section 47 that needed no conference: the census's "closed after
                // assessment" codes (RC8, RC9) say no enquiry happened (DfE rule 2990), so "any other reason".
                let close = assessment_done.max(s47_done).add_days(self.rng.int(0, 7));
                self.close_episode(close, CinClosureReason::RC7);
            }
            return None;
        }
        self.category = self.rng.weighted(&[
            (AbuseCategory::NEG, 0.48),
            (AbuseCategory::EMO, 0.36),
            (AbuseCategory::PHY, 0.07),
            (AbuseCategory::SAB, 0.04),
            (AbuseCategory::MUL, 0.05),
        ]);
        let g = self.group();
        let conf = self.conference(g, icpc, ConferenceKind::Initial, plan);
        if !plan {
            if self.rng.chance(0.6) {
                let start = icpc.max(assessment_done);
                let g = self.group();
                self.emit_in(g, start, ChildInNeedPlanStarted {});
                let len = self.rng.log_normal_days(200.0, 0.5, 60, 600);
                self.child_in_need_plan(start, start.add_days(len), false);
            } else {
                let close = icpc.max(assessment_done).add_days(self.rng.int(0, 10));
                self.close_episode(close, CinClosureReason::RC7);
            }
            return None;
        }
        let started = ChildProtectionPlanStarted {
            category: self.category,
            conference_event_id: Some(self.id(conf)),
        };
        let ps = self.emit_in(g, icpc, started);
        if let Some(dr) = self.last_mut(ps) {
            dr.optional_ref = Some(conf);
            dr.causation = Some(conf);
        }
        if self.rng.chance(0.5) {
            let d = icpc.add_days(self.rng.int(0, 10));
            self.allocate(d, "Safeguarding Team", Some(SocialWorkerChangeReason::TSPROC));
        }
        match care {
            Some(c) => {
                // The plan runs until the child comes into care.
                self.cp_plan(icpc, c.entry, PlanEnd::LookedAfter);
            }
            None => {
                let len = self.rng.log_normal_days(270.0, 0.55, 45, 1000);
                let transfer = self.rng.chance(self.p.shares.transferred_out / 0.3);
                let end = if transfer {
                    PlanEnd::Transfer
                } else {
                    PlanEnd::Review
                };
                self.cp_plan(icpc, icpc.add_days(len), end);
            }
        }
        Some(icpc)
    }

    /// A child protection conference in group `g`. Returns the event number.
    pub(super) fn conference(&mut self, g: u32, d: Date, kind: ConferenceKind, plan: bool) -> u32 {
        let mut agencies = vec![AgencyAttendance {
            agency: PartnerAgency::ChildrensSocialCare,
            invited: true,
            attended: true,
            report_submitted: Some(self.rng.chance(0.9)),
            professional: self.sw.map(|n| self.social_worker(n, "Safeguarding Team")),
        }];
        agencies.push(self.attendance(PartnerAgency::Police, 0.55, Some(0.5)));
        let health = self.health_agency(d);
        agencies.push(self.attendance(health, 0.7, Some(0.65)));
        if (4..=17).contains(&self.age_on(d)) {
            agencies.push(self.attendance(PartnerAgency::Education, 0.75, Some(0.7)));
        }
        let quorate = agencies.iter().filter(|a| a.attended).count() >= 3;
        let mut family = vec![PersonAttendance {
            person: self.mother.clone(),
            attended: self.rng.chance(0.8),
        }];
        if self.rng.chance(0.6) {
            family.push(PersonAttendance {
                person: self.father.clone(),
                attended: self.rng.chance(0.5),
            });
        }
        let held = ChildProtectionConferenceHeld {
            kind,
            outcome: if plan {
                ConferenceOutcome::PlanRequired
            } else {
                ConferenceOutcome::PlanNotRequired
            },
            category: plan.then_some(self.category),
            agencies,
            family,
            chair: Some(professional(
                "CPC",
                self.rng.int(1, 8) as u32,
                "Child protection chair",
                &format!("{} Safeguarding Unit", self.w.name),
            )),
            quorate: Some(quorate),
        };
        self.emit_in(g, d, held)
    }

    /// A child protection plan from `start`, planned to end around `until`.
    pub(super) fn cp_plan(&mut self, start: Date, until: Date, end: PlanEnd) {
        let t = self.p.timeliness.clone();
        let eighteen = self.dob.add_years(18).add_days(-1);
        let mut until = until.max(start.add_days(20));
        let mut end = end;
        if end != PlanEnd::LookedAfter && until >= eighteen {
            until = eighteen;
            end = PlanEnd::Eighteen;
        }
        // Review conferences: the first within 3 months, then 6-monthly; the plan ends at the review on or
        // after the planned end (a review conference that decides the plan is no longer needed).
        let mut reviews = Vec::new();
        let first = if self.rng.chance(t.review_conference_on_time) {
            self.rng.int(70, 91)
        } else {
            self.rng.int(92, 135)
        };
        let mut d = self.working(start.add_days(first));
        while d < until {
            reviews.push(d);
            let gap = if self.rng.chance(t.review_conference_on_time) {
                self.rng.int(150, 182)
            } else {
                self.rng.int(183, 230)
            };
            d = self.working(d.add_days(gap));
        }
        let end_date = match end {
            PlanEnd::Review => d,
            _ => until,
        };
        for (i, &rd) in reviews.iter().enumerate() {
            if rd >= end_date {
                break;
            }
            let g = self.group();
            self.conference(g, rd, ConferenceKind::Review, true);
            if i == 0 && self.rng.chance(0.1) {
                let cat = self.rng.pick(&[
                    AbuseCategory::NEG,
                    AbuseCategory::EMO,
                    AbuseCategory::PHY,
                    AbuseCategory::MUL,
                ]);
                if cat != self.category {
                    self.category = cat;
                    self.emit_in(g, rd, ChildProtectionCategoryChanged { category: cat });
                }
            }
        }
        // Core groups: the first within 10 working days, then about monthly.
        let first = if self.rng.chance(t.core_group_within_10wd) {
            self.rng.int(3, 10)
        } else {
            self.rng.int(11, 25)
        };
        let mut d = self.wd(start, first);
        while d < end_date && d <= self.end {
            let mut agencies = vec![self.attendance(self.health_agency(d), 0.7, None)];
            if (4..=17).contains(&self.age_on(d)) {
                agencies.push(self.attendance(PartnerAgency::Education, 0.7, None));
            }
            let family = vec![PersonAttendance {
                person: self.mother.clone(),
                attended: self.rng.chance(0.75),
            }];
            self.emit(d, CoreGroupMet { agencies, family }, Src::La);
            let gap = self.rng.int(18, 30);
            d = self.wd(d, gap);
        }
        // Visits: every 10 working days, some late.
        let first = self.rng.int(1, 10);
        let mut d = self.wd(start, first);
        while d < end_date && d <= self.end {
            if self.born_by(d) {
                let visit = self.visit(VisitKind::ChildProtection, d);
                self.emit(d, visit, Src::La);
            }
            let gap = if self.rng.chance(t.cp_visits_on_time) {
                self.rng.int(5, 10)
            } else {
                self.rng.int(11, 25)
            };
            d = self.wd(d, gap);
        }
        let g = self.group();
        match end {
            PlanEnd::Review => {
                self.conference(g, end_date, ConferenceKind::Review, false);
                let reason = self.rng.weighted(&[
                    (CpPlanEndReason::SteppedDownToChildInNeed, 0.72),
                    (CpPlanEndReason::SteppedDownToEarlyHelp, 0.1),
                    (CpPlanEndReason::NoFurtherAction, 0.18),
                ]);
                self.emit_in(g, end_date, ChildProtectionPlanEnded { reason, detail: None });
                match reason {
                    CpPlanEndReason::SteppedDownToChildInNeed => {
                        self.emit_in(g, end_date, ChildInNeedPlanStarted {});
                        let len = self.rng.log_normal_days(180.0, 0.45, 60, 540);
                        self.child_in_need_plan(end_date, end_date.add_days(len), false);
                    }
                    CpPlanEndReason::SteppedDownToEarlyHelp => {
                        self.emit_in(
                            g,
                            end_date,
                            ChildInNeedEpisodeClosed {
                                reason: CinClosureReason::RC7,
                                detail: None,
                            },
                        );
                        self.end_allocation(end_date, g);
                        let s = end_date.add_days(self.rng.int(1, 14));
                        let until = s.add_days(self.rng.int(60, 240));
                        self.early_help(s, until, None, true);
                    }
                    _ => {
                        self.emit_in(
                            g,
                            end_date,
                            ChildInNeedEpisodeClosed {
                                reason: CinClosureReason::RC7,
                                detail: None,
                            },
                        );
                        self.end_allocation(end_date, g);
                    }
                }
            }
            PlanEnd::Transfer => {
                let reason = CpPlanEndReason::TransferredToAnotherAuthority;
                self.emit_in(g, end_date, ChildProtectionPlanEnded { reason, detail: None });
                self.transfer_out(end_date, g);
            }
            PlanEnd::Eighteen => {
                self.emit_in(
                    g,
                    end_date,
                    ChildProtectionPlanEnded {
                        reason: CpPlanEndReason::ReachedEighteen,
                        detail: None,
                    },
                );
                self.emit_in(
                    g,
                    end_date,
                    ChildInNeedEpisodeClosed {
                        reason: CinClosureReason::RC7,
                        detail: None,
                    },
                );
                self.end_allocation(end_date, g);
            }
            PlanEnd::LookedAfter => {
                // Ended administratively when the child comes into care (recorded with the entry).
            }
        }
    }
}
