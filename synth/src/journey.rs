//! One child's journey, simulated around its skeleton: every event with the date it happened, the agency
//! that sends it, and which events are recorded together. Recording times come later (`record.rs`).

use journey_core::codes::*;
use journey_core::domain::lists::*;
use journey_core::domain::*;
use journey_core::ids::{ChildId, EventId};
use journey_core::time::{Date, OccurredAt};

use super::people;
use super::profile::AuthorityProfile;
use super::rng::Rng;
use super::skeleton::{AdoptionDates, CarePlan, Depth, Outcome, Prelude, Route, Skeleton};
use super::world::{Src, World, professional, text, valid_on};

mod care;

/// An event as it happened, before it is recorded.
#[derive(Clone, Debug)]
pub(crate) struct Draft {
    /// Creation number: the event id is `<child>-<n>`.
    pub n: u32,
    pub on: OccurredAt,
    pub payload: EventPayload,
    pub src: Src,
    /// Events with the same non-zero group are recorded in one append.
    pub group: u32,
    pub causation: Option<u32>,
    /// A reference the event must keep: it is recorded after event `n`.
    pub needs: Option<u32>,
    /// A reference the event may drop if its target is recorded later.
    pub optional_ref: Option<u32>,
}

pub(crate) fn event_id(child: &ChildId, n: u32) -> EventId {
    EventId::parse(format!("{child}-{n:04}")).expect("generated event ids are valid")
}

fn long(s: impl Into<String>) -> LongText {
    LongText::parse(s.into()).expect("generated text is valid")
}

/// The state of a simulation.
pub(crate) struct Sim<'a> {
    w: &'a World,
    p: &'a AuthorityProfile,
    rng: Rng,
    child: ChildId,
    pub drafts: Vec<Draft>,
    next_n: u32,
    next_group: u32,
    sk: Skeleton,
    end: Date,
    dob: Date,
    sex: Sex,
    home: Postcode,
    district: u32,
    mother: ThirdParty,
    father: ThirdParty,
    /// The allocated social worker, if any.
    sw: Option<u32>,
    sw_since: Date,
    /// A school, for school-age children.
    school: u16,
    /// The category of the child protection plan.
    category: AbuseCategory,
    /// The current placement of a looked-after child.
    current: Option<Placement>,
    /// Decide the next contact on the day (emergencies).
    quick_decision: bool,
}

impl<'a> Sim<'a> {
    pub(crate) fn new(
        w: &'a World,
        p: &'a AuthorityProfile,
        rng: Rng,
        child: ChildId,
        sk: Skeleton,
    ) -> Sim<'a> {
        let mut rng = rng;
        let sex = if sk.unborn && rng.chance(0.6) {
            Sex::U
        } else if rng.chance(0.515) {
            Sex::M
        } else {
            Sex::F
        };
        let district = rng.int(1, 24) as u32;
        let home = people::postcode_in(p.postcodes, &mut rng, district);
        let family = people::family_name(&mut rng);
        let mother = ThirdParty {
            person_id: PersonId::parse(format!("{child}-p1")).expect("valid person id"),
            relationship: Relationship::Mother,
            name: Some(text(&format!(
                "{} {family}",
                people::given_name(&mut rng, Sex::F)
            ))),
            date_of_birth: None,
            contact_details: Some(text(&{
                let number = rng.int(1, 199);
                match p.postcodes {
                    // A real postcode with an invented house number could be someone's address.
                    super::PostcodeArea::Real => format!("{home}"),
                    super::PostcodeArea::Fictional => format!("{number}, {home}"),
                }
            })),
        };
        let father = ThirdParty {
            person_id: PersonId::parse(format!("{child}-p2")).expect("valid person id"),
            relationship: Relationship::Father,
            name: Some(text(&format!(
                "{} {}",
                people::given_name(&mut rng, Sex::M),
                people::family_name(&mut rng)
            ))),
            date_of_birth: None,
            contact_details: None,
        };
        let school = rng.below(w.schools.len()) as u16;
        Sim {
            w,
            p,
            rng,
            child,
            drafts: Vec::with_capacity(32),
            next_n: 0,
            next_group: 1,
            end: p.end,
            dob: sk.dob,
            sex,
            home,
            district,
            mother,
            father,
            sw: None,
            sw_since: sk.first_contact,
            school,
            category: AbuseCategory::NEG,
            current: None,
            quick_decision: false,
            sk,
        }
    }

    // ---- emitting ----

    fn emit_full(&mut self, on: OccurredAt, payload: EventPayload, src: Src, group: u32) -> u32 {
        let n = self.next_n;
        self.next_n += 1;
        if on.date() <= self.end {
            self.drafts.push(Draft {
                n,
                on,
                payload,
                src,
                group,
                causation: None,
                needs: None,
                optional_ref: None,
            });
        }
        n
    }

    fn emit(&mut self, d: Date, payload: impl Into<EventPayload>, src: Src) -> u32 {
        self.emit_full(OccurredAt::on(d), payload.into(), src, 0)
    }

    fn emit_in(&mut self, group: u32, d: Date, payload: impl Into<EventPayload>) -> u32 {
        self.emit_full(OccurredAt::on(d), payload.into(), Src::La, group)
    }

    fn group(&mut self) -> u32 {
        self.next_group += 1;
        self.next_group
    }

    fn last_mut(&mut self, n: u32) -> Option<&mut Draft> {
        self.drafts.last_mut().filter(|d| d.n == n)
    }

    fn caused_by(&mut self, n: u32, cause: u32) {
        if let Some(d) = self.last_mut(n) {
            d.causation = Some(cause);
        }
    }

    fn id(&self, n: u32) -> EventId {
        event_id(&self.child, n)
    }

    fn wd(&self, d: Date, n: i32) -> Date {
        self.w.cal.add(d, n.max(0) as u32)
    }

    fn working(&self, d: Date) -> Date {
        self.w.cal.on_or_after(d)
    }

    fn born_by(&self, d: Date) -> bool {
        d >= self.dob
    }

    fn age_on(&self, d: Date) -> i32 {
        if d < self.dob { -1 } else { self.dob.age_on(d) }
    }

    fn at_time(d: Date, h: i32, m: i32) -> OccurredAt {
        OccurredAt::at(d, h.clamp(0, 23) as i8, m.clamp(0, 59) as i8).expect("a valid time of day")
    }

    // ---- people ----

    fn social_worker(&self, n: u32, team: &str) -> Professional {
        professional(
            "SW",
            n,
            "Social worker",
            &format!("{} Children's Services, {team}", self.w.name),
        )
    }

    fn allocate(&mut self, d: Date, team: &str, reason: Option<SocialWorkerChangeReason>) {
        let n = self.rng.int(1, self.w.social_workers as i32) as u32;
        self.sw = Some(n);
        self.sw_since = d;
        // The reason is a fact about the change whatever the year; the DfE asks for it (SW_REASON) for
        // every social worker episode in the return from 2023/24, also those that began before. A first
        // allocation, or one after the case was closed, is "first contact or re-referral".
        let change_reason = Some(reason.unwrap_or(SocialWorkerChangeReason::FCONTA));
        let team_no = self.rng.int(1, 6);
        let payload = WorkerAllocated {
            role: WorkerRole::SocialWorker,
            worker: self.social_worker(n, team),
            team: Some(text(&format!("{team} {team_no}"))),
            change_reason,
        };
        self.emit(d, payload, Src::La);
    }

    fn end_allocation(&mut self, d: Date, group: u32) {
        if self.sw.take().is_some() {
            self.emit_in(
                group,
                d,
                WorkerAllocationEnded {
                    role: WorkerRole::SocialWorker,
                    reason: None,
                },
            );
        }
    }

    /// Occasional changes of social worker during a long involvement.
    fn worker_changes(&mut self, from: Date, to: Date, team: &str) {
        let mut d = from;
        loop {
            d = d.add_days(self.rng.log_normal_days(330.0, 0.5, 60, 1200));
            if d >= to || d > self.end {
                break;
            }
            let reason = self.rng.weighted(&[
                (SocialWorkerChangeReason::LEFTRL, 0.45),
                (SocialWorkerChangeReason::MANAGE, 0.25),
                (SocialWorkerChangeReason::ORGRST, 0.1),
                (SocialWorkerChangeReason::ABSENC, 0.1),
                (SocialWorkerChangeReason::PCCHAN, 0.05),
                (SocialWorkerChangeReason::CHCHAN, 0.05),
            ]);
            let d2 = self.working(d);
            if d2 < to {
                self.allocate(d2, team, Some(reason));
            }
        }
    }

    fn attendance(&mut self, agency: PartnerAgency, p_attend: f64, report: Option<f64>) -> AgencyAttendance {
        let attended = self.rng.chance(p_attend);
        let report_submitted = report.map(|r| self.rng.chance(r));
        let professional = attended.then(|| {
            let (kind, role, org) = match agency {
                PartnerAgency::Police => (
                    "PC",
                    "Detective constable",
                    self.w.police_name.as_str().to_owned(),
                ),
                PartnerAgency::HealthVisiting | PartnerAgency::Health | PartnerAgency::SchoolNursing => (
                    "HV",
                    "Health visitor / school nurse",
                    self.w.health_name.as_str().to_owned(),
                ),
                PartnerAgency::Education => (
                    "DSL",
                    "Designated safeguarding lead",
                    self.w.school_name(self.school).as_str().to_owned(),
                ),
                _ => (
                    "TM",
                    "Team manager",
                    format!("{} Children's Services", self.w.name),
                ),
            };
            professional(kind, self.rng.int(1, 400) as u32, role, &org)
        });
        AgencyAttendance {
            agency,
            invited: true,
            attended,
            report_submitted,
            professional,
        }
    }

    fn health_agency(&self, d: Date) -> PartnerAgency {
        let age = self.age_on(d);
        if age < 0 {
            PartnerAgency::Midwifery
        } else if age < 5 {
            PartnerAgency::HealthVisiting
        } else {
            PartnerAgency::SchoolNursing
        }
    }

    // ---- the journey ----

    pub(crate) fn run(mut self) -> Vec<Draft> {
        let sk = self.sk;
        let f = sk.first_contact;
        self.register(f);
        if sk.unborn && self.dob <= self.end {
            // The birth, recorded as an amendment of the registration.
            let sex = if self.sex == Sex::U {
                Some(if self.rng.chance(0.51) { Sex::M } else { Sex::F })
            } else {
                None
            };
            if let Some(s) = sex {
                self.sex = s;
            }
            let nhs = people::nhs_number(&mut self.rng);
            let amended = ChildDetailsAmended {
                date_of_birth: Some(self.dob),
                sex,
                nhs_number: Some(nhs),
                ..ChildDetailsAmended::default()
            };
            self.emit(self.dob, amended, Src::Health);
        }
        if sk.transferred_in {
            let from = LaCode::parse(format!("{}", self.rng.int(201, 938))).expect("three digits");
            self.emit(
                f,
                TransferredIn {
                    from_local_authority: Some(from),
                    from_authority_name: None,
                },
                Src::La,
            );
        }
        self.prelude(sk);
        match sk.depth {
            Depth::FrontDoor => self.front_door_only(sk.main),
            _ => self.main_episode(sk),
        }
        self.drafts
    }

    fn register(&mut self, f: Date) {
        let sk = self.sk;
        let given = people::given_name(&mut self.rng, self.sex);
        let family = people::family_name(&mut self.rng);
        let age = self.age_on(f);
        let born = !sk.unborn;
        let school_age = (5..=16).contains(&age);
        let upn = (born && school_age && self.rng.chance(0.9)).then(|| {
            let joined = self.dob.add_years(5).year();
            people::upn(&mut self.rng, &self.p.la_code, joined)
        });
        let uasc = sk.care.is_some_and(|c| c.route == Route::Uasc);
        let upn_unknown_reason = match (born, upn.is_some()) {
            (true, false) if uasc => Some(UpnUnknownReason::UN2),
            (true, false) if age < 5 => Some(UpnUnknownReason::UN1),
            (true, false) if self.rng.chance(0.5) => Some(UpnUnknownReason::UN3),
            _ => None,
        };
        let nhs_number = (born && !uasc && self.rng.chance(0.93)).then(|| people::nhs_number(&mut self.rng));
        let ethnicity = if uasc {
            self.rng.weighted(&[
                (Ethnicity::BAFR, 0.35),
                (Ethnicity::AOTH, 0.3),
                (Ethnicity::OOTH, 0.3),
                (Ethnicity::NOBT, 0.05),
            ])
        } else {
            self.rng.weighted(&[
                (Ethnicity::WBRI, 0.62),
                (Ethnicity::WOTH, 0.06),
                (Ethnicity::WIRI, 0.005),
                (Ethnicity::WROM, 0.005),
                (Ethnicity::MWBC, 0.03),
                (Ethnicity::MWAS, 0.02),
                (Ethnicity::MOTH, 0.03),
                (Ethnicity::AIND, 0.03),
                (Ethnicity::APKN, 0.04),
                (Ethnicity::ABAN, 0.01),
                (Ethnicity::BAFR, 0.04),
                (Ethnicity::BCRB, 0.015),
                (Ethnicity::CHNE, 0.005),
                (Ethnicity::OOTH, 0.01),
                (Ethnicity::NOBT, 0.03),
            ])
        };
        let disabilities = if !born || self.rng.chance(0.1) {
            Vec::new()
        } else if self.rng.chance(0.88) {
            vec![Disability::NONE]
        } else {
            let a = self.rng.pick(&[
                Disability::AUT,
                Disability::LD,
                Disability::COMM,
                Disability::BEH,
                Disability::MOB,
            ]);
            let b = self
                .rng
                .pick(&[Disability::HEAR, Disability::VIS, Disability::PC, Disability::DDA]);
            if self.rng.chance(0.3) { vec![a, b] } else { vec![a] }
        };
        let registered = ChildRegistered {
            given_name: (born || self.rng.chance(0.3)).then(|| text(given)),
            family_name: Some(text(family)),
            preferred_name: None,
            date_of_birth: born.then_some(self.dob),
            expected_date_of_birth: (!born).then(|| self.dob.add_days(self.rng.int(-10, 10))),
            sex: self.sex,
            ethnicity: (born || self.rng.chance(0.5)).then_some(ethnicity),
            upn,
            former_upn: None,
            upn_unknown_reason,
            nhs_number,
            disabilities,
            family_id: None,
        };
        self.emit(f, registered, Src::La);
        // A child registered before school age without a UPN (UN1) is given one when they start school
        // (SSDA903 rule 209: no UN1 for a child of school age).
        if born && upn_unknown_reason == Some(UpnUnknownReason::UN1) {
            let starts_school = self.dob.add_years(4).add_days(200).max(f.add_days(1));
            if starts_school <= self.end {
                let joined = starts_school.year();
                let upn = people::upn(&mut self.rng, &self.p.la_code, joined);
                self.emit(
                    starts_school,
                    ChildDetailsAmended {
                        upn: Some(upn),
                        ..ChildDetailsAmended::default()
                    },
                    Src::La,
                );
            }
        }
    }

    /// Contacts, early help or an earlier short episode before the main referral.
    fn prelude(&mut self, sk: Skeleton) {
        let f = sk.first_contact;
        match sk.prelude {
            Prelude::None => {}
            Prelude::Contacts => {
                let outcome = self.rng.pick(&[
                    ContactOutcome::NoFurtherAction,
                    ContactOutcome::InformationAndAdvice,
                    ContactOutcome::SignpostedToOtherAgency,
                ]);
                self.contact(f, outcome, None);
            }
            Prelude::EarlyHelp => {
                let (_, decided) = self.contact(f, ContactOutcome::EarlyHelp, None);
                let until = sk.main.add_days(-self.rng.int(0, 3)).max(decided.add_days(20));
                let start = decided.add_days(self.rng.int(1, 10));
                self.early_help(
                    start,
                    until,
                    Some(EarlyHelpEndReason::SteppedUpToSocialCare),
                    false,
                );
            }
            Prelude::ReferralNfa => {
                let (contact, decided) = self.contact(f, ContactOutcome::ReferralToChildrensSocialCare, None);
                self.referral_nfa(decided, contact);
            }
            Prelude::Assessed => {
                let (contact, decided) = self.contact(f, ContactOutcome::ReferralToChildrensSocialCare, None);
                let r = self.referral(decided, contact, false);
                let latest = sk.main.add_days(-10);
                let done = self.assessment(r, Some(latest), false);
                self.close_after_assessment(done, Some(sk.main.add_days(-1)));
            }
        }
    }

    /// A contact: received (with a time of day), and decided. Returns the contact's number and the date of
    /// the decision.
    fn contact(&mut self, d: Date, outcome: ContactOutcome, source: Option<ReferralSource>) -> (u32, Date) {
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

    fn factors(&mut self, d: Date, n: usize, assessment: bool) -> Vec<AssessmentFactor> {
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

    fn early_help(
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

    fn front_door_only(&mut self, d: Date) {
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
    fn referral_nfa(&mut self, d: Date, contact: u32) {
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

    fn contact_source(&self, contact: u32) -> ReferralSource {
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
    fn referral(&mut self, d: Date, contact: u32, urgent: bool) -> Date {
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

    /// A child and family assessment from referral `r`; completed at the latest by `latest`. Returns the
    /// date it was authorised (on or a few days after its completion).
    fn assessment(&mut self, r: Date, latest: Option<Date>, needs_support: bool) -> Date {
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

    fn close_episode(&mut self, d: Date, reason: CinClosureReason) {
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
    fn close_after_assessment(&mut self, done: Date, before: Option<Date>) {
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
    fn main_episode(&mut self, sk: Skeleton) {
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

    fn contact_same_day(&mut self, d: Date, source: Option<ReferralSource>) -> (u32, Date) {
        self.quick_decision = true;
        let out = self.contact(d, ContactOutcome::ReferralToChildrensSocialCare, source);
        self.quick_decision = false;
        out
    }

    /// Assessed, with a child in need plan or closed.
    fn assessed(&mut self, r: Date) {
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
    fn child_in_need_plan(&mut self, start: Date, end: Date, transfer_out: bool) {
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

    fn transfer_out(&mut self, d: Date, g: u32) {
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

    fn visit(&mut self, kind: VisitKind, d: Date) -> ChildVisited {
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

    /// A strategy discussion on `s` that starts a section 47 enquiry the same day, the enquiry naming and
    /// caused by it.
    fn section_47_from_strategy_discussion(&mut self, s: Date) {
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

    fn strategy_discussion(&mut self, d: Date, outcome: StrategyOutcome) -> u32 {
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
    fn protection(&mut self, r: Date, depth: Depth, care: Option<CarePlan>) -> Option<Date> {
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
    fn conference(&mut self, g: u32, d: Date, kind: ConferenceKind, plan: bool) -> u32 {
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
    fn cp_plan(&mut self, start: Date, until: Date, end: PlanEnd) {
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

    // ---- looked after ----

    fn looked_after_journey(&mut self, r: Date, care: CarePlan) {
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
    fn pre_proceedings(&mut self, r: Date, entry: Date) {
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

    fn placement(&mut self, d: Date, kind: PlacementKind, care: CarePlan) -> Placement {
        let age = self.age_on(d).max(0);
        use PlacementType as T;
        let place_type = match kind {
            PlacementKind::Foster => {
                if care.outcome == Outcome::SpecialGuardianship && self.rng.chance(0.7) {
                    if self.rng.chance(0.5) { T::U3 } else { T::U1 }
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
                if age >= 14 && self.rng.chance(0.3) {
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
                } else if self.rng.chance(0.1) {
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
                super::PostcodeArea::Real => Some(people::real_out_of_area(&mut self.rng)),
                super::PostcodeArea::Fictional => None,
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

    fn become_looked_after(
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

/// How a child protection plan ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PlanEnd {
    Review,
    Transfer,
    Eighteen,
    LookedAfter,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PlacementKind {
    Foster,
    Emergency,
    Remand,
    Uasc,
    Baby,
    Kinship,
    LongTerm,
    Adoption { with_foster_carers: bool },
    AdoptionConsent { with_foster_carers: bool },
}

const CONCERN_TEXTS: &[&str] = &[
    "Police attended a domestic incident at the home; the child was present.",
    "School reports the child arrived hungry and unkempt on several days this week.",
    "Health visitor concerned about the home conditions and missed appointments.",
    "The child disclosed that a parent hit them; a mark was seen on the arm.",
    "Neighbour reports children left alone in the evening.",
    "Attended A&E with an injury whose explanation is inconsistent.",
    "Parent's mental health has deteriorated; the child is a young carer.",
    "Concerns about parental drug use in the home.",
    "The young person has been going missing and is seen with older adults.",
    "Midwife concerned about a pregnant woman's substance use and housing.",
    "Anonymous caller reports shouting and a child crying late at night.",
    "Family in temporary accommodation asking for help.",
];
