//! One poll of one log: read its latest checkpoint, have the witness check it (fetching the consistency
//! proof it needs), and deliver the cosignature.

use journey_tlog::{Checkpoint, Hash};

use crate::client::LogClient;
use crate::config::{LogConfig, ProofSource};
use crate::error::{Error, Result};
use crate::tiles::AuthenticatedTiles;
use crate::witness::{Alert, Observation, Witness};

/// What a poll came to.
#[derive(Debug)]
pub enum PollOutcome {
    /// A newer checkpoint cosigned; `delivered` says whether the log's server took the cosignature.
    Cosigned { size: u64, delivered: bool },
    /// The checkpoint last cosigned, still the log's latest.
    Unchanged { size: u64 },
    /// The log has signed no checkpoint yet.
    NoCheckpoint,
    /// The log misbehaved: the origin is frozen.
    Alert(Alert),
    /// The origin was frozen by an earlier alert: not polled.
    Frozen(String),
    /// The poll could not be completed; the next one tries again.
    Failed(Error),
}

/// The consistency proof from `old` to `new`, from where the log's configuration says.
fn prove(log: &LogConfig, client: &LogClient, old: &Checkpoint, new: &Checkpoint) -> Result<Vec<Hash>> {
    match log.proofs {
        ProofSource::Tiles => {
            let tiles = AuthenticatedTiles::new(new.size, new.root, client.base(), |tile| client.tile(tile))?;
            tiles.consistency_proof(old.size)
        }
        ProofSource::Endpoint => client.consistency_proof(old.size, new.size),
    }
}

/// Polls a log once.
pub fn poll_once(witness: &Witness, log: &LogConfig, client: &LogClient) -> PollOutcome {
    let origin = log.origin.as_str();
    if let Some(reason) = witness.frozen(&log.origin) {
        return PollOutcome::Frozen(reason);
    }
    let served = match client.checkpoint() {
        Ok(Some(served)) => served,
        Ok(None) => return PollOutcome::NoCheckpoint,
        Err(e) => {
            witness.metrics().poll_error(origin);
            return PollOutcome::Failed(e);
        }
    };
    let observation = witness.observe(&log.origin, &served, &mut |old, new| prove(log, client, old, new));
    match observation {
        Ok(Observation::Cosigned {
            checkpoint,
            cosignature,
        }) => PollOutcome::Cosigned {
            size: checkpoint.size,
            delivered: deliver(witness, log, client, &[cosignature]),
        },
        Ok(Observation::Unchanged {
            checkpoint,
            redeliver,
        }) => {
            if let Some(cosignature) = redeliver {
                deliver(witness, log, client, &[cosignature]);
            }
            PollOutcome::Unchanged {
                size: checkpoint.size,
            }
        }
        Ok(Observation::Alert(alert)) => PollOutcome::Alert(alert),
        Ok(Observation::Frozen(reason)) => PollOutcome::Frozen(reason),
        Err(e) => {
            witness.metrics().poll_error(origin);
            PollOutcome::Failed(e)
        }
    }
}

/// Delivers cosignatures to the log's server, when the witness has a key for it; a failure is logged and
/// counted, and the next poll delivers again (the log then serves the checkpoint without them).
fn deliver(
    witness: &Witness,
    log: &LogConfig,
    client: &LogClient,
    cosignatures: &[journey_tlog::NoteSignature],
) -> bool {
    if log.bearer_key.is_none() {
        tracing::debug!(origin = %log.origin, "no bearer key: the log reads the cosignature from the monitoring API");
        return false;
    }
    match client.deliver(cosignatures) {
        Ok(()) => true,
        Err(e) => {
            witness.metrics().delivery_error(log.origin.as_str());
            tracing::warn!(origin = %log.origin, error = %e, "the log's server did not take the cosignature; delivering again at the next poll");
            false
        }
    }
}
