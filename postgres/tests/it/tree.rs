//! The tree-store contract (`journey_core::testkit::tree_contract`) against PostgreSQL, the same cases as the
//! embedded store: the tree in tables, one fresh schema per test. Each `open` is another server on the
//! schema; the harness's own store stays open beside them, as an idle second server would.

use std::sync::Arc;

use journey_core::Clock;
use journey_core::testkit::tree_contract::{DynLogWithTree, TreeHarness};
use journey_core::tree_contract_suite;

use crate::harness::Pg;

pub struct PgTree(Pg);

impl PgTree {
    pub fn new() -> Option<PgTree> {
        Pg::new(journey_core::testkit::clock()).map(PgTree)
    }

    /// On a log that seals each child's content: the tree covers the stored ciphertext and needs no key.
    pub fn sealed() -> Option<PgTree> {
        Pg::sealed(journey_core::testkit::clock()).map(PgTree)
    }
}

impl TreeHarness for PgTree {
    fn open(&self) -> DynLogWithTree {
        let clock = journey_core::testkit::clock() as Arc<dyn Clock>;
        self.0.open_another(clock, self.0.options.clone())
    }

    fn another(&self, _first: &DynLogWithTree) -> DynLogWithTree {
        self.open()
    }

    fn lose_tree(&self) {
        // The store's own tree extender may hold these tables' locks while the DROP waits for them, and
        // PostgreSQL then breaks the deadlock by failing one side: when it fails the DROP, drop again.
        for attempt in 1.. {
            match self.0.sql("DROP TABLE journey_tree_tiles, journey_tree_state") {
                Ok(_) => return,
                Err(e)
                    if attempt < 10
                        && e.code() == Some(&tokio_postgres::error::SqlState::T_R_DEADLOCK_DETECTED) =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                Err(e) => panic!("dropping the tree's tables: {e}"),
            }
        }
    }

    fn tamper_with_leaf(&self, index: u64) {
        let (tile, offset) = (index / 256, (index % 256) * 32 + 1);
        let changed = self
            .0
            .sql(&format!(
                "UPDATE journey_tree_tiles SET hashes = overlay(hashes PLACING \
                 set_byte(substring(hashes FROM {offset} FOR 1), 0, \
                 get_byte(substring(hashes FROM {offset} FOR 1), 0) # 1) FROM {offset} FOR 1) \
                 WHERE level = 0 AND tile = {tile}"
            ))
            .unwrap();
        assert_eq!(changed, 1, "leaf {index} is stored");
    }
}

tree_contract_suite!(postgres, PgTree::new);

tree_contract_suite!(postgres_sealed, PgTree::sealed);
