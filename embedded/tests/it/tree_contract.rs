//! The tree-store contract (`journey_core::testkit::tree_contract`) for the embedded store: the same cases
//! as the PostgreSQL store, on level files beside the log.

use std::fs;
use std::sync::Arc;

use journey_core::testkit::tree_contract::{DynLogWithTree, TreeHarness};
use journey_core::tree_contract_suite;
use journey_embedded::{EmbeddedStore, tree_dir};

pub struct EmbeddedTree(tempfile::TempDir);

impl EmbeddedTree {
    pub fn new() -> Option<EmbeddedTree> {
        Some(EmbeddedTree(tempfile::tempdir().unwrap()))
    }
}

impl TreeHarness for EmbeddedTree {
    fn open(&self) -> DynLogWithTree {
        Arc::new(EmbeddedStore::open(self.0.path(), journey_core::testkit::clock()).unwrap())
    }

    /// One process at a time opens a data directory: the second handle is the first.
    fn another(&self, first: &DynLogWithTree) -> DynLogWithTree {
        first.clone()
    }

    fn lose_tree(&self) {
        fs::remove_dir_all(tree_dir(self.0.path())).unwrap();
    }

    fn tamper_with_leaf(&self, index: u64) {
        let path = tree_dir(self.0.path()).join("level-0.hashes");
        let mut bytes = fs::read(&path).unwrap();
        bytes[index as usize * 32] ^= 1;
        fs::write(&path, &bytes).unwrap();
    }
}

tree_contract_suite!(embedded, EmbeddedTree::new);
