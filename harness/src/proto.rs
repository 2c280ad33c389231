//! Minimal protobuf encoding of `google.protobuf.Struct` and `envoy.config.core.v3.Node`, as
//! Envoy returns message-valued properties (`xds.node`) serialized.

use serde_json::Value;

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn tag(out: &mut Vec<u8>, field: u32, wire: u32) {
    varint(out, u64::from((field << 3) | wire));
}

pub(crate) fn bytes_field(out: &mut Vec<u8>, field: u32, data: &[u8]) {
    tag(out, field, 2);
    varint(out, data.len() as u64);
    out.extend_from_slice(data);
}

/// `google.protobuf.Value`.
pub fn value(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    match v {
        Value::Null => {
            tag(&mut out, 1, 0);
            varint(&mut out, 0);
        }
        Value::Number(n) => {
            tag(&mut out, 2, 1);
            out.extend_from_slice(&n.as_f64().unwrap_or(0.0).to_le_bytes());
        }
        Value::String(s) => bytes_field(&mut out, 3, s.as_bytes()),
        Value::Bool(b) => {
            tag(&mut out, 4, 0);
            varint(&mut out, u64::from(*b));
        }
        Value::Object(_) => bytes_field(&mut out, 5, &structure(v)),
        Value::Array(items) => {
            let mut list = Vec::new();
            for i in items {
                bytes_field(&mut list, 1, &value(i));
            }
            bytes_field(&mut out, 6, &list);
        }
    }
    out
}

/// `google.protobuf.Struct` of a JSON object (keys sorted: deterministic serialization).
pub fn structure(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    if let Value::Object(map) = v {
        let mut keys: Vec<&String> = map.keys().collect();
        keys.sort();
        for k in keys {
            let mut entry = Vec::new();
            bytes_field(&mut entry, 1, k.as_bytes());
            bytes_field(&mut entry, 2, &value(&map[k]));
            bytes_field(&mut out, 1, &entry);
        }
    }
    out
}

/// `envoy.config.core.v3.Node` with id (1), cluster (2) and metadata (3).
pub fn node(id: &str, cluster: &str, metadata: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    if !id.is_empty() {
        bytes_field(&mut out, 1, id.as_bytes());
    }
    if !cluster.is_empty() {
        bytes_field(&mut out, 2, cluster.as_bytes());
    }
    if metadata.as_object().is_some_and(|m| !m.is_empty()) {
        bytes_field(&mut out, 3, &structure(metadata));
    }
    out
}

/// Reads field 1 / field 1 (`GrpcService.envoy_grpc.cluster_name`) from a serialized GrpcService.
pub fn grpc_service_cluster(data: &[u8]) -> Option<String> {
    let envoy_grpc = field(data, 1)?;
    let name = field(envoy_grpc, 1)?;
    String::from_utf8(name.to_vec()).ok()
}

fn read_varint(data: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *data.get(*pos)?;
        *pos += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return Some(v);
        }
    }
    None
}

/// The first length-delimited field `want` of a message; None if absent or malformed.
fn field(data: &[u8], want: u64) -> Option<&[u8]> {
    let mut pos = 0;
    while pos < data.len() {
        let key = read_varint(data, &mut pos)?;
        match key & 7 {
            0 => {
                read_varint(data, &mut pos)?;
            }
            1 => pos += 8,
            5 => pos += 4,
            2 => {
                let len = read_varint(data, &mut pos)? as usize;
                let body = data.get(pos..pos.checked_add(len)?)?;
                pos += len;
                if key >> 3 == want {
                    return Some(body);
                }
            }
            _ => return None,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn node_and_struct_encoding() {
        // Node { id: "n", metadata: { "A": "b" } }
        let n = node("n", "", &json!({"A": "b"}));
        let entry = [0x0a, 1, b'A', 0x12, 3, 0x1a, 1, b'b'];
        let mut want = vec![0x0a, 1, b'n', 0x1a, 10, 0x0a, 8];
        want.extend_from_slice(&entry);
        assert_eq!(n, want);
        assert_eq!(node("", "", &json!({})), Vec::<u8>::new());
    }

    #[test]
    fn grpc_service_cluster_name() {
        let mut inner = Vec::new();
        bytes_field(&mut inner, 1, b"auth");
        let mut svc = Vec::new();
        bytes_field(&mut svc, 1, &inner);
        assert_eq!(grpc_service_cluster(&svc), Some("auth".to_string()));
        assert_eq!(grpc_service_cluster(b"\xff"), None);
    }
}
