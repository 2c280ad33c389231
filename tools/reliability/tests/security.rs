//! Security properties, checked exactly (the fuzz tests check them under random input too):
//! identity headers from clients are stripped (auth_check), metadata_exchange bounds header size
//! and nesting at the exact limits, no filter logs a secret, and each filter's Istio
//! `failStrategy` is the documented one (auth_check fails closed).

use harness::{Level, Plugin, Request, Response};
use reliability::secrets::{assert_no_secrets, base64};
use reliability::structpb::{nested_struct, one_string};
use serde_json::json;
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

// ---- auth_check: identity headers ---------------------------------------------------------

fn auth(config: serde_json::Value) -> Plugin {
    Plugin::builder("auth_check")
        .config_json(config)
        .cluster("auth_service")
        .log_level(Level::Trace)
        .start()
        .unwrap()
}

/// The request a spoofing client sends: its own identity, twice, in mixed case.
fn spoofing(req: Request) -> Request {
    req.header("X-Auth-Client", "admin")
        .header("x-auth-CLIENT", "root")
}

#[test]
fn auth_check_replaces_client_identity_headers_in_every_mode() {
    let mut p = auth(json!({"mode": "api_key", "exempt_paths": ["/healthz"],
        "api_key": {"keys": [{"client": "ci", "key": "k-123456"}]}}));
    let ok = p
        .send(
            spoofing(Request::get("/x").header("x-api-key", "k-123456")),
            Response::status(200),
        )
        .unwrap();
    assert_eq!(ok.upstream.unwrap().header_all("x-auth-client"), ["ci"]);
    let exempt = p
        .send(spoofing(Request::get("/healthz")), Response::status(200))
        .unwrap();
    assert_eq!(
        exempt.upstream.unwrap().header_all("x-auth-client"),
        Vec::<&str>::new()
    );

    let mut p = auth(json!({"mode": "basic", "identity_header": "x-user",
        "basic": {"users": ["alice:{SHA}tiY7sUhYKUwI5L3866kDY+ENcrQ="]}}));
    let ok = p
        .send(
            Request::get("/x")
                .header("authorization", "Basic YWxpY2U6d29uZGVybGFuZA==")
                .header("X-User", "mallory"),
            Response::status(200),
        )
        .unwrap();
    assert_eq!(ok.upstream.unwrap().header_all("x-user"), ["alice"]);

    // Remote: the service's x-user-id replaces the client's; fail-open passes without one.
    let remote = |allow: bool| {
        json!({"mode": "remote", "remote": {"cluster": "auth_service", "path": "/check",
            "upstream_headers": ["x-user-id"], "identity_from": "x-user-id", "failure_mode_allow": allow}})
    };
    let mut p = auth(remote(false));
    p.answer_http_calls(
        "auth_service",
        Response::status(200).header("x-user-id", "u-42"),
    );
    let ok = p
        .send(
            spoofing(Request::get("/x").header("X-User-Id", "u-1")),
            Response::status(200),
        )
        .unwrap();
    let up = ok.upstream.unwrap();
    assert_eq!(up.header_all("x-auth-client"), ["u-42"]);
    assert_eq!(up.header_all("x-user-id"), ["u-42"]);
    let mut p = auth(remote(true));
    p.answer_http_calls("auth_service", Response::status(500));
    let open = p
        .send(
            spoofing(Request::get("/x").header("x-user-id", "u-1")),
            Response::status(200),
        )
        .unwrap();
    let up = open.upstream.unwrap();
    assert!(
        up.header("x-auth-client").is_none() && up.header("x-user-id").is_none(),
        "{up:?}"
    );
}

// ---- metadata_exchange: bounds --------------------------------------------------------------

fn inbound(config: serde_json::Value) -> Plugin {
    Plugin::builder("metadata_exchange")
        .config_json(config)
        .node_id("sidecar~10.0.0.1~server.default~default.svc.cluster.local")
        .node_metadata(json!({"NAME": "server", "NAMESPACE": "default"}))
        .property(&["xds", "listener_direction"], 1i64.to_le_bytes())
        .log_level(Level::Trace)
        .start()
        .unwrap()
}

/// Sends `value` as the peer's metadata; returns the stored peer and the failure counter.
fn offer(p: &mut Plugin, value: &[u8]) -> (Option<Vec<u8>>, i64) {
    let mut s = p.http_stream();
    s.request_headers(
        &[
            (":path", "/".as_bytes()),
            (":method", b"GET"),
            (":authority", b"server"),
            ("x-envoy-peer-metadata", value),
            ("x-envoy-peer-metadata-id", b"sidecar~10.0.0.2~c.default~x"),
        ],
        true,
    )
    .unwrap();
    assert!(
        s.request().header("x-envoy-peer-metadata").is_none(),
        "stripped"
    );
    let stored = s.filter_state("wasm.downstream_peer");
    s.complete().unwrap();
    drop(s);
    (
        stored,
        p.metric("metadata_exchange.decode_failures").unwrap(),
    )
}

#[test]
fn metadata_exchange_accepts_exactly_max_header_size_bytes_and_not_one_more() {
    let max = 400;
    let mut p = inbound(json!({"max_header_size": max}));
    // A Struct whose base64 is exactly `max` bytes, and one a block longer.
    let exact = (1..400)
        .map(|n| one_string("NAME", &"a".repeat(n)))
        .find(|s| base64(s).len() == max)
        .unwrap();
    let (stored, failures) = offer(&mut p, base64(&exact).as_bytes());
    assert_eq!((stored.as_deref(), failures), (Some(exact.as_slice()), 0));
    let over = one_string("NAME", &"a".repeat(exact.len()));
    assert!(base64(&over).len() > max);
    let (stored, failures) = offer(&mut p, base64(&over).as_bytes());
    assert_eq!((stored, failures), (None, 1));
    // The id has the same bound.
    let (_, failures) = offer(&mut p, &vec![b'='; 70_000]);
    assert_eq!(failures, 2);
}

#[test]
fn metadata_exchange_accepts_exactly_max_nesting_depth_and_not_one_more() {
    for depth in [1usize, 3, 8] {
        let mut p = inbound(json!({"max_nesting_depth": depth}));
        let ok = nested_struct(depth);
        let (stored, failures) = offer(&mut p, base64(&ok).as_bytes());
        assert_eq!(
            (stored.as_deref(), failures),
            (Some(ok.as_slice()), 0),
            "depth {depth}"
        );
        let (stored, failures) = offer(&mut p, base64(&nested_struct(depth + 1)).as_bytes());
        assert_eq!(
            (stored, failures),
            (None, 1),
            "depth {} over a limit of {depth}",
            depth + 1
        );
    }
    // Far deeper than any limit (a stack-exhaustion attempt) is refused the same way.
    let mut p = inbound(json!({}));
    let (stored, failures) = offer(&mut p, base64(&nested_struct(2000)).as_bytes());
    assert_eq!((stored, failures), (None, 1));
}

// ---- secrets in logs: every filter ------------------------------------------------------------

const SECRETS: [&str; 6] = [
    "ak_live_6Jd93kq0VbXz",
    "wonderland",
    "Bearer tok-5ecret-abc",
    "sess=c00k1e-5ecret",
    "pr0xy-5ecret",
    "hdr-5ecret-value",
];

/// Requests carrying every secret in the headers that hold credentials.
fn secret_requests() -> Vec<Request> {
    let base = || Request::get("/x?debug=1");
    vec![
        base().header("x-api-key", SECRETS[0]),
        base().header(
            "authorization",
            format!(
                "Basic {}",
                base64(format!("alice:{}", SECRETS[1]).as_bytes())
            ),
        ),
        base()
            .header("authorization", SECRETS[2])
            .header("cookie", SECRETS[3]),
        base()
            .header("proxy-authorization", SECRETS[4])
            .header("x-api-key", "ak_wrong_guess"),
        base().header("x-session-token", SECRETS[5]),
    ]
}

/// `logs`: whether the filter logs anything per request at trace (http_headers does not: then
/// the check is that it stays silent).
fn sweep(mut plugin: Plugin, name: &str, logs: bool) {
    for r in secret_requests() {
        let _ = plugin.send(r, Response::status(200).header("set-cookie", SECRETS[3]));
        assert_eq!(plugin.failure(), None, "{name}");
    }
    assert_eq!(
        !plugin.logs().is_empty(),
        logs,
        "{name}: {:?}",
        plugin.logs()
    );
    assert_no_secrets(plugin.logs(), &SECRETS);
}

#[test]
fn no_filter_logs_a_secret_at_trace_level() {
    let start = |name: &str, config: serde_json::Value| {
        Plugin::builder(name)
            .config_json(config)
            .cluster("auth_service")
            .node_id("sidecar~10.0.0.1~self.default~default.svc.cluster.local")
            .node_metadata(json!({"NAME": "self", "NAMESPACE": "default"}))
            .log_level(Level::Trace)
            .start()
            .unwrap()
    };
    sweep(
        start(
            "http_headers",
            json!({"request": {"set": {"x-copy": "%REQ(authorization)%"}}}),
        ),
        "http_headers",
        false,
    );
    sweep(
        start(
            "request_logging",
            json!({"request_headers": ["authorization", "cookie", "proxy-authorization", "x-api-key", "x-session-token"],
                                         "response_headers": ["set-cookie"], "redact": ["x-session-token"]}),
        ),
        "request_logging",
        true,
    );
    sweep(
        start(
            "auth_check",
            json!({"mode": "api_key", "api_key": {"keys": [{"client": "ci", "key": SECRETS[0]}]}}),
        ),
        "auth_check api_key",
        true,
    );
    sweep(
        start(
            "auth_check",
            json!({"mode": "basic", "basic": {"users": ["alice:{SHA}tiY7sUhYKUwI5L3866kDY+ENcrQ="]}}),
        ),
        "auth_check basic",
        true,
    );
    let mut remote = start(
        "auth_check",
        json!({"mode": "remote", "remote": {"cluster": "auth_service", "path": "/check",
        "forward_headers": ["authorization", "cookie", "x-session-token"]}}),
    );
    remote.answer_http_calls("auth_service", Response::status(401).body(SECRETS[5]));
    sweep(remote, "auth_check remote", true);
    sweep(
        start("metadata_exchange", json!({})),
        "metadata_exchange",
        true,
    );
}

// ---- failStrategy in the Istio manifests ------------------------------------------------------

/// The documented strategy of each filter (SECURITY.md says why).
const STRATEGIES: [(&str, &str); 4] = [
    ("auth_check", "FAIL_CLOSE"),
    ("http_headers", "FAIL_OPEN"),
    ("request_logging", "FAIL_OPEN"),
    ("metadata_exchange", "FAIL_OPEN"),
];

/// The value of `KEY: value` at the given indentation in a committed manifest of the filter
/// (deploy/kind/tests/test_manifests.sh checks the rendered objects against the Istio schemas).
fn manifest_value(filter: &str, file: &str, indent: usize, key: &str) -> Option<String> {
    let text = std::fs::read_to_string(root().join("deploy").join(filter).join(file)).ok()?;
    let prefix = format!("{}{key}: ", " ".repeat(indent));
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .map(|v| v.trim().trim_matches('"').to_string())
}

#[test]
fn each_filter_has_its_documented_fail_strategy_and_auth_check_fails_closed() {
    let filters: Vec<String> = std::fs::read_dir(root().join("filters"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| {
            n != "common"
                && root()
                    .join("deploy")
                    .join(n)
                    .join("wasmplugin.yaml")
                    .is_file()
        })
        .collect();
    for f in &filters {
        assert!(
            STRATEGIES.iter().any(|(n, _)| n == f),
            "filter {f} has Istio manifests but no documented failStrategy (add it here and to SECURITY.md)"
        );
    }
    let security = std::fs::read_to_string(root().join("SECURITY.md")).unwrap();
    for (filter, strategy) in STRATEGIES {
        assert_eq!(
            manifest_value(filter, "wasmplugin.yaml", 2, "failStrategy").as_deref(),
            Some(strategy),
            "{filter}: WasmPlugin"
        );
        let row = format!("| `{filter}` | `{strategy}` |");
        assert!(security.contains(&row), "SECURITY.md lacks the row `{row}`");
    }
    // Authentication runs first in the chain, so nothing before it trusts identity headers.
    assert_eq!(
        manifest_value("auth_check", "wasmplugin.yaml", 2, "phase").as_deref(),
        Some("AUTHN")
    );
}

/// The TrafficExtension and the EnvoyFilter of each filter fail the same way as its WasmPlugin.
#[test]
fn every_mesh_method_has_the_documented_fail_strategy() {
    for (filter, strategy) in STRATEGIES {
        assert_eq!(
            manifest_value(
                filter,
                "trafficextension/trafficextension.yaml",
                4,
                "failStrategy"
            )
            .as_deref(),
            Some(strategy),
            "{filter}: TrafficExtension"
        );
        let envoy = if strategy == "FAIL_OPEN" {
            "FAIL_OPEN"
        } else {
            "FAIL_CLOSED"
        };
        assert_eq!(
            manifest_value(filter, "envoyfilter/envoyfilter.yaml", 14, "failure_policy").as_deref(),
            Some(envoy),
            "{filter}: EnvoyFilter"
        );
    }
}
