//! Configuration through the host: every error is a rejection with one error line naming the
//! problem; `log_level` chooses the level of the access line.
// Test helpers outside #[test] functions panic on purpose: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use harness::{Error, Level, Plugin, Request, Response};
use serde_json::json;

/// Starts with raw config bytes and returns the single error line of the rejection.
fn rejection(config: &[u8]) -> String {
    match Plugin::builder("request_logging")
        .config_bytes(config)
        .start()
    {
        Err(Error::ConfigRejected { logs }) => {
            assert_eq!(logs.len(), 1, "exactly one log line: {logs:?}");
            assert_eq!(logs[0].level, Level::Error, "{logs:?}");
            logs[0].message.clone()
        }
        Err(other) => panic!(
            "{}: unexpected error {other:?}",
            String::from_utf8_lossy(config)
        ),
        Ok(_) => panic!("{} was accepted", String::from_utf8_lossy(config)),
    }
}

#[test]
fn every_invalid_config_is_rejected_with_the_field_named() {
    let cases: [(&str, &str); 22] = [
        (r#"{"feilds":["status"]}"#, "invalid configuration: field `feilds`: unknown field `feilds`, expected one of"),
        (r#"{"fields":[]}"#, "invalid configuration: field `fields`: must list at least one field"),
        (r#"{"fields":["status","latency"]}"#, "invalid configuration: field `fields[1]`: unknown field `latency`: expected one of start_time, method, authority, path, protocol, status, response_flags, response_code_details, request_bytes, response_bytes, duration_ms, upstream_cluster, upstream_host, request_id, downstream_address, user_agent, plugin"),
        (r#"{"fields":["status","status"]}"#, "invalid configuration: field `fields[1]`: field `status` is listed twice"),
        (r#"{"request_headers":["X-Trace"]}"#, "invalid configuration: field `request_headers[0]`: invalid header name `X-Trace`: must be lower-case"),
        (r#"{"request_headers":["x-a","x-a"]}"#, "invalid configuration: field `request_headers[1]`: header `x-a` is listed twice"),
        (r#"{"response_headers":["bad header"]}"#, "invalid configuration: field `response_headers[0]`: invalid header name `bad header`: contains ' '"),
        (r#"{"response_headers":"content-type"}"#, "invalid configuration: field `response_headers`: invalid type: string, expected a sequence"),
        (r#"{"redact":["x-ok",""]}"#, "invalid configuration: field `redact[1]`: invalid header name ``: empty"),
        (r#"{"sample_rate":2}"#, "invalid configuration: field `sample_rate`: must be a number from 0.0 to 1.0"),
        (r#"{"sample_rate":-0.5}"#, "invalid configuration: field `sample_rate`: must be a number from 0.0 to 1.0"),
        (r#"{"sample_rate":"10%"}"#, "invalid configuration: field `sample_rate`: invalid type: string, expected f64"),
        (r#"{"only_status":["5xx","2x"]}"#, "invalid configuration: field `only_status[1]`: invalid status pattern `2x`: expected a code from 100 to 599 (`429`), a class `1xx` to `5xx`, or `0` for no response"),
        (r#"{"only_status":[404]}"#, "invalid configuration: field `only_status[0]`: invalid type: integer, expected a string"),
        (r#"{"log_level":"verbose"}"#, "invalid configuration: field `log_level`: unknown level `verbose`: expected trace, debug, info, warn, error or critical"),
        (r#"{"max_value_bytes":0}"#, "invalid configuration: field `max_value_bytes`: must be at least 1"),
        (r#"{"max_value_bytes":1.5}"#, "invalid configuration: field `max_value_bytes`: invalid type: floating point, expected usize"),
        (r#"{"include_query":1}"#, "invalid configuration: field `include_query`: invalid type: integer, expected a boolean"),
        (r#"{"redact_query_params":["sig",""]}"#, "invalid configuration: field `redact_query_params[1]`: must not be empty"),
        (r#"{"redact_query_params":[7]}"#, "invalid configuration: field `redact_query_params[0]`: invalid type: integer, expected a string"),
        // The configured value is never repeated: it could be a secret.
        (r#"{"sample_by":"hmac:s3cr3t"}"#, "invalid configuration: field `sample_by`: unknown variant, expected `request_id` or `random` at line 1 column 26"),
        (r#"{"output":"stdout"}"#, "invalid configuration: field `output`: unknown variant, expected `log` or `filter_state` at line 1 column 19"),
    ];
    for (config, expected) in cases {
        let message = rejection(config.as_bytes());
        assert!(
            message.starts_with(expected),
            "{config}\n got: {message}\nwant: {expected}"
        );
    }
}

#[test]
fn malformed_documents_are_rejected() {
    assert!(rejection(b"[1,2]").ends_with("the configuration must be a JSON object"));
    assert!(rejection(b"{\"fields\":").contains("EOF while parsing"));
    assert!(rejection(b"{} trailing").contains("trailing characters"));
}

#[test]
fn empty_configuration_means_defaults() {
    for config in [&b""[..], b"{}", b"  \n"] {
        let mut plugin = Plugin::builder("request_logging")
            .config_bytes(config)
            .start()
            .unwrap();
        plugin
            .send(Request::get("/"), Response::status(200))
            .unwrap();
        let line = only_line(&plugin);
        // 17 default fields less request_id and user_agent, which this request lacks.
        assert_eq!(line.len(), 15, "{line:?}");
    }
}

#[test]
fn log_level_sets_the_level_of_the_line() {
    for (name, level) in [
        ("trace", Level::Trace),
        ("debug", Level::Debug),
        ("info", Level::Info),
        ("warn", Level::Warn),
        ("warning", Level::Warn),
        ("error", Level::Error),
        ("critical", Level::Critical),
    ] {
        let mut plugin = start(json!({"fields": ["status"], "log_level": name}));
        plugin
            .send(Request::get("/"), Response::status(200))
            .unwrap();
        assert_eq!(plugin.logs().len(), 1, "{name}");
        assert_eq!(plugin.logs()[0].level, level, "{name}");
        assert_eq!(plugin.logs()[0].message, r#"{"status":200}"#);
    }
}

#[test]
fn metrics_are_defined_under_one_prefix() {
    let plugin = start(json!({}));
    let mut names: Vec<String> = plugin.metrics().into_iter().map(|(n, _, _)| n).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "request_logging.duration_ms",
            "request_logging.filtered_out",
            "request_logging.logged",
            "request_logging.sampled_out",
            "request_logging.status_1xx",
            "request_logging.status_2xx",
            "request_logging.status_3xx",
            "request_logging.status_4xx",
            "request_logging.status_5xx",
            "request_logging.status_none",
            "request_logging.status_other",
        ]
    );
}
