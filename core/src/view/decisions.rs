//! What was known at each decision (issue #21): the decision points Journey proposes from a child's stream,
//! what the record held as known at the instant each decision was recorded, and the knowledge gap — what
//! had already happened by the decision's date but was recorded only after the decision.
//!
//! Pure functions of the streams; the API adds the reviewers' own points and removals (journal-recorded)
//! and the policies' answers then and now.
//!
//! A decision point's instant is the `recorded_at` of the event that records the decision: the moment the
//! decision became part of the record. Everything "known then" is the prefix of each stream recorded at or
//! before that instant (`known_at`); everything in the gap occurred on or before the decision's date and was
//! recorded after that instant.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::domain::{EventKind, EventPayload, Stage};
use crate::envelope::RecordedEvent;
use crate::ids::{AgencyId, ChildId, EventId};
use crate::time::{Date, OccurredAt, Timestamp};

use super::chronology::{Chronology, ChronologyEntry};
use super::describe::describe;
use super::effective::{EventStatus, resolve};

/// One moment a decision about a child was taken and recorded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionPoint {
    /// Stable across calls: `dp-` and 16 hex digits of SHA-256 of the child and the event (see [`point_id`]);
    /// for a point a reviewer added with a date and label instead of an event, `dp-added-<n>`.
    pub point_id: String,
    pub child_id: ChildId,
    /// The event that records the decision (none for a point a reviewer added by date and label).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<EventId>,
    /// The event's kind in force.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<EventKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<Stage>,
    /// The agency that recorded the decision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agency: Option<AgencyId>,
    /// The chronology's line for the event, or the reviewer's label.
    pub description: String,
    /// When the decision was taken (valid time, as in force now).
    pub occurred_at: OccurredAt,
    /// The instant the decision was recorded: what was known then is the record as known at this instant.
    pub decided_at: Timestamp,
}

impl DecisionPoint {
    /// The decision's date (valid time).
    pub fn on(&self) -> Date {
        self.occurred_at.date()
    }
}

/// The id of the decision point an event records: `dp-` and the first 16 hex digits of SHA-256 over the child's
/// id, a zero byte and the event's id. The same on every call, in every process.
pub fn point_id(child_id: &ChildId, event_id: &EventId) -> String {
    let mut hash = Sha256::new();
    hash.update(child_id.as_str().as_bytes());
    hash.update([0]);
    hash.update(event_id.as_str().as_bytes());
    let digest = hash.finalize();
    let mut id = String::with_capacity(19);
    id.push_str("dp-");
    for byte in &digest[..8] {
        id.push_str(&format!("{byte:02x}"));
    }
    id
}

/// Whether an event (its content in force) records a decision Journey proposes as a decision point: strategy
/// discussions, conferences (initial and review), the start and end of child in need and child protection
/// plans, closures, step-downs to early help, decisions on contacts, referrals, becoming looked after and
/// leaving care.
pub fn is_decision(payload: &EventPayload) -> bool {
    use EventKind as K;
    match payload {
        EventPayload::EarlyHelpStarted(e) => e.stepped_down_from_social_care,
        other => matches!(
            other.kind(),
            K::StrategyDiscussionHeld
                | K::ChildProtectionConferenceHeld
                | K::ChildProtectionPlanStarted
                | K::ChildProtectionPlanEnded
                | K::ChildInNeedPlanStarted
                | K::ChildInNeedPlanEnded
                | K::ChildInNeedEpisodeClosed
                | K::ContactDecided
                | K::ReferralReceived
                | K::BecameLookedAfter
                | K::CeasedToBeLookedAfter
        ),
    }
}

/// The decision points Journey proposes from one child's stream, as known at `known_at`: every event in use
/// (neither retracted nor restricted) that [`is_decision`], whose date (in force) is in `from..=to`; in the
/// order the decisions were taken (date, time, then the order recorded).
pub fn propose(events: &[RecordedEvent], from: Date, to: Date, known_at: Timestamp) -> Vec<DecisionPoint> {
    let resolution = resolve(events, known_at);
    let mut points: Vec<DecisionPoint> = resolution
        .effective
        .iter()
        .filter(|e| e.is_in_use() && is_decision(e.payload))
        .filter(|e| (from..=to).contains(&e.occurred_at.date()))
        .map(|e| point_of(e.envelope.child_id.clone(), e))
        .collect();
    points.sort_by_key(|p| (p.on(), p.occurred_at, p.decided_at));
    points
}

/// The decision point of one event of the stream (of any kind: a reviewer may add any event), as known at
/// `known_at`; `None` when the stream has no such event, or it is not in use.
pub fn point_for_event(
    events: &[RecordedEvent],
    event_id: &EventId,
    known_at: Timestamp,
) -> Option<DecisionPoint> {
    let resolution = resolve(events, known_at);
    resolution
        .effective
        .iter()
        .find(|e| e.event_id() == event_id && e.is_in_use())
        .map(|e| point_of(e.envelope.child_id.clone(), e))
}

fn point_of(child_id: ChildId, e: &super::EffectiveRef<'_>) -> DecisionPoint {
    DecisionPoint {
        point_id: point_id(&child_id, e.event_id()),
        child_id,
        event_id: Some(e.event_id().clone()),
        kind: Some(e.kind()),
        stage: Some(e.kind().stage()),
        agency: Some(e.envelope.source.agency.clone()),
        description: describe(e.payload),
        occurred_at: e.occurred_at,
        decided_at: e.envelope.recorded_at,
    }
}

/// What one child's record held at a decision's instant: the events in use, known then, that had occurred
/// on or before the decision's date.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnownThen {
    pub child_id: ChildId,
    /// Whether the child is the decision's (else a sibling, or another child of the review).
    pub decision_child: bool,
    /// Events in use known at the instant that had occurred by the date.
    pub events: usize,
    /// Of them, by the agency that recorded each.
    pub by_agency: BTreeMap<AgencyId, usize>,
    /// Of them, those recorded late (more than a day after they occurred).
    pub recorded_late: usize,
    /// The last instant anything of the child's was recorded, as known then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_recorded_at: Option<Timestamp>,
}

/// [`KnownThen`] of one child's stream at `point`.
pub fn known_then(events: &[RecordedEvent], point: &DecisionPoint) -> KnownThen {
    let resolution = resolve(events, point.decided_at);
    let on = point.on();
    let child_id = events
        .first()
        .map_or_else(|| point.child_id.clone(), |e| e.envelope.child_id.clone());
    let mut known = KnownThen {
        decision_child: child_id == point.child_id,
        child_id,
        events: 0,
        by_agency: BTreeMap::new(),
        recorded_late: 0,
        last_recorded_at: None,
    };
    for e in resolution
        .effective
        .iter()
        .filter(|e| e.is_in_use() && e.occurred_at.date() <= on)
    {
        known.events += 1;
        *known
            .by_agency
            .entry(e.envelope.source.agency.clone())
            .or_default() += 1;
        let lag = e
            .occurred_at
            .date()
            .days_until(e.envelope.recorded_at.england_date());
        if lag > 1 {
            known.recorded_late += 1;
        }
    }
    known.last_recorded_at = events
        .iter()
        .map(|e| e.envelope.recorded_at)
        .take_while(|&at| at <= point.decided_at)
        .last();
    known
}

/// One thing the decision-maker could not have known from the record: it had occurred on or before the
/// decision's date, and was recorded after the decision's instant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GapEntry {
    pub child_id: ChildId,
    /// The child is not the decision's: a sibling's (or another of the review's children's) event.
    pub sibling: bool,
    pub event_id: EventId,
    pub kind: EventKind,
    pub stage: Stage,
    /// The chronology's line.
    pub summary: String,
    /// When it happened (for a correction or retraction: when the event it touches happened).
    pub occurred_at: OccurredAt,
    pub recorded_at: Timestamp,
    /// How long after the decision was recorded this was: `recorded_at - decided_at`, in seconds.
    pub late_by_seconds: i64,
    /// The same in calendar days (in England) from the decision's recording to this one's.
    pub late_by_days: i32,
    /// Calendar days from the date it happened to the date it was recorded (the chronology's lag).
    pub lag_days: i32,
    /// For a correction or retraction recorded after the decision: the event it touches, which the decision
    /// knew otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amends: Option<EventId>,
}

/// The knowledge gap of one agency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgencyGap {
    pub agency: AgencyId,
    /// In the order things happened, then the child, then the order recorded.
    pub entries: Vec<GapEntry>,
}

/// The children's records as known now, built once and asked about every decision point.
#[derive(Debug)]
pub struct FamilyNow<'a> {
    children: Vec<ChildNow<'a>>,
}

#[derive(Debug)]
struct ChildNow<'a> {
    child_id: ChildId,
    /// Entries that may fall into a gap: events not retracted, corrections and retractions, each with the
    /// date it counts on (for an amendment, the date of the event it touches).
    entries: Vec<(Date, ChronologyEntry<'a>)>,
}

impl<'a> FamilyNow<'a> {
    /// From each child's chronology as known now (built with `include_after_on`, amendments included).
    pub fn new(chronologies: Vec<(ChildId, Chronology<'a>)>) -> FamilyNow<'a> {
        let children = chronologies
            .into_iter()
            .map(|(child_id, chronology)| {
                // The date each original happened, and for each correction the date of the event it
                // corrects: a retraction of a correction counts on the corrected event's date.
                let mut dates: HashMap<EventId, Date> = chronology
                    .entries
                    .iter()
                    .filter(|e| e.target_event_id.is_none() && !e.kind.is_about_events())
                    .map(|e| (e.event_id.clone(), e.occurred_at.date()))
                    .collect();
                for e in &chronology.entries {
                    if e.kind == EventKind::EventCorrected
                        && let Some(date) = e.target_event_id.as_ref().and_then(|t| dates.get(t)).copied()
                    {
                        dates.insert(e.event_id.clone(), date);
                    }
                }
                let entries = chronology
                    .entries
                    .into_iter()
                    .filter_map(|e| {
                        let date = match e.kind {
                            EventKind::EventCorrected | EventKind::EventRetracted => {
                                *dates.get(e.target_event_id.as_ref()?)?
                            }
                            EventKind::RecordRestricted | EventKind::RestrictionLifted => return None,
                            _ if matches!(e.status, EventStatus::Retracted { .. }) => return None,
                            _ => e.occurred_at.date(),
                        };
                        Some((date, e))
                    })
                    .collect();
                ChildNow { child_id, entries }
            })
            .collect();
        FamilyNow { children }
    }

    /// The knowledge gap at `point`, by agency (agencies in order of their ids).
    pub fn gap(&self, point: &DecisionPoint) -> Vec<AgencyGap> {
        let on = point.on();
        let decided_date = point.decided_at.england_date();
        let mut by_agency: BTreeMap<AgencyId, Vec<GapEntry>> = BTreeMap::new();
        for child in &self.children {
            for (date, e) in &child.entries {
                if *date > on || e.recorded_at <= point.decided_at {
                    continue;
                }
                let amends = match e.kind {
                    EventKind::EventCorrected | EventKind::EventRetracted => e.target_event_id.clone(),
                    _ => None,
                };
                let occurred_at = if amends.is_some() {
                    OccurredAt::on(*date)
                } else {
                    e.occurred_at
                };
                by_agency
                    .entry(e.source.agency.clone())
                    .or_default()
                    .push(GapEntry {
                        child_id: child.child_id.clone(),
                        sibling: child.child_id != point.child_id,
                        event_id: e.event_id.clone(),
                        kind: e.kind,
                        stage: e.stage,
                        summary: e.summary.clone(),
                        occurred_at,
                        recorded_at: e.recorded_at,
                        late_by_seconds: (e.recorded_at.as_micros() - point.decided_at.as_micros())
                            / 1_000_000,
                        late_by_days: decided_date.days_until(e.recorded_at.england_date()),
                        lag_days: e.lag_days,
                        amends,
                    });
            }
        }
        by_agency
            .into_iter()
            .map(|(agency, mut entries)| {
                entries.sort_by(|a, b| {
                    (a.occurred_at.date(), a.occurred_at, &a.child_id, a.recorded_at).cmp(&(
                        b.occurred_at.date(),
                        b.occurred_at,
                        &b.child_id,
                        b.recorded_at,
                    ))
                });
                AgencyGap { agency, entries }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::NewEvent;
    use crate::store::{EventStore, InMemoryStore};
    use crate::testkit;
    use crate::view::{AsOf, ChronologyOptions};
    use crate::{ExpectedVersion, ManualClock};
    use std::sync::Arc;

    fn event(id: &str, on: &str, agency: &str, kind: &str, data: serde_json::Value) -> NewEvent {
        serde_json::from_value(serde_json::json!({
            "event_id": id, "occurred_at": on, "source": {"agency": agency, "system": "cms"},
            "type": kind, "data": data,
        }))
        .unwrap()
    }

    const LA: &str = "la.exampleshire";
    const POLICE: &str = "police.exampleshire";

    /// Appends `events` to `child` at the clock's instant, then moves the clock on by `days`.
    async fn at(store: &InMemoryStore, clock: &ManualClock, child: &str, events: Vec<NewEvent>, days: i64) {
        store
            .append(testkit::append(child, ExpectedVersion::Any, events))
            .await
            .unwrap();
        clock.advance_micros(days * 86_400_000_000);
    }

    fn registered(child: &str, born: &str) -> NewEvent {
        event(
            &format!("{child}-r"),
            born,
            LA,
            "ChildRegistered",
            serde_json::json!({"date_of_birth": born, "sex": "F", "family_id": "FAM-1"}),
        )
    }

    /// A worked family: the decision (a strategy discussion of 2023-03-10, recorded on 2023-03-11 09:00) and
    /// a police contact of 2023-03-05 recorded on 2023-03-14 09:00, three days after; a sibling's contact of
    /// 2023-03-08 recorded on 2023-03-13 09:00; and a contact of 2023-03-12 (after the decision's date).
    async fn family() -> (Arc<InMemoryStore>, Vec<RecordedEvent>, Vec<RecordedEvent>) {
        let clock = Arc::new(ManualClock::new("2023-03-01T09:00:00Z".parse().unwrap()));
        let store = Arc::new(InMemoryStore::new(clock.clone()));
        at(&store, &clock, "a", vec![registered("a", "2015-01-01")], 0).await;
        at(&store, &clock, "b", vec![registered("b", "2018-01-01")], 10).await;
        // 2023-03-11 09:00
        let strategy = event(
            "a-sd",
            "2023-03-10",
            LA,
            "StrategyDiscussionHeld",
            serde_json::json!({"outcome": "section_47_enquiry",
                "agencies": [{"agency": "police", "invited": true, "attended": true}]}),
        );
        at(&store, &clock, "a", vec![strategy], 2).await;
        // 2023-03-13 09:00
        at(
            &store,
            &clock,
            "b",
            vec![testkit::contact("b-c", "2023-03-08")],
            1,
        )
        .await;
        // 2023-03-14 09:00
        let police = event(
            "a-police",
            "2023-03-05",
            POLICE,
            "ContactReceived",
            serde_json::json!({"source": "3A"}),
        );
        at(
            &store,
            &clock,
            "a",
            vec![police, testkit::contact("a-later", "2023-03-12")],
            1,
        )
        .await;
        let read = |c: &str| {
            let store = store.clone();
            let c = crate::ChildId::parse(c).unwrap();
            async move {
                store
                    .read_stream(c, crate::Version::FIRST, usize::MAX)
                    .await
                    .unwrap()
            }
        };
        let (a, b) = (read("a").await, read("b").await);
        (store, a, b)
    }

    fn now() -> Timestamp {
        "2024-01-01T00:00:00Z".parse().unwrap()
    }

    fn chronology(events: &[RecordedEvent]) -> Chronology<'_> {
        Chronology::build(
            events,
            AsOf::now(now()),
            ChronologyOptions {
                include_after_on: true,
                ..ChronologyOptions::default()
            },
        )
    }

    #[test]
    fn a_late_record_and_a_siblings_event_fall_into_the_gap_with_their_lateness() {
        futures::executor::block_on(late_and_sibling());
    }

    async fn late_and_sibling() {
        let (_store, a, b) = family().await;
        let from = Date::parse_field("from", "2023-01-01").unwrap();
        let to = Date::parse_field("to", "2023-12-31").unwrap();
        let points = propose(&a, from, to, now());
        assert_eq!(points.len(), 1, "{points:?}");
        let point = &points[0];
        assert_eq!(point.event_id.as_ref().unwrap().as_str(), "a-sd");
        assert_eq!(
            point.decided_at,
            "2023-03-11T09:00:00Z".parse::<Timestamp>().unwrap()
        );
        assert_eq!(
            point.point_id,
            point_id(&point.child_id, point.event_id.as_ref().unwrap())
        );
        assert_eq!(propose(&a, from, to, now()), points, "stable across calls");
        assert!(propose(&a, to, to, now()).is_empty(), "outside the period");
        // A contact is not a decision; its decision is.
        assert!(propose(&b, from, to, now()).is_empty());

        let family = FamilyNow::new(vec![
            (point.child_id.clone(), chronology(&a)),
            (b[0].envelope.child_id.clone(), chronology(&b)),
        ]);
        let gap = family.gap(point);
        let agencies: Vec<&str> = gap.iter().map(|g| g.agency.as_str()).collect();
        // testkit::contact is recorded by testkit's agency.
        let sibling_agency = b[1].envelope.source.agency.as_str();
        let mut expected = vec![POLICE, sibling_agency];
        expected.sort();
        expected.dedup();
        assert_eq!(agencies, expected);
        let all: Vec<&GapEntry> = gap.iter().flat_map(|g| &g.entries).collect();
        assert_eq!(all.len(), 2, "{all:#?}");
        let police = all.iter().find(|e| e.event_id.as_str() == "a-police").unwrap();
        // Recorded 2023-03-14 09:00, three days after the decision's 2023-03-11 09:00.
        assert_eq!(police.late_by_seconds, 3 * 86_400);
        assert_eq!(police.late_by_days, 3);
        assert_eq!(police.lag_days, 9);
        assert!(!police.sibling);
        let sibling = all.iter().find(|e| e.event_id.as_str() == "b-c").unwrap();
        assert!(sibling.sibling);
        assert_eq!(sibling.late_by_seconds, 2 * 86_400);
        assert_eq!(sibling.child_id.as_str(), "b");

        // Known then: a's registration and the strategy discussion; b's registration.
        let then_a = known_then(&a, point);
        assert_eq!((then_a.events, then_a.decision_child), (2, true));
        assert_eq!(then_a.by_agency.get(&AgencyId::parse(LA).unwrap()), Some(&2));
        let then_b = known_then(&b, point);
        assert_eq!((then_b.events, then_b.decision_child), (1, false));
    }

    #[test]
    fn a_correction_after_the_decision_is_in_the_gap_and_a_retracted_decision_is_not_proposed() {
        futures::executor::block_on(correction_and_retraction());
    }

    async fn correction_and_retraction() {
        let (store, _, _) = family().await;
        // 2023-03-15 09:00 (where the family leaves the clock): the police contact corrected; the strategy
        // discussion retracted.
        let corrected = event(
            "a-fix",
            "2023-03-15",
            POLICE,
            "EventCorrected",
            serde_json::json!({"target_event_id": "a-police", "reason": "source was wrong",
                "replacement": {"type": "ContactReceived", "data": {"source": "3B"}}}),
        );
        store
            .append(testkit::append("a", ExpectedVersion::Any, vec![corrected]))
            .await
            .unwrap();
        let a = store
            .read_stream(ChildId::parse("a").unwrap(), crate::Version::FIRST, usize::MAX)
            .await
            .unwrap();
        let from = Date::parse_field("from", "2023-01-01").unwrap();
        let to = Date::parse_field("to", "2023-12-31").unwrap();
        let point = propose(&a, from, to, now()).remove(0);
        let family = FamilyNow::new(vec![(point.child_id.clone(), chronology(&a))]);
        let gap: Vec<GapEntry> = family.gap(&point).into_iter().flat_map(|g| g.entries).collect();
        let fix = gap.iter().find(|e| e.event_id.as_str() == "a-fix").unwrap();
        assert_eq!(fix.amends.as_ref().unwrap().as_str(), "a-police");
        assert_eq!(fix.occurred_at.date().to_string(), "2023-03-05");

        let retract = event(
            "a-sd-x",
            "2023-03-15",
            LA,
            "EventRetracted",
            serde_json::json!({"target_event_id": "a-sd", "reason": "entered_in_error"}),
        );
        store
            .append(testkit::append("a", ExpectedVersion::Any, vec![retract]))
            .await
            .unwrap();
        let a = store
            .read_stream(ChildId::parse("a").unwrap(), crate::Version::FIRST, usize::MAX)
            .await
            .unwrap();
        assert!(propose(&a, from, to, now()).is_empty());
        // As known before the retraction, it was a decision point.
        assert_eq!(propose(&a, from, to, point.decided_at).len(), 1);
    }
}
