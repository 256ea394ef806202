//! The six attacks of issue #18, each by an adversary with full write access to the log's data and the
//! log's signing key, while a witness ran: the log is rebuilt with every chain recomputed (so the chains
//! alone, and `journey verify`, would pass), the tree rebuilt over it, and checkpoints re-signed. Each must
//! be reported against the last witnessed checkpoint, naming its tree size; a child's proof bundle from
//! before the attack must fail against a checkpoint after it; and an honest log's bundle must pass.
//!
//! The log is `journey_tests::tlog_fixture` (real records of a synthetic authority, the tree, the routes
//! `journey serve` serves): the witness polls it over HTTP as it would poll a server, once with consistency
//! proofs built from the log's tiles and once with the log's proof route. The bundle checks are those of
//! `journey verify-export --later` (c2sp.org/tlog-proof per record, the later checkpoint in the
//! add-checkpoint format), made here with `journey-tlog` directly.

use std::sync::Arc;

use journey_core::RecordedEvent;
use journey_core::{CorrelationId, Timestamp};
use journey_tests::tlog_fixture::{
    FixtureLog, FixtureServer, as_append, entry, rebuild, synthetic_records,
};
use journey_tlog::policy::Policy;
use journey_tlog::witness_protocol::AddCheckpointRequest;
use journey_tlog::{RecordProof, verify_checkpoint_with_policy, verify_consistency};
use journey_witness::client::LogClient;
use journey_witness::poll::{PollOutcome, poll_once};
use journey_witness::{AlertKind, SystemClock, Witness, WitnessConfig};

const ORIGIN: &str = "journey.council.example/log/01J9ZK3M7Q4F";
const WITNESS_TOKEN: &str = "jk_witness_partnership";

#[derive(Clone, Copy, Debug)]
enum Proofs {
    Tiles,
    Endpoint,
}

/// A log that signed its first `witnessed` records, a witness that cosigned that checkpoint and delivered
/// the cosignature, and a child whose records all lie in it.
struct Scene {
    log: FixtureLog,
    _server: FixtureServer,
    records: Vec<RecordedEvent>,
    witness: Arc<Witness>,
    config: WitnessConfig,
    client: LogClient,
    witnessed: u64,
    /// The child's bundle: one record proof per record, against the witnessed checkpoint.
    bundle: Vec<(RecordedEvent, RecordProof)>,
    _dir: tempfile::TempDir,
}

fn scene(proofs: Proofs) -> Scene {
    let records = synthetic_records(12, 18);
    assert!(records.len() > 600, "enough records for full tiles: {}", records.len());
    let witnessed = (records.len() * 2 / 3) as u64;
    let log = FixtureLog::new(ORIGIN, [7; 32]);
    let entries: Vec<_> = records.iter().map(entry).collect();
    log.append(0, &entries[..witnessed as usize]);
    log.sign(0);
    let server = log.serve();

    let dir = tempfile::tempdir().unwrap();
    let vkey = journey_witness::keys::generate_key("partnership.example/witness", &dir.path().join("w.key")).unwrap();
    log.accept_witness(vkey, WITNESS_TOKEN);
    std::fs::write(dir.path().join("log.token"), WITNESS_TOKEN).unwrap();
    let config = WitnessConfig::parse(
        &format!(
            "key_file = \"w.key\"\nstate_dir = \"state\"\n[[log]]\norigin = \"{ORIGIN}\"\nvkey = \"{}\"\n\
             url = \"{}\"\nbearer_key_file = \"log.token\"\nproofs = \"{}\"\n",
            log.vkey(),
            server.url(),
            match proofs {
                Proofs::Tiles => "tiles",
                Proofs::Endpoint => "endpoint",
            }
        ),
        dir.path(),
    )
    .unwrap();
    let witness = journey_witness::daemon::open(&config, Arc::new(SystemClock)).unwrap();
    let client = LogClient::new(&server.url(), config.logs[0].bearer_key.clone(), std::time::Duration::from_secs(10));
    match poll_once(&witness, &config.logs[0], &client) {
        PollOutcome::Cosigned { size, delivered } => {
            assert_eq!(size, witnessed);
            assert!(delivered, "{:?}", log.refused_deliveries());
        }
        other => panic!("{other:?}"),
    }

    // A child with records in the witnessed checkpoint, and its bundle against it (with the cosignature).
    let child = records[witnessed as usize / 2].envelope.child_id.clone();
    let bundle: Vec<_> = records[..witnessed as usize]
        .iter()
        .filter(|r| r.envelope.child_id == child)
        .map(|r| (r.clone(), log.record_proof(0, r.envelope.position.0, witnessed)))
        .collect();
    assert!(bundle.len() >= 2);
    Scene {
        log,
        _server: server,
        records,
        witness,
        config,
        client,
        witnessed,
        bundle,
        _dir: dir,
    }
}

impl Scene {
    fn poll(&self) -> PollOutcome {
        poll_once(&self.witness, &self.config.logs[0], &self.client)
    }

    /// The trust a reader has: the log's key and this witness, with a quorum of `quorum`.
    fn policy(&self, quorum: bool) -> Policy {
        let text = format!(
            "log {}\nwitness partnership {}\n{}\n",
            self.log.vkey(),
            self.witness.verifier_key(),
            if quorum { "quorum partnership" } else { "quorum none" }
        );
        Policy::parse(&text).unwrap()
    }

    /// The adversary's log: the records rebuilt from appends it chose, the tree replaced, re-signed.
    fn replace_with(&self, records: &[RecordedEvent]) -> u64 {
        let entries: Vec<_> = records.iter().map(entry).collect();
        self.log.replace(0, &entries).checkpoint().size
    }

    /// The witness's verdict on the attacked log: an alert of `kind`, against the witnessed checkpoint.
    fn expect_alert(&self, kind: AlertKind) {
        match self.poll() {
            PollOutcome::Alert(alert) => {
                assert_eq!(alert.kind, kind, "{alert}");
                assert_eq!(alert.witnessed.as_ref().map(|c| c.size), Some(self.witnessed), "{alert}");
                let text = alert.to_string();
                assert!(
                    text.contains(&format!("last witnessed checkpoint tree size {}", self.witnessed)),
                    "{text}"
                );
                assert!(alert.evidence.as_ref().is_some_and(|e| e.join("offered.checkpoint").exists()));
            }
            other => panic!("expected a {kind} alert, got {other:?}"),
        }
        // And the witness stays refusing: frozen.
        assert!(matches!(self.poll(), PollOutcome::Frozen(_)));
        assert_eq!(
            self.witness.latest(&self.config.logs[0].origin).unwrap().checkpoint().size,
            self.witnessed
        );
    }

    /// The child's bundle checked as `journey verify-export --later` checks it: each record's entry and
    /// inclusion proof against the bundle's checkpoint under the policy, then the later checkpoint (from
    /// the log as it now is) under the policy, same origin, and consistency from the bundle's tree.
    fn check_bundle(&self, quorum: bool) -> Result<(), String> {
        let policy = self.policy(quorum);
        for (record, proof) in &self.bundle {
            let claimed = proof.entry().map_err(|e| e.to_string())?;
            if claimed != entry(record) {
                return Err(format!("record {} does not match its entry", record.envelope.position.0));
            }
            proof
                .verify(&claimed.leaf_hash(), &policy)
                .map_err(|e| e.to_string())?;
        }
        let bundle_tree = self.bundle[0].1.checkpoint.checkpoint().clone();
        let state = self.log.state(0);
        let later_size = state.latest().expect("the log signed");
        if later_size < bundle_tree.size {
            return Err(format!(
                "the later checkpoint has tree size {later_size}, smaller than the bundle's tree size {}",
                bundle_tree.size
            ));
        }
        let later = AddCheckpointRequest::parse(&self.log.later(0, bundle_tree.size, later_size)).unwrap();
        let verified = verify_checkpoint_with_policy(&later.checkpoint, &policy).map_err(|e| e.to_string())?;
        if verified.checkpoint.origin != bundle_tree.origin {
            return Err("the later checkpoint is of another log".to_owned());
        }
        if verified.checkpoint.size == bundle_tree.size {
            if verified.checkpoint.root != bundle_tree.root {
                return Err(format!("two roots for tree size {}", bundle_tree.size));
            }
            return Ok(());
        }
        verify_consistency(
            bundle_tree.size,
            verified.checkpoint.size,
            &bundle_tree.root,
            &verified.checkpoint.root,
            &later.proof,
        )
        .map_err(|e| e.to_string())
    }

    /// After an attack: the old bundle fails against the log's checkpoint, for want of cosignatures and,
    /// trusting the log alone, for want of consistency with the witnessed tree; the message names the size.
    fn expect_bundle_refused(&self) {
        let quorum = self.check_bundle(true).unwrap_err();
        assert!(quorum.contains("quorum"), "{quorum}");
        let alone = self.check_bundle(false).unwrap_err();
        assert!(alone.contains(&format!("tree size {}", self.witnessed)), "{alone}");
    }

    /// Appends with one record's correlation id changed (a change to its stored bytes).
    fn with_changed(&self, index: usize, records: &[RecordedEvent]) -> Vec<journey_synth::GeneratedAppend> {
        records
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let mut append = as_append(r);
                if i == index {
                    append.request.events[0].correlation_id = Some(CorrelationId::parse("rewritten").unwrap());
                }
                append
            })
            .collect()
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
        let entries: Vec<_> = s.records.iter().map(entry).collect();
        s.log.append(0, &entries[s.witnessed as usize..]);
        s.log.sign(0);
        match s.poll() {
            PollOutcome::Cosigned { size, delivered } => {
                assert_eq!(size, s.records.len() as u64);
                assert!(delivered);
            }
            other => panic!("{other:?}"),
        }
        // The later checkpoint now carries the witness's cosignature: the bundle passes against it.
        assert_eq!(s.check_bundle(true), Ok(()), "{proofs:?}");
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
        let rebuilt = rebuild(appends);
        assert_eq!(rebuilt.len(), s.records.len());
        assert_eq!(entry(&rebuilt[10]), entry(&s.records[10]), "the untouched head is the same");
        assert_ne!(entry(&rebuilt[s.witnessed as usize - 1]), entry(&s.records[s.witnessed as usize - 1]));
        s.replace_with(&rebuilt);
        s.expect_alert(AlertKind::Inconsistent);
        s.expect_bundle_refused();
    });
}

#[test]
fn attack_2_one_old_record_changed() {
    each_proof_source(|proofs| {
        let s = scene(proofs);
        let rebuilt = rebuild(s.with_changed(3, &s.records));
        s.replace_with(&rebuilt);
        s.expect_alert(AlertKind::Inconsistent);
        s.expect_bundle_refused();
        // The child's own leaf is no longer in the log's tree where it was.
        let (record, _) = &s.bundle[0];
        let attacked = s.log.state(0);
        let index = record.envelope.position.0 - 1;
        if index >= 3 {
            assert_ne!(attacked.entries[index as usize], entry(record));
        }
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
        let appends: Vec<_> = s
            .records
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != deleted)
            .map(|(_, r)| as_append(r))
            .collect();
        let rebuilt = rebuild(appends);
        assert_eq!(rebuilt.len(), s.records.len() - 1);
        s.replace_with(&rebuilt);
        s.expect_alert(AlertKind::Inconsistent);
        s.expect_bundle_refused();
    });
}

#[test]
fn attack_4_the_log_rolled_back_to_an_earlier_state() {
    each_proof_source(|proofs| {
        let s = scene(proofs);
        // A backup from when the log was half its witnessed size, restored, and signed again.
        let earlier = &s.records[..s.witnessed as usize / 2];
        s.replace_with(earlier);
        s.expect_alert(AlertKind::Rollback);
        let quorum = s.check_bundle(true).unwrap_err();
        assert!(quorum.contains(&format!("smaller than the bundle's tree size {}", s.witnessed)), "{quorum}");
    });
}

#[test]
fn attack_5_two_different_logs_shown_to_two_clients() {
    each_proof_source(|proofs| {
        let s = scene(proofs);
        let reader = "jk_reader_of_the_fork";
        // The honest log grows and the witness cosigns it; a reader is shown a fork of the same size, with
        // one old record changed and the chains recomputed.
        let entries: Vec<_> = s.records.iter().map(entry).collect();
        s.log.append(0, &entries[s.witnessed as usize..]);
        s.log.sign(0);
        assert!(matches!(s.poll(), PollOutcome::Cosigned { .. }));
        let cosigned_size = s.records.len() as u64;
        let fork = s.log.fork();
        let forged = rebuild(s.with_changed(5, &s.records));
        let forged_entries: Vec<_> = forged.iter().map(entry).collect();
        s.log.replace(fork, &forged_entries);
        s.log.show(reader, fork);

        // The reader's checkpoint carries no cosignature: refused under any quorum.
        let client = LogClient::new(s.client.base(), Some(journey_witness::config::BearerKey::new(reader).unwrap()), std::time::Duration::from_secs(10));
        let served = client.checkpoint().unwrap().unwrap();
        let forked = journey_tlog::SignedCheckpoint::parse(&served).unwrap();
        assert_eq!(forked.checkpoint().size, cosigned_size);
        let refused = verify_checkpoint_with_policy(&forked, &s.policy(true)).unwrap_err();
        assert!(refused.to_string().contains(&format!("size {cosigned_size}")), "{refused}");

        // Shown to the witness, the fork is a split view at the size it cosigned.
        s.log.show(WITNESS_TOKEN, fork);
        match s.poll() {
            PollOutcome::Alert(alert) => {
                assert_eq!(alert.kind, AlertKind::SplitView, "{alert}");
                assert_eq!(alert.witnessed.as_ref().unwrap().size, cosigned_size);
                assert!(alert.to_string().contains(&format!("two roots signed for tree size {cosigned_size}")));
            }
            other => panic!("{other:?}"),
        }
        // The child's bundle from the witnessed checkpoint fails against the fork's checkpoint.
        s.log.show(WITNESS_TOKEN, 0);
        let fork_state = s.log.state(fork);
        let later = AddCheckpointRequest {
            old_size: s.witnessed,
            proof: journey_tlog::tree::consistency_proof(s.witnessed, cosigned_size, &fork_state.hashes).unwrap(),
            checkpoint: forked,
        };
        let bundle_tree = s.bundle[0].1.checkpoint.checkpoint().clone();
        let rejected = verify_consistency(
            s.witnessed,
            cosigned_size,
            &bundle_tree.root,
            &later.checkpoint.checkpoint().root,
            &later.proof,
        )
        .unwrap_err();
        assert!(rejected.to_string().contains(&format!("tree size {}", s.witnessed)), "{rejected}");
        // While the honest log's bundle passes against the honest later checkpoint.
        assert_eq!(s.check_bundle(true), Ok(()));
    });
}

#[test]
fn attack_6_the_log_rebuilt_from_an_export_with_a_backdated_recorded_at() {
    each_proof_source(|proofs| {
        let s = scene(proofs);
        // An export re-imported record by record, one recording time moved back (still after the record
        // before it, so the store takes it): every chain from there on is recomputed.
        let i = (1..s.witnessed as usize)
            .find(|&i| s.records[i].envelope.recorded_at > s.records[i - 1].envelope.recorded_at.plus_micros(1))
            .expect("a record recorded after the one before it");
        let mut appends: Vec<_> = s.records.iter().map(as_append).collect();
        let backdated: Timestamp = s.records[i - 1].envelope.recorded_at.plus_micros(1);
        appends[i].recorded_at = backdated;
        let rebuilt = rebuild(appends);
        assert_eq!(rebuilt[i].envelope.recorded_at, backdated);
        assert_eq!(entry(&rebuilt[i - 1]), entry(&s.records[i - 1]));
        assert_ne!(entry(&rebuilt[i]), entry(&s.records[i]));

        // Presented under the original origin, re-signed with the original key: inconsistent.
        s.replace_with(&rebuilt);
        s.expect_alert(AlertKind::Inconsistent);
        s.expect_bundle_refused();

        // Presented as the new log an import makes (a new origin): no witness knows it, and a bundle of the
        // original cannot be checked against it.
        let imported = FixtureLog::new("journey.council.example/log/01JIMPORTED00", [8; 32]);
        let entries: Vec<_> = rebuilt.iter().map(entry).collect();
        imported.append(0, &entries);
        let signed = imported.sign(0);
        let refused = verify_checkpoint_with_policy(&signed, &s.policy(false)).unwrap_err();
        assert!(refused.to_string().contains("01JIMPORTED00"), "{refused}");
    });
}
