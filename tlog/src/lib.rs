//! Proof an outsider can check (issue #18, `docs/adr/0010-outsider-proof.md`): the pure foundation.
//!
//! * [`hash`]: RFC 6962 leaf and node hashing, and Journey's leaf entry (`stream_hash ‖ log_hash`).
//! * [`tree`]: the stored levels and tiles, the [`tree::TreeBuilder`] that grows them, and roots,
//!   inclusion and consistency proofs made from stored hashes through a [`tree::HashReader`].
//! * [`verify`]: RFC 9162 proof verification, transcribed literally.
//! * [`note`], [`checkpoint`], [`cosignature`]: C2SP signed notes, checkpoints and witness cosignatures,
//!   with Ed25519 keys in the text forms Go's tooling uses.
//! * [`witness_protocol`]: c2sp.org/tlog-witness `add-checkpoint` requests, responses and checks.
//! * [`tiles`]: c2sp.org/tlog-tiles paths and entry bundles.
//! * [`proof_bundle`]: c2sp.org/tlog-proof per-record proofs.
//! * [`policy`]: c2sp.org/tlog-policy trust policies and checkpoint verification under them.
//!
//! No I/O and no async: the stores implement [`tree::HashReader`] over their files or tables, and the
//! server, the witness and `verify-export` do the reading, the clocks and the randomness.

pub mod checkpoint;
pub mod cosignature;
pub mod error;
pub mod hash;
pub mod note;
pub mod policy;
pub mod proof_bundle;
pub mod tiles;
pub mod tree;
pub mod verify;
mod wire;
pub mod witness_protocol;

pub use checkpoint::{Checkpoint, Origin, SignedCheckpoint};
pub use cosignature::Cosigner;
pub use error::{Error, Result};
pub use hash::{EMPTY_ROOT, Hash, LeafEntry, leaf_hash, node_hash};
pub use note::{KeyId, KeyName, KeyType, Note, NoteSignature, NoteSigner, VerifierKey};
pub use policy::{Policy, VerifiedCheckpoint, verify_checkpoint_with_policy};
pub use proof_bundle::RecordProof;
pub use tiles::TilePath;
pub use tree::{HashReader, LevelAppend, MemoryHashes, TreeBuilder};
pub use verify::{verify_consistency, verify_inclusion};
