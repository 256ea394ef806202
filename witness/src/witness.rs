//! The witness itself: for each origin, the last checkpoint it cosigned; the checks a new checkpoint must
//! pass before it is cosigned; and the alerts when one fails.
//!
//! Checkpoints arrive two ways and meet the same state:
//! * **pushed** to `POST /add-checkpoint` (c2sp.org/tlog-witness): [`Witness::add_checkpoint`] answers
//!   exactly as the specification says, with `journey_tlog`'s [`check_add_checkpoint`];
//! * **polled** from a log's `/checkpoint` ([`Witness::observe`]), with the consistency proof the poller
//!   fetched from the log's tiles or proof route.
//!
//! For each origin one lock is held from the check of the last cosigned checkpoint to the durable store of
//! the new one, so two requests can never both extend the same checkpoint, and a stale request can never
//! roll the witness back. A cosignature is handed out only after the state that records it is durable.
//!
//! What counts as an alert, which freezes the origin until an operator clears it, is what proves the log
//! misbehaved: a checkpoint the log signed that is smaller than one it signed before and the witness
//! cosigned (rollback, when polled: the server calls it its latest), another root at a cosigned size (split
//! view), a newer tree the witness proved, from tiles it authenticated or a proof the log's own server gave,
//! not to extend the cosigned one (inconsistent), or a checkpoint at the log's URL without the log's valid
//! signature or for another origin. A pushed request with a proof that fails is refused and kept as
//! evidence, but does not freeze the origin: anyone can replay a signed checkpoint with a bad proof.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use base64::Engine as _;
use journey_tlog::note::Note;
use journey_tlog::witness_protocol::{AddCheckpointRequest, Refusal, WitnessResponse, check_add_checkpoint};
use journey_tlog::{
    Checkpoint, Cosigner, EMPTY_ROOT, Hash, NoteSignature, Origin, SignedCheckpoint, VerifierKey,
    verify_consistency,
};

use crate::config::LogConfig;
use crate::error::{Error, Result};
use crate::metrics::Metrics;
use crate::state::{Evidence, StateDir, origin_hex};

/// The witness's clock: POSIX seconds, for cosignature timestamps.
pub trait Clock: Send + Sync + fmt::Debug {
    fn now(&self) -> u64;
}

/// The system's clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    // A cosignature states when the witness saw the tree: wall-clock time is its meaning. The witness does not
    // record events, so journey-core's injected clock (which forbids this call elsewhere) does not apply.
    #[allow(clippy::disallowed_methods)]
    fn now(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }
}

/// What a log did wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AlertKind {
    /// Its latest checkpoint is smaller than one the witness cosigned.
    Rollback,
    /// Another root at a size the witness cosigned.
    SplitView,
    /// A larger tree that does not extend the one the witness cosigned.
    Inconsistent,
    /// A checkpoint without a valid signature of the log's key.
    BadSignature,
    /// A checkpoint for another origin than the one configured for the URL.
    WrongOrigin,
}

impl AlertKind {
    pub const ALL: [AlertKind; 5] = [
        AlertKind::Rollback,
        AlertKind::SplitView,
        AlertKind::Inconsistent,
        AlertKind::BadSignature,
        AlertKind::WrongOrigin,
    ];

    /// The label in metrics and evidence.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::Rollback => "rollback",
            AlertKind::SplitView => "split_view",
            AlertKind::Inconsistent => "inconsistent",
            AlertKind::BadSignature => "bad_signature",
            AlertKind::WrongOrigin => "wrong_origin",
        }
    }
}

impl fmt::Display for AlertKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A log caught misbehaving, against the last checkpoint the witness cosigned (or was pinned to).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alert {
    pub origin: Origin,
    pub kind: AlertKind,
    /// The last checkpoint the witness cosigned for the origin (or its pin).
    pub witnessed: Option<Checkpoint>,
    /// The checkpoint refused, when it could be read.
    pub offered: Option<Checkpoint>,
    pub detail: String,
    /// Where the evidence was kept.
    pub evidence: Option<PathBuf>,
}

fn describe(checkpoint: Option<&Checkpoint>) -> String {
    match checkpoint {
        Some(c) => format!(
            "tree size {} root {}",
            c.size,
            base64::engine::general_purpose::STANDARD.encode(c.root)
        ),
        None => "none".to_owned(),
    }
}

impl fmt::Display for Alert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} for {}: last witnessed checkpoint {}; offered {}: {}",
            self.kind,
            self.origin,
            describe(self.witnessed.as_ref()),
            describe(self.offered.as_ref()),
            self.detail
        )?;
        if let Some(evidence) = &self.evidence {
            write!(f, " (evidence in {})", evidence.display())?;
        }
        Ok(())
    }
}

/// The answer to a pushed checkpoint.
#[derive(Debug)]
pub enum PushOutcome {
    /// One of the specification's answers.
    Answer(WitnessResponse),
    /// Everything checked out, but the origin is frozen after an alert: nothing is cosigned (503).
    Frozen(String),
    /// The witness could not store its state: nothing was cosigned (500).
    Failed(Error),
}

/// What a polled checkpoint led to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Observation {
    /// A new checkpoint cosigned (and stored): deliver the cosignature to the log.
    Cosigned {
        checkpoint: Checkpoint,
        cosignature: NoteSignature,
    },
    /// The checkpoint the witness last cosigned. `redeliver` holds the cosignature when the log serves the
    /// checkpoint without it (an earlier delivery failed).
    Unchanged {
        checkpoint: Checkpoint,
        redeliver: Option<NoteSignature>,
    },
    /// The log misbehaved; the origin is now frozen.
    Alert(Alert),
    /// The origin is frozen: nothing was checked or cosigned.
    Frozen(String),
}

/// How the witness trusts one log.
#[derive(Clone, Debug)]
pub struct LogTrust {
    pub origin: Origin,
    pub keys: Vec<VerifierKey>,
    pub pin: Option<Checkpoint>,
}

impl From<&LogConfig> for LogTrust {
    fn from(config: &LogConfig) -> LogTrust {
        LogTrust {
            origin: config.origin.clone(),
            keys: config.keys.clone(),
            pin: config.pin.clone(),
        }
    }
}

/// Per origin: the state the lock guards.
#[derive(Debug)]
struct Slot {
    cosigned: Option<SignedCheckpoint>,
    frozen: Option<String>,
}

#[derive(Debug)]
struct Log {
    trust: LogTrust,
    slot: Mutex<Slot>,
}

impl Log {
    fn lock(&self) -> MutexGuard<'_, Slot> {
        self.slot
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// What a new checkpoint must extend: the last cosigned one, else the pin, else nothing (first sight).
    fn known(&self, slot: &Slot) -> Option<Checkpoint> {
        slot.cosigned
            .as_ref()
            .map(|c| c.checkpoint().clone())
            .or_else(|| self.trust.pin.clone())
    }
}

type AlertHook = Box<dyn Fn(&Alert) + Send + Sync>;

/// The witness: its key, the logs it trusts, and their state.
pub struct Witness {
    cosigner: Cosigner,
    vkey: VerifierKey,
    logs: BTreeMap<Origin, Log>,
    by_hex: BTreeMap<String, Origin>,
    state: StateDir,
    metrics: Arc<Metrics>,
    clock: Arc<dyn Clock>,
    on_alert: Mutex<Vec<AlertHook>>,
}

impl fmt::Debug for Witness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Witness")
            .field("name", &self.vkey.name())
            .field("logs", &self.logs.keys().collect::<Vec<_>>())
            .field("state", &self.state.root())
            .finish_non_exhaustive()
    }
}

/// The most times a poll re-reads the state because a push extended it while the proof was fetched.
const POLL_RETRIES: usize = 3;

impl Witness {
    /// Opens the witness over its state directory. Each origin's state file must carry a valid signature of
    /// the log and the witness's own cosignature: a state file that cannot be believed stops the witness
    /// (it never falls back to trusting the log anew).
    pub fn open(
        cosigner: Cosigner,
        logs: Vec<LogTrust>,
        state: StateDir,
        clock: Arc<dyn Clock>,
    ) -> Result<Witness> {
        let vkey = cosigner.verifier_key();
        let metrics = Arc::new(Metrics::new());
        let mut by_origin = BTreeMap::new();
        let mut by_hex = BTreeMap::new();
        for trust in logs {
            let origin = trust.origin.clone();
            metrics.register(origin.as_str());
            let cosigned = state.read_checkpoint(&origin)?;
            if let Some(cosigned) = &cosigned {
                let path = state.checkpoint_path(&origin);
                cosigned.verify_any(&trust.keys).map_err(|e| Error::State {
                    path: path.clone(),
                    reason: format!("the log's signature does not verify under the configured key: {e}"),
                })?;
                let ours = cosigned
                    .verify_cosignatures(std::slice::from_ref(&vkey))
                    .map_err(|e| Error::State {
                        path: path.clone(),
                        reason: format!("this witness's cosignature does not verify: {e}"),
                    })?;
                let Some(ours) = ours.first() else {
                    return Err(Error::State {
                        path,
                        reason: format!("carries no cosignature of this witness's key {vkey}"),
                    });
                };
                metrics.set_cosigned(
                    origin.as_str(),
                    cosigned.checkpoint().size,
                    ours.timestamp.unwrap_or(0),
                );
            }
            let frozen = state.frozen(&origin)?;
            metrics.set_frozen(origin.as_str(), frozen.is_some());
            by_hex.insert(origin_hex(&origin), origin.clone());
            by_origin.insert(
                origin,
                Log {
                    trust,
                    slot: Mutex::new(Slot { cosigned, frozen }),
                },
            );
        }
        Ok(Witness {
            cosigner,
            vkey,
            logs: by_origin,
            by_hex,
            state,
            metrics,
            clock,
            on_alert: Mutex::new(Vec::new()),
        })
    }

    /// Calls `hook` on every alert, after the evidence is kept and the origin frozen.
    pub fn on_alert(&self, hook: impl Fn(&Alert) + Send + Sync + 'static) {
        self.on_alert
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(Box::new(hook));
    }

    /// The witness's verifier key (cosignature/v1), to publish to the logs and to those who verify.
    pub fn verifier_key(&self) -> &VerifierKey {
        &self.vkey
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    pub fn origins(&self) -> impl Iterator<Item = &Origin> {
        self.logs.keys()
    }

    /// Why an origin is frozen, if it is.
    pub fn frozen(&self, origin: &Origin) -> Option<String> {
        self.logs.get(origin).and_then(|log| log.lock().frozen.clone())
    }

    /// The last checkpoint cosigned for an origin, with the log's signature and the cosignature.
    pub fn latest(&self, origin: &Origin) -> Option<SignedCheckpoint> {
        self.logs.get(origin).and_then(|log| log.lock().cosigned.clone())
    }

    /// The monitoring API's answer (`GET <prefix>/<hex sha256(origin)>/checkpoint`): the last checkpoint
    /// cosigned for the origin whose hash is `hex`.
    pub fn latest_by_hex(&self, hex: &str) -> Option<SignedCheckpoint> {
        self.by_hex.get(hex).and_then(|origin| self.latest(origin))
    }

    /// Answers a c2sp.org/tlog-witness `add-checkpoint` request body.
    pub fn add_checkpoint(&self, body: &[u8]) -> PushOutcome {
        let request = match AddCheckpointRequest::parse(body) {
            Ok(request) => request,
            Err(e) => {
                tracing::info!(error = %e, "add-checkpoint: malformed request refused");
                return PushOutcome::Answer(WitnessResponse::BadRequest);
            }
        };
        let offered = request.checkpoint.checkpoint().clone();
        let Some(log) = self.logs.get(&offered.origin) else {
            tracing::info!(origin = %offered.origin, "add-checkpoint: unknown origin");
            return PushOutcome::Answer(WitnessResponse::UnknownOrigin);
        };
        let mut slot = log.lock();
        let known = log.known(&slot);
        match check_add_checkpoint(&request, &log.trust.keys, known.as_ref()) {
            Err(refusal) => {
                let response = refusal.response();
                self.metrics.refused(offered.origin.as_str(), response.status());
                self.refused_push(log, &mut slot, &request, &refusal, known.as_ref());
                PushOutcome::Answer(response)
            }
            Ok(()) => {
                if let Some(reason) = &slot.frozen {
                    return PushOutcome::Frozen(reason.clone());
                }
                match self.cosign_and_store(log, &mut slot, &request.checkpoint, "push") {
                    Ok(line) => PushOutcome::Answer(WitnessResponse::Cosigned(vec![line])),
                    Err(e) => {
                        tracing::error!(origin = %offered.origin, error = %e, "add-checkpoint: state not stored; nothing cosigned");
                        PushOutcome::Failed(e)
                    }
                }
            }
        }
    }

    /// Keeps the evidence of a refused push, and raises an alert when the refusal proves the log misbehaved.
    fn refused_push(
        &self,
        log: &Log,
        slot: &mut Slot,
        request: &AddCheckpointRequest,
        refusal: &Refusal,
        known: Option<&Checkpoint>,
    ) {
        let offered = request.checkpoint.checkpoint();
        if !refusal.is_evidence() {
            tracing::info!(origin = %offered.origin, size = offered.size, refusal = %refusal, "add-checkpoint refused");
            return;
        }
        // Whatever `old` the submitter gave, a validly signed checkpoint at a cosigned size with another
        // root proves a split view.
        let split = known.is_some_and(|k| k.size == offered.size && k.root != offered.root);
        let (kind, freeze) = if split {
            (AlertKind::SplitView, true)
        } else if matches!(refusal, Refusal::EmptyTreeRoot) {
            (AlertKind::Inconsistent, true)
        } else if matches!(refusal, Refusal::Inconsistent) {
            (AlertKind::Inconsistent, false)
        } else {
            tracing::info!(origin = %offered.origin, size = offered.size, refusal = %refusal, "add-checkpoint refused");
            return;
        };
        let detail = format!("add-checkpoint with old size {}: {refusal}", request.old_size);
        if freeze {
            self.raise(
                log,
                slot,
                kind,
                Some(offered.clone()),
                &request.checkpoint.to_bytes(),
                Some(request.to_bytes()),
                detail,
            );
        } else {
            // The proof came from whoever sent the request, not necessarily the log: keep it, say so, go on.
            let report = format!(
                "{kind} (not frozen: a pushed proof may come from anyone) for {}: last witnessed checkpoint {}; offered {}: {detail}",
                offered.origin,
                describe(known),
                describe(Some(offered)),
            );
            let evidence = self.keep_evidence(
                log,
                slot,
                kind,
                &report,
                Some(offered),
                &request.checkpoint.to_bytes(),
                Some(request.to_bytes()),
            );
            tracing::warn!(origin = %offered.origin, witnessed_size = known.map(|k| k.size), offered_size = offered.size, evidence = ?evidence, "{report}");
        }
    }

    /// Checks a checkpoint polled from the log's URL (`served`, the bytes of `GET <url>/checkpoint`) against
    /// the last one cosigned for `origin`, and cosigns it if it extends it. `prove(old, new)` fetches the
    /// consistency proof when the tree grew; its errors (the log unreachable, an unauthentic tile) are
    /// returned as errors, not alerts.
    pub fn observe(
        &self,
        origin: &Origin,
        served: &[u8],
        prove: &mut dyn FnMut(&Checkpoint, &Checkpoint) -> Result<Vec<Hash>>,
    ) -> Result<Observation> {
        let log = self
            .logs
            .get(origin)
            .ok_or_else(|| Error::config("origin", format!("{origin} is not a configured log")))?;
        if let Some(reason) = &log.lock().frozen {
            return Ok(Observation::Frozen(reason.clone()));
        }
        let offered = SignedCheckpoint::parse(served)?;
        let checkpoint = offered.checkpoint().clone();
        if &checkpoint.origin != origin {
            let mut slot = log.lock();
            let detail = format!("the log's URL serves a checkpoint of {}", checkpoint.origin);
            let alert = self.raise(
                log,
                &mut slot,
                AlertKind::WrongOrigin,
                Some(checkpoint),
                served,
                None,
                detail,
            );
            return Ok(Observation::Alert(alert));
        }
        if let Err(e) = offered.verify_any(&log.trust.keys) {
            let mut slot = log.lock();
            let detail = format!("the checkpoint's log signature does not verify: {e}");
            let alert = self.raise(
                log,
                &mut slot,
                AlertKind::BadSignature,
                Some(checkpoint),
                served,
                None,
                detail,
            );
            return Ok(Observation::Alert(alert));
        }
        for _ in 0..POLL_RETRIES {
            let mut slot = log.lock();
            if let Some(reason) = &slot.frozen {
                return Ok(Observation::Frozen(reason.clone()));
            }
            let known = log.known(&slot);
            let Some(known) = known else {
                // First sight of the origin and no pin: trust on first use, the one time it is allowed.
                if checkpoint.size == 0 && checkpoint.root != EMPTY_ROOT {
                    let alert = self.raise(
                        log,
                        &mut slot,
                        AlertKind::Inconsistent,
                        Some(checkpoint),
                        served,
                        None,
                        "a tree of size 0 must have the empty tree's root".to_owned(),
                    );
                    return Ok(Observation::Alert(alert));
                }
                tracing::warn!(origin = %origin, size = checkpoint.size, "first sight of this log: trusting its checkpoint on first use");
                let cosignature = self.cosign_and_store(log, &mut slot, &offered, "poll")?;
                return Ok(Observation::Cosigned {
                    checkpoint,
                    cosignature,
                });
            };
            if checkpoint.size < known.size {
                let detail = format!(
                    "the log's latest checkpoint is smaller than tree size {} it signed before",
                    known.size
                );
                let alert = self.raise(
                    log,
                    &mut slot,
                    AlertKind::Rollback,
                    Some(checkpoint),
                    served,
                    None,
                    detail,
                );
                return Ok(Observation::Alert(alert));
            }
            if checkpoint.size == known.size {
                if checkpoint.root != known.root {
                    let detail = format!("two roots signed for tree size {}", known.size);
                    let alert = self.raise(
                        log,
                        &mut slot,
                        AlertKind::SplitView,
                        Some(checkpoint),
                        served,
                        None,
                        detail,
                    );
                    return Ok(Observation::Alert(alert));
                }
                let Some(cosigned) = slot.cosigned.clone() else {
                    // The pinned checkpoint itself, seen for the first time: cosign it.
                    let cosignature = self.cosign_and_store(log, &mut slot, &offered, "poll")?;
                    return Ok(Observation::Cosigned {
                        checkpoint,
                        cosignature,
                    });
                };
                let served_ours = offered
                    .verify_cosignatures(std::slice::from_ref(&self.vkey))
                    .is_ok_and(|v| !v.is_empty());
                let redeliver = if served_ours {
                    None
                } else {
                    cosigned
                        .note()
                        .signatures()
                        .iter()
                        .rev()
                        .find(|s| self.vkey.matches_line(s))
                        .cloned()
                };
                return Ok(Observation::Unchanged {
                    checkpoint,
                    redeliver,
                });
            }
            // The tree grew: fetch the proof without holding the lock, then check nothing moved meanwhile.
            drop(slot);
            let proof = prove(&known, &checkpoint)?;
            let mut slot = log.lock();
            if log.known(&slot).as_ref() != Some(&known) {
                continue;
            }
            if let Some(reason) = &slot.frozen {
                return Ok(Observation::Frozen(reason.clone()));
            }
            if let Err(e) =
                verify_consistency(known.size, checkpoint.size, &known.root, &checkpoint.root, &proof)
            {
                let request = AddCheckpointRequest {
                    old_size: known.size,
                    proof,
                    checkpoint: offered.clone(),
                };
                let alert = self.raise(
                    log,
                    &mut slot,
                    AlertKind::Inconsistent,
                    Some(checkpoint),
                    served,
                    Some(request.to_bytes()),
                    e.to_string(),
                );
                return Ok(Observation::Alert(alert));
            }
            let cosignature = self.cosign_and_store(log, &mut slot, &offered, "poll")?;
            return Ok(Observation::Cosigned {
                checkpoint,
                cosignature,
            });
        }
        Err(Error::Fetch {
            url: origin.to_string(),
            reason: format!(
                "the witness's state of the origin changed {POLL_RETRIES} times while a proof was fetched"
            ),
        })
    }

    /// Cosigns a checkpoint that passed every check and stores it as the origin's latest, under the
    /// origin's lock; the cosignature is returned only once the state is durable.
    fn cosign_and_store(
        &self,
        log: &Log,
        slot: &mut Slot,
        offered: &SignedCheckpoint,
        mode: &'static str,
    ) -> Result<NoteSignature> {
        let checkpoint = offered.checkpoint();
        // Timestamps never go back for an origin, even if the clock does.
        let previous = slot
            .cosigned
            .as_ref()
            .and_then(|c| {
                c.note()
                    .signatures()
                    .iter()
                    .filter(|s| self.vkey.matches_line(s))
                    .filter_map(|s| journey_tlog::cosignature::timestamp(s).ok())
                    .max()
            })
            .unwrap_or(0);
        let timestamp = self.clock.now().max(previous);
        let cosignature = self.cosigner.cosign(checkpoint, timestamp)?;
        // Stored and served: the checkpoint with the log's own signature lines and this cosignature (other
        // witnesses' lines, which this witness has not checked, are left out).
        let mut note = Note::new(checkpoint.to_text())?;
        for signature in offered.note().signatures() {
            if log.trust.keys.iter().any(|k| k.matches_line(signature)) {
                note.add_signature(signature.clone())?;
            }
        }
        note.add_signature(cosignature.clone())?;
        let stored = SignedCheckpoint::from_note(note)?;
        self.state.write_checkpoint(&stored)?;
        slot.cosigned = Some(stored);
        self.metrics
            .cosigned(checkpoint.origin.as_str(), mode, checkpoint.size, timestamp);
        tracing::info!(origin = %checkpoint.origin, size = checkpoint.size, mode, "cosigned");
        Ok(cosignature)
    }

    #[allow(clippy::too_many_arguments)]
    fn keep_evidence(
        &self,
        log: &Log,
        slot: &Slot,
        kind: AlertKind,
        report: &str,
        offered: Option<&Checkpoint>,
        offered_bytes: &[u8],
        request: Option<Vec<u8>>,
    ) -> Option<PathBuf> {
        let evidence = Evidence {
            origin: &log.trust.origin,
            kind: kind.as_str(),
            report,
            cosigned: slot.cosigned.as_ref(),
            offered: offered_bytes,
            offered_tree: offered.map(|c| (c.size, c.root)),
            request,
        };
        match self.state.keep_evidence(&evidence, self.clock.now()) {
            Ok(path) => Some(path),
            Err(e) => {
                tracing::error!(origin = %log.trust.origin, error = %e, "the evidence could not be kept");
                None
            }
        }
    }

    /// Raises an alert: keeps the evidence, freezes the origin (durably, then in memory), counts it, logs
    /// it at ERROR, and tells the hooks.
    #[allow(clippy::too_many_arguments)]
    fn raise(
        &self,
        log: &Log,
        slot: &mut Slot,
        kind: AlertKind,
        offered: Option<Checkpoint>,
        offered_bytes: &[u8],
        request: Option<Vec<u8>>,
        detail: String,
    ) -> Alert {
        let mut alert = Alert {
            origin: log.trust.origin.clone(),
            kind,
            witnessed: log.known(slot),
            offered,
            detail,
            evidence: None,
        };
        let report = alert.to_string();
        alert.evidence = self.keep_evidence(
            log,
            slot,
            kind,
            &report,
            alert.offered.as_ref(),
            offered_bytes,
            request,
        );
        let reason = alert.to_string();
        // Frozen in memory whatever happens on disk: this process never cosigns the origin again.
        slot.frozen = Some(reason.clone());
        if let Err(e) = self.state.freeze(&alert.origin, &reason) {
            tracing::error!(origin = %alert.origin, error = %e, "the freeze could not be stored; frozen in this process only");
        }
        self.metrics.alert(alert.origin.as_str(), kind);
        self.metrics.set_frozen(alert.origin.as_str(), true);
        tracing::error!(
            origin = %alert.origin,
            kind = kind.as_str(),
            witnessed_size = alert.witnessed.as_ref().map(|c| c.size),
            witnessed_root = ?alert.witnessed.as_ref().map(|c| base64::engine::general_purpose::STANDARD.encode(c.root)),
            offered_size = alert.offered.as_ref().map(|c| c.size),
            offered_root = ?alert.offered.as_ref().map(|c| base64::engine::general_purpose::STANDARD.encode(c.root)),
            evidence = ?alert.evidence,
            "WITNESS ALERT: {alert}; the origin is frozen"
        );
        for hook in self
            .on_alert
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
        {
            hook(&alert);
        }
        alert
    }
}
