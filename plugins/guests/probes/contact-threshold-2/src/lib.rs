//! A probe for dry runs, version 2.0.0 of the `contact-threshold` policy: level 3 from the third contact
//! (see `contact-threshold-1`, whose rule it shares).

#[macro_use]
#[path = "../../contact-threshold-1/src/rules.rs"]
mod rules;

use journey_policy_sdk::*;

contact_threshold!("2.0.0", 3);
