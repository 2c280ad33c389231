//! Values the test API exchanges with the harness: messages, actions, logs, metrics, callouts.

use std::time::Duration;

/// Header list in order, pseudo-headers included (Envoy's header map order).
pub type Headers = Vec<(String, Vec<u8>)>;

/// What a filter callback told the host to do with the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Continue: the data goes on to the next filter / upstream / client.
    Continue,
    /// Pause / StopIteration: the filter holds the stream (until `proxy_continue_stream`).
    Pause,
}

impl Action {
    pub(crate) fn from_raw(v: i32) -> Action {
        // 0 Continue, 2 ContinueAndEndStream; StopIteration (1) and the StopAll variants hold.
        if v == 0 || v == 2 {
            Action::Continue
        } else {
            Action::Pause
        }
    }
}

/// Envoy log levels as numbered by the ABI (trace 0 .. critical 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Trace = 0,
    Debug = 1,
    Info = 2,
    Warn = 3,
    Error = 4,
    Critical = 5,
}

impl Level {
    pub fn from_raw(v: i32) -> Option<Level> {
        Some(match v {
            0 => Level::Trace,
            1 => Level::Debug,
            2 => Level::Info,
            3 => Level::Warn,
            4 => Level::Error,
            5 => Level::Critical,
            _ => return None,
        })
    }
    pub fn name(self) -> &'static str {
        match self {
            Level::Trace => "trace",
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
            Level::Critical => "critical",
        }
    }
    pub fn parse(s: &str) -> Option<Level> {
        Some(match s.to_ascii_lowercase().as_str() {
            "trace" => Level::Trace,
            "debug" => Level::Debug,
            "info" => Level::Info,
            "warn" | "warning" => Level::Warn,
            "error" => Level::Error,
            "critical" => Level::Critical,
            _ => return None,
        })
    }
}

/// One line the module logged (`proxy_log`, or stdout/stderr through WASI `fd_write`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    pub level: Level,
    pub message: String,
}

/// Kind of a user metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    Counter,
    Gauge,
    Histogram,
}

/// An HTTP message: headers (with pseudo-headers), body and trailers.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Message {
    pub headers: Headers,
    pub body: Vec<u8>,
    pub trailers: Headers,
}

impl Message {
    /// `:status` as a number.
    pub fn status(&self) -> Option<u16> {
        self.header(":status").and_then(|s| s.parse().ok())
    }
    /// First value of a header (names are case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        find_all(&self.headers, name).next()
    }
    /// Every value of a header, in order.
    pub fn header_all(&self, name: &str) -> Vec<&str> {
        find_all(&self.headers, name).collect()
    }
    /// First value of a trailer.
    pub fn trailer(&self, name: &str) -> Option<&str> {
        find_all(&self.trailers, name).next()
    }
    /// The body as text (lossy).
    pub fn body_str(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

fn find_all<'a>(h: &'a Headers, name: &str) -> impl Iterator<Item = &'a str> {
    let name = name.to_ascii_lowercase();
    h.iter()
        .filter(move |(k, _)| *k == name)
        .filter_map(|(_, v)| std::str::from_utf8(v).ok())
}

pub(crate) fn lower_headers<K: AsRef<str>, V: AsRef<[u8]>>(h: &[(K, V)]) -> Headers {
    h.iter()
        .map(|(k, v)| (k.as_ref().to_ascii_lowercase(), v.as_ref().to_vec()))
        .collect()
}

/// A request the test sends through the filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub headers: Headers,
    pub body: Vec<u8>,
    pub trailers: Headers,
}

impl Request {
    /// A request with Envoy's pseudo-headers: `:authority` (example.com), `:path`, `:method`, `:scheme` (http).
    pub fn new(method: &str, path: &str) -> Request {
        let h = |k: &str, v: &str| (k.to_string(), v.as_bytes().to_vec());
        Request {
            headers: vec![
                h(":authority", "example.com"),
                h(":path", path),
                h(":method", method),
                h(":scheme", "http"),
            ],
            body: Vec::new(),
            trailers: Vec::new(),
        }
    }
    pub fn get(path: &str) -> Request {
        Request::new("GET", path)
    }
    pub fn post(path: &str) -> Request {
        Request::new("POST", path)
    }
    /// Appends a header (a pseudo-header replaces the default one; `host` is `:authority`, as
    /// Envoy's HTTP/1.1 codec makes it).
    pub fn header(mut self, name: &str, value: impl AsRef<[u8]>) -> Request {
        set_or_add(&mut self.headers, name, value.as_ref());
        self
    }
    pub fn authority(self, authority: &str) -> Request {
        self.header(":authority", authority)
    }
    pub fn body(mut self, body: impl AsRef<[u8]>) -> Request {
        self.body = body.as_ref().to_vec();
        self
    }
    pub fn trailer(mut self, name: &str, value: impl AsRef<[u8]>) -> Request {
        self.trailers
            .push((name.to_ascii_lowercase(), value.as_ref().to_vec()));
        self
    }
}

fn set_or_add(h: &mut Headers, name: &str, value: &[u8]) {
    let mut name = name.to_ascii_lowercase();
    if name == "host" {
        name = ":authority".into();
    }
    if name.starts_with(':') {
        if let Some(slot) = h.iter_mut().find(|(k, _)| *k == name) {
            slot.1 = value.to_vec();
            return;
        }
    }
    h.push((name, value.to_vec()));
}

/// A response: the upstream's answer, or the answer to an HTTP callout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub headers: Headers,
    pub body: Vec<u8>,
    pub trailers: Headers,
}

impl Response {
    pub fn status(code: u16) -> Response {
        Response {
            headers: vec![(":status".to_string(), code.to_string().into_bytes())],
            body: Vec::new(),
            trailers: Vec::new(),
        }
    }
    pub fn header(mut self, name: &str, value: impl AsRef<[u8]>) -> Response {
        set_or_add(&mut self.headers, name, value.as_ref());
        self
    }
    pub fn body(mut self, body: impl AsRef<[u8]>) -> Response {
        self.body = body.as_ref().to_vec();
        self
    }
    pub fn trailer(mut self, name: &str, value: impl AsRef<[u8]>) -> Response {
        self.trailers
            .push((name.to_ascii_lowercase(), value.as_ref().to_vec()));
        self
    }
}

/// A reply the filter sent with `proxy_send_local_response` (or the host's fail-closed 503).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalReply {
    pub status: u16,
    pub headers: Headers,
    pub body: Vec<u8>,
    pub details: String,
    /// gRPC status, None for -1.
    pub grpc_status: Option<i32>,
}

impl LocalReply {
    /// The message the client receives: `:status`, the filter's headers, then Envoy's
    /// `content-length` / `content-type: text/plain` for a non-empty body.
    pub(crate) fn to_message(&self) -> Message {
        let mut headers: Headers = vec![(":status".into(), self.status.to_string().into_bytes())];
        headers.extend(self.headers.iter().cloned());
        if !self.body.is_empty() {
            headers.push((
                "content-length".into(),
                self.body.len().to_string().into_bytes(),
            ));
            if !headers.iter().any(|(k, _)| k == "content-type") {
                headers.push(("content-type".into(), b"text/plain".to_vec()));
            }
        }
        if let Some(g) = self.grpc_status {
            headers.push(("grpc-status".into(), g.to_string().into_bytes()));
        }
        Message {
            headers,
            body: self.body.clone(),
            trailers: Vec::new(),
        }
    }
}

/// The outcome of `Plugin::send`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    /// What the upstream received; None when the filter replied locally.
    pub upstream: Option<Message>,
    /// What the client got.
    pub client: Message,
    pub local_reply: Option<LocalReply>,
}

/// An HTTP callout the filter dispatched with `proxy_http_call`, waiting for the test's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpCall {
    pub token: u32,
    pub cluster: String,
    pub headers: Headers,
    pub body: Vec<u8>,
    pub trailers: Headers,
    /// None for 0 (no timeout).
    pub timeout: Option<Duration>,
}

impl HttpCall {
    pub fn header(&self, name: &str) -> Option<&str> {
        find_all(&self.headers, name).next()
    }
}

/// A gRPC call or stream the filter opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrpcCall {
    pub token: u32,
    pub cluster: String,
    pub service: String,
    pub method: String,
    pub initial_metadata: Headers,
    /// Unary: the request message. Streams: empty (see `sent`).
    pub message: Vec<u8>,
    pub timeout: Option<Duration>,
    /// True for `proxy_grpc_stream`.
    pub is_stream: bool,
    /// Messages the filter sent on a stream with `proxy_grpc_send`.
    pub sent: Vec<Vec<u8>>,
    /// The filter half-closed (`end_of_stream` on send, or `proxy_grpc_close`).
    pub closed_by_filter: bool,
}

/// Shows header values and bodies as text, so assertion diffs are readable.
struct Text<'a>(&'a [u8]);
impl std::fmt::Debug for Text<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self.0))
    }
}
struct Map<'a>(&'a Headers);
impl std::fmt::Debug for Map<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(k, v)| (k, Text(v))))
            .finish()
    }
}
impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Message")
            .field("headers", &Map(&self.headers))
            .field("body", &Text(&self.body))
            .field("trailers", &Map(&self.trailers))
            .finish()
    }
}
