//! One child's journey, simulated around its skeleton: every event with the date it happened, the agency
//! that sends it, and which events are recorded together. Recording times come later (`record.rs`).
//!
//! `Sim` keeps the child's state and the emitting helpers here; its journey is written by stage in the
//! submodules, as `journey_core::domain::events` is: `identity` (registration), `front_door`,
//! `child_in_need`, `protection`, `looked_after` (the way in), `care` (the period of care), `permanence`
//! (adoption) and `leaving_care`.

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
mod child_in_need;
mod front_door;
mod identity;
mod leaving_care;
mod looked_after;
mod permanence;
mod protection;

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
        // A closure is recorded after the completion of the assessment in its episode, so the record never
        // holds the one without the other (a completion recorded late, after the extraction, holds the
        // closure back with it).
        let needs = if matches!(payload, EventPayload::ChildInNeedEpisodeClosed(_)) {
            self.conclude_assessment_by(on.date())
        } else {
            None
        };
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
                needs,
                optional_ref: None,
            });
        }
        n
    }

    /// An episode closes with its assessment concluded: one still going on the day of closure (a remand
    /// that ended, a transfer out) is authorised that day, as the CIN census requires (rules 8736, 8867:
    /// an episode closed before the assessment in it was authorised).
    /// Returns the completion's event number.
    fn conclude_assessment_by(&mut self, d: Date) -> Option<u32> {
        let started = self
            .drafts
            .iter()
            .rposition(|x| matches!(x.payload, EventPayload::AssessmentStarted(_)) && x.on.date() <= d)?;
        let x = self.drafts[started + 1..]
            .iter_mut()
            .find(|x| matches!(x.payload, EventPayload::AssessmentCompleted(_)))?;
        if x.on.date() > d
            && let EventPayload::AssessmentCompleted(a) = &mut x.payload
        {
            x.on = OccurredAt::on(d);
            if a.authorised_on.is_some() {
                a.authorised_on = Some(d);
            }
        }
        Some(x.n)
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
