//! The front door: contacts and their decisions, early help, referrals and the assessment factors.

use super::*;

impl Sim<'_> {
    /// A contact: received (with a time of day), and decided. Returns the contact's number and the date of
    /// the decision.
    pub(super) fn contact(
        &mut self,
        d: Date,
        outcome: ContactOutcome,
        source: Option<ReferralSource>,
    ) -> (u32, Date) {
        let age = self.age_on(d);
        let source = source.unwrap_or_else(|| {
            let unborn = age < 0;
            let mut options = vec![
                (ReferralSource::R6, if unborn { 0.05 } else { 0.3 }),
                (
                    ReferralSource::R2A,
                    if (4..=17).contains(&age) { 0.22 } else { 0.0 },
                ),
                (ReferralSource::R3A, 0.04),
                (
                    ReferralSource::R3B,
                    if (0..5).contains(&age) { 0.06 } else { 0.0 },
                ),
                (ReferralSource::R3D, if unborn { 0.6 } else { 0.02 }),
                (ReferralSource::R3E, 0.03),
                (
                    ReferralSource::R3C,
                    if (5..=17).contains(&age) { 0.02 } else { 0.0 },
                ),
                (ReferralSource::R1A, 0.05),
                (ReferralSource::R1B, 0.02),
                (ReferralSource::R1C, if age >= 12 { 0.01 } else { 0.0 }),
                (ReferralSource::R1D, 0.01),
                (ReferralSource::R4, 0.02),
                (ReferralSource::R5A, 0.03),
                (ReferralSource::R5B, 0.04),
                (ReferralSource::R5C, 0.02),
                (ReferralSource::R7, 0.03),
                (ReferralSource::R8, 0.04),
                (ReferralSource::R9, 0.01),
                (ReferralSource::R10, 0.01),
            ];
            options.retain(|(c, _)| valid_on(*c, d));
            self.rng.weighted(&options)
        });
        let (src, agency) = match source {
            ReferralSource::R6 => (Src::Police, Some(self.w.police_name.clone())),
            ReferralSource::R2A => (Src::School(self.school), Some(self.w.school_name(self.school))),
            ReferralSource::R3A
            | ReferralSource::R3B
            | ReferralSource::R3C
            | ReferralSource::R3D
            | ReferralSource::R3E
            | ReferralSource::R3F => (Src::Health, Some(self.w.health_name.clone())),
            ReferralSource::R4 => (Src::La, Some(text(&format!("{} Homes", self.w.name)))),
            ReferralSource::R5A | ReferralSource::R5B | ReferralSource::R5D => {
                (Src::La, Some(text(&format!("{} Council", self.w.name))))
            }
            ReferralSource::R8 => (Src::La, Some(text("Exampleton Children's Centre"))),
            _ => (Src::La, None),
        };
        let count = self.rng.int(0, 3) as usize;
        let concerns = self.factors(d, count, false);
        let referrer = match source {
            ReferralSource::R1A => Some(Referrer {
                person: ThirdParty {
                    person_id: PersonId::parse(format!("{}-p3", self.child)).expect("valid person id"),
                    relationship: self
                        .rng
                        .pick(&[Relationship::Grandparent, Relationship::OtherRelative]),
                    name: Some(text(&people::name_for(self.rng.u64()))),
                    date_of_birth: None,
                    contact_details: None,
                },
                confidential: false,
            }),
            ReferralSource::R1B | ReferralSource::R1D => Some(Referrer {
                person: ThirdParty {
                    person_id: PersonId::parse(format!("{}-p4", self.child)).expect("valid person id"),
                    relationship: if source == ReferralSource::R1B {
                        Relationship::Neighbour
                    } else {
                        Relationship::MemberOfPublic
                    },
                    name: Some(text(&people::name_for(self.rng.u64()))),
                    date_of_birth: None,
                    contact_details: Some(text(&format!(
                        "{}",
                        people::postcode(&mut self.rng, self.district)
                    ))),
                },
                confidential: self.rng.chance(0.6),
            }),
            _ => None,
        };
        let (h, m) = if src == Src::Police {
            (self.rng.int(0, 23), self.rng.int(0, 59))
        } else {
            (self.rng.int(8, 17), self.rng.int(0, 59))
        };
        let summary = CONCERN_TEXTS[self.rng.below(CONCERN_TEXTS.len())];
        let received = ContactReceived {
            source,
            agency,
            concerns,
            summary: Some(long(summary)),
            referrer,
        };
        let contact = self.emit_full(Self::at_time(d, h, m), received.into(), src, 0);
        let decided = if self.quick_decision {
            d
        } else if self.rng.chance(self.p.timeliness.contact_decision_within_1wd) {
            if self.rng.chance(0.6) { d } else { self.wd(d, 1) }
        } else {
            let n = self.rng.int(2, 6);
            self.wd(d, n)
        };
        let level = match outcome {
            ContactOutcome::NoFurtherAction | ContactOutcome::InformationAndAdvice => 1,
            ContactOutcome::SignpostedToOtherAgency => 2,
            ContactOutcome::EarlyHelp => self.rng.int(2, 3),
            _ => 4,
        } as u8;
        let decision = ContactDecided {
            contact_event_id: self.id(contact),
            outcome,
            level_of_need: Some(level),
            decided_by: Some(professional(
                "MASH",
                self.rng.int(1, 12) as u32,
                "MASH team manager",
                &format!("{} MASH", self.w.name),
            )),
            rationale: Some(long(match outcome {
                ContactOutcome::NoFurtherAction => "Needs met by universal services; no further action.",
                ContactOutcome::InformationAndAdvice => "Advice given to the referrer and the family.",
                ContactOutcome::SignpostedToOtherAgency => "Family signposted to community services.",
                ContactOutcome::EarlyHelp => "Additional needs: consent given for early help.",
                _ => "Threshold for children's social care met (level 4).",
            })),
        };
        let n = self.emit(decided, decision, Src::La);
        if let Some(dr) = self.last_mut(n) {
            dr.needs = Some(contact);
            dr.causation = Some(contact);
        }
        (contact, decided)
    }

    pub(super) fn factors(&mut self, d: Date, n: usize, assessment: bool) -> Vec<AssessmentFactor> {
        use AssessmentFactor as F;
        let age = self.age_on(d);
        let mut pool: Vec<(AssessmentFactor, f64)> = vec![
            (F::F3A, 0.08),
            (F::F3B, 0.2),
            (F::F4B, 0.16),
            (F::F2B, 0.08),
            (F::F1B, 0.07),
            (F::F16A, 0.14),
            (F::F17A, 0.1),
            (F::F18A, 0.03),
            (F::F18C, 0.05),
            (F::F19C, 0.02),
            (F::F5B, 0.02),
            (F::F6A, 0.02),
            (F::F20, 0.03),
        ];
        if age >= 10 {
            pool.extend([
                (F::F4A, 0.08),
                (F::F10A, 0.04),
                (F::F11A, 0.03),
                (F::F14A, 0.04),
                (F::F15A, 0.04),
                (F::F24A, 0.03),
                (F::F13A, 0.02),
                (F::F18B, 0.02),
            ]);
        }
        pool.retain(|(c, _)| valid_on(*c, d));
        if assessment && n == 0 {
            return vec![F::F21];
        }
        let mut out: Vec<AssessmentFactor> = Vec::with_capacity(n);
        for _ in 0..n * 3 {
            if out.len() >= n {
                break;
            }
            let f = self.rng.weighted(&pool);
            if !out.contains(&f) {
                out.push(f);
            }
        }
        out
    }

    pub(super) fn early_help(
        &mut self,
        start: Date,
        until: Date,
        reason: Option<EarlyHelpEndReason>,
        stepped_down: bool,
    ) {
        let org = self.rng.pick(&[
            "Family Hub (North)",
            "Family Hub (South)",
            "Family Hub (Central)",
            "Early Help Team",
        ]);
        let lead = professional(
            "EH",
            self.rng.int(1, 150) as u32,
            "Early help key worker",
            &format!("{} {org}", self.w.name),
        );
        let started = EarlyHelpStarted {
            organisation: text(&format!("{} {org}", self.w.name)),
            lead_professional: Some(lead.clone()),
            stepped_down_from_social_care: stepped_down,
        };
        self.emit(start, started, Src::La);
        self.emit(
            start,
            WorkerAllocated {
                role: WorkerRole::EarlyHelpPractitioner,
                worker: lead,
                team: Some(text(org)),
                change_reason: None,
            },
            Src::La,
        );
        let assessed = start.add_days(self.rng.int(10, 40));
        if assessed < until {
            let count = self.rng.int(1, 3) as usize;
            let factors = self.factors(assessed, count, false);
            self.emit(assessed, EarlyHelpAssessmentCompleted { factors }, Src::La);
        }
        let reason = reason.unwrap_or_else(|| {
            self.rng.weighted(&[
                (EarlyHelpEndReason::NeedsMet, 0.62),
                (EarlyHelpEndReason::Disengaged, 0.2),
                (EarlyHelpEndReason::ConsentWithdrawn, 0.06),
                (EarlyHelpEndReason::MovedAway, 0.06),
                (EarlyHelpEndReason::TransferredToOtherService, 0.06),
            ])
        });
        let g = self.group();
        self.emit_in(g, until, EarlyHelpEnded { reason, detail: None });
        self.emit_in(
            g,
            until,
            WorkerAllocationEnded {
                role: WorkerRole::EarlyHelpPractitioner,
                reason: None,
            },
        );
    }

    pub(super) fn front_door_only(&mut self, d: Date) {
        let contacts = self.rng.weighted(&[(1, 0.7), (2, 0.2), (3, 0.1)]);
        let mut day = d;
        for i in 0..contacts {
            let early_help = i + 1 == contacts && self.rng.chance(self.p.shares.early_help);
            let outcome = if early_help {
                ContactOutcome::EarlyHelp
            } else {
                self.rng.weighted(&[
                    (ContactOutcome::NoFurtherAction, 0.5),
                    (ContactOutcome::InformationAndAdvice, 0.35),
                    (ContactOutcome::SignpostedToOtherAgency, 0.15),
                ])
            };
            let (_, decided) = self.contact(day, outcome, None);
            if early_help {
                let start = decided.add_days(self.rng.int(1, 14));
                let until = start.add_days(self.rng.int(60, 300));
                self.early_help(start, until, None, false);
            }
            day = decided.add_days(self.rng.int(20, 240));
        }
    }

    /// A referral with no further action: the episode opens and closes on the day.
    pub(super) fn referral_nfa(&mut self, d: Date, contact: u32) {
        let g = self.group();
        let source = self.contact_source(contact);
        let referral = ReferralReceived {
            source,
            primary_need: PrimaryNeed::N9,
            no_further_action: true,
            contact_event_id: Some(self.id(contact)),
            referrer: None,
        };
        let r = self.emit_in(g, d, referral);
        if let Some(dr) = self.last_mut(r) {
            dr.optional_ref = Some(contact);
        }
        self.emit_in(
            g,
            d,
            ChildInNeedEpisodeClosed {
                reason: CinClosureReason::RC8,
                detail: None,
            },
        );
    }

    pub(super) fn contact_source(&self, contact: u32) -> ReferralSource {
        self.drafts
            .iter()
            .rev()
            .find_map(|d| match (&d.payload, d.n == contact) {
                (EventPayload::ContactReceived(c), true) => Some(c.source),
                _ => None,
            })
            .unwrap_or(ReferralSource::R10)
    }

    /// A referral that opens a child in need episode, with a social worker allocated. Returns its date.
    pub(super) fn referral(&mut self, d: Date, contact: u32, urgent: bool) -> Date {
        let source = self.contact_source(contact);
        let need = if self.sk.care.is_some_and(|c| c.route == Route::Uasc) {
            PrimaryNeed::N8
        } else {
            self.rng.weighted(&[
                (PrimaryNeed::N0, 0.15),
                (PrimaryNeed::N1, 0.5),
                (PrimaryNeed::N2, 0.04),
                (PrimaryNeed::N3, 0.04),
                (PrimaryNeed::N4, 0.1),
                (PrimaryNeed::N5, 0.1),
                (PrimaryNeed::N6, 0.03),
                (PrimaryNeed::N8, 0.04),
            ])
        };
        let referral = ReferralReceived {
            source,
            primary_need: need,
            no_further_action: false,
            contact_event_id: Some(self.id(contact)),
            referrer: None,
        };
        let r = self.emit(d, referral, Src::La);
        if let Some(dr) = self.last_mut(r) {
            dr.optional_ref = Some(contact);
            dr.causation = Some(contact);
        }
        let alloc = if urgent { d } else { d.add_days(self.rng.int(0, 2)) };
        self.allocate(alloc, "Assessment Team", Some(SocialWorkerChangeReason::FCONTA));
        d
    }
}
