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

/// The same cases with each child's content sealed under its own key (issue #19).
pub struct EmbeddedSealed(DynStore, #[allow(dead_code)] tempfile::TempDir);
impl EmbeddedSealed {
    pub fn new(clock: Arc<ManualClock>) -> Option<EmbeddedSealed> {
        let dir = tempfile::tempdir().unwrap();
        let options = journey_embedded::EmbeddedOptions {
            kek: Some(Arc::new(journey_core::content_keys::LocalKek::from_bytes(
                [5; 32],
            ))),
            ..Default::default()
        };
        let store = journey_embedded::EmbeddedStore::open_with(dir.path(), clock, options).unwrap();
        Some(EmbeddedSealed(Arc::new(store), dir))
    }
}
impl Harness for EmbeddedSealed {
    fn store(&self) -> DynStore {
        self.0.clone()
    }
}

contract_suite!(embedded_sealed, EmbeddedSealed::new);
