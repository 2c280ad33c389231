//! Shared fixtures: starting the plugin, checking replies and metrics.

use harness::{Error, Exchange, Level, LogEntry, Plugin};
use serde_json::Value;

/// The cluster the remote-mode tests call; known to the emulated host.
pub const AUTH_CLUSTER: &str = "auth_service";

/// Every counter the filter defines, in the order of the README.
pub const METRICS: [&str; 9] = [
    "auth_check.allowed",
    "auth_check.exempt",
    "auth_check.failure_mode_allowed",
    "auth_check.errors",
    "auth_check.denied.missing_credentials",
    "auth_check.denied.malformed_credentials",
    "auth_check.denied.invalid_credentials",
    "auth_check.denied.remote_denied",
    "auth_check.denied.service_unavailable",
];

/// Starts auth_check with `config`, logging at trace so tests see every line.
pub fn start(config: Value) -> Plugin {
    Plugin::builder("auth_check")
        .config_json(config)
        .cluster(AUTH_CLUSTER)
        .log_level(Level::Trace)
        .start()
        .unwrap_or_else(|e| panic!("plugin did not start: {e}"))
}

/// The logs of a configuration that must be rejected.
pub fn rejected(config: &[u8]) -> Vec<LogEntry> {
    match Plugin::builder("auth_check")
        .config_bytes(config)
        .cluster(AUTH_CLUSTER)
        .log_level(Level::Trace)
        .start()
    {
        Err(Error::ConfigRejected { logs }) => logs,
        Err(e) => panic!("expected ConfigRejected, got {e}"),
        Ok(_) => panic!(
            "configuration accepted: {}",
            String::from_utf8_lossy(config)
        ),
    }
}

/// Every counter of the filter with its value, zeros included.
pub fn counters(plugin: &Plugin) -> Vec<(&'static str, i64)> {
    METRICS
        .iter()
        .map(|m| {
            (
                *m,
                plugin
                    .metric(m)
                    .unwrap_or_else(|| panic!("metric {m} not defined")),
            )
        })
        .collect()
}

/// The counters expected when exactly the named ones have the given values.
pub fn expect_counters(pairs: &[(&str, i64)]) -> Vec<(&'static str, i64)> {
    for (name, _) in pairs {
        assert!(METRICS.contains(name), "unknown metric {name}");
    }
    METRICS
        .iter()
        .map(|m| {
            (
                *m,
                pairs.iter().find(|(n, _)| n == m).map_or(0, |(_, v)| *v),
            )
        })
        .collect()
}

/// Asserts a local JSON error reply: status, body and no upstream request.
pub fn assert_json_error(ex: &Exchange, status: u16, error: &str, message: &str) {
    assert!(ex.upstream.is_none(), "the request reached the upstream");
    assert_eq!(ex.client.status(), Some(status));
    assert_eq!(ex.client.header("content-type"), Some("application/json"));
    let body: Value = serde_json::from_slice(&ex.client.body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"error": error, "message": message, "status": status})
    );
}
