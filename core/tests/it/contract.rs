//! The store contract (`journey_core::store::contract`) for the stores in core. The PostgreSQL store runs
//! the same cases from `journey-postgres`'s tests.

use std::sync::Arc;

use journey_core::ManualClock;
use journey_core::contract_suite;
use journey_core::store::DynStore;
use journey_core::store::contract::Harness;

pub struct Memory(DynStore);
impl Memory {
    pub fn new(clock: Arc<ManualClock>) -> Option<Memory> {
        Some(Memory(Arc::new(journey_core::store::InMemoryStore::new(clock))))
    }
}
impl Harness for Memory {
    fn store(&self) -> DynStore {
        self.0.clone()
    }
}

pub struct Embedded(DynStore, #[allow(dead_code)] tempfile::TempDir);
impl Embedded {
    pub fn new(clock: Arc<ManualClock>) -> Option<Embedded> {
        let dir = tempfile::tempdir().unwrap();
        let store = journey_core::store::EmbeddedStore::open(dir.path(), clock).unwrap();
        Some(Embedded(Arc::new(store), dir))
    }
}
impl Harness for Embedded {
    fn store(&self) -> DynStore {
        self.0.clone()
    }
}

contract_suite!(in_memory, Memory::new);
contract_suite!(embedded, Embedded::new);
