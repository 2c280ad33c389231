//! Properties (Envoy "attributes"): a default set resembling Envoy's, values the test sets, and
//! the per-stream ones computed from the stream (`request.*`, `response.*`).

use crate::pairs;
use crate::proto;
use crate::state::HttpState;
use serde_json::Value;
use std::collections::HashMap;

/// What the test configures about the proxy and the plugin.
#[derive(Debug, Clone)]
pub struct PropertySettings {
    pub plugin_name: String,
    pub root_id: String,
    pub vm_id: String,
    pub node_id: String,
    pub node_cluster: String,
    pub node_metadata: Value,
    /// `xds.*` node/cluster/listener attributes (Envoy >= 1.33).
    pub xds: bool,
    /// Legacy top-level `node`, `cluster_name`, `listener_direction` (Envoy < 1.33).
    pub legacy: bool,
    pub overrides: Vec<(Vec<String>, Vec<u8>)>,
}

/// The static property table: NUL-joined path -> encoded value (Err = status for the lookup).
#[derive(Debug, Clone, Default)]
pub struct Properties {
    pub settings: Option<PropertySettings>,
    pub table: HashMap<String, Result<Vec<u8>, i32>>,
}

pub(crate) fn int(v: i64) -> Vec<u8> {
    v.to_le_bytes().to_vec()
}

fn key(path: &[&str]) -> String {
    path.join("\0")
}

fn put(t: &mut HashMap<String, Result<Vec<u8>, i32>>, path: &[&str], v: Vec<u8>) {
    t.insert(key(path), Ok(v));
}

impl Properties {
    pub fn new(s: &PropertySettings) -> Properties {
        let mut t = HashMap::new();
        put(&mut t, &["plugin_name"], s.plugin_name.as_bytes().to_vec());
        put(&mut t, &["plugin_root_id"], s.root_id.as_bytes().to_vec());
        put(&mut t, &["plugin_vm_id"], s.vm_id.as_bytes().to_vec());
        put(&mut t, &["source", "address"], b"10.0.0.2:51234".to_vec());
        put(&mut t, &["source", "port"], int(51234));
        put(
            &mut t,
            &["destination", "address"],
            b"10.0.0.1:8080".to_vec(),
        );
        put(&mut t, &["destination", "port"], int(8080));
        put(&mut t, &["connection", "id"], int(1));
        put(&mut t, &["connection", "mtls"], vec![0]);
        put(&mut t, &["connection", "requested_server_name"], Vec::new());
        put(&mut t, &["upstream", "address"], b"10.0.0.3:80".to_vec());
        put(&mut t, &["upstream", "port"], int(80));
        let node = proto::node(&s.node_id, &s.node_cluster, &s.node_metadata);
        let mut node_roots: Vec<Vec<String>> = Vec::new();
        // No listener direction by default: Envoy has none on a listener without one.
        if s.xds {
            node_roots.push(vec!["xds".into(), "node".into()]);
        }
        if s.legacy {
            node_roots.push(vec!["node".into()]);
        }
        for mut root in node_roots {
            t.insert(root.join("\0"), Ok(node.clone()));
            root.push("id".into());
            t.insert(root.join("\0"), Ok(s.node_id.as_bytes().to_vec()));
            root.pop();
            root.push("cluster".into());
            t.insert(root.join("\0"), Ok(s.node_cluster.as_bytes().to_vec()));
            root.pop();
            root.push("metadata".into());
            flatten(&mut t, &mut root, &s.node_metadata);
        }
        for (path, v) in &s.overrides {
            t.insert(path.join("\0"), Ok(v.clone()));
        }
        Properties {
            settings: Some(s.clone()),
            table: t,
        }
    }
}

/// Puts a JSON value and all its members under `path`: strings raw, numbers as f64, bools as one
/// byte; objects as pairs when every value is a string (else SERIALIZATION_FAILURE), lists as a
/// serialized `ListValue`.
fn flatten(table: &mut HashMap<String, Result<Vec<u8>, i32>>, path: &mut Vec<String>, v: &Value) {
    let encoded = match v {
        Value::Null => Ok(Vec::new()),
        Value::String(s) => Ok(s.as_bytes().to_vec()),
        Value::Number(n) => Ok(n.as_f64().unwrap_or(0.0).to_le_bytes().to_vec()),
        Value::Bool(b) => Ok(vec![u8::from(*b)]),
        Value::Array(_) => Ok(proto::value(v)[2..].to_vec()),
        Value::Object(m) => {
            let strings: Option<Vec<(String, Vec<u8>)>> = m
                .iter()
                .map(|(k, v)| v.as_str().map(|s| (k.clone(), s.as_bytes().to_vec())))
                .collect();
            strings
                .map(|p| pairs::serialize(&p))
                .ok_or(crate::abi::status::SERIALIZATION_FAILURE)
        }
    };
    table.insert(path.join("\0"), encoded);
    if let Value::Object(m) = v {
        for (k, child) in m {
            path.push(k.clone());
            flatten(table, path, child);
            path.pop();
        }
    }
}

/// Per-stream properties computed from the HTTP stream as it is now.
pub(crate) fn stream_property(
    path: &[&str],
    h: &HttpState,
    s: &PropertySettings,
) -> Option<Vec<u8>> {
    let req = &h.req.msg;
    let resp = &h.resp.msg;
    // Repeated headers read as one value joined with commas, as Envoy's header map does.
    let hv = |m: &crate::types::Message, n: &str| -> Option<Vec<u8>> {
        let n = n.to_ascii_lowercase();
        let vals: Vec<&[u8]> = m
            .headers
            .iter()
            .filter(|(k, _)| *k == n)
            .map(|(_, v)| v.as_slice())
            .collect();
        (!vals.is_empty()).then(|| vals.join(&b","[..]))
    };
    let joined = |m: &crate::types::Message| -> Vec<u8> {
        let mut out: Vec<(String, Vec<u8>)> = Vec::new();
        for (k, v) in &m.headers {
            match out.iter_mut().find(|(n, _)| n == k) {
                Some((_, acc)) => {
                    acc.push(b',');
                    acc.extend_from_slice(v);
                }
                None => out.push((k.clone(), v.clone())),
            }
        }
        pairs::serialize(&out)
    };
    let v = match path {
        ["request", "path"] => hv(req, ":path")?,
        ["request", "url_path"] => {
            let p = req.header(":path")?;
            p.split('?').next().unwrap_or("").as_bytes().to_vec()
        }
        ["request", "query"] => {
            let p = req.header(":path")?;
            p.split_once('?')
                .map(|(_, q)| q)
                .unwrap_or("")
                .as_bytes()
                .to_vec()
        }
        ["request", "host"] => hv(req, ":authority")?,
        ["request", "method"] => hv(req, ":method")?,
        ["request", "scheme"] => hv(req, ":scheme")?,
        ["request", "id"] => hv(req, "x-request-id")?,
        ["request", "referer"] => hv(req, "referer")?,
        ["request", "useragent"] => hv(req, "user-agent")?,
        ["request", "protocol"] => b"HTTP/1.1".to_vec(),
        ["request", "time"] => int(h.start_ns as i64),
        ["request", "size"] => int(req.body.len() as i64),
        ["request", "total_size"] => int((req.body.len() + header_bytes(&req.headers)) as i64),
        ["request", "headers"] if h.req.headers_arrived => joined(req),
        ["request", "headers", name] => hv(req, name)?,
        ["response", "code"] => int(resp.status()? as i64),
        ["response", "code_details"] if h.resp.headers_arrived => match &h.local_reply {
            Some(l) => l.details.as_bytes().to_vec(),
            None => b"via_upstream".to_vec(),
        },
        ["response", "flags"] if h.resp.headers_arrived => int(0),
        ["response", "grpc_status"] => int(resp.header("grpc-status")?.parse().ok()?),
        ["response", "size"] if h.resp.headers_arrived => int(resp.body.len() as i64),
        ["response", "total_size"] if h.resp.headers_arrived => {
            int((resp.body.len() + header_bytes(&resp.headers)) as i64)
        }
        ["response", "headers"] if h.resp.headers_arrived => joined(resp),
        ["xds", "cluster_name"] if s.xds => b"upstream".to_vec(),
        ["cluster_name"] if s.legacy => b"upstream".to_vec(),
        ["response", "headers", name] => hv(resp, name)?,
        ["response", "trailers"] if h.resp.trailers_arrived => pairs::serialize(&resp.trailers),
        _ => return None,
    };
    Some(v)
}

fn header_bytes(h: &[(String, Vec<u8>)]) -> usize {
    h.iter().map(|(k, v)| k.len() + v.len()).sum()
}
