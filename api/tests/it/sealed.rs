//! Sealed adoption records: hidden from every ordinary role (answered as if the child did not exist),
//! opened only by the `sealed-records` role with a legal basis, and counted in returns under a pseudonym.

use axum::http::Method;
use journey_api::Role;
use journey_core::testkit;
use serde_json::json;

use crate::common::{Harness, Reply, request};

const ADOPTED: &str = "adopted-1";
const PURPOSE: (&str, &str) = ("x-journey-purpose", "adoption support request 2024/7");
const BASIS: (&str, &str) = (
    "x-journey-legal-basis",
    "Adoption and Children Act 2002 s60(2): the adopted adult's request",
);

/// A harness with a child looked after from 2021 and adopted on 6 December 2023.
async fn with_adopted_child() -> Harness {
    let h = Harness::new().await;
    crate::common::add_adopted_child(&h, ADOPTED).await;
    h
}

async fn get(h: &Harness, role: Role, uri: &str, headers: &[(&str, &str)]) -> Reply {
    h.send(request(Method::GET, uri, Some(h.token(role)), headers, None))
        .await
}

#[tokio::test]
async fn a_sealed_record_is_answered_as_if_the_child_did_not_exist() {
    let h = with_adopted_child().await;
    for view in ["events", "summary", "chronology", "export", "timeline"] {
        for role in [Role::Investigator, Role::Admin] {
            let sealed = get(
                &h,
                role,
                &format!("/v1/children/{ADOPTED}/{view}"),
                &[PURPOSE, BASIS],
            )
            .await;
            let nobody = get(
                &h,
                role,
                &format!("/v1/children/nobody-1/{view}"),
                &[PURPOSE, BASIS],
            )
            .await;
            assert_eq!(sealed.status, 404, "{role} {view}: {}", sealed.text);
            assert_eq!(
                sealed.text.replace(ADOPTED, "X"),
                nobody.text.replace("nobody-1", "X"),
                "{role} {view}: the same answer as for a child that does not exist"
            );
        }
    }
    // Placing a hold on it: the same.
    let hold = json!({"reason": "Inquiry 12"});
    let officer = Some(h.token(Role::RecordsOfficer));
    let sealed = h
        .call(
            Method::POST,
            &format!("/v1/children/{ADOPTED}/holds"),
            officer,
            Some(hold.clone()),
        )
        .await;
    let nobody = h
        .call(Method::POST, "/v1/children/nobody-1/holds", officer, Some(hold))
        .await;
    assert_eq!(sealed.status, 404, "{}", sealed.text);
    assert_eq!(
        sealed.text.replace(ADOPTED, "X"),
        nobody.text.replace("nobody-1", "X")
    );

    // The log passes over it, and still moves on past its records.
    let log = get(&h, Role::Admin, "/v1/log", &[PURPOSE]).await;
    assert_eq!(log.status, 200, "{}", log.text);
    assert!(!log.text.contains(ADOPTED), "{}", log.text);
    assert_eq!(
        log.body["next_position"], 8,
        "two records of child-1, five of the adopted child"
    );
}

#[tokio::test]
async fn the_sealed_records_role_opens_it_with_a_legal_basis_and_the_access_log_names_it() {
    let h = with_adopted_child().await;
    let uri = format!("/v1/children/{ADOPTED}/chronology");
    let without = get(&h, Role::SealedRecords, &uri, &[PURPOSE]).await;
    without.problem(400);
    assert_eq!(without.fields(), ["X-Journey-Legal-Basis"]);
    let opened = get(&h, Role::SealedRecords, &uri, &[PURPOSE, BASIS]).await;
    assert_eq!(opened.status, 200, "{}", opened.text);
    assert_eq!(opened.body["entries"].as_array().unwrap().len(), 5);
    // An ordinary child needs no legal basis.
    let ordinary = get(
        &h,
        Role::SealedRecords,
        "/v1/children/child-1/summary",
        &[PURPOSE],
    )
    .await;
    assert_eq!(ordinary.status, 200, "{}", ordinary.text);

    let log = get(
        &h,
        Role::Admin,
        &format!("/v1/access-log?child_id={ADOPTED}"),
        &[],
    )
    .await;
    assert_eq!(log.status, 200, "{}", log.text);
    let entries = log.body["entries"].as_array().unwrap();
    let opening = entries
        .iter()
        .find(|e| e["role"] == "sealed-records" && e["view"] == "chronology")
        .unwrap_or_else(|| panic!("{}", log.text));
    assert_eq!(opening["legal_basis"], BASIS.1, "{opening}");
    assert_eq!(opening["purpose"], PURPOSE.1);
}

#[tokio::test]
async fn returns_count_a_sealed_child_under_a_pseudonym() {
    let h = with_adopted_child().await;
    let reply = get(
        &h,
        Role::Admin,
        "/v1/returns/ssda903/2023-24/tables/episodes",
        &[],
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert!(!reply.text.contains(ADOPTED), "{}", reply.text);
    let pseudonym = h
        .state
        .sealed
        .pseudonym(h.state.journal.as_ref(), &testkit::child(ADOPTED))
        .await
        .unwrap();
    assert!(pseudonym.as_str().starts_with('Z') && pseudonym.as_str().len() == 10);
    assert!(
        reply.text.contains(pseudonym.as_str()) && reply.text.contains("E11"),
        "the adoption is counted: {}",
        reply.text
    );
    // Stable: the same pseudonym next time (the DfE links a child across years).
    let again = h
        .state
        .sealed
        .pseudonym(h.state.journal.as_ref(), &testkit::child(ADOPTED))
        .await
        .unwrap();
    assert_eq!(pseudonym, again);
}

#[tokio::test]
async fn the_link_between_identities_is_shown_to_the_sealed_records_role_alone() {
    let h = with_adopted_child().await;
    let new = format!("{ADOPTED}-new");
    for role in [Role::Investigator, Role::Admin, Role::RecordsOfficer] {
        let refused = get(
            &h,
            role,
            &format!("/v1/children/{new}/identities"),
            &[PURPOSE, BASIS],
        )
        .await;
        assert_eq!(refused.status, 403, "{role}: {}", refused.text);
    }
    let without = get(
        &h,
        Role::SealedRecords,
        &format!("/v1/children/{new}/identities"),
        &[PURPOSE],
    )
    .await;
    without.problem(400);
    let from_new = get(
        &h,
        Role::SealedRecords,
        &format!("/v1/children/{new}/identities"),
        &[PURPOSE, BASIS],
    )
    .await;
    assert_eq!(from_new.status, 200, "{}", from_new.text);
    assert_eq!(from_new.body["continued_from"], json!([ADOPTED]));
    let from_old = get(
        &h,
        Role::SealedRecords,
        &format!("/v1/children/{ADOPTED}/identities"),
        &[PURPOSE, BASIS],
    )
    .await;
    assert_eq!(from_old.body["continued_as"], json!([new]));
    assert_eq!(from_old.body["sealed_since"], "2023-12-06");
    let log = get(
        &h,
        Role::Admin,
        "/v1/access-log?principal=the-sealed-records",
        &[],
    )
    .await;
    let views: Vec<&str> = log.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["view"].as_str())
        .collect();
    assert_eq!(
        views,
        ["identities", "identities"],
        "every successful look is access-logged"
    );
}
