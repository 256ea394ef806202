//! The API's integration tests: one binary, driven through `journey_api::router` with
//! `tower::ServiceExt::oneshot` (no sockets), on the in-memory store and journal.

mod common;

mod access_log;
mod append;
mod dates;
mod destructions;
mod feed;
mod keys;
mod login;
mod measures;
mod merges;
mod openapi;
mod policies;
mod problems;
mod proof;
mod readiness;
mod reads;
mod records;
mod returns;
mod review_decisions;
mod reviews;
mod roles;
mod routes;
mod sealed;
mod server;
mod subject_access;
mod unknown_child;
