//! `journey-core`: the domain model of a child's journey through English children's social care, the
//! durable, bitemporal, tamper-evident event log that records it, and the views built from it.
//!
//! Layering: this crate knows nothing of HTTP, WebAssembly or the command line. See
//! `docs/ARCHITECTURE.md` for the map and the invariants.

pub mod blobs;
pub mod chain;
pub mod codes;
pub mod content_keys;
pub mod domain;
pub mod encoding;
pub mod envelope;
pub mod error;
pub mod examples;
pub mod ids;
pub mod journal;
pub mod proof;
pub mod store;
#[doc(hidden)]
pub mod testkit;
pub mod time;
pub mod view;
#[doc(hidden)]
pub mod wire;

/// The pure tree, proofs and C2SP formats, re-exported so that the stores, the API and the command line
/// use the one version core uses.
pub use journey_tlog as tlog;

pub use envelope::{ChainLink, Envelope, NewEvent, RecordedEvent};
pub use error::{Conflict, Error, FieldError, Problems, Result};
pub use ids::{
    AgencyId, ChildId, CorrelationId, EventId, ExpectedVersion, Position, PrincipalId, Source, SystemId,
    Version,
};
pub use time::{Clock, Date, ManualClock, OccurredAt, SystemClock, Timestamp};
