//! Harness tests: the built auth_check module in the emulated Envoy host.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod api_key;
mod attacks;
mod basic;
mod config_errors;
mod no_trap;
mod remote;
mod secrets;
mod support;
