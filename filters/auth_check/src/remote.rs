//! `remote` mode: ask an authorization service over an HTTP callout (`proxy_http_call`).
//!
//! The callout is `GET <path>` to an Envoy cluster with the configured request headers
//! forwarded. Pseudo-headers cannot be forwarded as such (the callout has its own), so they
//! travel as the `x-forwarded-*` headers forward-auth services know (Traefik's names).

use crate::config::{bad_value, check_settable_header, item, same_header};
use filter_common::config::ConfigError;
use filter_common::headers;
use serde::Deserialize;
use std::borrow::Cow;
use std::time::Duration;

pub const DEFAULT_TIMEOUT_MS: i64 = 1000;
pub const DEFAULT_FORWARD: &str = "authorization";
const LISTED_TWICE: &str = "is listed twice";

/// Pseudo-headers that may be forwarded, and the header they are sent as.
const PSEUDO_FORWARDS: &[(&str, &str)] = &[
    (":path", "x-forwarded-uri"),
    (":method", "x-forwarded-method"),
    (":authority", "x-forwarded-host"),
    (":scheme", "x-forwarded-proto"),
];

/// The `remote` section as written.
// Default only for the unit tests, which parse a section alone.
#[derive(Deserialize)]
#[cfg_attr(test, derive(Default))]
#[serde(deny_unknown_fields, expecting = "an object")]
pub struct RemoteSection {
    cluster: String,
    path: String,
    authority: Option<String>,
    /// Signed and checked in `build`, so that `0`, `-5` and `9999999999` each get a message
    /// that states the range.
    timeout_ms: Option<i64>,
    forward_headers: Option<Vec<String>>,
    upstream_headers: Option<Vec<String>>,
    identity_from: Option<String>,
    failure_mode_allow: Option<bool>,
}

pub struct Remote {
    cluster: String,
    path: String,
    authority: String,
    timeout: Duration,
    /// Request headers sent to the auth service, as configured (see [`callout_name`]).
    forward: Vec<String>,
    upstream_headers: Vec<String>,
    identity_from: Option<String>,
    failure_mode_allow: bool,
}

/// Header pairs as the host serialized them (`filter_common::hostcalls::pairs_in`): names
/// and values borrowed, no allocation per header.
pub type Pairs<'a> = [(&'a [u8], &'a [u8])];

/// Answer headers a client needs with a denial: a redirect to a login page (with the cookie
/// a login flow sets), a challenge, when to retry a 429.
pub const DENIAL_HEADERS: [&str; 5] = [
    "location",
    "set-cookie",
    "www-authenticate",
    "content-type",
    "retry-after",
];

/// What the auth service's answer means for the request, as in Envoy's `ext_authz`.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// 2xx: let the request through.
    Allow,
    /// Any other answer but a 5xx (302 to a login page, 400, 401, 403, 429...): send this
    /// status, the service's body and [`DENIAL_HEADERS`] to the client.
    Deny(u32),
    /// No answer (timeout, failed or reset connection, unknown cluster) or a 5xx: the service
    /// could not decide, and `failure_mode_allow` does.
    Failure(String),
}

impl RemoteSection {
    pub fn build(&self) -> Result<Remote, ConfigError> {
        if !is_token(&self.cluster) {
            return Err(bad_value(
                "remote.cluster",
                &self.cluster,
                "is not a cluster name (empty, or contains whitespace or control characters)",
            ));
        }
        if !self.path.starts_with('/') || !is_token(&self.path) || self.path.contains('#') {
            return Err(bad_value(
                "remote.path",
                &self.path,
                "must start with `/` and contain no whitespace, control characters or `#`",
            ));
        }
        let authority = match &self.authority {
            Some(authority) => authority,
            None => default_authority(&self.cluster),
        };
        if !is_token(authority) || authority.contains('/') {
            return Err(bad_value(
                "remote.authority",
                authority,
                "is not a host name",
            ));
        }
        let timeout_ms = self.timeout_ms.unwrap_or(DEFAULT_TIMEOUT_MS);
        if timeout_ms <= 0 {
            return Err(ConfigError::invalid(
                "remote.timeout_ms",
                format!("must be greater than 0, got {timeout_ms}"),
            ));
        }
        let timeout_ms = u32::try_from(timeout_ms).map_err(|_| {
            ConfigError::invalid(
                "remote.timeout_ms",
                format!("must be at most {}, got {timeout_ms}", u32::MAX),
            )
        })?;
        let forward = match &self.forward_headers {
            Some(names) => forwards(names)?,
            None => forwards(&[DEFAULT_FORWARD.to_string()])?,
        };
        let upstream_headers = self.upstream_headers.as_deref().unwrap_or_default();
        for (i, name) in upstream_headers.iter().enumerate() {
            let field = item("remote.upstream_headers", i);
            check_settable_header(&field, name)?;
            if upstream_headers[..i]
                .iter()
                .any(|n| same_header(n.as_bytes(), name.as_bytes()))
            {
                return Err(bad_value(&field, name, LISTED_TWICE));
            }
            // The client's copies of an upstream header are removed before the callout: one
            // that is also forwarded would reach the service empty, and the service could
            // echo the client's value back as its own.
            if forward.iter().any(|f| {
                callout_name(f).is_some_and(|to| same_header(to.as_bytes(), name.as_bytes()))
            }) {
                return Err(bad_value(
                    &field,
                    name,
                    "is also in `remote.forward_headers`: a header is either sent to the service or set by it",
                ));
            }
        }
        if let Some(name) = &self.identity_from {
            check_settable_header("remote.identity_from", name)?;
        }

        Ok(Remote {
            authority: authority.to_string(),
            cluster: self.cluster.clone(),
            path: self.path.clone(),
            timeout: Duration::from_millis(u64::from(timeout_ms)),
            forward,
            upstream_headers: upstream_headers.to_vec(),
            identity_from: self.identity_from.clone(),
            failure_mode_allow: self.failure_mode_allow.unwrap_or(false),
        })
    }
}

/// Reads `forward_headers`: valid names, pseudo-headers only those forward-auth services
/// know, and no callout header sent twice.
fn forwards(names: &[String]) -> Result<Vec<String>, ConfigError> {
    for (i, name) in names.iter().enumerate() {
        let field = item("remote.forward_headers", i);
        headers::validate_name(name).map_err(|e| ConfigError::invalid(&field, e))?;
        let Some(to) = callout_name(name) else {
            return Err(bad_value(
                &field,
                name,
                "cannot be forwarded; pseudo-headers allowed: :path, :method, :authority, :scheme",
            ));
        };
        // Two names that travel as the same header (`:path` and `x-forwarded-uri`) clash too.
        if names[..i]
            .iter()
            .any(|other| callout_name(other) == Some(to))
        {
            return Err(bad_value(&field, name, LISTED_TWICE));
        }
    }
    Ok(names.to_vec())
}

/// The header `name` travels as in the callout: itself, or the `x-forwarded-*` header of a
/// pseudo-header; `None` for a pseudo-header that cannot be forwarded.
fn callout_name(name: &str) -> Option<&str> {
    if !headers::is_pseudo(name) {
        return Some(name);
    }
    PSEUDO_FORWARDS
        .iter()
        .find(|(pseudo, _)| *pseudo == name)
        .map(|(_, to)| *to)
}

impl Remote {
    pub fn cluster(&self) -> &str {
        &self.cluster
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    pub fn failure_mode_allow(&self) -> bool {
        self.failure_mode_allow
    }

    /// Auth-service response headers copied to the upstream request on success.
    pub fn upstream_headers(&self) -> &[String] {
        &self.upstream_headers
    }

    /// Request headers sent to the auth service (credentials, stripped when asked to).
    pub fn forwarded_plain_headers(&self) -> impl Iterator<Item = &str> {
        self.forward
            .iter()
            .map(String::as_str)
            .filter(|n| !headers::is_pseudo(n))
    }

    /// The identity for the upstream: the `identity_from` answer header when configured, else
    /// the cluster name. `None` (the request is then denied) when the answer lacks it, has it
    /// empty, or more than once: backends differ on which of two values they read.
    pub fn identity<'a>(&'a self, response: &Pairs<'a>) -> Option<&'a [u8]> {
        let Some(name) = self.identity_from.as_deref() else {
            return Some(self.cluster.as_bytes());
        };
        let mut values = response.iter().filter(|(n, _)| *n == name.as_bytes());
        match (values.next(), values.next()) {
            (Some((_, value)), None) if !value.is_empty() => Some(value),
            _ => None,
        }
    }

    /// The `identity_from` header, for messages.
    pub fn identity_from(&self) -> Option<&str> {
        self.identity_from.as_deref()
    }

    /// The callout's headers, built from the client's request headers.
    pub fn callout_headers<'a>(&'a self, request: &Pairs<'a>) -> Vec<(&'a str, Cow<'a, str>)> {
        let mut out = vec![
            (":method", Cow::Borrowed("GET")),
            (":path", Cow::Borrowed(self.path.as_str())),
            (":authority", Cow::Borrowed(self.authority.as_str())),
        ];
        for from in &self.forward {
            // Checked when configured: every forwarded header has a callout name.
            let Some(to) = callout_name(from) else {
                continue;
            };
            for (name, value) in request {
                if *name == from.as_bytes() {
                    out.push((to, String::from_utf8_lossy(value)));
                }
            }
        }
        out
    }
}

/// The callout's `:authority` when none is configured: the host of an Istio cluster name
/// (`outbound|8080||auth.ns.svc.cluster.local` → `auth.ns.svc.cluster.local`, since `|` is not
/// valid in a host), else the cluster name itself.
fn default_authority(cluster: &str) -> &str {
    let mut parts = cluster.split('|');
    match (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) {
        (Some("outbound" | "inbound"), Some(_), Some(_), Some(host), None) if !host.is_empty() => {
            host
        }
        _ => cluster,
    }
}

/// Classifies the callout's answer from its response headers (empty when there was none).
pub fn classify(response: &Pairs) -> Outcome {
    let status = first(response, ":status")
        .and_then(|s| std::str::from_utf8(s).ok())
        .and_then(|s| s.parse::<u32>().ok());
    match status {
        None => Outcome::Failure("no response (timeout or connection failure)".into()),
        Some(200..=299) => Outcome::Allow,
        Some(s @ 500..=599) => Outcome::Failure(format!("status {s}")),
        Some(s @ 300..=499) => Outcome::Deny(s),
        // Not a status a client can be given (1xx is never final): a denial all the same.
        Some(_) => Outcome::Deny(403),
    }
}

/// First value of `name` in a header list.
pub fn first<'a>(pairs: &Pairs<'a>, name: &str) -> Option<&'a [u8]> {
    pairs
        .iter()
        .find(|(n, _)| *n == name.as_bytes())
        .map(|(_, v)| *v)
}

/// Non-empty, no whitespace or control characters.
fn is_token(s: &str) -> bool {
    !s.is_empty() && !s.chars().any(|c| c.is_whitespace() || c.is_control())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads `json` as the `remote` section of a configuration.
    fn remote(json: &str) -> Result<Remote, String> {
        let section: RemoteSection =
            filter_common::config::parse(json.as_bytes()).map_err(|e| e.to_string())?;
        section.build().map_err(|e| e.to_string())
    }

    fn pairs<'a>(list: &[(&'a str, &'a str)]) -> Vec<(&'a [u8], &'a [u8])> {
        list.iter()
            .map(|(n, v)| (n.as_bytes(), v.as_bytes()))
            .collect()
    }

    #[test]
    fn defaults() {
        let r = remote(r#"{"cluster":"auth_service","path":"/check"}"#).unwrap();
        assert_eq!(r.cluster(), "auth_service");
        assert_eq!(r.timeout(), Duration::from_millis(1000));
        assert!(!r.failure_mode_allow());
        assert!(r.upstream_headers().is_empty());
        assert_eq!(
            r.forwarded_plain_headers().collect::<Vec<_>>(),
            ["authorization"]
        );
        assert_eq!(r.identity(&[]), Some(&b"auth_service"[..]));
    }

    #[test]
    fn callout_headers_forward_and_rename() {
        let r = remote(
            r#"{"cluster":"auth","path":"/check?v=1","authority":"auth.local","forward_headers":["authorization","cookie",":path",":method"]}"#,
        )
        .unwrap();
        let req = pairs(&[
            (":method", "POST"),
            (":path", "/api?x=1"),
            (":authority", "example.com"),
            ("cookie", "a=1"),
            ("authorization", "Bearer t"),
            ("cookie", "b=2"),
            ("x-other", "no"),
        ]);
        let got = r.callout_headers(&req);
        let got: Vec<(&str, &str)> = got.iter().map(|(n, v)| (*n, v.as_ref())).collect();
        assert_eq!(
            got,
            [
                (":method", "GET"),
                (":path", "/check?v=1"),
                (":authority", "auth.local"),
                ("authorization", "Bearer t"),
                ("cookie", "a=1"),
                ("cookie", "b=2"),
                ("x-forwarded-uri", "/api?x=1"),
                ("x-forwarded-method", "POST"),
            ]
        );
        assert_eq!(
            r.forwarded_plain_headers().collect::<Vec<_>>(),
            ["authorization", "cookie"]
        );
    }

    #[test]
    fn authority_defaults_to_the_cluster_host() {
        let authority = |cluster: &str| {
            let r = remote(&format!(r#"{{"cluster":"{cluster}","path":"/c"}}"#)).unwrap();
            let headers = r.callout_headers(&[]);
            headers[2].1.to_string()
        };
        assert_eq!(authority("auth_service"), "auth_service");
        assert_eq!(
            authority("outbound|8080||auth.demo.svc.cluster.local"),
            "auth.demo.svc.cluster.local"
        );
        assert_eq!(authority("outbound|8080|v1|auth.demo"), "auth.demo");
        assert_eq!(authority("outbound|8080||"), "outbound|8080||");
        assert_eq!(authority("a|b|c|d|e"), "a|b|c|d|e");
        let r =
            remote(r#"{"cluster":"outbound|80||x","path":"/c","authority":"auth.local"}"#).unwrap();
        assert_eq!(r.callout_headers(&[])[2].1, "auth.local");
    }

    #[test]
    fn identity_from_response_header() {
        let r = remote(r#"{"cluster":"auth","path":"/c","identity_from":"x-user-id"}"#).unwrap();
        assert_eq!(
            r.identity(&pairs(&[("x-user-id", "u-42")])),
            Some(&b"u-42"[..])
        );
        // Absent or empty: no identity (the request is denied), never the cluster name.
        assert_eq!(r.identity(&pairs(&[("x-other", "u-42")])), None);
        assert_eq!(r.identity(&pairs(&[("x-user-id", "")])), None);
        assert_eq!(
            r.identity(&pairs(&[("x-user-id", "alice"), ("x-user-id", "admin")])),
            None
        );
    }

    #[test]
    fn classifies_answers() {
        assert_eq!(classify(&pairs(&[(":status", "200")])), Outcome::Allow);
        assert_eq!(classify(&pairs(&[(":status", "204")])), Outcome::Allow);
        // Every other answer but a 5xx is a denial, as in Envoy's ext_authz.
        for status in [300, 302, 400, 401, 403, 404, 429, 499] {
            assert_eq!(
                classify(&pairs(&[(":status", &status.to_string())])),
                Outcome::Deny(status)
            );
        }
        assert_eq!(classify(&pairs(&[(":status", "100")])), Outcome::Deny(403));
        assert_eq!(classify(&pairs(&[(":status", "600")])), Outcome::Deny(403));
        for status in [500, 502, 503, 504, 599] {
            assert_eq!(
                classify(&pairs(&[(":status", &status.to_string())])),
                Outcome::Failure(format!("status {status}"))
            );
        }
        assert_eq!(
            classify(&[]),
            Outcome::Failure("no response (timeout or connection failure)".into())
        );
        assert!(matches!(
            classify(&pairs(&[(":status", "x")])),
            Outcome::Failure(_)
        ));
    }

    #[test]
    fn config_errors() {
        let err = |j: &str| remote(j).err().unwrap();
        assert!(
            err(r#"{"path":"/c"}"#).starts_with("missing field `cluster`"),
            "{}",
            err(r#"{"path":"/c"}"#)
        );
        assert_eq!(
            err(r#"{"cluster":"","path":"/c"}"#),
            "field `remote.cluster`: `` is not a cluster name (empty, or contains whitespace or control characters)"
        );
        assert!(
            err(r#"{"cluster":"a b","path":"/c"}"#).starts_with("field `remote.cluster`: `a b`")
        );
        assert!(err(r#"{"cluster":"a"}"#).starts_with("missing field `path`"));
        assert_eq!(
            err(r#"{"cluster":"a","path":"check"}"#),
            "field `remote.path`: `check` must start with `/` and contain no whitespace, control characters or `#`"
        );
        assert!(err(r#"{"cluster":"a","path":"/a b"}"#).starts_with("field `remote.path`"));
        assert!(err(r#"{"cluster":"a","path":"/a#b"}"#).starts_with("field `remote.path`"));
        assert_eq!(
            err(r#"{"cluster":"a","path":"/c","authority":"a/b"}"#),
            "field `remote.authority`: `a/b` is not a host name"
        );
        assert_eq!(
            err(r#"{"cluster":"a","path":"/c","timeout_ms":0}"#),
            "field `remote.timeout_ms`: must be greater than 0, got 0"
        );
        assert_eq!(
            err(r#"{"cluster":"a","path":"/c","timeout_ms":-5}"#),
            "field `remote.timeout_ms`: must be greater than 0, got -5"
        );
        assert_eq!(
            err(r#"{"cluster":"a","path":"/c","timeout_ms":5000000000}"#),
            "field `remote.timeout_ms`: must be at most 4294967295, got 5000000000"
        );
        assert_eq!(
            err(r#"{"cluster":"a","path":"/c","forward_headers":[":status"]}"#),
            "field `remote.forward_headers[0]`: `:status` cannot be forwarded; pseudo-headers allowed: :path, :method, :authority, :scheme"
        );
        assert_eq!(
            err(r#"{"cluster":"a","path":"/c","forward_headers":["cookie","Cookie"]}"#),
            "field `remote.forward_headers[1]`: invalid header name `Cookie`: must be lower-case"
        );
        assert_eq!(
            err(r#"{"cluster":"a","path":"/c","forward_headers":[":path","x-forwarded-uri"]}"#),
            "field `remote.forward_headers[1]`: `x-forwarded-uri` is listed twice"
        );
        // A header is either sent to the service or set by it, in any spelling.
        assert_eq!(
            err(r#"{"cluster":"a","path":"/c","forward_headers":["x-user"],"upstream_headers":["x_user"]}"#),
            "field `remote.upstream_headers[0]`: `x_user` is also in `remote.forward_headers`: a header is either sent to the service or set by it"
        );
        assert!(err(
            r#"{"cluster":"a","path":"/c","forward_headers":[":path"],"upstream_headers":["x-forwarded-uri"]}"#
        )
        .contains("is also in `remote.forward_headers`"));
        assert_eq!(
            err(r#"{"cluster":"a","path":"/c","upstream_headers":["x-a","x_a"]}"#),
            "field `remote.upstream_headers[1]`: `x_a` is listed twice"
        );
        for name in [
            "host",
            "connection",
            "content-length",
            "transfer-encoding",
            "te",
            "upgrade",
            "content_length",
        ] {
            assert_eq!(
                err(&format!(r#"{{"cluster":"a","path":"/c","upstream_headers":["x-ok","{name}"]}}"#)),
                format!("field `remote.upstream_headers[1]`: `{name}` is a hop-by-hop or framing header, never an identity")
            );
        }
        assert_eq!(
            err(r#"{"cluster":"a","path":"/c","identity_from":"transfer-encoding"}"#),
            "field `remote.identity_from`: `transfer-encoding` is a hop-by-hop or framing header, never an identity"
        );
        assert_eq!(
            err(r#"{"cluster":"a","path":"/c","upstream_headers":[":path"]}"#),
            "field `remote.upstream_headers[0]`: `:path` is a pseudo-header"
        );
        assert_eq!(
            err(r#"{"cluster":"a","path":"/c","upstream_headers":["x-u","x-u"]}"#),
            "field `remote.upstream_headers[1]`: `x-u` is listed twice"
        );
        assert_eq!(
            err(r#"{"cluster":"a","path":"/c","identity_from":"X"}"#),
            "field `remote.identity_from`: invalid header name `X`: must be lower-case"
        );
    }
}
