//! The levels-of-need reference policy end to end: journeys recorded in a store and judged in the sandbox,
//! with the levels worked out by hand from the default threshold document (`parameters.json`) and from
//! another area's. Edges: a 29 February birthday leaving the under-1 band on 28 February, factors leaving
//! the 12-month window on the day, services opening and closing, short breaks, and a correction and a
//! retraction that change the level from when they are known.

use journey_core::NewEvent;
use journey_plugins::guests::LEVELS_OF_NEED;
use journey_plugins::{Decisions, PolicyInput};
use serde_json::json;

use crate::support::{
    correction, decide, input_as_of, input_on, json_event, record, record_at, registration, retraction, ts,
};

fn contact(id: &str, at: &str, concerns: &[&str]) -> NewEvent {
    json_event(
        id,
        at,
        "ContactReceived",
        json!({"source": "2A", "concerns": concerns}),
    )
}

fn referral(id: &str, on: &str, no_further_action: bool) -> NewEvent {
    json_event(
        id,
        on,
        "ReferralReceived",
        json!({"source": "1B", "primary_need": "N1", "no_further_action": no_further_action}),
    )
}

fn closed(id: &str, on: &str) -> NewEvent {
    json_event(id, on, "ChildInNeedEpisodeClosed", json!({"reason": "RC8"}))
}

fn level(input: &PolicyInput) -> (u8, String, Decisions) {
    let d = decide(LEVELS_OF_NEED, input);
    let l = d.level_of_need.clone().expect("a level");
    (l.level, l.label, d)
}

/// (what, date of birth, events, evaluation date, level, the events the first reason cites)
type Case = (
    &'static str,
    &'static str,
    Vec<NewEvent>,
    &'static str,
    u8,
    Vec<&'static str>,
);

#[test]
fn levels_from_the_default_threshold_document() {
    let cases: Vec<Case> = vec![
        (
            "nothing recorded: universal",
            "2015-01-01",
            vec![],
            "2024-06-01",
            1,
            vec![],
        ),
        (
            "parental drug misuse (2B, level 3) for a baby born 29 February 2024: raised to 4 while under 1",
            "2024-02-29",
            vec![contact("c-1", "2024-03-01T10:00", &["2B"])],
            "2025-02-27",
            4,
            vec!["c-1"],
        ),
        (
            "the first birthday of a 29 February baby is 28 February 2025: level 3 from then",
            "2024-02-29",
            vec![contact("c-1", "2024-03-01T10:00", &["2B"])],
            "2025-02-28",
            3,
            vec!["c-1"],
        ),
        (
            "neglect (16A) recorded on 31 May 2023 counts on 30 May 2024",
            "2015-01-01",
            vec![contact("c-1", "2023-05-31T10:00", &["16A"])],
            "2024-05-30",
            3,
            vec!["c-1"],
        ),
        (
            "and is forgotten on 31 May 2024, twelve months on",
            "2015-01-01",
            vec![contact("c-1", "2023-05-31T10:00", &["16A"])],
            "2024-05-31",
            1,
            vec![],
        ),
        (
            "going missing (10A, level 3) for a 12-year-old is raised to 4",
            "2012-01-20",
            vec![contact("c-1", "2024-04-01T22:00", &["10A"])],
            "2024-04-02",
            4,
            vec!["c-1"],
        ),
        (
            "an open child protection plan is level 4, whatever the factors",
            "2015-01-01",
            vec![json_event(
                "cp",
                "2024-01-10",
                "ChildProtectionPlanStarted",
                json!({"category": "EMO"}),
            )],
            "2024-06-01",
            4,
            vec!["cp"],
        ),
        (
            "the plan ended with a step down to a child in need plan: level 3",
            "2015-01-01",
            vec![
                json_event(
                    "cp",
                    "2024-01-10",
                    "ChildProtectionPlanStarted",
                    json!({"category": "EMO"}),
                ),
                json_event(
                    "cpe",
                    "2024-05-01",
                    "ChildProtectionPlanEnded",
                    json!({"reason": "stepped_down_to_child_in_need"}),
                ),
                json_event("cin", "2024-05-01", "ChildInNeedPlanStarted", json!({})),
            ],
            "2024-06-01",
            3,
            vec!["cin"],
        ),
        (
            "a series of short breaks for a disabled child: level 3, then the disability (2)",
            "2012-03-03",
            vec![json_event(
                "sb",
                "2023-09-01",
                "BecameLookedAfter",
                json!({"legal_status": "V3", "category_of_need": "N2",
                       "placement": {"place_type": "U6", "provider": "PR1"}}),
            )],
            "2024-06-01",
            3,
            vec!["sb"],
        ),
        (
            "two referrals in twelve months (each closed with no further action): re-referral, level 3",
            "2015-01-01",
            vec![
                referral("r-1", "2023-07-03", true),
                closed("x-1", "2023-07-03"),
                referral("r-2", "2024-06-01", true),
                closed("x-2", "2024-06-01"),
            ],
            "2024-06-01",
            3,
            vec!["r-1", "r-2"],
        ),
        (
            "the first of them twelve months and a day before: not a re-referral",
            "2015-01-01",
            vec![
                referral("r-1", "2023-06-01", true),
                closed("x-1", "2023-06-01"),
                referral("r-2", "2024-06-01", true),
                closed("x-2", "2024-06-01"),
            ],
            "2024-06-01",
            1,
            vec![],
        ),
    ];
    for (what, born, events, on, want, ids) in cases {
        let data = if born == "2012-03-03" {
            json!({"disabilities": ["MOB"]})
        } else {
            json!({})
        };
        let mut stream = vec![registration(born, data)];
        stream.extend(events);
        let (got, _, d) = level(&input_on(&record("T-LON", stream), on, ""));
        assert_eq!(got, want, "{what}");
        let reasons = &d.level_of_need.unwrap().reasons;
        assert_eq!(reasons[0].event_ids, ids, "{what}: {:?}", reasons);
    }
}

#[test]
fn another_areas_document_is_a_parameter_file() {
    let events = record(
        "T-AREA",
        vec![
            registration("2013-05-05", json!({})),
            contact("c-1", "2024-03-01T10:00", &["3B", "4B"]),
            json_event(
                "d-1",
                "2024-03-01T15:00",
                "ContactDecided",
                json!({"contact_event_id": "c-1", "outcome": "early_help", "level_of_need": 2}),
            ),
        ],
    );
    let (l, label, d) = level(&input_on(&events, "2024-04-01", ""));
    assert_eq!(
        (l, label.as_str()),
        (3, "Targeted support (child in need)"),
        "3B is level 3 by default"
    );
    assert_eq!(d.alerts[0].code, "recorded-level-differs");
    // An area where domestic abuse against a parent is early help, and two factors are multiple needs.
    let reading = r#"{"labels": {"1": "Help for everyone", "2": "Additional", "3": "Intensive", "4": "Specialist"},
                      "factor_levels": {"3B": 2, "4B": 2}, "multiple_needs_factors": 2}"#;
    let (l, label, d) = level(&input_on(&events, "2024-04-01", reading));
    assert_eq!((l, label.as_str()), (3, "Intensive"));
    assert!(
        d.level_of_need.unwrap().reasons[0]
            .text
            .starts_with("Multiple needs: 2 factors")
    );
    let one_factor = r#"{"factor_levels": {"3B": 2, "4B": 2}, "multiple_needs_factors": 3}"#;
    let (l, _, d) = level(&input_on(&events, "2024-04-01", one_factor));
    assert_eq!(l, 2);
    assert!(d.alerts.is_empty(), "the recorded level agrees");
    // A wrong document is refused, naming the field.
    let host = crate::support::host();
    let policy = crate::support::load(host, LEVELS_OF_NEED);
    let err = host
        .evaluate(
            &policy,
            &input_on(&events, "2024-04-01", r#"{"age_bands": [{"name": "x"}]}"#),
        )
        .unwrap_err();
    assert!(err.to_string().contains("parameter `age_bands`"), "{err}");
}

#[test]
fn a_correction_and_a_retraction_change_the_level_from_when_they_are_known() {
    // A contact recorded with concerns of child sexual exploitation (11A, level 4) is corrected on 10 April
    // to parental mental health (4B, level 2); a second referral is retracted on 20 April (wrong child).
    let at = |s: &str| Some(ts(s));
    let events = record_at(
        "T-LON-CORR",
        vec![
            (None, registration("2010-08-08", json!({}))),
            (None, referral("r-1", "2023-11-06", true)),
            (None, closed("x-1", "2023-11-06")),
            (None, contact("c-1", "2024-04-02T11:00", &["11A"])),
            (None, referral("r-2", "2024-04-03", true)),
            (None, closed("x-2", "2024-04-03")),
            (
                at("2024-04-10T09:00:00Z"),
                correction(
                    "fix",
                    "2024-04-10",
                    "c-1",
                    "2024-04-02T11:00",
                    "ContactReceived",
                    json!({"source": "2A", "concerns": ["4B"]}),
                ),
            ),
            (
                at("2024-04-20T09:00:00Z"),
                retraction("undo", "2024-04-20", "r-2"),
            ),
        ],
    );
    let on = |known_at: &str| level(&input_as_of(&events, "2024-04-30", known_at, "")).0;
    assert_eq!(on("2024-04-05T00:00:00Z"), 4, "as first recorded: exploitation");
    assert_eq!(
        on("2024-04-11T00:00:00Z"),
        3,
        "corrected: mental health (2), but re-referred (3)"
    );
    assert_eq!(
        on("2024-04-21T00:00:00Z"),
        2,
        "the second referral withdrawn: early help"
    );
}
