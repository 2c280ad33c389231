//! Context lifecycle through the ABI probe: creation, VM start, configuration, stream end,
//! root shutdown with `proxy_done`, ABI detection and start functions, traps.

mod abi_support;

use abi_support::{callbacks, calls, lines, probe, start, wat_probe, GET};
use harness::{AbiVersion, Action, Error, Level, Plugin, Request, Response};
use serde_json::json;

#[test]
fn root_and_http_stream_callbacks_arrive_in_envoy_order() {
    let program = json!({"on": {}});
    let size = program.to_string().len();
    let mut p = start(program);
    let mut s = p.http_stream();
    assert_eq!(s.request_headers(&GET, true).unwrap(), Action::Continue);
    assert_eq!(
        s.response_headers(&[(":status", "200")], true).unwrap(),
        Action::Continue
    );
    s.complete().unwrap();
    drop(s);
    assert_eq!(
        callbacks(&p),
        [
            "callback proxy_on_context_create ctx=1 parent=0".to_string(),
            "callback proxy_on_vm_start ctx=1 vm_config_size=0".into(),
            format!("callback proxy_on_configure ctx=1 config_size={size}"),
            "callback proxy_on_context_create ctx=2 parent=1".into(),
            "callback proxy_on_request_headers ctx=2 headers=4 eos=true".into(),
            "callback proxy_on_response_headers ctx=2 headers=1 eos=true".into(),
            // Envoy 1.40 logs before done (harness/probes/ENVOY.md).
            "callback proxy_on_log ctx=2".into(),
            "callback proxy_on_done ctx=2".into(),
            "callback proxy_on_delete ctx=2".into(),
        ]
    );
}

#[test]
fn each_stream_gets_its_own_context_id() {
    let mut p = start(json!({}));
    p.send(Request::get("/a"), Response::status(200)).unwrap();
    p.send(Request::get("/b"), Response::status(200)).unwrap();
    let created: Vec<String> = callbacks(&p)
        .into_iter()
        .filter(|l| l.contains("context_create"))
        .collect();
    assert_eq!(
        created,
        [
            "callback proxy_on_context_create ctx=1 parent=0",
            "callback proxy_on_context_create ctx=2 parent=1",
            "callback proxy_on_context_create ctx=3 parent=1",
        ]
    );
}

#[test]
fn configure_returning_false_rejects_the_configuration() {
    let err = probe(json!({"on": {"configure": [{"return": false}]}}))
        .start()
        .err();
    match err {
        Some(Error::ConfigRejected { logs }) => {
            let messages: Vec<&str> = logs.iter().map(|l| l.message.as_str()).collect();
            assert!(
                messages
                    .iter()
                    .any(|m| m.starts_with("callback proxy_on_configure ctx=1")),
                "{messages:?}"
            );
        }
        other => panic!("expected ConfigRejected, got {other:?}"),
    }
}

#[test]
fn an_invalid_program_is_rejected_with_the_reason() {
    let err = probe(json!({"on": {"request_headers": [{"call": "proxy_no_such_call"}]}}))
        .start()
        .err();
    match err {
        Some(Error::ConfigRejected { logs }) => {
            let errors: Vec<&str> = logs
                .iter()
                .filter(|l| l.level == Level::Error)
                .map(|l| l.message.as_str())
                .collect();
            assert_eq!(
                errors,
                ["probe: bad configuration: on.request_headers[0]: unknown host function \"proxy_no_such_call\""]
            );
        }
        other => panic!("expected ConfigRejected, got {other:?}"),
    }
}

#[test]
fn vm_configuration_is_read_in_vm_start() {
    let vm_program =
        json!({"on": {"vm_start": [{"call": "proxy_get_buffer_status", "buffer": 6}]}});
    let size = vm_program.to_string().len();
    let p = probe(json!({})).vm_config_json(vm_program).start().unwrap();
    let all = lines(&p);
    assert_eq!(
        all[1],
        format!("callback proxy_on_vm_start ctx=1 vm_config_size={size}")
    );
    assert_eq!(
        all[2],
        format!("call proxy_get_buffer_status -> status 0 size {size} flags 0")
    );
}

#[test]
fn vm_start_returning_false_fails_the_start() {
    let vm_program = json!({"on": {"vm_start": [{"return": false}]}});
    match probe(json!({})).vm_config_json(vm_program).start().err() {
        Some(Error::VmStartFailed { .. }) => {}
        other => panic!("expected VmStartFailed, got {other:?}"),
    }
}

#[test]
fn proxy_done_finishes_a_root_context_that_asked_to_wait() {
    let mut p = start(json!({"on": {
        "configure": [{"call": "proxy_done"}, {"call": "proxy_set_tick_period_milliseconds", "period": 1000}],
        "done": [{"return": false, "when": {"ctx": 1}}],
        "tick": [{"call": "proxy_done"}]
    }}));
    // Nothing is pending while the plugin runs: NOT_FOUND, as in Envoy.
    assert_eq!(calls(&p)[0], "call proxy_done -> status 1");
    assert!(
        !p.shutdown().unwrap(),
        "on_done returned false: the root must wait for proxy_done"
    );
    assert!(!callbacks(&p).contains(&"callback proxy_on_delete ctx=1".to_string()));
    p.advance_clock(std::time::Duration::from_secs(1)).unwrap();
    assert_eq!(calls(&p).last().unwrap(), "call proxy_done -> status 0");
    assert!(p.finish_shutdown().unwrap());
    assert_eq!(
        callbacks(&p).last().unwrap(),
        "callback proxy_on_delete ctx=1"
    );
}

#[test]
fn root_on_done_returning_true_deletes_at_once() {
    let mut p = start(json!({}));
    assert!(p.shutdown().unwrap());
    let cbs = callbacks(&p);
    assert_eq!(
        cbs[cbs.len() - 2..],
        [
            "callback proxy_on_done ctx=1",
            "callback proxy_on_delete ctx=1"
        ]
    );
}

#[test]
fn abi_0_2_0_module_is_detected_and_started_with_start() {
    let mut p = Plugin::builder_from_bytes(wat_probe("abi_0_2_0.wat"))
        .start()
        .unwrap();
    assert_eq!(p.abi_version(), AbiVersion::V0_2_0);
    // `_start` ran once (the module exports no `_initialize`).
    assert_eq!(p.logs_at(Level::Info), ["starts: S"]);
    let ex = p.send(Request::get("/"), Response::status(200)).unwrap();
    assert_eq!(ex.upstream.unwrap().header("x-abi"), Some("0.2.0"));
    assert_eq!(p.logs_at(Level::Info)[1], "abi 0.2.0 request headers");
}

#[test]
fn malloc_is_the_allocator_fallback_and_initialize_suppresses_start() {
    let config = br#"{"any": "configuration"}"#;
    let p = Plugin::builder_from_bytes(wat_probe("malloc_only.wat"))
        .config_bytes(config)
        .start()
        .unwrap();
    assert_eq!(p.abi_version(), AbiVersion::V0_2_1);
    // `_initialize` then `main`; `_start` is not called when `_initialize` exists.
    assert_eq!(
        p.logs_at(Level::Info),
        ["starts: IM", r#"{"any": "configuration"}"#, "malloc used"]
    );
}

#[test]
fn a_trap_reports_the_panic_message_and_fails_later_streams_closed() {
    let mut p = start(json!({"on": {"request_headers": [
        {"trap": "panicked at 'probe says no'", "when": {"n": 1}}
    ]}}));
    let mut s = p.http_stream();
    match s.request_headers(&GET, true) {
        Err(Error::Trap { panic_message, .. }) => {
            assert_eq!(
                panic_message.as_deref(),
                Some("panicked at 'probe says no'")
            )
        }
        other => panic!("expected a trap, got {other:?}"),
    }
    drop(s);
    assert_eq!(p.failure(), Some("panicked at 'probe says no'"));
    let ex = p.send(Request::get("/"), Response::status(200)).unwrap();
    assert_eq!(ex.client.status(), Some(503));
    assert_eq!(ex.local_reply.unwrap().details, "wasm_fail_stream");
    assert!(ex.upstream.is_none());
}

#[test]
fn a_trap_with_fail_open_lets_later_streams_through() {
    let mut p = probe(json!({"on": {"request_headers": [{"trap": "boom"}]}}))
        .fail_open(true)
        .start()
        .unwrap();
    assert!(p.send(Request::get("/"), Response::status(200)).is_err());
    let ex = p
        .send(Request::get("/again"), Response::status(201))
        .unwrap();
    assert_eq!(ex.client.status(), Some(201));
    assert_eq!(ex.upstream.unwrap().header(":path"), Some("/again"));
}
