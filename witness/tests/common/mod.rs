//! A log made with `journey-tlog` for the witness's tests: leaves, a tree, a signing key, checkpoints and
//! proofs. A fork (a clone grown differently) signs with the same key, as a log operator with the key could.

#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use journey_tlog::note::KeyName;
use journey_tlog::witness_protocol::AddCheckpointRequest;
use journey_tlog::{
    Checkpoint, Cosigner, Hash, MemoryHashes, NoteSigner, Origin, SignedCheckpoint, TreeBuilder, VerifierKey,
    leaf_hash,
};
use journey_witness::{Clock, LogTrust, StateDir, Witness};

#[derive(Clone, Debug)]
pub struct TestLog {
    pub origin: Origin,
    seed: [u8; 32],
    builder: TreeBuilder,
    hashes: MemoryHashes,
}

impl TestLog {
    pub fn new(origin: &str) -> TestLog {
        TestLog {
            origin: Origin::parse(origin).unwrap(),
            seed: [9; 32],
            builder: TreeBuilder::new(),
            hashes: MemoryHashes::new(),
        }
    }

    fn signer(&self) -> NoteSigner {
        NoteSigner::from_seed(KeyName::parse(self.origin.as_str()).unwrap(), &self.seed)
    }

    pub fn vkey(&self) -> VerifierKey {
        self.signer().verifier_key()
    }

    pub fn trust(&self) -> LogTrust {
        LogTrust {
            origin: self.origin.clone(),
            keys: vec![self.vkey()],
            pin: None,
        }
    }

    /// Appends `n` leaves; `tag` tells a fork's leaves from the original's.
    pub fn grow(&mut self, n: u64, tag: u8) {
        for _ in 0..n {
            let i = self.builder.size();
            let mut entry = [tag; 64];
            entry[..8].copy_from_slice(&i.to_be_bytes());
            self.builder.push(leaf_hash(&entry));
        }
        self.hashes.apply(&self.builder.take_appends()).unwrap();
    }

    pub fn size(&self) -> u64 {
        self.builder.size()
    }

    pub fn checkpoint_at(&self, size: u64) -> Checkpoint {
        Checkpoint {
            origin: self.origin.clone(),
            size,
            root: journey_tlog::tree::root(size, &self.hashes).unwrap(),
        }
    }

    pub fn signed_at(&self, size: u64) -> SignedCheckpoint {
        SignedCheckpoint::sign(self.checkpoint_at(size), &self.signer()).unwrap()
    }

    pub fn signed(&self) -> SignedCheckpoint {
        self.signed_at(self.size())
    }

    pub fn proof(&self, old: u64, new: u64) -> Vec<Hash> {
        journey_tlog::tree::consistency_proof(old, new, &self.hashes).unwrap()
    }

    /// An add-checkpoint body from `old` to the current size.
    pub fn request(&self, old: u64) -> Vec<u8> {
        AddCheckpointRequest {
            old_size: old,
            proof: self.proof(old, self.size()),
            checkpoint: self.signed(),
        }
        .to_bytes()
    }
}

/// A clock the test moves.
#[derive(Debug, Default)]
pub struct TestClock(pub AtomicU64);

impl Clock for TestClock {
    fn now(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

pub fn cosigner() -> Cosigner {
    Cosigner::from_seed(KeyName::parse("witness.example/w1").unwrap(), &[3; 32])
}

pub fn witness(dir: &std::path::Path, logs: Vec<LogTrust>) -> journey_witness::Result<Witness> {
    let clock = Arc::new(TestClock(AtomicU64::new(1_700_000_000)));
    Witness::open(cosigner(), logs, StateDir::open(dir)?, clock)
}

/// What the witness with state directory `state_dir` kept as evidence against `origin`: one directory per
/// alert (`<kind>-<size>-<root>`), as `StateDir::keep_evidence` names it.
pub fn evidence_kept(state_dir: &std::path::Path, origin: &journey_tlog::Origin) -> Vec<std::path::PathBuf> {
    let dir = state_dir
        .join("evidence")
        .join(&journey_witness::state::origin_hex(origin)[..16]);
    std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect()
}
