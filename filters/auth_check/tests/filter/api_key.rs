//! `api_key` mode: header and query keys, exempt paths, identity header, stripping.

use crate::support::*;
use harness::{Plugin, Request, Response};
use serde_json::{json, Value};

const CI_KEY: &str = "ci-9f8e7d6c5b4a";
const WEB_KEY: &str = "web-0a1b2c3d4e5f";

fn config(extra: Value) -> Value {
    let mut c = json!({
        "mode": "api_key",
        "exempt_paths": ["/healthz", "/public/"],
        "api_key": {"keys": [
            {"client": "ci", "key": CI_KEY},
            {"client": "web", "key": WEB_KEY}
        ]}
    });
    if let (Some(c), Some(extra)) = (c.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            c.insert(k.clone(), v.clone());
        }
    }
    c
}

fn ok() -> Response {
    Response::status(200).body("upstream")
}

fn send(plugin: &mut Plugin, request: Request) -> harness::Exchange {
    plugin.send(request, ok()).unwrap()
}

#[test]
fn valid_header_key_is_allowed_with_identity() {
    let mut p = start(config(json!({})));
    let ex = send(&mut p, Request::get("/api").header("x-api-key", CI_KEY));
    let up = ex.upstream.expect("request reached the upstream");
    assert_eq!(up.header_all("x-auth-client"), ["ci"]);
    // Not stripped unless asked.
    assert_eq!(up.header("x-api-key"), Some(CI_KEY));
    assert_eq!(ex.client.status(), Some(200));
    assert_eq!(ex.client.body, b"upstream");

    let ex = send(&mut p, Request::get("/api").header("x-api-key", WEB_KEY));
    assert_eq!(ex.upstream.unwrap().header("x-auth-client"), Some("web"));
    assert_eq!(counters(&p), expect_counters(&[("auth_check.allowed", 2)]));
}

#[test]
fn missing_key_is_401_json() {
    let mut p = start(config(json!({})));
    let ex = send(&mut p, Request::get("/api"));
    assert_json_error(&ex, 401, "unauthorized", "missing API key");
    assert_eq!(ex.client.header("www-authenticate"), None);
    // An empty header counts as missing.
    let ex = send(&mut p, Request::get("/api").header("x-api-key", ""));
    assert_json_error(&ex, 401, "unauthorized", "missing API key");
    assert_eq!(
        counters(&p),
        expect_counters(&[("auth_check.denied.missing_credentials", 2)])
    );
}

#[test]
fn unknown_key_is_401_json() {
    let mut p = start(config(json!({})));
    for wrong in [
        "nope",
        &CI_KEY[..CI_KEY.len() - 1],
        &format!("{CI_KEY}x"),
        &CI_KEY.to_uppercase(),
    ] {
        let ex = send(&mut p, Request::get("/api").header("x-api-key", wrong));
        assert_json_error(&ex, 401, "unauthorized", "invalid API key");
    }
    // The key must be in the configured header, not another one.
    let ex = send(&mut p, Request::get("/api").header("authorization", CI_KEY));
    assert_json_error(&ex, 401, "unauthorized", "missing API key");
    assert_eq!(
        counters(&p),
        expect_counters(&[
            ("auth_check.denied.invalid_credentials", 4),
            ("auth_check.denied.missing_credentials", 1)
        ])
    );
}

#[test]
fn custom_header_and_query_param() {
    let mut p = start(config(json!({
        "api_key": {"header": "x-token", "query_param": "api_key",
                    "keys": [{"client": "ci", "key": CI_KEY}]}
    })));
    let ex = send(&mut p, Request::get("/api").header("x-token", CI_KEY));
    assert_eq!(ex.upstream.unwrap().header("x-auth-client"), Some("ci"));
    let ex = send(
        &mut p,
        Request::get(&format!("/api?a=1&api_key={CI_KEY}&b=2")),
    );
    let up = ex.upstream.unwrap();
    assert_eq!(up.header("x-auth-client"), Some("ci"));
    // A key in the URL never reaches the upstream unless `strip_credentials: false`.
    assert_eq!(up.header(":path"), Some("/api?a=1&b=2"));
    // Percent-encoded keys are decoded.
    let encoded = CI_KEY.replace('-', "%2D");
    let ex = send(&mut p, Request::get(&format!("/api?api_key={encoded}")));
    assert!(ex.upstream.is_some());
    // The default header is not read once another source is configured.
    let ex = send(&mut p, Request::get("/api").header("x-api-key", CI_KEY));
    assert_json_error(&ex, 401, "unauthorized", "missing API key");
    // The header wins over the query.
    let ex = send(
        &mut p,
        Request::get(&format!("/api?api_key={CI_KEY}")).header("x-token", "wrong"),
    );
    assert_json_error(&ex, 401, "unauthorized", "invalid API key");
}

#[test]
fn strip_credentials_removes_header_and_query_param() {
    let mut p = start(config(json!({
        "strip_credentials": true,
        "api_key": {"header": "x-api-key", "query_param": "api_key",
                    "keys": [{"client": "ci", "key": CI_KEY}]}
    })));
    let ex = send(&mut p, Request::get("/api?x=1").header("x-api-key", CI_KEY));
    let up = ex.upstream.unwrap();
    assert_eq!(up.header("x-api-key"), None);
    assert_eq!(up.header(":path"), Some("/api?x=1"));
    assert_eq!(up.header("x-auth-client"), Some("ci"));

    let ex = send(
        &mut p,
        Request::get(&format!("/api?x=1&api_key={CI_KEY}&y=2")),
    );
    let up = ex.upstream.unwrap();
    assert_eq!(up.header(":path"), Some("/api?x=1&y=2"));
    let ex = send(&mut p, Request::get(&format!("/api?api_key={CI_KEY}")));
    assert_eq!(ex.upstream.unwrap().header(":path"), Some("/api"));
}

#[test]
fn exempt_paths_skip_the_check() {
    let mut p = start(config(json!({})));
    for path in [
        "/healthz",
        "/healthz/live",
        "/healthz?full=1",
        "/public/app.css",
    ] {
        let ex = send(&mut p, Request::get(path));
        let up = ex
            .upstream
            .unwrap_or_else(|| panic!("{path} was not exempt"));
        assert_eq!(up.header("x-auth-client"), None, "{path}");
    }
    for path in [
        "/healthz-admin",
        "/healthz/../admin",
        "/healthz//x",
        "/public",
        "/healthz%2F..%2Fadmin",
        "/api/healthz",
    ] {
        let ex = send(&mut p, Request::get(path));
        assert_json_error(&ex, 401, "unauthorized", "missing API key");
    }
    assert_eq!(
        counters(&p),
        expect_counters(&[
            ("auth_check.exempt", 4),
            ("auth_check.denied.missing_credentials", 6)
        ])
    );
}

#[test]
fn spoofed_identity_header_never_reaches_upstream() {
    let mut p = start(config(json!({})));
    // With a valid key the filter's value replaces every client copy.
    let ex = send(
        &mut p,
        Request::get("/api")
            .header("x-auth-client", "admin")
            .header("x-api-key", CI_KEY)
            .header("x-auth-client", "root"),
    );
    assert_eq!(ex.upstream.unwrap().header_all("x-auth-client"), ["ci"]);
    // On an exempt path the client's copy is removed, not forwarded.
    let ex = send(
        &mut p,
        Request::get("/healthz").header("x-auth-client", "admin"),
    );
    assert_eq!(
        ex.upstream.unwrap().header_all("x-auth-client"),
        Vec::<&str>::new()
    );
}

#[test]
fn custom_identity_header() {
    let mut p = start(config(json!({"identity_header": "x-client-id"})));
    let ex = send(
        &mut p,
        Request::get("/api")
            .header("x-api-key", CI_KEY)
            .header("x-client-id", "spoof")
            .header("x-auth-client", "untouched"),
    );
    let up = ex.upstream.unwrap();
    assert_eq!(up.header_all("x-client-id"), ["ci"]);
    // Only the configured identity header is the filter's.
    assert_eq!(up.header("x-auth-client"), Some("untouched"));
}

#[test]
fn request_body_passes_after_allow() {
    let mut p = start(config(json!({})));
    let ex = p
        .send(
            Request::post("/api")
                .header("x-api-key", CI_KEY)
                .body("payload"),
            ok(),
        )
        .unwrap();
    assert_eq!(ex.upstream.unwrap().body, b"payload");
}

/// Without `exempt_paths` the filter reads `:path` only for a query key: a header key must
/// still work on any path, and the query key alone must still be found, decoded and stripped.
#[test]
fn without_exempt_paths_header_and_query_keys_still_work() {
    let keys = json!([{"client": "ci", "key": CI_KEY}]);
    let mut p = start(json!({"mode": "api_key", "api_key": {"keys": keys}}));
    for path in ["/healthz", "/public/app.css", "/api?api_key=x"] {
        let ex = send(&mut p, Request::get(path).header("x-api-key", CI_KEY));
        let up = ex.upstream.unwrap_or_else(|| panic!("{path} refused"));
        assert_eq!(up.header_all("x-auth-client"), ["ci"], "{path}");
        assert_eq!(up.header(":path"), Some(path));
        // Nothing is exempt without the setting.
        let ex = send(&mut p, Request::get(path));
        assert_json_error(&ex, 401, "unauthorized", "missing API key");
    }
    // The query is not a key source unless configured.
    let ex = send(&mut p, Request::get(&format!("/api?api_key={CI_KEY}")));
    assert_json_error(&ex, 401, "unauthorized", "missing API key");
    assert_eq!(
        counters(&p),
        expect_counters(&[
            ("auth_check.allowed", 3),
            ("auth_check.denied.missing_credentials", 4)
        ])
    );

    let mut p = start(json!({
        "mode": "api_key",
        "strip_credentials": true,
        "api_key": {"query_param": "api_key", "keys": keys}
    }));
    let ex = send(
        &mut p,
        Request::get(&format!(
            "/api?a=1&api_key={}&b=2",
            CI_KEY.replace('-', "%2D")
        )),
    );
    let up = ex.upstream.expect("query key allowed");
    assert_eq!(up.header_all("x-auth-client"), ["ci"]);
    assert_eq!(up.header(":path"), Some("/api?a=1&b=2"));
    let ex = send(&mut p, Request::get("/healthz?api_key=nope"));
    assert_json_error(&ex, 401, "unauthorized", "invalid API key");
    assert_eq!(
        counters(&p),
        expect_counters(&[
            ("auth_check.allowed", 1),
            ("auth_check.denied.invalid_credentials", 1)
        ])
    );
}
