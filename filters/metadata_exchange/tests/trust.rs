//! Whom the filter believes and whom it tells: `trust_peers` (a peer's claim is stored only
//! when the connection is mTLS, and optionally only when it matches the peer certificate's URI
//! SAN) and `send_to` (own metadata only for mesh upstreams, as Istio decides it).
// Helpers fail the test on a host error: clippy exempts only #[test] functions themselves.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use common::structpb::{Struct, Value};
use common::*;
use harness::{Level, PluginBuilder};
use serde_json::json;

const CLIENT_SAN: &str = "spiffe://cluster.local/ns/default/sa/client";
const SERVER_SAN: &str = "spiffe://cluster.local/ns/default/sa/echo";

/// The downstream connection as Envoy describes it: `connection.mtls` (one byte) and the
/// first URI SAN of the client's certificate.
fn downstream_tls(builder: PluginBuilder, mtls: bool, san: Option<&str>) -> PluginBuilder {
    let b = builder.property(&["connection", "mtls"], [u8::from(mtls)]);
    match san {
        Some(san) => b.property(&["connection", "uri_san_peer_certificate"], san),
        None => b,
    }
}

/// The inbound server gets the client's headers; what did it store, pass on and answer?
fn inbound(builder: PluginBuilder, md: &str) -> (Run, harness::Plugin) {
    let mut server = start(builder);
    let r = run(&mut server, &[(MD, md), (MD_ID, CLIENT_ID)], &[]);
    (r, server)
}

fn assert_untrusted(r: &Run, server: &harness::Plugin, reason: &str) {
    assert_eq!(r.downstream_peer, None, "{reason}");
    assert_eq!(r.downstream_peer_id, None, "{reason}");
    // Stripped all the same, and an unauthenticated client learns nothing about us.
    assert_eq!(r.upstream.header(MD), None);
    assert_eq!(r.upstream.header(MD_ID), None);
    assert_eq!(r.client.header(MD), None);
    assert_eq!(r.client.header(MD_ID), None);
    assert_eq!(server.metric("metadata_exchange.untrusted_peers"), Some(1));
    assert_eq!(server.metric("metadata_exchange.peers_decoded"), Some(0));
    let line = format!("downstream peer not trusted: {reason}");
    assert!(
        server.logs_at(Level::Debug).contains(&line.as_str()),
        "{:#?}",
        server.logs_at(Level::Debug)
    );
}

fn assert_trusted(r: &Run, server: &harness::Plugin) {
    assert_eq!(
        peer(r.downstream_peer.as_ref().unwrap()),
        expected_client_struct()
    );
    assert_eq!(r.downstream_peer_id.as_deref(), Some(CLIENT_ID.as_bytes()));
    assert_eq!(r.client.header(MD), Some(SERVER_MD_B64));
    assert_eq!(r.client.header(MD_ID), Some(SERVER_ID));
    assert_eq!(server.metric("metadata_exchange.untrusted_peers"), Some(0));
}

#[test]
fn by_default_any_peer_is_believed_as_in_istio() {
    let (r, server) = inbound(server_builder(json!({})), CLIENT_MD_B64);
    assert_trusted(&r, &server);
}

#[test]
fn trust_mtls_drops_a_peer_on_a_plaintext_connection() {
    let b = downstream_tls(server_builder(json!({"trust_peers": "mtls"})), false, None);
    let (r, server) = inbound(b, CLIENT_MD_B64);
    assert_untrusted(&r, &server, "the connection is not mTLS");
}

#[test]
fn trust_mtls_believes_a_peer_on_an_mtls_connection() {
    let b = downstream_tls(server_builder(json!({"trust_peers": "mtls"})), true, None);
    let (r, server) = inbound(b, CLIENT_MD_B64);
    assert_trusted(&r, &server);
}

#[test]
fn trust_mtls_identity_believes_claims_that_match_the_certificate() {
    let config = json!({"trust_peers": "mtls_identity"});
    // The client claims NAMESPACE default; its certificate says ns/default.
    let b = downstream_tls(server_builder(config.clone()), true, Some(CLIENT_SAN));
    let (r, server) = inbound(b, CLIENT_MD_B64);
    assert_trusted(&r, &server);

    // An exact IDENTITY claim with a service account, as newer proxies send.
    let mut md = expected_client_struct();
    md.insert("IDENTITY", string(CLIENT_SAN));
    md.insert("SERVICE_ACCOUNT", string("client"));
    let b = downstream_tls(server_builder(config), true, Some(CLIENT_SAN));
    let (r, _) = inbound(b, &header::encode(&md));
    assert_eq!(peer(&r.downstream_peer.unwrap()), md);
}

#[test]
fn trust_mtls_identity_drops_claims_the_certificate_does_not_back() {
    let config = json!({"trust_peers": "mtls_identity"});
    let cases: Vec<(bool, Option<&str>, Struct, &str)> = vec![
        (
            false,
            Some(CLIENT_SAN),
            expected_client_struct(),
            "the connection is not mTLS",
        ),
        (
            true,
            None,
            expected_client_struct(),
            "the peer certificate has no URI SAN",
        ),
        (
            true,
            Some("spiffe://cluster.local/ns/other/sa/client"),
            expected_client_struct(),
            "claimed NAMESPACE does not match the peer certificate",
        ),
        (
            true,
            Some(CLIENT_SAN),
            {
                let mut md = expected_client_struct();
                md.insert(
                    "IDENTITY",
                    string("spiffe://cluster.local/ns/default/sa/admin"),
                );
                md
            },
            "claimed IDENTITY does not match the peer certificate",
        ),
        (
            true,
            Some(CLIENT_SAN),
            {
                let mut md = expected_client_struct();
                md.insert("SERVICE_ACCOUNT", string("admin"));
                md
            },
            "claimed SERVICE_ACCOUNT does not match the peer certificate",
        ),
        (
            true,
            Some(CLIENT_SAN),
            {
                // A claim that is not a string cannot be checked.
                let mut md = expected_client_struct();
                md.insert("NAMESPACE", Value::Bool(true));
                md
            },
            "claimed NAMESPACE does not match the peer certificate",
        ),
        (
            true,
            Some(CLIENT_SAN),
            {
                let mut md = Struct::new();
                md.insert("NAME", string("client-5c8d7f6b9-abcde"));
                md
            },
            "the peer claims no IDENTITY, NAMESPACE or SERVICE_ACCOUNT",
        ),
    ];
    for (mtls, san, md, reason) in cases {
        let b = downstream_tls(server_builder(config.clone()), mtls, san);
        let (r, server) = inbound(b, &header::encode(&md));
        assert_untrusted(&r, &server, reason);
    }
}

#[test]
fn an_untrusted_peer_id_alone_is_not_stored() {
    let b = downstream_tls(server_builder(json!({"trust_peers": "mtls"})), false, None);
    let mut server = start(b);
    let r = run(&mut server, &[(MD_ID, CLIENT_ID)], &[]);
    assert_eq!(r.downstream_peer_id, None);
    assert_eq!(r.client.header(MD_ID), None);
    assert_eq!(server.metric("metadata_exchange.untrusted_peers"), Some(1));
}

/// The client's outbound sidecar: Envoy has no `upstream.mtls`, so the upstream is believed
/// when it presented a certificate (`upstream.sha256_peer_certificate_digest`), and with
/// `mtls_identity` when its claims match `upstream.uri_san_peer_certificate`.
#[test]
fn the_upstream_peer_is_checked_against_the_upstream_connection() {
    let response = [(MD, SERVER_MD_B64), (MD_ID, SERVER_ID)];
    let mut client = start(client_builder(json!({"trust_peers": "mtls"})));
    let r = run(&mut client, &[], &response);
    assert_eq!(r.upstream_peer, None);
    assert_eq!(r.upstream_peer_id, None);
    assert_eq!(r.client.header(MD), None);
    assert!(client
        .logs_at(Level::Debug)
        .contains(&"upstream peer not trusted: the upstream presented no certificate"));

    let digest = ["upstream", "sha256_peer_certificate_digest"];
    let mut client =
        start(client_builder(json!({"trust_peers": "mtls"})).property(&digest, "9f86d081884c7d65"));
    let r = run(&mut client, &[], &response);
    assert_eq!(peer(&r.upstream_peer.unwrap()), expected_server_struct());
    assert_eq!(r.upstream_peer_id.as_deref(), Some(SERVER_ID.as_bytes()));

    let san = ["upstream", "uri_san_peer_certificate"];
    for (cert, stored) in [
        (SERVER_SAN, true),
        ("spiffe://cluster.local/ns/evil/sa/echo", false),
    ] {
        let mut client = start(
            client_builder(json!({"trust_peers": "mtls_identity"}))
                .property(&digest, "9f86d081884c7d65")
                .property(&san, cert),
        );
        let r = run(&mut client, &[], &response);
        assert_eq!(r.upstream_peer.is_some(), stored, "{cert}");
        assert_eq!(r.upstream_peer_id.is_some(), stored, "{cert}");
    }
}

#[test]
fn a_bad_trust_setting_is_rejected_naming_the_field() {
    for (config, expected) in [
        (
            json!({"trust_peers": "maybe"}),
            "invalid configuration: field `trust_peers`: unknown variant, expected one of `any`, `mtls`, `mtls_identity`",
        ),
        (
            json!({"send_to": "everyone"}),
            "invalid configuration: field `send_to`: unknown variant, expected `mesh` or `all`",
        ),
    ] {
        match server_builder(config).start() {
            Err(harness::Error::ConfigRejected { logs }) => assert!(
                logs.iter().any(|l| l.level == Level::Error
                    && l.message.starts_with(expected)
                    && !l.message.contains("maybe")
                    && !l.message.contains("everyone")),
                "{logs:#?}"
            ),
            Err(e) => panic!("unexpected error {e:?}"),
            Ok(_) => panic!("configuration accepted"),
        }
    }
}

// ---- send_to: own metadata only for mesh peers ----

/// What the upstream of the client's outbound sidecar receives.
fn sent_upstream(builder: PluginBuilder) -> (Option<String>, Option<String>, harness::Plugin) {
    let mut client = start(builder);
    let r = run(&mut client, &[(MD, CLIENT_MD_B64), (MD_ID, CLIENT_ID)], &[]);
    let md = r.upstream.header(MD).map(str::to_owned);
    let id = r.upstream.header(MD_ID).map(str::to_owned);
    (md, id, client)
}

const CLUSTER_NAME: [&str; 2] = ["xds", "cluster_name"];
const EXTERNAL: [&str; 5] = [
    "xds",
    "cluster_metadata",
    "filter_metadata",
    "istio",
    "external",
];
const DISABLE_MX: [&str; 5] = [
    "xds",
    "cluster_metadata",
    "filter_metadata",
    "istio",
    "disable_mx",
];

#[test]
fn own_metadata_is_not_sent_outside_the_mesh() {
    for (name, builder) in [
        (
            "passthrough",
            client_builder(json!({})).property(&CLUSTER_NAME, "PassthroughCluster"),
        ),
        (
            "external",
            client_builder(json!({})).property(&EXTERNAL, [1]),
        ),
        (
            "disable_mx",
            client_builder(json!({})).property(&DISABLE_MX, [1]),
        ),
        // Envoy < 1.33: the same facts under the legacy top-level names.
        (
            "legacy external",
            client_builder(json!({}))
                .legacy_properties_only(true)
                .property(&EXTERNAL[1..], [1]),
        ),
    ] {
        let (md, id, client) = sent_upstream(builder);
        // Nothing of ours, and nothing the local app tried to send either.
        assert_eq!(md, None, "{name}");
        assert_eq!(id, None, "{name}");
        assert_eq!(
            client.metric("metadata_exchange.headers_added"),
            Some(0),
            "{name}"
        );
        assert!(client
            .logs_at(Level::Debug)
            .iter()
            .any(|l| l
                .starts_with("own metadata not sent: the upstream cluster is outside the mesh")));
    }
}

#[test]
fn own_metadata_is_sent_to_mesh_clusters_byte_for_byte() {
    for builder in [
        client_builder(json!({})),
        client_builder(json!({"send_to": "mesh"})).property(&EXTERNAL, [0]),
        client_builder(json!({}))
            .property(&CLUSTER_NAME, "outbound|80||echo.default.svc.cluster.local"),
    ] {
        let (md, id, _) = sent_upstream(builder);
        assert_eq!(md.as_deref(), Some(CLIENT_MD_B64));
        assert_eq!(id.as_deref(), Some(CLIENT_ID));
    }
}

#[test]
fn send_to_all_sends_to_every_upstream_like_istio_by_default() {
    for builder in [
        client_builder(json!({"send_to": "all"})).property(&CLUSTER_NAME, "PassthroughCluster"),
        client_builder(json!({"send_to": "all"})).property(&EXTERNAL, [1]),
    ] {
        let (md, id, _) = sent_upstream(builder);
        assert_eq!(md.as_deref(), Some(CLIENT_MD_B64));
        assert_eq!(id.as_deref(), Some(CLIENT_ID));
    }
}
