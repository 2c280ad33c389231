//! Host calls, with the SDK's names and signatures; every one returns a `Result` and none panics.

use super::types::{BufferType, Bytes, LogLevel, MapType, MetricType, Status, StreamType};
use std::ptr::{null, null_mut};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[link(wasm_import_module = "env")]
extern "C" {
    fn proxy_log(level: u32, data: *const u8, size: usize) -> u32;
    fn proxy_get_log_level(level: *mut u32) -> u32;
    fn proxy_get_current_time_nanoseconds(time: *mut u64) -> u32;
    fn proxy_set_tick_period_milliseconds(period: u32) -> u32;
    fn proxy_get_buffer_bytes(
        kind: u32,
        start: usize,
        max_size: usize,
        data: *mut *mut u8,
        size: *mut usize,
    ) -> u32;
    fn proxy_set_buffer_bytes(
        kind: u32,
        start: usize,
        size: usize,
        data: *const u8,
        data_size: usize,
    ) -> u32;
    fn proxy_get_header_map_pairs(map: u32, data: *mut *mut u8, size: *mut usize) -> u32;
    fn proxy_set_header_map_pairs(map: u32, data: *const u8, size: usize) -> u32;
    fn proxy_get_header_map_value(
        map: u32,
        key: *const u8,
        key_size: usize,
        data: *mut *mut u8,
        size: *mut usize,
    ) -> u32;
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
    fn proxy_get_property(
        path: *const u8,
        path_size: usize,
        data: *mut *mut u8,
        size: *mut usize,
    ) -> u32;
    fn proxy_set_property(
        path: *const u8,
        path_size: usize,
        value: *const u8,
        value_size: usize,
    ) -> u32;
    fn proxy_get_shared_data(
        key: *const u8,
        key_size: usize,
        data: *mut *mut u8,
        size: *mut usize,
        cas: *mut u32,
    ) -> u32;
    fn proxy_set_shared_data(
        key: *const u8,
        key_size: usize,
        value: *const u8,
        value_size: usize,
        cas: u32,
    ) -> u32;
    fn proxy_continue_stream(stream: u32) -> u32;
    fn proxy_close_stream(stream: u32) -> u32;
    #[allow(clippy::too_many_arguments)]
    fn proxy_send_local_response(
        status: u32,
        details: *const u8,
        details_size: usize,
        body: *const u8,
        body_size: usize,
        headers: *const u8,
        headers_size: usize,
        grpc_status: i32,
    ) -> u32;
    #[allow(clippy::too_many_arguments)]
    fn proxy_http_call(
        upstream: *const u8,
        upstream_size: usize,
        headers: *const u8,
        headers_size: usize,
        body: *const u8,
        body_size: usize,
        trailers: *const u8,
        trailers_size: usize,
        timeout_ms: u32,
        token: *mut u32,
    ) -> u32;
    fn proxy_define_metric(kind: u32, name: *const u8, name_size: usize, id: *mut u32) -> u32;
    fn proxy_increment_metric(id: u32, offset: i64) -> u32;
    fn proxy_record_metric(id: u32, value: u64) -> u32;
    fn proxy_get_metric(id: u32, value: *mut u64) -> u32;
    fn proxy_done() -> u32;
    fn proxy_set_effective_context(context_id: u32) -> u32;
}

/// Adopts a buffer the host allocated through `proxy_on_memory_allocate`.
fn adopt(data: *mut u8, size: usize) -> Option<Bytes> {
    if data.is_null() {
        return None;
    }
    // SAFETY: the host filled `size` bytes of a block it got from `proxy_on_memory_allocate`,
    // which is a `Vec<u8>` with capacity exactly `size`.
    Some(unsafe { Vec::from_raw_parts(data, size, size) })
}

/// Calls a host function that returns a buffer; NOT_FOUND and EMPTY mean `None`.
fn fetch(call: impl FnOnce(*mut *mut u8, *mut usize) -> u32) -> Result<Option<Bytes>, Status> {
    let mut data = null_mut();
    let mut size = 0;
    match Status::check(call(&mut data, &mut size)) {
        Ok(()) => Ok(adopt(data, size)),
        Err(Status::NotFound | Status::Empty) => Ok(None),
        Err(e) => Err(e),
    }
}

fn lossy(bytes: Bytes) -> String {
    match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }
}

pub fn log(level: LogLevel, message: &str) -> Result<(), Status> {
    // SAFETY (all calls below): pointers and lengths come from live Rust slices and
    // out-parameters; the host only reads/writes within them.
    Status::check(unsafe { proxy_log(level as u32, message.as_ptr(), message.len()) })
}

pub fn get_log_level() -> Result<LogLevel, Status> {
    let mut level = 0;
    Status::check(unsafe { proxy_get_log_level(&mut level) })?;
    LogLevel::from_u32(level).ok_or(Status::InternalFailure)
}

pub fn get_current_time() -> Result<SystemTime, Status> {
    let mut nanos = 0;
    Status::check(unsafe { proxy_get_current_time_nanoseconds(&mut nanos) })?;
    Ok(UNIX_EPOCH + Duration::from_nanos(nanos))
}

pub fn set_tick_period(period: Duration) -> Result<(), Status> {
    let ms = u32::try_from(period.as_millis()).map_err(|_| Status::BadArgument)?;
    Status::check(unsafe { proxy_set_tick_period_milliseconds(ms) })
}

pub fn get_buffer(
    kind: BufferType,
    start: usize,
    max_size: usize,
) -> Result<Option<Bytes>, Status> {
    fetch(|data, size| unsafe { proxy_get_buffer_bytes(kind as u32, start, max_size, data, size) })
}

pub fn set_buffer(kind: BufferType, start: usize, size: usize, value: &[u8]) -> Result<(), Status> {
    Status::check(unsafe {
        proxy_set_buffer_bytes(kind as u32, start, size, value.as_ptr(), value.len())
    })
}

/// All pairs; values as text (invalid UTF-8 replaced), names likewise.
pub fn get_map(map: MapType) -> Result<Vec<(String, String)>, Status> {
    Ok(get_map_bytes(map)?
        .into_iter()
        .map(|(k, v)| (k, lossy(v)))
        .collect())
}

/// All pairs, values as bytes.
pub fn get_map_bytes(map: MapType) -> Result<Vec<(String, Bytes)>, Status> {
    let bytes = fetch(|data, size| unsafe { proxy_get_header_map_pairs(map as u32, data, size) })?;
    match bytes {
        None => Ok(Vec::new()),
        Some(b) => decode_pairs(&b).ok_or(Status::SerializationFailure),
    }
}

pub fn set_map(map: MapType, pairs: Vec<(&str, &str)>) -> Result<(), Status> {
    let pairs: Vec<(&str, &[u8])> = pairs.into_iter().map(|(k, v)| (k, v.as_bytes())).collect();
    set_map_bytes(map, pairs)
}

pub fn set_map_bytes(map: MapType, pairs: Vec<(&str, &[u8])>) -> Result<(), Status> {
    let bytes = encode_pairs(&pairs);
    Status::check(unsafe { proxy_set_header_map_pairs(map as u32, bytes.as_ptr(), bytes.len()) })
}

/// First value of `key` as text (invalid UTF-8 replaced); `None` when absent.
pub fn get_map_value(map: MapType, key: &str) -> Result<Option<String>, Status> {
    Ok(get_map_value_bytes(map, key)?.map(lossy))
}

pub fn get_map_value_bytes(map: MapType, key: &str) -> Result<Option<Bytes>, Status> {
    fetch(|data, size| unsafe {
        proxy_get_header_map_value(map as u32, key.as_ptr(), key.len(), data, size)
    })
}

/// Replaces every value of `key` (adds it when absent); `None` removes it.
pub fn set_map_value(map: MapType, key: &str, value: Option<&str>) -> Result<(), Status> {
    match value {
        Some(v) => set_map_value_bytes(map, key, Some(v.as_bytes())),
        None => remove_map_value(map, key),
    }
}

pub fn set_map_value_bytes(map: MapType, key: &str, value: Option<&[u8]>) -> Result<(), Status> {
    let Some(value) = value else {
        return remove_map_value(map, key);
    };
    Status::check(unsafe {
        proxy_replace_header_map_value(
            map as u32,
            key.as_ptr(),
            key.len(),
            value.as_ptr(),
            value.len(),
        )
    })
}

pub fn add_map_value(map: MapType, key: &str, value: &str) -> Result<(), Status> {
    add_map_value_bytes(map, key, value.as_bytes())
}

pub fn add_map_value_bytes(map: MapType, key: &str, value: &[u8]) -> Result<(), Status> {
    Status::check(unsafe {
        proxy_add_header_map_value(
            map as u32,
            key.as_ptr(),
            key.len(),
            value.as_ptr(),
            value.len(),
        )
    })
}

pub fn remove_map_value(map: MapType, key: &str) -> Result<(), Status> {
    Status::check(unsafe { proxy_remove_header_map_value(map as u32, key.as_ptr(), key.len()) })
}

pub fn get_property(path: Vec<&str>) -> Result<Option<Bytes>, Status> {
    let path = encode_path(&path);
    fetch(|data, size| unsafe { proxy_get_property(path.as_ptr(), path.len(), data, size) })
}

pub fn set_property(path: Vec<&str>, value: Option<&[u8]>) -> Result<(), Status> {
    let path = encode_path(&path);
    let value = value.unwrap_or_default();
    Status::check(unsafe {
        proxy_set_property(path.as_ptr(), path.len(), value.as_ptr(), value.len())
    })
}

/// The value and its CAS token; `(None, None)` when the key is unknown.
pub fn get_shared_data(key: &str) -> Result<(Option<Bytes>, Option<u32>), Status> {
    let mut cas = 0;
    let value = fetch(|data, size| unsafe {
        proxy_get_shared_data(key.as_ptr(), key.len(), data, size, &mut cas)
    })?;
    Ok(match value {
        Some(v) => (Some(v), Some(cas)),
        None => (None, None),
    })
}

/// Stores a value; with `cas`, only if nobody changed it since (else `Err(CasMismatch)`).
pub fn set_shared_data(key: &str, value: Option<&[u8]>, cas: Option<u32>) -> Result<(), Status> {
    let value = value.unwrap_or_default();
    Status::check(unsafe {
        proxy_set_shared_data(
            key.as_ptr(),
            key.len(),
            value.as_ptr(),
            value.len(),
            cas.unwrap_or(0),
        )
    })
}

/// Resumes a request paused by `Action::Pause`.
pub fn resume_http_request() -> Result<(), Status> {
    Status::check(unsafe { proxy_continue_stream(StreamType::HttpRequest as u32) })
}

pub fn resume_http_response() -> Result<(), Status> {
    Status::check(unsafe { proxy_continue_stream(StreamType::HttpResponse as u32) })
}

pub fn reset_http_request() -> Result<(), Status> {
    Status::check(unsafe { proxy_close_stream(StreamType::HttpRequest as u32) })
}

pub fn reset_http_response() -> Result<(), Status> {
    Status::check(unsafe { proxy_close_stream(StreamType::HttpResponse as u32) })
}

/// Answers the client from the filter. Envoy applies it when the current callback returns.
pub fn send_http_response(
    status: u32,
    headers: Vec<(&str, &str)>,
    body: Option<&[u8]>,
) -> Result<(), Status> {
    let headers: Vec<(&str, &[u8])> = headers
        .into_iter()
        .map(|(k, v)| (k, v.as_bytes()))
        .collect();
    let headers = encode_pairs(&headers);
    let body = body.unwrap_or_default();
    Status::check(unsafe {
        proxy_send_local_response(
            status,
            null(),
            0,
            body.as_ptr(),
            body.len(),
            headers.as_ptr(),
            headers.len(),
            -1,
        )
    })
}

/// Starts an HTTP callout; the answer arrives in `Context::on_http_call_response` of the
/// context that made the call. `headers` must hold `:method`, `:path` and `:authority`.
pub fn dispatch_http_call(
    upstream: &str,
    headers: Vec<(&str, &str)>,
    body: Option<&[u8]>,
    trailers: Vec<(&str, &str)>,
    timeout: Duration,
) -> Result<u32, Status> {
    let as_bytes = |pairs: Vec<(&str, &str)>| -> Bytes {
        let pairs: Vec<(&str, &[u8])> = pairs.into_iter().map(|(k, v)| (k, v.as_bytes())).collect();
        encode_pairs(&pairs)
    };
    let headers = as_bytes(headers);
    let trailers = as_bytes(trailers);
    let body = body.unwrap_or_default();
    let timeout_ms = u32::try_from(timeout.as_millis()).unwrap_or(u32::MAX);
    let mut token = 0;
    Status::check(unsafe {
        proxy_http_call(
            upstream.as_ptr(),
            upstream.len(),
            headers.as_ptr(),
            headers.len(),
            body.as_ptr(),
            body.len(),
            trailers.as_ptr(),
            trailers.len(),
            timeout_ms,
            &mut token,
        )
    })?;
    super::dispatcher::register_callout(token);
    Ok(token)
}

pub fn define_metric(kind: MetricType, name: &str) -> Result<u32, Status> {
    let mut id = 0;
    Status::check(unsafe { proxy_define_metric(kind as u32, name.as_ptr(), name.len(), &mut id) })?;
    Ok(id)
}

pub fn increment_metric(id: u32, offset: i64) -> Result<(), Status> {
    Status::check(unsafe { proxy_increment_metric(id, offset) })
}

pub fn record_metric(id: u32, value: u64) -> Result<(), Status> {
    Status::check(unsafe { proxy_record_metric(id, value) })
}

pub fn get_metric(id: u32) -> Result<u64, Status> {
    let mut value = 0;
    Status::check(unsafe { proxy_get_metric(id, &mut value) })?;
    Ok(value)
}

/// Tells the host a context that returned `false` from `on_done` has finished.
pub fn done() -> Result<(), Status> {
    Status::check(unsafe { proxy_done() })
}

pub fn set_effective_context(context_id: u32) -> Result<(), Status> {
    Status::check(unsafe { proxy_set_effective_context(context_id) })
}

/// Property paths are their segments joined with NUL.
fn encode_path(path: &[&str]) -> Bytes {
    path.join("\0").into_bytes()
}

/// Header pairs wire format: u32 count; per pair u32 name length, u32 value length; then
/// each name and value followed by a NUL byte (all little-endian).
pub(crate) fn encode_pairs(pairs: &[(&str, &[u8])]) -> Bytes {
    let size = 4 + pairs
        .iter()
        .map(|(k, v)| 10 + k.len() + v.len())
        .sum::<usize>();
    let mut out = Vec::with_capacity(size);
    let len32 = |n: usize| u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes();
    out.extend_from_slice(&len32(pairs.len()));
    for (k, v) in pairs {
        out.extend_from_slice(&len32(k.len()));
        out.extend_from_slice(&len32(v.len()));
    }
    for (k, v) in pairs {
        out.extend_from_slice(k.as_bytes());
        out.push(0);
        out.extend_from_slice(v);
        out.push(0);
    }
    out
}

/// Decodes the pairs format; `None` if it is malformed (never panics on host data).
pub(crate) fn decode_pairs(bytes: &[u8]) -> Option<Vec<(String, Bytes)>> {
    let u32_at = |at: usize| -> Option<usize> {
        let b: [u8; 4] = bytes.get(at..at.checked_add(4)?)?.try_into().ok()?;
        usize::try_from(u32::from_le_bytes(b)).ok()
    };
    if bytes.is_empty() {
        return Some(Vec::new());
    }
    let count = u32_at(0)?;
    let mut data = count.checked_mul(8)?.checked_add(4)?;
    let mut pairs = Vec::with_capacity(count.min(1024));
    for i in 0..count {
        let key_len = u32_at(4 + i * 8)?;
        let value_len = u32_at(8 + i * 8)?;
        let key = bytes.get(data..data.checked_add(key_len)?)?;
        data = data.checked_add(key_len + 1)?;
        let value = bytes.get(data..data.checked_add(value_len)?)?;
        data = data.checked_add(value_len + 1)?;
        pairs.push((String::from_utf8_lossy(key).into_owned(), value.to_vec()));
    }
    Some(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_round_trip_in_envoy_format() {
        let pairs: [(&str, &[u8]); 2] = [(":path", b"/a"), ("x", b"")];
        let bytes = encode_pairs(&pairs);
        let mut want = vec![2, 0, 0, 0, 5, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0];
        want.extend_from_slice(b":path\0/a\0x\0\0");
        assert_eq!(bytes, want);
        let decoded = decode_pairs(&bytes).unwrap();
        assert_eq!(
            decoded,
            vec![
                (":path".to_string(), b"/a".to_vec()),
                ("x".to_string(), vec![])
            ]
        );
    }

    #[test]
    fn malformed_pairs_are_rejected_not_panicking() {
        assert_eq!(decode_pairs(&[]), Some(vec![]));
        assert_eq!(decode_pairs(&[1, 0]), None);
        assert_eq!(
            decode_pairs(&[1, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, b'a']),
            None
        );
        assert_eq!(decode_pairs(&[255, 255, 255, 255]), None);
        let mut bytes = encode_pairs(&[("k", b"v")]);
        bytes.truncate(bytes.len() - 2);
        assert_eq!(decode_pairs(&bytes), None);
    }

    #[test]
    fn invalid_utf8_values_survive_as_bytes() {
        let bytes = encode_pairs(&[("k", &[0xff, 0xfe])]);
        assert_eq!(decode_pairs(&bytes).unwrap()[0].1, vec![0xff, 0xfe]);
        assert_eq!(lossy(vec![b'a', 0xff]), "a\u{fffd}");
    }

    #[test]
    fn property_paths_join_with_nul() {
        assert_eq!(encode_path(&["xds", "node", "id"]), b"xds\0node\0id");
        assert_eq!(encode_path(&[]), b"");
    }
}
