//! A wasmtime emulator of Envoy's proxy-wasm host (ABI v0.2.1 / v0.2.0) for testing filters
//! without Envoy: all 39 host functions and Envoy's WASI subset with Envoy's semantics, a Rust
//! test API (`Plugin`, `HttpStream`, `TcpStream`) and scenario files run by the `harness` CLI.
//! See harness/README.md.
#![cfg(not(target_arch = "wasm32"))]

pub mod abi;
mod error;
mod header_map;
mod host;
mod memory;
pub mod module;
mod pairs;
mod plugin;
mod props;
mod proto;
pub mod scenario;
mod state;
mod stream;
mod tcp;
mod types;
pub mod workspace;

pub use error::{Error, Result};
pub use host::{provided_imports, ABI_FUNCTIONS};
pub use module::{AbiVersion, ModuleInfo};
pub use plugin::{Host, Plugin, PluginBuilder};
pub use state::Counters;
pub use stream::HttpStream;
pub use tcp::{Peer, TcpStream};
pub use types::{
    Action, Exchange, GrpcCall, Headers, HttpCall, Level, LocalReply, LogEntry, Message,
    MetricKind, Request, Response,
};
