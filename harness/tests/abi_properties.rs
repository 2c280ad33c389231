//! Properties (Envoy attributes) and foreign functions through the ABI probe.

mod abi_support;

use abi_support::{after, calls, probe, start, GET};
use harness::{Request, Response};
use serde_json::json;

fn get(path: &[&str]) -> serde_json::Value {
    json!({"call": "proxy_get_property", "path": path})
}

#[test]
fn plugin_and_node_properties() {
    let p = probe(json!({"on": {"configure": [
        {"call": "proxy_get_property", "path": ["plugin_name"]},
        get(&["plugin_root_id"]),
        get(&["plugin_vm_id"]),
        get(&["xds", "node", "id"]),
        get(&["xds", "node", "metadata", "NAME"]),
        get(&["xds", "listener_direction"]),
        get(&["no", "such", "property"])
    ]}}))
    .plugin_name("probe")
    .root_id("probe_root")
    .vm_id("probe_vm")
    .node_id("sidecar~10.0.0.1~app-1.default~default.svc.cluster.local")
    .node_metadata(json!({"NAME": "app-1"}))
    .property(&["xds", "listener_direction"], 1i64.to_le_bytes())
    .start()
    .unwrap();
    assert_eq!(
        calls(&p),
        [
            "call proxy_get_property -> status 0 value \"probe\"",
            "call proxy_get_property -> status 0 value \"probe_root\"",
            "call proxy_get_property -> status 0 value \"probe_vm\"",
            "call proxy_get_property -> status 0 value \"sidecar~10.0.0.1~app-1.default~default.svc.cluster.local\"",
            "call proxy_get_property -> status 0 value \"app-1\"",
            // int64 little-endian, 1 = inbound.
            "call proxy_get_property -> status 0 value \"\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\"",
            "call proxy_get_property -> status 1",
        ]
    );
}

#[test]
fn legacy_hosts_have_node_but_no_xds() {
    let program = json!({"on": {"configure": [get(&["node", "id"]), get(&["xds", "node", "id"])]}});
    let legacy = probe(program.clone())
        .node_id("n1")
        .legacy_properties_only(true)
        .start()
        .unwrap();
    assert_eq!(
        calls(&legacy),
        [
            "call proxy_get_property -> status 0 value \"n1\"",
            "call proxy_get_property -> status 1"
        ]
    );
    // By default the harness is Envoy 1.40, which answers only the xds.* form.
    let current = probe(program).node_id("n1").start().unwrap();
    assert_eq!(
        calls(&current),
        [
            "call proxy_get_property -> status 1",
            "call proxy_get_property -> status 0 value \"n1\""
        ]
    );
}

#[test]
fn request_and_response_properties_follow_the_stream() {
    let mut p = start(json!({"on": {
        "request_headers": [
            {"call": "proxy_get_property", "path": ["request", "path"]},
            get(&["request", "method"]),
            get(&["request", "headers", "x-foo"]),
            get(&["response", "code"])
        ],
        "log": [get(&["response", "code"])]
    }}));
    p.send(
        Request::get("/p?q=1")
            .header("x-foo", "a")
            .header("x-foo", "b"),
        Response::status(200),
    )
    .unwrap();
    assert_eq!(
        calls(&p),
        [
            "call proxy_get_property -> status 0 value \"/p?q=1\"",
            "call proxy_get_property -> status 0 value \"GET\"",
            // Repeated headers read as one comma-joined value, as in Envoy.
            "call proxy_get_property -> status 0 value \"a,b\"",
            "call proxy_get_property -> status 1",
            "call proxy_get_property -> status 0 value \"\\xc8\\x00\\x00\\x00\\x00\\x00\\x00\\x00\"",
        ]
    );
}

#[test]
fn set_property_writes_filter_state_readable_back() {
    let mut p = start(json!({"on": {
        "configure": [{"call": "proxy_set_property", "path": ["from_root"], "value": "x"}],
        "request_headers": [
            {"call": "proxy_set_property", "path": ["my_key"], "value": "v"},
            get(&["my_key"]),
            get(&["filter_state", "wasm.my_key"]),
            get(&["wasm", "my_key"])
        ]
    }}));
    let mut s = p.http_stream();
    s.request_headers(&GET, true).unwrap();
    let state = s.filter_state("wasm.my_key");
    drop(s);
    assert_eq!(state, Some(b"v".to_vec()));
    assert_eq!(
        calls(&p),
        [
            // No stream info in the root context during configure: Envoy answers NOT_FOUND.
            "call proxy_set_property -> status 1",
            "call proxy_set_property -> status 0",
            "call proxy_get_property -> status 0 value \"v\"",
            "call proxy_get_property -> status 0 value \"v\"",
            "call proxy_get_property -> status 1",
        ]
    );
}

#[test]
fn foreign_functions_registered_by_the_test_are_callable() {
    let p = probe(json!({"on": {"configure": [
        {"call": "proxy_call_foreign_function", "name": "reverse", "args": "abc"},
        {"call": "proxy_call_foreign_function", "name": "refuse", "args": ""},
        {"call": "proxy_call_foreign_function", "name": "nope", "args": "x"}
    ]}}))
    .foreign_function("reverse", |args| Ok(args.iter().rev().copied().collect()))
    .foreign_function("refuse", |_| Err(2))
    .start()
    .unwrap();
    assert_eq!(
        calls(&p),
        [
            "call proxy_call_foreign_function -> status 0 result \"cba\"",
            "call proxy_call_foreign_function -> status 2",
            "call proxy_call_foreign_function -> status 1",
        ]
    );
}

#[test]
fn a_foreign_callback_delivers_its_arguments_in_the_call_data_buffer() {
    let mut p = start(json!({"on": {"foreign_function": [
        {"call": "proxy_get_buffer_bytes", "buffer": 8},
        {"call": "proxy_get_buffer_status", "buffer": 8}
    ]}}));
    p.on_foreign_function(7, "args").unwrap();
    assert_eq!(
        after(
            &p,
            "callback proxy_on_foreign_function ctx=1 function=7 size=4"
        ),
        [
            "call proxy_get_buffer_bytes -> status 0 bytes \"args\"",
            "call proxy_get_buffer_status -> status 0 size 4 flags 0"
        ]
    );
}
