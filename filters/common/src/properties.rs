//! Envoy attributes: request, connection, node and plugin data.
//!
//! Encodings follow Envoy: strings and bytes raw; integers, booleans and doubles as
//! little-endian bytes; durations and timestamps as int64 nanoseconds; messages serialized.
//! Since Envoy 1.33 node and listener attributes live under `xds.*`; [`get_xds`] falls back to
//! the legacy top-level path so the same module runs on older proxies.

use crate::hostcalls;
use proxy_wasm::hostcalls::get_property;

/// Raw bytes of a property; `None` when absent or not available in this callback.
pub fn get(path: &[&str]) -> Option<Vec<u8>> {
    get_property(path.to_vec()).ok().flatten()
}

/// A string property, invalid UTF-8 replaced by U+FFFD.
pub fn get_string(path: &[&str]) -> Option<String> {
    get(path).map(crate::headers::lossy)
}

/// An integer property (int64 or uint64 as 8 little-endian bytes).
pub fn get_int(path: &[&str]) -> Option<i64> {
    get(path).and_then(|b| decode_int(&b))
}

/// A node or listener property: `xds.<path>` on Envoy >= 1.33, else the legacy `<path>`.
pub fn get_xds(path: &[&str]) -> Option<Vec<u8>> {
    let xds: Vec<&str> = std::iter::once("xds").chain(path.iter().copied()).collect();
    get(&xds).or_else(|| get(path))
}

/// Stores a value in filter state, where Envoy keeps it as CelState `wasm.<name>` for other
/// filters and access logs; false when the host refused (outside a stream).
pub fn set(name: &str, value: &[u8]) -> bool {
    hostcalls::set_property(&[name], value).is_ok()
}

/// Decodes Envoy's 8-byte little-endian integer encoding.
pub fn decode_int(bytes: &[u8]) -> Option<i64> {
    Some(i64::from_le_bytes(bytes.try_into().ok()?))
}

/// Which way traffic flows through the listener this filter runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Traffic coming into the workload (server side).
    Inbound,
    /// Traffic leaving the workload (client side).
    Outbound,
}

impl Direction {
    /// Envoy's `TrafficDirection` enum: 1 = INBOUND, 2 = OUTBOUND (0 = unspecified).
    pub fn from_envoy(value: i64) -> Option<Self> {
        match value {
            1 => Some(Direction::Inbound),
            2 => Some(Direction::Outbound),
            _ => None,
        }
    }
}

/// The listener's traffic direction, if the host knows it.
pub fn listener_direction() -> Option<Direction> {
    get_xds(&["listener_direction"])
        .and_then(|b| decode_int(&b))
        .and_then(Direction::from_envoy)
}

/// The proxy's node id (`sidecar~10.0.0.1~pod.ns~ns.svc.cluster.local` in Istio).
pub fn node_id() -> Option<String> {
    get_xds(&["node", "id"]).map(crate::headers::lossy)
}

/// The plugin's name as configured (`PluginConfig.name`; the WasmPlugin's namespace.name in Istio).
pub fn plugin_name() -> Option<String> {
    get_string(&["plugin_name"])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_little_endian_ints() {
        assert_eq!(decode_int(&2i64.to_le_bytes()), Some(2));
        assert_eq!(decode_int(&(-5i64).to_le_bytes()), Some(-5));
        assert_eq!(decode_int(&[1, 2, 3]), None);
        assert_eq!(decode_int(&[]), None);
    }

    #[test]
    fn directions_follow_envoy_enum() {
        assert_eq!(Direction::from_envoy(1), Some(Direction::Inbound));
        assert_eq!(Direction::from_envoy(2), Some(Direction::Outbound));
        assert_eq!(Direction::from_envoy(0), None);
        assert_eq!(Direction::from_envoy(7), None);
    }
}
