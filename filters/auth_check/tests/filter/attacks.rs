//! The ways around authentication an attacker tries (SECURITY.md lists each with its test):
//! protected headers by another spelling, exempt paths a server reads differently, answers of
//! the auth service that are denials, keys in URLs, a service that allows without saying who,
//! timing of unknown users, and a stream without a valid configuration.

use crate::basic::{basic, ALICE, BOB};
use crate::support::*;
use harness::{Plugin, Request, Response};
use serde_json::{json, Value};

const KEY: &str = "k-7f3a9c21";

fn api_key(extra: Value) -> Value {
    let mut c = json!({
        "mode": "api_key",
        "exempt_paths": ["/healthz"],
        "api_key": {"query_param": "api_key", "header": "x-api-key",
                    "keys": [{"client": "ci", "key": KEY}]}
    });
    merge(&mut c, extra);
    c
}

fn remote(extra: Value) -> Value {
    let mut r = json!({
        "cluster": AUTH_CLUSTER,
        "path": "/check",
        "upstream_headers": ["x-user-id"],
        "identity_from": "x-user-id",
        "failure_mode_allow": true
    });
    merge(&mut r, extra);
    json!({"mode": "remote", "exempt_paths": ["/healthz"], "remote": r})
}

fn merge(into: &mut Value, extra: Value) {
    if let (Some(into), Value::Object(extra)) = (into.as_object_mut(), extra) {
        into.extend(extra);
    }
}

fn send(p: &mut Plugin, request: Request) -> harness::Exchange {
    p.send(request, Response::status(200).body("upstream"))
        .unwrap()
}

/// `name: value` for every spelling a backend reads as `x-auth-client` (Envoy hands filters
/// lower-case names; a host that does not would still be covered).
const SPOOFED: [&str; 7] = [
    "x_auth_client",
    "x-auth_client",
    "x_auth-client",
    "X_Auth_Client",
    "x.auth.client",
    "x+auth+client",
    "x~auth!client",
];

fn spoofing(request: Request, names: &[&str]) -> Request {
    names
        .iter()
        .fold(request, |r, name| r.header(name, "admin"))
}

/// Every header of `message` that a backend would read as `name`.
fn spellings_of<'a>(message: &'a harness::Message, name: &str) -> Vec<(&'a str, &'a str)> {
    let canonical = |n: &str| {
        n.chars()
            .map(|c| match c {
                c if c.is_ascii_alphanumeric() => c.to_ascii_lowercase(),
                _ => '-',
            })
            .collect::<String>()
    };
    message
        .headers
        .iter()
        .filter(|(n, _)| canonical(n) == name)
        .map(|(n, v)| (n.as_str(), std::str::from_utf8(v).unwrap()))
        .collect()
}

#[test]
fn protected_headers_are_removed_in_every_spelling() {
    let mut p = start(api_key(json!({})));
    // Allowed: only the filter's identity remains.
    let ex = send(
        &mut p,
        spoofing(Request::get("/api").header("x-api-key", KEY), &SPOOFED),
    );
    let up = ex.upstream.unwrap();
    assert_eq!(
        spellings_of(&up, "x-auth-client"),
        [("x-auth-client", "ci")]
    );
    // Exempt: no identity at all, whatever the client sent.
    let ex = send(&mut p, spoofing(Request::get("/healthz"), &SPOOFED));
    assert_eq!(spellings_of(&ex.upstream.unwrap(), "x-auth-client"), []);
    assert_eq!(
        counters(&p),
        expect_counters(&[("auth_check.allowed", 1), ("auth_check.exempt", 1)])
    );

    // Fail-open in remote mode: neither the identity nor the service's headers survive.
    let mut p = start(remote(json!({})));
    p.answer_http_calls(AUTH_CLUSTER, Response::status(503));
    let request = spoofing(Request::get("/api"), &SPOOFED);
    let request = spoofing(request, &["x_user_id", "X-User_Id"]);
    let up = send(&mut p, request).upstream.unwrap();
    assert_eq!(spellings_of(&up, "x-auth-client"), []);
    assert_eq!(spellings_of(&up, "x-user-id"), []);
}

#[test]
fn protected_headers_in_trailers_are_removed_too() {
    let mut p = start(api_key(json!({})));
    let request = Request::post("/api")
        .header("x-api-key", KEY)
        .body("payload")
        .trailer("x-auth-client", "admin")
        .trailer("x_auth_client", "admin")
        .trailer("x-trace", "kept");
    let up = send(&mut p, request).upstream.unwrap();
    assert_eq!(up.header("x-auth-client"), Some("ci"));
    let trailers: Vec<(&str, &[u8])> = up
        .trailers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_slice()))
        .collect();
    assert_eq!(trailers, [("x-trace", &b"kept"[..])]);
}

#[test]
fn ambiguous_paths_are_never_exempt() {
    let mut p = start(api_key(json!({})));
    for path in [
        "/healthz/..;/admin",
        "/healthz/.;/admin",
        "/healthz;/admin",
        "/healthz;x=1/../admin",
        "/healthz/..",
        "/healthz/../admin",
        "/healthz/./admin",
        "/healthz/%2e%2e/admin",
        "/healthz%2f..%2fadmin",
        "/healthz\\..\\admin",
        "/healthz//admin",
        "/healthz#/../admin",
        "/healthz?probe=1;x",
        "/healthz/\u{ff0e}\u{ff0e}/admin",
    ] {
        let ex = send(&mut p, Request::get(path));
        assert_json_error(&ex, 401, "unauthorized", "missing API key");
    }
    for path in ["/healthz", "/healthz/live", "/healthz?probe=1"] {
        let ex = send(&mut p, Request::get(path));
        assert_eq!(ex.client.status(), Some(200), "{path}");
    }
    // Headers some servers route by instead of the path (IIS, old Symfony and Zend).
    for header in ["x-original-url", "x-rewrite-url", "X_Original_URL"] {
        let ex = send(&mut p, Request::get("/healthz").header(header, "/admin"));
        assert_json_error(&ex, 401, "unauthorized", "missing API key");
    }
    assert_eq!(
        counters(&p),
        expect_counters(&[
            ("auth_check.exempt", 3),
            ("auth_check.denied.missing_credentials", 17)
        ])
    );
}

/// An auth service's answer: status, headers, body.
type Answer<'a> = (u16, &'a [(&'a str, &'a str)], &'a str);

#[test]
fn every_answer_but_2xx_and_5xx_is_a_denial_passed_to_the_client() {
    // failure_mode_allow is on: none of these may let the request through.
    let login = "https://login.example.com/?next=%2Fapi";
    let cases: [Answer; 5] = [
        (
            302,
            &[("location", login), ("set-cookie", "csrf=1; Secure")],
            "",
        ),
        (400, &[("content-type", "text/plain")], "bad request"),
        (
            401,
            &[
                ("www-authenticate", "Bearer realm=\"api\""),
                ("www-authenticate", "Basic realm=\"api\""),
                ("content-type", "application/json"),
            ],
            "{\"error\":\"login\"}",
        ),
        (
            404,
            &[("content-type", "text/html")],
            "<p>no such tenant</p>",
        ),
        (
            429,
            &[("content-type", "text/plain"), ("retry-after", "30")],
            "slow down",
        ),
    ];
    for (status, headers, body) in cases {
        let answer = headers
            .iter()
            .fold(Response::status(status), |r, (n, v)| r.header(n, v))
            .header("x-internal", "not for clients")
            .body(body);
        let mut p = start(remote(json!({})));
        p.answer_http_calls(AUTH_CLUSTER, answer);
        let ex = send(&mut p, Request::get("/api"));
        assert!(ex.upstream.is_none(), "{status} let the request through");
        assert_eq!(ex.client.status(), Some(status));
        assert_eq!(ex.client.body_str(), body);
        for name in [
            "location",
            "set-cookie",
            "www-authenticate",
            "content-type",
            "retry-after",
        ] {
            let sent: Vec<&str> = headers
                .iter()
                .filter(|(n, _)| *n == name)
                .map(|(_, v)| *v)
                .collect();
            assert_eq!(ex.client.header_all(name), sent, "{name} of {status}");
        }
        assert_eq!(ex.client.header("x-internal"), None);
        assert_eq!(
            counters(&p),
            expect_counters(&[("auth_check.denied.remote_denied", 1)])
        );
    }

    // Only a 5xx (or no answer) is a failure that failure_mode_allow decides.
    let mut p = start(remote(json!({})));
    p.answer_http_calls(AUTH_CLUSTER, Response::status(502));
    assert!(send(&mut p, Request::get("/api")).upstream.is_some());
}

#[test]
fn query_keys_are_removed_from_the_upstream_path_by_default() {
    let path = format!("/api/items?page=2&api_key={KEY}&sort=asc");
    let mut p = start(api_key(json!({})));
    let up = send(&mut p, Request::get(&path)).upstream.unwrap();
    assert_eq!(up.header(":path"), Some("/api/items?page=2&sort=asc"));
    assert_eq!(up.header("x-auth-client"), Some("ci"));
    // Also on an exempt path, and when the key came in the header.
    let up = send(&mut p, Request::get(&format!("/healthz?api_key={KEY}")))
        .upstream
        .unwrap();
    assert_eq!(up.header(":path"), Some("/healthz"));
    let up = send(
        &mut p,
        Request::get(&format!("/api?api_key={KEY}")).header("x-api-key", KEY),
    )
    .upstream
    .unwrap();
    assert_eq!(up.header(":path"), Some("/api"));
    // The header stays unless strip_credentials is true.
    assert_eq!(up.header("x-api-key"), Some(KEY));

    // strip_credentials: false keeps the URL as the client sent it.
    let mut p = start(api_key(json!({"strip_credentials": false})));
    let up = send(&mut p, Request::get(&path)).upstream.unwrap();
    assert_eq!(up.header(":path"), Some(path.as_str()));
}

#[test]
fn an_allow_without_the_identity_header_is_denied() {
    for answer in [
        Response::status(200).header("x-other", "alice"),
        Response::status(200).header("x-user-id", ""),
        // Two values: backends differ on which one they read.
        Response::status(200)
            .header("x-user-id", "alice")
            .header("x-user-id", "admin"),
    ] {
        // failure_mode_allow is on: this is a denial, not a failure.
        let mut p = start(remote(json!({})));
        p.answer_http_calls(AUTH_CLUSTER, answer);
        let ex = send(
            &mut p,
            Request::get("/api").header("x-auth-client", "admin"),
        );
        assert_json_error(
            &ex,
            403,
            "forbidden",
            "authorization service sent no identity",
        );
        assert_eq!(
            counters(&p),
            expect_counters(&[
                ("auth_check.errors", 1),
                ("auth_check.denied.remote_denied", 1)
            ])
        );
        assert_eq!(
            p.logs_at(harness::Level::Warn),
            ["authorization service allowed the request without `x-user-id`; denying"]
        );
    }
}

#[test]
fn headers_that_cannot_carry_an_identity_are_configuration_errors() {
    let error = |config: Value| {
        let logs = rejected(config.to_string().as_bytes());
        logs.iter()
            .map(|l| l.message.clone())
            .find(|m| m.starts_with("invalid configuration"))
            .unwrap_or_else(|| panic!("no configuration error in {logs:?}"))
    };
    assert_eq!(
        error(remote(json!({"forward_headers": ["authorization", "x-user-id"]}))),
        "invalid configuration: field `remote.upstream_headers[0]`: `x-user-id` is also in `remote.forward_headers`: a header is either sent to the service or set by it"
    );
    for name in [
        "host",
        "connection",
        "content-length",
        "transfer-encoding",
        "te",
        "upgrade",
    ] {
        assert_eq!(
            error(remote(json!({"upstream_headers": [name]}))),
            format!("invalid configuration: field `remote.upstream_headers[0]`: `{name}` is a hop-by-hop or framing header, never an identity")
        );
        assert_eq!(
            error(api_key(json!({"identity_header": name}))),
            format!("invalid configuration: field `identity_header`: `{name}` is a hop-by-hop or framing header, never an identity")
        );
    }
}

/// The wasm work (harness fuel, about one unit per instruction) of one Basic request.
fn work(users: &[&str], credentials: &str) -> u64 {
    let mut p = Plugin::builder("auth_check")
        .config_json(json!({"mode": "basic", "basic": {"users": users}}))
        .count_calls(true)
        .start()
        .unwrap();
    p.take_counters();
    let ex = send(
        &mut p,
        Request::get("/api").header("authorization", basic(credentials)),
    );
    assert_eq!(ex.client.status(), Some(401));
    p.take_counters().unwrap().wasm_fuel
}

#[test]
fn unknown_users_cost_the_same_work_as_known_ones() {
    // The measure tells the schemes apart: SHA-1 and salted SHA-256 differ by thousands.
    let sha1 = work(&[ALICE], "alice:guess");
    let ssha256 = work(&[BOB], "bob:guess");
    assert!(ssha256.abs_diff(sha1) > 1000, "{sha1} {ssha256}");
    // Same lengths, so only the hashing could differ: it does not (what is left is the
    // few branches between a found and a missing user), whatever the schemes.
    for users in [&[ALICE][..], &[BOB], &[ALICE, BOB], &[BOB, ALICE]] {
        for known in users.iter().map(|u| u.split(':').next().unwrap()) {
            let unknown = "z".repeat(known.len());
            let wrong_password = work(users, &format!("{known}:guess"));
            let unknown_user = work(users, &format!("{unknown}:guess"));
            assert!(
                unknown_user.abs_diff(wrong_password) < 50,
                "{users:?}: unknown user {unknown_user}, {known} with a wrong password {wrong_password}"
            );
        }
    }
}

#[test]
fn a_stream_without_a_valid_configuration_gets_503() {
    let mut p = Plugin::builder("auth_check")
        .config_json(json!({"mode": "api_key"}))
        .serve_after_rejected_config(true)
        .start()
        .unwrap();
    let ex = send(&mut p, Request::get("/api").header("x-api-key", KEY));
    assert_json_error(&ex, 503, "unavailable", "no valid configuration");
    assert!(p
        .logs_at(harness::Level::Error)
        .contains(&"no valid configuration; refusing the request"));
}
