//! The guest components built in-tree (`plugins/guests/`, by `build.rs`, for `wasm32-wasip2`): one constant
//! per artifact holding the path of its `.wasm` file, and [`foreach_guest!`](crate::foreach_guest), which
//! names every guest so that a test can insist each one is tested.

include!(concat!(env!("OUT_DIR"), "/guests.rs"));

/// A reference policy as built in-tree: see [`REFERENCE_POLICIES`] and `journey_plugins::reference`.
#[derive(Debug)]
pub struct ReferencePolicy {
    /// Where it comes from, under `plugins/`: its crate in the guest workspace (`guests/policies/levels-of-need`,
    /// built from source), or an earlier version frozen as shipped (`reference/levels-of-need-1.0.1`).
    pub dir: &'static str,
    pub component: &'static [u8],
    /// `parameters.json`: the default parameters.
    pub parameters: &'static str,
    /// `examples/*.json`: `(file name, contents)`, in file-name order.
    pub examples: &'static [(&'static str, &'static str)],
}

/// The bytes of a guest component.
///
/// # Panics
/// If the file built by `build.rs` is gone (a `cargo clean` racing a test).
pub fn bytes(path: &str) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("guest component {path}: {e}"))
}
