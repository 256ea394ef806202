//! Every alteration of a valid proof is refused: any single flipped bit of any hash, the wrong index, a
//! shortened or lengthened path, other sizes, swapped or foreign roots.

use journey_tlog::hash::{EMPTY_ROOT, Hash};
use journey_tlog::tree::{self, MemoryHashes};
use journey_tlog::{Error, verify_consistency, verify_inclusion};
use proptest::prelude::*;

use crate::support::{leaves, mth, stored};

fn flip(hash: &Hash, bit: usize) -> Hash {
    let mut flipped = *hash;
    flipped[bit / 8] ^= 1 << (bit % 8);
    flipped
}

/// Every way of damaging a valid inclusion proof of leaf `i` in the tree of `n` leaves fails.
fn inclusion_alterations_fail(stored: &MemoryHashes, all: &[Hash], n: u64, i: u64) {
    let root = tree::root(n, stored).unwrap();
    let leaf = all[i as usize];
    let proof = tree::inclusion_proof(i, n, stored).unwrap();
    let rejected = |index: u64, size: u64, leaf: &Hash, path: &[Hash], root: &Hash| {
        matches!(
            verify_inclusion(index, size, leaf, path, root),
            Err(Error::InclusionRejected { .. })
        )
    };
    assert!(
        !rejected(i, n, &leaf, &proof, &root),
        "the honest proof of {i} in {n}"
    );
    for bit in 0..256 {
        assert!(rejected(i, n, &flip(&leaf, bit), &proof, &root), "leaf bit {bit}");
        assert!(rejected(i, n, &leaf, &proof, &flip(&root, bit)), "root bit {bit}");
        for (h, hash) in proof.iter().enumerate() {
            let mut altered = proof.clone();
            altered[h] = flip(hash, bit);
            assert!(
                rejected(i, n, &leaf, &altered, &root),
                "hash {h} bit {bit} of {i} in {n}"
            );
        }
    }
    // Any other index of the same tree.
    for j in (0..n).filter(|&j| j != i) {
        assert!(
            rejected(j, n, &leaf, &proof, &root),
            "index {j} for leaf {i} in {n}"
        );
    }
    assert!(rejected(n, n, &leaf, &proof, &root));
    assert!(rejected(u64::MAX, n, &leaf, &proof, &root));
    // Truncated at either end, lengthened at either end or by a repeat.
    if !proof.is_empty() {
        assert!(
            rejected(i, n, &leaf, &proof[..proof.len() - 1], &root),
            "last hash dropped"
        );
        assert!(rejected(i, n, &leaf, &proof[1..], &root), "first hash dropped");
    }
    for extra in [[0u8; 32], root, leaf, proof.last().copied().unwrap_or(EMPTY_ROOT)] {
        let mut longer = proof.clone();
        longer.push(extra);
        // Refused for its length, before the hashes are even compared.
        assert!(
            matches!(
                verify_inclusion(i, n, &leaf, &longer, &root),
                Err(Error::InclusionRejected { reason, .. }) if reason.contains("longer")
            ),
            "hash appended"
        );
        let mut longer = vec![extra];
        longer.extend_from_slice(&proof);
        assert!(rejected(i, n, &leaf, &longer, &root), "hash prepended");
    }
    // Another size, with that size's own root (a size and its root come signed together).
    for size in [
        n.saturating_sub(2),
        n - 1,
        n + 1,
        n + 2,
        2 * n,
        n.next_power_of_two(),
    ] {
        if size == n || size <= i || size as usize > all.len() {
            continue;
        }
        let other_root = mth(&all[..size as usize]);
        assert!(
            rejected(i, size, &leaf, &proof, &other_root),
            "size {size} for a proof in {n}"
        );
    }
    // Another tree's root of the same size.
    assert!(rejected(i, n, &leaf, &proof, &mth(&all[1..=n as usize])));
}

/// Every way of damaging a valid consistency proof from `m` to `n` fails.
fn consistency_alterations_fail(stored: &MemoryHashes, all: &[Hash], m: u64, n: u64) {
    let old_root = mth(&all[..m as usize]);
    let new_root = mth(&all[..n as usize]);
    let proof = tree::consistency_proof(m, n, stored).unwrap();
    let rejected = |old: u64, new: u64, old_root: &Hash, new_root: &Hash, path: &[Hash]| {
        matches!(
            verify_consistency(old, new, old_root, new_root, path),
            Err(Error::ConsistencyRejected { .. })
        )
    };
    assert!(
        !rejected(m, n, &old_root, &new_root, &proof),
        "the honest proof {m} -> {n}"
    );
    for bit in 0..256 {
        assert!(
            rejected(m, n, &flip(&old_root, bit), &new_root, &proof),
            "old root bit {bit}"
        );
        assert!(
            rejected(m, n, &old_root, &flip(&new_root, bit), &proof),
            "new root bit {bit}"
        );
        for (h, hash) in proof.iter().enumerate() {
            let mut altered = proof.clone();
            altered[h] = flip(hash, bit);
            assert!(
                rejected(m, n, &old_root, &new_root, &altered),
                "hash {h} bit {bit} of {m} -> {n}"
            );
        }
    }
    // Swapped roots, and the sizes the wrong way round.
    if old_root != new_root {
        assert!(rejected(m, n, &new_root, &old_root, &proof), "roots swapped");
    }
    assert!(
        rejected(n, m, &new_root, &old_root, &proof) || m == n,
        "sizes swapped"
    );
    // Truncated, lengthened.
    if !proof.is_empty() {
        assert!(
            rejected(m, n, &old_root, &new_root, &proof[..proof.len() - 1]),
            "last dropped"
        );
        assert!(rejected(m, n, &old_root, &new_root, &proof[1..]), "first dropped");
    }
    for extra in [
        [0u8; 32],
        old_root,
        new_root,
        proof.last().copied().unwrap_or(EMPTY_ROOT),
    ] {
        let mut longer = proof.clone();
        longer.push(extra);
        assert!(
            matches!(
                verify_consistency(m, n, &old_root, &new_root, &longer),
                Err(Error::ConsistencyRejected { reason, .. }) if reason.contains("longer")
            ),
            "hash appended"
        );
        let mut longer = vec![extra];
        longer.extend_from_slice(&proof);
        assert!(rejected(m, n, &old_root, &new_root, &longer), "hash prepended");
    }
    // Other sizes with their own roots, where the honest proof for them differs from this one.
    for (old, new) in [
        (m - 1, n),
        (m + 1, n),
        (m, n - 1),
        (m, n + 1),
        (m + 1, n + 1),
        (m - 1, n - 1),
    ] {
        if old > new || new as usize > all.len() || (old, new) == (m, n) {
            continue;
        }
        if tree::consistency_proof(old, new, stored).unwrap() == proof {
            continue;
        }
        let (other_old, other_new) = (mth(&all[..old as usize]), mth(&all[..new as usize]));
        assert!(
            rejected(old, new, &other_old, &other_new, &proof),
            "sizes {old} -> {new} for a proof {m} -> {n}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn altered_inclusion_proofs_are_refused(n in 1u64..600, pick in any::<u64>()) {
        let all = leaves(n * 2 + 2);
        let stored = stored(&all, 97);
        inclusion_alterations_fail(&stored, &all, n, pick % n);
    }

    #[test]
    fn altered_consistency_proofs_are_refused(n in 2u64..600, pick in any::<u64>()) {
        let all = leaves(n + 2);
        let stored = stored(&all, 97);
        consistency_alterations_fail(&stored, &all, 1 + pick % (n - 1), n);
    }
}

#[test]
fn altered_proofs_are_refused_at_the_tile_edges() {
    let all = leaves(70_000);
    let stored = stored(&all, 4_096);
    for (n, i) in [
        (1, 0),
        (2, 1),
        (256, 255),
        (257, 256),
        (65_536, 0),
        (65_537, 65_536),
        (69_999, 12_345),
    ] {
        inclusion_alterations_fail(&stored, &all, n, i);
    }
    for (m, n) in [
        (1, 2),
        (255, 256),
        (256, 257),
        (255, 257),
        (65_535, 65_537),
        (65_536, 69_999),
        (3, 69_998),
    ] {
        consistency_alterations_fail(&stored, &all, m, n);
    }
}

#[test]
fn the_cases_outside_the_rfc_loop_are_decided_strictly() {
    let all = leaves(8);
    let stored = stored(&all, 8);
    let root = tree::root(8, &stored).unwrap();
    let seven = mth(&all[..7]);
    // Equal sizes: an empty proof and equal roots.
    verify_consistency(8, 8, &root, &root, &[]).unwrap();
    assert!(verify_consistency(8, 8, &root, &seven, &[]).is_err());
    assert!(verify_consistency(8, 8, &root, &root, &[root]).is_err());
    // From the empty tree: an empty proof, and the empty root.
    verify_consistency(0, 8, &EMPTY_ROOT, &root, &[]).unwrap();
    assert!(verify_consistency(0, 8, &seven, &root, &[]).is_err());
    assert!(verify_consistency(0, 8, &EMPTY_ROOT, &root, &[seven]).is_err());
    verify_consistency(0, 0, &EMPTY_ROOT, &EMPTY_ROOT, &[]).unwrap();
    // An empty proof between different sizes, and a shrinking tree.
    assert!(verify_consistency(7, 8, &seven, &root, &[]).is_err());
    assert!(verify_consistency(8, 7, &root, &seven, &[]).is_err());
    // Nothing is in the empty tree.
    assert!(verify_inclusion(0, 0, &all[0], &[], &EMPTY_ROOT).is_err());
    // A one-leaf tree's root is its leaf, with an empty path.
    verify_inclusion(0, 1, &all[0], &[], &all[0]).unwrap();
    assert!(verify_inclusion(0, 1, &all[0], &[all[1]], &all[0]).is_err());
}

#[test]
fn a_size_is_only_as_good_as_the_signature_binding_it_to_its_root() {
    // RFC 6962 proofs do not encode the tree size: leaf 0's proof in a tree of 4 runs the same steps as
    // one in a tree of 3, so it "verifies" for size 3 against the size-4 root. Sizes must therefore come
    // from the signed checkpoint that carries the root, never from the prover alone.
    let all = leaves(4);
    let stored = stored(&all, 4);
    let root = tree::root(4, &stored).unwrap();
    let proof = tree::inclusion_proof(0, 4, &stored).unwrap();
    verify_inclusion(0, 3, &all[0], &proof, &root).unwrap();
    // With the root that size 3 really has, it fails.
    assert!(verify_inclusion(0, 3, &all[0], &proof, &tree::root(3, &stored).unwrap()).is_err());
}
