//! The store contract (`journey_core::testkit::store_contract`) for the embedded store: the same cases as the
//! in-memory and PostgreSQL stores.

use std::sync::Arc;

use journey_core::ManualClock;
use journey_core::contract_suite;
use journey_core::store::DynStore;
use journey_core::testkit::store_contract::Harness;

pub struct Embedded(DynStore, #[allow(dead_code)] tempfile::TempDir);
impl Embedded {
    pub fn new(clock: Arc<ManualClock>) -> Option<Embedded> {
        let dir = tempfile::tempdir().unwrap();
        let store = journey_embedded::EmbeddedStore::open(dir.path(), clock).unwrap();
        Some(Embedded(Arc::new(store), dir))
    }
}
impl Harness for Embedded {
    fn store(&self) -> DynStore {
        self.0.clone()
    }
}

contract_suite!(embedded, Embedded::new);
