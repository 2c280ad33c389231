//! Every built-in field, `fields` (choice and order), `include_query`, and exactly one line per
//! request at `on_log`.
// Test helpers outside #[test] functions panic on purpose: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use harness::{Level, Plugin, Request, Response};
use serde_json::{json, Value};
use std::time::Duration;

#[test]
fn default_line_has_every_field_with_the_hosts_values() {
    let mut plugin = Plugin::builder("request_logging")
        .plugin_name("edge-logger")
        .property(&["xds", "cluster_name"], "backend")
        .property(&["upstream", "address"], "10.1.2.3:8080")
        .property(&["source", "address"], "192.168.0.9:40000")
        .start()
        .unwrap();
    let start = plugin.now_nanos();
    let line = log_one(
        &mut plugin,
        Request::post("/search?q=rust")
            .authority("shop.example")
            .header("x-request-id", "req-1")
            .header("user-agent", "curl/8.5")
            .body("abc"),
        Response::status(201).body("hello"),
    );
    let expected = json!({
        "start_time": rfc3339(start),
        "method": "POST",
        "authority": "shop.example",
        "path": "/search?q=rust",
        "protocol": "HTTP/1.1",
        "status": 201,
        "response_flags": "-",
        "response_code_details": "via_upstream",
        "request_bytes": 3,
        "response_bytes": 5,
        "duration_ms": 0,
        "upstream_cluster": "backend",
        "upstream_host": "10.1.2.3:8080",
        "request_id": "req-1",
        "downstream_address": "192.168.0.9:40000",
        "user_agent": "curl/8.5",
        "plugin": "edge-logger",
    });
    assert_eq!(Value::Object(line.clone()), expected);
    // Keys come in the documented default order (serde_json's Map sorts them: check the text).
    let raw = plugin.logs_at(Level::Info)[0].to_string();
    let order = [
        "start_time",
        "method",
        "authority",
        "path",
        "protocol",
        "status",
        "response_flags",
        "response_code_details",
        "request_bytes",
        "response_bytes",
        "duration_ms",
        "upstream_cluster",
        "upstream_host",
        "request_id",
        "downstream_address",
        "user_agent",
        "plugin",
    ];
    let positions: Vec<usize> = order
        .iter()
        .map(|k| raw.find(&format!("\"{k}\":")).unwrap())
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{raw}");
    assert_eq!(metric(&plugin, "logged"), 1);
}

#[test]
fn plugin_name_defaults_to_the_hosts_plugin_name() {
    let mut plugin = start(json!({"fields": ["plugin"]}));
    let line = log_one(&mut plugin, Request::get("/"), Response::status(200));
    assert_eq!(line["plugin"], "request_logging");
}

#[test]
fn upstream_cluster_on_hosts_without_xds_attributes() {
    let mut plugin = Plugin::builder("request_logging")
        .config_json(json!({"fields": ["upstream_cluster"]}))
        .legacy_properties_only(true)
        .property(&["cluster_name"], "legacy-backend")
        .start()
        .unwrap();
    // The second request reads the name the first one found.
    for _ in 0..2 {
        let line = log_one(&mut plugin, Request::get("/"), Response::status(200));
        assert_eq!(
            Value::Object(line),
            json!({"upstream_cluster": "legacy-backend"})
        );
    }
}

#[test]
fn response_flags_are_envoys_short_codes() {
    // UH (bit 1) and NR (bit 8), as Envoy's %RESPONSE_FLAGS% prints them.
    let mut plugin = Plugin::builder("request_logging")
        .config_json(json!({"fields": ["status", "response_flags"]}))
        .property(
            &["response", "flags"],
            ((1i64 << 1) | (1 << 8)).to_le_bytes(),
        )
        .start()
        .unwrap();
    let line = log_one(&mut plugin, Request::get("/"), Response::status(503));
    assert_eq!(
        Value::Object(line),
        json!({"status": 503, "response_flags": "UH,NR"})
    );
}

#[test]
fn fields_choose_and_order_the_line() {
    let mut plugin = start(json!({"fields": ["status", "path", "method"]}));
    plugin
        .send(Request::get("/a?b=c"), Response::status(404))
        .unwrap();
    assert_eq!(
        plugin.logs_at(Level::Info),
        [r#"{"status":404,"path":"/a?b=c","method":"GET"}"#]
    );
}

#[test]
fn include_query_false_drops_the_query_only() {
    let mut plugin = start(json!({"fields": ["path"], "include_query": false}));
    let line = log_one(
        &mut plugin,
        Request::get("/a/b?token=s3cr3t&x=1"),
        Response::status(200),
    );
    assert_eq!(line["path"], "/a/b");
    let line = log_one(&mut plugin, Request::get("/plain"), Response::status(200));
    assert_eq!(line["path"], "/plain");
    assert!(plugin.logs().iter().all(|l| !l.message.contains("s3cr3t")));
}

#[test]
fn absent_values_are_left_out() {
    // No x-request-id nor user-agent on the request.
    let mut plugin = start(json!({"fields": ["request_id", "user_agent", "status"]}));
    let line = log_one(&mut plugin, Request::get("/"), Response::status(200));
    assert_eq!(Value::Object(line), json!({"status": 200}));
}

#[test]
fn duration_counts_from_request_headers_to_log() {
    let mut plugin = start(json!({"fields": ["start_time", "duration_ms"]}));
    plugin
        .advance_clock(Duration::from_millis(86_400_000 * 400 + 7))
        .unwrap();
    let start = plugin.now_nanos();
    let mut s = plugin.http_stream();
    s.request_headers(
        &[
            (":method", "GET"),
            (":path", "/"),
            (":authority", "h"),
            (":scheme", "http"),
        ],
        true,
    )
    .unwrap();
    s.plugin()
        .advance_clock(Duration::from_millis(1_250))
        .unwrap();
    s.response_headers(&[(":status", "200")], true).unwrap();
    s.complete().unwrap();
    drop(s);
    let line = only_line(&plugin);
    assert_eq!(
        Value::Object(line),
        json!({"start_time": rfc3339(start), "duration_ms": 1250})
    );
    assert_eq!(
        plugin.histogram("request_logging.duration_ms"),
        Some(vec![1250])
    );
}

#[test]
fn body_bytes_count_every_chunk() {
    let mut plugin = start(json!({"fields": ["request_bytes", "response_bytes"]}));
    let mut s = plugin.http_stream();
    s.request_headers(
        &[
            (":method", "PUT"),
            (":path", "/u"),
            (":authority", "h"),
            (":scheme", "http"),
        ],
        false,
    )
    .unwrap();
    s.request_body(b"12345", false).unwrap();
    s.request_body(b"678", true).unwrap();
    s.response_headers(&[(":status", "200")], false).unwrap();
    s.response_body(b"ab", false).unwrap();
    s.response_body(b"cdef", false).unwrap();
    s.response_body(b"", true).unwrap();
    s.complete().unwrap();
    drop(s);
    assert_eq!(
        Value::Object(only_line(&plugin)),
        json!({"request_bytes": 8, "response_bytes": 6})
    );
}

#[test]
fn one_line_per_request_and_only_at_the_end() {
    let mut plugin = start(json!({"fields": ["request_id"]}));
    let mut s = plugin.http_stream();
    s.request_headers(
        &[
            (":method", "GET"),
            (":path", "/"),
            (":authority", "h"),
            (":scheme", "http"),
            ("x-request-id", "a"),
        ],
        true,
    )
    .unwrap();
    s.response_headers(&[(":status", "200")], true).unwrap();
    drop(s);
    // Nothing before on_log.
    assert!(plugin.logs_at(Level::Info).is_empty());
    for id in ["b", "c", "d"] {
        plugin
            .send(
                Request::get("/").header("x-request-id", id),
                Response::status(200),
            )
            .unwrap();
    }
    let ids: Vec<Value> = lines(&plugin)
        .into_iter()
        .map(|l| l["request_id"].clone())
        .collect();
    assert_eq!(ids, [json!("b"), json!("c"), json!("d")]);
    assert_eq!(metric(&plugin, "logged"), 3);
}
