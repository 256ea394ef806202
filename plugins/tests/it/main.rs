//! The policy host's integration tests: one binary (link once), one module per theme.

mod contract_1;
mod determinism;
mod guests;
mod input;
mod reference_care_leaver_entitlements;
mod reference_examples;
mod reference_levels_of_need;
mod reference_retention;
mod reference_statutory_timescales;
mod reference_step_up_down;
mod registry;
mod support;
