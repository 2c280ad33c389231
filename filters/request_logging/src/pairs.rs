//! Header maps read with one host call, without the SDK's panicking paths: the SDK's
//! `get_map_bytes` panics on a non-OK status (Envoy answers BadArgument for a map that does not
//! exist in the current phase) and on a header name that is not UTF-8.

use proxy_wasm::types::MapType;

/// A serialized header map as the host returns it: u32 count, then (u32 name length, u32 value
/// length) per pair, then each name and value followed by a NUL byte. Malformed input yields
/// the pairs that could be read before the error, never a panic.
#[derive(Debug, Default, Clone)]
pub struct HeaderPairs {
    buf: Vec<u8>,
}

impl HeaderPairs {
    pub fn from_bytes(buf: Vec<u8>) -> Self {
        HeaderPairs { buf }
    }

    /// The whole map; empty when the host has none in this phase or refuses the call.
    pub fn read(map: MapType) -> Self {
        HeaderPairs::from_bytes(host::get_pairs(map).unwrap_or_default())
    }

    pub fn iter(&self) -> PairsIter<'_> {
        let count = read_u32(&self.buf, 0).unwrap_or(0);
        // Data starts after the count and the table of lengths; an absurd count from a
        // corrupt buffer makes `data` out of range, which ends iteration at once.
        let data = count.saturating_mul(8).saturating_add(4);
        PairsIter {
            buf: &self.buf,
            count,
            index: 0,
            data,
        }
    }

    /// The first value of `name`.
    pub fn first(&self, name: &str) -> Option<&[u8]> {
        self.iter()
            .find(|(n, _)| *n == name.as_bytes())
            .map(|(_, v)| v)
    }

    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }
}

pub struct PairsIter<'a> {
    buf: &'a [u8],
    count: usize,
    index: usize,
    data: usize,
}

impl<'a> Iterator for PairsIter<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        if self.index >= self.count {
            return None;
        }
        let table = self.index.checked_mul(8)?.checked_add(4)?;
        let name_len = read_u32(self.buf, table)?;
        let value_len = read_u32(self.buf, table + 4)?;
        let name = self.buf.get(self.data..self.data.checked_add(name_len)?)?;
        let value_start = self.data + name_len + 1;
        let value = self
            .buf
            .get(value_start..value_start.checked_add(value_len)?)?;
        self.data = value_start + value_len + 1;
        self.index += 1;
        Some((name, value))
    }
}

fn read_u32(buf: &[u8], at: usize) -> Option<usize> {
    let bytes: [u8; 4] = buf.get(at..at.checked_add(4)?)?.try_into().ok()?;
    usize::try_from(u32::from_le_bytes(bytes)).ok()
}

#[cfg(target_arch = "wasm32")]
mod host {
    use proxy_wasm::types::MapType;

    #[link(wasm_import_module = "env")]
    extern "C" {
        fn proxy_get_header_map_pairs(
            map_type: MapType,
            return_map_data: *mut *mut u8,
            return_map_size: *mut usize,
        ) -> u32;
    }

    pub fn get_pairs(map: MapType) -> Option<Vec<u8>> {
        let mut data: *mut u8 = std::ptr::null_mut();
        let mut size: usize = 0;
        // SAFETY: on success the host stores a buffer it allocated through this module's
        // `proxy_on_memory_allocate` (a boxed slice of exactly `size` bytes), whose ownership
        // passes to us; on failure nothing is allocated.
        unsafe {
            if proxy_get_header_map_pairs(map, &mut data, &mut size) != 0 || data.is_null() {
                return None;
            }
            Some(Vec::from_raw_parts(data, size, size))
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod host {
    use proxy_wasm::types::MapType;

    /// Unit tests on the host have no proxy: there is no map to read.
    pub fn get_pairs(_map: MapType) -> Option<Vec<u8>> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(pairs: &[(&[u8], &[u8])]) -> Vec<u8> {
        let mut out = (pairs.len() as u32).to_le_bytes().to_vec();
        for (n, v) in pairs {
            out.extend((n.len() as u32).to_le_bytes());
            out.extend((v.len() as u32).to_le_bytes());
        }
        for (n, v) in pairs {
            out.extend(*n);
            out.push(0);
            out.extend(*v);
            out.push(0);
        }
        out
    }

    #[test]
    fn reads_pairs_in_order_with_binary_values() {
        let p = HeaderPairs::from_bytes(encode(&[
            (b":method", b"GET"),
            (b"x-a", b"1"),
            (b"x-bin", b"\xff\x00\xfe"),
            (b"x-a", b""),
        ]));
        let all: Vec<_> = p.iter().collect();
        assert_eq!(
            all,
            vec![
                (&b":method"[..], &b"GET"[..]),
                (b"x-a", b"1"),
                (b"x-bin", b"\xff\x00\xfe"),
                (b"x-a", b""),
            ]
        );
        assert_eq!(p.first("x-a"), Some(&b"1"[..]));
        assert_eq!(p.first("x-b"), None);
        assert!(!p.is_empty());
    }

    #[test]
    fn malformed_buffers_never_panic() {
        assert!(HeaderPairs::from_bytes(vec![]).is_empty());
        assert!(HeaderPairs::from_bytes(vec![1, 0]).is_empty());
        // Count larger than the table.
        assert!(HeaderPairs::from_bytes(vec![0xff, 0xff, 0xff, 0xff, 1, 0, 0, 0]).is_empty());
        // Lengths pointing past the end: the good pair is kept, the bad one ends iteration.
        let mut buf = encode(&[(b"a", b"1"), (b"b", b"2")]);
        let second_value_len = 4 + 8 + 4;
        buf[second_value_len..second_value_len + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        let p = HeaderPairs::from_bytes(buf);
        assert_eq!(p.iter().count(), 1);
        // Every truncation of a valid buffer.
        let good = encode(&[(b"name", b"value"), (b"n2", b"v2")]);
        for len in 0..good.len() {
            let _ = HeaderPairs::from_bytes(good[..len].to_vec()).iter().count();
        }
    }
}
