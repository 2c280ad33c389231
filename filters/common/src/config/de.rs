//! A `serde` deserializer over the [`json`](super::json) tree that names the field and the
//! position of whatever it rejects.
//!
//! Kept small for wasm: nearly every `deserialize_*` method forwards to `deserialize_any` (one
//! instance per visitor type), and error messages are built without `Debug` formatting
//! (unicode tables) or float formatting (core's `flt2dec`): a float is quoted as written.

use super::json::{Member, Node, Pos, Value};
use serde::de::value::StrDeserializer;
use serde::de::{
    self, DeserializeSeed, EnumAccess, Expected, IntoDeserializer, MapAccess, SeqAccess,
    Unexpected, VariantAccess, Visitor,
};
use std::fmt::{self, Write};

/// A deserialization error: the message, and once known, the field path and position.
pub struct Error {
    message: String,
    /// Set together by the innermost value the error is about.
    located: Option<(String, Pos)>,
    /// Where `invalid_type`/`invalid_value` wrote "number" for an `Unexpected::Float`, to be
    /// replaced by the number as written in the document.
    float_at: Option<usize>,
}

impl Error {
    fn new(message: String) -> Self {
        Error {
            message,
            located: None,
            float_at: None,
        }
    }

    /// Dotted path of the field (`request.set.x-foo`, `keys[2].name`), empty for the document.
    pub fn field(&self) -> &str {
        self.located.as_ref().map_or("", |(field, _)| field)
    }

    /// The message, with the position when known (`... at line 1 column 14`).
    pub fn message(&self) -> String {
        match &self.located {
            Some((_, pos)) => format!("{} at {pos}", self.message),
            None => self.message.clone(),
        }
    }

    /// Records where the error is, unless a more deeply nested value already did.
    fn locate(mut self, path: &Path<'_>, pos: Pos) -> Self {
        if self.located.is_none() {
            let mut field = String::new();
            path.write(&mut field);
            self.located = Some((field, pos));
        }
        self
    }

    /// Quotes the number the error is about, as written, instead of "number".
    fn with_float(mut self, text: &str) -> Self {
        if let Some(at) = self.float_at.take() {
            let quoted = format!("`{text}`");
            self.message.replace_range(at..at + "number".len(), &quoted);
        }
        self
    }

    fn unexpected(prefix: &str, unexp: Unexpected<'_>, exp: &dyn Expected) -> Self {
        let mut message = String::from(prefix);
        let float_at = describe(&mut message, unexp);
        let _ = write!(message, ", expected {exp}");
        Error {
            message,
            located: None,
            float_at,
        }
    }
}

impl de::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error::new(msg.to_string())
    }

    // Overridden because serde's `Display for Unexpected` formats floats and `Debug`-quotes
    // strings, which links large formatting code into every module.
    fn invalid_type(unexp: Unexpected<'_>, exp: &dyn Expected) -> Self {
        Error::unexpected("invalid type: ", unexp, exp)
    }

    fn invalid_value(unexp: Unexpected<'_>, exp: &dyn Expected) -> Self {
        Error::unexpected("invalid value: ", unexp, exp)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.located {
            Some((field, pos)) if !field.is_empty() => {
                write!(f, "field `{field}`: {} at {pos}", self.message)
            }
            Some((_, pos)) => write!(f, "{} at {pos}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

// Written out rather than derived: a derived `Debug` quotes strings with unicode tables.
impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for Error {}

/// Writes what was found, as serde would; returns where "number" stands for a float.
fn describe(out: &mut String, unexp: Unexpected<'_>) -> Option<usize> {
    let _ = match unexp {
        Unexpected::Bool(b) => write!(out, "boolean `{b}`"),
        Unexpected::Unsigned(n) => write!(out, "integer `{n}`"),
        Unexpected::Signed(n) => write!(out, "integer `{n}`"),
        Unexpected::Float(_) => {
            out.push_str("floating point ");
            let at = out.len();
            out.push_str("number");
            return Some(at);
        }
        Unexpected::Char(c) => write!(out, "character `{c}`"),
        Unexpected::Str(s) => {
            out.push_str("string ");
            quote(out, s);
            Ok(())
        }
        Unexpected::Bytes(_) => Ok(out.push_str("byte array")),
        Unexpected::Unit => Ok(out.push_str("null")),
        Unexpected::Option => Ok(out.push_str("Option value")),
        Unexpected::NewtypeStruct => Ok(out.push_str("newtype struct")),
        Unexpected::Seq => Ok(out.push_str("sequence")),
        Unexpected::Map => Ok(out.push_str("map")),
        Unexpected::Enum => Ok(out.push_str("enum")),
        Unexpected::UnitVariant => Ok(out.push_str("unit variant")),
        Unexpected::NewtypeVariant => Ok(out.push_str("newtype variant")),
        Unexpected::TupleVariant => Ok(out.push_str("tuple variant")),
        Unexpected::StructVariant => Ok(out.push_str("struct variant")),
        Unexpected::Other(other) => Ok(out.push_str(other)),
    };
    None
}

/// `"text"` with quotes, backslashes and control characters escaped.
fn quote(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c < ' ' || c == '\u{7f}' => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Where a value sits in the document, as a linked list on the stack (built only on error).
pub enum Path<'a> {
    Root,
    Key(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl Path<'_> {
    fn write(&self, out: &mut String) {
        match self {
            Path::Root => {}
            Path::Key(parent, key) => {
                parent.write(out);
                if !matches!(parent, Path::Root) {
                    out.push('.');
                }
                out.push_str(key);
            }
            Path::Index(parent, i) => {
                parent.write(out);
                let _ = write!(out, "[{i}]");
            }
        }
    }
}

/// What `invalid_type` is told a JSON value is.
fn unexpected(value: &Value) -> Unexpected<'_> {
    match value {
        Value::Null => Unexpected::Unit,
        Value::Bool(b) => Unexpected::Bool(*b),
        Value::U64(n) => Unexpected::Unsigned(*n),
        Value::I64(n) => Unexpected::Signed(*n),
        Value::F64(f, _) => Unexpected::Float(*f),
        Value::String(s) => Unexpected::Str(s),
        Value::Array(..) => Unexpected::Seq,
        Value::Object(..) => Unexpected::Map,
    }
}

/// "invalid type" for `value`, quoting a float as written.
fn type_error(value: &Value, exp: &dyn Expected) -> Error {
    let err = <Error as de::Error>::invalid_type(unexpected(value), exp);
    match value {
        Value::F64(_, text) => err.with_float(text),
        _ => err,
    }
}

fn key_deserializer(key: &str) -> StrDeserializer<'_, Error> {
    key.into_deserializer()
}

/// Deserializes one node; consumes the tree so strings move into the config.
pub struct Deserializer<'p> {
    node: Node,
    path: &'p Path<'p>,
}

impl<'p> Deserializer<'p> {
    pub fn new(node: Node, path: &'p Path<'p>) -> Self {
        Deserializer { node, path }
    }
}

impl<'de> de::Deserializer<'de> for Deserializer<'_> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let Node { value, pos } = self.node;
        let path = self.path;
        let result = match value {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(b),
            Value::U64(n) => visitor.visit_u64(n),
            Value::I64(n) => visitor.visit_i64(n),
            Value::F64(f, text) => visitor.visit_f64(f).map_err(|e: Error| e.with_float(&text)),
            Value::String(s) => visitor.visit_string(s),
            Value::Array(items, end) => {
                let total = items.len();
                let mut seq = Seq {
                    items: items.into_iter(),
                    index: 0,
                    path,
                    at: pos,
                    end,
                };
                let result = visitor.visit_seq(&mut seq);
                match (result, seq.items.as_slice().first()) {
                    // The visitor wanted fewer elements: point at the first one left over.
                    (Ok(_), Some(extra)) => Err(<Error as de::Error>::invalid_length(
                        total,
                        &"fewer elements in the array",
                    )
                    .locate(path, extra.pos)),
                    (result, _) => result.map_err(|e| e.locate(path, seq.at)),
                }
            }
            Value::Object(members, end) => {
                let mut map = Map {
                    members: members.into_iter(),
                    pending: None,
                    path,
                    at: pos,
                    end,
                };
                let result = visitor.visit_map(&mut map);
                result.map_err(|e| e.locate(path, map.at))
            }
        };
        result.map_err(|e| e.locate(path, pos))
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.node.value {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    /// Like `deserialize_any`, but an array is not taken as the fields in order.
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        if let Value::Array(..) = self.node.value {
            let err = type_error(&self.node.value, &visitor);
            return Err(err.locate(self.path, self.node.pos));
        }
        self.deserialize_any(visitor)
    }

    /// A unit variant from a string (`"api_key"`), or any variant from an object with a single
    /// key (`{"remote": {...}}`).
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        let Node { value, pos } = self.node;
        let path = self.path;
        match value {
            Value::String(s) => visitor.visit_enum(key_deserializer(&s)),
            Value::Object(mut members, _) if members.len() == 1 => match members.pop() {
                Some(member) => visitor.visit_enum(Variant { member, path }),
                None => Err(de::Error::custom("empty object")),
            },
            Value::Object(..) => Err(de::Error::invalid_value(
                Unexpected::Map,
                &"a string or an object with a single key",
            )),
            other => Err(type_error(&other, &visitor)),
        }
        .map_err(|e| e.locate(path, pos))
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    /// Unknown fields of a struct without `deny_unknown_fields`: nothing to look at.
    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map identifier
    }
}

struct Seq<'p> {
    items: std::vec::IntoIter<Node>,
    index: usize,
    path: &'p Path<'p>,
    /// Where an error of the array as a whole is reported: the last element read, or the
    /// closing bracket once all were.
    at: Pos,
    end: Pos,
}

impl<'de> SeqAccess<'de> for Seq<'_> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        let Some(node) = self.items.next() else {
            self.at = self.end;
            return Ok(None);
        };
        self.at = node.pos;
        let path = Path::Index(self.path, self.index);
        self.index += 1;
        seed.deserialize(Deserializer::new(node, &path)).map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

struct Map<'p> {
    members: std::vec::IntoIter<Member>,
    /// The member whose key was just read.
    pending: Option<(String, Node)>,
    path: &'p Path<'p>,
    /// Where an error of the object as a whole is reported (a duplicate key, a missing
    /// field): the last key read, or the closing brace once all were.
    at: Pos,
    end: Pos,
}

impl<'de> MapAccess<'de> for Map<'_> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        let Some(Member {
            key,
            key_pos,
            value,
        }) = self.members.next()
        else {
            self.at = self.end;
            return Ok(None);
        };
        self.at = key_pos;
        // A rejected key (unknown field) is reported as that field.
        let out = seed
            .deserialize(key_deserializer(&key))
            .map_err(|e| e.locate(&Path::Key(self.path, &key), key_pos))?;
        self.pending = Some((key, value));
        Ok(Some(out))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let Some((key, node)) = self.pending.take() else {
            return Err(de::Error::custom("value requested before its key"));
        };
        seed.deserialize(Deserializer::new(node, &Path::Key(self.path, &key)))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.members.len())
    }
}

/// An externally tagged enum value: `{"variant": value}`.
struct Variant<'p> {
    member: Member,
    path: &'p Path<'p>,
}

impl<'de, 'p> EnumAccess<'de> for Variant<'p> {
    type Error = Error;
    type Variant = VariantValue<'p>;

    fn variant_seed<T: DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<(T::Value, VariantValue<'p>), Error> {
        let Member {
            key,
            key_pos,
            value,
        } = self.member;
        let variant = seed
            .deserialize(key_deserializer(&key))
            .map_err(|e| e.locate(&Path::Key(self.path, &key), key_pos))?;
        let rest = VariantValue {
            key,
            node: value,
            path: self.path,
        };
        Ok((variant, rest))
    }
}

struct VariantValue<'p> {
    key: String,
    node: Node,
    path: &'p Path<'p>,
}

impl<'de> VariantAccess<'de> for VariantValue<'_> {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        let path = Path::Key(self.path, &self.key);
        de::Deserialize::deserialize(Deserializer::new(self.node, &path))
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, Error> {
        let path = Path::Key(self.path, &self.key);
        seed.deserialize(Deserializer::new(self.node, &path))
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, Error> {
        let path = Path::Key(self.path, &self.key);
        de::Deserializer::deserialize_any(Deserializer::new(self.node, &path), visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        let path = Path::Key(self.path, &self.key);
        de::Deserializer::deserialize_any(Deserializer::new(self.node, &path), visitor)
    }
}
