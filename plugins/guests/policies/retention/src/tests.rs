//! The rules of `shared/domain/rules.md` §8 as written, with hand-computed dates (the same rules end to end
//! in the sandbox are in `plugins/tests/it/reference_retention.rs`).

use journey_policy_sdk::testing::{event, input};
use journey_policy_sdk::*;
use serde_json::json;

use super::RecordsRetention;

fn registered(dob: &str) -> JourneyEvent {
    event(
        "reg",
        "ChildRegistered",
        dob,
        json!({"date_of_birth": dob, "sex": "F"}),
    )
}

fn looked_after(id: &str, on: &str) -> JourneyEvent {
    event(
        id,
        "BecameLookedAfter",
        on,
        json!({"legal_status": "C2", "placement": {"place_type": "U4"}}),
    )
}

fn ceased(id: &str, on: &str, reason: &str) -> JourneyEvent {
    event(id, "CeasedToBeLookedAfter", on, json!({"reason": reason}))
}

fn adoption_order(id: &str, on: &str) -> JourneyEvent {
    event(id, "CourtOrderMade", on, json!({"order": "adoption_order"}))
}

fn died(on: &str) -> JourneyEvent {
    event("died", "ChildDied", on, json!({}))
}

fn retention_with(dob: Option<&str>, on: &str, parameters: &str, events: Vec<JourneyEvent>) -> Retention {
    let mut i = input(on, events);
    i.child.date_of_birth = dob.and_then(Date::parse);
    i.parameters = parameters.into();
    let decisions = RecordsRetention::evaluate(&i).unwrap();
    assert!(decisions.deadlines.is_empty() && decisions.alerts.is_empty());
    decisions.retention.expect("a retention")
}

fn retention(dob: &str, on: &str, events: Vec<JourneyEvent>) -> Retention {
    retention_with(Some(dob), on, "", events)
}

fn until(r: &Retention) -> (RetentionStatus, Option<String>, Option<String>) {
    (
        r.status,
        r.destroy_from.map(|d| d.to_string()),
        r.runs_from.map(|d| d.to_string()),
    )
}

fn kept(destroy_from: &str, runs_from: &str) -> (RetentionStatus, Option<String>, Option<String>) {
    (
        RetentionStatus::Until,
        Some(destroy_from.into()),
        Some(runs_from.into()),
    )
}

const UNDETERMINED: (RetentionStatus, Option<String>, Option<String>) =
    (RetentionStatus::Undetermined, None, None);

fn cited(r: &Retention) -> Vec<String> {
    r.reasons.iter().flat_map(|x| x.event_ids.clone()).collect()
}

#[test]
fn a_looked_after_childs_record_is_kept_to_the_75th_birthday_29_february_as_the_law_counts_it() {
    // Born 29 February 2008: the 75th birthday falls in 2083, a common year, on 28 February.
    let r = retention(
        "2008-02-29",
        "2024-06-01",
        vec![
            registered("2008-02-29"),
            looked_after("la", "2012-05-01"),
            ceased("ce", "2013-01-10", "E4A"),
        ],
    );
    assert_eq!(until(&r), kept("2083-02-28", "2008-02-29"));
    assert_eq!(r.source, super::LOOKED_AFTER_SOURCE);
    assert!(r.rule.contains("75th anniversary"), "{}", r.rule);
    assert_eq!(r.reasons[0].event_ids, ["la"]);
    assert_eq!(r.reasons[1].event_ids, ["reg"]);
    // 2079 is a common year too; a child born on 1 March is 75 on 1 March whatever the year.
    let r = retention(
        "2004-02-29",
        "2024-06-01",
        vec![registered("2004-02-29"), looked_after("la", "2010-05-01")],
    );
    assert_eq!(until(&r), kept("2079-02-28", "2004-02-29"));
    let r = retention(
        "2009-03-01",
        "2024-06-01",
        vec![registered("2009-03-01"), looked_after("la", "2010-05-01")],
    );
    assert_eq!(until(&r), kept("2084-03-01", "2009-03-01"));
}

#[test]
fn a_death_before_18_keeps_the_record_15_years_from_the_death_and_on_the_18th_birthday_it_does_not() {
    let events = |death: &str| {
        vec![
            registered("2008-02-29"),
            looked_after("la", "2012-05-01"),
            died(death),
        ]
    };
    // The 18th birthday of a child born 29 February 2008 is 28 February 2026.
    let r = retention("2008-02-29", "2026-06-01", events("2026-02-27"));
    assert_eq!(until(&r), kept("2041-02-27", "2026-02-27"));
    assert_eq!(r.reasons[1].event_ids, ["died"]);
    let r = retention("2008-02-29", "2026-06-01", events("2026-02-28"));
    assert_eq!(until(&r), kept("2083-02-28", "2008-02-29"));
    assert_eq!(r.reasons[1].event_ids, ["reg", "died"]);
    // A death at 30 of a young person who was looked after: the 75th birthday.
    let r = retention("1990-07-10", "2021-01-01", {
        vec![
            registered("1990-07-10"),
            looked_after("la", "2000-05-01"),
            ceased("ce", "2008-07-10", "E8"),
            died("2020-09-01"),
        ]
    });
    assert_eq!(until(&r), kept("2065-07-10", "1990-07-10"));
}

#[test]
fn an_adoption_order_keeps_the_record_100_years_from_the_order_early_or_late_in_childhood() {
    let adopted = |order: &str, dob: &str| {
        vec![
            registered(dob),
            looked_after("la", dob),
            adoption_order("ao", order),
            ceased("ce", order, "E11"),
        ]
    };
    // Adopted as a baby: 100 years from the order, well beyond the 75th birthday (2075-03-01).
    let r = retention("2000-03-01", "2024-01-01", adopted("2001-06-15", "2000-03-01"));
    assert_eq!(until(&r), kept("2101-06-15", "2001-06-15"));
    assert_eq!(r.source, super::ADOPTION_SOURCE);
    assert!(r.rule.contains("100 years"));
    assert_eq!(r.reasons[0].event_ids, ["ao", "ce"]);
    assert!(
        r.reasons[2].text.starts_with("Also considered") && r.reasons[2].text.contains("until 2075-03-01"),
        "{:?}",
        r.reasons
    );
    // Adopted at 17.
    let r = retention("2000-03-01", "2024-01-01", adopted("2017-12-20", "2000-03-01"));
    assert_eq!(until(&r), kept("2117-12-20", "2017-12-20"));
    // An order on 29 February: 2100 is a common year, 2124 a leap year.
    let r = retention("1999-01-01", "2024-06-01", adopted("2000-02-29", "1999-01-01"));
    assert_eq!(until(&r), kept("2100-02-28", "2000-02-29"));
    let r = retention("2023-01-01", "2024-06-01", adopted("2024-02-29", "2023-01-01"));
    assert_eq!(until(&r), kept("2124-02-29", "2024-02-29"));
}

#[test]
fn an_adoption_recorded_only_as_the_end_of_care_counts_from_that_day() {
    let r = retention(
        "2015-04-04",
        "2024-01-01",
        vec![
            registered("2015-04-04"),
            looked_after("la", "2016-01-01"),
            ceased("ce", "2018-09-30", "E12"),
        ],
    );
    assert_eq!(until(&r), kept("2118-09-30", "2018-09-30"));
    assert_eq!(r.reasons[0].event_ids, ["ce"]);
    // An order recorded on one day and care ended as adopted on a later one: the later keeps it longer.
    let r = retention(
        "2015-04-04",
        "2024-01-01",
        vec![
            registered("2015-04-04"),
            looked_after("la", "2016-01-01"),
            adoption_order("ao", "2018-09-01"),
            ceased("ce", "2018-09-30", "E12"),
        ],
    );
    assert_eq!(until(&r), kept("2118-09-30", "2018-09-30"));
    assert_eq!(r.reasons[0].event_ids, ["ao", "ce"]);
}

#[test]
fn an_adoption_in_progress_leaves_the_retention_undetermined_until_the_order_or_its_end() {
    let mut events = vec![
        registered("2019-05-05"),
        looked_after("la", "2020-01-01"),
        event("ad", "AdoptionDecisionMade", "2020-06-01", json!({})),
    ];
    let r = retention("2019-05-05", "2021-01-01", events.clone());
    assert_eq!(until(&r), UNDETERMINED);
    assert!(r.reasons[1].text.contains("No adoption order"), "{:?}", r.reasons);
    assert_eq!(r.reasons[1].event_ids, ["ad"]);
    events.push(event("pa", "PlacedForAdoption", "2020-09-01", json!({})));
    let r = retention("2019-05-05", "2021-01-01", events.clone());
    assert_eq!(until(&r), UNDETERMINED);
    assert_eq!(r.reasons[1].event_ids, ["pa"]);
    // The decision reversed and the placement ended: kept as the looked-after record.
    events.push(event(
        "pc",
        "PlacementForAdoptionCeased",
        "2021-02-01",
        json!({"reason": "disrupted"}),
    ));
    events.push(event("ar", "AdoptionDecisionReversed", "2021-02-01", json!({})));
    let r = retention("2019-05-05", "2021-03-01", events);
    assert_eq!(until(&r), kept("2094-05-05", "2019-05-05"));
}

#[test]
fn no_date_of_birth_or_an_unborn_child_is_undetermined_and_says_why() {
    let events = vec![
        event("reg", "ChildRegistered", "2024-01-10", json!({"sex": "F"})),
        looked_after("la", "2024-02-01"),
    ];
    let r = retention_with(None, "2024-03-01", "", events.clone());
    assert_eq!(until(&r), UNDETERMINED);
    assert!(r.reasons[1].text.contains("No date of birth"), "{:?}", r.reasons);
    assert_eq!(r.reasons[1].event_ids, ["reg"]);
    let mut i = input("2024-03-01", events);
    i.child.expected_date_of_birth = Date::parse("2024-05-01");
    let r = RecordsRetention::evaluate(&i).unwrap().retention.unwrap();
    assert!(r.reasons[1].text.contains("not yet born"), "{:?}", r.reasons);
}

#[test]
fn child_protection_is_kept_for_the_local_period_after_the_last_activity_and_undetermined_while_open() {
    let mut events = vec![
        registered("2010-01-01"),
        event("c1", "ContactReceived", "2015-03-02", json!({"source": "1A"})),
        event(
            "cp",
            "ChildProtectionPlanStarted",
            "2015-04-01",
            json!({"category": "neglect"}),
        ),
    ];
    let r = retention("2010-01-01", "2016-01-01", events.clone());
    assert_eq!(until(&r), UNDETERMINED);
    assert!(
        r.reasons[1]
            .text
            .contains("child protection plan opened on 2015-04-01")
    );
    assert_eq!(r.reasons[1].event_ids, ["cp"]);
    events.push(event("end", "ChildProtectionPlanEnded", "2016-02-03", json!({})));
    events.push(event("v", "ChildVisited", "2016-02-10", json!({})));
    let r = retention("2010-01-01", "2017-01-01", events.clone());
    // Blackpool's period by default: 35 years after the last activity.
    assert_eq!(until(&r), kept("2051-02-10", "2016-02-10"));
    assert_eq!(
        r.rule,
        "Keep the child protection record until 35 years after the last activity on it"
    );
    assert!(r.source.starts_with("Local retention schedule"));
    assert_eq!(r.reasons[1].event_ids, ["v"]);
    // Another authority: the 25th birthday.
    let r = retention_with(
        Some("2010-01-01"),
        "2017-01-01",
        r#"{"child_protection": {"from_birthday": 25, "from_last_activity": false, "years": 0, "source": "Exampleshire schedule 4.1"}}"#,
        events,
    );
    assert_eq!(until(&r), kept("2035-01-01", "2035-01-01"));
    assert_eq!(r.rule, "Keep the child protection record until the 25th birthday");
    assert_eq!(r.source, "Exampleshire schedule 4.1");
}

#[test]
fn a_child_in_need_is_kept_to_the_18th_birthday_plus_3_years_of_inactivity() {
    let events = vec![
        registered("2001-06-01"),
        event("r", "ReferralReceived", "2010-03-01", json!({})),
        event(
            "x",
            "ChildInNeedEpisodeClosed",
            "2011-03-01",
            json!({"reason": "RC1"}),
        ),
    ];
    let r = retention("2001-06-01", "2012-01-01", events.clone());
    assert_eq!(until(&r), kept("2022-06-01", "2019-06-01"));
    assert!(
        r.rule
            .contains("3 years after the later of the 18th birthday and the last activity")
    );
    // Activity after the 18th birthday moves it on.
    let mut later = events;
    later.push(event(
        "c",
        "ContactReceived",
        "2020-02-02",
        json!({"source": "1A"}),
    ));
    let r = retention("2001-06-01", "2021-01-01", later);
    assert_eq!(until(&r), kept("2023-02-02", "2020-02-02"));
    assert_eq!(r.reasons[1].event_ids, ["c"]);
    // An open episode leaves it undetermined.
    let r = retention(
        "2001-06-01",
        "2012-01-01",
        vec![
            registered("2001-06-01"),
            event("r", "ReferralReceived", "2011-03-01", json!({})),
        ],
    );
    assert_eq!(until(&r), UNDETERMINED);
}

#[test]
fn a_child_with_only_contacts_or_nothing_is_kept_for_the_local_contact_period() {
    let r = retention(
        "2015-09-09",
        "2020-01-01",
        vec![
            registered("2015-09-09"),
            event("c", "ContactReceived", "2019-02-01", json!({"source": "1A"})),
        ],
    );
    assert_eq!(until(&r), kept("2036-09-09", "2033-09-09"));
    assert!(r.rule.starts_with("Keep the contact and early help record"));
    assert_eq!(r.reasons[0].event_ids, ["c"]);
    let r = retention("2015-09-09", "2020-01-01", vec![registered("2015-09-09")]);
    assert_eq!(until(&r), kept("2036-09-09", "2033-09-09"));
    assert!(r.reasons[0].text.contains("No service is recorded"));
    assert_eq!(r.reasons[0].event_ids, ["reg"]);
}

#[test]
fn the_rule_that_keeps_longest_governs_and_an_undetermined_rule_makes_the_record_undetermined() {
    // Looked after and under protection: the 75th birthday keeps it longer than 35 years after 2012.
    let mut events = vec![
        registered("2005-05-05"),
        event(
            "cp",
            "ChildProtectionPlanStarted",
            "2010-01-01",
            json!({"category": "neglect"}),
        ),
        event("end", "ChildProtectionPlanEnded", "2010-08-01", json!({})),
        looked_after("la", "2011-01-01"),
    ];
    // In care now: the child protection period runs from an activity not yet known.
    let r = retention("2005-05-05", "2012-01-01", events.clone());
    assert_eq!(until(&r), UNDETERMINED);
    assert!(
        r.reasons[1].text.contains("period of care opened on 2011-01-01"),
        "{:?}",
        r.reasons
    );
    assert!(r.reasons[2].text.contains("until 2080-05-05"), "{:?}", r.reasons);
    events.push(ceased("ce", "2012-06-01", "E4A"));
    let r = retention("2005-05-05", "2013-01-01", events.clone());
    assert_eq!(until(&r), kept("2080-05-05", "2005-05-05"));
    assert!(r.reasons[2].text.contains("until 2047-06-01"), "{:?}", r.reasons);
    assert_eq!(cited(&r), ["la", "reg", "cp", "ce"]);
    // A local schedule that keeps child protection records for 80 years after the last activity governs.
    let r = retention_with(
        Some("2005-05-05"),
        "2013-01-01",
        r#"{"child_protection": {"from_birthday": null, "from_last_activity": true, "years": 80, "source": "Longshire"}}"#,
        events,
    );
    assert_eq!(until(&r), kept("2092-06-01", "2012-06-01"));
    assert_eq!(r.source, "Longshire");
}

#[test]
fn a_care_leaver_is_kept_75_years_from_birth_or_15_after_death() {
    let leaver = |death: Option<&str>| {
        let mut events = vec![
            registered("2000-01-15"),
            event("pp", "PathwayPlanStarted", "2016-02-01", json!({})),
        ];
        events.extend(death.map(died));
        events
    };
    let r = retention("2000-01-15", "2024-01-01", leaver(None));
    assert_eq!(until(&r), kept("2075-01-15", "2000-01-15"));
    assert_eq!(r.source, super::CARE_LEAVER_SOURCE);
    // With no looked-after history recorded, a care leaver who died at 22 is kept 15 years after the death.
    let r = retention("2000-01-15", "2024-01-01", leaver(Some("2022-03-03")));
    assert_eq!(until(&r), kept("2037-03-03", "2022-03-03"));
}

#[test]
fn a_death_settles_the_last_activity_even_with_an_episode_left_open() {
    let r = retention(
        "2012-12-12",
        "2020-01-01",
        vec![
            registered("2012-12-12"),
            event("eh", "EarlyHelpStarted", "2018-01-01", json!({})),
            died("2019-05-01"),
        ],
    );
    // Contacts and early help only: the later of the 18th birthday (2030-12-12) and the death, plus 3 years.
    assert_eq!(until(&r), kept("2033-12-12", "2030-12-12"));
}

#[test]
fn retracted_events_do_not_count() {
    let mut order = adoption_order("ao", "2010-01-01");
    order.status = EventStatus::Retracted;
    let r = retention(
        "2008-08-08",
        "2012-01-01",
        vec![
            registered("2008-08-08"),
            looked_after("la", "2009-01-01"),
            order,
            ceased("ce", "2010-01-01", "E4A"),
        ],
    );
    assert_eq!(until(&r), kept("2083-08-08", "2008-08-08"));
}

#[test]
fn wrong_parameters_are_refused_naming_the_field() {
    let refused = |parameters: &str| {
        let mut i = input("2020-01-01", vec![registered("2010-01-01")]);
        i.parameters = parameters.into();
        match RecordsRetention::evaluate(&i) {
            Err(PolicyError::InvalidParameters(m)) => m,
            other => panic!("{parameters}: {other:?}"),
        }
    };
    let m = refused(
        r#"{"child_in_need": {"from_birthday": null, "from_last_activity": false, "years": 3, "source": "x"}}"#,
    );
    assert!(m.starts_with("parameter `child_in_need`: must run from"), "{m}");
    let m = refused(
        r#"{"child_protection": {"from_birthday": 0, "from_last_activity": false, "years": 3, "source": "x"}}"#,
    );
    assert!(m.starts_with("parameter `child_protection.from_birthday`"), "{m}");
    let m = refused(
        r#"{"contact_and_early_help": {"from_birthday": 18, "from_last_activity": true, "years": 3, "source": " "}}"#,
    );
    assert!(m.starts_with("parameter `contact_and_early_help.source`"), "{m}");
    assert!(refused(r#"{"adoption_reasons": []}"#).starts_with("parameter `adoption_reasons`"));
    assert!(refused(r#"{"child_protection": 35}"#).starts_with("parameter `child_protection`"));
}

#[test]
fn the_same_input_decides_the_same() {
    let events = vec![registered("2008-02-29"), looked_after("la", "2012-05-01")];
    let a = retention("2008-02-29", "2024-06-01", events.clone());
    let b = retention("2008-02-29", "2024-06-01", events);
    assert_eq!(a, b);
}
