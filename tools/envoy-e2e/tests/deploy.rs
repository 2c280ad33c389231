//! `scripts/deploy.sh --target envoy` as a user runs it: the demonstration for every filter,
//! clear failures, hot reload of a running deployment, and Ctrl-C stopping everything.
//! Run by scripts/test.d/20-envoy.sh (needs Envoy).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use echo_upstream::{client, Client};
use envoy_e2e::{paths, TempDir};
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::Duration;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn deploy_command(state: &TempDir, args: &[&str]) -> Command {
    let mut cmd = Command::new("bash");
    cmd.arg(paths::root().join("scripts/deploy.sh"))
        .args(["--target", "envoy"])
        .args(args)
        .env("ENVOY_DEPLOY_STATE", state.path())
        .env("ENVOY_CONCURRENCY", "1")
        .stdin(Stdio::null());
    cmd
}

fn run(state: &TempDir, args: &[&str]) -> (Output, String) {
    let out = deploy_command(state, args).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out, text)
}

fn assert_stopped(port: u16, text: &str) {
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "something still listens on {port} after --once:\n{text}"
    );
}

fn deploy_once(filter: &str) -> String {
    let state = TempDir::new("deploy").unwrap();
    let port = free_port();
    let (out, text) = run(&state, &[filter, "--once", "--port", &port.to_string()]);
    assert!(out.status.success(), "deploy {filter} failed:\n{text}");
    assert!(
        text.contains(&format!("listener 127.0.0.1:{port}")),
        "{text}"
    );
    assert_stopped(port, &text);
    text
}

#[test]
#[ignore = "needs Envoy: scripts/test.d/20-envoy.sh"]
fn once_http_headers_shows_the_injected_headers() {
    let text = deploy_once("http_headers");
    assert!(text.contains("\nx-powered-by: proxy-wasm-rust\n"), "{text}");
    assert!(text.contains("\"x-wasm-filter: http_headers\""), "{text}");
}

#[test]
#[ignore = "needs Envoy: scripts/test.d/20-envoy.sh"]
fn once_request_logging_shows_the_json_log_line() {
    let text = deploy_once("request_logging");
    let line = text
        .lines()
        .find(|l| l.starts_with("{\"start_time\""))
        .unwrap_or_else(|| panic!("no JSON log line:\n{text}"));
    let v: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(v["method"], "GET");
    assert_eq!(v["path"], "/demo?from=deploy");
    assert_eq!(v["status"], 200);
    assert_eq!(v["request_id"], "demo-1");
    assert_eq!(v["request_headers"]["authorization"], "[REDACTED]");
    assert!(
        !line.contains("do-not-log-me"),
        "the credential leaked: {line}"
    );
}

#[test]
#[ignore = "needs Envoy: scripts/test.d/20-envoy.sh"]
fn once_auth_check_shows_a_rejected_and_an_accepted_request() {
    let text = deploy_once("auth_check");
    let statuses: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("HTTP/1.1 "))
        .collect();
    assert_eq!(statuses, vec!["HTTP/1.1 401", "HTTP/1.1 200"], "{text}");
    assert!(
        text.contains("{\"error\":\"missing credentials\"}"),
        "{text}"
    );
    assert!(text.contains("\"x-auth-client: alice\""), "{text}");
}

#[test]
#[ignore = "needs Envoy: scripts/test.d/20-envoy.sh"]
fn once_metadata_exchange_shows_what_each_sidecar_learned() {
    let text = deploy_once("metadata_exchange");
    assert!(
        text.contains("downstream peer: id=sidecar~127.0.0.2~client-5c8d7f6b9-abcde.default~default.svc.cluster.local name=client-5c8d7f6b9-abcde namespace=default workload=client app=client version=v1"),
        "{text}"
    );
    assert!(
        text.contains("upstream peer: id=sidecar~127.0.0.3~echo-7d4b9c6f8-xyz12.default~default.svc.cluster.local name=echo-7d4b9c6f8-xyz12 namespace=default workload=echo app=echo version=v2"),
        "{text}"
    );
    // The app behind the server sidecar never sees the exchange headers.
    assert!(!text.contains("\"x-envoy-peer-metadata"), "{text}");
}

#[test]
#[ignore = "needs Envoy: scripts/test.d/20-envoy.sh"]
fn port_in_use_is_a_clear_error() {
    let state = TempDir::new("deploy").unwrap();
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let (out, text) = run(&state, &["http_headers", "--once", "--port", &port]);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains(&format!(
            "error: port {port} on 127.0.0.1 is already in use"
        )),
        "{text}"
    );
}

#[test]
#[ignore = "needs Envoy: scripts/test.d/20-envoy.sh"]
fn a_config_envoy_rejects_prints_envoys_reason() {
    let state = TempDir::new("deploy").unwrap();
    let bad = state.path().join("bad.json");
    std::fs::write(&bad, r#"{"request": {"remove": [":path"]}}"#).unwrap();
    let port = free_port();
    let out = deploy_command(
        &state,
        &["http_headers", "--once", "--port", &port.to_string()],
    )
    .env("ENVOY_DEPLOY_CONFIG", &bad)
    .output()
    .unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("wasm log http_headers http_headers: invalid configuration: request.remove"),
        "{text}"
    );
    assert!(
        text.contains("error: Envoy (main) rejected the http_headers filter"),
        "{text}"
    );
    assert_stopped(port, &text);
}

#[test]
#[ignore = "needs Envoy: scripts/test.d/20-envoy.sh"]
fn unknown_filter_lists_the_valid_ones() {
    let state = TempDir::new("deploy").unwrap();
    let (out, text) = run(&state, &["nope", "--once"]);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("unknown filter 'nope'"), "{text}");
    assert!(text.contains("http_headers"), "{text}");
}

/// The second run swaps the new configuration into the first run's Envoy while clients keep
/// sending: no failed request, no dropped connection; Ctrl-C then stops every process.
#[test]
#[ignore = "needs Envoy: scripts/test.d/20-envoy.sh"]
fn running_again_hot_reloads_and_ctrl_c_stops_everything() {
    let state = TempDir::new("deploy").unwrap();
    let port = free_port();
    let v1 = state.path().join("v1.json");
    let v2 = state.path().join("v2.json");
    std::fs::write(&v1, r#"{"response": {"set": {"x-version": "v1"}}}"#).unwrap();
    std::fs::write(&v2, r#"{"response": {"set": {"x-version": "v2"}}}"#).unwrap();
    let mut first = deploy_command(&state, &["http_headers", "--port", &port.to_string()])
        .env("ENVOY_DEPLOY_CONFIG", &v1)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for "running", keeping the rest of its output.
    let (tx, rx) = mpsc::channel();
    let stderr = first.stderr.take().unwrap();
    let output = Arc::new(Mutex::new(String::new()));
    let out2 = output.clone();
    thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("==> running: ") {
                let _ = tx.send(());
            }
            out2.lock().unwrap().push_str(&(line + "\n"));
        }
    });
    if rx.recv_timeout(Duration::from_secs(600)).is_err() {
        let _ = first.kill();
        panic!("deploy never got running:\n{}", output.lock().unwrap());
    }
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicU64::new(0));
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let failures = Arc::new(Mutex::new(Vec::<String>::new()));
    let workers: Vec<_> = (0..3)
        .map(|_| {
            let (stop, ok, seen, failures) =
                (stop.clone(), ok.clone(), seen.clone(), failures.clone());
            thread::spawn(move || {
                let mut conn = Client::connect(addr).unwrap();
                let mut last = String::new();
                while !stop.load(Ordering::SeqCst) {
                    match conn.send(&client::request("GET", "/", &[], b"")) {
                        Ok(r) if r.status == 200 => {
                            ok.fetch_add(1, Ordering::SeqCst);
                            let v = r.get("x-version").unwrap_or("none").to_string();
                            if v != last {
                                seen.lock().unwrap().push(v.clone());
                                last = v;
                            }
                        }
                        Ok(r) => failures
                            .lock()
                            .unwrap()
                            .push(format!("status {}", r.status)),
                        Err(e) => {
                            failures.lock().unwrap().push(e.to_string());
                            return;
                        }
                    }
                }
            })
        })
        .collect();
    thread::sleep(Duration::from_millis(500));
    let out = deploy_command(&state, &["http_headers"])
        .env("ENVOY_DEPLOY_CONFIG", &v2)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::SeqCst);
    for w in workers {
        w.join().unwrap();
    }
    assert!(out.status.success(), "{text}");
    assert!(text.contains("hot-reloading it"), "{text}");
    assert!(text.contains("loaded without a restart"), "{text}");
    assert!(text.contains("\nx-version: v2\n"), "{text}");
    assert!(
        failures.lock().unwrap().is_empty(),
        "{:?}",
        failures.lock().unwrap()
    );
    assert!(ok.load(Ordering::SeqCst) > 0);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.iter().filter(|v| *v == "v1").count(), 3, "{seen:?}");
    assert_eq!(seen.iter().filter(|v| *v == "v2").count(), 3, "{seen:?}");

    // Ctrl-C: the first run stops Envoy and the echo upstream, and exits.
    let status = Command::new("kill")
        .args(["-INT", &first.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let code = first.wait().unwrap();
    assert_eq!(code.code(), Some(130), "{}", output.lock().unwrap());
    assert_stopped(port, &output.lock().unwrap());
    assert!(!state.path().join("http_headers/run.env").exists());
}
