//! Shared helpers: the programmable probe module (harness/probes/abi_probe) and its log lines.
#![allow(dead_code)]

use harness::{Level, Plugin, PluginBuilder};
use serde_json::Value;

/// The probe with a program: `{"on": {"<callback>": [commands...]}}` (harness/probes/README.md).
pub fn probe(program: Value) -> PluginBuilder {
    Plugin::builder("abi-probe").config_json(program)
}

/// Info lines the probe logged (callbacks and host call reports), in order.
pub fn lines(p: &Plugin) -> Vec<String> {
    p.logs_at(Level::Info)
        .into_iter()
        .map(str::to_string)
        .collect()
}

/// Lines logged since `from`.
pub fn since(p: &Plugin, from: usize) -> Vec<String> {
    p.logs()
        .iter()
        .skip(from)
        .filter(|l| l.level == Level::Info)
        .map(|l| l.message.clone())
        .collect()
}

/// Asserts `want` appear in `got` in this order (other lines may sit between them).
pub fn assert_in_order(got: &[String], want: &[&str]) {
    let mut it = got.iter();
    for w in want {
        assert!(
            it.any(|g| g == w),
            "missing (in order) {w:?}\nlog:\n{}",
            got.join("\n")
        );
    }
}
