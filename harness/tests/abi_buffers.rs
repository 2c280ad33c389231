//! Buffer host functions (`get_buffer_bytes`, `set_buffer_bytes`, `get_buffer_status`) on bodies
//! and configurations, as Envoy 1.40 answers them (harness/probes/ENVOY.md).

mod abi_support;

use abi_support::{after, calls, probe, start, GET};
use harness::{Action, Request, Response};
use serde_json::json;

#[test]
fn request_body_reads_slices_prepends_and_appends() {
    let mut p = start(json!({"on": {"request_body": [
        {"return": "pause", "when": {"eos": false}},
        {"call": "proxy_get_buffer_status", "buffer": 0},
        {"call": "proxy_get_buffer_bytes", "buffer": 0},
        {"call": "proxy_get_buffer_bytes", "buffer": 0, "start": 2, "max_size": 3},
        {"call": "proxy_get_buffer_bytes", "buffer": 0, "start": 50, "max_size": 3},
        {"call": "proxy_set_buffer_bytes", "buffer": 0, "start": 0, "size": 0, "data": "<pre>"},
        {"call": "proxy_set_buffer_bytes", "buffer": 0, "start": 1000, "size": 0, "data": "<post>"},
        {"call": "proxy_set_buffer_bytes", "buffer": 0, "start": 5, "size": 3, "data": "XY"},
        {"call": "proxy_get_buffer_bytes", "buffer": 0},
        {"call": "proxy_get_buffer_bytes", "buffer": 99}
    ]}}));
    let mut s = p.http_stream();
    s.request_headers(&GET, false).unwrap();
    assert_eq!(
        s.request_body(b"hello world", false).unwrap(),
        Action::Pause
    );
    assert_eq!(s.request_body(b"", true).unwrap(), Action::Continue);
    let body = s.request().body.clone();
    drop(s);
    assert_eq!(
        after(&p, "callback proxy_on_request_body ctx=2 size=11 eos=false"),
        [
            "call proxy_get_buffer_status -> status 0 size 11 flags 0",
            "call proxy_get_buffer_bytes -> status 0 bytes \"hello world\"",
            "call proxy_get_buffer_bytes -> status 0 bytes \"llo\"",
            "call proxy_get_buffer_bytes -> status 0 bytes \"\"",
            "call proxy_set_buffer_bytes -> status 0",
            "call proxy_set_buffer_bytes -> status 0",
            // Envoy only prepends, appends or replaces everything.
            "call proxy_set_buffer_bytes -> status 2",
            "call proxy_get_buffer_bytes -> status 0 bytes \"<pre>hello world<post>\"",
            "call proxy_get_buffer_bytes -> status 2",
            // The paused chunk stays buffered: the last callback sees all of it.
            "callback proxy_on_request_body ctx=2 size=22 eos=true",
            "call proxy_get_buffer_status -> status 0 size 22 flags 0",
            "call proxy_get_buffer_bytes -> status 0 bytes \"<pre>hello world<post>\"",
            "call proxy_get_buffer_bytes -> status 0 bytes \"re>\"",
            "call proxy_get_buffer_bytes -> status 0 bytes \"\"",
            "call proxy_set_buffer_bytes -> status 0",
            "call proxy_set_buffer_bytes -> status 0",
            "call proxy_set_buffer_bytes -> status 2",
            "call proxy_get_buffer_bytes -> status 0 bytes \"<pre><pre>hello world<post><post>\"",
            "call proxy_get_buffer_bytes -> status 2",
        ]
    );
    assert_eq!(body, b"<pre><pre>hello world<post><post>");
}

#[test]
fn response_body_can_be_replaced_whole() {
    let mut p = start(json!({"on": {"response_body": [
        {"call": "proxy_get_buffer_bytes", "buffer": 1},
        {"call": "proxy_set_buffer_bytes", "buffer": 1, "start": 0, "size": 1000, "data": "replaced"}
    ]}}));
    let ex = p
        .send(Request::get("/"), Response::status(200).body("original"))
        .unwrap();
    // Envoy's HTTP/1.1 codec delivers the data, then an empty end-of-stream chunk; each chunk
    // is replaced, so the client gets the replacement twice (harness/probes/ENVOY.md:
    // `replacedreplaced`).
    assert_eq!(ex.client.body, b"replacedreplaced");
    assert_eq!(
        calls(&p),
        [
            "call proxy_get_buffer_bytes -> status 0 bytes \"original\"",
            "call proxy_set_buffer_bytes -> status 0",
            "call proxy_get_buffer_bytes -> status 0 bytes \"\"",
            "call proxy_set_buffer_bytes -> status 0"
        ]
    );
}

#[test]
fn plugin_configuration_is_readable_only_in_configure() {
    let program = json!({"on": {
        "configure": [
            {"call": "proxy_get_buffer_status", "buffer": 7},
            {"call": "proxy_get_buffer_bytes", "buffer": 7, "start": 2, "max_size": 2},
            {"call": "proxy_get_buffer_bytes", "buffer": 7, "start": 0, "max_size": 0}
        ],
        "request_headers": [{"call": "proxy_get_buffer_status", "buffer": 7}]
    }});
    let size = program.to_string().len();
    let mut p = probe(program).start().unwrap();
    p.send(Request::get("/"), Response::status(200)).unwrap();
    assert_eq!(
        calls(&p),
        [
            format!("call proxy_get_buffer_status -> status 0 size {size} flags 0"),
            // The JSON text starts with {"on": the bytes at 2..4 are `on`.
            "call proxy_get_buffer_bytes -> status 0 bytes \"on\"".into(),
            "call proxy_get_buffer_bytes -> status 0 bytes \"\"".into(),
            "call proxy_get_buffer_status -> status 1".into(),
        ]
    );
}
