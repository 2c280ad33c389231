//! The exchange itself (REFERENCE §3, istio/proxy metadata_exchange):
//!
//! - Requests: strip `x-envoy-peer-metadata(-id)`, storing them as the downstream peer; unless
//!   the listener is inbound, add our own headers for the upstream.
//! - Responses: strip the headers; unless the listener is inbound, store them as the upstream
//!   peer; unless it is outbound, add our own headers, each only if the request carried it.
//!
//! A bad peer header is dropped with a debug log and a metric; the stream always continues.

use crate::config::{Config, DirectionSetting};
use crate::header::{self, Limits, Peer};
use crate::identity;
use crate::structpb::Struct;
use filter_common::headers::{self, MapType};
use filter_common::metrics::Counter;
use filter_common::properties::{self, Direction};
use filter_common::proxy_wasm::traits::{Context, HttpContext};
use filter_common::proxy_wasm::types::Action;
use filter_common::Plugin;
use std::rc::Rc;

/// Metric names, all under one prefix.
pub const METRIC_DECODED: &str = "metadata_exchange.peers_decoded";
pub const METRIC_FAILED: &str = "metadata_exchange.decode_failures";
pub const METRIC_ADDED: &str = "metadata_exchange.headers_added";

/// Filter state keys (Envoy stores `set_property(name)` as `wasm.<name>`).
const DOWNSTREAM_PEER: &str = "downstream_peer";
const DOWNSTREAM_PEER_ID: &str = "downstream_peer_id";
const UPSTREAM_PEER: &str = "upstream_peer";
const UPSTREAM_PEER_ID: &str = "upstream_peer_id";

/// What every stream shares: our encoded identity (computed once per configuration).
pub struct MetadataExchange {
    direction: DirectionSetting,
    limits: Limits,
    /// Base64 of our Struct; empty when the node has no metadata (nothing is sent then).
    own_metadata: String,
    own_id: String,
    decoded: Counter,
    failed: Counter,
    added: Counter,
}

impl Plugin for MetadataExchange {
    type Config = Config;
    type Http = ExchangeStream;

    fn configure(config: Config) -> Result<Self, String> {
        config.validate()?;
        let read = |path: &[&str]| {
            let mut full = Vec::with_capacity(path.len() + 1);
            full.push("node");
            full.extend_from_slice(path);
            properties::get_xds(&full)
        };
        let metadata = identity::own_metadata(&read, &config.additional_labels);
        let own_id = identity::node_id(&read).unwrap_or_default();
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
            if own_id.is_empty() { "-" } else { &own_id },
            summary(&metadata),
            own_metadata.len()
        );
        Ok(MetadataExchange {
            direction: config.direction,
            limits: config.limits(),
            own_metadata,
            own_id,
            decoded: Counter::define(METRIC_DECODED),
            failed: Counter::define(METRIC_FAILED),
            added: Counter::define(METRIC_ADDED),
        })
    }

    fn http_context(plugin: &Rc<Self>, _context_id: u32) -> ExchangeStream {
        ExchangeStream {
            plugin: Rc::clone(plugin),
            direction: None,
            request_had_metadata: false,
            request_had_id: false,
        }
    }
}

pub struct ExchangeStream {
    plugin: Rc<MetadataExchange>,
    /// Resolved on the first callback; `None` inside means the host does not say.
    direction: Option<Option<Direction>>,
    request_had_metadata: bool,
    request_had_id: bool,
}

impl ExchangeStream {
    fn direction(&mut self) -> Option<Direction> {
        let setting = self.plugin.direction;
        *self.direction.get_or_insert_with(|| match setting {
            DirectionSetting::Inbound => Some(Direction::Inbound),
            DirectionSetting::Outbound => Some(Direction::Outbound),
            // Read per stream: with ECDS the same filter config can serve several listeners.
            DirectionSetting::Auto => properties::listener_direction(),
        })
    }

    /// Strips the peer's headers from `map` and records them as the peer under the filter
    /// state names `keys` (peer, id). Returns which of (metadata, id) were present and
    /// non-empty.
    fn take_peer(&self, map: MapType, side: &str, keys: (&str, &str)) -> (bool, bool) {
        let limits = self.plugin.limits;
        let id = headers::get(map, header::METADATA_ID).filter(|v| !v.is_empty());
        let value = headers::get(map, header::METADATA).filter(|v| !v.is_empty());
        // Removed unconditionally: an empty value reads as absent but must not pass either.
        strip_peer(map);
        if let Some(id) = &id {
            match header::check_id(id, limits) {
                Ok(()) => {
                    properties::set(keys.1, id);
                }
                Err(e) => {
                    self.plugin.failed.inc();
                    log::debug!("{side} peer id ignored: {e}");
                }
            }
        }
        if let Some(value) = &value {
            self.store_peer(value, side, keys.0, id.as_deref());
        }
        (value.is_some(), id.is_some())
    }

    fn store_peer(&self, value: &[u8], side: &str, key: &str, id: Option<&[u8]>) {
        match header::decode(value, self.plugin.limits) {
            Ok(Peer { bytes, metadata }) => {
                properties::set(key, &bytes);
                self.plugin.decoded.inc();
                if log::log_enabled!(log::Level::Debug) {
                    let id = id.map(String::from_utf8_lossy).unwrap_or_default();
                    log::debug!(
                        "{side} peer: id={} {}",
                        if id.is_empty() { "-" } else { &id },
                        summary(&metadata)
                    );
                }
            }
            Err(e) => {
                self.plugin.failed.inc();
                log::debug!("{side} peer metadata ignored: {e}");
            }
        }
    }

    /// Adds our headers (replacing any value); `metadata`/`id` select which.
    fn add_own(&self, map: MapType, metadata: bool, id: bool) {
        let plugin = &self.plugin;
        let mut added = false;
        if metadata && !plugin.own_metadata.is_empty() {
            added |= headers::set(map, header::METADATA, &plugin.own_metadata);
        }
        if id && !plugin.own_id.is_empty() {
            added |= headers::set(map, header::METADATA_ID, &plugin.own_id);
        }
        if added {
            plugin.added.inc();
        }
    }
}

impl Context for ExchangeStream {}

impl HttpContext for ExchangeStream {
    fn on_http_request_headers(&mut self, _headers: usize, _end_of_stream: bool) -> Action {
        let direction = self.direction();
        let keys = (DOWNSTREAM_PEER, DOWNSTREAM_PEER_ID);
        let (metadata, id) = self.take_peer(MapType::HttpRequestHeaders, "downstream", keys);
        self.request_had_metadata = metadata;
        self.request_had_id = id;
        // The application behind an inbound listener must not see mesh-internal headers.
        if direction != Some(Direction::Inbound) {
            self.add_own(MapType::HttpRequestHeaders, true, true);
        }
        Action::Continue
    }

    fn on_http_response_headers(&mut self, _headers: usize, _end_of_stream: bool) -> Action {
        let direction = self.direction();
        let store = direction != Some(Direction::Inbound);
        if store {
            let keys = (UPSTREAM_PEER, UPSTREAM_PEER_ID);
            self.take_peer(MapType::HttpResponseHeaders, "upstream", keys);
        } else {
            // Nothing is kept from an inbound response: strip without reading (2 host calls fewer).
            strip_peer(MapType::HttpResponseHeaders);
        }
        // Answer only a peer that introduced itself; the client of an outbound listener is
        // the local application, which must not see them.
        if direction != Some(Direction::Outbound) {
            let (metadata, id) = (self.request_had_metadata, self.request_had_id);
            self.add_own(MapType::HttpResponseHeaders, metadata, id);
        }
        Action::Continue
    }
}

/// Removes both exchange headers, every value, whether or not they are present.
fn strip_peer(map: MapType) {
    headers::remove(map, header::METADATA_ID);
    headers::remove(map, header::METADATA);
}

/// `name=.. namespace=.. workload=.. app=.. version=..`, `-` for what is missing.
pub fn summary(md: &Struct) -> String {
    let labels = md.get_struct(identity::LABELS);
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
