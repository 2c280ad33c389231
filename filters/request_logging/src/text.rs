//! Turning header and property bytes into log-safe text: invalid UTF-8 is escaped (never
//! dropped), and long values are cut with a visible marker.

/// Appended to a value cut at `max_value_bytes`.
pub const TRUNCATION_MARKER: &str = "...[truncated]";

/// Replaces the value of a redacted header.
pub const REDACTED: &str = "[REDACTED]";

/// Bytes as text: valid UTF-8 is kept as is, each byte of an invalid sequence becomes `\xHH`,
/// so a client's garbage is visible in the log instead of silently replaced.
pub fn escape_invalid_utf8(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            out.push_str("\\x");
            out.push(hex_digit(b >> 4));
            out.push(hex_digit(b & 0xf));
        }
    }
    out
}

fn hex_digit(nibble: u8) -> char {
    char::from(b"0123456789abcdef"[usize::from(nibble & 0xf)])
}

/// Cuts `text` to at most `max_bytes` bytes (at a character boundary) and appends
/// [`TRUNCATION_MARKER`] when anything was removed.
pub fn truncate(mut text: String, max_bytes: usize) -> String {
    if text.len() <= max_bytes {
        return text;
    }
    let mut end = max_bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text.push_str(TRUNCATION_MARKER);
    text
}

/// What the log shows for a value from the wire: escaped, then limited in size.
pub fn clean(bytes: &[u8], max_bytes: usize) -> String {
    truncate(escape_invalid_utf8(bytes), max_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_utf8_is_unchanged() {
        assert_eq!(escape_invalid_utf8(b"plain"), "plain");
        assert_eq!(
            escape_invalid_utf8("caf\u{e9} \u{1f600}".as_bytes()),
            "caf\u{e9} \u{1f600}"
        );
        assert_eq!(escape_invalid_utf8(b""), "");
    }

    #[test]
    fn invalid_bytes_are_hex_escaped() {
        assert_eq!(escape_invalid_utf8(b"caf\xe9"), "caf\\xe9");
        assert_eq!(escape_invalid_utf8(b"\xff\xfeok\x80"), "\\xff\\xfeok\\x80");
        // A truncated multi-byte sequence: each byte is escaped.
        assert_eq!(escape_invalid_utf8(b"a\xe2\x82"), "a\\xe2\\x82");
    }

    #[test]
    fn truncation_marks_and_respects_char_boundaries() {
        assert_eq!(truncate("abcdef".into(), 6), "abcdef");
        assert_eq!(truncate("abcdef".into(), 3), "abc...[truncated]");
        // "é" is two bytes: cutting inside it backs off to the boundary.
        assert_eq!(truncate("a\u{e9}b".into(), 2), "a...[truncated]");
        assert_eq!(truncate("\u{e9}".into(), 1), "...[truncated]");
    }

    #[test]
    fn clean_escapes_before_cutting() {
        // The escaped form (7 bytes) is what counts against the limit.
        assert_eq!(clean(b"ab\xff", 4), "ab\\x...[truncated]");
        assert_eq!(clean(b"ab\xff", 16), "ab\\xff");
    }
}
