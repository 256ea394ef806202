//! Integration tests of `journey-core`, in one binary to keep link times down.

mod contract;
mod embedded;
mod golden;
mod returns;
mod synth;
mod views;
