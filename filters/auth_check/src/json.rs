//! A plain JSON tree, filled by `filter_common`'s config parser through one small
//! `Deserialize` impl. The configuration is then read by hand (see `reader`): one visitor
//! costs far less module size than a derived `Deserialize` per config struct.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use std::fmt;

#[derive(Debug, Default, Clone, PartialEq)]
pub enum Json {
    #[default]
    Null,
    Bool(bool),
    Int(i64),
    /// A number with a fraction or exponent, or an integer beyond i64.
    OtherNumber,
    Str(String),
    Array(Vec<Json>),
    /// Members in document order; duplicate keys are rejected while parsing.
    Object(Vec<(String, Json)>),
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_none<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_bool<E>(self, v: bool) -> Result<Json, E> {
        Ok(Json::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Json, E> {
        Ok(Json::Int(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Json, E> {
        Ok(i64::try_from(v).map_or(Json::OtherNumber, Json::Int))
    }

    fn visit_f64<E>(self, _v: f64) -> Result<Json, E> {
        Ok(Json::OtherNumber)
    }

    fn visit_str<E>(self, v: &str) -> Result<Json, E> {
        Ok(Json::Str(v.to_string()))
    }

    fn visit_string<E>(self, v: String) -> Result<Json, E> {
        Ok(Json::Str(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut members: Vec<(String, Json)> = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            if members.iter().any(|(k, _)| *k == key) {
                return Err(de::Error::custom(format!("duplicate key `{key}`")));
            }
            let value = map.next_value()?;
            members.push((key, value));
        }
        Ok(Json::Object(members))
    }
}

impl Json {
    /// What a value is, for "expected X, got Y" (never the value itself: it may be a secret).
    pub fn kind(&self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Bool(_) => "a boolean",
            Json::Int(_) | Json::OtherNumber => "a number",
            Json::Str(_) => "a string",
            Json::Array(_) => "an array",
            Json::Object(_) => "an object",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Json, String> {
        filter_common::config::parse::<Json>(text.as_bytes()).map_err(|e| e.to_string())
    }

    #[test]
    fn parses_every_kind() {
        let doc = parse(
            r#"{"n":null,"b":false,"i":-3,"u":18446744073709551615,"f":1.5,"s":"x","a":[1,"y"],"o":{"k":true}}"#,
        )
        .unwrap();
        let s = |v: &str| Json::Str(v.to_string());
        assert_eq!(
            doc,
            Json::Object(vec![
                ("n".into(), Json::Null),
                ("b".into(), Json::Bool(false)),
                ("i".into(), Json::Int(-3)),
                ("u".into(), Json::OtherNumber),
                ("f".into(), Json::OtherNumber),
                ("s".into(), s("x")),
                ("a".into(), Json::Array(vec![Json::Int(1), s("y")])),
                (
                    "o".into(),
                    Json::Object(vec![("k".into(), Json::Bool(true))])
                ),
            ])
        );
        assert_eq!(parse("").unwrap(), Json::Null);
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let err = parse(r#"{"a":{"b":1,"b":2}}"#).unwrap_err();
        assert!(err.contains("duplicate key `b`"), "{err}");
        assert!(err.starts_with("field `a`"), "{err}");
    }
}
