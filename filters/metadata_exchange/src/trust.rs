//! Whom to believe and whom to tell.
//!
//! The exchange headers are only claims: on a plain-text connection any client can send
//! `x-envoy-peer-metadata` naming any workload. `trust_peers` keeps a claim only when the
//! connection is mutual TLS and, with `mtls_identity`, only when the claimed identity is the
//! one in the peer certificate's URI SAN (Istio's `spiffe://<trust domain>/ns/<ns>/sa/<sa>`).
//!
//! `send_to: mesh` keeps our own metadata from upstreams outside the mesh, deciding as
//! Istio's peer_metadata filter does in its `IN_MESH` mode (istio/proxy
//! source/extensions/filters/http/peer_metadata/filter.cc:455-487, `skipMXHeaders`, at 9ba5437,
//! the last commit before the filter moved to envoyproxy/envoy): the upstream cluster is
//! `PassthroughCluster`, or its metadata has `istio.external: true` (istiod sets it for
//! `MESH_EXTERNAL` ServiceEntries: istio/istio pilot/pkg/networking/core/cluster_builder.go:395-408
//! at 86c9f01) or `istio.disable_mx: true`.

use crate::structpb::{Struct, Value};
use std::fmt;

/// Why a peer's claim was not believed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Untrusted {
    /// `connection.mtls` is not true on the downstream connection.
    NotMtls,
    /// The upstream connection carries no server certificate.
    NoUpstreamCertificate,
    /// `mtls_identity`: the certificate has no URI SAN to compare with.
    NoSan,
    /// `mtls_identity`: the peer claims none of the keys a certificate can back.
    NoClaim,
    /// `mtls_identity`: this claimed key disagrees with the certificate.
    Mismatch(&'static str),
}

impl fmt::Display for Untrusted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Untrusted::NotMtls => write!(f, "the connection is not mTLS"),
            Untrusted::NoUpstreamCertificate => write!(f, "the upstream presented no certificate"),
            Untrusted::NoSan => write!(f, "the peer certificate has no URI SAN"),
            Untrusted::NoClaim => {
                write!(
                    f,
                    "the peer claims no IDENTITY, NAMESPACE or SERVICE_ACCOUNT"
                )
            }
            Untrusted::Mismatch(key) => {
                write!(f, "claimed {key} does not match the peer certificate")
            }
        }
    }
}

/// Checks a peer's claims against its certificate's first URI SAN. Every identity claim the
/// peer makes must agree, and it must make at least one:
/// - `IDENTITY` (newer proxies): equal to the SAN;
/// - `NAMESPACE`, `SERVICE_ACCOUNT`: equal to the `ns` and `sa` of an Istio SPIFFE SAN.
///
/// Other keys (NAME, WORKLOAD_NAME, LABELS, ...) cannot be checked against a certificate:
/// they are believed once the identity is.
pub fn check_identity(claims: &Struct, san: Option<&str>) -> Result<(), Untrusted> {
    let san = san.filter(|s| !s.is_empty()).ok_or(Untrusted::NoSan)?;
    let spiffe = spiffe_ns_sa(san);
    let checks: [(&'static str, Option<&str>); 3] = [
        ("IDENTITY", Some(san)),
        ("NAMESPACE", spiffe.map(|(ns, _)| ns)),
        ("SERVICE_ACCOUNT", spiffe.map(|(_, sa)| sa)),
    ];
    let mut claimed = false;
    for (key, certified) in checks {
        let Some(value) = claims.get(key) else {
            continue;
        };
        claimed = true;
        // A claim that is not a string, or that the SAN cannot express, is not backed.
        match (value, certified) {
            (Value::String(v), Some(c)) if v == c => {}
            _ => return Err(Untrusted::Mismatch(key)),
        }
    }
    if claimed {
        Ok(())
    } else {
        Err(Untrusted::NoClaim)
    }
}

/// `(namespace, service account)` of an Istio SPIFFE id, `spiffe://<td>/ns/<ns>/sa/<sa>`.
fn spiffe_ns_sa(san: &str) -> Option<(&str, &str)> {
    let mut parts = san.strip_prefix("spiffe://")?.split('/');
    let _trust_domain = parts.next()?;
    match (parts.next()?, parts.next()?, parts.next()?, parts.next()?) {
        ("ns", ns, "sa", sa) if parts.next().is_none() && !ns.is_empty() && !sa.is_empty() => {
            Some((ns, sa))
        }
        _ => None,
    }
}

/// An Envoy boolean attribute (one byte, 1 = true); anything else reads as false.
pub fn is_true(attribute: Option<&[u8]>) -> bool {
    attribute == Some(&[1])
}

/// Why an upstream is outside the mesh (Istio's `skipMXHeaders`), or `None` for a mesh peer.
/// `cluster_name` is the Envoy attribute `xds.cluster_name`; `istio_flag(name)` reads
/// `xds.cluster_metadata.filter_metadata.istio.<name>`, and only when needed.
pub fn outside_mesh(
    cluster_name: Option<&[u8]>,
    istio_flag: impl Fn(&str) -> bool,
) -> Option<&'static str> {
    if cluster_name == Some(b"PassthroughCluster") {
        Some("PassthroughCluster")
    } else if istio_flag("external") {
        Some("cluster metadata istio.external")
    } else if istio_flag("disable_mx") {
        Some("cluster metadata istio.disable_mx")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(pairs: &[(&str, &str)]) -> Struct {
        let mut s = Struct::new();
        for (k, v) in pairs {
            s.insert(*k, Value::String(v.to_string()));
        }
        s
    }

    const SAN: &str = "spiffe://cluster.local/ns/default/sa/client";

    #[test]
    fn parses_istio_spiffe_ids_only() {
        assert_eq!(spiffe_ns_sa(SAN), Some(("default", "client")));
        assert_eq!(spiffe_ns_sa("spiffe://td/ns/a/sa/b/extra"), None);
        assert_eq!(spiffe_ns_sa("spiffe://td/ns//sa/b"), None);
        assert_eq!(spiffe_ns_sa("spiffe://td/sa/b/ns/a"), None);
        assert_eq!(spiffe_ns_sa("https://td/ns/a/sa/b"), None);
        assert_eq!(spiffe_ns_sa("spiffe://td"), None);
    }

    #[test]
    fn every_claim_must_match_the_certificate() {
        let ok = |pairs: &[(&str, &str)]| check_identity(&claims(pairs), Some(SAN));
        assert_eq!(ok(&[("NAMESPACE", "default")]), Ok(()));
        assert_eq!(
            ok(&[("IDENTITY", SAN), ("SERVICE_ACCOUNT", "client")]),
            Ok(())
        );
        assert_eq!(
            ok(&[("NAMESPACE", "default"), ("SERVICE_ACCOUNT", "admin")]),
            Err(Untrusted::Mismatch("SERVICE_ACCOUNT"))
        );
        assert_eq!(
            ok(&[("IDENTITY", "spiffe://cluster.local/ns/default/sa/clien")]),
            Err(Untrusted::Mismatch("IDENTITY"))
        );
        assert_eq!(ok(&[("NAME", "x")]), Err(Untrusted::NoClaim));
        assert_eq!(
            check_identity(&claims(&[("NAMESPACE", "default")]), None),
            Err(Untrusted::NoSan)
        );
        assert_eq!(
            check_identity(&claims(&[("NAMESPACE", "default")]), Some("")),
            Err(Untrusted::NoSan)
        );
        // A non-SPIFFE SAN can back only an exact IDENTITY.
        let other = "urn:example:client";
        assert_eq!(
            check_identity(&claims(&[("IDENTITY", other)]), Some(other)),
            Ok(())
        );
        assert_eq!(
            check_identity(&claims(&[("NAMESPACE", "default")]), Some(other)),
            Err(Untrusted::Mismatch("NAMESPACE"))
        );
    }

    #[test]
    fn mesh_membership_follows_istio() {
        let none = |_: &str| false;
        assert_eq!(outside_mesh(Some(b"outbound|80||a.b"), none), None);
        assert_eq!(outside_mesh(None, none), None);
        // Passthrough is decided without reading cluster metadata.
        let unread = |_: &str| -> bool { unreachable!() };
        assert_eq!(
            outside_mesh(Some(b"PassthroughCluster"), unread),
            Some("PassthroughCluster")
        );
        assert_eq!(
            outside_mesh(Some(b"x"), |f| f == "external"),
            Some("cluster metadata istio.external")
        );
        assert_eq!(
            outside_mesh(Some(b"x"), |f| f == "disable_mx"),
            Some("cluster metadata istio.disable_mx")
        );
        assert!(is_true(Some(&[1])));
        assert!(!is_true(Some(&[0])));
        assert!(!is_true(Some(b"true")));
        assert!(!is_true(None));
    }
}
