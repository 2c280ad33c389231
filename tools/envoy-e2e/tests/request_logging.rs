//! request_logging in a real Envoy: the JSON line in Envoy's log, redaction (headers and secrets
//! in URLs), escaping of misleading characters, status filtering, sampling the client cannot
//! steer, metrics under wasmcustom. Run by scripts/test.d/20-envoy.sh (needs Envoy).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::echo_upstream;
use echo_upstream::{Response, Server};
use envoy_e2e::envoy::inline_bootstrap;
use envoy_e2e::{Envoy, EnvoyBuilder};
use serde_json::{json, Value};
use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The filter's JSON lines, once `n` have been written.
fn json_lines(envoy: &Envoy, n: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let lines: Vec<Value> = envoy
            .wasm_logs()
            .iter()
            .filter_map(|(_, m)| serde_json::from_str(m).ok())
            .collect();
        if lines.len() >= n || Instant::now() > deadline {
            assert_eq!(lines.len(), n, "log:\n{}", envoy.log());
            return lines;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
#[ignore = "needs Envoy: scripts/test.d/20-envoy.sh"]
fn one_json_line_per_request_with_fields_redaction_and_metrics() {
    let upstream = echo_upstream();
    let envoy = EnvoyBuilder::new("request_logging")
        .upstream(upstream.port())
        .start()
        .unwrap();
    let ok = envoy
        .get(
            "/a/b?x=1",
            &[
                ("x-request-id", "req-1"),
                ("user-agent", "e2e/1.0"),
                ("authorization", "Bearer sekret-token-1"),
                ("x-forwarded-for", "10.1.2.3"),
            ],
        )
        .unwrap();
    assert_eq!(ok.status, 200);
    let failed = envoy
        .get(
            "/fail",
            &[("x-request-id", "req-2"), ("x-echo-status", "503")],
        )
        .unwrap();
    assert_eq!(failed.status, 503);
    let lines = json_lines(&envoy, 2);
    let first = &lines[0];
    assert_eq!(first["method"], "GET");
    assert_eq!(first["path"], "/a/b?x=1");
    assert_eq!(first["protocol"], "HTTP/1.1");
    assert_eq!(first["status"], 200);
    assert_eq!(first["request_id"], "req-1");
    assert_eq!(first["user_agent"], "e2e/1.0");
    assert_eq!(first["upstream_cluster"], "echo");
    assert_eq!(
        first["upstream_host"],
        format!("127.0.0.1:{}", upstream.port())
    );
    assert_eq!(first["response_code_details"], "via_upstream");
    assert_eq!(first["plugin"], "request_logging");
    assert_eq!(first["request_headers"]["authorization"], "[REDACTED]");
    assert_eq!(first["request_headers"]["x-forwarded-for"], "10.1.2.3");
    assert_eq!(
        first["response_headers"]["content-type"],
        "application/json"
    );
    assert_eq!(first["response_bytes"], ok.body.len());
    assert!(first["start_time"].as_str().unwrap().ends_with('Z'));
    assert_eq!(lines[1]["status"], 503);
    assert_eq!(lines[1]["request_id"], "req-2");
    assert!(
        !envoy.log().contains("sekret-token-1"),
        "the credential reached Envoy's log"
    );
    // Lines are written at info level through proxy_log.
    assert!(envoy.wasm_logs().iter().all(|(level, _)| level == "info"));
    assert_eq!(envoy.stat("wasmcustom.request_logging.logged"), Some(2));
    assert_eq!(envoy.stat("wasmcustom.request_logging.status_2xx"), Some(1));
    assert_eq!(envoy.stat("wasmcustom.request_logging.status_5xx"), Some(1));
    assert_eq!(envoy.stat("wasmcustom.request_logging.status_4xx"), Some(0));
}

#[test]
#[ignore = "needs Envoy: scripts/test.d/20-envoy.sh"]
fn envoys_own_local_reply_is_logged_with_its_flags() {
    // An upstream port nobody listens on: Envoy answers 503 itself.
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let envoy = EnvoyBuilder::new("request_logging")
        .upstream(closed)
        .start()
        .unwrap();
    let resp = envoy.get("/down", &[("x-request-id", "req-down")]).unwrap();
    assert_eq!(resp.status, 503);
    let line = &json_lines(&envoy, 1)[0];
    assert_eq!(line["status"], 503);
    assert_eq!(line["request_id"], "req-down");
    assert_eq!(line["response_flags"], "UF");
    assert!(
        line["response_code_details"]
            .as_str()
            .unwrap()
            .starts_with("upstream_reset_before_response_started"),
        "{line}"
    );
    assert_eq!(envoy.stat("wasmcustom.request_logging.status_5xx"), Some(1));
}

#[test]
#[ignore = "needs Envoy: scripts/test.d/20-envoy.sh"]
fn only_status_filters_and_counts_what_it_skips() {
    let upstream = echo_upstream();
    let envoy = EnvoyBuilder::new("request_logging")
        .upstream(upstream.port())
        .config(r#"{"only_status": ["5xx"], "fields": ["status", "path"]}"#)
        .start()
        .unwrap();
    assert_eq!(envoy.get("/fine", &[]).unwrap().status, 200);
    assert_eq!(
        envoy
            .get("/bad", &[("x-echo-status", "500")])
            .unwrap()
            .status,
        500
    );
    let lines = json_lines(&envoy, 1);
    assert_eq!(lines[0], serde_json::json!({"status": 500, "path": "/bad"}));
    assert_eq!(
        envoy.stat("wasmcustom.request_logging.filtered_out"),
        Some(1)
    );
    assert_eq!(envoy.stat("wasmcustom.request_logging.logged"), Some(1));
}

#[test]
#[ignore = "needs Envoy: scripts/test.d/20-envoy.sh"]
fn bad_config_makes_envoy_refuse_to_start_with_the_filters_message() {
    let err = EnvoyBuilder::new("request_logging")
        .bootstrap(inline_bootstrap("request_logging", true))
        .config(r#"{"sample_rate": 2}"#)
        .start()
        .err()
        .expect("Envoy must refuse the configuration");
    assert!(err.starts_with("Envoy exited at startup"), "{err}");
    assert!(
        err.contains("wasm log request_logging request_logging: invalid configuration: field `sample_rate`: must be a number from 0.0 to 1.0"),
        "{err}"
    );
}

#[test]
#[ignore = "needs Envoy: scripts/test.d/20-envoy.sh"]
fn secrets_in_urls_are_redacted_in_path_referer_and_location() {
    // An upstream that redirects to an OAuth-style callback carrying secrets.
    let upstream = Server::start(
        "127.0.0.1:0",
        Arc::new(|_: &echo_upstream::Request| {
            Response::new(302).header(
                "location",
                "https://app.example/cb?code=code-secret-3&state=s1#access_token=frag-secret-4",
            )
        }),
    )
    .unwrap();
    let envoy = EnvoyBuilder::new("request_logging")
        .upstream(upstream.port())
        .config(
            json!({
                "fields": ["path", "status"],
                "request_headers": [":path", "referer"],
                "response_headers": ["location"],
                "redact_query_params": ["Session"],
            })
            .to_string(),
        )
        .start()
        .unwrap();
    let resp = envoy
        .get(
            "/login?user=bob&Access%5FToken=path-secret-1&X-Amz-Signature=path-secret-2&SESSION=path-secret-5",
            &[(
                "referer",
                "https://shop.example/p?q=shoes&password=referer-secret-6",
            )],
        )
        .unwrap();
    assert_eq!(resp.status, 302);
    let path =
        "/login?user=bob&Access%5FToken=[REDACTED]&X-Amz-Signature=[REDACTED]&SESSION=[REDACTED]";
    assert_eq!(
        json_lines(&envoy, 1)[0],
        json!({
            "path": path,
            "status": 302,
            "request_headers": {
                ":path": path,
                "referer": "https://shop.example/p?q=shoes&password=[REDACTED]",
            },
            "response_headers": {
                "location": "https://app.example/cb?code=[REDACTED]&state=s1#access_token=[REDACTED]",
            },
        })
    );
    let log = envoy.log();
    for n in 1..=6 {
        assert!(
            !log.contains(&format!("secret-{n}")),
            "secret {n} in:\n{log}"
        );
    }
}

#[test]
#[ignore = "needs Envoy: scripts/test.d/20-envoy.sh"]
fn misleading_characters_are_escaped_in_envoys_log() {
    let upstream = echo_upstream();
    let envoy = EnvoyBuilder::new("request_logging")
        .upstream(upstream.port())
        .config(r#"{"fields": ["user_agent", "status"], "request_headers": ["x-note"]}"#)
        .start()
        .unwrap();
    // C1 (NEL, CSI), the line and paragraph separators, bidi overrides and isolates, a
    // zero-width space, a tag character: Envoy's HTTP/1 codec lets them through in a header
    // value (it answers 400 to DEL and other ASCII controls, and to any non-ASCII in the path).
    let hostile = "b\u{85}c\u{9b}31md\u{2028}e\u{2029}f\u{202e}g\u{2066}h\u{200b}i\u{e0041}";
    let resp = envoy
        .get(
            "/",
            &[
                ("user-agent", hostile),
                ("x-note", "invoice\u{202e}fdp.exe"),
            ],
        )
        .unwrap();
    assert_eq!(resp.status, 200);
    // DEL: Envoy's codec refuses the request before any filter; the line is still written
    // (without the header) and carries no DEL.
    let refused = envoy.get("/", &[("user-agent", "a\u{7f}b")]).unwrap();
    assert_eq!(refused.status, 400);
    let lines = json_lines(&envoy, 2);
    assert_eq!(
        lines[0],
        json!({
            "user_agent": "b\\u{85}c\\u{9b}31md\\u{2028}e\\u{2029}f\\u{202e}g\\u{2066}h\\u{200b}i\\u{e0041}",
            "status": 200,
            "request_headers": {"x-note": "invoice\\u{202e}fdp.exe"},
        })
    );
    assert_eq!(lines[1], json!({"status": 400, "request_headers": {}}));
    // Envoy's log file, as an operator's terminal or pager shows it, carries none of them.
    let log = envoy.log();
    for c in [
        '\u{7f}',
        '\u{85}',
        '\u{9b}',
        '\u{2028}',
        '\u{2029}',
        '\u{202e}',
        '\u{2066}',
        '\u{200b}',
        '\u{e0041}',
    ] {
        assert!(!log.contains(c), "U+{:04X} in Envoy's log", u32::from(c));
    }
}

#[test]
#[ignore = "needs Envoy: scripts/test.d/20-envoy.sh"]
fn sample_by_random_ignores_the_clients_request_id() {
    let upstream = echo_upstream();
    let envoy = EnvoyBuilder::new("request_logging")
        .upstream(upstream.port())
        .config(r#"{"fields": ["status"], "sample_rate": 0.5, "sample_by": "random"}"#)
        .start()
        .unwrap();
    // With `sample_by: "request_id"` one id gets the same decision every time; a client that
    // knows the public hash picks one that is never logged.
    let n = 80;
    for _ in 0..n {
        let resp = envoy.get("/", &[("x-request-id", "same-id")]).unwrap();
        assert_eq!(resp.status, 200);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    let (logged, sampled_out) = loop {
        let logged = envoy.stat("wasmcustom.request_logging.logged").unwrap_or(0);
        let out = envoy
            .stat("wasmcustom.request_logging.sampled_out")
            .unwrap_or(0);
        if logged + out == n || Instant::now() > deadline {
            break (logged, out);
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(logged + sampled_out, n);
    // 5 standard deviations of Binomial(80, 0.5) ≈ 22.
    assert!((18..=62).contains(&logged), "{logged} of {n} logged");
    assert_eq!(json_lines(&envoy, logged as usize).len() as u64, logged);
}

/// A static bootstrap: the filter inline in front of the echo upstream, and the HCM's file
/// access log printing the filter's line from filter state, skipping requests that have none
/// (the configuration of README.md, "Output to Envoy's access log").
fn filter_state_bootstrap(upstream_port: u16, access_log: &std::path::Path) -> String {
    let wasm = envoy_e2e::ecds::wasm_filter(
        "request_logging",
        std::path::Path::new("{{MODULE}}"),
        "@@CONFIG@@",
        false,
    );
    let bootstrap = json!({
        "node": {"id": "e2e", "cluster": "e2e"},
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}}},
        "static_resources": {
            "listeners": [{
                "name": "ingress",
                "address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}},
                "filter_chains": [{"filters": [{
                    "name": "envoy.filters.network.http_connection_manager",
                    "typed_config": {
                        "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                        "stat_prefix": "ingress",
                        "route_config": {"virtual_hosts": [{"name": "all", "domains": ["*"],
                            "routes": [{"match": {"prefix": "/"}, "route": {"cluster": "echo"}}]}]},
                        "http_filters": [
                            {"name": "request_logging", "typed_config": wasm},
                            {"name": "envoy.filters.http.router", "typed_config": {
                                "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}},
                        ],
                        "access_log": [{
                            "name": "envoy.access_loggers.file",
                            "filter": {"extension_filter": {
                                "name": "envoy.access_loggers.extension_filters.cel",
                                "typed_config": {
                                    "@type": "type.googleapis.com/envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter",
                                    "expression": "'wasm.request_logging' in filter_state",
                                },
                            }},
                            "typed_config": {
                                "@type": "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog",
                                "path": access_log.display().to_string(),
                                "log_format": {"text_format_source": {
                                    "inline_string": "%FILTER_STATE(wasm.request_logging:PLAIN)%\n",
                                }},
                            },
                        }],
                    },
                }]}],
            }],
            "clusters": [{
                "name": "echo",
                "connect_timeout": "1s",
                "type": "STATIC",
                "load_assignment": {"cluster_name": "echo", "endpoints": [{"lb_endpoints": [{"endpoint": {
                    "address": {"socket_address": {"address": "127.0.0.1", "port_value": upstream_port}},
                }}]}]},
            }],
        },
    });
    bootstrap
        .to_string()
        .replace("\"@@CONFIG@@\"", "{{CONFIG_JSON}}")
}

#[test]
#[ignore = "needs Envoy: scripts/test.d/20-envoy.sh"]
fn filter_state_output_is_printed_exactly_by_envoys_access_log() {
    let upstream = echo_upstream();
    let dir = envoy_e2e::TempDir::new("request_logging-access-log").unwrap();
    let access_log = dir.path().join("access.log");
    let envoy = EnvoyBuilder::new("request_logging")
        .bootstrap(filter_state_bootstrap(upstream.port(), &access_log))
        .config(
            json!({
                "output": "filter_state",
                "fields": ["method", "path", "status", "response_code_details", "response_bytes", "request_id"],
                "request_headers": ["authorization"],
                "only_status": ["2xx", "5xx"],
            })
            .to_string(),
        )
        .start()
        .unwrap();
    let ok = envoy
        .get(
            "/cart?item=42&token=secret-1",
            &[
                ("x-request-id", "req-1"),
                ("authorization", "Bearer secret-2"),
            ],
        )
        .unwrap();
    assert_eq!(ok.status, 200);
    // Filtered out by `only_status`: no filter state, and the access log's filter skips it.
    let missing = envoy
        .get(
            "/missing",
            &[("x-request-id", "req-2"), ("x-echo-status", "404")],
        )
        .unwrap();
    assert_eq!(missing.status, 404);
    let failed = envoy
        .get(
            "/fail",
            &[("x-request-id", "req-3"), ("x-echo-status", "503")],
        )
        .unwrap();
    assert_eq!(failed.status, 503);
    // The status and the response size are known only at the end of the stream: the line was
    // stored in on_log, and the HCM's access log ran after it.
    let expected = format!(
        "{}\n{}\n",
        json!({
            "method": "GET",
            "path": "/cart?item=42&token=[REDACTED]",
            "status": 200,
            "response_code_details": "via_upstream",
            "response_bytes": ok.body.len(),
            "request_id": "req-1",
            "request_headers": {"authorization": "[REDACTED]"},
        }),
        json!({
            "method": "GET",
            "path": "/fail",
            "status": 503,
            "response_code_details": "via_upstream",
            "response_bytes": failed.body.len(),
            "request_id": "req-3",
            "request_headers": {},
        }),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    let printed = loop {
        let text = std::fs::read_to_string(&access_log).unwrap_or_default();
        if text.len() >= expected.len() || Instant::now() > deadline {
            break text;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    // serde_json's `json!` keeps keys sorted; the filter writes them in `fields` order. Compare
    // line by line as JSON, then the exact text of the first line.
    let lines: Vec<Value> = printed
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let wanted: Vec<Value> = expected
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines, wanted, "access log:\n{printed}");
    assert_eq!(
        printed.lines().next().unwrap(),
        format!(
            r#"{{"method":"GET","path":"/cart?item=42&token=[REDACTED]","status":200,"response_code_details":"via_upstream","response_bytes":{},"request_id":"req-1","request_headers":{{"authorization":"[REDACTED]"}}}}"#,
            ok.body.len()
        )
    );
    // Nothing went through proxy_log, and no secret reached either log.
    assert_eq!(envoy.wasm_logs(), Vec::<(String, String)>::new());
    for secret in ["secret-1", "secret-2"] {
        assert!(!printed.contains(secret) && !envoy.log().contains(secret));
    }
    assert_eq!(envoy.stat("wasmcustom.request_logging.logged"), Some(2));
    assert_eq!(
        envoy.stat("wasmcustom.request_logging.filtered_out"),
        Some(1)
    );
}
