//! The policy host's integration tests: one binary (link once), one module per theme.

mod determinism;
mod guests;
mod input;
mod registry;
mod support;
mod timescales;
