//! HTTP and gRPC callouts through the ABI probe: argument checks, what the test sees pending,
//! answers, failures and timeouts, and acting on the stream from the answer.

mod abi_support;

use std::time::Duration;

use abi_support::{after, calls, probe, wire_size, GET};
use harness::{Action, Response};
use serde_json::{json, Value};

fn http_call(headers: Value) -> Value {
    json!({"call": "proxy_http_call", "cluster": "auth", "headers": headers,
           "body": "ping", "trailers": [["x-tr", "1"]], "timeout": 500, "save": "tok"})
}

#[test]
fn http_call_checks_cluster_and_required_pseudo_headers() {
    let good = json!([
        [":method", "POST"],
        [":path", "/check"],
        [":authority", "auth.local"],
        ["x-a", "1"]
    ]);
    let p = probe(json!({"on": {"configure": [
        {"call": "proxy_http_call", "cluster": "nope", "headers": good},
        http_call(json!([[":path", "/"], [":authority", "a"]])),
        http_call(json!([[":method", "GET"], [":authority", "a"]])),
        http_call(json!([[":method", "GET"], [":path", "/"]])),
        {"call": "proxy_http_call", "cluster": "auth", "headers": good, "timeout": -1},
        http_call(good)
    ]}}))
    .cluster("auth")
    .start()
    .unwrap();
    let got = calls(&p);
    // Unknown cluster, missing :method, :path, :authority, negative timeout.
    assert_eq!(got[..5], ["call proxy_http_call -> status 2"; 5]);
    let token: u32 = got[5]
        .strip_prefix("call proxy_http_call -> status 0 token ")
        .unwrap()
        .parse()
        .unwrap();
    let pending = p.pending_http_calls();
    assert_eq!(pending.len(), 1);
    let call = &pending[0];
    assert_eq!((call.token, call.cluster.as_str()), (token, "auth"));
    assert_eq!(call.header(":path"), Some("/check"));
    assert_eq!(call.header("x-a"), Some("1"));
    assert_eq!(call.body, b"ping");
    assert_eq!(call.trailers, [("x-tr".to_string(), b"1".to_vec())]);
    assert_eq!(call.timeout, Some(Duration::from_millis(500)));
}

/// A stream that pauses on a callout; the answer arrives on the root context, which switches to
/// the stream (`proxy_set_effective_context`), edits its headers and resumes it.
fn callout_program() -> Value {
    json!({"on": {
        "request_headers": [
            {"let": {"stream": "$ctx"}},
            http_call(json!([[":method", "GET"], [":path", "/check"], [":authority", "auth"]])),
            {"return": "pause"}
        ],
        "http_call_response": [
            {"call": "proxy_get_header_map_pairs", "map": 6},
            {"call": "proxy_get_header_map_value", "map": 7, "key": "x-trailer"},
            {"call": "proxy_get_buffer_bytes", "buffer": 4},
            {"call": "proxy_set_effective_context", "context": "$stream"},
            {"call": "proxy_add_header_map_value", "map": 0, "key": "x-user", "value": "u1"},
            {"call": "proxy_continue_stream", "stream": 0}
        ]
    }})
}

#[test]
fn http_call_response_goes_to_the_root_and_can_resume_the_stream() {
    let mut p = probe(callout_program()).cluster("auth").start().unwrap();
    let mut s = p.http_stream();
    assert_eq!(s.request_headers(&GET, true).unwrap(), Action::Pause);
    let token = s.plugin().pending_http_calls()[0].token;
    s.plugin()
        .respond_http_call(
            token,
            Response::status(200)
                .header("x-id", "7")
                .body("ok")
                .trailer("x-trailer", "t"),
        )
        .unwrap();
    assert!(!s.is_paused());
    let upstream = s.request().clone();
    drop(s);
    assert_eq!(upstream.header("x-user"), Some("u1"));
    assert_eq!(
        after(&p, &format!("call proxy_http_call -> status 0 token {token}")),
        [
            // Envoy answers callouts on the root context (harness/probes/ENVOY.md).
            // Envoy's router adds x-envoy-upstream-service-time after the service's headers.
            format!("callback proxy_on_http_call_response ctx=1 token={token} headers=3 body=2 trailers=1"),
            format!(
                "call proxy_get_header_map_pairs -> status 0 size {} count 3 \":status\"=\"200\" \"x-id\"=\"7\" \"x-envoy-upstream-service-time\"=\"0\"",
                wire_size(&[(":status", "200"), ("x-id", "7"), ("x-envoy-upstream-service-time", "0")])
            ),
            "call proxy_get_header_map_value -> status 0 value \"t\"".into(),
            "call proxy_get_buffer_bytes -> status 0 bytes \"ok\"".into(),
            "call proxy_set_effective_context -> status 0".into(),
            "call proxy_add_header_map_value -> status 0".into(),
            "call proxy_continue_stream -> status 0".into(),
        ]
    );
}

#[test]
fn a_reset_http_call_is_answered_with_no_headers() {
    let mut p = probe(json!({"on": {"configure": [
        http_call(json!([[":method", "GET"], [":path", "/"], [":authority", "a"]]))
    ]}}))
    .cluster("auth")
    .start()
    .unwrap();
    let token = p.pending_http_calls()[0].token;
    p.reset_http_call(token).unwrap();
    assert!(p.pending_http_calls().is_empty());
    assert_eq!(
        abi_support::callbacks(&p).last().unwrap(),
        &format!(
            "callback proxy_on_http_call_response ctx=1 token={token} headers=0 body=0 trailers=0"
        )
    );
}

#[test]
fn a_timed_out_http_call_is_answered_with_envoys_504() {
    // Envoy 1.40's router answers a callout that times out itself (harness/probes/ENVOY.md).
    let mut p = probe(json!({"on": {
        "configure": [http_call(json!([[":method", "GET"], [":path", "/"], [":authority", "a"]]))],
        "http_call_response": [
            {"call": "proxy_get_header_map_pairs", "map": 6},
            {"call": "proxy_get_buffer_bytes", "buffer": 4}
        ]
    }}))
    .cluster("auth")
    .start()
    .unwrap();
    let token = p.pending_http_calls()[0].token;
    p.advance_clock(Duration::from_millis(499)).unwrap();
    assert_eq!(p.pending_http_calls().len(), 1);
    p.advance_clock(Duration::from_millis(1)).unwrap();
    assert!(p.pending_http_calls().is_empty());
    let headers = [
        (":status", "504"),
        ("content-length", "24"),
        ("content-type", "text/plain"),
    ];
    assert_eq!(
        after(&p, &format!("call proxy_http_call -> status 0 token {token}")),
        [
            format!("callback proxy_on_http_call_response ctx=1 token={token} headers=3 body=24 trailers=0"),
            format!(
                "call proxy_get_header_map_pairs -> status 0 size {} count 3 \":status\"=\"504\" \
                 \"content-length\"=\"24\" \"content-type\"=\"text/plain\"",
                wire_size(&headers)
            ),
            "call proxy_get_buffer_bytes -> status 0 bytes \"upstream request timeout\"".into(),
        ]
    );
}

#[test]
fn a_callout_outlives_the_stream_that_made_it() {
    // In Envoy the answer still arrives, on the root context, after the stream was deleted.
    let mut p = probe(json!({"on": {"request_headers": [
        http_call(json!([[":method", "GET"], [":path", "/"], [":authority", "a"]]))
    ]}}))
    .cluster("auth")
    .start()
    .unwrap();
    p.send(harness::Request::get("/"), Response::status(200))
        .unwrap();
    assert_eq!(
        abi_support::callbacks(&p).last().unwrap(),
        "callback proxy_on_delete ctx=2"
    );
    let pending = p.pending_http_calls();
    assert_eq!(pending.len(), 1, "the callout must survive the stream");
    p.respond_http_call(pending[0].token, Response::status(200))
        .unwrap();
    assert_eq!(
        abi_support::callbacks(&p).last().unwrap(),
        &format!(
            "callback proxy_on_http_call_response ctx=1 token={} headers=2 body=0 trailers=0",
            pending[0].token
        )
    );
}

#[test]
fn grpc_unary_call_gets_its_message_and_close_status() {
    let mut p = probe(json!({"on": {
        "configure": [
            {"call": "proxy_grpc_call", "cluster": "nope", "service": "pkg.Svc", "method": "Do"},
            {"call": "proxy_grpc_call", "cluster": "grpc", "service": "pkg.Svc", "method": "Do",
             "metadata": [["x-md", "1"]], "message": [8, 1], "timeout": 1000}
        ],
        "grpc_receive": [{"call": "proxy_get_buffer_bytes", "buffer": 5}],
        "grpc_close": [{"call": "proxy_get_status"}]
    }}))
    .cluster("grpc")
    .start()
    .unwrap();
    let got = calls(&p);
    // Envoy: an unknown gRPC cluster is PARSE_FAILURE.
    assert_eq!(got[0], "call proxy_grpc_call -> status 4");
    let call = p.pending_grpc_calls().pop().unwrap();
    assert_eq!(
        got[1],
        format!("call proxy_grpc_call -> status 0 token {}", call.token)
    );
    assert_eq!(
        (call.service.as_str(), call.method.as_str(), call.is_stream),
        ("pkg.Svc", "Do", false)
    );
    assert_eq!(call.initial_metadata, [("x-md".to_string(), b"1".to_vec())]);
    assert_eq!(call.message, [8, 1]);
    assert_eq!(call.timeout, Some(Duration::from_millis(1000)));
    p.respond_grpc_call(call.token, [8, 2]).unwrap();
    assert_eq!(
        after(&p, &got[1]),
        [
            format!(
                "callback proxy_on_grpc_receive ctx=1 token={} size=2",
                call.token
            ),
            "call proxy_get_buffer_bytes -> status 0 bytes \"\\x08\\x02\"".into(),
        ]
    );
    assert!(p.pending_grpc_calls().is_empty());
}

#[test]
fn grpc_stream_sends_and_receives_metadata_messages_and_close() {
    let mut p = probe(json!({"on": {
        "configure": [
            {"call": "proxy_grpc_stream", "cluster": "grpc", "service": "pkg.Svc", "method": "Watch",
             "metadata": [["x-md", "1"]], "save": "s"},
            {"call": "proxy_grpc_send", "token": "$s", "message": "one", "end_stream": false},
            {"call": "proxy_grpc_send", "token": "$s", "message": "two", "end_stream": true},
            {"call": "proxy_grpc_send", "token": 999, "message": "x"}
        ],
        "grpc_receive_initial_metadata": [{"call": "proxy_get_header_map_pairs", "map": 4}],
        "grpc_receive": [{"call": "proxy_get_buffer_bytes", "buffer": 5}],
        "grpc_receive_trailing_metadata": [{"call": "proxy_get_header_map_value", "map": 5, "key": "grpc-status"}],
        "grpc_close": [{"call": "proxy_get_status"}]
    }}))
    .cluster("grpc")
    .start()
    .unwrap();
    let stream = p.pending_grpc_calls().pop().unwrap();
    let token = stream.token;
    assert!(stream.is_stream);
    assert_eq!(stream.sent, [b"one".to_vec(), b"two".to_vec()]);
    assert!(stream.closed_by_filter);
    assert_eq!(
        calls(&p)[1..],
        [
            "call proxy_grpc_send -> status 0",
            "call proxy_grpc_send -> status 0",
            "call proxy_grpc_send -> status 2"
        ]
    );
    p.grpc_receive_initial_metadata(token, &[("x-init", "a")])
        .unwrap();
    p.grpc_receive(token, "event").unwrap();
    p.grpc_receive_trailing_metadata(token, &[("grpc-status", "14")])
        .unwrap();
    p.grpc_close(token, 14, "unavailable").unwrap();
    assert_eq!(
        after(&p, "call proxy_grpc_send -> status 2"),
        [
            format!(
                "callback proxy_on_grpc_receive_initial_metadata ctx=1 token={token} headers=1"
            ),
            format!(
                "call proxy_get_header_map_pairs -> status 0 size {} count 1 \"x-init\"=\"a\"",
                wire_size(&[("x-init", "a")])
            ),
            format!("callback proxy_on_grpc_receive ctx=1 token={token} size=5"),
            "call proxy_get_buffer_bytes -> status 0 bytes \"event\"".into(),
            format!(
                "callback proxy_on_grpc_receive_trailing_metadata ctx=1 token={token} trailers=1"
            ),
            "call proxy_get_header_map_value -> status 0 value \"14\"".into(),
            format!("callback proxy_on_grpc_close ctx=1 token={token} status=14"),
            "call proxy_get_status -> status 0 code 14 message \"unavailable\"".into(),
        ]
    );
}

#[test]
fn grpc_cancel_and_close_know_their_tokens() {
    let p = probe(json!({"on": {"configure": [
        {"call": "proxy_grpc_stream", "cluster": "grpc", "service": "s", "method": "m", "save": "a"},
        {"call": "proxy_grpc_call", "cluster": "grpc", "service": "s", "method": "m", "message": "x", "save": "b"},
        {"call": "proxy_grpc_close", "token": "$a"},
        {"call": "proxy_grpc_cancel", "token": "$b"},
        {"call": "proxy_grpc_cancel", "token": 999},
        {"call": "proxy_grpc_close", "token": 999},
        {"call": "proxy_grpc_stream", "cluster": "nope", "service": "s", "method": "m"}
    ]}}))
    .cluster("grpc")
    .start()
    .unwrap();
    assert_eq!(
        calls(&p)[2..],
        [
            "call proxy_grpc_close -> status 0",
            "call proxy_grpc_cancel -> status 0",
            "call proxy_grpc_cancel -> status 2",
            "call proxy_grpc_close -> status 2",
            "call proxy_grpc_stream -> status 4",
        ]
    );
    // The cancelled call is gone; the closed stream is half-closed by the filter.
    let pending = p.pending_grpc_calls();
    assert_eq!(pending.len(), 1);
    assert!(pending[0].is_stream && pending[0].closed_by_filter);
}
