//! metadata_exchange in two real Envoys: the client's sidecar (outbound) and the server's
//! sidecar (inbound) from deploy/metadata_exchange/envoy-{client,server}.yaml, each learning
//! the other's identity. Run by scripts/test.d/20-envoy.sh (needs Envoy).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{echo_upstream, Echoed};
use envoy_e2e::{ecds, Envoy, EnvoyBuilder, TempDir};
use serde_json::{json, Value};
use std::path::Path;
use std::process::Command;
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

/// An outbound sidecar whose routes lead to three clusters as istiod would build them (all to
/// the echo upstream): a mesh service, a `MESH_EXTERNAL` ServiceEntry (cluster metadata
/// `istio.external: true`) and `PassthroughCluster`. The filter reads `xds.cluster_name` and
/// `xds.cluster_metadata` while the request headers are processed.
fn outbound_with_istio_clusters(upstream: u16) -> String {
    let wasm = ecds::wasm_filter(
        "metadata_exchange",
        Path::new("{{MODULE}}"),
        "@@CONFIG@@",
        false,
    );
    let cluster = |name: &str, metadata: serde_json::Value| {
        json!({
            "name": name,
            "connect_timeout": "1s",
            "type": "STATIC",
            "metadata": metadata,
            "load_assignment": {"cluster_name": name, "endpoints": [{"lb_endpoints": [{"endpoint":
                {"address": {"socket_address": {"address": "127.0.0.1", "port_value": upstream}}}}]}]},
        })
    };
    let route = |prefix: &str, cluster: &str| json!({"match": {"prefix": prefix}, "route": {"cluster": cluster}});
    json!({
        "node": {"id": CLIENT_ID, "cluster": "client.default", "metadata": {
            "NAME": "client-5c8d7f6b9-abcde", "NAMESPACE": "default", "WORKLOAD_NAME": "client",
            "LABELS": {"app": "client", "version": "v1"}}},
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}}},
        "static_resources": {
            "listeners": [{
                "name": "outbound",
                "traffic_direction": "OUTBOUND",
                "address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}},
                "filter_chains": [{"filters": [{
                    "name": "envoy.filters.network.http_connection_manager",
                    "typed_config": {
                        "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                        "stat_prefix": "outbound",
                        "route_config": {"virtual_hosts": [{"name": "all", "domains": ["*"], "routes": [
                            route("/mesh", "outbound|80||echo.default.svc.cluster.local"),
                            route("/external", "outbound|443||api.example.com"),
                            route("/passthrough", "PassthroughCluster"),
                        ]}]},
                        "http_filters": [
                            {"name": "metadata_exchange", "typed_config": wasm},
                            {"name": "envoy.filters.http.router", "typed_config": {
                                "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}},
                        ],
                    },
                }]}],
            }],
            "clusters": [
                cluster("outbound|80||echo.default.svc.cluster.local", json!({})),
                cluster("outbound|443||api.example.com",
                        json!({"filter_metadata": {"istio": {"external": true}}})),
                cluster("PassthroughCluster", json!({})),
            ],
        },
    })
    .to_string()
    .replace("\"@@CONFIG@@\"", "{{CONFIG_JSON}}")
}

/// What the upstream behind `path` received of our exchange headers.
fn sent_to(envoy: &Envoy, path: &str) -> (Option<String>, Option<String>) {
    let resp = envoy.get(path, &[]).unwrap();
    assert_eq!(resp.status, 200, "{path}");
    let seen = Echoed::from(&resp);
    (
        seen.header("x-envoy-peer-metadata").map(str::to_owned),
        seen.header("x-envoy-peer-metadata-id").map(str::to_owned),
    )
}

#[test]
#[ignore = "needs Envoy: scripts/test.d/20-envoy.sh"]
fn own_metadata_goes_only_to_mesh_clusters_unless_send_to_all() {
    let upstream = echo_upstream();
    let mesh_only = EnvoyBuilder::new("metadata_exchange")
        .bootstrap(outbound_with_istio_clusters(upstream.port()))
        .config("{}")
        .component_log_level("wasm:debug")
        .start()
        .unwrap();
    let (md, id) = sent_to(&mesh_only, "/mesh");
    assert!(md.is_some_and(|v| !v.is_empty()), "{}", mesh_only.log());
    assert_eq!(id.as_deref(), Some(CLIENT_ID));
    for path in ["/external", "/passthrough"] {
        assert_eq!(sent_to(&mesh_only, path), (None, None), "{path}");
    }
    assert!(mesh_only
        .wait_for_log(
            "own metadata not sent: the upstream cluster is outside the mesh (cluster metadata istio.external)",
            Duration::from_secs(5)
        )
        .is_some());
    assert!(mesh_only
        .wait_for_log(
            "own metadata not sent: the upstream cluster is outside the mesh (PassthroughCluster)",
            Duration::from_secs(5)
        )
        .is_some());
    assert_eq!(
        mesh_only.stat("wasmcustom.metadata_exchange.headers_added"),
        Some(1)
    );

    let everyone = EnvoyBuilder::new("metadata_exchange")
        .bootstrap(outbound_with_istio_clusters(upstream.port()))
        .config(r#"{"send_to": "all"}"#)
        .start()
        .unwrap();
    for path in ["/mesh", "/external", "/passthrough"] {
        let (md, id) = sent_to(&everyone, path);
        assert!(md.is_some(), "{path}");
        assert_eq!(id.as_deref(), Some(CLIENT_ID), "{path}");
    }
}

// ---- trust_peers over a real mTLS connection ----

const CLIENT_SAN: &str = "spiffe://cluster.local/ns/default/sa/client";

/// A CA and a client certificate whose URI SAN is `CLIENT_SAN`, plus a server certificate,
/// made with the openssl CLI in `dir`.
fn make_certs(dir: &Path) {
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap_or_else(|e| panic!("this test needs the openssl CLI: {e}"));
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    openssl(
        &[
            &["req", "-x509"],
            &ec[..],
            &[
                "-keyout",
                "ca.key",
                "-out",
                "ca.crt",
                "-subj",
                "/CN=e2e-ca",
                "-days",
                "1",
            ],
        ]
        .concat(),
    );
    for (name, san) in [
        ("client", CLIENT_SAN),
        ("server", "spiffe://cluster.local/ns/default/sa/echo"),
    ] {
        std::fs::write(
            dir.join(format!("{name}.ext")),
            format!("subjectAltName=URI:{san}\n"),
        )
        .unwrap();
        openssl(
            &[
                &["req"],
                &ec[..],
                &[
                    "-keyout",
                    &format!("{name}.key"),
                    "-out",
                    &format!("{name}.csr"),
                    "-subj",
                    "/O=e2e",
                ],
            ]
            .concat(),
        );
        openssl(&[
            "x509",
            "-req",
            "-in",
            &format!("{name}.csr"),
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            &format!("{name}.crt"),
            "-days",
            "1",
            "-extfile",
            &format!("{name}.ext"),
        ]);
    }
}

fn file(dir: &Path, name: &str) -> Value {
    json!({"filename": dir.join(name).display().to_string()})
}

fn hcm(routes_to: &str, filters: Vec<Value>) -> Value {
    let mut http_filters = filters;
    http_filters.push(
        json!({"name": "envoy.filters.http.router", "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}),
    );
    json!({
        "name": "envoy.filters.network.http_connection_manager",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
            "stat_prefix": "e2e",
            "route_config": {"virtual_hosts": [{"name": "all", "domains": ["*"], "routes": [
                {"match": {"prefix": "/"}, "route": {"cluster": routes_to}}]}]},
            "http_filters": http_filters,
        },
    })
}

fn static_cluster(name: &str, port: u16, transport_socket: Option<Value>) -> Value {
    let mut c = json!({
        "name": name, "connect_timeout": "1s", "type": "STATIC",
        "load_assignment": {"cluster_name": name, "endpoints": [{"lb_endpoints": [{"endpoint":
            {"address": {"socket_address": {"address": "127.0.0.1", "port_value": port}}}}]}]},
    });
    if let Some(ts) = transport_socket {
        c["transport_socket"] = ts;
    }
    c
}

/// The server's inbound sidecar: a TLS listener (a client certificate, required or optional,
/// is checked against the CA) running metadata_exchange, in front of the echo upstream.
fn mtls_server(
    certs: &Path,
    upstream: u16,
    config: &str,
    require_client_cert: bool,
    namespace: &str,
) -> Envoy {
    let wasm = ecds::wasm_filter(
        "metadata_exchange",
        Path::new("{{MODULE}}"),
        "@@CONFIG@@",
        false,
    );
    let bootstrap = json!({
        "node": {"id": SERVER_ID, "cluster": "echo.default", "metadata": {
            "NAME": "echo-7d4b9c6f8-xyz12", "NAMESPACE": namespace, "WORKLOAD_NAME": "echo"}},
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}}},
        "static_resources": {
            "listeners": [{
                "name": "inbound",
                "traffic_direction": "INBOUND",
                "address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}},
                "filter_chains": [{
                    "filters": [hcm("app", vec![json!({"name": "metadata_exchange", "typed_config": wasm})])],
                    "transport_socket": {"name": "envoy.transport_sockets.tls", "typed_config": {
                        "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
                        "require_client_certificate": require_client_cert,
                        "common_tls_context": {
                            "tls_certificates": [{"certificate_chain": file(certs, "server.crt"),
                                                  "private_key": file(certs, "server.key")}],
                            "validation_context": {"trusted_ca": file(certs, "ca.crt")},
                        },
                    }},
                }],
            }],
            "clusters": [static_cluster("app", upstream, None)],
        },
    })
    .to_string()
    .replace("\"@@CONFIG@@\"", "{{CONFIG_JSON}}");
    EnvoyBuilder::new("metadata_exchange")
        .bootstrap(bootstrap)
        .config(config)
        .component_log_level("wasm:debug")
        .start()
        .unwrap()
}

/// An Envoy that forwards to `server_port` over TLS, presenting the client certificate when
/// `present_cert`. With `filter_config` it is the client's outbound sidecar running
/// metadata_exchange; without, a plain proxy that passes the caller's headers unchanged.
fn tls_client(
    certs: &Path,
    server_port: u16,
    present_cert: bool,
    filter_config: Option<&str>,
) -> Envoy {
    let mut tls = json!({"@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext"});
    if present_cert {
        tls["common_tls_context"] = json!({"tls_certificates": [{
            "certificate_chain": file(certs, "client.crt"), "private_key": file(certs, "client.key")}]});
    }
    let ts = json!({"name": "envoy.transport_sockets.tls", "typed_config": tls});
    let filters = match filter_config {
        Some(_) => vec![
            json!({"name": "metadata_exchange", "typed_config": ecds::wasm_filter(
            "metadata_exchange", Path::new("{{MODULE}}"), "@@CONFIG@@", false)}),
        ],
        None => vec![],
    };
    let bootstrap = json!({
        "node": {"id": CLIENT_ID, "cluster": "client.default", "metadata": {
            "NAME": "client-5c8d7f6b9-abcde", "NAMESPACE": "default", "WORKLOAD_NAME": "client"}},
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}}},
        "static_resources": {
            "listeners": [{
                "name": "outbound",
                "traffic_direction": "OUTBOUND",
                "address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}},
                "filter_chains": [{"filters": [hcm("server", filters)]}],
            }],
            "clusters": [static_cluster("server", server_port, Some(ts))],
        },
    })
    .to_string()
    .replace("\"@@CONFIG@@\"", "{{CONFIG_JSON}}");
    EnvoyBuilder::new("metadata_exchange")
        .bootstrap(bootstrap)
        .config(filter_config.unwrap_or("{}"))
        .component_log_level("wasm:debug")
        .start()
        .unwrap()
}

/// `x-envoy-peer-metadata` values claiming only a NAMESPACE: base64 of the serialized Struct
/// `{NAMESPACE: "default"}` and `{NAMESPACE: "kube-system"}` (computed with Python's
/// base64 module from the bytes 0a len 0a 09 "NAMESPACE" 12 len 1a len <namespace>).
const CLAIM_DEFAULT: &str = "ChYKCU5BTUVTUEFDRRIJGgdkZWZhdWx0";
const CLAIM_KUBE_SYSTEM: &str = "ChoKCU5BTUVTUEFDRRINGgtrdWJlLXN5c3RlbQ==";

#[test]
#[ignore = "needs Envoy: scripts/test.d/20-envoy.sh"]
fn trust_mtls_identity_checks_claims_against_the_client_certificate() {
    let certs = TempDir::new("mx-certs").unwrap();
    make_certs(certs.path());
    let upstream = echo_upstream();
    let server = mtls_server(
        certs.path(),
        upstream.port(),
        r#"{"trust_peers": "mtls_identity"}"#,
        true,
        "default",
    );
    let client = tls_client(certs.path(), server.addr().port(), true, None);

    // The certificate says ns/default: a claim of NAMESPACE default is believed and answered.
    let resp = client
        .get(
            "/",
            &[
                ("x-envoy-peer-metadata", CLAIM_DEFAULT),
                ("x-envoy-peer-metadata-id", CLIENT_ID),
            ],
        )
        .unwrap();
    assert_eq!(resp.status, 200, "{}", server.log());
    assert_eq!(
        resp.get("x-envoy-peer-metadata-id"),
        Some(SERVER_ID),
        "{}",
        server.log()
    );
    assert!(
        server
            .wait_for_log(
                &format!("downstream peer: id={CLIENT_ID} name=- namespace=default"),
                Duration::from_secs(5)
            )
            .is_some(),
        "{}",
        server.log()
    );

    // The same certificate cannot vouch for kube-system: dropped, unanswered, counted.
    let resp = client
        .get(
            "/",
            &[
                ("x-envoy-peer-metadata", CLAIM_KUBE_SYSTEM),
                ("x-envoy-peer-metadata-id", CLIENT_ID),
            ],
        )
        .unwrap();
    assert_eq!(resp.status, 200);
    assert_eq!(resp.get("x-envoy-peer-metadata-id"), None);
    assert_eq!(resp.get("x-envoy-peer-metadata"), None);
    assert!(server
        .wait_for_log("downstream peer not trusted: claimed NAMESPACE does not match the peer certificate", Duration::from_secs(5))
        .is_some(), "{}", server.log());
    assert_eq!(
        server.stat("wasmcustom.metadata_exchange.untrusted_peers"),
        Some(1)
    );
    assert_eq!(
        server.stat("wasmcustom.metadata_exchange.peers_decoded"),
        Some(1)
    );
}

#[test]
#[ignore = "needs Envoy: scripts/test.d/20-envoy.sh"]
fn trust_mtls_drops_a_peer_that_presents_no_client_certificate() {
    let certs = TempDir::new("mx-certs").unwrap();
    make_certs(certs.path());
    let upstream = echo_upstream();
    // The client certificate is optional: TLS without one leaves `connection.mtls` false.
    let server = mtls_server(
        certs.path(),
        upstream.port(),
        r#"{"trust_peers": "mtls"}"#,
        false,
        "default",
    );
    let headers = [
        ("x-envoy-peer-metadata", CLAIM_DEFAULT),
        ("x-envoy-peer-metadata-id", CLIENT_ID),
    ];

    let anonymous = tls_client(certs.path(), server.addr().port(), false, None);
    let resp = anonymous.get("/", &headers).unwrap();
    assert_eq!(resp.status, 200, "{}", server.log());
    assert_eq!(resp.get("x-envoy-peer-metadata-id"), None);
    assert!(
        server
            .wait_for_log(
                "downstream peer not trusted: the connection is not mTLS",
                Duration::from_secs(5)
            )
            .is_some(),
        "{}",
        server.log()
    );
    assert_eq!(
        server.stat("wasmcustom.metadata_exchange.untrusted_peers"),
        Some(1)
    );
    assert_eq!(
        server.stat("wasmcustom.metadata_exchange.peers_decoded"),
        Some(0)
    );

    // With its certificate the same client is believed and answered.
    let mutual = tls_client(certs.path(), server.addr().port(), true, None);
    let resp = mutual.get("/", &headers).unwrap();
    assert_eq!(
        resp.get("x-envoy-peer-metadata-id"),
        Some(SERVER_ID),
        "{}",
        server.log()
    );
    assert_eq!(
        server.stat("wasmcustom.metadata_exchange.peers_decoded"),
        Some(1)
    );
    assert_eq!(
        server.stat("wasmcustom.metadata_exchange.untrusted_peers"),
        Some(1)
    );
}

/// The client's outbound sidecar checks the server's answer against the upstream connection:
/// `upstream.sha256_peer_certificate_digest` (a server certificate) and, with
/// `mtls_identity`, its URI SAN `spiffe://cluster.local/ns/default/sa/echo`.
#[test]
#[ignore = "needs Envoy: scripts/test.d/20-envoy.sh"]
fn the_upstream_answer_is_checked_against_the_server_certificate() {
    let certs = TempDir::new("mx-certs").unwrap();
    make_certs(certs.path());
    let upstream = echo_upstream();
    for (namespace, believed) in [("default", true), ("kube-system", false)] {
        let server = mtls_server(certs.path(), upstream.port(), "{}", true, namespace);
        let client = tls_client(
            certs.path(),
            server.addr().port(),
            true,
            Some(r#"{"trust_peers": "mtls_identity"}"#),
        );
        let resp = client.get("/", &[]).unwrap();
        assert_eq!(resp.status, 200, "{}", client.log());
        // The server believed the client (trust `any`) and answered.
        assert!(
            server
                .wait_for_log(
                    &format!("downstream peer: id={CLIENT_ID} "),
                    Duration::from_secs(5)
                )
                .is_some(),
            "{}",
            server.log()
        );
        let expected = if believed {
            format!("upstream peer: id={SERVER_ID} name=echo-7d4b9c6f8-xyz12 namespace=default")
        } else {
            "upstream peer not trusted: claimed NAMESPACE does not match the peer certificate"
                .to_string()
        };
        assert!(
            client
                .wait_for_log(&expected, Duration::from_secs(5))
                .is_some(),
            "{namespace}: {}",
            client.log()
        );
        assert_eq!(
            client.stat("wasmcustom.metadata_exchange.untrusted_peers"),
            Some(u64::from(!believed)),
            "{namespace}"
        );
    }
}
