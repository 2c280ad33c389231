//! `sample_rate`: deterministic on `x-request-id` (the same decision on every proxy), the
//! documented algorithm, and the configured rate within statistical bounds; `sample_by:
//! "random"`, where nothing the client sends decides.
// Test helpers outside #[test] functions panic on purpose: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use harness::{Plugin, Request, Response};
use serde_json::json;
use std::collections::BTreeSet;

fn ids(n: usize) -> Vec<String> {
    // UUID-shaped ids that differ only in their last digits: the hard case for a weak hash.
    (0..n)
        .map(|i| format!("9b2c1a70-4f1e-4c55-8d3a-{i:012}"))
        .collect()
}

/// Sends one request per id and returns the ids that were logged.
fn logged_ids(plugin: &mut Plugin, ids: &[String]) -> BTreeSet<String> {
    plugin.clear_logs();
    for id in ids {
        plugin
            .send(
                Request::get("/").header("x-request-id", id.as_str()),
                Response::status(200),
            )
            .unwrap();
    }
    lines(plugin)
        .into_iter()
        .map(|l| l["request_id"].as_str().unwrap().to_string())
        .collect()
}

/// The documented algorithm (README): FNV-1a 64 of the id, SplitMix64 finalizer, top 53 bits
/// as a fraction of 2^53, kept when below the rate.
fn reference_keep(id: &str, rate: f64) -> bool {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^= h >> 31;
    rate >= 1.0 || ((h >> 11) as f64 / (1u64 << 53) as f64) < rate
}

#[test]
fn same_ids_same_decision_on_every_proxy() {
    let config = json!({"fields": ["request_id"], "sample_rate": 0.5});
    let ids = ids(300);
    // Two independent VMs stand for two proxies on the request's path.
    let mut first = start(config.clone());
    let mut second = start(config);
    let a = logged_ids(&mut first, &ids);
    let b = logged_ids(&mut second, &ids);
    assert_eq!(a, b);
    // And the same proxy decides the same way again.
    assert_eq!(logged_ids(&mut first, &ids), a);
    assert!(!a.is_empty() && a.len() < ids.len());
}

#[test]
fn decisions_follow_the_documented_algorithm() {
    let ids = ids(500);
    for rate in [0.1, 0.5, 0.9] {
        let mut plugin = start(json!({"fields": ["request_id"], "sample_rate": rate}));
        let expected: BTreeSet<String> = ids
            .iter()
            .filter(|id| reference_keep(id, rate))
            .cloned()
            .collect();
        assert_eq!(logged_ids(&mut plugin, &ids), expected, "rate {rate}");
    }
}

#[test]
fn rate_is_met_within_statistical_bounds() {
    let n = 2_000;
    let ids = ids(n);
    for rate in [0.05, 0.3, 0.75] {
        let mut plugin = start(json!({"fields": ["request_id"], "sample_rate": rate}));
        let kept = logged_ids(&mut plugin, &ids).len();
        let mean = rate * n as f64;
        let sd = (n as f64 * rate * (1.0 - rate)).sqrt();
        assert!(
            (kept as f64 - mean).abs() <= 4.0 * sd,
            "rate {rate}: {kept} of {n} logged (expected {mean} ± {})",
            4.0 * sd
        );
        assert_eq!(metric(&plugin, "logged"), kept as i64);
        assert_eq!(metric(&plugin, "sampled_out"), (n - kept) as i64);
    }
}

#[test]
fn zero_logs_nothing_and_one_logs_everything() {
    let ids = ids(50);
    let mut none = start(json!({"fields": ["request_id"], "sample_rate": 0.0}));
    assert!(logged_ids(&mut none, &ids).is_empty());
    assert_eq!(metric(&none, "sampled_out"), 50);
    assert_eq!(metric(&none, "logged"), 0);
    // Status counters see every request, sampled or not.
    assert_eq!(metric(&none, "status_2xx"), 50);
    let mut all = start(json!({"fields": ["request_id"], "sample_rate": 1}));
    assert_eq!(logged_ids(&mut all, &ids).len(), 50);
}

#[test]
fn requests_without_an_id_are_sampled_at_about_the_rate() {
    let mut plugin = start(json!({"fields": ["status"], "sample_rate": 0.5}));
    let n = 400;
    for _ in 0..n {
        plugin
            .send(Request::get("/"), Response::status(200))
            .unwrap();
    }
    let kept = lines(&plugin).len() as f64;
    // 5 standard deviations of Binomial(400, 0.5) = 50.
    assert!((kept - 200.0).abs() <= 50.0, "{kept} of {n}");
    assert!(plugin.failure().is_none());
}

/// An id that the documented hash samples out at `rate`, as a client would compute it.
fn id_sampled_out_at(rate: f64) -> String {
    (0..)
        .map(|i| format!("evade-{i}"))
        .find(|id| !reference_keep(id, rate))
        .unwrap()
}

#[test]
fn with_sample_by_request_id_a_client_can_choose_an_id_that_is_never_logged() {
    // The documented (default) behaviour that `sample_by: "random"` exists for.
    let mut plugin = start(json!({"fields": ["status"], "sample_rate": 0.5}));
    let id = id_sampled_out_at(0.5);
    let logged = logged_ids(&mut plugin, &vec![id; 100]);
    assert!(logged.is_empty());
    assert_eq!(metric(&plugin, "sampled_out"), 100);
}

#[test]
fn with_sample_by_random_the_clients_request_id_decides_nothing() {
    let mut plugin = start(json!({
        "fields": ["status", "request_id"],
        "sample_rate": 0.5,
        "sample_by": "random",
    }));
    let n = 400;
    let id = id_sampled_out_at(0.5);
    for _ in 0..n {
        plugin
            .send(
                Request::get("/").header("x-request-id", id.as_str()),
                Response::status(200),
            )
            .unwrap();
    }
    let kept = lines(&plugin).len() as i64;
    // 5 standard deviations of Binomial(400, 0.5) = 50.
    assert!((kept - 200).abs() <= 50, "{kept} of {n}");
    assert_eq!(metric(&plugin, "logged"), kept);
    assert_eq!(metric(&plugin, "sampled_out"), n - kept);
    assert!(lines(&plugin)
        .iter()
        .all(|l| l["request_id"] == id.as_str()));
}
