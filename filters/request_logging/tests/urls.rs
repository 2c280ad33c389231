//! Secrets in URLs: credential query parameters are redacted wherever a URL is logged (the
//! `path` field, a captured `:path`, `referer`, `location`, ...), keeping the parameter's name.
// Test helpers outside #[test] functions panic on purpose: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use harness::{Request, Response};
use serde_json::{json, Value};

/// Every secret value used below; none may appear anywhere in the logs.
const SECRETS: [&str; 10] = [
    "tok-A1", "ak-B2", "sig-C3", "cred-D4", "code-E5", "pw-F6", "sess-G7", "frag-H8", "ref-I9",
    "user-J0",
];

fn assert_no_secret_anywhere(plugin: &harness::Plugin) {
    for entry in plugin.logs() {
        for secret in SECRETS {
            assert!(
                !entry.message.contains(secret),
                "secret {secret:?} leaked at {:?}: {}",
                entry.level,
                entry.message
            );
        }
    }
}

#[test]
fn secret_query_parameters_are_redacted_in_the_path_field_by_default() {
    let mut plugin = start(json!({"fields": ["path"]}));
    let line = log_one(
        &mut plugin,
        Request::get(
            "/cb?state=xyz&access_token=tok-A1&API_KEY=ak-B2&X-Amz-Signature=sig-C3\
             &X-Amz-Credential=cred-D4&code=code-E5&page=2",
        ),
        Response::status(200),
    );
    assert_eq!(
        line["path"],
        "/cb?state=xyz&access_token=[REDACTED]&API_KEY=[REDACTED]&X-Amz-Signature=[REDACTED]\
         &X-Amz-Credential=[REDACTED]&code=[REDACTED]&page=2"
    );
    assert_no_secret_anywhere(&plugin);
}

#[test]
fn names_match_in_any_case_after_percent_decoding() {
    let mut plugin = start(json!({"fields": ["path"]}));
    let line = log_one(
        &mut plugin,
        Request::get("/p?Pass%77ord=pw-F6&%54OKEN=tok-A1&q=token&tokens=kept"),
        Response::status(200),
    );
    assert_eq!(
        line["path"],
        "/p?Pass%77ord=[REDACTED]&%54OKEN=[REDACTED]&q=token&tokens=kept"
    );
    assert_no_secret_anywhere(&plugin);
}

#[test]
fn redact_query_params_adds_to_the_default_list() {
    let mut plugin = start(json!({"fields": ["path"], "redact_query_params": ["Session_ID"]}));
    let line = log_one(
        &mut plugin,
        Request::get("/p?session_id=sess-G7&SESSION%5FID=sess-G7&sig=sig-C3&session=shown"),
        Response::status(200),
    );
    assert_eq!(
        line["path"],
        "/p?session_id=[REDACTED]&SESSION%5FID=[REDACTED]&sig=[REDACTED]&session=shown"
    );
    assert_no_secret_anywhere(&plugin);
}

#[test]
fn captured_path_referer_and_location_are_redacted_too() {
    let mut plugin = start(json!({
        "fields": ["status"],
        "request_headers": [":path", "referer", "x-envoy-original-path", "x-plain"],
        "response_headers": ["location", "content-location"],
    }));
    let line = log_one(
        &mut plugin,
        Request::get("/api?token=tok-A1&id=7")
            .header(
                "referer",
                "https://user:user-J0@shop.example/item?ref=1&key=ref-I9",
            )
            .header("x-envoy-original-path", "/v1/api?apikey=ak-B2")
            // Not a URL header: logged as sent.
            .header("x-plain", "/p?token=not-a-url-header"),
        Response::status(302)
            .header(
                "location",
                "https://app.example/cb?code=code-E5&state=s1#id_token=frag-H8&expires_in=60",
            )
            .header("content-location", "/doc?signature=sig-C3"),
    );
    assert_eq!(
        Value::Object(line),
        json!({
            "status": 302,
            "request_headers": {
                ":path": "/api?token=[REDACTED]&id=7",
                "referer": "https://user:[REDACTED]@shop.example/item?ref=1&key=[REDACTED]",
                "x-envoy-original-path": "/v1/api?apikey=[REDACTED]",
                "x-plain": "/p?token=not-a-url-header",
            },
            "response_headers": {
                "location": "https://app.example/cb?code=[REDACTED]&state=s1#id_token=[REDACTED]&expires_in=60",
                "content-location": "/doc?signature=[REDACTED]",
            },
        })
    );
    assert_no_secret_anywhere(&plugin);
}

#[test]
fn a_url_header_in_redact_is_hidden_whole() {
    let mut plugin = start(json!({
        "fields": ["status"],
        "response_headers": ["location"],
        "redact": ["location"],
    }));
    let line = log_one(
        &mut plugin,
        Request::get("/"),
        Response::status(302).header("location", "/next?page=2"),
    );
    assert_eq!(line["response_headers"], json!({"location": "[REDACTED]"}));
}

#[test]
fn redaction_happens_before_truncation() {
    // The secret starts within the limit and would otherwise show in the cut value.
    let mut plugin = start(json!({"fields": ["path"], "max_value_bytes": 16}));
    let line = log_one(
        &mut plugin,
        Request::get("/p?token=tok-A1-and-more"),
        Response::status(200),
    );
    assert_eq!(line["path"], "/p?token=[REDACT...[truncated]");
    assert_no_secret_anywhere(&plugin);
}

#[test]
fn include_query_false_still_drops_the_whole_query() {
    let mut plugin = start(json!({"fields": ["path"], "include_query": false}));
    let line = log_one(
        &mut plugin,
        Request::get("/p?token=tok-A1&q=1"),
        Response::status(200),
    );
    assert_eq!(line["path"], "/p");
}
