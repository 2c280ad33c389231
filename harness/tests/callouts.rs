//! HTTP callouts, gRPC calls and streams, the virtual clock and ticks.
mod common;
use common::{assert_in_order, lines, probe, since};
use harness::{Action, Error, Request, Response};
use serde_json::json;
use std::time::Duration;

fn auth_program() -> serde_json::Value {
    json!({"on": {
        "request_headers": [
            {"call": "proxy_http_call", "cluster": "auth",
             "headers": [[":method", "GET"], [":path", "/check"], [":authority", "auth"]],
             "body": "q", "timeout": 500, "save": "tok"},
            {"let": {"stream": "$ctx"}},
            {"return": "pause"}],
        "http_call_response": [
            {"call": "proxy_get_header_map_value", "map": 6, "key": "x-user"},
            {"call": "proxy_get_buffer_bytes", "buffer": 4},
            {"call": "proxy_get_status"},
            {"call": "proxy_set_effective_context", "context": "$stream"},
            {"call": "proxy_add_header_map_value", "map": 0, "key": "x-from-callout", "value": "1"},
            {"call": "proxy_continue_stream", "stream": 0}]}})
}

#[test]
fn a_callout_answer_arrives_on_the_root_context_and_resumes_the_stream() -> harness::Result<()> {
    let mut p = probe(auth_program()).cluster("auth").start()?;
    let mut s = p.http_stream();
    assert_eq!(
        s.request_headers(
            &[(":method", "GET"), (":path", "/x"), (":authority", "h")],
            true
        )?,
        Action::Pause
    );
    let calls = s.plugin().pending_http_calls();
    assert_eq!(calls.len(), 1);
    let call = &calls[0];
    assert_eq!(
        (
            call.cluster.as_str(),
            call.header(":path"),
            call.body.as_slice()
        ),
        ("auth", Some("/check"), &b"q"[..])
    );
    assert_eq!(call.timeout, Some(Duration::from_millis(500)));
    let token = call.token;
    s.plugin().respond_http_call(
        token,
        Response::status(200).header("x-user", "u1").body("ok"),
    )?;
    assert!(!s.is_paused());
    assert_eq!(s.request().header("x-from-callout"), Some("1"));
    drop(s);
    assert_in_order(
        &lines(&p),
        &[
            &format!("callback proxy_on_http_call_response ctx=1 token={token} headers=3 body=2 trailers=0"),
            "call proxy_get_header_map_value -> status 0 value \"u1\"",
            "call proxy_get_buffer_bytes -> status 0 bytes \"ok\"",
            "call proxy_get_status -> status 0 code 0 message \"\"",
        ],
    );
    Ok(())
}

#[test]
fn send_answers_callouts_by_rule_or_reports_the_wait() -> harness::Result<()> {
    let mut p = probe(auth_program()).cluster("auth").start()?;
    match p.send(Request::get("/"), Response::status(200)) {
        Err(Error::StreamPaused { waiting_on }) => {
            assert!(waiting_on.contains("cluster 'auth'"), "{waiting_on}")
        }
        other => panic!("expected a paused stream, got {other:?}"),
    }
    p.answer_http_calls("auth", Response::status(200).header("x-user", "u2"));
    let ex = p.send(Request::get("/"), Response::status(204))?;
    assert_eq!(
        ex.upstream
            .and_then(|u| u.header("x-from-callout").map(str::to_string)),
        Some("1".into())
    );
    assert_eq!(ex.client.status(), Some(204));
    Ok(())
}

#[test]
fn http_call_arguments_are_validated_like_envoy() -> harness::Result<()> {
    let call = |cluster: &str, headers: serde_json::Value, timeout: i64| json!({"call": "proxy_http_call", "cluster": cluster, "headers": headers, "timeout": timeout});
    let full = json!([[":method", "GET"], [":path", "/"], [":authority", "a"]]);
    let p = probe(json!({"on": {"configure": [
        call("nowhere", full.clone(), 100),
        call("auth", json!([[":path", "/"], [":authority", "a"]]), 100),
        call("auth", json!([[":method", "GET"], [":authority", "a"]]), 100),
        call("auth", json!([[":method", "GET"], [":path", "/"]]), 100),
        call("auth", full.clone(), -1),
        call("auth", full, 0)]}}))
    .cluster("auth")
    .start()?;
    let reports: Vec<String> = lines(&p)
        .into_iter()
        .filter(|l| l.starts_with("call proxy_http_call"))
        .collect();
    assert_eq!(reports[..5], ["call proxy_http_call -> status 2"; 5]);
    assert!(
        reports[5].starts_with("call proxy_http_call -> status 0 token "),
        "{reports:?}"
    );
    assert_eq!(p.pending_http_calls()[0].timeout, None);
    Ok(())
}

#[test]
fn a_reset_callout_reports_zero_sizes_and_a_timeout_gets_envoys_504() -> harness::Result<()> {
    let mut p = probe(json!({"on": {"configure": [
        {"call": "proxy_http_call", "cluster": "a", "headers": [[":method", "GET"], [":path", "/"], [":authority", "a"]], "timeout": 1000},
        {"call": "proxy_http_call", "cluster": "a", "headers": [[":method", "GET"], [":path", "/"], [":authority", "a"]], "timeout": 3000}]}}))
    .cluster("a")
    .start()?;
    let tokens: Vec<u32> = p.pending_http_calls().iter().map(|c| c.token).collect();
    p.reset_http_call(tokens[0])?;
    assert_eq!(
        lines(&p).last().map(String::as_str),
        Some(
            format!(
                "callback proxy_on_http_call_response ctx=1 token={} headers=0 body=0 trailers=0",
                tokens[0]
            )
            .as_str()
        )
    );
    let mark = p.logs().len();
    p.advance_clock(Duration::from_millis(2999))?;
    assert_eq!(p.pending_http_calls().len(), 1, "not timed out yet");
    p.advance_clock(Duration::from_millis(1))?;
    assert!(p.pending_http_calls().is_empty());
    assert_eq!(
        since(&p, mark),
        [format!(
            "callback proxy_on_http_call_response ctx=1 token={} headers=3 body=24 trailers=0",
            tokens[1]
        )]
    );
    assert!(
        p.respond_http_call(tokens[1], Response::status(200))
            .is_err(),
        "answered twice"
    );
    Ok(())
}

#[test]
fn ticks_follow_the_virtual_clock() -> harness::Result<()> {
    let mut p = probe(json!({"on": {
        "configure": [{"call": "proxy_set_tick_period_milliseconds", "period": 1000}],
        "tick": [{"call": "proxy_get_current_time_nanoseconds"}]}}))
    .start()?;
    let t0 = p.now_nanos();
    p.advance_clock(Duration::from_millis(2500))?;
    let ticks: Vec<String> = lines(&p)
        .into_iter()
        .filter(|l| l.starts_with("call proxy_get_current_time"))
        .collect();
    assert_eq!(
        ticks,
        [
            format!(
                "call proxy_get_current_time_nanoseconds -> status 0 time {}",
                t0 + 1_000_000_000
            ),
            format!(
                "call proxy_get_current_time_nanoseconds -> status 0 time {}",
                t0 + 2_000_000_000
            ),
        ]
    );
    assert_eq!(p.now_nanos(), t0 + 2_500_000_000);
    assert_eq!(p.tick_period(), Duration::from_secs(1));
    Ok(())
}

#[test]
fn grpc_calls_and_streams_are_answered_by_the_test() -> harness::Result<()> {
    let mut p = probe(json!({"on": {"configure": [
        {"call": "proxy_grpc_call", "cluster": "grpc", "service": "pkg.Svc", "method": "Get",
         "metadata": [["x-md", "1"]], "message": "req", "timeout": 100},
        {"call": "proxy_grpc_stream", "cluster": "grpc", "service": "pkg.Svc", "method": "Watch", "metadata": []},
        {"call": "proxy_grpc_call", "cluster": "nowhere", "service": "s", "method": "m", "message": ""},
        {"call": "proxy_grpc_send", "token": 99, "message": "x"}],
      "grpc_receive": [{"call": "proxy_get_buffer_bytes", "buffer": 5}],
      "grpc_receive_initial_metadata": [{"call": "proxy_get_header_map_pairs", "map": 4}],
      "grpc_receive_trailing_metadata": [{"call": "proxy_get_header_map_value", "map": 5, "key": "t"}],
      "grpc_close": [{"call": "proxy_get_status"}]}}))
    .cluster("grpc")
    .start()?;
    assert_in_order(
        &lines(&p),
        &[
            "call proxy_grpc_call -> status 4",
            "call proxy_grpc_send -> status 2",
        ],
    );
    let calls = p.pending_grpc_calls();
    let (unary, stream) = (&calls[0], &calls[1]);
    assert_eq!(
        (
            unary.service.as_str(),
            unary.method.as_str(),
            unary.message.as_slice()
        ),
        ("pkg.Svc", "Get", &b"req"[..])
    );
    assert_eq!(
        unary.initial_metadata,
        vec![("x-md".to_string(), b"1".to_vec())]
    );
    assert!(stream.is_stream && !unary.is_stream);
    let (u, st) = (unary.token, stream.token);
    p.clear_logs();
    p.respond_grpc_call(u, b"resp")?;
    p.grpc_receive_initial_metadata(st, &[("a", "b")])?;
    p.grpc_receive(st, b"m1")?;
    p.grpc_receive_trailing_metadata(st, &[("t", "v")])?;
    p.grpc_close(st, 14, "unavailable")?;
    assert_eq!(
        lines(&p),
        [
            format!("callback proxy_on_grpc_receive ctx=1 token={u} size=4"),
            "call proxy_get_buffer_bytes -> status 0 bytes \"resp\"".into(),
            format!("callback proxy_on_grpc_receive_initial_metadata ctx=1 token={st} headers=1"),
            "call proxy_get_header_map_pairs -> status 0 size 16 count 1 \"a\"=\"b\"".into(),
            format!("callback proxy_on_grpc_receive ctx=1 token={st} size=2"),
            "call proxy_get_buffer_bytes -> status 0 bytes \"m1\"".into(),
            format!("callback proxy_on_grpc_receive_trailing_metadata ctx=1 token={st} trailers=1"),
            "call proxy_get_header_map_value -> status 0 value \"v\"".into(),
            format!("callback proxy_on_grpc_close ctx=1 token={st} status=14"),
            "call proxy_get_status -> status 0 code 14 message \"unavailable\"".into(),
        ]
    );
    assert!(p.pending_grpc_calls().is_empty());
    Ok(())
}

#[test]
fn grpc_stream_sends_cancel_and_close_are_observable() -> harness::Result<()> {
    let p = probe(json!({"on": {
        "configure": [
            {"call": "proxy_grpc_stream", "cluster": "g", "service": "s", "method": "m", "metadata": [], "save": "a"},
            {"call": "proxy_grpc_stream", "cluster": "g", "service": "s", "method": "m", "metadata": [], "save": "b"},
            {"call": "proxy_grpc_send", "token": "$a", "message": "one"},
            {"call": "proxy_grpc_send", "token": "$a", "message": "two", "end_stream": true},
            {"call": "proxy_grpc_cancel", "token": "$b"},
            {"call": "proxy_grpc_stream", "cluster": "g", "service": "s", "method": "m", "metadata": [], "save": "c"},
            {"call": "proxy_grpc_close", "token": "$c"},
            {"call": "proxy_grpc_close", "token": 99},
            {"call": "proxy_grpc_cancel", "token": 99}]}}))
    .cluster("g")
    .start()?;
    let calls = p.pending_grpc_calls();
    assert_eq!(calls.len(), 2, "the cancelled stream is gone");
    assert_eq!(calls[0].sent, vec![b"one".to_vec(), b"two".to_vec()]);
    assert!(calls[0].closed_by_filter, "end_stream half-closes");
    assert!(
        calls[1].closed_by_filter && calls[1].sent.is_empty(),
        "proxy_grpc_close half-closes"
    );
    assert_in_order(
        &lines(&p),
        &[
            "call proxy_grpc_close -> status 0",
            "call proxy_grpc_close -> status 2",
            "call proxy_grpc_cancel -> status 2",
        ],
    );
    Ok(())
}
