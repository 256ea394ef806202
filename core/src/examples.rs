//! Realistic, entirely synthetic examples: three children's streams that together use every event type,
//! each stream accepted by the rules in order. Names ("Child A", "Parent B"), ids, NHS numbers (the 999
//! test range), UPNs and postcodes (the ZZ area) are invented.
//!
//! Used by the tests here, the golden fixtures and the data generator.

use crate::codes::{
    AbuseCategory, AdopterLegalStatus, AdopterSex, AssessmentFactor as F, CareLeaverAccommodation,
    CareLeaverActivity, CategoryOfNeed, CinClosureReason, Disability, Ethnicity, InTouch, LegalStatus,
    MissingKind, PlacementProvider, PlacementType, PreviousPermanence, PrimaryNeed, ReasonEpisodeCeased,
    ReasonNewEpisode, ReasonPlaceChange, ReasonPlacedCeased, ReferralSource, ReviewParticipation, Sex,
    SocialWorkerChangeReason, UpnUnknownReason,
};
use crate::envelope::NewEvent;
use crate::ids::{AgencyId, ChildId, EventId, Source, SystemId};
use crate::time::{Date, OccurredAt};

use crate::domain::lists::*;
use crate::domain::values::{
    AgencyAttendance, Entitlement, FamilyId, LaCode, LongText, NhsNumber, PersonAttendance, PersonId,
    Placement, Postcode, Professional, Referrer, ShortText, ThirdParty, Upn, Urn, WorkerId, nhs_check_digit,
};
use crate::domain::*;

/// One example of every event type, in `EventKind` order, taken from [`example_streams`].
pub fn examples() -> Vec<EventPayload> {
    let all: Vec<EventPayload> = example_streams()
        .into_iter()
        .flat_map(|(_, events)| events)
        .map(|e| e.payload)
        .collect();
    EventKind::ALL
        .iter()
        .filter_map(|k| all.iter().find(|p| p.kind() == *k).cloned())
        .collect()
}

/// Three synthetic children's streams, each in recording order:
/// * `EX-A`: Child A, from a pre-birth contact to early help, child protection, care proceedings, care,
///   an adoption plan that changed, long-term fostering and leaving care into staying put;
/// * `EX-B`: Child B, an unaccompanied asylum-seeking young person transferred in and out;
/// * `EX-C`: Child C, an infant referred from A&E who died;
/// * `EX-D`: Child D, whose history comes from the authority's earliest SSDA903 return, already looked after
///   when it begins;
/// * `EX-E`: Child E, looked after as a baby and adopted: the adoption order seals the record, and the child
///   continues under a new identity;
/// * `EX-G`, `EX-H`, `EX-J`: a baby registered twice, by the front door (`EX-G`) and by the health visiting
///   team (`EX-H`), whose records are merged into `EX-G`; and another baby (`EX-J`) merged into `EX-G` by
///   mistake, the merge then undone.
pub fn example_streams() -> Vec<(ChildId, Vec<NewEvent>)> {
    vec![
        (child("EX-A"), child_a()),
        (child("EX-B"), child_b()),
        (child("EX-C"), child_c()),
        (child("EX-D"), child_d()),
        (child("EX-E"), child_e()),
        (child("EX-G"), child_g()),
        (child("EX-H"), child_h()),
        (child("EX-J"), child_j()),
    ]
}

fn child(id: &str) -> ChildId {
    ChildId::parse(id).expect("valid child id")
}

fn d(s: &str) -> Date {
    Date::parse_field("date", s).expect("valid example date")
}

fn at(s: &str) -> OccurredAt {
    OccurredAt::parse_field("occurred_at", s).expect("valid example time")
}

fn short(s: &str) -> ShortText {
    ShortText::parse(s).expect("valid short text")
}

fn long(s: &str) -> LongText {
    LongText::parse(s).expect("valid long text")
}

fn id(s: &str) -> EventId {
    EventId::parse(s).expect("valid event id")
}

fn person(id: &str, relationship: Relationship, name: &str) -> ThirdParty {
    ThirdParty {
        person_id: PersonId::parse(id).expect("valid person id"),
        relationship,
        name: Some(short(name)),
        date_of_birth: None,
        contact_details: None,
    }
}

fn pro(id: &str, name: &str, role: &str, organisation: &str) -> Professional {
    Professional {
        worker_id: WorkerId::parse(id).expect("valid worker id"),
        name: Some(short(name)),
        role: Some(short(role)),
        organisation: Some(short(organisation)),
    }
}

fn attend(
    agency: PartnerAgency,
    invited: bool,
    attended: bool,
    report: Option<bool>,
    who: Option<Professional>,
) -> AgencyAttendance {
    AgencyAttendance {
        agency,
        invited,
        attended,
        report_submitted: report,
        professional: who,
    }
}

fn postcode(s: &str) -> Postcode {
    Postcode::parse(s).expect("valid postcode")
}

/// A synthetic NHS number in the 999 test range: the first valid one at or after `999nnnnnn`.
fn nhs(start: u32) -> NhsNumber {
    (start..)
        .map(|n| format!("{:09}", 999_000_000 + n % 1_000_000))
        .find_map(|s| nhs_check_digit(s.as_bytes()).map(|c| format!("{s}{c}")))
        .and_then(|s| NhsNumber::parse(s).ok())
        .expect("a valid NHS number exists")
}

fn ev(event_id: &str, occurred_at: OccurredAt, payload: impl Into<EventPayload>) -> NewEvent {
    NewEvent {
        event_id: id(event_id),
        occurred_at,
        source: Source {
            agency: AgencyId::parse("la.exampleshire").expect("valid agency"),
            system: SystemId::parse("example-cms").expect("valid system"),
        },
        correlation_id: None,
        causation_id: None,
        source_recorded_at: None,
        payload: payload.into(),
    }
}

fn on(date: &str) -> OccurredAt {
    OccurredAt::on(d(date))
}

fn social_worker_1() -> Professional {
    pro(
        "W-0201",
        "Social Worker One",
        "social worker",
        "Exampleshire Children's Services",
    )
}

fn mother() -> ThirdParty {
    ThirdParty {
        date_of_birth: Some(d("1989-04-02")),
        contact_details: Some(short("1 Example Road, Exampletown ZZ2 2BB")),
        ..person("P-0001", Relationship::Mother, "Parent A")
    }
}

fn father() -> ThirdParty {
    person("P-0002", Relationship::Father, "Parent B")
}

fn foster_carer_d() -> ThirdParty {
    person("P-0004", Relationship::FosterCarer, "Carer D")
}

fn foster_carer_e() -> ThirdParty {
    person("P-0006", Relationship::FosterCarer, "Carer E")
}

fn placement(
    place_type: PlacementType,
    provider: Option<PlacementProvider>,
    post: &str,
    carers: Vec<ThirdParty>,
) -> Placement {
    Placement {
        place_type,
        provider,
        postcode: Some(postcode(post)),
        urn: None,
        location: Some(PlacementLocation::InsideLa),
        la_of_placement: None,
        carers,
    }
}

#[allow(clippy::too_many_lines)]
fn child_a() -> Vec<NewEvent> {
    use PartnerAgency as A;
    vec![
        // ---- Before birth: early help, then a referral and child protection ----
        ev(
            "a-001",
            on("2007-08-01"),
            ChildRegistered {
                given_name: None,
                family_name: Some(short("A")),
                preferred_name: None,
                date_of_birth: None,
                expected_date_of_birth: Some(d("2008-01-20")),
                sex: Sex::U,
                ethnicity: None,
                upn: None,
                former_upn: None,
                upn_unknown_reason: Some(UpnUnknownReason::UN1),
                nhs_number: None,
                disabilities: vec![],
                family_id: Some(FamilyId::parse("FAM-0007").expect("valid family id")),
            },
        ),
        ev(
            "a-002",
            at("2007-08-01T10:40"),
            ContactReceived {
                source: ReferralSource::R3F,
                agency: Some(short("Exampletown Maternity Unit")),
                concerns: vec![F::F4B],
                summary: Some(long(
                    "Midwife reports the mother (Parent A) is isolated and low in mood at 28 weeks.",
                )),
                referrer: Some(Referrer {
                    person: person("P-0101", Relationship::Professional, "Midwife One"),
                    confidential: false,
                }),
            },
        ),
        ev(
            "a-003",
            at("2007-08-02T09:30"),
            ContactDecided {
                contact_event_id: id("a-002"),
                outcome: ContactOutcome::EarlyHelp,
                level_of_need: Some(2),
                decided_by: Some(pro(
                    "W-0101",
                    "Practitioner One",
                    "MASH social worker",
                    "Exampleshire MASH",
                )),
                rationale: Some(long(
                    "Additional needs; single agency support through the family hub.",
                )),
            },
        ),
        ev(
            "a-004",
            on("2007-08-03"),
            EarlyHelpStarted {
                organisation: short("Exampletown Family Hub"),
                lead_professional: Some(pro(
                    "W-0701",
                    "Family Worker One",
                    "lead professional",
                    "Exampletown Family Hub",
                )),
                stepped_down_from_social_care: false,
            },
        ),
        ev(
            "a-005",
            on("2007-08-20"),
            EarlyHelpAssessmentCompleted {
                factors: vec![F::F4B, F::F3B],
            },
        ),
        ev(
            "a-006",
            at("2007-10-03T16:05"),
            ContactReceived {
                source: ReferralSource::R1B,
                agency: None,
                concerns: vec![F::F3B, F::F2B],
                summary: Some(long(
                    "Neighbour heard shouting and breaking glass; says Parent B is using drugs.",
                )),
                referrer: Some(Referrer {
                    person: ThirdParty {
                        contact_details: Some(short("07000 000001")),
                        ..person("P-0102", Relationship::Neighbour, "Neighbour One")
                    },
                    confidential: true,
                }),
            },
        ),
        ev(
            "a-007",
            at("2007-10-04T11:00"),
            ContactDecided {
                contact_event_id: id("a-006"),
                outcome: ContactOutcome::ReferralToChildrensSocialCare,
                level_of_need: Some(4),
                decided_by: Some(pro(
                    "W-0101",
                    "Practitioner One",
                    "MASH social worker",
                    "Exampleshire MASH",
                )),
                rationale: None,
            },
        ),
        ev(
            "a-008",
            on("2007-10-04"),
            ReferralReceived {
                source: ReferralSource::R1B,
                primary_need: PrimaryNeed::N0,
                no_further_action: false,
                contact_event_id: Some(id("a-006")),
                referrer: None,
            },
        ),
        ev(
            "a-009",
            on("2007-10-04"),
            EarlyHelpEnded {
                reason: EarlyHelpEndReason::SteppedUpToSocialCare,
                detail: None,
            },
        ),
        ev(
            "a-010",
            on("2007-10-04"),
            WorkerAllocated {
                role: WorkerRole::SocialWorker,
                worker: social_worker_1(),
                team: Some(short("Referral and Assessment Team 1")),
                change_reason: Some(SocialWorkerChangeReason::FCONTA),
            },
        ),
        ev("a-011", on("2007-10-05"), AssessmentStarted {}),
        ev("a-012", on("2007-10-08"), ChildInNeedPlanStarted {}),
        ev("a-012r", on("2007-10-26"), AssessmentReviewed {}),
        ev(
            "a-013",
            at("2007-10-10T14:00"),
            StrategyDiscussionHeld {
                agencies: vec![
                    attend(A::ChildrensSocialCare, true, true, None, Some(social_worker_1())),
                    attend(A::Police, true, false, None, None),
                    attend(
                        A::Midwifery,
                        true,
                        true,
                        None,
                        Some(pro(
                            "W-0102",
                            "Midwife Two",
                            "safeguarding midwife",
                            "Exampletown Maternity Unit",
                        )),
                    ),
                ],
                outcome: StrategyOutcome::Section47Enquiry,
                summary: Some(long(
                    "Police invited but did not attend; information shared by phone afterwards.",
                )),
            },
        ),
        ev(
            "a-014",
            on("2007-10-10"),
            Section47Started {
                strategy_discussion_event_id: Some(id("a-013")),
            },
        ),
        ev("a-015", on("2007-10-22"), ChildInNeedPlanReviewed {}),
        ev(
            "a-016",
            on("2007-10-24"),
            Section47Completed {
                outcome: Section47Outcome::ConferenceRequired,
            },
        ),
        ev(
            "a-017",
            on("2007-10-31"),
            ChildInNeedPlanEnded {
                reason: Some(CinPlanEndReason::SteppedUpToChildProtection),
            },
        ),
        ev(
            "a-018",
            on("2007-10-31"),
            ChildProtectionConferenceHeld {
                kind: ConferenceKind::Initial,
                outcome: ConferenceOutcome::PlanRequired,
                category: Some(AbuseCategory::NEG),
                agencies: vec![
                    attend(
                        A::ChildrensSocialCare,
                        true,
                        true,
                        Some(true),
                        Some(social_worker_1()),
                    ),
                    attend(
                        A::Police,
                        true,
                        true,
                        Some(false),
                        Some(pro(
                            "W-0103",
                            "Officer One",
                            "detective constable",
                            "Exampleshire Police",
                        )),
                    ),
                    attend(A::Midwifery, true, true, Some(true), None),
                    attend(A::Gp, true, false, Some(true), None),
                ],
                family: vec![
                    PersonAttendance {
                        person: mother(),
                        attended: true,
                    },
                    PersonAttendance {
                        person: father(),
                        attended: false,
                    },
                ],
                chair: Some(pro(
                    "W-0301",
                    "Chair One",
                    "conference chair",
                    "Exampleshire Safeguarding Unit",
                )),
                quorate: Some(true),
            },
        ),
        ev(
            "a-019",
            on("2007-10-31"),
            ChildProtectionPlanStarted {
                category: AbuseCategory::NEG,
                conference_event_id: Some(id("a-018")),
            },
        ),
        ev(
            "a-020",
            on("2007-11-08"),
            CoreGroupMet {
                agencies: vec![
                    attend(A::ChildrensSocialCare, true, true, None, None),
                    attend(A::Midwifery, true, true, None, None),
                    attend(A::HealthVisiting, true, false, None, None),
                ],
                family: vec![PersonAttendance {
                    person: mother(),
                    attended: true,
                }],
            },
        ),
        ev(
            "a-021",
            on("2007-11-10"),
            AssessmentCompleted {
                factors: vec![F::F2B, F::F3B, F::F16A],
                authorised_on: Some(d("2007-11-14")),
                child_seen: Some(false),
                requires_social_care_support: Some(true),
                primary_need: Some(PrimaryNeed::N1),
            },
        ),
        ev("a-022", on("2007-12-01"), PreProceedingsStarted {}),
        ev("a-023", on("2007-12-01"), LetterBeforeProceedingsSent {}),
        ev("a-024", on("2007-12-05"), FamilyGroupConferenceOffered {}),
        ev(
            "a-025",
            on("2007-12-10"),
            ChildProtectionCategoryChanged {
                category: AbuseCategory::MUL,
            },
        ),
        ev(
            "a-026",
            on("2007-12-12"),
            PreProceedingsMeetingHeld {
                kind: MeetingKind::Initial,
            },
        ),
        ev(
            "a-027",
            on("2008-01-09"),
            FamilyGroupConferenceHeld {
                participants: vec![
                    PersonAttendance {
                        person: mother(),
                        attended: true,
                    },
                    PersonAttendance {
                        person: person("P-0003", Relationship::Grandparent, "Grandparent C"),
                        attended: true,
                    },
                ],
            },
        ),
        // ---- Birth, proceedings and care ----
        ev(
            "a-028",
            on("2008-01-19"),
            ChildDetailsAmended {
                given_name: Some(short("Child")),
                date_of_birth: Some(d("2008-01-18")),
                sex: Some(Sex::F),
                ethnicity: Some(Ethnicity::WBRI),
                nhs_number: Some(nhs(1)),
                disabilities: Some(vec![Disability::NONE]),
                ..ChildDetailsAmended::default()
            },
        ),
        ev(
            "a-029",
            on("2008-01-21"),
            PreProceedingsEnded {
                outcome: PreProceedingsOutcome::ProceedingsIssued,
                detail: None,
            },
        ),
        ev(
            "a-030",
            on("2008-01-21"),
            CareProceedingsIssued {
                court: Some(short("Family Court at Exampletown")),
                letter_of_issue_sent_on: Some(d("2008-01-14")),
            },
        ),
        ev(
            "a-031",
            on("2008-01-23"),
            CourtOrderMade {
                order: CourtOrderKind::InterimCareOrder,
                expires_on: Some(d("2008-02-20")),
                in_favour_of: vec![],
                court: Some(short("Family Court at Exampletown")),
                detail: None,
            },
        ),
        ev(
            "a-032",
            on("2008-01-23"),
            BecameLookedAfter {
                legal_status: LegalStatus::C1,
                category_of_need: CategoryOfNeed::N1,
                placement: Placement {
                    urn: Some(Urn::parse("SC999001").expect("valid urn")),
                    ..placement(
                        PlacementType::U6,
                        Some(PlacementProvider::PR1),
                        "ZZ1 1AA",
                        vec![foster_carer_d()],
                    )
                },
                home_postcode: Some(postcode("ZZ2 2BB")),
            },
        ),
        ev(
            "a-033",
            on("2008-01-23"),
            ChildProtectionPlanEnded {
                reason: CpPlanEndReason::BecameLookedAfter,
                detail: None,
            },
        ),
        ev(
            "a-034",
            on("2008-01-23"),
            PreviousPermanenceRecorded {
                previous: PreviousPermanence::Z1,
                local_authority: None,
                order_date: None,
            },
        ),
        ev(
            "a-035",
            on("2008-01-24"),
            ChildVisited {
                kind: VisitKind::LookedAfter,
                seen: true,
                seen_alone: Some(false),
                bedroom_seen: Some(true),
                visitor: Some(social_worker_1()),
            },
        ),
        ev(
            "a-036",
            on("2008-01-24"),
            ChildVisited {
                kind: VisitKind::LookedAfter,
                seen: true,
                seen_alone: Some(false),
                bedroom_seen: Some(true),
                visitor: Some(social_worker_1()),
            },
        ),
        ev(
            "a-037",
            on("2008-01-25"),
            EventRetracted {
                target_event_id: id("a-036"),
                reason: RetractionReason::Duplicate,
                detail: Some(long("Same visit recorded twice by the nightly import.")),
            },
        ),
        ev(
            "a-038",
            on("2008-01-30"),
            WorkerAllocated {
                role: WorkerRole::IndependentReviewingOfficer,
                worker: pro(
                    "W-0401",
                    "Reviewing Officer One",
                    "independent reviewing officer",
                    "Exampleshire IRO Service",
                ),
                team: Some(short("IRO Service")),
                change_reason: None,
            },
        ),
        ev(
            "a-039",
            on("2008-02-13"),
            LookedAfterReviewHeld {
                participation: ReviewParticipation::PN0,
                chair: Some(pro(
                    "W-0401",
                    "Reviewing Officer One",
                    "independent reviewing officer",
                    "Exampleshire IRO Service",
                )),
            },
        ),
        ev(
            "a-040",
            on("2008-02-14"),
            HealthAssessmentCompleted {
                kind: HealthAssessmentKind::Initial,
            },
        ),
        ev(
            "a-041",
            on("2008-02-20"),
            CourtOrderMade {
                order: CourtOrderKind::InterimCareOrder,
                expires_on: Some(d("2008-03-19")),
                in_favour_of: vec![],
                court: Some(short("Family Court at Exampletown")),
                detail: None,
            },
        ),
        // ---- Adoption plan, placement order, a match that disrupted ----
        ev(
            "a-041p",
            on("2008-04-14"),
            PermanencePlanRecorded {
                plan: PermanencePlan::Adoption,
            },
        ),
        ev("a-042", on("2008-05-10"), AdoptionDecisionMade {}),
        ev(
            "a-043",
            on("2008-06-25"),
            CourtOrderMade {
                order: CourtOrderKind::CareOrder,
                expires_on: None,
                in_favour_of: vec![],
                court: Some(short("Family Court at Exampletown")),
                detail: None,
            },
        ),
        ev(
            "a-044",
            on("2008-06-25"),
            CourtOrderMade {
                order: CourtOrderKind::PlacementOrder,
                expires_on: None,
                in_favour_of: vec![],
                court: Some(short("Family Court at Exampletown")),
                detail: None,
            },
        ),
        ev(
            "a-045",
            on("2008-06-25"),
            CourtOrderEnded {
                order: CourtOrderKind::InterimCareOrder,
                reason: OrderEndReason::Replaced,
                detail: None,
            },
        ),
        ev(
            "a-046",
            on("2008-06-25"),
            LegalStatusChanged {
                legal_status: LegalStatus::E1,
            },
        ),
        ev(
            "a-047",
            on("2008-06-25"),
            CareProceedingsConcluded {
                outcome: ProceedingsOutcome::FinalOrderMade,
            },
        ),
        ev(
            "a-048",
            on("2008-09-03"),
            MatchedWithAdopters {
                adopter_count: 2,
                adopters_sex: AdopterSex::MF,
                adopters_legal_status: AdopterLegalStatus::L11,
                adopters_were_foster_carers: false,
                family_id: Some(FamilyId::parse("ADOPT-0042").expect("valid family id")),
                adopters: vec![
                    person("P-0201", Relationship::Adopter, "Adopter One"),
                    person("P-0202", Relationship::Adopter, "Adopter Two"),
                ],
            },
        ),
        ev("a-049", on("2008-10-01"), PlacedForAdoption {}),
        ev(
            "a-050",
            on("2008-10-01"),
            PlacementChanged {
                placement: Placement {
                    location: Some(PlacementLocation::OutsideLa),
                    la_of_placement: Some(LaCode::parse("330").expect("valid la code")),
                    ..placement(PlacementType::A6, Some(PlacementProvider::PR1), "ZZ3 3CC", vec![])
                },
                reason: Some(ReasonPlaceChange::CARPL),
                same_carers: false,
            },
        ),
        ev(
            "a-051",
            on("2009-02-15"),
            PlacementForAdoptionCeased {
                reason: ReasonPlacedCeased::RD1,
            },
        ),
        ev(
            "a-052",
            on("2009-02-15"),
            PlacementChanged {
                placement: placement(
                    PlacementType::U6,
                    Some(PlacementProvider::PR1),
                    "ZZ1 1AA",
                    vec![foster_carer_d()],
                ),
                reason: Some(ReasonPlaceChange::CARPL),
                same_carers: false,
            },
        ),
        ev(
            "a-053",
            on("2009-04-10"),
            AdoptionDecisionReversed {
                reason: Some(long(
                    "Placement disrupted; the plan is now long-term fostering with Carer D.",
                )),
            },
        ),
        ev(
            "a-054",
            on("2009-06-01"),
            CourtOrderEnded {
                order: CourtOrderKind::PlacementOrder,
                reason: OrderEndReason::Revoked,
                detail: None,
            },
        ),
        ev(
            "a-055",
            on("2009-06-01"),
            LegalStatusChanged {
                legal_status: LegalStatus::C2,
            },
        ),
        ev(
            "a-055p",
            on("2009-06-01"),
            PermanencePlanRecorded {
                plan: PermanencePlan::LongTermFostering,
            },
        ),
        ev(
            "a-056",
            on("2009-09-01"),
            PlacementChanged {
                placement: placement(
                    PlacementType::U4,
                    Some(PlacementProvider::PR1),
                    "ZZ1 1AA",
                    vec![foster_carer_d()],
                ),
                reason: Some(ReasonPlaceChange::PLACE),
                same_carers: true,
            },
        ),
        // ---- Growing up in care ----
        ev(
            "a-057",
            on("2013-05-01"),
            HealthAssessmentCompleted {
                kind: HealthAssessmentKind::Review,
            },
        ),
        ev("a-058", on("2013-05-10"), DentalCheckCompleted {}),
        ev(
            "a-059",
            on("2013-05-10"),
            ImmunisationsRecorded { up_to_date: true },
        ),
        ev(
            "a-060",
            on("2013-06-01"),
            SdqScoreRecorded {
                score: Some(14),
                reason_not_completed: None,
            },
        ),
        ev(
            "a-061",
            on("2013-06-20"),
            EventCorrected {
                target_event_id: id("a-060"),
                target_occurred_at: Some(on("2013-05-30")),
                replacement: Box::new(
                    SdqScoreRecorded {
                        score: Some(16),
                        reason_not_completed: None,
                    }
                    .into(),
                ),
                reason: long("Score and date transcribed wrongly from the carer's questionnaire."),
            },
        ),
        ev(
            "a-062",
            on("2013-07-01"),
            IndependentReviewingOfficerContacted {
                mode: ContactMode::InPerson,
                officer: Some(pro(
                    "W-0401",
                    "Reviewing Officer One",
                    "independent reviewing officer",
                    "Exampleshire IRO Service",
                )),
            },
        ),
        ev("a-063", on("2013-09-20"), PersonalEducationPlanReviewed {}),
        ev(
            "a-064",
            on("2014-03-03"),
            WorkerAllocated {
                role: WorkerRole::SocialWorker,
                worker: pro(
                    "W-0202",
                    "Social Worker Two",
                    "social worker",
                    "Exampleshire Children's Services",
                ),
                team: Some(short("Children in Care Team 2")),
                change_reason: Some(SocialWorkerChangeReason::LEFTRL),
            },
        ),
        ev(
            "a-065",
            on("2016-09-05"),
            ChildDetailsAmended {
                upn: Some(Upn::parse("E999000023001").expect("valid upn")),
                ..ChildDetailsAmended::default()
            },
        ),
        ev(
            "a-066",
            at("2022-07-09T21:30"),
            MissingEpisodeStarted {
                kind: MissingKind::M,
                reported_to_police: Some(true),
            },
        ),
        ev("a-067", at("2022-07-10T08:15"), MissingEpisodeEnded {}),
        ev("a-068", at("2022-07-11T10:00"), ReturnInterviewOffered {}),
        ev(
            "a-069",
            at("2022-07-12T16:00"),
            ReturnInterviewHeld {
                conducted_by: Some(pro(
                    "W-0501",
                    "Return Worker One",
                    "return home interview worker",
                    "Example Children's Charity",
                )),
            },
        ),
        ev(
            "a-070",
            at("2022-09-02T22:00"),
            MissingEpisodeStarted {
                kind: MissingKind::A,
                reported_to_police: Some(false),
            },
        ),
        ev("a-071", at("2022-09-03T01:00"), MissingEpisodeEnded {}),
        ev("a-072", at("2022-09-03T12:00"), ReturnInterviewOffered {}),
        ev("a-073", on("2022-09-05"), ReturnInterviewDeclined {}),
        ev(
            "a-074",
            on("2022-10-01"),
            SubstanceMisuseIdentified {
                intervention: Some(SubstanceMisuseIntervention::Received),
            },
        ),
        ev(
            "a-075",
            on("2023-02-14"),
            ChildConvicted {
                outcome: ConvictionKind::YouthCaution,
            },
        ),
        ev(
            "a-076",
            on("2023-03-01"),
            PlacementChanged {
                placement: Placement {
                    urn: Some(Urn::parse("SC999002").expect("valid urn")),
                    location: Some(PlacementLocation::OutsideLa),
                    la_of_placement: Some(LaCode::parse("330").expect("valid la code")),
                    ..placement(PlacementType::K2, Some(PlacementProvider::PR4), "ZZ4 4DD", vec![])
                },
                reason: Some(ReasonPlaceChange::CREQB),
                same_carers: false,
            },
        ),
        ev(
            "a-077",
            on("2023-09-01"),
            PlacementChanged {
                placement: Placement {
                    urn: Some(Urn::parse("SC999003").expect("valid urn")),
                    ..placement(
                        PlacementType::U4,
                        Some(PlacementProvider::PR4),
                        "ZZ5 5EE",
                        vec![foster_carer_e()],
                    )
                },
                reason: Some(ReasonPlaceChange::CARPL),
                same_carers: false,
            },
        ),
        // ---- Leaving care ----
        ev("a-078", on("2024-03-01"), LeavingCareNeedsAssessmentCompleted {}),
        ev("a-079", on("2024-03-15"), PathwayPlanStarted {}),
        ev("a-080", on("2024-09-15"), PathwayPlanReviewed {}),
        ev(
            "a-081",
            on("2025-01-10"),
            WorkerAllocated {
                role: WorkerRole::PersonalAdviser,
                worker: pro(
                    "W-0601",
                    "Adviser One",
                    "personal adviser",
                    "Exampleshire Leaving Care Service",
                ),
                team: Some(short("Leaving Care Team")),
                change_reason: None,
            },
        ),
        ev(
            "a-082",
            on("2025-11-01"),
            EntitlementOffered {
                entitlement: Entitlement {
                    kind: EntitlementKind::StayingPut,
                    name: None,
                },
                amount_pence: None,
            },
        ),
        ev(
            "a-083",
            on("2025-11-10"),
            EntitlementAccepted {
                offer_event_id: id("a-082"),
            },
        ),
        ev("a-084", on("2025-12-15"), HealthHistoryGiven {}),
        ev(
            "a-085",
            on("2026-01-18"),
            CeasedToBeLookedAfter {
                reason: ReasonEpisodeCeased::E17,
            },
        ),
        ev(
            "a-086",
            on("2026-01-18"),
            StayingPutStarted {
                carers: vec![foster_carer_e()],
            },
        ),
        ev(
            "a-087",
            on("2026-01-18"),
            ChildInNeedEpisodeClosed {
                reason: CinClosureReason::RC7,
                detail: None,
            },
        ),
        ev(
            "a-088",
            on("2026-01-18"),
            WorkerAllocationEnded {
                role: WorkerRole::SocialWorker,
                reason: None,
            },
        ),
        ev(
            "a-089",
            on("2026-02-01"),
            EntitlementOffered {
                entitlement: Entitlement {
                    kind: EntitlementKind::HigherEducationBursary,
                    name: None,
                },
                amount_pence: Some(200_000),
            },
        ),
        ev(
            "a-090",
            on("2026-02-10"),
            EntitlementDeclined {
                offer_event_id: id("a-089"),
                reason: Some(long(
                    "Starting an apprenticeship rather than university this year.",
                )),
            },
        ),
        ev(
            "a-091",
            on("2026-02-01"),
            EntitlementOffered {
                entitlement: Entitlement {
                    kind: EntitlementKind::LocalOffer,
                    name: Some(short("Free leisure centre membership")),
                },
                amount_pence: None,
            },
        ),
        ev(
            "a-092",
            on("2026-03-18"),
            CareLeaverContactRecorded {
                in_touch: InTouch::YES,
                activity: Some(CareLeaverActivity::F4),
                accommodation: Some(CareLeaverAccommodation::Z1),
                mode: Some(ContactMode::InPerson),
            },
        ),
        ev(
            "a-093",
            on("2026-04-20"),
            StayingPutEnded {
                reason: Some(long("Moved to supported lodgings near the apprenticeship.")),
            },
        ),
        ev(
            "a-094",
            on("2026-05-20"),
            CareLeaverContactRecorded {
                in_touch: InTouch::YES,
                activity: Some(CareLeaverActivity::F4),
                accommodation: Some(CareLeaverAccommodation::E1),
                mode: Some(ContactMode::Phone),
            },
        ),
    ]
}

fn child_b() -> Vec<NewEvent> {
    vec![
        ev(
            "b-001",
            on("2024-05-02"),
            ChildRegistered {
                given_name: Some(short("Child")),
                family_name: Some(short("B")),
                preferred_name: None,
                date_of_birth: Some(d("2007-03-01")),
                expected_date_of_birth: None,
                sex: Sex::F,
                ethnicity: Some(Ethnicity::BAFR),
                upn: None,
                former_upn: None,
                upn_unknown_reason: Some(UpnUnknownReason::UN2),
                nhs_number: Some(nhs(500)),
                disabilities: vec![Disability::NONE],
                family_id: None,
            },
        ),
        ev(
            "b-002",
            on("2024-05-02"),
            TransferredIn {
                from_local_authority: Some(LaCode::parse("886").expect("valid la code")),
                from_authority_name: None,
            },
        ),
        ev(
            "b-003",
            on("2024-05-02"),
            BecameLookedAfter {
                legal_status: LegalStatus::V2,
                category_of_need: CategoryOfNeed::N8,
                placement: Placement {
                    urn: Some(Urn::parse("2999004").expect("valid urn")),
                    ..placement(PlacementType::K3, Some(PlacementProvider::PR4), "ZZ6 6FF", vec![])
                },
                home_postcode: None,
            },
        ),
        ev(
            "b-004",
            on("2024-05-02"),
            UnaccompaniedAsylumSeekingStatusRecorded {},
        ),
        ev(
            "b-005",
            on("2024-11-20"),
            ChildBecameParent {
                baby: Some(person("P-B-0009", Relationship::OwnChild, "Baby of Child B")),
            },
        ),
        ev(
            "b-006",
            on("2024-12-01"),
            UnaccompaniedAsylumSeekingStatusCeased {},
        ),
        ev(
            "b-007",
            on("2025-01-15"),
            TransferredOut {
                to_local_authority: Some(LaCode::parse("330").expect("valid la code")),
                to_authority_name: None,
            },
        ),
        ev(
            "b-008",
            on("2025-01-15"),
            CeasedToBeLookedAfter {
                reason: ReasonEpisodeCeased::E3,
            },
        ),
        // The young person disputes the date their asylum claim was decided: the record is kept but not
        // used until the worker has checked it, then used again.
        ev(
            "b-009",
            on("2025-02-03"),
            RecordRestricted {
                target_event_id: Some(id("b-006")),
                grounds: RestrictionGrounds::AccuracyContested,
                reason: long(
                    "The young person says the Home Office decided their claim in January, not December.",
                ),
            },
        ),
        ev(
            "b-010",
            on("2025-02-20"),
            RestrictionLifted {
                restriction_event_id: id("b-009"),
                reason: long("Checked against the Home Office decision letter: the record is accurate."),
            },
        ),
    ]
}

fn child_c() -> Vec<NewEvent> {
    vec![
        ev(
            "c-001",
            on("2024-02-01"),
            ChildRegistered {
                given_name: Some(short("Child")),
                family_name: Some(short("C")),
                preferred_name: None,
                date_of_birth: Some(d("2024-01-20")),
                expected_date_of_birth: None,
                sex: Sex::M,
                ethnicity: Some(Ethnicity::MWBC),
                upn: None,
                former_upn: None,
                upn_unknown_reason: Some(UpnUnknownReason::UN1),
                nhs_number: Some(nhs(900)),
                disabilities: vec![],
                family_id: None,
            },
        ),
        ev(
            "c-002",
            at("2024-02-01T03:20"),
            ContactReceived {
                source: ReferralSource::R3E,
                agency: Some(short("Exampletown Hospital Emergency Department")),
                concerns: vec![F::F18C],
                summary: Some(long("Infant brought in with unexplained bruising.")),
                referrer: Some(Referrer {
                    person: person("P-0103", Relationship::Professional, "Doctor One"),
                    confidential: false,
                }),
            },
        ),
        ev(
            "c-003",
            on("2024-02-01"),
            ReferralReceived {
                source: ReferralSource::R3E,
                primary_need: PrimaryNeed::N1,
                no_further_action: false,
                contact_event_id: Some(id("c-002")),
                referrer: None,
            },
        ),
        ev("c-004", on("2024-03-02"), ChildDied {}),
        ev(
            "c-005",
            on("2024-03-05"),
            ChildInNeedEpisodeClosed {
                reason: CinClosureReason::RC2,
                detail: Some(long("Child died; case closed after the initial review.")),
            },
        ),
    ]
}

fn child_d() -> Vec<NewEvent> {
    vec![
        ev(
            "d-001",
            on("2010-07-14"),
            ChildRegistered {
                given_name: None,
                family_name: None,
                preferred_name: None,
                date_of_birth: Some(d("2010-07-14")),
                expected_date_of_birth: None,
                sex: Sex::M,
                ethnicity: Some(Ethnicity::WBRI),
                upn: None,
                former_upn: None,
                upn_unknown_reason: Some(UpnUnknownReason::UN5),
                nhs_number: None,
                disabilities: vec![],
                family_id: None,
            },
        ),
        // The earliest episode the return holds: a move of placement in a period begun years before.
        ev(
            "d-002",
            on("2021-09-06"),
            CareInProgressRecorded {
                reason_new_episode: ReasonNewEpisode::P,
                legal_status: LegalStatus::C2,
                category_of_need: CategoryOfNeed::N1,
                placement: placement(PlacementType::U4, Some(PlacementProvider::PR1), "ZZ7 7GG", vec![]),
                home_postcode: None,
            },
        ),
        // Its return gave a UPN whose check letter is wrong: kept as recorded, flagged, not used.
        ev(
            "d-003",
            on("2021-09-06"),
            InvalidIdentifierRecorded {
                identifier: IdentifierKind::Upn,
                recorded: short("A999000021999"),
                problem: long("must be a 13-character UPN with the correct check letter"),
            },
        ),
        ev(
            "d-004",
            on("2022-01-20"),
            LookedAfterReviewHeld {
                participation: ReviewParticipation::PN1,
                chair: None,
            },
        ),
    ]
}

fn child_e() -> Vec<NewEvent> {
    vec![
        ev(
            "e-001",
            on("2021-06-01"),
            ChildRegistered {
                given_name: Some(short("Child")),
                family_name: Some(short("E")),
                preferred_name: None,
                date_of_birth: Some(d("2021-03-10")),
                expected_date_of_birth: None,
                sex: Sex::F,
                ethnicity: Some(Ethnicity::WBRI),
                upn: None,
                former_upn: None,
                upn_unknown_reason: Some(UpnUnknownReason::UN1),
                nhs_number: Some(nhs(5100)),
                disabilities: vec![],
                family_id: None,
            },
        ),
        ev(
            "e-002",
            on("2021-06-01"),
            BecameLookedAfter {
                legal_status: LegalStatus::C2,
                category_of_need: CategoryOfNeed::N1,
                placement: placement(PlacementType::U4, Some(PlacementProvider::PR1), "ZZ7 7GH", vec![]),
                home_postcode: None,
            },
        ),
        ev(
            "e-003",
            on("2022-09-01"),
            LegalStatusChanged {
                legal_status: LegalStatus::E1,
            },
        ),
        ev(
            "e-004",
            on("2022-09-01"),
            PlacementChanged {
                placement: placement(PlacementType::A5, Some(PlacementProvider::PR1), "ZZ7 7GH", vec![]),
                reason: Some(ReasonPlaceChange::CARPL),
                same_carers: true,
            },
        ),
        ev("e-005", on("2022-09-01"), PlacedForAdoption {}),
        ev(
            "e-006",
            on("2023-05-15"),
            CourtOrderMade {
                order: CourtOrderKind::AdoptionOrder,
                expires_on: None,
                in_favour_of: vec![],
                court: Some(short("Family Court at Exampleshire")),
                detail: None,
            },
        ),
        ev(
            "e-007",
            on("2023-05-15"),
            CeasedToBeLookedAfter {
                reason: ReasonEpisodeCeased::E11,
            },
        ),
        ev(
            "e-008",
            on("2023-05-16"),
            ContinuedUnderNewIdentity {
                new_child_id: child("EX-F"),
            },
        ),
    ]
}

/// A baby's registration, as a team registered it.
fn baby(event_id: &str, given_name: &str, family_name: &str, dob: &str, nhs_start: u32) -> NewEvent {
    ev(
        event_id,
        on(dob),
        ChildRegistered {
            given_name: Some(short(given_name)),
            family_name: Some(short(family_name)),
            preferred_name: None,
            date_of_birth: Some(d(dob)),
            expected_date_of_birth: None,
            sex: Sex::F,
            ethnicity: Some(Ethnicity::WBRI),
            upn: None,
            former_upn: None,
            upn_unknown_reason: Some(UpnUnknownReason::UN1),
            nhs_number: Some(nhs(nhs_start)),
            disabilities: vec![],
            family_id: None,
        },
    )
}

fn child_g() -> Vec<NewEvent> {
    vec![
        baby("g-001", "Child", "G", "2024-06-03", 910),
        ev(
            "g-002",
            at("2024-07-10T11:00"),
            ContactReceived {
                source: ReferralSource::R3B,
                agency: Some(short("Exampletown Health Visiting")),
                concerns: vec![],
                summary: Some(long("Health visitor worried about feeding and weight.")),
                referrer: None,
            },
        ),
        ev(
            "g-003",
            on("2024-08-02"),
            RecordMergedFrom {
                merged_child_id: child("EX-H"),
                merge_event_id: id("h-002"),
                reason: long(
                    "Same NHS number and date of birth: registered twice, by the front door and by health visiting.",
                ),
            },
        ),
        ev(
            "g-004",
            on("2024-08-05"),
            RecordMergedFrom {
                merged_child_id: child("EX-J"),
                merge_event_id: id("j-002"),
                reason: long("Believed to be the same baby (same surname and date of birth)."),
            },
        ),
        ev(
            "g-005",
            on("2024-08-06"),
            MergeUndone {
                merge_event_id: id("g-004"),
                reason: long("A different baby: twins' records were confused; the NHS numbers differ."),
            },
        ),
    ]
}

fn child_h() -> Vec<NewEvent> {
    vec![
        baby("h-001", "Child", "Gee", "2024-06-03", 910),
        ev(
            "h-002",
            on("2024-08-02"),
            RecordMergedInto {
                surviving_child_id: child("EX-G"),
                reason: long(
                    "Same NHS number and date of birth: registered twice, by the front door and by health visiting.",
                ),
            },
        ),
    ]
}

fn child_j() -> Vec<NewEvent> {
    vec![
        baby("j-001", "Child", "G", "2024-06-03", 920),
        ev(
            "j-002",
            on("2024-08-05"),
            RecordMergedInto {
                surviving_child_id: child("EX-G"),
                reason: long("Believed to be the same baby (same surname and date of birth)."),
            },
        ),
        ev(
            "j-003",
            on("2024-08-06"),
            MergeUndone {
                merge_event_id: id("j-002"),
                reason: long("A different baby: twins' records were confused; the NHS numbers differ."),
            },
        ),
    ]
}
