//! `PluginBuilder::count_calls`: what crosses the boundary between host and module per request
//! (the figures `scripts/bench.sh` reports), counted exactly on a hand-written module.

use harness::{Plugin, Request, Response};
use std::collections::BTreeMap;

fn by_name(m: &BTreeMap<String, u64>) -> Vec<(&str, u64)> {
    m.iter().map(|(k, v)| (k.as_str(), *v)).collect()
}

/// Reads request header `x-a` (one host call, one allocation for its value) and logs "hello"
/// (one host call) in `proxy_on_request_headers`; no other stream callback.
const MODULE: &str = r#"(module
  (import "env" "proxy_get_header_map_value" (func $get (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (data (i32.const 256) "x-a")
  (data (i32.const 272) "hello")
  (global $heap (mut i32) (i32.const 65536))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param $size i32) (result i32)
    (global.set $heap (i32.add (global.get $heap) (local.get $size)))
    (i32.sub (global.get $heap) (local.get $size)))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (drop (call $get (i32.const 0) (i32.const 256) (i32.const 3) (i32.const 512) (i32.const 516)))
    (drop (call $log (i32.const 2) (i32.const 272) (i32.const 5)))
    (i32.const 0)))"#;

fn plugin(count: bool) -> Plugin {
    Plugin::builder_from_bytes(wat::parse_str(MODULE).unwrap())
        .count_calls(count)
        .start()
        .unwrap()
}

#[test]
fn a_request_counts_its_vm_entries_host_calls_bytes_and_allocations() {
    let mut p = plugin(true);
    p.take_counters(); // the root context's start
    p.send(
        Request::new("GET", "/").header("x-a", "value"),
        Response::status(200),
    )
    .unwrap();
    let c = p.take_counters().unwrap();
    assert_eq!(
        by_name(&c.vm_entries),
        [
            ("proxy_on_context_create", 1),
            ("proxy_on_memory_allocate", 1),
            ("proxy_on_request_headers", 1)
        ]
    );
    assert_eq!(
        by_name(&c.host_calls),
        [("proxy_get_header_map_value", 1), ("proxy_log", 1)]
    );
    // "x-a" and "hello" read from the module, "value" copied into it.
    assert_eq!(c.host_call_bytes, 3 + 5 + 5);
    assert_eq!(c.allocations, 1);
    assert_eq!((c.total_vm_entries(), c.total_host_calls()), (3, 2));
    // Fuel is about one unit per instruction: the 18 of proxy_on_request_headers and of the
    // allocator its host call entered, plus wasmtime's per-function charges; exact, so the
    // same request always costs the same.
    assert_eq!(c.wasm_fuel, 21);
    // Taking the counters starts anew.
    assert_eq!(p.take_counters().unwrap(), Default::default());
}

#[test]
fn a_plugin_counts_nothing_unless_asked() {
    let mut p = plugin(false);
    p.send(
        Request::new("GET", "/").header("x-a", "value"),
        Response::status(200),
    )
    .unwrap();
    assert_eq!(p.take_counters(), None);
    assert_eq!(p.logs_at(harness::Level::Info), ["hello"]);
}
