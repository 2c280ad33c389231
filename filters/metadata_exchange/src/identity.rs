//! This proxy's own identity: the node id and the exchange Struct built from the node metadata,
//! with the keys Istio sends (see istio/proxy `convertWorkloadMetadataToStruct`).
//!
//! Each key is read on its own (`xds.node.metadata.NAME`, ...): Envoy resolves sub-paths into
//! the metadata Struct and returns a string value raw, so a missing or odd key elsewhere in the
//! metadata cannot spoil the others.

use crate::structpb::{Struct, Value};

/// String keys copied from the node metadata, in the order Istio documents them.
pub const STRING_KEYS: [&str; 8] = [
    "NAME",
    "NAMESPACE",
    "WORKLOAD_NAME",
    "CLUSTER_ID",
    "IDENTITY",
    "OWNER",
    "REGION",
    "AVAILABILITY_ZONE",
];

pub const LABELS: &str = "LABELS";

/// Labels always exchanged when present.
pub const STANDARD_LABELS: [&str; 4] = [
    "app",
    "version",
    "service.istio.io/canonical-name",
    "service.istio.io/canonical-revision",
];

/// Reads a node property (a path below `node`, e.g. `["metadata", "NAME"]`); the filter passes
/// a reader that tries `xds.node.*` first and the legacy `node.*` second.
pub type NodeReader<'a> = &'a dyn Fn(&[&str]) -> Option<Vec<u8>>;

/// The exchange Struct for this proxy. Empty when the node has none of the keys (no header is
/// sent then). `LABELS` is always present otherwise, as Istio always writes it.
pub fn own_metadata(read: NodeReader<'_>, additional_labels: &[String]) -> Struct {
    let mut out = Struct::new();
    for key in STRING_KEYS {
        let value = read_string(read, &["metadata", key]).or_else(|| match key {
            // Istio keeps region and zone in the node's locality rather than its metadata.
            "REGION" => read_string(read, &["locality", "region"]),
            "AVAILABILITY_ZONE" => read_string(read, &["locality", "zone"]),
            _ => None,
        });
        if let Some(value) = value {
            out.insert(key, Value::String(value));
        }
    }
    let mut labels = Struct::new();
    let extra = additional_labels.iter().map(String::as_str);
    for label in STANDARD_LABELS.into_iter().chain(extra) {
        if let Some(value) = read_string(read, &["metadata", LABELS, label]) {
            labels.insert(label, Value::String(value));
        }
    }
    if !out.is_empty() || !labels.is_empty() {
        out.insert(LABELS, Value::Struct(labels));
    }
    out
}

/// The node id, if the host knows it.
pub fn node_id(read: NodeReader<'_>) -> Option<String> {
    read_string(read, &["id"])
}

/// A non-empty UTF-8 string property; anything else is treated as absent.
fn read_string(read: NodeReader<'_>, path: &[&str]) -> Option<String> {
    let bytes = read(path)?;
    match String::from_utf8(bytes) {
        Ok(s) if !s.is_empty() => Some(s),
        Ok(_) => None,
        Err(_) => {
            log::debug!(
                "node property {} is not a UTF-8 string, ignored",
                path.join(".")
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn reader(pairs: &[(&str, &str)]) -> impl Fn(&[&str]) -> Option<Vec<u8>> {
        let map: HashMap<String, Vec<u8>> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
            .collect();
        move |path: &[&str]| map.get(&path.join(".")).cloned()
    }

    #[test]
    fn builds_istio_keys_and_labels() {
        let read = reader(&[
            (
                "id",
                "sidecar~10.0.0.1~app-1.default~default.svc.cluster.local",
            ),
            ("metadata.NAME", "app-1"),
            ("metadata.NAMESPACE", "default"),
            ("metadata.WORKLOAD_NAME", "app"),
            ("metadata.CLUSTER_ID", "Kubernetes"),
            (
                "metadata.OWNER",
                "kubernetes://apis/apps/v1/namespaces/default/deployments/app",
            ),
            ("metadata.MESH_ID", "cluster.local"),
            ("metadata.LABELS.app", "app"),
            ("metadata.LABELS.version", "v1"),
            ("metadata.LABELS.service.istio.io/canonical-name", "app"),
            ("metadata.LABELS.pod-template-hash", "5d9f"),
            ("metadata.LABELS.team", "blue"),
            ("locality.region", "eu-west1"),
            ("locality.zone", "eu-west1-b"),
        ]);
        let md = own_metadata(&read, &["team".to_string()]);
        let keys: Vec<&str> = md.keys().collect();
        // MESH_ID and unlisted labels are not exchanged; region and zone come from locality.
        assert_eq!(
            keys,
            [
                "AVAILABILITY_ZONE",
                "CLUSTER_ID",
                "LABELS",
                "NAME",
                "NAMESPACE",
                "OWNER",
                "REGION",
                "WORKLOAD_NAME"
            ]
        );
        assert_eq!(md.get_str("AVAILABILITY_ZONE"), Some("eu-west1-b"));
        let labels = md.get_struct("LABELS").unwrap();
        let label_keys: Vec<&str> = labels.keys().collect();
        assert_eq!(
            label_keys,
            ["app", "service.istio.io/canonical-name", "team", "version"]
        );
        assert_eq!(labels.get_str("team"), Some("blue"));
        assert_eq!(
            node_id(&read).as_deref(),
            Some("sidecar~10.0.0.1~app-1.default~default.svc.cluster.local")
        );
    }

    #[test]
    fn metadata_keys_win_over_locality() {
        let read = reader(&[("metadata.REGION", "r-md"), ("locality.region", "r-loc")]);
        let md = own_metadata(&read, &[]);
        assert_eq!(md.get_str("REGION"), Some("r-md"));
        assert_eq!(md.get_struct("LABELS"), Some(&Struct::new()));
    }

    #[test]
    fn nothing_known_gives_an_empty_struct() {
        let read = reader(&[("metadata.NAME", "")]);
        assert!(own_metadata(&read, &[]).is_empty());
        assert_eq!(node_id(&read), None);
    }

    #[test]
    fn non_utf8_values_are_skipped() {
        let read = |path: &[&str]| match path.join(".").as_str() {
            "metadata.NAME" => Some(vec![0xff, 0xfe]),
            "metadata.NAMESPACE" => Some(b"ns".to_vec()),
            _ => None,
        };
        let md = own_metadata(&read, &[]);
        assert_eq!(md.get("NAME"), None);
        assert_eq!(md.get_str("NAMESPACE"), Some("ns"));
    }
}
