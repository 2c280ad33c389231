//! auth_check under hostile traffic and hostile auth-service answers, in every mode: zero
//! traps; a client can never choose its identity; no secret reaches the logs.

use harness::{Level, Plugin};
use reliability::{cases, drive, rng::Rng, secrets};
use serde_json::json;

const CLUSTER: &str = "auth_service";
const SPOOF: &str = "spoofed-identity";
const KEYS: [&str; 2] = ["ak_live_6Jd93kq0VbXz", "ak_live_P0d8s7Ma2"];
/// Secrets: configured keys, passwords, and credentials a client presents.
const SECRETS: [&str; 7] = [
    "ak_live_6Jd93kq0VbXz",
    "ak_live_P0d8s7Ma2",
    "wonderland",
    "hunter2",
    "ak_presented_wrong_key",
    "tiY7sUhYKUwI5L3866kDY+ENcrQ=",
    "Bearer tok-presented-9f8e7d",
];
const NAMES: &[&str] = &[
    "x-api-key",
    "authorization",
    "x-auth-client",
    "x-user-id",
    "cookie",
    ":path",
];

fn configs() -> Vec<serde_json::Value> {
    let remote = |allow: bool| {
        json!({"mode": "remote", "exempt_paths": ["/healthz"], "strip_credentials": allow,
               "remote": {"cluster": CLUSTER, "path": "/check", "timeout_ms": 500,
                          "forward_headers": ["authorization", "cookie", ":path", ":method"],
                          "upstream_headers": ["x-user-id"], "identity_from": "x-user-id",
                          "failure_mode_allow": allow}})
    };
    vec![
        json!({"mode": "api_key", "exempt_paths": ["/healthz"],
               "api_key": {"header": "x-api-key", "query_param": "api_key",
                           "keys": [{"client": "ci-pipeline", "key": KEYS[0]},
                                    {"client": "web-frontend", "key": KEYS[1]}]}}),
        json!({"mode": "basic", "strip_credentials": true, "basic": {"realm": "staff", "users": [
               "alice:{SHA}tiY7sUhYKUwI5L3866kDY+ENcrQ=",
               "bob:{SSHA256}tFzirGKMLB+B+W2/WfgCEy00JfO779eX9/D0FC7Cz3NwZXBwZXItc2FsdA=="]}}),
        remote(false),
        remote(true),
    ]
}

/// Identities each configuration may put upstream (None: whatever the service answered).
fn allowed_identities(which: usize) -> Option<&'static [&'static str]> {
    match which {
        0 => Some(&["ci-pipeline", "web-frontend"]),
        1 => Some(&["alice", "bob"]),
        _ => None,
    }
}

#[test]
fn hostile_traffic_and_answers_never_trap_spoof_an_identity_or_leak_a_secret() {
    let mut plugins: Vec<Plugin> = configs()
        .into_iter()
        .map(|c| {
            Plugin::builder("auth_check")
                .config_json(c)
                .cluster(CLUSTER)
                .log_level(Level::Trace)
                .start()
                .unwrap_or_else(|e| panic!("start: {e}"))
        })
        .collect();
    let client_values: Vec<Vec<u8>> = [
        KEYS[0],
        KEYS[1],
        "ak_presented_wrong_key",
        "Basic YWxpY2U6d29uZGVybGFuZA==",
        "basic Ym9iOmh1bnRlcjI",
        "Basic YWxpY2U6d3Jvbmc=",
        "Basic !!!notbase64",
        "Bearer tok-presented-9f8e7d",
        SPOOF,
    ]
    .iter()
    .map(|v| v.as_bytes().to_vec())
    .collect();
    // What the auth service may answer with: never the spoofed identity.
    let service_values: Vec<Vec<u8>> = vec![b"user-1".to_vec(), b"svc \xff".to_vec()];
    let mut reached = 0u64;
    cases::run("auth_check", 10_000, |rng: &mut Rng, i| {
        let which = (i % plugins.len() as u64) as usize;
        let plugin = &mut plugins[which];
        let mut plan = drive::Plan::random(rng, NAMES, &client_values);
        if rng.chance(1, 4) {
            // Always some spoofing attempts, in mixed case and duplicated.
            plan.request
                .push(("X-Auth-Client".into(), SPOOF.as_bytes().to_vec()));
            plan.request
                .push(("x-user-id".into(), SPOOF.as_bytes().to_vec()));
        }
        let mut answer = |rng: &mut Rng, p: &mut Plugin| {
            drive::answer_randomly(
                rng,
                p,
                &["x-user-id", "content-type", "www-authenticate"],
                &service_values,
            )
        };
        let out = drive::drive(rng, plugin, &plan, Some(&mut answer))?;
        if let Some(up) = &out.upstream {
            reached += 1;
            let ids = up.header_all("x-auth-client");
            let raw: Vec<&Vec<u8>> = up
                .headers
                .iter()
                // x-user-id is an identity only where the service's answer fills it (remote).
                .filter(|(k, _)| k == "x-auth-client" || (which >= 2 && k == "x-user-id"))
                .map(|(_, v)| v)
                .collect();
            if raw.iter().any(|v| v.as_slice() == SPOOF.as_bytes()) {
                return Err(format!(
                    "a client-chosen identity reached the upstream: {up:?}"
                ));
            }
            if ids.len() > 1 {
                return Err(format!("several identities upstream: {ids:?}"));
            }
            if let (Some(allowed), Some(id)) = (allowed_identities(which), ids.first()) {
                if !allowed.contains(id) {
                    return Err(format!("identity {id:?} is not a configured client"));
                }
            }
        }
        if let Some((line, secret, text)) = secrets::find_secret(plugin.logs(), &SECRETS) {
            return Err(format!("secret {secret:?} in log line {line}: {text}"));
        }
        plugin.clear_logs();
        Ok(())
    });
    // The run exercised both outcomes (a fuzzer that never gets through proves little).
    let allowed: i64 = plugins
        .iter()
        .map(|p| p.metric("auth_check.allowed").unwrap_or(0))
        .sum();
    let denied: i64 = plugins
        .iter()
        .map(|p| {
            p.metric("auth_check.denied.invalid_credentials")
                .unwrap_or(0)
        })
        .sum();
    println!(
        "auth_check: reached upstream {reached}, allowed {allowed}, invalid credentials {denied}"
    );
    assert!(
        allowed > 100 && denied > 100,
        "allowed {allowed}, denied {denied}"
    );
}
