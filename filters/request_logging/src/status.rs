//! Status codes: the `only_status` filter and the status classes used by the metrics.

/// One `only_status` entry: an exact code (`429`), a class (`5xx`) or `0` for requests that
/// ended without a response (reset before the response started).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusPattern {
    Exact(u16),
    Class(u16),
}

impl StatusPattern {
    pub fn parse(text: &str) -> Result<Self, String> {
        let bytes = text.as_bytes();
        let bad = || {
            format!(
                "invalid status pattern `{text}`: expected a code from 100 to 599 (`429`), \
                 a class `1xx` to `5xx`, or `0` for no response"
            )
        };
        if text == "0" {
            return Ok(StatusPattern::Exact(0));
        }
        if bytes.len() != 3 {
            return Err(bad());
        }
        if bytes[1..].eq_ignore_ascii_case(b"xx") {
            return match bytes[0] {
                b'1'..=b'5' => Ok(StatusPattern::Class(u16::from(bytes[0] - b'0'))),
                _ => Err(bad()),
            };
        }
        match parse_code(bytes) {
            Some(code) if (100..=599).contains(&code) => Ok(StatusPattern::Exact(code)),
            _ => Err(bad()),
        }
    }

    pub fn matches(&self, status: u16) -> bool {
        match *self {
            StatusPattern::Exact(code) => status == code,
            StatusPattern::Class(class) => status / 100 == class && status >= 100,
        }
    }
}

/// A status code as written in `:status` (1 to 3 ASCII digits; anything else is `None`).
pub fn parse_code(bytes: &[u8]) -> Option<u16> {
    if bytes.is_empty() || bytes.len() > 3 {
        return None;
    }
    bytes.iter().try_fold(0u16, |n, &b| match b {
        b'0'..=b'9' => Some(n * 10 + u16::from(b - b'0')),
        _ => None,
    })
}

/// Index into the per-class counters: 0 = no response, 1..=5 = 1xx..5xx, 6 = anything else.
pub fn class_index(status: u16) -> usize {
    match status {
        0 => 0,
        100..=599 => usize::from(status / 100),
        _ => 6,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_codes_classes_and_none() {
        assert_eq!(StatusPattern::parse("429"), Ok(StatusPattern::Exact(429)));
        assert_eq!(StatusPattern::parse("5xx"), Ok(StatusPattern::Class(5)));
        assert_eq!(StatusPattern::parse("2XX"), Ok(StatusPattern::Class(2)));
        assert_eq!(StatusPattern::parse("0"), Ok(StatusPattern::Exact(0)));
    }

    #[test]
    fn rejects_everything_else_with_the_reason() {
        for bad in [
            "", "6xx", "0xx", "99", "600", "4x", "+42", "abc", "5xxx", "1000", "x5x",
        ] {
            let err = StatusPattern::parse(bad).unwrap_err();
            assert!(
                err.starts_with(&format!("invalid status pattern `{bad}`")),
                "{err}"
            );
        }
    }

    #[test]
    fn matching() {
        let five = StatusPattern::Class(5);
        assert!(five.matches(500) && five.matches(599) && five.matches(503));
        assert!(!five.matches(499) && !five.matches(600) && !five.matches(0));
        assert!(StatusPattern::Exact(429).matches(429));
        assert!(!StatusPattern::Exact(429).matches(428));
        assert!(StatusPattern::Exact(0).matches(0));
        assert!(!StatusPattern::Class(1).matches(0));
    }

    #[test]
    fn status_codes_from_the_wire() {
        assert_eq!(parse_code(b"200"), Some(200));
        assert_eq!(parse_code(b"99"), Some(99));
        for bad in [&b""[..], b"2000", b"20x", b"-1", b" 200"] {
            assert_eq!(parse_code(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn classes() {
        for (status, index) in [
            (0, 0),
            (101, 1),
            (200, 2),
            (404, 4),
            (599, 5),
            (99, 6),
            (600, 6),
        ] {
            assert_eq!(class_index(status), index, "{status}");
        }
    }
}
