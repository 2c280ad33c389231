//! `remote` mode: ask an authorization service over an HTTP callout (`proxy_http_call`).
//!
//! The callout is `GET <path>` to an Envoy cluster with the configured request headers
//! forwarded. Pseudo-headers cannot be forwarded as such (the callout has its own), so they
//! travel as the `x-forwarded-*` headers forward-auth services know (Traefik's names).

use crate::reader::Obj;
use filter_common::config::ConfigError;
use filter_common::headers;
use std::time::Duration;

pub const DEFAULT_TIMEOUT_MS: i64 = 1000;
pub const DEFAULT_FORWARD: &[&str] = &["authorization"];

/// Pseudo-headers that may be forwarded, and the header they are sent as.
const PSEUDO_FORWARDS: &[(&str, &str)] = &[
    (":path", "x-forwarded-uri"),
    (":method", "x-forwarded-method"),
    (":authority", "x-forwarded-host"),
    (":scheme", "x-forwarded-proto"),
];

/// Fields of the `remote` section.
pub const FIELDS: &[&str] = &[
    "cluster",
    "path",
    "authority",
    "timeout_ms",
    "forward_headers",
    "upstream_headers",
    "identity_from",
    "failure_mode_allow",
];

/// One request header sent to the auth service: `(request header, callout header)`.
struct Forward {
    from: String,
    to: String,
}

pub struct Remote {
    cluster: String,
    path: String,
    authority: String,
    timeout: Duration,
    forward: Vec<Forward>,
    upstream_headers: Vec<String>,
    identity_from: Option<String>,
    failure_mode_allow: bool,
}

/// What the auth service's answer means for the request.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// 2xx: let the request through.
    Allow,
    /// 401 or 403: send this status and the service's body to the client.
    Deny(u32),
    /// No answer (timeout, connection failure), 5xx or any other status.
    Failure(String),
}

impl Remote {
    pub fn new(section: &Obj) -> Result<Self, ConfigError> {
        let cluster = section.required_string("cluster")?;
        if !is_token(&cluster) {
            return Err(crate::reader::invalid(
                section.field("cluster"),
                format!(
                    "`{}` is not a cluster name (empty, or contains whitespace or control characters)",
                    crate::reader::printable(&cluster)
                ),
            ));
        }
        let path = section.required_string("path")?;
        if !path.starts_with('/') || !is_token(&path) || path.bytes().any(|b| b == b'#') {
            return Err(crate::reader::invalid(
                section.field("path"),
                format!(
                    "`{}` must start with `/` and contain no whitespace, control characters or `#`",
                    crate::reader::printable(&path)
                ),
            ));
        }
        let authority = section
            .string("authority")?
            .unwrap_or_else(|| default_authority(&cluster).to_string());
        if !is_token(&authority) || authority.bytes().any(|b| b == b'/') {
            return Err(crate::reader::invalid(
                section.field("authority"),
                format!(
                    "`{}` is not a host name",
                    crate::reader::printable(&authority)
                ),
            ));
        }
        let timeout_ms = section.integer("timeout_ms")?.unwrap_or(DEFAULT_TIMEOUT_MS);
        if timeout_ms <= 0 {
            return Err(crate::reader::invalid(
                section.field("timeout_ms"),
                format!("must be greater than 0, got {timeout_ms}"),
            ));
        }
        let timeout_ms = u32::try_from(timeout_ms).map_err(|_| {
            crate::reader::invalid(
                section.field("timeout_ms"),
                format!("must be at most {}, got {timeout_ms}", u32::MAX),
            )
        })?;

        let forward_names = section
            .strings("forward_headers")?
            .unwrap_or_else(|| DEFAULT_FORWARD.iter().map(|s| s.to_string()).collect());
        let mut forward = Vec::with_capacity(forward_names.len());
        for (i, name) in forward_names.into_iter().enumerate() {
            let field = format!("{}[{i}]", section.field("forward_headers"));
            headers::validate_name(&name).map_err(|e| crate::reader::invalid(&field, e))?;
            let to = if headers::is_pseudo(&name) {
                match PSEUDO_FORWARDS.iter().find(|(p, _)| *p == name) {
                    Some((_, to)) => to.to_string(),
                    None => {
                        return Err(crate::reader::invalid(
                            field,
                            format!("`{name}` cannot be forwarded; pseudo-headers allowed: :path, :method, :authority, :scheme"),
                        ))
                    }
                }
            } else {
                name.clone()
            };
            if forward
                .iter()
                .any(|f: &Forward| f.from == name || f.to == to)
            {
                return Err(crate::reader::invalid(
                    field,
                    format!("`{name}` is listed twice"),
                ));
            }
            forward.push(Forward { from: name, to });
        }

        let names = section.strings("upstream_headers")?.unwrap_or_default();
        let mut upstream_headers: Vec<String> = Vec::with_capacity(names.len());
        for (i, name) in names.into_iter().enumerate() {
            let field = format!("{}[{i}]", section.field("upstream_headers"));
            validate_plain_name(&field, &name)?;
            if upstream_headers.contains(&name) {
                return Err(crate::reader::invalid(
                    field,
                    format!("`{name}` is listed twice"),
                ));
            }
            upstream_headers.push(name);
        }
        let identity_from = section.string("identity_from")?;
        if let Some(name) = &identity_from {
            validate_plain_name(&section.field("identity_from"), name)?;
        }
        let failure_mode_allow = section.boolean("failure_mode_allow")?.unwrap_or(false);

        Ok(Remote {
            cluster,
            path,
            authority,
            timeout: Duration::from_millis(u64::from(timeout_ms)),
            forward,
            upstream_headers,
            identity_from,
            failure_mode_allow,
        })
    }

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
            .map(|f| f.from.as_str())
            .filter(|n| !headers::is_pseudo(n))
    }

    /// The identity for the upstream: the `identity_from` response header when configured
    /// and present, else the cluster name.
    pub fn identity<'a>(&'a self, response: &'a [(String, Vec<u8>)]) -> Vec<u8> {
        self.identity_from
            .as_deref()
            .and_then(|name| first(response, name))
            .map_or_else(|| self.cluster.as_bytes().to_vec(), <[u8]>::to_vec)
    }

    /// The callout's headers, built from the client's request headers.
    pub fn callout_headers(&self, request: &[(String, Vec<u8>)]) -> Vec<(String, String)> {
        let mut out = vec![
            (":method".to_string(), "GET".to_string()),
            (":path".to_string(), self.path.clone()),
            (":authority".to_string(), self.authority.clone()),
        ];
        for f in &self.forward {
            for (name, value) in request {
                if *name == f.from {
                    out.push((f.to.clone(), String::from_utf8_lossy(value).into_owned()));
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
pub fn classify(response: &[(String, Vec<u8>)]) -> Outcome {
    let status = first(response, ":status")
        .and_then(|s| std::str::from_utf8(s).ok())
        .and_then(|s| s.parse::<u32>().ok());
    match status {
        None => Outcome::Failure("no response (timeout or connection failure)".into()),
        Some(200..=299) => Outcome::Allow,
        Some(s @ (401 | 403)) => Outcome::Deny(s),
        Some(s) => Outcome::Failure(format!("unexpected status {s}")),
    }
}

/// First value of `name` in a header list.
pub fn first<'a>(pairs: &'a [(String, Vec<u8>)], name: &str) -> Option<&'a [u8]> {
    pairs
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_slice())
}

fn validate_plain_name(field: &str, name: &str) -> Result<(), ConfigError> {
    headers::validate_name(name).map_err(|e| crate::reader::invalid(field, e))?;
    if headers::is_pseudo(name) {
        return Err(crate::reader::invalid(
            field,
            format!("`{name}` is a pseudo-header"),
        ));
    }
    Ok(())
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
        let text = format!(r#"{{"remote":{json}}}"#);
        let doc: crate::json::Json = filter_common::config::parse(text.as_bytes()).unwrap();
        let root = Obj::root(&doc, &["remote"]).unwrap();
        let section = root
            .object("remote", FIELDS)
            .map_err(|e| e.to_string())?
            .unwrap();
        Remote::new(&section).map_err(|e| e.to_string())
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, Vec<u8>)> {
        list.iter()
            .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec()))
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
        assert_eq!(r.identity(&[]), b"auth_service");
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
        let got: Vec<(&str, &str)> = got.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
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
            headers[2].1.clone()
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
        assert_eq!(r.identity(&pairs(&[("x-user-id", "u-42")])), b"u-42");
        assert_eq!(r.identity(&pairs(&[("x-other", "u-42")])), b"auth");
    }

    #[test]
    fn classifies_answers() {
        assert_eq!(classify(&pairs(&[(":status", "200")])), Outcome::Allow);
        assert_eq!(classify(&pairs(&[(":status", "204")])), Outcome::Allow);
        assert_eq!(classify(&pairs(&[(":status", "401")])), Outcome::Deny(401));
        assert_eq!(classify(&pairs(&[(":status", "403")])), Outcome::Deny(403));
        assert_eq!(
            classify(&pairs(&[(":status", "503")])),
            Outcome::Failure("unexpected status 503".into())
        );
        assert_eq!(
            classify(&pairs(&[(":status", "302")])),
            Outcome::Failure("unexpected status 302".into())
        );
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
        assert_eq!(err(r#"{"path":"/c"}"#), "field `remote.cluster`: required");
        assert_eq!(
            err(r#"{"cluster":"","path":"/c"}"#),
            "field `remote.cluster`: `` is not a cluster name (empty, or contains whitespace or control characters)"
        );
        assert!(
            err(r#"{"cluster":"a b","path":"/c"}"#).starts_with("field `remote.cluster`: `a b`")
        );
        assert_eq!(err(r#"{"cluster":"a"}"#), "field `remote.path`: required");
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
