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
