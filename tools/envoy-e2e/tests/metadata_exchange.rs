//! metadata_exchange in two real Envoys: the client's sidecar (outbound) and the server's
//! sidecar (inbound) from deploy/metadata_exchange/envoy-{client,server}.yaml, each learning
//! the other's identity. Run by scripts/test.d/20-envoy.sh (needs Envoy).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{echo_upstream, Echoed};
use envoy_e2e::{Envoy, EnvoyBuilder};
use std::time::Duration;

const CLIENT_ID: &str =
    "sidecar~127.0.0.2~client-5c8d7f6b9-abcde.default~default.svc.cluster.local";
const SERVER_ID: &str = "sidecar~127.0.0.3~echo-7d4b9c6f8-xyz12.default~default.svc.cluster.local";

fn server(upstream: u16) -> Envoy {
    EnvoyBuilder::new("metadata_exchange")
        .template("envoy-server.yaml")
        .upstream(upstream)
        .component_log_level("wasm:debug")
        .start()
        .unwrap()
}

#[test]
#[ignore = "needs Envoy: scripts/test.d/20-envoy.sh"]
fn client_and_server_sidecars_learn_each_other() {
    let upstream = echo_upstream();
    let server = server(upstream.port());
    let client = EnvoyBuilder::new("metadata_exchange")
        .template("envoy-client.yaml")
        .var("SERVER_PORT", server.addr().port())
        .component_log_level("wasm:debug")
        .start()
        .unwrap();
    let resp = client.get("/hello", &[]).unwrap();
    assert_eq!(resp.status, 200);
    // Neither the app nor the calling client sees the exchange headers.
    let seen = Echoed::from(&resp);
    assert!(
        seen.headers
            .iter()
            .all(|(n, _)| !n.starts_with("x-envoy-peer-metadata")),
        "{:?}",
        seen.headers
    );
    assert!(resp.get("x-envoy-peer-metadata").is_none());
    assert!(resp.get("x-envoy-peer-metadata-id").is_none());

    let learned = server
        .wait_for_log("downstream peer: ", Duration::from_secs(5))
        .unwrap_or_else(|| panic!("{}", server.log()));
    assert!(learned.ends_with(&format!(
        "downstream peer: id={CLIENT_ID} name=client-5c8d7f6b9-abcde namespace=default workload=client app=client version=v1"
    )), "{learned}");
    let learned = client
        .wait_for_log("upstream peer: ", Duration::from_secs(5))
        .unwrap_or_else(|| panic!("{}", client.log()));
    assert!(learned.ends_with(&format!(
        "upstream peer: id={SERVER_ID} name=echo-7d4b9c6f8-xyz12 namespace=default workload=echo app=echo version=v2"
    )), "{learned}");
    // Filter state as Envoy's own access log reads it.
    assert!(
        server
            .wait_for_log(
                &format!("DOWNSTREAM_PEER_ID={CLIENT_ID}"),
                Duration::from_secs(5)
            )
            .is_some(),
        "{}",
        server.log()
    );
    assert!(
        client
            .wait_for_log(
                &format!("UPSTREAM_PEER_ID={SERVER_ID}"),
                Duration::from_secs(5)
            )
            .is_some(),
        "{}",
        client.log()
    );
    for envoy in [&server, &client] {
        assert_eq!(
            envoy.stat("wasmcustom.metadata_exchange.peers_decoded"),
            Some(1)
        );
        assert_eq!(
            envoy.stat("wasmcustom.metadata_exchange.headers_added"),
            Some(1)
        );
        assert_eq!(
            envoy.stat("wasmcustom.metadata_exchange.decode_failures"),
            Some(0)
        );
    }
}

#[test]
#[ignore = "needs Envoy: scripts/test.d/20-envoy.sh"]
fn malformed_peer_headers_are_stripped_and_counted_never_fatal() {
    let upstream = echo_upstream();
    let server = server(upstream.port());
    let resp = server
        .get(
            "/",
            &[
                ("x-envoy-peer-metadata", "%%% not base64 %%%"),
                ("x-envoy-peer-metadata-id", "sidecar~spoofed"),
            ],
        )
        .unwrap();
    assert_eq!(resp.status, 200);
    let seen = Echoed::from(&resp);
    assert!(seen.header("x-envoy-peer-metadata").is_none());
    assert!(seen.header("x-envoy-peer-metadata-id").is_none());
    assert_eq!(
        server.stat("wasmcustom.metadata_exchange.decode_failures"),
        Some(1)
    );
    assert_eq!(
        server.stat("wasmcustom.metadata_exchange.peers_decoded"),
        Some(0)
    );
}
