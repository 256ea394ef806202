//! The starter-timescales policy end to end: journeys recorded in a store, read through the bitemporal view,
//! evaluated in the sandbox, with due dates computed by hand (and checked against pandas'
//! `CustomBusinessDay` with the same holidays). Edges: a contact on a Saturday, the Easter weekend, the May
//! bank holiday, Christmas, both counting conventions, not-applicable rules, and a correction and a
//! retraction that change the answer depending on what was known when.

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
use journey_plugins::guests::STARTER_TIMESCALES;
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

/// One expected deadline: `(name, due date or "", status, days late, completed on or "")`.
type Expected = (
    &'static str,
    &'static str,
    DeadlineStatus,
    Option<u32>,
    &'static str,
);

fn evaluate(input: &PolicyInput) -> Vec<Deadline> {
    let host = host();
    let policy = load(host, STARTER_TIMESCALES);
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

fn check(what: &str, input: &PolicyInput, expected: &[Expected]) {
    let got: Vec<(String, String, DeadlineStatus, Option<u32>, String)> = evaluate(input)
        .into_iter()
        .map(|d| {
            let show = |d: Option<journey_core::Date>| d.map(|d| d.to_string()).unwrap_or_default();
            (
                d.name,
                show(d.due_on),
                d.status,
                d.days_late,
                show(d.completed_on),
            )
        })
        .collect();
    let expected: Vec<(String, String, DeadlineStatus, Option<u32>, String)> = expected
        .iter()
        .map(|(n, due, s, late, done)| (n.to_string(), due.to_string(), *s, *late, done.to_string()))
        .collect();
    assert_eq!(got, expected, "{what}");
}

const INCLUSIVE: &str = "";
const EXCLUSIVE: &str = r#"{"counting": "exclusive"}"#;

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
            ("contact-decision", "2024-03-28", Missed, Some(5), "2024-04-02"),
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
            ("assessment", "2024-05-08", Missed, Some(1), "2024-05-09"),
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
            ("assessment", "2024-05-08", Missed, Some(1), ""),
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
        "once the correction is known: decided a week late",
        &on("2025-01-11T00:00:00Z"),
        &[("contact-decision", "2024-12-20", Missed, Some(7), "2024-12-27")],
    );
    check(
        "once the decision is retracted: never decided, 42 days late by 31 January",
        &on("2025-01-21T00:00:00Z"),
        &[("contact-decision", "2024-12-20", Missed, Some(42), "")],
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
    check(
        "inclusive (the DfE validators' counting): three deadlines missed by a day",
        &input_on(&events, "2008-01-01", INCLUSIVE),
        &[
            ("contact-decision", "2007-08-01", Missed, Some(1), "2007-08-02"),
            ("contact-decision", "2007-10-03", Missed, Some(1), "2007-10-04"),
            ("assessment", "2007-12-05", Met, None, "2007-11-10"),
            (
                "initial-child-protection-conference",
                "2007-10-30",
                Missed,
                Some(1),
                "2007-10-31",
            ),
        ],
    );
    check(
        "exclusive: all met",
        &input_on(&events, "2008-01-01", EXCLUSIVE),
        &[
            ("contact-decision", "2007-08-02", Met, None, "2007-08-02"),
            ("contact-decision", "2007-10-04", Met, None, "2007-10-04"),
            ("assessment", "2007-12-06", Met, None, "2007-11-10"),
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
    let policy = load(host, STARTER_TIMESCALES);
    for (parameters, needle) in [
        (r#"{"counting": "sideways"}"#, "unknown variant `sideways`"),
        (
            r#"{"assessment_working_days": 0}"#,
            "assessment_working_days must be at least 1",
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
