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
//! always continues. A peer's headers are claims, believed per `trust_peers`, and our own
//! metadata goes to mesh upstreams only unless `send_to: all` (src/trust.rs). Peer values are
//! escaped in every log line. See README.md for the protocol, configuration, metrics and
//! filter state.

pub mod config;
pub mod header;
pub mod structpb;
pub mod trust;
pub mod wire;

#[cfg(test)]
mod golden_tests;

use config::{Config, DirectionSetting, SendTo, TrustPeers};
use filter_common::headers::{self, MapType};
use filter_common::metrics::Counter;
use filter_common::properties::{self, Direction};
use header::Limits;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};
use std::rc::Rc;
use structpb::{Struct, Value};
use trust::Untrusted;

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
pub const METRIC_UNTRUSTED: &str = "metadata_exchange.untrusted_peers";

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
            answer_metadata: false,
            answer_id: false,
        }))
    }
}

/// What every stream shares: the settings and our encoded identity.
struct Exchange {
    direction: DirectionSetting,
    trust_peers: TrustPeers,
    send_to: SendTo,
    limits: Limits,
    /// Base64 of our Struct; empty when the node has no metadata (nothing is sent then).
    own_metadata: String,
    own_id: String,
    decoded: Counter,
    failed: Counter,
    added: Counter,
    untrusted: Counter,
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
            log_value(&own_id),
            summary(&metadata),
            own_metadata.len()
        );
        Ok(Exchange {
            direction: config.direction,
            trust_peers: config.trust_peers,
            send_to: config.send_to,
            limits: config.limits(),
            own_metadata,
            own_id,
            decoded: Counter::define(METRIC_DECODED),
            failed: Counter::define(METRIC_FAILED),
            added: Counter::define(METRIC_ADDED),
            untrusted: Counter::define(METRIC_UNTRUSTED),
        })
    }
}

/// One stream: its listener's direction and what to answer the downstream peer.
struct MetadataExchange {
    exchange: Option<Rc<Exchange>>,
    /// Resolved on the first callback; `None` inside means the host does not say.
    direction: Option<Option<Direction>>,
    /// The downstream peer sent (and we believe) metadata / an id: answer in kind.
    answer_metadata: bool,
    answer_id: bool,
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
        // The application behind an inbound listener must not see mesh-internal headers.
        let send = direction != Some(Direction::Inbound) && exchange.upstream_in_mesh();
        exchange.replace_headers(MapType::HttpRequestHeaders, send, send);
        // An untrusted peer is not told who we are either.
        let believed = exchange.record(&offer, Side::Downstream);
        self.answer_metadata = believed && offer.metadata.is_some();
        self.answer_id = believed && offer.id.is_some();
        Action::Continue
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let Some(exchange) = self.exchange.clone() else {
            return Action::Continue;
        };
        let direction = self.direction(&exchange);
        // Nothing is kept from an inbound response: its headers are replaced or removed
        // without being read.
        let offer = (direction != Some(Direction::Inbound)).then(|| {
            Offer::new(
                self.get_http_response_header_bytes(header::METADATA),
                self.get_http_response_header_bytes(header::METADATA_ID),
            )
        });
        // Answer only a peer that introduced itself; the client of an outbound listener is
        // the local application, which must not see them.
        let answer = direction != Some(Direction::Outbound);
        let (metadata, id) = (answer && self.answer_metadata, answer && self.answer_id);
        exchange.replace_headers(MapType::HttpResponseHeaders, metadata, id);
        if let Some(offer) = offer {
            exchange.record(&offer, Side::Upstream);
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

    /// Whether this side's connection is mutual TLS, and its peer certificate's first URI SAN
    /// attribute. Envoy has no `upstream.mtls`: upstream, a server certificate
    /// (`upstream.sha256_peer_certificate_digest`) stands for it.
    fn tls_attributes(self) -> (&'static [&'static str], &'static [&'static str]) {
        match self {
            Side::Downstream => (
                &["connection", "mtls"],
                &["connection", "uri_san_peer_certificate"],
            ),
            Side::Upstream => (
                &["upstream", "sha256_peer_certificate_digest"],
                &["upstream", "uri_san_peer_certificate"],
            ),
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
    /// Stores what a peer offered in filter state, if `trust_peers` believes the peer; a value
    /// over the limits or undecodable is dropped with a debug line and counted. Returns
    /// whether the peer is believed (an unreadable value from a believed peer still is).
    fn record(&self, offer: &Offer, side: Side) -> bool {
        if offer.metadata.is_none() && offer.id.is_none() {
            return true;
        }
        let (peer_key, id_key) = side.keys();
        // Checked before decoding: an untrusted peer's bytes are not even parsed.
        if self.trust_peers != TrustPeers::Any {
            if let Err(reason) = self.check_connection(side) {
                self.reject(side, reason);
                return false;
            }
        }
        let id = offer
            .id
            .as_ref()
            .filter(|id| match header::check_id(id, self.limits) {
                Ok(()) => true,
                Err(e) => {
                    self.failed.inc();
                    log::debug!("{} peer id ignored: {e}", side.name());
                    false
                }
            });
        let peer = offer.metadata.as_ref().and_then(|value| {
            header::decode(value, self.limits)
                .map_err(|e| {
                    self.failed.inc();
                    log::debug!("{} peer metadata ignored: {e}", side.name());
                })
                .ok()
        });
        if self.trust_peers == TrustPeers::MtlsIdentity {
            let (_, san_path) = side.tls_attributes();
            let san = properties::get_string(san_path);
            let verdict = match &peer {
                Some(peer) => trust::check_identity(&peer.metadata(), san.as_deref()),
                // Nothing readable to check the certificate against.
                None => Err(Untrusted::NoClaim),
            };
            if let Err(reason) = verdict {
                self.reject(side, reason);
                return false;
            }
        }
        if let Some(id) = id {
            properties::set(id_key, id);
        }
        if let Some(peer) = peer {
            // Stored as the peer serialized it, for other filters and access logs.
            properties::set(peer_key, &peer.bytes);
            self.decoded.inc();
            if log::log_enabled!(log::Level::Debug) {
                let id = offer.id.clone().map(headers::lossy).unwrap_or_default();
                log::debug!(
                    "{} peer: id={} {}",
                    side.name(),
                    log_value(&id),
                    summary(&peer.metadata())
                );
            }
        }
        true
    }

    /// `trust_peers: mtls` and up: is this side's connection mutual TLS?
    fn check_connection(&self, side: Side) -> Result<(), Untrusted> {
        let (mtls_path, _) = side.tls_attributes();
        let attribute = properties::get(mtls_path);
        match side {
            Side::Downstream if trust::is_true(attribute.as_deref()) => Ok(()),
            Side::Downstream => Err(Untrusted::NotMtls),
            Side::Upstream if attribute.is_some_and(|d| !d.is_empty()) => Ok(()),
            Side::Upstream => Err(Untrusted::NoUpstreamCertificate),
        }
    }

    fn reject(&self, side: Side, reason: Untrusted) {
        self.untrusted.inc();
        log::debug!("{} peer not trusted: {reason}", side.name());
    }

    /// `send_to: mesh`: is the upstream cluster inside the mesh, as Istio decides it? At most
    /// three property reads, all from the generation (`xds.*` or legacy) that has the cluster.
    fn upstream_in_mesh(&self) -> bool {
        if self.send_to == SendTo::All {
            return true;
        }
        let (cluster, root): (_, &[&str]) = match properties::get(&["xds", "cluster_name"]) {
            Some(name) => (Some(name), &["xds"]),
            None => (properties::get(&["cluster_name"]), &[]),
        };
        let istio_flag = |name: &str| {
            let path: Vec<&str> = root
                .iter()
                .copied()
                .chain(["cluster_metadata", "filter_metadata", "istio", name])
                .collect();
            trust::is_true(properties::get(&path).as_deref())
        };
        match trust::outside_mesh(cluster.as_deref(), istio_flag) {
            None => true,
            Some(why) => {
                log::debug!(
                    "own metadata not sent: the upstream cluster is outside the mesh ({why})"
                );
                false
            }
        }
    }

    /// Sets each exchange header to our value where selected (`metadata`/`id`) and known, and
    /// removes it (every value, whether or not present) otherwise: an empty value reads as
    /// absent but must not pass either. A replace drops the earlier values itself, so each
    /// header costs one host call.
    fn replace_headers(&self, map: MapType, metadata: bool, id: bool) {
        let mut added = false;
        for (name, own, selected) in [
            (header::METADATA, &self.own_metadata, metadata),
            (header::METADATA_ID, &self.own_id, id),
        ] {
            let set = selected && !own.is_empty() && headers::set(map, name, own.as_bytes());
            if !set {
                headers::remove(map, name);
            }
            added |= set;
        }
        if added {
            self.added.inc();
        }
    }
}

/// `name=.. namespace=.. workload=.. app=.. version=..`, `-` for what is missing. Values come
/// from the peer: each is written with [`log_value`].
fn summary(md: &Struct) -> String {
    let labels = md.get_struct(LABELS);
    let label = |k: &str| labels.and_then(|l| l.get_str(k)).unwrap_or_default();
    format!(
        "name={} namespace={} workload={} app={} version={}",
        log_value(md.get_str("NAME").unwrap_or_default()),
        log_value(md.get_str("NAMESPACE").unwrap_or_default()),
        log_value(md.get_str("WORKLOAD_NAME").unwrap_or_default()),
        log_value(label("app")),
        log_value(label("version")),
    )
}

/// A peer value as it may appear in a log line: `-` when empty; as is when it is one plain
/// token; otherwise quoted with Rust's escapes (`{:?}`), so that no value can end the line
/// (`\n`, `\r`, U+2028/9, U+0085), forge another `key=value` field (a space, a quote), or
/// carry a control, DEL, C1, bidi, zero-width or combining character to a terminal.
fn log_value(text: &str) -> std::borrow::Cow<'_, str> {
    if text.is_empty() {
        return "-".into();
    }
    let quoted = format!("{text:?}");
    // Debug escapes every character that is not printable; it adds only the two quotes when
    // nothing needed escaping.
    if quoted.len() == text.len() + 2 && text != "-" && !text.contains(' ') {
        text.into()
    } else {
        quoted.into()
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
    fn log_values_are_plain_tokens_or_escaped_and_quoted() {
        assert_eq!(log_value(""), "-");
        assert_eq!(log_value("app-1"), "app-1");
        assert_eq!(log_value("sidecar~\u{fffd}~pod"), "sidecar~\u{fffd}~pod");
        assert_eq!(log_value("-"), "\"-\"");
        assert_eq!(log_value("a b=c"), "\"a b=c\"");
        assert_eq!(log_value("say \"hi\""), "\"say \\\"hi\\\"\"");
        assert_eq!(log_value("a\nb\r"), "\"a\\nb\\r\"");
        assert_eq!(
            log_value("\u{1b}[31m\u{7f}\u{85}"),
            "\"\\u{1b}[31m\\u{7f}\\u{85}\""
        );
        assert_eq!(log_value("a\u{202e}b\u{2028}"), "\"a\\u{202e}b\\u{2028}\"");
        assert_eq!(log_value("x\u{200b}\u{2066}"), "\"x\\u{200b}\\u{2066}\"");
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
