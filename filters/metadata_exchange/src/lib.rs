//! metadata_exchange: Istio's HTTP peer metadata exchange (`x-envoy-peer-metadata` and
//! `x-envoy-peer-metadata-id`). Each side learns who is on the other end of a request and
//! records it in filter state (`wasm.downstream_peer`, `wasm.upstream_peer`, and their `_id`s).
//!
//! - Requests: strip the peer's headers and store them as the downstream peer; unless the
//!   listener is inbound, add our own headers for the upstream.
//! - Responses: strip the headers; unless the listener is inbound, store them as the upstream
//!   peer; unless it is outbound, add our own headers, each only if the request carried it.
//!
//! Our own identity is built and encoded once per configuration (REFERENCE §3, istio/proxy
//! metadata_exchange). A bad peer header is dropped with a debug line and a metric; the stream
//! always continues. See README.md for the protocol, configuration, metrics and filter state.

pub mod config;
pub mod header;
pub mod structpb;
pub mod wire;

#[cfg(test)]
mod golden_tests;

use config::{Config, DirectionSetting};
use filter_common::headers::{self, MapType};
use filter_common::metrics::Counter;
use filter_common::properties::{self, Direction};
use header::{Limits, Peer};
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};
use std::rc::Rc;
use structpb::{Struct, Value};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> {
        Box::new(MetadataExchangeRoot::default())
    });
}}

/// Metric names, all under one prefix.
pub const METRIC_DECODED: &str = "metadata_exchange.peers_decoded";
pub const METRIC_FAILED: &str = "metadata_exchange.decode_failures";
pub const METRIC_ADDED: &str = "metadata_exchange.headers_added";

/// The root context: reads our identity once per configuration; every stream shares it.
#[derive(Default)]
struct MetadataExchangeRoot {
    /// `None` until a configuration is accepted (Envoy creates no stream before that).
    exchange: Option<Rc<Exchange>>,
}

impl Context for MetadataExchangeRoot {}

impl RootContext for MetadataExchangeRoot {
    fn on_configure(&mut self, _plugin_configuration_size: usize) -> bool {
        filter_common::logging::follow_host_level();
        match filter_common::config::load(self.get_plugin_configuration(), Exchange::new) {
            Some(exchange) => {
                self.exchange = Some(Rc::new(exchange));
                true
            }
            None => false,
        }
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(MetadataExchange {
            exchange: self.exchange.clone(),
            direction: None,
            request_had_metadata: false,
            request_had_id: false,
        }))
    }
}

/// What every stream shares: the settings and our encoded identity.
struct Exchange {
    direction: DirectionSetting,
    limits: Limits,
    /// Base64 of our Struct; empty when the node has no metadata (nothing is sent then).
    own_metadata: String,
    own_id: String,
    decoded: Counter,
    failed: Counter,
    added: Counter,
}

impl Exchange {
    fn new(config: Config) -> Result<Exchange, String> {
        config.validate()?;
        let read = |path: &[&str]| {
            let full: Vec<&str> = std::iter::once("node")
                .chain(path.iter().copied())
                .collect();
            properties::get_xds(&full)
        };
        let metadata = own_metadata(&read, &config.additional_labels);
        let own_id = read_string(&read, &["id"]).unwrap_or_default();
        if metadata.is_empty() {
            log::warn!(
                "node metadata has none of the exchanged keys: no peer metadata will be sent"
            );
        }
        if own_id.is_empty() {
            log::warn!("node id unknown: no peer id will be sent");
        }
        let own_metadata = if metadata.is_empty() {
            String::new()
        } else {
            header::encode(&metadata)
        };
        log::debug!(
            "own identity: id={} {} ({} bytes encoded)",
            or_dash(&own_id),
            summary(&metadata),
            own_metadata.len()
        );
        Ok(Exchange {
            direction: config.direction,
            limits: config.limits(),
            own_metadata,
            own_id,
            decoded: Counter::define(METRIC_DECODED),
            failed: Counter::define(METRIC_FAILED),
            added: Counter::define(METRIC_ADDED),
        })
    }
}

/// One stream: its listener's direction and what the downstream peer offered.
struct MetadataExchange {
    exchange: Option<Rc<Exchange>>,
    /// Resolved on the first callback; `None` inside means the host does not say.
    direction: Option<Option<Direction>>,
    request_had_metadata: bool,
    request_had_id: bool,
}

impl Context for MetadataExchange {}

impl HttpContext for MetadataExchange {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let Some(exchange) = self.exchange.clone() else {
            return Action::Continue;
        };
        let direction = self.direction(&exchange);
        let offer = Offer::new(
            self.get_http_request_header_bytes(header::METADATA),
            self.get_http_request_header_bytes(header::METADATA_ID),
        );
        strip(MapType::HttpRequestHeaders);
        self.request_had_metadata = offer.metadata.is_some();
        self.request_had_id = offer.id.is_some();
        exchange.record(&offer, Side::Downstream);
        // The application behind an inbound listener must not see mesh-internal headers.
        if direction != Some(Direction::Inbound) {
            exchange.add_own(MapType::HttpRequestHeaders, true, true);
        }
        Action::Continue
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let Some(exchange) = self.exchange.clone() else {
            return Action::Continue;
        };
        let direction = self.direction(&exchange);
        if direction == Some(Direction::Inbound) {
            // Nothing is kept from an inbound response: strip it without reading it.
            strip(MapType::HttpResponseHeaders);
        } else {
            let offer = Offer::new(
                self.get_http_response_header_bytes(header::METADATA),
                self.get_http_response_header_bytes(header::METADATA_ID),
            );
            strip(MapType::HttpResponseHeaders);
            exchange.record(&offer, Side::Upstream);
        }
        // Answer only a peer that introduced itself; the client of an outbound listener is
        // the local application, which must not see them.
        if direction != Some(Direction::Outbound) {
            let (metadata, id) = (self.request_had_metadata, self.request_had_id);
            exchange.add_own(MapType::HttpResponseHeaders, metadata, id);
        }
        Action::Continue
    }
}

impl MetadataExchange {
    fn direction(&mut self, exchange: &Exchange) -> Option<Direction> {
        *self
            .direction
            .get_or_insert_with(|| match exchange.direction {
                DirectionSetting::Inbound => Some(Direction::Inbound),
                DirectionSetting::Outbound => Some(Direction::Outbound),
                // Read per stream: with ECDS the same filter config can serve several listeners.
                DirectionSetting::Auto => properties::listener_direction(),
            })
    }
}

/// Which peer a message comes from, and the filter state keys it is stored under (Envoy
/// keeps `set_property(name)` as `wasm.<name>`).
#[derive(Clone, Copy)]
enum Side {
    Downstream,
    Upstream,
}

impl Side {
    fn name(self) -> &'static str {
        match self {
            Side::Downstream => "downstream",
            Side::Upstream => "upstream",
        }
    }

    /// Filter state keys: (peer, peer id).
    fn keys(self) -> (&'static str, &'static str) {
        match self {
            Side::Downstream => ("downstream_peer", "downstream_peer_id"),
            Side::Upstream => ("upstream_peer", "upstream_peer_id"),
        }
    }
}

/// The exchange headers a peer sent. An empty value counts as absent.
struct Offer {
    metadata: Option<Vec<u8>>,
    id: Option<Vec<u8>>,
}

impl Offer {
    fn new(metadata: Option<Vec<u8>>, id: Option<Vec<u8>>) -> Offer {
        Offer {
            metadata: metadata.filter(|v| !v.is_empty()),
            id: id.filter(|v| !v.is_empty()),
        }
    }
}

impl Exchange {
    /// Stores what a peer offered in filter state; a value over the limits or undecodable is
    /// dropped with a debug line and counted.
    fn record(&self, offer: &Offer, side: Side) {
        let (peer_key, id_key) = side.keys();
        let side = side.name();
        if let Some(id) = &offer.id {
            match header::check_id(id, self.limits) {
                Ok(()) => {
                    properties::set(id_key, id);
                }
                Err(e) => {
                    self.failed.inc();
                    log::debug!("{side} peer id ignored: {e}");
                }
            }
        }
        let Some(value) = &offer.metadata else {
            return;
        };
        match header::decode(value, self.limits) {
            Ok(Peer { bytes, metadata }) => {
                // Stored as the peer serialized it, for other filters and access logs.
                properties::set(peer_key, &bytes);
                self.decoded.inc();
                if log::log_enabled!(log::Level::Debug) {
                    let id = offer.id.clone().map(headers::lossy).unwrap_or_default();
                    log::debug!("{side} peer: id={} {}", or_dash(&id), summary(&metadata));
                }
            }
            Err(e) => {
                self.failed.inc();
                log::debug!("{side} peer metadata ignored: {e}");
            }
        }
    }

    /// Adds our headers (replacing any value); `metadata`/`id` select which.
    fn add_own(&self, map: MapType, metadata: bool, id: bool) {
        let mut added = false;
        if metadata && !self.own_metadata.is_empty() {
            added |= headers::set(map, header::METADATA, self.own_metadata.as_bytes());
        }
        if id && !self.own_id.is_empty() {
            added |= headers::set(map, header::METADATA_ID, self.own_id.as_bytes());
        }
        if added {
            self.added.inc();
        }
    }
}

/// Removes both exchange headers, every value, whether or not they are present: an empty
/// value reads as absent but must not pass either.
fn strip(map: MapType) {
    headers::remove(map, header::METADATA_ID);
    headers::remove(map, header::METADATA);
}

/// `name=.. namespace=.. workload=.. app=.. version=..`, `-` for what is missing.
fn summary(md: &Struct) -> String {
    let labels = md.get_struct(LABELS);
    let label = |k: &str| labels.and_then(|l| l.get_str(k)).unwrap_or("-");
    format!(
        "name={} namespace={} workload={} app={} version={}",
        md.get_str("NAME").unwrap_or("-"),
        md.get_str("NAMESPACE").unwrap_or("-"),
        md.get_str("WORKLOAD_NAME").unwrap_or("-"),
        label("app"),
        label("version"),
    )
}

fn or_dash(text: &str) -> &str {
    if text.is_empty() {
        "-"
    } else {
        text
    }
}

// ---- Our identity: the keys Istio sends (istio/proxy `convertWorkloadMetadataToStruct`) ----

/// String keys copied from the node metadata, in the order Istio documents them.
const STRING_KEYS: [&str; 8] = [
    "NAME",
    "NAMESPACE",
    "WORKLOAD_NAME",
    "CLUSTER_ID",
    "IDENTITY",
    "OWNER",
    "REGION",
    "AVAILABILITY_ZONE",
];

const LABELS: &str = "LABELS";

/// Labels always exchanged when present.
const STANDARD_LABELS: [&str; 4] = [
    "app",
    "version",
    "service.istio.io/canonical-name",
    "service.istio.io/canonical-revision",
];

/// Reads a node property (a path below `node`, e.g. `["metadata", "NAME"]`); the filter passes
/// a reader that tries `xds.node.*` first and the legacy `node.*` second.
type NodeReader<'a> = &'a dyn Fn(&[&str]) -> Option<Vec<u8>>;

/// The exchange Struct for this proxy. Each key is read on its own (`xds.node.metadata.NAME`,
/// ...): Envoy resolves sub-paths into the metadata Struct and returns a string value raw, so
/// a missing or odd key elsewhere cannot spoil the others. Empty when the node has none of the
/// keys (no header is sent then); `LABELS` is always present otherwise, as Istio writes it.
fn own_metadata(read: NodeReader<'_>, additional_labels: &[String]) -> Struct {
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
            read_string(&read, &["id"]).as_deref(),
            Some("sidecar~10.0.0.1~app-1.default~default.svc.cluster.local")
        );
        assert_eq!(
            summary(&md),
            "name=app-1 namespace=default workload=app app=app version=v1"
        );
    }

    #[test]
    fn metadata_keys_win_over_locality() {
        let read = reader(&[("metadata.REGION", "r-md"), ("locality.region", "r-loc")]);
        let md = own_metadata(&read, &[]);
        assert_eq!(md.get_str("REGION"), Some("r-md"));
        assert_eq!(md.get_struct("LABELS"), Some(&Struct::new()));
        assert_eq!(
            summary(&md),
            "name=- namespace=- workload=- app=- version=-"
        );
    }

    #[test]
    fn nothing_known_gives_an_empty_struct() {
        let read = reader(&[("metadata.NAME", "")]);
        assert!(own_metadata(&read, &[]).is_empty());
        assert_eq!(read_string(&read, &["id"]), None);
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
