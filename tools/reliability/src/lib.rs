//! Reliability and security checks of the workspace's filters (issue 10), host-only.
//!
//! - [`rng`]: a small seeded RNG, so every fuzz case reproduces from its seed;
//! - [`cases`]: the case runner (`RELIABILITY_CASES`, `RELIABILITY_SEED`), which prints the seed
//!   of a failing case;
//! - [`hostile`]: hostile header maps, bodies, trailers and answers;
//! - [`drive`]: drives one stream through a plugin in a random event order and fails on any trap;
//! - [`secrets`]: the shared check that no secret reaches any captured log line.
//!
//! The tests live in `tests/`; see SECURITY.md at the repository root.
#![cfg(not(target_arch = "wasm32"))]

pub mod cases;
pub mod drive;
pub mod hostile;
pub mod rng;
pub mod secrets;
pub mod structpb;
pub mod trap_module;
