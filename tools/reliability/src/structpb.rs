//! Hand-built `google.protobuf.Struct` bytes for metadata_exchange's bounds (independent of
//! the filter's own codec).

fn len_delim(field: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![(field << 3) | 2];
    let mut n = body.len();
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
    out.extend_from_slice(body);
    out
}

/// One `fields` entry: key and `Value` bytes.
fn entry(key: &str, value: Vec<u8>) -> Vec<u8> {
    let mut e = len_delim(1, key.as_bytes());
    e.extend(len_delim(2, &value));
    len_delim(1, &e)
}

/// `Value { string_value }`.
pub fn string_value(s: &str) -> Vec<u8> {
    len_delim(3, s.as_bytes())
}

/// A Struct `{key: "value"}`.
pub fn one_string(key: &str, value: &str) -> Vec<u8> {
    entry(key, string_value(value))
}

/// A serialized `google.protobuf.Struct` nested `depth` levels deep (top level = 1): each level
/// holds `{"k": "v", "n": <next level>}`.
pub fn nested_struct(depth: usize) -> Vec<u8> {
    let mut level = entry("k", string_value("v"));
    for _ in 1..depth {
        let mut outer = entry("k", string_value("v"));
        outer.extend(entry("n", len_delim(5, &level)));
        level = outer;
    }
    level
}
