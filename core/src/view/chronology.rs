//! The chronology: the timeline an investigator reads. One entry per event, in the order things happened,
//! each with both times, the lag between them, who recorded it from which system, a one-line summary, and
//! its status after corrections and retractions, which stay in view rather than overwrite, and the
//! restriction of use (UK GDPR Art. 18) it is under, if any: a restricted event stays in the chronology,
//! marked.

use std::borrow::Cow;
use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::domain::{EventKind, EventPayload, Stage};
use crate::envelope::{Envelope, RecordedEvent};
use crate::ids::{ChildId, CorrelationId, EventId, Position, PrincipalId, Source, Version};
use crate::time::{OccurredAt, Timestamp};

use super::AsOf;
use super::describe::describe;
use super::effective::{Amendment, AmendmentRecord, EffectiveRef, EventStatus, Restriction, resolve};
use super::merge::RecordedUnder;

/// What a chronology includes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChronologyOptions {
    /// Also the events that occurred after `as_of.on` (default: only those on or before it).
    pub include_after_on: bool,
    /// Retracted events and withdrawn corrections, marked as such (default: true).
    pub include_retracted: bool,
    /// The correction and retraction records as entries of their own, at the date they were decided, beside
    /// the status they give the event they touch (default: true).
    pub include_amendments: bool,
    /// An entry is `recorded_late` when more than this many calendar days passed between the date it
    /// occurred and the date (in England) it was recorded (default: 1).
    pub late_after_days: i32,
}

impl Default for ChronologyOptions {
    fn default() -> Self {
        ChronologyOptions {
            include_after_on: false,
            include_retracted: true,
            include_amendments: true,
            late_after_days: 1,
        }
    }
}

/// A child's timeline on both time axes.
///
/// Built from a stream, it borrows the events' content from the stream (`'a`), since a read serialises it
/// straight away; [`Chronology::into_owned`] detaches it, and deserialising always gives an owned one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Chronology<'a> {
    /// `None` only for an empty stream.
    pub child_id: Option<ChildId>,
    pub as_of: AsOf,
    pub options: ChronologyOptions,
    /// In the order things happened (`occurred_at`, then version).
    pub entries: Vec<ChronologyEntry<'a>>,
}

/// One event of the timeline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChronologyEntry<'a> {
    pub event_id: EventId,
    pub version: Version,
    pub position: Position,
    /// The kind in force.
    pub kind: EventKind,
    /// The lane of the timeline.
    pub stage: Stage,
    /// When it happened, as in force.
    pub occurred_at: OccurredAt,
    /// When it was first recorded as happening, if a correction moved it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub originally_occurred_at: Option<OccurredAt>,
    pub recorded_at: Timestamp,
    pub recorded_by: PrincipalId,
    pub source: Source,
    /// For history imported from another system: when that system says it recorded the fact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_recorded_at: Option<Timestamp>,
    /// Calendar days from the date it happened to the date (in England) Journey recorded it.
    pub lag_days: i32,
    /// Calendar days from the date it happened to the date the source system says it recorded it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_lag_days: Option<i32>,
    /// Whether the agency recorded it late: `source_lag_days` when the record was imported with the source
    /// system's recording time (Journey's own import date says nothing about practice), else `lag_days`,
    /// compared with `options.late_after_days`.
    pub recorded_late: bool,
    /// One line: what happened (see [`describe`]).
    pub summary: String,
    pub status: EventStatus,
    /// The restriction of use in force on the event (its own or the whole record's): it is kept and shown,
    /// but not used by summaries, returns, measures or policies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restriction: Option<Restriction>,
    /// The corrections, retractions and restrictions that touched this event, in the order recorded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amendments: Vec<Amendment>,
    /// For a correction, retraction or restriction entry: the event it names (none for a restriction of
    /// the whole record).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_event_id: Option<EventId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<CorrelationId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub causation_id: Option<EventId>,
    /// The content in force.
    pub payload: Cow<'a, EventPayload>,
    /// The content as first recorded, when a correction is in force.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_payload: Option<Cow<'a, EventPayload>>,
    /// In a merged record (issue #20): the record and version the event was recorded under, when not this
    /// child's own (`version` is then its place in the merged record).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorded_under: Option<RecordedUnder>,
}

impl<'a> Chronology<'a> {
    /// The timeline of `events` (one child's stream, in version order) as known at `as_of.known_at`,
    /// up to `as_of.on` unless `options.include_after_on`.
    pub fn build(events: &'a [RecordedEvent], as_of: AsOf, options: ChronologyOptions) -> Chronology<'a> {
        let resolution = resolve(events, as_of.known_at);
        let effective = &resolution.effective;
        let in_view = |at: OccurredAt| options.include_after_on || at.date() <= as_of.on;

        // The order is decided on small references before any entry is built: sorting hundreds of
        // entries moves every one of them several times.
        let mut order: Vec<(OccurredAt, Version, EntryOrigin<'_, 'a>)> = effective
            .iter()
            .filter(|e| in_view(e.occurred_at) && (options.include_retracted || !e.is_retracted()))
            .map(|e| (e.occurred_at, e.version(), EntryOrigin::Event(e)))
            .collect();
        if options.include_amendments {
            order.extend(
                resolution
                    .amendments
                    .iter()
                    .filter(|a| in_view(a.record.envelope.occurred_at))
                    .filter(|a| options.include_retracted || a.withdrawn.is_none())
                    .map(|a| {
                        (
                            a.record.envelope.occurred_at,
                            a.record.envelope.version,
                            EntryOrigin::Amendment(a),
                        )
                    }),
            );
        }
        order.sort_by_key(|&(occurred_at, version, _)| (occurred_at, version));
        let entries = order
            .into_iter()
            .map(|(_, _, origin)| match origin {
                EntryOrigin::Event(e) => event_entry(e, &options),
                EntryOrigin::Amendment(a) => amendment_entry(a, effective, &options),
            })
            .collect();
        Chronology {
            child_id: events.first().map(|e| e.envelope.child_id.clone()),
            as_of,
            options,
            entries,
        }
    }

    /// Marks the entries of a merged record's timeline with the record each was recorded under
    /// ([`super::merge::MergedStream::recorded_under`]).
    pub fn mark_recorded_under(&mut self, recorded_under: &HashMap<Position, RecordedUnder>) {
        if recorded_under.is_empty() {
            return;
        }
        for entry in &mut self.entries {
            entry.recorded_under = recorded_under.get(&entry.position).cloned();
        }
    }

    /// The same timeline owning its content, free of the stream it was built from.
    pub fn into_owned(self) -> Chronology<'static> {
        Chronology {
            child_id: self.child_id,
            as_of: self.as_of,
            options: self.options,
            entries: self
                .entries
                .into_iter()
                .map(ChronologyEntry::into_owned)
                .collect(),
        }
    }
}

impl ChronologyEntry<'_> {
    /// The same entry owning its content.
    pub fn into_owned(self) -> ChronologyEntry<'static> {
        ChronologyEntry {
            payload: Cow::Owned(self.payload.into_owned()),
            original_payload: self.original_payload.map(|p| Cow::Owned(p.into_owned())),
            ..self
        }
    }
}

/// What an entry is built from: an event (with its status after amendments) or an amendment record.
enum EntryOrigin<'r, 'a> {
    Event(&'r EffectiveRef<'a>),
    Amendment(&'r AmendmentRecord<'a>),
}

fn event_entry<'a>(e: &EffectiveRef<'a>, options: &ChronologyOptions) -> ChronologyEntry<'a> {
    let env = &e.envelope;
    let lag = Lag::of(env, e.occurred_at, options);
    ChronologyEntry {
        event_id: env.event_id.clone(),
        version: env.version,
        position: env.position,
        kind: e.kind(),
        stage: e.kind().stage(),
        occurred_at: e.occurred_at,
        originally_occurred_at: (env.occurred_at != e.occurred_at).then_some(env.occurred_at),
        recorded_at: env.recorded_at,
        recorded_by: env.recorded_by.clone(),
        source: env.source.clone(),
        source_recorded_at: env.source_recorded_at,
        lag_days: lag.days,
        source_lag_days: lag.source_days,
        recorded_late: lag.late,
        summary: describe(e.payload),
        status: e.status.clone(),
        restriction: e.restriction.clone(),
        amendments: e.amendments.clone(),
        target_event_id: None,
        correlation_id: env.correlation_id.clone(),
        causation_id: env.causation_id.clone(),
        payload: Cow::Borrowed(e.payload),
        original_payload: e.original_payload.map(Cow::Borrowed),
        recorded_under: None,
    }
}

fn amendment_entry<'a>(
    a: &AmendmentRecord<'a>,
    effective: &[EffectiveRef<'a>],
    options: &ChronologyOptions,
) -> ChronologyEntry<'a> {
    let r = a.record;
    let env = &r.envelope;
    let original = a.original.map(|i| &effective[i]);
    let (target, summary) = match (&r.payload, original) {
        (EventPayload::EventRetracted(x), Some(o)) if x.target_event_id != *o.event_id() => (
            Some(x.target_event_id.clone()),
            format!(
                "Withdrawal of correction {} of {} {}: {}",
                x.target_event_id,
                o.kind(),
                o.event_id(),
                x.reason.description()
            ),
        ),
        (EventPayload::EventRetracted(x), Some(o)) => (
            Some(x.target_event_id.clone()),
            format!(
                "Retraction of {} {}: {}",
                o.kind(),
                o.event_id(),
                x.reason.description()
            ),
        ),
        (EventPayload::EventRetracted(x), None) => (Some(x.target_event_id.clone()), describe(&r.payload)),
        (EventPayload::EventCorrected(c), _) => (Some(c.target_event_id.clone()), describe(&r.payload)),
        (EventPayload::RecordRestricted(x), Some(o)) => (
            x.target_event_id.clone(),
            format!(
                "Use of {} {} restricted: {} — {}",
                o.kind(),
                o.event_id(),
                x.grounds.description(),
                x.reason
            ),
        ),
        (EventPayload::RecordRestricted(x), None) => (x.target_event_id.clone(), describe(&r.payload)),
        (EventPayload::RestrictionLifted(x), Some(o)) => (
            Some(o.event_id().clone()),
            format!(
                "Restriction of {} {} lifted — {}",
                o.kind(),
                o.event_id(),
                x.reason
            ),
        ),
        (EventPayload::RestrictionLifted(_), None) => (None, describe(&r.payload)),
        _ => unreachable!("amendment records are corrections, retractions and restrictions"),
    };
    let status = match a.withdrawn {
        Some(by) => match &by.payload {
            EventPayload::EventRetracted(x) => EventStatus::Retracted {
                by_event_id: by.envelope.event_id.clone(),
                retracted_at: by.envelope.recorded_at,
                retracted_by: by.envelope.recorded_by.clone(),
                reason: x.reason,
                detail: x.detail.clone(),
            },
            _ => unreachable!("only retractions withdraw corrections"),
        },
        None => EventStatus::Current,
    };
    let kind = r.payload.kind();
    let lag = Lag::of(env, env.occurred_at, options);
    ChronologyEntry {
        event_id: env.event_id.clone(),
        version: env.version,
        position: env.position,
        kind,
        stage: kind.stage(),
        occurred_at: env.occurred_at,
        originally_occurred_at: None,
        recorded_at: env.recorded_at,
        recorded_by: env.recorded_by.clone(),
        source: env.source.clone(),
        source_recorded_at: env.source_recorded_at,
        lag_days: lag.days,
        source_lag_days: lag.source_days,
        recorded_late: lag.late,
        summary,
        status,
        restriction: None,
        amendments: Vec::new(),
        target_event_id: target,
        correlation_id: env.correlation_id.clone(),
        causation_id: env.causation_id.clone(),
        payload: Cow::Borrowed(&r.payload),
        original_payload: None,
        recorded_under: None,
    }
}

/// How long after it happened an event was recorded.
struct Lag {
    days: i32,
    source_days: Option<i32>,
    late: bool,
}

impl Lag {
    fn of(e: &Envelope, occurred_at: OccurredAt, options: &ChronologyOptions) -> Lag {
        let occurred = occurred_at.date();
        let days = occurred.days_until(e.recorded_at.england_date());
        let source_days = e
            .source_recorded_at
            .map(|s| occurred.days_until(s.england_date()));
        Lag {
            days,
            source_days,
            late: source_days.unwrap_or(days) > options.late_after_days,
        }
    }
}
