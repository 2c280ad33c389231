//! `api_key` mode: keys from the configuration, each naming a client, presented in a header
//! or a query parameter.
//!
//! Only SHA-256 digests of the keys are kept after configuration; a presented key is hashed
//! and compared against every digest in constant time.

use crate::config::{bad_value, check_plain_header, is_clean};
use crate::secret::{find_digest, sha256, Sha256Digest};
use filter_common::config::ConfigError;
use filter_common::config::Object;
use serde::Deserialize;

/// The key header when neither `header` nor `query_param` is set.
pub const DEFAULT_HEADER: &str = "x-api-key";

/// The `api_key` section as written. No `Debug`: it holds the keys.
// Default only for the unit tests, which parse a section alone.
#[derive(Deserialize)]
#[cfg_attr(test, derive(Default))]
#[serde(deny_unknown_fields, expecting = "an object")]
pub struct ApiKeySection {
    header: Option<String>,
    query_param: Option<String>,
    keys: Option<Vec<Object<KeyEntry>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "an object")]
struct KeyEntry {
    client: String,
    key: String,
}

pub struct ApiKeys {
    header: Option<String>,
    query_param: Option<String>,
    digests: Vec<Sha256Digest>,
    clients: Vec<String>,
}

impl ApiKeySection {
    pub fn build(&self) -> Result<ApiKeys, ConfigError> {
        let header = match (&self.header, &self.query_param) {
            (None, None) => Some(DEFAULT_HEADER),
            (header, _) => header.as_deref(),
        };
        if let Some(h) = header {
            check_plain_header("api_key.header", h)?;
        }
        if let Some(q) = &self.query_param {
            let bad = q.is_empty()
                || q.chars().any(|c| {
                    matches!(c, '&' | '=' | '#' | '?' | '%' | '+')
                        || c.is_whitespace()
                        || c.is_control()
                });
            if bad {
                return Err(bad_value(
                    "api_key.query_param",
                    q,
                    "is not a plain query parameter name",
                ));
            }
        }
        let keys = self.keys.as_deref().unwrap_or_default();
        if keys.is_empty() {
            return Err(ConfigError::invalid(
                "api_key.keys",
                "empty: at least one key is required",
            ));
        }
        let mut digests: Vec<Sha256Digest> = Vec::with_capacity(keys.len());
        let mut clients = Vec::with_capacity(keys.len());
        for (i, Object(KeyEntry { client, key })) in keys.iter().enumerate() {
            let field = |name: &str| format!("api_key.keys[{i}].{name}");
            // Messages describe the key, never quote it.
            if key.is_empty() {
                return Err(ConfigError::invalid(field("key"), "empty"));
            }
            if !is_clean(key) {
                return Err(ConfigError::invalid(
                    field("key"),
                    "contains whitespace at either end or a control character",
                ));
            }
            if client.is_empty() || !is_clean(client) {
                return Err(bad_value(
                    &field("client"),
                    client,
                    "must be non-empty, without control characters or surrounding whitespace",
                ));
            }
            let digest = sha256(&[key.as_bytes()]);
            if let Some(j) = digests.iter().position(|d| *d == digest) {
                return Err(ConfigError::invalid(
                    field("key"),
                    format!("same key as `api_key.keys[{j}]`"),
                ));
            }
            digests.push(digest);
            clients.push(client.clone());
        }
        Ok(ApiKeys {
            header: header.map(str::to_string),
            query_param: self.query_param.clone(),
            digests,
            clients,
        })
    }
}

impl ApiKeys {
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

/// The first value of query parameter `name` in `path`, percent-decoded (`+` is kept as is).
/// `None` when absent, or when the value has an invalid escape: the `percent-encoding` crate
/// would pass `%zz` through verbatim, and a key with a broken escape is no key.
pub fn query_param(path: &str, name: &str) -> Option<Vec<u8>> {
    let (_, rest) = path.split_once('?')?;
    let query = rest.split('#').next()?;
    query
        .split('&')
        .find_map(|pair| match pair.split_once('=') {
            Some((n, v)) if n == name => Some(percent_decode(v)),
            None if pair == name => Some(Some(Vec::new())),
            _ => None,
        })
        .flatten()
}

/// `path` with every occurrence of query parameter `name` removed.
pub fn remove_query_param(path: &str, name: &str) -> String {
    let Some((base, rest)) = path.split_once('?') else {
        return path.to_string();
    };
    let (query, fragment) = match rest.split_once('#') {
        Some((query, fragment)) => (query, Some(fragment)),
        None => (rest, None),
    };
    let mut out = base.to_string();
    let mut separator = '?';
    for pair in query.split('&') {
        if pair.split_once('=').map_or(pair, |(n, _)| n) != name {
            out.push(separator);
            out.push_str(pair);
            separator = '&';
        }
    }
    if let Some(fragment) = fragment {
        out.push('#');
        out.push_str(fragment);
    }
    out
}

fn percent_decode(s: &str) -> Option<Vec<u8>> {
    let mut bytes = s.bytes();
    let mut out = Vec::with_capacity(s.len());
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let hi = hex(bytes.next()?)?;
            let lo = hex(bytes.next()?)?;
            out.push(hi << 4 | lo);
        } else {
            out.push(b);
        }
    }
    Some(out)
}

fn hex(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads `json` as the `api_key` section of a configuration.
    fn keys(json: &str) -> Result<ApiKeys, String> {
        let section: ApiKeySection =
            filter_common::config::parse(json.as_bytes()).map_err(|e| e.to_string())?;
        section.build().map_err(|e| e.to_string())
    }

    fn err(json: &str) -> String {
        keys(json).err().unwrap()
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
        assert_eq!(err(r#"{"keys":null}"#), err(r#"{"keys":[]}"#));
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
        let e = err(r#"{"keys":[{"client":"a","key":["s3cret"]}]}"#);
        assert!(
            e.starts_with("field `keys[0].key`: invalid type: sequence, expected a string"),
            "{e}"
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

    #[test]
    fn query_params_are_found_and_decoded() {
        assert_eq!(
            query_param("/x?a=1&api_key=k%2By+z", "api_key"),
            Some(b"k+y+z".to_vec())
        );
        assert_eq!(
            query_param("/x?api_key=first&api_key=second", "api_key"),
            Some(b"first".to_vec())
        );
        assert_eq!(query_param("/x?api_key", "api_key"), Some(vec![]));
        assert_eq!(query_param("/x?xapi_key=1", "api_key"), None);
        assert_eq!(query_param("/x", "api_key"), None);
        assert_eq!(query_param("/x#api_key=1", "api_key"), None);
        assert_eq!(
            query_param("/x?api_key=1#f", "api_key"),
            Some(b"1".to_vec())
        );
        assert_eq!(query_param("/x?api_key=%zz", "api_key"), None);
        assert_eq!(query_param("/x?api_key=%4", "api_key"), None);
        assert_eq!(
            query_param("/x?api_key=%e2%82%ac%FF", "api_key"),
            Some(vec![0xe2, 0x82, 0xac, 0xff])
        );
    }

    #[test]
    fn query_params_are_removed() {
        assert_eq!(remove_query_param("/x?api_key=1", "api_key"), "/x");
        assert_eq!(
            remove_query_param("/x?a=1&api_key=1&b=2", "api_key"),
            "/x?a=1&b=2"
        );
        assert_eq!(
            remove_query_param("/x?api_key=1&api_key=2&a", "api_key"),
            "/x?a"
        );
        assert_eq!(remove_query_param("/x?api_key#frag", "api_key"), "/x#frag");
        assert_eq!(remove_query_param("/x", "api_key"), "/x");
        assert_eq!(
            remove_query_param("/x?api_keys=1", "api_key"),
            "/x?api_keys=1"
        );
    }
}
