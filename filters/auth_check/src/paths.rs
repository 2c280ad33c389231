//! Request paths: exempt path prefixes and query parameters (API keys may come in the query).

use filter_common::config::ConfigError;

/// Path prefixes that skip authentication, matched segment by segment: `/healthz` exempts
/// `/healthz` and `/healthz/live` but not `/healthz-admin`.
pub struct ExemptPaths(Vec<String>);

impl ExemptPaths {
    pub fn new(prefixes: Vec<String>) -> Result<Self, ConfigError> {
        for (i, prefix) in prefixes.iter().enumerate() {
            let field = format!("exempt_paths[{i}]");
            if !prefix.starts_with('/') {
                return Err(crate::reader::invalid(
                    field,
                    format!("`{prefix}` must start with `/`"),
                ));
            }
            if prefix.contains(['?', '#', '%', '\\']) || prefix.chars().any(char::is_control) {
                return Err(crate::reader::invalid(
                    field,
                    format!("`{prefix}` must be a plain path (no query, fragment, `%`, `\\` or control characters)"),
                ));
            }
            if !is_plain(prefix) {
                return Err(crate::reader::invalid(
                    field,
                    format!("`{prefix}` must not contain `//`, `.` or `..` segments"),
                ));
            }
        }
        Ok(ExemptPaths(prefixes))
    }

    /// True when no prefix is configured: nothing can match, so `:path` need not be read.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// True when `path` (the `:path` header, query included) falls under an exempt prefix.
    /// Paths that a proxy or server might normalise differently (`..`, `//`, percent-encoding,
    /// backslashes) are never exempt: they are authenticated like any other request.
    pub fn matches(&self, path: &str) -> bool {
        if self.is_empty() {
            return false;
        }
        let path = path_only(path);
        if path.bytes().any(|b| b == b'%' || b == b'\\') || !is_plain(path) {
            return false;
        }
        self.0.iter().any(|prefix| under(prefix, path))
    }
}

fn under(prefix: &str, path: &str) -> bool {
    match path.strip_prefix(prefix) {
        Some(rest) => rest.is_empty() || prefix.ends_with('/') || rest.starts_with('/'),
        None => false,
    }
}

/// No empty, `.` or `..` segment after the leading slash (a trailing slash is fine).
fn is_plain(path: &str) -> bool {
    let Some(rest) = path.strip_prefix('/') else {
        return false;
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    rest.is_empty()
        || rest
            .split('/')
            .all(|seg| !seg.is_empty() && seg != "." && seg != "..")
}

/// The path without query string and fragment.
pub fn path_only(path: &str) -> &str {
    path.split(['?', '#']).next().unwrap_or_default()
}

fn query(path: &str) -> Option<&str> {
    let (_, rest) = path.split_once('?')?;
    rest.split('#').next()
}

/// The first value of query parameter `name`, percent-decoded (`+` is kept as is).
/// `None` when absent; an invalid escape makes the value `None` too.
pub fn query_param(path: &str, name: &str) -> Option<Vec<u8>> {
    query(path)?
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
    // Slicing-free on purpose: no str-index panic paths in the module.
    let Some((base, rest)) = path.split_once('?') else {
        return path.to_string();
    };
    let (query, fragment) = match rest.split_once('#') {
        Some((query, fragment)) => (query, Some(fragment)),
        None => (rest, None),
    };
    let mut out = String::with_capacity(path.len());
    out.push_str(base);
    let mut first = true;
    for pair in query.split('&') {
        if pair.split_once('=').map_or(pair, |(n, _)| n) != name {
            out.push(if first { '?' } else { '&' });
            out.push_str(pair);
            first = false;
        }
    }
    if let Some(fragment) = fragment {
        out.push('#');
        out.push_str(fragment);
    }
    out
}

fn percent_decode(s: &str) -> Option<Vec<u8>> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hi = hex(*bytes.get(i + 1)?)?;
            let lo = hex(*bytes.get(i + 2)?)?;
            out.push(hi << 4 | lo);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(out)
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exempt(prefixes: &[&str]) -> ExemptPaths {
        ExemptPaths::new(prefixes.iter().map(|s| s.to_string()).collect()).unwrap()
    }

    #[test]
    fn prefixes_match_whole_segments() {
        let e = exempt(&["/healthz", "/public/"]);
        for yes in [
            "/healthz",
            "/healthz/",
            "/healthz/live",
            "/healthz?x=1",
            "/public/a.css",
        ] {
            assert!(e.matches(yes), "{yes}");
        }
        for no in [
            "/healthz-admin",
            "/healthzz",
            "/",
            "/api/healthz",
            "/public",
            "healthz",
        ] {
            assert!(!e.matches(no), "{no}");
        }
    }

    #[test]
    fn ambiguous_paths_are_never_exempt() {
        let e = exempt(&["/healthz"]);
        for no in [
            "/healthz/../admin",
            "/healthz/./x",
            "/healthz//x",
            "/healthz/%2e%2e/admin",
            "/healthz%2F..",
            "/healthz\\..\\admin",
            "/healthz/..",
        ] {
            assert!(!e.matches(no), "{no}");
        }
        assert!(!exempt(&[]).matches("/healthz"));
    }

    #[test]
    fn root_prefix_exempts_everything_plain() {
        assert!(exempt(&["/"]).matches("/anything/at/all"));
    }

    #[test]
    fn bad_prefixes_rejected() {
        let err = |p: &str| {
            ExemptPaths::new(vec!["/ok".into(), p.into()])
                .err()
                .unwrap()
                .to_string()
        };
        assert_eq!(
            err("healthz"),
            "field `exempt_paths[1]`: `healthz` must start with `/`"
        );
        assert!(err("/a?b").contains("must be a plain path"));
        assert!(err("/a%20").contains("must be a plain path"));
        assert_eq!(
            err("/a/../b"),
            "field `exempt_paths[1]`: `/a/../b` must not contain `//`, `.` or `..` segments"
        );
        assert!(err("/a//b").contains("must not contain"));
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

    #[test]
    fn path_only_strips_query_and_fragment() {
        assert_eq!(path_only("/a?b#c"), "/a");
        assert_eq!(path_only("/a#c?d"), "/a");
        assert_eq!(path_only("/a"), "/a");
    }
}
