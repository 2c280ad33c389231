//! Envoy's inline headers (harness/src/header_map.rs): the probe programs
//! `probes/abi_probe/envoy/programs/inline_*.json` run through the harness must log exactly what
//! they logged in Envoy 1.40 (`probes/abi_probe/envoy/measured/inline_*.log`, recorded with
//! `probes/abi_probe/envoy/run.sh`, see harness/probes/ENVOY.md "Inline headers"): for 110 header
//! names added twice to request headers, response headers, request trailers and response
//! trailers, which become one comma-joined entry and which two entries; `host` as `:authority`;
//! empty values; the codec joining a client's repeated inline headers.

mod abi_support;

use abi_support::{calls, start};
use std::path::Path;

fn read(rel: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn program(name: &str) -> serde_json::Value {
    serde_json::from_str(&read(&format!(
        "probes/abi_probe/envoy/programs/{name}.json"
    )))
    .unwrap()
}

/// The `call ...` lines Envoy's run logged.
fn envoy_calls(name: &str) -> Vec<String> {
    read(&format!("probes/abi_probe/envoy/measured/{name}.log"))
        .lines()
        .filter(|l| l.starts_with("call "))
        .map(str::to_string)
        .collect()
}

/// How many lines start with `prefix` (the programs add 110 names twice per map).
fn adds(lines: &[String], prefix: &str) -> usize {
    lines.iter().filter(|l| l.starts_with(prefix)).count()
}

/// Line-by-line, so a failure names the first differing call instead of printing 480 lines.
fn assert_same_calls(harness: &[String], envoy: &[String]) {
    for (i, (h, e)) in harness.iter().zip(envoy).enumerate() {
        assert_eq!(h, e, "call {i} differs (left: harness, right: Envoy 1.40)");
    }
    assert_eq!(harness.len(), envoy.len(), "number of calls");
}

#[test]
fn request_and_response_headers_follow_envoys_inline_rules() {
    let mut p = start(program("inline_headers"));
    // What curl sent in the recorded run (run.sh ... -H 'x-forwarded-for: c1' -H 'via: c1'
    // -H 'x-forwarded-for: c2' -H 'via: c2' -H 'x-dup: 1' -H 'x-dup: 2' '$URL/inline'), with the
    // headers Envoy's connection manager added before the filter (x-forwarded-proto, and the
    // x-request-id it generated in that run).
    let request = [
        (":authority", "127.0.0.1:54345"),
        (":path", "/inline"),
        (":method", "GET"),
        (":scheme", "http"),
        ("user-agent", "curl/7.88.1"),
        ("accept", "*/*"),
        ("x-forwarded-for", "c1"),
        ("via", "c1"),
        ("x-forwarded-for", "c2"),
        ("via", "c2"),
        ("x-dup", "1"),
        ("x-dup", "2"),
        ("x-forwarded-proto", "http"),
        ("x-request-id", "3e6c71e6-015d-41e4-913c-41be3f6510f3"),
    ];
    let mut s = p.http_stream();
    s.request_headers(&request, true).unwrap();
    drop(s);
    let calls = calls(&p);
    assert!(adds(&calls, "call proxy_add_header_map_value") >= 220);
    assert_same_calls(&calls, &envoy_calls("inline_headers"));
}

#[test]
fn request_trailers_have_no_inline_headers_and_response_trailers_only_grpc_ones() {
    let mut p = start(program("inline_trailers"));
    let mut s = p.http_stream();
    s.request_headers(
        &[
            (":authority", "127.0.0.1:1"),
            (":path", "/trailers"),
            (":method", "POST"),
        ],
        false,
    )
    .unwrap();
    s.request_body(b"hello world", false).unwrap();
    s.request_body(b"", true).unwrap();
    s.response_headers(&[(":status", "200"), ("content-length", "13")], false)
        .unwrap();
    s.response_body(b"upstream-body", false).unwrap();
    s.response_body(b"", true).unwrap();
    drop(s);
    let calls = calls(&p);
    assert!(adds(&calls, "call proxy_add_header_map_value") >= 220);
    assert_same_calls(&calls, &envoy_calls("inline_trailers"));
}
