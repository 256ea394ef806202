//! Becoming looked after: the route into care, pre-proceedings, and the choice of placement.

use super::*;

impl Sim<'_> {
    pub(super) fn looked_after_journey(&mut self, r: Date, care: CarePlan) {
        match care.route {
            Route::Protection => {
                self.protection(r, Depth::LookedAfter, Some(care));
                let entry = care.entry;
                self.pre_proceedings(r, entry);
                let issued = entry
                    .add_days(-self.rng.int(0, 5))
                    .max(r.add_days(1))
                    .max(self.dob)
                    .min(entry);
                let letter = self
                    .rng
                    .chance(0.6)
                    .then(|| issued.add_days(-self.rng.int(0, 10)));
                let payload = CareProceedingsIssued {
                    court: Some(self.w.court.clone()),
                    letter_of_issue_sent_on: letter,
                };
                self.emit(issued, payload, Src::La);
                let g = self.group();
                let ico = self.emit_in(
                    g,
                    entry,
                    CourtOrderMade {
                        order: CourtOrderKind::InterimCareOrder,
                        expires_on: None,
                        in_favour_of: Vec::new(),
                        court: Some(self.w.court.clone()),
                        detail: None,
                    },
                );
                let la = self.become_looked_after(g, entry, LegalStatus::C1, CategoryOfNeed::N1, care);
                self.caused_by(la, ico);
                self.emit_in(
                    g,
                    entry,
                    ChildProtectionPlanEnded {
                        reason: CpPlanEndReason::BecameLookedAfter,
                        detail: None,
                    },
                );
                self.in_care(care, Some(issued), LegalStatus::C1);
            }
            Route::Emergency => {
                let s = r;
                let g = self.group();
                let pp = self.emit_in(
                    g,
                    s,
                    CourtOrderMade {
                        order: CourtOrderKind::PoliceProtection,
                        expires_on: None,
                        in_favour_of: Vec::new(),
                        court: None,
                        detail: None,
                    },
                );
                let la = self.become_looked_after(g, s, LegalStatus::L1, CategoryOfNeed::N1, care);
                self.caused_by(la, pp);
                self.section_47_from_strategy_discussion(s);
                let n = self.rng.int(5, 12);
                let done = self.wd(s, n);
                self.emit(
                    done,
                    Section47Completed {
                        outcome: Section47Outcome::SubstantiatedNoConference,
                    },
                    Src::La,
                );
                self.assessment(r, None, true);
                let pp_end = s.add_days(self.rng.int(1, 3));
                let agreed = self.rng.chance(0.3) && care.outcome != Outcome::Adoption;
                if agreed {
                    let g = self.group();
                    self.emit_in(
                        g,
                        pp_end,
                        CourtOrderEnded {
                            order: CourtOrderKind::PoliceProtection,
                            reason: OrderEndReason::Expired,
                            detail: None,
                        },
                    );
                    self.emit_in(
                        g,
                        pp_end,
                        LegalStatusChanged {
                            legal_status: LegalStatus::V2,
                        },
                    );
                    self.in_care(care, None, LegalStatus::V2);
                } else {
                    // Police protection lasts at most 72 hours (SSDA903 rule 361): the interim care order
                    // is made when it expires, unless an emergency protection order comes between.
                    let mut ico_day = pp_end;
                    let g = self.group();
                    self.emit_in(
                        g,
                        pp_end,
                        CourtOrderEnded {
                            order: CourtOrderKind::PoliceProtection,
                            reason: OrderEndReason::Expired,
                            detail: None,
                        },
                    );
                    let epo = self.rng.chance(0.5);
                    if epo {
                        let made = pp_end;
                        self.emit_in(
                            g,
                            made,
                            CourtOrderMade {
                                order: CourtOrderKind::EmergencyProtectionOrder,
                                expires_on: Some(made.add_days(8)),
                                in_favour_of: Vec::new(),
                                court: Some(self.w.court.clone()),
                                detail: None,
                            },
                        );
                        self.emit_in(
                            g,
                            made,
                            LegalStatusChanged {
                                legal_status: LegalStatus::L2,
                            },
                        );
                        ico_day = made.add_days(self.rng.int(5, 8));
                    }
                    let g = self.group();
                    let payload = CareProceedingsIssued {
                        court: Some(self.w.court.clone()),
                        letter_of_issue_sent_on: None,
                    };
                    self.emit_in(g, ico_day, payload);
                    self.emit_in(
                        g,
                        ico_day,
                        CourtOrderMade {
                            order: CourtOrderKind::InterimCareOrder,
                            expires_on: None,
                            in_favour_of: Vec::new(),
                            court: Some(self.w.court.clone()),
                            detail: None,
                        },
                    );
                    if epo {
                        self.emit_in(
                            g,
                            ico_day,
                            CourtOrderEnded {
                                order: CourtOrderKind::EmergencyProtectionOrder,
                                reason: OrderEndReason::Replaced,
                                detail: None,
                            },
                        );
                    }
                    self.emit_in(
                        g,
                        ico_day,
                        LegalStatusChanged {
                            legal_status: LegalStatus::C1,
                        },
                    );
                    self.in_care(care, Some(ico_day), LegalStatus::C1);
                }
            }
            Route::Section20 | Route::Uasc | Route::Remand => {
                let (ls, need) = match care.route {
                    Route::Remand => (LegalStatus::J1, CategoryOfNeed::N6),
                    Route::Uasc => (LegalStatus::V2, CategoryOfNeed::N8),
                    _ => (
                        LegalStatus::V2,
                        self.rng.weighted(&[
                            (CategoryOfNeed::N1, 0.3),
                            (CategoryOfNeed::N4, 0.25),
                            (CategoryOfNeed::N5, 0.25),
                            (CategoryOfNeed::N6, 0.08),
                            (CategoryOfNeed::N3, 0.06),
                            (CategoryOfNeed::N2, 0.06),
                        ]),
                    ),
                };
                let entry = care.entry.max(r);
                self.assessment(r, None, true);
                let g = self.group();
                self.become_looked_after(g, entry, ls, need, care);
                if care.route == Route::Uasc {
                    self.emit_in(g, entry, UnaccompaniedAsylumSeekingStatusRecorded {});
                }
                self.in_care(care, None, ls);
            }
        }
    }

    /// The pre-proceedings period (Public Law Outline) before proceedings are issued on `entry`.
    pub(super) fn pre_proceedings(&mut self, r: Date, entry: Date) {
        let start = entry.add_days(-self.rng.int(45, 130));
        if start <= r.add_days(30) {
            return;
        }
        let g = self.group();
        self.emit_in(g, start, PreProceedingsStarted {});
        self.emit_in(g, start, LetterBeforeProceedingsSent {});
        let offered = start.add_days(self.rng.int(0, 10));
        self.emit(offered, FamilyGroupConferenceOffered {}, Src::La);
        if self.rng.chance(0.6) {
            let participants = vec![
                PersonAttendance {
                    person: self.mother.clone(),
                    attended: true,
                },
                PersonAttendance {
                    person: self.father.clone(),
                    attended: self.rng.chance(0.4),
                },
            ];
            let d = start.add_days(self.rng.int(14, 40)).min(entry.add_days(-1));
            self.emit(d, FamilyGroupConferenceHeld { participants }, Src::La);
        }
        let mut d = start.add_days(self.rng.int(5, 15));
        let mut kind = MeetingKind::Initial;
        while d < entry.add_days(-3) {
            self.emit(d, PreProceedingsMeetingHeld { kind }, Src::La);
            kind = MeetingKind::Review;
            d = d.add_days(self.rng.int(28, 45));
        }
        let ended = entry.add_days(-self.rng.int(0, 3)).max(start);
        self.emit(
            ended,
            PreProceedingsEnded {
                outcome: PreProceedingsOutcome::ProceedingsIssued,
                detail: None,
            },
            Src::La,
        );
    }

    pub(super) fn placement(&mut self, d: Date, kind: PlacementKind, care: CarePlan) -> Placement {
        let age = self.age_on(d).max(0);
        // A child placed for adoption comes from foster care (SSDA903 rule 336): with an adoption plan, the
        // placements before are foster placements, not a children's home or a mother-and-baby unit.
        let adoption_plan = care.outcome == Outcome::Adoption;
        use PlacementType as T;
        let place_type = match kind {
            PlacementKind::Foster => {
                if care.outcome == Outcome::SpecialGuardianship && self.rng.chance(0.7) {
                    if self.rng.chance(0.5) { T::U3 } else { T::U1 }
                } else if adoption_plan {
                    self.rng.weighted(&[(T::U6, 0.7), (T::U4, 0.15), (T::U3, 0.15)])
                } else if age >= 16 && self.rng.chance(0.35) {
                    if valid_on(T::K3, d) { T::K3 } else { T::H5 }
                } else if age >= 11 && self.rng.chance(0.25) {
                    T::K2
                } else {
                    self.rng.weighted(&[
                        (T::U6, 0.55),
                        (T::U4, 0.2),
                        (T::U3, 0.15),
                        (T::U1, 0.05),
                        // Placement with parents needs a care order (SSDA903 rule 378: not under section 20).
                        (
                            T::P1,
                            if care.route == Route::Protection {
                                0.05
                            } else {
                                0.0
                            },
                        ),
                    ])
                }
            }
            PlacementKind::Emergency => {
                if age >= 14 && !adoption_plan && self.rng.chance(0.3) {
                    T::K2
                } else {
                    T::U6
                }
            }
            PlacementKind::Remand => {
                if age >= 15 && self.rng.chance(0.5) {
                    T::R5
                } else if self.rng.chance(0.5) {
                    T::K1
                } else {
                    T::U6
                }
            }
            PlacementKind::Uasc => {
                if age >= 16 {
                    if valid_on(T::K3, d) { T::K3 } else { T::H5 }
                } else {
                    T::U6
                }
            }
            PlacementKind::Baby => {
                if care.outcome == Outcome::Adoption && self.rng.chance(0.25) {
                    T::U5
                } else if !adoption_plan && self.rng.chance(0.1) {
                    T::R3
                } else {
                    T::U6
                }
            }
            PlacementKind::Kinship => {
                if self.rng.chance(0.5) {
                    T::U3
                } else {
                    T::U1
                }
            }
            PlacementKind::LongTerm => {
                if self.rng.chance(0.8) {
                    T::U4
                } else {
                    T::U1
                }
            }
            PlacementKind::Adoption { with_foster_carers } => {
                if with_foster_carers {
                    T::A5
                } else {
                    T::A6
                }
            }
            PlacementKind::AdoptionConsent { with_foster_carers } => {
                if with_foster_carers {
                    T::A3
                } else {
                    T::A4
                }
            }
        };
        let provider = match place_type {
            T::P1 => Some(PlacementProvider::PR0),
            T::U1 | T::U2 | T::U3 => Some(PlacementProvider::PR1),
            T::U4 | T::U5 | T::U6 => Some(if self.rng.chance(0.55) {
                PlacementProvider::PR1
            } else {
                PlacementProvider::PR4
            }),
            T::K2 | T::H5 | T::K3 | T::R3 => Some(if self.rng.chance(0.8) {
                PlacementProvider::PR4
            } else {
                PlacementProvider::PR5
            }),
            T::K1 => Some(if self.rng.chance(0.5) {
                PlacementProvider::PR1
            } else {
                PlacementProvider::PR2
            }),
            T::R5 => Some(PlacementProvider::PR3),
            T::A3 | T::A4 | T::A5 | T::A6 => Some(if self.rng.chance(0.6) {
                PlacementProvider::PR1
            } else {
                PlacementProvider::PR2
            }),
            _ => Some(PlacementProvider::PR1),
        };
        let outside = self.rng.chance(if matches!(place_type, T::K2 | T::K1 | T::R5) {
            0.6
        } else {
            0.25
        });
        // Own provision is inside the authority (SSDA903 rule 1015).
        let provider = match provider {
            Some(PlacementProvider::PR1) if outside => Some(PlacementProvider::PR2),
            other => other,
        };
        // Every placement but those with parents, in employment, NHS, residential care homes, custody,
        // temporary and "other" has the Ofsted URN of its setting or agency (SSDA903 rules 218 and 230).
        let urn_exempt = matches!(place_type, T::P1 | T::P3 | T::R1 | T::R2 | T::R5)
            || place_type.is_temporary()
            || place_type.is_other();
        let urn = (!urn_exempt)
            .then(|| Urn::parse(format!("SC{:06}", self.rng.int(100_000, 999_999))).expect("valid URN"));
        let carers = if place_type.is_foster() || place_type.is_placed_for_adoption() {
            let relationship = match place_type {
                T::U1 | T::U2 | T::U3 => self.rng.pick(&[
                    Relationship::Grandparent,
                    Relationship::OtherRelative,
                    Relationship::FamilyFriend,
                ]),
                T::A3 | T::A4 | T::A5 | T::A6 => Relationship::Adopter,
                _ => Relationship::FosterCarer,
            };
            let n = self.rng.u64() % 100_000;
            vec![ThirdParty {
                person_id: PersonId::parse(format!("carer-{n:05}")).expect("valid person id"),
                relationship,
                name: Some(text(&people::name_for(n.wrapping_add(77)))),
                date_of_birth: None,
                contact_details: None,
            }]
        } else {
            Vec::new()
        };
        let postcode = if place_type == T::P1 {
            Some(self.home.clone())
        } else if outside {
            match self.p.postcodes {
                crate::PostcodeArea::Real => Some(people::real_out_of_area(&mut self.rng)),
                crate::PostcodeArea::Fictional => None,
            }
        } else {
            // Not the child's home (SSDA903 rule 392d).
            let mut pc = self.home.clone();
            for _ in 0..8 {
                let district = self.rng.int(1, 24) as u32;
                pc = people::postcode_in(self.p.postcodes, &mut self.rng, district);
                if pc != self.home {
                    break;
                }
            }
            Some(pc)
        };
        Placement {
            place_type,
            provider,
            postcode,
            urn,
            location: Some(if outside {
                PlacementLocation::OutsideLa
            } else {
                PlacementLocation::InsideLa
            }),
            la_of_placement: outside
                .then(|| LaCode::parse(format!("{}", self.rng.int(201, 938))).expect("three digits")),
            carers,
        }
    }

    pub(super) fn become_looked_after(
        &mut self,
        g: u32,
        d: Date,
        ls: LegalStatus,
        need: CategoryOfNeed,
        care: CarePlan,
    ) -> u32 {
        let age = self.age_on(d);
        let kind = match care.route {
            Route::Remand => PlacementKind::Remand,
            Route::Uasc => PlacementKind::Uasc,
            Route::Emergency => PlacementKind::Emergency,
            _ if age < 1 => PlacementKind::Baby,
            _ => PlacementKind::Foster,
        };
        let placement = self.placement(d, kind, care);
        self.current = Some(placement.clone());
        let payload = BecameLookedAfter {
            legal_status: ls,
            category_of_need: need,
            placement,
            // Unaccompanied asylum-seeking children have no home in England (SSDA903 rules 392b, 406).
            home_postcode: (care.route != Route::Uasc).then(|| self.home.clone()),
        };
        self.emit_in(g, d, payload)
    }
}
