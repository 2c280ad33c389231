//! Failure modes in the harness (Envoy's semantics): a trap fails the VM; fail-closed answers
//! 503 `wasm_fail_stream` for that and every later stream, fail-open lets them through without
//! the filter; a rejected configuration is `ConfigRejected` with the filter's message. The same
//! module in real Envoy: `envoy_failure_modes.rs`.

use harness::{Error, Plugin, Request, Response};
use reliability::trap_module::{REJECT_MESSAGE, TRAP_HEADER, WAT};

fn module() -> Vec<u8> {
    wat::parse_str(WAT).expect("trap_module.wat compiles")
}

#[test]
fn a_trap_fails_closed_with_503_wasm_fail_stream_for_every_later_request() {
    let mut plugin = Plugin::builder_from_bytes(module()).start().unwrap();
    let ok = plugin
        .send(Request::get("/a"), Response::status(200))
        .unwrap();
    assert_eq!(ok.client.status(), Some(200));

    let mut s = plugin.http_stream();
    let err = s
        .request_headers(&[(":path", "/"), (TRAP_HEADER, "1")], true)
        .unwrap_err();
    assert!(matches!(err, Error::Trap { .. }), "{err}");
    let reply = s.local_reply().cloned().expect("a local reply");
    assert_eq!(
        (reply.status, reply.details.as_str()),
        (503, "wasm_fail_stream")
    );
    s.complete().unwrap();
    drop(s);
    assert!(plugin.failure().is_some());

    // The VM stays failed: an innocent request is refused too.
    let after = plugin
        .send(Request::get("/b"), Response::status(200))
        .unwrap();
    assert_eq!(after.client.status(), Some(503));
    assert!(after.upstream.is_none());
    assert_eq!(after.local_reply.unwrap().details, "wasm_fail_stream");
}

#[test]
fn a_trap_fails_open_and_later_traffic_passes_without_the_filter() {
    let mut plugin = Plugin::builder_from_bytes(module())
        .fail_open(true)
        .start()
        .unwrap();
    let mut s = plugin.http_stream();
    let err = s
        .request_headers(&[(":path", "/"), (TRAP_HEADER, "1")], true)
        .unwrap_err();
    assert!(matches!(err, Error::Trap { .. }), "{err}");
    // As in Envoy 1.40, the stream whose own callback trapped is still failed with 503
    // wasm_fail_stream under FAIL_OPEN; only later streams skip the filter.
    let reply = s
        .local_reply()
        .cloned()
        .expect("the trapping stream gets a local reply");
    assert_eq!(reply.status, 503);
    assert_eq!(reply.details, "wasm_fail_stream");
    s.complete().unwrap();
    drop(s);
    let after = plugin
        .send(
            Request::get("/b").header(TRAP_HEADER, "1"),
            Response::status(200),
        )
        .unwrap();
    assert_eq!(after.client.status(), Some(200));
    assert_eq!(after.upstream.unwrap().header(TRAP_HEADER), Some("1"));
}

#[test]
fn a_rejected_configuration_carries_the_filters_message() {
    match Plugin::builder_from_bytes(module())
        .config_bytes("reject")
        .start()
    {
        Err(Error::ConfigRejected { logs }) => {
            assert_eq!(logs.len(), 1, "{logs:?}");
            assert_eq!(logs[0].message, REJECT_MESSAGE);
        }
        Err(e) => panic!("expected ConfigRejected, got {e}"),
        Ok(_) => panic!("`reject` was accepted"),
    }
    assert!(Plugin::builder_from_bytes(module())
        .config_bytes("accept")
        .start()
        .is_ok());
}
