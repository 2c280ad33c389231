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
            let range = at..at + "number".len();
            if self.message.get(range.clone()) == Some("number") {
                self.message.replace_range(range, &format!("`{text}`"));
            }
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
    let fixed = match unexp {
        Unexpected::Bool(b) => {
            let _ = write!(out, "boolean `{b}`");
            return None;
        }
        Unexpected::Unsigned(n) => {
            let _ = write!(out, "integer `{n}`");
            return None;
        }
        Unexpected::Signed(n) => {
            let _ = write!(out, "integer `{n}`");
            return None;
        }
        Unexpected::Float(_) => {
            out.push_str("floating point ");
            let at = out.len();
            out.push_str("number");
            return Some(at);
        }
        Unexpected::Char(c) => {
            let _ = write!(out, "character `{c}`");
            return None;
        }
        Unexpected::Str(s) => {
            out.push_str("string ");
            quote(out, s);
            return None;
        }
        Unexpected::Bytes(_) => "byte array",
        Unexpected::Unit => "null",
        Unexpected::Option => "Option value",
        Unexpected::NewtypeStruct => "newtype struct",
        Unexpected::Seq => "sequence",
        Unexpected::Map => "map",
        Unexpected::Enum => "enum",
        Unexpected::UnitVariant => "unit variant",
        Unexpected::NewtypeVariant => "newtype variant",
        Unexpected::TupleVariant => "tuple variant",
        Unexpected::StructVariant => "struct variant",
        Unexpected::Other(other) => other,
    };
    out.push_str(fixed);
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

#[cfg(test)]
mod tests {
    use super::super::json;
    use super::*;
    use serde::Deserialize;
    use std::collections::BTreeMap;

    fn from<T: de::DeserializeOwned>(doc: &str) -> Result<T, Error> {
        let root = json::parse(doc.as_bytes()).unwrap();
        T::deserialize(Deserializer::new(root, &Path::Root))
    }

    /// `field`, then the message with its position.
    fn fail<T: de::DeserializeOwned + fmt::Debug>(doc: &str) -> (String, String) {
        let err = from::<T>(doc).unwrap_err();
        (err.field().to_string(), err.message())
    }

    #[derive(Debug, Default, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields, default, rename_all = "kebab-case")]
    struct Scalars {
        small: u8,
        count: u32,
        big: u64,
        signed: i64,
        rate: f64,
        on: bool,
        name: String,
        maybe: Option<String>,
        list: Vec<u32>,
        map: BTreeMap<String, i64>,
        pair: (u32, String),
        wrapped: Wrapped,
        the_mode: Mode,
    }

    #[derive(Debug, Default, Deserialize, PartialEq)]
    struct Wrapped(u32);

    #[derive(Debug, Default, Deserialize, PartialEq)]
    #[serde(rename_all = "snake_case")]
    enum Mode {
        #[default]
        ApiKey,
        Basic,
    }

    #[test]
    fn every_supported_type() {
        let s: Scalars = from(
            r#"{"small":255,"count":4294967295,"big":18446744073709551615,"signed":-9223372036854775808,
                "rate":0.5,"on":true,"name":"n\u00e9","maybe":"m","list":[1,2],"map":{"b":-1,"a":2},
                "pair":[7,"x"],"wrapped":9,"the-mode":"basic"}"#,
        )
        .unwrap();
        assert_eq!(
            s,
            Scalars {
                small: 255,
                count: u32::MAX,
                big: u64::MAX,
                signed: i64::MIN,
                rate: 0.5,
                on: true,
                name: "né".into(),
                maybe: Some("m".into()),
                list: vec![1, 2],
                map: [("a".to_string(), 2), ("b".to_string(), -1)].into(),
                pair: (7, "x".into()),
                wrapped: Wrapped(9),
                the_mode: Mode::Basic,
            }
        );
        let s: Scalars = from(r#"{"maybe":null,"rate":3,"signed":5}"#).unwrap();
        assert_eq!((s.maybe, s.rate, s.signed), (None, 3.0, 5));
        assert_eq!(from::<Scalars>("{}").unwrap(), Scalars::default());
    }

    #[test]
    fn type_errors_quote_the_value() {
        let cases = [
            (r#"{"count":"ten"}"#, "count", "invalid type: string \"ten\", expected u32 at line 1 column 14"),
            (r#"{"count":1.5}"#, "count", "invalid type: floating point `1.5`, expected u32 at line 1 column 12"),
            (r#"{"count":-2e3}"#, "count", "invalid type: floating point `-2e3`, expected u32 at line 1 column 13"),
            (r#"{"count":true}"#, "count", "invalid type: boolean `true`, expected u32 at line 1 column 13"),
            (r#"{"count":null}"#, "count", "invalid type: null, expected u32 at line 1 column 13"),
            (r#"{"count":[]}"#, "count", "invalid type: sequence, expected u32 at line 1 column 10"),
            (r#"{"count":{}}"#, "count", "invalid type: map, expected u32 at line 1 column 10"),
            (r#"{"name":7}"#, "name", "invalid type: integer `7`, expected a string at line 1 column 9"),
            (r#"{"name":-7}"#, "name", "invalid type: integer `-7`, expected a string at line 1 column 10"),
            (r#"{"on":"yes"}"#, "on", "invalid type: string \"yes\", expected a boolean at line 1 column 11"),
            (r#"{"rate":"1"}"#, "rate", "invalid type: string \"1\", expected f64 at line 1 column 11"),
            (r#"{"big":18446744073709551616}"#, "big", "invalid type: floating point `18446744073709551616`, expected u64 at line 1 column 27"),
            (r#"{"list":"1"}"#, "list", "invalid type: string \"1\", expected a sequence at line 1 column 11"),
            (r#"{"map":[]}"#, "map", "invalid type: sequence, expected a map at line 1 column 8"),
        ];
        for (doc, field, message) in cases {
            assert_eq!(
                fail::<Scalars>(doc),
                (field.to_string(), message.to_string()),
                "{doc}"
            );
        }
    }

    #[test]
    fn strings_in_messages_are_escaped_without_debug() {
        let (_, message) = fail::<Scalars>(r#"{"count":"a\"b\\c\nd\u0001é"}"#);
        assert_eq!(
            message,
            "invalid type: string \"a\\\"b\\\\c\\nd\\u{1}é\", expected u32 at line 1 column 28"
        );
    }

    #[test]
    fn range_errors_are_invalid_values() {
        let cases = [
            (
                r#"{"small":256}"#,
                "small",
                "invalid value: integer `256`, expected u8 at line 1 column 12",
            ),
            (
                r#"{"count":-1}"#,
                "count",
                "invalid value: integer `-1`, expected u32 at line 1 column 11",
            ),
            (
                r#"{"signed":9223372036854775808}"#,
                "signed",
                "invalid value: integer `9223372036854775808`, expected i64 at line 1 column 29",
            ),
        ];
        for (doc, field, message) in cases {
            assert_eq!(
                fail::<Scalars>(doc),
                (field.to_string(), message.to_string()),
                "{doc}"
            );
        }
    }

    #[test]
    fn paths_through_arrays_maps_and_structs() {
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Key {
            #[allow(dead_code)]
            name: String,
        }
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Keys {
            #[allow(dead_code)]
            keys: Vec<Key>,
            #[allow(dead_code)]
            #[serde(default)]
            nested: BTreeMap<String, Vec<Vec<u32>>>,
        }
        let doc = "{\"keys\":[{\"name\":\"a\"},{\"name\":\"b\"},\n {\"name\":3}]}";
        assert_eq!(
            fail::<Keys>(doc),
            (
                "keys[2].name".into(),
                "invalid type: integer `3`, expected a string at line 2 column 10".into()
            )
        );
        // A missing field is reported at the closing brace of its object.
        assert_eq!(
            fail::<Keys>(r#"{"keys":[{"name":"a"},{ }]}"#),
            (
                "keys[1]".into(),
                "missing field `name` at line 1 column 25".into()
            )
        );
        assert_eq!(
            fail::<Keys>(r#"{"keys":[],"nested":{"x.y":[[1],[2,"3"]]}}"#),
            (
                "nested.x.y[1][1]".into(),
                "invalid type: string \"3\", expected u32 at line 1 column 38".into()
            )
        );
        // An unknown field is reported as that field, at its key.
        assert_eq!(
            fail::<Keys>(r#"{"keys":[{"name":"a","nme":1}]}"#),
            (
                "keys[0].nme".into(),
                "unknown field `nme`, expected `name` at line 1 column 26".into()
            )
        );
        // Errors of the document itself have no field.
        assert_eq!(
            fail::<Keys>("{}"),
            (
                String::new(),
                "missing field `keys` at line 1 column 2".into()
            )
        );
        assert_eq!(
            fail::<Keys>(r#"{"keys":[],"keys":[]}"#),
            (
                String::new(),
                "duplicate field `keys` at line 1 column 17".into()
            )
        );
    }

    #[test]
    fn structs_are_objects_not_arrays() {
        #[derive(Debug, Deserialize)]
        struct Inner {
            #[allow(dead_code)]
            a: u32,
        }
        #[derive(Debug, Deserialize)]
        struct Outer {
            #[allow(dead_code)]
            inner: Inner,
        }
        assert_eq!(
            fail::<Outer>(r#"{"inner":[1]}"#),
            (
                "inner".into(),
                "invalid type: sequence, expected struct Inner at line 1 column 10".into()
            )
        );
        assert_eq!(
            fail::<Outer>(r#"{"inner":1.0}"#),
            (
                "inner".into(),
                "invalid type: floating point `1.0`, expected struct Inner at line 1 column 12"
                    .into()
            )
        );
    }

    #[test]
    fn unknown_fields_are_skipped_without_deny_unknown_fields() {
        #[derive(Debug, Deserialize, PartialEq)]
        struct Lenient {
            a: u32,
        }
        let v: Lenient = from(r#"{"x":{"deep":[1,{"y":null}]},"a":1,"z":"s"}"#).unwrap();
        assert_eq!(v, Lenient { a: 1 });
    }

    #[test]
    fn tuples_check_their_length() {
        assert_eq!(
            fail::<Scalars>(r#"{"pair":[1,"a",2]}"#),
            (
                "pair".into(),
                "invalid length 3, expected fewer elements in the array at line 1 column 16".into()
            )
        );
        assert_eq!(
            fail::<Scalars>(r#"{"pair":[1]}"#),
            (
                "pair".into(),
                "invalid length 1, expected a tuple of size 2 at line 1 column 11".into()
            )
        );
    }

    #[test]
    fn unit_variants_from_strings() {
        assert_eq!(
            fail::<Scalars>(r#"{"the-mode":"oauth"}"#),
            (
                "the-mode".into(),
                "unknown variant `oauth`, expected `api_key` or `basic` at line 1 column 19".into()
            )
        );
        assert_eq!(
            fail::<Scalars>(r#"{"the-mode":1}"#),
            (
                "the-mode".into(),
                "invalid type: integer `1`, expected enum Mode at line 1 column 13".into()
            )
        );
        assert_eq!(
            fail::<Scalars>(r#"{"the-mode":{"basic":null,"api_key":null}}"#),
            ("the-mode".into(), "invalid value: map, expected a string or an object with a single key at line 1 column 13".into())
        );
        // `{"variant": null}` is the same unit variant.
        let s: Scalars = from(r#"{"the-mode":{"basic":null}}"#).unwrap();
        assert_eq!(s.the_mode, Mode::Basic);
        assert_eq!(
            fail::<Scalars>(r#"{"the-mode":{"basic":1}}"#),
            (
                "the-mode.basic".into(),
                "invalid type: integer `1`, expected unit at line 1 column 22".into()
            )
        );
    }

    #[test]
    fn externally_tagged_variants() {
        #[derive(Debug, Deserialize, PartialEq)]
        #[serde(rename_all = "snake_case")]
        enum Action {
            Drop,
            Status(u32),
            Pair(u32, u32),
            Reply { status: u32, body: String },
        }
        assert_eq!(from::<Action>(r#""drop""#).unwrap(), Action::Drop);
        assert_eq!(
            from::<Action>(r#"{"status":403}"#).unwrap(),
            Action::Status(403)
        );
        assert_eq!(
            from::<Action>(r#"{"pair":[1,2]}"#).unwrap(),
            Action::Pair(1, 2)
        );
        assert_eq!(
            from::<Action>(r#"{"reply":{"status":200,"body":"ok"}}"#).unwrap(),
            Action::Reply {
                status: 200,
                body: "ok".into()
            }
        );
        let err = from::<Action>(r#""status""#).unwrap_err();
        assert_eq!(
            err.message(),
            "invalid type: unit variant, expected newtype variant at line 1 column 8"
        );
        let err = from::<Action>(r#"{"reply":{"status":"x","body":"ok"}}"#).unwrap_err();
        assert_eq!(err.field(), "reply.status");
        let err = from::<Action>(r#"{"nope":1}"#).unwrap_err();
        assert_eq!(err.field(), "nope");
        assert!(err.message().starts_with("unknown variant `nope`"), "{err}");
    }

    #[test]
    fn internally_tagged_and_untagged_enums() {
        #[derive(Debug, Deserialize, PartialEq)]
        #[serde(tag = "type", rename_all = "snake_case")]
        enum Source {
            Header { name: String },
            Query { param: String, required: bool },
        }
        #[derive(Debug, Deserialize, PartialEq)]
        #[serde(untagged)]
        enum Limit {
            Count(u64),
            Named(String),
        }
        assert_eq!(
            from::<Source>(r#"{"type":"header","name":"x"}"#).unwrap(),
            Source::Header { name: "x".into() }
        );
        assert_eq!(
            from::<Source>(r#"{"param":"k","type":"query","required":true}"#).unwrap(),
            Source::Query {
                param: "k".into(),
                required: true
            }
        );
        assert!(from::<Source>(r#"{"type":"cookie"}"#)
            .unwrap_err()
            .message()
            .starts_with("unknown variant `cookie`"));
        assert_eq!(from::<Limit>("5").unwrap(), Limit::Count(5));
        assert_eq!(
            from::<Limit>(r#""all""#).unwrap(),
            Limit::Named("all".into())
        );
        assert!(from::<Limit>("1.5").is_err());
    }

    #[test]
    fn display_has_field_and_position() {
        let err = from::<Scalars>(r#"{"count":"x"}"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "field `count`: invalid type: string \"x\", expected u32 at line 1 column 12"
        );
        assert_eq!(format!("{err:?}"), err.to_string());
        let err = <Error as de::Error>::custom("plain");
        assert_eq!(
            (err.field(), err.message(), err.to_string()),
            ("", "plain".to_string(), "plain".to_string())
        );
    }

    #[test]
    fn float_placeholder_without_a_document_number() {
        // A visitor reporting a float it computed itself: no text to quote.
        let err = <Error as de::Error>::invalid_value(Unexpected::Float(0.1), &"a ratio");
        assert_eq!(
            err.message(),
            "invalid value: floating point number, expected a ratio"
        );
        let mut s = String::new();
        quote(&mut s, "\u{7f}\r\t");
        assert_eq!(s, "\"\\u{7f}\\r\\t\"");
    }
}
