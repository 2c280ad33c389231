//! Every invalid configuration is rejected with exactly one error line naming the problem.
//! Shape errors (types, missing and unknown fields) come from serde and end with the position
//! in the document; validation errors are the filter's own.

use crate::support::*;
use harness::Level;

const KEYS: &str = r#""api_key":{"keys":[{"client":"ci","key":"k-1"}]}"#;
const ALICE: &str = "alice:{SHA}tiY7sUhYKUwI5L3866kDY+ENcrQ=";

/// The single error line of a rejected configuration.
fn error_line(config: &str) -> String {
    let logs = rejected(config.as_bytes());
    let errors: Vec<&str> = logs
        .iter()
        .filter(|l| l.level >= Level::Error)
        .map(|l| l.message.as_str())
        .collect();
    assert_eq!(errors.len(), 1, "{config}: {errors:?}");
    errors[0].to_string()
}

fn check(config: &str, expected: &str) {
    assert_eq!(
        error_line(config),
        format!("invalid configuration: {expected}"),
        "{config}"
    );
}

/// An error found by serde while reading the document: its message ends with the position.
fn check_serde(config: &str, expected: &str) {
    let line = error_line(config);
    let prefix = format!("invalid configuration: {expected} at line 1 column ");
    let column = line
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("{config}: {line}"));
    assert!(column.parse::<u32>().is_ok(), "{config}: {line}");
}

fn check_prefix(config: &str, expected: &str) {
    let line = error_line(config);
    assert!(
        line.starts_with(&format!("invalid configuration: {expected}")),
        "{config}: {line}"
    );
}

fn remote(fields: &str) -> String {
    format!(r#"{{"mode":"remote","remote":{{{fields}}}}}"#)
}

#[test]
fn document_and_mode_errors() {
    check(
        "",
        "field `mode`: required: one of `api_key`, `basic`, `remote`",
    );
    check(
        "{}",
        "field `mode`: required: one of `api_key`, `basic`, `remote`",
    );
    check("[1]", "the configuration must be a JSON object");
    check_prefix("{", "EOF while parsing");
    check_serde(
        r#"{"mode":"oauth"}"#,
        "field `mode`: unknown mode `oauth`, expected one of `api_key`, `basic`, `remote`",
    );
    check_serde(
        r#"{"mode":["api_key"]}"#,
        "field `mode`: invalid type: sequence, expected a string",
    );
    check_serde(
        r#"{"mode":"api_key","modes":1}"#,
        "field `modes`: unknown field `modes`, expected one of `mode`, `exempt_paths`, `identity_header`, `strip_credentials`, `api_key`, `basic`, `remote`",
    );
    check_serde(
        &format!(r#"{{"mode":"api_key","strip_credentials":"yes",{KEYS}}}"#),
        "field `strip_credentials`: invalid type: string, expected a boolean",
    );
    check_serde(
        &format!(r#"{{"mode":"api_key","exempt_paths":"/healthz",{KEYS}}}"#),
        "field `exempt_paths`: invalid type: string, expected a sequence",
    );
    check_serde(
        r#"{"mode":"api_key","api_key":"k-1"}"#,
        "field `api_key`: invalid type: string, expected an object",
    );
    // serde reads a struct from an array of its fields in order, hence "length".
    check_serde(
        r#"{"mode":"api_key","api_key":[]}"#,
        "field `api_key`: invalid type: sequence, expected an object",
    );
    check(
        "{\"mode\":\"api_key\"}",
        "field `api_key`: required when mode is `api_key`",
    );
    check(
        "{\"mode\":\"basic\"}",
        "field `basic`: required when mode is `basic`",
    );
    check(
        "{\"mode\":\"remote\"}",
        "field `remote`: required when mode is `remote`",
    );
    check(
        &format!(r#"{{"mode":"remote",{KEYS}}}"#),
        "field `api_key`: set, but mode is `remote`",
    );
}

#[test]
fn shared_field_errors() {
    check(
        &format!(r#"{{"mode":"api_key","identity_header":"X-Client",{KEYS}}}"#),
        "field `identity_header`: invalid header name `X-Client`: must be lower-case",
    );
    check(
        &format!(r#"{{"mode":"api_key","identity_header":":authority",{KEYS}}}"#),
        "field `identity_header`: `:authority` is a pseudo-header",
    );
    check(
        &format!(r#"{{"mode":"api_key","identity_header":"x-api-key",{KEYS}}}"#),
        "field `identity_header`: `x-api-key` is also used by `api_key.header`",
    );
    check(
        &format!(
            r#"{{"mode":"basic","identity_header":"authorization","basic":{{"users":["{ALICE}"]}}}}"#
        ),
        "field `identity_header`: `authorization` is also used by `basic`",
    );
    check(
        &remote(r#""cluster":"c","path":"/p","upstream_headers":["x-auth-client"]"#),
        "field `identity_header`: `x-auth-client` is also used by `remote.upstream_headers`",
    );
    check(
        &format!(r#"{{"mode":"api_key","exempt_paths":["healthz"],{KEYS}}}"#),
        "field `exempt_paths[0]`: `healthz` must start with `/`",
    );
    check(
        &format!(r#"{{"mode":"api_key","exempt_paths":["/ok","/a?b=1"],{KEYS}}}"#),
        "field `exempt_paths[1]`: `/a?b=1` must be a plain path (no query, fragment, `;`, `%`, `\\`, whitespace, control or non-ASCII characters)",
    );
    check(
        &format!(r#"{{"mode":"api_key","exempt_paths":["/a/../b"],{KEYS}}}"#),
        "field `exempt_paths[0]`: `/a/../b` must not contain `//`, `.` or `..` segments",
    );
}

#[test]
fn api_key_errors() {
    let with = |api_key: &str| format!(r#"{{"mode":"api_key","api_key":{api_key}}}"#);
    check(
        &with(r#"{"keys":[]}"#),
        "field `api_key.keys`: empty: at least one key is required",
    );
    check(
        &with("{}"),
        "field `api_key.keys`: empty: at least one key is required",
    );
    check(
        &with(r#"{"keys":[{"client":"a","key":""}]}"#),
        "field `api_key.keys[0].key`: empty",
    );
    check(
        &with(r#"{"keys":[{"client":"a","key":" padded"}]}"#),
        "field `api_key.keys[0].key`: contains whitespace at either end or a control character",
    );
    check(
        &with(r#"{"keys":[{"client":"a","key":"k-1"},{"client":"b","key":"k-1"}]}"#),
        "field `api_key.keys[1].key`: same key as `api_key.keys[0]`",
    );
    check(
        &with(r#"{"keys":[{"client":"","key":"k"}]}"#),
        "field `api_key.keys[0].client`: `` must be non-empty, without control characters or surrounding whitespace",
    );
    check_serde(
        &with(r#"{"keys":[{"client":"a"}]}"#),
        "field `api_key.keys[0]`: missing field `key`",
    );
    check_serde(
        &with(r#"{"keys":[{"key":"k"}]}"#),
        "field `api_key.keys[0]`: missing field `client`",
    );
    check_serde(
        &with(r#"{"keys":[{"client":"a","key":12345}]}"#),
        "field `api_key.keys[0].key`: invalid type: integer, expected a string",
    );
    check_serde(
        &with(r#"{"keys":["k"]}"#),
        "field `api_key.keys[0]`: invalid type: string, expected an object",
    );
    check_serde(
        &with(r#"{"keys":[{"client":"a","key":"k","note":1}]}"#),
        "field `api_key.keys[0].note`: unknown field `note`, expected `client` or `key`",
    );
    check(
        &with(r#"{"header":"x key","keys":[{"client":"a","key":"k"}]}"#),
        "field `api_key.header`: invalid header name `x key`: contains ' '",
    );
    check(
        &with(r#"{"header":":path","keys":[{"client":"a","key":"k"}]}"#),
        "field `api_key.header`: `:path` is a pseudo-header",
    );
    check(
        &with(r#"{"query_param":"a=b","keys":[{"client":"a","key":"k"}]}"#),
        "field `api_key.query_param`: `a=b` is not a plain query parameter name",
    );
}

#[test]
fn basic_errors() {
    let with = |basic: &str| format!(r#"{{"mode":"basic","basic":{basic}}}"#);
    check(
        &with(r#"{"users":[]}"#),
        "field `basic.users`: empty: at least one user is required",
    );
    check(
        &with(r#"{"users":["alice"]}"#),
        "field `basic.users[0]`: expected an htpasswd line `user:{SHA}...` or `user:{SSHA256}...`",
    );
    check(
        &with(r#"{"users":["alice:$apr1$x$y"]}"#),
        "field `basic.users[0]`: user `alice`: unsupported password hash: expected `{SHA}` or `{SSHA256}`",
    );
    check(
        &with(r#"{"users":["alice:{SHA}bm90LTIwLWJ5dGVz"]}"#),
        "field `basic.users[0]`: user `alice`: `{SHA}` must be followed by the base64 of a 20-byte SHA-1",
    );
    check(
        &with(r#"{"users":["alice:{SSHA256}c2hvcnQ="]}"#),
        "field `basic.users[0]`: user `alice`: `{SSHA256}` must be followed by the base64 of a 32-byte SHA-256 digest and a salt of at least 4 bytes",
    );
    check(
        &with(&format!(r#"{{"users":["{ALICE}","{ALICE}"]}}"#)),
        "field `basic.users[1]`: user `alice` is already defined by `basic.users[0]`",
    );
    check(
        &with(r#"{"users":[":{SHA}tiY7sUhYKUwI5L3866kDY+ENcrQ="]}"#),
        "field `basic.users[0]`: the user name must be non-empty, without control characters or surrounding whitespace",
    );
    check(
        &with(&format!(r#"{{"realm":"a\"b","users":["{ALICE}"]}}"#)),
        "field `basic.realm`: `a\"b` must be non-empty, without `\"`, `\\` or control characters",
    );
}

#[test]
fn remote_errors() {
    check_serde(
        &remote(r#""path":"/p""#),
        "field `remote`: missing field `cluster`",
    );
    check(
        &remote(r#""cluster":"","path":"/p""#),
        "field `remote.cluster`: `` is not a cluster name (empty, or contains whitespace or control characters)",
    );
    check(
        &remote(r#""cluster":"auth service","path":"/p""#),
        "field `remote.cluster`: `auth service` is not a cluster name (empty, or contains whitespace or control characters)",
    );
    check_serde(
        &remote(r#""cluster":"c""#),
        "field `remote`: missing field `path`",
    );
    check(
        &remote(r#""cluster":"c","path":"check""#),
        "field `remote.path`: `check` must start with `/` and contain no whitespace, control characters or `#`",
    );
    check(
        &remote(r#""cluster":"c","path":"/a b""#),
        "field `remote.path`: `/a b` must start with `/` and contain no whitespace, control characters or `#`",
    );
    check(
        &remote(r#""cluster":"c","path":"/p","authority":"a/b""#),
        "field `remote.authority`: `a/b` is not a host name",
    );
    check(
        &remote(r#""cluster":"c","path":"/p","timeout_ms":0"#),
        "field `remote.timeout_ms`: must be greater than 0, got 0",
    );
    check(
        &remote(r#""cluster":"c","path":"/p","timeout_ms":-100"#),
        "field `remote.timeout_ms`: must be greater than 0, got -100",
    );
    check(
        &remote(r#""cluster":"c","path":"/p","timeout_ms":9999999999"#),
        "field `remote.timeout_ms`: must be at most 4294967295, got 9999999999",
    );
    check_serde(
        &remote(r#""cluster":"c","path":"/p","timeout_ms":1.5"#),
        "field `remote.timeout_ms`: invalid type: floating point, expected i64",
    );
    check_serde(
        &remote(r#""cluster":"c","path":"/p","timeout_ms":"1s""#),
        "field `remote.timeout_ms`: invalid type: string, expected i64",
    );
    check(
        &remote(r#""cluster":"c","path":"/p","forward_headers":[":status"]"#),
        "field `remote.forward_headers[0]`: `:status` cannot be forwarded; pseudo-headers allowed: :path, :method, :authority, :scheme",
    );
    check(
        &remote(r#""cluster":"c","path":"/p","forward_headers":["Cookie"]"#),
        "field `remote.forward_headers[0]`: invalid header name `Cookie`: must be lower-case",
    );
    check(
        &remote(r#""cluster":"c","path":"/p","forward_headers":["cookie","cookie"]"#),
        "field `remote.forward_headers[1]`: `cookie` is listed twice",
    );
    check(
        &remote(r#""cluster":"c","path":"/p","upstream_headers":[":path"]"#),
        "field `remote.upstream_headers[0]`: `:path` is a pseudo-header",
    );
    check(
        &remote(r#""cluster":"c","path":"/p","upstream_headers":["x-u","x-u"]"#),
        "field `remote.upstream_headers[1]`: `x-u` is listed twice",
    );
    check(
        &remote(r#""cluster":"c","path":"/p","identity_from":":status""#),
        "field `remote.identity_from`: `:status` is a pseudo-header",
    );
    check_prefix(
        &remote(r#""cluster":"c","path":"/p","failure_mode":"allow""#),
        "field `remote.failure_mode`: unknown field `failure_mode`, expected one of `cluster`",
    );
    check_serde(
        &remote(r#""cluster":"c","path":"/p","failure_mode_allow":"true""#),
        "field `remote.failure_mode_allow`: invalid type: string, expected a boolean",
    );
}

#[test]
fn valid_examples_start() {
    // The example shipped for the local demo and the mesh.
    let example = include_str!("../../../../deploy/auth_check/config.json");
    let p = start(serde_json::from_str(example).unwrap());
    assert_eq!(counters(&p), expect_counters(&[]));
    assert!(p.logs_at(Level::Error).is_empty());
}
