//! Tests of the Annex A lists: exact rows from hand-built streams, the window's edges, the known-at
//! instant, a synthetic authority, and the workbook read back.

use std::sync::Arc;

use futures::executor::block_on;
use serde_json::{Value, json};

use super::*;
use journey_core::domain::EventPayload;
use journey_core::envelope::NewEvent;
use journey_core::ids::ExpectedVersion;
use journey_core::store::InMemoryStore;
use journey_core::testkit;
use journey_core::time::ManualClock;
use journey_synth::{self as synth, AuthorityProfile};

fn ts(s: &str) -> Timestamp {
    Timestamp::parse_field("t", s).unwrap()
}

fn window() -> AnnexAWindow {
    AnnexAWindow {
        start: testkit::date("2025-04-01"),
        end: testkit::date("2026-03-31"),
    }
}

fn ev(id: &str, on: &str, kind: &str, data: Value) -> NewEvent {
    let payload = EventPayload::from_type_and_data(kind, data).unwrap_or_else(|e| panic!("{kind}: {e}"));
    testkit::event(id, on, payload)
}

fn registered(id: &str, dob: &str, sex: &str, disabilities: &[&str]) -> NewEvent {
    ev(
        id,
        dob,
        "ChildRegistered",
        json!({"date_of_birth": dob, "sex": sex, "ethnicity": "WBRI", "disabilities": disabilities}),
    )
}

fn social_worker(id: &str, on: &str, worker: &str, name: &str, team: &str) -> NewEvent {
    ev(
        id,
        on,
        "WorkerAllocated",
        json!({"role": "social_worker", "worker": {"worker_id": worker, "name": name}, "team": team}),
    )
}

fn placement(place_type: &str) -> Value {
    json!({"place_type": place_type, "provider": "PR1", "postcode": "QX1 1AA", "location": "inside_la"})
}

/// The known-at instant of the tests: after every event but the late one.
const KNOWN_AT: &str = "2026-05-02T00:00:00Z";

/// Six children (see each stream), appended at 1 May 2026, and one contact recorded late (3 May 2026).
fn store() -> (Arc<ManualClock>, InMemoryStore) {
    let clock = Arc::new(ManualClock::new(ts("2026-05-01T09:00:00Z")));
    let store = InMemoryStore::new(clock.clone());
    let streams: Vec<(&str, Vec<NewEvent>)> = vec![
        // Front door and child in need: contacts at the window's edges, two referrals a year apart, an
        // assessment, a visit, an episode still open.
        (
            "T-001",
            vec![
                registered("a-01", "2015-05-15", "F", &["LD"]),
                testkit::contact("a-02", "2025-03-31"),
                testkit::contact("a-03", "2025-04-01"),
                ev(
                    "a-04",
                    "2024-06-01",
                    "ReferralReceived",
                    json!({"source": "1A", "primary_need": "N0", "no_further_action": true}),
                ),
                ev(
                    "a-05",
                    "2024-06-01",
                    "ChildInNeedEpisodeClosed",
                    json!({"reason": "RC8"}),
                ),
                social_worker("a-06", "2025-05-10", "W1", "Sam Worker", "Assessment Team"),
                ev(
                    "a-07",
                    "2025-05-10",
                    "ReferralReceived",
                    json!({"source": "2A", "primary_need": "N0"}),
                ),
                ev("a-08", "2025-05-11", "AssessmentStarted", json!({})),
                ev(
                    "a-09",
                    "2025-06-01",
                    "AssessmentCompleted",
                    json!({"factors": ["2A"], "authorised_on": "2025-06-03", "child_seen": true,
                           "requires_social_care_support": true, "primary_need": "N1"}),
                ),
                ev(
                    "a-10",
                    "2025-07-01",
                    "ChildVisited",
                    json!({"kind": "child_in_need", "seen": true}),
                ),
                testkit::contact("a-11", "2026-03-31"),
                testkit::contact("a-12", "2026-04-01"),
            ],
        ),
        // Child protection: a strategy discussion, an enquiry, an initial conference, a plan that ended.
        (
            "T-002",
            vec![
                registered("b-01", "2018-02-01", "M", &["NONE"]),
                ev(
                    "b-02",
                    "2025-07-20",
                    "ReferralReceived",
                    json!({"source": "5A", "primary_need": "N1"}),
                ),
                social_worker("b-03", "2025-07-20", "W2", "Kim Carer", "Safeguarding"),
                ev(
                    "b-04",
                    "2025-08-01",
                    "StrategyDiscussionHeld",
                    json!({"agencies": [{"agency": "police", "invited": true, "attended": true}],
                           "outcome": "section_47_enquiry"}),
                ),
                ev("b-05", "2025-08-02", "Section47Started", json!({})),
                ev(
                    "b-06",
                    "2025-08-20",
                    "Section47Completed",
                    json!({"outcome": "conference_required"}),
                ),
                ev(
                    "b-07",
                    "2025-09-01",
                    "ChildProtectionConferenceHeld",
                    json!({"kind": "initial", "outcome": "plan_required", "category": "NEG"}),
                ),
                ev(
                    "b-08",
                    "2025-09-01",
                    "ChildProtectionPlanStarted",
                    json!({"category": "NEG"}),
                ),
                ev(
                    "b-09",
                    "2025-09-10",
                    "ChildVisited",
                    json!({"kind": "child_protection", "seen": true, "seen_alone": true}),
                ),
                ev(
                    "b-10",
                    "2025-11-15",
                    "ChildProtectionCategoryChanged",
                    json!({"category": "EMO"}),
                ),
                ev(
                    "b-11",
                    "2025-12-01",
                    "ChildProtectionConferenceHeld",
                    json!({"kind": "review", "outcome": "plan_not_required"}),
                ),
                ev(
                    "b-12",
                    "2025-12-01",
                    "ChildProtectionPlanEnded",
                    json!({"reason": "stepped_down_to_child_in_need"}),
                ),
            ],
        ),
        // Looked after: a period of care from 1 December 2025, a move, a missing episode and its interview.
        (
            "T-003",
            vec![
                registered("c-01", "2012-09-30", "M", &[]),
                social_worker("c-02", "2025-11-20", "W3", "Lee Keyworker", "Children in Care"),
                ev(
                    "c-03",
                    "2025-12-01",
                    "BecameLookedAfter",
                    json!({"legal_status": "V2", "category_of_need": "N1", "placement": placement("U6")}),
                ),
                ev(
                    "c-04",
                    "2026-01-10",
                    "LegalStatusChanged",
                    json!({"legal_status": "C1"}),
                ),
                ev(
                    "c-05",
                    "2026-02-01",
                    "PlacementChanged",
                    json!({"placement": placement("U4"), "reason": "CARPL"}),
                ),
                ev(
                    "c-06",
                    "2026-02-10",
                    "MissingEpisodeStarted",
                    json!({"kind": "M"}),
                ),
                ev("c-07", "2026-02-11", "MissingEpisodeEnded", json!({})),
                ev("c-08", "2026-02-12", "ReturnInterviewOffered", json!({})),
                ev("c-09", "2026-02-13", "ReturnInterviewHeld", json!({})),
                ev(
                    "c-10",
                    "2026-03-01",
                    "LookedAfterReviewHeld",
                    json!({"participation": "PN1"}),
                ),
                ev(
                    "c-11",
                    "2026-03-05",
                    "PermanencePlanRecorded",
                    json!({"plan": "long_term_fostering"}),
                ),
            ],
        ),
        // A former relevant care leaver: looked after from 14 to 17.
        (
            "T-004",
            vec![
                registered("d-01", "2007-01-10", "F", &[]),
                ev(
                    "d-02",
                    "2021-06-01",
                    "BecameLookedAfter",
                    json!({"legal_status": "C2", "category_of_need": "N1", "placement": placement("U6")}),
                ),
                ev(
                    "d-03",
                    "2024-06-01",
                    "CeasedToBeLookedAfter",
                    json!({"reason": "E41"}),
                ),
                ev(
                    "d-04",
                    "2026-01-15",
                    "CareLeaverContactRecorded",
                    json!({"in_touch": "YES", "activity": "F2", "accommodation": "B2"}),
                ),
            ],
        ),
        // A qualifying care leaver: looked after for 30 days after the 16th birthday.
        (
            "T-005",
            vec![
                registered("e-01", "2008-03-01", "M", &[]),
                ev(
                    "e-02",
                    "2024-04-01",
                    "BecameLookedAfter",
                    json!({"legal_status": "V2", "category_of_need": "N4", "placement": placement("U6")}),
                ),
                ev(
                    "e-03",
                    "2024-05-01",
                    "CeasedToBeLookedAfter",
                    json!({"reason": "E13"}),
                ),
            ],
        ),
        // Adoption: a decision before the window, a placement order, a match and a placement in it.
        (
            "T-006",
            vec![
                registered("f-01", "2023-01-05", "F", &[]),
                ev(
                    "f-02",
                    "2024-03-01",
                    "BecameLookedAfter",
                    json!({"legal_status": "C2", "category_of_need": "N1", "placement": placement("U6")}),
                ),
                ev("f-03", "2025-01-10", "AdoptionDecisionMade", json!({})),
                ev(
                    "f-04",
                    "2025-05-01",
                    "CourtOrderMade",
                    json!({"order": "placement_order"}),
                ),
                ev(
                    "f-05",
                    "2025-06-01",
                    "MatchedWithAdopters",
                    json!({"adopter_count": 2, "adopters_sex": "MF", "adopters_legal_status": "L2",
                           "adopters_were_foster_carers": false, "family_id": "FAM-1",
                           "adopters": [
                               {"person_id": "AD-1", "relationship": "adopter"},
                               {"person_id": "AD-2", "relationship": "adopter"}]}),
                ),
                ev("f-06", "2025-06-20", "PlacedForAdoption", json!({})),
                ev(
                    "f-07",
                    "2025-06-20",
                    "PlacementChanged",
                    json!({"placement": placement("A6"), "reason": "CREQB"}),
                ),
            ],
        ),
        // Early help: one assessment started before the window and completed in it, one started at its end.
        (
            "T-007",
            vec![
                registered("g-01", "2020-07-07", "U", &[]),
                ev(
                    "g-02",
                    "2025-03-20",
                    "EarlyHelpStarted",
                    json!({"organisation": "Oak Tree Family Hub"}),
                ),
                ev("g-03", "2025-04-10", "EarlyHelpAssessmentCompleted", json!({})),
                ev(
                    "g-04",
                    "2025-09-01",
                    "EarlyHelpEnded",
                    json!({"reason": "needs_met"}),
                ),
                ev(
                    "g-05",
                    "2026-03-31",
                    "EarlyHelpStarted",
                    json!({"organisation": "Riverside School"}),
                ),
                ev("g-06", "2026-04-02", "EarlyHelpAssessmentCompleted", json!({})),
            ],
        ),
    ];
    for (child, events) in streams {
        block_on(store.append(testkit::append(child, ExpectedVersion::NoStream, events)))
            .unwrap_or_else(|e| panic!("{child}: {e}"));
    }
    // Recorded after the known-at instant, though it happened in the window.
    clock.set(ts("2026-05-03T09:00:00Z"));
    block_on(store.append(testkit::append(
        "T-001",
        ExpectedVersion::Any,
        vec![testkit::contact("a-late", "2025-06-01")],
    )))
    .unwrap();
    (clock, store)
}

fn lists() -> AnnexA {
    let (_clock, store) = store();
    block_on(export(&store, window(), ts(KNOWN_AT))).unwrap()
}

fn rows(a: &AnnexA, kind: ListKind) -> Vec<Vec<String>> {
    a.list(kind).unwrap().rows.clone()
}

fn strings(cells: &[&str]) -> Vec<String> {
    cells.iter().map(|c| c.to_string()).collect()
}

#[test]
fn lists_are_named_numbered_and_headed_as_ofsted_names_them() {
    let a = lists();
    assert_eq!(a.lists.len(), 11);
    let names: Vec<&str> = a.lists.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names[0], "List 1 - Contacts");
    assert_eq!(names[7], "List 8 - Children looked after");
    assert_eq!(names[10], "List 11 - Adopters");
    assert!(a.lists.iter().all(|l| l.name.len() <= 31), "Excel sheet names");
    assert_eq!(ListKind::Contacts.file_name(), "annex_a_list_01_contacts.csv");
    assert_eq!(
        ListKind::LookedAfter.file_name(),
        "annex_a_list_08_children_looked_after.csv"
    );
    let contacts = a.list(ListKind::Contacts).unwrap();
    assert_eq!(
        contacts.headings,
        strings(&[
            "Child Unique ID",
            "Sex",
            "Ethnicity",
            "Date of Birth",
            "Age of Child (Years)",
            "Date of Contact",
            "Contact Source",
        ])
    );
    for l in &a.lists[..10] {
        assert_eq!(l.headings[0], "Child Unique ID", "{}", l.name);
        assert_eq!(l.headings[1], "Sex", "{}", l.name);
        assert_eq!(l.headings.len(), l.column_kinds.len());
    }
    assert_eq!(a.list(ListKind::LookedAfter).unwrap().headings.len(), 5 + 29);
    // A window that ends before 2026 is headed as Ofsted's schema then was: "Gender".
    let earlier = from_facts(
        AnnexAWindow {
            start: testkit::date("2024-10-01"),
            end: testkit::date("2025-09-30"),
        },
        Vec::new(),
    );
    assert_eq!(earlier.list(ListKind::Referrals).unwrap().headings[1], "Gender");
    assert_eq!(earlier.list(ListKind::Adopters).unwrap().headings[2], "Gender");
}

#[test]
fn list_1_has_the_contacts_of_the_window_both_ends_included() {
    let a = lists();
    // The day before the start and the day after the end are out; the late contact is not known yet.
    assert_eq!(
        rows(&a, ListKind::Contacts),
        vec![
            strings(&["T-001", "F", "WBRI", "15/05/2015", "10", "01/04/2025", "2A"]),
            strings(&["T-001", "F", "WBRI", "15/05/2015", "10", "31/03/2026", "2A"]),
        ]
    );
}

#[test]
fn list_2_has_the_early_help_assessments_started_or_completed_in_the_window() {
    let a = lists();
    // The second was completed after the window's end: not yet, as the window sees it.
    assert_eq!(
        rows(&a, ListKind::EarlyHelp),
        vec![
            strings(&[
                "T-007",
                "U",
                "WBRI",
                "07/07/2020",
                "5",
                "20/03/2025",
                "10/04/2025",
                "Oak Tree Family Hub",
            ]),
            strings(&[
                "T-007",
                "U",
                "WBRI",
                "07/07/2020",
                "5",
                "31/03/2026",
                "",
                "Riverside School"
            ]),
        ]
    );
}

#[test]
fn an_event_recorded_after_known_at_is_absent_and_present_once_known() {
    let (_clock, store) = store();
    let before = block_on(export(&store, window(), ts(KNOWN_AT))).unwrap();
    let after = block_on(export(&store, window(), ts("2026-05-04T00:00:00Z"))).unwrap();
    let dates = |a: &AnnexA| -> Vec<String> {
        rows(a, ListKind::Contacts)
            .into_iter()
            .map(|r| r[5].clone())
            .collect()
    };
    assert_eq!(dates(&before), strings(&["01/04/2025", "31/03/2026"]));
    assert_eq!(
        dates(&after),
        strings(&["01/04/2025", "01/06/2025", "31/03/2026"])
    );
}

#[test]
fn corrections_apply_and_retractions_drop_from_when_they_are_recorded() {
    let (clock, store) = store();
    clock.set(ts("2026-06-01T09:00:00Z"));
    let events = vec![
        ev(
            "a-fix",
            "2026-06-01",
            "EventCorrected",
            json!({"target_event_id": "a-07", "reason": "The referral came from the police.",
                   "replacement": {"type": "ReferralReceived",
                                   "data": {"source": "5A", "primary_need": "N0"}}}),
        ),
        ev(
            "a-drop",
            "2026-06-01",
            "EventRetracted",
            json!({"target_event_id": "a-03", "reason": "entered_in_error"}),
        ),
    ];
    block_on(store.append(testkit::append("T-001", ExpectedVersion::Any, events))).unwrap();
    let before = block_on(export(&store, window(), ts(KNOWN_AT))).unwrap();
    let after = block_on(export(&store, window(), ts("2026-06-02T00:00:00Z"))).unwrap();
    let source = |a: &AnnexA| {
        a.list(ListKind::Referrals)
            .unwrap()
            .cell(0, "Referral Source")
            .map(str::to_string)
    };
    assert_eq!(source(&before).as_deref(), Some("2A"));
    assert_eq!(source(&after).as_deref(), Some("5A"));
    let contacts = |a: &AnnexA| rows(a, ListKind::Contacts).len();
    // The retracted contact of 1 April 2025 is gone; the late one of 1 June 2025 is known by then.
    assert_eq!((contacts(&before), contacts(&after)), (2, 2));
    assert_eq!(
        rows(&after, ListKind::Contacts)
            .iter()
            .map(|r| r[5].as_str())
            .collect::<Vec<_>>(),
        ["01/06/2025", "31/03/2026"]
    );
}

#[test]
fn list_3_counts_referrals_back_from_each_and_names_the_allocated_team_and_worker() {
    let a = lists();
    assert_eq!(
        rows(&a, ListKind::Referrals),
        vec![
            strings(&[
                "T-001",
                "F",
                "WBRI",
                "15/05/2015",
                "10",
                "10/05/2025",
                "2A",
                "N",
                "2",
                "Assessment Team",
                "Sam Worker",
            ]),
            strings(&[
                "T-002",
                "M",
                "WBRI",
                "01/02/2018",
                "8",
                "20/07/2025",
                "5A",
                "N",
                "1",
                "Safeguarding",
                "Kim Carer",
            ]),
        ]
    );
}

#[test]
fn list_4_and_list_5_describe_the_assessment_and_the_enquiry() {
    let a = lists();
    assert_eq!(
        rows(&a, ListKind::Assessments),
        vec![strings(&[
            "T-001",
            "F",
            "WBRI",
            "15/05/2015",
            "10",
            "Y",
            "11/05/2025",
            "Y",
            "03/06/2025",
            "Y",
            "Assessment Team",
            "Sam Worker",
        ])]
    );
    assert_eq!(
        rows(&a, ListKind::Section47),
        vec![strings(&[
            "T-002",
            "M",
            "WBRI",
            "01/02/2018",
            "8",
            "N",
            "01/08/2025",
            "N",
            "01/09/2025",
            "Y",
            "1",
            "1",
            "Safeguarding",
            "Kim Carer",
        ])]
    );
}

#[test]
fn list_6_has_the_episodes_open_in_the_window_with_their_case_status() {
    let a = lists();
    // T-001's first episode closed before the window: out. T-003 was never referred.
    assert_eq!(
        rows(&a, ListKind::ChildrenInNeed),
        vec![
            strings(&[
                "T-001",
                "F",
                "WBRI",
                "15/05/2015",
                "10",
                "Y",
                "10/05/2025",
                "N1",
                "01/07/2025",
                "",
                "",
                "Child in need",
                "Assessment Team",
                "Sam Worker",
            ]),
            strings(&[
                "T-002",
                "M",
                "WBRI",
                "01/02/2018",
                "8",
                "N",
                "20/07/2025",
                "N1",
                "10/09/2025",
                "",
                "",
                "Child in need",
                "Safeguarding",
                "Kim Carer",
            ]),
        ]
    );
}

#[test]
fn list_7_has_the_plan_with_its_categories_visit_review_and_end() {
    let a = lists();
    assert_eq!(
        rows(&a, ListKind::ChildProtection),
        vec![strings(&[
            "T-002",
            "M",
            "WBRI",
            "01/02/2018",
            "8",
            "N",
            "01/09/2025",
            "NEG",
            "EMO",
            "10/09/2025",
            "Y",
            "01/12/2025",
            "01/12/2025",
            "N",
            "0",
            "Safeguarding",
            "Kim Carer",
        ])]
    );
}

#[test]
fn list_8_describes_the_period_of_care_from_the_ssda903_episodes_and_the_log() {
    let a = lists();
    let la = a.list(ListKind::LookedAfter).unwrap();
    let t003 = la.rows.iter().position(|r| r[0] == "T-003").unwrap();
    let expected = [
        ("UASC in last 12 months (Y/N)", "N"),
        ("Disability", ""),
        ("Date Started to be Looked After", "01/12/2025"),
        ("Category of Need", "N1"),
        ("Second/subsequent period in last 12 months (Y/N)", "N"),
        ("Start date of current legal status", "10/01/2026"),
        ("Legal Status", "C1"),
        ("Date of Latest Statutory Review", "01/03/2026"),
        ("Permanence plan", "Long-term fostering"),
        ("Number of Placements in last 12 months", "2"),
        ("Date Ceased LAC", ""),
        ("Start Date of Most Recent Placement", "01/02/2026"),
        ("Placement Type", "U4"),
        ("Placement Provider", "PR1"),
        ("Placement postcode", "QX1 1AA"),
        (
            "Placement Location",
            "Inside the responsible local authority's boundary",
        ),
        ("No. of 'Missing' episodes 12m", "1"),
        ("No. of 'Absent' episodes 12m", "0"),
        ("Return Interview offered (Y/N)", "Y"),
        ("Return Interview accepted (Y/N)", "Y"),
        ("Team", "Children in Care"),
        ("Worker", "Lee Keyworker"),
    ];
    for (heading, value) in expected {
        assert_eq!(la.cell(t003, heading), Some(value), "{heading}");
    }
    // T-004 left care before the window, T-005 too: not in list 8. T-006 is looked after throughout.
    let ids: Vec<&str> = la.rows.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(ids, ["T-003", "T-006"]);
    let t006 = 1;
    assert_eq!(la.cell(t006, "Placement Type"), Some("A6"));
    assert_eq!(la.cell(t006, "Number of Placements in last 12 months"), Some("1"));
}

#[test]
fn list_9_classifies_care_leavers_from_their_ages_and_care_history() {
    let a = lists();
    assert_eq!(
        rows(&a, ListKind::CareLeavers),
        vec![
            strings(&[
                "T-004",
                "F",
                "WBRI",
                "10/01/2007",
                "19",
                "N",
                "",
                "",
                "",
                "",
                "Former relevant",
                "",
                "YES",
                "15/01/2026",
                "B",
                "Unsuitable",
                "F2",
            ]),
            strings(&[
                "T-005",
                "M",
                "WBRI",
                "01/03/2008",
                "18",
                "N",
                "",
                "",
                "",
                "",
                "Qualifying",
                "",
                "",
                "",
                "",
                "",
                "",
            ]),
        ]
    );
}

#[test]
fn lists_10_and_11_follow_the_adoption_and_the_family_from_the_childs_stream() {
    let a = lists();
    assert_eq!(
        rows(&a, ListKind::Adoption),
        vec![strings(&[
            "T-006",
            "F",
            "WBRI",
            "05/01/2023",
            "3",
            "FAM-1",
            "",
            "01/03/2024",
            "10/01/2025",
            "01/05/2025",
            "01/06/2025",
            "20/06/2025",
            "",
            "",
            "",
            "",
        ])]
    );
    let adopters = rows(&a, ListKind::Adopters);
    let mut expected = strings(&["AD-1", "FAM-1", ""]);
    expected.extend(std::iter::repeat_n(String::new(), 10));
    expected.extend(strings(&["01/06/2025", "20/06/2025", "1", "", "", ""]));
    assert_eq!(adopters.len(), 2);
    assert_eq!(adopters[0], expected);
    assert_eq!(adopters[1][0], "AD-2");
}

#[test]
fn csv_files_are_one_per_list_with_headings_first() {
    let a = lists();
    let dir = tempfile::tempdir().unwrap();
    let paths = a.write_csv(dir.path()).unwrap();
    assert_eq!(paths.len(), 11);
    assert_eq!(
        paths[0].file_name().unwrap().to_str().unwrap(),
        "annex_a_list_01_contacts.csv"
    );
    let text = std::fs::read_to_string(&paths[0]).unwrap();
    assert_eq!(
        text,
        "Child Unique ID,Sex,Ethnicity,Date of Birth,Age of Child (Years),Date of Contact,Contact Source\n\
         T-001,F,WBRI,15/05/2015,10,01/04/2025,2A\n\
         T-001,F,WBRI,15/05/2015,10,31/03/2026,2A\n"
    );
}

#[test]
fn the_workbook_has_a_sheet_per_list_with_dates_as_dates_and_counts_as_numbers() {
    use calamine::{Data, Reader, Xlsx, open_workbook_from_rs};
    let a = lists();
    let bytes = a.to_xlsx().unwrap();
    let mut book: Xlsx<_> = open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
    let names = book.sheet_names();
    assert_eq!(names.len(), 11);
    assert_eq!(names, a.lists.iter().map(|l| l.name.clone()).collect::<Vec<_>>());
    for list in &a.lists {
        let range = book.worksheet_range(&list.name).unwrap();
        let headings: Vec<String> = range
            .rows()
            .next()
            .unwrap()
            .iter()
            .map(|c| c.to_string())
            .collect();
        assert_eq!(headings, list.headings, "{}", list.name);
        assert_eq!(range.height(), list.rows.len() + 1, "{}", list.name);
    }
    let referrals = book.worksheet_range("List 3 - Referrals").unwrap();
    // Row 1 (the first referral): Date of Birth, Date of referral are dates; the count is a number.
    let dob = referrals.get((1, 3)).unwrap();
    assert!(matches!(dob, Data::DateTime(_)), "{dob:?}");
    let referred = referrals.get((1, 5)).unwrap();
    let Data::DateTime(when) = referred else {
        panic!("{referred:?}")
    };
    // 10 May 2025 is Excel serial day 45787.
    assert_eq!(when.as_f64(), 45787.0);
    assert_eq!(referrals.get((1, 8)), Some(&Data::Float(2.0)));
    assert_eq!(referrals.get((1, 0)), Some(&Data::String("T-001".into())));
}

#[test]
fn a_synthetic_authority_fills_lists_1_to_10() {
    // The deep end: every path (adoption, care leavers) in a few hundred children.
    let profile = AuthorityProfile::deep_end().with_children(200);
    let clock = testkit::clock();
    let store = InMemoryStore::new(clock.clone());
    let load = block_on(synth::load(&store, &clock, synth::generate(5, &profile))).unwrap();
    assert!(load.rejected.is_empty(), "{:?}", load.rejected);
    let w = AnnexAWindow {
        start: testkit::date("2024-04-01"),
        end: testkit::date("2025-03-31"),
    };
    let a = block_on(export(&store, w, ts("2025-04-30T23:00:00Z"))).unwrap();
    for list in &a.lists[..10] {
        assert!(!list.rows.is_empty(), "{} is empty", list.name);
        for r in &list.rows {
            assert_eq!(r.len(), list.headings.len(), "{}", list.name);
            assert!(!r[0].is_empty(), "{}: a row without a child id", list.name);
        }
    }
    // List 8 has the children of the SSDA903 Episodes table of the same year, each once.
    let year = journey_core::codes::CollectionYear::parse("2024/25").unwrap();
    let tables = block_on(crate::ssda903::export(&store, year, ts("2025-04-30T23:00:00Z"))).unwrap();
    let in_903: std::collections::BTreeSet<&str> = tables
        .table(crate::ssda903::TableKind::Episodes)
        .iter()
        .map(|r| r[0].as_str())
        .collect();
    let in_list_8: Vec<&str> = a
        .list(ListKind::LookedAfter)
        .unwrap()
        .rows
        .iter()
        .map(|r| r[0].as_str())
        .collect();
    assert_eq!(in_list_8, in_903.into_iter().collect::<Vec<_>>());
    // Every CSV and the workbook are written without error.
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(a.write_csv(dir.path()).unwrap().len(), 11);
    assert!(!a.to_xlsx().unwrap().is_empty());
}

#[test]
fn a_row_describes_the_episode_as_it_was_at_the_windows_end() {
    let (_clock, store) = store();
    let early = AnnexAWindow {
        start: testkit::date("2025-04-01"),
        end: testkit::date("2025-05-31"),
    };
    let a = block_on(export(&store, early, ts(KNOWN_AT))).unwrap();
    let cin = a.list(ListKind::ChildrenInNeed).unwrap();
    // The assessment of 1 June 2025 set the primary need to N1: after this window.
    assert_eq!(cin.cell(0, "Primary Need Code"), Some("N0"));
    assert_eq!(cin.cell(0, "Gender"), Some("F"));
    let assessments = a.list(ListKind::Assessments).unwrap();
    assert_eq!(
        assessments.rows[0][5..10],
        strings(&["Y", "11/05/2025", "", "", ""])
    );
    let autumn = AnnexAWindow {
        start: testkit::date("2025-04-01"),
        end: testkit::date("2025-10-31"),
    };
    let a = block_on(export(&store, autumn, ts(KNOWN_AT))).unwrap();
    let cp = a.list(ListKind::ChildProtection).unwrap();
    assert_eq!(cp.cell(0, "Latest Category of Abuse"), Some("NEG"));
    assert_eq!(cp.cell(0, "CPP End Date"), Some(""));
    assert_eq!(cp.cell(0, "Date of latest review conference"), Some(""));
}
