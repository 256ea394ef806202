//! Integration tests of `journey-embedded`, in one binary to keep link times down.

mod contract;
mod journal;
mod store;
