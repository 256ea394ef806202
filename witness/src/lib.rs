//! `journey witness`: a process an independent body runs (a safeguarding partnership, the police, a
//! regulator) with its own key and state, that cosigns a Journey log's checkpoints only while each extends
//! the last one it cosigned, and refuses and alerts loudly otherwise (issue #18,
//! `docs/adr/0010-outsider-proof.md`).
//!
//! * [`config`]: the configuration file; [`keys`]: the witness's cosignature key.
//! * [`witness`]: the state per origin and the checks, shared by both ways checkpoints arrive: pushed to
//!   c2sp.org/tlog-witness `add-checkpoint`, or polled from the log's `/checkpoint`.
//! * [`state`]: the state directory (atomic, durable replacement; evidence; freezes).
//! * [`tiles`]: reading a log's C2SP tiles, each authenticated against the signed root before use.
//! * [`client`], [`poll`]: talking to a log's server, and one poll of it.
//! * [`http`]: the witness's own HTTP surface; [`metrics`]: its Prometheus metrics.
//! * [`daemon`]: running it once or for ever.
//!
//! Depends on `journey-tlog` only among Journey's crates: a witness needs none of the log's storage, and
//! can be built and audited on its own.

pub mod client;
pub mod config;
pub mod daemon;
pub mod error;
pub mod http;
pub mod keys;
pub mod metrics;
pub mod poll;
pub mod state;
pub mod tiles;
pub mod witness;

pub use config::{LogConfig, ProofSource, WitnessConfig};
pub use daemon::{Daemon, DaemonOptions, RunExit, StartError};
pub use error::{Error, Result};
pub use state::StateDir;
pub use witness::{Alert, AlertKind, Clock, LogTrust, Observation, PushOutcome, SystemClock, Witness};
