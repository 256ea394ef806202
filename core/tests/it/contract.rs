//! The store contract (`journey_core::testkit::store_contract`) for the in-memory store. The embedded and
//! PostgreSQL stores run the same cases from their own crates' tests.

use std::sync::Arc;

use journey_core::ManualClock;
use journey_core::contract_suite;
use journey_core::store::DynStore;
use journey_core::testkit::store_contract::Harness;

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

contract_suite!(in_memory, Memory::new);
