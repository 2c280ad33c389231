//! ABI probe: a proxy-wasm module for testing hosts (our harness, and Envoy itself).
//!
//! It imports all 39 ABI v0.2.1 host functions and the WASI subset Envoy provides, exports all
//! 25 callbacks, and does what its plugin configuration says: a JSON program naming, per
//! callback, the host calls to make with exact arguments (see `program`). Every callback and
//! every host call is reported as one `proxy_log` line at info level, so a test asserts exact
//! host behaviour (status codes, returned bytes) by comparing lines. Format: harness/probes/README.md.

mod callbacks;
mod calls;
mod ffi;
mod out;
mod program;
