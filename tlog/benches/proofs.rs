//! What a proof costs at 10M records, from levels held in memory (as a store's level files are in the page
//! cache): inclusion and consistency proofs, their verification, a root, and resuming a builder; and what
//! growing the tree costs per record.
//!
//! ```text
//! cargo bench -p journey-tlog --bench proofs
//! JOURNEY_BENCH_LEAVES=1000000 cargo bench -p journey-tlog --bench proofs
//! ```
//!
//! `JOURNEY_BENCH_LEAVES` (default 10,000,000) leaves are hashed from 64-byte entries and pushed through a
//! `TreeBuilder` (timed: leaf hash and tree per record), the completed levels kept in a `MemoryHashes`
//! (10M: 321 MB). Then, each over `JOURNEY_BENCH_PROOFS` (default 20,000) random requests with a fixed seed:
//! inclusion proofs at the full size, consistency proofs from a random smaller size and from the size of
//! a checkpoint a minute earlier (size − 100,000), verification of each, the root at a random size, and a
//! `TreeBuilder::resume`. Mean, median, 99th percentile and maximum are printed per operation.

use std::time::{Duration, Instant};

use journey_tlog::hash::LeafEntry;
use journey_tlog::tree::{self, MemoryHashes, TreeBuilder};
use journey_tlog::{verify_consistency, verify_inclusion};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn report(what: &str, mut times: Vec<Duration>, detail: &str) {
    times.sort();
    let mean = times.iter().sum::<Duration>() / times.len() as u32;
    let at = |q: f64| times[((times.len() - 1) as f64 * q) as usize];
    println!(
        "{what:<44} mean {:>9.1?}  median {:>9.1?}  p99 {:>9.1?}  max {:>9.1?}  ({} runs{detail})",
        mean,
        at(0.5),
        at(0.99),
        times[times.len() - 1],
        times.len()
    );
}

fn main() {
    let size = env("JOURNEY_BENCH_LEAVES", 10_000_000);
    let runs = env("JOURNEY_BENCH_PROOFS", 20_000) as usize;
    let mut rng = StdRng::seed_from_u64(18);

    let started = Instant::now();
    let mut builder = TreeBuilder::new();
    let mut stored = MemoryHashes::new();
    let mut entry = LeafEntry {
        stream_hash: [7; 32],
        log_hash: [9; 32],
    };
    for i in 0..size {
        entry.stream_hash[..8].copy_from_slice(&i.to_le_bytes());
        builder.push(entry.leaf_hash());
        // Appends taken per durable group, as a store would.
        if i % 1024 == 1023 {
            stored.apply(&builder.take_appends()).unwrap();
        }
    }
    stored.apply(&builder.take_appends()).unwrap();
    let built = started.elapsed();
    let bytes: usize = (0..8).map(|l| stored.level(l).len() * 32).sum();
    println!(
        "tree of {size} leaves built in {built:.2?}: {:.0} ns per record (leaf hash + tree), {:.2} bytes stored per record",
        built.as_nanos() as f64 / size as f64,
        bytes as f64 / size as f64
    );
    let root = tree::root(size, &stored).unwrap();
    assert_eq!(root, builder.root());

    let mut proving = Vec::with_capacity(runs);
    let mut verifying = Vec::with_capacity(runs);
    let mut longest = 0;
    for _ in 0..runs {
        let index = rng.random_range(0..size);
        let t = Instant::now();
        let proof = tree::inclusion_proof(index, size, &stored).unwrap();
        proving.push(t.elapsed());
        longest = longest.max(proof.len());
        let leaf = stored.level(0)[index as usize];
        let t = Instant::now();
        verify_inclusion(index, size, &leaf, &proof, &root).unwrap();
        verifying.push(t.elapsed());
    }
    report(
        "inclusion proof at full size",
        proving,
        &format!(", up to {longest} hashes"),
    );
    report("inclusion proof verification", verifying, "");

    for (what, lag) in [
        ("consistency proof, random old size", None),
        ("consistency proof, old = size - 100,000", Some(100_000)),
    ] {
        let mut proving = Vec::with_capacity(runs);
        let mut verifying = Vec::with_capacity(runs);
        let mut longest = 0;
        for _ in 0..runs {
            let old = lag.map_or_else(|| rng.random_range(1..size), |lag| size - lag);
            let old_root = tree::root(old, &stored).unwrap();
            let t = Instant::now();
            let proof = tree::consistency_proof(old, size, &stored).unwrap();
            proving.push(t.elapsed());
            longest = longest.max(proof.len());
            let t = Instant::now();
            verify_consistency(old, size, &old_root, &root, &proof).unwrap();
            verifying.push(t.elapsed());
        }
        report(what, proving, &format!(", up to {longest} hashes"));
        report("  its verification", verifying, "");
    }

    let mut rooting = Vec::with_capacity(runs);
    for _ in 0..runs {
        let at = rng.random_range(1..=size);
        let t = Instant::now();
        std::hint::black_box(tree::root(at, &stored).unwrap());
        rooting.push(t.elapsed());
    }
    report("root at a random size", rooting, "");

    let mut resuming = Vec::with_capacity(1000);
    for _ in 0..1000 {
        let at = rng.random_range(1..=size);
        let t = Instant::now();
        std::hint::black_box(TreeBuilder::resume(at, &stored).unwrap());
        resuming.push(t.elapsed());
    }
    report("TreeBuilder::resume at a random size", resuming, "");
}
