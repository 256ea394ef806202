//! Bitemporal views of one child's stream, and the projections built from them.
//!
//! Every view answers two questions at once (see `docs/ARCHITECTURE.md`, "bitemporal"):
//!
//! * **on** a date — valid time, the world as it was (`occurred_at`);
//! * **as known at** an instant — transaction time, what the record said then (`recorded_at`).
//!
//! "On 3 March 2014, what did the record say about 1 February?" is `AsOf { on: 2014-02-01, known_at:
//! 2014-03-03T23:59:59Z }`. Because recorded time never decreases along the log, "as known at T" is a
//! prefix of the child's stream: the records with `recorded_at <= T`.
//!
//! # The layers
//!
//! 1. [`known_at`] resolves corrections and retractions among the records known at an instant: one
//!    [`EffectiveEvent`] per original event, with the content in force (its latest live correction, or
//!    itself), its [`EventStatus`] and every [`Amendment`] that touched it. A correction or retraction
//!    recorded after the instant is not applied; one recorded at or before it is, and stays visible.
//! 2. The valid-time fold (private `fold` module) turns effective events into state: it takes the
//!    events in force, drops the retracted ones and those that occurred after `on`, and applies the rest
//!    **in order of when they occurred** (their date, then their version), never in the order they were
//!    recorded: a placement recorded three weeks late lands where it happened.
//! 3. [`ChildSummary`] (a full replay) and [`SummaryProjection`] (incremental, one record at a time) give
//!    the child's state on a date; [`Chronology`] gives the timeline an investigator reads, with both times,
//!    the lag between them, and the corrections and retractions in plain view.
//!
//! Everything here is deterministic (no clock, no hash-map iteration order in outputs) and serialisable.

use serde::{Deserialize, Serialize};

use crate::time::{Clock, Date, Timestamp};

mod chronology;
pub mod decisions;
mod describe;
pub mod duplicates;
mod effective;
pub mod family;
mod fold;
pub mod merge;
mod sealed;
pub mod subject_access;
mod summary;

pub use chronology::{Chronology, ChronologyEntry, ChronologyOptions};
pub use describe::describe;
pub use effective::{
    Amendment, AmendmentAction, EffectiveEvent, EffectiveRef, EventStatus, Restriction, known_at,
    known_at_borrowed,
};
pub use fold::{
    Allocation, CareLeaverFacts, ChildInNeedEpisode, ChildProtectionPlan, Inconsistency, LegalStatusNow,
    LookedAfterEpisode, MissingNow, OpenEpisodes, OpenSince, OrderInForce, PeriodOfCare, PermanencePlanNow,
    PlacementNow, Visit,
};
pub use sealed::{Sealing, continued_as, may_change_sealing, sealed_since, sealing};
pub use summary::{ChildSummary, SummaryProjection};

/// A point on both time axes: the state **on** `on` (valid time) as the record stood **at** `known_at`
/// (transaction time).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AsOf {
    /// The date the view describes (valid time, a civil date in England). Events that occurred after it are
    /// not part of the state.
    pub on: Date,
    /// The instant whose knowledge the view shows (transaction time): only records with
    /// `recorded_at <= known_at` count.
    pub known_at: Timestamp,
}

impl AsOf {
    pub fn new(on: Date, known_at: Timestamp) -> AsOf {
        AsOf { on, known_at }
    }

    /// Today in England, as known at `now`: the everyday view.
    pub fn now(now: Timestamp) -> AsOf {
        AsOf {
            on: now.england_date(),
            known_at: now,
        }
    }

    /// [`AsOf::now`] at the clock's current instant.
    pub fn from_clock(clock: &dyn Clock) -> AsOf {
        AsOf::now(clock.now())
    }

    /// The same knowledge, about another date.
    pub fn with_on(self, on: Date) -> AsOf {
        AsOf { on, ..self }
    }

    /// The same date, as known at another instant.
    pub fn with_known_at(self, known_at: Timestamp) -> AsOf {
        AsOf { known_at, ..self }
    }
}

#[cfg(test)]
mod tests;
