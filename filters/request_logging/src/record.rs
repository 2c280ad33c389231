//! One finished request as the values of its log line, the line's JSON, and how bytes from the
//! wire and the host become log-safe text.

use crate::config::{Field, Settings};
use filter_common::headers;
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

/// Appended to a value cut at `max_value_bytes`.
pub const TRUNCATION_MARKER: &str = "...[truncated]";

/// Replaces the value of a redacted header or URL parameter.
pub const REDACTED: &str = "[REDACTED]";

/// One value of the line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Value {
    /// Already escaped, redacted and truncated.
    Text(String),
    Num(u64),
}

/// Everything known about a request when it is logged, by field. A field without a value
/// (the host did not provide it) is left out of the line.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Entry {
    values: [Option<Value>; Field::ALL.len()],
    /// Captured headers, in configuration order; absent headers are not listed.
    pub request_headers: Vec<(String, String)>,
    pub response_headers: Vec<(String, String)>,
}

impl Entry {
    pub fn set(&mut self, field: Field, value: Option<Value>) {
        if let Some(slot) = self.values.get_mut(field as usize) {
            *slot = value;
        }
    }

    pub fn get(&self, field: Field) -> Option<&Value> {
        self.values.get(field as usize).and_then(Option::as_ref)
    }

    /// The line: one JSON object on one line (JSON escaping keeps control characters out).
    #[cfg(test)]
    pub fn to_json(&self, settings: &Settings) -> serde_json::Result<String> {
        serde_json::to_string(&Line {
            settings,
            entry: self,
        })
    }

    /// [`Entry::to_json`] appended to `out` (a buffer kept across requests).
    pub fn write_json(&self, settings: &Settings, out: &mut Vec<u8>) -> serde_json::Result<()> {
        serde_json::to_writer(
            out,
            &Line {
                settings,
                entry: self,
            },
        )
    }
}

/// The configured fields in configured order, then the header objects whose list is configured.
struct Line<'a> {
    settings: &'a Settings,
    entry: &'a Entry,
}

impl Serialize for Line<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        for &field in &self.settings.fields {
            if let Some(value) = self.entry.get(field) {
                map.serialize_entry(field.name(), value)?;
            }
        }
        if !self.settings.request_headers.is_empty() {
            map.serialize_entry(
                "request_headers",
                &HeaderObject(&self.entry.request_headers),
            )?;
        }
        if !self.settings.response_headers.is_empty() {
            map.serialize_entry(
                "response_headers",
                &HeaderObject(&self.entry.response_headers),
            )?;
        }
        map.end()
    }
}

/// Captured headers as a JSON object in capture order.
struct HeaderObject<'a>(&'a [(String, String)]);

impl Serialize for HeaderObject<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(name, value)| (name, value)))
    }
}

/// Cuts `text` to at most `max_bytes` bytes (at a character boundary) and appends
/// [`TRUNCATION_MARKER`] when anything was removed.
pub fn truncate(mut text: String, max_bytes: usize) -> String {
    if text.len() <= max_bytes {
        return text;
    }
    let end = (0..=max_bytes)
        .rev()
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(0);
    text.truncate(end);
    text.push_str(TRUNCATION_MARKER);
    text
}

/// What the log shows for a value from the wire or the host: escaped, then limited in size.
pub fn clean(bytes: &[u8], max_bytes: usize) -> String {
    // Printable ASCII, by far the most common value, has nothing to escape.
    let text = match bytes.iter().all(|b| (b' '..=b'~').contains(b)) {
        true => String::from_utf8_lossy(bytes).into_owned(),
        false => headers::escape(bytes),
    };
    truncate(text, max_bytes)
}

/// Nanoseconds since the Unix epoch as RFC 3339, UTC, milliseconds: `2026-11-22T01:13:04.123Z`.
pub fn rfc3339_millis(unix_nanos: u64) -> String {
    let secs = unix_nanos / 1_000_000_000;
    let millis = unix_nanos / 1_000_000 % 1_000;
    let (year, month, day) = civil_from_days(secs / 86_400);
    let (h, m, s) = (secs / 3_600 % 24, secs / 60 % 60, secs % 60);
    format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{millis:03}Z")
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day): Howard Hinnant's
/// `civil_from_days`, on or after the epoch.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    // Counted from 0000-03-01, so that leap days fall at the end of each year.
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153; // 0 = March
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    (year_of_era + era * 400 + u64::from(month <= 2), month, day)
}

/// Short codes of Envoy's `CoreResponseFlag`s in bit order (envoy/stream_info/stream_info.h),
/// as Envoy's access log prints them in `%RESPONSE_FLAGS%`.
const RESPONSE_FLAG_CODES: [&str; 30] = [
    "LH", "UH", "UT", "LR", "UR", "UF", "UC", "UO", "NR", "DI", "FI", "RL", "UAEX", "RLSE", "DC",
    "URX", "SI", "IH", "DPE", "UMSDR", "RFCF", "NFCF", "DT", "UPE", "NC", "OM", "DF", "DO", "DR",
    "UDO",
];

/// Envoy's `response.flags` attribute (bit N = flag N) as `%RESPONSE_FLAGS%` shows it (`UH,UF`),
/// so both logs read alike: `-` when no flag is set; bits newer than this table are kept as
/// `bitN` rather than dropped.
pub fn response_flags(flags: u64) -> String {
    if flags == 0 {
        return "-".to_string();
    }
    (0..64usize)
        .filter(|bit| flags & (1u64 << bit) != 0)
        .map(|bit| match RESPONSE_FLAG_CODES.get(bit) {
            Some(code) => code.to_string(),
            None => format!("bit{bit}"),
        })
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn settings(json: &str) -> Settings {
        Settings::from_config(filter_common::config::parse::<Config>(json.as_bytes()).unwrap())
            .unwrap()
    }

    fn full_entry() -> Entry {
        let mut e = Entry::default();
        let text = |s: &str| Some(Value::Text(s.into()));
        e.set(Field::StartTime, text("2026-11-22T01:13:04.123Z"));
        e.set(Field::Method, text("GET"));
        e.set(Field::Authority, text("example.com"));
        e.set(Field::Path, text("/a?b=1"));
        e.set(Field::Protocol, text("HTTP/1.1"));
        e.set(Field::Status, Some(Value::Num(200)));
        e.set(Field::ResponseFlags, text("-"));
        e.set(Field::ResponseCodeDetails, text("via_upstream"));
        e.set(Field::RequestBytes, Some(Value::Num(3)));
        e.set(Field::ResponseBytes, Some(Value::Num(5)));
        e.set(Field::DurationMs, Some(Value::Num(12)));
        e.set(Field::UpstreamCluster, text("backend"));
        e.set(Field::UpstreamHost, text("10.0.0.2:8080"));
        e.set(Field::RequestId, text("r1"));
        e.set(Field::DownstreamAddress, text("10.0.0.1:5555"));
        e.set(Field::UserAgent, text("curl/8"));
        e.set(Field::Plugin, text("logger"));
        e.request_headers = vec![("x-a".into(), "1".into())];
        e
    }

    #[test]
    fn default_fields_in_order() {
        let s = settings(r#"{"request_headers":["x-a"],"response_headers":["x-b"]}"#);
        let line = full_entry().to_json(&s).unwrap();
        assert_eq!(
            line,
            r#"{"start_time":"2026-11-22T01:13:04.123Z","method":"GET","authority":"example.com","path":"/a?b=1","protocol":"HTTP/1.1","status":200,"response_flags":"-","response_code_details":"via_upstream","request_bytes":3,"response_bytes":5,"duration_ms":12,"upstream_cluster":"backend","upstream_host":"10.0.0.2:8080","request_id":"r1","downstream_address":"10.0.0.1:5555","user_agent":"curl/8","plugin":"logger","request_headers":{"x-a":"1"},"response_headers":{}}"#
        );
    }

    #[test]
    fn chosen_fields_and_absent_values() {
        let s = settings(r#"{"fields":["status","protocol","method","duration_ms"]}"#);
        let mut entry = Entry::default();
        entry.set(Field::Status, Some(Value::Num(0)));
        entry.set(Field::Method, Some(Value::Text("POST".into())));
        entry.set(Field::Path, Some(Value::Text("/not-configured".into())));
        assert_eq!(
            entry.to_json(&s).unwrap(),
            r#"{"status":0,"method":"POST"}"#
        );
        let none = Entry::default().to_json(&settings(r#"{"fields":["path"]}"#));
        assert_eq!(none.unwrap(), "{}");
    }

    #[test]
    fn values_are_json_escaped() {
        let s = settings(r#"{"fields":["path"],"request_headers":["x-q"]}"#);
        let mut entry = Entry::default();
        entry.set(
            Field::Path,
            Some(Value::Text("/\"quoted\"\\\n\u{1}".into())),
        );
        entry.request_headers = vec![("x-q".into(), "caf\\xe9 \u{e9}".into())];
        assert_eq!(
            entry.to_json(&s).unwrap(),
            r#"{"path":"/\"quoted\"\\\n\u0001","request_headers":{"x-q":"caf\\xe9 é"}}"#
        );
    }

    #[test]
    fn valid_utf8_is_unchanged() {
        assert_eq!(headers::escape(b"plain"), "plain");
        assert_eq!(
            headers::escape("caf\u{e9} \u{1f600}".as_bytes()),
            "caf\u{e9} \u{1f600}"
        );
        assert_eq!(headers::escape(b""), "");
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
    fn clean_is_escape_then_truncate() {
        for value in [
            &b"plain ascii ~!"[..],
            b"",
            b"tab\there",
            b"del\x7f",
            b"caf\xc3\xa9",
            b"bad\xff",
            "bidi\u{202e}x".as_bytes(),
        ] {
            for max in [1, 4, 64] {
                assert_eq!(clean(value, max), truncate(headers::escape(value), max));
            }
        }
    }

    #[test]
    fn clean_escapes_before_cutting() {
        // The escaped form (7 bytes) is what counts against the limit.
        assert_eq!(clean(b"ab\xff", 4), "ab\\x...[truncated]");
        assert_eq!(clean(b"ab\xff", 16), "ab\\xff");
    }

    #[test]
    fn timestamps_are_rfc3339_utc_millis() {
        const NS: u64 = 1_000_000_000;
        assert_eq!(rfc3339_millis(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            rfc3339_millis(1_795_309_984 * NS + 123_456_789),
            "2026-11-22T01:13:04.123Z"
        );
        assert_eq!(rfc3339_millis(951_782_400 * NS), "2000-02-29T00:00:00.000Z");
        assert_eq!(
            rfc3339_millis(4_102_444_799 * NS + 999_999_999),
            "2099-12-31T23:59:59.999Z"
        );
        assert_eq!(rfc3339_millis(u64::MAX), "2554-07-21T23:34:33.709Z");
    }

    #[test]
    fn every_day_matches_a_day_counter() {
        // Walk day by day over 1970..2101 and compare with an independent month-length count.
        let (mut y, mut m, mut d) = (1970u64, 1u64, 1u64);
        for days in 0..(131 * 366) {
            assert_eq!(civil_from_days(days), (y, m, d), "day {days}");
            let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
            let len = match m {
                2 if leap => 29,
                2 => 28,
                4 | 6 | 9 | 11 => 30,
                _ => 31,
            };
            d += 1;
            if d > len {
                (d, m) = (1, m + 1);
                if m > 12 {
                    (m, y) = (1, y + 1);
                }
            }
        }
    }

    #[test]
    fn response_flags_as_envoy_prints_them() {
        assert_eq!(response_flags(0), "-");
        assert_eq!(response_flags(1), "LH");
        assert_eq!(response_flags(1 << 1), "UH");
        assert_eq!(response_flags((1 << 1) | (1 << 8)), "UH,NR");
        assert_eq!(response_flags(1 << 29), "UDO");
        assert_eq!(response_flags((1 << 3) | (1 << 40)), "LR,bit40");
    }
}
