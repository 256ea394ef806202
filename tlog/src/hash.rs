//! RFC 6962 §2.1 (RFC 9162 §2.1.1) Merkle hashing, and what one leaf of Journey's tree commits to.
//!
//! Leaves and interior nodes are hashed with different one-byte prefixes (`0x00`, `0x01`): without them an
//! interior node's 64 input bytes could be presented as a leaf (a second preimage), which is why a
//! Merkle crate that hashes both alike cannot be used.
//!
//! # What a leaf commits to
//! Leaf `i` of Journey's tree is the record at log position `i + 1`; its entry is the 64 bytes
//! `stream_hash ‖ log_hash` of that stored record (`journey_core::chain`, ADR 3):
//! * `stream_hash = SHA-256("journey/stream/v1\0" ‖ previous stream_hash of the child ‖ stored body)` binds
//!   the record's exact stored bytes and the child's whole history before it;
//! * `log_hash = SHA-256("journey/log/v1\0" ‖ previous log_hash ‖ stream_hash)` binds the global order, so
//!   the last leaf of a checkpoint carries the chain head.
//!
//! The chain hashes cover the bytes as stored, which will be ciphertext once record bodies are encrypted,
//! and erasure never rewrites stored bytes: it destroys keys, or removes a body while its 64 hash bytes stay.
//! So a leaf never has to change, and no erasure can break an inclusion or consistency proof. The entry
//! holds hashes only, so tiles and entry bundles carry no personal data, and rebuilding the tree needs only
//! the first 64 bytes of each stored record.

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// A SHA-256 hash: a leaf hash, an interior node or a root.
pub type Hash = [u8; 32];

/// The root of the empty tree, `SHA-256("")` (RFC 6962 §2.1).
pub const EMPTY_ROOT: Hash = [
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24, 0x27,
    0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
];

/// `SHA-256(0x00 ‖ entry)`: the hash of one leaf.
pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(entry);
    h.finalize().into()
}

/// `SHA-256(0x01 ‖ left ‖ right)`: the hash of an interior node.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut input = [0u8; 65];
    input[0] = 0x01;
    input[1..33].copy_from_slice(left);
    input[33..].copy_from_slice(right);
    Sha256::digest(input).into()
}

/// The entry of one leaf of Journey's tree: the two chain hashes of one stored record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LeafEntry {
    pub stream_hash: Hash,
    pub log_hash: Hash,
}

impl LeafEntry {
    /// The length of an entry in bytes.
    pub const LEN: usize = 64;

    /// `stream_hash ‖ log_hash`.
    pub fn to_bytes(&self) -> [u8; 64] {
        let mut bytes = [0u8; 64];
        bytes[..32].copy_from_slice(&self.stream_hash);
        bytes[32..].copy_from_slice(&self.log_hash);
        bytes
    }

    /// Reads an entry, which is exactly 64 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<LeafEntry> {
        if bytes.len() != Self::LEN {
            return Err(Error::malformed(
                "entry",
                format!(
                    "a leaf entry is stream_hash ‖ log_hash, 64 bytes; this is {}",
                    bytes.len()
                ),
            ));
        }
        Ok(LeafEntry {
            stream_hash: bytes[..32].try_into().unwrap(),
            log_hash: bytes[32..].try_into().unwrap(),
        })
    }

    /// The leaf hash, `SHA-256(0x00 ‖ stream_hash ‖ log_hash)`.
    pub fn leaf_hash(&self) -> Hash {
        leaf_hash(&self.to_bytes())
    }
}

/// The leaf index of the record at a log position: positions count from 1, leaf indexes from 0.
pub fn leaf_index(position: u64) -> Result<u64> {
    position.checked_sub(1).ok_or_else(|| Error::OutOfRange {
        field: "position",
        rule: "log positions start at 1".to_owned(),
    })
}

/// The log position of the record at a leaf index.
pub fn position(leaf_index: u64) -> u64 {
    leaf_index + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_empty_root_is_the_hash_of_nothing() {
        assert_eq!(EMPTY_ROOT, <Hash>::from(Sha256::digest(b"")));
    }

    #[test]
    fn leaves_and_nodes_are_domain_separated() {
        let (a, b) = ([1u8; 32], [2u8; 32]);
        let mut concatenated = a.to_vec();
        concatenated.extend_from_slice(&b);
        // The same 64 bytes as a leaf entry and as a node's children hash differently.
        assert_ne!(leaf_hash(&concatenated), node_hash(&a, &b));
        assert_ne!(node_hash(&a, &b), node_hash(&b, &a));
        let mut prefixed = vec![0x01];
        prefixed.extend_from_slice(&concatenated);
        assert_eq!(node_hash(&a, &b), <Hash>::from(Sha256::digest(&prefixed)));
    }

    #[test]
    fn an_entry_is_the_two_chain_hashes_in_order() {
        let entry = LeafEntry {
            stream_hash: [1; 32],
            log_hash: [2; 32],
        };
        let bytes = entry.to_bytes();
        assert_eq!(&bytes[..32], &[1; 32]);
        assert_eq!(LeafEntry::from_bytes(&bytes).unwrap(), entry);
        assert_eq!(entry.leaf_hash(), leaf_hash(&bytes));
        assert!(LeafEntry::from_bytes(&bytes[..63]).is_err());
        assert!(LeafEntry::from_bytes(&[0; 65]).is_err());
    }

    #[test]
    fn positions_and_indexes_are_one_apart() {
        assert_eq!(leaf_index(1).unwrap(), 0);
        assert_eq!(position(0), 1);
        assert!(leaf_index(0).is_err());
    }
}
