//! Integration tests of `journey-postgres`, in one binary. They need a PostgreSQL server: set
//! `JOURNEY_TEST_POSTGRES` to its URL (`./scripts/postgres-setup` starts one and prints it). Without it every
//! test here says SKIPPED on stderr and passes; with `JOURNEY_REQUIRE_POSTGRES=1` (CI) it fails instead.

mod contract;
mod erasure;
mod harness;
mod journal;
mod store;
mod tree;
