//! The hash chains that make the log tamper-evident.
//!
//! Every record is linked twice:
//! * `stream_hash = SHA-256("journey/stream/v1" ‖ previous stream_hash of the same child ‖ body)`:
//!   one child's records can be exported and verified without any other child's data;
//! * `log_hash = SHA-256("journey/log/v1" ‖ previous log_hash ‖ stream_hash)`: the whole log is one
//!   chain, and an exported child's record can be placed in it given only neighbouring hashes.
//!
//! `body` is the exact stored bytes of the record, so any change to a stored record, however small,
//! breaks both chains from that record on. The genesis "previous hash" of both chains is all zeros.
//! A chain proves the log was not altered *after* a head hash was taken; anchoring heads outside the
//! system (a published or countersigned checkpoint) is what makes a rewrite of the entire tail evident.

use sha2::{Digest, Sha256};

pub const GENESIS: [u8; 32] = [0; 32];

pub fn stream_hash(previous: &[u8; 32], body: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"journey/stream/v1\0");
    h.update(previous);
    h.update(body);
    h.finalize().into()
}

pub fn log_hash(previous: &[u8; 32], stream_hash: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"journey/log/v1\0");
    h.update(previous);
    h.update(stream_hash);
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_change_to_the_body_or_the_previous_hash_changes_the_hash() {
        let a = stream_hash(&GENESIS, b"record");
        assert_ne!(a, stream_hash(&GENESIS, b"recorD"));
        assert_ne!(a, stream_hash(&[1; 32], b"record"));
        assert_ne!(log_hash(&GENESIS, &a), log_hash(&[1; 32], &a));
        // The two chains use different domain tags, so a stream hash can never pass for a log hash.
        assert_ne!(log_hash(&GENESIS, &a), stream_hash(&GENESIS, &a));
    }
}
