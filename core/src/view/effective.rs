//! Transaction time: which content of each event was in force at an instant.
//!
//! # Rules (the same as the domain's `StreamState`)
//! * An original event is any event but `EventCorrected` and `EventRetracted`.
//! * `EventCorrected` replaces the whole content of its target (an original). Its `target_occurred_at`
//!   moves the target in valid time; without it, the target keeps the time in force when the correction
//!   was recorded. The **latest live** correction is in force; a correction withdrawn by a retraction is no
//!   longer live, so retracting the latest correction restores the one before it (or the original).
//! * `EventRetracted` of an original withdraws it for good (its content stays readable); of a correction,
//!   it withdraws that correction only.
//! * A correction or retraction naming something that is not a known original or correction (refused by
//!   the domain rules, or not yet known at the instant) has no effect.
//! * `RecordRestricted` restricts the use of its target (an original, whatever content is in force), or of
//!   every original with no target, until a `RestrictionLifted` naming it (UK GDPR Art. 18). A restricted
//!   event keeps its content and status and is marked with its [`Restriction`]; it is not *in use*
//!   ([`EffectiveRef::is_in_use`]), so the summary, the returns, the measures and the policies' input leave
//!   it out, as they leave out a retracted one. Restrictions are not entries of their own either.
//!
//! * Merge events (`RecordMergedInto`, `RecordMergedFrom`, `MergeUndone`) are about the record, not the
//!   child, and have no place here: a merged child is read as the union of its records (issue #20).
//!
//! Nothing here depends on the order in which things occurred: only on the order in which they were
//! recorded (the stream's version order).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::domain::{
    EventKind, EventPayload, LongText,
    lists::{RestrictionGrounds, RetractionReason},
};
use crate::envelope::{Envelope, RecordedEvent};
use crate::ids::{ChildId, EventId, PrincipalId, Version};
use crate::time::{OccurredAt, Timestamp};

/// One original event as known at an instant: the content in force, its status, and what touched it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EffectiveEvent {
    /// The original record's envelope; its `occurred_at` is the time as first recorded.
    pub envelope: Envelope,
    /// When the event happened, as in force (a correction may have moved it).
    pub occurred_at: OccurredAt,
    /// The content in force: the latest live correction's replacement, or the original payload.
    pub payload: EventPayload,
    /// The payload as first recorded, when a correction is in force.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_payload: Option<EventPayload>,
    pub status: EventStatus,
    /// Every correction, retraction and restriction of this event known at the instant, in the order
    /// recorded (including corrections later withdrawn and restrictions since lifted).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amendments: Vec<Amendment>,
    /// The restriction of use in force at the instant, if any: the event's or the whole record's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restriction: Option<Restriction>,
}

impl EffectiveEvent {
    pub fn event_id(&self) -> &EventId {
        &self.envelope.event_id
    }

    pub fn version(&self) -> Version {
        self.envelope.version
    }

    /// The kind in force.
    pub fn kind(&self) -> EventKind {
        self.payload.kind()
    }

    pub fn is_retracted(&self) -> bool {
        matches!(self.status, EventStatus::Retracted { .. })
    }

    /// Whether the summary, returns, measures and policies use the event: neither retracted nor restricted.
    pub fn is_in_use(&self) -> bool {
        !self.is_retracted() && self.restriction.is_none()
    }

    /// True when a correction, in force or since withdrawn, or a retraction touched the event.
    pub fn was_amended(&self) -> bool {
        !self.amendments.is_empty()
    }
}

/// [`EffectiveEvent`] borrowing the envelope and contents from the stream it was resolved from: what the
/// hot paths (the child summary, a policy's input, the chronology) read, without copying every record.
#[derive(Clone, Debug, PartialEq)]
pub struct EffectiveRef<'a> {
    pub envelope: &'a Envelope,
    pub occurred_at: OccurredAt,
    pub payload: &'a EventPayload,
    pub original_payload: Option<&'a EventPayload>,
    pub status: EventStatus,
    pub amendments: Vec<Amendment>,
    pub restriction: Option<Restriction>,
}

impl EffectiveRef<'_> {
    pub fn event_id(&self) -> &EventId {
        &self.envelope.event_id
    }

    pub fn version(&self) -> Version {
        self.envelope.version
    }

    /// The kind in force.
    pub fn kind(&self) -> EventKind {
        self.payload.kind()
    }

    pub fn is_retracted(&self) -> bool {
        matches!(self.status, EventStatus::Retracted { .. })
    }

    /// Whether the summary, returns, measures and policies use the event: neither retracted nor restricted.
    pub fn is_in_use(&self) -> bool {
        !self.is_retracted() && self.restriction.is_none()
    }

    /// The owned event, for callers that keep it beyond the stream.
    pub fn to_owned_event(&self) -> EffectiveEvent {
        EffectiveEvent::from(self.clone())
    }
}

impl From<EffectiveRef<'_>> for EffectiveEvent {
    fn from(e: EffectiveRef<'_>) -> EffectiveEvent {
        EffectiveEvent {
            envelope: e.envelope.clone(),
            occurred_at: e.occurred_at,
            payload: e.payload.clone(),
            original_payload: e.original_payload.cloned(),
            status: e.status,
            amendments: e.amendments,
            restriction: e.restriction,
        }
    }
}

/// A restriction of use in force on an event (UK GDPR Art. 18): the fact is kept and readable, not used.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Restriction {
    /// The `RecordRestricted` record.
    pub by_event_id: EventId,
    pub restricted_at: Timestamp,
    pub restricted_by: PrincipalId,
    pub grounds: RestrictionGrounds,
    pub reason: LongText,
    /// The whole record is restricted, not only this event.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub whole_record: bool,
}

impl Restriction {
    fn of(record: &RecordedEvent) -> Restriction {
        match &record.payload {
            EventPayload::RecordRestricted(r) => Restriction {
                by_event_id: record.envelope.event_id.clone(),
                restricted_at: record.envelope.recorded_at,
                restricted_by: record.envelope.recorded_by.clone(),
                grounds: r.grounds,
                reason: r.reason.clone(),
                whole_record: r.target_event_id.is_none(),
            },
            _ => unreachable!("only RecordRestricted restricts"),
        }
    }
}

/// Where an event stands after its corrections and retractions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum EventStatus {
    /// As recorded (any corrections have been withdrawn).
    Current,
    /// A correction is in force.
    Corrected {
        /// How many corrections are live (not withdrawn).
        corrections: u32,
        /// The correction in force.
        by_event_id: EventId,
        corrected_at: Timestamp,
        corrected_by: PrincipalId,
        reason: LongText,
    },
    /// Withdrawn: not part of the state; the content stays readable.
    Retracted {
        by_event_id: EventId,
        retracted_at: Timestamp,
        retracted_by: PrincipalId,
        reason: RetractionReason,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        detail: Option<LongText>,
    },
}

/// A correction or retraction that touched an event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Amendment {
    /// The correction or retraction record.
    pub event_id: EventId,
    pub version: Version,
    /// When the correction or retraction was decided.
    pub occurred_at: OccurredAt,
    pub recorded_at: Timestamp,
    pub recorded_by: PrincipalId,
    #[serde(flatten)]
    pub action: AmendmentAction,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum AmendmentAction {
    /// The content (and perhaps the time) was replaced.
    Corrected {
        reason: LongText,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        target_occurred_at: Option<OccurredAt>,
        /// The retraction that later withdrew this correction, if known at the instant.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        withdrawn_by: Option<EventId>,
    },
    /// The event itself was retracted.
    Retracted {
        reason: RetractionReason,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        detail: Option<LongText>,
    },
    /// One of the event's corrections was retracted.
    CorrectionWithdrawn {
        correction_event_id: EventId,
        reason: RetractionReason,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        detail: Option<LongText>,
    },
    /// The event's use was restricted (the restriction of the whole record is not listed on every event).
    Restricted {
        grounds: RestrictionGrounds,
        reason: LongText,
    },
    /// The event's restriction was lifted.
    RestrictionLifted {
        restriction_event_id: EventId,
        reason: LongText,
    },
}

/// The events of one child's stream as known at `known_at`: the records with `recorded_at <= known_at`,
/// with corrections and retractions resolved (see the module documentation). One entry per original
/// event, in stream (version) order, retracted ones included with their status. Corrections and
/// retractions are not entries of their own: they are listed on the event they touched.
///
/// `events` is one child's stream in version order, as `EventStore::read_stream` returns it; records of
/// any other child than the first record's are ignored.
pub fn known_at(events: &[RecordedEvent], known_at: Timestamp) -> Vec<EffectiveEvent> {
    resolve(events, known_at)
        .effective
        .into_iter()
        .map(EffectiveEvent::from)
        .collect()
}

/// [`known_at`], borrowing from `events` instead of copying them.
pub fn known_at_borrowed(events: &[RecordedEvent], known_at: Timestamp) -> Vec<EffectiveRef<'_>> {
    resolve(events, known_at).effective
}

/// The records of `events` known at `known_at`, of the first record's child, in version order.
pub(crate) fn known_records(
    events: &[RecordedEvent],
    known_at: Timestamp,
) -> impl Iterator<Item = &RecordedEvent> {
    let child: Option<&ChildId> = events.first().map(|e| &e.envelope.child_id);
    events
        .iter()
        .filter(move |e| Some(&e.envelope.child_id) == child && e.envelope.recorded_at <= known_at)
}

/// [`known_at`], and the correction and retraction records themselves with what they did.
pub(crate) struct Resolution<'a> {
    pub effective: Vec<EffectiveRef<'a>>,
    pub amendments: Vec<AmendmentRecord<'a>>,
}

/// A correction or retraction record, known at the instant.
pub(crate) struct AmendmentRecord<'a> {
    pub record: &'a RecordedEvent,
    /// The original event it touched (for the retraction of a correction: the corrected original), if any.
    pub original: Option<usize>,
    /// For a correction: the retraction that withdrew it.
    pub withdrawn: Option<&'a RecordedEvent>,
}

pub(crate) fn resolve(events: &[RecordedEvent], known_at: Timestamp) -> Resolution<'_> {
    let mut resolver: Resolver<&EventPayload> = Resolver::default();
    let mut originals: Vec<&RecordedEvent> = Vec::new();
    let mut amendments: Vec<Vec<Amendment>> = Vec::new();
    let mut records: Vec<AmendmentRecord<'_>> = Vec::new();
    // A correction's id -> its index in `records` and in its original's `amendments`.
    let mut correction_at: HashMap<&EventId, (usize, usize)> = HashMap::new();
    // The retraction record of each retracted original.
    let mut retracted_by: HashMap<usize, &RecordedEvent> = HashMap::new();
    // The restriction in force on each restricted original, and on the whole record.
    let mut restricted_by: HashMap<usize, &RecordedEvent> = HashMap::new();
    let mut whole_record_restricted: Option<&RecordedEvent> = None;

    for r in known_records(events, known_at) {
        if r.payload.kind().is_merge() {
            // About the record, not the child: the merged record is read instead (issue #20).
            continue;
        }
        let e = &r.envelope;
        let effect = resolver.apply(&e.event_id, e.version, e.occurred_at, &r.payload, |p| p);
        let amendment = |action| Amendment {
            event_id: e.event_id.clone(),
            version: e.version,
            occurred_at: e.occurred_at,
            recorded_at: e.recorded_at,
            recorded_by: e.recorded_by.clone(),
            action,
        };
        match (&r.payload, effect) {
            (_, Effect::Added(i)) => {
                debug_assert_eq!(i, originals.len());
                originals.push(r);
                amendments.push(Vec::new());
            }
            (EventPayload::EventCorrected(c), Effect::Changed(i)) => {
                correction_at.insert(&e.event_id, (records.len(), amendments[i].len()));
                amendments[i].push(amendment(AmendmentAction::Corrected {
                    reason: c.reason.clone(),
                    target_occurred_at: c.target_occurred_at,
                    withdrawn_by: None,
                }));
                records.push(AmendmentRecord {
                    record: r,
                    original: Some(i),
                    withdrawn: None,
                });
            }
            (EventPayload::EventRetracted(x), Effect::Changed(i)) => {
                let action = match correction_at.get(&x.target_event_id) {
                    Some(&(rec, k)) => {
                        records[rec].withdrawn = Some(r);
                        if let AmendmentAction::Corrected { withdrawn_by, .. } = &mut amendments[i][k].action
                        {
                            *withdrawn_by = Some(e.event_id.clone());
                        }
                        AmendmentAction::CorrectionWithdrawn {
                            correction_event_id: x.target_event_id.clone(),
                            reason: x.reason,
                            detail: x.detail.clone(),
                        }
                    }
                    None => {
                        retracted_by.insert(i, r);
                        AmendmentAction::Retracted {
                            reason: x.reason,
                            detail: x.detail.clone(),
                        }
                    }
                };
                amendments[i].push(amendment(action));
                records.push(AmendmentRecord {
                    record: r,
                    original: Some(i),
                    withdrawn: None,
                });
            }
            (EventPayload::RecordRestricted(x), Effect::Changed(i)) => {
                restricted_by.insert(i, r);
                amendments[i].push(amendment(AmendmentAction::Restricted {
                    grounds: x.grounds,
                    reason: x.reason.clone(),
                }));
                records.push(AmendmentRecord {
                    record: r,
                    original: Some(i),
                    withdrawn: None,
                });
            }
            (EventPayload::RestrictionLifted(x), Effect::Changed(i)) => {
                restricted_by.remove(&i);
                amendments[i].push(amendment(AmendmentAction::RestrictionLifted {
                    restriction_event_id: x.restriction_event_id.clone(),
                    reason: x.reason.clone(),
                }));
                records.push(AmendmentRecord {
                    record: r,
                    original: Some(i),
                    withdrawn: None,
                });
            }
            (payload, Effect::ChangedAll) => {
                whole_record_restricted = matches!(payload, EventPayload::RecordRestricted(_)).then_some(r);
                records.push(AmendmentRecord {
                    record: r,
                    original: None,
                    withdrawn: None,
                });
            }
            (_, _) => records.push(AmendmentRecord {
                record: r,
                original: None,
                withdrawn: None,
            }),
        }
    }

    let effective = originals
        .iter()
        .zip(amendments)
        .enumerate()
        .map(|(i, (record, amendments))| {
            let slot = resolver.slot(i);
            let (occurred_at, payload) = slot.in_force();
            let live = slot.live_corrections();
            let status = match (retracted_by.get(&i), slot.in_force_correction()) {
                (Some(by), _) => retraction_status(by),
                (None, Some(k)) => {
                    let c = slot.corrections[k].record_index;
                    correction_status(&records, c, live)
                }
                (None, None) => EventStatus::Current,
            };
            let restriction = restricted_by
                .get(&i)
                .or(whole_record_restricted.as_ref())
                .map(|r| Restriction::of(r));
            EffectiveRef {
                envelope: &record.envelope,
                occurred_at,
                payload,
                original_payload: slot.in_force_correction().map(|_| &record.payload),
                status,
                amendments,
                restriction,
            }
        })
        .collect();
    Resolution {
        effective,
        amendments: records,
    }
}

fn retraction_status(by: &RecordedEvent) -> EventStatus {
    let (reason, detail) = match &by.payload {
        EventPayload::EventRetracted(x) => (x.reason, x.detail.clone()),
        _ => unreachable!("only retractions retract"),
    };
    EventStatus::Retracted {
        by_event_id: by.envelope.event_id.clone(),
        retracted_at: by.envelope.recorded_at,
        retracted_by: by.envelope.recorded_by.clone(),
        reason,
        detail,
    }
}

fn correction_status(records: &[AmendmentRecord<'_>], correction: usize, live: u32) -> EventStatus {
    let by = records[correction].record;
    let reason = match &by.payload {
        EventPayload::EventCorrected(c) => c.reason.clone(),
        _ => unreachable!("only corrections correct"),
    };
    EventStatus::Corrected {
        corrections: live,
        by_event_id: by.envelope.event_id.clone(),
        corrected_at: by.envelope.recorded_at,
        corrected_by: by.envelope.recorded_by.clone(),
        reason,
    }
}

// ---------------------------------------------------------------------------------------------------------
// The resolver, shared by `known_at` (content: the payload) and `SummaryProjection` (content: a compact fact)
// ---------------------------------------------------------------------------------------------------------

/// Tracks, record by record, which content of each original event is in force. `T` is what is kept of a
/// payload: a reference to it, or a compact fact.
#[derive(Clone, Debug)]
pub(crate) struct Resolver<T> {
    slots: Vec<Slot<T>>,
    originals: HashMap<EventId, usize>,
    /// A correction's id -> (its original's slot, its index among the slot's corrections).
    corrections: HashMap<EventId, (usize, usize)>,
    /// How many corrections, retractions and restrictions were applied (their index in `known_at`'s
    /// records).
    amendments: usize,
    /// Each restriction of one event not yet lifted -> the restricted original's slot.
    restrictions: HashMap<EventId, usize>,
    /// The restriction of the whole record in force, if any.
    record_restricted: Option<EventId>,
}

impl<T> Default for Resolver<T> {
    fn default() -> Self {
        Resolver {
            slots: Vec::new(),
            originals: HashMap::new(),
            corrections: HashMap::new(),
            amendments: 0,
            restrictions: HashMap::new(),
            record_restricted: None,
        }
    }
}

/// One original event.
#[derive(Clone, Debug)]
pub(crate) struct Slot<T> {
    pub event_id: EventId,
    pub version: Version,
    /// As first recorded.
    pub occurred_at: OccurredAt,
    pub content: T,
    pub corrections: Vec<CorrectionSlot<T>>,
    pub retracted: bool,
    /// A restriction of this event (not of the whole record) is in force.
    pub restricted: bool,
}

#[derive(Clone, Debug)]
pub(crate) struct CorrectionSlot<T> {
    /// The time in force while this correction is.
    pub occurred_at: OccurredAt,
    pub content: T,
    pub live: bool,
    /// The index of the record among all correction and retraction records applied.
    pub record_index: usize,
}

impl<T> Slot<T> {
    /// The index of the correction in force: the latest live one.
    pub fn in_force_correction(&self) -> Option<usize> {
        self.corrections.iter().rposition(|c| c.live)
    }

    /// The time and content in force (whether or not the event is retracted).
    pub fn in_force(&self) -> (OccurredAt, &T) {
        match self.in_force_correction() {
            Some(k) => (self.corrections[k].occurred_at, &self.corrections[k].content),
            None => (self.occurred_at, &self.content),
        }
    }

    pub fn live_corrections(&self) -> u32 {
        self.corrections.iter().filter(|c| c.live).count() as u32
    }
}

/// What applying a record did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Effect {
    /// A new original event, in this slot.
    Added(usize),
    /// The original in this slot was corrected, retracted, restricted or lifted from restriction, or one of
    /// its corrections was withdrawn.
    Changed(usize),
    /// Whether every original is in use changed: the whole record was restricted, or that lifted.
    ChangedAll,
    /// Nothing (a correction or retraction of something unknown, or a repeated retraction).
    Nothing,
}

impl<T> Resolver<T> {
    /// Applies the next record of the stream. `content` makes what is kept of a payload (the record's own,
    /// or a correction's replacement).
    pub fn apply<'p>(
        &mut self,
        event_id: &EventId,
        version: Version,
        occurred_at: OccurredAt,
        payload: &'p EventPayload,
        content: impl FnOnce(&'p EventPayload) -> T,
    ) -> Effect {
        match payload {
            EventPayload::RecordMergedInto(_)
            | EventPayload::RecordMergedFrom(_)
            | EventPayload::MergeUndone(_) => Effect::Nothing,
            EventPayload::EventCorrected(c) => {
                let index = self.amendments;
                self.amendments += 1;
                let Some(&t) = self.originals.get(&c.target_event_id) else {
                    return Effect::Nothing;
                };
                let slot = &mut self.slots[t];
                let occurred_at = c.target_occurred_at.unwrap_or_else(|| slot.in_force().0);
                slot.corrections.push(CorrectionSlot {
                    occurred_at,
                    content: content(&c.replacement),
                    live: true,
                    record_index: index,
                });
                self.corrections
                    .insert(event_id.clone(), (t, slot.corrections.len() - 1));
                Effect::Changed(t)
            }
            EventPayload::EventRetracted(x) => {
                self.amendments += 1;
                if let Some(&t) = self.originals.get(&x.target_event_id) {
                    let slot = &mut self.slots[t];
                    if slot.retracted {
                        return Effect::Nothing;
                    }
                    slot.retracted = true;
                    return Effect::Changed(t);
                }
                if let Some(&(t, k)) = self.corrections.get(&x.target_event_id) {
                    let correction = &mut self.slots[t].corrections[k];
                    if correction.live {
                        correction.live = false;
                        return Effect::Changed(t);
                    }
                }
                Effect::Nothing
            }
            EventPayload::RecordRestricted(r) => {
                self.amendments += 1;
                match &r.target_event_id {
                    None if self.record_restricted.is_none() => {
                        self.record_restricted = Some(event_id.clone());
                        Effect::ChangedAll
                    }
                    None => Effect::Nothing,
                    Some(target) => match self.originals.get(target) {
                        Some(&t) if !self.slots[t].restricted => {
                            self.slots[t].restricted = true;
                            self.restrictions.insert(event_id.clone(), t);
                            Effect::Changed(t)
                        }
                        _ => Effect::Nothing,
                    },
                }
            }
            EventPayload::RestrictionLifted(l) => {
                self.amendments += 1;
                if self.record_restricted.as_ref() == Some(&l.restriction_event_id) {
                    self.record_restricted = None;
                    return Effect::ChangedAll;
                }
                match self.restrictions.remove(&l.restriction_event_id) {
                    Some(t) => {
                        self.slots[t].restricted = false;
                        Effect::Changed(t)
                    }
                    None => Effect::Nothing,
                }
            }
            _ => {
                let i = self.slots.len();
                self.slots.push(Slot {
                    event_id: event_id.clone(),
                    version,
                    occurred_at,
                    content: content(payload),
                    corrections: Vec::new(),
                    retracted: false,
                    restricted: false,
                });
                self.originals.insert(event_id.clone(), i);
                Effect::Added(i)
            }
        }
    }

    pub fn slot(&self, i: usize) -> &Slot<T> {
        &self.slots[i]
    }

    /// How many originals have been added.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether the original in slot `i` is in use: neither retracted nor restricted, alone or with the
    /// whole record.
    pub fn in_use(&self, i: usize) -> bool {
        let slot = &self.slots[i];
        !slot.retracted && !slot.restricted && self.record_restricted.is_none()
    }

    /// Whether the whole record is restricted.
    pub fn record_restricted(&self) -> bool {
        self.record_restricted.is_some()
    }

    /// How many originals not retracted are restricted, alone or with the whole record.
    pub fn restricted_count(&self) -> u32 {
        let restricted = |s: &&Slot<T>| !s.retracted && (s.restricted || self.record_restricted.is_some());
        self.slots.iter().filter(restricted).count() as u32
    }

    /// The slot a correction or retraction would change, if any (before applying it).
    pub fn target_of(&self, payload: &EventPayload) -> Option<usize> {
        match payload {
            EventPayload::EventCorrected(c) => self.originals.get(&c.target_event_id).copied(),
            EventPayload::EventRetracted(x) => self
                .originals
                .get(&x.target_event_id)
                .or_else(|| self.corrections.get(&x.target_event_id).map(|(t, _)| t))
                .copied(),
            EventPayload::RecordRestricted(r) => r
                .target_event_id
                .as_ref()
                .and_then(|t| self.originals.get(t).copied()),
            EventPayload::RestrictionLifted(l) => self.restrictions.get(&l.restriction_event_id).copied(),
            _ => None,
        }
    }
}
