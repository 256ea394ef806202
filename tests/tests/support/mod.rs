//! What the black-box tests of proof an outsider can check share. Each test binary uses a part of it, so
//! what one leaves unused is not dead.
#![allow(dead_code)]

pub mod served_log;
pub mod witness;
