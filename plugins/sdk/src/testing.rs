//! Helpers for unit-testing a policy natively, with plain `cargo test` (the SDK and a policy crate compile
//! for the host too): build an input by hand and call your `Policy::evaluate` directly. For tests only: in
//! production the host supplies the calendar, from the data version it records as evidence.
//!
//! ```
//! use journey_policy_sdk::testing::{event, input};
//! let contact = event("c-1", "ContactReceived", "2024-03-28", serde_json::json!({"source": "2A"}));
//! let input = input("2024-04-30", vec![contact]);
//! assert_eq!(input.of_kind("ContactReceived").count(), 1);
//! ```

use crate::{Calendar, ChildFacts, Date, EvaluationInput, EventStatus, JourneyEvent};

/// England and Wales bank holidays from the data in Journey's repository (the data the host ships).
pub fn england_and_wales() -> Calendar {
    #[derive(serde::Deserialize)]
    struct File {
        version: String,
        covers_from: Date,
        covers_to: Date,
        holidays: Vec<Holiday>,
    }
    #[derive(serde::Deserialize)]
    struct Holiday {
        date: Date,
    }
    let file: File = serde_json::from_str(include_str!("../../data/bank-holidays-england-and-wales.json"))
        .expect("the repository's bank-holiday data is valid");
    Calendar {
        version: file.version,
        covers_from: file.covers_from,
        covers_to: file.covers_to,
        bank_holidays: file.holidays.into_iter().map(|h| h.date).collect(),
    }
}

fn date(s: &str) -> Date {
    Date::parse(s).unwrap_or_else(|| panic!("{s:?} is not a date YYYY-MM-DD"))
}

/// An event as the host would send it: in force, recorded at midnight UTC on the day it occurred.
pub fn event(event_id: &str, kind: &str, occurred_on: &str, content: serde_json::Value) -> JourneyEvent {
    let occurred_on = date(occurred_on);
    JourneyEvent {
        event_id: event_id.to_string(),
        version: 0,
        kind: kind.to_string(),
        stage: String::new(),
        occurred_on,
        occurred_time: None,
        recorded_at: occurred_on.days_since_epoch() * 86_400_000_000,
        status: EventStatus::Current,
        content: content.to_string(),
        caused_by: None,
        amended_by: Vec::new(),
    }
}

/// An input judging `evaluation_date` with these events (numbered in the order given), the repository's
/// calendar and no parameters.
pub fn input(evaluation_date: &str, mut events: Vec<JourneyEvent>) -> EvaluationInput {
    for (i, e) in events.iter_mut().enumerate() {
        e.version = i as u64 + 1;
    }
    let evaluation_date = date(evaluation_date);
    EvaluationInput {
        evaluation_date,
        known_at: (evaluation_date.days_since_epoch() + 1) * 86_400_000_000,
        child: ChildFacts {
            child_id: "TEST-1".to_string(),
            date_of_birth: None,
            expected_date_of_birth: None,
            died_on: None,
            age: None,
            summary: "{}".to_string(),
        },
        events,
        calendar: england_and_wales(),
        parameters: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::*;

    /// A whole policy, tested natively: "decide a contact within 1 working day".
    struct ContactDecisions;

    #[derive(serde::Deserialize)]
    struct Decided {
        contact_event_id: String,
    }

    impl Policy for ContactDecisions {
        fn about() -> PolicyInfo {
            PolicyInfo::new(
                "contact-decisions",
                PolicyKind::StatutoryTimescales,
                "0.1.0",
                "Tests.",
            )
        }

        fn evaluate(input: &EvaluationInput) -> Result<Decisions, PolicyError> {
            let counting: Counting =
                serde_json::from_str(&format!("{:?}", input.parameters.trim())).unwrap_or_default();
            let mut d = Decisions::default();
            for c in input.of_kind("ContactReceived") {
                let done = input.of_kind("ContactDecided").find(|x| {
                    x.data::<Decided>()
                        .is_ok_and(|x| x.contact_event_id == c.event_id)
                });
                let due = input.calendar.due_within_working_days(c.occurred_on, 1, counting);
                let rule = Rule {
                    name: "contact-decision",
                    rule: "1 working day",
                    source: "test",
                };
                let reasons = vec![Reason::new("contact", [c.event_id.as_str()])];
                let completed = done.map(|x| x.occurred_on);
                d.deadlines.push(Deadline::judged(
                    rule,
                    c.occurred_on,
                    due,
                    completed,
                    input.evaluation_date,
                    reasons,
                ));
            }
            Ok(d)
        }
    }

    #[test]
    fn a_policy_can_be_tested_natively() {
        let events = vec![
            event("c-1", "ContactReceived", "2024-03-28", serde_json::json!({})),
            event(
                "d-1",
                "ContactDecided",
                "2024-04-02",
                serde_json::json!({"contact_event_id": "c-1"}),
            ),
        ];
        let mut input = input("2024-04-30", events);
        let d = ContactDecisions::evaluate(&input).unwrap();
        assert_eq!(
            d.deadlines[0].due_on,
            Some(Date::ymd(2024, 3, 28)),
            "Thursday before Easter"
        );
        assert_eq!(d.deadlines[0].status, DeadlineStatus::Missed);
        assert_eq!(
            d.deadlines[0].late_by,
            Some(Lateness::new(5, TimeUnit::CalendarDays))
        );
        input.parameters = "exclusive".into();
        let d = ContactDecisions::evaluate(&input).unwrap();
        assert_eq!(
            d.deadlines[0].due_on,
            Some(Date::ymd(2024, 4, 2)),
            "after Easter Monday"
        );
        assert_eq!(d.deadlines[0].status, DeadlineStatus::Met);
        assert_eq!(
            crate::__private::about::<ContactDecisions>().contract_version,
            CONTRACT_VERSION
        );
    }

    #[test]
    fn the_repository_calendar_is_readable() {
        let c = england_and_wales();
        assert!(c.is_bank_holiday(&Date::ymd(2024, 3, 29)));
        assert!(c.bank_holidays.windows(2).all(|w| w[0] < w[1]));
    }
}
