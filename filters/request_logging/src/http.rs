//! The per-request context: captures what the log line needs as the request goes by, and
//! writes the line at `on_log`, after the response, a local reply or a reset.

use crate::config::HeaderSpec;
use crate::fields::Field;
use crate::pairs::HeaderPairs;
use crate::record::{self, Entry, Value};
use crate::status::parse_code;
use crate::{flags, rfc3339, sampling, text, RequestLogging};
use filter_common::proxy_wasm::hostcalls;
use filter_common::proxy_wasm::traits::{Context, HttpContext};
use filter_common::proxy_wasm::types::{Action, MapType};
use filter_common::{properties, time};
use std::rc::Rc;

pub struct Http {
    plugin: Rc<RequestLogging>,
    context_id: u32,
    /// Host clock when the request headers arrived.
    start_nanos: Option<u64>,
    /// Decided from the request id once the request headers are known.
    sampled: bool,
    /// Whether this filter's own header callbacks ran (else the access-log phase fills in).
    saw_request: bool,
    saw_response: bool,
    /// Final status; 0 while no response is known.
    status: u16,
    request_bytes: u64,
    response_bytes: u64,
    entry: Entry,
}

impl Http {
    pub fn new(plugin: Rc<RequestLogging>, context_id: u32) -> Self {
        Http {
            plugin,
            context_id,
            start_nanos: None,
            sampled: false,
            saw_request: false,
            saw_response: false,
            status: 0,
            request_bytes: 0,
            response_bytes: 0,
            entry: Entry::default(),
        }
    }

    /// Sets a text field from bytes of the wire or the host, if the field is configured.
    fn put(&mut self, field: Field, bytes: Option<&[u8]>) {
        let settings = &self.plugin.settings;
        if settings.has(field) {
            let value = bytes.map(|b| Value::Text(text::clean(b, settings.max_value_bytes)));
            self.entry.set(field, value);
        }
    }

    /// Takes what the line needs from the request headers; nothing beyond the request id when
    /// the request is sampled out.
    fn capture_request(&mut self, pairs: &HeaderPairs) {
        let plugin = Rc::clone(&self.plugin);
        let settings = &plugin.settings;
        let id = pairs.first("x-request-id");
        self.sampled = match id {
            Some(id) => sampling::keep(id, settings.sample_rate),
            // Without an id no decision can be shared with other proxies: sample at random.
            None => {
                let seed = time::now_nanos().unwrap_or(0) ^ (u64::from(self.context_id) << 32);
                sampling::keep_seeded(seed, settings.sample_rate)
            }
        };
        if !self.sampled {
            return;
        }
        self.put(Field::Method, pairs.first(":method"));
        self.put(Field::Authority, pairs.first(":authority"));
        self.put(Field::UserAgent, pairs.first("user-agent"));
        self.put(Field::RequestId, id);
        let path = pairs.first(":path").map(|path| {
            let query = path.iter().position(|&b| b == b'?');
            match (settings.include_query, query) {
                (false, Some(at)) => path.get(..at).unwrap_or(path),
                _ => path,
            }
        });
        self.put(Field::Path, path);
        self.entry.request_headers =
            capture_headers(pairs, &settings.request_headers, settings.max_value_bytes);
    }

    fn capture_response(&mut self, pairs: &HeaderPairs) {
        self.status = pairs.first(":status").and_then(parse_code).unwrap_or(0);
        if self.sampled {
            let settings = &self.plugin.settings;
            self.entry.response_headers =
                capture_headers(pairs, &settings.response_headers, settings.max_value_bytes);
        }
    }

    fn finish(&mut self) {
        let now = time::now_nanos();
        // Callbacks that never ran (a local reply or reset before this filter was reached):
        // Envoy still exposes the headers and the final status to the access-log phase.
        if !self.saw_request {
            self.capture_request(&HeaderPairs::read(MapType::HttpRequestHeaders));
        }
        if !self.saw_response {
            let pairs = HeaderPairs::read(MapType::HttpResponseHeaders);
            if pairs.first(":status").is_some() {
                self.capture_response(&pairs);
            }
        }
        if self.status == 0 {
            let code = properties::get_int(&["response", "code"]).unwrap_or(0);
            self.status = u16::try_from(code).unwrap_or(0);
        }
        let start = self.start_nanos.or_else(|| {
            properties::get_int(&["request", "time"]).and_then(|t| u64::try_from(t).ok())
        });
        let duration_ms = match (start, now) {
            (Some(start), Some(now)) => Some(now.saturating_sub(start) / 1_000_000),
            _ => None,
        };

        let plugin = Rc::clone(&self.plugin);
        let metrics = &plugin.metrics;
        metrics.count_status(self.status);
        if let Some(ms) = duration_ms {
            metrics.duration_ms.record(ms);
        }
        if !plugin.settings.status_selected(self.status) {
            metrics.filtered_out.inc();
            return;
        }
        if !self.sampled {
            metrics.sampled_out.inc();
            return;
        }

        let e = &mut self.entry;
        e.set(Field::Status, Some(Value::Num(u64::from(self.status))));
        e.set(
            Field::StartTime,
            start.map(|n| Value::Text(rfc3339::format_millis(n))),
        );
        e.set(Field::DurationMs, duration_ms.map(Value::Num));
        // Body bytes that passed this filter; the host's count when this filter saw nothing.
        let request_bytes = match self.saw_request {
            true => self.request_bytes,
            false => host_size(&["request", "size"]),
        };
        let response_bytes = match self.saw_response {
            true => self.response_bytes,
            false => host_size(&["response", "size"]),
        };
        e.set(Field::RequestBytes, Some(Value::Num(request_bytes)));
        e.set(Field::ResponseBytes, Some(Value::Num(response_bytes)));
        e.set(Field::Plugin, plugin.plugin_name.clone().map(Value::Text));
        self.fill_from_properties();
        let line = record::to_json(&plugin.settings, &self.entry);
        let _ = hostcalls::log(plugin.settings.log_level, &line);
        metrics.logged.inc();
    }

    /// Values only the host knows, read now and only for configured fields.
    fn fill_from_properties(&mut self) {
        for (field, path) in [
            (Field::Protocol, &["request", "protocol"][..]),
            (Field::ResponseCodeDetails, &["response", "code_details"]),
            (Field::UpstreamHost, &["upstream", "address"]),
            (Field::DownstreamAddress, &["source", "address"]),
        ] {
            if self.plugin.settings.has(field) {
                self.put(field, properties::get(path).as_deref());
            }
        }
        if self.plugin.settings.has(Field::UpstreamCluster) {
            // `xds.cluster_name` since Envoy 1.33, `cluster_name` before.
            let cluster = properties::get(&["xds", "cluster_name"])
                .or_else(|| properties::get(&["cluster_name"]));
            self.put(Field::UpstreamCluster, cluster.as_deref());
        }
        if self.plugin.settings.has(Field::ResponseFlags) {
            let flags = properties::get_int(&["response", "flags"]);
            self.entry.set(
                Field::ResponseFlags,
                flags.map(|f| Value::Text(flags::to_short_string(f as u64))),
            );
        }
    }
}

fn host_size(path: &[&str]) -> u64 {
    properties::get_int(path)
        .and_then(|n| u64::try_from(n).ok())
        .unwrap_or(0)
}

/// The configured headers present in `pairs`, in configuration order. Repeated headers are
/// joined with `, `; redacted ones show only that they were present.
fn capture_headers(pairs: &HeaderPairs, specs: &[HeaderSpec], max: usize) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for spec in specs {
        let mut values = pairs.values(&spec.name);
        let Some(first) = values.next() else {
            continue;
        };
        let value = if spec.redact {
            text::REDACTED.to_string()
        } else {
            let mut joined = text::escape_invalid_utf8(first);
            for more in values {
                if joined.len() > max {
                    break;
                }
                joined.push_str(", ");
                joined.push_str(&text::escape_invalid_utf8(more));
            }
            text::truncate(joined, max)
        };
        out.push((spec.name.clone(), value));
    }
    out
}

impl Context for Http {}

impl HttpContext for Http {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        self.start_nanos = time::now_nanos();
        self.saw_request = true;
        self.capture_request(&HeaderPairs::read(MapType::HttpRequestHeaders));
        Action::Continue
    }

    fn on_http_request_body(&mut self, body_size: usize, _end_of_stream: bool) -> Action {
        self.request_bytes = self.request_bytes.saturating_add(body_size as u64);
        Action::Continue
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        self.saw_response = true;
        self.capture_response(&HeaderPairs::read(MapType::HttpResponseHeaders));
        Action::Continue
    }

    fn on_http_response_body(&mut self, body_size: usize, _end_of_stream: bool) -> Action {
        self.response_bytes = self.response_bytes.saturating_add(body_size as u64);
        Action::Continue
    }

    fn on_log(&mut self) {
        self.finish();
    }
}
