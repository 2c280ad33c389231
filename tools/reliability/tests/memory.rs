//! 200,000 requests through each filter: after warm-up the module's linear memory stops
//! growing (pages are compared exactly), and every stream's context is gone at the end.
//!
//! The requests are the fuzz driver's random plans (hostile headers, bodies, trailers, resets,
//! callouts answered, failed, timed out or abandoned), from a fixed seed, so the run is
//! reproducible and covers the paths where state could be left behind.

use harness::{Level, Plugin};
use reliability::{drive, rng::Rng};
use serde_json::json;

const REQUESTS: u64 = 200_000;
// The plateau is the allocator's high-water mark for this seed's largest plans, reached once:
// auth_check (callout answers up to 1 MiB) at request 23,956, flat through 300,000 requests;
// http_headers on the proxy-wasm SDK one page later than before, at request 71,161 (17 -> 18
// pages, a 10 KB request), flat through 400,000 (RELIABILITY_MEMORY_TRACE=1 runs). A leak grows
// again after that; the second half of the run shows it.
const WARM_UP: u64 = 100_000;

fn requests() -> u64 {
    std::env::var("RELIABILITY_MEMORY_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(REQUESTS)
}

fn run(name: &str, mut plugin: Plugin, names: &[&str], values: &[Vec<u8>], callouts: bool) {
    let total = requests();
    let warm_up = WARM_UP.min(total / 2);
    let mut rng = Rng::new(0x6d65_6d6f_7279);
    let start_pages = plugin.memory_pages();
    let mut warm_pages = 0;
    // RELIABILITY_MEMORY_TRACE=1: print every growth instead of failing on the first.
    let trace = std::env::var_os("RELIABILITY_MEMORY_TRACE").is_some();
    let mut last_pages = start_pages;
    let answer_names = ["x-user-id", "content-type"];
    let answer_values = vec![b"user-1".to_vec()];
    for i in 0..total {
        let plan = within_envoy_limits(&mut rng, names, values);
        let mut answer = |rng: &mut Rng, p: &mut Plugin| {
            drive::answer_randomly(rng, p, &answer_names, &answer_values)
        };
        let answer: Option<&mut drive::Answer<'_>> =
            if callouts { Some(&mut answer) } else { None };
        if let Err(e) = drive::drive(&mut rng, &mut plugin, &plan, answer) {
            panic!("{name}: request {i}: {e}");
        }
        if i % 1000 == 0 {
            plugin.clear_logs();
        }
        if i + 1 == warm_up {
            warm_pages = plugin.memory_pages();
        }
        if trace && plugin.memory_pages() != last_pages {
            last_pages = plugin.memory_pages();
            println!(
                "{name}: {last_pages} pages at request {i} (request: {} headers, {} bytes)",
                plan.request.len(),
                plan.request
                    .iter()
                    .map(|(k, v)| k.len() + v.len())
                    .sum::<usize>()
            );
        }
        if !trace && i >= warm_up && plugin.memory_pages() > warm_pages {
            panic!(
                "{name}: linear memory grew after warm-up: {warm_pages} pages after {warm_up} \
                 requests, {} pages at request {i}",
                plugin.memory_pages()
            );
        }
    }
    let end_pages = plugin.memory_pages();
    println!(
        "MEMORY {name}: requests={total} pages start={start_pages} after-warm-up={warm_pages} end={end_pages} live_contexts={}",
        plugin.live_contexts()
    );
    assert_eq!(end_pages, warm_pages);
    assert_eq!(
        plugin.live_contexts(),
        0,
        "{name}: stream contexts left behind"
    );
    assert!(
        plugin.pending_http_calls().is_empty(),
        "{name}: callouts left pending"
    );
    assert_eq!(plugin.failure(), None);
}

/// Envoy's default `max_request_headers_kb` (60 KiB): larger header maps never reach a
/// filter (Envoy answers 431 first), so the steady state is measured within it. (With maps of
/// 1 MiB and more, allocator fragmentation grows the heap in rare steps: see SECURITY.md.)
const ENVOY_HEADER_LIMIT: usize = 60 * 1024;

fn size(h: &[(String, Vec<u8>)]) -> usize {
    h.iter().map(|(k, v)| k.len() + v.len()).sum()
}

fn within_envoy_limits(rng: &mut Rng, names: &[&str], values: &[Vec<u8>]) -> drive::Plan {
    loop {
        let plan = drive::Plan::random(rng, names, values);
        if size(&plan.request) <= ENVOY_HEADER_LIMIT && size(&plan.response) <= ENVOY_HEADER_LIMIT {
            return plan;
        }
    }
}

fn start(name: &str, config: serde_json::Value) -> Plugin {
    Plugin::builder(name)
        .config_json(config)
        .cluster("auth_service")
        .node_id("sidecar~10.0.0.1~self.default~default.svc.cluster.local")
        .node_metadata(json!({"NAME": "self", "NAMESPACE": "default", "LABELS": {"app": "self"}}))
        .log_level(Level::Trace)
        .start()
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn http_headers_memory_is_stable() {
    let plugin = start(
        "http_headers",
        json!({"request": {"set": {"x-a": "%REQ(user-agent)%-%REQUEST_ID%"}, "remove": ["x-b"]},
               "response": {"add": {"x-c": "%PATH%"}}}),
    );
    run("http_headers", plugin, &["user-agent", "x-b"], &[], false);
}

#[test]
fn request_logging_memory_is_stable() {
    let plugin = start(
        "request_logging",
        json!({"request_headers": ["authorization", "content-type"], "response_headers": ["content-type"]}),
    );
    run(
        "request_logging",
        plugin,
        &["authorization", "x-request-id"],
        &[],
        false,
    );
}

#[test]
fn auth_check_remote_memory_is_stable() {
    let plugin = start(
        "auth_check",
        json!({"mode": "remote", "remote": {"cluster": "auth_service", "path": "/check",
               "upstream_headers": ["x-user-id"], "identity_from": "x-user-id"}}),
    );
    run(
        "auth_check",
        plugin,
        &["authorization", "x-user-id"],
        &[],
        true,
    );
}

#[test]
fn metadata_exchange_memory_is_stable() {
    let plugin = start("metadata_exchange", json!({}));
    let peer = b"ChoKCkNMVVNURVJfSUQSDBoKS3ViZXJuZXRlcw==".to_vec();
    run(
        "metadata_exchange",
        plugin,
        &["x-envoy-peer-metadata", "x-envoy-peer-metadata-id"],
        &[peer],
        false,
    );
}
