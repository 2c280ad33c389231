//! Helpers shared by the request_logging harness tests.
#![allow(dead_code)]

use harness::{Level, Plugin, Request, Response};
use serde_json::{Map, Value};

/// Starts the filter with `config`; panics with the logs if the configuration is rejected.
pub fn start(config: Value) -> Plugin {
    Plugin::builder("request_logging")
        .config_json(config)
        .start()
        .unwrap_or_else(|e| panic!("plugin did not start: {e:?}"))
}

/// The access lines written at `level`, parsed. Every message at that level must be one JSON
/// object: the filter writes nothing else there.
pub fn lines_at(plugin: &Plugin, level: Level) -> Vec<Map<String, Value>> {
    plugin
        .logs_at(level)
        .into_iter()
        .map(|m| match serde_json::from_str::<Value>(m) {
            Ok(Value::Object(o)) => o,
            _ => panic!("not a JSON object at {level:?}: {m}"),
        })
        .collect()
}

pub fn lines(plugin: &Plugin) -> Vec<Map<String, Value>> {
    lines_at(plugin, Level::Info)
}

/// The single line logged so far.
pub fn only_line(plugin: &Plugin) -> Map<String, Value> {
    let mut all = lines(plugin);
    assert_eq!(all.len(), 1, "expected one line, got {all:?}");
    all.remove(0)
}

/// Sends one request and returns the line it produced (clearing earlier logs first).
pub fn log_one(plugin: &mut Plugin, request: Request, response: Response) -> Map<String, Value> {
    plugin.clear_logs();
    plugin.send(request, response).expect("exchange");
    only_line(plugin)
}

pub fn metric(plugin: &Plugin, suffix: &str) -> i64 {
    let name = format!("request_logging.{suffix}");
    plugin
        .metric(&name)
        .unwrap_or_else(|| panic!("metric {name} not defined"))
}

/// Nanoseconds since the epoch to `YYYY-MM-DDTHH:MM:SS.mmmZ`, written independently of the
/// filter (days-from-civil inverse by counting years and months).
pub fn rfc3339(nanos: u64) -> String {
    let ms = nanos / 1_000_000;
    let (mut days, rem) = (ms / 86_400_000, ms % 86_400_000);
    let mut year = 1970;
    loop {
        let len = if is_leap(year) { 366 } else { 365 };
        if days < len {
            break;
        }
        days -= len;
        year += 1;
    }
    let mut month = 1;
    loop {
        let len = match month {
            2 if is_leap(year) => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        if days < len {
            break;
        }
        days -= len;
        month += 1;
    }
    format!(
        "{year:04}-{month:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        days + 1,
        rem / 3_600_000,
        rem / 60_000 % 60,
        rem / 1000 % 60,
        rem % 1000
    )
}

fn is_leap(y: u64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}
