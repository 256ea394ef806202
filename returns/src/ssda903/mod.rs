//! The SSDA903 return (children looked after): tables, export for a collection year as known at an
//! instant, and import of a year's CSV tables as events.
//!
//! ```no_run
//! # async fn demo(store: &dyn journey_core::store::EventStore, at: journey_core::Timestamp)
//! # -> journey_core::Result<()> {
//! use journey_core::codes::CollectionYear;
//! use journey_returns::ssda903;
//! let year = CollectionYear::parse("2024/25")?;
//! let tables = ssda903::export(store, year, at).await?;
//! tables.write_csv(std::path::Path::new("out/2024-25")).expect("writable");
//! # Ok(()) }
//! ```

mod export;
mod facts;
pub(crate) mod import;
mod tables;

pub use export::{export, streams_known_at, tables_from_facts};
pub use facts::{ChildFacts, Episode};
pub use import::{
    ImportFile, ImportOptions, ImportProgress, ImportReport, RowProblem, import, import_years,
    import_years_with_progress,
};
pub use tables::{Table, TableKind, Tables, format_date, parse_date};
