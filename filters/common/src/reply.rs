//! Local replies: the filter answers the client itself, with a small JSON error body.
//!
//! Envoy applies the reply after the current callback returns; the callback should return
//! `Action::Pause`. Response callbacks then run for the local reply too.

use crate::proxy_wasm::hostcalls;

/// The body sent with every error reply: `{"error":"...","message":"...","status":N}`.
/// Written by hand: `serde_json::Value` would pull float formatting into every module.
pub fn error_body(status: u32, error: &str, message: &str) -> String {
    let mut body = String::with_capacity(48 + error.len() + message.len());
    body.push_str("{\"error\":");
    push_json_string(&mut body, error);
    body.push_str(",\"message\":");
    push_json_string(&mut body, message);
    body.push_str(",\"status\":");
    body.push_str(&status.to_string());
    body.push('}');
    body
}

/// Appends `s` as a JSON string literal (RFC 8259 escaping).
pub fn push_json_string(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let b = c as u8;
                out.push_str("\\u00");
                out.push(HEX[usize::from(b >> 4)] as char);
                out.push(HEX[usize::from(b & 0xf)] as char);
            }
            c => out.push(c),
        }
    }
    out.push('"');
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
    fn json_strings_escape_controls_and_quotes() {
        let mut out = String::new();
        push_json_string(&mut out, "a\"b\\c\nd\re\tf\u{1}g\u{1f}é");
        assert_eq!(out, r#""a\"b\\c\nd\re\tf\u0001g\u001fé""#);
        let parsed: String = serde_json::from_str(&out).unwrap();
        assert_eq!(parsed, "a\"b\\c\nd\re\tf\u{1}g\u{1f}é");
    }

    #[test]
    fn error_body_is_escaped_json() {
        assert_eq!(
            error_body(401, "unauthorized", "missing \"x-api-key\""),
            r#"{"error":"unauthorized","message":"missing \"x-api-key\"","status":401}"#
        );
    }
}
