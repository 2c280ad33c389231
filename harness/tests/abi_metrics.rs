//! Metrics through the ABI probe, with Envoy 1.40's answers (harness/probes/ENVOY.md).

mod abi_support;

use abi_support::{calls, start};
use harness::{Host, MetricKind};
use serde_json::json;

#[test]
fn counters_gauges_and_histograms_behave_like_envoy_stats() {
    let p = start(json!({"on": {"configure": [
        {"call": "proxy_define_metric", "kind": 0, "name": "probe.requests", "save": "c"},
        {"call": "proxy_define_metric", "kind": 1, "name": "probe.active", "save": "g"},
        {"call": "proxy_define_metric", "kind": 2, "name": "probe.latency", "save": "h"},
        {"call": "proxy_define_metric", "kind": 7, "name": "probe.bad"},
        {"call": "proxy_increment_metric", "metric": "$c", "offset": -1},
        {"call": "proxy_increment_metric", "metric": "$c", "offset": 3},
        {"call": "proxy_record_metric", "metric": "$c", "value": 10},
        {"call": "proxy_get_metric", "metric": "$c"},
        {"call": "proxy_record_metric", "metric": "$g", "value": 5},
        {"call": "proxy_increment_metric", "metric": "$g", "offset": -2},
        {"call": "proxy_get_metric", "metric": "$g"},
        {"call": "proxy_record_metric", "metric": "$h", "value": 42},
        {"call": "proxy_get_metric", "metric": "$h"},
        {"call": "proxy_get_metric", "metric": 99999},
        {"call": "proxy_record_metric", "metric": 99999, "value": 1},
        {"call": "proxy_increment_metric", "metric": 99999, "offset": 1}
    ]}}));
    let got = calls(&p);
    assert!(
        got[..3]
            .iter()
            .all(|l| l.starts_with("call proxy_define_metric -> status 0 metric ")),
        "{got:?}"
    );
    assert_eq!(
        got[3..],
        [
            "call proxy_define_metric -> status 2",
            // Counters only go up.
            "call proxy_increment_metric -> status 2",
            "call proxy_increment_metric -> status 0",
            // Envoy adds a recorded value to a counter.
            "call proxy_record_metric -> status 0",
            "call proxy_get_metric -> status 0 value 13",
            "call proxy_record_metric -> status 0",
            "call proxy_increment_metric -> status 0",
            "call proxy_get_metric -> status 0 value 3",
            "call proxy_record_metric -> status 0",
            // Histograms cannot be read back; unknown ids are BAD_ARGUMENT in Envoy.
            "call proxy_get_metric -> status 2",
            "call proxy_get_metric -> status 2",
            "call proxy_record_metric -> status 2",
            "call proxy_increment_metric -> status 2",
        ]
    );
    assert_eq!(p.metric("probe.requests"), Some(13));
    assert_eq!(p.metric("probe.active"), Some(3));
    assert_eq!(p.histogram("probe.latency"), Some(vec![42]));
    let mut kinds: Vec<(String, MetricKind)> =
        p.metrics().into_iter().map(|(n, k, _)| (n, k)).collect();
    kinds.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        kinds,
        [
            ("probe.active".to_string(), MetricKind::Gauge),
            ("probe.latency".into(), MetricKind::Histogram),
            ("probe.requests".into(), MetricKind::Counter),
        ]
    );
}

#[test]
fn a_gauge_decremented_below_zero_wraps_like_envoy() {
    let p = start(json!({"on": {"configure": [
        {"call": "proxy_define_metric", "kind": 1, "name": "g", "save": "g"},
        {"call": "proxy_increment_metric", "metric": "$g", "offset": -1},
        {"call": "proxy_get_metric", "metric": "$g"}
    ]}}));
    assert_eq!(
        calls(&p)[2],
        "call proxy_get_metric -> status 0 value 18446744073709551615"
    );
}

#[test]
fn defining_a_metric_twice_returns_the_same_metric() {
    let p = start(json!({"on": {"configure": [
        {"call": "proxy_define_metric", "kind": 0, "name": "c", "save": "a"},
        {"call": "proxy_increment_metric", "metric": "$a", "offset": 2},
        {"call": "proxy_define_metric", "kind": 0, "name": "c", "save": "b"},
        {"call": "proxy_get_metric", "metric": "$b"}
    ]}}));
    let got = calls(&p);
    assert_eq!(got[0], got[2]);
    assert_eq!(got[3], "call proxy_get_metric -> status 0 value 2");
}

#[test]
fn counters_are_shared_by_the_vms_of_one_host() {
    // Envoy keeps stats in one store: a second worker VM reads what the first counted.
    let host = Host::new();
    let program = json!({"on": {"configure": [
        {"call": "proxy_define_metric", "kind": 0, "name": "shared.count", "save": "c"},
        {"call": "proxy_increment_metric", "metric": "$c", "offset": 1},
        {"call": "proxy_get_metric", "metric": "$c"}
    ]}});
    let a = host
        .plugin("abi-probe")
        .config_json(program.clone())
        .start()
        .unwrap();
    let b = host
        .plugin("abi-probe")
        .config_json(program)
        .start()
        .unwrap();
    assert_eq!(calls(&a)[2], "call proxy_get_metric -> status 0 value 1");
    assert_eq!(calls(&b)[2], "call proxy_get_metric -> status 0 value 2");
}
