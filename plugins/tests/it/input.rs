//! The input a policy sees: the bitemporal view of the child's stream, in valid-time order.

use futures::executor::block_on;
use journey_core::store::{EventStore, InMemoryStore};
use journey_core::view::AsOf;
use journey_core::{ManualClock, RecordedEvent, Version};
use journey_plugins::{Calendar, PolicyEventStatus, PolicyInput};
use journey_synth::{self as synth, AuthorityProfile};
use proptest::prelude::*;
use std::sync::Arc;

use crate::support::{child_a, example_child, input_as_of, input_on, ts};

#[test]
fn events_are_those_in_view_on_the_date_in_the_order_they_occurred() {
    let events = child_a();
    let input = input_on(&events, "2007-10-04", r#"{"counting": "exclusive"}"#);
    let ids: Vec<&str> = input.events.iter().map(|e| e.event_id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "a-001", "a-002", "a-003", "a-004", "a-005", "a-006", "a-007", "a-008", "a-009", "a-010"
        ]
    );
    let contact = &input.events[1];
    assert_eq!(contact.kind.as_str(), "ContactReceived");
    assert_eq!(contact.stage.as_str(), "front_door");
    assert_eq!(contact.occurred_at.to_string(), "2007-08-01T10:40:00");
    assert_eq!(contact.status, PolicyEventStatus::Current);
    let content: serde_json::Value = serde_json::from_str(&input.events[2].content).unwrap();
    assert_eq!(
        content["contact_event_id"], "a-002",
        "the content is the event's data"
    );
    assert_eq!(input.parameters, r#"{"counting": "exclusive"}"#);
    assert_eq!(input.child.child_id.as_str(), "EX-A");
    assert_eq!(
        input.child.date_of_birth, None,
        "Child A is unborn in October 2007"
    );
    let summary: serde_json::Value = serde_json::from_str(&input.child.summary).unwrap();
    assert_eq!(summary["as_of"]["on"], "2007-10-04");
    assert_eq!(&input.calendar, Calendar::england_and_wales());
}

#[test]
fn the_known_at_instant_limits_what_is_seen() {
    let events = child_a();
    // Child A's records are made at 20:00 UTC 30 days after each event occurred: the events of 4 October
    // 2007 were recorded on 3 November.
    let before = input_as_of(&events, "2007-10-04", "2007-11-03T12:00:00Z", "");
    let after = input_as_of(&events, "2007-10-04", "2007-11-03T23:59:59Z", "");
    assert_eq!(
        before.events.len() + 4,
        after.events.len(),
        "a-007 to a-010 occurred on 4 October"
    );
    assert!(
        before
            .events
            .iter()
            .all(|e| e.recorded_at < ts("2007-11-03T12:00:00Z"))
    );
    assert_ne!(before.digest(), after.digest(), "the input hash tells them apart");
    assert_eq!(
        after.digest(),
        input_as_of(&events, "2007-10-04", "2007-11-03T23:59:59Z", "").digest()
    );
}

#[test]
fn the_shipped_calendar_is_england_and_wales() {
    let c = Calendar::england_and_wales();
    assert_eq!(c.version, "2026.1");
    let has = |d: &str| c.bank_holidays.iter().any(|h| h.to_string() == d);
    // Jubilees, a royal wedding, a state funeral, a coronation and a moved May Day are all there.
    for d in [
        "2002-06-03",
        "2011-04-29",
        "2012-06-05",
        "2020-05-08",
        "2022-09-19",
        "2023-05-08",
        "2024-03-29",
    ] {
        assert!(has(d), "{d}");
    }
    // Christmas on a Saturday: the substitute days are listed, not the weekend.
    assert!(has("2021-12-27") && has("2021-12-28") && !has("2021-12-25"));
    assert!(!has("2020-05-04"), "May Day 2020 moved to the 8th");
    assert_eq!(c.covers_from.to_string(), "2000-01-01");
    assert_eq!(c.covers_to.to_string(), "2028-12-31");
}

/// A generated child, recorded as the generator dates each append.
fn recorded(profile: &AuthorityProfile, seed: u64, index: usize) -> Vec<RecordedEvent> {
    let appends = synth::generate_child(seed, index, profile);
    let clock = Arc::new(ManualClock::new(appends[0].recorded_at));
    let store = InMemoryStore::new(clock.clone());
    let child = appends[0].request.child_id.clone();
    for append in appends {
        clock.set(append.recorded_at);
        block_on(store.append(append.request)).expect("a generated append is accepted");
    }
    block_on(store.read_stream(child, Version::FIRST, usize::MAX)).expect("read back")
}

/// The canonical encoding is written by hand for speed; it must stay byte for byte serde_json's, or every
/// recorded decision's input hash would stop matching its replay.
#[test]
fn the_canonical_encoding_is_serde_jsons_for_generated_children() {
    let mut compared = 0;
    let mut corrected_or_retracted = 0;
    for (profile, seed) in [
        (AuthorityProfile::small(), 1),
        (AuthorityProfile::deep_end(), 2026),
        (AuthorityProfile::large_authority(), 7),
    ] {
        for index in 0..40 {
            let events = recorded(&profile, seed, index);
            let last = events.last().expect("a child has events").envelope.recorded_at;
            for as_of in [
                AsOf {
                    on: profile.end,
                    known_at: last,
                },
                AsOf {
                    on: events[events.len() / 2].envelope.occurred_at.date(),
                    known_at: events[events.len() / 2].envelope.recorded_at,
                },
            ] {
                let input = PolicyInput::from_stream(
                    &events,
                    as_of,
                    Calendar::england_and_wales(),
                    r#"{"note":"a \"quoted\" \\ value\n","n":[1,2]}"#,
                )
                .expect("an input");
                corrected_or_retracted += input
                    .events
                    .iter()
                    .filter(|e| e.status != PolicyEventStatus::Current)
                    .count();
                assert_eq!(
                    String::from_utf8(input.canonical_bytes()).unwrap(),
                    serde_json::to_string(&input).unwrap(),
                    "{} child {index} on {}",
                    profile.slug,
                    as_of.on
                );
                compared += 1;
            }
        }
    }
    assert_eq!(compared, 240);
    assert!(
        corrected_or_retracted > 0,
        "some inputs carry corrected or retracted events"
    );
}

/// Strings for the escaping property: every character class serde_json treats differently, densely.
const ESCAPE_HEAVY: &str = "[\"\\\\\\x00-\\x1f\\x7f a-z{}:,/\u{e9}\u{2028}\u{1f600}]{0,600}";

/// The input hash of one fixed input, pinned: a recorded decision's replay compares the hash it recomputes
/// with the one recorded, so anything that changes these bytes (a serde_json upgrade, a type's `Serialize`,
/// the hand-written encoding) would make every recorded decision report a different input. If this fails,
/// that is what changed; it needs a versioned encoding, not a new number here.
#[test]
fn the_input_hash_of_a_fixed_input_does_not_change() {
    let input = input_on(&child_a(), "2007-10-04", r#"{"counting": "exclusive"}"#);
    assert_eq!(
        input.digest().to_hex(),
        "6120ae4d02c16727a2dc32c8d43c7f072ee3ebcb51ce543f09c1cfe603285685"
    );
}

proptest! {
    /// Whatever the strings hold (quotes, backslashes, control characters, DEL, U+2028, astral characters),
    /// the hand-written encoding escapes them as serde_json does: strings of up to 600 characters, dense
    /// with characters to escape, so that the SIMD escaper's block loop and its tail both run.
    #[test]
    fn the_canonical_encoding_escapes_any_string_as_serde_json_does(
        content in ESCAPE_HEAVY,
        summary in ESCAPE_HEAVY,
        parameters in ESCAPE_HEAVY,
        plain in any::<String>(),
    ) {
        let events = child_a();
        let mut input = input_on(&events, "2007-10-04", "");
        input.events[1].content = content;
        input.events[2].content = plain;
        input.child.summary = summary;
        input.parameters = parameters;
        prop_assert_eq!(
            String::from_utf8(input.canonical_bytes()).unwrap(),
            serde_json::to_string(&input).unwrap()
        );
    }
}

#[test]
fn a_restricted_event_reaches_no_policy_until_lifted() {
    let events = example_child("EX-B");
    let ids = |known_at: &str| -> Vec<String> {
        input_as_of(&events, "2025-02-25", known_at, "")
            .events
            .iter()
            .map(|e| e.event_id.as_str().to_owned())
            .collect()
    };
    // b-009 restricts b-006, the end of the asylum-seeking status (recorded on 5 March 2025); b-010 lifts it
    // (recorded on 22 March).
    let before = ids("2025-03-01T00:00:00Z");
    let during = ids("2025-03-10T00:00:00Z");
    let after = ids("2025-03-25T00:00:00Z");
    assert!(before.contains(&"b-006".to_owned()));
    assert!(!during.contains(&"b-006".to_owned()), "restricted: not an input");
    assert!(after.contains(&"b-006".to_owned()), "lifted: an input again");
    let during = input_as_of(&events, "2025-02-25", "2025-03-10T00:00:00Z", "");
    let summary: serde_json::Value = serde_json::from_str(&during.child.summary).unwrap();
    assert_eq!(summary["restricted_events"], 1);
    assert_eq!(
        summary["unaccompanied_asylum_seeking_since"], "2024-05-02",
        "the status is open again while its end is not used"
    );
}
