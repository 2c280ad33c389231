//! One finished request as the values the log line needs, and its JSON serialization.

use crate::config::Settings;
use crate::fields::Field;
use crate::rfc3339;
use serde::ser::{SerializeMap, Serializer};

/// Everything known about a request when it is logged. Text values are already escaped,
/// redacted and truncated; `None` means the host did not provide the value, and the field is
/// left out of the line.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Entry {
    pub start_nanos: Option<u64>,
    pub method: Option<String>,
    pub authority: Option<String>,
    pub path: Option<String>,
    pub protocol: Option<String>,
    /// 0 when no response was sent (as in Envoy's `%RESPONSE_CODE%`).
    pub status: u16,
    pub response_flags: Option<String>,
    pub response_code_details: Option<String>,
    pub request_bytes: Option<u64>,
    pub response_bytes: Option<u64>,
    pub duration_ms: Option<u64>,
    pub upstream_cluster: Option<String>,
    pub upstream_host: Option<String>,
    pub request_id: Option<String>,
    pub downstream_address: Option<String>,
    pub user_agent: Option<String>,
    pub plugin: Option<String>,
    /// Captured headers, in configuration order; absent headers are not listed.
    pub request_headers: Vec<(String, String)>,
    pub response_headers: Vec<(String, String)>,
}

/// The JSON object for `entry`: configured fields in order, then the captured header objects.
pub fn to_json(settings: &Settings, entry: &Entry) -> Result<String, serde_json::Error> {
    let mut buf = Vec::with_capacity(512);
    let mut ser = serde_json::Serializer::new(&mut buf);
    let mut map = ser.serialize_map(None)?;
    for &field in &settings.fields {
        let key = field.name();
        match field {
            Field::StartTime => {
                if let Some(nanos) = entry.start_nanos {
                    map.serialize_entry(key, &rfc3339::format_millis(nanos))?;
                }
            }
            Field::Status => map.serialize_entry(key, &entry.status)?,
            Field::RequestBytes => opt(&mut map, key, &entry.request_bytes)?,
            Field::ResponseBytes => opt(&mut map, key, &entry.response_bytes)?,
            Field::DurationMs => opt(&mut map, key, &entry.duration_ms)?,
            Field::Method => opt(&mut map, key, &entry.method)?,
            Field::Authority => opt(&mut map, key, &entry.authority)?,
            Field::Path => opt(&mut map, key, &entry.path)?,
            Field::Protocol => opt(&mut map, key, &entry.protocol)?,
            Field::ResponseFlags => opt(&mut map, key, &entry.response_flags)?,
            Field::ResponseCodeDetails => opt(&mut map, key, &entry.response_code_details)?,
            Field::UpstreamCluster => opt(&mut map, key, &entry.upstream_cluster)?,
            Field::UpstreamHost => opt(&mut map, key, &entry.upstream_host)?,
            Field::RequestId => opt(&mut map, key, &entry.request_id)?,
            Field::DownstreamAddress => opt(&mut map, key, &entry.downstream_address)?,
            Field::UserAgent => opt(&mut map, key, &entry.user_agent)?,
            Field::Plugin => opt(&mut map, key, &entry.plugin)?,
        }
    }
    if !settings.request_headers.is_empty() {
        map.serialize_entry("request_headers", &Pairs(&entry.request_headers))?;
    }
    if !settings.response_headers.is_empty() {
        map.serialize_entry("response_headers", &Pairs(&entry.response_headers))?;
    }
    map.end()?;
    // serde_json writes valid UTF-8; the lossy path only exists to avoid an unwrap.
    Ok(String::from_utf8(buf)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}

fn opt<M: SerializeMap, T: serde::Serialize>(
    map: &mut M,
    key: &str,
    value: &Option<T>,
) -> Result<(), M::Error> {
    match value {
        Some(v) => map.serialize_entry(key, v),
        None => Ok(()),
    }
}

/// Header pairs as a JSON object, in order.
struct Pairs<'a>(&'a [(String, String)]);

impl serde::Serialize for Pairs<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
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
        Entry {
            start_nanos: Some(1_795_309_984_123_000_000),
            method: Some("GET".into()),
            authority: Some("example.com".into()),
            path: Some("/a?b=1".into()),
            protocol: Some("HTTP/1.1".into()),
            status: 200,
            response_flags: Some("-".into()),
            response_code_details: Some("via_upstream".into()),
            request_bytes: Some(3),
            response_bytes: Some(5),
            duration_ms: Some(12),
            upstream_cluster: Some("backend".into()),
            upstream_host: Some("10.0.0.2:8080".into()),
            request_id: Some("r1".into()),
            downstream_address: Some("10.0.0.1:5555".into()),
            user_agent: Some("curl/8".into()),
            plugin: Some("logger".into()),
            request_headers: vec![("x-a".into(), "1".into())],
            response_headers: vec![],
        }
    }

    #[test]
    fn default_fields_in_order() {
        let s = settings(r#"{"request_headers":["x-a"],"response_headers":["x-b"]}"#);
        let line = to_json(&s, &full_entry()).unwrap();
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
        let entry = Entry {
            method: Some("POST".into()),
            ..Entry::default()
        };
        assert_eq!(
            to_json(&s, &entry).unwrap(),
            r#"{"status":0,"method":"POST"}"#
        );
    }

    #[test]
    fn values_are_json_escaped() {
        let s = settings(r#"{"fields":["path"],"request_headers":["x-q"]}"#);
        let entry = Entry {
            path: Some("/\"quoted\"\\\n\u{1}".into()),
            request_headers: vec![("x-q".into(), "caf\\xe9 \u{e9}".into())],
            ..Entry::default()
        };
        let line = to_json(&s, &entry).unwrap();
        assert_eq!(
            line,
            r#"{"path":"/\"quoted\"\\\n\u0001","request_headers":{"x-q":"caf\\xe9 é"}}"#
        );
        let back: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(back["path"], "/\"quoted\"\\\n\u{1}");
    }
}
