//! Host calls for which the SDK would trap on an answer Envoy really gives.
//!
//! `proxy_wasm::hostcalls` `panic!`s on any status it does not expect (see REFERENCE.md §6;
//! proxy-wasm-rust-sdk #82 and #310, envoy #26485), and a panic is a wasm trap that fails the
//! stream and every later request on the VM. These functions import the same host functions
//! themselves (several crates may import one host function; only exports collide) and return
//! the status instead. Every other host call goes through the SDK.
//!
//! What Envoy 1.40 answers is in `harness/probes/ENVOY.md`; `tests/guards.rs` makes each call
//! where Envoy refuses it and shows the SDK trapping and these returning the status.

use proxy_wasm::types::{MapType, Status};
use std::ptr::{null, null_mut};

#[link(wasm_import_module = "env")]
extern "C" {
    fn proxy_get_header_map_value(
        map: u32,
        key: *const u8,
        key_size: usize,
        value: *mut *mut u8,
        value_size: *mut usize,
    ) -> u32;
    fn proxy_get_header_map_pairs(map: u32, data: *mut *mut u8, size: *mut usize) -> u32;
    fn proxy_replace_header_map_value(
        map: u32,
        key: *const u8,
        key_size: usize,
        value: *const u8,
        value_size: usize,
    ) -> u32;
    fn proxy_add_header_map_value(
        map: u32,
        key: *const u8,
        key_size: usize,
        value: *const u8,
        value_size: usize,
    ) -> u32;
    fn proxy_remove_header_map_value(map: u32, key: *const u8, key_size: usize) -> u32;
    fn proxy_send_local_response(
        status_code: u32,
        details: *const u8,
        details_size: usize,
        body: *const u8,
        body_size: usize,
        headers: *const u8,
        headers_size: usize,
        grpc_status: i32,
    ) -> u32;
    fn proxy_set_property(
        path: *const u8,
        path_size: usize,
        value: *const u8,
        value_size: usize,
    ) -> u32;
}

/// A header map value. Guards: a map that does not exist here (outside a stream, a reset
/// callout's answer, trailers a request did not have): Envoy answers `BadArgument`, which the
/// SDK's `get_map_value_bytes` turns into a panic.
pub fn get_map_value(map: MapType, name: &str) -> Result<Option<Vec<u8>>, Status> {
    let mut data = null_mut();
    let mut size = 0;
    let code = unsafe {
        proxy_get_header_map_value(map as u32, name.as_ptr(), name.len(), &mut data, &mut size)
    };
    match check(code) {
        Ok(()) => Ok(Some(unsafe { take(data, size) })),
        Err(Status::NotFound) => Ok(None),
        Err(status) => Err(status),
    }
}

/// Every pair of a header map, in order. Guards: as [`get_map_value`] (the SDK panics on any
/// status but `Ok`), and a name that is not UTF-8 (the SDK `unwrap`s it; here it is lossy).
pub fn get_map_pairs(map: MapType) -> Result<Vec<(String, Vec<u8>)>, Status> {
    decode_pairs(&get_map_bytes(map)?).ok_or(Status::SerializationFailure)
}

/// A header map as Envoy serializes it, for [`pairs_in`]: one copy, no allocation per header
/// (what a filter wants when it scans every header on every request). Guards: as
/// [`get_map_value`].
pub fn get_map_bytes(map: MapType) -> Result<Vec<u8>, Status> {
    let mut data = null_mut();
    let mut size = 0;
    check(unsafe { proxy_get_header_map_pairs(map as u32, &mut data, &mut size) })?;
    Ok(unsafe { take(data, size) })
}

/// Replaces every value of `name`. Guards: a map that cannot be changed here (outside a
/// stream, request trailers before the last body chunk): `BadArgument`.
pub fn replace_map_value(map: MapType, name: &str, value: &[u8]) -> Result<(), Status> {
    check(unsafe {
        proxy_replace_header_map_value(
            map as u32,
            name.as_ptr(),
            name.len(),
            value.as_ptr(),
            value.len(),
        )
    })
}

/// Appends a value for `name`. Guards: as [`replace_map_value`].
pub fn add_map_value(map: MapType, name: &str, value: &[u8]) -> Result<(), Status> {
    check(unsafe {
        proxy_add_header_map_value(
            map as u32,
            name.as_ptr(),
            name.len(),
            value.as_ptr(),
            value.len(),
        )
    })
}

/// Removes every value of `name`. Guards: as [`replace_map_value`].
pub fn remove_map_value(map: MapType, name: &str) -> Result<(), Status> {
    check(unsafe { proxy_remove_header_map_value(map as u32, name.as_ptr(), name.len()) })
}

/// Sends a local reply. Guards: a reply Envoy refuses (outside a stream: `BadArgument`),
/// which the SDK's `send_http_response` turns into a panic.
pub fn send_local_response(
    status: u32,
    headers: &[(&str, &[u8])],
    body: &[u8],
) -> Result<(), Status> {
    let headers = encode_pairs(headers);
    check(unsafe {
        proxy_send_local_response(
            status,
            null(),
            0,
            body.as_ptr(),
            body.len(),
            headers.as_ptr(),
            headers.len(),
            -1, // no gRPC status
        )
    })
}

/// Stores a filter-state value. Guards: Envoy refuses it outside a stream (`NotFound` from the
/// root context, e.g. during `on_configure`), which the SDK's `set_property` turns into a panic.
pub fn set_property(path: &[&str], value: &[u8]) -> Result<(), Status> {
    let path = path.join("\0");
    check(unsafe { proxy_set_property(path.as_ptr(), path.len(), value.as_ptr(), value.len()) })
}

fn check(code: u32) -> Result<(), Status> {
    match code {
        0 => Ok(()),
        1 => Err(Status::NotFound),
        2 => Err(Status::BadArgument),
        3 => Err(Status::SerializationFailure),
        4 => Err(Status::ParseFailure),
        7 => Err(Status::Empty),
        8 => Err(Status::CasMismatch),
        _ => Err(Status::InternalFailure),
    }
}

/// Takes ownership of a buffer the host filled through `proxy_on_memory_allocate` (the SDK's
/// allocator, which hands out `Vec<u8>` storage of exactly `size` bytes).
unsafe fn take(data: *mut u8, size: usize) -> Vec<u8> {
    if data.is_null() {
        Vec::new()
    } else {
        Vec::from_raw_parts(data, size, size)
    }
}

/// The (name, value) pairs of a serialized header map, borrowed from `bytes`. Envoy's
/// header-pairs format: a u32 count, then a (name length, value length) u32 pair for each,
/// then each name and value followed by a NUL. `None` when the bytes do not add up.
pub fn pairs_in(bytes: &[u8]) -> Option<Vec<(&[u8], &[u8])>> {
    if bytes.is_empty() {
        return Some(Vec::new());
    }
    let word = |at: usize| -> Option<usize> {
        let b = bytes.get(at..at.checked_add(4)?)?;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    };
    let count = word(0)?;
    let mut data = count.checked_mul(8)?.checked_add(4)?;
    let mut pairs = Vec::with_capacity(count.min(1024));
    for i in 0..count {
        let (name_len, value_len) = (word(4 + i * 8)?, word(8 + i * 8)?);
        let name = bytes.get(data..data.checked_add(name_len)?)?;
        data += name_len + 1;
        let value = bytes.get(data..data.checked_add(value_len)?)?;
        data += value_len + 1;
        pairs.push((name, value));
    }
    Some(pairs)
}

/// [`pairs_in`], owned: names as text (invalid UTF-8 replaced by U+FFFD), values as bytes.
pub fn decode_pairs(bytes: &[u8]) -> Option<Vec<(String, Vec<u8>)>> {
    let pairs = pairs_in(bytes)?;
    Some(
        pairs
            .into_iter()
            .map(|(name, value)| (String::from_utf8_lossy(name).into_owned(), value.to_vec()))
            .collect(),
    )
}

/// The inverse of [`decode_pairs`].
pub fn encode_pairs(pairs: &[(&str, &[u8])]) -> Vec<u8> {
    let size = 4 + pairs
        .iter()
        .map(|(n, v)| 10 + n.len() + v.len())
        .sum::<usize>();
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(&(pairs.len() as u32).to_le_bytes());
    for (name, value) in pairs {
        out.extend_from_slice(&(name.len() as u32).to_le_bytes());
        out.extend_from_slice(&(value.len() as u32).to_le_bytes());
    }
    for (name, value) in pairs {
        out.extend_from_slice(name.as_bytes());
        out.push(0);
        out.extend_from_slice(value);
        out.push(0);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_round_trip() {
        let pairs: [(&str, &[u8]); 3] = [(":path", b"/a"), ("x-bin", b"\xff\x00z"), ("empty", b"")];
        let decoded = decode_pairs(&encode_pairs(&pairs)).unwrap();
        let again: Vec<(&str, &[u8])> = decoded
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_slice()))
            .collect();
        assert_eq!(again, pairs);
        assert_eq!(decode_pairs(&[]), Some(Vec::new()));
        assert_eq!(decode_pairs(&encode_pairs(&[])), Some(Vec::new()));
        // Borrowed: names as bytes, even when they are not UTF-8.
        let bytes = encode_pairs(&[("x-a", b"1")]);
        let mut raw = bytes.clone();
        raw[12] = 0xff; // the `x` of the name
        assert_eq!(pairs_in(&raw), Some(vec![(&b"\xff-a"[..], &b"1"[..])]));
        assert_eq!(pairs_in(&bytes), Some(vec![(&b"x-a"[..], &b"1"[..])]));
    }

    #[test]
    fn truncated_or_lying_pairs_are_rejected() {
        let bytes = encode_pairs(&[("name", b"value")]);
        for cut in 1..bytes.len() - 1 {
            assert_eq!(decode_pairs(&bytes[..cut]), None, "cut at {cut}");
        }
        let mut huge = bytes.clone();
        huge[..4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(decode_pairs(&huge), None);
    }

    #[test]
    fn statuses_map_to_the_sdk_enum() {
        assert_eq!(check(0), Ok(()));
        assert_eq!(check(1), Err(Status::NotFound));
        assert_eq!(check(2), Err(Status::BadArgument));
        assert_eq!(check(99), Err(Status::InternalFailure));
    }
}
