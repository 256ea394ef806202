//! Unit tests of the views' parts. The worked examples and the property tests over generated journeys are
//! in `core/tests/it/views.rs`.

use super::effective::{Effect, Resolver};
use super::fold::days_within;
use super::*;
use crate::domain::{EventCorrected, EventPayload, EventRetracted, LongText, lists::RetractionReason};
use crate::examples::examples;
use crate::testkit::{date, event_id};
use crate::time::OccurredAt;
use crate::{ManualClock, Version};

#[test]
fn days_are_counted_as_the_validators_count_them() {
    let (jan10, apr30) = (date("2014-01-10"), date("2014-04-30"));
    assert_eq!(days_within(jan10, Some(apr30), None, date("2014-09-01")), 110);
    // Still open: up to the view's date, which itself does not count yet.
    assert_eq!(days_within(jan10, None, None, jan10), 0);
    assert_eq!(days_within(jan10, None, None, date("2014-01-11")), 1);
    // Clipped to the view's date, and to a birthday.
    assert_eq!(days_within(jan10, Some(apr30), None, date("2014-02-01")), 22);
    assert_eq!(
        days_within(jan10, Some(apr30), Some(date("2014-02-28")), date("2014-09-01")),
        61
    );
    assert_eq!(
        days_within(jan10, Some(apr30), Some(date("2015-01-01")), date("2016-01-01")),
        0
    );
}

#[test]
fn as_of_now_is_today_in_england() {
    let late_evening: crate::Timestamp = "2014-06-30T23:30:00Z".parse().unwrap();
    let as_of = AsOf::now(late_evening);
    assert_eq!(as_of.on, date("2014-07-01"), "British Summer Time");
    assert_eq!(as_of.known_at, late_evening);
    assert_eq!(AsOf::from_clock(&ManualClock::new(late_evening)), as_of);
    assert_eq!(as_of.with_on(date("2014-02-01")).known_at, late_evening);
    let json = serde_json::to_string(&as_of).unwrap();
    assert_eq!(json, r#"{"on":"2014-07-01","known_at":"2014-06-30T23:30:00Z"}"#);
}

#[test]
fn every_example_event_has_a_summary_line() {
    for payload in examples() {
        let line = describe(&payload);
        assert!(
            !line.is_empty() && !line.ends_with(' '),
            "{}: {line:?}",
            payload.kind()
        );
        assert!(
            line.chars().next().is_some_and(char::is_uppercase),
            "{}: {line:?}",
            payload.kind()
        );
    }
}

#[test]
fn an_empty_stream_has_an_empty_summary() {
    let as_of = AsOf::new(date("2014-03-03"), crate::Timestamp::UNIX_EPOCH);
    let replayed = ChildSummary::replay(&[], as_of);
    assert_eq!(replayed.child_id, None);
    assert_eq!(
        (
            replayed.records_known,
            replayed.events_in_view,
            replayed.last_version
        ),
        (0, 0, None)
    );
    assert_eq!(SummaryProjection::new().summary(as_of.on), replayed);
    assert!(known_at(&[], as_of.known_at).is_empty());
    assert!(
        Chronology::build(&[], as_of, ChronologyOptions::default())
            .entries
            .is_empty()
    );
}

fn retract(target: &str) -> EventPayload {
    EventPayload::EventRetracted(EventRetracted {
        target_event_id: event_id(target),
        reason: RetractionReason::Duplicate,
        detail: None,
    })
}

fn correct(target: &str, to: &str, replacement: EventPayload) -> EventPayload {
    EventPayload::EventCorrected(EventCorrected {
        target_event_id: event_id(target),
        target_occurred_at: Some(to.parse().unwrap()),
        replacement: Box::new(replacement),
        reason: LongText::parse("Date corrected.").unwrap(),
    })
}

#[test]
fn the_resolver_keeps_the_latest_live_correction_in_force() {
    let contact = crate::testkit::contact("c-1", "2014-02-01").payload;
    let at = |s: &str| s.parse::<OccurredAt>().unwrap();
    let mut r: Resolver<&str> = Resolver::default();
    let apply = |r: &mut Resolver<&str>, id: &str, v: u64, p: &EventPayload, content: &'static str| {
        r.apply(&event_id(id), Version(v), at("2014-02-01"), p, |_| content)
    };
    assert_eq!(apply(&mut r, "c-1", 1, &contact, "original"), Effect::Added(0));
    let first = correct("c-1", "2014-01-31", contact.clone());
    assert_eq!(apply(&mut r, "k-1", 2, &first, "first"), Effect::Changed(0));
    // Without a date of its own, a correction keeps the date in force when it was recorded.
    let mut second = correct("c-1", "2014-01-31", contact.clone());
    if let EventPayload::EventCorrected(c) = &mut second {
        c.target_occurred_at = None;
    }
    assert_eq!(apply(&mut r, "k-2", 3, &second, "second"), Effect::Changed(0));
    assert_eq!(r.slot(0).in_force(), (at("2014-01-31"), &"second"));
    // Withdrawing the second restores the first; withdrawing it again does nothing.
    assert_eq!(apply(&mut r, "x-1", 4, &retract("k-2"), ""), Effect::Changed(0));
    assert_eq!(r.slot(0).in_force(), (at("2014-01-31"), &"first"));
    assert_eq!(apply(&mut r, "x-2", 5, &retract("k-2"), ""), Effect::Nothing);
    assert_eq!(apply(&mut r, "x-3", 6, &retract("k-1"), ""), Effect::Changed(0));
    assert_eq!(r.slot(0).in_force(), (at("2014-02-01"), &"original"));
    // Unknown targets change nothing; the original, once retracted, stays retracted.
    assert_eq!(apply(&mut r, "x-4", 7, &retract("nope"), ""), Effect::Nothing);
    assert_eq!(apply(&mut r, "x-5", 8, &retract("c-1"), ""), Effect::Changed(0));
    assert!(r.slot(0).retracted);
    assert_eq!(apply(&mut r, "x-6", 9, &retract("c-1"), ""), Effect::Nothing);
}
