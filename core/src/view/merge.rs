//! One child, one record (issue #20): several records found to be one child, read as one.
//!
//! A merge is recorded as events in both records (`RecordMergedInto` in the record merged away, then
//! `RecordMergedFrom` in the surviving one) and undone the same way (`MergeUndone` in both). Nothing is
//! rewritten: every record keeps its events, versions and hashes, so every proof still holds. What changes is
//! how the surviving record is *read*: [`merged_stream`] gives the union of the records, in the order they
//! were recorded (log position), as one stream of the surviving child, numbered from 1 again. Every view
//! (summary, chronology, policy input, returns) then works on it unchanged: "as known at T" is still a prefix,
//! because the log's recorded time never goes backwards. Where each record came from stays known
//! ([`RecordedUnder`]).
//!
//! Which merges are in force at an instant is decided from the merge events themselves (by the caller, who
//! reads the log); [`merge_problems`] holds a proposed merge to the rules that would make the merged history
//! impossible.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::domain::{EventKind, EventPayload};
use crate::envelope::RecordedEvent;
use crate::error::Problems;
use crate::ids::{ChildId, Position, Version};
use crate::time::{Date, Timestamp};

use super::effective::{EffectiveRef, known_at_borrowed};

/// The record and version an event of a merged stream was recorded under, when not the surviving record's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedUnder {
    pub child_id: ChildId,
    pub version: Version,
}

/// Several records read as one child's.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MergedStream {
    /// The union, in log order, each event's `child_id` the survivor's and its `version` its place in the
    /// union (from 1).
    pub events: Vec<RecordedEvent>,
    /// For each event recorded under another record than the survivor's, keyed by its log position.
    pub recorded_under: HashMap<Position, RecordedUnder>,
}

/// The union of `records` (each one record's stream, in version order) as `survivor`'s stream.
pub fn merged_stream(survivor: &ChildId, records: Vec<Vec<RecordedEvent>>) -> MergedStream {
    let mut events: Vec<RecordedEvent> = records.into_iter().flatten().collect();
    events.sort_by_key(|e| e.envelope.position);
    let mut recorded_under = HashMap::new();
    for (i, e) in events.iter_mut().enumerate() {
        let envelope = &mut e.envelope;
        if envelope.child_id != *survivor {
            recorded_under.insert(
                envelope.position,
                RecordedUnder {
                    child_id: std::mem::replace(&mut envelope.child_id, survivor.clone()),
                    version: envelope.version,
                },
            );
        }
        envelope.version = Version(i as u64 + 1);
    }
    MergedStream {
        events,
        recorded_under,
    }
}

/// An event's version in a merged stream, from the sorted log positions of every event of the union: its
/// place among them. Lets a reader of the whole log (page by page) number a merged child's events exactly as
/// [`merged_stream`] does.
pub fn merged_version(union_positions: &[Position], position: Position) -> Version {
    Version(union_positions.partition_point(|p| *p < position) as u64 + 1)
}

/// Why merging `absorbed` into `survivor` (each a whole stream) would make a history the domain rules forbid,
/// as known at `known_at`: the merged record's registration is the earliest recorded of the two (see
/// [`super::ChildSummary`]), so nothing of either record that needs the child to be born may come before its
/// date of birth (or at all, if it registers the child as unborn); and nothing but an event that closes
/// something may follow a death recorded in either. Conflicting facts that the views can show side by side
/// (two dates of birth, two open episodes) are not problems here: the merged summary lists them as
/// inconsistencies. Reported under `field`, each naming the event, its record and the rule.
pub fn merge_problems(
    survivor: &[RecordedEvent],
    absorbed: &[RecordedEvent],
    known_at: Timestamp,
    field: &str,
) -> Problems {
    let mut p = Problems::new();
    if survivor.is_empty() || absorbed.is_empty() {
        p.push(field, "both records must exist to be merged");
        return p;
    }
    let records = [survivor, absorbed];
    let views: Vec<Vec<EffectiveRef<'_>>> = records.iter().map(|r| known_at_borrowed(r, known_at)).collect();
    let registrations: Vec<Option<(Timestamp, Birth)>> = views.iter().map(|v| registration(v)).collect();
    let standing = registrations
        .iter()
        .flatten()
        .min_by_key(|(recorded_at, _)| *recorded_at)
        .map(|(_, birth)| *birth);
    let deaths: Vec<(usize, Date)> = views
        .iter()
        .enumerate()
        .filter_map(|(i, v)| {
            v.iter()
                .filter(|e| e.is_in_use() && matches!(e.payload, EventPayload::ChildDied(_)))
                .map(|e| (i, e.occurred_at.date()))
                .next()
        })
        .collect();
    for (i, view) in views.iter().enumerate() {
        let record = &records[i][0].envelope.child_id;
        for e in view.iter().filter(|e| e.is_in_use()) {
            let kind = e.payload.kind();
            if kind.is_about_events() || kind.is_merge() || kind == EventKind::ChildRegistered {
                continue;
            }
            let on = e.occurred_at.date();
            let what = format!("{record}'s {kind} {} of {on}", e.event_id());
            if !kind.allowed_before_birth() {
                match standing {
                    Some(Birth::Unborn) => p.push(
                        field,
                        format!(
                            "the merged record would register the child as unborn, yet {what} needs the child \
                             to be born: record the birth first (ChildDetailsAmended with date_of_birth)"
                        ),
                    ),
                    Some(Birth::Born(dob)) if on < dob => p.push(
                        field,
                        format!(
                            "{what} would come before the merged record's date of birth {dob}: nothing that \
                             needs the child to be born is dated before the birth"
                        ),
                    ),
                    _ => {}
                }
            }
            for &(j, died) in &deaths {
                if on > died && !crate::domain::closes(kind) {
                    let whose = &records[j][0].envelope.child_id;
                    p.push(
                        field,
                        format!(
                            "{what} would follow the death recorded in {whose} on {died}: after a death only \
                             events that close an episode, plan or allocation may be dated"
                        ),
                    );
                }
            }
        }
    }
    p
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Birth {
    Unborn,
    Born(Date),
}

/// When the registration in use was recorded, and the birth it (and the amendments in use) give.
fn registration(view: &[EffectiveRef<'_>]) -> Option<(Timestamp, Birth)> {
    let mut found = None;
    let mut dob = None;
    for e in view.iter().filter(|e| e.is_in_use()) {
        match e.payload {
            EventPayload::ChildRegistered(r) if found.is_none() => {
                found = Some(e.envelope.recorded_at);
                dob = r.date_of_birth;
            }
            EventPayload::ChildDetailsAmended(a) if a.date_of_birth.is_some() => dob = a.date_of_birth,
            _ => {}
        }
    }
    found.map(|at| (at, dob.map_or(Birth::Unborn, Birth::Born)))
}
