//! Every route × every role, and no key, a malformed key, an unknown key and a revoked key: the exact
//! status of each cell. To cover a new route, add a row to `routes()`.

use std::sync::atomic::{AtomicUsize, Ordering};

use axum::http::Method;
use journey_api::Role;
use serde_json::{Value, json};

use crate::common::{CHILD, Harness, contact_body, request};

/// The roles in the order of `Row::by_role`.
const ROLES: [Role; 6] = [
    Role::Integrator,
    Role::PolicyAuthor,
    Role::Investigator,
    Role::RecordsOfficer,
    Role::Admin,
    Role::SealedRecords,
];

struct Row {
    method: Method,
    /// `{spare}` is replaced by a key id that exists.
    path: &'static str,
    /// A valid body for the `n`th call (bodies must differ where the route refuses repeats).
    body: fn(usize) -> Option<Value>,
    /// Expected status for integrator, policy-author, investigator, records-officer, admin, sealed-records.
    by_role: [u16; 6],
    /// Expected status with no key, a malformed key, an unknown key and a revoked key.
    anonymous: u16,
}

fn none(_: usize) -> Option<Value> {
    None
}

fn routes() -> Vec<Row> {
    let row = |method, path, body, by_role, anonymous| Row {
        method,
        path,
        body,
        by_role,
        anonymous,
    };
    let child_reads = ["events", "summary", "chronology", "export"].map(|view| {
        let path: &'static str = Box::leak(format!("/v1/children/{CHILD}/{view}").into_boxed_str());
        row(
            Method::GET,
            path,
            none as fn(usize) -> Option<Value>,
            [403, 403, 200, 403, 200, 200],
            401,
        )
    });
    let mut rows = vec![row(
        Method::POST,
        "/v1/children/child-1/events",
        (|n| Some(contact_body(&format!("table-{n}")))) as fn(usize) -> Option<Value>,
        [201, 403, 403, 403, 201, 403],
        401,
    )];
    rows.extend(child_reads);
    rows.extend([
        row(Method::GET, "/v1/log", none, [403, 403, 403, 403, 200, 403], 401),
        row(Method::GET, "/v1/feed", none, [403, 403, 403, 403, 200, 403], 401),
        row(
            Method::GET,
            "/v1/verify",
            none,
            [403, 403, 200, 403, 200, 403],
            401,
        ),
        row(
            Method::POST,
            "/v1/keys",
            |n| Some(json!({ "name": format!("table-key-{n}"), "role": "investigator" })),
            [403, 403, 403, 403, 201, 403],
            401,
        ),
        row(Method::GET, "/v1/keys", none, [403, 403, 403, 403, 200, 403], 401),
        row(
            Method::POST,
            "/v1/keys/{spare}/revoke",
            none,
            [403, 403, 403, 403, 200, 403],
            401,
        ),
        row(
            Method::GET,
            "/v1/access-log",
            none,
            [403, 403, 403, 403, 200, 403],
            401,
        ),
        row(
            Method::GET,
            "/v1/returns/ssda903/2024-25",
            none,
            [403, 403, 403, 403, 200, 403],
            401,
        ),
        row(
            Method::GET,
            "/v1/returns/ssda903/2024-25/tables/episodes.csv",
            none,
            [403, 403, 403, 403, 200, 403],
            401,
        ),
        row(
            Method::GET,
            "/v1/returns/cin/2024-25?la_code=878",
            none,
            [403, 403, 403, 403, 200, 403],
            401,
        ),
        row(
            Method::GET,
            "/v1/returns/annex-a?start=2024-04-01&end=2025-03-31",
            none,
            [403, 403, 403, 403, 200, 403],
            401,
        ),
        row(
            Method::GET,
            "/v1/returns/annex-a/workbook?start=2024-04-01&end=2025-03-31",
            none,
            [403, 403, 403, 403, 200, 403],
            401,
        ),
        row(
            Method::GET,
            "/v1/returns/annex-a/lists/8?start=2024-04-01&end=2025-03-31",
            none,
            [403, 403, 403, 403, 200, 403],
            401,
        ),
        row(
            Method::GET,
            "/v1/children/child-1/timeline",
            none,
            [403, 403, 200, 403, 200, 200],
            401,
        ),
        row(
            Method::GET,
            "/v1/policies",
            none,
            [403, 200, 200, 403, 200, 403],
            401,
        ),
        row(
            Method::POST,
            "/v1/policies",
            |_| Some(crate::common::deploy_body("policies/statutory-timescales", true)),
            [403, 200, 403, 403, 200, 403],
            401,
        ),
        row(
            Method::GET,
            "/v1/policies/statutory-timescales/versions/2.0.0",
            none,
            [403, 200, 200, 403, 200, 403],
            401,
        ),
        row(
            Method::POST,
            "/v1/policies/statutory-timescales/versions/2.0.0/activate",
            none,
            [403, 200, 403, 403, 200, 403],
            401,
        ),
        row(
            Method::POST,
            "/v1/policies/statutory-timescales/versions/2.0.0/test",
            none,
            [403, 200, 403, 403, 200, 403],
            401,
        ),
        row(
            Method::POST,
            "/v1/policies/statutory-timescales/versions/2.0.0/dry-run",
            |_| Some(json!({ "limit": 5 })),
            [403, 200, 403, 403, 200, 403],
            401,
        ),
        row(
            Method::POST,
            "/v1/children/child-1/policies/statutory-timescales/evaluate",
            none,
            [403, 403, 200, 403, 200, 403],
            401,
        ),
        row(
            Method::POST,
            "/v1/decisions/1/replay",
            none,
            [403, 403, 200, 403, 200, 403],
            401,
        ),
        // Last of the policy rows: it retires the version (again and again: retiring is idempotent).
        row(
            Method::POST,
            "/v1/policies/levels-of-need/versions/1.1.0/retire",
            |_| Some(json!({ "reason": "role table test" })),
            [403, 200, 403, 403, 200, 403],
            401,
        ),
        row(
            Method::GET,
            "/v1/measures?from=2024-04-01&to=2025-03-31",
            none,
            [403, 403, 200, 403, 200, 403],
            401,
        ),
        row(
            Method::GET,
            "/v1/measures/sections/adoption?from=2024-04-01&to=2025-03-31",
            none,
            [403, 403, 200, 403, 200, 403],
            401,
        ),
        row(
            Method::GET,
            "/v1/measures/report?from=2024-04-01&to=2025-03-31",
            none,
            [403, 403, 200, 403, 200, 403],
            401,
        ),
        // Records management: holds (investigators, records officers and admins) and the records due
        // (records officers and admins). Lifting a hold that was never placed: 404 to whoever may lift.
        row(
            Method::POST,
            "/v1/children/child-1/holds",
            |n| Some(json!({ "reason": format!("role table test {n}") })),
            [403, 403, 201, 201, 201, 403],
            401,
        ),
        row(
            Method::GET,
            "/v1/children/child-1/holds",
            none,
            [403, 403, 200, 200, 200, 403],
            401,
        ),
        row(
            Method::POST,
            "/v1/children/child-1/holds/hold-999999/lift",
            |_| Some(json!({ "reason": "role table test" })),
            [403, 403, 404, 404, 404, 403],
            401,
        ),
        row(
            Method::GET,
            "/v1/records/due?on=2025-01-01",
            none,
            [403, 403, 403, 200, 200, 403],
            401,
        ),
        row(
            Method::GET,
            "/v1/records/duplicates",
            none,
            [403, 403, 403, 403, 200, 403],
            401,
        ),
        // Merges (admins only). The table merges into a child that does not exist (404), and undoes a merge
        // that was never made (404): it asks who may, without changing the record the other rows read.
        row(
            Method::POST,
            "/v1/children/child-1/merge",
            |_| Some(json!({ "into": "no-such-child", "reason": "role table" })),
            [403, 403, 403, 403, 404, 403],
            401,
        ),
        row(
            Method::POST,
            "/v1/children/child-1/unmerge",
            |_| Some(json!({ "reason": "role table" })),
            [403, 403, 403, 403, 404, 403],
            401,
        ),
        row(
            Method::GET,
            "/v1/merges",
            none,
            [403, 403, 403, 403, 200, 403],
            401,
        ),
        // Destruction (records officers and admins): this store keeps content in the clear, so erasure is a
        // conflict for those who may ask (the sealed case is `destructions.rs`).
        row(
            Method::POST,
            "/v1/records/destructions",
            |n| Some(json!({ "children": ["child-1"], "reason": format!("role table test {n}") })),
            [403, 403, 403, 409, 409, 403],
            401,
        ),
        row(
            Method::GET,
            "/v1/records/destructions",
            none,
            [403, 403, 403, 200, 200, 403],
            401,
        ),
        // Reviews: admins create them; investigators (and admins) list them and read the ones naming them (an
        // investigator this review does not name is told it does not exist).
        row(
            Method::POST,
            "/v1/reviews",
            |n| {
                Some(
                    json!({ "name": format!("role table review {n}"), "children": ["child-1"],
                    "from": "2023-01-01", "to": "2023-12-31" }),
                )
            },
            [403, 403, 403, 403, 201, 403],
            401,
        ),
        row(
            Method::GET,
            "/v1/reviews",
            none,
            [403, 403, 200, 403, 200, 403],
            401,
        ),
        row(
            Method::GET,
            "/v1/reviews/review-1/chronology",
            none,
            [403, 403, 404, 403, 200, 403],
            401,
        ),
        // What was known at each decision: read like the chronology; points added and removed by admins and
        // the review's investigators (a point that does not exist is 404 to an admin too).
        row(
            Method::GET,
            "/v1/reviews/review-1/decisions",
            none,
            [403, 403, 404, 403, 200, 403],
            401,
        ),
        row(
            Method::POST,
            "/v1/reviews/review-1/decisions",
            |n| {
                Some(json!({ "child_id": "child-1", "occurred_on": "2023-12-20",
                    "decided_at": "2023-12-21T10:00:00Z", "label": format!("role table point {n}") }))
            },
            [403, 403, 404, 403, 201, 403],
            401,
        ),
        row(
            Method::GET,
            "/v1/reviews/review-1/decisions/dp-none",
            none,
            [403, 403, 404, 403, 404, 403],
            401,
        ),
        row(
            Method::POST,
            "/v1/reviews/review-1/decisions/dp-none/removal",
            |_| Some(json!({ "reason": "role table test" })),
            [403, 403, 404, 403, 404, 403],
            401,
        ),
        // Subject access (records officers alone, an admin included out): the request the first row records
        // is the one the later rows read.
        row(
            Method::POST,
            "/v1/subject-access",
            |n| {
                Some(json!({ "child_id": "child-1", "requester": "subject",
                    "authority": format!("role table test {n}"), "received_on": "2024-01-01" }))
            },
            [403, 403, 403, 201, 403, 403],
            401,
        ),
        row(
            Method::GET,
            "/v1/subject-access",
            none,
            [403, 403, 403, 200, 403, 403],
            401,
        ),
        row(
            Method::GET,
            "/v1/subject-access/sar-1/bundle",
            none,
            [403, 403, 403, 200, 403, 403],
            401,
        ),
        row(
            Method::GET,
            "/v1/subject-access/sar-1/schedule",
            none,
            [403, 403, 403, 200, 403, 403],
            401,
        ),
        row(
            Method::POST,
            "/v1/subject-access",
            |n| {
                Some(json!({ "child_id": "sealed-1", "requester": "subject",
                    "authority": format!("role table test {n}"), "received_on": "2024-01-01" }))
            },
            [403, 403, 403, 404, 403, 403],
            401,
        ),
        // A sealed adoption record (`sealed.rs`): it exists to the sealed-records role alone (which states a
        // legal basis); every other role is answered as for a child that does not exist.
        row(
            Method::GET,
            "/v1/children/sealed-1/summary",
            none,
            [403, 403, 404, 403, 404, 200],
            401,
        ),
        row(
            Method::GET,
            "/v1/children/sealed-1/timeline",
            none,
            [403, 403, 404, 403, 404, 200],
            401,
        ),
        row(
            Method::POST,
            "/v1/children/sealed-1/policies/statutory-timescales/evaluate",
            none,
            [403, 403, 404, 403, 404, 403],
            401,
        ),
        row(
            Method::GET,
            "/v1/children/sealed-1/identities",
            none,
            [403, 403, 403, 403, 403, 200],
            401,
        ),
        row(
            Method::POST,
            "/v1/children/sealed-1/holds",
            |n| Some(json!({ "reason": format!("role table test {n}") })),
            [403, 403, 404, 404, 404, 403],
            401,
        ),
        // Proof an outsider can check: `proof_rows` (the checkpoints are signed by the test first).
        row(Method::GET, "/login", none, [200; 6], 200),
        row(Method::POST, "/logout", none, [303; 6], 303),
        row(Method::GET, "/healthz", none, [200; 6], 200),
        row(Method::GET, "/readyz", none, [200; 6], 200),
        row(Method::GET, "/metrics", none, [200; 6], 200),
        row(Method::GET, "/openapi.json", none, [200; 6], 200),
    ]);
    rows
}

/// A witness's cosigned checkpoint, delivered again and again (a delivery already stored is accepted).
static COSIGNED: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// The proof routes (ADR 10), on a harness that signed a checkpoint of `size` leaves: checkpoints, hash
/// tiles and consistency proofs are public by default (they carry no personal data), entry bundles need a
/// key that may verify the log, an inclusion proof is a read of a child's record, a cosignature is its own
/// credential, and only an admin has a checkpoint signed.
fn proof_rows(size: u64) -> Vec<Row> {
    let at: &'static str = Box::leak(format!("/checkpoints/{size}").into_boxed_str());
    let row = |method, path, body, by_role, anonymous| Row {
        method,
        path,
        body,
        by_role,
        anonymous,
    };
    vec![
        row(Method::GET, "/checkpoint", none, [200; 6], 200),
        row(Method::GET, "/checkpoint/vkey", none, [200; 6], 200),
        row(Method::GET, at, none, [200; 6], 200),
        row(Method::GET, "/tile/0/000.p/1", none, [200; 6], 200),
        row(
            Method::GET,
            "/tile/entries/000.p/1",
            none,
            [403, 403, 200, 403, 200, 403],
            401,
        ),
        row(Method::GET, "/proof/consistency?old=1&new=2", none, [200; 6], 200),
        row(
            Method::GET,
            "/proof/inclusion?position=1",
            none,
            [403, 403, 200, 403, 200, 200],
            401,
        ),
        row(
            Method::POST,
            "/checkpoint/cosignatures",
            |_| Some(Value::String(COSIGNED.get().expect("cosigned first").clone())),
            [200; 6],
            200,
        ),
        row(
            Method::POST,
            "/v1/checkpoints",
            none,
            [403, 403, 403, 403, 200, 403],
            401,
        ),
    ]
}

#[tokio::test]
async fn every_route_with_every_role_and_every_bad_credential() {
    let (h, witnesses) = Harness::with_policies().await.with_proofs(1);
    let signed = h
        .call(Method::POST, "/v1/checkpoints", Some(h.token(Role::Admin)), None)
        .await;
    assert_eq!(signed.status, 200, "{}", signed.text);
    let note = signed.body["checkpoint"].as_str().unwrap();
    let mut cosigned = journey_core::tlog::SignedCheckpoint::parse(note.as_bytes()).unwrap();
    let line = witnesses[0].cosign(cosigned.checkpoint(), 1_700_000_000).unwrap();
    cosigned.add_signature(line).unwrap();
    COSIGNED.set(cosigned.to_string()).unwrap();
    let size = signed.body["size"].as_u64().unwrap();
    crate::common::add_adopted_child(&h, "sealed-1").await;
    let counter = AtomicUsize::new(0);
    let unknown = format!("jny_0123456789abcdef_{}", "0".repeat(64));
    let mut failures = Vec::new();
    for row in routes().into_iter().chain(proof_rows(size)) {
        let path = row.path.replace("{spare}", &h.spare_key_id);
        let mut cells: Vec<(String, Option<String>, u16)> = ROLES
            .iter()
            .zip(row.by_role)
            .map(|(role, expected)| (role.to_string(), Some(h.token(*role).to_owned()), expected))
            .collect();
        cells.push(("no key".into(), None, row.anonymous));
        cells.push(("malformed key".into(), Some("not-a-key".into()), row.anonymous));
        cells.push(("unknown key".into(), Some(unknown.clone()), row.anonymous));
        cells.push(("revoked key".into(), Some(h.revoked.clone()), row.anonymous));
        for (who, token, expected) in cells {
            let n = counter.fetch_add(1, Ordering::Relaxed);
            // Everyone states a purpose, so that the role alone decides.
            let headers = [
                ("x-journey-purpose", "role table test"),
                ("x-journey-legal-basis", "role table test"),
            ];
            let req = request(
                row.method.clone(),
                &path,
                token.as_deref(),
                &headers,
                (row.body)(n),
            );
            let reply = h.send(req).await;
            if reply.status.as_u16() != expected {
                failures.push(format!(
                    "{} {path} as {who}: expected {expected}, got {} {}",
                    row.method, reply.status, reply.text
                ));
            } else if expected >= 400 {
                reply.problem(expected);
                if expected == 401 {
                    assert!(reply.headers.contains_key("www-authenticate"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn an_investigator_must_state_a_purpose() {
    let h = Harness::new().await;
    let before = h
        .state
        .journal
        .stream_version(&journey_api::access::access_stream());
    for view in ["events", "summary", "chronology", "export"] {
        let reply = h
            .call(
                Method::GET,
                &format!("/v1/children/{CHILD}/{view}"),
                Some(h.token(Role::Investigator)),
                None,
            )
            .await;
        reply.problem(400);
        assert_eq!(reply.fields(), ["X-Journey-Purpose"]);
    }
    // Nothing was read, so nothing was logged.
    let after = h
        .state
        .journal
        .stream_version(&journey_api::access::access_stream());
    assert_eq!(before, after);
}

#[tokio::test]
async fn a_key_revoked_over_http_stops_working_at_once() {
    let h = Harness::new().await;
    let admin = h.token(Role::Admin);
    let created = h
        .call(
            Method::POST,
            "/v1/keys",
            Some(admin),
            Some(json!({ "name": "short-lived", "role": "admin" })),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let token = created.body["token"].as_str().unwrap().to_owned();
    let key_id = created.body["key"]["key_id"].as_str().unwrap().to_owned();
    assert!(created.body["key"].get("secret_sha256").is_none());
    assert_eq!(
        h.call(Method::GET, "/v1/keys", Some(&token), None).await.status,
        200
    );
    let revoked = h
        .call(
            Method::POST,
            &format!("/v1/keys/{key_id}/revoke"),
            Some(admin),
            None,
        )
        .await;
    assert_eq!(revoked.status, 200, "{}", revoked.text);
    assert!(revoked.body["revoked_at"].is_string());
    let refused = h.call(Method::GET, "/v1/keys", Some(&token), None).await;
    refused.problem(401);
    assert!(refused.body["detail"].as_str().unwrap().contains("revoked"));
    // The listing shows names, roles and states, never a secret or a hash.
    let listed = h.call(Method::GET, "/v1/keys", Some(admin), None).await;
    assert!(!listed.text.contains(&token[21..]));
    assert!(!listed.text.contains("sha256"));
}

#[tokio::test]
async fn key_rules_are_field_problems() {
    let h = Harness::new().await;
    let admin = h.token(Role::Admin);
    let no_agency = h
        .call(
            Method::POST,
            "/v1/keys",
            Some(admin),
            Some(json!({ "name": "feed", "role": "integrator" })),
        )
        .await;
    no_agency.problem(422);
    assert_eq!(no_agency.fields(), ["agency"]);
    let bad_role = h
        .call(
            Method::POST,
            "/v1/keys",
            Some(admin),
            Some(json!({ "name": "x", "role": "root" })),
        )
        .await;
    bad_role.problem(422);
    assert_eq!(bad_role.fields(), ["role"]);
    let taken = h
        .call(
            Method::POST,
            "/v1/keys",
            Some(admin),
            Some(json!({ "name": "the-admin", "role": "admin" })),
        )
        .await;
    taken.problem(409);
    let missing = h
        .call(
            Method::POST,
            "/v1/keys/0000000000000000/revoke",
            Some(admin),
            None,
        )
        .await;
    missing.problem(404);
}
