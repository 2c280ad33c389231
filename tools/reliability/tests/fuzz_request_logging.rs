//! request_logging under hostile traffic: zero traps; exactly one well-formed, single-line
//! JSON access-log line per finished stream (resets included); redacted values never logged.

use harness::{Level, Plugin};
use reliability::{cases, drive, rng::Rng, secrets};
use serde_json::json;

/// Headers whose values are redacted (always, or by `redact` in the configs below).
const REDACTED: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-api-key",
    "x-session-token",
];
const SECRET: &str = "S3cr3t-T0ken-7Qx";
const NAMES: &[&str] = &[
    "authorization",
    "cookie",
    "x-api-key",
    "x-session-token",
    "content-type",
    "x-forwarded-for",
    "x-request-id",
];

fn plugins() -> Vec<Plugin> {
    let everything = |level: &str, max: u64| {
        json!({"request_headers": ["x-forwarded-for", "content-type", "authorization", "cookie",
                                   "x-api-key", "x-session-token", ":path", ":authority"],
               "response_headers": ["content-type", "set-cookie", ":status"],
               "redact": ["x-session-token"], "max_value_bytes": max, "log_level": level})
    };
    [
        everything("info", 256),
        everything("trace", 1),
        json!({"fields": ["status", "path", "method"], "include_query": false,
               "request_headers": ["authorization"], "max_value_bytes": 100000}),
    ]
    .into_iter()
    .map(|c| {
        Plugin::builder("request_logging")
            .config_json(c)
            .log_level(Level::Trace)
            .start()
            .unwrap_or_else(|e| panic!("start: {e}"))
    })
    .collect()
}

#[test]
fn hostile_traffic_gives_one_json_line_per_stream_and_no_secret() {
    let mut plugins = plugins();
    let values: Vec<Vec<u8>> = vec![
        SECRET.as_bytes().to_vec(),
        format!("Bearer {SECRET}").into_bytes(),
        format!("session={SECRET}; other=1").into_bytes(),
    ];
    cases::run("request_logging", 10_000, |rng: &mut Rng, i| {
        let which = (i % plugins.len() as u64) as usize;
        let plugin = &mut plugins[which];
        let mut plan = drive::Plan::random(rng, NAMES, &values);
        // The secret may only travel in redacted headers (path, user-agent, ... are logged
        // by design), so it is scrubbed from everything else.
        let scrub = |h: &mut Vec<(String, Vec<u8>)>| {
            for (k, v) in h.iter_mut() {
                let lower = k.to_ascii_lowercase();
                if !REDACTED.contains(&lower.as_str()) && contains(v, SECRET.as_bytes()) {
                    *v = b"scrubbed".to_vec();
                }
            }
        };
        scrub(&mut plan.request);
        scrub(&mut plan.request_trailers);
        scrub(&mut plan.response);
        scrub(&mut plan.response_trailers);
        let before = plugin.metric("request_logging.logged").unwrap_or(0);
        drive::drive(rng, plugin, &plan, None)?;
        let logged = plugin.metric("request_logging.logged").unwrap_or(0) - before;
        if logged != 1 {
            return Err(format!("{logged} lines logged for one stream"));
        }
        let lines: Vec<&str> = plugin
            .logs()
            .iter()
            .filter(|l| l.message.starts_with('{'))
            .map(|l| l.message.as_str())
            .collect();
        if lines.len() != 1 {
            return Err(format!("expected one access-log line, got {lines:?}"));
        }
        if lines[0].contains('\n') || lines[0].contains('\r') {
            return Err(format!("a line break in the log line: {:?}", lines[0]));
        }
        if let Err(e) = serde_json::from_str::<serde_json::Value>(lines[0]) {
            return Err(format!("not JSON ({e}): {}", lines[0]));
        }
        if let Some((n, s, text)) = secrets::find_secret(plugin.logs(), &[SECRET]) {
            return Err(format!("secret {s:?} in log line {n}: {text}"));
        }
        plugin.clear_logs();
        Ok(())
    });
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}
