//! Leaving care: the care leaver's pathway plan, personal adviser, contacts, activity and accommodation.

use super::*;

impl Sim<'_> {
    /// A care leaver after leaving care: pathway plan reviews, personal adviser contacts, staying put,
    /// entitlements, health history.
    pub(super) fn care_leaver(
        &mut self,
        left: Date,
        staying_put: bool,
        pathway: Option<Date>,
        adviser: Option<Date>,
    ) {
        let eighteen = self.dob.add_years(18);
        let twenty_one = self.dob.add_years(21);
        if adviser.is_none() {
            let pa = professional(
                "PA",
                self.rng.int(1, 60) as u32,
                "Personal adviser",
                &format!("{} Leaving Care Service", self.w.name),
            );
            self.emit(
                left,
                WorkerAllocated {
                    role: WorkerRole::PersonalAdviser,
                    worker: pa,
                    team: Some(text("Leaving Care Team")),
                    change_reason: None,
                },
                Src::La,
            );
        }
        if pathway.is_none() {
            self.emit(left, PathwayPlanStarted {}, Src::La);
        }
        let carers = self
            .current
            .as_ref()
            .map(|p| p.carers.clone())
            .unwrap_or_default();
        if staying_put {
            let g = self.group();
            self.emit_in(g, left, StayingPutStarted { carers });
            let ends = left.add_days(self.rng.int(200, left.days_until(twenty_one).max(201)));
            self.emit(
                ends.min(twenty_one),
                StayingPutEnded {
                    reason: Some(long("Moved to independent accommodation.")),
                },
                Src::La,
            );
        }
        let given = left.add_days(-self.rng.int(0, 60)).max(self.dob.add_years(16));
        self.emit(given, HealthHistoryGiven {}, Src::Health);
        // Pathway plan reviews every 6 months, contacts every 2-3 months, until 21. A needs assessment done
        // late can start the plan after the child has left care: its reviews then follow the plan, not the
        // day the child left (a review of a plan not yet made is refused by the domain rules).
        let mut d = left.add_days(self.rng.int(120, 182));
        if let Some(started) = pathway.filter(|&p| p >= d) {
            d = started.add_days(self.rng.int(120, 182));
        }
        while d < twenty_one && d <= self.end {
            self.emit(d, PathwayPlanReviewed {}, Src::La);
            d = d.add_days(self.rng.int(150, 190));
        }
        let mut d = left.add_days(self.rng.int(20, 70));
        let higher_education = self.rng.chance(0.08);
        while d < twenty_one && d <= self.end {
            let in_touch = self.rng.weighted(&[
                (InTouch::YES, 0.86),
                (InTouch::NO, 0.08),
                (InTouch::REFU, 0.04),
                (InTouch::NREQ, 0.02),
            ]);
            let contact = if in_touch == InTouch::YES {
                let activity = self.activity(d, higher_education);
                let accommodation = self.accommodation(d, staying_put && d < twenty_one, eighteen);
                CareLeaverContactRecorded {
                    in_touch,
                    activity: Some(activity),
                    accommodation: Some(accommodation),
                    mode: Some(self.rng.pick(&[
                        ContactMode::InPerson,
                        ContactMode::Phone,
                        ContactMode::Video,
                    ])),
                }
            } else {
                CareLeaverContactRecorded {
                    in_touch,
                    activity: Some(CareLeaverActivity::Zero),
                    accommodation: Some(CareLeaverAccommodation::Zero),
                    mode: None,
                }
            };
            self.emit(d, contact, Src::La);
            d = d.add_days(self.rng.int(50, 100));
        }
        // Entitlements: offered, then accepted or declined.
        let setting_up = left.add_days(self.rng.int(30, 200));
        let amount = if setting_up >= Date::new(2023, 4, 1).expect("a real date") {
            300_000
        } else {
            200_000
        };
        self.offer(
            setting_up,
            EntitlementKind::SettingUpHomeAllowance,
            None,
            Some(amount),
            0.9,
        );
        let ct = eighteen.max(left).add_days(self.rng.int(0, 60));
        self.offer(ct, EntitlementKind::CouncilTaxExemption, None, None, 0.8);
        if higher_education {
            let d = eighteen.max(left).add_days(self.rng.int(90, 300));
            self.offer(
                d,
                EntitlementKind::HigherEducationBursary,
                None,
                Some(200_000),
                0.95,
            );
        }
        if self.rng.chance(0.5) {
            let d = left.add_days(self.rng.int(10, 120));
            self.offer(
                d,
                EntitlementKind::LocalOffer,
                Some("Free leisure centre membership"),
                None,
                0.6,
            );
        }
        if twenty_one <= self.end {
            let g = self.group();
            self.emit_in(
                g,
                twenty_one,
                WorkerAllocationEnded {
                    role: WorkerRole::PersonalAdviser,
                    reason: None,
                },
            );
        }
    }

    pub(super) fn offer(
        &mut self,
        d: Date,
        kind: EntitlementKind,
        name: Option<&str>,
        amount: Option<u32>,
        accept: f64,
    ) {
        let entitlement = Entitlement {
            kind,
            name: name.map(text),
        };
        let offer = self.emit(
            d,
            EntitlementOffered {
                entitlement,
                amount_pence: amount,
            },
            Src::La,
        );
        let answered = d.add_days(self.rng.int(0, 30));
        let n = if self.rng.chance(accept) {
            self.emit(
                answered,
                EntitlementAccepted {
                    offer_event_id: self.id(offer),
                },
                Src::La,
            )
        } else {
            self.emit(
                answered,
                EntitlementDeclined {
                    offer_event_id: self.id(offer),
                    reason: Some(long("Not needed at the moment.")),
                },
                Src::La,
            )
        };
        if let Some(dr) = self.last_mut(n) {
            dr.needs = Some(offer);
            dr.causation = Some(offer);
        }
    }

    pub(super) fn activity(&mut self, d: Date, higher_education: bool) -> CareLeaverActivity {
        use CareLeaverActivity as A;
        if higher_education && self.age_on(d) >= 18 {
            return A::F1;
        }
        let mut options = vec![
            (A::F2, 0.3),
            (A::F3, 0.15),
            (A::F4, 0.05),
            (A::F5, 0.12),
            (A::P2, 0.04),
            (A::P3, 0.03),
            (A::P5, 0.03),
            (A::G4, 0.05),
            (A::G5, 0.25),
            (A::G6, 0.05),
        ];
        options.retain(|(c, _)| valid_on(*c, d));
        self.rng.weighted(&options)
    }

    pub(super) fn accommodation(
        &mut self,
        d: Date,
        staying_put: bool,
        eighteen: Date,
    ) -> CareLeaverAccommodation {
        use CareLeaverAccommodation as C;
        if staying_put && d >= eighteen {
            return C::Z1;
        }
        self.rng.weighted(&[
            (C::D1, 0.25),
            (C::U1, 0.2),
            (C::E1, 0.08),
            (C::B1, 0.12),
            (C::T1, 0.05),
            (C::K1, 0.04),
            (C::C1, 0.03),
            (C::D2, 0.04),
            (C::U2, 0.03),
            (C::S2, 0.02),
            (C::V2, 0.02),
            (C::W2, 0.02),
            (C::X2, 0.02),
            (C::B2, 0.03),
        ])
    }
}
