//! What every filter in this workspace needs on top of the proxy-wasm SDK.
//!
//! Filters are written in the SDK's own model (`proxy_wasm::main!`, a `RootContext`, an
//! `HttpContext`); this crate adds typed configuration, header and property helpers, JSON
//! local replies and metric handles. It also wraps the few host calls for which the SDK
//! `panic!`s on an answer Envoy really gives ([`hostcalls`]): a panic is a wasm trap, and a
//! trapped VM fails every later request on it.

pub mod base64;
pub mod config;
pub mod headers;
pub mod hostcalls;
pub mod logging;
pub mod metrics;
pub mod properties;
pub mod reply;
