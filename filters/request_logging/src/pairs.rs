//! A header map read with one host call, searched as often as the log line needs.

use filter_common::proxy_wasm::hostcalls;
use filter_common::proxy_wasm::types::MapType;

/// All pairs of one map, in order, values as bytes (a client's invalid UTF-8 is kept so it
/// can be escaped rather than replaced).
#[derive(Debug, Default, Clone)]
pub struct HeaderPairs(Vec<(String, Vec<u8>)>);

impl HeaderPairs {
    pub fn new(pairs: Vec<(String, Vec<u8>)>) -> Self {
        HeaderPairs(pairs)
    }

    /// The whole map; empty when the host has none in this phase or refuses the call.
    pub fn read(map: MapType) -> Self {
        HeaderPairs(hostcalls::get_map_bytes(map).unwrap_or_default())
    }

    /// Every value of `name`, in order.
    pub fn values<'a, 'n>(&'a self, name: &'n str) -> impl Iterator<Item = &'a [u8]> + use<'a, 'n> {
        self.0
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    }

    /// The first value of `name`.
    pub fn first(&self, name: &str) -> Option<&[u8]> {
        self.values(name).next()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_and_all_values_in_order() {
        let p = HeaderPairs::new(vec![
            (":method".into(), b"GET".to_vec()),
            ("x-a".into(), b"1".to_vec()),
            ("x-bin".into(), b"\xff\x00".to_vec()),
            ("x-a".into(), b"".to_vec()),
        ]);
        assert_eq!(p.first("x-a"), Some(&b"1"[..]));
        assert_eq!(p.values("x-a").collect::<Vec<_>>(), [&b"1"[..], b""]);
        assert_eq!(p.first("x-bin"), Some(&b"\xff\x00"[..]));
        assert_eq!(p.first("x-b"), None);
        assert_eq!(HeaderPairs::default().first(":method"), None);
    }
}
