//! Reviews (issue #21, first part): a review is a record naming its children (found by family identifier
//! too), its period and its investigators; the family chronology in valid-time order with its filters; a key
//! scoped to reviews reads only its reviews' children, within the review, and is refused everywhere else.

use axum::http::Method;
use journey_api::Role;
use journey_core::store::EventStore;
use journey_core::{ExpectedVersion, NewEvent, testkit};
use serde_json::{Value, json};

use crate::common::{AGENCY, Harness};

fn event(id: &str, on: &str, kind: &str, data: Value) -> NewEvent {
    serde_json::from_value(json!({
        "event_id": id, "occurred_at": on, "source": {"agency": AGENCY, "system": "cms"},
        "type": kind, "data": data,
    }))
    .unwrap()
}

/// Two siblings of family FAM-77 and a child of another family, each registered and then contacted.
async fn family(h: &Harness) {
    for (child, family, born, contact) in [
        ("sib-1", "FAM-77", "2016-02-01", "2023-05-10"),
        ("sib-2", "FAM-77", "2019-07-01", "2023-05-09"),
        ("other-1", "FAM-12", "2015-01-01", "2023-05-11"),
    ] {
        let registered = event(
            &format!("{child}-r"),
            born,
            "ChildRegistered",
            json!({"date_of_birth": born, "sex": "F", "family_id": family}),
        );
        h.store
            .append(testkit::append(
                child,
                ExpectedVersion::NoStream,
                vec![registered, testkit::contact(&format!("{child}-c"), contact)],
            ))
            .await
            .unwrap();
    }
}

async fn key(h: &Harness, name: &str, reviews_only: bool) -> (String, String) {
    let created = h
        .call(
            Method::POST,
            "/v1/keys",
            Some(h.token(Role::Admin)),
            Some(json!({"name": name, "role": "investigator", "reviews_only": reviews_only})),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    (
        created.body["key"]["key_id"].as_str().unwrap().to_owned(),
        created.body["token"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn a_review_covers_the_family_and_its_scoped_key_reads_nothing_else() {
    let h = Harness::new().await;
    family(&h).await;
    let (scoped_id, scoped) = key(&h, "cspr-reviewer", true).await;
    let (_, unnamed) = key(&h, "other-investigator", false).await;
    let created = h
        .call(
            Method::POST,
            "/v1/reviews",
            Some(h.token(Role::Admin)),
            Some(
                json!({"name": "CSPR-2026-04", "family_id": "FAM-77", "from": "2023-01-01",
                        "to": "2023-12-31", "investigators": [scoped_id]}),
            ),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.body["review_id"], "review-1");
    assert_eq!(created.body["children"], json!(["sib-1", "sib-2"]));

    // The family chronology: both siblings, in the order things happened.
    let family = h
        .call(
            Method::GET,
            "/v1/reviews/review-1/chronology",
            Some(&scoped),
            None,
        )
        .await;
    assert_eq!(family.status, 200, "{}", family.text);
    let ids: Vec<&str> = family.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["sib-1-r", "sib-2-r", "sib-2-c", "sib-1-c"]);
    let entry = &family.body["entries"][2];
    assert_eq!(entry["child_id"], "sib-2");
    assert_eq!(entry["source"]["agency"], AGENCY);
    assert!(entry["lag_days"].is_number() && entry["recorded_late"].is_boolean());
    for (query, expected) in [
        ("child=sib-1", 2),
        ("stage=front_door", 2),
        ("agency=la.elsewhere", 0),
    ] {
        let uri = format!("/v1/reviews/review-1/chronology?{query}");
        let reply = h.call(Method::GET, &uri, Some(&scoped), None).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        assert_eq!(
            reply.body["entries"].as_array().unwrap().len(),
            expected,
            "{query}"
        );
    }
    let bad = h
        .call(
            Method::GET,
            "/v1/reviews/review-1/chronology?stage=nowhere&child=other-1",
            Some(&scoped),
            None,
        )
        .await;
    bad.problem(400);

    // The scoped key reads the review's children, within the review; nothing else.
    let sibling = h
        .call(Method::GET, "/v1/children/sib-1/summary", Some(&scoped), None)
        .await;
    assert_eq!(sibling.status, 200, "{}", sibling.text);
    h.call(Method::GET, "/v1/children/other-1/summary", Some(&scoped), None)
        .await
        .problem(403);
    for refused in ["/v1/verify", "/v1/measures?from=2023-01-01&to=2023-12-31"] {
        h.call(Method::GET, refused, Some(&scoped), None)
            .await
            .problem(403);
    }
    let log = h
        .call(
            Method::GET,
            "/v1/access-log?child_id=sib-1",
            Some(h.token(Role::Admin)),
            None,
        )
        .await;
    let purposes: Vec<&str> = log.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["purpose"].as_str().unwrap_or(""))
        .collect();
    assert!(!purposes.is_empty());
    assert!(
        purposes
            .iter()
            .all(|p| p.starts_with("review review-1: CSPR-2026-04")),
        "{purposes:?}"
    );

    // A key the review does not name neither sees it nor reads its chronology.
    let listed = h.call(Method::GET, "/v1/reviews", Some(&unnamed), None).await;
    assert_eq!(listed.body, json!([]));
    h.call(
        Method::GET,
        "/v1/reviews/review-1/chronology",
        Some(&unnamed),
        None,
    )
    .await
    .problem(404);
    let mine = h.call(Method::GET, "/v1/reviews", Some(&scoped), None).await;
    assert_eq!(mine.body.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_bad_review_names_each_field_and_a_scoped_key_is_for_investigators() {
    let h = Harness::new().await;
    family(&h).await;
    let bad = h
        .call(
            Method::POST,
            "/v1/reviews",
            Some(h.token(Role::Admin)),
            Some(
                json!({"name": "", "family_id": "FAM-none", "from": "2023-12-31", "to": "2023-01-01",
                        "investigators": ["no-such-key"]}),
            ),
        )
        .await;
    bad.problem(422);
    assert_eq!(bad.fields(), ["name", "to", "children", "investigators[0]"]);
    let refused = h
        .call(
            Method::POST,
            "/v1/keys",
            Some(h.token(Role::Admin)),
            Some(json!({"name": "scoped-admin", "role": "admin", "reviews_only": true})),
        )
        .await;
    refused.problem(422);
    assert_eq!(refused.fields(), ["reviews_only"]);
    for role in [Role::Investigator, Role::RecordsOfficer, Role::Integrator] {
        h.call(
            Method::POST,
            "/v1/reviews",
            Some(h.token(role)),
            Some(json!({"name": "x", "children": ["sib-1"], "from": "2023-01-01", "to": "2023-12-31"})),
        )
        .await
        .problem(403);
    }
}
