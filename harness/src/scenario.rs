//! Scenario files (YAML or JSON): a plugin, requests with the upstream's answers, callout
//! answers, and expectations on what the upstream and the client observe. The format is about
//! observable behaviour so the same files can run against real Envoy (see README.md).

use crate::plugin::{Plugin, PluginBuilder};
use crate::types::{Exchange, Headers, Level, Message, Request, Response};
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;
use std::fmt;
use std::path::Path;

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Scenario {
    /// Workspace filter name or `.wasm` path (the CLI argument wins).
    pub filter: Option<String>,
    pub plugin: PluginSpec,
    /// Several plugin configurations: the requests run once per entry (instead of `plugin`).
    pub plugins: Vec<PluginSpec>,
    pub node: NodeSpec,
    /// Extra attributes: path segments and a typed value.
    pub properties: Vec<PropertySpec>,
    /// Answers to HTTP callouts, by cluster (each cluster named here is known to the host).
    pub callouts: Vec<CalloutSpec>,
    pub requests: Vec<RequestSpec>,
    /// Checked once all requests ran (cumulative metrics, logs of the whole run).
    pub expect: Option<Expect>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PluginSpec {
    pub name: Option<String>,
    pub root_id: Option<String>,
    pub vm_id: Option<String>,
    /// Plugin configuration: a string is sent as is, anything else as JSON.
    pub config: Option<Value>,
    pub fail_open: bool,
    /// Clusters known to callouts besides those in `callouts`.
    pub clusters: Vec<String>,
    /// This configuration must be rejected (`proxy_on_configure` returns false) with a log line
    /// containing this text; the requests are then not sent.
    pub rejected: Option<String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NodeSpec {
    pub id: Option<String>,
    pub cluster: Option<String>,
    pub metadata: Option<Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PropertySpec {
    pub path: Vec<String>,
    pub string: Option<String>,
    pub int: Option<i64>,
    pub bool: Option<bool>,
    pub double: Option<f64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalloutSpec {
    pub cluster: String,
    #[serde(default)]
    pub response: Option<ResponseSpec>,
    /// A connection failure instead of a response.
    #[serde(default)]
    pub fail: bool,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RequestSpec {
    pub name: Option<String>,
    pub method: Option<String>,
    pub path: Option<String>,
    pub authority: Option<String>,
    pub scheme: Option<String>,
    pub headers: HeaderList,
    pub body: Option<String>,
    pub trailers: HeaderList,
    /// The upstream's response (default: 200, no headers, no body).
    pub response: Option<ResponseSpec>,
    pub expect: Option<Expect>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ResponseSpec {
    pub status: Option<u16>,
    pub headers: HeaderList,
    pub body: Option<String>,
    pub trailers: HeaderList,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Expect {
    /// What the upstream received; `reached: false` means the filter answered locally.
    pub upstream: Option<MessageExpect>,
    /// What the client got.
    pub client: Option<MessageExpect>,
    pub logs: Vec<LogExpect>,
    /// Metric values by the name the filter defined.
    pub metrics: Vec<MetricExpect>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MessageExpect {
    pub reached: Option<bool>,
    pub status: Option<u16>,
    pub headers: HeaderExpect,
    pub body: Option<String>,
    pub body_contains: Option<String>,
    /// The body parsed as JSON contains these fields with these values (objects are matched
    /// as subsets, recursively; anything else must be equal).
    pub json_equal: Option<Value>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HeaderExpect {
    pub present: Vec<String>,
    pub absent: Vec<String>,
    /// Exact first values.
    pub equal: HeaderList,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogExpect {
    pub level: Option<String>,
    pub contains: Option<String>,
    /// No line (at `level`, if given) contains this.
    pub absent: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricExpect {
    pub name: String,
    pub value: i64,
}

/// Headers as a YAML/JSON map (order kept) or a list of `[name, value]` pairs; values may be
/// strings, numbers or booleans.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct HeaderList(pub Vec<(String, String)>);

fn scalar(v: Value) -> Result<String, String> {
    match v {
        Value::String(s) => Ok(s),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(format!("header values must be strings, got {other}")),
    }
}

impl<'de> Deserialize<'de> for HeaderList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = HeaderList;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of header names to values, or a list of [name, value] pairs")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<HeaderList, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = m.next_entry::<String, Value>()? {
                    out.push((k, scalar(v).map_err(de::Error::custom)?));
                }
                Ok(HeaderList(out))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<HeaderList, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = s.next_element::<(String, Value)>()? {
                    out.push((k, scalar(v).map_err(de::Error::custom)?));
                }
                Ok(HeaderList(out))
            }
            fn visit_unit<E: de::Error>(self) -> Result<HeaderList, E> {
                Ok(HeaderList::default())
            }
        }
        d.deserialize_any(V)
    }
}

/// Reads a scenario: `.json` as JSON, anything else as YAML. A relative `.wasm` path in
/// `filter:` is relative to the scenario file (else to the working directory).
pub fn load(path: &Path) -> Result<Scenario, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut s = parse(&text, path.extension().is_some_and(|e| e == "json"))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if let (Some(f), Some(dir)) = (&s.filter, path.parent()) {
        let beside = dir.join(f);
        if crate::workspace::is_module_path(f) && Path::new(f).is_relative() && beside.is_file() {
            s.filter = Some(beside.to_string_lossy().into_owned());
        }
    }
    Ok(s)
}

pub fn parse(text: &str, json: bool) -> Result<Scenario, String> {
    let s: Scenario = if json {
        serde_json::from_str(text).map_err(|e| e.to_string())?
    } else {
        serde_norway::from_str(text).map_err(|e| e.to_string())?
    };
    s.validate()?;
    Ok(s)
}

impl Scenario {
    /// One scenario per plugin configuration: itself, or one per `plugins` entry.
    pub fn per_plugin(&self) -> Vec<Scenario> {
        if self.plugins.is_empty() {
            return vec![self.clone()];
        }
        self.plugins
            .iter()
            .map(|p| Scenario {
                plugin: p.clone(),
                plugins: Vec::new(),
                ..self.clone()
            })
            .collect()
    }

    /// Checks how the plugin started against `plugin.rejected`: the failures (empty when the
    /// start was as expected). A start error other than a rejection is a failure.
    pub fn start_failures(&self, started: Result<(), &crate::Error>) -> Vec<String> {
        match (started, &self.plugin.rejected) {
            (Ok(()), None) => Vec::new(),
            (Ok(()), Some(want)) => vec![format!(
                "configuration: expected a rejection with a line containing {want:?}, but it was accepted"
            )],
            (Err(crate::Error::ConfigRejected { logs }), Some(want)) => {
                if logs.iter().any(|l| l.message.contains(want.as_str())) {
                    Vec::new()
                } else {
                    let seen: Vec<String> = logs
                        .iter()
                        .map(|l| format!("[{}] {}", l.level.name(), l.message))
                        .collect();
                    vec![format!(
                        "configuration: rejected, but no line contains {want:?}; lines were:\n      {}",
                        seen.join("\n      ")
                    )]
                }
            }
            (Err(e), _) => vec![format!("the plugin did not start: {e}")],
        }
    }

    /// How a run of `per_plugin()[index]` is named in reports: `plugin 'name'` or
    /// `plugins[index]`; empty for a scenario with one plugin.
    pub fn plugin_label(&self, index: usize) -> String {
        match self.plugins.get(index) {
            Some(p) => match &p.name {
                Some(n) => format!("plugin '{n}'"),
                None => format!("plugins[{index}]"),
            },
            None => String::new(),
        }
    }

    fn validate(&self) -> Result<(), String> {
        if !self.plugins.is_empty()
            && (self.plugin.name.is_some()
                || self.plugin.root_id.is_some()
                || self.plugin.vm_id.is_some()
                || self.plugin.config.is_some()
                || self.plugin.fail_open
                || !self.plugin.clusters.is_empty()
                || self.plugin.rejected.is_some())
        {
            return Err("give either `plugin` or `plugins`, not both".into());
        }
        for (i, p) in self.properties.iter().enumerate() {
            let n = [
                p.string.is_some(),
                p.int.is_some(),
                p.bool.is_some(),
                p.double.is_some(),
            ]
            .iter()
            .filter(|b| **b)
            .count();
            if n != 1 || p.path.is_empty() {
                return Err(format!("properties[{i}]: needs a non-empty path and exactly one of string, int, bool, double"));
            }
        }
        for (i, c) in self.callouts.iter().enumerate() {
            if c.fail == c.response.is_some() {
                return Err(format!(
                    "callouts[{i}] ({}): give either response or fail: true",
                    c.cluster
                ));
            }
        }
        let all = self
            .requests
            .iter()
            .filter_map(|r| r.expect.as_ref())
            .chain(self.expect.as_ref());
        for e in all {
            for l in &e.logs {
                if l.contains.is_some() == l.absent.is_some() {
                    return Err("each logs entry needs exactly one of contains, absent".into());
                }
                if let Some(level) = &l.level {
                    Level::parse(level).ok_or_else(|| format!("unknown log level '{level}' (trace, debug, info, warn, error, critical)"))?;
                }
            }
        }
        Ok(())
    }

    /// A builder for the scenario's plugin. `config` overrides the scenario's configuration.
    pub fn builder(&self, filter: &str, config: Option<Vec<u8>>) -> PluginBuilder {
        let mut b = Plugin::builder(filter);
        let p = &self.plugin;
        if let Some(n) = &p.name {
            b = b.plugin_name(n);
        }
        if let Some(r) = &p.root_id {
            b = b.root_id(r);
        }
        if let Some(v) = &p.vm_id {
            b = b.vm_id(v);
        }
        let config = config.or_else(|| {
            p.config.as_ref().map(|c| match c {
                Value::String(s) => s.as_bytes().to_vec(),
                other => other.to_string().into_bytes(),
            })
        });
        if let Some(c) = config {
            b = b.config_bytes(c);
        }
        b = b.fail_open(p.fail_open);
        for c in p
            .clusters
            .iter()
            .chain(self.callouts.iter().map(|c| &c.cluster))
        {
            b = b.cluster(c);
        }
        if let Some(id) = &self.node.id {
            b = b.node_id(id);
        }
        if let Some(c) = &self.node.cluster {
            b = b.node_cluster(c);
        }
        if let Some(m) = &self.node.metadata {
            b = b.node_metadata(m.clone());
        }
        for prop in &self.properties {
            let path: Vec<&str> = prop.path.iter().map(String::as_str).collect();
            let v = if let Some(s) = &prop.string {
                s.as_bytes().to_vec()
            } else if let Some(i) = prop.int {
                i.to_le_bytes().to_vec()
            } else if let Some(x) = prop.bool {
                vec![u8::from(x)]
            } else {
                prop.double.unwrap_or_default().to_le_bytes().to_vec()
            };
            b = b.property(&path, v);
        }
        b
    }
}

fn headers(h: &HeaderList) -> Headers {
    h.0.iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.as_bytes().to_vec()))
        .collect()
}

impl RequestSpec {
    pub fn to_request(&self) -> Request {
        let mut r = Request::new(
            self.method.as_deref().unwrap_or("GET"),
            self.path.as_deref().unwrap_or("/"),
        );
        if let Some(a) = &self.authority {
            r = r.header(":authority", a);
        }
        if let Some(s) = &self.scheme {
            r = r.header(":scheme", s);
        }
        r.headers.extend(headers(&self.headers));
        r.body = self.body.clone().unwrap_or_default().into_bytes();
        r.trailers = headers(&self.trailers);
        // What Envoy's filters see from an HTTP/1.1 client: the client's content-length for a
        // body, then x-forwarded-proto added by the connection manager when the client sent none.
        if !r.body.is_empty() && r.trailers.is_empty() && !has(&r.headers, "content-length") {
            r.headers.push((
                "content-length".into(),
                r.body.len().to_string().into_bytes(),
            ));
        }
        if !has(&r.headers, "x-forwarded-proto") {
            let scheme = self.scheme.as_deref().unwrap_or("http");
            r.headers
                .push(("x-forwarded-proto".into(), scheme.as_bytes().to_vec()));
        }
        r
    }
    pub fn label(&self, index: usize) -> String {
        let what = format!(
            "{} {}",
            self.method.as_deref().unwrap_or("GET"),
            self.path.as_deref().unwrap_or("/")
        );
        match &self.name {
            Some(n) => format!("request {} '{n}' ({what})", index + 1),
            None => format!("request {} ({what})", index + 1),
        }
    }
}

impl ResponseSpec {
    pub fn to_response(&self) -> Response {
        let mut r = Response::status(self.status.unwrap_or(200));
        r.headers.extend(headers(&self.headers));
        r.body = self.body.clone().unwrap_or_default().into_bytes();
        r.trailers = headers(&self.trailers);
        // An HTTP/1.1 upstream frames its body with its own content-length (the scenario's
        // value is replaced), or chunked when it sends trailers; Envoy keeps either header in
        // the map the filter sees.
        r.headers
            .retain(|(n, _)| n != "content-length" && n != "transfer-encoding");
        let framing = if r.trailers.is_empty() {
            ("content-length", r.body.len().to_string().into_bytes())
        } else {
            ("transfer-encoding", b"chunked".to_vec())
        };
        r.headers.push((framing.0.into(), framing.1));
        r
    }
}

fn has(h: &Headers, name: &str) -> bool {
    h.iter().any(|(n, _)| n == name)
}

/// The outcome of one request.
#[derive(Debug)]
pub struct RequestOutcome {
    pub label: String,
    pub exchange: Option<Exchange>,
    pub error: Option<String>,
    pub failures: Vec<String>,
    /// What crossed the host/module boundary during this request, its stream's end included
    /// (when the plugin counts it: [`crate::PluginBuilder::count_calls`]).
    pub counters: Option<crate::Counters>,
}

/// The outcome of a scenario run.
#[derive(Debug)]
pub struct Outcome {
    pub requests: Vec<RequestOutcome>,
    /// Expectation failures of the scenario-level `expect`.
    pub failures: Vec<String>,
}

impl Outcome {
    pub fn passed(&self) -> bool {
        self.failures.is_empty() && self.requests.iter().all(|r| r.failures.is_empty())
    }
}

/// Runs every request of the scenario through a started plugin and checks expectations.
pub fn run(s: &Scenario, plugin: &mut Plugin) -> Outcome {
    for c in &s.callouts {
        if let Some(r) = &c.response {
            plugin.answer_http_calls(&c.cluster, r.to_response());
        }
    }
    let mut requests = Vec::new();
    for (i, spec) in s.requests.iter().enumerate() {
        let label = spec.label(i);
        let mark = plugin.logs().len();
        let resp = spec.response.clone().unwrap_or_default().to_response();
        plugin.take_counters();
        let result = send_failing(plugin, s, spec.to_request(), resp);
        let counters = plugin.take_counters();
        let mut failures = Vec::new();
        let (exchange, error) = match result {
            Ok(ex) => (Some(ex), None),
            Err(e) => {
                failures.push(format!("the request did not complete: {e}"));
                (None, Some(e.to_string()))
            }
        };
        if let (Some(expect), Some(ex)) = (&spec.expect, &exchange) {
            check(expect, Some(ex), plugin, mark, &mut failures);
        }
        requests.push(RequestOutcome {
            label,
            exchange,
            error,
            failures,
            counters,
        });
    }
    let mut failures = Vec::new();
    if let Some(e) = &s.expect {
        check(e, None, plugin, 0, &mut failures);
    }
    Outcome { requests, failures }
}

/// One request through a new stream, failing the callouts the scenario says fail. A trap
/// fails the stream as Envoy does (a 503 `wasm_fail_stream` local reply), which is what the
/// client observes, so it is an exchange rather than an error.
fn send_failing(
    plugin: &mut Plugin,
    s: &Scenario,
    req: Request,
    resp: Response,
) -> crate::Result<Exchange> {
    let failing: Vec<&str> = s
        .callouts
        .iter()
        .filter(|c| c.fail)
        .map(|c| c.cluster.as_str())
        .collect();
    let mut stream = plugin.http_stream();
    let r = match drive(&mut stream, &failing, req, resp) {
        Err(crate::Error::Trap { .. }) if stream.local_reply().is_some() => Ok(()),
        r => r,
    };
    let ex = r.map(|()| Exchange {
        upstream: if stream.local_reply().is_some() && stream.replied_before_upstream() {
            None
        } else {
            Some(stream.request().clone())
        },
        client: stream.response().clone(),
        local_reply: stream.local_reply().cloned(),
    });
    let _ = stream.complete();
    ex
}

fn drive(
    s: &mut crate::HttpStream<'_>,
    failing: &[&str],
    req: Request,
    resp: Response,
) -> crate::Result<()> {
    let fail_pending = |s: &mut crate::HttpStream<'_>| -> crate::Result<()> {
        let calls = s.plugin().pending_http_calls();
        for c in calls
            .iter()
            .filter(|c| failing.contains(&c.cluster.as_str()))
        {
            s.plugin().fail_http_call(c.token)?;
        }
        s.settle()
    };
    let (rb, rt) = (!req.body.is_empty(), !req.trailers.is_empty());
    s.request_headers(&req.headers, !rb && !rt)?;
    // Envoy's HTTP/1.1 codec: the data (eos=false), then trailers or an empty
    // end-of-stream chunk.
    if rb {
        s.request_body(&req.body, false)?;
    }
    if rt {
        s.request_trailers(&req.trailers)?;
    } else if rb {
        s.request_body(b"", true)?;
    }
    fail_pending(s)?;
    if s.local_reply().is_some() {
        return Ok(());
    }
    if s.is_paused() {
        return Err(s.paused_error("the request"));
    }
    let (bb, bt) = (!resp.body.is_empty(), !resp.trailers.is_empty());
    s.response_headers(&resp.headers, !bb && !bt)?;
    // Envoy's HTTP/1.1 codec: the data (eos=false), then trailers or an empty
    // end-of-stream chunk.
    if bb {
        s.response_body(&resp.body, false)?;
    }
    if bt {
        s.response_trailers(&resp.trailers)?;
    } else if bb {
        s.response_body(b"", true)?;
    }
    fail_pending(s)?;
    if s.is_paused() {
        return Err(s.paused_error("the response"));
    }
    Ok(())
}

fn show(v: Option<&str>) -> String {
    match v {
        Some(v) => format!("{v:?}"),
        None => "none".into(),
    }
}

fn check_message(side: &str, e: &MessageExpect, m: Option<&Message>, out: &mut Vec<String>) {
    if let Some(want) = e.reached {
        if want != m.is_some() {
            out.push(format!(
                "{side}: expected reached: {want}, but it was {}",
                if m.is_some() {
                    "reached"
                } else {
                    "not reached (local reply)"
                }
            ));
            return;
        }
    }
    let Some(m) = m else {
        if e.status.is_some()
            || !e.headers.present.is_empty()
            || !e.headers.equal.0.is_empty()
            || e.body.is_some()
            || e.json_equal.is_some()
        {
            out.push(format!(
                "{side}: expected a message, but the request never reached it (local reply)"
            ));
        }
        return;
    };
    if let Some(s) = e.status {
        if m.status() != Some(s) {
            out.push(format!(
                "{side} status: expected {s}, got {}",
                show(m.header(":status"))
            ));
        }
    }
    for h in &e.headers.present {
        if m.header(h).is_none() {
            out.push(format!("{side} header {h}: expected present, got none"));
        }
    }
    for h in &e.headers.absent {
        if let Some(v) = m.header(h) {
            out.push(format!("{side} header {h}: expected absent, got {v:?}"));
        }
    }
    for (k, v) in &e.headers.equal.0 {
        if m.header(k) != Some(v.as_str()) {
            out.push(format!(
                "{side} header {k}: expected {v:?}, got {}",
                show(m.header(k))
            ));
        }
    }
    if let Some(b) = &e.body {
        if m.body != b.as_bytes() {
            out.push(format!(
                "{side} body: expected {b:?}, got {:?}",
                m.body_str()
            ));
        }
    }
    if let Some(b) = &e.body_contains {
        if !m.body_str().contains(b.as_str()) {
            out.push(format!(
                "{side} body: expected to contain {b:?}, got {:?}",
                m.body_str()
            ));
        }
    }
    if let Some(want) = &e.json_equal {
        match serde_json::from_slice::<Value>(&m.body) {
            Ok(got) => json_subset(&format!("{side} body"), want, &got, out),
            Err(err) => out.push(format!(
                "{side} body: expected JSON, got {:?} ({err})",
                m.body_str()
            )),
        }
    }
}

/// `want` ⊆ `got`: object fields recursively, everything else equal. Failures name the field
/// by its JSON path (`client body.user.name`).
fn json_subset(at: &str, want: &Value, got: &Value, out: &mut Vec<String>) {
    match (want, got) {
        (Value::Object(w), Value::Object(g)) => {
            for (k, wv) in w {
                match g.get(k) {
                    Some(gv) => json_subset(&format!("{at}.{k}"), wv, gv, out),
                    None => out.push(format!("{at}.{k}: expected {wv}, got no such field")),
                }
            }
        }
        _ if want == got => {}
        _ => out.push(format!("{at}: expected {want}, got {got}")),
    }
}

fn check(
    e: &Expect,
    ex: Option<&Exchange>,
    plugin: &Plugin,
    log_mark: usize,
    out: &mut Vec<String>,
) {
    if let Some(ex) = ex {
        if let Some(u) = &e.upstream {
            check_message("upstream", u, ex.upstream.as_ref(), out);
        }
        if let Some(c) = &e.client {
            check_message("client", c, Some(&ex.client), out);
        }
    }
    let logs = &plugin.logs()[log_mark.min(plugin.logs().len())..];
    for l in &e.logs {
        let level = l.level.as_deref().and_then(Level::parse);
        let at_level = |m: &&crate::LogEntry| level.is_none_or(|lv| m.level == lv);
        let lvl = l
            .level
            .as_deref()
            .map(|l| format!(" at {l}"))
            .unwrap_or_default();
        if let Some(c) = &l.contains {
            if !logs
                .iter()
                .filter(at_level)
                .any(|m| m.message.contains(c.as_str()))
            {
                let seen: Vec<String> = logs
                    .iter()
                    .map(|m| format!("[{}] {}", m.level.name(), m.message))
                    .collect();
                out.push(format!(
                    "logs: expected a line{lvl} containing {c:?}; lines were:\n      {}",
                    seen.join("\n      ")
                ));
            }
        }
        if let Some(a) = &l.absent {
            if let Some(m) = logs
                .iter()
                .filter(at_level)
                .find(|m| m.message.contains(a.as_str()))
            {
                out.push(format!(
                    "logs: expected no line{lvl} containing {a:?}, got {:?}",
                    m.message
                ));
            }
        }
    }
    for m in &e.metrics {
        let got = plugin.metric(&m.name);
        if got != Some(m.value) {
            out.push(format!(
                "metric {}: expected {}, got {}",
                m.name,
                m.value,
                got.map(|v| v.to_string())
                    .unwrap_or_else(|| "undefined".into())
            ));
        }
    }
}
