//! Plugin configuration: JSON into a typed struct, with errors that say which field is wrong
//! and where.
//!
//! Config types should use `#[serde(deny_unknown_fields)]` so a typo is an error, not a
//! silently ignored key. The JSON side is our own ([`json`] parses, [`de`] feeds serde):
//! `serde_json` with `serde_path_to_error` cost about 65 KB of every wasm module.

mod de;
mod json;

use serde::de::{DeserializeOwned, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use std::fmt;

/// A configuration that could not be parsed; `Display` gives the full explanation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// Dotted path of the offending field (`request.set.x-foo`), empty for the document itself.
    pub field: String,
    /// What is wrong, from serde, with line and column of the JSON input when known.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "field `{}`: {}", self.field, self.message)
        }
    }
}

impl ConfigError {
    /// An error found after parsing, while validating a field's value.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Parses the plugin configuration. An absent or blank configuration means `T::default()`,
/// as Istio sends nothing when a WasmPlugin has no `pluginConfig`.
pub fn parse<T: DeserializeOwned + Default>(bytes: &[u8]) -> Result<T, ConfigError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    // A document that is not an object gets one plain message, whatever it is.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ConfigError::invalid(
            "",
            "the configuration must be a JSON object",
        ));
    }
    let root = json::parse(bytes).map_err(|err| ConfigError::invalid("", err.to_string()))?;
    T::deserialize(de::Deserializer::new(root, &de::Path::Root)).map_err(|err| ConfigError {
        field: err.field().to_string(),
        message: err.message(),
    })
}

/// A JSON object read as a list of pairs in document order, rejecting duplicate keys (which a map
/// type would otherwise resolve silently by keeping the last one).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderedMap<V>(pub Vec<(String, V)>);

impl<V> OrderedMap<V> {
    pub fn iter(&self) -> impl Iterator<Item = &(String, V)> {
        self.0.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for OrderedMap<V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PairsVisitor<V>(std::marker::PhantomData<V>);

        impl<'de, V: Deserialize<'de>> Visitor<'de> for PairsVisitor<V> {
            type Value = OrderedMap<V>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut pairs: Vec<(String, V)> = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    if pairs.iter().any(|(k, _)| *k == key) {
                        return Err(serde::de::Error::custom(format!("duplicate key `{key}`")));
                    }
                    let value = map.next_value()?;
                    pairs.push((key, value));
                }
                Ok(OrderedMap(pairs))
            }
        }

        deserializer.deserialize_map(PairsVisitor(std::marker::PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use std::collections::BTreeMap;

    #[derive(Debug, Default, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Inner {
        set: BTreeMap<String, String>,
    }

    #[derive(Debug, Default, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields, default)]
    struct Config {
        request: Inner,
        limit: u32,
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct WithPairs {
        headers: OrderedMap<String>,
    }

    #[test]
    fn ordered_map_keeps_document_order() {
        let c: WithPairs = parse(br#"{"headers":{"z":"1","a":"2","m":"3"}}"#).unwrap();
        let keys: Vec<&str> = c.headers.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["z", "a", "m"]);
        assert_eq!(c.headers.len(), 3);
    }

    #[test]
    fn ordered_map_rejects_duplicates_and_bad_values() {
        let err = parse::<WithPairs>(br#"{"headers":{"a":"1","a":"2"}}"#).unwrap_err();
        assert_eq!(err.field, "headers");
        assert!(err.message.starts_with("duplicate key `a`"), "{err}");
        let err = parse::<WithPairs>(br#"{"headers":{"a":1}}"#).unwrap_err();
        assert_eq!(err.field, "headers.a");
        let err = parse::<WithPairs>(br#"{"headers":["a"]}"#).unwrap_err();
        assert!(err.message.contains("expected an object"), "{err}");
    }

    #[test]
    fn blank_config_is_default() {
        assert_eq!(parse::<Config>(b"").unwrap(), Config::default());
        assert_eq!(parse::<Config>(b" \n\t").unwrap(), Config::default());
    }

    #[test]
    fn parses_nested_fields() {
        let c: Config = parse(br#"{"request":{"set":{"a":"b"}},"limit":3}"#).unwrap();
        assert_eq!(c.limit, 3);
        assert_eq!(c.request.set["a"], "b");
    }

    #[test]
    fn unknown_field_names_field_and_position() {
        let err = parse::<Config>(br#"{"request":{"sett":{}}}"#).unwrap_err();
        assert_eq!(err.field, "request.sett");
        assert!(
            err.message
                .starts_with("unknown field `sett`, expected `set`"),
            "{err}"
        );
        assert!(err.message.contains("line 1 column 18"), "{err}");
        assert_eq!(
            err.to_string(),
            format!("field `request.sett`: {}", err.message)
        );
    }

    #[test]
    fn wrong_type_names_the_field() {
        let err = parse::<Config>(br#"{"limit":"ten"}"#).unwrap_err();
        assert_eq!(err.field, "limit");
        assert!(err
            .message
            .contains("invalid type: string \"ten\", expected u32"));
        assert!(err.message.contains("line 1 column 14"), "{err}");
    }

    #[test]
    fn nested_map_value_path() {
        let err = parse::<Config>(br#"{"request":{"set":{"x":1}}}"#).unwrap_err();
        assert_eq!(err.field, "request.set.x");
    }

    #[test]
    fn syntax_error_and_trailing_garbage() {
        let err = parse::<Config>(b"{").unwrap_err();
        assert!(err.message.contains("EOF while parsing"), "{err}");
        let err = parse::<Config>(b"{} {}").unwrap_err();
        assert!(err.message.contains("trailing characters"), "{err}");
        assert_eq!(err.field, "");
    }

    #[test]
    fn non_object_document() {
        for doc in [&b"[1]"[..], b"\"x\"", b" 7"] {
            let err = parse::<Config>(doc).unwrap_err();
            assert_eq!(err.to_string(), "the configuration must be a JSON object");
        }
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(deny_unknown_fields, default)]
    struct Ops {
        #[allow(dead_code)]
        set: OrderedMap<String>,
        #[allow(dead_code)]
        add: OrderedMap<String>,
        #[allow(dead_code)]
        remove: Vec<String>,
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(deny_unknown_fields, default)]
    struct Sides {
        #[allow(dead_code)]
        request: Ops,
    }

    #[test]
    fn full_messages() {
        let err = parse::<Config>(br#"{"limit":"ten"}"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "field `limit`: invalid type: string \"ten\", expected u32 at line 1 column 14"
        );
        let err = parse::<Sides>(br#"{"request":{"sett":{}}}"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "field `request.sett`: unknown field `sett`, expected one of `set`, `add`, `remove` at line 1 column 18"
        );
        let err = parse::<Sides>(
            b"{\n  \"request\": {\n    \"set\": {\"x\": \"1\", \"x\": \"2\"}\n  }\n}",
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "field `request.set`: duplicate key `x` at line 3 column 25"
        );
        let err = parse::<Sides>(br#"{"request":{"remove":["a",2.50]}}"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "field `request.remove[1]`: invalid type: floating point `2.50`, expected a string at line 1 column 30"
        );
    }

    #[test]
    fn syntax_errors_have_no_field() {
        for (doc, want) in [
            (&b"{\"limit\":}"[..], "expected value at line 1 column 10"),
            (b"{\"limit\":1,}", "trailing comma at line 1 column 12"),
            (
                b"{\"limit\":1",
                "EOF while parsing an object at line 1 column 10",
            ),
            (b"{\"a\":\"\xff\"}", "invalid UTF-8 at line 1 column 7"),
            (b"{\"a\":\"\\q\"}", "invalid escape at line 1 column 8"),
        ] {
            let err = parse::<Config>(doc).unwrap_err();
            assert_eq!((err.field.as_str(), err.to_string().as_str()), ("", want));
        }
    }

    #[test]
    fn ordered_map_allows_the_same_key_in_different_maps() {
        let c: Sides = parse(br#"{"request":{"set":{"a":"1"},"add":{"a":"2"}}}"#).unwrap();
        assert_eq!(c.request.set.0, [("a".to_string(), "1".to_string())]);
        assert_eq!(c.request.add.0, [("a".to_string(), "2".to_string())]);
        assert!(parse::<WithPairs>(br#"{"headers":{}}"#)
            .unwrap()
            .headers
            .is_empty());
    }
}
