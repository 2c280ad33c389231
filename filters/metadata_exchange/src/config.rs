//! Plugin configuration (JSON). Every field is optional; `{}` or no configuration at all gives
//! Istio's behaviour with the default limits.

use crate::header::Limits;
use serde::Deserialize;

pub const DEFAULT_MAX_HEADER_SIZE: usize = 8 * 1024;
pub const DEFAULT_MAX_DEPTH: usize = 8;
/// Envoy's default limit for all request headers together is 60 KiB.
const MAX_HEADER_SIZE_LIMIT: usize = 60 * 1024;
const MAX_DEPTH_LIMIT: usize = 32;

/// Which side of the workload this filter runs on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DirectionSetting {
    /// From the listener (`xds.listener_direction`, legacy `listener_direction`).
    #[default]
    Auto,
    Inbound,
    Outbound,
}

/// Which peers' claims are stored. A claim is only headers: without mTLS anyone can send one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrustPeers {
    /// Every peer, as Istio's own exchange does.
    #[default]
    Any,
    /// Only peers on a mutual-TLS connection (`connection.mtls`; upstream: a server certificate).
    Mtls,
    /// As `Mtls`, and the claimed identity must match the peer certificate's URI SAN.
    MtlsIdentity,
}

/// Which upstreams get our metadata on outbound requests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SendTo {
    /// Mesh upstreams only: not `PassthroughCluster`, not a cluster Istio marks `external`
    /// or `disable_mx` (Istio's `IN_MESH` mode).
    #[default]
    Mesh,
    /// Every upstream (Istio's default).
    All,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub direction: DirectionSetting,
    pub trust_peers: TrustPeers,
    pub send_to: SendTo,
    /// Labels sent in `LABELS` besides `app`, `version` and the canonical name and revision.
    pub additional_labels: Vec<String>,
    /// Largest accepted `x-envoy-peer-metadata` (or `-id`) value, in bytes.
    pub max_header_size: usize,
    /// Deepest accepted nesting of structs and lists in a peer's metadata.
    pub max_nesting_depth: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            direction: DirectionSetting::Auto,
            trust_peers: TrustPeers::Any,
            send_to: SendTo::Mesh,
            additional_labels: Vec::new(),
            max_header_size: DEFAULT_MAX_HEADER_SIZE,
            max_nesting_depth: DEFAULT_MAX_DEPTH,
        }
    }
}

impl Config {
    /// Checks values serde cannot: ranges and label names.
    pub fn validate(&self) -> Result<(), String> {
        if self.max_header_size == 0 || self.max_header_size > MAX_HEADER_SIZE_LIMIT {
            return Err(format!(
                "field `max_header_size`: must be between 1 and {MAX_HEADER_SIZE_LIMIT} bytes, got {}",
                self.max_header_size
            ));
        }
        if self.max_nesting_depth == 0 || self.max_nesting_depth > MAX_DEPTH_LIMIT {
            return Err(format!(
                "field `max_nesting_depth`: must be between 1 and {MAX_DEPTH_LIMIT}, got {}",
                self.max_nesting_depth
            ));
        }
        for (i, label) in self.additional_labels.iter().enumerate() {
            // A NUL would split the property path used to read the label.
            if label.is_empty() || label.contains('\0') {
                return Err(format!(
                    "field `additional_labels[{i}]`: a label name must be non-empty and contain no NUL"
                ));
            }
            if let Some(j) = self.additional_labels[..i].iter().position(|l| l == label) {
                return Err(format!(
                    "field `additional_labels[{i}]`: duplicate of `additional_labels[{j}]`"
                ));
            }
        }
        Ok(())
    }

    pub fn limits(&self) -> Limits {
        Limits {
            max_header_size: self.max_header_size,
            max_depth: self.max_nesting_depth,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use filter_common::config::parse;

    fn parse_ok(json: &str) -> Config {
        let c: Config = parse(json.as_bytes()).unwrap();
        c.validate().unwrap();
        c
    }

    fn error(json: &str) -> String {
        match parse::<Config>(json.as_bytes()) {
            Err(e) => e.to_string(),
            Ok(c) => c.validate().unwrap_err(),
        }
    }

    #[test]
    fn empty_config_is_the_default() {
        assert_eq!(parse_ok(""), Config::default());
        assert_eq!(parse_ok("{}"), Config::default());
        let d = Config::default();
        assert_eq!(d.direction, DirectionSetting::Auto);
        assert_eq!(d.max_header_size, 8192);
        assert_eq!(d.max_nesting_depth, 8);
        assert!(d.additional_labels.is_empty());
        assert_eq!(d.trust_peers, TrustPeers::Any);
        assert_eq!(d.send_to, SendTo::Mesh);
    }

    #[test]
    fn parses_every_field() {
        let c = parse_ok(
            r#"{"direction":"outbound","additional_labels":["team","tier"],
                "max_header_size":1024,"max_nesting_depth":3}"#,
        );
        assert_eq!(c.direction, DirectionSetting::Outbound);
        assert_eq!(c.additional_labels, ["team", "tier"]);
        assert_eq!(
            c.limits(),
            Limits {
                max_header_size: 1024,
                max_depth: 3
            }
        );
        let c = parse_ok(r#"{"trust_peers":"mtls_identity","send_to":"all"}"#);
        assert_eq!(c.trust_peers, TrustPeers::MtlsIdentity);
        assert_eq!(c.send_to, SendTo::All);
        assert_eq!(
            parse_ok(r#"{"trust_peers":"mtls"}"#).trust_peers,
            TrustPeers::Mtls
        );
        assert_eq!(
            parse_ok(r#"{"direction":"inbound"}"#).direction,
            DirectionSetting::Inbound
        );
        assert_eq!(
            parse_ok(r#"{"direction":"auto"}"#).direction,
            DirectionSetting::Auto
        );
    }

    #[test]
    fn rejects_bad_values_naming_the_field() {
        let e = error(r#"{"direction":"sideways"}"#);
        assert_eq!(
            e,
            "field `direction`: unknown variant, expected one of `auto`, `inbound`, `outbound` at line 1 column 23"
        );
        let e = error(r#"{"max_header_size":0}"#);
        assert_eq!(
            e,
            "field `max_header_size`: must be between 1 and 61440 bytes, got 0"
        );
        let e = error(r#"{"max_header_size":70000}"#);
        assert!(e.contains("got 70000"), "{e}");
        let e = error(r#"{"max_header_size":-1}"#);
        assert!(
            e.starts_with("field `max_header_size`: invalid value"),
            "{e}"
        );
        let e = error(r#"{"max_nesting_depth":33}"#);
        assert_eq!(
            e,
            "field `max_nesting_depth`: must be between 1 and 32, got 33"
        );
        let e = error(r#"{"additional_labels":["a",""]}"#);
        assert_eq!(
            e,
            "field `additional_labels[1]`: a label name must be non-empty and contain no NUL"
        );
        let e = error(r#"{"additional_labels":["a","a"]}"#);
        assert_eq!(
            e,
            "field `additional_labels[1]`: duplicate of `additional_labels[0]`"
        );
        let e = error(r#"{"trust_peers":"maybe"}"#);
        assert!(
            e.starts_with("field `trust_peers`: unknown variant, expected one of `any`, `mtls`, `mtls_identity`"),
            "{e}"
        );
        let e = error(r#"{"send_to":"everyone"}"#);
        assert!(
            e.starts_with("field `send_to`: unknown variant, expected `mesh` or `all`"),
            "{e}"
        );
        let e = error(r#"{"additional_labels":"a"}"#);
        assert!(
            e.starts_with("field `additional_labels`: invalid type"),
            "{e}"
        );
        let e = error(r#"{"max_size":1}"#);
        assert!(e.starts_with("field `max_size`: unknown field"), "{e}");
    }
}
