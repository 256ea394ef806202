//! Subject access requests end to end (issue #20): recorded, due in a month, a bundle in JSON and HTML that
//! discloses no withheld value and misses nothing the child is entitled to, every read access-logged with
//! the request as purpose, a reviewer's serious-harm decision, a release whose bundle can be made again byte
//! for byte, and records officers alone.

use std::sync::Arc;

use axum::http::Method;
use journey_api::Role;
use journey_core::store::{EventStore, InMemoryStore};
use journey_core::testkit::{self, NamedFamily, named_family};
use journey_core::{ExpectedVersion, Timestamp};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::common::{Harness, add_adopted_child};

/// A harness whose clock is in 2030, holding the named family's record (recorded one minute apart).
async fn family_harness() -> (Harness, NamedFamily) {
    let clock = testkit::clock();
    clock.set("2030-01-01T09:00:00Z".parse::<Timestamp>().unwrap());
    let store = Arc::new(InMemoryStore::new(clock.clone()));
    let family = named_family();
    for event in family.events.clone() {
        store
            .append(testkit::append(
                family.child_id.as_str(),
                ExpectedVersion::Any,
                vec![event],
            ))
            .await
            .unwrap();
        clock.advance_micros(60_000_000);
    }
    let h = Harness::with_store(journey_api::Config::default(), clock, store.clone(), store).await;
    (h, family)
}

fn request_for(child: &str) -> Value {
    json!({
        "child_id": child,
        "requester": "subject",
        "authority": "Photo ID seen at the council's office; case file SAR-2029-117",
        "received_on": "2029-12-14",
        "reference": "SAR-2029-117",
    })
}

fn officer(h: &Harness) -> Option<&str> {
    Some(h.token(Role::RecordsOfficer))
}

#[tokio::test]
async fn a_request_is_recorded_due_in_a_month_and_its_bundle_discloses_nothing_withheld() {
    let (h, family) = family_harness().await;
    let created = h
        .call(
            Method::POST,
            "/v1/subject-access",
            officer(&h),
            Some(request_for(family.child_id.as_str())),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.body["request_id"], "sar-1");
    // 14 December 2029 + one month is 14 January 2030, a Monday.
    assert_eq!(created.body["due_on"], "2030-01-14");
    assert_eq!(created.body["status"], "open");
    let list = h.call(Method::GET, "/v1/subject-access", officer(&h), None).await;
    assert_eq!(list.body["open"], json!(["sar-1"]));
    assert_eq!(list.body["overdue"], json!([]));

    let as_json = h
        .call(Method::GET, "/v1/subject-access/sar-1/bundle", officer(&h), None)
        .await;
    assert_eq!(as_json.status, 200, "{}", as_json.text);
    assert_eq!(as_json.body["status"], "draft");
    let as_html = h
        .call(
            Method::GET,
            "/v1/subject-access/sar-1/bundle?format=html",
            officer(&h),
            None,
        )
        .await;
    assert_eq!(as_html.status, 200, "{}", as_html.text);
    assert!(as_html.content_type().starts_with("text/html"));
    for (format, text) in [("json", &as_json.text), ("html", &as_html.text)] {
        for value in &family.withheld {
            assert!(
                !text.contains(value),
                "{value:?} was disclosed in the {format} bundle"
            );
        }
        for value in &family.entitled {
            assert!(
                text.contains(value),
                "{value:?} is missing from the {format} bundle"
            );
        }
    }
    // The officer's schedule names whose data each redaction was; the bundle never does.
    let schedule = h
        .call(
            Method::GET,
            "/v1/subject-access/sar-1/schedule",
            officer(&h),
            None,
        )
        .await;
    assert_eq!(schedule.status, 200, "{}", schedule.text);
    assert!(schedule.text.contains("P-0102"));

    // Every read for the request is access-logged with the request as its purpose.
    let log = h
        .call(
            Method::GET,
            &format!("/v1/access-log?child_id={}", family.child_id),
            Some(h.token(Role::Admin)),
            None,
        )
        .await;
    let reads: Vec<&Value> = log.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["view"] == "subject-access")
        .collect();
    assert_eq!(reads.len(), 3, "{}", log.text);
    assert!(
        reads
            .iter()
            .all(|e| e["purpose"] == "subject access request sar-1")
    );
}

#[tokio::test]
async fn a_withheld_entry_and_a_release_that_can_be_made_again_byte_for_byte() {
    let (h, family) = family_harness().await;
    h.call(
        Method::POST,
        "/v1/subject-access",
        officer(&h),
        Some(request_for(family.child_id.as_str())),
    )
    .await;
    let draft = h
        .call(Method::GET, "/v1/subject-access/sar-1/bundle", officer(&h), None)
        .await;
    let entry = draft.body["entries"][5].clone();
    let reason = "Reviewer: disclosure of this entry would be likely to cause serious harm";
    let withheld = h
        .call(
            Method::POST,
            "/v1/subject-access/sar-1/withholdings",
            officer(&h),
            Some(json!({"event_id": entry["event_id"], "reason": reason})),
        )
        .await;
    assert_eq!(withheld.status, 200, "{}", withheld.text);
    assert_eq!(withheld.body["withheld"][0]["event_id"], entry["event_id"]);
    // Not an entry of the bundle: refused naming the field.
    let unknown = h
        .call(
            Method::POST,
            "/v1/subject-access/sar-1/withholdings",
            officer(&h),
            Some(json!({"event_id": "no-such-event", "reason": reason})),
        )
        .await;
    unknown.problem(422);
    assert_eq!(unknown.fields(), ["event_id"]);

    let released = h
        .call(
            Method::POST,
            "/v1/subject-access/sar-1/release",
            officer(&h),
            None,
        )
        .await;
    assert_eq!(released.status, 200, "{}", released.text);
    assert_eq!(released.body["status"], "released");
    assert_eq!(released.body["late"], false);
    let sha256 = released.body["released"]["sha256"].as_str().unwrap().to_owned();

    // More records arrive; the released bundle is made again as it was released.
    h.store
        .append(testkit::append(
            family.child_id.as_str(),
            ExpectedVersion::Any,
            vec![testkit::contact("after-release", "2029-12-20")],
        ))
        .await
        .unwrap();
    for _ in 0..2 {
        let again = h
            .call(Method::GET, "/v1/subject-access/sar-1/bundle", officer(&h), None)
            .await;
        assert_eq!(again.body["status"], "released");
        assert_eq!(hex::encode(Sha256::digest(again.text.as_bytes())), sha256);
        let shown = again.body["entries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["event_id"] == entry["event_id"])
            .unwrap();
        assert_eq!(shown["withheld"], true);
        assert_eq!(shown["summary"], "[withheld]");
        assert!(!again.text.contains(reason));
    }
    // A released request changes no more.
    let late = h
        .call(
            Method::POST,
            "/v1/subject-access/sar-1/extension",
            officer(&h),
            Some(json!({"reason": "complex"})),
        )
        .await;
    late.problem(409);
}

#[tokio::test]
async fn a_request_about_a_parent_covers_the_entries_with_her_data() {
    let (h, family) = family_harness().await;
    let body = json!({
        "person_id": family.mother,
        "requester": "subject",
        "authority": "Photo ID seen; case file SAR-2029-118",
        "received_on": "2029-12-01",
    });
    let created = h
        .call(Method::POST, "/v1/subject-access", officer(&h), Some(body))
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let bundle = h
        .call(Method::GET, "/v1/subject-access/sar-1/bundle", officer(&h), None)
        .await;
    assert_eq!(bundle.status, 200, "{}", bundle.text);
    let entries = bundle.body["entries"].as_array().unwrap();
    assert!(!entries.is_empty());
    assert!(entries.iter().all(|e| e["child_id"] == family.child_id.as_str()));
    assert!(bundle.text.contains("Harriet Quennell"));
    for other in ["Desmond", "Gwendolyn", "07700 900123", "Milo"] {
        assert!(!bundle.text.contains(other), "{other} disclosed to the mother");
    }
}

#[tokio::test]
async fn bad_requests_name_each_field_and_only_records_officers_may_ask() {
    let (h, family) = family_harness().await;
    let bad = h
        .call(
            Method::POST,
            "/v1/subject-access",
            officer(&h),
            Some(json!({
                "child_id": family.child_id,
                "person_id": "P-0001",
                "requester": "parent",
                "authority": " ",
                "received_on": "2031-01-01",
            })),
        )
        .await;
    bad.problem(422);
    assert_eq!(bad.fields(), ["child_id", "authority", "received_on"]);
    let list = h.call(Method::GET, "/v1/subject-access", officer(&h), None).await;
    assert_eq!(list.body["requests"], json!([]), "nothing was recorded");

    for role in [
        Role::Admin,
        Role::Investigator,
        Role::SealedRecords,
        Role::Integrator,
    ] {
        let refused = h
            .call(
                Method::POST,
                "/v1/subject-access",
                Some(h.token(role)),
                Some(request_for(family.child_id.as_str())),
            )
            .await;
        refused.problem(403);
    }
    // A sealed adoption record does not exist to a records officer: the same 404 as for no child.
    add_adopted_child(&h, "sealed-sar").await;
    let sealed = h
        .call(
            Method::POST,
            "/v1/subject-access",
            officer(&h),
            Some(request_for("sealed-sar")),
        )
        .await;
    let nobody = h
        .call(
            Method::POST,
            "/v1/subject-access",
            officer(&h),
            Some(request_for("nobody-sar")),
        )
        .await;
    sealed.problem(404);
    assert_eq!(
        sealed.body["detail"].as_str().unwrap().replace("sealed-sar", "X"),
        nobody.body["detail"].as_str().unwrap().replace("nobody-sar", "X")
    );
}
