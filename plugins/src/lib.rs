//! Sandboxed WebAssembly policy plugins (issue #3). Depends on `journey-core` only.
