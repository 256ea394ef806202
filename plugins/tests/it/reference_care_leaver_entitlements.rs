//! The care-leaver-entitlements reference policy end to end: looked-after histories recorded in a store and
//! judged in the sandbox, with the categories and dates computed by hand. Edges: exactly 13 weeks (91 days)
//! and a day short, a 29 February birthday, periods that touch the 14th and the 16th birthday, periods
//! adding up to 13 weeks, short breaks, a 16th birthday on a Saturday, a return home that lasts six months,
//! and a correction of when care began that changes the answer from when it is known.

use journey_core::NewEvent;
use journey_plugins::Decisions;
use journey_plugins::guests::CARE_LEAVER_ENTITLEMENTS;
use serde_json::json;

use crate::support::{
    correction, decide, input_as_of, input_on, json_event, record, record_at, registration, ts,
};

fn placed(id: &str, on: &str, legal_status: &str, place: &str) -> NewEvent {
    json_event(
        id,
        on,
        "BecameLookedAfter",
        json!({"legal_status": legal_status, "category_of_need": "N1",
               "placement": {"place_type": place, "provider": "PR1"}}),
    )
}

fn ceased(id: &str, on: &str, reason: &str) -> NewEvent {
    json_event(id, on, "CeasedToBeLookedAfter", json!({"reason": reason}))
}

/// `(category, first entitlement's start)`, or `("", "")` for no category.
fn category(d: &Decisions) -> (String, String) {
    d.entitlements
        .first()
        .map(|e| (e.category.clone().unwrap_or_default(), e.starts_on.to_string()))
        .unwrap_or_default()
}

struct Case {
    what: &'static str,
    born: &'static str,
    events: Vec<NewEvent>,
    on: &'static str,
    category: &'static str,
    since: &'static str,
}

#[test]
fn categories_counted_as_the_law_counts_them() {
    let cases = vec![
        Case {
            what: "29 February 2008: 1 December 2023 to 29 February 2024 is 91 days, eligible on the 16th birthday",
            born: "2008-02-29",
            events: vec![placed("la", "2023-12-01", "C2", "U4")],
            on: "2024-03-01",
            category: "eligible",
            since: "2024-02-29",
        },
        Case {
            what: "a day later into care: 90 days on the birthday, eligible the next day",
            born: "2008-02-29",
            events: vec![placed("la", "2023-12-02", "C2", "U4")],
            on: "2024-03-01",
            category: "eligible",
            since: "2024-03-01",
        },
        Case {
            what: "born 29 February 2008: 14 on 28 February 2022; care from 28 February 2022 to 30 May 2022 is \
                   91 days after 14, and it must end after 16: it did not",
            born: "2008-02-29",
            events: vec![
                placed("la", "2022-02-28", "V2", "U6"),
                ceased("ce", "2022-05-30", "E13"),
            ],
            on: "2024-06-01",
            category: "",
            since: "",
        },
        Case {
            what: "a period ending on the 14th birthday counts nothing; one from 1 June 2025 to the 16th birthday \
                   on Saturday 14 June 2025 is 14 days: not eligible",
            born: "2009-06-14",
            events: vec![
                placed("la1", "2022-06-01", "V2", "U6"),
                ceased("ce1", "2023-06-14", "E13"),
                placed("la2", "2025-06-01", "V2", "U6"),
            ],
            on: "2025-06-14",
            category: "",
            since: "",
        },
        Case {
            what: "periods adding up: 14 June to 20 July 2023 (37 days), 1 to 30 March 2024 (30 days), and 24 \
                   days from 22 May 2025: the 91st day is the 16th birthday, Saturday 14 June 2025",
            born: "2009-06-14",
            events: vec![
                placed("la1", "2023-06-14", "V2", "U6"),
                ceased("ce1", "2023-07-21", "E13"),
                placed("la2", "2024-03-01", "V2", "U6"),
                ceased("ce2", "2024-03-31", "E13"),
                placed("la3", "2025-05-22", "V2", "U6"),
            ],
            on: "2025-06-14",
            category: "eligible",
            since: "2025-06-14",
        },
        Case {
            what: "care ending on the 16th birthday did not end after it: no category (not even qualifying)",
            born: "2009-06-14",
            events: vec![
                placed("la", "2024-01-10", "V2", "U6"),
                ceased("ce", "2025-06-14", "E13"),
            ],
            on: "2025-07-01",
            category: "",
            since: "",
        },
        Case {
            what: "care ending the day after the 16th birthday: eligible on the birthday, so relevant from the end",
            born: "2009-06-14",
            events: vec![
                placed("la", "2024-01-10", "V2", "U6"),
                ceased("ce", "2025-06-15", "E13"),
            ],
            on: "2025-07-01",
            category: "relevant",
            since: "2025-06-14",
        },
        Case {
            what: "short breaks (V3) from 14 do not count; a single period (V2) from 1 May 2024 reaches 91 days on \
                   30 July 2024",
            born: "2007-06-01",
            events: vec![
                placed("sb", "2021-06-01", "V3", "U6"),
                json_event(
                    "ls",
                    "2024-05-01",
                    "LegalStatusChanged",
                    json!({"legal_status": "V2"}),
                ),
            ],
            on: "2024-07-30",
            category: "eligible",
            since: "2024-07-30",
        },
        Case {
            what: "the same on 29 July: 90 days",
            born: "2007-06-01",
            events: vec![
                placed("sb", "2021-06-01", "V3", "U6"),
                json_event(
                    "ls",
                    "2024-05-01",
                    "LegalStatusChanged",
                    json!({"legal_status": "V2"}),
                ),
            ],
            on: "2024-07-29",
            category: "",
            since: "",
        },
        Case {
            what: "home with a parent (E4A) for six months: no longer relevant, qualifying instead",
            born: "2008-02-29",
            events: vec![
                placed("la", "2023-12-01", "C2", "U4"),
                ceased("ce", "2024-09-01", "E4A"),
            ],
            on: "2025-03-01",
            category: "qualifying",
            since: "2024-09-01",
        },
        Case {
            what: "the day before the six months are up: still relevant",
            born: "2008-02-29",
            events: vec![
                placed("la", "2023-12-01", "C2", "U4"),
                ceased("ce", "2024-09-01", "E4A"),
            ],
            on: "2025-02-28",
            category: "relevant",
            since: "2024-02-29",
        },
        Case {
            what: "looked after at 18 having been eligible: former relevant at 20",
            born: "2004-10-02",
            events: vec![
                placed("la", "2019-01-07", "C2", "U4"),
                ceased("ce", "2022-10-02", "E17"),
            ],
            on: "2024-10-01",
            category: "former-relevant",
            since: "2020-10-02",
        },
        Case {
            what: "and at 25 nothing is left",
            born: "2004-10-02",
            events: vec![
                placed("la", "2019-01-07", "C2", "U4"),
                ceased("ce", "2022-10-02", "E17"),
            ],
            on: "2029-10-02",
            category: "",
            since: "",
        },
    ];
    for case in cases {
        let mut events = vec![registration(case.born, json!({}))];
        events.extend(case.events);
        let d = decide(
            CARE_LEAVER_ENTITLEMENTS,
            &input_on(&record("T-CL", events), case.on, ""),
        );
        assert_eq!(
            category(&d),
            (case.category.to_string(), case.since.to_string()),
            "{}",
            case.what
        );
        if case.category.is_empty() {
            assert_eq!(d.alerts[0].code, "no-care-leaver-category", "{}", case.what);
        }
    }
}

#[test]
fn entitlement_dates_for_a_former_relevant_young_person_in_staying_put() {
    // Born Saturday 2 October 2004; in foster care (U4) from 14 to 18: 16 on 2 October 2020, 18 on Sunday
    // 2 October 2022, 21 on 2 October 2025, 25 on 2 October 2029.
    let events = record(
        "T-SP",
        vec![
            registration("2004-10-02", json!({})),
            placed("la", "2019-01-07", "C2", "U4"),
            json_event(
                "na",
                "2020-11-30",
                "LeavingCareNeedsAssessmentCompleted",
                json!({}),
            ),
            ceased("ce", "2022-10-02", "E17"),
        ],
    );
    let d = decide(CARE_LEAVER_ENTITLEMENTS, &input_on(&events, "2023-01-15", ""));
    let got: Vec<(&str, String, String)> = d
        .entitlements
        .iter()
        .map(|e| {
            (
                e.name.as_str(),
                e.starts_on.to_string(),
                e.ends_on.map(|d| d.to_string()).unwrap_or_default(),
            )
        })
        .collect();
    let want = [
        ("needs-assessment", "2020-10-02", "2021-01-02"),
        ("pathway-plan", "2020-10-02", "2025-10-01"),
        ("personal-adviser", "2020-10-02", "2025-10-01"),
        ("personal-adviser-on-request", "2025-10-02", "2029-10-01"),
        ("staying-put", "2022-10-02", "2025-10-01"),
        ("higher-education-bursary", "2022-10-02", "2029-10-01"),
        ("setting-up-home-allowance", "2022-10-02", "2029-10-01"),
        ("council-tax-exemption", "2022-10-02", "2029-10-01"),
        ("health-passport", "2022-10-02", "2025-10-01"),
    ];
    let want: Vec<(&str, String, String)> = want
        .iter()
        .map(|(n, s, e)| (*n, s.to_string(), e.to_string()))
        .collect();
    assert_eq!(got, want);
    assert!(
        d.entitlements
            .iter()
            .all(|e| e.category.as_deref() == Some("former-relevant"))
    );
    // The assessment was done 30 November 2020, within 3 months of the 16th birthday.
    assert_eq!(d.deadlines[0].status, journey_plugins::DeadlineStatus::Met);
    // Every entitlement cites the period of care.
    assert!(
        d.entitlements
            .iter()
            .all(|e| e.reasons.iter().any(|r| r.event_ids.iter().any(|id| id == "la")))
    );
}

#[test]
fn a_personal_adviser_on_request_begins_no_earlier_than_april_2018() {
    // 21 on 5 May 2016: the on-request duty began on 1 April 2018 and runs to the day before 25.
    let events = record(
        "T-PA",
        vec![
            registration("1995-05-05", json!({})),
            placed("la", "2010-01-04", "C2", "U4"),
            ceased("ce", "2013-05-05", "E8"),
        ],
    );
    let d = decide(CARE_LEAVER_ENTITLEMENTS, &input_on(&events, "2018-06-01", ""));
    let pa = d
        .entitlements
        .iter()
        .find(|e| e.name == "personal-adviser-on-request")
        .unwrap();
    assert_eq!(
        (pa.starts_on.to_string(), pa.ends_on.unwrap().to_string()),
        ("2018-04-01".to_string(), "2020-05-04".to_string())
    );
    // Staying Put began on 13 May 2014, after this young person's 18th birthday: from then to 20.
    let sp = d.entitlements.iter().find(|e| e.name == "staying-put").unwrap();
    assert_eq!(
        (sp.starts_on.to_string(), sp.ends_on.unwrap().to_string()),
        ("2014-05-13".to_string(), "2016-05-04".to_string())
    );
}

#[test]
fn a_correction_of_when_care_began_changes_the_category_from_when_it_is_known() {
    // Recorded as looked after from 1 December 2023 (91 days by the 16th birthday on 29 February 2024); on
    // 10 March a correction says care began on 15 December: 77 days on the birthday, eligible from 14 March.
    let at = |s: &str| Some(ts(s));
    let placement = json!({"legal_status": "C2", "category_of_need": "N1",
                           "placement": {"place_type": "U4", "provider": "PR1"}});
    let events = record_at(
        "T-CORR",
        vec![
            (None, registration("2008-02-29", json!({}))),
            (None, placed("la", "2023-12-01", "C2", "U4")),
            (
                at("2024-03-10T09:00:00Z"),
                correction(
                    "x",
                    "2024-03-10",
                    "la",
                    "2023-12-15",
                    "BecameLookedAfter",
                    placement,
                ),
            ),
        ],
    );
    let on = |known_at: &str| {
        let d = decide(
            CARE_LEAVER_ENTITLEMENTS,
            &input_as_of(&events, "2024-03-09", known_at, ""),
        );
        category(&d)
    };
    assert_eq!(
        on("2024-03-09T23:00:00Z"),
        ("eligible".into(), "2024-02-29".into())
    );
    assert_eq!(
        on("2024-03-10T10:00:00Z"),
        (String::new(), String::new()),
        "86 days by 9 March"
    );
    let d = decide(CARE_LEAVER_ENTITLEMENTS, &input_on(&events, "2024-03-14", ""));
    assert_eq!(category(&d), ("eligible".into(), "2024-03-14".into()));
    // The corrected answer cites the correction as well as the event.
    assert!(
        d.entitlements[0]
            .reasons
            .iter()
            .any(|r| r.event_ids.iter().any(|id| id == "la"))
    );
}

/// Special guardianship counts under every code it had (issue 16): E43 and E44 up to 2017/18, E45-E48 from
/// 2018/19, each recorded on a date of its years and judged the same (qualifying from the 16th birthday).
/// A code dated outside its years is refused when it is recorded, naming the code, the date and the years,
/// so it never reaches a policy or a return.
#[test]
fn special_guardianship_under_the_codes_of_each_year() {
    for (reason, ended) in [
        ("E43", "2017-06-16"),
        ("E44", "2018-03-31"),
        ("E45", "2018-04-01"),
        ("E48", "2021-09-30"),
    ] {
        let events = record(
            &format!("T-SGO-{reason}"),
            vec![
                registration("2007-01-09", json!({})),
                placed("la", "2017-03-01", "C2", "U4"),
                ceased("ce", ended, reason),
            ],
        );
        let d = decide(CARE_LEAVER_ENTITLEMENTS, &input_on(&events, "2024-01-10", ""));
        assert_eq!(
            category(&d),
            ("qualifying".into(), "2023-01-09".into()),
            "{reason} on {ended}"
        );
    }
    let store = journey_core::store::InMemoryStore::new(journey_core::testkit::clock());
    let appended = futures::executor::block_on(journey_core::store::EventStore::append(
        &store,
        journey_core::store::AppendRequest {
            child_id: journey_core::testkit::child("T-SGO-EARLY"),
            expected: journey_core::ExpectedVersion::NoStream,
            recorded_by: journey_core::testkit::principal(),
            events: vec![
                registration("2007-01-09", json!({})),
                placed("la", "2017-03-01", "C2", "U4"),
                ceased("ce", "2018-03-31", "E45"),
            ],
        },
    ));
    let err = appended.expect_err("E45 before 2018/19 is refused").to_string();
    assert!(
        err.contains(
            "reason episode ceased code \"E45\" is not valid on 2018-03-31: it is in the DfE list from 2018/19 on"
        ),
        "{err}"
    );
}
