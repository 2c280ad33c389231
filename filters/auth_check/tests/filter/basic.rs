//! `basic` mode: `{SHA}` and `{SSHA256}` users, challenges, malformed credentials.

use crate::support::*;
use harness::{Plugin, Request, Response};
use serde_json::{json, Value};

/// `alice:wonderland` (`htpasswd -nbs alice wonderland`).
pub const ALICE: &str = "alice:{SHA}tiY7sUhYKUwI5L3866kDY+ENcrQ=";
/// `bob:hunter2`, salted SHA-256 with salt `pepper-salt`.
pub const BOB: &str = "bob:{SSHA256}tFzirGKMLB+B+W2/WfgCEy00JfO779eX9/D0FC7Cz3NwZXBwZXItc2FsdA==";

pub fn config(extra: Value) -> Value {
    let mut c = json!({
        "mode": "basic",
        "exempt_paths": ["/healthz"],
        "basic": {"realm": "staff area", "users": [ALICE, BOB]}
    });
    if let (Some(c), Some(extra)) = (c.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            c.insert(k.clone(), v.clone());
        }
    }
    c
}

pub fn basic(user_pass: &str) -> String {
    format!("Basic {}", base64_encode(user_pass.as_bytes()))
}

/// Standard base64 with padding (the tests do not depend on the filter's decoder).
pub fn base64_encode(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn send(p: &mut Plugin, request: Request) -> harness::Exchange {
    p.send(request, Response::status(200)).unwrap()
}

fn assert_challenge(ex: &harness::Exchange, message: &str) {
    assert_json_error(ex, 401, "unauthorized", message);
    assert_eq!(
        ex.client.header("www-authenticate"),
        Some("Basic realm=\"staff area\"")
    );
}

#[test]
fn fixture_encoder_is_standard_base64() {
    assert_eq!(
        base64_encode(b"alice:wonderland"),
        "YWxpY2U6d29uZGVybGFuZA=="
    );
    assert_eq!(base64_encode(b"ab"), "YWI=");
    assert_eq!(base64_encode(b"abc"), "YWJj");
}

#[test]
fn sha1_user_is_allowed_with_identity() {
    let mut p = start(config(json!({})));
    let auth = basic("alice:wonderland");
    let ex = send(
        &mut p,
        Request::get("/staff").header("authorization", &auth),
    );
    let up = ex.upstream.expect("allowed");
    assert_eq!(up.header_all("x-auth-client"), ["alice"]);
    assert_eq!(up.header("authorization"), Some(&*auth));
    assert_eq!(ex.client.status(), Some(200));
    assert_eq!(counters(&p), expect_counters(&[("auth_check.allowed", 1)]));
}

#[test]
fn salted_sha256_user_is_allowed() {
    let mut p = start(config(json!({})));
    let ex = send(
        &mut p,
        Request::get("/").header("authorization", basic("bob:hunter2")),
    );
    assert_eq!(ex.upstream.unwrap().header("x-auth-client"), Some("bob"));
    let ex = send(
        &mut p,
        Request::get("/").header("authorization", basic("bob:hunter3")),
    );
    assert_challenge(&ex, "invalid user name or password");
}

#[test]
fn wrong_or_unknown_credentials_get_a_challenge() {
    let mut p = start(config(json!({})));
    for creds in [
        "alice:Wonderland",
        "alice:",
        "alice:wonderland ",
        "carol:wonderland",
        ":wonderland",
        "bob:wonderland",
    ] {
        let ex = send(
            &mut p,
            Request::get("/").header("authorization", basic(creds)),
        );
        assert_challenge(&ex, "invalid user name or password");
    }
    assert_eq!(
        counters(&p),
        expect_counters(&[("auth_check.denied.invalid_credentials", 6)])
    );
}

#[test]
fn missing_credentials_get_a_challenge() {
    let mut p = start(config(json!({})));
    let ex = send(&mut p, Request::get("/"));
    assert_challenge(&ex, "missing credentials");
    assert_eq!(
        counters(&p),
        expect_counters(&[("auth_check.denied.missing_credentials", 1)])
    );
}

#[test]
fn malformed_credentials_are_401_never_a_trap() {
    let mut p = start(config(json!({})));
    let bad: Vec<Vec<u8>> = vec![
        b"Basic".to_vec(),
        b"Basic ".to_vec(),
        b"Basic !!!!".to_vec(),
        b"Basic YWxpY2U=====".to_vec(),
        format!("Basic {}", base64_encode(b"no-colon-here")).into_bytes(),
        format!("Bearer {}", base64_encode(b"alice:wonderland")).into_bytes(),
        format!("Basic{}", base64_encode(b"alice:wonderland")).into_bytes(),
        b"\xff\xfe garbage".to_vec(),
        vec![b'B'; 10_000],
    ];
    for value in &bad {
        let ex = send(&mut p, Request::get("/").header("authorization", value));
        assert_challenge(&ex, "malformed Basic credentials");
    }
    assert_eq!(p.failure(), None, "the VM must not fail");
    // Binary user names and passwords are handled too.
    let ex = send(
        &mut p,
        Request::get("/").header(
            "authorization",
            format!("Basic {}", base64_encode(b"\xff:\x00\x01")),
        ),
    );
    assert_challenge(&ex, "invalid user name or password");
    assert_eq!(
        counters(&p),
        expect_counters(&[
            ("auth_check.denied.malformed_credentials", bad.len() as i64),
            ("auth_check.denied.invalid_credentials", 1)
        ])
    );
}

#[test]
fn scheme_is_case_insensitive_and_padding_optional() {
    let mut p = start(config(json!({})));
    for value in [
        "basic YWxpY2U6d29uZGVybGFuZA==",
        "BASIC   YWxpY2U6d29uZGVybGFuZA==",
        "Basic YWxpY2U6d29uZGVybGFuZA",
    ] {
        let ex = send(&mut p, Request::get("/").header("authorization", value));
        assert_eq!(
            ex.upstream.unwrap().header("x-auth-client"),
            Some("alice"),
            "{value}"
        );
    }
}

#[test]
fn strip_credentials_removes_authorization() {
    let mut p = start(config(json!({"strip_credentials": true})));
    let ex = send(
        &mut p,
        Request::get("/").header("authorization", basic("alice:wonderland")),
    );
    let up = ex.upstream.unwrap();
    assert_eq!(up.header("authorization"), None);
    assert_eq!(up.header("x-auth-client"), Some("alice"));
}

#[test]
fn spoofed_identity_and_exempt_paths() {
    let mut p = start(config(json!({})));
    let ex = send(
        &mut p,
        Request::get("/")
            .header("x-auth-client", "bob")
            .header("authorization", basic("alice:wonderland")),
    );
    assert_eq!(ex.upstream.unwrap().header_all("x-auth-client"), ["alice"]);
    let ex = send(
        &mut p,
        Request::get("/healthz").header("x-auth-client", "bob"),
    );
    let up = ex.upstream.unwrap();
    assert_eq!(up.header("x-auth-client"), None);
    // A spoofed identity without credentials is still refused.
    let ex = send(&mut p, Request::get("/").header("x-auth-client", "alice"));
    assert_challenge(&ex, "missing credentials");
    assert_eq!(
        counters(&p),
        expect_counters(&[
            ("auth_check.allowed", 1),
            ("auth_check.exempt", 1),
            ("auth_check.denied.missing_credentials", 1)
        ])
    );
}

#[test]
fn default_realm() {
    let mut p = start(json!({"mode": "basic", "basic": {"users": [ALICE]}}));
    let ex = send(&mut p, Request::get("/"));
    assert_eq!(
        ex.client.header("www-authenticate"),
        Some("Basic realm=\"restricted\"")
    );
}

/// Without `exempt_paths` (`:path` is then not read) every path is checked, a client's
/// identity header never passes, and valid credentials are allowed as before.
#[test]
fn without_exempt_paths_every_path_is_checked() {
    let mut p = start(json!({"mode": "basic", "basic": {"realm": "staff area", "users": [ALICE]}}));
    for path in ["/healthz", "/", "/healthz?x=1"] {
        let ex = send(&mut p, Request::get(path).header("x-auth-client", "bob"));
        assert_challenge(&ex, "missing credentials");
        let ex = send(
            &mut p,
            Request::get(path)
                .header("x-auth-client", "bob")
                .header("authorization", basic("alice:wonderland")),
        );
        let up = ex.upstream.unwrap_or_else(|| panic!("{path} refused"));
        assert_eq!(up.header_all("x-auth-client"), ["alice"], "{path}");
        assert_eq!(up.header(":path"), Some(path));
    }
    assert_eq!(
        counters(&p),
        expect_counters(&[
            ("auth_check.allowed", 3),
            ("auth_check.denied.missing_credentials", 3)
        ])
    );
}
