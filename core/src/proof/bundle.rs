//! A child's proof bundle: the verifiable export (`crate::store::export`) with, for each record, an
//! inclusion proof (c2sp.org/tlog-proof) against the latest checkpoint witnesses cosigned that covers it
//! (or the latest signed one, not yet witnessed, saying so), and its offline check against a trust policy
//! (c2sp.org/tlog-policy) and, optionally, a later checkpoint (memo §5.8).
//!
//! A bundle holds the child's own records and hashes only: inclusion proofs are hashes of subtrees, a
//! record's entry is its two chain hashes, and a checkpoint is an origin, a size and a root. It reveals
//! nothing of other children.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::error::{Error, FieldError, Result};
use crate::ids::Position;
use crate::proof::Proofs;
use crate::store::export::{ExportProofs, StreamExport, verify_export};
use crate::store::tree::{StoredCheckpoint, with_hashes};
use journey_tlog::policy::{Policy, VerifiedCheckpoint, verify_checkpoint_with_policy};
use journey_tlog::witness_protocol::AddCheckpointRequest;
use journey_tlog::{Hash, LeafEntry, RecordProof, SignedCheckpoint};

fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn unb64(field: &str, text: &str) -> Result<Hash> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .ok()
        .and_then(|b| <Hash>::try_from(b.as_slice()).ok())
        .ok_or_else(|| FieldError::new(field, "is not a base64 SHA-256 hash").into())
}

/// The records of one checkpoint: which positions it proves, and whether a witness cosigned it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProvenIn {
    pub checkpoint: StoredCheckpoint,
    pub witnessed: bool,
    pub positions: Vec<u64>,
}

impl Proofs {
    /// Which checkpoint each of these positions is proven against: the latest checkpoint witnesses
    /// cosigned proves what it covers; the latest signed one, when larger, what only it covers (not yet
    /// witnessed). At most two, smallest first; positions newer than both are in neither.
    pub async fn proven_in(&self, positions: &[u64]) -> Result<Vec<ProvenIn>> {
        let witnessed = self.tree.latest_cosigned(u64::MAX).await?;
        let latest = self.tree.latest_checkpoint().await?;
        let witnessed_size = witnessed.as_ref().map_or(0, |w| w.size);
        let mut out = Vec::new();
        if let Some(w) = witnessed {
            let covered: Vec<u64> = positions.iter().copied().filter(|&p| p <= w.size).collect();
            if !covered.is_empty() {
                out.push(ProvenIn {
                    checkpoint: w,
                    witnessed: true,
                    positions: covered,
                });
            }
        }
        if let Some(l) = latest
            && l.size > witnessed_size
        {
            let covered: Vec<u64> = positions
                .iter()
                .copied()
                .filter(|&p| p > witnessed_size && p <= l.size)
                .collect();
            if !covered.is_empty() {
                out.push(ProvenIn {
                    checkpoint: l,
                    witnessed: false,
                    positions: covered,
                });
            }
        }
        Ok(out)
    }

    /// Adds the proofs to a child's export: each record covered by a checkpoint gets its inclusion proof,
    /// and `tlog` says which checkpoints, whether witnessed, and which records are not yet covered. While
    /// the tree is rebuilt, `tlog` says so and no record has a proof.
    pub async fn attach(&self, export: &mut StreamExport) -> Result<()> {
        let summary_only = |summary: String| ExportProofs {
            origin: self.origin.to_string(),
            checkpoints: Vec::new(),
            consistency: Vec::new(),
            summary,
        };
        if let Err(Error::Unavailable(why)) = self.ready_size().await {
            export.tlog = Some(summary_only(format!(
                "No inclusion proofs: {why}. Export again later."
            )));
            return Ok(());
        }
        let Some(last) = export.records.last().map(|r| r.position.0) else {
            return Ok(());
        };
        let positions: Vec<u64> = export.records.iter().map(|r| r.position.0).collect();
        let used: Vec<(StoredCheckpoint, bool)> = self
            .proven_in(&positions)
            .await?
            .into_iter()
            .map(|p| (p.checkpoint, p.witnessed))
            .collect();
        if used.is_empty() {
            export.tlog = Some(summary_only(format!(
                "No inclusion proofs: no checkpoint covers these records yet (the last is at position {last}). \
                 Export again after the next checkpoint."
            )));
            return Ok(());
        }
        // Every proof at once, so that a store over the network is asked for the hashes once.
        let wanted: Vec<(usize, u64, u64)> = export
            .records
            .iter()
            .enumerate()
            .filter_map(|(i, r)| {
                used.iter()
                    .find(|(c, _)| r.position.0 <= c.size)
                    .map(|(c, _)| (i, r.position.0 - 1, c.size))
            })
            .collect();
        let paths = with_hashes(self.tree.as_ref(), |reader| {
            wanted
                .iter()
                .map(|&(_, index, size)| journey_tlog::tree::inclusion_proof(index, size, &reader))
                .collect::<journey_tlog::Result<Vec<_>>>()
        })
        .await?;
        let consistency = if let [(first, _), (second, _)] = &used[..] {
            with_hashes(self.tree.as_ref(), |reader| {
                journey_tlog::tree::consistency_proof(first.size, second.size, &reader)
            })
            .await?
        } else {
            Vec::new()
        };
        let mut served: BTreeMap<u64, SignedCheckpoint> = BTreeMap::new();
        for (c, _) in &used {
            served.insert(c.size, self.served(c).await?);
        }
        for (&(i, index, size), path) in wanted.iter().zip(paths) {
            let record = &mut export.records[i];
            let entry = LeafEntry {
                stream_hash: record.chain.stream_hash,
                log_hash: record.chain.log_hash,
            };
            let proof = RecordProof::for_entry(&entry, index, path, served[&size].clone());
            record.tlog_proof = Some(proof.to_string());
        }
        let mut words = Vec::new();
        for (c, witnessed) in &used {
            let provenance = self.provenance(c).await?;
            let through = export.records.iter().filter(|r| r.position.0 <= c.size).count();
            words.push(
                if *witnessed {
                    format!(
                        "records proven at tree size {} (signed {}), cosigned by {}",
                        c.size,
                        c.signed_at,
                        provenance
                            .cosigned
                            .iter()
                            .map(|w| w.witness.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                } else {
                    format!(
                        "records proven at tree size {} (signed {}), not yet cosigned by any witness",
                        c.size, c.signed_at
                    )
                } + &format!(" ({through} of {} records)", export.records.len()),
            );
        }
        let unproven = export.records.iter().filter(|r| r.tlog_proof.is_none()).count();
        if unproven > 0 {
            words.push(format!(
                "{unproven} newer records are not yet in a signed checkpoint"
            ));
        }
        export.tlog = Some(ExportProofs {
            origin: self.origin.to_string(),
            checkpoints: used.iter().map(|(c, _)| served[&c.size].to_string()).collect(),
            consistency: consistency.iter().map(|h| b64(h)).collect(),
            summary: words.join("; "),
        });
        Ok(())
    }
}

/// What [`verify_bundle`] established.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BundleReport {
    pub child_id: String,
    pub records: usize,
    pub origin: String,
    /// Each checkpoint the records are proven in, as the policy accepted it.
    pub checkpoints: Vec<CheckpointReport>,
    /// The later checkpoint the bundle's largest was shown consistent with (`--later`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub later: Option<CheckpointReport>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CheckpointReport {
    pub size: u64,
    /// The root, base64 as in the checkpoint.
    pub root: String,
    /// The records (positions) proven in it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub positions: Vec<u64>,
    /// The policy's witnesses that cosigned it, with their timestamps (POSIX seconds).
    pub cosigned_by: Vec<(String, u64)>,
}

fn report(verified: &VerifiedCheckpoint) -> CheckpointReport {
    CheckpointReport {
        size: verified.checkpoint.size,
        root: b64(&verified.checkpoint.root),
        positions: Vec::new(),
        cosigned_by: verified
            .cosignatures
            .iter()
            .map(|c| (c.witness.clone(), c.timestamp))
            .collect(),
    }
}

fn refused(field: String, rule: String) -> Error {
    FieldError::new(field, rule).into()
}

/// Verifies a child's proof bundle offline: the chains (as [`verify_export`]), then every record's inclusion
/// proof, its leaf recomputed from the record's own chain hashes (never the entry the proof carries), in a
/// checkpoint the policy accepts (the log's key, the witnesses' cosignatures, the quorum); two checkpoints
/// must be consistent with each other; and, given `later` (an add-checkpoint body: `old <size>`, the
/// consistency proof, a blank line, a later signed checkpoint), the bundle's largest checkpoint must be
/// consistent with it. Every refusal names the tree size of the checkpoint that failed.
pub fn verify_bundle(export: &StreamExport, policy: &Policy, later: Option<&[u8]>) -> Result<BundleReport> {
    let chains = verify_export(export)?;
    let tlog = export.tlog.as_ref().ok_or_else(|| {
        refused(
            "tlog".into(),
            "this export carries no proofs (it was taken from a server without a tree, or is of format v1)"
                .into(),
        )
    })?;
    let mut verified: BTreeMap<Vec<u8>, (VerifiedCheckpoint, Vec<u64>)> = BTreeMap::new();
    for record in &export.records {
        let position = record.position.0;
        let field = format!("records[position={position}].tlog_proof");
        let Some(text) = &record.tlog_proof else {
            return Err(refused(
                field,
                format!(
                    "missing: the record was not in a signed checkpoint when exported ({})",
                    tlog.summary
                ),
            ));
        };
        let proof = RecordProof::parse(text.as_bytes()).map_err(|e| refused(field.clone(), e.to_string()))?;
        let size = proof.checkpoint.checkpoint().size;
        if proof.index != position - 1 {
            return Err(refused(
                field,
                format!(
                    "proves leaf index {} in the checkpoint at tree size {size}, not this record's {}",
                    proof.index,
                    position - 1
                ),
            ));
        }
        let entry = LeafEntry {
            stream_hash: record.chain.stream_hash,
            log_hash: record.chain.log_hash,
        };
        if proof.extra.is_some() && proof.entry().ok() != Some(entry) {
            return Err(refused(
                field,
                format!(
                    "carries another entry than the record's chain hashes (checkpoint at tree size {size})"
                ),
            ));
        }
        let checked = proof.verify(&entry.leaf_hash(), policy).map_err(|e| {
            refused(
                field.clone(),
                format!("does not prove the record in the checkpoint at tree size {size}: {e}"),
            )
        })?;
        verified
            .entry(proof.checkpoint.note().text().as_bytes().to_vec())
            .or_insert_with(|| (checked, Vec::new()))
            .1
            .push(position);
    }
    let mut checkpoints: Vec<(VerifiedCheckpoint, Vec<u64>)> = verified.into_values().collect();
    checkpoints.sort_by_key(|(c, _)| c.checkpoint.size);
    if let Some((first, _)) = checkpoints.first()
        && first.checkpoint.origin.as_str() != tlog.origin
    {
        return Err(refused(
            "tlog.origin".into(),
            format!(
                "says {}, but the proofs are in checkpoints of {}",
                tlog.origin, first.checkpoint.origin
            ),
        ));
    }
    match &checkpoints[..] {
        [] | [_] => {}
        [(a, _), (b, _)] => {
            let proof = tlog
                .consistency
                .iter()
                .map(|h| unb64("tlog.consistency", h))
                .collect::<Result<Vec<_>>>()?;
            journey_tlog::verify_consistency(
                a.checkpoint.size,
                b.checkpoint.size,
                &a.checkpoint.root,
                &b.checkpoint.root,
                &proof,
            )
            .map_err(|e| {
                refused(
                    "tlog.consistency".into(),
                    format!(
                        "the checkpoint at tree size {} is not shown consistent with the one at tree size {}: {e}",
                        a.checkpoint.size, b.checkpoint.size
                    ),
                )
            })?;
        }
        more => {
            return Err(refused(
                "records".into(),
                format!(
                    "the proofs are in {} different checkpoints; a bundle uses at most two",
                    more.len()
                ),
            ));
        }
    }
    let later = match (later, checkpoints.last()) {
        (None, _) => None,
        (Some(_), None) => None,
        (Some(body), Some((largest, _))) => Some(check_later(body, largest, policy)?),
    };
    Ok(BundleReport {
        child_id: chains.child_id.to_string(),
        records: chains.records,
        origin: tlog.origin.clone(),
        checkpoints: checkpoints
            .iter()
            .map(|(c, positions)| CheckpointReport {
                positions: positions.clone(),
                ..report(c)
            })
            .collect(),
        later,
    })
}

/// Checks that `largest` (verified) is a prefix of the later checkpoint in `body`, under the same policy.
fn check_later(body: &[u8], largest: &VerifiedCheckpoint, policy: &Policy) -> Result<CheckpointReport> {
    let size = largest.checkpoint.size;
    let request = AddCheckpointRequest::parse(body).map_err(|e| refused("later".into(), e.to_string()))?;
    let later = verify_checkpoint_with_policy(&request.checkpoint, policy).map_err(|e| {
        refused(
            "later".into(),
            format!(
                "the later checkpoint (tree size {}) is not accepted by the policy: {e}",
                request.checkpoint.checkpoint().size
            ),
        )
    })?;
    let new = &later.checkpoint;
    if new.origin != largest.checkpoint.origin {
        return Err(refused(
            "later".into(),
            format!(
                "is a checkpoint of {}, not of {}",
                new.origin, largest.checkpoint.origin
            ),
        ));
    }
    if new.size < size {
        return Err(refused(
            "later".into(),
            format!(
                "the later checkpoint holds {} leaves, fewer than the {size} the bundle was proven at: the log \
                 was rolled back",
                new.size
            ),
        ));
    }
    if request.old_size != size {
        return Err(refused(
            "later.old".into(),
            format!(
                "the consistency proof is from tree size {}, but the bundle's checkpoint is at tree size {size}",
                request.old_size
            ),
        ));
    }
    journey_tlog::verify_consistency(
        size,
        new.size,
        &largest.checkpoint.root,
        &new.root,
        &request.proof,
    )
    .map_err(|e| {
        refused(
            "later".into(),
            format!(
                "the log at tree size {} does not extend the checkpoint at tree size {size} the bundle was \
                     proven in: {e}",
                new.size
            ),
        )
    })?;
    Ok(report(&later))
}

/// The position of the first record a bundle proves nothing for, if any (for callers that explain).
pub fn first_unproven(export: &StreamExport) -> Option<Position> {
    export
        .records
        .iter()
        .find(|r| r.tlog_proof.is_none())
        .map(|r| r.position)
}

/// What a later checkpoint for `--later` looks like: `old <size>`, the consistency proof, a blank line, the
/// checkpoint (with its cosignatures).
pub fn later_body(old_size: u64, proof: Vec<Hash>, checkpoint: SignedCheckpoint) -> Vec<u8> {
    AddCheckpointRequest {
        old_size,
        proof,
        checkpoint,
    }
    .to_bytes()
}
