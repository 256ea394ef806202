//! The bitemporal views: worked examples with hand-computed answers, and the property that the incremental
//! projection always equals a full replay.

use std::sync::Arc;

use futures::executor::block_on;
use journey_core::ExpectedVersion;
use journey_core::codes::{
    AbuseCategory, CategoryOfNeed, Ethnicity, LegalStatus, MissingKind, PlacementProvider, PlacementType,
    PrimaryNeed, ReasonEpisodeCeased, ReasonNewEpisode, ReasonPlaceChange, ReferralSource,
    ReviewParticipation, Sex,
};
use journey_core::domain::lists::{
    CpPlanEndReason, RestrictionGrounds, RetractionReason, VisitKind, WorkerRole,
};
use journey_core::domain::{
    BecameLookedAfter, CareInProgressRecorded, CeasedToBeLookedAfter, ChildDetailsAmended,
    ChildInNeedEpisodeClosed, ChildProtectionCategoryChanged, ChildProtectionPlanEnded,
    ChildProtectionPlanStarted, ChildRegistered, ChildVisited, EventCorrected, EventKind, EventPayload,
    EventRetracted, LegalStatusChanged, LongText, LookedAfterReviewHeld, MissingEpisodeEnded,
    MissingEpisodeStarted, Placement, PlacementChanged, Professional, RecordRestricted, ReferralReceived,
    RestrictionLifted, ShortText, WorkerAllocated, WorkerAllocationEnded, WorkerId,
};
use journey_core::store::{EventStore, InMemoryStore};
use journey_core::testkit;
use journey_core::view::{
    AsOf, ChildSummary, Chronology, ChronologyOptions, EventStatus, SummaryProjection, continued_as,
    known_at, sealed_since,
};
use journey_core::{Date, ManualClock, NewEvent, OccurredAt, RecordedEvent, Timestamp, Version};

// ---------------------------------------------------------------------------------------------------------
// Building streams
// ---------------------------------------------------------------------------------------------------------

/// A child's stream in an in-memory store, recorded at instants the test chooses.
struct Journey {
    child: &'static str,
    clock: Arc<ManualClock>,
    store: InMemoryStore,
}

impl Journey {
    fn new(child: &'static str) -> Journey {
        let clock = testkit::clock();
        let store = InMemoryStore::new(clock.clone());
        Journey { child, clock, store }
    }

    fn try_record(&self, recorded_at: Timestamp, event: NewEvent) -> journey_core::Result<()> {
        self.clock.set(recorded_at);
        let request = testkit::append(self.child, ExpectedVersion::Any, vec![event]);
        block_on(self.store.append(request)).map(|_| ())
    }

    /// Records `event` (`id`, occurred `occurred`) at `recorded_at`; panics if the rules refuse it.
    fn record(&self, recorded_at: &str, id: &str, occurred: &str, payload: impl Into<EventPayload>) {
        let event = testkit::event(id, occurred, payload.into());
        if let Err(e) = self.try_record(ts(recorded_at), event) {
            panic!("{id} refused: {e:?}");
        }
    }

    fn events(&self) -> Vec<RecordedEvent> {
        block_on(
            self.store
                .read_stream(testkit::child(self.child), Version::FIRST, usize::MAX),
        )
        .unwrap()
    }
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn d(s: &str) -> Date {
    testkit::date(s)
}

fn long(s: &str) -> LongText {
    LongText::parse(s).unwrap()
}

fn registration(dob: &str, sex: Sex) -> ChildRegistered {
    ChildRegistered {
        given_name: None,
        family_name: None,
        preferred_name: None,
        date_of_birth: Some(d(dob)),
        expected_date_of_birth: None,
        sex,
        ethnicity: None,
        upn: None,
        former_upn: None,
        upn_unknown_reason: None,
        nhs_number: None,
        disabilities: Vec::new(),
        family_id: None,
    }
}

fn placement(place_type: PlacementType, provider: Option<PlacementProvider>) -> Placement {
    Placement {
        place_type,
        provider,
        postcode: None,
        urn: None,
        location: None,
        la_of_placement: None,
        carers: Vec::new(),
    }
}

fn became_looked_after(
    legal_status: LegalStatus,
    place_type: PlacementType,
    provider: Option<PlacementProvider>,
) -> BecameLookedAfter {
    BecameLookedAfter {
        legal_status,
        category_of_need: CategoryOfNeed::N1,
        placement: placement(place_type, provider),
        home_postcode: None,
    }
}

fn placement_changed(
    place_type: PlacementType,
    provider: Option<PlacementProvider>,
    reason: Option<ReasonPlaceChange>,
) -> PlacementChanged {
    PlacementChanged {
        placement: placement(place_type, provider),
        reason,
        same_carers: false,
    }
}

fn visit(seen_alone: bool) -> ChildVisited {
    ChildVisited {
        kind: VisitKind::LookedAfter,
        seen: true,
        seen_alone: Some(seen_alone),
        bedroom_seen: None,
        visitor: None,
    }
}

fn correction(
    target: &str,
    target_occurred_at: Option<&str>,
    replacement: impl Into<EventPayload>,
    reason: &str,
) -> EventCorrected {
    EventCorrected {
        target_event_id: testkit::event_id(target),
        target_occurred_at: target_occurred_at.map(|s| s.parse().unwrap()),
        replacement: Box::new(replacement.into()),
        reason: long(reason),
    }
}

fn retraction(target: &str, reason: RetractionReason) -> EventRetracted {
    let detail = (reason == RetractionReason::Other).then(|| long("Recorded in error."));
    EventRetracted {
        target_event_id: testkit::event_id(target),
        reason,
        detail,
    }
}

// ---------------------------------------------------------------------------------------------------------
// The worked example
// ---------------------------------------------------------------------------------------------------------

const CORRECTION_REASON: &str =
    "Long-term match agreed at the placement planning meeting; recorded as short-term in error.";

/// Child W, born on 29 February 2000: looked after twice in 2014 (the second time under a series of short
/// breaks, then a care order), and again from February 2016. A placement change is recorded three weeks
/// late, corrected later; a visit recorded against the wrong child is retracted.
fn worked_example() -> Journey {
    use LegalStatus as LS;
    use PlacementProvider as PR;
    use PlacementType as PT;
    let j = Journey::new("W-1");
    j.record(
        "2014-01-06T10:00:00Z",
        "w-001",
        "2014-01-06",
        registration("2000-02-29", Sex::F),
    );
    j.record(
        "2014-01-06T11:00:00Z",
        "w-002",
        "2014-01-06",
        ReferralReceived {
            source: ReferralSource::R2A,
            primary_need: PrimaryNeed::N1,
            no_further_action: false,
            contact_event_id: None,
            referrer: None,
        },
    );
    j.record(
        "2014-01-10T12:00:00Z",
        "w-003",
        "2014-01-10",
        became_looked_after(LS::V2, PT::U6, Some(PR::PR1)),
    );
    j.record(
        "2014-01-24T12:00:00Z",
        "w-004",
        "2014-01-24",
        LegalStatusChanged { legal_status: LS::C1 },
    );
    j.record("2014-02-14T16:00:00Z", "w-005", "2014-02-14", visit(true));
    // Recorded 21 days after it happened, and after the visit of 14 February.
    let late = placement_changed(PT::U6, Some(PR::PR4), Some(ReasonPlaceChange::CARPL));
    j.record("2014-02-24T15:00:00Z", "w-006", "2014-02-03", late);
    j.record("2014-02-28T17:00:00Z", "w-007", "2014-02-28", visit(false));
    j.record(
        "2014-03-04T09:00:00Z",
        "w-008",
        "2014-03-04",
        retraction("w-007", RetractionReason::WrongChild),
    );
    let corrected = placement_changed(PT::U4, Some(PR::PR4), Some(ReasonPlaceChange::CARPL));
    j.record(
        "2014-03-05T09:30:00Z",
        "w-009",
        "2014-03-05",
        correction("w-006", None, corrected, CORRECTION_REASON),
    );
    j.record(
        "2014-04-30T12:00:00Z",
        "w-010",
        "2014-04-30",
        CeasedToBeLookedAfter {
            reason: ReasonEpisodeCeased::E4A,
        },
    );
    j.record(
        "2014-06-02T10:00:00Z",
        "w-011",
        "2014-06-02",
        became_looked_after(LS::V3, PT::U6, Some(PR::PR1)),
    );
    j.record(
        "2014-07-01T10:00:00Z",
        "w-012",
        "2014-07-01",
        LegalStatusChanged { legal_status: LS::C2 },
    );
    j.record(
        "2014-08-01T10:00:00Z",
        "w-013",
        "2014-08-01",
        CeasedToBeLookedAfter {
            reason: ReasonEpisodeCeased::E4A,
        },
    );
    j.record(
        "2016-02-01T10:00:00Z",
        "w-014",
        "2016-02-01",
        became_looked_after(LS::C2, PT::U4, Some(PR::PR1)),
    );
    j
}

fn as_of(on: &str, known_at: &str) -> AsOf {
    AsOf::new(d(on), ts(known_at))
}

#[test]
fn on_3_march_as_known_at_1_march_the_correction_is_not_yet_applied() {
    let events = worked_example().events();
    let s = ChildSummary::replay(&events, as_of("2014-03-03", "2014-03-01T23:59:59Z"));

    assert_eq!(s.child_id, Some(testkit::child("W-1")));
    assert_eq!(s.age, Some(14), "29 February birthday: 14 on 28 February 2014");
    let lac = s.open.looked_after.as_ref().expect("looked after");
    assert_eq!(lac.since, d("2014-01-10"));
    assert_eq!(
        (lac.legal_status.code, lac.legal_status.since),
        (LegalStatus::C1, d("2014-01-24"))
    );
    // The late record is known by 1 March; its correction is not.
    assert_eq!(lac.placement.place_type, PlacementType::U6);
    assert_eq!(lac.placement.provider, Some(PlacementProvider::PR4));
    assert_eq!(lac.placement.since, d("2014-02-03"));
    assert_eq!(lac.placement.reason, Some(ReasonPlaceChange::CARPL));
    assert_eq!(s.placements, 2);
    // The mistaken visit is not yet retracted.
    assert_eq!(s.last_visit.as_ref().map(|v| v.on), Some(d("2014-02-28")));
    assert_eq!((s.corrections, s.retractions, s.records_known), (0, 0, 7));
    assert_eq!(s.last_version, Some(Version(7)));
    assert_eq!(s.events_in_view, 7);
    assert!(s.inconsistencies.is_empty());
    assert_eq!(
        s.open.child_in_need.as_ref().map(|c| c.since),
        Some(d("2014-01-06"))
    );

    let c = Chronology::build(
        &events,
        as_of("2014-03-03", "2014-03-01T23:59:59Z"),
        ChronologyOptions::default(),
    );
    let late = c.entries.iter().find(|e| e.event_id.as_str() == "w-006").unwrap();
    assert_eq!(late.status, EventStatus::Current);
    assert_eq!(late.lag_days, 21);
    assert!(late.recorded_late);
    assert!(late.original_payload.is_none() && late.amendments.is_empty());
    assert!(
        late.summary
            .starts_with("Placement changed to U6 (Foster placement with other foster carer"),
        "{}",
        late.summary
    );
    assert!(
        late.summary
            .ends_with("— reason CARPL (Change to/implementation of care plan)"),
        "{}",
        late.summary
    );
    let on_time = c.entries.iter().find(|e| e.event_id.as_str() == "w-005").unwrap();
    assert_eq!((on_time.lag_days, on_time.recorded_late), (0, false));
}

#[test]
fn known_later_the_correction_is_applied_and_shown() {
    let events = worked_example().events();
    let s = ChildSummary::replay(&events, as_of("2014-03-03", "2014-03-10T00:00:00Z"));
    let lac = s.open.looked_after.as_ref().unwrap();
    assert_eq!(
        lac.placement.place_type,
        PlacementType::U4,
        "the correction is in force"
    );
    assert_eq!(lac.placement.since, d("2014-02-03"));
    assert_eq!(
        s.last_visit.as_ref().map(|v| v.on),
        Some(d("2014-02-14")),
        "the mistaken visit is retracted"
    );
    assert_eq!((s.corrections, s.retractions, s.records_known), (1, 1, 9));
    assert_eq!(s.events_in_view, 6);

    // The chronology, known and viewed on 10 March: both amendment records appear on their own dates.
    let c = Chronology::build(
        &events,
        as_of("2014-03-10", "2014-03-10T00:00:00Z"),
        ChronologyOptions::default(),
    );
    let order: Vec<&str> = c.entries.iter().map(|e| e.event_id.as_str()).collect();
    assert_eq!(
        order,
        [
            "w-001", "w-002", "w-003", "w-004", "w-006", "w-005", "w-007", "w-008", "w-009"
        ]
    );
    let corrected = &c.entries[4];
    match &corrected.status {
        EventStatus::Corrected {
            corrections,
            by_event_id,
            corrected_at,
            reason,
            ..
        } => {
            assert_eq!(*corrections, 1);
            assert_eq!(by_event_id.as_str(), "w-009");
            assert_eq!(*corrected_at, ts("2014-03-05T09:30:00Z"));
            assert_eq!(reason.as_str(), CORRECTION_REASON);
        }
        other => panic!("w-006 should be corrected, is {other:?}"),
    }
    assert!(
        corrected.summary.starts_with("Placement changed to U4"),
        "{}",
        corrected.summary
    );
    match corrected.original_payload.as_deref() {
        Some(EventPayload::PlacementChanged(p)) => assert_eq!(p.placement.place_type, PlacementType::U6),
        other => panic!("the original payload should be kept, got {other:?}"),
    }
    assert_eq!(corrected.amendments.len(), 1);
    assert_eq!(corrected.lag_days, 21);
    let retracted = &c.entries[6];
    assert!(
        matches!(&retracted.status, EventStatus::Retracted { reason: RetractionReason::WrongChild, by_event_id, .. } if by_event_id.as_str() == "w-008")
    );
    assert_eq!(
        c.entries[7].target_event_id.as_ref().map(|t| t.as_str()),
        Some("w-007")
    );
    assert_eq!(
        c.entries[7].summary,
        "Retraction of ChildVisited w-007: Recorded against the wrong child"
    );
    assert_eq!(c.entries[8].kind, EventKind::EventCorrected);
    assert!(
        c.entries[8]
            .summary
            .starts_with("Correction of PlacementChanged w-006"),
        "{}",
        c.entries[8].summary
    );

    // Without retracted events and amendment records.
    let options = ChronologyOptions {
        include_retracted: false,
        include_amendments: false,
        ..Default::default()
    };
    let c = Chronology::build(&events, as_of("2014-03-10", "2014-03-10T00:00:00Z"), options);
    let order: Vec<&str> = c.entries.iter().map(|e| e.event_id.as_str()).collect();
    assert_eq!(order, ["w-001", "w-002", "w-003", "w-004", "w-006", "w-005"]);

    // The effective events of the same instant.
    let effective = known_at(&events, ts("2014-03-10T00:00:00Z"));
    assert_eq!(
        effective.len(),
        7,
        "seven originals; the correction and retraction are on their targets"
    );
    assert!(effective[6].is_retracted());
    assert_eq!(effective[5].kind(), EventKind::PlacementChanged);
    assert_eq!(effective[5].envelope.occurred_at, effective[5].occurred_at);
}

#[test]
fn on_3_march_what_the_record_said_about_1_february() {
    let events = worked_example().events();
    let s = ChildSummary::replay(&events, as_of("2014-02-01", "2014-03-03T23:59:59Z"));
    let lac = s.open.looked_after.as_ref().unwrap();
    assert_eq!(
        (lac.legal_status.code, lac.legal_status.since),
        (LegalStatus::C1, d("2014-01-24"))
    );
    assert_eq!(lac.placement.place_type, PlacementType::U6);
    assert_eq!(
        lac.placement.provider,
        Some(PlacementProvider::PR1),
        "the first placement: the change came on 3 February"
    );
    assert_eq!(lac.placement.since, d("2014-01-10"));
    assert_eq!(s.placements, 1);
    assert_eq!(s.looked_after_days, 22);
    assert_eq!(s.age, Some(13));
    assert!(s.last_visit.is_none());
    assert_eq!(s.events_in_view, 4);
    assert_eq!(
        s.records_known, 7,
        "everything recorded by 3 March, whatever its date"
    );
}

#[test]
fn a_late_record_lands_where_it_happened() {
    let events = worked_example().events();
    // Before the late record was made, the record said the child was still in the first placement.
    let before = ChildSummary::replay(&events, as_of("2014-02-20", "2014-02-20T23:59:59Z"));
    let lac = before.open.looked_after.as_ref().unwrap();
    assert_eq!(
        (lac.placement.since, lac.placement.provider),
        (d("2014-01-10"), Some(PlacementProvider::PR1))
    );
    assert_eq!(before.placements, 1);
    // Once recorded, the same date shows the new placement from 3 February, before the visit of 14 February.
    let after = ChildSummary::replay(&events, as_of("2014-02-20", "2014-02-25T00:00:00Z"));
    let lac = after.open.looked_after.as_ref().unwrap();
    assert_eq!(
        (lac.placement.since, lac.placement.provider),
        (d("2014-02-03"), Some(PlacementProvider::PR4))
    );
    assert_eq!(after.placements, 2);
    assert_eq!(after.last_visit.as_ref().map(|v| v.on), Some(d("2014-02-14")));
}

#[test]
fn looked_after_days_across_two_periods_and_short_breaks() {
    let events = worked_example().events();
    let s = ChildSummary::replay(&events, as_of("2014-09-01", "2016-03-02T00:00:00Z"));
    assert!(s.open.looked_after.is_none());
    let periods: Vec<_> = s
        .periods_of_care
        .iter()
        .map(|p| (p.start, p.end, p.days, p.placements))
        .collect();
    assert_eq!(
        periods,
        [
            (d("2014-01-10"), Some(d("2014-04-30")), 110, 2),
            (d("2014-06-02"), Some(d("2014-08-01")), 60, 1),
        ]
    );
    assert_eq!(s.periods_of_care[0].reason_ceased, Some(ReasonEpisodeCeased::E4A));
    assert_eq!(s.looked_after_days, 170);
    assert_eq!(s.short_break_days, 29, "V3 from 2 June to 1 July");
    assert_eq!((s.placements, s.placements_last_12_months), (3, 3));
    let cl = s.care_leaver.unwrap();
    assert_eq!(cl.fourteenth_birthday, d("2014-02-28"));
    assert_eq!(cl.sixteenth_birthday, d("2016-02-29"));
    // 61 days of C1 from the 14th birthday to 30 April, then 31 days of C2 in July; the V3 days don't count.
    assert_eq!(cl.days_after_14th_birthday, 92);
    assert_eq!(cl.days_after_16th_birthday, 0);
    assert!(!cl.looked_after_after_16th_birthday);
    assert!(!cl.thirteen_weeks_test_met);
    assert!(s.inconsistencies.is_empty());
}

#[test]
fn a_29_february_birthday_and_the_sixteenth() {
    let events = worked_example().events();
    let known = "2016-03-02T00:00:00Z";
    let age = |on: &str| ChildSummary::replay(&events, as_of(on, known)).age;
    assert_eq!(age("2014-02-27"), Some(13));
    assert_eq!(age("2014-02-28"), Some(14));
    assert_eq!(age("2016-02-28"), Some(15));
    assert_eq!(age("2016-02-29"), Some(16));
    assert_eq!(age("1999-12-31"), None, "not yet born");

    // Looked after again from 1 February 2016: on the 16th birthday itself, no day after it has passed yet.
    let on_birthday = ChildSummary::replay(&events, as_of("2016-02-29", known));
    let cl = on_birthday.care_leaver.unwrap();
    assert_eq!(
        (cl.days_after_16th_birthday, cl.looked_after_after_16th_birthday),
        (0, false)
    );
    assert_eq!(on_birthday.looked_after_days, 170 + 28);
    let next_day = ChildSummary::replay(&events, as_of("2016-03-01", known));
    let cl = next_day.care_leaver.unwrap();
    assert_eq!(cl.days_after_16th_birthday, 1);
    assert!(cl.looked_after_after_16th_birthday);
    assert_eq!(cl.days_after_14th_birthday, 92 + 29);
    assert!(cl.thirteen_weeks_test_met);
    assert_eq!(next_day.looked_after_days, 199);
    assert_eq!(next_day.placements_last_12_months, 1);
    assert_eq!(
        next_day.open.looked_after.as_ref().map(|l| l.legal_status.code),
        Some(LegalStatus::C2)
    );
}

#[test]
fn the_worked_example_incrementally() {
    let events = worked_example().events();
    let mut p = SummaryProjection::new();
    for (i, e) in events.iter().enumerate() {
        p.apply(e);
        for on in [
            "2014-01-01",
            "2014-02-01",
            "2014-02-20",
            "2014-03-03",
            "2014-09-01",
            "2016-03-01",
        ] {
            let as_of = AsOf::new(d(on), e.envelope.recorded_at);
            assert_eq!(
                p.summary(d(on)),
                ChildSummary::replay(&events[..=i], as_of),
                "after {i} events, on {on}"
            );
        }
    }
    assert_eq!(p.version(), Some(Version(14)));
}

#[test]
fn corrections_move_dates_and_withdrawing_one_restores_the_one_before() {
    use PlacementProvider as PR;
    use PlacementType as PT;
    let j = Journey::new("W-2");
    j.record(
        "2015-01-05T10:00:00Z",
        "x-001",
        "2015-01-05",
        registration("2005-06-15", Sex::M),
    );
    j.record(
        "2015-01-05T11:00:00Z",
        "x-002",
        "2015-01-05",
        became_looked_after(LegalStatus::C1, PT::K2, Some(PR::PR4)),
    );
    j.record(
        "2015-02-02T10:00:00Z",
        "x-003",
        "2015-02-02",
        placement_changed(PT::U6, Some(PR::PR1), None),
    );
    // First correction: the type. Second: the date (and the same type). Then the second is withdrawn.
    let first = placement_changed(PT::U4, Some(PR::PR1), Some(ReasonPlaceChange::CARPL));
    j.record(
        "2015-02-10T10:00:00Z",
        "x-004",
        "2015-02-10",
        correction("x-003", None, first, "Long-term, not short-term."),
    );
    let second = placement_changed(PT::U4, Some(PR::PR1), Some(ReasonPlaceChange::CARPL));
    j.record(
        "2015-02-11T10:00:00Z",
        "x-005",
        "2015-02-11",
        correction("x-003", Some("2015-01-20"), second, "The move was on 20 January."),
    );
    j.record(
        "2015-02-12T10:00:00Z",
        "x-006",
        "2015-02-12",
        retraction("x-005", RetractionReason::EnteredInError),
    );
    let events = j.events();

    let placement_on = |on: &str, known: &str| {
        let s = ChildSummary::replay(&events, as_of(on, known));
        let p = &s.open.looked_after.as_ref().unwrap().placement;
        (p.place_type, p.since)
    };
    assert_eq!(
        placement_on("2015-01-25", "2015-02-10T12:00:00Z"),
        (PT::K2, d("2015-01-05"))
    );
    assert_eq!(
        placement_on("2015-02-05", "2015-02-10T12:00:00Z"),
        (PT::U4, d("2015-02-02"))
    );
    assert_eq!(
        placement_on("2015-01-25", "2015-02-11T12:00:00Z"),
        (PT::U4, d("2015-01-20")),
        "moved earlier"
    );
    assert_eq!(
        placement_on("2015-01-25", "2015-02-12T12:00:00Z"),
        (PT::K2, d("2015-01-05")),
        "restored"
    );
    assert_eq!(
        placement_on("2015-02-05", "2015-02-12T12:00:00Z"),
        (PT::U4, d("2015-02-02"))
    );

    let at = |known: &str| {
        known_at(&events, ts(known))
            .into_iter()
            .find(|e| e.event_id().as_str() == "x-003")
            .unwrap()
    };
    let moved = at("2015-02-11T12:00:00Z");
    assert_eq!(moved.occurred_at, "2015-01-20".parse::<OccurredAt>().unwrap());
    assert!(
        matches!(&moved.status, EventStatus::Corrected { corrections: 2, by_event_id, .. } if by_event_id.as_str() == "x-005")
    );
    let restored = at("2015-02-12T12:00:00Z");
    assert_eq!(restored.occurred_at, "2015-02-02".parse::<OccurredAt>().unwrap());
    assert!(
        matches!(&restored.status, EventStatus::Corrected { corrections: 1, by_event_id, .. } if by_event_id.as_str() == "x-004")
    );
    assert_eq!(
        restored.amendments.len(),
        3,
        "both corrections and the withdrawal stay visible"
    );

    let c = Chronology::build(
        &events,
        as_of("2015-02-11", "2015-02-11T12:00:00Z"),
        ChronologyOptions::default(),
    );
    let moved = c.entries.iter().find(|e| e.event_id.as_str() == "x-003").unwrap();
    assert_eq!(moved.originally_occurred_at, Some("2015-02-02".parse().unwrap()));
    assert_eq!(
        moved.lag_days, 13,
        "from the corrected date, 20 January, to 2 February"
    );
    let c = Chronology::build(
        &events,
        as_of("2015-02-28", "2015-03-01T00:00:00Z"),
        ChronologyOptions::default(),
    );
    let withdrawn = c.entries.iter().find(|e| e.event_id.as_str() == "x-005").unwrap();
    assert!(
        matches!(&withdrawn.status, EventStatus::Retracted { by_event_id, .. } if by_event_id.as_str() == "x-006")
    );
    let withdrawal = c.entries.iter().find(|e| e.event_id.as_str() == "x-006").unwrap();
    assert_eq!(
        withdrawal.summary,
        "Withdrawal of correction x-005 of PlacementChanged x-003: Entered in error: it did not happen"
    );

    let mut p = SummaryProjection::new();
    for (i, e) in events.iter().enumerate() {
        p.apply(e);
        for on in ["2015-01-10", "2015-01-25", "2015-02-05"] {
            assert_eq!(
                p.summary(d(on)),
                ChildSummary::replay(&events[..=i], AsOf::new(d(on), e.envelope.recorded_at))
            );
        }
    }
}

#[test]
fn summaries_and_chronologies_serialise() {
    let events = worked_example().events();
    let as_of = as_of("2014-03-10", "2014-03-10T00:00:00Z");
    let s = ChildSummary::replay(&events, as_of);
    let json = serde_json::to_value(&s).unwrap();
    assert_eq!(json["open"]["looked_after"]["placement"]["place_type"], "U4");
    assert_eq!(json["as_of"]["on"], "2014-03-10");
    assert_eq!(serde_json::from_value::<ChildSummary>(json).unwrap(), s);
    let c = Chronology::build(&events, as_of, ChronologyOptions::default());
    let json = serde_json::to_value(&c).unwrap();
    assert_eq!(json["entries"][4]["status"]["status"], "corrected");
    assert_eq!(json["entries"][4]["amendments"][0]["action"], "corrected");
    assert_eq!(serde_json::from_value::<Chronology>(json).unwrap(), c);
}

#[test]
fn the_domain_examples_fold_without_inconsistencies() {
    for (child, stream) in journey_core::examples::example_streams() {
        let clock = testkit::clock();
        let store = InMemoryStore::new(clock.clone());
        clock.set(ts("2030-01-01T09:00:00Z"));
        for e in stream {
            let request = journey_core::store::AppendRequest {
                child_id: child.clone(),
                expected: ExpectedVersion::Any,
                recorded_by: testkit::principal(),
                events: vec![e],
            };
            block_on(store.append(request)).unwrap();
            clock.advance_micros(60_000_000);
        }
        let events = block_on(store.read_stream(child.clone(), Version::FIRST, usize::MAX)).unwrap();
        let known = events.last().unwrap().envelope.recorded_at;
        let projection = SummaryProjection::from_events(&events);
        for on in [
            "2008-01-01",
            "2012-06-30",
            "2020-01-01",
            "2024-03-01",
            "2025-06-01",
            "2030-01-01",
        ] {
            let s = ChildSummary::replay(&events, AsOf::new(d(on), known));
            assert!(
                s.inconsistencies.is_empty(),
                "{child} on {on}: {:?}",
                s.inconsistencies
            );
            assert_eq!(projection.summary(d(on)), s);
        }
        let c = Chronology::build(
            &events,
            AsOf::new(d("2030-01-01"), known),
            ChronologyOptions::default(),
        );
        // Merge events are about the record, not the child: no entry of their own (issue #20).
        let facts = events.iter().filter(|e| !e.payload.kind().is_merge()).count();
        assert_eq!(c.entries.len(), facts);
        assert!(c.entries.iter().all(|e| !e.summary.is_empty()));
    }
}

// ---------------------------------------------------------------------------------------------------------
// Generated journeys
// ---------------------------------------------------------------------------------------------------------

mod generated {
    use proptest::prelude::*;
    use proptest::sample::Index;

    use super::*;

    #[derive(Clone, Debug)]
    enum Step {
        /// A new event in a lane chosen by `lane`, `variant` choosing its content; the story moves on `gap`
        /// days, the event is dated `back` days before the story's date and recorded `lag` days after it.
        Event {
            lane: u8,
            variant: u8,
            gap: u8,
            back: u8,
            lag: u8,
        },
        /// A correction of an earlier event, perhaps moving it `shift` days.
        Correct {
            target: Index,
            variant: u8,
            shift: i8,
        },
        Retract {
            target: Index,
        },
        /// A restriction of use: of an earlier event, or of the whole record.
        Restrict {
            target: Option<Index>,
        },
        /// The lifting of an earlier restriction.
        Lift {
            target: Index,
        },
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            10 => (any::<u8>(), any::<u8>(), 0..25u8, prop_oneof![4 => Just(0u8), 1 => 0..40u8], prop_oneof![3 => 0..2u8, 1 => 0..45u8])
                .prop_map(|(lane, variant, gap, back, lag)| Step::Event { lane, variant, gap, back, lag }),
            2 => (any::<Index>(), any::<u8>(), prop_oneof![Just(0i8), -20..20i8])
                .prop_map(|(target, variant, shift)| Step::Correct { target, variant, shift }),
            1 => any::<Index>().prop_map(|target| Step::Retract { target }),
            1 => prop_oneof![3 => any::<Index>().prop_map(Some), 1 => Just(None)]
                .prop_map(|target| Step::Restrict { target }),
            1 => any::<Index>().prop_map(|target| Step::Lift { target }),
        ]
    }

    const LEGAL_STATUSES: [LegalStatus; 6] = [
        LegalStatus::V2,
        LegalStatus::V3,
        LegalStatus::V4,
        LegalStatus::C1,
        LegalStatus::C2,
        LegalStatus::E1,
    ];

    fn any_placement(v: u8) -> (PlacementType, Option<PlacementProvider>) {
        use PlacementProvider as PR;
        use PlacementType as PT;
        [
            (PT::U4, Some(PR::PR1)),
            (PT::U6, Some(PR::PR4)),
            (PT::K2, Some(PR::PR4)),
            (PT::T0, None),
            (PT::P1, Some(PR::PR0)),
            (PT::U1, Some(PR::PR1)),
        ][usize::from(v) % 6]
    }

    fn worker(v: u8) -> WorkerAllocated {
        WorkerAllocated {
            role: [WorkerRole::SocialWorker, WorkerRole::IndependentReviewingOfficer][usize::from(v) % 2],
            worker: Professional {
                worker_id: WorkerId::parse(format!("SW-{}", v % 5)).unwrap(),
                name: None,
                role: None,
                organisation: None,
            },
            team: Some(ShortText::parse(format!("Team {}", v % 3)).unwrap()),
            change_reason: None,
        }
    }

    /// What the generator believes is open, from the events accepted so far (a guide to make most events
    /// valid; the store's rules decide).
    #[derive(Default)]
    struct Model {
        looked_after: bool,
        missing: bool,
        child_in_need: bool,
        plan: bool,
        allocated: bool,
    }

    /// A payload for `lane`, given the model.
    fn payload(lane: u8, v: u8, m: &Model) -> EventPayload {
        match lane % 14 {
            0..=3 if !m.looked_after => {
                let (t, p) = any_placement(v / 7);
                became_looked_after(LEGAL_STATUSES[usize::from(v) % 6], t, p).into()
            }
            0 | 1 => LegalStatusChanged {
                legal_status: LEGAL_STATUSES[usize::from(v) % 6],
            }
            .into(),
            2 => {
                let (t, p) = any_placement(v);
                let reason = (!t.is_temporary()).then_some(ReasonPlaceChange::ALL[usize::from(v) % 5]);
                placement_changed(t, p, reason).into()
            }
            3 => CeasedToBeLookedAfter {
                reason: [ReasonEpisodeCeased::E4A, ReasonEpisodeCeased::E8][usize::from(v) % 2],
            }
            .into(),
            4 if m.missing => MissingEpisodeEnded {}.into(),
            4 => MissingEpisodeStarted {
                kind: [MissingKind::M, MissingKind::A][usize::from(v) % 2],
                reported_to_police: None,
            }
            .into(),
            5 if m.child_in_need => ChildInNeedEpisodeClosed {
                reason: journey_core::codes::CinClosureReason::RC8,
                detail: None,
            }
            .into(),
            5 => ReferralReceived {
                source: ReferralSource::R2A,
                primary_need: PrimaryNeed::ALL[usize::from(v) % 5],
                no_further_action: false,
                contact_event_id: None,
                referrer: None,
            }
            .into(),
            6 if !m.plan => ChildProtectionPlanStarted {
                category: AbuseCategory::ALL[usize::from(v) % 5],
                conference_event_id: None,
            }
            .into(),
            6 if v.is_multiple_of(2) => ChildProtectionCategoryChanged {
                category: AbuseCategory::ALL[usize::from(v / 2) % 5],
            }
            .into(),
            6 => ChildProtectionPlanEnded {
                reason: CpPlanEndReason::NoFurtherAction,
                detail: None,
            }
            .into(),
            7 if m.allocated && v.is_multiple_of(3) => WorkerAllocationEnded {
                role: WorkerRole::SocialWorker,
                reason: None,
            }
            .into(),
            7 => worker(v & !1).into(),
            8 | 9 => visit(v.is_multiple_of(2)).into(),
            10 => LookedAfterReviewHeld {
                participation: ReviewParticipation::PN1,
                chair: None,
            }
            .into(),
            11 => ChildDetailsAmended {
                ethnicity: Some(Ethnicity::ALL[usize::from(v) % 5]),
                ..Default::default()
            }
            .into(),
            _ => testkit::contact("unused", "2014-01-01").payload,
        }
    }

    /// A replacement of the same kind as `original`, varied by `v`.
    fn vary(original: &EventPayload, v: u8) -> EventPayload {
        match original {
            EventPayload::BecameLookedAfter(b) => {
                let (t, p) = any_placement(v);
                let legal_status = LEGAL_STATUSES[usize::from(v / 3) % 6];
                BecameLookedAfter {
                    category_of_need: b.category_of_need,
                    ..became_looked_after(legal_status, t, p)
                }
                .into()
            }
            EventPayload::LegalStatusChanged(_) => LegalStatusChanged {
                legal_status: LEGAL_STATUSES[usize::from(v) % 6],
            }
            .into(),
            EventPayload::PlacementChanged(_) => {
                let (t, p) = any_placement(v);
                placement_changed(t, p, None).into()
            }
            EventPayload::ChildVisited(c) => visit(c.seen_alone != Some(true)).into(),
            EventPayload::ChildProtectionPlanStarted(_) => ChildProtectionPlanStarted {
                category: AbuseCategory::ALL[usize::from(v) % 5],
                conference_event_id: None,
            }
            .into(),
            EventPayload::WorkerAllocated(w) => WorkerAllocated {
                role: w.role,
                ..worker(v)
            }
            .into(),
            other => other.clone(),
        }
    }

    /// Appends the steps that the rules accept; returns the stream.
    fn build(steps: &[Step]) -> Vec<RecordedEvent> {
        let j = Journey::new("G-1");
        let mut story = d("2013-09-02");
        let mut clock = ts("2013-09-02T09:00:00Z");
        j.record(
            "2013-09-02T09:00:00Z",
            "g-0",
            "2013-09-02",
            registration("2000-02-29", Sex::F),
        );
        // (id, payload, occurred) of every event accepted, originals and amendments alike.
        let mut accepted: Vec<(String, EventPayload, OccurredAt)> = Vec::new();
        let mut m = Model::default();
        for (n, s) in steps.iter().enumerate() {
            let id = format!("g-{}", n + 1);
            let (occurred, payload, recorded_day) = match s {
                Step::Event {
                    lane,
                    variant,
                    gap,
                    back,
                    lag,
                } => {
                    story = story.add_days(i32::from(*gap));
                    let occurred = story.add_days(-i32::from(*back)).max(d("2013-09-02"));
                    (
                        occurred,
                        payload(*lane, *variant, &m),
                        story.add_days(i32::from(*lag)),
                    )
                }
                Step::Correct {
                    target,
                    variant,
                    shift,
                } => {
                    let originals: Vec<_> = accepted
                        .iter()
                        .filter(|(_, p, _)| !p.kind().is_about_events())
                        .collect();
                    if originals.is_empty() {
                        continue;
                    }
                    let (target_id, original, at) = originals[target.index(originals.len())];
                    let moved = (*shift != 0)
                        .then(|| OccurredAt::on(at.date().add_days(i32::from(*shift)).max(d("2013-09-02"))));
                    let replacement = vary(original, *variant);
                    let c = EventCorrected {
                        target_event_id: testkit::event_id(target_id),
                        target_occurred_at: moved,
                        replacement: Box::new(replacement),
                        reason: long("Corrected after audit."),
                    };
                    (story, c.into(), story)
                }
                Step::Retract { target } => {
                    if accepted.is_empty() {
                        continue;
                    }
                    let (target_id, _, _) = &accepted[target.index(accepted.len())];
                    (
                        story,
                        retraction(target_id, RetractionReason::EnteredInError).into(),
                        story,
                    )
                }
                Step::Restrict { target } => {
                    let target_event_id = match target {
                        Some(t) if !accepted.is_empty() => {
                            Some(testkit::event_id(&accepted[t.index(accepted.len())].0))
                        }
                        Some(_) => continue,
                        None => None,
                    };
                    let r = RecordRestricted {
                        target_event_id,
                        grounds: RestrictionGrounds::AccuracyContested,
                        reason: long("Disputed by the young person."),
                    };
                    (story, r.into(), story)
                }
                Step::Lift { target } => {
                    let restrictions: Vec<_> = accepted
                        .iter()
                        .filter(|(_, p, _)| p.kind() == EventKind::RecordRestricted)
                        .collect();
                    if restrictions.is_empty() {
                        continue;
                    }
                    let (restriction_id, _, _) = restrictions[target.index(restrictions.len())];
                    let l = RestrictionLifted {
                        restriction_event_id: testkit::event_id(restriction_id),
                        reason: long("Verified as accurate."),
                    };
                    (story, l.into(), story)
                }
            };
            // Recorded on `recorded_day` at noon, and always after the previous record.
            let noon: Timestamp = format!("{recorded_day}T12:00:00Z").parse().unwrap();
            clock = noon.max(clock.plus_micros(60_000_000));
            let at = OccurredAt::on(occurred);
            let event = testkit::event(&id, &occurred.to_string(), payload.clone());
            if j.try_record(clock, event).is_ok() {
                match &payload {
                    EventPayload::BecameLookedAfter(_) => m.looked_after = true,
                    EventPayload::CeasedToBeLookedAfter(_) => m.looked_after = false,
                    EventPayload::MissingEpisodeStarted(_) => m.missing = true,
                    EventPayload::MissingEpisodeEnded(_) => m.missing = false,
                    EventPayload::ReferralReceived(_) => m.child_in_need = true,
                    EventPayload::ChildInNeedEpisodeClosed(_) => m.child_in_need = false,
                    EventPayload::ChildProtectionPlanStarted(_) => m.plan = true,
                    EventPayload::ChildProtectionPlanEnded(_) => m.plan = false,
                    EventPayload::WorkerAllocated(_) => m.allocated = true,
                    EventPayload::WorkerAllocationEnded(_) => m.allocated = false,
                    _ => {}
                }
                accepted.push((id, payload, at));
            }
        }
        j.events()
    }

    /// The dates the properties look at: around every event, the birthdays, and far before and after.
    fn dates(events: &[RecordedEvent]) -> Vec<Date> {
        let mut dates = vec![
            d("2013-01-01"),
            d("2014-02-27"),
            d("2014-02-28"),
            d("2016-02-29"),
            d("2016-03-01"),
            d("2030-01-01"),
        ];
        for e in events.iter().step_by(5) {
            let on = e.envelope.occurred_at.date();
            dates.extend([on.add_days(-1), on, e.envelope.recorded_at.england_date()]);
        }
        dates.sort();
        dates.dedup();
        dates
    }

    /// No retractions or restrictions, and the dates in force never go back along the stream: then the order
    /// the fold uses (date, then version) is the stream order the domain rules were checked in.
    fn in_order_without_retractions(events: &[RecordedEvent]) -> bool {
        let retracted = events.iter().any(|r| {
            matches!(
                r.payload.kind(),
                EventKind::EventRetracted | EventKind::RecordRestricted
            )
        });
        let last = events
            .last()
            .map_or(Timestamp::UNIX_EPOCH, |e| e.envelope.recorded_at);
        let dates: Vec<Date> = known_at(events, last)
            .iter()
            .map(|e| e.occurred_at.date())
            .collect();
        !retracted && dates.windows(2).all(|w| w[0] <= w[1])
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        #[test]
        fn the_projection_equals_a_full_replay_after_every_record(
            steps in prop::collection::vec(step(), 5..70),
            checkpoint_every in prop_oneof![Just(None), (1..6usize).prop_map(Some)],
        ) {
            let events = build(&steps);
            let dates = dates(&events);
            let mut p = checkpoint_every.map_or_else(SummaryProjection::new, SummaryProjection::with_checkpoint_every);
            for (i, e) in events.iter().enumerate() {
                p.apply(e);
                let prefix = &events[..=i];
                let clean = in_order_without_retractions(prefix);
                for &on in &dates {
                    let replayed = ChildSummary::replay(prefix, AsOf::new(on, e.envelope.recorded_at));
                    prop_assert_eq!(&p.summary(on), &replayed, "after {} records, on {}", i + 1, on);
                    // Where valid time and the stream agree on the order, and nothing is retracted, a stream the
                    // rules accepted folds without a hitch on every date.
                    if clean {
                        prop_assert!(replayed.inconsistencies.is_empty(), "on {}: {:?}", on, replayed.inconsistencies);
                    }
                }
            }
        }

        #[test]
        fn known_at_an_instant_is_the_view_of_the_records_made_by_then(steps in prop::collection::vec(step(), 5..70)) {
            let events = build(&steps);
            for (i, e) in events.iter().enumerate() {
                let t = e.envelope.recorded_at;
                prop_assert_eq!(known_at(&events, t), known_at(&events[..=i], t));
                prop_assert_eq!(known_at(&events, t), known_at(&events[..=i], ts("2100-01-01T00:00:00Z")));
                let on = e.envelope.occurred_at.date();
                prop_assert_eq!(
                    ChildSummary::replay(&events, AsOf::new(on, t)),
                    ChildSummary::replay(&events[..=i], AsOf::new(on, t))
                );
            }
        }

        #[test]
        fn a_chronology_of_a_prefix_agrees_with_the_full_one(steps in prop::collection::vec(step(), 5..70)) {
            let events = build(&steps);
            let last = events.last().unwrap().envelope.recorded_at;
            let all = ChronologyOptions { include_after_on: true, ..ChronologyOptions::default() };
            let full = Chronology::build(&events, AsOf::new(d("2030-01-01"), last), all);
            prop_assert_eq!(full.entries.len(), events.len());
            for (i, e) in events.iter().enumerate() {
                let as_of = AsOf::new(e.envelope.occurred_at.date(), e.envelope.recorded_at);
                let prefix = Chronology::build(&events[..=i], as_of, ChronologyOptions::default());
                prop_assert_eq!(&prefix, &Chronology::build(&events, as_of, ChronologyOptions::default()));

                // Every event of the prefix is in the full chronology, unchanged unless amended later.
                let prefix = Chronology::build(&events[..=i], as_of.with_on(d("2030-01-01")), all);
                for entry in &prefix.entries {
                    let later = full.entries.iter().find(|f| f.event_id == entry.event_id);
                    prop_assert!(later.is_some());
                    let later = later.unwrap();
                    prop_assert_eq!((later.version, later.recorded_at), (entry.version, entry.recorded_at));
                    if entry.target_event_id.is_none()
                        && later.amendments == entry.amendments
                        && later.restriction == entry.restriction
                    {
                        prop_assert_eq!(later, entry);
                    }
                }
            }
        }
    }
}

#[test]
fn imported_history_is_judged_late_by_when_its_source_recorded_it() {
    let j = Journey::new("IMPORTED");
    j.record(
        "2014-01-02T10:00:00Z",
        "i1",
        "2013-05-01",
        registration("2013-05-01", Sex::F),
    );
    // Migrated in 2014 from a system that recorded the visit the day it happened...
    let mut on_time = testkit::event("i2", "2013-06-03", visit(true).into());
    on_time.source_recorded_at = Some(ts("2013-06-03T16:00:00Z"));
    j.try_record(ts("2014-01-02T10:00:00Z"), on_time).unwrap();
    // ...and a visit that system itself recorded three weeks late.
    let mut late = testkit::event("i3", "2013-07-01", visit(true).into());
    late.source_recorded_at = Some(ts("2013-07-22T16:00:00Z"));
    j.try_record(ts("2014-01-02T10:00:00Z"), late).unwrap();

    let events = j.events();
    let chronology = Chronology::build(
        &events,
        as_of("2014-01-02", "2014-01-03T00:00:00Z"),
        Default::default(),
    );
    let entry = |id: &str| {
        chronology
            .entries
            .iter()
            .find(|e| e.event_id.as_str() == id)
            .unwrap()
    };
    assert_eq!(
        (entry("i2").lag_days, entry("i2").source_lag_days),
        (213, Some(0))
    );
    assert!(
        !entry("i2").recorded_late,
        "imported on time: Journey's import date is not the agency's lateness"
    );
    assert_eq!(entry("i3").source_lag_days, Some(21));
    assert!(entry("i3").recorded_late);
}

/// A period of care imported from an authority's earliest return, already in progress: the summary counts
/// from the earliest day the record holds and says the counts are lower bounds; the care-leaver time test
/// it cannot settle is "unknown", not "not met". Once the earlier history is recorded (the in-progress
/// record retracted, the real start and the episode as a change), the counts are exact.
#[test]
fn a_period_found_in_progress_counts_at_least_until_its_start_is_recorded() {
    let j = Journey::new("C-INPROG");
    // Born 1 June 2008: 14 on 1 June 2022, 16 on 1 June 2024.
    j.record(
        "2025-01-01T09:00:00Z",
        "r",
        "2008-06-01",
        registration("2008-06-01", Sex::F),
    );
    j.record(
        "2025-01-01T09:00:00Z",
        "p",
        "2024-05-02",
        CareInProgressRecorded {
            reason_new_episode: ReasonNewEpisode::P,
            legal_status: LegalStatus::C2,
            category_of_need: CategoryOfNeed::N1,
            placement: placement(PlacementType::U4, Some(PlacementProvider::PR1)),
            home_postcode: None,
        },
    );
    let before = j.events();
    let s = ChildSummary::replay(&before, as_of("2024-06-11", "2025-01-02T00:00:00Z"));
    assert_eq!(s.periods_of_care.len(), 1);
    let p = &s.periods_of_care[0];
    assert_eq!((p.start, p.start_unknown, p.days), (d("2024-05-02"), true, 40));
    assert_eq!(s.looked_after_days, 40);
    assert!(s.looked_after_days_at_least);
    assert!(s.open.looked_after.is_some(), "the period is open");
    let cl = s.care_leaver.unwrap();
    assert_eq!(
        (cl.days_after_14th_birthday, cl.days_after_16th_birthday),
        (40, 10)
    );
    assert!(cl.days_after_14th_birthday_at_least);
    assert!(
        !cl.days_after_16th_birthday_at_least,
        "the unrecorded days are before 2 May 2024, before the 16th birthday"
    );
    assert!(!cl.thirteen_weeks_test_met, "40 days recorded");
    assert!(cl.thirteen_weeks_test_unknown, "the unrecorded days may make 91");
    let json = serde_json::to_value(&s).unwrap();
    assert_eq!(json["looked_after_days_at_least"], true);
    assert_eq!(json["periods_of_care"][0]["start_unknown"], true);
    assert_eq!(json["care_leaver"]["thirteen_weeks_test_unknown"], true);
    assert!(s.inconsistencies.is_empty(), "{:?}", s.inconsistencies);

    // The earlier year: in care since 2 March 2022, the move of 2 May 2024 a change of placement.
    j.record(
        "2025-02-01T09:00:00Z",
        "x",
        "2025-02-01",
        EventRetracted {
            target_event_id: testkit::event_id("p"),
            reason: RetractionReason::Other,
            detail: Some(long("superseded by the earlier year's return")),
        },
    );
    j.record(
        "2025-02-01T09:00:00Z",
        "s",
        "2022-03-02",
        became_looked_after(LegalStatus::C2, PlacementType::U6, Some(PlacementProvider::PR1)),
    );
    j.record(
        "2025-02-01T09:00:00Z",
        "m",
        "2024-05-02",
        PlacementChanged {
            placement: placement(PlacementType::U4, Some(PlacementProvider::PR1)),
            reason: None,
            same_carers: false,
        },
    );
    let after = j.events();
    let s = ChildSummary::replay(&after, as_of("2024-06-11", "2025-02-02T00:00:00Z"));
    let p = &s.periods_of_care[0];
    assert_eq!((p.start, p.start_unknown), (d("2022-03-02"), false));
    assert!(!s.looked_after_days_at_least);
    let cl = s.care_leaver.unwrap();
    assert!(cl.thirteen_weeks_test_met && !cl.thirteen_weeks_test_unknown);
    let json = serde_json::to_value(&s).unwrap();
    assert!(
        json.get("looked_after_days_at_least").is_none(),
        "absent when exact: {json}"
    );
    // As known before the earlier year was recorded, still "at least": nothing acknowledged is lost.
    let then = ChildSummary::replay(&after, as_of("2024-06-11", "2025-01-02T00:00:00Z"));
    assert!(then.looked_after_days_at_least);
    // The incremental projection agrees.
    assert_eq!(
        SummaryProjection::from_events(&after).summary(d("2024-06-11")),
        ChildSummary::replay(&after, as_of("2024-06-11", "2025-02-01T09:00:00Z"))
    );
}

// ---------------------------------------------------------------------------------------------------------
// Restriction of use (UK GDPR Art. 18)
// ---------------------------------------------------------------------------------------------------------

fn restriction(target: Option<&str>) -> RecordRestricted {
    RecordRestricted {
        target_event_id: target.map(testkit::event_id),
        grounds: RestrictionGrounds::AccuracyContested,
        reason: long("The young person says they were never placed there."),
    }
}

fn lifting(restriction: &str) -> RestrictionLifted {
    RestrictionLifted {
        restriction_event_id: testkit::event_id(restriction),
        reason: long("Checked against the placement agreement: accurate."),
    }
}

/// Child R: looked after from 1 March 2015. The episode's start is disputed on 1 June, the dispute resolved
/// on 1 July; the whole record is disputed on 1 August.
fn restricted_journey() -> Journey {
    let j = Journey::new("R-1");
    j.record(
        "2015-01-05T09:00:00Z",
        "r-1",
        "2015-01-05",
        registration("2010-04-01", Sex::M),
    );
    j.record(
        "2015-03-01T09:00:00Z",
        "r-2",
        "2015-03-01",
        became_looked_after(LegalStatus::C2, PlacementType::U4, Some(PlacementProvider::PR1)),
    );
    j.record("2015-04-01T09:00:00Z", "r-3", "2015-04-01", visit(true));
    j.record(
        "2015-06-01T09:00:00Z",
        "r-4",
        "2015-06-01",
        restriction(Some("r-2")),
    );
    j.record("2015-07-01T09:00:00Z", "r-5", "2015-07-01", lifting("r-4"));
    j
}

#[test]
fn a_restricted_event_is_kept_and_shown_but_not_used_until_lifted() {
    let j = restricted_journey();
    let events = j.events();
    let on = d("2015-06-15");

    // Before the restriction was recorded, the episode was used; so it is in a view as known then.
    let before = ChildSummary::replay(&events, AsOf::new(on, ts("2015-05-31T00:00:00Z")));
    assert!(before.open.looked_after.is_some());
    assert_eq!(before.restricted_events, 0);

    // While it stands: kept, readable, marked, and not used.
    let during = AsOf::new(on, ts("2015-06-15T00:00:00Z"));
    let summary = ChildSummary::replay(&events, during);
    assert!(
        summary.open.looked_after.is_none(),
        "a restricted episode is not used"
    );
    assert_eq!(summary.looked_after_days, 0);
    assert_eq!((summary.restricted_events, summary.record_restricted), (1, false));
    let effective = known_at(&events, during.known_at);
    let episode = effective.iter().find(|e| e.event_id().as_str() == "r-2").unwrap();
    assert!(!episode.is_in_use() && !episode.is_retracted());
    let r = episode.restriction.as_ref().expect("marked restricted");
    assert_eq!((r.by_event_id.as_str(), r.whole_record), ("r-4", false));
    assert!(
        matches!(episode.payload, EventPayload::BecameLookedAfter(_)),
        "its content stays readable"
    );
    let chronology = Chronology::build(&events, during, ChronologyOptions::default());
    let entry = chronology
        .entries
        .iter()
        .find(|e| e.event_id.as_str() == "r-2")
        .unwrap();
    assert!(entry.restriction.is_some());
    let record = chronology
        .entries
        .iter()
        .find(|e| e.event_id.as_str() == "r-4")
        .unwrap();
    assert_eq!(record.target_event_id.as_ref().map(|t| t.as_str()), Some("r-2"));
    assert!(record.summary.contains("restricted"), "{}", record.summary);

    // Lifted: used again, and the restriction and its lifting stay on the event.
    let after = AsOf::new(on, ts("2015-07-02T00:00:00Z"));
    let summary = ChildSummary::replay(&events, after);
    assert!(summary.open.looked_after.is_some());
    assert_eq!(summary.restricted_events, 0);
    let effective = known_at(&events, after.known_at);
    let episode = effective.iter().find(|e| e.event_id().as_str() == "r-2").unwrap();
    assert!(episode.is_in_use());
    assert_eq!(episode.amendments.len(), 2, "{:?}", episode.amendments);

    // The projection agrees at every step.
    let mut p = SummaryProjection::new();
    for (i, e) in events.iter().enumerate() {
        p.apply(e);
        let replayed = ChildSummary::replay(&events[..=i], AsOf::new(on, e.envelope.recorded_at));
        assert_eq!(p.summary(on), replayed, "after {} records", i + 1);
    }
}

#[test]
fn a_restriction_of_the_whole_record_leaves_nothing_used_and_is_lifted_whole() {
    let j = restricted_journey();
    j.record("2015-08-01T09:00:00Z", "r-6", "2015-08-01", restriction(None));
    // Recorded while the whole record is restricted: restricted too.
    j.record("2015-08-05T09:00:00Z", "r-7", "2015-08-05", visit(false));
    let events = j.events();
    let during = AsOf::new(d("2015-08-10"), ts("2015-08-05T09:00:00Z"));
    let summary = ChildSummary::replay(&events, during);
    assert!(summary.record_restricted);
    assert_eq!(summary.restricted_events, 4);
    assert_eq!((summary.date_of_birth, summary.events_in_view), (None, 0));
    assert!(summary.open.looked_after.is_none() && summary.last_visit.is_none());
    assert!(known_at(&events, during.known_at).iter().all(|e| !e.is_in_use()));
    let mut p = SummaryProjection::from_events(&events);
    assert_eq!(p.summary(during.on), summary);

    j.record("2015-09-01T09:00:00Z", "r-8", "2015-09-01", lifting("r-6"));
    let events = j.events();
    let after = AsOf::new(d("2015-09-10"), ts("2015-09-01T09:00:00Z"));
    let summary = ChildSummary::replay(&events, after);
    assert!(!summary.record_restricted);
    assert_eq!(summary.date_of_birth, Some(d("2010-04-01")));
    assert!(summary.open.looked_after.is_some() && summary.last_visit.is_some());
    p.apply(events.last().unwrap());
    assert_eq!(p.summary(after.on), summary);
}

#[test]
fn restrictions_keep_their_rules() {
    let j = restricted_journey();
    let refused = |id: &str, payload: EventPayload, field: &str, words: &str| {
        let event = testkit::event(id, "2015-07-10", payload);
        let error = j.try_record(ts("2015-07-10T09:00:00Z"), event).unwrap_err();
        let text = format!("{error:?}");
        assert!(text.contains(field) && text.contains(words), "{id}: {text}");
    };
    refused(
        "x-1",
        lifting("r-4").into(),
        "data.restriction_event_id",
        "already been lifted",
    );
    refused(
        "x-2",
        lifting("r-3").into(),
        "data.restriction_event_id",
        "not a RecordRestricted",
    );
    refused(
        "x-3",
        restriction(Some("r-4")).into(),
        "data.target_event_id",
        "names the original event",
    );
    refused(
        "x-4",
        restriction(Some("nope")).into(),
        "data.target_event_id",
        "no event nope",
    );
    refused(
        "x-5",
        retraction("r-4", RetractionReason::EnteredInError).into(),
        "data.target_event_id",
        "lift it with RestrictionLifted",
    );
    j.record(
        "2015-07-11T09:00:00Z",
        "r-9",
        "2015-07-11",
        restriction(Some("r-3")),
    );
    refused(
        "x-6",
        restriction(Some("r-3")).into(),
        "data.target_event_id",
        "already restricted",
    );
    j.record("2015-07-12T09:00:00Z", "r-10", "2015-07-12", restriction(None));
    refused(
        "x-7",
        restriction(None).into(),
        "data.target_event_id",
        "already restricted",
    );
}

// ---------------------------------------------------------------------------------------------------------
// Sealed adoption records
// ---------------------------------------------------------------------------------------------------------

#[test]
fn an_adoption_order_seals_the_record_from_its_date_and_a_retracted_one_does_not() {
    let j = Journey::new("S-1");
    j.record(
        "2019-01-05T09:00:00Z",
        "s-1",
        "2019-01-05",
        registration("2018-04-01", Sex::F),
    );
    j.record(
        "2019-02-01T09:00:00Z",
        "s-2",
        "2019-02-01",
        became_looked_after(LegalStatus::C2, PlacementType::U4, Some(PlacementProvider::PR1)),
    );
    assert_eq!(sealed_since(&j.events()), None, "looked after, not adopted");
    let new_identity = || journey_core::domain::ContinuedUnderNewIdentity {
        new_child_id: testkit::child("S-2"),
    };
    let refused = j
        .try_record(
            ts("2019-03-01T09:00:00Z"),
            testkit::event("s-x", "2019-03-01", new_identity().into()),
        )
        .unwrap_err();
    assert!(
        format!("{refused:?}").contains("needs an adoption order"),
        "{refused:?}"
    );
    let order = journey_core::domain::CourtOrderMade {
        order: journey_core::domain::lists::CourtOrderKind::AdoptionOrder,
        expires_on: None,
        in_favour_of: Vec::new(),
        court: None,
        detail: None,
    };
    j.record("2020-03-02T09:00:00Z", "s-3", "2020-03-02", order);
    assert_eq!(sealed_since(&j.events()), Some(d("2020-03-02")));
    j.record("2020-03-02T10:00:00Z", "s-3b", "2020-03-02", new_identity());
    assert_eq!(continued_as(&j.events()), vec![testkit::child("S-2")]);
    j.record(
        "2020-03-03T09:00:00Z",
        "s-4",
        "2020-03-02",
        CeasedToBeLookedAfter {
            reason: ReasonEpisodeCeased::E11,
        },
    );
    // Recorded against the wrong child: the order is retracted, but the episode's end still says adopted.
    j.record(
        "2020-04-01T09:00:00Z",
        "s-5",
        "2020-04-01",
        retraction("s-3", RetractionReason::WrongChild),
    );
    assert_eq!(sealed_since(&j.events()), Some(d("2020-03-02")));
    j.record(
        "2020-04-02T09:00:00Z",
        "s-6",
        "2020-04-02",
        retraction("s-4", RetractionReason::WrongChild),
    );
    assert_eq!(
        sealed_since(&j.events()),
        None,
        "nothing says the child was adopted"
    );
}
