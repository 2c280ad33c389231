//! Stream control through the ABI probe: local replies (deferred until the callback returns),
//! pause and `proxy_continue_stream`, `proxy_close_stream`, `proxy_get_status`.

mod abi_support;

use std::time::Duration;

use abi_support::{after, callbacks, calls, start, GET};
use harness::{Action, Request, Response};
use serde_json::json;

#[test]
fn a_local_reply_is_deferred_and_runs_the_response_callbacks() {
    let mut p = start(json!({"on": {
        "request_headers": [
            {"call": "proxy_send_local_response", "status": 403, "details": "probe denied", "body": "nope",
             "headers": [["x-local", "1"], ["X-Up", "2"]]},
            // Still in the callback: the request is still there.
            {"call": "proxy_get_header_map_value", "map": 0, "key": ":path"}
        ],
        "response_headers": [{"call": "proxy_get_header_map_pairs", "map": 2}],
        "response_body": [{"call": "proxy_get_buffer_bytes", "buffer": 1}]
    }}));
    let ex = p
        .send(
            Request::get("/denied"),
            Response::status(200).body("upstream"),
        )
        .unwrap();
    assert!(ex.upstream.is_none());
    assert_eq!(ex.client.status(), Some(403));
    assert_eq!(ex.client.body, b"nope");
    let reply = ex.local_reply.unwrap();
    // Envoy turns spaces in the details into underscores (response.code_details).
    assert_eq!(
        (reply.status, reply.details.as_str(), reply.grpc_status),
        (403, "probe_denied", None)
    );
    assert_eq!(
        after(&p, "callback proxy_on_request_headers ctx=2 headers=4 eos=true"),
        [
            "call proxy_send_local_response -> status 0",
            "call proxy_get_header_map_value -> status 0 value \"/denied\"",
            "callback proxy_on_response_headers ctx=2 headers=5 eos=false",
            // Envoy 1.40 sent exactly these 114 bytes.
            "call proxy_get_header_map_pairs -> status 0 size 114 count 5 \":status\"=\"403\" \"x-local\"=\"1\" \
             \"x-up\"=\"2\" \"content-length\"=\"4\" \"content-type\"=\"text/plain\"",
            "callback proxy_on_response_body ctx=2 size=4 eos=true",
            "call proxy_get_buffer_bytes -> status 0 bytes \"nope\"",
            "callback proxy_on_log ctx=2",
            "callback proxy_on_done ctx=2",
            "callback proxy_on_delete ctx=2",
        ]
    );
}

#[test]
fn a_local_reply_turns_the_callback_result_into_stop() {
    let mut p = start(json!({"on": {"request_headers": [
        {"call": "proxy_send_local_response", "status": 429, "grpc_status": 8},
        {"return": "continue"}
    ]}}));
    let mut s = p.http_stream();
    assert_eq!(s.request_headers(&GET, true).unwrap(), Action::Pause);
    let reply = s.local_reply().cloned().unwrap();
    drop(s);
    assert_eq!((reply.status, reply.grpc_status), (429, Some(8)));
}

#[test]
fn continue_stream_from_another_context_resumes_a_paused_request() {
    // The request pauses; a tick on the root context switches to the stream and resumes it.
    let mut p = start(json!({"on": {
        "configure": [{"call": "proxy_set_tick_period_milliseconds", "period": 100}],
        "request_headers": [{"let": {"stream": "$ctx"}}, {"return": "pause"}],
        "request_body": [{"call": "proxy_get_buffer_bytes", "buffer": 0}],
        "tick": [
            {"call": "proxy_set_effective_context", "context": "$stream"},
            {"call": "proxy_continue_stream", "stream": 0},
            {"call": "proxy_set_tick_period_milliseconds", "period": 0}
        ]
    }}));
    let mut s = p.http_stream();
    assert_eq!(s.request_headers(&GET, false).unwrap(), Action::Pause);
    // Headers stopped: Envoy holds the body too (StopAllIterationAndWatermark).
    assert_eq!(s.request_body(b"held", true).unwrap(), Action::Pause);
    assert!(s.is_paused());
    s.plugin()
        .advance_clock(Duration::from_millis(100))
        .unwrap();
    assert!(!s.is_paused());
    drop(s);
    assert_eq!(
        after(&p, "callback proxy_on_tick ctx=1"),
        [
            "call proxy_set_effective_context -> status 0",
            "call proxy_continue_stream -> status 0",
            "call proxy_set_tick_period_milliseconds -> status 0",
            "callback proxy_on_request_body ctx=2 size=4 eos=true",
            "call proxy_get_buffer_bytes -> status 0 bytes \"held\"",
        ]
    );
}

#[test]
fn close_stream_resets_the_stream() {
    let mut p = start(json!({"on": {"request_headers": [
        {"call": "proxy_close_stream", "stream": 0},
        {"call": "proxy_close_stream", "stream": 9},
        {"call": "proxy_continue_stream", "stream": 9}
    ]}}));
    let mut s = p.http_stream();
    s.request_headers(&GET, true).unwrap();
    assert!(s.closed_by_filter());
    s.reset().unwrap();
    drop(s);
    assert_eq!(
        calls(&p),
        [
            "call proxy_close_stream -> status 0",
            "call proxy_close_stream -> status 2",
            "call proxy_continue_stream -> status 2",
        ]
    );
    assert!(callbacks(&p).contains(&"callback proxy_on_delete ctx=2".to_string()));
}

#[test]
fn get_status_without_a_callout_is_ok_and_empty() {
    let p = start(json!({"on": {"configure": [{"call": "proxy_get_status"}]}}));
    assert_eq!(
        calls(&p),
        ["call proxy_get_status -> status 0 code 0 message \"\""]
    );
}

#[test]
fn set_effective_context_rejects_unknown_contexts() {
    let p = start(json!({"on": {"configure": [
        {"call": "proxy_set_effective_context", "context": 999},
        {"call": "proxy_set_effective_context", "context": 1}
    ]}}));
    assert_eq!(
        calls(&p),
        [
            "call proxy_set_effective_context -> status 2",
            "call proxy_set_effective_context -> status 0"
        ]
    );
}
