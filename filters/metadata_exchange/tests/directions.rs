//! The direction rules of REFERENCE §3 and where the filter reads its facts from: `xds.*` on
//! Envoy >= 1.33, the legacy top-level `node` / `listener_direction` before.
// Helpers fail the test on a host error: clippy exempts only #[test] functions themselves.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use common::*;
use harness::{Plugin, PluginBuilder, Request, Response};
use serde_json::json;

/// A request carrying the client's headers and an upstream answer carrying the server's; what
/// did the upstream and the client get, and what did the filter record?
struct Outcome {
    upstream_md: Option<String>,
    upstream_id: Option<String>,
    client_md: Option<String>,
    client_id: Option<String>,
    downstream_peer: bool,
    upstream_peer: bool,
}

fn exchange(builder: PluginBuilder, request_has: (bool, bool)) -> Outcome {
    let mut plugin = start(builder);
    let mut req_extra = Vec::new();
    if request_has.0 {
        req_extra.push((MD, CLIENT_MD_B64));
    }
    if request_has.1 {
        req_extra.push((MD_ID, CLIENT_ID));
    }
    let request = with(&REQUEST, &req_extra);
    let mut s = plugin.http_stream();
    s.request_headers(&refs(&request), true).unwrap();
    let upstream_md = s.request().header(MD).map(str::to_owned);
    let upstream_id = s.request().header(MD_ID).map(str::to_owned);
    let response = [(":status", "200"), (MD, SERVER_MD_B64), (MD_ID, SERVER_ID)];
    s.response_headers(&response, true).unwrap();
    let outcome = Outcome {
        upstream_md,
        upstream_id,
        client_md: s.response().header(MD).map(str::to_owned),
        client_id: s.response().header(MD_ID).map(str::to_owned),
        downstream_peer: s.filter_state("wasm.downstream_peer").is_some(),
        upstream_peer: s.filter_state("wasm.upstream_peer").is_some(),
    };
    s.complete().unwrap();
    outcome
}

fn node(dir: Option<i64>) -> PluginBuilder {
    let b = Plugin::builder("metadata_exchange")
        .node_id(CLIENT_ID)
        .node_metadata(client_metadata());
    match dir {
        Some(d) => b.property(&["xds", "listener_direction"], direction(d)),
        None => b,
    }
}

#[test]
fn outbound_adds_to_requests_and_records_the_upstream() {
    let o = exchange(node(Some(2)), (false, false));
    assert_eq!(o.upstream_md.as_deref(), Some(CLIENT_MD_B64));
    assert_eq!(o.upstream_id.as_deref(), Some(CLIENT_ID));
    assert!(o.upstream_peer);
    assert!(!o.downstream_peer);
    // The response goes back to the local app: stripped, nothing added.
    assert_eq!(o.client_md, None);
    assert_eq!(o.client_id, None);
}

#[test]
fn outbound_replaces_headers_the_local_app_sent() {
    let o = exchange(node(Some(2)), (true, true));
    // The app's values were taken as a (downstream) peer, and ours replace them upstream.
    assert!(o.downstream_peer);
    assert_eq!(o.upstream_md.as_deref(), Some(CLIENT_MD_B64));
    assert_eq!(o.upstream_id.as_deref(), Some(CLIENT_ID));
    assert_eq!(o.client_md, None);
}

#[test]
fn inbound_answers_only_peers_that_introduced_themselves() {
    // Both headers in the request: both answered.
    let o = exchange(node(Some(1)), (true, true));
    assert!(o.downstream_peer);
    assert_eq!(
        o.upstream_md, None,
        "the local app must not see exchange headers"
    );
    assert_eq!(o.upstream_id, None);
    assert_eq!(o.client_md.as_deref(), Some(CLIENT_MD_B64));
    assert_eq!(o.client_id.as_deref(), Some(CLIENT_ID));
    // The local app's response headers are stripped, not recorded as a peer.
    assert!(!o.upstream_peer);

    // Only the id: only the id is answered.
    let o = exchange(node(Some(1)), (false, true));
    assert_eq!(o.client_md, None);
    assert_eq!(o.client_id.as_deref(), Some(CLIENT_ID));

    // Only the metadata: only the metadata is answered.
    let o = exchange(node(Some(1)), (true, false));
    assert_eq!(o.client_md.as_deref(), Some(CLIENT_MD_B64));
    assert_eq!(o.client_id, None);

    // A client outside the mesh: nothing is revealed to it.
    let o = exchange(node(Some(1)), (false, false));
    assert_eq!(o.client_md, None);
    assert_eq!(o.client_id, None);
    assert!(!o.downstream_peer);
}

#[test]
fn unspecified_direction_behaves_like_istio_both_ways() {
    // The harness host reports 0 (unspecified) by default.
    let o = exchange(node(None), (true, true));
    assert!(o.downstream_peer);
    assert!(o.upstream_peer);
    assert_eq!(o.upstream_md.as_deref(), Some(CLIENT_MD_B64));
    assert_eq!(o.client_md.as_deref(), Some(CLIENT_MD_B64));
    assert_eq!(o.client_id.as_deref(), Some(CLIENT_ID));
}

#[test]
fn config_direction_overrides_the_listener() {
    let o = exchange(
        node(Some(1)).config_json(json!({"direction": "outbound"})),
        (true, true),
    );
    assert_eq!(o.upstream_md.as_deref(), Some(CLIENT_MD_B64));
    assert_eq!(o.client_md, None);
    assert!(o.upstream_peer);

    let o = exchange(
        node(Some(2)).config_json(json!({"direction": "inbound"})),
        (true, true),
    );
    assert_eq!(o.upstream_md, None);
    assert_eq!(o.client_md.as_deref(), Some(CLIENT_MD_B64));
    assert!(!o.upstream_peer);

    // "auto" is the listener's direction again.
    let o = exchange(
        node(Some(1)).config_json(json!({"direction": "auto"})),
        (true, true),
    );
    assert_eq!(o.upstream_md, None);
}

#[test]
fn legacy_host_without_xds_attributes() {
    // Envoy < 1.33: node and listener_direction at the top level only.
    let legacy = Plugin::builder("metadata_exchange")
        .legacy_properties_only(true)
        .node_id(CLIENT_ID)
        .node_metadata(client_metadata())
        .property(&["listener_direction"], direction(2));
    let o = exchange(legacy, (false, false));
    assert_eq!(o.upstream_md.as_deref(), Some(CLIENT_MD_B64));
    assert_eq!(o.upstream_id.as_deref(), Some(CLIENT_ID));
    assert_eq!(o.client_md, None, "legacy listener_direction says outbound");
    assert!(o.upstream_peer);

    let legacy_inbound = Plugin::builder("metadata_exchange")
        .legacy_properties_only(true)
        .node_id(SERVER_ID)
        .node_metadata(server_metadata())
        .property(&["listener_direction"], direction(1));
    let o = exchange(legacy_inbound, (true, true));
    assert_eq!(o.upstream_md, None);
    assert_eq!(o.client_md.as_deref(), Some(SERVER_MD_B64));
    assert_eq!(o.client_id.as_deref(), Some(SERVER_ID));
}

#[test]
fn xds_attributes_win_over_legacy_ones() {
    let mut plugin = start(
        node(Some(2))
            .property(&["xds", "node", "metadata", "NAME"], "from-xds")
            .property(&["node", "metadata", "NAME"], "from-legacy")
            .property(&["listener_direction"], direction(1)),
    );
    let ex = plugin
        .send(Request::get("/"), Response::status(200))
        .unwrap();
    let upstream = ex.upstream.unwrap();
    let sent = peer(&base64_decode(upstream.header(MD).unwrap()));
    assert_eq!(sent.get_str("NAME"), Some("from-xds"));
    // xds.listener_direction (outbound) is used, not the legacy inbound.
    assert_eq!(upstream.header(MD_ID), Some(CLIENT_ID));
}

fn base64_decode(text: &str) -> Vec<u8> {
    common::header::decode(
        text.as_bytes(),
        common::header::Limits {
            max_header_size: 8192,
            max_depth: 8,
        },
    )
    .unwrap()
    .bytes
}

/// An inbound response is stripped without being read: every value of both headers goes,
/// even garbage that would fail to decode, nothing is recorded or counted as a failure, and
/// our own headers are added only for what the request carried.
#[test]
fn inbound_response_is_stripped_and_answered_as_before() {
    let mut p = start(server_builder(json!({})));
    let app_headers = [
        (MD, "not base64!"),
        (MD, CLIENT_MD_B64),
        (MD_ID, "app-sent-id"),
        (MD_ID, ""),
    ];
    for (req, want_md, want_id) in [
        (vec![(MD, CLIENT_MD_B64), (MD_ID, CLIENT_ID)], true, true),
        (vec![(MD_ID, CLIENT_ID)], false, true),
        (vec![], false, false),
    ] {
        let r = run(&mut p, &req, &app_headers);
        let md: &[&str] = if want_md { &[SERVER_MD_B64] } else { &[] };
        let id: &[&str] = if want_id { &[SERVER_ID] } else { &[] };
        assert_eq!(r.client.header_all(MD), md, "request {req:?}");
        assert_eq!(r.client.header_all(MD_ID), id, "request {req:?}");
        assert_eq!(r.client.status(), Some(200));
        assert_eq!((r.upstream_peer, r.upstream_peer_id), (None, None));
        assert_eq!(r.upstream.header(MD), None);
        assert_eq!(r.upstream.header(MD_ID), None);
    }
    let metric = |m: &str| p.metric(&format!("metadata_exchange.{m}"));
    assert_eq!(metric("peers_decoded"), Some(1));
    assert_eq!(metric("decode_failures"), Some(0));
    assert_eq!(metric("headers_added"), Some(2));
}
