//! `remote` mode: the callout, the service's verdicts, failures in both failure modes.

use crate::support::*;
use harness::{Action, Level, Plugin, Request, Response};
use serde_json::{json, Value};
use std::time::Duration;

fn config(remote_extra: Value, top_extra: Value) -> Value {
    let mut remote = json!({
        "cluster": AUTH_CLUSTER,
        "path": "/check",
        "timeout_ms": 250,
        "forward_headers": ["authorization", "cookie", ":path", ":method"],
        "upstream_headers": ["x-user-id", "x-user-roles"],
        "identity_from": "x-user-id"
    });
    if let (Some(r), Some(extra)) = (remote.as_object_mut(), remote_extra.as_object()) {
        for (k, v) in extra {
            r.insert(k.clone(), v.clone());
        }
    }
    let mut c = json!({"mode": "remote", "exempt_paths": ["/healthz"], "remote": remote});
    if let (Some(c), Some(extra)) = (c.as_object_mut(), top_extra.as_object()) {
        for (k, v) in extra {
            c.insert(k.clone(), v.clone());
        }
    }
    c
}

fn fail_open() -> Value {
    json!({"failure_mode_allow": true})
}

/// A client request carrying credentials and spoofed identity headers.
fn client_request() -> Request {
    Request::post("/api/orders?page=2")
        .header("authorization", "Bearer tok-1")
        .header("cookie", "session=abc")
        .header("x-user-id", "spoofed-user")
        .header("x-auth-client", "spoofed-client")
        .header("x-user-roles", "spoofed-admin")
        .header("x-request-id", "r-1")
}

fn unavailable(ex: &harness::Exchange) {
    assert_json_error(ex, 503, "unavailable", "authorization service unavailable");
}

#[test]
fn callout_carries_configured_headers_and_pauses() {
    let mut p = start(config(json!({}), json!({})));
    let req = client_request();
    let mut s = p.http_stream();
    assert_eq!(
        s.request_headers(&req.headers, true).unwrap(),
        Action::Pause
    );
    assert!(s.is_paused());
    let calls = s.plugin().pending_http_calls();
    assert_eq!(calls.len(), 1);
    let call = &calls[0];
    assert_eq!(call.cluster, AUTH_CLUSTER);
    assert_eq!(call.timeout, Some(Duration::from_millis(250)));
    assert!(call.body.is_empty());
    let headers: Vec<(&str, &str)> = call
        .headers
        .iter()
        .map(|(n, v)| (n.as_str(), std::str::from_utf8(v).unwrap()))
        .collect();
    assert_eq!(
        headers,
        [
            (":method", "GET"),
            (":path", "/check"),
            (":authority", AUTH_CLUSTER),
            ("authorization", "Bearer tok-1"),
            ("cookie", "session=abc"),
            ("x-forwarded-uri", "/api/orders?page=2"),
            ("x-forwarded-method", "POST"),
        ]
    );
    // While the callout is in flight the client's identity headers are already gone.
    assert_eq!(s.request().header("x-auth-client"), None);
    assert_eq!(s.request().header("x-user-id"), None);
}

#[test]
fn allow_copies_service_headers_upstream() {
    let mut p = start(config(json!({}), json!({})));
    let req = client_request();
    let mut s = p.http_stream();
    assert_eq!(
        s.request_headers(&req.headers, true).unwrap(),
        Action::Pause
    );
    let token = s.plugin().pending_http_calls()[0].token;
    s.plugin()
        .respond_http_call(
            token,
            Response::status(200)
                .header("x-user-id", "u-42")
                .header("x-user-roles", "reader")
                .header("x-user-roles", "writer")
                .header("x-internal", "not-copied"),
        )
        .unwrap();
    assert!(!s.is_paused(), "the request was not resumed");
    assert!(s.local_reply().is_none());
    let up = s.request().clone();
    assert_eq!(up.header_all("x-user-id"), ["u-42"]);
    assert_eq!(up.header_all("x-user-roles"), ["reader", "writer"]);
    assert_eq!(up.header_all("x-auth-client"), ["u-42"]);
    assert_eq!(up.header("x-internal"), None);
    assert_eq!(up.header("authorization"), Some("Bearer tok-1"));
    assert_eq!(up.header("x-request-id"), Some("r-1"));
    s.response_headers(&[(":status", "200")], true).unwrap();
    s.complete().unwrap();
    drop(s);
    assert_eq!(counters(&p), expect_counters(&[("auth_check.allowed", 1)]));
}

#[test]
fn allow_through_send_with_an_answering_service() {
    let mut p = start(config(json!({}), json!({})));
    p.answer_http_calls(
        AUTH_CLUSTER,
        Response::status(204).header("x-user-id", "u-7"),
    );
    let ex = p
        .send(client_request(), Response::status(200).body("ok"))
        .unwrap();
    let up = ex.upstream.unwrap();
    assert_eq!(up.header_all("x-auth-client"), ["u-7"]);
    assert_eq!(up.header_all("x-user-id"), ["u-7"]);
    // The service did not send x-user-roles: the client's copy must not survive.
    assert_eq!(up.header("x-user-roles"), None);
    assert_eq!(ex.client.body, b"ok");
}

#[test]
fn identity_defaults_to_the_cluster() {
    let mut p = start(config(
        json!({"identity_from": null, "upstream_headers": []}),
        json!({}),
    ));
    p.answer_http_calls(
        AUTH_CLUSTER,
        Response::status(200).header("x-user-id", "u-1"),
    );
    let ex = p.send(client_request(), Response::status(200)).unwrap();
    let up = ex.upstream.unwrap();
    assert_eq!(up.header_all("x-auth-client"), [AUTH_CLUSTER]);
    // Not configured for copying: the client's own header passes untouched.
    assert_eq!(up.header("x-user-id"), Some("spoofed-user"));
}

#[test]
fn service_denials_pass_status_and_body() {
    for status in [401u16, 403] {
        let mut p = start(config(json!({}), json!({})));
        let body = format!("{{\"error\":\"denied with {status}\"}}");
        p.answer_http_calls(
            AUTH_CLUSTER,
            Response::status(status)
                .header("content-type", "application/problem+json")
                .header("www-authenticate", "Bearer realm=\"api\"")
                .header("x-user-id", "should-not-leak")
                .body(&body),
        );
        let ex = p.send(client_request(), Response::status(200)).unwrap();
        assert!(ex.upstream.is_none());
        assert_eq!(ex.client.status(), Some(status));
        assert_eq!(ex.client.body, body.as_bytes());
        assert_eq!(
            ex.client.header("content-type"),
            Some("application/problem+json")
        );
        assert_eq!(
            ex.client.header("www-authenticate"),
            Some("Bearer realm=\"api\"")
        );
        assert_eq!(ex.client.header("x-user-id"), None);
        assert_eq!(
            counters(&p),
            expect_counters(&[("auth_check.denied.remote_denied", 1)])
        );
    }
}

#[test]
fn denial_with_empty_body() {
    let mut p = start(config(json!({}), json!({})));
    p.answer_http_calls(AUTH_CLUSTER, Response::status(401));
    let ex = p.send(client_request(), Response::status(200)).unwrap();
    assert_eq!(ex.client.status(), Some(401));
    assert!(ex.client.body.is_empty());
    assert!(ex.upstream.is_none());
}

#[test]
fn server_errors_fail_closed_by_default() {
    for status in [500u16, 502, 503, 504, 599] {
        let mut p = start(config(json!({}), json!({})));
        p.answer_http_calls(AUTH_CLUSTER, Response::status(status).body("oops"));
        let ex = p.send(client_request(), Response::status(200)).unwrap();
        unavailable(&ex);
        assert_eq!(
            counters(&p),
            expect_counters(&[
                ("auth_check.errors", 1),
                ("auth_check.denied.service_unavailable", 1)
            ])
        );
        assert_eq!(
            p.logs_at(Level::Warn),
            [format!(
                "authorization service `auth_service` failed (status {status}); denying the request"
            )]
        );
    }
}

#[test]
fn server_errors_fail_open_when_configured() {
    let mut p = start(config(fail_open(), json!({})));
    p.answer_http_calls(
        AUTH_CLUSTER,
        Response::status(503).header("x-user-id", "u-bad"),
    );
    let ex = p
        .send(client_request(), Response::status(200).body("ok"))
        .unwrap();
    let up = ex.upstream.expect("fail-open lets the request through");
    assert_eq!(up.header("x-auth-client"), None);
    assert_eq!(up.header("x-user-id"), None);
    assert_eq!(up.header("x-user-roles"), None);
    assert_eq!(ex.client.body, b"ok");
    assert_eq!(
        counters(&p),
        expect_counters(&[
            ("auth_check.errors", 1),
            ("auth_check.failure_mode_allowed", 1)
        ])
    );
    assert_eq!(
        p.logs_at(Level::Warn),
        ["authorization service `auth_service` failed (status 503); allowing the request (failure_mode_allow)"]
    );
}

/// Starts a request and returns the plugin with the stream's callout pending.
fn timeout_case(
    failure_mode_allow: bool,
) -> (
    Plugin,
    Option<harness::LocalReply>,
    Option<harness::Message>,
) {
    let mut p = start(config(
        json!({"failure_mode_allow": failure_mode_allow}),
        json!({}),
    ));
    let req = client_request();
    let mut s = p.http_stream();
    assert_eq!(
        s.request_headers(&req.headers, true).unwrap(),
        Action::Pause
    );
    s.plugin()
        .advance_clock(Duration::from_millis(200))
        .unwrap();
    assert!(s.is_paused(), "timed out too early");
    s.plugin()
        .advance_clock(Duration::from_millis(100))
        .unwrap();
    assert!(!s.is_paused() || s.local_reply().is_some());
    let reply = s.local_reply().cloned();
    let request = s.request().clone();
    drop(s);
    (p, reply, Some(request))
}

#[test]
fn timeout_fails_closed() {
    let (p, reply, _) = timeout_case(false);
    let reply = reply.expect("503 after the timeout");
    assert_eq!(reply.status, 503);
    assert_eq!(
        String::from_utf8(reply.body).unwrap(),
        r#"{"error":"unavailable","message":"authorization service unavailable","status":503}"#
    );
    assert_eq!(
        counters(&p),
        expect_counters(&[
            ("auth_check.errors", 1),
            ("auth_check.denied.service_unavailable", 1)
        ])
    );
    assert_eq!(
        p.logs_at(Level::Warn),
        // Envoy answers a timed-out callout with 504.
        ["authorization service `auth_service` failed (status 504); denying the request"]
    );
}

#[test]
fn timeout_fails_open() {
    let (p, reply, request) = timeout_case(true);
    assert!(reply.is_none());
    let request = request.unwrap();
    assert_eq!(request.header("x-auth-client"), None);
    assert_eq!(request.header("x-user-id"), None);
    assert_eq!(
        counters(&p),
        expect_counters(&[
            ("auth_check.errors", 1),
            ("auth_check.failure_mode_allowed", 1)
        ])
    );
}

/// How the auth service can fail to answer in Envoy 1.40: a refused connection is answered by
/// Envoy's router with its own 503 (`fail_http_call`); a reset stream gives no response at all
/// (`reset_http_call`, headers=0). Both are failures handled by `failure_mode_allow`.
#[test]
fn connection_failure_in_both_modes() {
    for (allow, reset) in [(false, false), (true, false), (false, true), (true, true)] {
        let mut p = start(config(json!({"failure_mode_allow": allow}), json!({})));
        let req = client_request();
        let mut s = p.http_stream();
        assert_eq!(
            s.request_headers(&req.headers, true).unwrap(),
            Action::Pause
        );
        let token = s.plugin().pending_http_calls()[0].token;
        if reset {
            s.plugin().reset_http_call(token).unwrap();
        } else {
            s.plugin().fail_http_call(token).unwrap();
        }
        assert!(!s.is_paused() || s.local_reply().is_some());
        match s.local_reply() {
            Some(r) => {
                assert!(!allow);
                assert_eq!(r.status, 503);
            }
            None => {
                assert!(allow);
                assert!(!s.is_paused());
                assert_eq!(s.request().header("x-auth-client"), None);
            }
        }
        drop(s);
        let why = if reset {
            "no response (timeout or connection failure)"
        } else {
            "status 503"
        };
        assert!(
            p.logs()
                .iter()
                .any(|l| l.message.contains(&format!("failed ({why})"))),
            "{:?}",
            p.logs()
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
    }
}

#[test]
fn unknown_cluster_fails_without_pausing() {
    for allow in [false, true] {
        let mut p = start(config(
            json!({"cluster": "no_such_cluster", "failure_mode_allow": allow}),
            json!({}),
        ));
        let ex = p.send(client_request(), Response::status(200)).unwrap();
        if allow {
            assert!(ex.upstream.is_some());
        } else {
            unavailable(&ex);
        }
        assert!(p.pending_http_calls().is_empty());
        let verdict = if allow {
            "allowing the request (failure_mode_allow)"
        } else {
            "denying the request"
        };
        assert_eq!(
            p.logs_at(Level::Warn),
            [format!(
                "authorization service `no_such_cluster` failed (cannot call: BadArgument); {verdict}"
            )]
        );
    }
}

#[test]
fn exempt_paths_make_no_callout() {
    let mut p = start(config(json!({}), json!({})));
    let ex = p
        .send(
            Request::get("/healthz")
                .header("x-user-id", "spoof")
                .header("x-auth-client", "x"),
            Response::status(200),
        )
        .unwrap();
    let up = ex.upstream.unwrap();
    assert_eq!(up.header("x-user-id"), None);
    assert_eq!(up.header("x-auth-client"), None);
    assert!(p.pending_http_calls().is_empty());
    assert_eq!(counters(&p), expect_counters(&[("auth_check.exempt", 1)]));
}

#[test]
fn strip_credentials_removes_forwarded_headers() {
    let mut p = start(config(json!({}), json!({"strip_credentials": true})));
    p.answer_http_calls(
        AUTH_CLUSTER,
        Response::status(200).header("x-user-id", "u-1"),
    );
    let ex = p.send(client_request(), Response::status(200)).unwrap();
    let up = ex.upstream.unwrap();
    assert_eq!(up.header("authorization"), None);
    assert_eq!(up.header("cookie"), None);
    // Pseudo-headers forwarded to the service are of course kept.
    assert_eq!(up.header(":path"), Some("/api/orders?page=2"));
    assert_eq!(up.header("x-auth-client"), Some("u-1"));
}

#[test]
fn reset_while_waiting_is_harmless() {
    let mut p = start(config(json!({}), json!({})));
    let req = client_request();
    let mut s = p.http_stream();
    assert_eq!(
        s.request_headers(&req.headers, true).unwrap(),
        Action::Pause
    );
    let token = s.plugin().pending_http_calls()[0].token;
    s.reset().unwrap();
    drop(s);
    // As in Envoy, the callout outlives its stream: its answer arrives for a context that
    // is gone and must be ignored without a trap, whatever it says.
    assert!(p.pending_http_calls().iter().any(|c| c.token == token));
    p.respond_http_call(token, Response::status(200).header("x-user-id", "late"))
        .unwrap();
    assert_eq!(p.failure(), None);
    assert_eq!(counters(&p), expect_counters(&[]));
    // The next request works normally.
    p.answer_http_calls(
        AUTH_CLUSTER,
        Response::status(200).header("x-user-id", "u-2"),
    );
    let ex = p.send(client_request(), Response::status(200)).unwrap();
    assert_eq!(ex.upstream.unwrap().header("x-auth-client"), Some("u-2"));
}

#[test]
fn concurrent_requests_get_their_own_answers() {
    let mut p = start(config(json!({}), json!({})));
    let (r1, r2) = (client_request(), client_request());
    let id1 = {
        let mut s = p.http_stream();
        s.request_headers(&r1.headers, true).unwrap();
        s.id()
    };
    let id2 = {
        let mut s = p.http_stream();
        s.request_headers(&r2.headers, true).unwrap();
        s.id()
    };
    assert_ne!(id1, id2);
    let calls = p.pending_http_calls();
    assert_eq!(calls.len(), 2);
    let mut tokens: Vec<u32> = calls.iter().map(|c| c.token).collect();
    tokens.sort();
    // Deny the second, allow the first.
    p.respond_http_call(tokens[1], Response::status(403))
        .unwrap();
    p.respond_http_call(
        tokens[0],
        Response::status(200).header("x-user-id", "first"),
    )
    .unwrap();
    assert_eq!(
        counters(&p),
        expect_counters(&[
            ("auth_check.allowed", 1),
            ("auth_check.denied.remote_denied", 1)
        ])
    );
}

#[test]
fn request_body_waits_for_the_verdict() {
    let mut p = start(config(json!({}), json!({})));
    let req = client_request();
    let mut s = p.http_stream();
    assert_eq!(
        s.request_headers(&req.headers, false).unwrap(),
        Action::Pause
    );
    s.request_body(b"order=42", true).unwrap();
    assert!(s.is_paused(), "the body must not pass before the verdict");
    let token = s.plugin().pending_http_calls()[0].token;
    s.plugin()
        .respond_http_call(token, Response::status(200).header("x-user-id", "u-5"))
        .unwrap();
    assert!(!s.is_paused());
    assert_eq!(s.request().body, b"order=42");
    assert_eq!(s.request().header("x-auth-client"), Some("u-5"));
    drop(s);
    // Through `send`, with a denial: nothing reaches the upstream, body included.
    p.answer_http_calls(AUTH_CLUSTER, Response::status(403).body("no"));
    let ex = p
        .send(
            client_request().body("secret payload"),
            Response::status(200),
        )
        .unwrap();
    assert!(ex.upstream.is_none());
    assert_eq!(ex.client.status(), Some(403));
}
