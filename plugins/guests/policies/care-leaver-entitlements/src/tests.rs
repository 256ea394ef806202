//! Worked journeys with hand-computed answers (the same law end to end in the sandbox is in
//! `plugins/tests/it/reference_care_leaver_entitlements.rs`).

use journey_policy_sdk::testing::{event, input};
use journey_policy_sdk::*;
use serde_json::json;

use super::CareLeaverEntitlements;

fn placed(id: &str, on: &str, legal_status: &str, place: &str) -> JourneyEvent {
    event(
        id,
        "BecameLookedAfter",
        on,
        json!({"legal_status": legal_status, "category_of_need": "N1", "placement": {"place_type": place}}),
    )
}

fn ceased(id: &str, on: &str, reason: &str) -> JourneyEvent {
    event(id, "CeasedToBeLookedAfter", on, json!({"reason": reason}))
}

fn decide(dob: &str, on: &str, events: Vec<JourneyEvent>) -> Decisions {
    let mut i = input(on, events);
    i.child.date_of_birth = Date::parse(dob);
    CareLeaverEntitlements::evaluate(&i).unwrap()
}

/// `(name, category, starts, ends)` of every entitlement.
fn table(d: &Decisions) -> Vec<(String, String, String, String)> {
    d.entitlements
        .iter()
        .map(|e| {
            (
                e.name.clone(),
                e.category.clone().unwrap_or_default(),
                e.starts_on.to_string(),
                e.ends_on.map(|d| d.to_string()).unwrap_or_default(),
            )
        })
        .collect()
}

fn row(n: &str, c: &str, s: &str, e: &str) -> (String, String, String, String) {
    (n.into(), c.into(), s.into(), e.into())
}

#[test]
fn born_on_29_february_eligible_on_the_16th_birthday_with_exactly_13_weeks() {
    // 1 December 2023 to 29 February 2024 inclusive: 31 + 31 + 29 = 91 days.
    let events = vec![placed("la", "2023-12-01", "C2", "U4")];
    let d = decide("2008-02-29", "2024-06-01", events);
    assert_eq!(
        table(&d),
        [
            row("needs-assessment", "eligible", "2024-02-29", "2024-05-29"),
            row("pathway-plan", "eligible", "2024-02-29", "2029-02-27"),
            row("personal-adviser", "eligible", "2024-02-29", "2029-02-27"),
            // 21 on 28 February 2029 (a common year), 25 on 28 February 2033.
            row(
                "personal-adviser-on-request",
                "eligible",
                "2029-02-28",
                "2033-02-27"
            ),
            // 18 on 28 February 2026; in a long-term foster placement (U4) now.
            row("staying-put", "eligible", "2026-02-28", "2029-02-27"),
            row("higher-education-bursary", "eligible", "2026-02-28", "2033-02-27"),
            row("health-passport", "eligible", "2024-02-29", "2029-02-27"),
        ]
    );
    let deadline = &d.deadlines[0];
    assert_eq!(deadline.due_on, Some(Date::ymd(2024, 5, 29)));
    assert_eq!(
        (deadline.status, deadline.late_by.map(|l| l.amount)),
        (DeadlineStatus::Missed, Some(3))
    );
    // A day less in care: 90 days on the birthday, eligible the next day.
    let d = decide(
        "2008-02-29",
        "2024-06-01",
        vec![placed("la", "2023-12-02", "C2", "U4")],
    );
    assert_eq!(d.entitlements[0].starts_on, Date::ymd(2024, 3, 1));
}

#[test]
fn periods_touching_the_14th_birthday_and_a_16th_birthday_on_a_sunday() {
    // Born 15 June 2009: 14 on Thursday 15 June 2023, 16 on Sunday 15 June 2025.
    let events = |first_end: &str| {
        vec![
            placed("la1", "2023-03-01", "V2", "U6"),
            ceased("ce1", first_end, "E13"),
            // 2 April to 15 June 2025 inclusive: 29 + 31 + 15 = 75 days.
            placed("la2", "2025-04-02", "V2", "U6"),
        ]
    };
    // The first period ends on the 14th birthday: none of it counts; 75 days is not 13 weeks.
    let d = decide("2009-06-15", "2025-06-15", events("2023-06-15"));
    assert!(d.entitlements.is_empty());
    assert_eq!(d.alerts[0].code, "no-care-leaver-category");
    assert!(
        d.alerts[0].message.contains("looked after 75 days"),
        "{}",
        d.alerts[0].message
    );
    // Ending on 1 July 2023 it counts 15 June to 30 June: 16 days, 91 in all on the birthday itself.
    let d = decide("2009-06-15", "2025-06-15", events("2023-07-01"));
    assert_eq!(d.entitlements[0].starts_on, Date::ymd(2025, 6, 15));
    assert_eq!(d.entitlements[0].category.as_deref(), Some("eligible"));
    // The day before, at 15, no category.
    assert!(
        decide("2009-06-15", "2025-06-14", events("2023-07-01"))
            .entitlements
            .is_empty()
    );
}

#[test]
fn short_breaks_do_not_count() {
    let mut events = vec![placed("sb", "2022-01-01", "V3", "U6")];
    events.push(event(
        "ls",
        "LegalStatusChanged",
        "2024-05-01",
        json!({"legal_status": "V2"}),
    ));
    // Short breaks from 14, then a single period of accommodation from 1 May 2024: 91 days on 30 July.
    let d = decide("2007-06-01", "2024-07-29", events.clone());
    assert!(d.entitlements.is_empty(), "{:?}", table(&d));
    let d = decide("2007-06-01", "2024-07-30", events);
    assert_eq!(d.entitlements[0].starts_on, Date::ymd(2024, 7, 30));
}

#[test]
fn relevant_then_former_relevant_and_a_return_home_that_lasts() {
    let events = |reason: &str| {
        vec![
            placed("la", "2023-12-01", "C2", "U4"),
            ceased("ce", "2024-09-01", reason),
        ]
    };
    let d = decide("2008-02-29", "2024-10-01", events("E8"));
    let t = table(&d);
    assert_eq!(
        t[0],
        row("needs-assessment", "relevant", "2024-02-29", "2024-05-29")
    );
    assert!(t.contains(&row(
        "accommodation-and-maintenance",
        "relevant",
        "2024-09-01",
        "2026-02-27"
    )));
    assert!(t.contains(&row(
        "setting-up-home-allowance",
        "relevant",
        "2024-09-01",
        "2033-02-27"
    )));
    assert!(!t.iter().any(|r| r.0 == "staying-put"), "not in care at 18");
    let d = decide("2008-02-29", "2026-02-28", events("E8"));
    assert_eq!(d.entitlements[0].category.as_deref(), Some("former-relevant"));
    // Home with a parent: relevant for 6 months, then qualifying (looked after after 16). So too with anyone
    // else with parental responsibility: a child arrangements order (E41), adopters (E11, E12), special
    // guardians (E45-E48 in 2024). Left to live with someone without it (E13): still relevant.
    for reason in ["E4B", "E41", "E11", "E12", "E45", "E46", "E47", "E48"] {
        let d = decide("2008-02-29", "2025-02-28", events(reason));
        assert_eq!(
            d.entitlements[0].category.as_deref(),
            Some("relevant"),
            "{reason}"
        );
        let d = decide("2008-02-29", "2025-03-01", events(reason));
        assert_eq!(
            d.entitlements[0].category.as_deref(),
            Some("qualifying"),
            "{reason}"
        );
    }
    let d = decide("2008-02-29", "2025-03-01", events("E13"));
    assert_eq!(d.entitlements[0].category.as_deref(), Some("relevant"));
    let d = decide("2008-02-29", "2025-02-28", events("E4A"));
    assert_eq!(d.entitlements[0].category.as_deref(), Some("relevant"));
    let d = decide("2008-02-29", "2025-03-01", events("E4A"));
    assert_eq!(
        table(&d)[..2],
        [
            row("advice-and-assistance", "qualifying", "2024-09-01", "2029-02-27"),
            row(
                "education-and-training-assistance",
                "qualifying",
                "2024-09-01",
                "2033-02-27"
            ),
        ]
    );
}

#[test]
fn the_local_offer_is_a_parameter() {
    let mut i = input("2024-06-01", vec![placed("la", "2023-12-01", "C2", "U4")]);
    i.child.date_of_birth = Some(Date::ymd(2008, 2, 29));
    i.parameters = r#"{"local_offer": [{"name": "gym-pass", "categories": ["eligible"], "from_age": 17,
        "until_age": 19, "detail": "Free gym membership"}]}"#
        .into();
    let d = CareLeaverEntitlements::evaluate(&i).unwrap();
    assert_eq!(
        table(&d).last().unwrap(),
        &row("gym-pass", "eligible", "2025-02-28", "2027-02-27")
    );
    i.parameters = r#"{"local_offer": [{"name": "Gym", "categories": ["eligible"], "from_age": 17,
        "until_age": 19, "detail": ""}]}"#
        .into();
    assert!(matches!(
        CareLeaverEntitlements::evaluate(&i),
        Err(PolicyError::InvalidParameters(m)) if m.starts_with("parameter `local_offer`")
    ));
}

/// Every reason code that means special guardianship counts, in every collection year it was valid in
/// (issue 16): a child looked after from 10 who left care on a special guardianship order is qualifying
/// from the 16th birthday (CA89 s24(1A)) whether the order was recorded as E43 or E44 (up to 2017/18) or as
/// E45-E48 (from 2018/19).
#[test]
fn special_guardianship_from_care_is_qualifying_under_every_code_of_its_years() {
    for (reason, ended) in [
        ("E43", "2017-06-16"),
        ("E44", "2018-03-31"),
        ("E45", "2018-04-01"),
        ("E46", "2019-05-16"),
        ("E47", "2020-05-16"),
        ("E48", "2022-05-16"),
    ] {
        let events = vec![
            placed("la", "2017-03-01", "C2", "U4"),
            ceased("ce", ended, reason),
        ];
        let d = decide("2007-01-09", "2024-01-10", events);
        assert_eq!(
            table(&d),
            [
                row("advice-and-assistance", "qualifying", "2023-01-09", "2028-01-08"),
                row(
                    "education-and-training-assistance",
                    "qualifying",
                    "2023-01-09",
                    "2032-01-08"
                ),
            ],
            "{reason} on {ended}"
        );
        assert!(
            d.entitlements[0].reasons[1]
                .text
                .starts_with("Looked after immediately before a special guardianship order"),
            "{reason}: {:?}",
            d.entitlements[0].reasons
        );
    }
}

/// A period of care found in progress when history was imported (issue 16): it began before its recorded
/// start, on a date not recorded.
fn found_in_progress(id: &str, on: &str) -> JourneyEvent {
    event(
        id,
        CARE_FOUND_IN_PROGRESS,
        on,
        json!({"reason_new_episode": "P", "legal_status": "C2", "category_of_need": "N1",
            "placement": {"place_type": "U4", "provider": "PR1"}}),
    )
}

fn texts(reasons: &[Reason]) -> Vec<&str> {
    reasons.iter().map(|r| r.text.as_str()).collect()
}

/// Found in progress at 16 with 32 days recorded: the 13 weeks depend on the days before, which are not
/// recorded, so no category is given and an alert says why, citing the period found. Recorded as begun on
/// that day, the same history has no category.
#[test]
fn a_category_that_depends_on_care_before_a_period_found_in_progress_is_not_given() {
    let d = decide(
        "2008-03-15",
        "2024-06-01",
        vec![found_in_progress("cip", "2024-05-01")],
    );
    assert!(d.entitlements.is_empty() && d.deadlines.is_empty(), "{d:?}");
    assert_eq!(d.alerts.len(), 1, "{:?}", d.alerts);
    let alert = &d.alerts[0];
    assert_eq!(
        (alert.code.as_str(), alert.severity),
        ("care-leaver-category-unknown", Severity::Warning)
    );
    assert_eq!(
        texts(&alert.reasons)[1..],
        [
            "Looked after at least 32 days from the 14th birthday to 2024-06-01: eligible if the unrecorded days \
             bring it to 13 weeks (91 days)",
            "Care found in progress on 2024-05-01 (history imported from a return that begins mid-period) began \
             on a date not recorded: the days from 2022-03-15 to 2024-04-30 may have been looked after and are \
             not counted",
        ]
    );
    assert_eq!(alert.reasons[2].event_ids, ["cip"]);
    let d = decide(
        "2008-03-15",
        "2024-06-01",
        vec![placed("cip", "2024-05-01", "C2", "U4")],
    );
    assert_eq!(d.alerts[0].code, "no-care-leaver-category");
}

/// Found in progress at 15 and looked after since: 13 weeks are counted from the recorded start alone
/// (eligible on 9 April 2024, the 91st day), so the child is eligible, with "at least" days and eligible
/// from that day at the latest (from the 16th birthday if the days before were in care).
#[test]
fn a_period_found_in_progress_counts_its_recorded_days_as_at_least() {
    let d = decide(
        "2008-03-15",
        "2024-06-01",
        vec![found_in_progress("cip", "2024-01-10")],
    );
    assert_eq!(
        table(&d)[0],
        row("needs-assessment", "eligible", "2024-04-09", "2024-07-09")
    );
    let reasons = texts(&d.entitlements[0].reasons);
    assert!(
        reasons[1].starts_with("Looked after at least 144 days from the 14th birthday to 2024-06-01"),
        "{reasons:?}"
    );
    assert_eq!(
        reasons[2],
        "Eligible from 2024-04-09 at the latest: eligible earlier if enough of the unrecorded days were looked \
         after"
    );
    assert!(reasons[3].contains("the days from 2022-03-15 to 2024-01-09 may have been looked after"));
    assert_eq!(d.deadlines[0].status, DeadlineStatus::Open);
}

/// A period found in progress before the 14th birthday leaves nothing that counts unrecorded: the answer
/// is the one for a period recorded from its start.
#[test]
fn a_period_found_in_progress_before_the_14th_birthday_is_counted_as_recorded() {
    let found = decide(
        "2008-03-15",
        "2024-06-01",
        vec![found_in_progress("la", "2021-01-01")],
    );
    let recorded = decide(
        "2008-03-15",
        "2024-06-01",
        vec![placed("la", "2021-01-01", "C2", "U4")],
    );
    assert_eq!(found.entitlements, recorded.entitlements);
    assert_eq!(
        table(&found)[0],
        row("needs-assessment", "eligible", "2024-03-15", "2024-06-15")
    );
}

/// Found in progress at 16 and leaving care 60 days later: former relevant only if the days before were in
/// care, so, as far as the record shows, qualifying (looked after after 16), with a reason saying what
/// former relevant depends on.
#[test]
fn a_young_person_who_may_be_former_relevant_is_qualifying_saying_so() {
    let d = decide(
        "2005-05-20",
        "2024-01-10",
        vec![
            found_in_progress("cip", "2021-08-01"),
            ceased("ce", "2021-09-30", "E8"),
        ],
    );
    assert_eq!(
        table(&d),
        [
            row("advice-and-assistance", "qualifying", "2021-09-30", "2026-05-19"),
            row(
                "education-and-training-assistance",
                "qualifying",
                "2021-09-30",
                "2030-05-19"
            ),
        ]
    );
    let reasons = texts(&d.entitlements[0].reasons);
    assert_eq!(
        reasons[2],
        "Former relevant if the unrecorded days bring the days looked after from the 14th birthday to the day \
         before the 18th birthday (2023-05-19; at least 60 days counted) to 13 weeks (91 days)",
        "{reasons:?}"
    );
    assert!(
        reasons[3].starts_with("Care found in progress on 2021-08-01"),
        "{reasons:?}"
    );
}
