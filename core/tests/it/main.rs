//! Integration tests of `journey-core`, in one binary to keep link times down.

mod contract;
mod duplicates;
mod golden;
mod merges;
mod subject_access;
mod views;
