//! Loopback HTTP/1.1 services for running the filters in a real Envoy: the echo upstream
//! (answers with the request it received), an authorization service for auth_check's remote
//! mode, a keep-alive client, and a server that takes any handler (tests script it).
//! Host-only: empty on wasm32.
#![cfg(not(target_arch = "wasm32"))]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod client;
pub mod handlers;
pub mod http;
pub mod server;

pub use client::Client;
pub use http::{Request, Response};
pub use server::{Handler, Server};
