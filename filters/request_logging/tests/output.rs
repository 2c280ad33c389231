//! `output`: the line through `proxy_log` (the default) or stored as filter state
//! `wasm.request_logging` for Envoy's access log to print with
//! `%FILTER_STATE(wasm.request_logging:PLAIN)%`.
// Test helpers outside #[test] functions panic on purpose: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use harness::{Level, Plugin};
use serde_json::json;
use std::time::Duration;

const KEY: &str = "wasm.request_logging";

/// One request through a stream the test drives, the clock moved by `took` before the
/// response; returns the stream's filter state under [`KEY`] once the stream has ended.
fn exchange(plugin: &mut Plugin, path: &str, status: &str, took: Duration) -> Option<Vec<u8>> {
    let mut s = plugin.http_stream();
    s.request_headers(
        &[
            (":method", "GET"),
            (":path", path),
            (":authority", "shop.example"),
            ("x-request-id", "req-7"),
            ("authorization", "Bearer never-logged"),
        ],
        true,
    )
    .unwrap();
    s.plugin().advance_clock(took).unwrap();
    s.response_headers(
        &[(":status", status), ("content-type", "text/plain")],
        false,
    )
    .unwrap();
    s.response_body(b"hello", true).unwrap();
    s.complete().unwrap();
    s.filter_state(KEY)
}

#[test]
fn filter_state_holds_the_exact_line_and_nothing_is_logged() {
    let mut plugin = start(json!({
        "output": "filter_state",
        "fields": ["start_time", "method", "path", "status", "response_bytes", "duration_ms", "request_id"],
        "request_headers": ["authorization"],
        "response_headers": ["content-type"],
    }));
    let start = plugin.now_nanos();
    let stored = exchange(
        &mut plugin,
        "/cart?token=t1&item=42",
        "201",
        Duration::from_millis(38),
    );
    let expected = format!(
        concat!(
            r#"{{"start_time":"{}","method":"GET","path":"/cart?token=[REDACTED]&item=42","status":201,"#,
            r#""response_bytes":5,"duration_ms":38,"request_id":"req-7","#,
            r#""request_headers":{{"authorization":"[REDACTED]"}},"response_headers":{{"content-type":"text/plain"}}}}"#
        ),
        rfc3339(start)
    );
    assert_eq!(
        String::from_utf8(stored.expect("no filter state")).unwrap(),
        expected
    );
    // The line goes to filter state only: nothing at any level of the proxy log.
    for level in [
        Level::Trace,
        Level::Debug,
        Level::Info,
        Level::Warn,
        Level::Error,
    ] {
        assert!(
            plugin.logs_at(level).is_empty(),
            "{level:?}: {:?}",
            plugin.logs_at(level)
        );
    }
    assert_eq!(metric(&plugin, "logged"), 1);
    assert_eq!(metric(&plugin, "status_2xx"), 1);
}

#[test]
fn requests_filtered_or_sampled_out_leave_no_filter_state() {
    let mut plugin =
        start(json!({"output": "filter_state", "only_status": ["5xx"], "fields": ["status"]}));
    assert_eq!(exchange(&mut plugin, "/fine", "200", Duration::ZERO), None);
    let failed = exchange(&mut plugin, "/bad", "503", Duration::ZERO);
    assert_eq!(failed.as_deref(), Some(&br#"{"status":503}"#[..]));
    assert_eq!(metric(&plugin, "filtered_out"), 1);
    assert_eq!(metric(&plugin, "logged"), 1);

    let mut sampled = start(json!({"output": "filter_state", "sample_rate": 0.0}));
    assert_eq!(exchange(&mut sampled, "/x", "200", Duration::ZERO), None);
    assert_eq!(metric(&sampled, "sampled_out"), 1);
    assert_eq!(metric(&sampled, "logged"), 0);
}

#[test]
fn the_default_output_is_the_log_and_sets_no_filter_state() {
    let mut plugin = start(json!({"fields": ["path", "status"]}));
    assert_eq!(exchange(&mut plugin, "/a", "200", Duration::ZERO), None);
    assert_eq!(
        plugin.logs_at(Level::Info),
        [r#"{"path":"/a","status":200}"#]
    );
    let mut explicit = start(json!({"output": "log", "fields": ["status"]}));
    assert_eq!(exchange(&mut explicit, "/a", "200", Duration::ZERO), None);
    assert_eq!(explicit.logs_at(Level::Info), [r#"{"status":200}"#]);
}
