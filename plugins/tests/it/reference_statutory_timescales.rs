//! The statutory-timescales reference policy end to end: journeys recorded in a store, read through the
//! bitemporal view, evaluated in the sandbox, with due dates computed by hand (and checked against pandas'
//! `CustomBusinessDay` with the same holidays).
//!
//! The first tests (moved from the starter policy this one replaced) restrict the policy to its
//! front-door and conference rules with the `rules` parameter. Edges: a contact on a Saturday, the Easter
//! weekend, the May bank holiday, Christmas, both counting conventions, not-applicable rules, a correction
//! and a retraction that change the answer depending on what was known when, and the edition of Working
//! Together in force (a 2007 referral has a 10-working-day initial assessment). The later tests cover the
//! recurring timescales: review conferences, core groups, visits, looked-after reviews (and short breaks),
//! health assessments by age, return interviews in hours, and the adoption scorecard.

use journey_core::codes::{AbuseCategory, AssessmentFactor, CinClosureReason, PrimaryNeed, ReferralSource};
use journey_core::domain::lists::{
    ConferenceKind, ConferenceOutcome, ContactOutcome, PartnerAgency, RetractionReason, Section47Outcome,
    StrategyOutcome,
};
use journey_core::domain::{
    AgencyAttendance, AssessmentCompleted, AssessmentStarted, ChildInNeedEpisodeClosed,
    ChildProtectionConferenceHeld, ContactDecided, EventCorrected, EventPayload, EventRetracted, LongText,
    ReferralReceived, Section47Completed, Section47Started, StrategyDiscussionHeld, testkit_contact,
};
use journey_core::{NewEvent, OccurredAt, RecordedEvent, Timestamp, testkit};
use journey_plugins::guests::STATUTORY_TIMESCALES;
use journey_plugins::{Deadline, DeadlineStatus, PolicyInput};

use crate::support::{child_a, host, input_as_of, input_on, load, record, record_at, ts};

// ---------------------------------------------------------------------------------------------------------
// Building journeys
// ---------------------------------------------------------------------------------------------------------

fn ev(id: &str, at: &str, payload: impl Into<EventPayload>) -> NewEvent {
    testkit::event(id, at, payload.into())
}

fn registered() -> NewEvent {
    testkit::registered("reg", "2015-06-01")
}

fn contact(id: &str, at: &str) -> NewEvent {
    let on = OccurredAt::parse_field("at", at).unwrap().date();
    ev(id, at, testkit_contact(on))
}

fn decided(id: &str, at: &str, contact: &str) -> NewEvent {
    ev(id, at, decision(contact))
}

fn decision(contact: &str) -> ContactDecided {
    ContactDecided {
        contact_event_id: testkit::event_id(contact),
        outcome: ContactOutcome::ReferralToChildrensSocialCare,
        level_of_need: None,
        decided_by: None,
        rationale: None,
    }
}

fn referral(id: &str, on: &str, no_further_action: bool) -> NewEvent {
    ev(
        id,
        on,
        ReferralReceived {
            source: ReferralSource::R2A,
            primary_need: PrimaryNeed::N1,
            no_further_action,
            contact_event_id: None,
            referrer: None,
        },
    )
}

fn assessment_completed(id: &str, on: &str) -> NewEvent {
    ev(
        id,
        on,
        AssessmentCompleted {
            factors: vec![AssessmentFactor::F2B],
            authorised_on: None,
            child_seen: Some(true),
            requires_social_care_support: Some(true),
            primary_need: None,
        },
    )
}

fn police() -> Vec<AgencyAttendance> {
    vec![AgencyAttendance {
        agency: PartnerAgency::Police,
        invited: true,
        attended: true,
        report_submitted: None,
        professional: None,
    }]
}

fn strategy(id: &str, at: &str) -> NewEvent {
    ev(
        id,
        at,
        StrategyDiscussionHeld {
            agencies: police(),
            outcome: StrategyOutcome::Section47Enquiry,
            summary: None,
        },
    )
}

fn enquiry(id: &str, on: &str, strategy: Option<&str>) -> NewEvent {
    ev(
        id,
        on,
        Section47Started {
            strategy_discussion_event_id: strategy.map(testkit::event_id),
        },
    )
}

fn enquiry_done(id: &str, on: &str, outcome: Section47Outcome) -> NewEvent {
    ev(id, on, Section47Completed { outcome })
}

fn initial_conference(id: &str, on: &str) -> NewEvent {
    ev(
        id,
        on,
        ChildProtectionConferenceHeld {
            kind: ConferenceKind::Initial,
            outcome: ConferenceOutcome::PlanRequired,
            category: Some(AbuseCategory::NEG),
            agencies: police(),
            family: vec![],
            chair: None,
            quorate: None,
        },
    )
}

// ---------------------------------------------------------------------------------------------------------
// Checking answers
// ---------------------------------------------------------------------------------------------------------

/// One expected deadline: `(name, due date or "", status, how late ("1 working day"), completed on or "")`.
type Expected = (
    &'static str,
    &'static str,
    DeadlineStatus,
    Option<&'static str>,
    &'static str,
);

fn evaluate(input: &PolicyInput) -> Vec<Deadline> {
    let host = host();
    let policy = load(host, STATUTORY_TIMESCALES);
    let evaluation = host
        .evaluate(&policy, input)
        .unwrap_or_else(|e| panic!("evaluation failed: {e}"));
    assert!(
        evaluation.decisions.alerts.is_empty(),
        "{:?}",
        evaluation.decisions.alerts
    );
    evaluation.decisions.deadlines
}

type Got = (String, String, DeadlineStatus, Option<String>, String);

fn check(what: &str, input: &PolicyInput, expected: &[Expected]) {
    let got: Vec<Got> = evaluate(input)
        .into_iter()
        .map(|d| {
            let show = |d: Option<journey_core::Date>| d.map(|d| d.to_string()).unwrap_or_default();
            let late = d.lateness().map(|l| l.to_string());
            (d.name, show(d.due_on), d.status, late, show(d.completed_on))
        })
        .collect();
    let expected: Vec<Got> = expected
        .iter()
        .map(|(n, due, s, late, done)| {
            (
                n.to_string(),
                due.to_string(),
                *s,
                late.map(str::to_owned),
                done.to_string(),
            )
        })
        .collect();
    assert_eq!(got, expected, "{what}");
}

/// The front-door and conference rules, each counted as the shipped parameters say: a contact decision
/// by the next working day, the assessment and the initial conference as the DfE counts them (the first
/// day is day 1).
const DEFAULTS: &str =
    r#"{"rules": ["contact-decision", "assessment", "initial-child-protection-conference"]}"#;
/// The same rules, every one counted with the first day as day 1 (the DfE validators' convention).
const INCLUSIVE: &str = r#"{"rules": ["contact-decision", "assessment", "initial-child-protection-conference"],
    "counting": {
        "contact-decision": {"convention": "inclusive", "source": "the DfE validators"},
        "assessment": {"convention": "inclusive", "source": "the DfE validators"},
        "initial-child-protection-conference": {"convention": "inclusive", "source": "the DfE validators"}}}"#;
/// The same rules, every one counted from the day after.
const EXCLUSIVE: &str = r#"{"rules": ["contact-decision", "assessment", "initial-child-protection-conference"],
    "counting": {
        "contact-decision": {"convention": "exclusive", "source": "local"},
        "assessment": {"convention": "exclusive", "source": "local"},
        "initial-child-protection-conference": {"convention": "exclusive", "source": "local"}}}"#;

use DeadlineStatus::{Met, Missed, NotApplicable, Open};

// ---------------------------------------------------------------------------------------------------------
// The table
// ---------------------------------------------------------------------------------------------------------

/// Contacts on a Saturday and on the Thursday before Easter 2024 (Good Friday 29 March, Easter Monday
/// 1 April).
fn easter_contacts() -> Vec<RecordedEvent> {
    record(
        "T-EASTER",
        vec![
            registered(),
            contact("c-1", "2024-03-23T10:00"),
            decided("d-1", "2024-03-25T09:00", "c-1"),
            contact("c-2", "2024-03-28T15:00"),
            decided("d-2", "2024-04-02T11:00", "c-2"),
        ],
    )
}

/// A referral on Monday 4 March 2024, assessed by 9 May; a strategy discussion on Friday 19 April and a
/// conference on Friday 10 May, over the May Day bank holiday (6 May).
fn assessment_and_conference() -> Vec<RecordedEvent> {
    record(
        "T-MAY",
        vec![
            registered(),
            contact("c-1", "2024-03-04T09:30"),
            decided("d-1", "2024-03-04T16:00", "c-1"),
            referral("ref-1", "2024-03-04", false),
            ev("as-1", "2024-03-05", AssessmentStarted {}),
            strategy("sd-1", "2024-04-19T10:00"),
            enquiry("s47-1", "2024-04-19", Some("sd-1")),
            enquiry_done("s47-1c", "2024-05-03", Section47Outcome::ConferenceRequired),
            assessment_completed("as-1c", "2024-05-09"),
            initial_conference("icpc-1", "2024-05-10"),
        ],
    )
}

#[test]
fn contacts_over_a_weekend_and_easter() {
    let events = easter_contacts();
    let input = input_on(&events, "2024-04-30", INCLUSIVE);
    check(
        "inclusive: the Saturday rolls to Monday; the Thursday is its own due date",
        &input,
        &[
            ("contact-decision", "2024-03-25", Met, None, "2024-03-25"),
            // Decided on Tuesday 2 April: 5 calendar days, but the first working day after the due date.
            (
                "contact-decision",
                "2024-03-28",
                Missed,
                Some("1 working day"),
                "2024-04-02",
            ),
        ],
    );
    check(
        "by default, as exclusive: a decision within one working day is due the next working day",
        &input_on(&events, "2024-04-30", DEFAULTS),
        &[
            ("contact-decision", "2024-03-25", Met, None, "2024-03-25"),
            ("contact-decision", "2024-04-02", Met, None, "2024-04-02"),
        ],
    );
    check(
        "exclusive: the next working day after Thursday 28 March is Tuesday 2 April",
        &input_on(&events, "2024-04-30", EXCLUSIVE),
        &[
            ("contact-decision", "2024-03-25", Met, None, "2024-03-25"),
            ("contact-decision", "2024-04-02", Met, None, "2024-04-02"),
        ],
    );
    check(
        "on Good Friday, the second decision is not yet due (exclusive) and not yet in view",
        &input_on(&events, "2024-03-29", EXCLUSIVE),
        &[
            ("contact-decision", "2024-03-25", Met, None, "2024-03-25"),
            ("contact-decision", "2024-04-02", Open, None, ""),
        ],
    );
}

#[test]
fn assessment_and_initial_conference_over_the_may_bank_holiday() {
    let events = assessment_and_conference();
    check(
        "inclusive: assessment due 8 May (44 working days on), done a day late; ICPC due 10 May, met",
        &input_on(&events, "2024-06-01", INCLUSIVE),
        &[
            ("contact-decision", "2024-03-04", Met, None, "2024-03-04"),
            (
                "assessment",
                "2024-05-08",
                Missed,
                Some("1 working day"),
                "2024-05-09",
            ),
            (
                "initial-child-protection-conference",
                "2024-05-10",
                Met,
                None,
                "2024-05-10",
            ),
        ],
    );
    check(
        "exclusive: everything a working day later, all met",
        &input_on(&events, "2024-06-01", EXCLUSIVE),
        &[
            ("contact-decision", "2024-03-05", Met, None, "2024-03-04"),
            ("assessment", "2024-05-09", Met, None, "2024-05-09"),
            (
                "initial-child-protection-conference",
                "2024-05-13",
                Met,
                None,
                "2024-05-10",
            ),
        ],
    );
    check(
        "by default: the contact decision by the next working day, the assessment and conference as the DfE \
         counts them",
        &input_on(&events, "2024-06-01", DEFAULTS),
        &[
            ("contact-decision", "2024-03-05", Met, None, "2024-03-04"),
            (
                "assessment",
                "2024-05-08",
                Missed,
                Some("1 working day"),
                "2024-05-09",
            ),
            (
                "initial-child-protection-conference",
                "2024-05-10",
                Met,
                None,
                "2024-05-10",
            ),
        ],
    );
    check(
        "in April: the assessment is open, and no strategy discussion has happened yet",
        &input_on(&events, "2024-04-15", INCLUSIVE),
        &[
            ("contact-decision", "2024-03-04", Met, None, "2024-03-04"),
            ("assessment", "2024-05-08", Open, None, ""),
        ],
    );
    check(
        "on the due date itself, not done is still open",
        &input_on(&events, "2024-05-08", INCLUSIVE),
        &[
            ("contact-decision", "2024-03-04", Met, None, "2024-03-04"),
            ("assessment", "2024-05-08", Open, None, ""),
            (
                "initial-child-protection-conference",
                "2024-05-10",
                Open,
                None,
                "",
            ),
        ],
    );
    check(
        "on 9 May as known at noon (before the completion was recorded): missed, a day late so far",
        &input_as_of(&events, "2024-05-09", "2024-05-09T12:00:00Z", INCLUSIVE),
        &[
            ("contact-decision", "2024-03-04", Met, None, "2024-03-04"),
            ("assessment", "2024-05-08", Missed, Some("1 working day"), ""),
            (
                "initial-child-protection-conference",
                "2024-05-10",
                Open,
                None,
                "",
            ),
        ],
    );
}

/// One date everywhere (issue 16): the statutory-timescales policy judges an assessment by the date it was
/// authorised, the date the CIN census exports as `AssessmentAuthorisationDate`. Completed within the 45
/// working days (Tuesday 3 February 2026, due Wednesday 4 February for a referral on Monday 1 December 2025,
/// over Christmas and New Year) but authorised after them (Thursday 5 February): missed by a working day,
/// in the policy as in the census.
#[test]
fn an_assessment_is_judged_by_the_date_the_census_exports() {
    use journey_core::codes::CollectionYear;
    use journey_returns::cin::{self, CinOptions};
    let mut completed = assessment_completed("as-1c", "2026-02-03");
    if let EventPayload::AssessmentCompleted(a) = &mut completed.payload {
        a.authorised_on = Some(testkit::date("2026-02-05"));
    }
    let events = crate::support::record_late(
        "T-AUTH",
        30,
        vec![
            registered(),
            referral("ref-1", "2025-12-01", false),
            ev("as-1", "2025-12-02", AssessmentStarted {}),
            completed,
        ],
    );
    check(
        "authorised a day after the due date",
        &input_on(&events, "2026-03-31", DEFAULTS),
        &[(
            "assessment",
            "2026-02-04",
            Missed,
            Some("1 working day"),
            "2026-02-05",
        )],
    );
    let known_at = ts("2026-06-30T12:00:00Z");
    let options = CinOptions {
        year: CollectionYear::parse("2025/26").unwrap(),
        known_at,
        la_code: "999".into(),
        produced_at: known_at,
        bank_holidays: &journey_plugins::Calendar::england_and_wales().bank_holidays,
    };
    let census = cin::child_in_year(
        Some(testkit::child("T-AUTH")),
        cin::in_force(&events, known_at),
        &options,
    )
    .expect("the child is in the 2025/26 census");
    let exported = census.episodes[0].assessments[0].authorised;
    let judged = evaluate(&input_on(&events, "2026-03-31", DEFAULTS))[0].completed_on;
    assert_eq!(exported, Some(testkit::date("2026-02-05")));
    assert_eq!(judged, exported, "the policy and the census use one date");
}

#[test]
fn timescales_that_do_not_apply() {
    let no_further_action = record("T-NFA", vec![registered(), referral("ref-1", "2024-06-03", true)]);
    check(
        "a referral closed with no further action needs no assessment",
        &input_on(&no_further_action, "2024-09-01", INCLUSIVE),
        &[("assessment", "", NotApplicable, None, "")],
    );
    let unsubstantiated = record(
        "T-UNSUB",
        vec![
            registered(),
            referral("ref-1", "2024-06-03", false),
            strategy("sd-1", "2024-06-05T14:00"),
            // No strategy discussion named: the latest one held on or before the enquiry is used.
            enquiry("s47-1", "2024-06-05", None),
            enquiry_done("s47-1c", "2024-06-20", Section47Outcome::NotSubstantiated),
            ev(
                "close-1",
                "2024-06-28",
                ChildInNeedEpisodeClosed {
                    reason: CinClosureReason::RC8,
                    detail: None,
                },
            ),
        ],
    );
    check(
        "an episode closed without an assessment, after an enquiry that found nothing",
        &input_on(&unsubstantiated, "2024-09-01", INCLUSIVE),
        &[
            ("assessment", "", NotApplicable, None, ""),
            ("initial-child-protection-conference", "", NotApplicable, None, ""),
        ],
    );
    let deadlines = evaluate(&input_on(&unsubstantiated, "2024-09-01", INCLUSIVE));
    let icpc = &deadlines[1];
    assert_eq!(icpc.starts_on.unwrap().to_string(), "2024-06-05");
    assert_eq!(icpc.reasons[0].event_ids, ["sd-1", "s47-1"]);
    assert_eq!(icpc.reasons[1].event_ids, ["s47-1c"]);
}

#[test]
fn a_correction_and_a_retraction_change_the_answer_from_when_they_are_known() {
    // A Friday contact before Christmas 2024, decided the same day; a correction recorded on 10 January
    // says the decision was really made on 27 December; a retraction on 20 January withdraws it.
    let correction = EventCorrected {
        target_event_id: testkit::event_id("d-1"),
        target_occurred_at: Some(OccurredAt::parse_field("at", "2024-12-27T09:00").unwrap()),
        replacement: Box::new(decision("c-1").into()),
        reason: LongText::parse("The decision was recorded against the wrong date.").unwrap(),
    };
    let retraction = EventRetracted {
        target_event_id: testkit::event_id("d-1"),
        reason: RetractionReason::EnteredInError,
        detail: None,
    };
    let at = |s: &str| Some(ts(s));
    let events = record_at(
        "T-XMAS",
        vec![
            (None, registered()),
            (None, contact("c-1", "2024-12-20T10:00")),
            (None, decided("d-1", "2024-12-20T15:00", "c-1")),
            (at("2025-01-10T09:00:00Z"), ev("x-1", "2025-01-10", correction)),
            (at("2025-01-20T09:00:00Z"), ev("r-1", "2025-01-20", retraction)),
        ],
    );
    let on = |known_at: &str| input_as_of(&events, "2025-01-31", known_at, INCLUSIVE);
    check(
        "as first recorded: decided the same day",
        &on("2025-01-05T00:00:00Z"),
        &[("contact-decision", "2024-12-20", Met, None, "2024-12-20")],
    );
    check(
        "once the correction is known: decided a week late, 3 working days (23, 24 and 27 December)",
        &on("2025-01-11T00:00:00Z"),
        &[(
            "contact-decision",
            "2024-12-20",
            Missed,
            Some("3 working days"),
            "2024-12-27",
        )],
    );
    check(
        "once the decision is retracted: never decided, 27 working days late by Friday 31 January",
        &on("2025-01-21T00:00:00Z"),
        &[(
            "contact-decision",
            "2024-12-20",
            Missed,
            Some("27 working days"),
            "",
        )],
    );
    // The corrected answer cites the event it rests on; the amendment ids may be cited too.
    let corrected = on("2025-01-11T00:00:00Z");
    assert_eq!(
        corrected
            .events
            .iter()
            .find(|e| e.event_id.as_str() == "d-1")
            .unwrap()
            .amended_by
            .len(),
        1
    );
    let _: Timestamp = corrected.known_at;
}

#[test]
fn child_a_from_the_example_streams() {
    let events = child_a();
    // The referral of Thursday 4 October 2007 falls under Working Together 2010's numbers (the default
    // edition before 15 April 2013): an initial assessment within 10 working days, due Wednesday 17
    // October (inclusive), completed on 10 November and authorised on 14 November.
    check(
        "inclusive (the DfE validators' counting): three deadlines missed by a working day; the assessment, \
         completed on Saturday 10 November and authorised on Wednesday 14 November (the date the DfE measures \
         it by), by 20",
        &input_on(&events, "2008-01-01", INCLUSIVE),
        &[
            (
                "contact-decision",
                "2007-08-01",
                Missed,
                Some("1 working day"),
                "2007-08-02",
            ),
            (
                "contact-decision",
                "2007-10-03",
                Missed,
                Some("1 working day"),
                "2007-10-04",
            ),
            (
                "initial-assessment",
                "2007-10-17",
                Missed,
                Some("20 working days"),
                "2007-11-14",
            ),
            (
                "initial-child-protection-conference",
                "2007-10-30",
                Missed,
                Some("1 working day"),
                "2007-10-31",
            ),
        ],
    );
    check(
        "exclusive: all met but the initial assessment",
        &input_on(&events, "2008-01-01", EXCLUSIVE),
        &[
            ("contact-decision", "2007-08-02", Met, None, "2007-08-02"),
            ("contact-decision", "2007-10-04", Met, None, "2007-10-04"),
            (
                "initial-assessment",
                "2007-10-18",
                Missed,
                Some("19 working days"),
                "2007-11-14",
            ),
            (
                "initial-child-protection-conference",
                "2007-10-31",
                Met,
                None,
                "2007-10-31",
            ),
        ],
    );
    // Every reason cites events of the input.
    let input = input_on(&events, "2008-01-01", INCLUSIVE);
    for d in evaluate(&input) {
        assert!(!d.reasons.is_empty(), "{}", d.name);
        assert!(
            !d.reasons[0].event_ids.is_empty(),
            "{}: the clock's start is cited",
            d.name
        );
    }
}

#[test]
fn bad_parameters_are_refused_by_the_policy() {
    let host = host();
    let policy = load(host, STATUTORY_TIMESCALES);
    for (parameters, needle) in [
        (
            r#"{"counting": {"assessment": {"convention": "sideways", "source": "local"}}}"#,
            "unknown variant `sideways`",
        ),
        (
            r#"{"child_protection_visit_working_days": 0}"#,
            "parameter `child_protection_visit_working_days`: must be at least 1",
        ),
        (
            r#"{"rules": ["assessments"]}"#,
            "parameter `rules`: unknown rule `assessments`",
        ),
        (
            r#"{"asessment_working_days": 45}"#,
            "unknown field `asessment_working_days`",
        ),
    ] {
        let err = host
            .evaluate(&policy, &input_on(&child_a(), "2008-01-01", parameters))
            .unwrap_err();
        assert!(err.to_string().contains(needle), "{parameters}: {err}");
    }
}

// ---------------------------------------------------------------------------------------------------------
// The recurring timescales, with every rule on (the default parameters)
// ---------------------------------------------------------------------------------------------------------

mod recurring {
    use journey_core::NewEvent;
    use journey_plugins::DeadlineStatus::{self, Met, Missed, NotApplicable, Open};
    use journey_plugins::guests::STATUTORY_TIMESCALES;
    use journey_plugins::{Deadline, PolicyInput};
    use serde_json::json;

    use crate::support::{
        correction, decide, input_as_of, input_on, json_event, record, record_at, registration, ts,
    };

    /// `(name, starts on, due on, status, how late)`.
    type Row = (String, String, String, DeadlineStatus, Option<String>);

    fn rows(deadlines: &[Deadline]) -> Vec<Row> {
        let show = |d: Option<journey_core::Date>| d.map(|d| d.to_string()).unwrap_or_default();
        deadlines
            .iter()
            .map(|d| {
                (
                    d.name.clone(),
                    show(d.starts_on),
                    show(d.due_on),
                    d.status,
                    d.lateness().map(|l| l.to_string()),
                )
            })
            .collect()
    }

    fn row(name: &str, starts: &str, due: &str, status: DeadlineStatus, late: Option<&str>) -> Row {
        (
            name.into(),
            starts.into(),
            due.into(),
            status,
            late.map(str::to_owned),
        )
    }

    fn judge(input: &PolicyInput) -> Vec<Row> {
        rows(&decide(STATUTORY_TIMESCALES, input).deadlines)
    }

    fn placed(id: &str, on: &str, legal_status: &str, place: &str) -> NewEvent {
        json_event(
            id,
            on,
            "BecameLookedAfter",
            json!({"legal_status": legal_status, "category_of_need": "N1",
                   "placement": {"place_type": place, "provider": "PR1"}}),
        )
    }

    fn conference(id: &str, on: &str, kind: &str, outcome: &str) -> NewEvent {
        let mut data = json!({"kind": kind, "outcome": outcome,
                              "agencies": [{"agency": "police", "invited": true, "attended": true}]});
        if outcome == "plan_required" {
            data["category"] = "PHY".into();
        }
        json_event(id, on, "ChildProtectionConferenceHeld", data)
    }

    fn visit(id: &str, on: &str, kind: &str, seen: bool) -> NewEvent {
        json_event(id, on, "ChildVisited", json!({"kind": kind, "seen": seen}))
    }

    #[test]
    fn a_child_protection_plan_reviews_core_group_and_visits() {
        // Initial conference Tuesday 3 September 2024; plan until a review on 3 March 2025 ends it.
        let events = record(
            "T-CP",
            vec![
                registration("2016-05-05", json!({})),
                conference("icpc", "2024-09-03", "initial", "plan_required"),
                json_event(
                    "cp",
                    "2024-09-03",
                    "ChildProtectionPlanStarted",
                    json!({"category": "PHY", "conference_event_id": "icpc"}),
                ),
                json_event(
                    "cg",
                    "2024-09-16",
                    "CoreGroupMet",
                    json!({"agencies": [{"agency": "police", "invited": true, "attended": true}]}),
                ),
                visit("v1", "2024-09-10", "child_protection", true),
                // Not seen: does not count.
                visit("v2", "2024-09-20", "child_protection", false),
                visit("v3", "2024-09-24", "child_protection", true),
                conference("rc1", "2024-12-04", "review", "plan_required"),
                conference("rc2", "2025-03-03", "review", "plan_not_required"),
                json_event(
                    "cpe",
                    "2025-03-03",
                    "ChildProtectionPlanEnded",
                    json!({"reason": "stepped_down_to_child_in_need"}),
                ),
            ],
        );
        let only =
            r#"{"rules": ["core-group", "review-child-protection-conference", "child-protection-visit"]}"#;
        let got = judge(&input_on(&events, "2024-10-31", only));
        assert_eq!(
            got,
            [
                // 10 working days from Tuesday 3 September, the day after it day 1: 4-6, 9-13, 16 and 17
                // September. Met on the 16th.
                row("core-group", "2024-09-03", "2024-09-17", Met, None),
                row(
                    "review-child-protection-conference",
                    "2024-09-03",
                    "2024-12-03",
                    Open,
                    None
                ),
                row("child-protection-visit", "2024-09-03", "2024-09-17", Met, None),
                // From Tuesday 10 September: 11-13, 16-20, 23 and 24 September; seen on the 24th.
                row("child-protection-visit", "2024-09-10", "2024-09-24", Met, None),
                // From 24 September: Tuesday 8 October; none since, 17 working days late on Thursday 31
                // October (9-11, 14-18, 21-25, 28-31 October).
                row(
                    "child-protection-visit",
                    "2024-09-24",
                    "2024-10-08",
                    Missed,
                    Some("17 working days")
                ),
            ]
        );
        let got = judge(&input_on(&events, "2025-06-01", only));
        let reviews: Vec<&Row> = got
            .iter()
            .filter(|r| r.0 == "review-child-protection-conference")
            .collect();
        assert_eq!(
            reviews,
            [
                // 3 months after 3 September is 3 December; held 4 December.
                &row(
                    "review-child-protection-conference",
                    "2024-09-03",
                    "2024-12-03",
                    Missed,
                    Some("1 day")
                ),
                // 6 months after 4 December is 4 June 2025; the plan ended at the review of 3 March.
                &row(
                    "review-child-protection-conference",
                    "2024-12-04",
                    "2025-06-04",
                    Met,
                    None
                ),
            ]
        );
        // The visits stop with the plan: the last one missed is late only until the plan ended.
        let last_visit = got
            .iter()
            .rev()
            .find(|r| r.0 == "child-protection-visit")
            .unwrap();
        assert_eq!(
            last_visit,
            &row(
                "child-protection-visit",
                "2024-09-24",
                "2024-10-08",
                Missed,
                Some("101 working days")
            )
        );
    }

    #[test]
    fn looked_after_reviews_short_breaks_and_health_assessments_around_the_5th_birthday() {
        // Born Friday 12 April 2019 (5 on Friday 12 April 2024). Looked after from Thursday 28 March 2024,
        // the day before Good Friday: 20 working days from the day after (over Easter: 2-5, 8-12, 15-19,
        // 22-26 and 29 April) end on Monday 29 April, when the review was held.
        let events = record(
            "T-LAC",
            vec![
                registration("2019-04-12", json!({})),
                placed("la", "2024-03-28", "C1", "U6"),
                json_event(
                    "ha1",
                    "2024-04-11",
                    "HealthAssessmentCompleted",
                    json!({"kind": "initial"}),
                ),
                json_event(
                    "r1",
                    "2024-04-29",
                    "LookedAfterReviewHeld",
                    json!({"participation": "PN0"}),
                ),
            ],
        );
        let only = r#"{"rules": ["looked-after-review", "health-assessment"]}"#;
        assert_eq!(
            judge(&input_on(&events, "2024-06-01", only)),
            [
                row("looked-after-review", "2024-03-28", "2024-04-29", Met, None),
                row("looked-after-review", "2024-04-29", "2024-07-29", Open, None),
                row("health-assessment", "2024-03-28", "2024-04-29", Met, None),
                // Assessed on 11 April, aged 4: the review is due within 6 months.
                row("health-assessment", "2024-04-11", "2024-10-11", Open, None),
            ]
        );
        // Assessed a day later, on the 5th birthday: within 12 months.
        let events = record(
            "T-LAC5",
            vec![
                registration("2019-04-12", json!({})),
                placed("la", "2024-03-28", "C1", "U6"),
                json_event(
                    "ha1",
                    "2024-04-12",
                    "HealthAssessmentCompleted",
                    json!({"kind": "initial"}),
                ),
            ],
        );
        let got = judge(&input_on(
            &events,
            "2024-06-01",
            r#"{"rules": ["health-assessment"]}"#,
        ));
        assert_eq!(
            got[1],
            row("health-assessment", "2024-04-12", "2025-04-12", Open, None)
        );
        // A series of short breaks (V3): reviewed within 3 months of the first, over several stays.
        let events = record(
            "T-SB",
            vec![
                registration("2012-01-31", json!({})),
                placed("sb1", "2024-01-31", "V3", "U6"),
                json_event(
                    "e1",
                    "2024-02-02",
                    "CeasedToBeLookedAfter",
                    json!({"reason": "E4A"}),
                ),
                placed("sb2", "2024-03-15", "V3", "U6"),
                json_event(
                    "e2",
                    "2024-03-17",
                    "CeasedToBeLookedAfter",
                    json!({"reason": "E4A"}),
                ),
                placed("sb3", "2024-05-10", "V3", "U6"),
            ],
        );
        assert_eq!(
            judge(&input_on(&events, "2024-06-01", "")),
            // 31 January + 3 months is 30 April; no review: missed, and no visits or health assessments
            // are asked of short breaks.
            [row(
                "looked-after-review",
                "2024-01-31",
                "2024-04-30",
                Missed,
                Some("32 days")
            )]
        );
    }

    #[test]
    fn return_interviews_in_hours_across_the_clocks_going_forward() {
        // Back at 21:30 GMT on Friday 29 March 2024; the clocks go forward on Sunday 31 March, so 72 hours
        // later is 22:30 BST on Monday 1 April. Offered on 1 April: met. Recorded without a time, the
        // clock runs from the end of the day of return: due 2 April.
        let journey = |ended_at: &str| {
            record(
                "T-RHI",
                vec![
                    registration("2009-08-21", json!({})),
                    json_event(
                        "m",
                        "2024-03-29T08:00",
                        "MissingEpisodeStarted",
                        json!({"kind": "M"}),
                    ),
                    json_event("me", ended_at, "MissingEpisodeEnded", json!({})),
                    json_event("ri", "2024-04-02", "ReturnInterviewOffered", json!({})),
                ],
            )
        };
        let d = decide(
            STATUTORY_TIMESCALES,
            &input_on(&journey("2024-03-29T21:30"), "2024-04-30", ""),
        );
        assert_eq!(
            rows(&d.deadlines),
            [row(
                "return-interview",
                "2024-03-29",
                "2024-04-01",
                Missed,
                Some("1 day")
            )]
        );
        assert_eq!(d.deadlines[0].due_at, Some(ts("2024-04-01T21:30:00Z")));
        let d = decide(
            STATUTORY_TIMESCALES,
            &input_on(&journey("2024-03-29"), "2024-04-30", ""),
        );
        assert_eq!(
            rows(&d.deadlines),
            [row("return-interview", "2024-03-29", "2024-04-02", Met, None)]
        );
    }

    /// Judged by the hour when both the return and the interview have a time (issue 16): back at 21:30 GMT on
    /// Friday 29 March 2024, due at 22:30 BST on Monday 1 April (72 hours, over the clocks going forward);
    /// interviewed at 23:30 that evening, 73 hours after the return: an hour late, on the day it was due.
    /// Not interviewed at all: missed from 2 April, by at least the hour and a half to midnight.
    #[test]
    fn return_interviews_judged_by_the_hour_when_both_times_are_known() {
        let journey = |interview: Option<&str>| {
            let mut events = vec![
                registration("2009-08-21", json!({})),
                json_event(
                    "m",
                    "2024-03-29T08:00",
                    "MissingEpisodeStarted",
                    json!({"kind": "M"}),
                ),
                json_event("me", "2024-03-29T21:30", "MissingEpisodeEnded", json!({})),
            ];
            events.extend(interview.map(|at| json_event("ri", at, "ReturnInterviewHeld", json!({}))));
            record("T-RHI-H", events)
        };
        let d = decide(
            STATUTORY_TIMESCALES,
            &input_on(&journey(Some("2024-04-01T23:30")), "2024-04-30", ""),
        );
        assert_eq!(
            rows(&d.deadlines),
            [row(
                "return-interview",
                "2024-03-29",
                "2024-04-01",
                Missed,
                Some("1 hour")
            )]
        );
        let deadline = &d.deadlines[0];
        assert_eq!(deadline.due_at, Some(ts("2024-04-01T21:30:00Z")));
        assert_eq!(deadline.completed_at, Some(ts("2024-04-01T22:30:00Z")));
        assert!(
            deadline.reasons[1]
                .text
                .contains("judged by the times recorded: due 2024-04-01 at 22:30"),
            "{:?}",
            deadline.reasons
        );
        let on_time = decide(
            STATUTORY_TIMESCALES,
            &input_on(&journey(Some("2024-04-01T22:30")), "2024-04-30", ""),
        );
        assert_eq!(on_time.deadlines[0].status, Met);
        let none =
            |on: &str| rows(&decide(STATUTORY_TIMESCALES, &input_on(&journey(None), on, "")).deadlines);
        assert_eq!(
            none("2024-04-01"),
            [row("return-interview", "2024-03-29", "2024-04-01", Open, None)]
        );
        assert_eq!(
            none("2024-04-02"),
            [row(
                "return-interview",
                "2024-03-29",
                "2024-04-01",
                Missed,
                Some("2 hours")
            )]
        );
    }

    #[test]
    fn adoption_scorecard_a2_is_zero_days_when_matched_before_the_order() {
        let events = record(
            "T-A2",
            vec![
                registration("2015-03-02", json!({})),
                placed("la", "2016-01-06", "C1", "U6"),
                json_event("adm", "2016-05-01", "AdoptionDecisionMade", json!({})),
                json_event(
                    "m",
                    "2016-08-20",
                    "MatchedWithAdopters",
                    json!({"adopter_count": 1,
                    "adopters_sex": "F1", "adopters_legal_status": "L0", "adopters_were_foster_carers": true}),
                ),
                json_event(
                    "po",
                    "2016-09-01",
                    "CourtOrderMade",
                    json!({"order": "placement_order"}),
                ),
            ],
        );
        let d = decide(
            STATUTORY_TIMESCALES,
            &input_on(
                &events,
                "2016-12-01",
                r#"{"rules": ["adoption-a1", "adoption-a2"]}"#,
            ),
        );
        assert_eq!(
            rows(&d.deadlines),
            [
                // 6 January 2016 + 426 days (the 2013-16 threshold, in use from April 2015).
                row("adoption-a1", "2016-01-06", "2017-03-07", Open, None),
                row("adoption-a2", "2016-09-01", "2016-12-31", Met, None),
            ]
        );
        assert_eq!(d.deadlines[1].completed_on.unwrap().to_string(), "2016-09-01");
        // The adoption plan reversed before a placement: A1 no longer applies.
        let reversed = record(
            "T-A1R",
            vec![
                registration("2015-03-02", json!({})),
                placed("la", "2016-01-06", "C1", "U6"),
                json_event("adm", "2016-05-01", "AdoptionDecisionMade", json!({})),
                json_event("rev", "2016-10-01", "AdoptionDecisionReversed", json!({})),
            ],
        );
        let d = decide(
            STATUTORY_TIMESCALES,
            &input_on(&reversed, "2016-12-01", r#"{"rules": ["adoption-a1"]}"#),
        );
        assert_eq!(d.deadlines[0].status, NotApplicable);
    }

    #[test]
    fn a_corrected_review_date_changes_the_next_due_date_from_when_it_is_known() {
        // The first review (due Monday 29 April 2024, 20 working days after 28 March) was recorded on 29
        // April; a correction on 20 May moves it to 2 May, 3 working days late, and the second review is
        // then due 2 August instead of 29 July.
        let at = |s: &str| Some(ts(s));
        let events = record_at(
            "T-LAC-CORR",
            vec![
                (None, registration("2012-07-01", json!({}))),
                (None, placed("la", "2024-03-28", "C2", "U4")),
                (
                    None,
                    json_event(
                        "r1",
                        "2024-04-29",
                        "LookedAfterReviewHeld",
                        json!({"participation": "PN1"}),
                    ),
                ),
                (
                    at("2024-05-20T09:00:00Z"),
                    correction(
                        "fix",
                        "2024-05-20",
                        "r1",
                        "2024-05-02",
                        "LookedAfterReviewHeld",
                        json!({"participation": "PN1"}),
                    ),
                ),
            ],
        );
        let only = r#"{"rules": ["looked-after-review"]}"#;
        let on = |known_at: &str| judge(&input_as_of(&events, "2024-06-01", known_at, only));
        assert_eq!(
            on("2024-05-10T00:00:00Z"),
            [
                row("looked-after-review", "2024-03-28", "2024-04-29", Met, None),
                row("looked-after-review", "2024-04-29", "2024-07-29", Open, None),
            ]
        );
        assert_eq!(
            on("2024-05-21T00:00:00Z"),
            [
                row(
                    "looked-after-review",
                    "2024-03-28",
                    "2024-04-29",
                    Missed,
                    Some("3 working days")
                ),
                row("looked-after-review", "2024-05-02", "2024-08-02", Open, None),
            ]
        );
    }
}
