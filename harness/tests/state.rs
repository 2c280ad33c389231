//! Shared data, queues across VMs, metrics, properties and filter state, TCP, foreign
//! functions, logging and WASI.
mod common;
use common::{assert_in_order, lines, probe};
use harness::{Action, Host, Level, MetricKind, Peer, Request, Response};
use serde_json::json;

#[test]
fn shared_data_has_cas_and_is_shared_by_the_vms_of_a_host() -> harness::Result<()> {
    let host = Host::new();
    let a = host
        .plugin("abi-probe")
        .config_json(json!({"on": {"configure": [
            {"call": "proxy_get_shared_data", "key": "k"},
            {"call": "proxy_set_shared_data", "key": "k", "value": "v1"},
            {"call": "proxy_set_shared_data", "key": "k", "value": "v2", "cas": 7},
            {"call": "proxy_set_shared_data", "key": "k", "value": "v2", "cas": 1},
            {"call": "proxy_get_shared_data", "key": "k"}]}}))
        .start()?;
    assert_in_order(
        &lines(&a),
        &[
            "call proxy_get_shared_data -> status 1",
            "call proxy_set_shared_data -> status 0",
            "call proxy_set_shared_data -> status 8",
            "call proxy_set_shared_data -> status 0",
            "call proxy_get_shared_data -> status 0 value \"v2\" cas 2",
        ],
    );
    let b = host
        .plugin("abi-probe")
        .config_json(json!({"on": {"configure": [{"call": "proxy_get_shared_data", "key": "k"}]}}))
        .start()?;
    assert_in_order(
        &lines(&b),
        &["call proxy_get_shared_data -> status 0 value \"v2\" cas 2"],
    );
    assert_eq!(host.shared_data("k"), Some((b"v2".to_vec(), 2)));
    // Another host shares nothing.
    let c = probe(json!({"on": {"configure": [{"call": "proxy_get_shared_data", "key": "k"}]}}))
        .start()?;
    assert_in_order(&lines(&c), &["call proxy_get_shared_data -> status 1"]);
    Ok(())
}

#[test]
fn queues_notify_the_registering_vm() -> harness::Result<()> {
    let host = Host::new();
    let mut owner = host
        .plugin("abi-probe")
        .vm_id("vm-a")
        .config_json(json!({"on": {
            "configure": [{"call": "proxy_register_shared_queue", "name": "q"},
                          {"call": "proxy_resolve_shared_queue", "vm_id": "", "name": "q"},
                          {"call": "proxy_dequeue_shared_queue", "queue": 1},
                          {"call": "proxy_dequeue_shared_queue", "queue": 9}],
            "queue_ready": [{"call": "proxy_dequeue_shared_queue", "queue": "$queue"}]}}))
        .start()?;
    assert_in_order(
        &lines(&owner),
        &[
            "call proxy_register_shared_queue -> status 0 queue 1",
            "call proxy_resolve_shared_queue -> status 0 queue 1",
            "call proxy_dequeue_shared_queue -> status 7",
            "call proxy_dequeue_shared_queue -> status 1",
        ],
    );
    let producer = host
        .plugin("abi-probe")
        .vm_id("vm-b")
        .config_json(json!({"on": {"configure": [
            {"call": "proxy_resolve_shared_queue", "vm_id": "vm-a", "name": "q", "save": "q"},
            {"call": "proxy_resolve_shared_queue", "vm_id": "vm-a", "name": "nope"},
            {"call": "proxy_enqueue_shared_queue", "queue": "$q", "value": "item"}]}}))
        .start()?;
    assert_in_order(
        &lines(&producer),
        &[
            "call proxy_resolve_shared_queue -> status 0 queue 1",
            "call proxy_resolve_shared_queue -> status 1",
            "call proxy_enqueue_shared_queue -> status 0",
        ],
    );
    // Delivered to the owner at its next operation.
    owner.clear_logs();
    owner.deliver_queue_ready()?;
    assert_eq!(
        lines(&owner),
        [
            "callback proxy_on_queue_ready ctx=1 queue=1",
            "call proxy_dequeue_shared_queue -> status 0 value \"item\""
        ]
    );
    host.enqueue("vm-a", "q", "from-test")?;
    owner.clear_logs();
    owner.send(Request::get("/"), Response::status(200))?;
    assert_in_order(
        &lines(&owner),
        &["call proxy_dequeue_shared_queue -> status 0 value \"from-test\""],
    );
    Ok(())
}

#[test]
fn metrics_by_kind() -> harness::Result<()> {
    let p = probe(json!({"on": {"configure": [
        {"call": "proxy_define_metric", "kind": 0, "name": "reqs", "save": "c"},
        {"call": "proxy_define_metric", "kind": 1, "name": "inflight", "save": "g"},
        {"call": "proxy_define_metric", "kind": 2, "name": "latency", "save": "h"},
        {"call": "proxy_increment_metric", "metric": "$c", "offset": 3},
        {"call": "proxy_increment_metric", "metric": "$c", "offset": -1},
        {"call": "proxy_record_metric", "metric": "$c", "value": 10},
        {"call": "proxy_increment_metric", "metric": "$g", "offset": -1},
        {"call": "proxy_record_metric", "metric": "$h", "value": 42},
        {"call": "proxy_get_metric", "metric": "$c"},
        {"call": "proxy_get_metric", "metric": "$g"},
        {"call": "proxy_get_metric", "metric": "$h"},
        {"call": "proxy_get_metric", "metric": 12345},
        {"call": "proxy_define_metric", "kind": 7, "name": "x"}]}}))
    .start()?;
    assert_in_order(
        &lines(&p),
        &[
            "call proxy_increment_metric -> status 0",
            "call proxy_increment_metric -> status 2",
            "call proxy_record_metric -> status 0",
            "call proxy_get_metric -> status 0 value 13",
            "call proxy_get_metric -> status 0 value 18446744073709551615",
            "call proxy_get_metric -> status 2",
            "call proxy_get_metric -> status 2",
            "call proxy_define_metric -> status 2",
        ],
    );
    assert_eq!(p.metric("reqs"), Some(13));
    assert_eq!(p.metric("inflight"), Some(-1));
    assert_eq!(p.histogram("latency"), Some(vec![42]));
    assert_eq!(
        p.metrics(),
        [
            ("reqs".into(), MetricKind::Counter, 13),
            ("inflight".into(), MetricKind::Gauge, -1),
            ("latency".into(), MetricKind::Histogram, 1)
        ]
    );
    Ok(())
}

#[test]
fn properties_default_set_test_values_and_filter_state() -> harness::Result<()> {
    let get = |path: serde_json::Value| json!({"call": "proxy_get_property", "path": path});
    let mut p = probe(json!({"on": {
        "configure": [get(json!("plugin_name")), get(json!(["xds", "node", "id"])),
                      get(json!(["xds", "node", "metadata", "NAME"])), get(json!(["node", "id"])),
                      get(json!(["xds", "listener_direction"])), get(json!(["xds", "cluster_name"])),
                      {"call": "proxy_set_property", "path": ["k"], "value": "root"}],
        "request_headers": [get(json!(["request", "path"])), get(json!(["request", "url_path"])),
                            get(json!(["request", "headers", "x-foo"])), get(json!(["response", "code"])),
                            {"call": "proxy_set_property", "path": ["my_key"], "value": "v"},
                            get(json!(["my_key"])), get(json!(["filter_state", "wasm.my_key"])), get(json!(["wasm.my_key"]))],
        "log": [get(json!(["response", "code"]))]}}))
    .plugin_name("my-plugin")
    .node_id("sidecar~10.0.0.1~app-1.default~default.svc.cluster.local")
    .node_metadata(json!({"NAME": "app-1", "LABELS": {"app": "app"}}))
    .property(&["xds", "listener_direction"], 2i64.to_le_bytes())
    .start()?;
    let mut s = p.http_stream();
    s.request_headers(
        &[
            (":method", "GET"),
            (":path", "/p?q=1"),
            (":authority", "h"),
            ("x-foo", "a"),
            ("x-foo", "b"),
        ],
        true,
    )?;
    s.response_headers(&[(":status", "200")], true)?;
    s.complete()?;
    assert_eq!(s.filter_state("wasm.my_key"), Some(b"v".to_vec()));
    drop(s);
    assert_in_order(
        &lines(&p),
        &[
            "call proxy_get_property -> status 0 value \"my-plugin\"",
            "call proxy_get_property -> status 0 value \"sidecar~10.0.0.1~app-1.default~default.svc.cluster.local\"",
            "call proxy_get_property -> status 0 value \"app-1\"",
            "call proxy_get_property -> status 1",
            "call proxy_get_property -> status 0 value \"\\x02\\x00\\x00\\x00\\x00\\x00\\x00\\x00\"",
            "call proxy_get_property -> status 1",
            "call proxy_set_property -> status 1",
            "call proxy_get_property -> status 0 value \"/p?q=1\"",
            "call proxy_get_property -> status 0 value \"/p\"",
            "call proxy_get_property -> status 0 value \"a,b\"",
            "call proxy_get_property -> status 1",
            "call proxy_set_property -> status 0",
            "call proxy_get_property -> status 0 value \"v\"",
            "call proxy_get_property -> status 0 value \"v\"",
            "call proxy_get_property -> status 1",
            "callback proxy_on_log ctx=2",
            "call proxy_get_property -> status 0 value \"\\xc8\\x00\\x00\\x00\\x00\\x00\\x00\\x00\"",
        ],
    );
    Ok(())
}

#[test]
fn legacy_hosts_have_node_but_no_xds() -> harness::Result<()> {
    let p = probe(json!({"on": {"configure": [
        {"call": "proxy_get_property", "path": ["node", "id"]},
        {"call": "proxy_get_property", "path": ["xds", "node", "id"]}]}}))
    .node_id("n1")
    .legacy_properties_only(true)
    .start()?;
    assert_in_order(
        &lines(&p),
        &[
            "call proxy_get_property -> status 0 value \"n1\"",
            "call proxy_get_property -> status 1",
        ],
    );
    Ok(())
}

#[test]
fn tcp_connections_pause_continue_and_close() -> harness::Result<()> {
    let mut p = probe(json!({"on": {
        "downstream_data": [{"when": {"n": 1}, "return": "pause"},
                            {"when": {"n": 2}, "call": "proxy_get_buffer_bytes", "buffer": 2}],
        "upstream_data": [{"call": "proxy_set_buffer_bytes", "buffer": 3, "start": 0, "size": 0, "data": ">"},
                          {"call": "proxy_close_stream", "stream": 3}]}}))
    .start()?;
    let mut t = p.tcp_stream();
    assert_eq!(t.new_connection()?, Action::Continue);
    assert_eq!(t.downstream_data(b"he", false)?, Action::Pause);
    assert!(t.is_paused());
    assert_eq!(t.upstream_received(), b"");
    assert_eq!(t.downstream_data(b"llo", false)?, Action::Continue);
    assert_eq!(t.upstream_received(), b"hello");
    t.upstream_data(b"hi", true)?;
    assert_eq!(t.downstream_received(), b">hi");
    assert_eq!(t.closed_by_filter(), vec![3]);
    t.downstream_close(Peer::Remote)?;
    t.upstream_close(Peer::Local)?;
    t.complete()?;
    drop(t);
    assert_in_order(
        &lines(&p),
        &[
            "callback proxy_on_new_connection ctx=2",
            "callback proxy_on_downstream_data ctx=2 size=2 eos=false",
            "callback proxy_on_downstream_data ctx=2 size=5 eos=false",
            "call proxy_get_buffer_bytes -> status 0 bytes \"hello\"",
            "callback proxy_on_upstream_data ctx=2 size=2 eos=true",
            "callback proxy_on_downstream_connection_close ctx=2 peer=2",
            "callback proxy_on_upstream_connection_close ctx=2 peer=1",
            "callback proxy_on_log ctx=2",
            "callback proxy_on_done ctx=2",
            "callback proxy_on_delete ctx=2",
        ],
    );
    Ok(())
}

#[test]
fn foreign_functions_both_ways() -> harness::Result<()> {
    let mut p = probe(json!({"on": {
        "configure": [{"call": "proxy_call_foreign_function", "name": "reverse", "args": "abc"},
                      {"call": "proxy_call_foreign_function", "name": "refuse", "args": ""},
                      {"call": "proxy_call_foreign_function", "name": "nope", "args": ""}],
        "foreign_function": [{"call": "proxy_get_buffer_bytes", "buffer": 8}]}}))
    .foreign_function("reverse", |a| Ok(a.iter().rev().copied().collect()))
    .foreign_function("refuse", |_| Err(2))
    .start()?;
    p.on_foreign_function(7, b"payload")?;
    assert_in_order(
        &lines(&p),
        &[
            "call proxy_call_foreign_function -> status 0 result \"cba\"",
            "call proxy_call_foreign_function -> status 2",
            "call proxy_call_foreign_function -> status 1",
            "callback proxy_on_foreign_function ctx=1 function=7 size=7",
            "call proxy_get_buffer_bytes -> status 0 bytes \"payload\"",
        ],
    );
    Ok(())
}

#[test]
fn log_levels_and_wasi() -> harness::Result<()> {
    let p = probe(json!({"on": {"configure": [
        {"call": "proxy_get_log_level"},
        {"call": "proxy_log", "level": 1, "message": "dropped debug"},
        {"call": "proxy_log", "level": 9, "message": "bad level"},
        {"call": "fd_write", "fd": 2, "data": ["err ", "line"]},
        {"call": "fd_write", "fd": 3, "data": "x"},
        {"call": "environ_sizes_get"},
        {"call": "environ_get"},
        {"call": "args_sizes_get"},
        {"call": "clock_time_get", "clock": 5},
        {"call": "proxy_done"},
        {"call": "proxy_set_effective_context", "context": 999}]}}))
    .log_level(Level::Info)
    .env("ENV_A", "1")
    .env("ENV_B", "two")
    .start()?;
    assert_in_order(
        &lines(&p),
        &[
            "call proxy_get_log_level -> status 0 level 2",
            "call proxy_log -> status 0",
            "call proxy_log -> status 2",
            "call fd_write -> errno 0 written 8",
            "call fd_write -> errno 8",
            "call environ_sizes_get -> errno 0 count 2 size 18",
            "call environ_get -> errno 0 count 2 \"ENV_A=1\" \"ENV_B=two\"",
            "call args_sizes_get -> errno 0 count 0 size 0",
            "call clock_time_get -> errno 58",
            "call proxy_done -> status 1",
            "call proxy_set_effective_context -> status 2",
        ],
    );
    assert!(!p.logs().iter().any(|l| l.message == "dropped debug"));
    assert_eq!(p.logs_at(Level::Error), ["err line"]);
    Ok(())
}
