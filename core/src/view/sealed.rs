//! Sealed adoption records. When an adoption order is recorded, the child's pre-adoption record is sealed:
//! the adoption agency keeps it confidential and discloses it only as the Adoption and Children Act 2002
//! ss56-65 and the Disclosure of Adoption Information regulations allow (`rules.md` §8). What seals a
//! record is decided here, from the record alone; who may open a sealed one is the API's business.
//!
//! A record is sealed from the date of the first adoption order it holds, not retracted: a
//! `CourtOrderMade` of an adoption order, or a looked-after episode that ended because the child was adopted
//! (SSDA903 reasons E11 and E12, which need the order). A restriction of use does not unseal: sealing errs
//! on the side of confidentiality. A retracted order (recorded against the wrong child) unseals.

use crate::domain::EventPayload;
use crate::domain::lists::CourtOrderKind;
use crate::envelope::RecordedEvent;
use crate::ids::ChildId;
use crate::time::Date;

use super::effective::known_at_borrowed;

/// What sealing says of one child's stream, as the whole stream knows it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sealing {
    /// The date from which the record is sealed, if it is: the earliest adoption order in force (see the
    /// module documentation).
    pub since: Option<Date>,
    /// The identities the child continued under after adoption (`ContinuedUnderNewIdentity`, not retracted),
    /// in the order recorded.
    pub continued_as: Vec<ChildId>,
}

/// [`Sealing`] of `events` (one child's stream, in version order), from one resolution of the stream.
pub fn sealing(events: &[RecordedEvent]) -> Sealing {
    let Some(last) = events.last() else {
        return Sealing::default();
    };
    let mut out = Sealing::default();
    for e in known_at_borrowed(events, last.envelope.recorded_at)
        .iter()
        .filter(|e| !e.is_retracted())
    {
        if seals(e.payload) {
            let on = e.occurred_at.date();
            out.since = Some(out.since.map_or(on, |since| since.min(on)));
        }
        if let EventPayload::ContinuedUnderNewIdentity(c) = e.payload {
            out.continued_as.push(c.new_child_id.clone());
        }
    }
    out
}

/// The date from which the record of `events` is sealed, if it is ([`Sealing::since`]).
pub fn sealed_since(events: &[RecordedEvent]) -> Option<Date> {
    sealing(events).since
}

/// The identities the child of `events` continued under after adoption ([`Sealing::continued_as`]).
pub fn continued_as(events: &[RecordedEvent]) -> Vec<ChildId> {
    sealing(events).continued_as
}

/// Whether a record of this content may change whether a stream is sealed, or the identities it continued
/// under: an adoption order, an episode ending in adoption, a new identity, or a correction or retraction
/// (which may make or unmake one). A cheap test that lets an index of sealed records look again only at
/// the streams that may have changed.
pub fn may_change_sealing(payload: &EventPayload) -> bool {
    seals(payload)
        || matches!(payload, EventPayload::ContinuedUnderNewIdentity(_))
        || payload.kind().is_correction()
}

fn seals(payload: &EventPayload) -> bool {
    match payload {
        EventPayload::CourtOrderMade(o) => o.order == CourtOrderKind::AdoptionOrder,
        EventPayload::CeasedToBeLookedAfter(c) => c.reason.is_adoption(),
        _ => false,
    }
}
