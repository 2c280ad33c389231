//! `google.protobuf.Struct` (struct.proto) with the byte layout of protobuf C++'s deterministic
//! serialization, which Istio uses for `x-envoy-peer-metadata`:
//!
//! - `Struct { map<string, Value> fields = 1; }`: one length-delimited entry per map key, in
//!   ascending byte order of the key (deterministic mode sorts string map keys); every entry
//!   writes both its key (field 1) and its value (field 2), even when empty.
//! - `Value` is a oneof: `null_value = 1` (enum, varint 0), `number_value = 2` (double,
//!   fixed64 little-endian), `string_value = 3`, `bool_value = 4` (varint), `struct_value = 5`,
//!   `list_value = 6`. A set oneof member is always written, even when it holds a default.
//! - `ListValue { repeated Value values = 1; }`.
//!
//! Decoding follows protobuf parsing rules: fields in any order, unknown fields skipped, a
//! field whose wire type does not match is treated as unknown, the last oneof member or
//! duplicate map key wins. A `Value` with no member set decodes as `Null`.
//!
//! Our own codec because `prost-types` differs from protobuf C++ on both sides (measured with
//! prost 0.14 against `src/golden_tests.rs`): it leaves an empty key out of a map entry
//! (`0a 04 12 02 1a 00` for `{"": ""}` where C++ writes `0a 06 0a 00 12 02 1a 00`), and it
//! refuses a known field with another wire type, which C++ parses as an unknown field.

use super::wire::{self, DecodeError, Reader};
use std::collections::BTreeMap;

/// A dynamically typed value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Number(f64),
    String(String),
    Bool(bool),
    Struct(Struct),
    List(Vec<Value>),
}

/// A JSON-like object. A `BTreeMap` keeps its keys in ascending byte order (`String`'s `Ord`),
/// which is the deterministic order, and keeps one value per key.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Struct {
    fields: BTreeMap<String, Value>,
}

impl Struct {
    pub fn new() -> Self {
        Struct::default()
    }

    /// Sets `key`, replacing any previous value.
    pub fn insert(&mut self, key: impl Into<String>, value: Value) {
        self.fields.insert(key.into(), value);
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.fields.get(key)
    }

    /// The string value of `key`, if it holds a string.
    pub fn get_str(&self, key: &str) -> Option<&str> {
        match self.get(key) {
            Some(Value::String(s)) => Some(s),
            _ => None,
        }
    }

    /// The nested struct under `key`, if it holds one.
    pub fn get_struct(&self, key: &str) -> Option<&Struct> {
        match self.get(key) {
            Some(Value::Struct(s)) => Some(s),
            _ => None,
        }
    }

    /// Keys in ascending byte order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.fields.keys().map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.fields.len()
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// Deterministic serialization (see the module documentation).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out);
        out
    }

    fn encode_into(&self, out: &mut Vec<u8>) {
        for (key, value) in &self.fields {
            let mut entry = Vec::new();
            wire::put_len(&mut entry, 1, key.as_bytes());
            wire::put_len(&mut entry, 2, &value.encode());
            wire::put_len(out, 1, &entry);
        }
    }

    /// Parses a serialized Struct; structs and lists may nest at most `max_depth` levels
    /// (the top-level struct is level 1).
    pub fn decode(bytes: &[u8], max_depth: usize) -> Result<Struct, DecodeError> {
        decode_struct::<KEEP>(bytes, 1, max_depth)
    }

    /// Whether `bytes` decode, with the error [`Struct::decode`] gives, without building the
    /// Struct: a peer's Struct is stored as sent and read only where something needs its
    /// fields, so a request does not pay for a map of strings it throws away.
    pub fn check(bytes: &[u8], max_depth: usize) -> Result<(), DecodeError> {
        decode_struct::<CHECK>(bytes, 1, max_depth).map(drop)
    }
}

impl Value {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self {
            Value::Null => {
                wire::put_tag(&mut out, 1, wire::VARINT);
                wire::put_varint(&mut out, 0);
            }
            Value::Number(n) => {
                wire::put_tag(&mut out, 2, wire::FIXED64);
                out.extend_from_slice(&n.to_bits().to_le_bytes());
            }
            Value::String(s) => wire::put_len(&mut out, 3, s.as_bytes()),
            Value::Bool(b) => {
                wire::put_tag(&mut out, 4, wire::VARINT);
                wire::put_varint(&mut out, u64::from(*b));
            }
            Value::Struct(s) => {
                let mut inner = Vec::new();
                s.encode_into(&mut inner);
                wire::put_len(&mut out, 5, &inner);
            }
            Value::List(values) => {
                let mut inner = Vec::new();
                for v in values {
                    wire::put_len(&mut inner, 1, &v.encode());
                }
                wire::put_len(&mut out, 6, &inner);
            }
        }
        out
    }
}

fn check_depth(depth: usize, max_depth: usize) -> Result<(), DecodeError> {
    if depth > max_depth {
        Err(DecodeError::TooDeep(max_depth))
    } else {
        Ok(())
    }
}

/// The decoders below walk a message once; `KEEP` builds the Struct, `CHECK` only validates
/// (same walk, same first error, nothing allocated: strings are checked in place and nothing
/// is inserted).
const KEEP: bool = true;
const CHECK: bool = false;

fn decode_struct<const BUILD: bool>(
    bytes: &[u8],
    depth: usize,
    max_depth: usize,
) -> Result<Struct, DecodeError> {
    check_depth(depth, max_depth)?;
    let mut out = Struct::new();
    let mut r = Reader::new(bytes);
    while !r.is_empty() {
        match r.tag()? {
            // A duplicate key replaces the earlier one: the last wins, as in protobuf maps.
            (1, wire::LEN) => {
                let (key, value) = decode_entry::<BUILD>(r.bytes()?, depth, max_depth)?;
                if BUILD {
                    out.insert(key, value);
                }
            }
            (_, wire_type) => r.skip(wire_type)?,
        }
    }
    Ok(out)
}

fn decode_entry<const BUILD: bool>(
    bytes: &[u8],
    depth: usize,
    max_depth: usize,
) -> Result<(String, Value), DecodeError> {
    let mut key = String::new();
    let mut value = Value::Null;
    let mut r = Reader::new(bytes);
    while !r.is_empty() {
        match r.tag()? {
            (1, wire::LEN) => key = string::<BUILD>(&mut r)?,
            (2, wire::LEN) => value = decode_value::<BUILD>(r.bytes()?, depth, max_depth)?,
            (_, wire_type) => r.skip(wire_type)?,
        }
    }
    Ok((key, value))
}

/// `depth` is the level of the struct or list holding this value.
fn decode_value<const BUILD: bool>(
    bytes: &[u8],
    depth: usize,
    max_depth: usize,
) -> Result<Value, DecodeError> {
    let mut value = Value::Null;
    let mut r = Reader::new(bytes);
    while !r.is_empty() {
        value = match r.tag()? {
            (1, wire::VARINT) => {
                r.varint()?;
                Value::Null
            }
            (2, wire::FIXED64) => Value::Number(f64::from_bits(r.fixed64()?)),
            (3, wire::LEN) => Value::String(string::<BUILD>(&mut r)?),
            (4, wire::VARINT) => Value::Bool(r.varint()? != 0),
            (5, wire::LEN) => {
                Value::Struct(decode_struct::<BUILD>(r.bytes()?, depth + 1, max_depth)?)
            }
            (6, wire::LEN) => Value::List(decode_list::<BUILD>(r.bytes()?, depth + 1, max_depth)?),
            (_, wire_type) => {
                r.skip(wire_type)?;
                continue;
            }
        };
    }
    Ok(value)
}

fn decode_list<const BUILD: bool>(
    bytes: &[u8],
    depth: usize,
    max_depth: usize,
) -> Result<Vec<Value>, DecodeError> {
    check_depth(depth, max_depth)?;
    let mut out = Vec::new();
    let mut r = Reader::new(bytes);
    while !r.is_empty() {
        match r.tag()? {
            (1, wire::LEN) => {
                let value = decode_value::<BUILD>(r.bytes()?, depth, max_depth)?;
                if BUILD {
                    out.push(value);
                }
            }
            (_, wire_type) => r.skip(wire_type)?,
        }
    }
    Ok(out)
}

/// A `string` field: owned when building, checked in place (UTF-8) when only checking.
fn string<const BUILD: bool>(r: &mut Reader) -> Result<String, DecodeError> {
    if BUILD {
        r.string()
    } else {
        r.str().map(|_| String::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let mut labels = Struct::new();
        labels.insert("app", Value::String("reviews".into()));
        let mut s = Struct::new();
        s.insert("NAME", Value::String("reviews-v1".into()));
        s.insert("LABELS", Value::Struct(labels));
        s.insert("N", Value::Number(1.5));
        s.insert("B", Value::Bool(true));
        s.insert("Z", Value::Null);
        s.insert(
            "L",
            Value::List(vec![Value::String("x".into()), Value::List(vec![])]),
        );
        s.encode()
    }

    /// `check` answers what `decode` answers, error included, for every truncation and
    /// every one-byte change of a Struct using each kind of value, at every depth limit.
    #[test]
    fn check_agrees_with_decode() {
        let good = sample();
        let mut inputs = vec![
            good.clone(),
            vec![0xff; 3],
            vec![0x0a, 0x02, 0x0a, 0x01, 0xc3],
        ];
        inputs.extend((0..good.len()).map(|n| good[..n].to_vec()));
        for i in 0..good.len() {
            for byte in [
                0x00, 0x01, 0x02, 0x05, 0x07, 0x0a, 0x12, 0x7f, 0x80, 0xc3, 0xff,
            ] {
                let mut bad = good.clone();
                bad[i] = byte;
                inputs.push(bad);
            }
        }
        let mut failures = 0;
        for input in &inputs {
            for depth in 1..5 {
                let decoded = Struct::decode(input, depth).map(drop);
                failures += usize::from(decoded.is_err());
                assert_eq!(
                    Struct::check(input, depth),
                    decoded,
                    "{input:02x?} depth {depth}"
                );
            }
        }
        // The mutations do reach the error paths, not only the happy one.
        assert!(failures > inputs.len(), "{failures} failures");
    }
}
