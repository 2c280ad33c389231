//! http_headers through the harness: the real module, driven as Envoy drives it.

// Test code: a failed expectation should panic with its message.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use harness::{Error, Level, Plugin, Request, Response};
use serde_json::{json, Value};

fn start(config: Value) -> Plugin {
    Plugin::builder("http_headers")
        .config_json(config)
        .plugin_name("edge-headers")
        .start()
        .expect("plugin starts")
}

fn ok() -> Response {
    Response::status(200)
        .header("content-type", "text/plain")
        .body("hi")
}

#[test]
fn empty_config_adds_hello_world_to_responses_only() {
    for config in [
        Plugin::builder("http_headers"),
        Plugin::builder("http_headers").config_json(json!({})),
    ] {
        let mut plugin = config.start().unwrap();
        let ex = plugin
            .send(Request::get("/").header("x-a", "1"), ok())
            .unwrap();
        assert_eq!(ex.client.header("hello"), Some("world"));
        assert_eq!(ex.client.header("content-type"), Some("text/plain"));
        let upstream = ex.upstream.unwrap();
        assert_eq!(upstream.header("hello"), None);
        assert_eq!(upstream.header("x-a"), Some("1"));
    }
}

#[test]
fn request_set_add_remove_with_duplicates() {
    let mut plugin = start(json!({"request": {
        "set": {"x-dup": "one", "x-new": "fresh"},
        "add": {"x-multi": "added", "x-other": "v"},
        "remove": ["x-gone"]
    }}));
    let req = Request::get("/p")
        .header("x-dup", "a")
        .header("x-dup", "b")
        .header("x-multi", "orig")
        .header("x-gone", "1")
        .header("x-gone", "2")
        .header("x-keep", "k");
    let ex = plugin.send(req, ok()).unwrap();
    let up = ex.upstream.unwrap();
    assert_eq!(up.header_all("x-dup"), vec!["one"]);
    assert_eq!(up.header_all("x-new"), vec!["fresh"]);
    assert_eq!(up.header_all("x-multi"), vec!["orig", "added"]);
    assert_eq!(up.header_all("x-other"), vec!["v"]);
    assert!(up.header_all("x-gone").is_empty());
    assert_eq!(up.header("x-keep"), Some("k"));
    // No default hello once something is configured.
    assert_eq!(ex.client.header("hello"), None);
}

#[test]
fn response_set_add_remove_and_status() {
    let mut plugin = start(json!({"response": {
        "set": {":status": "201", "cache-control": "no-store"},
        "add": {"x-served-by": "wasm"},
        "remove": ["server"]
    }}));
    let resp = ok()
        .header("server", "upstream/1.0")
        .header("cache-control", "max-age=60")
        .header("x-served-by", "app");
    let ex = plugin.send(Request::get("/"), resp).unwrap();
    assert_eq!(ex.client.status(), Some(201));
    assert_eq!(ex.client.header_all("cache-control"), vec!["no-store"]);
    assert_eq!(ex.client.header_all("x-served-by"), vec!["app", "wasm"]);
    assert_eq!(ex.client.header("server"), None);
    assert_eq!(ex.client.body_str(), "hi");
}

#[test]
fn request_pseudo_header_can_be_rewritten() {
    let mut plugin =
        start(json!({"request": {"set": {":path": "/internal%PATH%", ":authority": "backend"}}}));
    let ex = plugin
        .send(Request::get("/api?q=1").authority("front"), ok())
        .unwrap();
    let up = ex.upstream.unwrap();
    assert_eq!(up.header(":path"), Some("/internal/api?q=1"));
    assert_eq!(up.header(":authority"), Some("backend"));
    assert_eq!(up.header(":method"), Some("GET"));
}

#[test]
fn templates_render_request_data() {
    let mut plugin = start(json!({
        "request": {"set": {
            "x-trace": "%REQUEST_ID%",
            "x-route": "%METHOD% %AUTHORITY%%PATH% via %SCHEME%",
            "x-client": "%DOWNSTREAM_REMOTE_ADDRESS%",
            "x-by": "%PLUGIN_NAME%",
            "x-ua": "ua=%REQ(User-Agent)% 100%%"
        }},
        "response": {"add": {"x-echo-id": "%REQUEST_ID%"}}
    }));
    let req = Request::post("/orders")
        .authority("shop.example")
        .header("x-request-id", "req-42")
        .header("user-agent", "curl/8.5");
    let ex = plugin.send(req, ok()).unwrap();
    let up = ex.upstream.unwrap();
    assert_eq!(up.header("x-trace"), Some("req-42"));
    assert_eq!(
        up.header("x-route"),
        Some("POST shop.example/orders via http")
    );
    // The harness's default downstream peer, as Envoy's source.address (ip:port).
    assert_eq!(up.header("x-client"), Some("10.0.0.2:51234"));
    assert_eq!(up.header("x-by"), Some("edge-headers"));
    assert_eq!(up.header("x-ua"), Some("ua=curl/8.5 100%"));
    assert_eq!(ex.client.header("x-echo-id"), Some("req-42"));
}

#[test]
fn templates_see_the_request_as_the_client_sent_it() {
    let mut plugin = start(json!({
        "request": {"set": {"x-request-id": "rewritten"}},
        "response": {"set": {"x-original-id": "%REQUEST_ID%"}}
    }));
    let ex = plugin
        .send(
            Request::get("/").header("x-request-id", "from-client"),
            ok(),
        )
        .unwrap();
    assert_eq!(
        ex.upstream.unwrap().header("x-request-id"),
        Some("rewritten")
    );
    assert_eq!(ex.client.header("x-original-id"), Some("from-client"));
}

#[test]
fn value_rendering_empty_is_not_written() {
    let mut plugin = start(
        json!({"request": {"set": {"x-trace": "%REQUEST_ID%"}, "add": {"x-ua": "%REQ(user-agent)%"}}}),
    );
    let ex = plugin.send(Request::get("/"), ok()).unwrap();
    let up = ex.upstream.unwrap();
    assert_eq!(up.header("x-trace"), None);
    assert_eq!(up.header("x-ua"), None);
}

/// Issue 17: a `set` meant to own a header must not leave the client's copy when its data is
/// absent (a client without `x-jwt-sub` sending `x-user: admin`).
#[test]
fn set_rendering_empty_removes_the_clients_copy() {
    let mut plugin = start(json!({
        "request": {"set": {"x-user": "%REQ(x-jwt-sub)%", ":path": "%REQ(x-rewrite)%"}},
        "response": {"set": {"x-upstream-id": "%REQUEST_ID%"}}
    }));
    let forged = Request::get("/p")
        .header("x-user", "admin")
        .header("x-user", "root");
    let upstream = ok().header("x-upstream-id", "from-upstream");
    let ex = plugin.send(forged, upstream).unwrap();
    let up = ex.upstream.unwrap();
    assert!(
        up.header_all("x-user").is_empty(),
        "{:?}",
        up.header_all("x-user")
    );
    // A pseudo-header cannot be removed: it keeps the client's value.
    assert_eq!(up.header(":path"), Some("/p"));
    assert_eq!(ex.client.header("x-upstream-id"), None);

    let ex = plugin
        .send(
            Request::get("/p")
                .header("x-user", "admin")
                .header("x-jwt-sub", "alice"),
            ok(),
        )
        .unwrap();
    assert_eq!(ex.upstream.unwrap().header_all("x-user"), vec!["alice"]);
}

/// Issue 17: a header value can be a static credential; an invalid one is rejected without
/// repeating it.
#[test]
fn config_errors_never_repeat_a_configured_value() {
    for config in [
        json!({"request": {"set": {"authorization": "Bearer s3cr3t-%oops"}}}),
        json!({"request": {"set": {"authorization": "Bearer %s3cr3t%"}}}),
        json!({"request": {"add": {"x-key": "%REQ(s3cr3t key)%"}}}),
        json!({"request": {"set": {"x-key": 7031975}}}),
    ] {
        let err = Plugin::builder("http_headers")
            .config_json(config.clone())
            .start()
            .err();
        let Some(Error::ConfigRejected { logs }) = err else {
            panic!("config {config} was not rejected: {err:?}");
        };
        let line = logs
            .iter()
            .find(|l| l.level >= Level::Error)
            .map(|l| l.message.clone())
            .unwrap_or_default();
        assert!(
            line.starts_with("invalid configuration: "),
            "{config}: {line}"
        );
        for secret in ["s3cr3t", "oops", "Bearer", "7031975"] {
            assert!(!line.contains(secret), "{config}: {line}");
        }
    }
}

#[test]
fn invalid_utf8_in_templated_header_is_replaced_not_trapped() {
    let mut plugin = start(json!({"response": {"set": {"x-ua": "%REQ(user-agent)%"}}}));
    let ex = plugin
        .send(
            Request::get("/").header("user-agent", [b'o', b'k', 0xff, 0xfe]),
            ok(),
        )
        .unwrap();
    assert_eq!(ex.client.header("x-ua"), Some("ok\u{fffd}\u{fffd}"));
    assert!(plugin.failure().is_none());
    // The VM is still healthy for the next request.
    let ex = plugin
        .send(Request::get("/").header("user-agent", "fine"), ok())
        .unwrap();
    assert_eq!(ex.client.header("x-ua"), Some("fine"));
}

#[test]
fn local_reply_from_the_host_still_gets_response_headers() {
    // A request that never reaches the upstream: Envoy runs the response callbacks for the
    // local reply too, so response rules apply to it.
    let mut plugin = start(json!({"response": {"set": {"x-served-by": "wasm"}}}));
    let mut s = plugin.http_stream();
    s.request_headers(
        &[
            (":method", "GET"),
            (":path", "/"),
            (":authority", "h"),
            (":scheme", "http"),
        ],
        true,
    )
    .unwrap();
    s.response_headers(&[(":status", "503")], true).unwrap();
    assert_eq!(s.response().header("x-served-by"), Some("wasm"));
    s.complete().unwrap();
}

/// Every configuration error: the plugin is rejected and exactly one error line names it.
#[test]
fn every_config_error_is_rejected_with_one_clear_log_line() {
    let cases: &[(&str, &str)] = &[
        (
            r#"{"requests":{}}"#,
            "unknown field `requests`, expected `request` or `response`",
        ),
        (
            r#"{"request":{"set":{"x":1}}}"#,
            "field `request.set.x`: invalid type: integer, expected a string",
        ),
        (
            r#"{"request":{"set":[]}}"#,
            "field `request.set`: invalid type: sequence, expected an object",
        ),
        (r#"{"request":{"remove":"x"}}"#, "field `request.remove`"),
        (
            r#"{"request":{"set":{"X-Up":"v"}}}"#,
            "request.set.X-Up: invalid header name `X-Up`: must be lower-case",
        ),
        (
            r#"{"response":{"add":{"a b":"v"}}}"#,
            "response.add.a b: invalid header name `a b`: contains ' '",
        ),
        (
            r#"{"request":{"add":{":path":"/x"}}}"#,
            "request.add.:path: pseudo-header `:path` can only be set, not added",
        ),
        (
            r#"{"response":{"remove":[":status"]}}"#,
            "response.remove: pseudo-header `:status` cannot be removed",
        ),
        (
            r#"{"response":{"set":{":path":"/"}}}"#,
            "response.set.:path: unknown pseudo-header `:path` for the response",
        ),
        (
            r#"{"request":{"set":{"x":"a\r\nb"}}}"#,
            "request.set.x: invalid value for header `x`: contains CR, LF or NUL",
        ),
        (
            r#"{"request":{"set":{"x":"%NOPE%"}}}"#,
            "request.set.x: unknown template variable at byte 0",
        ),
        (
            r#"{"response":{"add":{"x":"50% off"}}}"#,
            "response.add.x: unterminated variable: the `%` at byte 2 has no closing `%`",
        ),
        (
            r#"{"request":{"set":{"x":"1"},"remove":["x"]}}"#,
            "request.remove: `x` is also in request.set; keep one",
        ),
        (
            r#"{"request":{"set":{"x":"1","x":"2"}}}"#,
            "field `request.set`: duplicate key `x`",
        ),
        ("[]", "the configuration must be a JSON object"),
        ("{", "EOF while parsing"),
    ];
    for (config, want) in cases {
        let err = Plugin::builder("http_headers")
            .config_bytes(config.as_bytes())
            .start()
            .err();
        let Some(Error::ConfigRejected { logs }) = err else {
            panic!("config {config} was not rejected: {err:?}");
        };
        let errors: Vec<&str> = logs
            .iter()
            .filter(|l| l.level >= Level::Error)
            .map(|l| l.message.as_str())
            .collect();
        assert_eq!(errors.len(), 1, "config {config}: {errors:?}");
        assert!(
            errors[0].starts_with("invalid configuration: ") && errors[0].contains(want),
            "config {config}\n got: {}\nwant: {want}",
            errors[0]
        );
    }
}
