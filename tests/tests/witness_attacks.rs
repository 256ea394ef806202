//! The six attacks of issue #18 on a real Journey log, each by an adversary with full write access to the
//! data directory and the log's signing key, while a witness ran. The log is an embedded store served by
//! `journey_api::router` with the proof service signing its checkpoints (`support::served_log`); the
//! adversary rebuilds the log from appends it chooses into a new directory under the same log id, so every
//! chain is recomputed and `journey verify` would pass, moves it into place, restarts the server and has it
//! sign. The witness (`journey_witness`) polls the server over HTTP as `journey witness run` does, once
//! with consistency proofs built from the log's tiles and once from its proof route.
//!
//! Each attack must be reported against the last witnessed checkpoint, naming its tree size; a child's
//! proof bundle taken before the attack must fail against the log's checkpoint after it (checked as
//! `journey verify-export --later` checks it: `journey_core::proof::bundle::verify_bundle`); and an honest
//! log's bundle must pass.

mod support;

use journey_core::proof::bundle::{later_body, verify_bundle};
use journey_core::store::StreamExport;
use journey_core::tlog::policy::Policy;
use journey_core::tlog::{SignedCheckpoint, verify_checkpoint_with_policy};
use journey_core::{ChildId, CorrelationId, RecordedEvent};
use journey_synth::GeneratedAppend;
use journey_witness::AlertKind;
use journey_witness::client::LogClient;
use journey_witness::config::BearerKey;
use journey_witness::poll::PollOutcome;
use support::served_log::{ServedLog, as_append, synthetic_appends};
use support::witness::{TIMEOUT, WITNESS_TOKEN, Watching, WitnessKey};

#[derive(Clone, Copy, Debug)]
enum Proofs {
    Tiles,
    Endpoint,
}

/// A log that recorded most of a synthetic authority and signed it, a witness that cosigned that checkpoint
/// and delivered the cosignature to the server, and a child's bundle from then.
struct Scene {
    log: ServedLog,
    /// The authority's appends: those up to `witnessed` records are in the log.
    appends: Vec<GeneratedAppend>,
    /// The log's records when the witness cosigned.
    records: Vec<RecordedEvent>,
    watching: Watching,
    witnessed: u64,
    child: ChildId,
    /// The child's verifiable export against the witnessed checkpoint.
    bundle: StreamExport,
}

fn scene(proofs: Proofs) -> Scene {
    let key = WitnessKey::new();
    let log = ServedLog::new(vec![key.configured()]);

    let appends = synthetic_appends(90, 18);
    let first = appends.len() * 2 / 3;
    log.append(0, appends[..first].iter().cloned());
    let records = log.records(0);
    assert!(
        records.len() > 600,
        "enough records for full tiles: {}",
        records.len()
    );
    let witnessed = records.len() as u64;
    assert_eq!(log.sign(0).checkpoint().size, witnessed);

    let watching = key.watch(
        &log,
        match proofs {
            Proofs::Tiles => "tiles",
            Proofs::Endpoint => "endpoint",
        },
    );
    match watching.poll() {
        PollOutcome::Cosigned { size, delivered } => {
            assert_eq!(size, witnessed);
            assert!(delivered, "the server took the cosignature");
        }
        other => panic!("{other:?}"),
    }

    // A child with several records, all in the witnessed checkpoint: its export proves each against it,
    // with the witness's cosignature.
    let child = records[records.len() / 2].envelope.child_id.clone();
    let bundle = log.export(0, &child);
    assert!(bundle.records.len() >= 2);
    assert!(bundle.records.iter().all(|r| r.tlog_proof.is_some()));
    Scene {
        log,
        appends,
        records,
        watching,
        witnessed,
        child,
        bundle,
    }
}

impl Scene {
    fn poll(&self) -> PollOutcome {
        self.watching.poll()
    }

    /// The trust a reader has: the log's key and this witness, which must have cosigned (or not).
    fn policy(&self, quorum: bool) -> Policy {
        let text = format!(
            "log {}\nwitness partnership {}\n{}\n",
            self.log.vkey(),
            self.watching.witness.verifier_key(),
            if quorum {
                "quorum partnership"
            } else {
                "quorum none"
            }
        );
        Policy::parse(&text).unwrap()
    }

    /// What a reader fetches from the log as it now is, to check a bundle at `old` leaves against the
    /// latest checkpoint: the checkpoint (GET /checkpoint) and the consistency proof (GET
    /// /proof/consistency), which a log that shrank cannot give.
    fn later(&self, client: &LogClient, old: u64) -> Vec<u8> {
        let served = client.checkpoint().unwrap().expect("a checkpoint");
        let latest = SignedCheckpoint::parse(&served).unwrap();
        let size = latest.checkpoint().size;
        let proof = if size >= old {
            client.consistency_proof(old, size).unwrap()
        } else {
            Vec::new()
        };
        later_body(old, proof, latest)
    }

    /// The child's bundle checked as `journey verify-export --later` checks it, against the log the witness
    /// is shown.
    fn check_bundle(&self, quorum: bool) -> Result<(), String> {
        let later = self.later(&self.watching.client, self.witnessed);
        verify_bundle(&self.bundle, &self.policy(quorum), Some(&later))
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    /// The adversary's log: rebuilt from `appends`, moved into place, served and signed with the log's key.
    fn replace_with(&self, appends: Vec<GeneratedAppend>) -> u64 {
        let signed = self.log.replace(0, appends);
        assert_eq!(
            self.log.origin(0),
            self.watching.config.logs[0].origin.as_str(),
            "the same origin"
        );
        signed.checkpoint().size
    }

    /// The witness's verdict on the attacked log: an alert of `kind`, against the witnessed checkpoint,
    /// naming its tree size, with the evidence kept; and the origin stays frozen.
    fn expect_alert(&self, kind: AlertKind) {
        match self.poll() {
            PollOutcome::Alert(alert) => {
                assert_eq!(alert.kind, kind, "{alert}");
                assert_eq!(
                    alert.witnessed.as_ref().map(|c| c.size),
                    Some(self.witnessed),
                    "{alert}"
                );
                let text = alert.to_string();
                assert!(
                    text.contains(&format!("last witnessed checkpoint tree size {}", self.witnessed)),
                    "{text}"
                );
                assert!(
                    alert
                        .evidence
                        .as_ref()
                        .is_some_and(|e| e.join("offered.checkpoint").exists())
                );
            }
            other => panic!("expected a {kind} alert, got {other:?}"),
        }
        assert!(matches!(self.poll(), PollOutcome::Frozen(_)));
        assert_eq!(
            self.watching
                .witness
                .latest(&self.watching.config.logs[0].origin)
                .unwrap()
                .checkpoint()
                .size,
            self.witnessed
        );
    }

    /// After an attack: the old bundle fails against the log's checkpoint, for want of the witness's
    /// cosignature and, trusting the log's key alone, for want of consistency with the witnessed tree; the
    /// refusal names the witnessed tree size.
    fn expect_bundle_refused(&self) {
        let quorum = self.check_bundle(true).unwrap_err();
        assert!(quorum.contains("quorum") || quorum.contains("cosign"), "{quorum}");
        let alone = self.check_bundle(false).unwrap_err();
        assert!(
            alone.contains(&format!("tree size {}", self.witnessed)),
            "{alone}"
        );
    }

    /// The log's records as appends, with one record's correlation id changed (a change to its stored bytes).
    fn with_changed(&self, index: usize) -> Vec<GeneratedAppend> {
        self.records
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let mut append = as_append(r);
                if i == index {
                    append.request.events[0].correlation_id =
                        Some(CorrelationId::parse("rewritten").unwrap());
                }
                append
            })
            .collect()
    }

    /// The rest of the authority's appends (after the witnessed ones), as the honest log goes on.
    fn rest(&self) -> Vec<GeneratedAppend> {
        self.appends[self.appends.len() * 2 / 3..].to_vec()
    }
}

fn each_proof_source(attack: impl Fn(Proofs)) {
    attack(Proofs::Tiles);
    attack(Proofs::Endpoint);
}

#[test]
fn an_honest_log_is_cosigned_and_its_bundles_pass_before_and_after() {
    each_proof_source(|proofs| {
        let s = scene(proofs);
        assert_eq!(s.check_bundle(true), Ok(()));
        s.log.append(0, s.rest());
        let grown = s.log.sign(0).checkpoint().size;
        assert!(grown > s.witnessed);
        match s.poll() {
            PollOutcome::Cosigned { size, delivered } => {
                assert_eq!(size, grown);
                assert!(delivered);
            }
            other => panic!("{other:?}"),
        }
        // The later checkpoint now carries the witness's cosignature: the old bundle passes against it, and
        // a new export is proven against it.
        assert_eq!(s.check_bundle(true), Ok(()), "{proofs:?}");
        let fresh = s.log.export(0, &s.child);
        let report = verify_bundle(&fresh, &s.policy(true), None).unwrap();
        assert!(
            report.checkpoints.iter().all(|c| !c.cosigned_by.is_empty()),
            "{report:?}"
        );
        assert!(matches!(s.poll(), PollOutcome::Unchanged { .. }));
    });
}

#[test]
fn attack_1_the_tail_rewritten_consistently_with_chains_recomputed() {
    each_proof_source(|proofs| {
        let s = scene(proofs);
        // The last 20 witnessed records rewritten, and the log carried on: every chain recomputed.
        let mut appends: Vec<_> = s.records.iter().map(as_append).collect();
        for append in &mut appends[s.witnessed as usize - 20..] {
            append.request.events[0].correlation_id = Some(CorrelationId::parse("rewritten-tail").unwrap());
        }
        appends.extend(s.rest());
        s.replace_with(appends);
        let attacked = s.log.records(0);
        assert_eq!(
            attacked[10].chain, s.records[10].chain,
            "the untouched head is the same"
        );
        let last = s.witnessed as usize - 1;
        assert_ne!(attacked[last].chain, s.records[last].chain);
        s.expect_alert(AlertKind::Inconsistent);
        s.expect_bundle_refused();
    });
}

#[test]
fn attack_2_one_old_record_changed() {
    each_proof_source(|proofs| {
        let s = scene(proofs);
        let size = s.replace_with(s.with_changed(3));
        assert_eq!(size, s.witnessed, "the same size, another root");
        assert_ne!(s.log.records(0)[3].chain, s.records[3].chain);
        s.expect_alert(AlertKind::SplitView);
        s.expect_bundle_refused();
    });
}

#[test]
fn attack_2_one_old_record_changed_and_the_log_grown() {
    each_proof_source(|proofs| {
        let s = scene(proofs);
        let mut appends = s.with_changed(3);
        appends.extend(s.rest());
        assert!(s.replace_with(appends) > s.witnessed);
        s.expect_alert(AlertKind::Inconsistent);
        s.expect_bundle_refused();
    });
}

#[test]
fn attack_3_a_record_deleted_from_the_middle() {
    each_proof_source(|proofs| {
        let s = scene(proofs);
        // A record in the middle of the witnessed log that is its child's last, so the rest still loads.
        let middle = (s.witnessed / 2) as usize;
        let deleted = (middle..s.witnessed as usize)
            .find(|&i| {
                let child = &s.records[i].envelope.child_id;
                !s.records[i + 1..].iter().any(|r| &r.envelope.child_id == child)
            })
            .expect("some child's last record");
        let mut appends: Vec<_> = s
            .records
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != deleted)
            .map(|(_, r)| as_append(r))
            .collect();
        appends.extend(s.rest());
        s.replace_with(appends);
        assert!(
            !s.log
                .records(0)
                .iter()
                .any(|r| r.envelope.event_id == s.records[deleted].envelope.event_id)
        );
        s.expect_alert(AlertKind::Inconsistent);
        s.expect_bundle_refused();
    });
}

#[test]
fn attack_4_the_log_rolled_back_to_an_earlier_state() {
    each_proof_source(|proofs| {
        let s = scene(proofs);
        // A backup of the data directory, taken when the log was smaller... restored after the log grew and
        // the witness cosigned the larger tree.
        let backup = s.log.backup(0);
        s.log.append(0, s.rest());
        let grown = s.log.sign(0).checkpoint().size;
        assert!(matches!(s.poll(), PollOutcome::Cosigned { size, .. } if size == grown));
        let grown_bundle = s.log.export(0, &s.child);
        let restored = s.log.restore(0, &backup);
        assert_eq!(restored.checkpoint().size, s.witnessed);
        match s.poll() {
            PollOutcome::Alert(alert) => {
                assert_eq!(alert.kind, AlertKind::Rollback, "{alert}");
                assert_eq!(alert.witnessed.as_ref().map(|c| c.size), Some(grown));
                assert!(
                    alert
                        .to_string()
                        .contains(&format!("last witnessed checkpoint tree size {grown}"))
                );
            }
            other => panic!("{other:?}"),
        }
        // A bundle taken before the rollback, against the rolled-back log's checkpoint: fewer leaves.
        let later = s.later(&s.watching.client, grown);
        let refused = verify_bundle(&grown_bundle, &s.policy(false), Some(&later))
            .unwrap_err()
            .to_string();
        assert!(
            refused.contains("rolled back") && refused.contains(&grown.to_string()),
            "{refused}"
        );
    });
}

#[test]
fn attack_5_two_different_logs_shown_to_two_clients() {
    each_proof_source(|proofs| {
        let s = scene(proofs);
        let reader = "jk_reader_of_the_fork";
        // The honest log grows and the witness cosigns it. A copy of the data directory is then rewritten
        // (one old record changed, chains recomputed, the same size) and shown to a reader.
        s.log.append(0, s.rest());
        let cosigned = s.log.sign(0).checkpoint().size;
        assert!(matches!(s.poll(), PollOutcome::Cosigned { .. }));
        let honest = s.log.records(0);
        let fork = s.log.fork();
        let forged: Vec<_> = honest
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let mut append = as_append(r);
                if i == 5 {
                    append.request.events[0].correlation_id = Some(CorrelationId::parse("forked").unwrap());
                }
                append
            })
            .collect();
        assert_eq!(s.log.replace(fork, forged).checkpoint().size, cosigned);
        s.log.show(reader, fork);

        // The reader's checkpoint carries no cosignature: refused under the quorum, naming the size.
        let reader_client = LogClient::new(&s.log.url(), Some(BearerKey::new(reader).unwrap()), TIMEOUT);
        let forked = SignedCheckpoint::parse(&reader_client.checkpoint().unwrap().unwrap()).unwrap();
        assert_eq!(forked.checkpoint().size, cosigned);
        let refused = verify_checkpoint_with_policy(&forked, &s.policy(true)).unwrap_err();
        assert!(
            refused.to_string().contains(&format!("size {cosigned}")),
            "{refused}"
        );
        // The child's bundle from the witnessed checkpoint fails against the fork's checkpoint, even trusting
        // the log's key alone.
        let later = s.later(&reader_client, s.witnessed);
        let refused = verify_bundle(&s.bundle, &s.policy(false), Some(&later))
            .unwrap_err()
            .to_string();
        assert!(
            refused.contains(&format!("tree size {}", s.witnessed)),
            "{refused}"
        );

        // Shown to the witness, the fork is a split view at the size it cosigned.
        s.log.show(WITNESS_TOKEN, fork);
        match s.poll() {
            PollOutcome::Alert(alert) => {
                assert_eq!(alert.kind, AlertKind::SplitView, "{alert}");
                assert_eq!(alert.witnessed.as_ref().unwrap().size, cosigned);
                assert!(
                    alert
                        .to_string()
                        .contains(&format!("last witnessed checkpoint tree size {cosigned}"))
                );
            }
            other => panic!("{other:?}"),
        }
        // While the honest log's bundle passes against the honest later checkpoint.
        s.log.show(WITNESS_TOKEN, 0);
        assert_eq!(s.check_bundle(true), Ok(()));
    });
}

#[test]
fn attack_6_the_log_rebuilt_from_an_export_with_a_backdated_recorded_at() {
    each_proof_source(|proofs| {
        let s = scene(proofs);
        // The log re-imported record by record, one recording time moved back (still after the record
        // before it, so the store takes it): every chain from there on is recomputed.
        let i = (1..s.witnessed as usize)
            .find(|&i| {
                s.records[i].envelope.recorded_at > s.records[i - 1].envelope.recorded_at.plus_micros(1)
            })
            .expect("a record recorded after the one before it");
        let backdated = s.records[i - 1].envelope.recorded_at.plus_micros(1);
        let mut appends: Vec<_> = s.records.iter().map(as_append).collect();
        appends[i].recorded_at = backdated;
        s.replace_with(appends);
        let attacked = s.log.records(0);
        assert_eq!(attacked[i].envelope.recorded_at, backdated);
        assert_eq!(attacked[i - 1].chain, s.records[i - 1].chain);
        assert_ne!(attacked[i].chain, s.records[i].chain);
        s.expect_alert(AlertKind::SplitView);
        s.expect_bundle_refused();
    });
}
