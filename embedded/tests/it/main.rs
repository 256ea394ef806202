//! Integration tests of `journey-embedded`, in one binary to keep link times down.

mod contract;
mod durability;
mod erasure;
mod journal;
mod store;
mod tree;
mod tree_contract;
