//! auth_check in a real Envoy, remote mode against a local auth service (the example
//! configuration in deploy/auth_check/config.json). Run by scripts/test.d/20-envoy.sh.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{echo_upstream, Echoed};
use echo_upstream::{handlers, Request, Server};
use envoy_e2e::envoy::inline_bootstrap;
use envoy_e2e::EnvoyBuilder;
use std::collections::BTreeMap;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

/// The auth service (token `t-alice` → alice), recording what it was asked.
fn auth_service() -> (Server, Arc<Mutex<Vec<Request>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let tokens = BTreeMap::from([("t-alice".to_string(), "alice".to_string())]);
    let server = Server::start(
        "127.0.0.1:0",
        Arc::new(move |req: &Request| {
            log.lock().unwrap().push(req.clone());
            handlers::auth(&tokens, req)
        }),
    )
    .unwrap();
    (server, seen)
}

fn builder(upstream: u16, auth: u16) -> EnvoyBuilder {
    EnvoyBuilder::new("auth_check")
        .upstream(upstream)
        .var("AUTH_PORT", auth)
        .var("AUTH_CLUSTER", "auth_service")
}

#[test]
#[ignore = "needs Envoy: scripts/test.d/20-envoy.sh"]
fn remote_mode_denies_and_allows_as_the_auth_service_says() {
    let upstream = echo_upstream();
    let (auth, asked) = auth_service();
    let envoy = builder(upstream.port(), auth.port()).start().unwrap();

    let missing = envoy.get("/private", &[]).unwrap();
    assert_eq!(missing.status, 401);
    assert_eq!(missing.body_text(), r#"{"error":"missing credentials"}"#);

    let unknown = envoy
        .get("/private", &[("authorization", "Bearer wrong")])
        .unwrap();
    assert_eq!(unknown.status, 403);
    assert_eq!(unknown.body_text(), r#"{"error":"unknown token"}"#);

    // A client-sent identity header must never reach the upstream.
    let allowed = envoy
        .get(
            "/private?q=1",
            &[
                ("authorization", "Bearer t-alice"),
                ("x-auth-client", "mallory"),
            ],
        )
        .unwrap();
    assert_eq!(allowed.status, 200);
    let seen = Echoed::from(&allowed);
    assert_eq!(seen.header_all("x-auth-client"), vec!["alice"]);
    assert_eq!(seen.header_all("x-user-id"), vec!["alice"]);

    let health = envoy.get("/healthz", &[]).unwrap();
    assert_eq!(health.status, 200, "exempt path");

    let asked = asked.lock().unwrap();
    assert_eq!(asked.len(), 3, "one callout per non-exempt request");
    let last = &asked[2];
    assert_eq!(last.path, "/bearer");
    assert_eq!(last.header("authorization"), Some("Bearer t-alice"));
    assert_eq!(last.header("x-forwarded-uri"), Some("/private?q=1"));
    assert_eq!(envoy.stat("wasmcustom.auth_check.allowed"), Some(1));
    assert_eq!(envoy.stat("wasmcustom.auth_check.exempt"), Some(1));
    assert_eq!(
        envoy.stat("wasmcustom.auth_check.denied.remote_denied"),
        Some(2)
    );
    assert!(!envoy.log().contains("t-alice"), "a secret reached the log");
}

#[test]
#[ignore = "needs Envoy: scripts/test.d/20-envoy.sh"]
fn auth_service_down_fails_closed_with_503() {
    let upstream = echo_upstream();
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let envoy = builder(upstream.port(), closed).start().unwrap();
    let resp = envoy
        .get("/private", &[("authorization", "Bearer t-alice")])
        .unwrap();
    assert_eq!(resp.status, 503, "{}", resp.body_text());
    assert_eq!(
        envoy.stat("wasmcustom.auth_check.denied.service_unavailable"),
        Some(1)
    );
}

#[test]
#[ignore = "needs Envoy: scripts/test.d/20-envoy.sh"]
fn api_key_mode_in_envoy() {
    let upstream = echo_upstream();
    let envoy = builder(upstream.port(), 1)
        .config(r#"{"mode": "api_key", "strip_credentials": true, "api_key": {"keys": [{"client": "ci", "key": "k-123"}]}}"#)
        .start()
        .unwrap();
    assert_eq!(envoy.get("/", &[]).unwrap().status, 401);
    assert_eq!(
        envoy.get("/", &[("x-api-key", "nope")]).unwrap().status,
        401
    );
    let ok = envoy.get("/", &[("x-api-key", "k-123")]).unwrap();
    assert_eq!(ok.status, 200);
    let seen = Echoed::from(&ok);
    assert_eq!(seen.header("x-auth-client"), Some("ci"));
    assert_eq!(seen.header("x-api-key"), None, "strip_credentials");
    assert_eq!(
        envoy.stat("wasmcustom.auth_check.denied.missing_credentials"),
        Some(1)
    );
    assert_eq!(
        envoy.stat("wasmcustom.auth_check.denied.invalid_credentials"),
        Some(1)
    );
}

#[test]
#[ignore = "needs Envoy: scripts/test.d/20-envoy.sh"]
fn bad_config_makes_envoy_refuse_to_start_with_the_filters_message() {
    let err = EnvoyBuilder::new("auth_check")
        .bootstrap(inline_bootstrap("auth_check", false))
        .config(r#"{"mode": "remote", "remote": {"cluster": "auth_service", "path": "/x", "timeout_ms": 0}}"#)
        .start()
        .err()
        .expect("Envoy must refuse the configuration");
    assert!(err.starts_with("Envoy exited at startup"), "{err}");
    assert!(
        err.contains("wasm log auth_check auth_check: invalid configuration:")
            && err.contains("timeout_ms")
            && err.contains("must be greater than 0, got 0"),
        "{err}"
    );
}

/// API keys from the header or the `api_key` query parameter, `/healthz` exempt.
const API_KEY_CONFIG: &str = r#"{"mode": "api_key", "exempt_paths": ["/healthz"],
  "api_key": {"header": "x-api-key", "query_param": "api_key", "keys": [{"client": "ci", "key": "k-123"}]}}"#;

/// Every header of an echoed request that a backend reads as `name` (`_` as `-`, any case).
fn spellings_of<'a>(seen: &'a Echoed, name: &str) -> Vec<(&'a str, &'a str)> {
    seen.headers
        .iter()
        .filter(|(n, _)| {
            let spelled: String = n
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() {
                        c.to_ascii_lowercase()
                    } else {
                        '-'
                    }
                })
                .collect();
            spelled == name
        })
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect()
}

/// Envoy passes `_` in header names by default (`headers_with_underscores_action: ALLOW`):
/// the filter must remove those spellings of the identity header itself.
#[test]
#[ignore = "needs Envoy: scripts/test.d/20-envoy.sh"]
fn identity_header_spellings_with_underscores_never_reach_the_upstream() {
    let upstream = echo_upstream();
    let envoy = builder(upstream.port(), 1)
        .config(API_KEY_CONFIG)
        .start()
        .unwrap();
    let spoofed = [
        ("x_auth_client", "admin"),
        ("X_Auth-Client", "admin"),
        ("x-auth_client", "admin"),
        ("x.auth.client", "admin"),
        ("x+auth~client", "admin"),
    ];
    let mut headers = vec![("x-api-key", "k-123")];
    headers.extend(spoofed);
    let ok = envoy.get("/api", &headers).unwrap();
    assert_eq!(ok.status, 200, "{}", ok.body_text());
    let seen = Echoed::from(&ok);
    assert_eq!(
        spellings_of(&seen, "x-auth-client"),
        [("x-auth-client", "ci")]
    );
    // Exempt requests are cleaned too.
    let health = envoy.get("/healthz", &spoofed).unwrap();
    assert_eq!(health.status, 200);
    assert_eq!(spellings_of(&Echoed::from(&health), "x-auth-client"), []);
}

/// Paths Envoy forwards as they are (no `normalize_path`, the default) that a server may read
/// as another path are never exempt.
#[test]
#[ignore = "needs Envoy: scripts/test.d/20-envoy.sh"]
fn exempt_paths_with_parameters_or_dot_segments_are_checked() {
    let upstream = echo_upstream();
    let envoy = builder(upstream.port(), 1)
        .config(API_KEY_CONFIG)
        .start()
        .unwrap();
    let checked = [
        "/healthz/..;/admin",
        "/healthz/.;/admin",
        "/healthz;jsessionid=1/../admin",
        "/healthz/../admin",
        "/healthz/./admin",
        "/healthz/%2e%2e/admin",
        "/healthz%2f..%2fadmin",
        "/healthz//admin",
    ];
    for path in checked {
        let resp = envoy.get(path, &[]).unwrap();
        assert_eq!(resp.status, 401, "{path}: {}", resp.body_text());
    }
    assert_eq!(
        envoy.stat("wasmcustom.auth_check.denied.missing_credentials"),
        Some(checked.len() as u64)
    );
    assert_eq!(envoy.get("/healthz/live", &[]).unwrap().status, 200);
    assert_eq!(envoy.stat("wasmcustom.auth_check.exempt"), Some(1));
}

#[test]
#[ignore = "needs Envoy: scripts/test.d/20-envoy.sh"]
fn an_api_key_in_the_query_never_reaches_the_upstream() {
    let upstream = echo_upstream();
    let envoy = builder(upstream.port(), 1)
        .config(API_KEY_CONFIG)
        .start()
        .unwrap();
    let ok = envoy
        .get("/api/items?page=2&api_key=k-123&sort=asc", &[])
        .unwrap();
    assert_eq!(ok.status, 200, "{}", ok.body_text());
    let seen = Echoed::from(&ok);
    assert_eq!(seen.path, "/api/items?page=2&sort=asc");
    assert_eq!(seen.header("x-auth-client"), Some("ci"));
}

/// An auth service that answers every check with `status`, `headers` and `body`.
fn answering(status: u16, headers: &[(&str, &str)], body: &str) -> Server {
    let mut response = echo_upstream::Response::new(status).body(body);
    for (name, value) in headers {
        response = response.header(name, value);
    }
    Server::start("127.0.0.1:0", Arc::new(move |_: &Request| response.clone())).unwrap()
}

fn remote_fail_open(upstream: u16, auth: u16) -> EnvoyBuilder {
    builder(upstream, auth).config(
        r#"{"mode": "remote", "remote": {"cluster": "auth_service", "path": "/check",
           "upstream_headers": ["x-user-id"], "identity_from": "x-user-id", "failure_mode_allow": true}}"#,
    )
}

/// An auth service's answer: status, headers, body.
type Answer<'a> = (u16, &'a [(&'a str, &'a str)], &'a str);

/// As Envoy's ext_authz: any answer but a 2xx or 5xx is a denial passed to the client, even
/// with `failure_mode_allow`.
#[test]
#[ignore = "needs Envoy: scripts/test.d/20-envoy.sh"]
fn auth_service_denials_other_than_401_403_reach_the_client() {
    let upstream = echo_upstream();
    let login = "https://login.example.com/?next=%2Fapi";
    let cases: [Answer; 3] = [
        (302, &[("location", login)], ""),
        (
            429,
            &[("content-type", "text/plain"), ("retry-after", "30")],
            "slow down",
        ),
        (
            401,
            &[
                ("www-authenticate", "Bearer realm=\"api\""),
                ("content-type", "application/json"),
            ],
            r#"{"error":"login"}"#,
        ),
    ];
    for (status, headers, body) in cases {
        let auth = answering(status, headers, body);
        let envoy = remote_fail_open(upstream.port(), auth.port())
            .start()
            .unwrap();
        let resp = envoy.get("/api", &[("authorization", "Bearer t")]).unwrap();
        assert_eq!(resp.status, status, "{}", resp.body_text());
        assert_eq!(resp.body_text(), body);
        for (name, value) in headers {
            assert_eq!(resp.get(name), Some(*value), "{name} of {status}");
        }
        assert_eq!(
            envoy.stat("wasmcustom.auth_check.denied.remote_denied"),
            Some(1)
        );
        assert_eq!(
            envoy.stat("wasmcustom.auth_check.failure_mode_allowed"),
            Some(0)
        );
    }
}

#[test]
#[ignore = "needs Envoy: scripts/test.d/20-envoy.sh"]
fn an_allow_without_the_identity_header_is_denied_in_envoy() {
    let upstream = echo_upstream();
    let auth = answering(200, &[("x-other", "alice")], "");
    let envoy = remote_fail_open(upstream.port(), auth.port())
        .start()
        .unwrap();
    let resp = envoy.get("/api", &[("x-auth-client", "admin")]).unwrap();
    assert_eq!(resp.status, 403, "{}", resp.body_text());
    assert_eq!(
        resp.body_text(),
        r#"{"error":"forbidden","message":"authorization service sent no identity","status":403}"#
    );
}

/// A configuration the filter rejects never lets a request through: at startup Envoy refuses
/// the listener, and an update over ECDS leaves the running filter checking requests.
#[test]
#[ignore = "needs Envoy: scripts/test.d/20-envoy.sh"]
fn a_rejected_configuration_never_passes_requests_through() {
    let err = EnvoyBuilder::new("auth_check")
        .bootstrap(inline_bootstrap("auth_check", false))
        .config(r#"{"mode": "api_key", "identity_header": "content-length", "api_key": {"keys": [{"client": "ci", "key": "k"}]}}"#)
        .start()
        .err()
        .expect("Envoy must refuse the configuration");
    assert!(
        err.contains("field `identity_header`: `content-length` is a hop-by-hop or framing header, never an identity"),
        "{err}"
    );

    let upstream = echo_upstream();
    let envoy = builder(upstream.port(), 1)
        .config(API_KEY_CONFIG)
        .start()
        .unwrap();
    let module = envoy_e2e::paths::filter_wasm("auth_check").unwrap();
    let err = envoy
        .update_filter(
            &module,
            r#"{"mode": "remote", "remote": {"cluster": "auth_service", "path": "/c",
               "forward_headers": ["x-user"], "upstream_headers": ["x_user"]}}"#,
        )
        .unwrap_err();
    assert!(err.contains("config update rejected"), "{err}");
    assert!(
        err.contains("`x_user` is also in `remote.forward_headers`"),
        "{err}"
    );
    assert_eq!(envoy.get("/api", &[]).unwrap().status, 401);
    assert_eq!(
        envoy.get("/api", &[("x-api-key", "k-123")]).unwrap().status,
        200
    );
}

/// Trailers reach an upstream that accepts them (HTTP/2, or HTTP/1 with `enable_trailers` on
/// both sides, as here): a client's identity there is removed like one in the headers.
#[test]
#[ignore = "needs Envoy: scripts/test.d/20-envoy.sh"]
fn identity_in_a_trailer_never_reaches_the_upstream() {
    use std::io::{BufReader, Write};
    let template = envoy_e2e::paths::root().join("deploy/auth_check/envoy.yaml");
    let text = std::fs::read_to_string(&template).unwrap();
    let with_trailers = text
        .replacen(
            "          stat_prefix: ingress\n",
            "          stat_prefix: ingress\n          http_protocol_options: {enable_trailers: true}\n",
            1,
        )
        .replacen(
            "  - name: echo\n    connect_timeout: 1s\n",
            "  - name: echo\n    connect_timeout: 1s\n    typed_extension_protocol_options:\n      envoy.extensions.upstreams.http.v3.HttpProtocolOptions:\n        \"@type\": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions\n        explicit_http_config: {http_protocol_options: {enable_trailers: true}}\n",
            1,
        );
    assert_ne!(
        with_trailers, text,
        "the template changed: update this test"
    );
    let dir = envoy_e2e::TempDir::new("trailers").unwrap();
    let path = dir.path().join("envoy.yaml");
    std::fs::write(&path, with_trailers).unwrap();

    let upstream = echo_upstream();
    let envoy = builder(upstream.port(), 1)
        .template_file(&path)
        .config(API_KEY_CONFIG)
        .start()
        .unwrap();
    let mut conn = std::net::TcpStream::connect(envoy.addr()).unwrap();
    conn.write_all(
        b"POST /api HTTP/1.1\r\nhost: localhost\r\nx-api-key: k-123\r\ntransfer-encoding: chunked\r\n\r\n\
          7\r\npayload\r\n0\r\nx-auth-client: admin\r\nx_auth_client: admin\r\nx-trace: kept\r\n\r\n",
    )
    .unwrap();
    let resp = echo_upstream::http::read_response(&mut BufReader::new(conn), "POST").unwrap();
    assert_eq!(resp.status, 200, "{}", resp.body_text());
    let echoed: serde_json::Value = serde_json::from_slice(&resp.body).unwrap();
    assert_eq!(echoed["trailers"], serde_json::json!(["x-trace: kept"]));
    assert_eq!(Echoed::from(&resp).header("x-auth-client"), Some("ci"));
}
