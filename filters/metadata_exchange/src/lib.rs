//! Istio-compatible peer metadata exchange over HTTP headers (`x-envoy-peer-metadata` and
//! `x-envoy-peer-metadata-id`): each side learns who is on the other end of a request and
//! records it in filter state (`wasm.downstream_peer`, `wasm.upstream_peer`, and their `_id`s).
//! See README.md for the protocol, configuration, metrics and filter state.

pub mod config;
pub mod filter;
pub mod header;
pub mod identity;
pub mod structpb;
pub mod wire;

#[cfg(test)]
mod golden_tests;

filter_common::export_filter!(filter::MetadataExchange);
