//! Plugin configuration: JSON into a typed struct with `serde_json`, errors that name the field
//! (`serde_path_to_error`) and never repeat a configured value, which may be a secret.
//!
//! Config types should use `#[serde(deny_unknown_fields)]` so a typo is an error, not a
//! silently ignored key.

use serde::de::{DeserializeOwned, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use std::fmt;

/// A configuration that could not be parsed; `Display` gives the full explanation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// Dotted path of the offending field (`request.set.x-foo`), empty for the document itself.
    pub field: String,
    /// What is wrong, with line and column of the JSON input when known.
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
    let mut json = serde_json::Deserializer::from_slice(bytes);
    let Object(value) = serde_path_to_error::deserialize(&mut json).map_err(|err| {
        // A syntax error belongs to the document, not to the field being read.
        let field = match err.inner().classify() {
            serde_json::error::Category::Data => err.path().to_string(),
            _ => String::new(),
        };
        // serde_path_to_error says `.` for the document itself.
        let field = if field == "." { String::new() } else { field };
        ConfigError::invalid(field, without_values(&err.into_inner().to_string()))
    })?;
    json.end()
        .map_err(|err| ConfigError::invalid("", err.to_string()))?;
    Ok(value)
}

/// Reads the plugin configuration in `on_configure`: parses it into `T`, then `build`s what
/// requests share. On error, logs `invalid configuration: ...` and returns `None`, and the
/// root context returns false: Envoy then refuses the configuration (static) or NACKs it (xDS).
pub fn load<T, P>(bytes: Option<Vec<u8>>, build: impl FnOnce(T) -> Result<P, String>) -> Option<P>
where
    T: DeserializeOwned + Default,
{
    let bytes = bytes.unwrap_or_default();
    match parse::<T>(&bytes)
        .map_err(|e| e.to_string())
        .and_then(build)
    {
        Ok(plugin) => Some(plugin),
        Err(message) => {
            log::error!("invalid configuration: {message}");
            None
        }
    }
}

/// serde's messages quote the value they reject (`invalid type: string "Bearer s3cr3t",
/// expected u32`); a configured value can be a credential that must not reach a log. This
/// keeps the kind of value and drops the value itself.
fn without_values(message: &str) -> String {
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = message.strip_prefix(prefix) {
            return format!("{prefix}{}", drop_unexpected_value(rest));
        }
    }
    if let Some(rest) = message.strip_prefix("unknown variant `") {
        if let Some((_, after)) = rest.split_once("`, expected") {
            return format!("unknown variant, expected{after}");
        }
    }
    message.to_string()
}

/// `string "x", expected ...` -> `string, expected ...`; likewise for the other kinds serde
/// shows with a value (`integer `5``, `floating point `2.5``, `boolean `true``, `character `c``).
fn drop_unexpected_value(rest: &str) -> String {
    if let Some(quoted) = rest.strip_prefix("string \"") {
        // The value is written with Rust's `{:?}`: it ends at the first unescaped quote.
        let mut escaped = false;
        for (i, c) in quoted.char_indices() {
            match c {
                '\\' if !escaped => escaped = true,
                '"' if !escaped => return format!("string{}", &quoted[i + 1..]),
                _ => escaped = false,
            }
        }
    }
    for kind in ["integer", "floating point", "boolean", "character"] {
        if let Some(value) = rest.strip_prefix(kind).and_then(|r| r.strip_prefix(" `")) {
            if let Some((_, after)) = value.split_once("`, expected") {
                return format!("{kind}, expected{after}");
            }
        }
    }
    rest.to_string()
}

/// A section that must be a JSON object: `T` is read from an object only (serde's derive also
/// accepts an array of the fields in order, which no configuration means).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Object<T>(pub T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectVisitor<T>(std::marker::PhantomData<T>);

        impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectVisitor<T> {
            type Value = Object<T>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(Object)
            }
        }

        deserializer.deserialize_map(ObjectVisitor(std::marker::PhantomData))
    }
}

/// A JSON object read as a list of pairs in document order, rejecting duplicate keys (which a
/// map type would resolve silently by keeping the last one).
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
        mode: Mode,
    }

    #[derive(Debug, Default, Deserialize, PartialEq)]
    #[serde(rename_all = "snake_case")]
    enum Mode {
        #[default]
        ApiKey,
        Basic,
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct WithPairs {
        headers: OrderedMap<String>,
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(deny_unknown_fields, default)]
    #[allow(dead_code)]
    struct Ops {
        set: OrderedMap<String>,
        add: OrderedMap<String>,
        remove: Vec<String>,
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(deny_unknown_fields, default)]
    struct Sides {
        request: Ops,
    }

    fn message<T: DeserializeOwned + Default + fmt::Debug>(json: &str) -> String {
        parse::<T>(json.as_bytes()).unwrap_err().to_string()
    }

    #[test]
    fn blank_config_is_default_and_fields_parse() {
        assert_eq!(parse::<Config>(b"").unwrap(), Config::default());
        assert_eq!(parse::<Config>(b" \n\t").unwrap(), Config::default());
        let c: Config =
            parse(br#"{"request":{"set":{"a":"b"}},"limit":3,"mode":"basic"}"#).unwrap();
        assert_eq!(
            (c.limit, c.request.set["a"].as_str(), c.mode),
            (3, "b", Mode::Basic)
        );
    }

    #[test]
    fn errors_name_the_field_and_position() {
        assert_eq!(
            message::<Sides>(r#"{"request":{"sett":{}}}"#),
            "field `request.sett`: unknown field `sett`, expected one of `set`, `add`, `remove` at line 1 column 18"
        );
        let err = parse::<Config>(br#"{"request":{"set":{"x":1}}}"#).unwrap_err();
        assert_eq!(err.field, "request.set.x");
        assert_eq!(
            message::<Sides>(r#"{"request":{"remove":["a",2.50]}}"#),
            "field `request.remove[1]`: invalid type: floating point, expected a string at line 1 column 30"
        );
    }

    #[test]
    fn errors_never_repeat_a_configured_value() {
        for (json, want) in [
            (
                r#"{"limit":"Bearer s3cr3t \"x\""}"#,
                "field `limit`: invalid type: string, expected u32 at line 1 column 30",
            ),
            (
                r#"{"limit":-7}"#,
                "field `limit`: invalid value: integer, expected u32 at line 1 column 11",
            ),
            (
                r#"{"limit":true}"#,
                "field `limit`: invalid type: boolean, expected u32 at line 1 column 13",
            ),
            (
                r#"{"mode":"s3cr3t"}"#,
                "field `mode`: unknown variant, expected `api_key` or `basic` at line 1 column 16",
            ),
        ] {
            let got = message::<Config>(json);
            assert_eq!(got, want);
            assert!(!got.contains("s3cr3t") && !got.contains("-7"), "{got}");
        }
    }

    #[test]
    fn ordered_map_keeps_order_and_rejects_duplicates() {
        let c: WithPairs = parse(br#"{"headers":{"z":"1","a":"2","m":"3"}}"#).unwrap();
        let keys: Vec<&str> = c.headers.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["z", "a", "m"]);
        assert_eq!(
            message::<Sides>(
                "{\n  \"request\": {\n    \"set\": {\"x\": \"1\", \"x\": \"2\"}\n  }\n}"
            ),
            "field `request.set`: duplicate key `x` at line 3 column 25"
        );
        assert_eq!(
            message::<WithPairs>(r#"{"headers":["a"]}"#),
            "field `headers`: invalid type: sequence, expected an object at line 1 column 11"
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
            (b"{} {}", "trailing characters at line 1 column 4"),
            (
                b"{\"\xff\":1}",
                "invalid unicode code point at line 1 column 3",
            ),
        ] {
            let err = parse::<Config>(doc).unwrap_err();
            assert_eq!((err.field.as_str(), err.to_string().as_str()), ("", want));
        }
        for doc in [&b"[1]"[..], b"\"x\"", b" 7"] {
            assert_eq!(
                parse::<Config>(doc).unwrap_err().to_string(),
                "the configuration must be a JSON object"
            );
        }
    }

    #[test]
    fn sections_are_objects_only() {
        #[derive(Debug, Default, Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Doc {
            #[serde(default)]
            inner: Option<Object<Inner>>,
        }
        let doc: Doc = parse(br#"{"inner":{"set":{"a":"b"}}}"#).unwrap();
        assert_eq!(doc.inner.unwrap().0.set["a"], "b");
        // serde's derive would read the fields from an array in order.
        assert_eq!(
            message::<Doc>(r#"{"inner":[{"a":"b"}]}"#),
            "field `inner`: invalid type: sequence, expected an object at line 1 column 9"
        );
    }

    #[test]
    fn load_logs_nothing_on_success_and_builds() {
        let built = load::<Config, u32>(Some(br#"{"limit":4}"#.to_vec()), |c| Ok(c.limit * 2));
        assert_eq!(built, Some(8));
        assert_eq!(load::<Config, u32>(None, |c| Ok(c.limit)), Some(0));
        assert_eq!(load::<Config, u32>(None, |_| Err("no".into())), None);
    }
}
