//! The fuzz case runner: N deterministic cases, each with its own seed derived from the run's
//! seed and its index, so a failure names the one case to replay.
//!
//! - `RELIABILITY_CASES`: cases per test (default: the test's own default, ≥ 10,000 for the
//!   fuzz tests); `scripts/fuzz.sh --long` sets 1,000,000.
//! - `RELIABILITY_SEED`: the run seed (default fixed, so CI runs are reproducible); decimal or
//!   `0x` hex.
//! - `RELIABILITY_CASE`: run only this case index (with the seed printed by a failure).
//! - `RELIABILITY_CONFIG_CASES`: cases of the random-configuration tests (each starts a VM;
//!   default 2,500 per filter).

use crate::rng::{mix, Rng};
use std::time::Instant;

pub const DEFAULT_SEED: u64 = 0x5eed_0010_2026_1122;

/// How many cases, from `RELIABILITY_CASES` or `default`.
pub fn count(default: u64) -> u64 {
    env_u64("RELIABILITY_CASES").unwrap_or(default)
}

pub fn seed() -> u64 {
    env_u64("RELIABILITY_SEED").unwrap_or(DEFAULT_SEED)
}

fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    let v = v.trim().replace('_', "");
    let parsed = match v.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => v.parse(),
    };
    match parsed {
        Ok(n) => Some(n),
        Err(_) => panic!("{name}={v:?} is not a number"),
    }
}

/// The seed of case `index` of a run.
pub fn case_seed(run_seed: u64, index: u64) -> u64 {
    mix(run_seed ^ mix(index.wrapping_add(1)))
}

/// What a finished run did (printed by the tests, collected by scripts/fuzz.sh).
#[derive(Debug, Clone, Copy)]
pub struct Summary {
    pub cases: u64,
    pub seconds: f64,
}

/// Runs `cases` cases of `name` (`RELIABILITY_CASE` restricts to one). `case` gets a fresh RNG
/// and the index; an `Err` stops the run with a message naming the seed and how to replay it.
pub fn run(
    name: &str,
    default_cases: u64,
    case: impl FnMut(&mut Rng, u64) -> Result<(), String>,
) -> Summary {
    run_n(name, count(default_cases), case)
}

/// [`run`] with an exact number of cases (not overridden by `RELIABILITY_CASES`).
pub fn run_n(
    name: &str,
    total: u64,
    mut case: impl FnMut(&mut Rng, u64) -> Result<(), String>,
) -> Summary {
    let run_seed = seed();
    let only = env_u64("RELIABILITY_CASE");
    let started = Instant::now();
    let mut done = 0;
    for index in 0..total {
        if only.is_some_and(|o| o != index) {
            continue;
        }
        let mut rng = Rng::new(case_seed(run_seed, index));
        if let Err(mut why) = case(&mut rng, index) {
            if why.len() > 4000 {
                let mut cut = 4000;
                while !why.is_char_boundary(cut) {
                    cut -= 1;
                }
                why.truncate(cut);
                why.push_str("...[cut]");
            }
            panic!(
                "{name}: case {index} failed: {why}\n  replay: RELIABILITY_SEED={run_seed:#x} \
                 RELIABILITY_CASE={index} RELIABILITY_CASES={total} cargo nextest run -p reliability {name}"
            );
        }
        done += 1;
    }
    let summary = Summary {
        cases: done,
        seconds: started.elapsed().as_secs_f64(),
    };
    // One greppable line per run: scripts/fuzz.sh collects them into LONG-RUN.md.
    println!(
        "FUZZ-RESULT {name} cases={} seed={run_seed:#x} seconds={:.1} traps=0 panics=0",
        summary.cases, summary.seconds
    );
    summary
}
