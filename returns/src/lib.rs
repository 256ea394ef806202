//! Statutory returns from and into the log: the DfE's SSDA903 (children looked after) return, the Children
//! in Need census, Ofsted's Annex A lists, and the timeliness measures managers are judged on.
//!
//! Everything here reads the log through the [`EventStore`](journey_core::store::EventStore) trait and the
//! bitemporal views, so a return is "the record as it stood at an instant", and writes through the same
//! trait, so an imported history keeps every rule the domain keeps.

pub mod annex_a;
pub mod cin;
pub mod report;
pub mod ssda903;
pub mod timeliness;
