//! The retention reference policy end to end: journeys recorded in a store (so every event passes Journey's
//! validation) and judged in the sandbox, with the dates of `shared/domain/rules.md` §8 computed by hand.
//! Edges: a 29 February birthday in a common year, a death the day before and on the 18th birthday, an
//! adoption order early and late in childhood, a child not yet born, an open episode, and a correction that
//! changes the rule from when it is known.

use journey_core::NewEvent;
use journey_plugins::guests::RETENTION;
use journey_plugins::{Retention, RetentionStatus};
use serde_json::json;

use crate::support::{
    correction, decide, input_as_of, input_on, json_event, record, record_at, registration, ts,
};

fn looked_after(id: &str, on: &str) -> NewEvent {
    json_event(
        id,
        on,
        "BecameLookedAfter",
        json!({"legal_status": "C2", "category_of_need": "N1",
               "placement": {"place_type": "U4", "provider": "PR1"}}),
    )
}

fn ceased(id: &str, on: &str, reason: &str) -> NewEvent {
    json_event(id, on, "CeasedToBeLookedAfter", json!({"reason": reason}))
}

fn adopted(id: &str, on: &str) -> NewEvent {
    json_event(id, on, "CourtOrderMade", json!({"order": "adoption_order"}))
}

fn retention_on(events: Vec<NewEvent>, on: &str) -> Retention {
    let stream = record("T-RETENTION", events);
    decide(RETENTION, &input_on(&stream, on, ""))
        .retention
        .expect("a retention")
}

/// `(status, destroy_from, runs_from)`.
fn dates(r: &Retention) -> (RetentionStatus, String, String) {
    let show = |d: Option<journey_core::Date>| d.map(|d| d.to_string()).unwrap_or_default();
    (r.status, show(r.destroy_from), show(r.runs_from))
}

fn until(destroy_from: &str, runs_from: &str) -> (RetentionStatus, String, String) {
    (RetentionStatus::Until, destroy_from.into(), runs_from.into())
}

struct Case {
    what: &'static str,
    events: Vec<NewEvent>,
    on: &'static str,
    expect: (RetentionStatus, String, String),
    source: &'static str,
}

#[test]
fn the_statutory_rules_as_written() {
    let reg50 = "Care Planning, Placement and Case Review (England) Regulations 2010, regulation 50";
    let dair =
        "Disclosure of Adoption Information (Post-Commencement Adoptions) Regulations 2005, regulation 6";
    let cases = vec![
        Case {
            what: "looked after, born 29 February 2008: the 75th birthday is 28 February 2083",
            events: vec![
                registration("2008-02-29", json!({})),
                looked_after("la", "2012-05-01"),
            ],
            on: "2024-06-01",
            expect: until("2083-02-28", "2008-02-29"),
            source: reg50,
        },
        Case {
            what: "died the day before the 18th birthday (28 February 2026): 15 years from the death",
            events: vec![
                registration("2008-02-29", json!({})),
                looked_after("la", "2020-01-06"),
                ceased("ce", "2026-02-27", "E2"),
                json_event("died", "2026-02-27", "ChildDied", json!({})),
            ],
            on: "2026-06-01",
            expect: until("2041-02-27", "2026-02-27"),
            source: reg50,
        },
        Case {
            what: "died on the 18th birthday: not before 18, so the 75th birthday",
            events: vec![
                registration("2008-02-29", json!({})),
                looked_after("la", "2020-01-06"),
                ceased("ce", "2026-02-28", "E2"),
                json_event("died", "2026-02-28", "ChildDied", json!({})),
            ],
            on: "2026-06-01",
            expect: until("2083-02-28", "2008-02-29"),
            source: reg50,
        },
        Case {
            what: "adopted at 20 months: 100 years from the order",
            events: vec![
                registration("2019-03-01", json!({})),
                looked_after("la", "2019-03-11"),
                adopted("ao", "2020-11-20"),
                ceased("ce", "2020-11-20", "E11"),
            ],
            on: "2024-01-01",
            expect: until("2120-11-20", "2020-11-20"),
            source: dair,
        },
        Case {
            what: "adopted at 16, on 29 February 2024: 100 years on, 2124 is a leap year",
            events: vec![
                registration("2007-12-01", json!({})),
                looked_after("la", "2015-03-11"),
                adopted("ao", "2024-02-29"),
                ceased("ce", "2024-02-29", "E12"),
            ],
            on: "2024-06-01",
            expect: until("2124-02-29", "2024-02-29"),
            source: dair,
        },
        Case {
            what: "looked after and still in care with a child protection history: the last activity is unknown",
            events: vec![
                registration("2005-05-05", json!({})),
                json_event(
                    "cp",
                    "2010-01-04",
                    "ChildProtectionPlanStarted",
                    json!({"category": "NEG"}),
                ),
                json_event(
                    "cpe",
                    "2011-01-04",
                    "ChildProtectionPlanEnded",
                    json!({"reason": "became_looked_after"}),
                ),
                looked_after("la", "2011-01-04"),
            ],
            on: "2012-01-01",
            expect: (RetentionStatus::Undetermined, String::new(), String::new()),
            source: "Local retention schedule",
        },
    ];
    for case in cases {
        let r = retention_on(case.events, case.on);
        assert_eq!(dates(&r), case.expect, "{}: {r:#?}", case.what);
        assert!(r.source.starts_with(case.source), "{}: {}", case.what, r.source);
        assert!(
            r.reasons.iter().all(|x| !x.text.is_empty()) && !r.reasons[0].event_ids.is_empty(),
            "{}: {r:#?}",
            case.what
        );
    }
}

#[test]
fn a_child_not_yet_born_is_undetermined_citing_the_registration() {
    let events = vec![
        json_event(
            "reg",
            "2024-01-10",
            "ChildRegistered",
            json!({"expected_date_of_birth": "2024-05-01", "sex": "F"}),
        ),
        json_event("c-1", "2024-01-10", "ContactReceived", json!({"source": "1A"})),
    ];
    let r = retention_on(events, "2024-02-01");
    assert_eq!(r.status, RetentionStatus::Undetermined);
    assert!(r.reasons[1].text.contains("not yet born"), "{r:#?}");
    assert_eq!(r.reasons[1].event_ids, ["reg"]);
}

/// An end of care recorded as a return home and corrected a year later to an adoption: before the
/// correction is known the record is kept to the 75th birthday; from then, 100 years from the order, and a
/// replay as known before the correction still answers as it did.
#[test]
fn a_correction_changes_the_rule_from_when_it_is_known() {
    let stream = record_at(
        "T-CORRECTED",
        vec![
            (None, registration("2016-04-04", json!({}))),
            (None, looked_after("la", "2016-05-01")),
            (None, ceased("ce", "2018-09-30", "E4A")),
            (
                Some(ts("2019-10-01T10:00:00Z")),
                correction(
                    "fix",
                    "2019-10-01",
                    "ce",
                    "2018-09-30",
                    "CeasedToBeLookedAfter",
                    json!({"reason": "E11"}),
                ),
            ),
        ],
    );
    let before = decide(
        RETENTION,
        &input_as_of(&stream, "2019-06-01", "2019-06-01T00:00:00Z", ""),
    );
    let after = decide(
        RETENTION,
        &input_as_of(&stream, "2019-06-01", "2019-10-02T00:00:00Z", ""),
    );
    assert_eq!(
        dates(before.retention.as_ref().unwrap()),
        until("2091-04-04", "2016-04-04")
    );
    let after = after.retention.unwrap();
    assert_eq!(dates(&after), until("2118-09-30", "2018-09-30"));
    assert!(
        after.reasons[0].event_ids.contains(&"ce".to_string()),
        "{after:#?}"
    );
}
