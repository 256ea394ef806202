//! What the black-box tests of proof an outsider can check share.

pub mod served_log;
