//! The store contract (`journey_core::testkit::store_contract`), the same cases the in-memory and embedded stores
//! pass, against PostgreSQL: one fresh schema per test.

use journey_core::contract_suite;

use crate::harness::Pg;

contract_suite!(postgres, Pg::new);

// The same cases with each child's content sealed under its own key (issue #19), as `embedded_sealed`.
contract_suite!(postgres_sealed, Pg::sealed);
