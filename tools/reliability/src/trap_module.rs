//! `trap_module.wat`: a tiny proxy-wasm module for failure-mode tests. It traps in
//! `on_request_headers` when the request has an `x-trap` header, and rejects the plugin
//! configuration `reject` with [`REJECT_MESSAGE`]; otherwise it lets everything through.

/// The module's text.
pub const WAT: &str = include_str!("trap_module.wat");

/// What `on_configure` logs (at error) before it returns false for the configuration `reject`.
pub const REJECT_MESSAGE: &str =
    "invalid configuration: trap_module refuses the configuration `reject`";

/// The header that makes the module trap.
pub const TRAP_HEADER: &str = "x-trap";
