//! A probe for dry runs, version 1.0.0 of the `contact-threshold` policy: level 3 from the second contact.
//! Version 2.0.0 (`contact-threshold-2`) raises the threshold to three contacts, so that a dry run of one
//! against the other has children whose answers differ and children whose answers do not.

#[macro_use]
mod rules;

use journey_policy_sdk::*;

contact_threshold!("1.0.0", 2);
