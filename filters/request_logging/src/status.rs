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
        match text.parse::<u16>() {
            Ok(code) if (100..=599).contains(&code) && bytes.iter().all(u8::is_ascii_digit) => {
                Ok(StatusPattern::Exact(code))
            }
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

/// Index into the per-class counters: 0 = no response, 1..=5 = 1xx..5xx, 6 = anything else.
pub fn class_index(status: u16) -> usize {
    match status {
        0 => 0,
        100..=599 => usize::from(status / 100),
        _ => 6,
    }
}

/// Metric name suffixes, by [`class_index`].
pub const CLASS_NAMES: [&str; 7] = ["none", "1xx", "2xx", "3xx", "4xx", "5xx", "other"];

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
    fn classes() {
        assert_eq!(CLASS_NAMES[class_index(0)], "none");
        assert_eq!(CLASS_NAMES[class_index(101)], "1xx");
        assert_eq!(CLASS_NAMES[class_index(200)], "2xx");
        assert_eq!(CLASS_NAMES[class_index(404)], "4xx");
        assert_eq!(CLASS_NAMES[class_index(599)], "5xx");
        assert_eq!(CLASS_NAMES[class_index(99)], "other");
        assert_eq!(CLASS_NAMES[class_index(600)], "other");
    }
}
