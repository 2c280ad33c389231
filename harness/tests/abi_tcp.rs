//! TCP (network filter) contexts through the ABI probe: new connection, data both ways with
//! buffer access, pause/resume, closes from either side, and a filter closing the connection.

mod abi_support;

use abi_support::{after, callbacks, start};
use harness::{Action, Peer};
use serde_json::json;

#[test]
fn data_flows_both_ways_and_can_be_edited() {
    let mut p = start(json!({"on": {
        "downstream_data": [
            {"call": "proxy_get_buffer_bytes", "buffer": 2},
            {"call": "proxy_set_buffer_bytes", "buffer": 2, "start": 0, "size": 0, "data": ">"}
        ],
        "upstream_data": [
            {"call": "proxy_get_buffer_status", "buffer": 3},
            {"call": "proxy_set_buffer_bytes", "buffer": 3, "start": 0, "size": 100, "data": "rewritten"}
        ]
    }}));
    let mut c = p.tcp_stream();
    assert_eq!(c.new_connection().unwrap(), Action::Continue);
    assert_eq!(
        c.downstream_data(b"hello", false).unwrap(),
        Action::Continue
    );
    assert_eq!(c.upstream_data(b"world", true).unwrap(), Action::Continue);
    assert_eq!(c.upstream_received(), b">hello");
    assert_eq!(c.downstream_received(), b"rewritten");
    c.downstream_close(Peer::Remote).unwrap();
    c.upstream_close(Peer::Local).unwrap();
    c.complete().unwrap();
    drop(c);
    assert_eq!(
        after(&p, "callback proxy_on_context_create ctx=2 parent=1"),
        [
            "callback proxy_on_new_connection ctx=2",
            "callback proxy_on_downstream_data ctx=2 size=5 eos=false",
            "call proxy_get_buffer_bytes -> status 0 bytes \"hello\"",
            "call proxy_set_buffer_bytes -> status 0",
            "callback proxy_on_upstream_data ctx=2 size=5 eos=true",
            "call proxy_get_buffer_status -> status 0 size 5 flags 0",
            "call proxy_set_buffer_bytes -> status 0",
            "callback proxy_on_downstream_connection_close ctx=2 peer=2",
            "callback proxy_on_upstream_connection_close ctx=2 peer=1",
            "callback proxy_on_log ctx=2",
            "callback proxy_on_done ctx=2",
            "callback proxy_on_delete ctx=2",
        ]
    );
}

#[test]
fn paused_data_accumulates_until_the_filter_continues() {
    let mut p = start(json!({"on": {
        "configure": [{"call": "proxy_set_tick_period_milliseconds", "period": 10}],
        "new_connection": [{"let": {"conn": "$ctx"}}],
        "downstream_data": [{"return": "pause"}],
        "tick": [
            {"call": "proxy_set_effective_context", "context": "$conn"},
            {"call": "proxy_continue_stream", "stream": 2},
            {"call": "proxy_set_tick_period_milliseconds", "period": 0}
        ]
    }}));
    let mut c = p.tcp_stream();
    c.new_connection().unwrap();
    assert_eq!(c.downstream_data(b"ab", false).unwrap(), Action::Pause);
    assert_eq!(c.downstream_data(b"cd", false).unwrap(), Action::Pause);
    assert!(c.is_paused());
    assert_eq!(c.upstream_received(), b"");
    c.plugin()
        .advance_clock(std::time::Duration::from_millis(10))
        .unwrap();
    assert!(!c.is_paused());
    assert_eq!(c.upstream_received(), b"abcd");
    drop(c);
    let data: Vec<String> = callbacks(&p)
        .into_iter()
        .filter(|l| l.contains("downstream_data"))
        .collect();
    // The second callback sees everything held so far.
    assert_eq!(
        data,
        [
            "callback proxy_on_downstream_data ctx=2 size=2 eos=false",
            "callback proxy_on_downstream_data ctx=2 size=4 eos=false",
        ]
    );
}

#[test]
fn a_filter_can_close_the_connection() {
    let mut p = start(json!({"on": {"downstream_data": [
        {"call": "proxy_close_stream", "stream": 2},
        {"return": "pause"}
    ]}}));
    let mut c = p.tcp_stream();
    c.new_connection().unwrap();
    c.downstream_data(b"bad", false).unwrap();
    assert_eq!(c.closed_by_filter(), [2]);
    assert_eq!(c.upstream_received(), b"");
}

#[test]
fn new_connection_can_pause() {
    let mut p = start(json!({"on": {"new_connection": [{"return": "pause"}]}}));
    let mut c = p.tcp_stream();
    assert_eq!(c.new_connection().unwrap(), Action::Pause);
}
