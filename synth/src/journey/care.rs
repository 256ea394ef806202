//! A period of care: court orders and legal statuses, placements and moves, reviews, visits, health,
//! education, missing episodes and the way out (special guardianship, home, adoption through
//! `permanence.rs`, leaving care through `leaving_care.rs`).

use super::*;

impl Sim<'_> {
    /// Everything from the day the child became looked after. `issued`: the day care proceedings were
    /// issued, if they were.
    pub(super) fn in_care(&mut self, care: CarePlan, issued: Option<Date>, ls: LegalStatus) {
        let entry = care.entry;
        let exit = care.exit;
        let stop = exit.unwrap_or(self.end).min(self.end.add_days(1));
        let t = self.p.timeliness.clone();
        let uasc = care.route == Route::Uasc;

        // The independent reviewing officer within 5 working days; the looked-after team takes the case.
        let iro_wd = if self.rng.chance(0.85) {
            self.rng.int(1, 5)
        } else {
            self.rng.int(6, 15)
        };
        let iro_n = self.rng.int(1, 40) as u32;
        let iro = professional(
            "IRO",
            iro_n,
            "Independent reviewing officer",
            &format!("{} Safeguarding Unit", self.w.name),
        );
        let iro_day = self.wd(entry, iro_wd);
        if iro_day < stop {
            self.emit(
                iro_day,
                WorkerAllocated {
                    role: WorkerRole::IndependentReviewingOfficer,
                    worker: iro.clone(),
                    team: Some(text("IRO Service")),
                    change_reason: None,
                },
                Src::La,
            );
        }
        let transfer = entry.add_days(self.rng.int(5, 40));
        if transfer < stop {
            self.allocate(
                self.working(transfer),
                "Children in Care Team",
                Some(SocialWorkerChangeReason::TSPROC),
            );
            self.worker_changes(transfer, stop, "Children in Care Team");
        }

        // Court: the final hearing, and the legal status that follows.
        let mut legal = ls;
        let proceedings = issued.is_some() && legal == LegalStatus::C1;
        let adoption = care.adoption.filter(|_| care.outcome == Outcome::Adoption);
        if let Some(a) = adoption {
            self.emit(a.decision, AdoptionDecisionMade {}, Src::La);
        }
        let mut placement_order = false;
        if proceedings {
            let issued = issued.unwrap_or(entry);
            let within = self.rng.chance(t.proceedings_within_26w);
            let weeks = if within {
                self.rng.int(16, 26)
            } else {
                self.rng.int(27, 60)
            };
            let mut concluded = issued.add_days(weeks * 7);
            match care.outcome {
                Outcome::Adoption => concluded = adoption.map_or(concluded, |a| a.placement_order),
                Outcome::SpecialGuardianship | Outcome::ChildArrangements | Outcome::ReturnHome => {
                    concluded = exit.unwrap_or(concluded);
                }
                _ => {
                    if let Some(x) = exit {
                        concluded = concluded.min(x.add_days(-30));
                    }
                }
            }
            let concluded = concluded.max(issued.add_days(14)).max(entry.add_days(1));
            let g = self.group();
            let final_hearing_ends_care = matches!(
                care.outcome,
                Outcome::SpecialGuardianship | Outcome::ChildArrangements | Outcome::ReturnHome
            );
            if !final_hearing_ends_care {
                self.emit_in(
                    g,
                    concluded,
                    CareProceedingsConcluded {
                        outcome: ProceedingsOutcome::FinalOrderMade,
                    },
                );
            }
            let court = Some(self.w.court.clone());
            let order = |order| CourtOrderMade {
                order,
                expires_on: None,
                in_favour_of: Vec::new(),
                court: court.clone(),
                detail: None,
            };
            match care.outcome {
                Outcome::Adoption => {
                    self.emit_in(g, concluded, order(CourtOrderKind::CareOrder));
                    self.emit_in(g, concluded, order(CourtOrderKind::PlacementOrder));
                    self.emit_in(
                        g,
                        concluded,
                        CourtOrderEnded {
                            order: CourtOrderKind::InterimCareOrder,
                            reason: OrderEndReason::Replaced,
                            detail: None,
                        },
                    );
                    self.emit_in(
                        g,
                        concluded,
                        LegalStatusChanged {
                            legal_status: LegalStatus::E1,
                        },
                    );
                    legal = LegalStatus::E1;
                    placement_order = true;
                }
                Outcome::SpecialGuardianship | Outcome::ChildArrangements | Outcome::ReturnHome => {
                    // The final order ends the care: recorded with the exit below.
                }
                _ => {
                    self.emit_in(g, concluded, order(CourtOrderKind::CareOrder));
                    self.emit_in(
                        g,
                        concluded,
                        CourtOrderEnded {
                            order: CourtOrderKind::InterimCareOrder,
                            reason: OrderEndReason::Replaced,
                            detail: None,
                        },
                    );
                    self.emit_in(
                        g,
                        concluded,
                        LegalStatusChanged {
                            legal_status: LegalStatus::C2,
                        },
                    );
                    legal = LegalStatus::C2;
                }
            }
        }

        // The permanence plan, by the second review.
        let planned = entry.add_days(self.rng.int(90, 140));
        if planned < stop {
            let plan = match care.outcome {
                Outcome::Adoption => PermanencePlan::Adoption,
                Outcome::SpecialGuardianship => PermanencePlan::SpecialGuardianship,
                Outcome::ChildArrangements => PermanencePlan::ChildArrangementsOrder,
                Outcome::ReturnHome => PermanencePlan::ReturnHome,
                _ if self.age_on(planned) >= 16 => PermanencePlan::SupportedLiving,
                _ if self
                    .current
                    .as_ref()
                    .is_some_and(|p| p.place_type == PlacementType::K2) =>
                {
                    PermanencePlan::ResidentialCare
                }
                _ => PermanencePlan::LongTermFostering,
            };
            self.emit(planned, PermanencePlanRecorded { plan }, Src::La);
        }

        // Permanence before this period of care (SSDA903 PrevPerm), recorded for every child entering (the
        // return needs it for each period of care started in the year, validator rule 630).
        {
            use PreviousPermanence as P;
            let previous = self.rng.weighted(&[
                (P::Z1, 0.8),
                (P::P2, 0.06),
                (P::P3, 0.04),
                (P::P1, 0.03),
                (P::P4, 0.07),
            ]);
            // Only "no previous permanence" has no authority and date (rule 630); for P4 (an order of
            // unknown kind) the authority and at least the year are known.
            // An order is made before the child comes into care (validator rule 632): a baby coming into
            // care in its first two months has had none.
            let previous = if entry < self.dob.add_days(60) {
                P::Z1
            } else {
                previous
            };
            let (local_authority, order_date) = if previous == P::Z1 {
                (None, None)
            } else {
                let la = people::la_code(&mut self.rng);
                let made = entry
                    .add_days(-self.rng.int(200, 3000))
                    .max(self.dob.add_days(30))
                    .min(entry.add_days(-1));
                // A year or month alone only when it is wholly before the period of care (the validator
                // reads an unknown day or month as possibly on or after entry, rule 632).
                let text = match self.rng.int(0, 2) {
                    0 if made.year() < entry.year() => format!("{:04}", made.year()),
                    1 if (made.year(), made.month()) < (entry.year(), entry.month()) => {
                        format!("{:04}-{:02}", made.year(), made.month())
                    }
                    _ => made.to_string(),
                };
                (
                    Some(la),
                    Some(PartialDate::parse(text).expect("a valid partial date")),
                )
            };
            let d = entry.add_days(self.rng.int(0, 20));
            if d < stop {
                self.emit(
                    d,
                    PreviousPermanenceRecorded {
                        previous,
                        local_authority,
                        order_date,
                    },
                    Src::La,
                );
            }
        }
        // Young women in care who become mothers (SSDA903 MOTHER, MC_DOB).
        let fifteen = self.dob.add_years(15);
        if self.sex == Sex::F && fifteen.add_days(30) < stop && self.rng.chance(0.04) {
            let from = entry.max(fifteen);
            let d = from.add_days(self.rng.int(0, from.days_until(stop).max(1) - 1));
            let baby = ThirdParty {
                person_id: PersonId::parse(format!("{}-baby", self.child)).expect("valid person id"),
                relationship: Relationship::OwnChild,
                name: None,
                date_of_birth: Some(d),
                contact_details: None,
            };
            self.emit(d, ChildBecameParent { baby: Some(baby) }, Src::Health);
        }

        // Placements and moves.
        let mut milestones: Vec<(Date, Move)> = Vec::new();
        let placed = adoption.map(|a| a.placed);
        let years = f64::from(entry.days_until(stop).max(0)) / 365.25;
        let teen = self.age_on(entry) >= 11;
        let rate = self.p.looked_after.moves_per_year * if teen { 2.0 } else { 1.0 };
        let moves = poisson(&mut self.rng, rate * years.min(8.0));
        let last_move = placed.unwrap_or(stop).add_days(-21);
        for _ in 0..moves {
            if entry.add_days(14) < last_move {
                let d = entry.add_days(self.rng.int(14, entry.days_until(last_move)));
                milestones.push((d, Move::Ordinary));
            }
        }
        if care.outcome == Outcome::SpecialGuardianship
            && !matches!(
                self.current.as_ref().map(|p| p.place_type),
                Some(PlacementType::U1 | PlacementType::U3)
            )
            && let Some(x) = exit
        {
            let d = entry.add_days(self.rng.int(7, entry.days_until(x).clamp(8, 200)));
            if d < x.add_days(-30) {
                milestones.push((d, Move::Kinship));
            }
        }
        if let Some(p) = placed {
            milestones.push((p, Move::Adoption));
        }
        milestones.sort_by_key(|m| m.0);
        let mut placement_starts = vec![entry];
        let mut long_term_done = false;
        for (d, kind) in milestones {
            if d >= stop || d <= entry {
                continue;
            }
            if let Some(p) = placed
                && d > p
            {
                continue;
            }
            match kind {
                Move::Ordinary => {
                    let current = self.current.clone();
                    // A child with carers who are also approved adopters stays with them.
                    if current
                        .as_ref()
                        .is_some_and(|c| matches!(c.place_type, PlacementType::U2 | PlacementType::U5))
                    {
                        continue;
                    }
                    // A year or more with short-term foster carers: sometimes confirmed as long-term, same carers.
                    if !long_term_done
                        && current
                            .as_ref()
                            .is_some_and(|c| c.place_type == PlacementType::U6)
                        && entry.days_until(d) > 365
                        && self.rng.chance(0.3)
                    {
                        long_term_done = true;
                        let mut p = current.expect("checked");
                        p.place_type = PlacementType::U4;
                        self.current = Some(p.clone());
                        self.emit(
                            d,
                            PlacementChanged {
                                placement: p,
                                reason: Some(ReasonPlaceChange::PLACE),
                                same_carers: true,
                            },
                            Src::La,
                        );
                        continue;
                    }
                    let kind = if care.outcome == Outcome::SpecialGuardianship {
                        PlacementKind::Kinship
                    } else if care.outcome != Outcome::Adoption
                        && entry.days_until(d) > 500
                        && self.age_on(d) < 14
                        && self.rng.chance(0.5)
                    {
                        PlacementKind::LongTerm
                    } else {
                        PlacementKind::Foster
                    };
                    let p = self.placement(d, kind, care);
                    let mut reasons = vec![
                        (ReasonPlaceChange::CARPL, 0.35),
                        (ReasonPlaceChange::CREQB, 0.15),
                        (ReasonPlaceChange::CREQO, 0.1),
                        (ReasonPlaceChange::CHILD, 0.08),
                        (ReasonPlaceChange::LAREQ, 0.08),
                        (ReasonPlaceChange::STAND, 0.04),
                        (ReasonPlaceChange::ALLEG, 0.03),
                        (ReasonPlaceChange::CLOSE, 0.03),
                        (ReasonPlaceChange::APPRR, 0.02),
                        (ReasonPlaceChange::OTHER, 0.12),
                    ];
                    reasons.retain(|(r, _)| valid_on(*r, d));
                    let reason = self.rng.weighted(&reasons);
                    self.current = Some(p.clone());
                    self.emit(
                        d,
                        PlacementChanged {
                            placement: p,
                            reason: Some(reason),
                            same_carers: false,
                        },
                        Src::La,
                    );
                    placement_starts.push(d);
                }
                Move::Kinship => {
                    let p = self.placement(d, PlacementKind::Kinship, care);
                    self.current = Some(p.clone());
                    self.emit(
                        d,
                        PlacementChanged {
                            placement: p,
                            reason: Some(ReasonPlaceChange::CARPL),
                            same_carers: false,
                        },
                        Src::La,
                    );
                    placement_starts.push(d);
                }
                Move::Adoption => {
                    let a = adoption.expect("an adoption milestone has adoption dates");
                    self.adoption_placement(a, care, placement_order);
                    placement_starts.push(d);
                }
            }
        }

        // Preparing to leave care: every eligible child (looked after at 16, 13 weeks since 14).
        let sixteen = self.dob.add_years(16);
        let eligible = sixteen < stop && entry <= sixteen.add_days(-91).max(self.dob.add_years(14));
        let mut pathway = None;
        let mut adviser = None;
        if eligible {
            let first = entry.max(sixteen);
            let na = if self.rng.chance(t.needs_assessment_within_3m) {
                self.rng.int(0, 88)
            } else {
                self.rng.int(92, 200)
            };
            let na_day = first.add_days(na);
            self.emit(na_day, LeavingCareNeedsAssessmentCompleted {}, Src::La);
            let pp = na_day.add_days(self.rng.int(0, 30));
            self.emit(pp, PathwayPlanStarted {}, Src::La);
            pathway = Some(pp);
            let pa_day = self
                .dob
                .add_years(17)
                .add_days(self.rng.int(0, 200))
                .min(exit.unwrap_or(self.end))
                .max(na_day);
            let pa = professional(
                "PA",
                self.rng.int(1, 60) as u32,
                "Personal adviser",
                &format!("{} Leaving Care Service", self.w.name),
            );
            self.emit(
                pa_day,
                WorkerAllocated {
                    role: WorkerRole::PersonalAdviser,
                    worker: pa.clone(),
                    team: Some(text("Leaving Care Team")),
                    change_reason: None,
                },
                Src::La,
            );
            adviser = Some(pa_day);
        }

        self.reviews(entry, stop, &iro, pathway);
        self.visits(entry, stop, &placement_starts, placed);
        self.health(entry, stop);
        self.education(entry, stop);
        self.missing(entry, stop);
        if self.age_on(entry) >= 12 || self.age_on(stop) >= 13 {
            if self.rng.chance(0.06) {
                let d = entry.add_days(self.rng.int(30, entry.days_until(stop).max(31)));
                if d < stop {
                    let intervention = Some(self.rng.pick(&[
                        SubstanceMisuseIntervention::Received,
                        SubstanceMisuseIntervention::OfferedAndRefused,
                    ]));
                    self.emit(d, SubstanceMisuseIdentified { intervention }, Src::La);
                }
            }
            if self.rng.chance(0.04) {
                let d = entry.add_days(self.rng.int(30, entry.days_until(stop).max(31)));
                if d < stop && self.age_on(d) >= 10 {
                    let outcome = self.rng.pick(&[
                        ConvictionKind::Conviction,
                        ConvictionKind::YouthCaution,
                        ConvictionKind::YouthConditionalCaution,
                    ]);
                    self.emit(d, ChildConvicted { outcome }, Src::Police);
                }
            }
        }
        if uasc {
            let eighteen = self.dob.add_years(18);
            self.emit(eighteen, UnaccompaniedAsylumSeekingStatusCeased {}, Src::La);
        }

        // The way out.
        let Some(x) = exit else { return };
        let g = self.group();
        let court = Some(self.w.court.clone());
        let reason = match care.outcome {
            Outcome::Adoption => {
                let a = adoption.expect("adoption dates");
                let adopters = self.adopters();
                self.emit_in(
                    g,
                    a.order,
                    CourtOrderMade {
                        order: CourtOrderKind::AdoptionOrder,
                        expires_on: None,
                        in_favour_of: adopters,
                        court,
                        detail: None,
                    },
                );
                if placement_order {
                    self.emit_in(
                        g,
                        x,
                        CourtOrderEnded {
                            order: CourtOrderKind::PlacementOrder,
                            reason: OrderEndReason::Replaced,
                            detail: None,
                        },
                    );
                    self.emit_in(
                        g,
                        x,
                        CourtOrderEnded {
                            order: CourtOrderKind::CareOrder,
                            reason: OrderEndReason::Discharged,
                            detail: None,
                        },
                    );
                }
                if self.rng.chance(0.75) {
                    ReasonEpisodeCeased::E11
                } else {
                    ReasonEpisodeCeased::E12
                }
            }
            Outcome::SpecialGuardianship => {
                let kin = self
                    .current
                    .as_ref()
                    .is_some_and(|p| matches!(p.place_type, PlacementType::U1 | PlacementType::U3));
                let guardian = self.guardian(Relationship::SpecialGuardian);
                self.emit_in(
                    g,
                    x,
                    CourtOrderMade {
                        order: CourtOrderKind::SpecialGuardianshipOrder,
                        expires_on: None,
                        in_favour_of: vec![guardian],
                        court,
                        detail: None,
                    },
                );
                self.end_interim(g, x, proceedings);
                let r = if kin {
                    ReasonEpisodeCeased::E45
                } else {
                    ReasonEpisodeCeased::E47
                };
                if valid_on(r, x) {
                    r
                } else if kin {
                    ReasonEpisodeCeased::E43
                } else {
                    ReasonEpisodeCeased::E44
                }
            }
            Outcome::ChildArrangements => {
                let person = self.guardian(Relationship::Grandparent);
                self.emit_in(
                    g,
                    x,
                    CourtOrderMade {
                        order: CourtOrderKind::ChildArrangementsOrder,
                        expires_on: None,
                        in_favour_of: vec![person],
                        court,
                        detail: None,
                    },
                );
                self.end_interim(g, x, proceedings);
                ReasonEpisodeCeased::E41
            }
            Outcome::ReturnHome => {
                if proceedings {
                    self.emit_in(
                        g,
                        x,
                        CourtOrderMade {
                            order: CourtOrderKind::SupervisionOrder,
                            expires_on: Some(x.add_years(1)),
                            in_favour_of: Vec::new(),
                            court,
                            detail: None,
                        },
                    );
                    self.end_interim(g, x, true);
                    ReasonEpisodeCeased::E4A
                } else if care.route == Route::Remand {
                    if self.rng.chance(0.85) {
                        ReasonEpisodeCeased::E14
                    } else {
                        ReasonEpisodeCeased::E9
                    }
                } else if self.rng.chance(0.8) {
                    ReasonEpisodeCeased::E4A
                } else {
                    ReasonEpisodeCeased::E4B
                }
            }
            Outcome::LeavingCare => {
                let eighteen = x >= self.dob.add_years(18);
                let foster = self.current.as_ref().is_some_and(|p| p.place_type.is_foster());
                if eighteen && foster && self.rng.chance(self.p.looked_after.staying_put) {
                    ReasonEpisodeCeased::E17
                } else if legal == LegalStatus::C2 && !eighteen {
                    ReasonEpisodeCeased::E5
                } else {
                    self.rng.weighted(&[
                        (ReasonEpisodeCeased::E5, 0.55),
                        (ReasonEpisodeCeased::E6, 0.15),
                        (ReasonEpisodeCeased::E8, 0.2),
                        (ReasonEpisodeCeased::E13, 0.1),
                    ])
                }
            }
            Outcome::Remains => return,
        };
        self.emit_in(g, x, CeasedToBeLookedAfter { reason });
        if iro_day < x {
            self.emit_in(
                g,
                x,
                WorkerAllocationEnded {
                    role: WorkerRole::IndependentReviewingOfficer,
                    reason: None,
                },
            );
        }
        match care.outcome {
            Outcome::ReturnHome if care.route != Route::Remand => {
                // Home, with a child in need plan for a while.
                self.emit_in(g, x, ChildInNeedPlanStarted {});
                let len = self.rng.log_normal_days(150.0, 0.4, 60, 400);
                self.child_in_need_plan(x, x.add_days(len), false);
                if proceedings {
                    self.emit(
                        x.add_years(1),
                        CourtOrderEnded {
                            order: CourtOrderKind::SupervisionOrder,
                            reason: OrderEndReason::Expired,
                            detail: None,
                        },
                        Src::La,
                    );
                }
            }
            Outcome::Adoption => self.close_in(g, x, CinClosureReason::RC1),
            Outcome::SpecialGuardianship => self.close_in(g, x, CinClosureReason::RC4),
            Outcome::ChildArrangements => self.close_in(g, x, CinClosureReason::RC3),
            Outcome::LeavingCare => {
                self.close_in(g, x, CinClosureReason::RC7);
                self.care_leaver(x, reason == ReasonEpisodeCeased::E17, pathway, adviser);
            }
            _ => self.close_in(g, x, CinClosureReason::RC7),
        }
    }

    fn end_interim(&mut self, g: u32, x: Date, proceedings: bool) {
        if proceedings {
            self.emit_in(
                g,
                x,
                CareProceedingsConcluded {
                    outcome: ProceedingsOutcome::FinalOrderMade,
                },
            );
            self.emit_in(
                g,
                x,
                CourtOrderEnded {
                    order: CourtOrderKind::InterimCareOrder,
                    reason: OrderEndReason::Replaced,
                    detail: None,
                },
            );
        }
    }

    fn close_in(&mut self, g: u32, d: Date, reason: CinClosureReason) {
        let reason = if valid_on(reason, d) {
            reason
        } else {
            CinClosureReason::RC7
        };
        self.emit_in(g, d, ChildInNeedEpisodeClosed { reason, detail: None });
        self.end_allocation(d, g);
    }

    fn guardian(&mut self, relationship: Relationship) -> ThirdParty {
        let from_placement = self.current.as_ref().and_then(|p| p.carers.first()).filter(|c| {
            matches!(
                c.relationship,
                Relationship::Grandparent | Relationship::OtherRelative | Relationship::FamilyFriend
            )
        });
        match from_placement {
            Some(c) => ThirdParty {
                relationship,
                ..c.clone()
            },
            None => ThirdParty {
                person_id: PersonId::parse(format!("{}-p5", self.child)).expect("valid person id"),
                relationship,
                name: Some(text(&people::name_for(self.rng.u64()))),
                date_of_birth: None,
                contact_details: None,
            },
        }
    }

    /// Looked-after reviews: within 20 working days, then within 3 months, then 6-monthly.
    fn reviews(&mut self, entry: Date, stop: Date, iro: &Professional, pathway: Option<Date>) {
        let on_time = self.p.timeliness.lac_review_on_time;
        let first = if self.rng.chance(on_time) {
            self.rng.int(10, 20)
        } else {
            self.rng.int(21, 40)
        };
        let mut d = self.wd(entry, first);
        let mut second = true;
        while d < stop && d <= self.end {
            let age = self.age_on(d);
            let participation = if age < 4 {
                ReviewParticipation::PN0
            } else {
                self.rng.weighted(&[
                    (ReviewParticipation::PN1, 0.45),
                    (ReviewParticipation::PN2, 0.08),
                    (ReviewParticipation::PN3, 0.04),
                    (ReviewParticipation::PN4, 0.05),
                    (ReviewParticipation::PN5, 0.1),
                    (ReviewParticipation::PN6, 0.2),
                    (ReviewParticipation::PN7, 0.08),
                ])
            };
            self.emit(
                d,
                LookedAfterReviewHeld {
                    participation,
                    chair: Some(iro.clone()),
                },
                Src::La,
            );
            if pathway.is_some_and(|p| p < d) {
                self.emit(d, PathwayPlanReviewed {}, Src::La);
            }
            let gap = match (second, self.rng.chance(on_time)) {
                (true, true) => self.rng.int(60, 91),
                (true, false) => self.rng.int(92, 130),
                (false, true) => self.rng.int(150, 182),
                (false, false) => self.rng.int(183, 240),
            };
            second = false;
            d = self.working(d.add_days(gap));
        }
        // The IRO keeps in touch between reviews.
        let mut d = entry.add_days(self.rng.int(20, 60));
        while d < stop && d <= self.end {
            let mode = self.rng.weighted(&[
                (ContactMode::InPerson, 0.5),
                (ContactMode::Video, 0.2),
                (ContactMode::Phone, 0.2),
                (ContactMode::Written, 0.1),
            ]);
            self.emit(
                d,
                IndependentReviewingOfficerContacted {
                    mode,
                    officer: Some(iro.clone()),
                },
                Src::La,
            );
            d = d.add_days(self.rng.int(60, 130));
        }
    }

    /// Social worker visits: within a week of each placement, then at most 6-weekly (some late).
    fn visits(&mut self, entry: Date, stop: Date, starts: &[Date], placed: Option<Date>) {
        let on_time = self.p.timeliness.lac_visits_on_time;
        let mut d = entry.add_days(self.rng.int(1, 7));
        let mut next_start = starts.iter().copied().filter(|s| *s > entry).collect::<Vec<_>>();
        next_start.reverse();
        while d < stop && d <= self.end {
            let kind = if placed.is_some_and(|p| d >= p) {
                VisitKind::Adoption
            } else {
                VisitKind::LookedAfter
            };
            let visit = self.visit(kind, d);
            self.emit(d, visit, Src::La);
            let gap = if kind == VisitKind::Adoption && placed.is_some_and(|p| d < p.add_days(28)) {
                self.rng.int(5, 8)
            } else if self.rng.chance(on_time) {
                self.rng.int(21, 42)
            } else {
                self.rng.int(43, 75)
            };
            let mut next = d.add_days(gap);
            if let Some(&s) = next_start.last()
                && s <= next
            {
                next_start.pop();
                next = next.min(s.add_days(self.rng.int(1, 7))).max(d.add_days(1));
            }
            d = next;
        }
    }

    /// Health assessments (initial within 20 working days; then 6-monthly under 5, yearly from 5), dental
    /// checks, immunisations and strengths and difficulties questionnaires.
    fn health(&mut self, entry: Date, stop: Date) {
        let t = self.p.timeliness.health_assessment_within_20wd;
        let first = if self.rng.chance(t) {
            self.rng.int(8, 20)
        } else {
            self.rng.int(21, 70)
        };
        let mut d = self.wd(entry, first);
        let mut kind = HealthAssessmentKind::Initial;
        while d < stop && d <= self.end {
            self.emit(d, HealthAssessmentCompleted { kind }, Src::Health);
            if kind == HealthAssessmentKind::Review || self.rng.chance(0.5) {
                let up_to_date = self.rng.chance(0.87);
                self.emit(d, ImmunisationsRecorded { up_to_date }, Src::Health);
            }
            kind = HealthAssessmentKind::Review;
            let gap = if self.age_on(d) < 5 {
                self.rng.int(150, 200)
            } else {
                self.rng.int(320, 400)
            };
            d = d.add_days(gap);
        }
        let mut d = entry.add_days(self.rng.int(60, 240));
        while d < stop && d <= self.end {
            if self.age_on(d) >= 1 {
                self.emit(d, DentalCheckCompleted {}, Src::Health);
            }
            d = d.add_days(self.rng.int(300, 420));
        }
        let mut d = entry.add_days(self.rng.int(365, 420));
        while d < stop && d <= self.end {
            let age = self.age_on(d);
            if (4..=16).contains(&age) {
                let sdq = if self.rng.chance(0.9) {
                    SdqScoreRecorded {
                        score: Some(self.rng.log_normal_days(13.0, 0.45, 0, 40) as u8),
                        reason_not_completed: None,
                    }
                } else {
                    SdqScoreRecorded {
                        score: None,
                        reason_not_completed: Some(self.rng.pick(&[
                            SdqReason::SDQ2,
                            SdqReason::SDQ4,
                            SdqReason::SDQ5,
                        ])),
                    }
                };
                self.emit(d, sdq, Src::La);
            }
            d = d.add_days(self.rng.int(350, 380));
        }
    }

    /// Personal education plans, reviewed termly for children of school age (and in early years from 3).
    fn education(&mut self, entry: Date, stop: Date) {
        let mut year = entry.year();
        while year <= stop.year() && year <= self.end.year() {
            for (m, day) in [(2, 10), (6, 10), (10, 10)] {
                let d = Date::new(year, m, day)
                    .expect("a real date")
                    .add_days(self.rng.int(-15, 20));
                if d <= entry || d >= stop || d > self.end {
                    continue;
                }
                if (3..=17).contains(&self.age_on(d)) {
                    self.emit(d, PersonalEducationPlanReviewed {}, Src::La);
                }
            }
            year += 1;
        }
    }

    /// Missing episodes of children aged 11 or more, with return interviews (due within 72 hours).
    fn missing(&mut self, entry: Date, stop: Date) {
        let from = entry.max(self.dob.add_years(11));
        if from >= stop || !self.rng.chance(self.p.looked_after.missing) {
            return;
        }
        let episodes = self
            .rng
            .weighted(&[(1, 0.4), (2, 0.2), (3, 0.15), (5, 0.15), (8, 0.1)]);
        let span = from.days_until(stop.min(self.end));
        if span < 10 {
            return;
        }
        let mut days: Vec<i32> = (0..episodes).map(|_| self.rng.int(0, span - 5)).collect();
        days.sort_unstable();
        let mut free_from = from;
        for off in days {
            let d = from.add_days(off).max(free_from);
            if d >= stop {
                break;
            }
            let kind = if self.rng.chance(0.8) {
                MissingKind::M
            } else {
                MissingKind::A
            };
            let start_h = self.rng.int(14, 23);
            let start = Self::at_time(d, start_h, self.rng.int(0, 59));
            let hours = self.rng.log_normal_days(16.0, 0.9, 1, 200);
            let end_total = start_h + hours;
            let end_day = d.add_days(end_total / 24);
            if end_day >= stop {
                break;
            }
            let end = Self::at_time(end_day, end_total % 24, self.rng.int(0, 59));
            let reported = Some(kind == MissingKind::M || self.rng.chance(0.3));
            self.emit_full(
                start,
                MissingEpisodeStarted {
                    kind,
                    reported_to_police: reported,
                }
                .into(),
                Src::La,
                0,
            );
            self.emit_full(end, MissingEpisodeEnded {}.into(), Src::La, 0);
            // Offered within 72 hours of the return, or late.
            let offer_hours = if self.rng.chance(self.p.timeliness.return_interview_within_72h) {
                self.rng.int(2, 70)
            } else {
                self.rng.int(74, 240)
            };
            let offer_total = end_total % 24 + offer_hours;
            let offer_day = end_day.add_days(offer_total / 24);
            let offer = Self::at_time(offer_day, offer_total % 24, self.rng.int(0, 59));
            self.emit_full(offer, ReturnInterviewOffered {}.into(), Src::La, 0);
            let answer_day = offer_day.add_days(self.rng.int(0, 3));
            if self.rng.chance(0.7) {
                let by = professional(
                    "RHI",
                    self.rng.int(1, 10) as u32,
                    "Return home interview worker",
                    "Exampleton Young People's Service",
                );
                self.emit(
                    answer_day,
                    ReturnInterviewHeld {
                        conducted_by: Some(by),
                    },
                    Src::La,
                );
            } else {
                self.emit(answer_day, ReturnInterviewDeclined {}, Src::La);
            }
            free_from = answer_day.add_days(2);
        }
    }
}

/// A move during care.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Move {
    Ordinary,
    Kinship,
    Adoption,
}

/// A Poisson-distributed count (Knuth's method; small means only).
fn poisson(rng: &mut Rng, mean: f64) -> u32 {
    let limit = (-mean.min(30.0)).exp();
    let mut k = 0;
    let mut p = 1.0;
    loop {
        p *= rng.unit();
        if p <= limit {
            return k;
        }
        k += 1;
    }
}
