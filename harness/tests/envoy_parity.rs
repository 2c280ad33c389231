//! Behaviours the differential runs (tools/envoy-e2e) and the probes measured in Envoy 1.40 where
//! the harness used to differ (harness/ENVOY-DIFFERENCES.md).
mod common;
use common::{lines, probe, since};
use harness::{Action, Request, Response};
use serde_json::{json, Value};
use std::time::Duration;

const GET: [(&str, &str); 3] = [(":method", "GET"), (":path", "/x"), (":authority", "h")];

fn http_call(cluster: &str) -> Value {
    json!({"call": "proxy_http_call", "cluster": cluster,
           "headers": [[":method", "GET"], [":path", "/c"], [":authority", "a"]], "timeout": 1000})
}

fn callbacks(p: &harness::Plugin) -> Vec<String> {
    lines(p)
        .into_iter()
        .filter(|l| {
            l.starts_with("callback proxy_on_request_body")
                || l.starts_with("callback proxy_on_response_body")
                || l.contains("_trailers ")
        })
        .collect()
}

#[test]
fn bodies_arrive_as_data_then_an_empty_end_of_stream_chunk() -> harness::Result<()> {
    let mut p = probe(json!({"on": {}})).start()?;
    p.send(
        Request::post("/u").body("hello body"),
        Response::status(200).body("original"),
    )?;
    assert_eq!(
        callbacks(&p),
        [
            "callback proxy_on_request_body ctx=2 size=10 eos=false",
            "callback proxy_on_request_body ctx=2 size=0 eos=true",
            "callback proxy_on_response_body ctx=2 size=8 eos=false",
            "callback proxy_on_response_body ctx=2 size=0 eos=true",
        ]
    );
    // With trailers, the trailers end the stream instead of the empty chunk.
    let mut p = probe(json!({"on": {}})).start()?;
    p.send(
        Request::post("/u").body("hi").trailer("x-t", "1"),
        Response::status(200),
    )?;
    assert_eq!(
        callbacks(&p),
        [
            "callback proxy_on_request_body ctx=2 size=2 eos=false",
            "callback proxy_on_request_trailers ctx=2 trailers=1",
        ]
    );
    Ok(())
}

#[test]
fn a_filter_editing_every_chunk_edits_the_empty_one_too() -> harness::Result<()> {
    // Measured by tools/envoy-e2e/scenarios/probe_body.yaml: `pre-hello bodypre-`.
    let mut p = probe(json!({"on": {"request_body": [
        {"call": "proxy_set_buffer_bytes", "buffer": 0, "start": 0, "size": 0, "data": "pre-"}
    ]}}))
    .start()?;
    let ex = p.send(
        Request::post("/u").body("hello body"),
        Response::status(200),
    )?;
    assert_eq!(ex.upstream.unwrap().body, b"pre-hello bodypre-");
    Ok(())
}

#[test]
fn callout_tokens_step_by_four_with_the_kind_in_the_low_bits() -> harness::Result<()> {
    // proxy-wasm-cpp-host: HTTP calls 4, 8, ...; gRPC calls 5, 9, ...; gRPC streams 6, 10, ...
    // (Envoy 1.40 measured HTTP tokens 4 then 8.)
    let grpc = |call: &str| json!({"call": call, "cluster": "g", "service": "s", "method": "m", "message": "x"});
    let mut p = probe(json!({"on": {"configure": [
        http_call("a"), grpc("proxy_grpc_call"), grpc("proxy_grpc_stream"),
        http_call("a"), grpc("proxy_grpc_call"), grpc("proxy_grpc_stream"),
    ]}}))
    .cluster("a")
    .cluster("g")
    .start()?;
    let tokens: Vec<String> = lines(&p)
        .into_iter()
        .filter(|l| l.contains("-> status 0 token"))
        .collect();
    assert_eq!(
        tokens,
        [
            "call proxy_http_call -> status 0 token 4",
            "call proxy_grpc_call -> status 0 token 5",
            "call proxy_grpc_stream -> status 0 token 6",
            "call proxy_http_call -> status 0 token 8",
            "call proxy_grpc_call -> status 0 token 9",
            "call proxy_grpc_stream -> status 0 token 10",
        ]
    );
    let mut http: Vec<u32> = p.pending_http_calls().iter().map(|c| c.token).collect();
    http.sort();
    assert_eq!(http, [4, 8]);
    p.respond_http_call(8, Response::status(200))?;
    Ok(())
}

#[test]
fn a_callout_answer_carries_the_upstream_service_time() -> harness::Result<()> {
    let mut p = probe(json!({"on": {
        "configure": [http_call("a")],
        "http_call_response": [{"call": "proxy_get_header_map_pairs", "map": 6}]}}))
    .cluster("a")
    .start()?;
    p.advance_clock(Duration::from_millis(25))?;
    let mark = p.logs().len();
    p.respond_http_call(4, Response::status(200).header("x-u", "1"))?;
    let got = since(&p, mark);
    assert_eq!(
        got[0],
        "callback proxy_on_http_call_response ctx=1 token=4 headers=3 body=0 trailers=0"
    );
    assert!(
        got[1].ends_with(
            "count 3 \":status\"=\"200\" \"x-u\"=\"1\" \"x-envoy-upstream-service-time\"=\"25\""
        ),
        "{got:?}"
    );
    Ok(())
}

fn answer_reader() -> Value {
    json!({"on": {
        "configure": [http_call("broken")],
        "http_call_response": [
            {"call": "proxy_get_header_map_pairs", "map": 6},
            {"call": "proxy_get_header_map_value", "map": 6, "key": "x-nope"},
            {"call": "proxy_get_buffer_bytes", "buffer": 4},
            {"call": "proxy_get_status"}]}})
}

#[test]
fn a_refused_connection_is_answered_with_envoys_503() -> harness::Result<()> {
    // Measured: tools/envoy-e2e/scenarios/probe_callout_resume.yaml, request 2.
    let mut p = probe(answer_reader()).cluster("broken").start()?;
    let mark = p.logs().len();
    p.fail_http_call(4)?;
    let body = "upstream connect error or disconnect/reset before headers. reset reason: remote connection failure";
    assert_eq!(
        since(&p, mark),
        [
            "callback proxy_on_http_call_response ctx=1 token=4 headers=3 body=98 trailers=0"
                .to_string(),
            "call proxy_get_header_map_pairs -> status 0 size 82 count 3 \":status\"=\"503\" \"content-length\"=\"98\" \"content-type\"=\"text/plain\"".into(),
            "call proxy_get_header_map_value -> status 1".into(),
            format!("call proxy_get_buffer_bytes -> status 0 bytes \"{body}\""),
            "call proxy_get_status -> status 0 code 0 message \"\"".into(),
        ]
    );
    Ok(())
}

#[test]
fn a_reset_callout_has_nothing_to_read() -> harness::Result<()> {
    let mut p = probe(answer_reader()).cluster("broken").start()?;
    let mark = p.logs().len();
    p.reset_http_call(4)?;
    let got = since(&p, mark);
    assert_eq!(
        got[..4],
        [
            "callback proxy_on_http_call_response ctx=1 token=4 headers=0 body=0 trailers=0",
            "call proxy_get_header_map_pairs -> status 2",
            "call proxy_get_header_map_value -> status 2",
            "call proxy_get_buffer_bytes -> status 1",
        ]
    );
    Ok(())
}

#[test]
fn stream_maps_from_the_root_during_a_callout_answer() -> harness::Result<()> {
    // Envoy (probe_callout_resume.yaml, ENVOY.md): pairs read as an empty map, lookups are
    // BAD_ARGUMENT.
    let mut p = probe(json!({"on": {
        "request_headers": [http_call("a"), {"return": "pause"}],
        "http_call_response": [
            {"call": "proxy_get_header_map_pairs", "map": 0},
            {"call": "proxy_get_header_map_value", "map": 3, "key": "x"},
            {"call": "proxy_get_header_map_value", "map": 0, "key": ":path"},
            {"call": "proxy_get_header_map_size", "map": 0}]}}))
    .cluster("a")
    .start()?;
    let mut s = p.http_stream();
    assert_eq!(s.request_headers(&GET, true)?, Action::Pause);
    drop(s);
    let mark = p.logs().len();
    p.respond_http_call(4, Response::status(200))?;
    assert_eq!(
        since(&p, mark)[1..],
        [
            "call proxy_get_header_map_pairs -> status 0 size 0 count 0",
            "call proxy_get_header_map_value -> status 2",
            "call proxy_get_header_map_value -> status 2",
            "call proxy_get_header_map_size -> status 2",
        ]
    );
    Ok(())
}

#[test]
fn fail_open_still_fails_the_stream_that_trapped() -> harness::Result<()> {
    // Envoy 1.40 (tools/reliability/tests/envoy_failure_modes.rs): the trapping stream gets
    // 503 wasm_fail_stream even with FAIL_OPEN; later streams skip the filter.
    let mut p = probe(json!({"on": {"request_headers": [{"trap": "boom"}]}}))
        .fail_open(true)
        .start()?;
    let mut s = p.http_stream();
    assert!(matches!(
        s.request_headers(&GET, true),
        Err(harness::Error::Trap { .. })
    ));
    let reply = s
        .local_reply()
        .cloned()
        .expect("the trapping stream is answered");
    assert_eq!(
        (reply.status, reply.details.as_str()),
        (503, "wasm_fail_stream")
    );
    s.complete()?;
    drop(s);
    let later = p.send(Request::get("/b"), Response::status(200))?;
    assert_eq!(later.client.status(), Some(200));
    assert!(later.local_reply.is_none());
    Ok(())
}
