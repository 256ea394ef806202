//! The measures on hand-built streams with hand-counted answers, and over a synthetic authority.

use std::sync::Arc;

use futures::executor::block_on;
use serde_json::{Value, json};

use super::*;
use crate::ssda903::streams_known_at;
use journey_core::envelope::NewEvent;
use journey_core::ids::ExpectedVersion;
use journey_core::store::{EventStore, InMemoryStore};
use journey_core::testkit;
use journey_core::time::ManualClock;
use journey_synth::{self as synth, AuthorityProfile};

fn ts(s: &str) -> Timestamp {
    Timestamp::parse_field("t", s).unwrap()
}

fn d(s: &str) -> Date {
    testkit::date(s)
}

fn ev(id: &str, on: &str, kind: &str, data: Value) -> NewEvent {
    let payload = EventPayload::from_type_and_data(kind, data).unwrap_or_else(|e| panic!("{kind}: {e}"));
    testkit::event(id, on, payload)
}

fn social_worker(id: &str, on: &str, team: &str) -> NewEvent {
    ev(
        id,
        on,
        "WorkerAllocated",
        json!({"role": "social_worker", "worker": {"worker_id": format!("W-{id}")}, "team": team}),
    )
}

fn referral(id: &str, on: &str) -> NewEvent {
    ev(
        id,
        on,
        "ReferralReceived",
        json!({"source": "1A", "primary_need": "N1"}),
    )
}

fn closed(id: &str, on: &str) -> NewEvent {
    ev(id, on, "ChildInNeedEpisodeClosed", json!({"reason": "RC8"}))
}

fn placement(place_type: &str) -> Value {
    json!({"place_type": place_type, "provider": "PR1", "postcode": "QX1 1AA", "location": "inside_la"})
}

const KNOWN_AT: &str = "2025-06-01T00:00:00Z";

fn options() -> MeasuresOptions {
    MeasuresOptions {
        from: d("2024-04-01"),
        to: d("2025-03-31"),
        known_at: ts(KNOWN_AT),
    }
}

/// The streams, appended on 1 May 2025 (so every event is known at `KNOWN_AT`).
fn streams(children: Vec<(&str, Vec<NewEvent>)>) -> (InMemoryStore, BTreeMap<ChildId, Vec<RecordedEvent>>) {
    let clock = Arc::new(ManualClock::new(ts("2025-05-01T09:00:00Z")));
    let store = InMemoryStore::new(clock);
    for (child, events) in children {
        block_on(store.append(testkit::append(child, ExpectedVersion::NoStream, events))).unwrap();
    }
    let read = block_on(streams_known_at(&store, ts(KNOWN_AT))).unwrap();
    (store, read)
}

fn outcome(child: &str, name: &str, due: &str, status: TimescaleStatus) -> TimescaleOutcome {
    TimescaleOutcome {
        child_id: testkit::child(child),
        name: name.into(),
        starts_on: None,
        due_on: Some(d(due)),
        status,
        completed_on: None,
    }
}

/// month, team, measure, on time, late, not yet due, total, percent.
type Row<'a> = (&'a str, &'a str, &'a str, usize, usize, usize, usize, Option<f64>);

#[test]
fn deadlines_count_by_month_and_by_the_team_allocated_on_the_due_date() {
    let (_, streams) = streams(vec![
        (
            "M-1",
            vec![
                testkit::registered("m1-1", "2015-01-01"),
                social_worker("m1-2", "2024-04-01", "North"),
                social_worker("m1-3", "2024-06-15", "South"),
            ],
        ),
        ("M-2", vec![testkit::registered("m2-1", "2016-01-01")]),
    ]);
    use TimescaleStatus::*;
    let outcomes = vec![
        outcome("M-1", "assessment", "2024-05-10", Met),
        outcome("M-1", "assessment", "2024-05-20", Missed),
        outcome("M-1", "assessment", "2024-06-20", Open),
        outcome("M-1", "assessment", "2024-05-21", NotApplicable),
        outcome("M-1", "assessment", "2025-04-01", Met),
        outcome("M-1", "contact-decision", "2024-06-14", Met),
        outcome("M-2", "looked-after-visit", "2024-07-01", Missed),
    ];
    let report = measure(&streams, &outcomes, &options());
    let rows: Vec<Row<'_>> = report
        .timeliness
        .iter()
        .map(|r| {
            (
                r.month.as_str(),
                r.team.as_str(),
                r.measure.as_str(),
                r.on_time,
                r.late,
                r.not_yet_due,
                r.total,
                r.percent_on_time,
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            ("2024-05", "North", "assessment", 1, 1, 0, 2, Some(50.0)),
            // The day before the team changed is still North's.
            ("2024-06", "North", "contact-decision", 1, 0, 0, 1, Some(100.0)),
            ("2024-06", "South", "assessment", 0, 0, 1, 1, None),
            (
                "2024-07",
                "Unallocated",
                "looked-after-visit",
                0,
                1,
                0,
                1,
                Some(0.0)
            ),
        ]
    );
    assert_eq!(report.timeliness[0].label, "Assessments within 45 working days");
    assert_eq!(report.children, 2);
    let csv = report.csv(Section::Timeliness);
    assert!(csv.starts_with("month,team,measure,label,on_time,late,not_yet_due,total,percent_on_time\n"));
    assert!(
        csv.contains("2024-05,North,assessment,Assessments within 45 working days,1,1,0,2,50\n"),
        "{csv}"
    );
}

#[test]
fn a_referral_within_12_months_of_the_last_is_a_re_referral_and_one_after_13_is_not() {
    let (_, streams) = streams(vec![
        (
            "R-1",
            vec![
                testkit::registered("r1-1", "2012-01-01"),
                referral("r1-2", "2023-06-01"),
                closed("r1-3", "2023-07-01"),
                referral("r1-4", "2024-05-01"),
            ],
        ),
        (
            "R-2",
            vec![
                testkit::registered("r2-1", "2012-01-01"),
                referral("r2-2", "2023-04-01"),
                closed("r2-3", "2023-05-01"),
                referral("r2-4", "2024-05-02"),
            ],
        ),
    ]);
    let report = measure(&streams, &[], &options());
    assert_eq!(
        report.re_referrals,
        vec![ReReferralRow {
            month: "2024-05".into(),
            team: UNALLOCATED.into(),
            referrals: 2,
            within_12_months: 1,
            percent: Some(50.0),
        }]
    );
}

#[test]
fn recording_lag_follows_a_correction_of_when_it_happened() {
    // Recorded on 1 May 2025: a contact that happened on 25 April (6 days), and one first said to have
    // happened on 30 April (1 day) then corrected to 1 April (30 days).
    let mut events = vec![
        testkit::registered("l-1", "2012-01-01"),
        testkit::contact("l-2", "2025-04-25"),
        testkit::contact("l-3", "2025-04-30"),
    ];
    let mut corrected = serde_json::to_value(testkit::contact("l-3", "2025-04-01")).unwrap();
    let replacement = json!({"type": corrected["type"].take(), "data": corrected["data"].take()});
    events.push(ev(
        "l-4",
        "2025-05-01",
        "EventCorrected",
        json!({"target_event_id": "l-3", "reason": "wrong date", "replacement": replacement,
               "target_occurred_at": "2025-04-01"}),
    ));
    let (_, streams) = streams(vec![("L-1", events)]);
    let options = MeasuresOptions {
        from: d("2025-04-01"),
        to: d("2025-05-31"),
        known_at: ts(KNOWN_AT),
    };
    let report = measure(&streams, &[], &options);
    let contacts = report
        .recording_lag
        .iter()
        .find(|r| r.by == "event-type" && r.key == "ContactReceived")
        .unwrap_or_else(|| panic!("{:?}", report.recording_lag));
    assert_eq!(contacts.records, 2);
    assert_eq!(contacts.median_days, 18.0, "6 and 30 days");
    assert_eq!(contacts.p90_days, 30.0);
    assert_eq!(contacts.late, 2);
    // Registration dates the birth, not the work; the correction is judged by what it corrects.
    assert!(
        report
            .recording_lag
            .iter()
            .all(|r| r.key != "ChildRegistered" && r.key != "EventCorrected")
    );
    let agency = report.recording_lag.iter().find(|r| r.by == "agency").unwrap();
    assert_eq!((agency.key.as_str(), agency.records), ("la.testshire", 2));
}

#[test]
fn the_adoption_scorecard_averages_a1_a2_and_a10_over_three_years() {
    let adopted =
        |p: &str, entered: &str, order: &str, matched: &str, foster: bool, placed: &str, adopted: &str| {
            vec![
                testkit::registered(&format!("{p}-1"), "2019-01-01"),
                ev(
                    &format!("{p}-2"),
                    entered,
                    "BecameLookedAfter",
                    json!({"legal_status": "C2", "category_of_need": "N1", "placement": placement("U4")}),
                ),
                ev(&format!("{p}-3"), entered, "AdoptionDecisionMade", json!({})),
                ev(
                    &format!("{p}-4"),
                    order,
                    "CourtOrderMade",
                    json!({"order": "placement_order"}),
                ),
                ev(
                    &format!("{p}-5"),
                    matched,
                    "MatchedWithAdopters",
                    json!({"adopter_count": 2, "adopters_sex": "MF", "adopters_legal_status": "L2",
                       "adopters_were_foster_carers": foster,
                       "adopters": [{"person_id": format!("{p}-AD1"), "relationship": "adopter"},
                                    {"person_id": format!("{p}-AD2"), "relationship": "adopter"}]}),
                ),
                ev(&format!("{p}-6"), placed, "PlacedForAdoption", json!({})),
                ev(
                    &format!("{p}-7"),
                    placed,
                    "PlacementChanged",
                    json!({"placement": placement("A6"), "reason": "CREQB"}),
                ),
                ev(
                    &format!("{p}-8"),
                    adopted,
                    "CeasedToBeLookedAfter",
                    json!({"reason": "E11"}),
                ),
            ]
        };
    let (_, streams) = streams(vec![
        // Entered 2023-01-01, order 2023-06-01, matched 2023-08-01, placed 2023-09-01, adopted 2024-02-01:
        // A1 243 days, A2 61, A10 = A1.
        (
            "AD-1",
            adopted(
                "x",
                "2023-01-01",
                "2023-06-01",
                "2023-08-01",
                false,
                "2023-09-01",
                "2024-02-01",
            ),
        ),
        // Matched before the order (A2 zero), adopted by the foster carers it lived with from entry: A1
        // 2022-03-01 to 2023-03-01, 365 days; A10 0 days.
        (
            "AD-2",
            adopted(
                "y",
                "2022-03-01",
                "2022-11-01",
                "2022-10-01",
                true,
                "2023-03-01",
                "2023-09-01",
            ),
        ),
        // Adopted before the three years: not counted.
        (
            "AD-3",
            adopted(
                "z",
                "2020-01-01",
                "2020-05-01",
                "2020-06-01",
                false,
                "2020-07-01",
                "2021-01-01",
            ),
        ),
    ]);
    let report = measure(&streams, &[], &options());
    let a = &report.adoption;
    assert_eq!((a.from, a.to, a.adopted), (d("2022-04-01"), d("2025-03-31"), 2));
    assert_eq!(a.a1.average_days, Some(304.0), "(243 + 365) / 2");
    assert_eq!((a.a1.threshold_days, a.a1.met), (426, Some(true)));
    assert_eq!(a.a2.average_days, Some(30.5), "(61 + 0) / 2");
    assert_eq!(a.a10.average_days, Some(121.5), "(243 + 0) / 2");
    let csv = report.csv(Section::Adoption);
    assert!(csv.contains("A2,2022-04-01,2025-03-31,2,30.5,121,Y\n"), "{csv}");
}

#[test]
fn a_synthetic_authority_gives_consistent_measures() {
    let profile = AuthorityProfile {
        children: 300,
        ..AuthorityProfile::small()
    };
    let clock = testkit::clock();
    let store = InMemoryStore::new(clock.clone());
    block_on(synth::load(&store, &clock, synth::generate(9, &profile))).unwrap();
    let known_at = journey_core::time::Clock::now(clock.as_ref());
    let streams = block_on(streams_known_at(&store, known_at)).unwrap();
    let options = MeasuresOptions {
        from: d("2023-04-01"),
        to: d("2025-03-31"),
        known_at,
    };
    // Without the policy, only what the log says alone.
    let report = measure(&streams, &[], &options);
    assert_eq!(report.children, streams.len());
    assert!(report.timeliness.is_empty());
    assert!(!report.re_referrals.is_empty());
    assert!(
        report
            .re_referrals
            .iter()
            .all(|r| r.within_12_months <= r.referrals)
    );
    assert!(report.recording_lag.iter().any(|r| r.by == "agency"));
    let by_type: usize = report
        .recording_lag
        .iter()
        .filter(|r| r.by == "event-type")
        .map(|r| r.records)
        .sum();
    let by_agency: usize = report
        .recording_lag
        .iter()
        .filter(|r| r.by == "agency")
        .map(|r| r.records)
        .sum();
    assert_eq!(by_type, by_agency, "every record counted once each way");
    for section in Section::ALL {
        assert!(report.csv(section).lines().count() >= 1);
    }
}
