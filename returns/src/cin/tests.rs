//! The census from hand-built streams: the XML element by element, the year's edges, corrections and
//! retractions honoured.

use std::sync::Arc;

use futures::executor::block_on;
use serde_json::{Value, json};

use super::*;
use journey_core::envelope::NewEvent;
use journey_core::ids::ExpectedVersion;
use journey_core::store::InMemoryStore;
use journey_core::testkit;
use journey_core::time::ManualClock;

fn ts(s: &str) -> Timestamp {
    Timestamp::parse_field("t", s).unwrap()
}

fn ev(id: &str, on: &str, kind: &str, data: Value) -> NewEvent {
    let payload = EventPayload::from_type_and_data(kind, data).unwrap_or_else(|e| panic!("{kind}: {e}"));
    testkit::event(id, on, payload)
}

fn census(children: Vec<(&str, Vec<NewEvent>)>, year: &str) -> (CinCensus, String) {
    let clock = Arc::new(ManualClock::new(ts("2025-05-01T09:00:00Z")));
    let store = InMemoryStore::new(clock);
    for (child, events) in children {
        block_on(store.append(testkit::append(child, ExpectedVersion::NoStream, events))).unwrap();
    }
    let holidays = [testkit::date("2024-05-06"), testkit::date("2024-05-27")];
    let census = block_on(export(
        &store,
        &CinOptions {
            year: CollectionYear::parse(year).unwrap(),
            known_at: ts("2025-05-02T00:00:00Z"),
            la_code: "878".into(),
            produced_at: ts("2025-05-02T10:30:00Z"),
            bank_holidays: &holidays,
        },
    ))
    .unwrap();
    let xml = String::from_utf8(census.to_xml()).unwrap();
    (census, xml)
}

/// A child protection journey: referral, assessment, strategy discussion, section 47, initial conference,
/// plan with a category change and a review, plan ended, episode closed; then a later referral.
fn protection_journey() -> Vec<NewEvent> {
    vec![
        ev(
            "p-01",
            "2016-02-10",
            "ChildRegistered",
            json!({"date_of_birth": "2016-02-10", "sex": "F", "ethnicity": "WBRI", "disabilities": ["HAND"]}),
        ),
        ev(
            "p-02",
            "2024-04-29",
            "ReferralReceived",
            json!({"source": "5A", "primary_need": "N1"}),
        ),
        ev("p-03", "2024-04-30", "AssessmentStarted", json!({})),
        ev(
            "p-04",
            "2024-04-30",
            "StrategyDiscussionHeld",
            json!({"outcome": "section_47_enquiry",
                   "agencies": [{"agency": "police", "invited": true, "attended": true}]}),
        ),
        ev(
            "p-05",
            "2024-05-01",
            "Section47Started",
            json!({"strategy_discussion_event_id": "p-04"}),
        ),
        ev(
            "p-06",
            "2024-05-14",
            "Section47Completed",
            json!({"outcome": "conference_required"}),
        ),
        ev(
            "p-07",
            "2024-05-20",
            "ChildProtectionConferenceHeld",
            json!({"kind": "initial", "outcome": "plan_required", "category": "NEG"}),
        ),
        ev(
            "p-08",
            "2024-05-20",
            "ChildProtectionPlanStarted",
            json!({"category": "NEG"}),
        ),
        ev(
            "p-09",
            "2024-06-10",
            "AssessmentCompleted",
            json!({"factors": ["2A", "4A"], "authorised_on": "2024-06-12"}),
        ),
        ev(
            "p-10",
            "2024-08-01",
            "ChildProtectionCategoryChanged",
            json!({"category": "EMO"}),
        ),
        ev(
            "p-11",
            "2024-08-20",
            "ChildProtectionConferenceHeld",
            json!({"kind": "review", "outcome": "plan_required"}),
        ),
        ev(
            "p-12",
            "2025-01-15",
            "ChildProtectionPlanEnded",
            json!({"reason": "stepped_down_to_child_in_need"}),
        ),
        ev(
            "p-13",
            "2025-02-01",
            "ChildInNeedEpisodeClosed",
            json!({"reason": "RC7"}),
        ),
        // After the reference date: not yet part of 2024/25.
        ev(
            "p-14",
            "2025-04-10",
            "ReferralReceived",
            json!({"source": "3A", "primary_need": "N2"}),
        ),
    ]
}

#[test]
fn a_protection_journey_is_one_episode_with_every_module_in_the_dfe_shape() {
    let (census, xml) = census(vec![("CIN-1", protection_journey())], "2024/25");
    assert_eq!(census.children.len(), 1);
    let child = &census.children[0];
    assert_eq!(
        child.episodes.len(),
        1,
        "the April 2025 referral is after the reference date"
    );
    let e = &child.episodes[0];
    assert_eq!(
        e.closure,
        Some((testkit::date("2025-02-01"), CinClosureReason::RC7))
    );
    let s47 = &e.section47s[0];
    // From the strategy discussion it followed; 15 working days later, skipping 6 May (a bank holiday).
    assert_eq!(s47.start, testkit::date("2024-04-30"));
    assert_eq!(s47.conference_target, testkit::date("2024-05-22"));
    assert_eq!(s47.initial_conference, Some(testkit::date("2024-05-20")));
    assert!(!s47.conference_not_required);
    assert_eq!(e.initial_conference, None, "recorded on the section 47 only");
    let plan = &e.protection_plans[0];
    assert_eq!(
        (plan.initial_category, plan.latest_category, plan.previous_plans),
        (AbuseCategory::NEG, AbuseCategory::EMO, 0)
    );
    assert_eq!(plan.reviews, vec![testkit::date("2024-08-20")]);

    for fragment in [
        "<Collection>CIN</Collection>",
        "<Year>2025</Year>",
        "<ReferenceDate>2025-03-31</ReferenceDate>",
        "<LEA>878</LEA>",
        "<DateTime>2025-05-02T10:30:00</DateTime>",
        "<LAchildID>CIN-1</LAchildID>",
        "<PersonBirthDate>2016-02-10</PersonBirthDate>",
        "<Sex>F</Sex>",
        "<Ethnicity>WBRI</Ethnicity>",
        "<Disability>HAND</Disability>",
        "<CINreferralDate>2024-04-29</CINreferralDate>",
        "<ReferralSource>5A</ReferralSource>",
        "<PrimaryNeedCode>N1</PrimaryNeedCode>",
        "<CINclosureDate>2025-02-01</CINclosureDate>",
        "<ReasonForClosure>RC7</ReasonForClosure>",
        "<ReferralNFA>false</ReferralNFA>",
        "<AssessmentActualStartDate>2024-04-30</AssessmentActualStartDate>",
        "<AssessmentAuthorisationDate>2024-06-12</AssessmentAuthorisationDate>",
        "<AssessmentFactors>2A</AssessmentFactors>",
        "<S47ActualStartDate>2024-04-30</S47ActualStartDate>",
        "<InitialCPCtarget>2024-05-22</InitialCPCtarget>",
        "<ICPCnotRequired>false</ICPCnotRequired>",
        "<CPPstartDate>2024-05-20</CPPstartDate>",
        "<CPPendDate>2025-01-15</CPPendDate>",
        "<InitialCategoryOfAbuse>NEG</InitialCategoryOfAbuse>",
        "<LatestCategoryOfAbuse>EMO</LatestCategoryOfAbuse>",
        "<NumberOfPreviousCPP>0</NumberOfPreviousCPP>",
        "<CPPreviewDate>2024-08-20</CPPreviewDate>",
    ] {
        assert!(xml.contains(fragment), "{fragment} in\n{xml}");
    }
    // Before 2024/25, the census said GenderCurrent; the S47 module sits inside its episode.
    assert!(!xml.contains("GenderCurrent"));
    let episode = &xml[xml.find("<CINdetails>").unwrap()..xml.find("</CINdetails>").unwrap()];
    assert!(episode.contains("<Section47>") && episode.contains("<ChildProtectionPlans>"));
}

#[test]
fn the_year_decides_who_is_in_it_and_what_is_known_of_it() {
    let closed_before = closed_before_2024_25();
    let open_at_the_end = vec![
        testkit::registered("b-1", "2015-01-01"),
        ev(
            "b-2",
            "2025-03-01",
            "ReferralReceived",
            json!({"source": "1A", "primary_need": "N1"}),
        ),
        ev(
            "b-3",
            "2025-04-05",
            "ChildInNeedEpisodeClosed",
            json!({"reason": "RC8"}),
        ),
    ];
    // A referral entered in error: retracted, so the child is in no census.
    let retracted = vec![
        testkit::registered("c-1", "2015-01-01"),
        ev(
            "c-2",
            "2024-06-01",
            "ReferralReceived",
            json!({"source": "1A", "primary_need": "N1"}),
        ),
        ev(
            "c-3",
            "2024-06-02",
            "EventRetracted",
            json!({"target_event_id": "c-2", "reason": "wrong_child"}),
        ),
    ];
    // A referral whose accuracy is disputed (UK GDPR Art. 18): kept, but not counted while restricted.
    let referral = |child: &str| {
        vec![
            testkit::registered(&format!("{child}-1"), "2015-01-01"),
            ev(
                &format!("{child}-2"),
                "2024-06-01",
                "ReferralReceived",
                json!({"source": "1A", "primary_need": "N1"}),
            ),
            ev(
                &format!("{child}-3"),
                "2024-06-03",
                "RecordRestricted",
                json!({"target_event_id": format!("{child}-2"), "grounds": "accuracy_contested",
                       "reason": "The parent says no referral was made."}),
            ),
        ]
    };
    let restricted = referral("d");
    // The same, the restriction lifted: counted again.
    let mut lifted = referral("e");
    lifted.push(ev(
        "e-4",
        "2024-06-20",
        "RestrictionLifted",
        json!({"restriction_event_id": "e-3", "reason": "The school's referral form was found."}),
    ));
    // The whole record restricted.
    let mut whole = referral("f");
    whole[2] = ev(
        "f-3",
        "2024-06-03",
        "RecordRestricted",
        json!({"grounds": "objection_pending", "reason": "The young person objects to the record."}),
    );
    let (census, xml) = census(
        vec![
            ("A-1", closed_before),
            ("B-1", open_at_the_end),
            ("C-1", retracted),
            ("D-1", restricted),
            ("E-1", lifted),
            ("F-1", whole),
        ],
        "2024/25",
    );
    let ids: Vec<String> = census
        .children
        .iter()
        .map(|c| c.child_id.as_ref().unwrap().to_string())
        .collect();
    assert_eq!(ids, vec!["B-1", "E-1"]);
    // Its closure in April is not yet known to the year.
    assert!(!xml.contains("CINclosureDate"), "{xml}");
    // The year before: the first child, with its closure, and 2023/24's GenderCurrent.
    let (before, xml) = census_again(&["A-1"]);
    assert_eq!(before, 1);
    assert!(xml.contains("<CINclosureDate>2024-03-20</CINclosureDate>"));
    assert!(xml.contains("<GenderCurrent>"));
}

/// A child whose episode closed in March 2024: in 2023/24's census, not 2024/25's.
fn closed_before_2024_25() -> Vec<NewEvent> {
    vec![
        testkit::registered("a-1", "2015-01-01"),
        ev(
            "a-2",
            "2023-05-01",
            "ReferralReceived",
            json!({"source": "1A", "primary_need": "N1"}),
        ),
        ev(
            "a-3",
            "2024-03-20",
            "ChildInNeedEpisodeClosed",
            json!({"reason": "RC8"}),
        ),
    ]
}

/// The census for 2023/24 of the child closed before 2024/25, keeping only `ids`.
fn census_again(ids: &[&str]) -> (usize, String) {
    let closed_before = closed_before_2024_25();
    let (census, xml) = census(vec![("A-1", closed_before)], "2023/24");
    let n = census
        .children
        .iter()
        .filter(|c| ids.contains(&c.child_id.as_ref().unwrap().as_str()))
        .count();
    (n, xml)
}

/// An unborn child registered with a sex (known from a scan): the record holds it, the census reports `U`
/// (rule 8750), in both years' coding; a child born after the reference date is still unborn to that year's
/// census (rule 8520), and reported with its sex once born.
#[test]
fn an_unborn_child_is_reported_with_sex_u_whatever_sex_the_record_holds() {
    let unborn = |p: &str, expected: &str, referral: &str| {
        vec![
            ev(
                &format!("{p}-1"),
                "2024-06-01",
                "ChildRegistered",
                json!({"expected_date_of_birth": expected, "sex": "F", "upn_unknown_reason": "UN1"}),
            ),
            ev(
                &format!("{p}-2"),
                referral,
                "ReferralReceived",
                json!({"source": "5A", "primary_need": "N1"}),
            ),
        ]
    };
    // Expected after the reference date and still unborn when the census is made.
    let still_unborn = unborn("u", "2025-06-20", "2024-10-01");
    // Born on 18 April 2025: after 2024/25's reference date, before the census is made.
    let mut born_after = unborn("v", "2025-04-20", "2024-09-01");
    born_after.push(ev(
        "v-3",
        "2025-04-18",
        "ChildDetailsAmended",
        json!({"date_of_birth": "2025-04-18"}),
    ));
    let (census, xml) = census(vec![("U-1", still_unborn), ("V-1", born_after)], "2024/25");
    assert_eq!(census.children.len(), 2, "{xml}");
    for c in &census.children {
        assert_eq!(c.sex, Some(Sex::F), "the record's sex is kept: {c:?}");
        assert!(c.is_unborn(), "{c:?}");
        assert_eq!(c.census_sex(), Sex::U);
    }
    assert_eq!(xml.matches("<Sex>U</Sex>").count(), 2, "{xml}");
    assert!(!xml.contains("<Sex>F</Sex>"), "{xml}");
    assert!(!xml.contains("PersonBirthDate>2025-04-18"), "{xml}");
    assert!(
        xml.contains("<ExpectedPersonBirthDate>2025-04-20</ExpectedPersonBirthDate>"),
        "{xml}"
    );
    // Once born, the child's sex is reported (here in the year after, through the same history).
    let history = child_history(
        None,
        vec![
            (
                testkit::date("2024-06-01"),
                1,
                None,
                EventPayload::from_type_and_data(
                    "ChildRegistered",
                    json!({"expected_date_of_birth": "2025-04-20", "sex": "F"}),
                )
                .unwrap(),
            ),
            (
                testkit::date("2025-04-18"),
                2,
                None,
                EventPayload::from_type_and_data(
                    "ChildDetailsAmended",
                    json!({"date_of_birth": "2025-04-18"}),
                )
                .unwrap(),
            ),
        ],
        &[],
    );
    assert!(!history.is_unborn());
    assert_eq!(history.census_sex(), Sex::F);
}

/// 2023/24's coding of an unborn child's sex: `GenderCurrent` 0.
#[test]
fn an_unborn_child_is_gender_0_in_2023_24() {
    let events = vec![
        ev(
            "w-1",
            "2023-06-01",
            "ChildRegistered",
            json!({"expected_date_of_birth": "2024-06-20", "sex": "M"}),
        ),
        ev(
            "w-2",
            "2023-10-01",
            "ReferralReceived",
            json!({"source": "5A", "primary_need": "N1"}),
        ),
    ];
    let (census, xml) = census(vec![("W-1", events)], "2023/24");
    assert_eq!(census.children.len(), 1, "{xml}");
    assert!(xml.contains("<GenderCurrent>0</GenderCurrent>"), "{xml}");
}
