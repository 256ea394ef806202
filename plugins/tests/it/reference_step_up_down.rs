//! The step-up-down reference policy end to end: journeys recorded in a store and judged in the sandbox,
//! each with the recommendation worked out by hand from the default protocol (`parameters.json`). Edges: a
//! re-referral twelve months after a 29 February referral, contacts at the edge of the six-month window, a
//! plan ended by a review conference before and after the child in need plan starts, and a correction of
//! why care ended that changes the answer from when it is known.

use journey_core::NewEvent;
use journey_plugins::guests::STEP_UP_DOWN;
use journey_plugins::{PolicyInput, Service, StepDirection};
use serde_json::json;

use crate::support::{
    correction, decide, input_as_of, input_on, json_event, record, record_at, registration, ts,
};

use Service::{ChildInNeed, ChildProtection, EarlyHelp, LookedAfter};
use StepDirection::{Close, Stay, StepDown, StepUp};

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

fn closed(id: &str, on: &str, reason: &str) -> NewEvent {
    json_event(id, on, "ChildInNeedEpisodeClosed", json!({"reason": reason}))
}

fn early_help(id: &str, on: &str) -> NewEvent {
    json_event(
        id,
        on,
        "EarlyHelpStarted",
        json!({"organisation": "Exampletown Family Hub"}),
    )
}

fn conference(id: &str, on: &str, kind: &str, outcome: &str) -> NewEvent {
    let mut data = json!({"kind": kind, "outcome": outcome,
                          "agencies": [{"agency": "police", "invited": true, "attended": true}]});
    if outcome == "plan_required" {
        data["category"] = "NEG".into();
    }
    json_event(id, on, "ChildProtectionConferenceHeld", data)
}

fn placed(id: &str, on: &str) -> NewEvent {
    json_event(
        id,
        on,
        "BecameLookedAfter",
        json!({"legal_status": "V2", "category_of_need": "N1",
               "placement": {"place_type": "U6", "provider": "PR1"}}),
    )
}

fn step(input: &PolicyInput) -> (Service, Service, StepDirection) {
    let s = decide(STEP_UP_DOWN, input).step.expect("a recommendation");
    (s.current, s.recommended, s.direction)
}

fn protection_journey() -> Vec<NewEvent> {
    vec![
        conference("icpc", "2024-01-10", "initial", "plan_required"),
        json_event(
            "cp",
            "2024-01-10",
            "ChildProtectionPlanStarted",
            json!({"category": "NEG", "conference_event_id": "icpc"}),
        ),
        conference("rcpc", "2024-04-09", "review", "plan_not_required"),
    ]
}

/// (what, events, evaluation date, (current, recommended, direction))
type Case = (
    &'static str,
    Vec<NewEvent>,
    &'static str,
    (Service, Service, StepDirection),
);

#[test]
fn recommendations_from_the_default_protocol() {
    let cases: Vec<Case> = vec![
        (
            "nothing open, nothing happening",
            vec![],
            "2024-06-01",
            (Service::None, Service::None, Stay),
        ),
        (
            "early help with two contacts: stay",
            vec![
                early_help("eh", "2024-01-08"),
                contact("c-1", "2024-02-05T09:00", &["4B"]),
                contact("c-2", "2024-03-11T09:00", &["4B"]),
            ],
            "2024-05-01",
            (EarlyHelp, EarlyHelp, Stay),
        ),
        (
            "a third contact: step up to child in need",
            vec![
                early_help("eh", "2024-01-08"),
                contact("c-1", "2024-02-05T09:00", &["4B"]),
                contact("c-2", "2024-03-11T09:00", &["4B"]),
                contact("c-3", "2024-04-30T09:00", &["7A"]),
            ],
            "2024-05-01",
            (EarlyHelp, ChildInNeed, StepUp),
        ),
        (
            "three contacts, but the first more than six months ago: stay",
            vec![
                early_help("eh", "2023-09-04"),
                contact("c-1", "2023-10-31T09:00", &["4B"]),
                contact("c-2", "2024-03-11T09:00", &["4B"]),
                contact("c-3", "2024-04-30T09:00", &["7A"]),
            ],
            "2024-05-01",
            (EarlyHelp, EarlyHelp, Stay),
        ),
        (
            "exploitation (24A) reported in early help: step up to child protection",
            vec![
                early_help("eh", "2024-01-08"),
                contact("c-1", "2024-04-30T21:00", &["24A"]),
            ],
            "2024-05-01",
            (EarlyHelp, ChildProtection, StepUp),
        ),
        (
            "the same after a strategy discussion was held: stay",
            vec![
                early_help("eh", "2024-01-08"),
                contact("c-1", "2024-04-30T21:00", &["24A"]),
                json_event(
                    "sd",
                    "2024-05-01T10:00",
                    "StrategyDiscussionHeld",
                    json!({"agencies": [{"agency": "police", "invited": true, "attended": true}],
                           "outcome": "section_47_enquiry"}),
                ),
            ],
            "2024-05-02",
            (EarlyHelp, EarlyHelp, Stay),
        ),
        (
            "a review conference decided the plan should end: step down to child in need",
            protection_journey(),
            "2024-04-10",
            (ChildProtection, ChildInNeed, StepDown),
        ),
        (
            "once the plan has ended and a child in need plan started: stay",
            [
                protection_journey(),
                vec![
                    json_event(
                        "cpe",
                        "2024-04-09",
                        "ChildProtectionPlanEnded",
                        json!({"reason": "stepped_down_to_child_in_need"}),
                    ),
                    json_event("cin", "2024-04-12", "ChildInNeedPlanStarted", json!({})),
                ],
            ]
            .concat(),
            "2024-04-15",
            (ChildInNeed, ChildInNeed, Stay),
        ),
        (
            "an assessment that found no need, with factors: step down to early help",
            vec![
                referral("r-1", "2024-03-04", false),
                json_event("as", "2024-03-05", "AssessmentStarted", json!({})),
                json_event(
                    "asc",
                    "2024-04-10",
                    "AssessmentCompleted",
                    json!({"factors": ["4B"], "requires_social_care_support": false}),
                ),
            ],
            "2024-04-11",
            (ChildInNeed, EarlyHelp, StepDown),
        ),
        (
            "and with no factors: close",
            vec![
                referral("r-1", "2024-03-04", false),
                json_event("as", "2024-03-05", "AssessmentStarted", json!({})),
                json_event(
                    "asc",
                    "2024-04-10",
                    "AssessmentCompleted",
                    json!({"factors": ["21"], "requires_social_care_support": false}),
                ),
            ],
            "2024-04-11",
            (ChildInNeed, Service::None, Close),
        ),
        (
            "closed after assessment and referred to early help (RC9), which has not started",
            vec![
                referral("r-1", "2024-03-04", false),
                json_event("as", "2024-03-05", "AssessmentStarted", json!({})),
                json_event(
                    "asc",
                    "2024-04-10",
                    "AssessmentCompleted",
                    json!({"factors": ["4B"], "requires_social_care_support": false}),
                ),
                closed("x", "2024-04-12", "RC9"),
            ],
            "2024-04-20",
            (Service::None, EarlyHelp, StepDown),
        ),
        (
            "looked after: stay",
            vec![placed("la", "2024-01-15")],
            "2024-06-01",
            (LookedAfter, LookedAfter, Stay),
        ),
    ];
    for (what, events, on, want) in cases {
        let mut stream = vec![registration("2014-02-14", json!({}))];
        stream.extend(events);
        assert_eq!(step(&input_on(&record("T-SUD", stream), on, "")), want, "{what}");
    }
}

#[test]
fn a_re_referral_twelve_months_after_29_february() {
    // Twelve months after 29 February 2024 is 28 February 2025.
    let journey = |second: &str| {
        record(
            "T-REREF",
            vec![
                registration("2012-09-09", json!({})),
                referral("r-1", "2024-02-29", true),
                closed("x-1", "2024-02-29", "RC8"),
                referral("r-2", second, true),
                closed("x-2", second, "RC8"),
            ],
        )
    };
    let events = journey("2025-02-28");
    let d = decide(STEP_UP_DOWN, &input_on(&events, "2025-03-03", ""));
    let s = d.step.unwrap();
    assert_eq!(
        (s.current, s.recommended, s.direction),
        (Service::None, ChildInNeed, StepUp)
    );
    assert_eq!(d.alerts[0].code, "re-referral-within-12-months");
    assert_eq!(d.alerts[0].reasons[0].event_ids, ["r-1", "r-2"]);
    let d = decide(STEP_UP_DOWN, &input_on(&journey("2025-03-01"), "2025-03-03", ""));
    assert!(d.alerts.is_empty());
    assert_eq!(d.step.unwrap().direction, Stay);
    // An area counting 18 months.
    let d = decide(
        STEP_UP_DOWN,
        &input_on(
            &journey("2025-03-01"),
            "2025-03-03",
            r#"{"re_referral_within_months": 18}"#,
        ),
    );
    assert_eq!(d.alerts.len(), 1);
}

#[test]
fn a_correction_of_why_care_ended_changes_the_recommendation_from_when_it_is_known() {
    // Care ended on 2 September 2024 recorded as a return home (E4A); a correction on 16 September says
    // the young person went to live with a relative without parental responsibility (E13).
    let at = |s: &str| Some(ts(s));
    let events = record_at(
        "T-SUD-CORR",
        vec![
            (None, registration("2011-04-04", json!({}))),
            (None, placed("la", "2024-01-15")),
            (
                None,
                json_event(
                    "ce",
                    "2024-09-02",
                    "CeasedToBeLookedAfter",
                    json!({"reason": "E4A"}),
                ),
            ),
            (
                at("2024-09-16T09:00:00Z"),
                correction(
                    "fix",
                    "2024-09-16",
                    "ce",
                    "2024-09-02",
                    "CeasedToBeLookedAfter",
                    json!({"reason": "E13"}),
                ),
            ),
        ],
    );
    let on = |known_at: &str| step(&input_as_of(&events, "2024-09-20", known_at, ""));
    assert_eq!(on("2024-09-10T00:00:00Z"), (Service::None, ChildInNeed, StepDown));
    assert_eq!(on("2024-09-17T00:00:00Z"), (Service::None, Service::None, Stay));
    // A local protocol that steps a return home down to early help instead.
    let early = r#"{"return_home_to": "early-help"}"#;
    let d = decide(
        STEP_UP_DOWN,
        &input_as_of(&events, "2024-09-20", "2024-09-10T00:00:00Z", early),
    );
    assert_eq!(d.step.unwrap().recommended, EarlyHelp);
}
