//! The Envoy side: the same scenario against a real Envoy. The filter runs inline (static
//! config) in front of a scripted upstream that answers each request with the scenario's
//! response and records what it received; callout clusters point at servers answering with
//! the scenario's callout responses (a `fail: true` cluster points at a closed port).

use super::chunked;
use super::observation::{group, Msg, Observation, RequestObs, IGNORED_CLIENT, IGNORED_UPSTREAM};
use crate::{ecds, paths, Envoy, EnvoyBuilder};
use echo_upstream::{client, Request, Response, Server};
use harness::scenario::{HeaderList, ResponseSpec, Scenario};
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::thread::sleep;
use std::time::{Duration, Instant};

/// Parts of a scenario a real Envoy over HTTP/1.1 cannot reproduce; the runner reports them
/// instead of comparing something else.
pub fn unsupported(s: &Scenario) -> Vec<String> {
    let mut out = Vec::new();
    for p in &s.properties {
        if p.path != ["xds", "listener_direction"] {
            out.push(format!("property {}: Envoy computes its attributes itself; only xds.listener_direction has an Envoy counterpart (the listener's traffic_direction)", p.path.join(".")));
        }
    }
    for (i, r) in s.requests.iter().enumerate() {
        if r.headers.0.iter().any(|(n, _)| n.starts_with(':')) {
            out.push(format!(
                "request {}: pseudo-headers in `headers`: an HTTP/1.1 request line carries only method, path and authority (use those fields)",
                i + 1
            ));
        }
        if r.scheme.as_deref().is_some_and(|s| s != "http") {
            out.push(format!(
                "request {}: scheme other than http: the listener is plain HTTP on loopback",
                i + 1
            ));
        }
    }
    out
}

fn response(spec: Option<&ResponseSpec>) -> Response {
    let spec = spec.cloned().unwrap_or_default();
    let mut r = Response::new(spec.status.unwrap_or(200));
    r.headers = spec.headers.0.clone();
    r.body = spec.body.unwrap_or_default().into_bytes();
    r
}

fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(1)
}

/// A static cluster on loopback that forwards HTTP/1.1 trailers (chunked) to its endpoint.
fn cluster(name: &str, port: u16) -> Value {
    json!({
        "name": name, "connect_timeout": "1s", "type": "STATIC",
        "typed_extension_protocol_options": {"envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
            "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
            "explicit_http_config": {"http_protocol_options": {"enable_trailers": true}}}},
        "load_assignment": {"cluster_name": name, "endpoints": [{"lb_endpoints": [{"endpoint": {
            "address": {"socket_address": {"address": "127.0.0.1", "port_value": port}}}}]}]},
    })
}

/// The scripted upstream: the echo-upstream server, or for scenarios with response trailers
/// `chunked::Upstream` (which sends them). Answers are (response, trailers).
struct Upstream {
    port: u16,
    answers: Arc<Mutex<VecDeque<(Response, chunked::Pairs)>>>,
    received: Arc<Mutex<Vec<Request>>>,
    _server: Box<dyn std::any::Any>,
}

fn scripted_upstream(with_trailers: bool) -> Result<Upstream, String> {
    if with_trailers {
        let up = chunked::Upstream::start().map_err(|e| e.to_string())?;
        return Ok(Upstream {
            port: up.port,
            answers: up.answers.clone(),
            received: up.received.clone(),
            _server: Box::new(up),
        });
    }
    let answers: Arc<Mutex<VecDeque<(Response, chunked::Pairs)>>> = Arc::default();
    let received: Arc<Mutex<Vec<Request>>> = Arc::default();
    let (a, r) = (answers.clone(), received.clone());
    let server = Server::start(
        "127.0.0.1:0",
        Arc::new(move |req: &Request| {
            if let Ok(mut r) = r.lock() {
                r.push(req.clone());
            }
            a.lock()
                .ok()
                .and_then(|mut a| a.pop_front())
                .map(|(resp, _)| resp)
                .unwrap_or_else(|| Response::new(599).body("unexpected request"))
        }),
    )
    .map_err(|e| e.to_string())?;
    Ok(Upstream {
        port: server.port(),
        answers,
        received,
        _server: Box::new(server),
    })
}

fn owned(h: &HeaderList) -> chunked::Pairs {
    h.0.iter()
        .map(|(n, v)| (n.to_ascii_lowercase(), v.clone()))
        .collect()
}

fn bootstrap(
    s: &Scenario,
    filter: &str,
    module: &Path,
    upstream: u16,
    clusters: Vec<Value>,
) -> String {
    let name = s
        .plugin
        .name
        .clone()
        .unwrap_or_else(|| paths::module_name(filter));
    let config = match &s.plugin.config {
        Some(Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    };
    let mut wasm = ecds::wasm_filter(&name, module, &config, s.plugin.fail_open);
    wasm["config"]["root_id"] = json!(s.plugin.root_id.clone().unwrap_or_default());
    wasm["config"]["vm_config"]["vm_id"] = json!(s.plugin.vm_id.clone().unwrap_or_default());
    let direction = s
        .properties
        .iter()
        .find(|p| p.path == ["xds", "listener_direction"])
        .and_then(|p| p.int)
        .map(|d| {
            if d == 1 {
                "INBOUND"
            } else if d == 2 {
                "OUTBOUND"
            } else {
                "UNSPECIFIED"
            }
        })
        .unwrap_or("UNSPECIFIED");
    let mut node = json!({"id": s.node.id.clone().unwrap_or_default(), "cluster": s.node.cluster.clone().unwrap_or_default()});
    if let Some(m) = &s.node.metadata {
        node["metadata"] = m.clone();
    }
    let mut all_clusters = vec![cluster("upstream", upstream)];
    all_clusters.extend(clusters);
    json!({
        "node": node,
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}}},
        "static_resources": {
            "listeners": [{
                "name": "ingress",
                "traffic_direction": direction,
                "address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}},
                "filter_chains": [{"filters": [{
                    "name": "envoy.filters.network.http_connection_manager",
                    "typed_config": {
                        "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                        "stat_prefix": "ingress",
                        // Chunked requests may end with trailers (scenario `trailers:`).
                        "http_protocol_options": {"enable_trailers": true},
                        // No headers of Envoy's own that the harness would not have.
                        "generate_request_id": false,
                        "route_config": {"virtual_hosts": [{"name": "all", "domains": ["*"],
                            "routes": [{"match": {"prefix": "/"}, "route": {"cluster": "upstream"}}]}]},
                        "access_log": [{"name": "envoy.access_loggers.stderr", "typed_config": {
                            "@type": "type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StderrAccessLog",
                            "log_format": {"text_format_source": {"inline_string": "access: %RESPONSE_CODE% %RESPONSE_CODE_DETAILS%\n"}}}}],
                        "http_filters": [
                            {"name": name, "typed_config": wasm},
                            {"name": "envoy.filters.http.router", "typed_config": {
                                "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router",
                                "suppress_envoy_headers": true}},
                        ],
                    },
                }]}],
            }],
            "clusters": all_clusters,
        },
    })
    .to_string()
}

/// The filter's log lines in `text` as `level: message` (Envoy says `warning` for warn).
/// Envoy prefixes them `wasm log[ <plugin_name>][ <root_id>][ <vm_id>]: ` (the plugin name
/// only in a stream's context); the only module in these runs is the filter under test. A
/// message with newlines (a Rust panic message) continues on lines without a `[level]` prefix.
fn filter_logs(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut in_wasm_log = false;
    for line in text.lines() {
        if !line.starts_with('[') {
            if in_wasm_log {
                if let Some(last) = out.last_mut() {
                    last.push('\n');
                    last.push_str(line);
                }
            }
            continue;
        }
        in_wasm_log = false;
        let parsed = (|| {
            let level = line.strip_prefix('[')?.split(']').next()?;
            let level = if level == "warning" { "warn" } else { level };
            let (_, rest) = line.split_once("][wasm] wasm log")?;
            let (_, message) = rest.split_once(": ")?;
            Some(format!("{level}: {message}"))
        })();
        if let Some(l) = parsed {
            out.push(l);
            in_wasm_log = true;
        }
    }
    out
}

fn access_lines(log: &str) -> Vec<String> {
    log.lines()
        .filter_map(|l| l.strip_prefix("access: ").map(str::to_string))
        .collect()
}

fn to_msg_request(r: &Request) -> Msg {
    let mut pairs = vec![(":method", r.method.clone()), (":path", r.path.clone())];
    for (n, v) in &r.headers {
        let n = if n == "host" {
            ":authority"
        } else {
            n.as_str()
        };
        pairs.push((n, v.clone()));
    }
    Msg {
        headers: group(pairs, IGNORED_UPSTREAM),
        body: String::from_utf8_lossy(&r.body).into_owned(),
        trailers: group(r.trailers.iter().map(|(n, v)| (n.as_str(), v.clone())), &[]),
    }
}

fn to_msg_response(r: &Response) -> Msg {
    let status = r.status.to_string();
    let mut pairs = vec![(":status", status)];
    pairs.extend(r.headers.iter().map(|(n, v)| (n.as_str(), v.clone())));
    Msg {
        headers: group(pairs, IGNORED_CLIENT),
        body: r.body_text(),
        ..Msg::default()
    }
}

fn header_refs(h: &HeaderList) -> Vec<(&str, &str)> {
    h.0.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect()
}

pub fn observe(s: &Scenario, filter: &str) -> Result<Observation, String> {
    let module = paths::filter_wasm(filter)?;
    let with_trailers = s.requests.iter().any(|r| {
        !r.trailers.0.is_empty()
            || r.response
                .as_ref()
                .is_some_and(|x| !x.trailers.0.is_empty())
    });
    let upstream = scripted_upstream(with_trailers)?;
    let mut servers = Vec::new();
    let mut clusters = Vec::new();
    for c in &s.callouts {
        let port = match (&c.response, c.fail) {
            (Some(r), false) => {
                let answer = response(Some(r));
                let server =
                    Server::start("127.0.0.1:0", Arc::new(move |_: &Request| answer.clone()))
                        .map_err(|e| e.to_string())?;
                let port = server.port();
                servers.push(server);
                port
            }
            _ => closed_port(),
        };
        clusters.push(cluster(&c.cluster, port));
    }
    for name in &s.plugin.clusters {
        if !s.callouts.iter().any(|c| &c.cluster == name) {
            clusters.push(cluster(name, closed_port()));
        }
    }
    let text = bootstrap(s, filter, &module, upstream.port, clusters);
    let envoy = match EnvoyBuilder::new(&paths::module_name(filter))
        .bootstrap(text)
        .module(&module)
        .component_log_level("wasm:trace")
        .start()
    {
        Ok(e) => e,
        Err(log) if log.starts_with("Envoy exited at startup") => {
            return Ok(Observation {
                rejected: Some(filter_logs(&log).join("\n")),
                ..Observation::default()
            })
        }
        Err(e) => return Err(e),
    };
    let mut requests = Vec::new();
    for (i, spec) in s.requests.iter().enumerate() {
        let before_log = envoy.log().len();
        let before_upstream = upstream.received.lock().map(|r| r.len()).unwrap_or(0);
        if let Ok(mut a) = upstream.answers.lock() {
            a.clear();
            let trailers = spec
                .response
                .as_ref()
                .map(|r| owned(&r.trailers))
                .unwrap_or_default();
            a.push_back((response(spec.response.as_ref()), trailers));
        }
        let mut headers = vec![("host", spec.authority.as_deref().unwrap_or("example.com"))];
        headers.extend(header_refs(&spec.headers));
        let req = client::request(
            spec.method.as_deref().unwrap_or("GET"),
            spec.path.as_deref().unwrap_or("/"),
            &headers,
            spec.body.as_deref().unwrap_or("").as_bytes(),
        );
        let t = Instant::now();
        let request_trailers = owned(&spec.trailers);
        let result = if with_trailers {
            chunked::send(
                envoy.addr(),
                &req,
                (!spec.trailers.0.is_empty()).then_some(&request_trailers),
            )
        } else {
            envoy.send(&req).map(|r| (r, Vec::new()))
        };
        let sent = t.elapsed();
        wait_stream_done(&envoy, i + 1);
        if std::env::var_os("ENVOY_DIFF_TRACE").is_some() {
            eprintln!(
                "request {}: sent in {sent:?}, done in {:?}",
                i + 1,
                t.elapsed()
            );
        }
        let log = envoy.log();
        let new_text = log.get(before_log..).unwrap_or("");
        let details = access_lines(new_text)
            .last()
            .and_then(|l| l.split_once(' ').map(|(_, d)| d.to_string()));
        let received = upstream
            .received
            .lock()
            .map(|r| r.clone())
            .unwrap_or_default();
        let mut obs = RequestObs {
            label: spec.label(i),
            upstream: received.get(before_upstream).map(to_msg_request),
            logs: filter_logs(new_text),
            local_reply_details: details.filter(|d| d != "via_upstream"),
            ..RequestObs::default()
        };
        match result {
            Ok((resp, trailers)) => {
                let mut msg = to_msg_response(&resp);
                msg.trailers = group(trailers.iter().map(|(n, v)| (n.as_str(), v.clone())), &[]);
                obs.client = Some(msg);
            }
            Err(e) => obs.error = Some(e),
        }
        requests.push(obs);
    }
    let stats = envoy.stats()?;
    let metrics = stats
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix("wasmcustom.")?.to_string(), v.parse().ok()?)))
        .collect();
    drop(servers);
    Ok(Observation {
        rejected: None,
        requests,
        metrics,
    })
}

/// Waits until Envoy has access-logged `n` streams and its log has stopped growing for a
/// moment (the stream's `on_done`/`on_delete` follow its access log line), so the next
/// request's log lines are its own.
fn wait_stream_done(envoy: &Envoy, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut last_len = 0;
    let mut stable_since = Instant::now();
    while Instant::now() < deadline {
        let log = envoy.log();
        if log.len() != last_len {
            last_len = log.len();
            stable_since = Instant::now();
        } else if access_lines(&log).len() >= n
            && stable_since.elapsed() >= Duration::from_millis(100)
        {
            return;
        }
        sleep(Duration::from_millis(20));
    }
}
