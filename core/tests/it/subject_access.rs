//! Subject access bundles, adversarially: an invented family whose record names parents, a grandparent,
//! carers, adopters and a confidential referrer, in structured fields and in free text. No withheld value
//! may appear anywhere in what is released, and nothing the subject is entitled to may be missing.

use std::collections::BTreeSet;

use futures::executor::block_on;
use journey_core::store::{EventStore, InMemoryStore};
use journey_core::testkit::{self, NamedFamily, named_family};
use journey_core::view::AsOf;
use journey_core::view::subject_access::{
    AccessSubject, Bundle, ChildRecords, Disclosure, RedactionRule, WITHHELD, Withholding, bundle,
};
use journey_core::{Date, RecordedEvent, Timestamp, Version};

fn recorded(family: &NamedFamily) -> Vec<RecordedEvent> {
    let clock = testkit::clock();
    let store = InMemoryStore::new(clock.clone());
    clock.set("2030-01-01T09:00:00Z".parse::<Timestamp>().unwrap());
    block_on(family.record(&store, &clock));
    block_on(store.read_stream(family.child_id.clone(), Version::FIRST, usize::MAX)).unwrap()
}

fn make(
    family: &NamedFamily,
    events: &[RecordedEvent],
    subject: AccessSubject,
    disclosure: Disclosure,
    withholdings: &[Withholding],
) -> Bundle {
    let known = events.last().unwrap().envelope.recorded_at;
    let records = [ChildRecords {
        child_id: &family.child_id,
        events,
    }];
    bundle(
        &subject,
        &disclosure,
        withholdings,
        &records,
        AsOf::new(testkit::date("2030-01-01"), known),
    )
}

fn released_text(bundle: &Bundle) -> String {
    serde_json::to_string(&bundle.clone().for_release()).unwrap()
}

#[test]
fn a_childs_bundle_discloses_nothing_withheld_and_misses_nothing_of_theirs() {
    let family = named_family();
    let events = recorded(&family);
    let child = AccessSubject::Child {
        child_id: family.child_id.clone(),
    };
    let bundle = make(&family, &events, child, Disclosure::default(), &[]);
    let text = released_text(&bundle);
    for value in &family.withheld {
        assert!(!text.contains(value), "{value:?} was disclosed");
    }
    for value in &family.entitled {
        assert!(text.contains(value), "{value:?} is missing");
    }
    // Every original event is an entry (corrections and retractions show on what they touch), in the
    // order things happened.
    let originals = events
        .iter()
        .filter(|e| !e.payload.kind().is_about_events())
        .count();
    assert_eq!(bundle.entries.len(), originals);
    let dates: Vec<Date> = bundle.entries.iter().map(|e| e.occurred_at.date()).collect();
    assert!(dates.is_sorted());
    // The confidential referrer is listed under their rule, and the schedule names the rule's provision.
    let referrer = bundle
        .redactions
        .iter()
        .find(|r| r.event_id.as_str() == "a-006" && r.rule == RedactionRule::ConfidentialReferrer)
        .expect("the confidential referrer's redaction is listed");
    assert_eq!(referrer.field, "referrer person");
    assert!(referrer.citation.contains("Sch. 2 Pt 3 para 16"));
    assert!(
        bundle
            .redactions
            .iter()
            .any(|r| r.event_id.as_str() == "a-006" && r.rule == RedactionRule::NameInFreeText),
        "the referrer's name in the contact's summary is listed"
    );
    // The data protection officer's schedule says whose data each redaction was; the released one does not.
    let internal = serde_json::to_string(&bundle).unwrap();
    assert!(internal.contains("P-0102"));
    // The family name the child shares with the parents stays wherever it is the child's.
    let registration = &bundle.entries[0];
    assert!(registration.details.iter().any(|d| d.value == "Quennell"));
    // DfE codes in the details say what they mean, as the entry's heading does.
    let contact = bundle
        .entries
        .iter()
        .find(|e| e.event_id.as_str() == "a-002")
        .unwrap();
    let concern = contact.details.iter().find(|d| d.field == "concerns 1").unwrap();
    assert!(
        concern.value.starts_with("4B (") && concern.value.len() > 8,
        "{concern:?}"
    );
}

#[test]
fn a_consent_discloses_that_person_and_no_one_else() {
    let family = named_family();
    let events = recorded(&family);
    let child = AccessSubject::Child {
        child_id: family.child_id.clone(),
    };
    let disclosure = Disclosure {
        persons: BTreeSet::from(["P-0002".to_owned(), "P-0102".to_owned()]),
        ..Disclosure::default()
    };
    let text = released_text(&make(&family, &events, child, disclosure, &[]));
    assert!(text.contains("Desmond"), "the father consented");
    // A confidential referrer is withheld even when listed.
    assert!(!text.contains("Gwendolyn") && !text.contains("07700 900123"));
    assert!(!text.contains("Harriet"));
}

#[test]
fn serious_harm_withholds_the_entry_a_reviewer_chose_and_only_it() {
    let family = named_family();
    let events = recorded(&family);
    let child = AccessSubject::Child {
        child_id: family.child_id.clone(),
    };
    let full = make(&family, &events, child.clone(), Disclosure::default(), &[]);
    let chosen = full.entries[3].clone();
    assert!(!chosen.summary.is_empty() && chosen.summary != WITHHELD);
    let reason = "The reviewer judged that this entry would distress the subject seriously";
    let withholding = Withholding {
        event_id: chosen.event_id.clone(),
        reason: reason.to_owned(),
    };
    let bundle = make(&family, &events, child, Disclosure::default(), &[withholding]);
    let entry = &bundle.entries[3];
    assert!(entry.withheld && entry.summary == WITHHELD && entry.details.is_empty());
    assert_eq!(
        entry.occurred_at, chosen.occurred_at,
        "the entry's place in the story stays"
    );
    let others = |b: &Bundle| {
        b.entries
            .iter()
            .filter(|e| e.event_id != chosen.event_id)
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(others(&bundle), others(&full));
    let listed = bundle
        .redactions
        .iter()
        .find(|r| r.rule == RedactionRule::SeriousHarm)
        .unwrap();
    assert_eq!(listed.internal.as_ref().unwrap().reason.as_deref(), Some(reason));
    assert!(
        !released_text(&bundle).contains(reason),
        "the reviewer's reason is for the officer only"
    );
}

#[test]
fn a_parents_bundle_is_the_entries_with_her_data_and_withholds_the_childs_by_default() {
    let family = named_family();
    let events = recorded(&family);
    let mother = AccessSubject::Person {
        person_id: family.mother.to_owned(),
    };
    let bundle = make(&family, &events, mother.clone(), Disclosure::default(), &[]);
    assert!(!bundle.entries.is_empty());
    let carrying: BTreeSet<&str> = events
        .iter()
        .filter(|e| {
            e.payload
                .data_subjects()
                .iter()
                .any(|p| p.person_id.as_deref() == Some(family.mother))
        })
        .map(|e| e.envelope.event_id.as_str())
        .collect();
    let entries: BTreeSet<&str> = bundle.entries.iter().map(|e| e.event_id.as_str()).collect();
    assert_eq!(entries, carrying);
    let text = released_text(&bundle);
    assert!(text.contains("Harriet Quennell"), "her own name is hers");
    assert!(text.contains("14 Larkspur Close"), "her own address is hers");
    for other in ["Desmond", "Gwendolyn", "Ottoline", "Bartholomew", "Milo"] {
        assert!(!text.contains(other), "{other} was disclosed to the mother");
    }
    // With the child's information allowed, the entries say what happened.
    let allowed = Disclosure {
        child_information: true,
        ..Disclosure::default()
    };
    let with_child = make(&family, &events, mother, allowed, &[]);
    assert!(with_child.entries.iter().all(|e| e.summary != WITHHELD));
    assert!(!released_text(&with_child).contains("Desmond"));
}
