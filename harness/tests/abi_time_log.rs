//! Logging, the virtual clock, ticks and Envoy's WASI subset through the ABI probe.

mod abi_support;

use std::time::Duration;

use abi_support::{callbacks, calls, lines, probe, start};
use harness::{Error, Level};
use serde_json::json;

#[test]
fn proxy_log_writes_at_each_level_and_rejects_unknown_levels() {
    let program: Vec<serde_json::Value> = (0..=5)
        .map(|level| json!({"call": "proxy_log", "level": level, "message": format!("at {level}")}))
        .chain([json!({"call": "proxy_log", "level": 9, "message": "never"})])
        .collect();
    let p = start(json!({"on": {"configure": program}}));
    let levels = [
        Level::Trace,
        Level::Debug,
        Level::Info,
        Level::Warn,
        Level::Error,
        Level::Critical,
    ];
    for (n, level) in levels.into_iter().enumerate() {
        assert!(
            p.logs_at(level).contains(&format!("at {n}").as_str()),
            "{level:?}: {:?}",
            p.logs()
        );
    }
    assert!(!p.logs().iter().any(|l| l.message == "never"));
    let statuses = calls(&p);
    assert_eq!(statuses[..6], ["call proxy_log -> status 0"; 6]);
    assert_eq!(statuses[6], "call proxy_log -> status 2");
}

#[test]
fn log_level_is_reported_and_lower_levels_are_dropped() {
    let p = probe(json!({"on": {"configure": [
        {"call": "proxy_get_log_level"},
        {"call": "proxy_log", "level": 1, "message": "debug detail"}
    ]}}))
    .log_level(Level::Info)
    .start()
    .unwrap();
    assert_eq!(
        calls(&p),
        [
            "call proxy_get_log_level -> status 0 level 2",
            "call proxy_log -> status 0"
        ]
    );
    assert!(p.logs_at(Level::Debug).is_empty());
}

#[test]
fn time_comes_from_the_virtual_clock() {
    let mut p = start(json!({"on": {
        "configure": [{"call": "proxy_set_tick_period_milliseconds", "period": 1000}],
        "tick": [
            {"call": "proxy_get_current_time_nanoseconds"},
            {"call": "clock_time_get", "clock": 0},
            {"call": "proxy_set_tick_period_milliseconds", "period": 0, "when": {"n": 3}}
        ]
    }}));
    let start_ns = p.now_nanos();
    p.advance_clock(Duration::from_millis(5500)).unwrap();
    // Three ticks, one second apart; the third stops the timer.
    let ticks = callbacks(&p)
        .into_iter()
        .filter(|l| l == "callback proxy_on_tick ctx=1")
        .count();
    assert_eq!(ticks, 3);
    let times: Vec<String> = (1..=3u64)
        .flat_map(|n| {
            let t = start_ns + n * 1_000_000_000;
            [
                format!("call proxy_get_current_time_nanoseconds -> status 0 time {t}"),
                format!("call clock_time_get -> errno 0 time {t}"),
            ]
        })
        .collect();
    let got: Vec<String> = calls(&p)
        .into_iter()
        .filter(|l| l.contains(" time "))
        .collect();
    assert_eq!(got, times);
    assert_eq!(p.now_nanos(), start_ns + 5_500_000_000);
    assert_eq!(p.tick_period(), Duration::ZERO);
}

#[test]
fn fd_write_goes_to_the_log_by_file_descriptor() {
    let p = start(json!({"on": {"configure": [
        {"call": "fd_write", "fd": 1, "data": ["out ", "line"]},
        {"call": "fd_write", "fd": 2, "data": "err line"},
        {"call": "fd_write", "fd": 3, "data": "nowhere"}
    ]}}));
    assert!(p.logs_at(Level::Info).contains(&"out line"));
    assert!(p.logs_at(Level::Error).contains(&"err line"));
    assert_eq!(
        calls(&p),
        [
            "call fd_write -> errno 0 written 8",
            "call fd_write -> errno 0 written 8",
            // EBADF
            "call fd_write -> errno 8",
        ]
    );
}

#[test]
fn wasi_clocks_random_environment_and_args() {
    let p = probe(json!({"on": {"configure": [
        {"call": "clock_time_get", "clock": 1},
        {"call": "clock_time_get", "clock": 5},
        {"call": "random_get", "size": 16},
        {"call": "random_get", "size": 16},
        {"call": "environ_sizes_get"},
        {"call": "environ_get"},
        {"call": "args_sizes_get"},
        {"call": "args_get"}
    ]}}))
    .env("ENV_A", "1")
    .env("ENV_B", "two")
    .start()
    .unwrap();
    let got = calls(&p);
    assert!(
        got[0].starts_with("call clock_time_get -> errno 0 time "),
        "{got:?}"
    );
    assert_eq!(got[1], "call clock_time_get -> errno 58");
    assert!(got[2].starts_with("call random_get -> errno 0 bytes "));
    assert_ne!(got[2], got[3], "two random draws must differ");
    assert_eq!(
        got[4..],
        [
            "call environ_sizes_get -> errno 0 count 2 size 18",
            "call environ_get -> errno 0 count 2 \"ENV_A=1\" \"ENV_B=two\"",
            "call args_sizes_get -> errno 0 count 0 size 0",
            "call args_get -> errno 0 count 0",
        ]
    );
}

#[test]
fn proc_exit_in_a_callback_fails_the_vm() {
    let mut p = start(json!({"on": {"request_headers": [{"call": "proc_exit", "code": 3}]}}));
    let err = p
        .send(harness::Request::get("/"), harness::Response::status(200))
        .err();
    assert!(matches!(err, Some(Error::Trap { .. })), "{err:?}");
    assert!(lines(&p).contains(&"call proc_exit code 3".to_string()));
    assert!(p.failure().is_some());
    let ex = p
        .send(harness::Request::get("/"), harness::Response::status(200))
        .unwrap();
    assert_eq!(ex.client.status(), Some(503));
}
