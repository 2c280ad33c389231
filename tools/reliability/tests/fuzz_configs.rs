//! Random plugin configurations, valid and invalid, for every filter: each is accepted (and
//! then serves a request without trapping) or rejected cleanly by `on_configure` with an
//! error line naming the problem. Never a trap, and a rejection never quotes a secret.

use harness::{Error, Level, Plugin, Request, Response};
use reliability::{cases, rng::Rng, secrets};
use serde_json::{json, Value};

const CASES: u64 = 2_500;
const SECRET_KEY: &str = "ak_live_SECRETKEY_42";

fn random_leaf(rng: &mut Rng) -> Value {
    match rng.below(12) {
        0 => Value::Null,
        1 => json!(rng.chance(1, 2)),
        2 => json!(rng.next_u64()),
        3 => json!(-(rng.below(1000) as i64)),
        4 => json!(*rng.pick(&[1.5e300, 0.5, -0.0, 4294967296.0])),
        5 => json!(""),
        6 => json!("x".repeat(rng.range(1, 70_000))),
        7 => json!("X-Upper Case\u{0}\r\n"),
        8 => json!([]),
        9 => json!({}),
        10 => json!(["/a", "", "%zz", "x-a", "X-B", ":path"]),
        _ => json!(format!("v{}", rng.below(100))),
    }
}

/// Replaces, deletes or adds one node somewhere in `v`.
fn mutate(rng: &mut Rng, v: &mut Value, depth: usize) {
    match v {
        Value::Object(map) if !map.is_empty() && rng.chance(3, 4) && depth < 6 => {
            let keys: Vec<String> = map.keys().cloned().collect();
            let key = rng.pick(&keys).clone();
            match rng.below(6) {
                0 => {
                    map.remove(&key);
                }
                1 => {
                    map.insert(format!("unknown_{}", rng.below(5)), random_leaf(rng));
                }
                2 => {
                    map.insert(key, random_leaf(rng));
                }
                _ => {
                    if let Some(child) = map.get_mut(&key) {
                        mutate(rng, child, depth + 1);
                    }
                }
            }
        }
        Value::Array(items) if !items.is_empty() && rng.chance(3, 4) && depth < 6 => {
            let i = rng.below(items.len());
            match rng.below(4) {
                0 => {
                    items.remove(i);
                }
                1 => items.push(items[i].clone()),
                _ => mutate(rng, &mut items[i], depth + 1),
            }
        }
        _ => *v = random_leaf(rng),
    }
}

/// The configuration bytes of one case: a valid base, a mutated base, or garbage bytes.
fn config_bytes(rng: &mut Rng, bases: &[Value]) -> Vec<u8> {
    let mut v = rng.pick(bases).clone();
    match rng.below(20) {
        0 => return Vec::new(),
        1 => {
            let n = rng.below(64) + 1;
            return rng.bytes(n);
        }
        2 => return b"{\"unterminated\": ".to_vec(),
        3 => return b"\xff\xfe{}".to_vec(),
        4 => return "[".repeat(rng.range(1, 5000)).into_bytes(),
        5 => return json!(null).to_string().into_bytes(),
        6 => {}
        _ => {
            for _ in 0..rng.range(1, 3) {
                mutate(rng, &mut v, 0);
            }
        }
    }
    v.to_string().into_bytes()
}

fn fuzz(filter: &str, bases: Vec<Value>) {
    let mut accepted = 0u64;
    let mut rejected = 0u64;
    // Each case starts a VM (~4 ms): the long run sets its own count for configurations.
    let total = std::env::var("RELIABILITY_CONFIG_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(CASES);
    cases::run_n(&format!("{filter}_configs"), total, |rng, _| {
        let bytes = config_bytes(rng, &bases);
        let started = Plugin::builder(filter)
            .config_bytes(&bytes)
            .cluster("auth_service")
            .node_id("sidecar~10.0.0.1~self.default~default.svc.cluster.local")
            .log_level(Level::Trace)
            .start();
        match started {
            Ok(mut plugin) => {
                accepted += 1;
                let r = plugin.send(
                    Request::get("/x").header("x-api-key", SECRET_KEY),
                    Response::status(200),
                );
                match r {
                    Ok(_) | Err(Error::StreamPaused { .. }) => {}
                    Err(e) => return Err(format!("accepted config, then {e}")),
                }
                if let Some(f) = plugin.failure() {
                    return Err(format!("accepted config, then the VM failed: {f}"));
                }
            }
            Err(Error::ConfigRejected { logs }) => {
                rejected += 1;
                let named = logs
                    .iter()
                    .any(|l| l.level >= Level::Warn && l.message.contains("invalid configuration"));
                if !named {
                    return Err(format!(
                        "rejected without an `invalid configuration` error line: {logs:?}"
                    ));
                }
                if let Some((_, s, line)) = secrets::find_secret(&logs, &[SECRET_KEY]) {
                    return Err(format!("the rejection quotes the secret {s:?}: {line}"));
                }
            }
            Err(e) => {
                return Err(format!(
                    "config {:?}: {e}",
                    String::from_utf8_lossy(&bytes[..bytes.len().min(300)])
                ))
            }
        }
        Ok(())
    });
    println!("{filter}: configs accepted {accepted}, rejected {rejected}");
    assert!(
        accepted > 50 && rejected > 50,
        "accepted {accepted}, rejected {rejected}"
    );
}

#[test]
fn http_headers_configs() {
    fuzz(
        "http_headers",
        vec![
            json!({}),
            json!({"request": {"set": {"x-a": "%REQ(x)%", ":path": "/p"}, "add": {"x-b": "1"}, "remove": ["x-c"]},
                   "response": {"set": {"x-d": "%PLUGIN_NAME%"}, "add": {}, "remove": []}}),
        ],
    );
}

#[test]
fn request_logging_configs() {
    fuzz(
        "request_logging",
        vec![
            json!({}),
            json!({"fields": ["status", "path"], "request_headers": ["authorization"],
                   "response_headers": ["set-cookie"], "redact": ["x-t"], "sample_rate": 0.5,
                   "only_status": ["5xx", "0", "429"], "log_level": "warn", "max_value_bytes": 16,
                   "include_query": false}),
        ],
    );
}

#[test]
fn auth_check_configs() {
    fuzz(
        "auth_check",
        vec![
            json!({"mode": "api_key", "exempt_paths": ["/healthz"], "strip_credentials": true,
                   "api_key": {"header": "x-api-key", "query_param": "k",
                               "keys": [{"client": "a", "key": SECRET_KEY}, {"client": "b", "key": "ak_other_key_77"}]}}),
            json!({"mode": "basic", "basic": {"realm": "r", "users": ["alice:{SHA}tiY7sUhYKUwI5L3866kDY+ENcrQ="]}}),
            json!({"mode": "remote", "remote": {"cluster": "auth_service", "path": "/check", "timeout_ms": 10,
                   "forward_headers": ["authorization", ":path"], "upstream_headers": ["x-u"],
                   "identity_from": "x-u", "failure_mode_allow": true}}),
        ],
    );
}

#[test]
fn metadata_exchange_configs() {
    fuzz(
        "metadata_exchange",
        vec![
            json!({}),
            json!({"direction": "outbound", "additional_labels": ["team"], "max_header_size": 100,
                   "max_nesting_depth": 2}),
        ],
    );
}
