//! The REST API (issue #4). Depends on `journey-core` and `journey-plugins`.
