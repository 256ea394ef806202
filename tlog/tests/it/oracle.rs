//! Roots and proofs made from stored levels agree with RFC 6962's recursive definitions and with an
//! independent implementation (ct-merkle), and each verifier accepts the other's proofs.

use ct_merkle::mem_backed_tree::MemoryBackedTree;
use ct_merkle::{ConsistencyProof, InclusionProof, RootHash};
use journey_tlog::hash::{EMPTY_ROOT, Hash};
use journey_tlog::tree::{self, TreeBuilder};
use journey_tlog::{MemoryHashes, verify_consistency, verify_inclusion};
use proptest::prelude::*;
use sha2_oracle::Sha256;

use crate::support::{consistency, entry, leaves, mth, path, stored};

type Oracle = MemoryBackedTree<Sha256, Vec<u8>>;

fn oracle_root(oracle: &Oracle) -> Hash {
    oracle.root().as_bytes().as_slice().try_into().unwrap()
}

fn oracle_root_hash(root: &Hash, size: u64) -> RootHash<Sha256> {
    RootHash::new((*root).into(), size)
}

fn concat(hashes: &[Hash]) -> Vec<u8> {
    hashes.concat()
}

/// Compares everything at one size: the root, inclusion proofs of `indexes`, consistency proofs from
/// `olds`, each against the definitions, ct-merkle's proofs, and both verifiers.
fn check_size(stored: &MemoryHashes, leaves: &[Hash], oracle: &Oracle, indexes: &[u64], olds: &[u64]) {
    let n = oracle.len();
    assert_eq!(leaves.len() as u64, n);
    let root = tree::root(n, stored).unwrap();
    assert_eq!(root, mth(leaves), "root at {n}");
    assert_eq!(
        root,
        if n == 0 { EMPTY_ROOT } else { oracle_root(oracle) },
        "ct-merkle root at {n}"
    );
    for &i in indexes.iter().filter(|&&i| i < n) {
        let proof = tree::inclusion_proof(i, n, stored).unwrap();
        assert_eq!(proof, path(i as usize, leaves), "inclusion of {i} at {n}");
        let theirs = oracle.prove_inclusion(i as usize);
        assert_eq!(
            theirs.as_bytes(),
            concat(&proof),
            "ct-merkle inclusion of {i} at {n}"
        );
        verify_inclusion(i, n, &leaves[i as usize], &proof, &root).unwrap();
        oracle_root_hash(&root, n)
            .verify_inclusion(
                &entry(i),
                i,
                &InclusionProof::<Sha256>::from_bytes(concat(&proof)),
            )
            .unwrap();
    }
    for &m in olds.iter().filter(|&&m| m <= n) {
        let proof = tree::consistency_proof(m, n, stored).unwrap();
        assert_eq!(proof, consistency(m as usize, leaves), "consistency {m} -> {n}");
        let old_root = mth(&leaves[..m as usize]);
        verify_consistency(m, n, &old_root, &root, &proof).unwrap();
        if m > 0 {
            let theirs = oracle.prove_consistency((n - m) as usize);
            assert_eq!(
                theirs.as_bytes(),
                concat(&proof),
                "ct-merkle consistency {m} -> {n}"
            );
            if m < n {
                let ours = ConsistencyProof::<Sha256>::try_from_bytes(concat(&proof)).unwrap();
                oracle_root_hash(&root, n)
                    .verify_consistency(&oracle_root_hash(&old_root, m), &ours)
                    .unwrap();
            }
        }
    }
}

fn oracle_of(n: u64) -> Oracle {
    let mut oracle = Oracle::new();
    for i in 0..n {
        oracle.push(entry(i));
    }
    oracle
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn proofs_from_stored_levels_match_the_definitions_and_ct_merkle(
        n in 0u64..1_500,
        picks in proptest::collection::vec(any::<u64>(), 4),
        group in 1usize..600,
    ) {
        let all = leaves(n);
        let stored = stored(&all, group);
        let oracle = oracle_of(n);
        let indexes: Vec<u64> = picks.iter().map(|p| p % n.max(1)).chain([0, n.saturating_sub(1)]).collect();
        let olds: Vec<u64> = picks.iter().map(|p| p % (n + 1)).chain([0, 1, n]).collect();
        check_size(&stored, &all, &oracle, &indexes, &olds);
    }
}

/// Sizes where the tiles' edges fall: empty, tiny, powers of two and their neighbours at each level
/// boundary, up to 2^18 + 1.
const EDGE_SIZES: &[u64] = &[
    0, 1, 2, 3, 4, 5, 7, 8, 9, 255, 256, 257, 511, 512, 513, 65_535, 65_536, 65_537, 65_792, 65_793, 131_071,
    131_072, 131_073, 262_143, 262_144, 262_145,
];

#[test]
fn edge_sizes_up_to_256k_plus_one_match_the_definitions_and_ct_merkle() {
    let largest = *EDGE_SIZES.last().unwrap();
    let all = leaves(largest);
    let stored = stored(&all, 1_000);
    let mut oracle = Oracle::new();
    let mut builder = TreeBuilder::new();
    for &n in EDGE_SIZES {
        while oracle.len() < n {
            let i = oracle.len();
            oracle.push(entry(i));
            builder.push(all[i as usize]);
        }
        assert_eq!(builder.root(), mth(&all[..n as usize]), "builder root at {n}");
        let indexes = [
            0,
            1,
            n / 2,
            n.saturating_sub(2),
            n.saturating_sub(1),
            n / 3 * 2 + 1,
        ];
        // From the nearest smaller edge sizes, from a few tiny ones, and from this size itself (each proof
        // checked against the recursive definition costs a pass over the whole tree).
        let at = EDGE_SIZES.iter().position(|&m| m == n).unwrap();
        let olds: Vec<u64> = EDGE_SIZES[at.saturating_sub(6)..=at]
            .iter()
            .copied()
            .chain([1, 7, 256])
            .collect();
        check_size(&stored, &all[..n as usize], &oracle, &indexes, &olds);
    }
}
