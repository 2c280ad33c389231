//! No secret ever reaches the logs: keys, passwords, hashes, tokens, cookies, at any level,
//! whether the request is allowed, denied, malformed or the configuration is rejected.

use crate::basic::{base64_encode, basic, ALICE, BOB};
use crate::support::*;
use harness::{Level, Plugin, Request, Response};
use serde_json::json;

const KEY: &str = "sk-live-7Qz9vX2mB4";
const OTHER_KEY: &str = "sk-live-guess-000";
const TOKEN: &str = "tok-secret-5521";
const COOKIE: &str = "session=cookie-secret-8812";

fn assert_clean(p: &Plugin, secrets: &[&str]) {
    assert!(!p.logs().is_empty(), "expected some logs at trace level");
    for entry in p.logs() {
        for secret in secrets {
            assert!(
                !entry.message.contains(secret),
                "secret {secret:?} logged at {:?}: {}",
                entry.level,
                entry.message
            );
        }
    }
}

#[test]
fn api_key_secrets_stay_out_of_logs() {
    let mut p = start(json!({
        "mode": "api_key",
        "api_key": {"query_param": "api_key", "header": "x-api-key",
                    "keys": [{"client": "ci", "key": KEY}]}
    }));
    for req in [
        Request::get("/").header("x-api-key", KEY),
        Request::get("/").header("x-api-key", OTHER_KEY),
        Request::get(&format!("/?api_key={KEY}")),
        Request::get(&format!("/?api_key={OTHER_KEY}")),
        Request::get("/"),
    ] {
        p.send(req, Response::status(200)).unwrap();
    }
    assert_clean(&p, &[KEY, OTHER_KEY]);
}

#[test]
fn basic_secrets_stay_out_of_logs() {
    let mut p = start(json!({"mode": "basic", "basic": {"users": [ALICE, BOB]}}));
    let good = basic("alice:wonderland");
    let wrong = basic("alice:guess-pass-1");
    let unknown = basic("mallory:hunter2");
    for value in [
        good.clone(),
        wrong.clone(),
        unknown.clone(),
        "Basic %%%".into(),
        format!("Basic {}", base64_encode(b"wonderland")),
    ] {
        p.send(
            Request::get("/").header("authorization", &value),
            Response::status(200),
        )
        .unwrap();
    }
    let hashes: Vec<&str> = [ALICE, BOB]
        .iter()
        .map(|l| l.split_once(':').unwrap().1)
        .collect();
    let mut secrets = vec![
        "wonderland",
        "guess-pass-1",
        "hunter2",
        "mallory",
        &good,
        &wrong,
        &unknown,
    ];
    secrets.extend(hashes.iter().copied());
    secrets.extend(hashes.iter().map(|h| &h[h.find('}').unwrap() + 1..]));
    let good_b64 = &good["Basic ".len()..];
    secrets.push(good_b64);
    assert_clean(&p, &secrets);
}

#[test]
fn remote_credentials_stay_out_of_logs() {
    for (status, allow) in [(200u16, false), (401, false), (500, false), (500, true)] {
        let mut p = start(json!({
            "mode": "remote",
            "remote": {"cluster": AUTH_CLUSTER, "path": "/check",
                       "forward_headers": ["authorization", "cookie"],
                       "upstream_headers": ["x-user-id"],
                       "failure_mode_allow": allow}
        }));
        p.answer_http_calls(
            AUTH_CLUSTER,
            Response::status(status)
                .header("x-user-id", "u-1")
                .body("denied: tok-secret-5521"),
        );
        p.send(
            Request::get("/")
                .header("authorization", format!("Bearer {TOKEN}"))
                .header("cookie", COOKIE),
            Response::status(200),
        )
        .unwrap();
        assert_clean(&p, &[TOKEN, "cookie-secret-8812"]);
    }
}

#[test]
fn rejected_configurations_do_not_echo_secrets() {
    let configs = [
        json!({"mode": "api_key", "api_key": {"keys": [
            {"client": "a", "key": KEY}, {"client": "b", "key": KEY}]}}),
        json!({"mode": "api_key", "api_key": {"keys": [{"client": "a", "key": format!("{KEY} ")}]}}),
        json!({"mode": "basic", "basic": {"users": ["alice:{SHA}c2stbGl2ZS03UXo5dlgybUI0"]}}),
        json!({"mode": "basic", "basic": {"users": ["alice:{SSHA256}c2stbGl2ZS03UXo5dlgybUI0"]}}),
        json!({"mode": "basic", "basic": {"users": ["alice:sk-live-7Qz9vX2mB4"]}}),
        json!({"mode": "basic", "basic": {"users": ["sk-live-7Qz9vX2mB4"]}}),
    ];
    for config in configs {
        let logs = rejected(config.to_string().as_bytes());
        assert!(!logs.is_empty());
        for entry in &logs {
            for secret in [KEY, "c2stbGl2ZS03UXo5dlgybUI0"] {
                assert!(
                    !entry.message.contains(secret),
                    "{config}: secret logged: {}",
                    entry.message
                );
            }
        }
    }
}

#[test]
fn trace_level_is_really_captured() {
    // Guards the tests above: at trace level the filter's debug decisions are visible.
    let mut p =
        start(json!({"mode": "api_key", "api_key": {"keys": [{"client": "ci", "key": KEY}]}}));
    p.send(Request::get("/"), Response::status(200)).unwrap();
    assert_eq!(p.logs_at(Level::Debug), ["denied: missing_credentials"]);
}
