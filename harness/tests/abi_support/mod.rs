//! Shared by the `abi_*` tests: starting the ABI probe (harness/probes/abi_probe) with a program,
//! and reading back the lines it logs. The probe's line format is in harness/probes/README.md.
#![allow(dead_code)]

use harness::{Level, Plugin, PluginBuilder};
use serde_json::Value;

/// A probe plugin whose plugin configuration is `program` (`{"on": {callback: [commands]}}`).
pub fn probe(program: Value) -> PluginBuilder {
    Plugin::builder("abi-probe").config_json(program)
}

/// Starts the probe; panics with the probe's log when the start fails.
pub fn start(program: Value) -> Plugin {
    match probe(program).start() {
        Ok(plugin) => plugin,
        Err(e) => panic!("probe did not start: {e:?}"),
    }
}

/// Every info line the probe logged, in order.
pub fn lines(plugin: &Plugin) -> Vec<String> {
    plugin
        .logs_at(Level::Info)
        .into_iter()
        .map(str::to_string)
        .collect()
}

/// The `call ...` report lines, in order.
pub fn calls(plugin: &Plugin) -> Vec<String> {
    lines(plugin)
        .into_iter()
        .filter(|l| l.starts_with("call "))
        .collect()
}

/// The `callback ...` lines, in order.
pub fn callbacks(plugin: &Plugin) -> Vec<String> {
    lines(plugin)
        .into_iter()
        .filter(|l| l.starts_with("callback "))
        .collect()
}

/// The info lines logged after the first line equal to `marker` (exclusive).
pub fn after(plugin: &Plugin, marker: &str) -> Vec<String> {
    let all = lines(plugin);
    match all.iter().position(|l| l == marker) {
        Some(i) => all[i + 1..].to_vec(),
        None => panic!("no line {marker:?} in {all:#?}"),
    }
}

/// The WAT probes next to the crate, compiled to wasm.
pub fn wat_probe(file: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("probes")
        .join(file);
    match wat::parse_file(&path) {
        Ok(bytes) => bytes,
        Err(e) => panic!("{}: {e}", path.display()),
    }
}

/// Request headers as the tests send them.
pub const GET: [(&str, &str); 4] = [
    (":method", "GET"),
    (":path", "/probe"),
    (":authority", "example.com"),
    (":scheme", "http"),
];

/// Size of serialized pairs: a count, two lengths per pair, NUL-terminated names and values.
pub fn wire_size(pairs: &[(&str, &str)]) -> usize {
    4 + pairs
        .iter()
        .map(|(k, v)| 8 + k.len() + v.len() + 2)
        .sum::<usize>()
}
