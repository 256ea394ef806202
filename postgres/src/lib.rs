//! `journey-postgres`: Journey's event store on PostgreSQL, for several stateless `journey serve` nodes on
//! one database (issue #6). [`PostgresStore`] keeps every promise of `journey_core::store::EventStore` that
//! the embedded store keeps, and is held to them by the same contract cases
//! (`journey_core::testkit::store_contract`).
//!
//! It judges and seals appends with `journey_core::store::backend` (the same code as the stores in core),
//! stores each record's exact encoded bytes with both hash links, and keeps the global order gap-free with a
//! single log-head row locked by every append transaction: see [`store`](crate::PostgresStore) and
//! `docs/adr/0007-postgres-store.md`. The schema is Journey's own, migrated at open (`migrations/`).
//!
//! Layering: this crate depends on `journey-core`; core knows nothing of it.

mod checkpoints;
mod error;
mod journal;
mod keys;
mod schema;
mod store;
mod tree;

pub use error::PgError;
pub use journal::{PostgresBlobStore, PostgresJournal};
pub use schema::PostgresOptions;
pub use store::PostgresStore;
