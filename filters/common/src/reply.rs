//! Local replies: the filter answers the client itself, with a small JSON error body.
//!
//! Envoy applies the reply after the current callback returns, which should return
//! `Action::Pause`. Response callbacks then run for the local reply too.

use crate::hostcalls;
use serde::Serialize;

/// The body of every error reply: `{"error":"...","message":"...","status":N}`.
#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    message: &'a str,
    status: u32,
}

/// The JSON error body for `status`.
pub fn error_body(status: u32, error: &str, message: &str) -> String {
    let body = ErrorBody {
        error,
        message,
        status,
    };
    // Serializing a struct of strings and an integer cannot fail; keep the reply going if it did.
    serde_json::to_string(&body).unwrap_or_default()
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

/// Sends a reply with the given headers and body as they are; false if the host refused.
pub fn send(status: u32, headers: &[(&str, &str)], body: &[u8]) -> bool {
    let headers: Vec<(&str, &[u8])> = headers.iter().map(|(n, v)| (*n, v.as_bytes())).collect();
    match hostcalls::send_local_response(status, &headers, body) {
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
    fn error_body_is_escaped_json_in_field_order() {
        assert_eq!(
            error_body(401, "unauthorized", "missing \"x-api-key\"\n\u{1}"),
            r#"{"error":"unauthorized","message":"missing \"x-api-key\"\n\u0001","status":401}"#
        );
    }
}
