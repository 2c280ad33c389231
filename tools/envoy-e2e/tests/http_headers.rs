//! http_headers in a real Envoy. Run by scripts/test.d/20-envoy.sh (needs Envoy).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{echo_upstream, Echoed};
use echo_upstream::{client, Client};
use envoy_e2e::envoy::inline_bootstrap;
use envoy_e2e::{paths, EnvoyBuilder};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

#[test]
#[ignore = "needs Envoy: scripts/test.d/20-envoy.sh"]
fn example_config_injects_request_and_response_headers() {
    let upstream = echo_upstream();
    let envoy = EnvoyBuilder::new("http_headers")
        .upstream(upstream.port())
        .start()
        .unwrap();
    let resp = envoy.get("/hello", &[("x-request-id", "r-1")]).unwrap();
    assert_eq!(resp.status, 200, "{}", resp.body_text());
    assert_eq!(resp.get_all("x-powered-by"), vec!["proxy-wasm-rust"]);
    let seen = Echoed::from(&resp);
    assert_eq!(seen.path, "/hello");
    assert_eq!(seen.header_all("x-wasm-filter"), vec!["http_headers"]);
    assert_eq!(seen.header("x-request-id"), Some("r-1"));
}

#[test]
#[ignore = "needs Envoy: scripts/test.d/20-envoy.sh"]
fn set_add_remove_and_templates_in_both_directions() {
    let upstream = echo_upstream();
    let config = r#"{
      "request": {
        "set": {"x-route": "%METHOD% %PATH%", "x-id": "id=%REQUEST_ID%", "x-from": "%REQ(user-agent)%"},
        "add": {"x-dup": "second"},
        "remove": ["x-drop"]
      },
      "response": {"set": {"x-plugin": "%PLUGIN_NAME%"}, "add": {"x-echo-upstream": "2"}, "remove": ["content-type"]}
    }"#;
    let envoy = EnvoyBuilder::new("http_headers")
        .upstream(upstream.port())
        .config(config)
        .start()
        .unwrap();
    let resp = envoy
        .get(
            "/p?q=1",
            &[
                ("x-request-id", "abc"),
                ("user-agent", "e2e-agent"),
                ("x-dup", "first"),
                ("x-drop", "gone"),
                ("x-route", "client-value"),
            ],
        )
        .unwrap();
    assert_eq!(resp.status, 200);
    let seen = Echoed::from(&resp);
    assert_eq!(seen.header_all("x-route"), vec!["GET /p?q=1"]);
    assert_eq!(seen.header_all("x-id"), vec!["id=abc"]);
    assert_eq!(seen.header_all("x-from"), vec!["e2e-agent"]);
    assert_eq!(seen.header_all("x-dup"), vec!["first", "second"]);
    assert!(seen.header("x-drop").is_none());
    assert_eq!(resp.get_all("x-plugin"), vec!["http_headers"]);
    assert_eq!(resp.get_all("x-echo-upstream"), vec!["1", "2"]);
    assert!(resp.get("content-type").is_none());
}

#[test]
#[ignore = "needs Envoy: scripts/test.d/20-envoy.sh"]
fn bad_config_makes_a_static_envoy_refuse_to_start_with_the_filters_message() {
    let err = EnvoyBuilder::new("http_headers")
        .bootstrap(inline_bootstrap("http_headers", false))
        .config(r#"{"response": {"set": {"X-Bad": "v"}}}"#)
        .start()
        .err()
        .expect("Envoy must refuse the configuration");
    assert!(err.starts_with("Envoy exited at startup"), "{err}");
    assert!(
        err.contains("[error][wasm] wasm log http_headers http_headers: invalid configuration: response.set.X-Bad:"),
        "{err}"
    );
    assert!(
        err.contains("Unable to create Wasm plugin http_headers"),
        "{err}"
    );
}

#[test]
#[ignore = "needs Envoy: scripts/test.d/20-envoy.sh"]
fn bad_config_over_ecds_is_rejected_and_the_running_filter_stays() {
    let upstream = echo_upstream();
    let envoy = EnvoyBuilder::new("http_headers")
        .upstream(upstream.port())
        .start()
        .unwrap();
    let module = paths::filter_wasm("http_headers").unwrap();
    let err = envoy
        .update_filter(&module, r#"{"request": {"add": {":path": "/x"}}}"#)
        .unwrap_err();
    assert!(
        err.contains(
            "wasm log http_headers http_headers: invalid configuration: request.add.:path:"
        ),
        "{err}"
    );
    assert!(err.contains("config update rejected"), "{err}");
    let resp = envoy.get("/", &[]).unwrap();
    assert_eq!(resp.get("x-powered-by"), Some("proxy-wasm-rust"));
}

/// A module Envoy cannot load: the start fails with Envoy's reason.
#[test]
#[ignore = "needs Envoy: scripts/test.d/20-envoy.sh"]
fn a_module_that_fails_to_load_is_reported_with_envoys_reason() {
    let upstream = echo_upstream();
    let dir = envoy_e2e::TempDir::new("broken").unwrap();
    let broken = dir.path().join("broken.wasm");
    std::fs::write(&broken, b"\0asm\x01\0\0\0 this is not a module").unwrap();
    let err = EnvoyBuilder::new("http_headers")
        .upstream(upstream.port())
        .module(&broken)
        .start()
        .err()
        .expect("the filter must not load");
    assert!(
        err.starts_with("Envoy rejected the http_headers filter"),
        "{err}"
    );
    assert!(
        err.contains("Wasm VM failed Failed to parse corrupted Wasm module"),
        "{err}"
    );
    assert!(err.contains("Plugin http_headers failed to load"), "{err}");
}

/// The lossless reload Istio users expect: a new module and config swapped in through ECDS
/// while clients keep sending on open keep-alive connections; no request fails, no
/// connection drops, the same Envoy process serves before and after.
#[test]
#[ignore = "needs Envoy: scripts/test.d/20-envoy.sh"]
fn hot_reload_under_load_fails_no_request_and_drops_no_connection() {
    let upstream = echo_upstream();
    let v1 = r#"{"response": {"set": {"x-version": "v1"}}}"#;
    let v2 = r#"{"response": {"set": {"x-version": "v2"}}}"#;
    let envoy = EnvoyBuilder::new("http_headers")
        .upstream(upstream.port())
        .config(v1)
        .concurrency(2)
        .start()
        .unwrap();
    let pid = envoy.pid();
    let addr = envoy.addr();
    let stop = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicU64::new(0));
    let failures = Arc::new(Mutex::new(Vec::<String>::new()));
    let versions = Arc::new(Mutex::new(Vec::<String>::new()));
    let workers: Vec<_> = (0..4)
        .map(|w| {
            let (stop, ok, failures, versions) =
                (stop.clone(), ok.clone(), failures.clone(), versions.clone());
            thread::spawn(move || {
                // One connection per worker for the whole run: a drop would fail a send.
                let mut conn = Client::connect(addr).unwrap();
                let mut last = String::new();
                let mut n = 0u64;
                while !stop.load(Ordering::SeqCst) {
                    let req = client::request("GET", &format!("/w{w}/{n}"), &[], b"");
                    match conn.send(&req) {
                        Ok(r) if r.status == 200 => {
                            ok.fetch_add(1, Ordering::SeqCst);
                            let v = r.get("x-version").unwrap_or("none").to_string();
                            if v != last {
                                versions.lock().unwrap().push(format!("w{w}:{v}"));
                                last = v;
                            }
                        }
                        Ok(r) => failures
                            .lock()
                            .unwrap()
                            .push(format!("status {}", r.status)),
                        Err(e) => {
                            failures.lock().unwrap().push(format!("w{w}: {e}"));
                            return;
                        }
                    }
                    n += 1;
                }
            })
        })
        .collect();
    thread::sleep(Duration::from_millis(700));
    let before = ok.load(Ordering::SeqCst);
    // A different module file (as a rebuilt filter would be) and a different config.
    let rebuilt = envoy.dir().join("rebuilt.wasm");
    std::fs::copy(paths::filter_wasm("http_headers").unwrap(), &rebuilt).unwrap();
    envoy.update_filter(&rebuilt, v2).unwrap();
    thread::sleep(Duration::from_millis(1000));
    // Then different code altogether: request_logging's module in the same slot.
    envoy
        .update_filter(&paths::filter_wasm("request_logging").unwrap(), "{}")
        .unwrap();
    thread::sleep(Duration::from_millis(1000));
    stop.store(true, Ordering::SeqCst);
    for w in workers {
        w.join().unwrap();
    }
    let failures = failures.lock().unwrap();
    assert!(failures.is_empty(), "failed requests: {failures:?}");
    let total = ok.load(Ordering::SeqCst);
    assert!(
        before > 0 && total > before,
        "load kept flowing: {before} then {total}"
    );
    let versions = versions.lock().unwrap();
    for w in 0..4 {
        let seen: Vec<&str> = versions
            .iter()
            .filter_map(|v| v.strip_prefix(&format!("w{w}:")))
            .collect();
        assert_eq!(
            seen,
            vec!["v1", "v2", "none"],
            "worker {w} saw {versions:?}"
        );
    }
    assert!(
        envoy
            .wasm_logs()
            .iter()
            .any(|(_, m)| m.contains("\"method\":\"GET\"")),
        "the new module (request_logging) runs: {}",
        envoy.log()
    );
    assert_eq!(envoy.pid(), pid);
    assert_eq!(
        envoy.stat("http.ingress.downstream_cx_destroy_remote_active_rq"),
        Some(0)
    );
    assert_eq!(
        envoy.stat("http.ingress.downstream_cx_destroy_local"),
        Some(0)
    );
    assert_eq!(envoy.stat("http.ingress.downstream_cx_total"), Some(4));
}
