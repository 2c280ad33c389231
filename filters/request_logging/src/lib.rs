//! request_logging: one structured JSON line per finished request, written at `on_log` (after
//! the response, a local reply or a reset) to the proxy log, or stored as filter state for
//! Envoy's own access log to print, with header capture, redaction, deterministic sampling,
//! status filtering and metrics. See README.md.
//!
//! The root context validates the configuration once; each stream captures what its line needs
//! as the request goes by and writes the line at `on_log`.

pub mod config;
pub mod record;
pub mod url;

use config::{Config, Field, HeaderSpec, Output, SampleBy, Settings, Treatment};
use filter_common::headers::{self, MapType};
use filter_common::metrics::{Counter, Histogram};
use filter_common::{logging, properties};
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};
use record::{Entry, Value};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{SystemTime, UNIX_EPOCH};

/// Room for a typical line (the example line of README.md is about 700 bytes).
const LINE_CAPACITY: usize = 2048;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> {
        Box::new(RequestLoggingRoot::new())
    });
}}

/// What every request of one plugin configuration shares.
struct Shared {
    settings: Settings,
    metrics: Metrics,
    /// Read once: it does not change for the life of the configuration.
    plugin_name: Option<String>,
    /// Whether the host names the cluster `xds.cluster_name` (Envoy >= 1.33) or `cluster_name`,
    /// once a request has shown it: then only that name is read, also when the request has no
    /// cluster (a direct response), rather than both.
    cluster_attribute: Cell<Option<bool>>,
    /// The line is written here, one request at a time: its capacity is kept across requests.
    line: RefCell<Vec<u8>>,
}

/// The root context: validates the configuration; every stream shares the result.
struct RequestLoggingRoot {
    shared: Rc<Shared>,
}

impl RequestLoggingRoot {
    fn new() -> Self {
        RequestLoggingRoot {
            shared: Rc::new(Shared {
                settings: Settings::default(),
                // Metrics do not depend on the configuration: defined once per VM.
                metrics: Metrics::define(),
                plugin_name: None,
                cluster_attribute: Cell::default(),
                line: RefCell::default(),
            }),
        }
    }
}

impl Context for RequestLoggingRoot {}

impl RootContext for RequestLoggingRoot {
    fn on_configure(&mut self, _plugin_configuration_size: usize) -> bool {
        logging::follow_host_level();
        let settings = filter_common::config::load(self.get_plugin_configuration(), |c: Config| {
            Settings::from_config(c).map_err(|e| e.to_string())
        });
        let Some(settings) = settings else {
            return false;
        };
        let plugin_name = properties::plugin_name()
            .map(|n| record::clean(n.as_bytes(), settings.max_value_bytes));
        self.shared = Rc::new(Shared {
            settings,
            metrics: self.shared.metrics,
            plugin_name,
            cluster_attribute: Cell::default(),
            line: RefCell::new(Vec::with_capacity(LINE_CAPACITY)),
        });
        true
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(RequestLogging {
            shared: Rc::clone(&self.shared),
            start_nanos: None,
            sampled: false,
            saw_request: false,
            saw_response: false,
            status: 0,
            request_bytes: 0,
            response_bytes: 0,
            entry: Entry::default(),
        }))
    }
}

/// One request: what its line needs, captured as the request goes by.
struct RequestLogging {
    shared: Rc<Shared>,
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

impl Context for RequestLogging {}

impl HttpContext for RequestLogging {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        self.start_nanos = unix_nanos(self.get_current_time());
        self.saw_request = true;
        self.capture_request(&headers::pairs(MapType::HttpRequestHeaders));
        Action::Continue
    }

    fn on_http_request_body(&mut self, body_size: usize, _end_of_stream: bool) -> Action {
        self.request_bytes = self.request_bytes.saturating_add(body_size as u64);
        Action::Continue
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        self.saw_response = true;
        self.capture_response(&headers::pairs(MapType::HttpResponseHeaders));
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

impl RequestLogging {
    /// Sets a text field from bytes of the wire or the host, if the field is configured.
    fn put(&mut self, field: Field, bytes: Option<&[u8]>) {
        let settings = &self.shared.settings;
        if settings.has(field) {
            let value = bytes.map(|b| Value::Text(record::clean(b, settings.max_value_bytes)));
            self.entry.set(field, value);
        }
    }

    /// Takes what the line needs from the request headers; nothing beyond the request id when
    /// the request is sampled out.
    fn capture_request(&mut self, pairs: &[(String, Vec<u8>)]) {
        let shared = Rc::clone(&self.shared);
        let settings = &shared.settings;
        let id = first(pairs, "x-request-id");
        self.sampled = match (settings.sample_by, id) {
            (SampleBy::RequestId, Some(id)) => sampling::keep(id, settings.sample_rate),
            // `random`, or no id whose decision other proxies could share.
            _ => sampling::keep_random(settings.sample_rate),
        };
        if !self.sampled {
            return;
        }
        self.put(Field::Method, first(pairs, ":method"));
        self.put(Field::Authority, first(pairs, ":authority"));
        self.put(Field::UserAgent, first(pairs, "user-agent"));
        self.put(Field::RequestId, id);
        let path = first(pairs, ":path").map(|path| match settings.include_query {
            true => url::redact(path, &settings.secret_params),
            false => path.split(|&b| b == b'?').next().unwrap_or(path).into(),
        });
        self.put(Field::Path, path.as_deref());
        self.entry.request_headers = capture_headers(pairs, &settings.request_headers, settings);
    }

    fn capture_response(&mut self, pairs: &[(String, Vec<u8>)]) {
        self.status = first(pairs, ":status")
            .and_then(config::parse_status)
            .unwrap_or(0);
        if self.sampled {
            let settings = &self.shared.settings;
            self.entry.response_headers =
                capture_headers(pairs, &settings.response_headers, settings);
        }
    }

    /// Counts the request, and writes its line when it passes `only_status` and sampling.
    fn finish(&mut self) {
        let now = unix_nanos(self.get_current_time());
        // Callbacks that never ran (a local reply or reset before this filter was reached):
        // Envoy still exposes the headers and the final status to the access-log phase. After
        // a reset or a client disconnect there is no response map: a host may refuse it, and
        // the SDK's getters trap on that (proxy-wasm-rust-sdk #82), filter_common's do not.
        if !self.saw_request {
            self.capture_request(&headers::pairs(MapType::HttpRequestHeaders));
        }
        if !self.saw_response {
            let pairs = headers::pairs(MapType::HttpResponseHeaders);
            if first(&pairs, ":status").is_some() {
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

        let shared = Rc::clone(&self.shared);
        let metrics = &shared.metrics;
        metrics.count_status(self.status);
        if let Some(ms) = duration_ms {
            metrics.duration_ms.record(ms);
        }
        if !shared.settings.status_selected(self.status) {
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
            start.map(|n| Value::Text(record::rfc3339_millis(n))),
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
        e.set(Field::Plugin, shared.plugin_name.clone().map(Value::Text));
        self.fill_from_properties();
        // Only `on_log` borrows it, and no host call re-enters the module there.
        let Ok(mut line) = shared.line.try_borrow_mut() else {
            return;
        };
        line.clear();
        if let Err(e) = self.entry.write_json(&shared.settings, &mut line) {
            log::error!("cannot write the log line: {e}");
            return;
        }
        let written = match shared.settings.output {
            // Written whatever the SDK's level: Envoy drops it when its `wasm` logger is above
            // `log_level`. Envoy accepts every level this filter configures. serde_json writes
            // UTF-8 only.
            Output::Log => std::str::from_utf8(&line).is_ok_and(|text| {
                proxy_wasm::hostcalls::log(shared.settings.log_level, text).is_ok()
            }),
            // Envoy stores it as filter state `wasm.request_logging` for the rest of the stream;
            // the HCM's access loggers run after this `on_log` and print it (see README.md,
            // "Output to Envoy's access log").
            Output::FilterState => properties::set(config::FILTER_STATE_PROPERTY, &line),
        };
        if written {
            metrics.logged.inc();
        } else {
            log::error!("cannot write the log line");
        }
    }

    /// Values only the host knows, read now and only for configured fields.
    fn fill_from_properties(&mut self) {
        for (field, path) in [
            (Field::Protocol, &["request", "protocol"][..]),
            (Field::ResponseCodeDetails, &["response", "code_details"]),
            (Field::UpstreamHost, &["upstream", "address"]),
            (Field::DownstreamAddress, &["source", "address"]),
        ] {
            if self.shared.settings.has(field) {
                self.put(field, properties::get(path).as_deref());
            }
        }
        if self.shared.settings.has(Field::UpstreamCluster) {
            // `xds.cluster_name` since Envoy 1.33, `cluster_name` before.
            const XDS: &[&str] = &["xds", "cluster_name"];
            const LEGACY: &[&str] = &["cluster_name"];
            let known = &self.shared.cluster_attribute;
            let cluster = match known.get() {
                Some(true) => properties::get(XDS),
                Some(false) => properties::get(LEGACY),
                None => match properties::get(XDS) {
                    Some(cluster) => {
                        known.set(Some(true));
                        Some(cluster)
                    }
                    None => {
                        let legacy = properties::get(LEGACY);
                        if legacy.is_some() {
                            known.set(Some(false));
                        }
                        legacy
                    }
                },
            };
            self.put(Field::UpstreamCluster, cluster.as_deref());
        }
        if self.shared.settings.has(Field::ResponseFlags) {
            let flags = properties::get_int(&["response", "flags"]);
            self.entry.set(
                Field::ResponseFlags,
                flags.map(|f| Value::Text(record::response_flags(f as u64))),
            );
        }
    }
}

/// The first value of `name` in a header map read as pairs.
fn first<'a>(pairs: &'a [(String, Vec<u8>)], name: &str) -> Option<&'a [u8]> {
    pairs
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_slice())
}

/// The configured headers present in `pairs`, in configuration order. Repeated headers are
/// joined with `, `; redacted ones show only that they were present; URLs lose their secrets.
fn capture_headers(
    pairs: &[(String, Vec<u8>)],
    specs: &[HeaderSpec],
    settings: &Settings,
) -> Vec<(String, String)> {
    let max = settings.max_value_bytes;
    let text = |spec: &HeaderSpec, value: &[u8]| match spec.treatment {
        Treatment::Url => headers::escape(&url::redact(value, &settings.secret_params)),
        _ => headers::escape(value),
    };
    let mut out = Vec::new();
    for spec in specs {
        let mut values = pairs
            .iter()
            .filter(|(n, _)| *n == spec.name)
            .map(|(_, v)| v);
        let Some(first) = values.next() else {
            continue;
        };
        let value = if spec.treatment == Treatment::Redacted {
            record::REDACTED.to_string()
        } else {
            let mut joined = text(spec, first);
            for more in values {
                // Enough to fill the limit: the rest would be cut anyway.
                if joined.len() > max {
                    break;
                }
                joined.push_str(", ");
                joined.push_str(&text(spec, more));
            }
            record::truncate(joined, max)
        };
        out.push((spec.name.clone(), value));
    }
    out
}

fn unix_nanos(time: SystemTime) -> Option<u64> {
    let since_epoch = time.duration_since(UNIX_EPOCH).ok()?;
    u64::try_from(since_epoch.as_nanos()).ok()
}

fn host_size(path: &[&str]) -> u64 {
    properties::get_int(path)
        .and_then(|n| u64::try_from(n).ok())
        .unwrap_or(0)
}

/// The filter's metrics, all under the `request_logging.` prefix (Envoy shows them as
/// `wasmcustom.request_logging.*`).
#[derive(Clone, Copy)]
struct Metrics {
    /// Requests by final status class: `status_none` (no response), `status_1xx` ..
    /// `status_5xx`, `status_other`.
    by_class: [Counter; 7],
    /// Lines written.
    logged: Counter,
    /// Requests not logged because of `sample_rate`.
    sampled_out: Counter,
    /// Requests not logged because their status is not in `only_status`.
    filtered_out: Counter,
    /// Request duration in milliseconds, for every request (logged or not).
    duration_ms: Histogram,
}

impl Metrics {
    fn define() -> Self {
        let counter = |name: &str| Counter::define(&format!("request_logging.{name}"));
        Metrics {
            by_class: [
                "status_none",
                "status_1xx",
                "status_2xx",
                "status_3xx",
                "status_4xx",
                "status_5xx",
                "status_other",
            ]
            .map(counter),
            logged: counter("logged"),
            sampled_out: counter("sampled_out"),
            filtered_out: counter("filtered_out"),
            duration_ms: Histogram::define("request_logging.duration_ms"),
        }
    }

    fn count_status(&self, status: u16) {
        let class = match status {
            0 => 0,
            100..=599 => usize::from(status / 100),
            _ => 6,
        };
        if let Some(counter) = self.by_class.get(class) {
            counter.inc();
        }
    }
}

/// Deterministic sampling on the request id: every proxy on a request's path (same
/// `x-request-id`) makes the same decision, so a request is logged everywhere or nowhere. The
/// hash is public, so a client that sets the id chooses the decision: `sample_by: "random"`
/// decides with [`sampling::keep_random`] instead.
///
/// The decision is `score(id) < sample_rate`, where `score` maps the id to [0, 1) with
/// FNV-1a (64 bit) followed by the SplitMix64 finalizer (FNV alone leaves the high bits of
/// similar ids, such as UUIDs differing in one digit, poorly mixed).
mod sampling {
    use std::hash::{BuildHasher, RandomState};

    /// Where `id` falls in [0, 1).
    pub fn score(id: &[u8]) -> f64 {
        fraction(mix(fnv1a(id)))
    }

    /// True when the request with this id is kept at `rate` (0.0 keeps none, 1.0 keeps all).
    pub fn keep(id: &[u8], rate: f64) -> bool {
        rate >= 1.0 || (rate > 0.0 && score(id) < rate)
    }

    /// A decision nobody can predict or influence: each `RandomState` hashes with a new key,
    /// derived from the host's random source (WASI `random_get`, read once per VM).
    pub fn keep_random(rate: f64) -> bool {
        rate >= 1.0 || (rate > 0.0 && fraction(RandomState::new().hash_one(0u8)) < rate)
    }

    fn fraction(hash: u64) -> f64 {
        // 53 bits fit a f64 mantissa exactly; the cast is lossless.
        (hash >> 11) as f64 / (1u64 << 53) as f64
    }

    fn fnv1a(bytes: &[u8]) -> u64 {
        const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
        const PRIME: u64 = 0x0000_0100_0000_01b3;
        bytes
            .iter()
            .fold(OFFSET, |h, &b| (h ^ u64::from(b)).wrapping_mul(PRIME))
    }

    fn mix(mut z: u64) -> u64 {
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn fnv_reference_values() {
            // Published FNV-1a 64 test vectors.
            assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
            assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
            assert_eq!(fnv1a(b"foobar"), 0x85944171f73967e8);
        }

        #[test]
        fn extremes_and_determinism() {
            for id in [&b""[..], b"r1", b"0f8fad5b-d9cb-469f-a165-70867728950e"] {
                assert!(keep(id, 1.0));
                assert!(!keep(id, 0.0));
                assert_eq!(keep(id, 0.5), keep(id, 0.5));
                let s = score(id);
                assert!((0.0..1.0).contains(&s), "{s}");
            }
        }

        #[test]
        fn random_decisions_follow_the_rate() {
            let kept = (0..10_000).filter(|_| keep_random(0.3)).count();
            assert!((2_770..3_230).contains(&kept), "{kept}");
            assert!((0..100).all(|_| keep_random(1.0) && !keep_random(0.0)));
        }

        #[test]
        fn monotonic_in_rate() {
            // A request kept at some rate is kept at every higher rate.
            for i in 0..1000 {
                let id = format!("req-{i}");
                let s = score(id.as_bytes());
                assert!(keep(id.as_bytes(), s + 1e-9));
                assert!(!keep(id.as_bytes(), s));
            }
        }

        #[test]
        fn rate_is_respected_on_sequential_ids() {
            // Sequential ids are the hard case for a weak hash.
            let n = 20_000;
            for rate in [0.01, 0.1, 0.5, 0.9] {
                let kept = (0..n)
                    .filter(|i| {
                        keep(
                            format!("7c9e6679-7425-40de-944b-e07fc1f9{i:04}").as_bytes(),
                            rate,
                        )
                    })
                    .count();
                let expected = rate * n as f64;
                // 5 standard deviations of a binomial.
                let tolerance = 5.0 * (n as f64 * rate * (1.0 - rate)).sqrt();
                assert!(
                    (kept as f64 - expected).abs() < tolerance,
                    "rate {rate}: kept {kept} of {n}"
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_and_every_value_in_order() {
        let pairs: Vec<(String, Vec<u8>)> = vec![
            (":method".into(), b"GET".to_vec()),
            ("x-a".into(), b"1".to_vec()),
            ("x-bin".into(), b"\xff\x00".to_vec()),
            ("x-a".into(), b"2".to_vec()),
            (
                "referer".into(),
                b"https://a.example/?token=t1&q=1".to_vec(),
            ),
            ("referer".into(), b"/b?Key=k2".to_vec()),
        ];
        assert_eq!(first(&pairs, "x-a"), Some(&b"1"[..]));
        assert_eq!(first(&pairs, "x-b"), None);
        let specs = [
            HeaderSpec {
                name: "x-a".into(),
                treatment: Treatment::Plain,
            },
            HeaderSpec {
                name: "x-bin".into(),
                treatment: Treatment::Plain,
            },
            HeaderSpec {
                name: ":method".into(),
                treatment: Treatment::Redacted,
            },
            HeaderSpec {
                name: "x-missing".into(),
                treatment: Treatment::Plain,
            },
            HeaderSpec {
                name: "referer".into(),
                treatment: Treatment::Url,
            },
        ];
        assert_eq!(
            capture_headers(&pairs, &specs, &Settings::default()),
            [
                ("x-a".to_string(), "1, 2".to_string()),
                ("x-bin".into(), "\\xff\\u{0}".into()),
                (":method".into(), "[REDACTED]".into()),
                (
                    "referer".into(),
                    "https://a.example/?token=[REDACTED]&q=1, /b?Key=[REDACTED]".into()
                ),
            ]
        );
    }
}
