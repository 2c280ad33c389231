//! metadata_exchange under hostile traffic: zero traps; exchange headers never leak to the
//! application; oversized or too deeply nested peer metadata is never stored.

use harness::{Level, Plugin, PluginBuilder};
use reliability::structpb::nested_struct;
use reliability::{cases, drive, rng::Rng, secrets::base64};
use serde_json::json;

pub const MD: &str = "x-envoy-peer-metadata";
pub const MD_ID: &str = "x-envoy-peer-metadata-id";
const MAX_SIZE: usize = 512;
const MAX_DEPTH: usize = 3;

fn builder(direction: i64, config: serde_json::Value) -> PluginBuilder {
    Plugin::builder("metadata_exchange")
        .config_json(config)
        .node_id("sidecar~10.0.0.1~self-pod.default~default.svc.cluster.local")
        .node_metadata(
            json!({"NAME": "self-pod", "NAMESPACE": "default", "WORKLOAD_NAME": "self",
                              "LABELS": {"app": "self", "version": "v1"}}),
        )
        .property(&["xds", "listener_direction"], direction.to_le_bytes())
        .log_level(Level::Trace)
}

#[test]
fn hostile_traffic_never_traps_leaks_exchange_headers_or_stores_oversized_metadata() {
    let config = json!({"max_header_size": MAX_SIZE, "max_nesting_depth": MAX_DEPTH});
    // Inbound, outbound, unspecified; then inbound with the defaults.
    let mut plugins: Vec<(i64, Plugin)> = [
        (1, config.clone()),
        (2, config.clone()),
        (0, config),
        (1, json!({})),
    ]
    .into_iter()
    .map(|(d, c)| {
        (
            d,
            builder(d, c)
                .start()
                .unwrap_or_else(|e| panic!("start: {e}")),
        )
    })
    .collect();
    let values: Vec<Vec<u8>> = vec![
        base64(&nested_struct(1)).into_bytes(),
        base64(&nested_struct(MAX_DEPTH)).into_bytes(),
        base64(&nested_struct(MAX_DEPTH + 1)).into_bytes(),
        base64(&nested_struct(40)).into_bytes(),
        base64(&nested_struct(2))
            .trim_end_matches('=')
            .as_bytes()
            .to_vec(),
        base64(&[0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]).into_bytes(),
        vec![b'A'; MAX_SIZE + 1],
        b"sidecar~10.0.0.9~peer.default~default.svc.cluster.local".to_vec(),
    ];
    let mut stored = 0u64;
    cases::run("metadata_exchange", 10_000, |rng: &mut Rng, i| {
        let which = (i % plugins.len() as u64) as usize;
        let (direction, plugin) = &mut plugins[which];
        let mut plan = drive::Plan::random(rng, &[MD, MD_ID], &values);
        plan.capture = vec![
            "wasm.downstream_peer".into(),
            "wasm.downstream_peer_id".into(),
        ];
        let out = drive::drive(rng, plugin, &plan, None)?;
        if let Some(up) = &out.upstream {
            let leaked: Vec<_> = up
                .headers
                .iter()
                .filter(|(k, _)| k == MD || k == MD_ID)
                .collect();
            match *direction {
                // Inbound: the application never sees exchange headers.
                1 if !leaked.is_empty() => {
                    return Err(format!("exchange headers reached the app: {leaked:?}"))
                }
                // Outbound / unspecified: exactly the own pair, replacing the client's.
                2 | 0 if leaked.len() != 2 => {
                    return Err(format!("expected the own pair upstream, got {leaked:?}"))
                }
                _ => {}
            }
        }
        let sent: Vec<&Vec<u8>> = plan
            .request
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(MD))
            .map(|(_, v)| v)
            .collect();
        let bound = if which == 3 { 8192 } else { MAX_SIZE };
        if let Some(Some(stored_peer)) = out.state.first() {
            stored += 1;
            let stored = stored_peer;
            let first = sent.first().map(|v| v.len()).unwrap_or(0);
            if first > bound {
                return Err(format!(
                    "a {first}-byte value over the {bound}-byte bound was stored"
                ));
            }
            let depth_limit = if which == 3 { 8 } else { MAX_DEPTH };
            if stored.len() >= nested_struct(depth_limit + 1).len()
                && is_nested_prefix(stored, depth_limit + 1)
            {
                return Err("a Struct deeper than the bound was stored".into());
            }
        }
        plugin.clear_logs();
        Ok(())
    });
    let failures: i64 = plugins
        .iter()
        .map(|(_, p)| p.metric("metadata_exchange.decode_failures").unwrap_or(0))
        .sum();
    println!("metadata_exchange: peers stored {stored}, decode failures {failures}");
    assert!(
        stored > 100 && failures > 100,
        "stored {stored}, failures {failures}"
    );
}

/// Whether `stored` is one of the generated nested Structs of at least `depth` levels.
fn is_nested_prefix(stored: &[u8], depth: usize) -> bool {
    (depth..=40).any(|d| stored == nested_struct(d).as_slice())
}
