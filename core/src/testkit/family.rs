//! An invented family with realistic-looking names, for subject access tests: the first domain example's
//! journey (before birth to adoption, every stage) with the placeholder names replaced, and free text that
//! names the people it must not disclose. Every name is invented; none is a real person's.

use crate::envelope::NewEvent;
use crate::ids::{ChildId, ExpectedVersion};
use crate::store::EventStore;
use crate::time::ManualClock;

/// The family's child, the people in their record and what a bundle must and must not show.
#[derive(Debug)]
pub struct NamedFamily {
    pub child_id: ChildId,
    pub events: Vec<NewEvent>,
    /// Values a bundle for the child must never contain, in any output: the confidential referrer and
    /// every other person's names, contact details, date of birth and person id.
    pub withheld: Vec<&'static str>,
    /// Values the child is entitled to, which every output must contain: their own name, the professionals
    /// who worked with them, the concerns as recorded.
    pub entitled: Vec<&'static str>,
    /// The person id of the child's mother, for a request about her.
    pub mother: &'static str,
}

impl NamedFamily {
    /// Records the family's events in `store`, one append each, the clock moved on a minute after each.
    pub async fn record(&self, store: &dyn EventStore, clock: &ManualClock) {
        for event in self.events.clone() {
            store
                .append(super::append(
                    self.child_id.as_str(),
                    ExpectedVersion::Any,
                    vec![event],
                ))
                .await
                .expect("the family's events are valid");
            clock.advance_micros(60_000_000);
        }
    }
}

/// Placeholder in the domain example → the invented name used here.
const NAMES: &[(&str, &str)] = &[
    ("Parent A", "Harriet Quennell"),
    ("Parent B", "Desmond Quennell"),
    ("Grandparent C", "Ottoline Pargeter"),
    ("Carer D", "Bartholomew Ainsworth"),
    ("Carer E", "Philippa Venables"),
    ("Neighbour One", "Gwendolyn Barraclough"),
    ("Adopter One", "Cordelia Whitlock"),
    ("Adopter Two", "Ambrose Whitlock"),
    ("07000 000001", "07700 900123"),
    ("1 Example Road", "14 Larkspur Close"),
    (
        "\"family_name\":\"A\"",
        "\"family_name\":\"Quennell\",\"given_name\":\"Milo\"",
    ),
    // Free text that names the withheld people the way case notes do: surname alone, first name alone,
    // in capitals, possessive.
    (
        "Neighbour heard shouting and breaking glass; says",
        "Ms BARRACLOUGH heard shouting and breaking glass at Harriet's flat; Gwendolyn says",
    ),
];

/// The family (child `SAR-MILO`).
pub fn named_family() -> NamedFamily {
    let (_, events) = crate::examples::example_streams().remove(0);
    let mut json = serde_json::to_string(&events).expect("events serialise");
    for (from, to) in NAMES {
        assert!(json.contains(from), "the example no longer holds {from:?}");
        json = json.replace(from, to);
    }
    let events: Vec<NewEvent> = serde_json::from_str(&json).expect("the renamed events are valid");
    NamedFamily {
        child_id: super::child("SAR-MILO"),
        events,
        withheld: vec![
            "Harriet",
            "Desmond",
            "Ottoline",
            "Pargeter",
            "Bartholomew",
            "Ainsworth",
            "Philippa",
            "Venables",
            "Gwendolyn",
            "Barraclough",
            "BARRACLOUGH",
            "Cordelia",
            "Ambrose",
            "Whitlock",
            "07700 900123",
            "Larkspur",
            "1989-04-02",
            "P-0001",
            "P-0002",
            "P-0003",
            "P-0004",
            "P-0006",
            "P-0102",
            "P-0201",
            "P-0202",
        ],
        entitled: vec![
            "Milo",
            "Quennell",
            "Midwife One",
            "Practitioner One",
            "Social Worker One",
            "isolated and low in mood",
            "heard shouting and breaking glass",
        ],
        mother: "P-0001",
    }
}
