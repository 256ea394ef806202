//! Verification of inclusion and consistency proofs, transcribed literally from RFC 9162 §2.1.3.2 and
//! §2.1.4.2 (the same algorithms as RFC 6962's, stated as loops).
//!
//! Every hash of every proof takes part in the result, and the final `sn == 0` test refuses paths that are
//! too long or too short: immudb's client once checked only the ends of a consistency proof
//! (GHSA-672p-m5jq-mrh8), letting a server rewrite the unchecked middle. Sizes are `u64` and hashes
//! `[u8; 32]`, so a length can only be wrong by count, which the algorithms catch.

use crate::error::{Error, Result};
use crate::hash::{EMPTY_ROOT, Hash, node_hash};

/// Checks that `leaf_hash` is leaf `index` of the tree of `size` leaves whose root is `root`.
pub fn verify_inclusion(index: u64, size: u64, leaf_hash: &Hash, path: &[Hash], root: &Hash) -> Result<()> {
    let reject = |reason| Error::InclusionRejected { index, size, reason };
    // 1. Compare leaf_index against tree_size. If leaf_index is greater than or equal to tree_size, fail.
    if index >= size {
        return Err(reject("the index is not inside the tree"));
    }
    // 2. Set fn to leaf_index and sn to tree_size - 1.
    let (mut f_n, mut s_n) = (index, size - 1);
    // 3. Set r to hash.
    let mut r = *leaf_hash;
    // 4. For each value p in the inclusion_path array:
    for p in path {
        // a. If sn is 0, then stop the iteration and fail the proof verification.
        if s_n == 0 {
            return Err(reject("the path is longer than the tree is high"));
        }
        // b. If LSB(fn) is set, or if fn is equal to sn, then:
        if f_n & 1 == 1 || f_n == s_n {
            // 1. Set r to HASH(0x01 || p || r).
            r = node_hash(p, &r);
            // 2. If LSB(fn) is not set, then right-shift both fn and sn equally until either LSB(fn) is
            //    set or fn is 0.
            if f_n & 1 == 0 {
                while f_n & 1 == 0 && f_n != 0 {
                    f_n >>= 1;
                    s_n >>= 1;
                }
            }
        } else {
            // Otherwise: set r to HASH(0x01 || r || p).
            r = node_hash(&r, p);
        }
        // c. Finally, right-shift both fn and sn one time.
        f_n >>= 1;
        s_n >>= 1;
    }
    // 5. Compare sn to 0. Compare r against the root_hash. If sn is equal to 0 and r and the root_hash are
    //    equal, then the log has proven the inclusion of hash. Otherwise, fail the proof verification.
    if s_n != 0 {
        return Err(reject("the path is shorter than the tree is high"));
    }
    if r != *root {
        return Err(reject("the path does not lead to the root"));
    }
    Ok(())
}

/// Checks that the tree of `old_size` leaves with root `old_root` is a prefix of the tree of `new_size`
/// leaves with root `new_root`.
///
/// RFC 9162's algorithm covers `0 < old_size < new_size`; the other cases are decided first and strictly:
/// equal sizes need an empty path and equal roots; an old size of 0 needs an empty path and the empty
/// tree's root; a smaller new size is never consistent.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    path: &[Hash],
) -> Result<()> {
    let reject = |reason| Error::ConsistencyRejected {
        old_size,
        new_size,
        reason,
    };
    if old_size > new_size {
        return Err(reject("the new tree is smaller than the old one"));
    }
    if old_size == new_size {
        if !path.is_empty() {
            return Err(reject("trees of one size need an empty proof"));
        }
        if old_root != new_root {
            return Err(reject("two different roots for one tree size"));
        }
        return Ok(());
    }
    if old_size == 0 {
        if !path.is_empty() {
            return Err(reject("the empty tree needs an empty proof"));
        }
        if *old_root != EMPTY_ROOT {
            return Err(reject("the old root is not the empty tree's"));
        }
        return Ok(());
    }
    // 1. If consistency_path is an empty array, stop and fail the proof verification.
    if path.is_empty() {
        return Err(reject("the proof is empty"));
    }
    // 2. If first is an exact power of 2, then prepend first_hash to the consistency_path array.
    let prepended = old_size.is_power_of_two().then_some(old_root);
    let mut path = prepended.into_iter().chain(path);
    // 3. Set fn to first - 1 and sn to second - 1.
    let (mut f_n, mut s_n) = (old_size - 1, new_size - 1);
    // 4. If LSB(fn) is set, then right-shift both fn and sn equally until LSB(fn) is not set.
    while f_n & 1 == 1 {
        f_n >>= 1;
        s_n >>= 1;
    }
    // 5. Set both fr and sr to the first value in the consistency_path array.
    let first = path.next().expect("the path is not empty");
    let (mut f_r, mut s_r) = (*first, *first);
    // 6. For each subsequent value c in the consistency_path array:
    for c in path {
        // a. If sn is 0, then stop the iteration and fail the proof verification.
        if s_n == 0 {
            return Err(reject("the proof is longer than the trees need"));
        }
        // b. If LSB(fn) is set, or if fn is equal to sn, then:
        if f_n & 1 == 1 || f_n == s_n {
            // 1. Set fr to HASH(0x01 || c || fr).
            f_r = node_hash(c, &f_r);
            // 2. Set sr to HASH(0x01 || c || sr).
            s_r = node_hash(c, &s_r);
            // 3. If LSB(fn) is not set, then right-shift both fn and sn equally until either LSB(fn) is
            //    set or fn is 0.
            if f_n & 1 == 0 {
                while f_n & 1 == 0 && f_n != 0 {
                    f_n >>= 1;
                    s_n >>= 1;
                }
            }
        } else {
            // Otherwise: set sr to HASH(0x01 || sr || c).
            s_r = node_hash(&s_r, c);
        }
        // c. Finally, right-shift both fn and sn one time.
        f_n >>= 1;
        s_n >>= 1;
    }
    // 7. Verify that fr equals first_hash, sr equals second_hash, and sn is 0.
    if s_n != 0 {
        return Err(reject("the proof is shorter than the trees need"));
    }
    if f_r != *old_root {
        return Err(reject("the proof does not lead to the old root"));
    }
    if s_r != *new_root {
        return Err(reject("the proof does not lead to the new root"));
    }
    Ok(())
}
