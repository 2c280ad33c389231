//! `only_status`, status-class metrics, and requests that end without an upstream answer:
//! local replies and resets.
// Test helpers outside #[test] functions panic on purpose: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use harness::{Plugin, Request, Response};
use serde_json::{json, Value};

const REQ: [(&str, &str); 5] = [
    (":method", "GET"),
    (":path", "/r"),
    (":authority", "h"),
    (":scheme", "http"),
    ("x-request-id", "reset-1"),
];

#[test]
fn only_status_keeps_matching_classes_and_codes() {
    let mut plugin = start(json!({"fields": ["status"], "only_status": ["5xx", "429"]}));
    for code in [200, 404, 429, 500, 503, 302, 428] {
        plugin
            .send(Request::get("/"), Response::status(code))
            .unwrap();
    }
    let statuses: Vec<Value> = lines(&plugin)
        .into_iter()
        .map(|l| l["status"].clone())
        .collect();
    assert_eq!(statuses, [json!(429), json!(500), json!(503)]);
    assert_eq!(metric(&plugin, "logged"), 3);
    assert_eq!(metric(&plugin, "filtered_out"), 4);
    assert_eq!(metric(&plugin, "sampled_out"), 0);
}

#[test]
fn status_class_counters_see_every_request() {
    let mut plugin = start(json!({"fields": ["status"], "only_status": ["404"]}));
    for code in [101, 200, 201, 204, 301, 404, 404, 500, 599] {
        plugin
            .send(Request::get("/"), Response::status(code))
            .unwrap();
    }
    let mut s = plugin.http_stream();
    s.request_headers(&REQ, true).unwrap();
    s.reset().unwrap();
    drop(s);
    for (class, n) in [
        ("1xx", 1),
        ("2xx", 3),
        ("3xx", 1),
        ("4xx", 2),
        ("5xx", 2),
        ("none", 1),
        ("other", 0),
    ] {
        assert_eq!(metric(&plugin, &format!("status_{class}")), n, "{class}");
    }
    assert_eq!(metric(&plugin, "logged"), 2);
    assert_eq!(metric(&plugin, "filtered_out"), 8);
    assert_eq!(
        plugin
            .histogram("request_logging.duration_ms")
            .map(|v| v.len()),
        Some(10)
    );
}

#[test]
fn reset_before_the_response_is_logged_with_status_zero() {
    let mut plugin = start(
        json!({"fields": ["method", "status", "request_bytes", "response_bytes", "request_id"]}),
    );
    let mut s = plugin.http_stream();
    s.request_headers(&REQ, false).unwrap();
    s.request_body(b"partial", false).unwrap();
    s.reset().unwrap();
    drop(s);
    assert_eq!(
        Value::Object(only_line(&plugin)),
        json!({"method": "GET", "status": 0, "request_bytes": 7, "response_bytes": 0, "request_id": "reset-1"})
    );
    assert_eq!(metric(&plugin, "status_none"), 1);
}

#[test]
fn only_status_zero_selects_resets() {
    let mut plugin = start(json!({"fields": ["status"], "only_status": ["0"]}));
    plugin
        .send(Request::get("/"), Response::status(500))
        .unwrap();
    let mut s = plugin.http_stream();
    s.request_headers(&REQ, true).unwrap();
    s.reset().unwrap();
    drop(s);
    assert_eq!(Value::Object(only_line(&plugin)), json!({"status": 0}));
}

#[test]
fn local_reply_from_the_proxy_is_logged_with_its_details() {
    // Envoy answered itself (no healthy upstream): the response still passes this filter,
    // and the host reports the flags and details.
    let mut plugin = Plugin::builder("request_logging")
        .config_json(json!({"fields": ["status", "response_flags", "response_code_details", "response_bytes"]}))
        .property(&["response", "flags"], (1i64 << 1).to_le_bytes())
        .property(&["response", "code_details"], "no_healthy_upstream")
        .start()
        .unwrap();
    let mut s = plugin.http_stream();
    s.request_headers(&REQ, true).unwrap();
    s.response_headers(&[(":status", "503"), ("content-length", "19")], false)
        .unwrap();
    s.response_body(b"no healthy upstream", true).unwrap();
    s.complete().unwrap();
    drop(s);
    assert_eq!(
        Value::Object(only_line(&plugin)),
        json!({"status": 503, "response_flags": "UH", "response_code_details": "no_healthy_upstream", "response_bytes": 19})
    );
}

#[test]
fn stream_that_never_reached_this_filter_is_still_logged_once() {
    // An earlier filter replied before this one saw the request: only on_log runs; the
    // line takes what the host still exposes.
    let mut plugin = start(json!({"fields": ["status", "method", "duration_ms"]}));
    let mut s = plugin.http_stream();
    s.complete().unwrap();
    drop(s);
    // No headers reached it: no method; status 0; the duration from `request.time`.
    assert_eq!(
        Value::Object(only_line(&plugin)),
        json!({"status": 0, "duration_ms": 0})
    );
    assert_eq!(metric(&plugin, "status_none"), 1);
    assert!(plugin.failure().is_none());
}

#[test]
fn client_disconnect_leaves_no_response_headers_to_read_in_on_log_and_does_not_trap() {
    // proxy-wasm-rust-sdk #82: a client that disconnects (or a stream reset) before the
    // response leaves on_log without a response header map. The filter reads the maps there
    // without trapping, and the line still comes out, with an empty `response_headers`.
    let mut plugin = start(json!({
        "fields": ["status", "method"],
        "request_headers": ["x-a"],
        "response_headers": ["content-type", ":status"],
    }));
    let mut s = plugin.http_stream();
    let mut headers = REQ.to_vec();
    headers.push(("x-a", "1"));
    s.request_headers(&headers, false).unwrap();
    s.reset().unwrap();
    drop(s);
    // Reset before the stream reached this filter: on_log is the only callback.
    let mut s = plugin.http_stream();
    s.reset().unwrap();
    drop(s);
    assert!(plugin.failure().is_none(), "{:?}", plugin.failure());
    let lines: Vec<Value> = lines(&plugin).into_iter().map(Value::Object).collect();
    assert_eq!(
        lines,
        [
            json!({"status": 0, "method": "GET", "request_headers": {"x-a": "1"}, "response_headers": {}}),
            json!({"status": 0, "request_headers": {}, "response_headers": {}}),
        ]
    );
    assert_eq!(metric(&plugin, "status_none"), 2);
}
