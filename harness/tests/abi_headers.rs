//! Header map host functions through the ABI probe, asserting Envoy 1.40's behaviour
//! (harness/probes/ENVOY.md): order, lower-casing, first value, NOT_FOUND, sizes, wire format.

mod abi_support;

use abi_support::{after, calls, start, wire_size};
use harness::Action;
use serde_json::json;

const REQUEST: [(&str, &str); 6] = [
    (":method", "GET"),
    (":path", "/probe"),
    (":authority", "example.com"),
    (":scheme", "http"),
    ("X-Foo", "a"),
    ("x-foo", "b"),
];

/// Envoy's `get_header_map_size`: the sum of name and value lengths.
fn byte_size(headers: &[(&str, &str)]) -> usize {
    headers.iter().map(|(k, v)| k.len() + v.len()).sum()
}

#[test]
fn reads_keep_order_lower_case_names_and_return_the_first_value() {
    let mut p = start(json!({"on": {"request_headers": [
        {"call": "proxy_get_header_map_size", "map": 0},
        {"call": "proxy_get_header_map_pairs", "map": 0},
        {"call": "proxy_get_header_map_value", "map": 0, "key": "X-FOO"},
        {"call": "proxy_get_header_map_value", "map": 0, "key": ":path"},
        {"call": "proxy_get_header_map_value", "map": 0, "key": "x-missing"},
        {"call": "proxy_get_header_map_value", "map": 99, "key": "x-foo"},
        {"call": "proxy_get_header_map_pairs", "map": 99},
        {"call": "proxy_get_header_map_pairs", "map": 2}
    ]}}));
    let mut s = p.http_stream();
    assert_eq!(s.request_headers(&REQUEST, true).unwrap(), Action::Continue);
    drop(s);
    assert_eq!(
        calls(&p),
        [
            format!("call proxy_get_header_map_size -> status 0 size {}", byte_size(&REQUEST)),
            // Names lower-cased, both x-foo values, in order.
            format!(
                "call proxy_get_header_map_pairs -> status 0 size {} count 6 \":method\"=\"GET\" \":path\"=\"/probe\" \
                 \":authority\"=\"example.com\" \":scheme\"=\"http\" \"x-foo\"=\"a\" \"x-foo\"=\"b\"",
                wire_size(&REQUEST)
            ),
            "call proxy_get_header_map_value -> status 0 value \"a\"".into(),
            "call proxy_get_header_map_value -> status 0 value \"/probe\"".into(),
            "call proxy_get_header_map_value -> status 1".into(),
            "call proxy_get_header_map_value -> status 2".into(),
            "call proxy_get_header_map_pairs -> status 2".into(),
            // Response headers do not exist yet: an empty map, which Envoy sends as 0 bytes.
            "call proxy_get_header_map_pairs -> status 0 size 0 count 0".into(),
        ]
    );
}

#[test]
fn add_replace_and_remove_edit_the_request_the_upstream_gets() {
    let mut p = start(json!({"on": {"request_headers": [
        {"call": "proxy_add_header_map_value", "map": 0, "key": "X-Added", "value": "1"},
        {"call": "proxy_replace_header_map_value", "map": 0, "key": "X-Foo", "value": "only"},
        {"call": "proxy_replace_header_map_value", "map": 0, "key": "x-new", "value": "r"},
        {"call": "proxy_remove_header_map_value", "map": 0, "key": "X-NOT-THERE"},
        {"call": "proxy_remove_header_map_value", "map": 0, "key": ":SCHEME"},
        {"call": "proxy_add_header_map_value", "map": 0, "key": "x-bin", "value": [104, 0, 105]},
        {"call": "proxy_get_header_map_value", "map": 0, "key": "x-bin"}
    ]}}));
    let mut s = p.http_stream();
    s.request_headers(&REQUEST, true).unwrap();
    let got: Vec<(String, Vec<u8>)> = s.request().headers.clone();
    drop(s);
    let want: Vec<(String, Vec<u8>)> = [
        (":method", &b"GET"[..]),
        (":path", b"/probe"),
        (":authority", b"example.com"),
        ("x-added", b"1"),
        // replace removes every value and appends the new one (Envoy's setCopy).
        ("x-foo", b"only"),
        ("x-new", b"r"),
        ("x-bin", b"h\0i"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_vec()))
    .collect();
    assert_eq!(got, want);
    assert_eq!(
        calls(&p).last().unwrap(),
        "call proxy_get_header_map_value -> status 0 value \"h\\x00i\""
    );
    assert!(
        calls(&p)[..6].iter().all(|l| l.ends_with("-> status 0")),
        "{:?}",
        calls(&p)
    );
}

#[test]
fn set_pairs_replaces_the_whole_response_map() {
    let mut p = start(json!({"on": {"response_headers": [
        {"call": "proxy_set_header_map_pairs", "map": 2,
         "pairs": [[":status", "201"], ["X-Set", "1"], ["x-set", "2"], ["empty", ""]]},
        {"call": "proxy_get_header_map_pairs", "map": 2}
    ]}}));
    let ex = p
        .send(
            harness::Request::get("/"),
            harness::Response::status(200)
                .header("x-upstream", "1")
                .header("server", "up"),
        )
        .unwrap();
    assert_eq!(ex.client.status(), Some(201));
    assert_eq!(ex.client.header_all("x-set"), ["1", "2"]);
    assert_eq!(ex.client.header("empty"), Some(""));
    assert_eq!(ex.client.header("x-upstream"), None);
    assert_eq!(
        calls(&p)[1],
        format!(
            "call proxy_get_header_map_pairs -> status 0 size {} count 4 \":status\"=\"201\" \"x-set\"=\"1\" \"x-set\"=\"2\" \"empty\"=\"\"",
            wire_size(&[(":status", "201"), ("x-set", "1"), ("x-set", "2"), ("empty", "")])
        )
    );
}

#[test]
fn trailers_are_readable_and_writable_in_the_trailer_callbacks() {
    let mut p = start(json!({"on": {
        "request_trailers": [
            {"call": "proxy_get_header_map_pairs", "map": 1},
            {"call": "proxy_add_header_map_value", "map": 1, "key": "x-req-added", "value": "1"}
        ],
        "response_trailers": [
            {"call": "proxy_get_header_map_value", "map": 3, "key": "grpc-status"},
            {"call": "proxy_replace_header_map_value", "map": 3, "key": "grpc-status", "value": "7"}
        ]
    }}));
    let mut s = p.http_stream();
    s.request_headers(&REQUEST[..4], false).unwrap();
    s.request_body(b"x", false).unwrap();
    assert_eq!(
        s.request_trailers(&[("x-t", "1")]).unwrap(),
        Action::Continue
    );
    s.response_headers(&[(":status", "200")], false).unwrap();
    assert_eq!(
        s.response_trailers(&[("grpc-status", "0")]).unwrap(),
        Action::Continue
    );
    let (req_trailers, resp_trailers) =
        (s.request().trailers.clone(), s.response().trailers.clone());
    drop(s);
    assert_eq!(
        req_trailers,
        [
            ("x-t".into(), b"1".to_vec()),
            ("x-req-added".into(), b"1".to_vec())
        ]
    );
    assert_eq!(resp_trailers, [("grpc-status".to_string(), b"7".to_vec())]);
    let trailer_lines = after(&p, "callback proxy_on_request_trailers ctx=2 trailers=1");
    assert_eq!(
        trailer_lines[0],
        format!(
            "call proxy_get_header_map_pairs -> status 0 size {} count 1 \"x-t\"=\"1\"",
            wire_size(&[("x-t", "1")])
        )
    );
    assert!(
        after(&p, "callback proxy_on_response_trailers ctx=2 trailers=1")
            .starts_with(&["call proxy_get_header_map_value -> status 0 value \"0\"".to_string()])
    );
}

#[test]
fn request_trailers_can_be_added_only_with_the_last_body_chunk() {
    let mut p = start(json!({"on": {"request_body": [
        {"call": "proxy_add_header_map_value", "map": 1, "key": "x-late", "value": "t"}
    ]}}));
    let mut s = p.http_stream();
    s.request_headers(&REQUEST[..4], false).unwrap();
    s.request_body(b"part", false).unwrap();
    s.request_body(b"end", true).unwrap();
    let trailers = s.request().trailers.clone();
    drop(s);
    assert_eq!(
        calls(&p),
        [
            "call proxy_add_header_map_value -> status 2",
            "call proxy_add_header_map_value -> status 0"
        ]
    );
    assert_eq!(trailers, [("x-late".to_string(), b"t".to_vec())]);
}
