//! Corrections and retractions: the log is append-only, so a mistake is fixed by a later event that says
//! so, and the original stays readable.

use serde::{Deserialize, Serialize};

use crate::error::Problems;
use crate::ids::EventId;
use crate::time::OccurredAt;

use super::super::lists::{RestrictionGrounds, RetractionReason};
use super::super::subjects::{DataSubject, ThirdPartyData, join, no_third_parties};
use super::super::values::LongText;
use super::super::{EventKind, EventPayload, Payload};

/// Replaces the content of an earlier event of this stream. The replacement is complete (not a patch) and
/// of the same kind as the target; `target_occurred_at` corrects when the target happened (absent: as
/// before). Corrections always target the original event; a later correction supersedes an earlier one,
/// and retracting a correction restores what it replaced. The correction's own `occurred_at` is when the
/// correction was decided.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct EventCorrected {
    pub target_event_id: EventId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_occurred_at: Option<OccurredAt>,
    pub replacement: Box<EventPayload>,
    pub reason: LongText,
}

impl ThirdPartyData for EventCorrected {
    fn third_parties(&self, at: &str, out: &mut Vec<DataSubject>) {
        self.replacement
            .as_dyn()
            .third_parties(&join(at, "replacement.data"), out);
    }
}

impl Payload for EventCorrected {
    fn validate(&self, p: &mut Problems) {
        let kind = self.replacement.kind();
        if matches!(kind, EventKind::EventCorrected | EventKind::EventRetracted) {
            p.push(
                "replacement.type",
                format!("cannot be {kind}: a correction replaces the content of an ordinary event"),
            );
            return;
        }
        p.extend_under("replacement.data", self.replacement.validate());
    }
}

/// Withdraws an earlier event of this stream: it was entered in error, recorded against the wrong child,
/// or duplicates another. The event stays in the log, marked retracted; retracting a correction restores
/// the content it replaced. A retraction cannot itself be retracted (record the event again instead).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct EventRetracted {
    pub target_event_id: EventId,
    pub reason: RetractionReason,
    /// Required for `other`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<LongText>,
}

no_third_parties!(EventRetracted);

impl Payload for EventRetracted {
    fn validate(&self, p: &mut Problems) {
        if self.reason == RetractionReason::Other && self.detail.is_none() {
            p.push("detail", "is required when reason is other");
        }
    }
}

/// Restricts the use of a fact while it is disputed (UK GDPR Art. 18): one event of this stream, or, with no
/// target, the whole record. The fact stays stored and readable, marked restricted, but is left out of the
/// child's summary, the statutory returns, the measures and every policy's input until a
/// `RestrictionLifted` names this restriction. A restriction of one event follows the event through its
/// corrections; a restriction of the whole record covers every event, including those recorded while it
/// stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct RecordRestricted {
    /// The original event restricted; absent: the whole record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_event_id: Option<EventId>,
    pub grounds: RestrictionGrounds,
    /// Who disputes what, and why: what a reviewer must resolve before the restriction is lifted.
    pub reason: LongText,
}

no_third_parties!(RecordRestricted);

impl Payload for RecordRestricted {}

/// Ends a restriction: the fact is used again (its accuracy verified, or corrected first with
/// `EventCorrected`). The restriction and its lifting both stay in the record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct RestrictionLifted {
    /// The `RecordRestricted` event this lifts.
    pub restriction_event_id: EventId,
    /// The outcome: verified as accurate, corrected, the objection decided...
    pub reason: LongText,
}

no_third_parties!(RestrictionLifted);

impl Payload for RestrictionLifted {}
