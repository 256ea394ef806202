//! Integration tests of `journey-synth`, in one binary to keep link times down.

mod synth;
mod views;
