//! Situations where the proxy-wasm SDK's own getters would trap the module, met by the real
//! module: each is an ordinary refusal or pass, the VM stays healthy and serves the next
//! request.
//!
//! - A callout answer with no header map (a reset callout: `(0, 0, 0)`, and Envoy answers
//!   BadArgument for the map, envoy #26485) and the other ways an auth service fails.
//! - Client bytes that are not UTF-8 where the SDK's `String` getters would `unwrap` them.

use crate::support::*;
use harness::{Action, Level, Plugin, Request, Response};
use serde_json::{json, Value};
use std::time::Duration;

fn remote_config(failure_mode_allow: bool) -> Value {
    json!({
        "mode": "remote",
        "exempt_paths": ["/healthz"],
        "remote": {
            "cluster": AUTH_CLUSTER,
            "path": "/check",
            "timeout_ms": 250,
            "forward_headers": ["authorization", "cookie", ":path"],
            "upstream_headers": ["x-user-id"],
            "identity_from": "x-user-id",
            "failure_mode_allow": failure_mode_allow
        }
    })
}

fn client_request() -> Request {
    Request::get("/api/orders")
        .header("authorization", "Bearer tok-1")
        .header("x-auth-client", "spoofed")
}

/// How the auth service fails to answer a pending callout.
#[derive(Clone, Copy, Debug)]
enum Outage {
    /// The callout's stream is reset: `proxy_on_http_call_response(token, 0, 0, 0)` and no
    /// header map to read.
    Reset,
    /// The cluster refuses the connection: Envoy answers with its own 503.
    RefusedConnection,
    /// No answer within `timeout_ms`: Envoy answers with its own 504.
    Timeout,
}

/// Makes a request wait for the callout, fails the callout, and checks the outcome in both
/// failure modes: no trap, a 503 or a pass without identity, and a healthy VM afterwards.
fn failed_callout(outage: Outage, why: &str) {
    for allow in [false, true] {
        let mut p = start(remote_config(allow));
        let req = client_request();
        let mut s = p.http_stream();
        assert_eq!(
            s.request_headers(&req.headers, true).unwrap(),
            Action::Pause
        );
        let token = s.plugin().pending_http_calls()[0].token;
        match outage {
            Outage::Reset => s.plugin().reset_http_call(token).unwrap(),
            Outage::RefusedConnection => s.plugin().fail_http_call(token).unwrap(),
            Outage::Timeout => s
                .plugin()
                .advance_clock(Duration::from_millis(300))
                .unwrap(),
        }
        assert_eq!(s.plugin().failure(), None, "{outage:?}: the module trapped");
        if allow {
            assert!(s.local_reply().is_none(), "{outage:?}");
            assert!(!s.is_paused(), "{outage:?}: not resumed");
            assert_eq!(s.request().header("x-auth-client"), None);
        } else {
            let reply = s.local_reply().expect("a 503").clone();
            assert_eq!(reply.status, 503, "{outage:?}");
            assert_eq!(
                String::from_utf8(reply.body).unwrap(),
                r#"{"error":"unavailable","message":"authorization service unavailable","status":503}"#
            );
        }
        drop(s);
        let verdict = if allow {
            "allowing the request (failure_mode_allow)"
        } else {
            "denying the request"
        };
        assert_eq!(
            p.logs_at(Level::Warn),
            [format!(
                "authorization service `{AUTH_CLUSTER}` failed ({why}); {verdict}"
            )],
            "{outage:?}"
        );
        let outcome = if allow {
            "auth_check.failure_mode_allowed"
        } else {
            "auth_check.denied.service_unavailable"
        };
        assert_eq!(
            counters(&p),
            expect_counters(&[("auth_check.errors", 1), (outcome, 1)])
        );
        still_serves(&mut p);
    }
}

/// The VM did not trap: the next request is checked and allowed as usual.
fn still_serves(p: &mut Plugin) {
    p.answer_http_calls(
        AUTH_CLUSTER,
        Response::status(200).header("x-user-id", "u-next"),
    );
    let ex = p.send(client_request(), Response::status(200)).unwrap();
    assert_eq!(ex.upstream.unwrap().header("x-auth-client"), Some("u-next"));
    assert_eq!(p.failure(), None);
}

#[test]
fn reset_callout_without_response_headers_does_not_trap() {
    failed_callout(Outage::Reset, "no response (timeout or connection failure)");
}

#[test]
fn failed_callout_does_not_trap() {
    failed_callout(Outage::RefusedConnection, "status 503");
}

#[test]
fn timed_out_callout_does_not_trap() {
    failed_callout(Outage::Timeout, "status 504");
}

#[test]
fn auth_service_answer_with_invalid_utf8_does_not_trap() {
    // Allowed: the identity and copied header keep their bytes.
    let mut p = start(remote_config(false));
    p.answer_http_calls(
        AUTH_CLUSTER,
        Response::status(200).header("x-user-id", b"u-\xff\xfe"),
    );
    let ex = p.send(client_request(), Response::status(200)).unwrap();
    let up = ex.upstream.unwrap();
    let identity = up
        .headers
        .iter()
        .find(|(n, _)| n == "x-auth-client")
        .map(|(_, v)| v.clone());
    assert_eq!(identity.as_deref(), Some(&b"u-\xff\xfe"[..]));
    assert_eq!(p.failure(), None);
    // Denied: a content-type that is not UTF-8 is not passed on; the body is.
    let mut p = start(remote_config(false));
    p.answer_http_calls(
        AUTH_CLUSTER,
        Response::status(403)
            .header("content-type", b"text/\xff")
            .body(b"no \xff"),
    );
    let ex = p.send(client_request(), Response::status(200)).unwrap();
    assert!(ex.upstream.is_none());
    assert_eq!(ex.client.status(), Some(403));
    assert_eq!(ex.client.body, b"no \xff");
    // Not passed on: the reply has Envoy's default content type.
    assert_eq!(ex.client.header("content-type"), Some("text/plain"));
    assert_eq!(p.failure(), None);
}

#[test]
fn client_headers_with_invalid_utf8_do_not_trap() {
    // api_key: the key header and a `:path` read for exempt paths and the query key.
    let mut p = start(json!({
        "mode": "api_key",
        "exempt_paths": ["/healthz"],
        "api_key": {"header": "x-api-key", "query_param": "api_key",
                    "keys": [{"client": "ci", "key": "k-1"}]}
    }));
    let ex = p
        .send(
            Request::get("/api?x=\u{e9}").header("x-api-key", b"k-\xff"),
            Response::status(200),
        )
        .unwrap();
    assert_json_error(&ex, 401, "unauthorized", "invalid API key");
    // Not ASCII, so never exempt: checked, and the query key is not a configured one.
    let req = Request::get("/").header(":path", b"/healthz/\xff?api_key=k-\xff");
    let ex = p.send(req, Response::status(200)).unwrap();
    assert_json_error(&ex, 401, "unauthorized", "invalid API key");
    assert_eq!(
        counters(&p),
        expect_counters(&[("auth_check.denied.invalid_credentials", 2)])
    );

    // remote: forwarded headers that are not UTF-8 reach the service as replacement text.
    let mut p = start(remote_config(false));
    let req = client_request().header("cookie", b"s=\xff");
    let mut s = p.http_stream();
    assert_eq!(
        s.request_headers(&req.headers, true).unwrap(),
        Action::Pause
    );
    let call = s.plugin().pending_http_calls()[0].clone();
    let cookie = call
        .headers
        .iter()
        .find(|(n, _)| n == "cookie")
        .map(|(_, v)| v.clone());
    assert_eq!(cookie.as_deref(), Some("s=\u{fffd}".as_bytes()));
    drop(s);
    assert_eq!(p.failure(), None);
}
