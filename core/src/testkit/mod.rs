//! Small builders of synthetic events for tests and benchmarks across the workspace. Nothing here is
//! about real people: every child is invented.
//!
//! The contract suites every store and journal implementation runs (behind the `contract-tests` feature) live
//! here too, as test support: [`store_contract`] (with [`contract_suite!`](crate::contract_suite)),
//! [`tree_contract`] (with [`tree_contract_suite!`](crate::tree_contract_suite)) and [`journal_contract`].

pub mod bench;
mod family;
#[cfg(feature = "contract-tests")]
pub mod journal_contract;
#[cfg(feature = "contract-tests")]
pub mod store_contract;
#[cfg(feature = "contract-tests")]
pub mod tree_contract;

use std::sync::Arc;

pub use family::{NamedFamily, named_family};

use crate::domain::EventPayload;
use crate::envelope::NewEvent;
use crate::ids::ExpectedVersion;
use crate::ids::{AgencyId, ChildId, EventId, PrincipalId, Source, SystemId};
use crate::store::AppendRequest;
use crate::time::{Date, ManualClock, OccurredAt, Timestamp};

pub fn child(id: &str) -> ChildId {
    ChildId::parse(id).expect("valid child id")
}

pub fn event_id(id: &str) -> EventId {
    EventId::parse(id).expect("valid event id")
}

pub fn date(s: &str) -> Date {
    s.parse().expect("valid date")
}

pub fn source() -> Source {
    Source {
        agency: AgencyId::parse("la.testshire").expect("valid agency"),
        system: SystemId::parse("testkit").expect("valid system"),
    }
}

pub fn principal() -> PrincipalId {
    PrincipalId::parse("testkit").expect("valid principal")
}

/// A clock at 2024-01-01T09:00Z that tests move by hand.
pub fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(epoch()))
}

pub fn epoch() -> Timestamp {
    "2024-01-01T09:00:00Z".parse().expect("valid instant")
}

pub fn event(id: &str, occurred: &str, payload: EventPayload) -> NewEvent {
    NewEvent {
        event_id: event_id(id),
        occurred_at: OccurredAt::parse_field("occurred_at", occurred).expect("valid occurred_at"),
        source: source(),
        correlation_id: None,
        causation_id: None,
        source_recorded_at: None,
        payload,
    }
}

/// The registration that must open every child's stream.
pub fn registered(id: &str, date_of_birth: &str) -> NewEvent {
    event(
        id,
        date_of_birth,
        crate::domain::testkit_registration(date(date_of_birth)),
    )
}

/// A typical event of ordinary size: a contact about the child on `on`.
pub fn contact(id: &str, on: &str) -> NewEvent {
    event(id, on, crate::domain::testkit_contact(date(on)))
}

pub fn append(child_id: &str, expected: ExpectedVersion, events: Vec<NewEvent>) -> AppendRequest {
    AppendRequest {
        child_id: child(child_id),
        expected,
        recorded_by: principal(),
        events,
    }
}

/// Every string in a child's events that would betray its content (names, addresses, free text, codes'
/// descriptions...): the JSON strings of at least 8 characters of each event's payload, except the
/// identifiers kept in the clear by design (ADR 11: child and event ids, the recording principal). What an
/// erasure test searches a store's raw bytes for.
pub fn plaintexts(events: &[crate::envelope::RecordedEvent]) -> std::collections::BTreeSet<String> {
    fn walk(value: &serde_json::Value, out: &mut std::collections::BTreeSet<String>) {
        match value {
            serde_json::Value::String(s) if s.len() >= 8 => {
                out.insert(s.clone());
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            serde_json::Value::Object(map) => map.values().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut out = std::collections::BTreeSet::new();
    for event in events {
        walk(
            &serde_json::to_value(&event.payload).expect("a payload serialises"),
            &mut out,
        );
    }
    for event in events {
        out.remove(event.envelope.child_id.as_str());
        out.remove(event.envelope.event_id.as_str());
        out.remove(event.envelope.recorded_by.as_str());
    }
    out
}
