//! {{name}} through the harness: the real module, driven as Envoy drives it.
// Test helpers may panic: clippy's allow-*-in-tests covers #[test] functions only.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use harness::{Error, Plugin, Request, Response};
use serde_json::{json, Value};

fn start(config: Value) -> Plugin {
    Plugin::builder("{{name}}")
        .config_json(config)
        .start()
        .expect("plugin starts")
}

fn ok() -> Response {
    Response::status(200)
        .header("content-type", "text/plain")
        .body("hi")
}

/// The log lines of a configuration the filter refused.
fn rejected(config: Value) -> Vec<String> {
    match Plugin::builder("{{name}}").config_json(config).start() {
        Err(Error::ConfigRejected { logs }) => logs.into_iter().map(|l| l.message).collect(),
        Err(other) => panic!("expected ConfigRejected, got {other:?}"),
        Ok(_) => panic!("the configuration was accepted"),
    }
}

#[test]
fn empty_config_tags_responses_with_the_filter_name() {
    let mut plugin = Plugin::builder("{{name}}").start().unwrap();
    let ex = plugin
        .send(Request::get("/").header("x-a", "1"), ok())
        .unwrap();
    assert_eq!(ex.client.status(), Some(200));
    assert_eq!(ex.client.header("x-wasm-filter"), Some("{{name}}"));
    assert_eq!(ex.client.header("content-type"), Some("text/plain"));
    let upstream = ex.upstream.unwrap();
    assert_eq!(upstream.header("x-wasm-filter"), None);
    assert_eq!(upstream.header("x-a"), Some("1"));
}

#[test]
fn configured_header_replaces_the_upstream_value_and_is_counted() {
    let mut plugin = start(json!({"header": "x-served-by", "value": "edge 1"}));
    for _ in 0..2 {
        let upstream = ok().header("x-served-by", "app").header("x-served-by", "app2");
        let ex = plugin.send(Request::get("/p"), upstream).unwrap();
        assert_eq!(ex.client.header_all("x-served-by"), vec!["edge 1"]);
        assert_eq!(ex.client.header("x-wasm-filter"), None);
    }
    assert_eq!(plugin.metric("{{name}}.responses_tagged"), Some(2));
}

#[test]
fn bad_configurations_are_rejected_with_the_reason() {
    let cases = [
        (
            json!({"header": "X-Up"}),
            "invalid configuration: field `header`: invalid header name `X-Up`: must be lower-case",
        ),
        (
            json!({"header": ":status", "value": "500"}),
            "invalid configuration: field `header`: `:status` is a pseudo-header; name a regular header",
        ),
        (
            json!({"value": "a\nb"}),
            "invalid configuration: field `value`: invalid value for header `x-wasm-filter`: contains CR, LF or NUL",
        ),
    ];
    for (config, expected) in cases {
        let logs = rejected(config.clone());
        assert!(
            logs.iter().any(|l| l == expected),
            "{config}: expected {expected:?} in {logs:?}"
        );
    }
    let logs = rejected(json!({"headr": "x-a"}));
    assert!(
        logs.iter()
            .any(|l| l.starts_with("invalid configuration: field `headr`: unknown field")),
        "{logs:?}"
    );
}
