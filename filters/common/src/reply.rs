//! Local replies: the filter answers the client itself, with a small JSON error body.
//!
//! Envoy applies the reply after the current callback returns; the callback should return
//! `Action::Pause`. Response callbacks then run for the local reply too.

use proxy_wasm::hostcalls;

/// The body sent with every error reply: `{"error":"...","message":"...","status":N}`.
pub fn error_body(status: u32, error: &str, message: &str) -> String {
    serde_json::json!({ "error": error, "message": message, "status": status }).to_string()
}

/// Sends `status` with a JSON error body and `extra_headers` (e.g. `www-authenticate`).
/// Returns false if the host refused (the request then continues unchanged).
pub fn send_error(status: u32, error: &str, message: &str, extra_headers: &[(&str, &str)]) -> bool {
    let body = error_body(status, error, message);
    let mut headers = Vec::with_capacity(extra_headers.len() + 1);
    headers.push(("content-type", "application/json"));
    headers.extend_from_slice(extra_headers);
    send(status, &headers, body.as_bytes())
}

/// Sends a reply with the given headers and body as-is.
pub fn send(status: u32, headers: &[(&str, &str)], body: &[u8]) -> bool {
    match hostcalls::send_http_response(status, headers.to_vec(), Some(body)) {
        Ok(()) => true,
        Err(status) => {
            log::warn!("local reply refused by host: {status:?}");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_body_is_escaped_json() {
        assert_eq!(
            error_body(401, "unauthorized", "missing \"x-api-key\""),
            r#"{"error":"unauthorized","message":"missing \"x-api-key\"","status":401}"#
        );
    }
}
