//! `request_headers` / `response_headers` capture, `redact` and the always-redacted set,
//! `max_value_bytes`, and hostile values (invalid UTF-8, huge headers).
// Test helpers outside #[test] functions panic on purpose: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use harness::{Request, Response};
use serde_json::{json, Value};

#[test]
fn configured_headers_are_captured_in_order_and_absent_ones_left_out() {
    let mut plugin = start(json!({
        "fields": ["status"],
        "request_headers": ["x-b", "x-a", "x-missing", ":scheme"],
        "response_headers": ["content-type", "x-multi", "x-none"],
    }));
    let line = log_one(
        &mut plugin,
        Request::get("/")
            .header("x-a", "1")
            .header("x-b", "2")
            .header("x-other", "no"),
        Response::status(200)
            .header("x-multi", "one")
            .header("content-type", "text/plain")
            .header("x-multi", "two"),
    );
    assert_eq!(
        Value::Object(line),
        json!({
            "status": 200,
            "request_headers": {"x-b": "2", "x-a": "1", ":scheme": "http"},
            "response_headers": {"content-type": "text/plain", "x-multi": "one, two"},
        })
    );
    // Configuration order (serde_json's Map sorts keys: check the text).
    let raw = plugin.logs_at(harness::Level::Info)[0];
    assert!(
        raw.contains(r#""request_headers":{"x-b":"2","x-a":"1",":scheme":"http"}"#),
        "{raw}"
    );
}

#[test]
fn header_objects_are_present_even_when_nothing_matched() {
    let mut plugin = start(
        json!({"fields": ["status"], "request_headers": ["x-a"], "response_headers": ["x-b"]}),
    );
    let line = log_one(&mut plugin, Request::get("/"), Response::status(204));
    assert_eq!(
        Value::Object(line),
        json!({"status": 204, "request_headers": {}, "response_headers": {}})
    );
}

/// Every secret used below; none may appear anywhere in the logs, at any level.
const SECRETS: [&str; 8] = [
    "Bearer tok-AAAA1111",
    "Basic dXNlcjpwYXNzd29yZA==",
    "session=SESS-BBBB2222",
    "id=SETC-CCCC3333; HttpOnly",
    "key-DDDD4444",
    "custom-EEEE5555",
    "resp-custom-FFFF6666",
    "Digest proxy-GGGG7777",
];

fn assert_no_secret_anywhere(plugin: &harness::Plugin) {
    for entry in plugin.logs() {
        for secret in SECRETS {
            assert!(
                !entry.message.contains(secret),
                "secret {secret:?} leaked at {:?}: {}",
                entry.level,
                entry.message
            );
        }
    }
    for (name, _, _) in plugin.metrics() {
        assert!(SECRETS.iter().all(|s| !name.contains(s)), "{name}");
    }
}

#[test]
fn always_redacted_and_configured_redactions_hide_values_everywhere() {
    let mut plugin = start(json!({
        "request_headers": ["authorization", "proxy-authorization", "cookie", "x-api-key", "x-custom-secret", "x-visible"],
        "response_headers": ["set-cookie", "x-resp-secret", "x-visible"],
        "redact": ["x-custom-secret", "x-resp-secret"],
        "log_level": "info",
    }));
    let line = log_one(
        &mut plugin,
        Request::get("/")
            .header("x-request-id", "r-red")
            .header("authorization", SECRETS[0])
            .header("authorization", SECRETS[1])
            .header("cookie", SECRETS[2])
            .header("x-api-key", SECRETS[4])
            .header("x-custom-secret", SECRETS[5])
            .header("proxy-authorization", SECRETS[7])
            .header("x-visible", "shown"),
        Response::status(200)
            .header("set-cookie", SECRETS[3])
            .header("x-resp-secret", SECRETS[6])
            .header("x-visible", "shown-too"),
    );
    assert_eq!(
        line["request_headers"],
        json!({
            "authorization": "[REDACTED]",
            "proxy-authorization": "[REDACTED]",
            "cookie": "[REDACTED]",
            "x-api-key": "[REDACTED]",
            "x-custom-secret": "[REDACTED]",
            "x-visible": "shown",
        })
    );
    assert_eq!(
        line["response_headers"],
        json!({"set-cookie": "[REDACTED]", "x-resp-secret": "[REDACTED]", "x-visible": "shown-too"})
    );
    assert_no_secret_anywhere(&plugin);
}

#[test]
fn secrets_in_uncaptured_headers_never_reach_the_log() {
    // Default fields only, at the most verbose level: nothing but the line is written.
    let mut plugin = start(json!({"log_level": "trace"}));
    plugin
        .send(
            Request::get("/")
                .header("authorization", SECRETS[0])
                .header("cookie", SECRETS[2])
                .header("x-api-key", SECRETS[4]),
            Response::status(401).header("set-cookie", SECRETS[3]),
        )
        .unwrap();
    assert_eq!(plugin.logs().len(), 1, "{:?}", plugin.logs());
    assert_no_secret_anywhere(&plugin);
}

#[test]
fn long_values_are_truncated_and_marked() {
    let mut plugin = start(json!({
        "fields": ["path", "user_agent", "request_id"],
        "request_headers": ["x-long", "x-short"],
        "response_headers": ["x-multi"],
        "max_value_bytes": 8,
    }));
    let line = log_one(
        &mut plugin,
        Request::get("/0123456789?q=long")
            .header("user-agent", "Mozilla/5.0 (X11)")
            .header("x-request-id", "12345678")
            .header("x-long", "a".repeat(100_000))
            .header("x-short", "\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}"),
        Response::status(200)
            .header("x-multi", "abcd")
            .header("x-multi", "efgh"),
    );
    assert_eq!(
        Value::Object(line),
        json!({
            "path": "/0123456...[truncated]",
            "user_agent": "Mozilla/...[truncated]",
            "request_id": "12345678",
            "request_headers": {
                "x-long": "aaaaaaaa...[truncated]",
                // Five two-byte characters: cut at a character boundary, never inside one.
                "x-short": "\u{e9}\u{e9}\u{e9}\u{e9}...[truncated]",
            },
            "response_headers": {"x-multi": "abcd, ef...[truncated]"},
        })
    );
}

#[test]
fn default_limit_is_1024_bytes() {
    let mut plugin = start(json!({"fields": ["user_agent"]}));
    let line = log_one(
        &mut plugin,
        Request::get("/").header("user-agent", "u".repeat(5000)),
        Response::status(200),
    );
    assert_eq!(
        line["user_agent"],
        format!("{}...[truncated]", "u".repeat(1024))
    );
    let line = log_one(
        &mut plugin,
        Request::get("/").header("user-agent", "u".repeat(1024)),
        Response::status(200),
    );
    assert_eq!(line["user_agent"], "u".repeat(1024));
}

#[test]
fn invalid_utf8_is_escaped_not_dropped() {
    let mut plugin = start(json!({
        "fields": ["path", "user_agent", "request_id"],
        "request_headers": ["x-bin"],
        "response_headers": ["x-bin"],
    }));
    let line = log_one(
        &mut plugin,
        Request::get("/caf\u{e9}")
            .header("user-agent", b"agent\xff\xfe".as_slice())
            .header("x-request-id", b"id-\x80".as_slice())
            .header("x-bin", b"caf\xe9 \"q\" \\ ok".as_slice()),
        Response::status(200).header("x-bin", b"\xc3".as_slice()),
    );
    assert_eq!(
        Value::Object(line),
        json!({
            "path": "/caf\u{e9}",
            "user_agent": "agent\\xff\\xfe",
            "request_id": "id-\\x80",
            "request_headers": {"x-bin": "caf\\xe9 \"q\" \\ ok"},
            "response_headers": {"x-bin": "\\xc3"},
        })
    );
    assert!(plugin.failure().is_none());
}

#[test]
fn control_characters_cannot_forge_lines() {
    let mut plugin = start(json!({"fields": ["user_agent"]}));
    plugin
        .send(
            Request::get("/").header("user-agent", "a\"}\n{\"forged\":true"),
            Response::status(200),
        )
        .unwrap();
    let raw = plugin.logs_at(harness::Level::Info);
    assert_eq!(raw.len(), 1);
    assert!(!raw[0].contains('\n'), "{}", raw[0]);
    // The line break is escaped in the value itself: a JSON reader (`jq -r`) cannot turn it
    // back into a line break either.
    assert_eq!(
        only_line(&plugin)["user_agent"],
        "a\"}\\u{a}{\"forged\":true"
    );
}

/// Characters that can mislead a reader or a terminal: C0 (ESC), DEL, C1 (NEL, CSI), the
/// line and paragraph separators, every bidi control, zero-width characters, a BOM and a tag
/// character.
const MISLEADING: [char; 23] = [
    '\u{1b}',
    '\u{7f}',
    '\u{80}',
    '\u{85}',
    '\u{9b}',
    '\u{9f}',
    '\u{2028}',
    '\u{2029}',
    '\u{61c}',
    '\u{200e}',
    '\u{200f}',
    '\u{202a}',
    '\u{202b}',
    '\u{202c}',
    '\u{202d}',
    '\u{202e}',
    '\u{2066}',
    '\u{2067}',
    '\u{2068}',
    '\u{2069}',
    '\u{200b}',
    '\u{feff}',
    '\u{e0041}',
];

#[test]
fn misleading_characters_are_escaped_in_every_value() {
    let mut plugin = harness::Plugin::builder("request_logging")
        .config_json(json!({
            "fields": ["path", "user_agent", "request_id", "response_code_details"],
            "request_headers": ["x-note"],
            "response_headers": ["x-note"],
        }))
        .property(&["response", "code_details"], "via\u{202e}upstream")
        .start()
        .unwrap();
    let hostile: String = MISLEADING.iter().map(|c| format!("{c}.")).collect();
    let escaped: String = MISLEADING
        .iter()
        .map(|&c| format!("\\u{{{:x}}}.", u32::from(c)))
        .collect();
    let line = log_one(
        &mut plugin,
        Request::get(&format!("/p/{hostile}"))
            .header("user-agent", format!("ua {hostile}"))
            .header("x-request-id", "id\u{202e}\u{2066}")
            .header("x-note", "admin\u{202e}\u{2066}txt.exe"),
        Response::status(200).header("x-note", hostile.as_str()),
    );
    assert_eq!(
        Value::Object(line),
        json!({
            "path": format!("/p/{escaped}"),
            "user_agent": format!("ua {escaped}"),
            "request_id": "id\\u{202e}\\u{2066}",
            "response_code_details": "via\\u{202e}upstream",
            "request_headers": {"x-note": "admin\\u{202e}\\u{2066}txt.exe"},
            "response_headers": {"x-note": escaped},
        })
    );
    // Neither the raw line nor its JSON escapes carry any of them.
    let raw = plugin.logs_at(harness::Level::Info)[0];
    for c in MISLEADING {
        assert!(!raw.contains(c), "U+{:04X} in {raw}", u32::from(c));
        assert!(
            !raw.to_ascii_lowercase()
                .contains(&format!("\\u{:04x}", u32::from(c))),
            "U+{:04X} as a JSON escape in {raw}",
            u32::from(c)
        );
    }
    // Printable non-ASCII text is kept as is.
    let line = log_one(
        &mut plugin,
        Request::get("/").header(
            "user-agent",
            "caf\u{e9} \u{1f600} \u{5e9}\u{5dc}\u{5d5}\u{5dd}",
        ),
        Response::status(200),
    );
    assert_eq!(
        line["user_agent"],
        "caf\u{e9} \u{1f600} \u{5e9}\u{5dc}\u{5d5}\u{5dd}"
    );
}

#[test]
fn host_values_are_escaped_and_truncated_too() {
    let mut plugin = harness::Plugin::builder("request_logging")
        .config_json(json!({
            "fields": ["upstream_cluster", "response_code_details", "plugin"],
            "max_value_bytes": 12,
        }))
        .plugin_name("a-very-long-plugin-name")
        .property(
            &["xds", "cluster_name"],
            "outbound|8080||svc.ns.svc.cluster.local",
        )
        .property(&["response", "code_details"], b"bad\xffdetail".as_slice())
        .start()
        .unwrap();
    let line = log_one(&mut plugin, Request::get("/"), Response::status(200));
    assert_eq!(
        Value::Object(line),
        json!({
            "upstream_cluster": "outbound|808...[truncated]",
            "response_code_details": "bad\\xffdetai...[truncated]",
            "plugin": "a-very-long-...[truncated]",
        })
    );
}
