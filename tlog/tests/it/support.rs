//! What the tests share: trees built from synthetic leaves, and RFC 6962's recursive definitions, written
//! from the RFC's text independently of the crate's iterative code.

use journey_tlog::hash::{EMPTY_ROOT, Hash, leaf_hash, node_hash};
use journey_tlog::tree::{MemoryHashes, TreeBuilder};

/// The entry of leaf `i` in the synthetic trees (any distinct bytes do).
pub fn entry(i: u64) -> Vec<u8> {
    format!("synthetic entry {i}").into_bytes()
}

pub fn leaves(n: u64) -> Vec<Hash> {
    (0..n).map(|i| leaf_hash(&entry(i))).collect()
}

/// The stored levels of a tree of these leaves, appended in groups of `group` as a store would.
pub fn stored(leaves: &[Hash], group: usize) -> MemoryHashes {
    let mut builder = TreeBuilder::new();
    let mut stored = MemoryHashes::new();
    for chunk in leaves.chunks(group.max(1)) {
        for &leaf in chunk {
            builder.push(leaf);
        }
        stored.apply(&builder.take_appends()).unwrap();
    }
    stored
}

/// RFC 6962 §2.1: the largest power of two smaller than n.
fn k(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// RFC 6962 §2.1 MTH.
pub fn mth(d: &[Hash]) -> Hash {
    match d.len() {
        0 => EMPTY_ROOT,
        1 => d[0],
        n => node_hash(&mth(&d[..k(n)]), &mth(&d[k(n)..])),
    }
}

/// RFC 9162 §2.1.3.1 PATH(m, D[n]).
pub fn path(m: usize, d: &[Hash]) -> Vec<Hash> {
    let n = d.len();
    if n <= 1 {
        return Vec::new();
    }
    let k = k(n);
    if m < k {
        let mut p = path(m, &d[..k]);
        p.push(mth(&d[k..]));
        p
    } else {
        let mut p = path(m - k, &d[k..]);
        p.push(mth(&d[..k]));
        p
    }
}

/// RFC 9162 §2.1.4.1 PROOF(m, D[n]) = SUBPROOF(m, D[n], true).
pub fn consistency(m: usize, d: &[Hash]) -> Vec<Hash> {
    fn subproof(m: usize, d: &[Hash], b: bool) -> Vec<Hash> {
        let n = d.len();
        if m == n {
            return if b { Vec::new() } else { vec![mth(d)] };
        }
        let k = k(n);
        if m <= k {
            let mut p = subproof(m, &d[..k], b);
            p.push(mth(&d[k..]));
            p
        } else {
            let mut p = subproof(m - k, &d[k..], false);
            p.push(mth(&d[..k]));
            p
        }
    }
    if m == 0 || m == d.len() {
        return Vec::new();
    }
    subproof(m, d, true)
}
