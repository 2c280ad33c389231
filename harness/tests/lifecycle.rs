//! Start sequence, stream lifecycle, configuration rejection, traps and the failure policy.
mod common;
use common::{assert_in_order, lines, probe};
use harness::{Action, Error, Plugin, Request, Response};
use serde_json::json;

#[test]
fn start_and_stream_callbacks_run_in_envoy_order() -> harness::Result<()> {
    let mut p = probe(json!({"on": {}})).start()?;
    let start = lines(&p);
    assert_eq!(start[0], "callback proxy_on_context_create ctx=1 parent=0");
    assert_eq!(
        start[1],
        "callback proxy_on_vm_start ctx=1 vm_config_size=0"
    );
    assert!(
        start[2].starts_with("callback proxy_on_configure ctx=1 config_size="),
        "{start:?}"
    );
    p.clear_logs();
    p.send(Request::get("/"), Response::status(200))?;
    assert_eq!(
        lines(&p),
        [
            "callback proxy_on_context_create ctx=2 parent=1",
            "callback proxy_on_request_headers ctx=2 headers=4 eos=true",
            "callback proxy_on_response_headers ctx=2 headers=1 eos=true",
            "callback proxy_on_log ctx=2",
            "callback proxy_on_done ctx=2",
            "callback proxy_on_delete ctx=2",
        ]
    );
    Ok(())
}

#[test]
fn configure_returning_false_rejects_the_config_with_its_logs() {
    let r = probe(json!({"on": {"configure": [{"call": "proxy_log", "level": 4, "message": "bad value"}, {"return": false}]}}))
        .start();
    match r {
        Err(Error::ConfigRejected { logs }) => {
            assert!(logs.iter().any(|l| l.message == "bad value"), "{logs:?}")
        }
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("config accepted"),
    }
}

#[test]
fn vm_start_reads_the_vm_configuration() -> harness::Result<()> {
    let p = probe(json!({"on": {}}))
        .vm_config_json(json!({"on": {"vm_start": [{"call": "proxy_get_buffer_bytes", "buffer": 6, "start": 2, "max_size": 2}]}}))
        .start()?;
    assert_in_order(
        &lines(&p),
        &["call proxy_get_buffer_bytes -> status 0 bytes \"on\""],
    );
    Ok(())
}

#[test]
fn a_trap_is_an_error_with_the_panic_message_and_fails_closed() -> harness::Result<()> {
    let mut p = probe(json!({"on": {"request_headers": [{"when": {"n": 1}, "trap": "panicked at src/lib.rs:1:1: boom"}]}}))
        .start()?;
    let mut s = p.http_stream();
    match s.request_headers(
        &[(":method", "GET"), (":path", "/"), (":authority", "h")],
        true,
    ) {
        Err(Error::Trap {
            panic_message,
            message,
        }) => {
            assert_eq!(
                panic_message.as_deref(),
                Some("panicked at src/lib.rs:1:1: boom")
            );
            assert!(message.contains("unreachable"), "{message}");
        }
        other => panic!("expected a trap, got {other:?}"),
    }
    // The stream the trap happened in gets the fail-closed reply, and so do later ones.
    assert_eq!(
        s.local_reply().map(|l| (l.status, l.details.as_str())),
        Some((503, "wasm_fail_stream"))
    );
    s.complete()?;
    drop(s);
    assert_eq!(p.failure(), Some("panicked at src/lib.rs:1:1: boom"));
    let ex = p.send(Request::get("/"), Response::status(200))?;
    assert_eq!(ex.client.status(), Some(503));
    assert_eq!(ex.upstream, None);
    assert_eq!(
        ex.local_reply.map(|l| l.details),
        Some("wasm_fail_stream".to_string())
    );
    Ok(())
}

#[test]
fn fail_open_passes_requests_untouched_after_a_trap() -> harness::Result<()> {
    let mut p = probe(json!({"on": {"request_headers": [
        {"call": "proxy_add_header_map_value", "map": 0, "key": "x-probe", "value": "1"},
        {"when": {"n": 1}, "trap": "boom"}]}}))
    .fail_open(true)
    .start()?;
    assert!(matches!(
        p.send(Request::get("/a"), Response::status(200)),
        Err(Error::Trap { .. })
    ));
    let ex = p.send(Request::get("/b"), Response::status(204))?;
    assert_eq!(ex.client.status(), Some(204));
    let up = ex.upstream.expect("request reached the upstream");
    assert_eq!(up.header(":path"), Some("/b"));
    assert_eq!(
        up.header("x-probe"),
        None,
        "the failed filter no longer runs"
    );
    Ok(())
}

#[test]
fn proc_exit_fails_the_vm() -> harness::Result<()> {
    let mut p =
        probe(json!({"on": {"request_headers": [{"call": "proc_exit", "code": 3}]}})).start()?;
    match p.send(Request::get("/"), Response::status(200)) {
        Err(Error::Trap { message, .. }) => assert!(message.contains("proc_exit(3)"), "{message}"),
        other => panic!("expected a trap, got {other:?}"),
    }
    assert!(p.failure().is_some());
    Ok(())
}

#[test]
fn shutdown_waits_for_proxy_done_when_on_done_returns_false() -> harness::Result<()> {
    let mut p = probe(json!({"on": {
        "configure": [{"call": "proxy_set_tick_period_milliseconds", "period": 100}],
        "done": [{"when": {"ctx": 1}, "return": false}],
        "tick": [{"call": "proxy_done"}]}}))
    .start()?;
    assert!(!p.shutdown()?);
    assert!(!p.is_deleted());
    p.advance_clock(std::time::Duration::from_millis(100))?;
    assert!(p.is_deleted());
    assert_in_order(
        &lines(&p),
        &[
            "call proxy_done -> status 0",
            "callback proxy_on_delete ctx=1",
        ],
    );
    Ok(())
}

#[test]
fn streams_of_different_plugins_are_independent() -> harness::Result<()> {
    let mut a = probe(json!({"on": {}})).start()?;
    let mut b = probe(json!({"on": {}})).start()?;
    let mut sa = a.http_stream();
    assert_eq!(
        sa.request_headers(&[(":path", "/a")], true)?,
        Action::Continue
    );
    drop(sa);
    let ex = b.send(Request::get("/b"), Response::status(200))?;
    assert_eq!(ex.client.status(), Some(200));
    assert_eq!(a.metrics(), b.metrics());
    Ok(())
}

#[test]
fn load_errors_name_the_problem() {
    let no_abi = wat::parse_str(r#"(module (memory (export "memory") 1))"#).expect("wat");
    let e = Plugin::builder_from_bytes(no_abi)
        .start()
        .err()
        .expect("error");
    assert!(e.to_string().contains("proxy_abi_version_0_2_1"), "{e}");

    let v010 = wat::parse_str(
        r#"(module (memory (export "memory") 1) (func (export "proxy_abi_version_0_1_0")))"#,
    )
    .expect("wat");
    let e = Plugin::builder_from_bytes(v010)
        .start()
        .err()
        .expect("error");
    assert_eq!(
        e,
        Error::UnknownAbi {
            markers: vec!["proxy_abi_version_0_1_0".into()]
        }
    );

    let no_alloc = wat::parse_str(
        r#"(module (memory (export "memory") 1) (func (export "proxy_abi_version_0_2_1")))"#,
    )
    .expect("wat");
    let e = Plugin::builder_from_bytes(no_alloc)
        .start()
        .err()
        .expect("error");
    assert!(
        matches!(&e, Error::MissingExport(n) if n.contains("proxy_on_memory_allocate")),
        "{e}"
    );

    let bad_import = wat::parse_str(
        r#"(module (import "env" "proxy_teleport" (func)) (memory (export "memory") 1)
           (func (export "proxy_abi_version_0_2_1"))
           (func (export "proxy_on_memory_allocate") (param i32) (result i32) (i32.const 0)))"#,
    )
    .expect("wat");
    let e = Plugin::builder_from_bytes(bad_import)
        .start()
        .err()
        .expect("error");
    assert_eq!(
        e,
        Error::UnsatisfiedImports(vec!["env.proxy_teleport".into()])
    );

    let e = Plugin::builder("no_such_filter")
        .start()
        .err()
        .expect("error");
    assert!(
        e.to_string()
            .contains("no workspace filter 'no_such_filter'"),
        "{e}"
    );
}

#[test]
fn an_endless_loop_traps_instead_of_hanging() -> harness::Result<()> {
    let wasm = wat::parse_str(
        r#"(module (memory (export "memory") 1)
           (func (export "proxy_abi_version_0_2_1"))
           (func (export "proxy_on_memory_allocate") (param i32) (result i32) (i32.const 1024))
           (func (export "proxy_on_context_create") (param i32 i32))
           (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
             (loop $l (br $l)) (i32.const 0)))"#,
    )
    .expect("wat");
    let mut p = Plugin::builder_from_bytes(wasm)
        .fuel_per_callback(1_000_000)
        .start()?;
    match p.send(Request::get("/"), Response::status(200)) {
        Err(Error::Trap {
            message,
            panic_message: None,
        }) => {
            assert!(message.contains("an endless loop?"), "{message}")
        }
        other => panic!("expected a trap, got {other:?}"),
    }
    assert_eq!(
        p.send(Request::get("/"), Response::status(200))?
            .client
            .status(),
        Some(503)
    );
    Ok(())
}
