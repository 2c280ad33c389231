//! One finished request as the values the log line needs, and its JSON serialization.

use crate::config::Settings;
use crate::fields::{Field, ALL};
use std::fmt::Write;

/// One value of the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// Already escaped, redacted and truncated.
    Text(String),
    Num(u64),
}

/// Everything known about a request when it is logged, by field. A field without a value
/// (the host did not provide it) is left out of the line.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Entry {
    values: [Option<Value>; ALL.len()],
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
}

/// The JSON object for `entry`: configured fields in order, then the captured header objects.
/// Written by hand into one buffer: the line only has strings and unsigned integers, and a
/// JSON library would cost more module size than the whole filter logic.
pub fn to_json(settings: &Settings, entry: &Entry) -> String {
    let mut buf = String::with_capacity(512);
    buf.push('{');
    for &field in &settings.fields {
        let Some(value) = entry.get(field) else {
            continue;
        };
        if buf.len() > 1 {
            buf.push(',');
        }
        push_string(&mut buf, field.name());
        buf.push(':');
        match value {
            Value::Text(s) => push_string(&mut buf, s),
            // Writing to a String cannot fail.
            Value::Num(n) => {
                let _ = write!(buf, "{n}");
            }
        }
    }
    for (key, configured, pairs) in [
        (
            "request_headers",
            &settings.request_headers,
            &entry.request_headers,
        ),
        (
            "response_headers",
            &settings.response_headers,
            &entry.response_headers,
        ),
    ] {
        if configured.is_empty() {
            continue;
        }
        if buf.len() > 1 {
            buf.push(',');
        }
        push_string(&mut buf, key);
        buf.push_str(":{");
        for (i, (k, v)) in pairs.iter().enumerate() {
            if i > 0 {
                buf.push(',');
            }
            push_string(&mut buf, k);
            buf.push(':');
            push_string(&mut buf, v);
        }
        buf.push('}');
    }
    buf.push('}');
    buf
}

/// Appends `s` as a JSON string (RFC 8259): quotes, backslashes and control characters are
/// escaped, everything else is kept as UTF-8 (the same output as serde_json).
pub fn push_string(buf: &mut String, s: &str) {
    buf.push('"');
    let mut plain = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        buf.push_str(s.get(plain..i).unwrap_or_default());
        if escape.is_empty() {
            buf.push_str(if b < 0x10 { "\\u000" } else { "\\u001" });
            buf.push(char::from(b"0123456789abcdef"[usize::from(b & 0xf)]));
        } else {
            buf.push_str(escape);
        }
        plain = i + 1;
    }
    buf.push_str(s.get(plain..).unwrap_or_default());
    buf.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::fields;

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
        let line = to_json(&s, &full_entry());
        assert_eq!(
            line,
            r#"{"start_time":"2026-11-22T01:13:04.123Z","method":"GET","authority":"example.com","path":"/a?b=1","protocol":"HTTP/1.1","status":200,"response_flags":"-","response_code_details":"via_upstream","request_bytes":3,"response_bytes":5,"duration_ms":12,"upstream_cluster":"backend","upstream_host":"10.0.0.2:8080","request_id":"r1","downstream_address":"10.0.0.1:5555","user_agent":"curl/8","plugin":"logger","request_headers":{"x-a":"1"},"response_headers":{}}"#
        );
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value.as_object().unwrap().len(), fields::ALL.len() + 2);
    }

    #[test]
    fn chosen_fields_and_absent_values() {
        let s = settings(r#"{"fields":["status","protocol","method","duration_ms"]}"#);
        let mut entry = Entry::default();
        entry.set(Field::Status, Some(Value::Num(0)));
        entry.set(Field::Method, Some(Value::Text("POST".into())));
        entry.set(Field::Path, Some(Value::Text("/not-configured".into())));
        assert_eq!(to_json(&s, &entry), r#"{"status":0,"method":"POST"}"#);
        assert_eq!(
            to_json(&settings(r#"{"fields":["path"]}"#), &Entry::default()),
            "{}"
        );
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
        let line = to_json(&s, &entry);
        assert_eq!(
            line,
            r#"{"path":"/\"quoted\"\\\n\u0001","request_headers":{"x-q":"caf\\xe9 é"}}"#
        );
        let back: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(back["path"], "/\"quoted\"\\\n\u{1}");
    }

    #[test]
    fn strings_are_escaped_exactly_like_serde_json() {
        let mut every_char: String = (0u8..0x80).map(char::from).collect();
        every_char.push_str("\u{e9}\u{2028}\u{1f600}\\x\"");
        for s in [
            "",
            "plain",
            "a\"b",
            "\\",
            "\u{7f}",
            "x\u{0}y",
            every_char.as_str(),
        ] {
            let mut mine = String::new();
            push_string(&mut mine, s);
            assert_eq!(mine, serde_json::to_string(s).unwrap(), "{s:?}");
        }
    }
}
