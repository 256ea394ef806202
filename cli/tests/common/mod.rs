//! What the CLI's test binaries share.

use std::process::{Command, Output};

/// Runs the journey binary to its end, without the environment that would point it at a data directory or
/// a server other than the test's.
pub fn journey(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_journey"))
        .args(args)
        .env_remove("JOURNEY_DATA")
        .env_remove("JOURNEY_SERVER")
        .output()
        .expect("the journey binary runs")
}
