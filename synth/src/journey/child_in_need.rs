//! Children in need: the main episode's route, assessments, child in need plans, visits, closures and
//! transfers out.

use super::*;

impl Sim<'_> {
    /// A child and family assessment from referral `r`; completed at the latest by `latest`. Returns the
    /// date it was authorised (on or a few days after its completion).
    pub(super) fn assessment(&mut self, r: Date, latest: Option<Date>, needs_support: bool) -> Date {
        let lag = self.rng.weighted(&[(0, 0.4), (1, 0.3), (2, 0.2), (3, 0.1)]);
        let start = self.wd(r, lag);
        self.emit(start, AssessmentStarted {}, Src::La);
        let wd = if self.rng.chance(self.p.timeliness.assessment_within_45wd) {
            self.rng.int(8, 45)
        } else {
            self.rng.int(46, 110)
        };
        let mut done = self.wd(r, wd).max(start);
        if let Some(l) = latest {
            done = done.min(l).max(start);
        }
        if start.days_until(done) > 10 && self.rng.chance(0.3) {
            // The manager's internal review, part way through.
            let mid = start.add_days(start.days_until(done) / 2);
            self.emit(mid, AssessmentReviewed {}, Src::La);
        }
        let n = if needs_support {
            self.rng.int(1, 4)
        } else {
            self.rng.weighted(&[(0, 0.35), (1, 0.45), (2, 0.2)])
        };
        let factors = self.factors(done, n as usize, true);
        let authorised = done.add_days(self.rng.weighted(&[(0, 0.5), (1, 0.2), (3, 0.2), (8, 0.1)]));
        let authorised_on = Some(authorised);
        let completed = AssessmentCompleted {
            factors: if factors.is_empty() {
                vec![AssessmentFactor::F20]
            } else {
                factors
            },
            authorised_on,
            child_seen: Some(self.rng.chance(0.94)),
            requires_social_care_support: Some(needs_support),
            primary_need: Some(if needs_support {
                PrimaryNeed::N1
            } else {
                PrimaryNeed::N9
            }),
        };
        self.emit(done, completed, Src::La);
        // What follows from an assessment (a plan, the case's closure) comes after its authorisation: the CIN
        // census counts an authorisation after the closure as activity on a closed case (DfE rule 8565).
        authorised
    }

    pub(super) fn close_episode(&mut self, d: Date, reason: CinClosureReason) {
        let reason = if valid_on(reason, d) {
            reason
        } else {
            CinClosureReason::RC7
        };
        let g = self.group();
        self.emit_in(g, d, ChildInNeedEpisodeClosed { reason, detail: None });
        self.end_allocation(d, g);
    }

    /// Closed after assessment: no further action, or stepped down to early help.
    pub(super) fn close_after_assessment(&mut self, done: Date, before: Option<Date>) {
        let close = done.add_days(self.rng.int(0, 7));
        let close = before.map_or(close, |b| close.min(b)).max(done);
        let room = before.is_none_or(|b| b.days_until(close) < -30);
        if room && self.rng.chance(0.4) {
            // Stepped down to early help (RC9 from 2022/23; before that the census had no code for it).
            self.close_episode(close, CinClosureReason::RC9);
            let start = close.add_days(self.rng.int(1, 14));
            let until = start.add_days(self.rng.int(60, 250));
            match before {
                Some(b) if until >= b => {
                    self.early_help(start, b, Some(EarlyHelpEndReason::SteppedUpToSocialCare), true)
                }
                _ => self.early_help(start, until, None, true),
            }
        } else {
            self.close_episode(close, CinClosureReason::RC8);
        }
    }

    /// The referral that leads to the deepest involvement, and everything after it.
    pub(super) fn main_episode(&mut self, sk: Skeleton) {
        let route = sk.care.map(|c| c.route);
        let contact_source = match route {
            Some(Route::Emergency) | Some(Route::Remand) => Some(ReferralSource::R6),
            Some(Route::Uasc) => Some(if self.rng.chance(0.6) {
                ReferralSource::R6
            } else {
                ReferralSource::R7
            }),
            _ if sk.prelude == Prelude::EarlyHelp => Some(if valid_on(ReferralSource::R5D, sk.main) {
                ReferralSource::R5D
            } else {
                ReferralSource::R5B
            }),
            _ if sk.transferred_in => Some(ReferralSource::R5C),
            _ => None,
        };
        let main = sk.main;
        let (contact, decided) =
            if sk.depth == Depth::ReferralNfa || matches!(route, Some(Route::Emergency | Route::Uasc)) {
                // Same-day decisions for the urgent and the obvious.
                let (c, _) = self.contact_same_day(main, contact_source);
                (c, main)
            } else {
                self.contact(
                    main,
                    ContactOutcome::ReferralToChildrensSocialCare,
                    contact_source,
                )
            };
        if sk.depth == Depth::ReferralNfa {
            self.referral_nfa(decided, contact);
            return;
        }
        let urgent = matches!(route, Some(Route::Emergency | Route::Uasc | Route::Remand));
        let r = self.referral(decided, contact, urgent);
        match sk.depth {
            Depth::Assessed => self.assessed(r),
            Depth::Section47 | Depth::Conference | Depth::ProtectionPlan => {
                self.protection(r, sk.depth, None);
            }
            Depth::LookedAfter => {
                let care = sk.care.expect("looked-after children have a care plan");
                self.looked_after_journey(r, care);
            }
            Depth::FrontDoor | Depth::ReferralNfa => {}
        }
    }

    pub(super) fn contact_same_day(&mut self, d: Date, source: Option<ReferralSource>) -> (u32, Date) {
        self.quick_decision = true;
        let out = self.contact(d, ContactOutcome::ReferralToChildrensSocialCare, source);
        self.quick_decision = false;
        out
    }

    /// Assessed, with a child in need plan or closed.
    pub(super) fn assessed(&mut self, r: Date) {
        let plan = self.rng.chance(self.p.shares.child_in_need_plan);
        if self.rng.chance(0.1) {
            // A strategy discussion that decided against a section 47 enquiry.
            let lag = self.rng.int(0, 8);
            let s = self.wd(r, lag);
            self.strategy_discussion(s, StrategyOutcome::ContinueChildInNeed);
        }
        let done = self.assessment(r, None, plan);
        if plan {
            let start = done;
            let g = self.group();
            self.emit_in(g, start, ChildInNeedPlanStarted {});
            let len = self.rng.log_normal_days(200.0, 0.5, 60, 720);
            let transfer = self.rng.chance(self.p.shares.transferred_out / 0.4);
            self.child_in_need_plan(start, start.add_days(len), transfer);
        } else {
            self.close_after_assessment(done, None);
        }
    }

    /// A child in need plan from `start` to `end`: visits and reviews; then the plan ends and the episode
    /// closes (or the family moves away).
    pub(super) fn child_in_need_plan(&mut self, start: Date, end: Date, transfer_out: bool) {
        let end = end
            .min(self.dob.add_years(18).add_days(-1))
            .max(start.add_days(1));
        let mut d = start;
        loop {
            d = d.add_days(self.rng.int(14, 42));
            if d >= end || d > self.end {
                break;
            }
            if self.born_by(d) {
                let visit = self.visit(VisitKind::ChildInNeed, d);
                self.emit(d, visit, Src::La);
            }
        }
        let mut d = start;
        loop {
            d = d.add_days(self.rng.int(80, 110));
            if d >= end || d > self.end {
                break;
            }
            self.emit(d, ChildInNeedPlanReviewed {}, Src::La);
        }
        let g = self.group();
        if transfer_out {
            self.emit_in(
                g,
                end,
                ChildInNeedPlanEnded {
                    reason: Some(CinPlanEndReason::TransferredToAnotherAuthority),
                },
            );
            self.transfer_out(end, g);
            return;
        }
        let step_down = self.rng.chance(0.3);
        let reason = if step_down {
            CinPlanEndReason::SteppedDownToEarlyHelp
        } else {
            CinPlanEndReason::NeedsMet
        };
        self.emit_in(g, end, ChildInNeedPlanEnded { reason: Some(reason) });
        self.emit_in(
            g,
            end,
            ChildInNeedEpisodeClosed {
                reason: CinClosureReason::RC7,
                detail: None,
            },
        );
        self.end_allocation(end, g);
        if step_down {
            let s = end.add_days(self.rng.int(1, 14));
            let until = s.add_days(self.rng.int(60, 240));
            self.early_help(s, until, None, true);
        }
    }

    pub(super) fn transfer_out(&mut self, d: Date, g: u32) {
        let to = LaCode::parse(format!("{}", self.rng.int(201, 938))).expect("three digits");
        self.emit_in(
            g,
            d,
            TransferredOut {
                to_local_authority: Some(to),
                to_authority_name: None,
            },
        );
        self.emit_in(
            g,
            d,
            ChildInNeedEpisodeClosed {
                reason: CinClosureReason::RC5,
                detail: None,
            },
        );
        self.end_allocation(d, g);
    }

    pub(super) fn visit(&mut self, kind: VisitKind, d: Date) -> ChildVisited {
        let age = self.age_on(d);
        let seen = self.rng.chance(0.93);
        ChildVisited {
            kind,
            seen,
            seen_alone: (seen && age >= 5).then(|| self.rng.chance(0.6)),
            bedroom_seen: matches!(kind, VisitKind::ChildProtection | VisitKind::ChildInNeed)
                .then(|| self.rng.chance(0.7)),
            visitor: self.sw.map(|n| self.social_worker(n, "Children's Services")),
        }
    }
}
