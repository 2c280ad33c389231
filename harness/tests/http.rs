//! HTTP semantics: header maps, local replies, pausing and resuming, bodies.
mod common;
use common::{assert_in_order, lines, probe, since};
use harness::{Action, Request, Response};
use serde_json::json;

#[test]
fn header_maps_follow_envoy() -> harness::Result<()> {
    let mut p = probe(json!({"on": {"request_headers": [
        {"call": "proxy_get_header_map_value", "map": 0, "key": "X-Foo"},
        {"call": "proxy_add_header_map_value", "map": 0, "key": "X-Added", "value": "1"},
        {"call": "proxy_replace_header_map_value", "map": 0, "key": "x-foo", "value": "c"},
        {"call": "proxy_remove_header_map_value", "map": 0, "key": "user-agent"},
        {"call": "proxy_remove_header_map_value", "map": 0, "key": "absent"},
        {"call": "proxy_get_header_map_value", "map": 0, "key": "absent"},
        {"call": "proxy_get_header_map_size", "map": 0},
        {"call": "proxy_get_header_map_pairs", "map": 2}]}}))
    .start()?;
    let ex = p.send(
        Request::get("/p")
            .header("x-foo", "a")
            .header("user-agent", "curl")
            .header("x-foo", "b"),
        Response::status(200),
    )?;
    assert_in_order(
        &lines(&p),
        &[
            "call proxy_get_header_map_value -> status 0 value \"a\"",
            "call proxy_add_header_map_value -> status 0",
            "call proxy_replace_header_map_value -> status 0",
            "call proxy_remove_header_map_value -> status 0",
            "call proxy_remove_header_map_value -> status 0",
            "call proxy_get_header_map_value -> status 1",
            // Sum of name and value lengths of the headers at that point.
            "call proxy_get_header_map_size -> status 0 size 63",
            // Response headers have not arrived: an empty map.
            "call proxy_get_header_map_pairs -> status 0 size 0 count 0",
        ],
    );
    let up = ex.upstream.expect("upstream");
    let names: Vec<&str> = up.headers.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        [
            ":authority",
            ":path",
            ":method",
            ":scheme",
            "x-added",
            "x-foo"
        ]
    );
    assert_eq!(up.header_all("x-foo"), ["c"]);
    Ok(())
}

#[test]
fn set_header_map_pairs_replaces_the_map_and_lower_cases() -> harness::Result<()> {
    let mut p = probe(json!({"on": {"response_headers": [
        {"call": "proxy_set_header_map_pairs", "map": 2, "pairs": [[":status", "201"], ["X-New", "v"]]}]}}))
    .start()?;
    let ex = p.send(
        Request::get("/"),
        Response::status(200).header("x-old", "1"),
    )?;
    assert_eq!(
        ex.client.headers,
        vec![
            (":status".to_string(), b"201".to_vec()),
            ("x-new".to_string(), b"v".to_vec())
        ]
    );
    Ok(())
}

#[test]
fn local_reply_is_deferred_and_runs_the_response_callbacks() -> harness::Result<()> {
    let mut p = probe(json!({"on": {"request_headers": [
        {"call": "proxy_send_local_response", "status": 403, "details": "probe denied", "body": "nope",
         "headers": [["x-local", "1"], ["X-Up", "2"]]},
        {"call": "proxy_get_header_map_value", "map": 0, "key": ":path"}],
      "response_headers": [{"call": "proxy_get_header_map_pairs", "map": 2},
                           {"call": "proxy_get_property", "path": ["response", "code_details"]}],
      "response_body": [{"call": "proxy_get_buffer_bytes", "buffer": 1}]}}))
    .start()?;
    let mut s = p.http_stream();
    // The callback result becomes "stop"; the request map is still readable in it.
    assert_eq!(
        s.request_headers(
            &[(":method", "GET"), (":path", "/x"), (":authority", "h")],
            true
        )?,
        Action::Pause
    );
    let reply = s.local_reply().cloned().expect("local reply");
    assert_eq!(
        (reply.status, reply.details.as_str(), reply.body.as_slice()),
        (403, "probe_denied", &b"nope"[..])
    );
    assert_eq!(s.response().status(), Some(403));
    s.complete()?;
    drop(s);
    assert_in_order(
        &lines(&p),
        &[
            "call proxy_send_local_response -> status 0",
            "call proxy_get_header_map_value -> status 0 value \"/x\"",
            "callback proxy_on_response_headers ctx=2 headers=5 eos=false",
            "call proxy_get_header_map_pairs -> status 0 size 114 count 5 \":status\"=\"403\" \"x-local\"=\"1\" \"x-up\"=\"2\" \"content-length\"=\"4\" \"content-type\"=\"text/plain\"",
            "call proxy_get_property -> status 0 value \"probe_denied\"",
            "callback proxy_on_response_body ctx=2 size=4 eos=true",
            "call proxy_get_buffer_bytes -> status 0 bytes \"nope\"",
        ],
    );
    let ex = p.send(Request::get("/y"), Response::status(200))?;
    assert_eq!(ex.upstream, None);
    assert_eq!(ex.client.status(), Some(403));
    assert_eq!(ex.client.body, b"nope");
    Ok(())
}

#[test]
fn stop_on_headers_holds_the_body_until_continued() -> harness::Result<()> {
    let mut p = probe(json!({"on": {
        "request_headers": [{"let": {"stream": "$ctx"}}, {"return": "pause"}],
        "tick": [{"call": "proxy_set_effective_context", "context": "$stream"},
                 {"call": "proxy_continue_stream", "stream": 0}],
        "configure": [{"call": "proxy_set_tick_period_milliseconds", "period": 10}],
        "request_body": [{"call": "proxy_get_buffer_bytes", "buffer": 0}]}}))
    .start()?;
    let mut s = p.http_stream();
    assert_eq!(
        s.request_headers(
            &[(":method", "POST"), (":path", "/"), (":authority", "h")],
            false
        )?,
        Action::Pause
    );
    assert!(s.is_paused());
    // StopIteration acts as StopAllIterationAndWatermark: the body is buffered, not delivered.
    assert_eq!(s.request_body(b"hello ", false)?, Action::Pause);
    assert_eq!(s.request_body(b"world", true)?, Action::Pause);
    let mark = s.plugin().logs().len();
    s.plugin()
        .advance_clock(std::time::Duration::from_millis(10))?;
    assert!(!s.is_paused());
    assert_in_order(
        &since(s.plugin(), mark),
        &[
            "callback proxy_on_request_body ctx=2 size=11 eos=true",
            "call proxy_get_buffer_bytes -> status 0 bytes \"hello world\"",
        ],
    );
    assert_eq!(s.request().body, b"hello world");
    Ok(())
}

#[test]
fn a_paused_body_accumulates_and_can_be_rewritten() -> harness::Result<()> {
    let mut p = probe(json!({"on": {"request_body": [
        {"when": {"eos": false}, "return": "pause"},
        {"when": {"eos": true}, "call": "proxy_get_buffer_bytes", "buffer": 0},
        {"when": {"eos": true}, "call": "proxy_get_buffer_status", "buffer": 0},
        {"when": {"eos": true}, "call": "proxy_set_buffer_bytes", "buffer": 0, "start": 0, "size": 0, "data": ">"},
        {"when": {"eos": true}, "call": "proxy_set_buffer_bytes", "buffer": 0, "start": 100, "data": "<"},
        {"when": {"eos": true}, "call": "proxy_set_buffer_bytes", "buffer": 0, "start": 2, "size": 1, "data": "?"}]}}))
    .start()?;
    let mut s = p.http_stream();
    s.request_headers(
        &[(":method", "POST"), (":path", "/"), (":authority", "h")],
        false,
    )?;
    assert_eq!(s.request_body(b"abc", false)?, Action::Pause);
    assert_eq!(s.request_body(b"def", true)?, Action::Continue);
    assert_eq!(s.request().body, b">abcdef<");
    drop(s);
    assert_in_order(
        &lines(&p),
        &[
            "callback proxy_on_request_body ctx=2 size=3 eos=false",
            "callback proxy_on_request_body ctx=2 size=6 eos=true",
            "call proxy_get_buffer_bytes -> status 0 bytes \"abcdef\"",
            "call proxy_get_buffer_status -> status 0 size 6 flags 0",
            "call proxy_set_buffer_bytes -> status 0",
            "call proxy_set_buffer_bytes -> status 0",
            // A change in the middle of the body is refused, as Envoy does.
            "call proxy_set_buffer_bytes -> status 2",
        ],
    );
    Ok(())
}

#[test]
fn trailers_can_be_added_at_the_end_of_the_body_only() -> harness::Result<()> {
    let mut p = probe(json!({"on": {"request_body": [
        {"call": "proxy_add_header_map_value", "map": 1, "key": "x-t", "value": "1"}]}}))
    .start()?;
    let mut s = p.http_stream();
    s.request_headers(
        &[(":method", "POST"), (":path", "/"), (":authority", "h")],
        false,
    )?;
    s.request_body(b"a", false)?;
    s.request_body(b"b", true)?;
    assert_eq!(
        s.request().trailers,
        vec![("x-t".to_string(), b"1".to_vec())]
    );
    drop(s);
    assert_in_order(
        &lines(&p),
        &[
            "call proxy_add_header_map_value -> status 2",
            "call proxy_add_header_map_value -> status 0",
        ],
    );
    Ok(())
}

#[test]
fn response_trailers_and_close_stream() -> harness::Result<()> {
    let mut p = probe(json!({"on": {"response_trailers": [
        {"call": "proxy_get_header_map_value", "map": 3, "key": "grpc-status"},
        {"call": "proxy_close_stream", "stream": 1}]}}))
    .start()?;
    let mut s = p.http_stream();
    s.request_headers(&[(":path", "/")], false)?;
    assert_eq!(s.request_trailers(&[("x-rt", "1")])?, Action::Continue);
    s.response_headers(&[(":status", "200")], false)?;
    s.response_body(b"x", false)?;
    s.response_trailers(&[("grpc-status", "0")])?;
    assert!(s.closed_by_filter());
    drop(s);
    assert_in_order(
        &lines(&p),
        &[
            "callback proxy_on_request_trailers ctx=2 trailers=1",
            "callback proxy_on_response_trailers ctx=2 trailers=1",
            "call proxy_get_header_map_value -> status 0 value \"0\"",
        ],
    );
    Ok(())
}

/// Envoy's HTTP/1.1 codec makes the Host header `:authority`: `Request::header("host", ..)` sets it.
#[test]
fn a_host_header_is_the_authority() {
    let r = harness::Request::get("/").header("Host", "api.example");
    assert_eq!(
        r.headers
            .iter()
            .filter(|(k, _)| k == ":authority" || k == "host")
            .map(|(k, v)| (k.as_str(), v.as_slice()))
            .collect::<Vec<_>>(),
        [(":authority", &b"api.example"[..])]
    );
}
