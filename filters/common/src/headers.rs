//! Header maps that may not exist, header text for logs, and header names and values from
//! configuration.
//!
//! In the callback that owns a map (request headers in `on_http_request_headers`) a filter
//! uses the SDK's `_bytes` methods (`self.get_http_request_header_bytes(..)`): never the
//! `String` ones, which `unwrap` the UTF-8 conversion of what a client sent. Where the map may
//! be gone or not there yet (`on_log`, a callout's answer, trailers) it uses these functions,
//! which answer `None`/`false` instead of trapping.

use crate::hostcalls;
pub use proxy_wasm::types::MapType;
use std::fmt::Write;

/// First value of `name`; `None` when absent or when the map does not exist here.
pub fn get(map: MapType, name: &str) -> Option<Vec<u8>> {
    hostcalls::get_map_value(map, name).ok().flatten()
}

/// First value of `name` as text, invalid UTF-8 replaced by U+FFFD.
pub fn get_lossy(map: MapType, name: &str) -> Option<String> {
    get(map, name).map(lossy)
}

/// All pairs in order; empty when the map does not exist here.
pub fn pairs(map: MapType) -> Vec<(String, Vec<u8>)> {
    hostcalls::get_map_pairs(map).unwrap_or_default()
}

/// Replaces every value of `name`; false when the host refused.
pub fn set(map: MapType, name: &str, value: &[u8]) -> bool {
    hostcalls::replace_map_value(map, name, value).is_ok()
}

/// Appends a value for `name`; false when the host refused.
pub fn add(map: MapType, name: &str, value: &[u8]) -> bool {
    hostcalls::add_map_value(map, name, value).is_ok()
}

/// Removes every value of `name`; false when the host refused.
pub fn remove(map: MapType, name: &str) -> bool {
    hostcalls::remove_map_value(map, name).is_ok()
}

/// Bytes from the wire as text, invalid UTF-8 replaced by U+FFFD.
pub fn lossy(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Bytes as log-safe text. Valid UTF-8 is kept as is, except characters that can forge a line
/// or mislead a reader or a terminal, which are written as `\u{hex}` ([`is_misleading`]); each
/// byte of an invalid sequence is written as `\xHH`. So a client's bytes are always visible, and
/// the value stays safe wherever it is shown: in the raw line and after a JSON parser (`jq -r`)
/// has turned JSON's own escapes back into characters.
pub fn escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if is_misleading(c) {
                // Writing to a String cannot fail.
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            } else {
                out.push(c);
            }
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}

/// Characters escaped in log values: controls (C0, DEL, C1, Unicode category Cc: line breaks,
/// terminal escape sequences such as ESC and CSI), the line and paragraph separators U+2028
/// and U+2029, and the invisible format characters (category Cf, Unicode 15.1): bidi controls
/// that reorder what a reader sees (Trojan Source, CVE-2021-42574), zero-width characters, and
/// tag characters that carry hidden text.
pub fn is_misleading(c: char) -> bool {
    if (' '..'\u{7f}').contains(&c) {
        return false;
    }
    c.is_control()
        || matches!(
            c,
            '\u{2028}'
                | '\u{2029}'
                | '\u{ad}'
                | '\u{600}'..='\u{605}'
                | '\u{61c}'
                | '\u{6dd}'
                | '\u{70f}'
                | '\u{890}'..='\u{891}'
                | '\u{8e2}'
                | '\u{180e}'
                | '\u{200b}'..='\u{200f}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{206f}'
                | '\u{feff}'
                | '\u{fff9}'..='\u{fffb}'
                | '\u{110bd}'
                | '\u{110cd}'
                | '\u{13430}'..='\u{1343f}'
                | '\u{1bca0}'..='\u{1bca3}'
                | '\u{1d173}'..='\u{1d17a}'
                | '\u{e0001}'
                | '\u{e0020}'..='\u{e007f}'
        )
}

/// Checks a header name as configured by an operator: lower-case RFC 9110 token characters,
/// or a pseudo-header (`:path`). Envoy lower-cases names, so an upper-case name in config
/// would never match and is rejected rather than silently ignored.
pub fn validate_name(name: &str) -> Result<(), String> {
    let body = name.strip_prefix(':').unwrap_or(name);
    if body.is_empty() {
        return Err(format!("invalid header name `{name}`: empty"));
    }
    match body.chars().find(|c| !is_lower_tchar(*c)) {
        None => Ok(()),
        Some(c) if c.is_ascii_uppercase() => {
            Err(format!("invalid header name `{name}`: must be lower-case"))
        }
        Some(c) => Err(format!("invalid header name `{name}`: contains '{c}'")),
    }
}

/// True for pseudo-headers (`:method`, `:path`, ...), which may be set but not added or removed.
pub fn is_pseudo(name: &str) -> bool {
    name.starts_with(':')
}

fn is_lower_tchar(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || "!#$%&'*+-.^_`|~".contains(c)
}

/// Checks a header value from config: no CR, LF or NUL (which would split or end the header).
pub fn validate_value(name: &str, value: &str) -> Result<(), String> {
    if value.contains(['\r', '\n', '\0']) {
        return Err(format!(
            "invalid value for header `{name}`: contains CR, LF or NUL"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_tokens_and_pseudo_headers() {
        for ok in [
            "x-foo",
            "hello",
            "x_1.2~",
            ":path",
            ":authority",
            "a!#$%&'*+-.^_`|~",
        ] {
            assert_eq!(validate_name(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn rejects_bad_names_with_reason() {
        assert_eq!(
            validate_name("X-Foo").unwrap_err(),
            "invalid header name `X-Foo`: must be lower-case"
        );
        assert_eq!(
            validate_name("x foo").unwrap_err(),
            "invalid header name `x foo`: contains ' '"
        );
        assert_eq!(
            validate_name("").unwrap_err(),
            "invalid header name ``: empty"
        );
        assert_eq!(
            validate_name(":").unwrap_err(),
            "invalid header name `:`: empty"
        );
        assert!(validate_name("x:y").is_err());
        assert!(validate_name("caf\u{e9}").is_err());
    }

    #[test]
    fn values_without_control_breaks() {
        assert!(validate_value("a", "ok value; with=stuff").is_ok());
        assert_eq!(
            validate_value("a", "x\r\ny").unwrap_err(),
            "invalid value for header `a`: contains CR, LF or NUL"
        );
        assert!(validate_value("a", "x\0").is_err());
    }

    #[test]
    fn lossy_text_replaces_invalid_utf8() {
        assert_eq!(lossy(b"plain".to_vec()), "plain");
        assert_eq!(lossy(b"a\xffb".to_vec()), "a\u{fffd}b");
    }

    #[test]
    fn pseudo_detection() {
        assert!(is_pseudo(":status"));
        assert!(!is_pseudo("status"));
    }

    #[test]
    fn misleading_characters_are_escaped() {
        assert_eq!(
            escape(b"a\tb\r\n\x1b[31m\x7f"),
            "a\\u{9}b\\u{d}\\u{a}\\u{1b}[31m\\u{7f}"
        );
        // C1 controls (NEL, CSI) and the line and paragraph separators.
        assert_eq!(
            escape("\u{80}\u{85}\u{9b}\u{9f}|\u{2028}|\u{2029}".as_bytes()),
            "\\u{80}\\u{85}\\u{9b}\\u{9f}|\\u{2028}|\\u{2029}"
        );
        // Every bidi control, zero-width characters, a BOM and a tag character.
        for c in [
            '\u{61c}',
            '\u{200e}',
            '\u{200f}',
            '\u{202a}',
            '\u{202b}',
            '\u{202c}',
            '\u{202d}',
            '\u{202e}',
            '\u{2066}',
            '\u{2067}',
            '\u{2068}',
            '\u{2069}',
            '\u{200b}',
            '\u{200d}',
            '\u{feff}',
            '\u{e0041}',
        ] {
            assert_eq!(
                escape(c.to_string().as_bytes()),
                format!("\\u{{{:x}}}", u32::from(c))
            );
        }
        // Printable text around them is untouched, including non-ASCII letters and emoji.
        assert_eq!(
            escape("x\u{202e}caf\u{e9} \u{1f600}\u{a0}".as_bytes()),
            "x\\u{202e}caf\u{e9} \u{1f600}\u{a0}"
        );
    }

    #[test]
    fn invalid_bytes_are_hex_escaped() {
        assert_eq!(escape(b"caf\xe9"), "caf\\xe9");
        assert_eq!(escape(b"\xff\xfeok\x80"), "\\xff\\xfeok\\x80");
        // A truncated multi-byte sequence: each byte is escaped.
        assert_eq!(escape(b"a\xe2\x82"), "a\\xe2\\x82");
    }
}
