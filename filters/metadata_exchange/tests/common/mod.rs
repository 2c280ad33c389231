//! Shared fixtures for the metadata_exchange harness tests: two sidecars (a client, outbound,
//! and an echo server, inbound) with Istio-shaped node ids and metadata.
#![allow(dead_code)]

use harness::{Message, Plugin, PluginBuilder};
use structpb::{Struct, Value};

// The filter's codec, compiled into the tests from its source: the filter crate is a cdylib only.
#[path = "../../src/header.rs"]
pub mod header;
#[path = "../../src/structpb.rs"]
pub mod structpb;
#[path = "../../src/wire.rs"]
pub mod wire;
use serde_json::{json, Value as Json};

pub const MD: &str = "x-envoy-peer-metadata";
pub const MD_ID: &str = "x-envoy-peer-metadata-id";

pub const CLIENT_ID: &str =
    "sidecar~10.244.0.81~client-5c8d7f6b9-abcde.default~default.svc.cluster.local";
pub const SERVER_ID: &str =
    "sidecar~10.244.0.82~echo-7d4b9c6f8-xyz12.default~default.svc.cluster.local";

/// What the client sends: its Struct, encoded by an independent reference encoder (Python,
/// sorted keys) so the filter's encoder is not checked against itself.
pub const CLIENT_MD_B64: &str = "ChoKCkNMVVNURVJfSUQSDBoKS3ViZXJuZXRlcwqIAQoGTEFCRUxTEn4qfAoPCgNhcHASCBoGY2xpZW50CisKH3NlcnZpY2UuaXN0aW8uaW8vY2Fub25pY2FsLW5hbWUSCBoGY2xpZW50CisKI3NlcnZpY2UuaXN0aW8uaW8vY2Fub25pY2FsLXJldmlzaW9uEgQaAnYxCg8KB3ZlcnNpb24SBBoCdjEKIAoETkFNRRIYGhZjbGllbnQtNWM4ZDdmNmI5LWFiY2RlChYKCU5BTUVTUEFDRRIJGgdkZWZhdWx0CkoKBU9XTkVSEkEaP2t1YmVybmV0ZXM6Ly9hcGlzL2FwcHMvdjEvbmFtZXNwYWNlcy9kZWZhdWx0L2RlcGxveW1lbnRzL2NsaWVudAoZCg1XT1JLTE9BRF9OQU1FEggaBmNsaWVudA==";
pub const SERVER_MD_B64: &str = "ChoKCkNMVVNURVJfSUQSDBoKS3ViZXJuZXRlcwqEAQoGTEFCRUxTEnoqeAoNCgNhcHASBhoEZWNobwopCh9zZXJ2aWNlLmlzdGlvLmlvL2Nhbm9uaWNhbC1uYW1lEgYaBGVjaG8KKwojc2VydmljZS5pc3Rpby5pby9jYW5vbmljYWwtcmV2aXNpb24SBBoCdjIKDwoHdmVyc2lvbhIEGgJ2MgoeCgROQU1FEhYaFGVjaG8tN2Q0YjljNmY4LXh5ejEyChYKCU5BTUVTUEFDRRIJGgdkZWZhdWx0CkgKBU9XTkVSEj8aPWt1YmVybmV0ZXM6Ly9hcGlzL2FwcHMvdjEvbmFtZXNwYWNlcy9kZWZhdWx0L2RlcGxveW1lbnRzL2VjaG8KFwoNV09SS0xPQURfTkFNRRIGGgRlY2hv";

/// Node metadata as istiod gives a sidecar: more keys than are exchanged (MESH_ID,
/// INSTANCE_IPS, pod-template-hash, ...), which the filter must leave out.
pub fn client_metadata() -> Json {
    json!({
        "NAME": "client-5c8d7f6b9-abcde",
        "NAMESPACE": "default",
        "WORKLOAD_NAME": "client",
        "CLUSTER_ID": "Kubernetes",
        "OWNER": "kubernetes://apis/apps/v1/namespaces/default/deployments/client",
        "MESH_ID": "cluster.local",
        "INSTANCE_IPS": "10.244.0.81",
        "ISTIO_VERSION": "1.30.0",
        "LABELS": {
            "app": "client",
            "version": "v1",
            "service.istio.io/canonical-name": "client",
            "service.istio.io/canonical-revision": "v1",
            "pod-template-hash": "5c8d7f6b9",
            "team": "blue"
        }
    })
}

pub fn server_metadata() -> Json {
    json!({
        "NAME": "echo-7d4b9c6f8-xyz12",
        "NAMESPACE": "default",
        "WORKLOAD_NAME": "echo",
        "CLUSTER_ID": "Kubernetes",
        "OWNER": "kubernetes://apis/apps/v1/namespaces/default/deployments/echo",
        "MESH_ID": "cluster.local",
        "LABELS": {
            "app": "echo",
            "version": "v2",
            "service.istio.io/canonical-name": "echo",
            "service.istio.io/canonical-revision": "v2",
            "security.istio.io/tlsMode": "istio"
        }
    })
}

/// Envoy's `TrafficDirection`: 0 unspecified, 1 inbound, 2 outbound.
pub fn direction(v: i64) -> [u8; 8] {
    v.to_le_bytes()
}

pub fn client_builder(config: Json) -> PluginBuilder {
    Plugin::builder("metadata_exchange")
        .config_json(config)
        .node_id(CLIENT_ID)
        .node_metadata(client_metadata())
        .property(&["xds", "listener_direction"], direction(2))
}

pub fn server_builder(config: Json) -> PluginBuilder {
    Plugin::builder("metadata_exchange")
        .config_json(config)
        .node_id(SERVER_ID)
        .node_metadata(server_metadata())
        .property(&["xds", "listener_direction"], direction(1))
}

pub fn start(builder: PluginBuilder) -> Plugin {
    builder
        .start()
        .unwrap_or_else(|e| panic!("plugin did not start: {e:?}"))
}

pub const REQUEST: [(&str, &str); 4] = [
    (":method", "GET"),
    (":path", "/headers"),
    (":authority", "echo.default.svc.cluster.local"),
    (":scheme", "http"),
];

pub fn with(base: &[(&str, &str)], extra: &[(&str, &str)]) -> Vec<(String, String)> {
    base.iter()
        .chain(extra)
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A message's headers as owned text pairs, in order (to hand them to the next proxy).
pub fn headers_of(m: &Message) -> Vec<(String, String)> {
    m.headers
        .iter()
        .map(|(k, v)| (k.clone(), String::from_utf8_lossy(v).into_owned()))
        .collect()
}

pub fn refs(h: &[(String, String)]) -> Vec<(&str, &str)> {
    h.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// Decodes a `wasm.*_peer` filter state value.
pub fn peer(bytes: &[u8]) -> Struct {
    Struct::decode(bytes, 32).unwrap_or_else(|e| panic!("filter state is not a Struct: {e}"))
}

pub fn string(v: &str) -> Value {
    Value::String(v.to_string())
}

/// The exact Struct the client sends: exchanged keys only, four standard labels.
pub fn expected_client_struct() -> Struct {
    let mut labels = Struct::new();
    labels.insert("app", string("client"));
    labels.insert("version", string("v1"));
    labels.insert("service.istio.io/canonical-name", string("client"));
    labels.insert("service.istio.io/canonical-revision", string("v1"));
    let mut s = Struct::new();
    s.insert("NAME", string("client-5c8d7f6b9-abcde"));
    s.insert("NAMESPACE", string("default"));
    s.insert("WORKLOAD_NAME", string("client"));
    s.insert("CLUSTER_ID", string("Kubernetes"));
    s.insert(
        "OWNER",
        string("kubernetes://apis/apps/v1/namespaces/default/deployments/client"),
    );
    s.insert("LABELS", Value::Struct(labels));
    s
}

pub fn expected_server_struct() -> Struct {
    let mut labels = Struct::new();
    labels.insert("app", string("echo"));
    labels.insert("version", string("v2"));
    labels.insert("service.istio.io/canonical-name", string("echo"));
    labels.insert("service.istio.io/canonical-revision", string("v2"));
    let mut s = Struct::new();
    s.insert("NAME", string("echo-7d4b9c6f8-xyz12"));
    s.insert("NAMESPACE", string("default"));
    s.insert("WORKLOAD_NAME", string("echo"));
    s.insert("CLUSTER_ID", string("Kubernetes"));
    s.insert(
        "OWNER",
        string("kubernetes://apis/apps/v1/namespaces/default/deployments/echo"),
    );
    s.insert("LABELS", Value::Struct(labels));
    s
}

/// What one request/response through the filter produced.
pub struct Run {
    /// The request as the upstream received it.
    pub upstream: harness::Message,
    /// The response as the client received it.
    pub client: harness::Message,
    pub downstream_peer: Option<Vec<u8>>,
    pub downstream_peer_id: Option<Vec<u8>>,
    pub upstream_peer: Option<Vec<u8>>,
    pub upstream_peer_id: Option<Vec<u8>>,
}

/// Drives one stream: `REQUEST` plus `req_extra`, then a 200 response with `resp_extra`.
/// Every callback must continue.
pub fn run(plugin: &mut Plugin, req_extra: &[(&str, &str)], resp_extra: &[(&str, &str)]) -> Run {
    let request = with(&REQUEST, req_extra);
    let response = with(&[(":status", "200")], resp_extra);
    let mut s = plugin.http_stream();
    assert_eq!(
        s.request_headers(&refs(&request), true).unwrap(),
        harness::Action::Continue
    );
    assert_eq!(
        s.response_headers(&refs(&response), true).unwrap(),
        harness::Action::Continue
    );
    assert!(
        s.local_reply().is_none(),
        "the filter must never answer itself"
    );
    let out = Run {
        upstream: s.request().clone(),
        client: s.response().clone(),
        downstream_peer: s.filter_state("wasm.downstream_peer"),
        downstream_peer_id: s.filter_state("wasm.downstream_peer_id"),
        upstream_peer: s.filter_state("wasm.upstream_peer"),
        upstream_peer_id: s.filter_state("wasm.upstream_peer_id"),
    };
    s.complete().unwrap();
    out
}
