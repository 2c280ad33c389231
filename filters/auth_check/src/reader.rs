//! Reads the configuration from the parsed JSON tree by hand, with errors that name the
//! field. Unknown fields are rejected; `null` means absent, as with serde's `Option`.

use crate::json::Json;
use filter_common::config::ConfigError;

type Members = [(String, Json)];

/// A JSON object of the configuration, with its dotted path for error messages.
pub struct Obj<'a> {
    /// `None` for the empty document.
    map: Option<&'a Members>,
    path: String,
}

impl<'a> Obj<'a> {
    /// The document itself; `null` (an empty configuration) reads as `{}`.
    pub fn root(doc: &'a Json, allowed: &[&str]) -> Result<Self, ConfigError> {
        match doc {
            Json::Null => Ok(Obj {
                map: None,
                path: String::new(),
            }),
            v => Obj::at(v, String::new(), allowed),
        }
    }

    fn at(value: &'a Json, path: String, allowed: &[&str]) -> Result<Self, ConfigError> {
        let Json::Object(map) = value else {
            return Err(crate::reader::invalid(
                path,
                format!("expected an object, got {}", value.kind()),
            ));
        };
        if let Some((unknown, _)) = map.iter().find(|(k, _)| !allowed.contains(&k.as_str())) {
            let mut message = format!("unknown field `{unknown}`, expected one of ");
            for (i, a) in allowed.iter().enumerate() {
                if i > 0 {
                    message.push_str(", ");
                }
                message.push('`');
                message.push_str(a);
                message.push('`');
            }
            return Err(crate::reader::invalid(join(&path, unknown), message));
        }
        Ok(Obj {
            map: Some(map.as_slice()),
            path,
        })
    }

    /// The dotted path of `key` in this object.
    pub fn field(&self, key: &str) -> String {
        join(&self.path, key)
    }

    fn get(&self, key: &str) -> Option<&'a Json> {
        self.map
            .and_then(|m| m.iter().find(|(k, _)| k == key))
            .map(|(_, v)| v)
            .filter(|v| **v != Json::Null)
    }

    /// True when `key` is present and not `null`.
    pub fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    fn wrong(&self, key: &str, expected: &str, got: &Json) -> ConfigError {
        crate::reader::invalid(
            self.field(key),
            format!("expected {expected}, got {}", got.kind()),
        )
    }

    pub fn string(&self, key: &str) -> Result<Option<String>, ConfigError> {
        match self.get(key) {
            None => Ok(None),
            Some(Json::Str(s)) => Ok(Some(s.clone())),
            Some(v) => Err(self.wrong(key, "a string", v)),
        }
    }

    pub fn boolean(&self, key: &str) -> Result<Option<bool>, ConfigError> {
        match self.get(key) {
            None => Ok(None),
            Some(Json::Bool(b)) => Ok(Some(*b)),
            Some(v) => Err(self.wrong(key, "a boolean", v)),
        }
    }

    pub fn integer(&self, key: &str) -> Result<Option<i64>, ConfigError> {
        match self.get(key) {
            None => Ok(None),
            Some(Json::Int(n)) => Ok(Some(*n)),
            Some(Json::OtherNumber) => Err(crate::reader::invalid(
                self.field(key),
                "expected an integer (milliseconds)",
            )),
            Some(v) => Err(self.wrong(key, "an integer", v)),
        }
    }

    /// An array of strings.
    pub fn strings(&self, key: &str) -> Result<Option<Vec<String>>, ConfigError> {
        let Some(items) = self.array(key)? else {
            return Ok(None);
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            match item {
                Json::Str(s) => out.push(s.clone()),
                v => {
                    return Err(crate::reader::invalid(
                        format!("{}[{i}]", self.field(key)),
                        format!("expected a string, got {}", v.kind()),
                    ))
                }
            }
        }
        Ok(Some(out))
    }

    pub fn object(&self, key: &str, allowed: &[&str]) -> Result<Option<Obj<'a>>, ConfigError> {
        self.get(key)
            .map(|v| Obj::at(v, self.field(key), allowed))
            .transpose()
    }

    /// An array of objects.
    pub fn objects(
        &self,
        key: &str,
        allowed: &[&str],
    ) -> Result<Option<Vec<Obj<'a>>>, ConfigError> {
        let Some(items) = self.array(key)? else {
            return Ok(None);
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            out.push(Obj::at(item, format!("{}[{i}]", self.field(key)), allowed)?);
        }
        Ok(Some(out))
    }

    fn array(&self, key: &str) -> Result<Option<&'a Vec<Json>>, ConfigError> {
        match self.get(key) {
            None => Ok(None),
            Some(Json::Array(items)) => Ok(Some(items)),
            Some(v) => Err(self.wrong(key, "an array", v)),
        }
    }

    /// A string that must be present.
    pub fn required_string(&self, key: &str) -> Result<String, ConfigError> {
        self.string(key)?
            .ok_or_else(|| crate::reader::invalid(self.field(key), "required"))
    }
}

/// `s` with control characters escaped (`\n`, `\u{1b}`), for quoting config values in
/// one-line error messages.
pub fn printable(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
            c => out.push(c),
        }
    }
    out
}

/// A configuration error. Out of line: error paths are many and cold, and inlining
/// `ConfigError::invalid` at each of them costs module size.
#[cold]
#[inline(never)]
pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError::invalid(field, message)
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(v: serde_json::Value) -> Json {
        filter_common::config::parse(v.to_string().as_bytes()).unwrap()
    }

    #[test]
    fn reads_typed_fields() {
        let doc = doc(
            json!({"s": "x", "b": true, "i": -3, "l": ["a", "b"], "o": {"k": 1}, "n": null,
                         "os": [{"k": 1}, {"k": 2}]}),
        );
        let o = Obj::root(&doc, &["s", "b", "i", "l", "o", "n", "os"]).unwrap();
        assert_eq!(o.string("s").unwrap().as_deref(), Some("x"));
        assert_eq!(o.boolean("b").unwrap(), Some(true));
        assert_eq!(o.integer("i").unwrap(), Some(-3));
        assert_eq!(o.strings("l").unwrap(), Some(vec!["a".into(), "b".into()]));
        let inner = o.object("o", &["k"]).unwrap().unwrap();
        assert_eq!(inner.integer("k").unwrap(), Some(1));
        assert_eq!(inner.field("k"), "o.k");
        assert_eq!(
            o.objects("os", &["k"]).unwrap().unwrap()[1].field("k"),
            "os[1].k"
        );
        // null and absent are the same.
        assert_eq!(o.string("n").unwrap(), None);
        assert_eq!(o.string("missing").unwrap(), None);
        assert_eq!(
            o.required_string("n").unwrap_err().to_string(),
            "field `n`: required"
        );
    }

    #[test]
    fn type_errors_name_the_field_not_the_value() {
        let doc = doc(
            json!({"s": 5, "b": "yes", "i": 1.5, "l": ["a", 2], "o": [], "os": [{}, "x"], "j": "secret"}),
        );
        let o = Obj::root(&doc, &["s", "b", "i", "l", "o", "os", "j"]).unwrap();
        let e = |r: Result<(), ConfigError>| r.unwrap_err().to_string();
        assert_eq!(
            e(o.string("s").map(drop)),
            "field `s`: expected a string, got a number"
        );
        assert_eq!(
            e(o.boolean("b").map(drop)),
            "field `b`: expected a boolean, got a string"
        );
        assert_eq!(
            e(o.integer("i").map(drop)),
            "field `i`: expected an integer (milliseconds)"
        );
        assert_eq!(
            e(o.integer("j").map(drop)),
            "field `j`: expected an integer, got a string"
        );
        assert_eq!(
            e(o.strings("l").map(drop)),
            "field `l[1]`: expected a string, got a number"
        );
        assert_eq!(
            e(o.object("o", &[]).map(drop)),
            "field `o`: expected an object, got an array"
        );
        assert_eq!(
            e(o.objects("os", &[]).map(drop)),
            "field `os[1]`: expected an object, got a string"
        );
        assert_eq!(
            e(o.strings("s").map(drop)),
            "field `s`: expected an array, got a number"
        );
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let d = doc(json!({"mode": "x", "modes": 1}));
        let err = Obj::root(&d, &["mode", "exempt_paths"]).err().unwrap();
        assert_eq!(
            err.to_string(),
            "field `modes`: unknown field `modes`, expected one of `mode`, `exempt_paths`"
        );
        let d = doc(json!({"a": {"b": {"c": 1}}}));
        let a = Obj::root(&d, &["a"])
            .unwrap()
            .object("a", &["b"])
            .unwrap()
            .unwrap();
        let err = a.object("b", &["d"]).err().unwrap();
        assert_eq!(
            err.to_string(),
            "field `a.b.c`: unknown field `c`, expected one of `d`"
        );
    }

    #[test]
    fn printable_escapes_control_characters() {
        assert_eq!(
            printable("a\nb\tc\rd\u{1b}e\"f"),
            "a\\nb\\tc\\rd\\u{1b}e\"f"
        );
        assert_eq!(printable("plain"), "plain");
    }

    #[test]
    fn empty_document_is_an_empty_object() {
        let o = Obj::root(&Json::Null, &["mode"]).unwrap();
        assert_eq!(o.string("mode").unwrap(), None);
        let err = Obj::root(&Json::Array(vec![]), &["mode"]).err().unwrap();
        assert_eq!(err.to_string(), "expected an object, got an array");
    }
}
