//! Destruction as a procedure (issue #19): refused, and recorded, for a record not yet due (naming its
//! retention date) or under a hold (naming it); for due records, their content keys destroyed and a
//! certificate recorded with no personal data; the records then gone (410) while the log still verifies.

use std::sync::Arc;

use axum::http::Method;
use journey_api::Role;
use journey_api::routes::destructions::{DESTRUCTION_CERTIFIED, DESTRUCTION_REFUSED, destructions_stream};
use journey_core::content_keys::LocalKek;
use journey_core::store::{EventStore, InMemoryStore};
use journey_core::{ExpectedVersion, testkit};
use journey_embedded::{EmbeddedOptions, EmbeddedStore};
use serde_json::json;

use crate::common::Harness;

async fn sealed_harness(dir: &std::path::Path) -> (Harness, Arc<EmbeddedStore>) {
    let clock = testkit::clock();
    let options = EmbeddedOptions {
        kek: Some(Arc::new(LocalKek::from_bytes([2; 32]))),
        ..EmbeddedOptions::default()
    };
    let sealed = Arc::new(EmbeddedStore::open_with(dir, clock.clone(), options).unwrap());
    // Born in 2000, one contact in 2005: under the reference policy's local period for contacts (the 18th
    // birthday plus 3 years) destroyable from 2021. Born in 2015, a contact in 2023: kept until 2036.
    for (child, born, contact) in [
        ("due-1", "2000-01-01", "2005-03-01"),
        ("due-2", "2000-02-01", "2005-04-01"),
        ("held-1", "2000-03-01", "2005-05-01"),
        ("young-1", "2015-06-01", "2023-06-01"),
    ] {
        sealed
            .append(testkit::append(
                child,
                ExpectedVersion::NoStream,
                vec![
                    testkit::registered(&format!("{child}-r"), born),
                    testkit::contact(&format!("{child}-c"), contact),
                ],
            ))
            .await
            .unwrap();
    }
    let h = Harness::with_store(
        journey_api::Config::default(),
        clock,
        Arc::new(InMemoryStore::new(testkit::clock())),
        sealed.clone(),
    )
    .await;
    let registry = h.reference_registry().await;
    (h.with_registry(Arc::new(registry)), sealed)
}

#[tokio::test]
async fn destruction_is_refused_when_not_due_or_held_and_certified_when_due() {
    let dir = tempfile::tempdir().unwrap();
    let (h, store) = sealed_harness(dir.path()).await;
    let officer = h.token(Role::RecordsOfficer);
    let destroy = |children: Vec<&str>| json!({ "children": children, "reason": "Retention review 2024 Q1" });

    // Not due: refused naming its retention date, nothing destroyed.
    let young = h
        .call(
            Method::POST,
            "/v1/records/destructions",
            Some(officer),
            Some(destroy(vec!["due-1", "young-1"])),
        )
        .await;
    let problem = young.problem(422);
    assert_eq!(problem["errors"][0]["field"], "children[1]", "{problem}");
    let message = problem["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("not due: kept until 2036-06-01"), "{message}");
    assert!(
        store
            .read_stream("due-1".parse().unwrap(), journey_core::Version::FIRST, 10)
            .await
            .is_ok()
    );

    // Held: refused naming the hold.
    let hold = h
        .call(
            Method::POST,
            "/v1/children/held-1/holds",
            Some(officer),
            Some(json!({"reason": "Litigation: claim 2024/117"})),
        )
        .await;
    assert_eq!(hold.status, 201, "{}", hold.text);
    let held = h
        .call(
            Method::POST,
            "/v1/records/destructions",
            Some(officer),
            Some(destroy(vec!["held-1"])),
        )
        .await;
    let message = held.problem(422)["errors"][0]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(message.contains("a hold is in force (hold-1)"), "{message}");

    // Bad input names the field.
    let bad = h
        .call(
            Method::POST,
            "/v1/records/destructions",
            Some(officer),
            Some(json!({ "children": ["due-1", "due-1"], "reason": " " })),
        )
        .await;
    let fields: Vec<&str> = bad.problem(422)["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["reason", "children[1]"]);
    // An investigator may not.
    let investigator = h
        .call(
            Method::POST,
            "/v1/records/destructions",
            Some(h.token(Role::Investigator)),
            Some(destroy(vec!["due-1"])),
        )
        .await;
    assert_eq!(investigator.status, 403);

    // Due: destroyed, certified.
    let head_before = store.head().await.unwrap();
    let done = h
        .call(
            Method::POST,
            "/v1/records/destructions",
            Some(officer),
            Some(destroy(vec!["due-1", "due-2"])),
        )
        .await;
    assert_eq!(done.status, 201, "{}", done.text);
    let certificate = &done.body;
    assert_eq!(certificate["destruction_id"], "destruction-3", "{certificate}");
    assert_eq!(certificate["authorised_by"], "the-records-officer");
    assert!(certificate["destroyed_at"].is_string());
    assert_eq!(certificate["policy"], "retention");
    let first = &certificate["children"][0];
    assert_eq!(first["child_id"], "due-1");
    assert_eq!(first["destroy_from_year"], 2021, "{first}");
    assert_eq!(first["records"], 2);
    // No content: nothing of the records but ids, rules, dates, positions and hashes.
    // No content: no date of the record, no event id, and not the day it became due (which would tell the
    // date of birth).
    for content in [
        "2005-03-01",
        "2000-01-01",
        "2000-02-01",
        "2021-01-01",
        "due-1-r",
        "due-1-c",
    ] {
        assert!(!done.text.contains(content), "{content} in {}", done.text);
    }

    let gone = h
        .call(
            Method::GET,
            "/v1/children/due-1/events",
            Some(h.token(Role::Admin)),
            None,
        )
        .await;
    assert_eq!(gone.status, 410, "{}", gone.text);
    assert!(
        store
            .read_stream("young-1".parse().unwrap(), journey_core::Version::FIRST, 10)
            .await
            .is_ok()
    );
    let verified = store.verify().await.unwrap();
    assert!(verified.first_broken.is_none());
    assert_eq!(
        store.head().await.unwrap(),
        head_before,
        "destruction wrote nothing to the log"
    );

    // Returns, measures and the records due pass over the destroyed children.
    let admin = h.token(Role::Admin);
    for uri in [
        "/v1/returns/ssda903/2023-24",
        "/v1/measures?from=2023-04-01&to=2024-03-31",
        "/v1/records/due?on=2024-01-03",
    ] {
        let reply = h.call(Method::GET, uri, Some(admin), None).await;
        assert_eq!(reply.status, 200, "{uri}: {}", reply.text);
        assert!(
            !reply.text.contains("due-1"),
            "{uri} names a destroyed child: {}",
            reply.text
        );
    }

    // The journal has the two refusals and the certificate; the certificates are listed.
    let records = h
        .state
        .journal
        .read_stream(&destructions_stream(), 1, 10)
        .await
        .unwrap();
    // A refusal keeps its grounds, but not the record's dates (it outlives the record).
    assert_eq!(
        records[0].body["refused"][0]["grounds"], "not due before 2036",
        "{}",
        records[0].body
    );
    assert_eq!(
        records[1].body["refused"][0]["grounds"], "held",
        "{}",
        records[1].body
    );
    assert!(
        !records[0].body.to_string().contains("2036-06-01"),
        "{}",
        records[0].body
    );
    let kinds: Vec<&str> = records.iter().map(|r| r.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            DESTRUCTION_REFUSED,
            DESTRUCTION_REFUSED,
            "DestructionAuthorised",
            DESTRUCTION_CERTIFIED
        ]
    );
    let listed = h
        .call(Method::GET, "/v1/records/destructions", Some(officer), None)
        .await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert_eq!(listed.body[0]["destruction_id"], "destruction-3");
    assert!(listed.body[0]["destroyed_at"].is_string());
}
