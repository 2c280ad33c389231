//! http_headers under hostile traffic: zero traps, and the configured edits always hold on
//! what reaches the upstream and the client.

use harness::{Level, Plugin};
use reliability::{cases, drive, rng::Rng};
use serde_json::json;

const NAMES: &[&str] = &[
    "x-remove-me",
    "x-set-me",
    "x-request-id",
    "user-agent",
    "server",
];

fn plugins() -> Vec<Plugin> {
    let configs = [
        json!({}),
        json!({
            "request": {"set": {"x-set-me": "fixed", ":path": "/rewritten"},
                        "add": {"x-added": "%REQ(user-agent)%|%REQUEST_ID%|%PATH%|%METHOD%|%AUTHORITY%|%SCHEME%"},
                        "remove": ["x-remove-me"]},
            "response": {"set": {"x-set-me": "%DOWNSTREAM_REMOTE_ADDRESS%%%", ":status": "299"},
                         "add": {"x-by": "%PLUGIN_NAME%"},
                         "remove": ["server"]}
        }),
        json!({"response": {"set": {"x-echo": "%REQ(x-remove-me)%"}}}),
    ];
    configs
        .into_iter()
        .map(|c| {
            Plugin::builder("http_headers")
                .config_json(c)
                .log_level(Level::Trace)
                .start()
                .unwrap_or_else(|e| panic!("start: {e}"))
        })
        .collect()
}

#[test]
fn hostile_traffic_never_traps_and_edits_always_hold() {
    let mut plugins = plugins();
    let values: Vec<Vec<u8>> = vec![b"fixed".to_vec(), b"%REQ(x)%".to_vec()];
    cases::run("http_headers", 10_000, |rng: &mut Rng, i| {
        let which = (i % plugins.len() as u64) as usize;
        let plugin = &mut plugins[which];
        let plan = drive::Plan::random(rng, NAMES, &values);
        let out = drive::drive(rng, plugin, &plan, None)?;
        if which == 1 {
            if let Some(up) = &out.upstream {
                if up.headers.iter().any(|(k, _)| k == "x-remove-me") {
                    return Err(format!("x-remove-me reached the upstream: {up:?}"));
                }
                if up.header_all("x-set-me") != ["fixed"] {
                    return Err(format!("x-set-me is not exactly `fixed` upstream: {up:?}"));
                }
            }
        }
        plugin.clear_logs();
        Ok(())
    });
}
