//! Native unit tests of the rules that are quickest to check by hand (the end-to-end tests in the sandbox
//! are in `plugins/tests/it/reference_statutory_timescales.rs`).

use journey_policy_sdk::testing::{event, input};
use journey_policy_sdk::*;
use serde_json::json;

use super::StatutoryTimescales;

fn deadlines(mut i: EvaluationInput, dob: &str) -> Vec<(String, String, DeadlineStatus, Option<u32>)> {
    i.child.date_of_birth = Date::parse(dob);
    StatutoryTimescales::evaluate(&i)
        .unwrap()
        .deadlines
        .into_iter()
        .map(|d| {
            (
                d.name,
                d.due_on.map(|d| d.to_string()).unwrap_or_default(),
                d.status,
                d.late_by.map(|l| l.amount),
            )
        })
        .collect()
}

fn row(
    name: &str,
    due: &str,
    status: DeadlineStatus,
    late: Option<u32>,
) -> (String, String, DeadlineStatus, Option<u32>) {
    (name.to_string(), due.to_string(), status, late)
}

use DeadlineStatus::{Met, Missed, Open};

#[test]
fn looked_after_reviews_and_health_assessments_of_a_toddler() {
    // Looked after from Monday 4 March 2024 (Easter and the May bank holiday inside the 20 working days).
    let placed = json!({"legal_status": "C1", "placement": {"place_type": "U6"}});
    let events = vec![
        event("la", "BecameLookedAfter", "2024-03-04", placed),
        event(
            "ha1",
            "HealthAssessmentCompleted",
            "2024-03-28",
            json!({"kind": "initial"}),
        ),
        event(
            "r1",
            "LookedAfterReviewHeld",
            "2024-04-02",
            json!({"participation": "PN0"}),
        ),
        event(
            "r2",
            "LookedAfterReviewHeld",
            "2024-07-03",
            json!({"participation": "PN0"}),
        ),
    ];
    let mut i = input("2024-12-31", events);
    i.parameters = r#"{"rules": ["looked-after-review", "health-assessment"]}"#.into();
    assert_eq!(
        deadlines(i, "2022-06-15"),
        [
            // 20 working days from 4 March, the day after it day 1 (CPPCR reg 33(1)): 5-8, 11-15, 18-22,
            // 25-28 March (then Good Friday and Easter Monday), 2 and 3 April: the 20th is 3 April.
            row("looked-after-review", "2024-04-03", Met, None),
            // Second within 3 months of 2 April: 2 July; held 3 July.
            row("looked-after-review", "2024-07-02", Missed, Some(1)),
            // Then 6 months after 3 July: 3 January 2025, open on 31 December.
            row("looked-after-review", "2025-01-03", Open, None),
            row("health-assessment", "2024-04-03", Met, None),
            // Under 5 at the initial assessment: review within 6 months, 28 September; not done.
            row("health-assessment", "2024-09-28", Missed, Some(94)),
        ]
    );
}

#[test]
fn a_return_interview_within_72_hours_of_a_return_in_the_evening() {
    let mut returned = event("m1e", "MissingEpisodeEnded", "2024-03-29", json!({}));
    returned.occurred_time = Some(TimeOfDay {
        hour: 22,
        minute: 0,
        second: 0,
    });
    let events = vec![
        event("m1", "MissingEpisodeStarted", "2024-03-28", json!({"kind": "M"})),
        returned,
        event("ri", "ReturnInterviewOffered", "2024-04-01", json!({})),
    ];
    let mut i = input("2024-04-30", events);
    i.parameters = r#"{"rules": ["return-interview"]}"#.into();
    let d = StatutoryTimescales::evaluate(&i).unwrap().deadlines;
    assert_eq!(d.len(), 1);
    // 22:00 GMT on 29 March + 72 hours = 22:00 UTC on 1 April = 23:00 BST on Monday 1 April.
    assert_eq!(d[0].due_on, Some(Date::ymd(2024, 4, 1)));
    assert_eq!(
        d[0].due_at,
        Some(Date::ymd(2024, 4, 1).days_since_epoch() * 86_400_000_000 + 22 * 3_600_000_000)
    );
    assert_eq!(d[0].status, Met);
}

#[test]
fn parameters_are_validated_and_name_the_field() {
    let i = |p: &str| {
        let mut i = input("2024-04-30", vec![]);
        i.parameters = p.into();
        StatutoryTimescales::evaluate(&i)
    };
    for (p, needle) in [
        (
            r#"{"counting": {"core-group": {"convention": "sideways", "source": "local"}}}"#,
            "parameter `counting`: unknown variant `sideways`",
        ),
        (
            r#"{"counting": {"visits": {"convention": "inclusive", "source": "local"}}}"#,
            "parameter `counting`: `visits` is not a rule in working days",
        ),
        (
            r#"{"counting": {"core-group": {"convention": "inclusive", "source": " "}}}"#,
            "parameter `counting`: `core-group`: say where the convention comes from",
        ),
        (
            r#"{"rules": ["visits"]}"#,
            "parameter `rules`: unknown rule `visits`",
        ),
        (
            r#"{"return_interview_hours": 0}"#,
            "parameter `return_interview_hours`: must be at least 1",
        ),
        (
            r#"{"return_interview_hours": "72"}"#,
            "parameter `return_interview_hours`: invalid type",
        ),
        (
            r#"{"return_interview_hour": 72}"#,
            "unknown field `return_interview_hour`",
        ),
        (r#"[]"#, "must be a JSON object"),
    ] {
        match i(p) {
            Err(PolicyError::InvalidParameters(m)) => assert!(m.contains(needle), "{p}: {m}"),
            other => panic!("{p}: {other:?}"),
        }
    }
    assert!(i("").is_ok());
    assert!(i(include_str!("../parameters.json")).is_ok());
}

#[test]
fn child_in_need_visits_over_christmas() {
    // A plan from Monday 2 December 2024: 20 working days from the day after, over Christmas, Boxing Day
    // and New Year's Day, end on Thursday 2 January. Seen on Friday 20 December; the next visit was due
    // Wednesday 22 January; not seen by Saturday 1 February, which counts as Monday 3 February: 8 working
    // days late (23, 24, 27-31 January and 3 February).
    let events = vec![
        event("cin", "ChildInNeedPlanStarted", "2024-12-02", json!({})),
        event(
            "v1",
            "ChildVisited",
            "2024-12-20",
            json!({"kind": "child_in_need", "seen": true}),
        ),
        event(
            "v2",
            "ChildVisited",
            "2025-01-10",
            json!({"kind": "child_in_need", "seen": false}),
        ),
    ];
    let mut i = input("2025-02-01", events);
    i.parameters = r#"{"rules": ["child-in-need-visit"]}"#.into();
    assert_eq!(
        deadlines(i, "2016-01-01"),
        [
            row("child-in-need-visit", "2025-01-02", Met, None),
            row("child-in-need-visit", "2025-01-22", Missed, Some(8)),
        ]
    );
}

/// "Within one working day" of a contact is the next working day (issue 16): a contact at 11:00 on
/// Wednesday 24 December 2025 (Christmas Eve) decided on Monday 29 December, the next working day after
/// Christmas Day, Boxing Day and the weekend, is on time; one on Friday 19 December decided on the 29th is
/// late by 3 working days (22, 23 and 24 December were due or working), not 10 calendar days. With the
/// DfE validators' counting given as a parameter instead, the Christmas Eve contact is due that day and
/// late by 1 working day.
#[test]
fn a_contact_decision_is_due_the_next_working_day() {
    let at = |id: &str, on: &str, hour: u8| {
        let mut e = event(id, "ContactReceived", on, json!({"source": "2A"}));
        e.occurred_time = Some(TimeOfDay {
            hour,
            minute: 0,
            second: 0,
        });
        e
    };
    let decided = |id: &str, on: &str, contact: &str| {
        event(
            id,
            "ContactDecided",
            on,
            json!({"contact_event_id": contact, "outcome": "no_further_action"}),
        )
    };
    let events = vec![
        at("c-1", "2025-12-17", 11),
        decided("d-1", "2025-12-18", "c-1"),
        at("c-2", "2025-12-19", 11),
        at("c-3", "2025-12-24", 11),
        decided("d-2", "2025-12-29", "c-2"),
        decided("d-3", "2025-12-29", "c-3"),
    ];
    let judged = |parameters: &str| {
        let mut i = input("2026-01-09", events.clone());
        i.parameters = parameters.into();
        let d = StatutoryTimescales::evaluate(&i).unwrap().deadlines;
        d.into_iter()
            .map(|d| {
                (
                    d.due_on.map(|d| d.to_string()).unwrap_or_default(),
                    d.status,
                    d.late_by,
                    d.counting,
                )
            })
            .collect::<Vec<_>>()
    };
    let wd = |n| Some(Lateness::new(n, TimeUnit::WorkingDays));
    let next_day = Some(Counting::Exclusive);
    assert_eq!(
        judged(r#"{"rules": ["contact-decision"]}"#),
        [
            // Wednesday 17 December: due Thursday 18, decided then.
            ("2025-12-18".to_string(), Met, None, next_day),
            // Friday 19 December: due Monday 22; decided Monday 29: 22 (due), 23, 24, 29.
            ("2025-12-22".to_string(), Missed, wd(3), next_day),
            // Christmas Eve: due Monday 29 December, decided then.
            ("2025-12-29".to_string(), Met, None, next_day),
        ]
    );
    let same_day = Some(Counting::Inclusive);
    assert_eq!(
        judged(
            r#"{"rules": ["contact-decision"], "counting": {"contact-decision":
                {"convention": "inclusive", "source": "our local procedure: the day it arrives"}}}"#
        ),
        [
            ("2025-12-17".to_string(), Missed, wd(1), same_day),
            ("2025-12-19".to_string(), Missed, wd(4), same_day),
            ("2025-12-24".to_string(), Missed, wd(1), same_day),
        ]
    );
}

/// A return interview is judged by instants when both the return and the interview have a time (issue 16):
/// back at 09:00 BST on Monday 10 June 2024, due at 09:00 on Thursday 13 June; held at 10:00 that day, 73
/// hours after the return, it is an hour late, though on the due date. Held at 09:00, it is on time. With no
/// time on the interview it is judged by date, and a reason says so.
#[test]
fn a_return_interview_is_judged_by_the_hour_when_both_times_are_known() {
    let timed = |mut e: JourneyEvent, hour: u8| {
        e.occurred_time = Some(TimeOfDay {
            hour,
            minute: 0,
            second: 0,
        });
        e
    };
    let judge = |interview: JourneyEvent| {
        let events = vec![
            timed(
                event("m1", "MissingEpisodeStarted", "2024-06-09", json!({"kind": "M"})),
                20,
            ),
            timed(event("m1e", "MissingEpisodeEnded", "2024-06-10", json!({})), 9),
            interview,
        ];
        let mut i = input("2024-06-30", events);
        i.parameters = r#"{"rules": ["return-interview"]}"#.into();
        let mut d = StatutoryTimescales::evaluate(&i).unwrap().deadlines;
        assert_eq!(d.len(), 1);
        d.remove(0)
    };
    let held = |hour: Option<u8>| {
        let e = event("ri", "ReturnInterviewHeld", "2024-06-13", json!({}));
        match hour {
            Some(h) => timed(e, h),
            None => e,
        }
    };
    // 09:00 BST is 08:00 UTC.
    let due_at = Date::ymd(2024, 6, 13).days_since_epoch() * 86_400_000_000 + 8 * 3_600_000_000;
    let late = judge(held(Some(10)));
    assert_eq!(
        (late.status, late.late_by, late.due_at, late.completed_at),
        (
            Missed,
            Some(Lateness::new(1, TimeUnit::Hours)),
            Some(due_at),
            Some(due_at + 3_600_000_000)
        )
    );
    assert_eq!(late.due_on, Some(Date::ymd(2024, 6, 13)));
    assert!(
        late.reasons[1]
            .text
            .contains("judged by the times recorded: due 2024-06-13 at 09:00"),
        "{:?}",
        late.reasons
    );
    let on_time = judge(held(Some(9)));
    assert_eq!((on_time.status, on_time.late_by), (Met, None));
    let by_date = judge(held(None));
    assert_eq!((by_date.status, by_date.late_by), (Met, None));
    assert!(
        by_date.reasons[1]
            .text
            .contains("judged by date, as the interview has no time recorded"),
        "{:?}",
        by_date.reasons
    );
}

/// A return interview that was held is described as held, not offered (issue 16: the timeline of a child
/// whose interview was held read "Return interview offered", the wording 1.0.1 gave either event), whether it
/// is judged by the times recorded or by date; one only offered is described as offered.
#[test]
fn a_return_interview_held_is_described_as_held_and_one_offered_as_offered() {
    let at_nine = |mut e: JourneyEvent| {
        e.occurred_time = Some(TimeOfDay {
            hour: 9,
            minute: 0,
            second: 0,
        });
        e
    };
    let reason = |interview: JourneyEvent| {
        let events = vec![
            event("m1", "MissingEpisodeStarted", "2024-06-09", json!({"kind": "M"})),
            at_nine(event("m1e", "MissingEpisodeEnded", "2024-06-10", json!({}))),
            interview,
        ];
        let mut i = input("2024-06-30", events);
        i.parameters = r#"{"rules": ["return-interview"]}"#.into();
        let d = StatutoryTimescales::evaluate(&i).unwrap().deadlines.remove(0);
        let cited: Vec<&Reason> = d.reasons.iter().filter(|r| r.event_ids == ["ri"]).collect();
        assert_eq!(cited.len(), 1, "{:?}", d.reasons);
        cited[0].text.clone()
    };
    for (kind, verb) in [
        ("ReturnInterviewHeld", "held"),
        ("ReturnInterviewOffered", "offered"),
    ] {
        let interview = || event("ri", kind, "2024-06-12", json!({}));
        for text in [reason(at_nine(interview())), reason(interview())] {
            assert!(
                text.starts_with(&format!("Return interview {verb} on 2024-06-12")),
                "{kind}: {text}"
            );
        }
    }
}

/// An assessment is judged by the date it was authorised, as the DfE measures it (issue 16): a referral on
/// Monday 1 December 2025 is due by Wednesday 4 February 2026 (45 working days, the referral day 1, over
/// Christmas Day, Boxing Day and New Year's Day); completed on Tuesday 3 February but authorised on
/// Thursday 5 February, it is a working day late, and a reason gives both dates. Judged on 4 February, it
/// was not yet authorised: still open.
#[test]
fn an_assessment_is_done_when_it_is_authorised() {
    let events = |authorised_on: Option<&str>| {
        let mut completed = json!({"factors": ["3B"]});
        if let Some(a) = authorised_on {
            completed["authorised_on"] = a.into();
        }
        vec![
            event(
                "ref",
                "ReferralReceived",
                "2025-12-01",
                json!({"source": "1B", "primary_need": "N1", "no_further_action": false}),
            ),
            event("as", "AssessmentStarted", "2025-12-02", json!({})),
            event("asc", "AssessmentCompleted", "2026-02-03", completed),
        ]
    };
    let judge = |authorised_on: Option<&str>, on: &str| {
        let mut i = input(on, events(authorised_on));
        i.parameters = r#"{"rules": ["assessment"]}"#.into();
        StatutoryTimescales::evaluate(&i).unwrap().deadlines.remove(0)
    };
    let late = judge(Some("2026-02-05"), "2026-03-31");
    assert_eq!(
        (late.due_on, late.status, late.completed_on, late.late_by),
        (
            Some(Date::ymd(2026, 2, 4)),
            Missed,
            Some(Date::ymd(2026, 2, 5)),
            Some(Lateness::new(1, TimeUnit::WorkingDays))
        )
    );
    assert!(
        late.reasons.iter().any(|r| r.text.contains(
            "Assessment completed on 2026-02-03, authorised on 2026-02-05: the DfE measures an assessment by the \
             date it was authorised"
        ) && r.event_ids == ["asc"]),
        "{:?}",
        late.reasons
    );
    let not_yet = judge(Some("2026-02-05"), "2026-02-04");
    assert_eq!((not_yet.status, not_yet.completed_on), (Open, None));
    let same_day = judge(None, "2026-03-31");
    assert_eq!(
        (same_day.status, same_day.completed_on),
        (Met, Some(Date::ymd(2026, 2, 3)))
    );
}
