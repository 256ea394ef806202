//! `journey-embedded`: Journey on one machine's disk, with no server to run. The children's log is a
//! segmented, checksummed, group-committed file log ([`log`]) that is the truth; the index over it is
//! derived, kept in memory and snapshotted ([`index`]); [`EmbeddedStore`] puts them together behind
//! `journey_core::store::EventStore`. The system journal ([`FileJournal`]) is another log of the same kind, and
//! [`FileBlobStore`] keeps content-addressed blobs as files.
//!
//! A peer of `journey-postgres`: both implement core's traits, judge and seal appends with core's one
//! judge (`journey_core::store::backend`, `journey_core::journal::seal_records`), and pass core's contract
//! suites. Neither has privileges over the other. See `docs/ARCHITECTURE.md`.

mod blobs;
mod checkpoints;
mod index;
mod journal;
mod keys;
pub mod log;
mod read_cache;
mod store;
mod tree;
mod verify;

pub use blobs::{BlobCheck, FileBlobStore};
pub use journal::FileJournal;
pub use keys::rotate_kek;
pub use store::{
    CommitStats, EmbeddedOptions, EmbeddedStore, IMPORT_MARKER, OpenReport, checkpoints_dir, index_dir,
    log_dir, tree_dir,
};
pub use verify::{
    CheckpointsPart, DataDirVerification, FromJournal, IndexPart, JournalPart, LogPart, TreePart,
    verify_data_dir,
};
