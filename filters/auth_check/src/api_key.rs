//! `api_key` mode: keys from the configuration, each naming a client.
//!
//! Only SHA-256 digests of the keys are kept after configuration; a presented key is hashed
//! and compared against every digest in constant time.

use crate::secret::{find_digest, sha256, Sha256Digest};
use filter_common::config::ConfigError;
use filter_common::headers;
use serde::Deserialize;

/// The key header when neither `header` nor `query_param` is set.
pub const DEFAULT_HEADER: &str = "x-api-key";

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawApiKey {
    pub header: Option<String>,
    pub query_param: Option<String>,
    pub keys: Vec<RawKey>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawKey {
    pub client: String,
    pub key: String,
}

pub struct ApiKeys {
    header: Option<String>,
    query_param: Option<String>,
    digests: Vec<Sha256Digest>,
    clients: Vec<String>,
}

impl ApiKeys {
    pub fn new(raw: RawApiKey) -> Result<Self, ConfigError> {
        let header = match (raw.header, &raw.query_param) {
            (None, None) => Some(DEFAULT_HEADER.to_string()),
            (header, _) => header,
        };
        if let Some(h) = &header {
            headers::validate_name(h).map_err(|e| ConfigError::invalid("api_key.header", e))?;
            if headers::is_pseudo(h) {
                return Err(ConfigError::invalid(
                    "api_key.header",
                    format!("`{h}` is a pseudo-header"),
                ));
            }
        }
        if let Some(q) = &raw.query_param {
            let bad = q.is_empty()
                || q.chars()
                    .any(|c| "&=#?%+".contains(c) || c.is_whitespace() || c.is_control());
            if bad {
                return Err(ConfigError::invalid(
                    "api_key.query_param",
                    format!("`{q}` is not a plain query parameter name"),
                ));
            }
        }
        if raw.keys.is_empty() {
            return Err(ConfigError::invalid(
                "api_key.keys",
                "empty: at least one key is required",
            ));
        }
        let mut digests: Vec<Sha256Digest> = Vec::with_capacity(raw.keys.len());
        let mut clients = Vec::with_capacity(raw.keys.len());
        for (i, entry) in raw.keys.into_iter().enumerate() {
            let field = |name: &str| format!("api_key.keys[{i}].{name}");
            // Messages describe the key, never quote it.
            if entry.key.is_empty() {
                return Err(ConfigError::invalid(field("key"), "empty"));
            }
            if !is_clean(&entry.key) {
                return Err(ConfigError::invalid(
                    field("key"),
                    "contains whitespace at either end or a control character",
                ));
            }
            if entry.client.is_empty() || !is_clean(&entry.client) {
                return Err(ConfigError::invalid(
                    field("client"),
                    format!(
                        "`{}` must be non-empty, without control characters or surrounding whitespace",
                        entry.client.escape_debug()
                    ),
                ));
            }
            let digest = sha256(&[entry.key.as_bytes()]);
            if let Some(j) = digests.iter().position(|d| *d == digest) {
                return Err(ConfigError::invalid(
                    field("key"),
                    format!("same key as `api_key.keys[{j}]`"),
                ));
            }
            digests.push(digest);
            clients.push(entry.client);
        }
        Ok(ApiKeys {
            header,
            query_param: raw.query_param,
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

    fn raw(json: &str) -> RawApiKey {
        serde_json::from_str(json).unwrap()
    }

    fn err(json: &str) -> String {
        ApiKeys::new(raw(json)).err().unwrap().to_string()
    }

    #[test]
    fn looks_up_clients_by_key() {
        let k = ApiKeys::new(raw(
            r#"{"keys":[{"client":"ci","key":"k-one"},{"client":"web","key":"k-two"},{"client":"ci","key":"k-rotated"}]}"#,
        ))
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
        let keys = r#""keys":[{"client":"c","key":"k"}]"#;
        let k = ApiKeys::new(raw(&format!(r#"{{"query_param":"api_key",{keys}}}"#))).unwrap();
        assert_eq!((k.header(), k.query_param()), (None, Some("api_key")));
        let k = ApiKeys::new(raw(&format!(
            r#"{{"header":"x-key","query_param":"k",{keys}}}"#
        )))
        .unwrap();
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
