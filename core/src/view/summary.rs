//! The child summary: a full replay ([`ChildSummary::replay`]) and an incremental projection
//! ([`SummaryProjection`]) that always gives the same answer.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;

use serde::{Deserialize, Serialize};

use crate::codes::{Ethnicity, Sex};
use crate::domain::{EventKind, EventPayload};
use crate::envelope::RecordedEvent;
use crate::ids::{ChildId, Version};
use crate::time::{Date, OccurredAt, Timestamp};

use super::AsOf;
use super::effective::{Effect, EffectiveRef, Resolver, known_at_borrowed, known_records};
use super::fold::{
    Allocation, CareLeaverFacts, Fact, Fold, Identity, Inconsistency, MissingNow, OpenEpisodes, OrderInForce,
    PeriodOfCare, PermanencePlanNow, Visit, days_within,
};

/// A child's state on a date, as known at an instant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChildSummary {
    /// `None` only for an empty stream.
    pub child_id: Option<ChildId>,
    pub as_of: AsOf,
    /// The date of the registration in force. The registration is who the child is: its details hold on
    /// every date, also before it; `ChildDetailsAmended` changes them from its own date on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registered_on: Option<Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_of_birth: Option<Date>,
    /// For a child registered as unborn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_date_of_birth: Option<Date>,
    /// Age in completed years on `as_of.on` (`None` if not born by then, or the date of birth is unknown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sex: Option<Sex>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ethnicity: Option<Ethnicity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub died_on: Option<Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unaccompanied_asylum_seeking_since: Option<Date>,
    /// Episodes, plans and arrangements open on the date.
    pub open: OpenEpisodes,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missing: Option<MissingNow>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub orders_in_force: Vec<OrderInForce>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub periods_of_care: Vec<PeriodOfCare>,
    /// Days looked after, over every period of care, up to the date (see [`PeriodOfCare::days`]).
    pub looked_after_days: i64,
    /// `looked_after_days` is a lower bound: a period of care began before the record knows
    /// ([`PeriodOfCare::start_unknown`]), and its days before that are not counted.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub looked_after_days_at_least: bool,
    /// Of which under a series of short breaks (legal status V3 or V4).
    pub short_break_days: i64,
    /// Placements started, over every period of care, up to the date.
    pub placements: u32,
    /// Placements started in the twelve months up to the date (after `on - 1 year`, up to `on`; Ofsted
    /// Annex A list 8).
    pub placements_last_12_months: u32,
    /// The permanence plan as last recorded on or before the date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permanence_plan: Option<PermanencePlanNow>,
    /// `None` when the date of birth is unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub care_leaver: Option<CareLeaverFacts>,
    /// The workers allocated on the date, by role.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allocations: Vec<Allocation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_visit: Option<Visit>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_looked_after_review: Option<Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_child_protection_conference: Option<Date>,
    /// Events in use (neither retracted nor restricted) that occurred on or before the date.
    pub events_in_view: u32,
    /// Events known, not retracted, whose use is restricted (UK GDPR Art. 18), whatever their date: this
    /// summary leaves them out, as do the returns, the measures and the policies.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub restricted_events: u32,
    /// The whole record is restricted: nothing in it is used until the restriction is lifted.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub record_restricted: bool,
    /// Records known at `as_of.known_at`, whatever their date.
    pub records_known: u64,
    /// `EventCorrected` records known.
    pub corrections: u32,
    /// `EventRetracted` records known.
    pub retractions: u32,
    /// The version of the last record known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_version: Option<Version>,
    /// Events the state could not apply as recorded, in the order they occurred.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inconsistencies: Vec<Inconsistency>,
}

impl ChildSummary {
    /// The summary by full replay: [`known_at`] the instant, then the valid-time fold of the events in force
    /// that occurred on or before `as_of.on`, in the order they occurred (date, then version).
    ///
    /// `events` is one child's stream in version order (records of any other child are ignored).
    pub fn replay(events: &[RecordedEvent], as_of: AsOf) -> ChildSummary {
        ChildSummary::replay_resolved(events, &known_at_borrowed(events, as_of.known_at), as_of)
    }

    /// [`ChildSummary::replay`] for a caller that has already resolved the stream:
    /// `effective` is `known_at_borrowed(events, as_of.known_at)`.
    pub fn replay_resolved(
        events: &[RecordedEvent],
        effective: &[EffectiveRef<'_>],
        as_of: AsOf,
    ) -> ChildSummary {
        let mut known = Known::default();
        for r in known_records(events, as_of.known_at) {
            known.add(r);
        }
        // One registration is in use in a child's own stream. A merged record (issue #20) holds one per record
        // merged: the earliest recorded stands, and any other that says something else is an inconsistency
        // for a person to resolve (with `ChildDetailsAmended`), never an error.
        let mut registrations = effective
            .iter()
            .filter(|e| e.is_in_use() && matches!(e.payload, EventPayload::ChildRegistered(_)));
        let registration = registrations
            .next()
            .map(|e| (e.occurred_at.date(), identity_of(e)));
        let disagreements: Vec<Inconsistency> = match &registration {
            Some((_, standing)) => registrations
                .filter_map(|e| registration_disagrees(standing, e))
                .collect(),
            None => Vec::new(),
        };
        let mut facts: Vec<(OccurredAt, Version, &EffectiveRef<'_>)> = effective
            .iter()
            .filter(|e| e.is_in_use() && e.occurred_at.date() <= as_of.on)
            .map(|e| (e.occurred_at, e.version(), e))
            .collect();
        facts.sort_by_key(|(at, version, _)| (at.date(), *version));
        let mut fold = Fold::default();
        for (at, _, e) in facts {
            fold.apply(at, e.event_id(), &Fact::of(e.payload));
        }
        let restrictions = Restrictions {
            events: effective
                .iter()
                .filter(|e| !e.is_retracted() && e.restriction.is_some())
                .count() as u32,
            whole_record: effective
                .iter()
                .any(|e| e.restriction.as_ref().is_some_and(|r| r.whole_record)),
        };
        let mut summary = summarise(&fold, as_of, registration.as_ref().map(|(d, i)| (*d, i)), &known);
        restrictions.mark(&mut summary);
        summary.inconsistencies.splice(0..0, disagreements);
        summary
    }
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// What a summary says of the restrictions in force.
struct Restrictions {
    events: u32,
    whole_record: bool,
}

impl Restrictions {
    fn mark(&self, summary: &mut ChildSummary) {
        summary.restricted_events = self.events;
        summary.record_restricted = self.whole_record;
    }
}

/// A second registration's disagreement with the one that stands, naming each field that differs.
fn registration_disagrees(standing: &Identity, other: &EffectiveRef<'_>) -> Option<Inconsistency> {
    let theirs = identity_of(other);
    let mut differences = Vec::new();
    let show = |d: Option<Date>| d.map_or_else(|| "none".to_owned(), |d| d.to_string());
    if theirs.date_of_birth != standing.date_of_birth {
        differences.push(format!(
            "date of birth {} (the record's is {})",
            show(theirs.date_of_birth),
            show(standing.date_of_birth)
        ));
    }
    if theirs.expected_date_of_birth != standing.expected_date_of_birth {
        differences.push(format!(
            "expected date of birth {} (the record's is {})",
            show(theirs.expected_date_of_birth),
            show(standing.expected_date_of_birth)
        ));
    }
    if theirs.sex != standing.sex {
        let code = |s: Option<Sex>| s.map_or("none", |s| s.code());
        differences.push(format!(
            "sex {} (the record's is {})",
            code(theirs.sex),
            code(standing.sex)
        ));
    }
    if theirs.ethnicity != standing.ethnicity {
        let code = |e: Option<Ethnicity>| e.map_or("none", |e| e.code());
        differences.push(format!(
            "ethnicity {} (the record's is {})",
            code(theirs.ethnicity),
            code(standing.ethnicity)
        ));
    }
    (!differences.is_empty()).then(|| Inconsistency {
        event_id: other.event_id().clone(),
        kind: EventKind::ChildRegistered,
        on: other.occurred_at.date(),
        problem: format!(
            "a second registration, from a merged record, gives {}",
            differences.join(", ")
        ),
    })
}

fn identity_of(e: &EffectiveRef<'_>) -> Identity {
    match Fact::of(e.payload) {
        Fact::Registered(identity) => identity,
        _ => Identity::default(),
    }
}

/// What is counted of the records known, whatever their content.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Known {
    child_id: Option<ChildId>,
    records: u64,
    corrections: u32,
    retractions: u32,
    last_version: Option<Version>,
    last_recorded_at: Option<Timestamp>,
}

impl Known {
    fn add(&mut self, r: &RecordedEvent) {
        if self.child_id.is_none() {
            self.child_id = Some(r.envelope.child_id.clone());
        }
        self.records += 1;
        match r.payload.kind() {
            EventKind::EventCorrected => self.corrections += 1,
            EventKind::EventRetracted => self.retractions += 1,
            _ => {}
        }
        self.last_version = Some(r.envelope.version);
        self.last_recorded_at = Some(r.envelope.recorded_at);
    }
}

/// The summary on `as_of.on` from the fold of every fact up to that date.
fn summarise(
    fold: &Fold,
    as_of: AsOf,
    registration: Option<(Date, &Identity)>,
    known: &Known,
) -> ChildSummary {
    let on = as_of.on;
    let base = registration.map(|(_, i)| i.clone()).unwrap_or_default();
    let a = &fold.amended;
    let date_of_birth = a.date_of_birth.or(base.date_of_birth);

    let periods_of_care: Vec<PeriodOfCare> = fold
        .periods
        .iter()
        .map(|p| PeriodOfCare {
            start: p.start,
            start_unknown: p.start_unknown,
            end: p.end,
            reason_ceased: p.reason_ceased,
            days: days_within(p.start, p.end, None, on),
            placements: p.placements,
            event_id: p.event_id.clone(),
        })
        .collect();
    let short_break_days = fold
        .segments
        .iter()
        .filter(|s| s.legal_status.is_short_break())
        .map(|s| days_within(s.start, s.end, None, on))
        .sum();
    let care_leaver = date_of_birth.map(|dob| {
        let fourteenth_birthday = dob.add_years(14);
        let sixteenth_birthday = dob.add_years(16);
        let counted = fold.segments.iter().filter(|s| !s.legal_status.is_short_break());
        let after = |birthday: Date| -> i64 {
            counted
                .clone()
                .map(|s| days_within(s.start, s.end, Some(birthday), on))
                .sum()
        };
        let days_after_14th_birthday = after(fourteenth_birthday);
        let days_after_16th_birthday = after(sixteenth_birthday);
        // A period begun on an unrecorded date before its recorded start may add days after a birthday when
        // that start is after the birthday (under a legal status the record does not hold either).
        let unrecorded_after =
            |birthday: Date| fold.periods.iter().any(|p| p.start_unknown && p.start > birthday);
        let days_after_14th_birthday_at_least = unrecorded_after(fourteenth_birthday);
        let days_after_16th_birthday_at_least = unrecorded_after(sixteenth_birthday);
        let thirteen_weeks_test_met = days_after_14th_birthday >= 91 && days_after_16th_birthday >= 1;
        CareLeaverFacts {
            fourteenth_birthday,
            sixteenth_birthday,
            days_after_14th_birthday,
            days_after_16th_birthday,
            looked_after_after_16th_birthday: days_after_16th_birthday >= 1,
            thirteen_weeks_test_met,
            days_after_14th_birthday_at_least,
            days_after_16th_birthday_at_least,
            thirteen_weeks_test_unknown: !thirteen_weeks_test_met
                && (days_after_14th_birthday >= 91 || days_after_14th_birthday_at_least)
                && (days_after_16th_birthday >= 1 || days_after_16th_birthday_at_least),
        }
    });
    let year_before = on.add_years(-1);

    ChildSummary {
        child_id: known.child_id.clone(),
        as_of,
        registered_on: registration.map(|(d, _)| d),
        date_of_birth,
        expected_date_of_birth: a.expected_date_of_birth.or(base.expected_date_of_birth),
        age: date_of_birth.filter(|d| *d <= on).map(|d| d.age_on(on)),
        sex: a.sex.or(base.sex),
        ethnicity: a.ethnicity.or(base.ethnicity),
        died_on: fold.died_on,
        unaccompanied_asylum_seeking_since: fold.uasc_since,
        open: fold.open.clone(),
        missing: fold.missing.clone(),
        orders_in_force: fold.orders.clone(),
        looked_after_days: periods_of_care.iter().map(|p| p.days).sum(),
        looked_after_days_at_least: periods_of_care.iter().any(|p| p.start_unknown),
        periods_of_care,
        short_break_days,
        placements: fold.placement_starts.len() as u32,
        placements_last_12_months: fold.placement_starts.iter().filter(|d| **d > year_before).count() as u32,
        permanence_plan: fold.permanence_plan.clone(),
        care_leaver,
        allocations: fold.allocations.clone(),
        last_visit: fold.last_visit.clone(),
        latest_looked_after_review: fold.latest_looked_after_review,
        latest_child_protection_conference: fold.latest_child_protection_conference,
        events_in_view: fold.events,
        restricted_events: 0,
        record_restricted: false,
        records_known: known.records,
        corrections: known.corrections,
        retractions: known.retractions,
        last_version: known.last_version,
        inconsistencies: fold.inconsistencies.clone(),
    }
}

// ---------------------------------------------------------------------------------------------------------
// The incremental projection
// ---------------------------------------------------------------------------------------------------------

/// Where a fact sits in valid-time order: its date in force, then its event's version.
type FactKey = (Date, Version);

/// The fold keeps a checkpoint after this many facts, so that a late record or a correction re-folds only
/// what follows it, and a summary on an earlier date starts from the checkpoint before it.
const CHECKPOINT_EVERY: usize = 32;

/// The child summary, maintained one record at a time.
///
/// For every prefix of a stream, `summary(on)` equals [`ChildSummary::replay`] of that prefix with
/// `AsOf { on, known_at: <the last record's recorded_at> }` (checked by a property test).
///
/// How: each original event is kept as a compact [`Fact`] (and each of its corrections as one too, so that
/// withdrawing a correction can restore the one before), in a map ordered by valid time (date in force,
/// then version). The fold of all facts is kept, with a checkpoint every few facts:
/// * a record that occurred after everything known (the usual case) is applied to the fold in place;
/// * a record that occurred before something already known (recorded late), a correction, or a retraction
///   re-folds from the last checkpoint before the earliest date it touches — the old and the new date of a
///   corrected event;
/// * a correction that changes nothing the summary uses (a contact's wording) re-folds nothing.
///
/// `summary(on)` for a date on or after the last fact uses the kept fold; for an earlier date it folds
/// forward from the checkpoint before `on`.
#[derive(Clone, Debug, Default)]
pub struct SummaryProjection {
    known: Known,
    resolver: Resolver<Fact>,
    /// Per original event (by slot): its key in `facts`, `None` when retracted.
    placed: Vec<Option<FactKey>>,
    /// The facts in force, in valid-time order: key -> slot.
    facts: BTreeMap<FactKey, usize>,
    /// Slots whose fact in force is a live registration, by version: the last is in force.
    registrations: BTreeSet<(Version, usize)>,
    /// The fold of every fact in `facts`.
    tail: Fold,
    /// The key of the last fact folded into `tail`.
    tail_key: Option<FactKey>,
    /// The fold of every fact up to and including the key.
    checkpoints: BTreeMap<FactKey, Fold>,
    since_checkpoint: usize,
    /// Facts between checkpoints; 0 for [`CHECKPOINT_EVERY`].
    checkpoint_every: usize,
}

impl SummaryProjection {
    pub fn new() -> SummaryProjection {
        SummaryProjection::default()
    }

    /// A projection that keeps a checkpoint of its fold every `facts` facts (at least 1), rather than the
    /// default: for tests of the checkpointing itself.
    #[doc(hidden)]
    pub fn with_checkpoint_every(facts: usize) -> SummaryProjection {
        SummaryProjection {
            checkpoint_every: facts.max(1),
            ..SummaryProjection::default()
        }
    }

    /// A projection of `events` (one child's stream, in version order).
    pub fn from_events<'a>(events: impl IntoIterator<Item = &'a RecordedEvent>) -> SummaryProjection {
        let mut p = SummaryProjection::new();
        for e in events {
            p.apply(e);
        }
        p
    }

    /// The child, once a record has been applied.
    pub fn child_id(&self) -> Option<&ChildId> {
        self.known.child_id.as_ref()
    }

    /// The version of the last record applied.
    pub fn version(&self) -> Option<Version> {
        self.known.last_version
    }

    /// The `recorded_at` of the last record applied: the projection's "known at".
    pub fn known_at(&self) -> Option<Timestamp> {
        self.known.last_recorded_at
    }

    /// Applies the next record of the stream (records must come in version order). A record of another
    /// child than the first one applied is ignored.
    pub fn apply(&mut self, event: &RecordedEvent) {
        let e = &event.envelope;
        if self.known.child_id.as_ref().is_some_and(|c| *c != e.child_id) {
            return;
        }
        self.known.add(event);
        let before = self.resolver.target_of(&event.payload).map(|t| self.in_force(t));
        match self
            .resolver
            .apply(&e.event_id, e.version, e.occurred_at, &event.payload, Fact::of)
        {
            Effect::Added(i) => {
                debug_assert_eq!(i, self.placed.len());
                self.placed.push(None);
                self.place(i);
            }
            Effect::Changed(i) => {
                if before.as_ref() != Some(&self.in_force(i)) {
                    self.place(i);
                }
            }
            Effect::ChangedAll => self.place_all(),
            Effect::Nothing => {}
        }
    }

    /// The summary on `on`, as known at the last record applied.
    pub fn summary(&self, on: Date) -> ChildSummary {
        let as_of = AsOf {
            on,
            known_at: self.known.last_recorded_at.unwrap_or(Timestamp::UNIX_EPOCH),
        };
        let bound: FactKey = (on, Version(u64::MAX));
        let fold = match self.tail_key {
            Some(last) if last > bound => {
                let (start, mut fold) = match self.checkpoints.range(..=bound).next_back() {
                    Some((k, f)) => (Bound::Excluded(*k), f.clone()),
                    None => (Bound::Unbounded, Fold::default()),
                };
                for (_, &i) in self.facts.range((start, Bound::Included(bound))) {
                    self.fold_slot(&mut fold, i);
                }
                Cow::Owned(fold)
            }
            _ => Cow::Borrowed(&self.tail),
        };
        let registration = self.registrations.last().map(|&(_, i)| {
            let (at, fact) = self.resolver.slot(i).in_force();
            match fact {
                Fact::Registered(identity) => (at.date(), identity),
                _ => unreachable!("only live registrations are kept in `registrations`"),
            }
        });
        let mut summary = summarise(&fold, as_of, registration, &self.known);
        Restrictions {
            events: self.resolver.restricted_count(),
            whole_record: self.resolver.record_restricted() && self.resolver.len() > 0,
        }
        .mark(&mut summary);
        summary
    }

    fn every(&self) -> usize {
        if self.checkpoint_every == 0 {
            CHECKPOINT_EVERY
        } else {
            self.checkpoint_every
        }
    }

    /// What the fold sees of an original event: its time and fact in force, whether it is in use.
    fn in_force(&self, i: usize) -> (OccurredAt, Fact, bool) {
        let (at, fact) = self.resolver.slot(i).in_force();
        (at, fact.clone(), self.resolver.in_use(i))
    }

    fn fold_slot(&self, fold: &mut Fold, i: usize) {
        let slot = self.resolver.slot(i);
        let (at, fact) = slot.in_force();
        fold.apply(at, &slot.event_id, fact);
    }

    /// Puts the original event in slot `i` where its content in force belongs, and brings the fold up to date.
    fn place(&mut self, i: usize) {
        let slot = self.resolver.slot(i);
        let (at, fact) = slot.in_force();
        let version = slot.version;
        let new_key = self.resolver.in_use(i).then_some((at.date(), version));
        let registered = new_key.is_some() && matches!(fact, Fact::Registered(_));
        let old_key = self.placed[i];

        self.registrations.remove(&(version, i));
        if registered {
            self.registrations.insert((version, i));
        }
        if let Some(k) = old_key {
            self.facts.remove(&k);
        }
        if let Some(k) = new_key {
            self.facts.insert(k, i);
        }
        self.placed[i] = new_key;

        match (old_key, new_key) {
            (None, Some(k)) if self.tail_key.is_none_or(|t| k > t) => {
                // After everything folded so far: extend the fold in place.
                let mut tail = std::mem::take(&mut self.tail);
                self.fold_slot(&mut tail, i);
                self.tail = tail;
                self.tail_key = Some(k);
                self.since_checkpoint += 1;
                if self.since_checkpoint >= self.every() {
                    self.checkpoints.insert(k, self.tail.clone());
                    self.since_checkpoint = 0;
                }
            }
            (None, None) => {}
            (Some(a), Some(b)) => self.refold_from(a.min(b)),
            (Some(k), None) | (None, Some(k)) => self.refold_from(k),
        }
    }

    /// Places every original again and folds everything from the start: the whole record's restriction was
    /// placed or lifted, which changes whether every event is used (rare; one fold, not one per event).
    fn place_all(&mut self) {
        self.facts.clear();
        self.registrations.clear();
        for i in 0..self.placed.len() {
            let slot = self.resolver.slot(i);
            let (at, fact) = slot.in_force();
            let key = self.resolver.in_use(i).then_some((at.date(), slot.version));
            if let Some(k) = key {
                self.facts.insert(k, i);
                if matches!(fact, Fact::Registered(_)) {
                    self.registrations.insert((slot.version, i));
                }
            }
            self.placed[i] = key;
        }
        self.checkpoints.clear();
        self.refold_from((Date::MIN, Version(0)));
    }

    /// Drops the checkpoints at or after `from` and folds forward again from the last one before it.
    fn refold_from(&mut self, from: FactKey) {
        drop(self.checkpoints.split_off(&from));
        let (start, mut fold) = match self.checkpoints.last_key_value() {
            Some((k, f)) => (Bound::Excluded(*k), f.clone()),
            None => (Bound::Unbounded, Fold::default()),
        };
        let mut since = 0;
        let mut last = match start {
            Bound::Excluded(k) => Some(k),
            _ => None,
        };
        let mut checkpoints = Vec::new();
        for (&k, &i) in self.facts.range((start, Bound::Unbounded)) {
            self.fold_slot(&mut fold, i);
            last = Some(k);
            since += 1;
            if since >= self.every() {
                checkpoints.push((k, fold.clone()));
                since = 0;
            }
        }
        self.checkpoints.extend(checkpoints);
        self.tail = fold;
        self.tail_key = last;
        self.since_checkpoint = since;
    }
}
