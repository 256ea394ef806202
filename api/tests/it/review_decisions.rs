//! What was known at each decision (issue #21), on a worked family whose knowledge gaps are computed by
//! hand: a police contact recorded three days after a strategy discussion it preceded; a sibling's contact
//! recorded two days after; a correction of the referral's date recorded four days after, which changes
//! what the statutory timescales said (the assessment's clock starts on the referral).
//!
//! The clock (transaction time): the harness leaves it at 2024-01-03 09:00 UTC; then
//! - 2024-03-01 09:00: sib-1's referral of 2024-03-01 (decision point: a referral);
//! - 2024-03-11 09:00: sib-1's strategy discussion of 2024-03-10 (decision point: the decision's instant);
//! - 2024-03-13 09:00: sib-2's contact of 2024-03-08 (a sibling's, 2 days after the decision);
//! - 2024-03-14 09:00: sib-1's police contact of 2024-03-05 (3 days after);
//! - 2024-03-15 09:00: the correction of sib-1's referral to 2024-02-01 (4 days after).

use std::sync::Arc;

use axum::http::Method;
use journey_api::{Config, Role};
use journey_core::store::{EventStore, InMemoryStore};
use journey_core::{ExpectedVersion, NewEvent, Timestamp, testkit};
use serde_json::{Value, json};

use crate::common::Harness;

const LA: &str = "la.exampleshire";
const POLICE: &str = "police.exampleshire";
const SCHOOL: &str = "school.oaktree";
const DAY: i64 = 86_400;

fn event(id: &str, on: &str, agency: &str, kind: &str, data: Value) -> NewEvent {
    serde_json::from_value(json!({
        "event_id": id, "occurred_at": on, "source": {"agency": agency, "system": "cms"},
        "type": kind, "data": data,
    }))
    .unwrap()
}

fn instant(s: &str) -> Timestamp {
    s.parse().unwrap()
}

struct Family {
    h: Harness,
    clock: Arc<journey_core::ManualClock>,
}

impl Family {
    async fn append(&self, at: &str, child: &str, events: Vec<NewEvent>) {
        self.clock.set(instant(at));
        self.h
            .store
            .append(testkit::append(child, ExpectedVersion::Any, events))
            .await
            .unwrap();
    }
}

async fn family(with_policies: bool) -> Family {
    let clock = testkit::clock();
    let store = Arc::new(InMemoryStore::new(clock.clone()));
    let mut h = Harness::with_store(Config::default(), clock.clone(), store.clone(), store).await;
    if with_policies {
        let registry = h.reference_registry().await;
        h = h.with_registry(Arc::new(registry));
    }
    let f = Family { h, clock };
    for (child, born) in [("sib-1", "2016-02-01"), ("sib-2", "2019-07-01")] {
        let registered = event(
            &format!("{child}-r"),
            born,
            LA,
            "ChildRegistered",
            json!({"date_of_birth": born, "sex": "F", "family_id": "FAM-77"}),
        );
        f.append("2024-01-03T09:00:00Z", child, vec![registered]).await;
    }
    let referral = json!({"source": "5A", "primary_need": "N1"});
    f.append(
        "2024-03-01T09:00:00Z",
        "sib-1",
        vec![event(
            "s1-ref",
            "2024-03-01",
            LA,
            "ReferralReceived",
            referral.clone(),
        )],
    )
    .await;
    let strategy = json!({"outcome": "section_47_enquiry",
        "agencies": [{"agency": "police", "invited": true, "attended": true}]});
    f.append(
        "2024-03-11T09:00:00Z",
        "sib-1",
        vec![event(
            "s1-sd",
            "2024-03-10",
            LA,
            "StrategyDiscussionHeld",
            strategy,
        )],
    )
    .await;
    f.append(
        "2024-03-13T09:00:00Z",
        "sib-2",
        vec![event(
            "s2-c",
            "2024-03-08",
            SCHOOL,
            "ContactReceived",
            json!({"source": "2A"}),
        )],
    )
    .await;
    f.append(
        "2024-03-14T09:00:00Z",
        "sib-1",
        vec![event(
            "s1-police",
            "2024-03-05",
            POLICE,
            "ContactReceived",
            json!({"source": "5A"}),
        )],
    )
    .await;
    let correction = json!({"target_event_id": "s1-ref", "reason": "the referral was received a month earlier",
        "target_occurred_at": "2024-02-01",
        "replacement": {"type": "ReferralReceived", "data": referral}});
    f.append(
        "2024-03-15T09:00:00Z",
        "sib-1",
        vec![event("s1-fix", "2024-03-15", LA, "EventCorrected", correction)],
    )
    .await;
    f.clock.set(instant("2024-06-01T12:00:00Z"));
    f
}

async fn key(h: &Harness, name: &str) -> (String, String) {
    let created = h
        .call(
            Method::POST,
            "/v1/keys",
            Some(h.token(Role::Admin)),
            Some(json!({"name": name, "role": "investigator", "reviews_only": true})),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    (
        created.body["key"]["key_id"].as_str().unwrap().to_owned(),
        created.body["token"].as_str().unwrap().to_owned(),
    )
}

/// Creates the review of FAM-77 for 2024 naming `investigators`; returns its id.
async fn review(h: &Harness, name: &str, investigators: &[&str]) -> String {
    let created = h
        .call(
            Method::POST,
            "/v1/reviews",
            Some(h.token(Role::Admin)),
            Some(
                json!({"name": name, "family_id": "FAM-77", "from": "2024-01-01", "to": "2024-12-31",
                        "investigators": investigators}),
            ),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    created.body["review_id"].as_str().unwrap().to_owned()
}

fn point<'a>(reply: &'a Value, event_id: &str) -> &'a Value {
    reply["points"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["event_id"] == event_id)
        .unwrap_or_else(|| panic!("no point for {event_id}: {reply:#}"))
}

/// Every gap entry of a point, with the agency it is listed under.
fn gap(point: &Value) -> Vec<(String, Value)> {
    point["gap"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| {
            let agency = g["agency"].as_str().unwrap().to_owned();
            g["entries"]
                .as_array()
                .unwrap()
                .iter()
                .map(move |e| (agency.clone(), e.clone()))
        })
        .collect()
}

#[tokio::test]
async fn what_was_known_at_each_decision_of_a_worked_family() {
    let f = family(true).await;
    let h = &f.h;
    let (scoped_id, scoped) = key(h, "cspr-reviewer").await;
    let id = review(h, "CSPR-2024-01", &[&scoped_id]).await;
    let reply = h
        .call(
            Method::GET,
            &format!("/v1/reviews/{id}/decisions"),
            Some(&scoped),
            None,
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let body = &reply.body;
    assert!(body.get("policies_unavailable").is_none(), "{body:#}");
    // Proposed: the referral and the strategy discussion (contacts are not decisions), in the order taken.
    let events: Vec<&str> = body["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["event_id"].as_str().unwrap())
        .collect();
    assert_eq!(events, ["s1-ref", "s1-sd"]);
    let sd = point(body, "s1-sd");
    assert_eq!(sd["origin"], "proposed");
    assert_eq!(sd["decided_at"], "2024-03-11T09:00:00Z");
    assert_eq!(sd["occurred_at"], "2024-03-10");
    assert!(sd["point_id"].as_str().unwrap().starts_with("dp-"));

    // (a) and (c): the gap, by agency, with how late each was after the decision's instant.
    let entries = gap(sd);
    let find = |event_id: &str| {
        entries
            .iter()
            .find(|(_, e)| e["event_id"] == event_id)
            .unwrap_or_else(|| panic!("{event_id} not in the gap: {entries:#?}"))
    };
    let (agency, police) = find("s1-police");
    assert_eq!(agency, POLICE);
    assert_eq!(police["late_by_seconds"], 3 * DAY);
    assert_eq!(police["late_by_days"], 3);
    assert_eq!(police["lag_days"], 9);
    assert_eq!(police["sibling"], false);
    let (agency, sibling) = find("s2-c");
    assert_eq!(agency, SCHOOL);
    assert_eq!(sibling["child_id"], "sib-2");
    assert_eq!(sibling["sibling"], true);
    assert_eq!(sibling["late_by_seconds"], 2 * DAY);
    assert_eq!(sibling["lag_days"], 5);
    // (b) the correction of the referral (now dated 2024-02-01), recorded 4 days after.
    let (agency, fix) = find("s1-fix");
    assert_eq!(agency, LA);
    assert_eq!(fix["amends"], "s1-ref");
    assert_eq!(fix["late_by_seconds"], 4 * DAY);
    assert_eq!(entries.len(), 3, "{entries:#?}");
    assert_eq!(sd["gap_entries"], 3);

    // Known then: sib-1's registration, referral and strategy discussion; sib-2's registration.
    let known = sd["known_then"].as_array().unwrap();
    assert_eq!(known[0]["child_id"], "sib-1");
    assert_eq!(known[0]["events"], 3);
    assert_eq!(known[0]["by_agency"][LA], 3);
    assert_eq!(known[1]["child_id"], "sib-2");
    assert_eq!(known[1]["events"], 1);

    // (b) what the statutory timescales said: the assessment's clock started on the referral, 2024-03-01
    // as known then, 2024-02-01 as known now.
    let timescales = sd["policies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["policy"] == "statutory-timescales")
        .unwrap_or_else(|| panic!("{:#}", sd["policies"]));
    let assessment = |side: &str| {
        timescales[side]["decisions"]["deadlines"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["name"] == "assessment")
            .unwrap_or_else(|| panic!("{side}: {:#}", timescales[side]))
            .clone()
    };
    assert_eq!(assessment("then")["starts_on"], "2024-03-01");
    assert_eq!(assessment("now")["starts_on"], "2024-02-01");
    assert_eq!(timescales["then"]["known_at"], "2024-03-11T09:00:00Z");
    assert_eq!(timescales["now"]["known_at"], body["known_now"]);
    assert_eq!(timescales["differs"], true);
    // Every reference policy but retention, each at the version in force on the date.
    let mut policies: Vec<&str> = sd["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["policy"].as_str().unwrap())
        .collect();
    policies.sort();
    assert_eq!(
        policies,
        [
            "care-leaver-entitlements",
            "levels-of-need",
            "statutory-timescales",
            "step-up-down"
        ]
    );

    // One point by its id: the same, with the family chronology as known then, up to the decision's date.
    let point_id = sd["point_id"].as_str().unwrap();
    let one = h
        .call(
            Method::GET,
            &format!("/v1/reviews/{id}/decisions/{point_id}"),
            Some(&scoped),
            None,
        )
        .await;
    assert_eq!(one.status, 200, "{}", one.text);
    let then: Vec<&str> = one.body["points"][0]["chronology_then"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_id"].as_str().unwrap())
        .collect();
    assert_eq!(then, ["sib-1-r", "sib-2-r", "s1-ref", "s1-sd"]);
    h.call(
        Method::GET,
        &format!("/v1/reviews/{id}/decisions/dp-nowhere"),
        Some(&scoped),
        None,
    )
    .await
    .problem(404);

    // Every read is access-logged with the review as its purpose.
    let log = h
        .call(
            Method::GET,
            "/v1/access-log?child_id=sib-2",
            Some(h.token(Role::Admin)),
            None,
        )
        .await;
    let decisions_reads: Vec<&Value> = log.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["view"] == "review-decisions")
        .collect();
    // The list, the one point, and the point that does not exist (which only reading could tell).
    assert_eq!(decisions_reads.len(), 3, "{:#}", log.body);
    assert!(decisions_reads.iter().all(|e| {
        e["purpose"]
            .as_str()
            .unwrap()
            .starts_with(&format!("review {id}: CSPR-2024-01"))
    }));
}

#[tokio::test]
async fn reviewers_add_and_remove_decision_points_and_a_server_without_policies_says_so() {
    let f = family(false).await;
    let h = &f.h;
    let (scoped_id, scoped) = key(h, "cspr-reviewer").await;
    let (_, other) = key(h, "other-reviewer").await;
    let id = review(h, "CSPR-2024-02", &[&scoped_id]).await;
    let list = |token: String| {
        let uri = format!("/v1/reviews/{id}/decisions");
        async move { h.call(Method::GET, &uri, Some(&token), None).await }
    };
    let before = list(scoped.clone()).await;
    assert_eq!(before.status, 200, "{}", before.text);
    assert_eq!(
        before.body["policies_unavailable"],
        "this server runs without a policy host, so no policy was evaluated"
    );
    assert!(
        before.body["points"][0]["policies"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    // Add the police contact (an event), and a decision the record has no event for.
    let uri = format!("/v1/reviews/{id}/decisions");
    let added = h
        .call(
            Method::POST,
            &uri,
            Some(&scoped),
            Some(json!({"child_id": "sib-1", "event_id": "s1-police"})),
        )
        .await;
    assert_eq!(added.status, 201, "{}", added.text);
    assert_eq!(added.body["origin"], "added");
    assert_eq!(added.body["added_by"], "cspr-reviewer");
    assert_eq!(added.body["decided_at"], "2024-03-14T09:00:00Z");
    h.call(
        Method::POST,
        &uri,
        Some(&scoped),
        Some(json!({"child_id": "sib-1", "event_id": "s1-police"})),
    )
    .await
    .problem(409);
    let meeting = h
        .call(
            Method::POST,
            &uri,
            Some(&scoped),
            Some(json!({"child_id": "sib-2", "occurred_on": "2024-03-09",
                        "decided_at": "2024-03-12T17:00:00Z", "label": "Professionals' meeting: no action for sib-2"})),
        )
        .await;
    assert_eq!(meeting.status, 201, "{}", meeting.text);
    let meeting_id = meeting.body["point_id"].as_str().unwrap().to_owned();
    assert!(meeting_id.starts_with("dp-added-"), "{meeting_id}");

    // Bad bodies name each field at fault.
    for (body, fields) in [
        (
            json!({"child_id": "other-9", "event_id": "s1-police"}),
            vec!["child_id"],
        ),
        (
            json!({"child_id": "sib-1"}),
            vec!["occurred_on", "decided_at", "label"],
        ),
        (
            json!({"child_id": "sib-1", "event_id": "s1-sd", "label": "x"}),
            vec!["event_id"],
        ),
        (
            json!({"child_id": "sib-1", "event_id": "no-such-event"}),
            vec!["event_id"],
        ),
    ] {
        let bad = h
            .call(Method::POST, &uri, Some(&scoped), Some(body.clone()))
            .await;
        bad.problem(422);
        assert_eq!(bad.fields(), fields, "{body}");
    }

    // Remove the proposed referral, with a reason.
    let after = list(scoped.clone()).await;
    let referral = point(&after.body, "s1-ref")["point_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let removal = format!("/v1/reviews/{id}/decisions/{referral}/removal");
    let removed = h
        .call(
            Method::POST,
            &removal,
            Some(&scoped),
            Some(json!({"reason": "the referral was a data-entry duplicate of the contact"})),
        )
        .await;
    assert_eq!(removed.status, 200, "{}", removed.text);
    assert_eq!(removed.body["removed_by"], "cspr-reviewer");
    h.call(
        Method::POST,
        &removal,
        Some(&scoped),
        Some(json!({"reason": "again"})),
    )
    .await
    .problem(404);
    h.call(Method::POST, &removal, Some(&scoped), Some(json!({"reason": ""})))
        .await
        .problem(422);

    let now = list(scoped.clone()).await;
    let ids: Vec<&str> = now.body["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["point_id"].as_str().unwrap())
        .collect();
    let sd = point(&now.body, "s1-sd")["point_id"].as_str().unwrap();
    let police = point(&now.body, "s1-police")["point_id"].as_str().unwrap();
    // In the order taken: the police contact (03-05), the meeting (03-09), the strategy discussion (03-10).
    assert_eq!(ids, [police, meeting_id.as_str(), sd]);
    assert_eq!(now.body["removed"][0]["point_id"], referral);
    assert_eq!(
        now.body["removed"][0]["reason"],
        "the referral was a data-entry duplicate of the contact"
    );
    // The reviewer's meeting: the police contact, recorded two days later, is in its gap.
    let meeting_point = now.body["points"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["point_id"] == meeting_id.as_str())
        .unwrap();
    assert_eq!(meeting_point["origin"], "added");
    let police_late = gap(meeting_point)
        .into_iter()
        .find(|(_, e)| e["event_id"] == "s1-police")
        .unwrap()
        .1;
    assert_eq!(police_late["late_by_seconds"], DAY + 16 * 3600);
    assert_eq!(police_late["sibling"], true);

    // Adding the removed referral's event again restores it.
    let restored = h
        .call(
            Method::POST,
            &uri,
            Some(&scoped),
            Some(json!({"child_id": "sib-1", "event_id": "s1-ref"})),
        )
        .await;
    assert_eq!(restored.status, 201, "{}", restored.text);
    assert_eq!(restored.body["point_id"], referral.as_str());

    // A key the review does not name neither reads its decisions nor changes them.
    list(other.clone()).await.problem(404);
    h.call(
        Method::POST,
        &uri,
        Some(&other),
        Some(json!({"child_id": "sib-1", "event_id": "s1-sd"})),
    )
    .await
    .problem(404);
    h.call(
        Method::POST,
        &format!("/v1/reviews/{id}/decisions/{sd}/removal"),
        Some(&other),
        Some(json!({"reason": "not mine"})),
    )
    .await
    .problem(404);
}
