//! `api_key` mode: keys from the configuration, each naming a client.
//!
//! Only SHA-256 digests of the keys are kept after configuration; a presented key is hashed
//! and compared against every digest in constant time.

use crate::reader::Obj;
use crate::secret::{find_digest, sha256, Sha256Digest};
use filter_common::config::ConfigError;
use filter_common::headers;

/// The key header when neither `header` nor `query_param` is set.
pub const DEFAULT_HEADER: &str = "x-api-key";

/// Fields of the `api_key` section and of each `keys` entry.
pub const FIELDS: &[&str] = &["header", "query_param", "keys"];
const KEY_FIELDS: &[&str] = &["client", "key"];

pub struct ApiKeys {
    header: Option<String>,
    query_param: Option<String>,
    digests: Vec<Sha256Digest>,
    clients: Vec<String>,
}

impl ApiKeys {
    pub fn new(section: &Obj) -> Result<Self, ConfigError> {
        let query_param = section.string("query_param")?;
        let header = match (section.string("header")?, &query_param) {
            (None, None) => Some(DEFAULT_HEADER.to_string()),
            (header, _) => header,
        };
        if let Some(h) = &header {
            headers::validate_name(h).map_err(|e| crate::reader::invalid("api_key.header", e))?;
            if headers::is_pseudo(h) {
                return Err(crate::reader::invalid(
                    "api_key.header",
                    format!("`{h}` is a pseudo-header"),
                ));
            }
        }
        if let Some(q) = &query_param {
            let bad = q.is_empty()
                || q.chars().any(|c| {
                    matches!(c, '&' | '=' | '#' | '?' | '%' | '+')
                        || c.is_whitespace()
                        || c.is_control()
                });
            if bad {
                return Err(crate::reader::invalid(
                    "api_key.query_param",
                    format!("`{q}` is not a plain query parameter name"),
                ));
            }
        }
        let keys = section.objects("keys", KEY_FIELDS)?.unwrap_or_default();
        if keys.is_empty() {
            return Err(crate::reader::invalid(
                "api_key.keys",
                "empty: at least one key is required",
            ));
        }
        let mut digests: Vec<Sha256Digest> = Vec::with_capacity(keys.len());
        let mut clients = Vec::with_capacity(keys.len());
        for entry in &keys {
            let field = |name: &str| entry.field(name);
            let client = entry.required_string("client")?;
            let key = entry.required_string("key")?;
            // Messages describe the key, never quote it.
            if key.is_empty() {
                return Err(crate::reader::invalid(field("key"), "empty"));
            }
            if !is_clean(&key) {
                return Err(crate::reader::invalid(
                    field("key"),
                    "contains whitespace at either end or a control character",
                ));
            }
            if client.is_empty() || !is_clean(&client) {
                return Err(crate::reader::invalid(
                    field("client"),
                    format!(
                        "`{}` must be non-empty, without control characters or surrounding whitespace",
                        crate::reader::printable(&client)
                    ),
                ));
            }
            let digest = sha256(&[key.as_bytes()]);
            if let Some(j) = digests.iter().position(|d| *d == digest) {
                return Err(crate::reader::invalid(
                    field("key"),
                    format!("same key as `api_key.keys[{j}]`"),
                ));
            }
            digests.push(digest);
            clients.push(client);
        }
        Ok(ApiKeys {
            header,
            query_param,
            digests,
            clients,
        })
    }

    /// The request header carrying the key, if keys are read from a header.
    pub fn header(&self) -> Option<&str> {
        self.header.as_deref()
    }

    /// The query parameter carrying the key, if keys are read from the query.
    pub fn query_param(&self) -> Option<&str> {
        self.query_param.as_deref()
    }

    /// The client owning `presented`, if it is a configured key.
    pub fn lookup(&self, presented: &[u8]) -> Option<&str> {
        let digest = sha256(&[presented]);
        let index = find_digest(&self.digests, &digest)?;
        self.clients.get(index).map(String::as_str)
    }
}

/// Usable as a header value: no control characters, no whitespace Envoy would trim.
fn is_clean(s: &str) -> bool {
    !s.chars().any(char::is_control) && s.trim() == s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads `json` as the `api_key` section of a configuration.
    fn keys(json: &str) -> Result<ApiKeys, ConfigError> {
        let text = format!(r#"{{"api_key":{json}}}"#);
        let doc: crate::json::Json = filter_common::config::parse(text.as_bytes()).unwrap();
        let root = Obj::root(&doc, &["api_key"]).unwrap();
        let section = root.object("api_key", FIELDS)?.unwrap();
        ApiKeys::new(&section)
    }

    fn err(json: &str) -> String {
        keys(json).err().unwrap().to_string()
    }

    #[test]
    fn looks_up_clients_by_key() {
        let k = keys(
            r#"{"keys":[{"client":"ci","key":"k-one"},{"client":"web","key":"k-two"},{"client":"ci","key":"k-rotated"}]}"#,
        )
        .unwrap();
        assert_eq!(k.header(), Some("x-api-key"));
        assert_eq!(k.query_param(), None);
        assert_eq!(k.lookup(b"k-one"), Some("ci"));
        assert_eq!(k.lookup(b"k-two"), Some("web"));
        assert_eq!(k.lookup(b"k-rotated"), Some("ci"));
        assert_eq!(k.lookup(b"k-on"), None);
        assert_eq!(k.lookup(b"k-one "), None);
        assert_eq!(k.lookup(b""), None);
    }

    #[test]
    fn header_default_only_without_query_param() {
        let list = r#""keys":[{"client":"c","key":"k"}]"#;
        let k = keys(&format!(r#"{{"query_param":"api_key",{list}}}"#)).unwrap();
        assert_eq!((k.header(), k.query_param()), (None, Some("api_key")));
        let k = keys(&format!(r#"{{"header":"x-key","query_param":"k",{list}}}"#)).unwrap();
        assert_eq!((k.header(), k.query_param()), (Some("x-key"), Some("k")));
    }

    #[test]
    fn config_errors_never_quote_keys() {
        assert_eq!(
            err(r#"{"keys":[]}"#),
            "field `api_key.keys`: empty: at least one key is required"
        );
        assert_eq!(err(r#"{}"#), err(r#"{"keys":[]}"#));
        assert_eq!(
            err(r#"{"keys":[{"client":"a","key":""}]}"#),
            "field `api_key.keys[0].key`: empty"
        );
        let e = err(r#"{"keys":[{"client":"a","key":"s3cret "}]}"#);
        assert_eq!(
            e,
            "field `api_key.keys[0].key`: contains whitespace at either end or a control character"
        );
        let e = err(r#"{"keys":[{"client":"a","key":"s3cret"},{"client":"b","key":"s3cret"}]}"#);
        assert_eq!(
            e,
            "field `api_key.keys[1].key`: same key as `api_key.keys[0]`"
        );
        assert!(!e.contains("s3cret"));
        assert_eq!(
            err(r#"{"keys":[{"client":"a\nb","key":"k"}]}"#),
            "field `api_key.keys[0].client`: `a\\nb` must be non-empty, without control characters or surrounding whitespace"
        );
        assert!(err(r#"{"keys":[{"client":"","key":"k"}]}"#)
            .starts_with("field `api_key.keys[0].client`"));
        assert_eq!(
            err(r#"{"header":"X-Key","keys":[{"client":"a","key":"k"}]}"#),
            "field `api_key.header`: invalid header name `X-Key`: must be lower-case"
        );
        assert_eq!(
            err(r#"{"header":":path","keys":[{"client":"a","key":"k"}]}"#),
            "field `api_key.header`: `:path` is a pseudo-header"
        );
        assert_eq!(
            err(r#"{"query_param":"a&b","keys":[{"client":"a","key":"k"}]}"#),
            "field `api_key.query_param`: `a&b` is not a plain query parameter name"
        );
        assert!(
            err(r#"{"query_param":"","keys":[{"client":"a","key":"k"}]}"#).contains("not a plain")
        );
    }
}
