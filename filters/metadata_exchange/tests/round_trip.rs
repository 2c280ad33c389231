//! Two instances talk: the client's sidecar (outbound) sends its identity with the request, the
//! server's sidecar (inbound) records it and answers with its own, which the client records.
// Helpers fail the test on a host error: clippy exempts only #[test] functions themselves.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use common::*;
use harness::{Action, Level};
use serde_json::json;

#[test]
fn client_and_server_learn_each_other_field_by_field() {
    let mut client = start(client_builder(json!({})));
    let mut server = start(server_builder(json!({})));

    // 1. The local app's request leaves through the client's outbound listener.
    let mut cs = client.http_stream();
    assert_eq!(
        cs.request_headers(&REQUEST, true).unwrap(),
        Action::Continue
    );
    let on_the_wire = headers_of(cs.request());
    assert_eq!(cs.request().header(MD), Some(CLIENT_MD_B64));
    assert_eq!(cs.request().header(MD_ID), Some(CLIENT_ID));
    assert_eq!(cs.request().header_all(MD).len(), 1);
    assert_eq!(cs.filter_state("wasm.downstream_peer"), None);

    // 2. The server's inbound listener records the client and strips the headers: the echo
    //    application never sees them.
    let mut ss = server.http_stream();
    assert_eq!(
        ss.request_headers(&refs(&on_the_wire), true).unwrap(),
        Action::Continue
    );
    assert_eq!(ss.request().header(MD), None);
    assert_eq!(ss.request().header(MD_ID), None);
    assert_eq!(ss.request().header(":path"), Some("/headers"));
    let seen_by_server = peer(&ss.filter_state("wasm.downstream_peer").unwrap());
    assert_eq!(seen_by_server, expected_client_struct());
    assert_eq!(
        seen_by_server.get_str("NAME"),
        Some("client-5c8d7f6b9-abcde")
    );
    assert_eq!(seen_by_server.get_str("NAMESPACE"), Some("default"));
    assert_eq!(seen_by_server.get_str("WORKLOAD_NAME"), Some("client"));
    assert_eq!(seen_by_server.get_str("CLUSTER_ID"), Some("Kubernetes"));
    assert_eq!(
        seen_by_server.get_str("OWNER"),
        Some("kubernetes://apis/apps/v1/namespaces/default/deployments/client")
    );
    let labels = seen_by_server.get_struct("LABELS").unwrap();
    assert_eq!(labels.get_str("app"), Some("client"));
    assert_eq!(labels.get_str("version"), Some("v1"));
    assert_eq!(
        labels.get_str("service.istio.io/canonical-name"),
        Some("client")
    );
    assert_eq!(
        labels.get_str("service.istio.io/canonical-revision"),
        Some("v1")
    );
    assert_eq!(labels.len(), 4, "unlisted labels are not exchanged");
    assert_eq!(seen_by_server.get("MESH_ID"), None);
    assert_eq!(
        ss.filter_state("wasm.downstream_peer_id").as_deref(),
        Some(CLIENT_ID.as_bytes())
    );
    assert_eq!(ss.filter_state("wasm.upstream_peer"), None);

    // 3. The echo app answers; the server's sidecar adds its identity to the response.
    let answer = [(":status", "200"), ("content-type", "application/json")];
    assert_eq!(
        ss.response_headers(&answer, true).unwrap(),
        Action::Continue
    );
    let back_on_the_wire = headers_of(ss.response());
    assert_eq!(ss.response().header(MD), Some(SERVER_MD_B64));
    assert_eq!(ss.response().header(MD_ID), Some(SERVER_ID));
    assert_eq!(
        ss.response().header("content-type"),
        Some("application/json")
    );
    // The inbound side does not treat its local app as an upstream peer.
    assert_eq!(ss.filter_state("wasm.upstream_peer"), None);
    ss.complete().unwrap();
    drop(ss);

    // 4. The client's sidecar records the server and strips the headers from the app's view.
    assert_eq!(
        cs.response_headers(&refs(&back_on_the_wire), true).unwrap(),
        Action::Continue
    );
    assert_eq!(cs.response().header(MD), None);
    assert_eq!(cs.response().header(MD_ID), None);
    assert_eq!(cs.response().status(), Some(200));
    let seen_by_client = peer(&cs.filter_state("wasm.upstream_peer").unwrap());
    assert_eq!(seen_by_client, expected_server_struct());
    assert_eq!(seen_by_client.get_str("NAME"), Some("echo-7d4b9c6f8-xyz12"));
    assert_eq!(seen_by_client.get_str("WORKLOAD_NAME"), Some("echo"));
    let labels = seen_by_client.get_struct("LABELS").unwrap();
    assert_eq!(labels.get_str("app"), Some("echo"));
    assert_eq!(labels.get_str("version"), Some("v2"));
    assert_eq!(labels.get("security.istio.io/tlsMode"), None);
    assert_eq!(
        cs.filter_state("wasm.upstream_peer_id").as_deref(),
        Some(SERVER_ID.as_bytes())
    );
    assert_eq!(cs.filter_state("wasm.downstream_peer"), None);
    cs.complete().unwrap();
    drop(cs);

    // Metrics on both sides.
    assert_eq!(client.metric("metadata_exchange.headers_added"), Some(1));
    assert_eq!(client.metric("metadata_exchange.peers_decoded"), Some(1));
    assert_eq!(client.metric("metadata_exchange.decode_failures"), Some(0));
    assert_eq!(server.metric("metadata_exchange.headers_added"), Some(1));
    assert_eq!(server.metric("metadata_exchange.peers_decoded"), Some(1));
    assert_eq!(server.metric("metadata_exchange.decode_failures"), Some(0));

    // Operators see who the peer was.
    let server_debug = server.logs_at(Level::Debug);
    assert!(
        server_debug.contains(&format!(
            "downstream peer: id={CLIENT_ID} name=client-5c8d7f6b9-abcde namespace=default workload=client app=client version=v1"
        ).as_str()),
        "{server_debug:#?}"
    );
    let client_debug = client.logs_at(Level::Debug);
    assert!(
        client_debug.contains(&format!(
            "upstream peer: id={SERVER_ID} name=echo-7d4b9c6f8-xyz12 namespace=default workload=echo app=echo version=v2"
        ).as_str()),
        "{client_debug:#?}"
    );
}

#[test]
fn identity_is_encoded_once_per_configuration() {
    let mut client = start(client_builder(json!({})));
    for _ in 0..3 {
        let ex = client
            .send(harness::Request::get("/"), harness::Response::status(204))
            .unwrap();
        let upstream = ex.upstream.unwrap();
        assert_eq!(upstream.header(MD), Some(CLIENT_MD_B64));
        assert_eq!(upstream.header(MD_ID), Some(CLIENT_ID));
    }
    assert_eq!(client.metric("metadata_exchange.headers_added"), Some(3));
    let built: Vec<&str> = client
        .logs_at(Level::Debug)
        .into_iter()
        .filter(|m| m.starts_with("own identity: "))
        .collect();
    assert_eq!(
        built,
        [format!(
            "own identity: id={CLIENT_ID} name=client-5c8d7f6b9-abcde namespace=default workload=client app=client version=v1 ({} bytes encoded)",
            CLIENT_MD_B64.len()
        )]
    );
}

#[test]
fn additional_labels_are_exchanged_when_present() {
    let mut client = start(client_builder(
        json!({"additional_labels": ["team", "missing"]}),
    ));
    let ex = client
        .send(harness::Request::get("/"), harness::Response::status(200))
        .unwrap();
    let upstream = ex.upstream.unwrap();
    let sent = common::header::decode(
        upstream.header(MD).unwrap().as_bytes(),
        common::header::Limits {
            max_header_size: 8192,
            max_depth: 8,
        },
    )
    .unwrap();
    let metadata = sent.metadata();
    let labels = metadata.get_struct("LABELS").unwrap();
    let keys: Vec<&str> = labels.keys().collect();
    assert_eq!(
        keys,
        [
            "app",
            "service.istio.io/canonical-name",
            "service.istio.io/canonical-revision",
            "team",
            "version"
        ]
    );
    assert_eq!(labels.get_str("team"), Some("blue"));
}

#[test]
fn a_node_without_metadata_sends_only_its_id() {
    let mut plugin = start(
        harness::Plugin::builder("metadata_exchange")
            .node_id(CLIENT_ID)
            .property(&["xds", "listener_direction"], direction(2)),
    );
    assert!(plugin
        .logs_at(Level::Warn)
        .contains(&"node metadata has none of the exchanged keys: no peer metadata will be sent"));
    let ex = plugin
        .send(harness::Request::get("/"), harness::Response::status(200))
        .unwrap();
    let upstream = ex.upstream.unwrap();
    assert_eq!(upstream.header(MD), None);
    assert_eq!(upstream.header(MD_ID), Some(CLIENT_ID));
    assert_eq!(plugin.metric("metadata_exchange.headers_added"), Some(1));
}

#[test]
fn identity_region_and_zone_are_exchanged() {
    let mut md = client_metadata();
    md["IDENTITY"] = json!("spiffe://cluster.local/ns/default/sa/client");
    let mut client = start(
        client_builder(json!({}))
            .node_metadata(md)
            .property(&["xds", "node", "locality", "region"], "eu-west1")
            .property(&["xds", "node", "locality", "zone"], "eu-west1-b"),
    );
    let r = run(&mut client, &[], &[]);
    let sent = common::header::decode(
        r.upstream.header(MD).unwrap().as_bytes(),
        common::header::Limits {
            max_header_size: 8192,
            max_depth: 8,
        },
    )
    .unwrap()
    .metadata();
    assert_eq!(
        sent.get_str("IDENTITY"),
        Some("spiffe://cluster.local/ns/default/sa/client")
    );
    assert_eq!(sent.get_str("REGION"), Some("eu-west1"));
    assert_eq!(sent.get_str("AVAILABILITY_ZONE"), Some("eu-west1-b"));
    let mut expected = expected_client_struct();
    expected.insert(
        "IDENTITY",
        string("spiffe://cluster.local/ns/default/sa/client"),
    );
    expected.insert("REGION", string("eu-west1"));
    expected.insert("AVAILABILITY_ZONE", string("eu-west1-b"));
    assert_eq!(sent, expected);
}

#[test]
fn the_example_deploy_config_is_accepted() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../deploy/metadata_exchange/config.json"
    );
    let config = std::fs::read(path).unwrap();
    let mut client = start(
        harness::Plugin::builder("metadata_exchange")
            .config_bytes(config)
            .node_id(CLIENT_ID)
            .node_metadata(client_metadata())
            .property(&["xds", "listener_direction"], direction(2)),
    );
    let r = run(&mut client, &[], &[]);
    assert_eq!(r.upstream.header(MD), Some(CLIENT_MD_B64));
}
