//! The plugin configuration as operators write it (JSON, read by serde through
//! `filter_common::config`), and its validation into the [`Settings`] requests use.
//!
//! serde checks the shape (types, required and unknown fields); [`Settings::build`] checks
//! what a type cannot say. Every error names the field and never quotes a secret.

use crate::api_key::{ApiKeySection, ApiKeys};
use crate::basic::{BasicSection, BasicUsers};
use crate::remote::{Remote, RemoteSection};
use filter_common::config::{ConfigError, Object};
use filter_common::headers;
use serde::Deserialize;

/// The identity header when `identity_header` is not set.
pub const DEFAULT_IDENTITY_HEADER: &str = "x-auth-client";

/// The document. Every field is optional for serde: absent (`default`) or `null`, it is
/// `None`, and an empty configuration is `Config::default()`; `build` says what is required.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    mode: Option<Mode>,
    #[serde(default)]
    exempt_paths: Option<Vec<String>>,
    #[serde(default)]
    identity_header: Option<String>,
    #[serde(default)]
    strip_credentials: Option<bool>,
    #[serde(default)]
    api_key: Option<Object<ApiKeySection>>,
    #[serde(default)]
    basic: Option<Object<BasicSection>>,
    #[serde(default)]
    remote: Option<Object<RemoteSection>>,
}

/// Read from a string: serde_json reports a non-string where an enum belongs as a syntax
/// error without the field's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum Mode {
    ApiKey,
    Basic,
    Remote,
}

impl Mode {
    const ALL: [Mode; 3] = [Mode::ApiKey, Mode::Basic, Mode::Remote];

    fn name(self) -> &'static str {
        match self {
            Mode::ApiKey => "api_key",
            Mode::Basic => "basic",
            Mode::Remote => "remote",
        }
    }
}

impl TryFrom<String> for Mode {
    type Error = String;

    fn try_from(name: String) -> Result<Self, String> {
        Mode::ALL
            .into_iter()
            .find(|m| m.name() == name)
            .ok_or_else(|| {
                format!(
                    "unknown mode `{}`, expected one of `api_key`, `basic`, `remote`",
                    printable(&name)
                )
            })
    }
}

/// How requests are authenticated, ready to use.
pub enum Method {
    ApiKey(ApiKeys),
    Basic(BasicUsers),
    Remote(Remote),
}

/// The validated configuration.
pub struct Settings {
    pub exempt: ExemptPaths,
    pub identity_header: String,
    /// Headers only this filter sets (the identity header, `remote.upstream_headers`): the
    /// client's copies, in every spelling ([`same_header`]), are removed.
    pub protected: Vec<String>,
    /// Remove credential headers before forwarding (`strip_credentials: true`).
    pub strip_credentials: bool,
    /// Remove the `api_key.query_param` key from `:path`: unless `strip_credentials: false`.
    pub strip_query_key: bool,
    pub method: Method,
}

impl Settings {
    pub fn build(config: &Config) -> Result<Self, ConfigError> {
        let Some(mode) = config.mode else {
            return Err(ConfigError::invalid(
                "mode",
                "required: one of `api_key`, `basic`, `remote`",
            ));
        };
        // Only the selected mode's section may be present: a second one is a mistake.
        let present = [
            config.api_key.is_some(),
            config.basic.is_some(),
            config.remote.is_some(),
        ];
        if let Some((other, _)) = Mode::ALL
            .into_iter()
            .zip(present)
            .find(|(m, set)| *set && *m != mode)
        {
            return Err(ConfigError::invalid(
                other.name(),
                format!("set, but mode is `{}`", mode.name()),
            ));
        }

        let identity_header = config
            .identity_header
            .as_deref()
            .unwrap_or(DEFAULT_IDENTITY_HEADER);
        check_settable_header("identity_header", identity_header)?;

        let exempt = ExemptPaths::new(config.exempt_paths.as_deref().unwrap_or_default())?;
        let method = match (mode, &config.api_key, &config.basic, &config.remote) {
            (Mode::ApiKey, Some(section), _, _) => Method::ApiKey(section.0.build()?),
            (Mode::Basic, _, Some(section), _) => Method::Basic(section.0.build()?),
            (Mode::Remote, _, _, Some(section)) => Method::Remote(section.0.build()?),
            _ => {
                return Err(ConfigError::invalid(
                    mode.name(),
                    format!("required when mode is `{}`", mode.name()),
                ))
            }
        };

        // The identity header is set by this filter: it must not double as a credential or a
        // header the auth service controls, in any spelling (see `same_header`).
        let identity = |name: &str| same_header(name.as_bytes(), identity_header.as_bytes());
        let clash = match &method {
            Method::ApiKey(keys) => keys
                .header()
                .is_some_and(identity)
                .then_some("api_key.header"),
            Method::Basic(_) => identity("authorization").then_some("basic"),
            Method::Remote(remote) => {
                if remote.upstream_headers().iter().any(|n| identity(n)) {
                    Some("remote.upstream_headers")
                } else {
                    remote
                        .forwarded_plain_headers()
                        .any(identity)
                        .then_some("remote.forward_headers")
                }
            }
        };
        if let Some(field) = clash {
            return Err(bad_value(
                "identity_header",
                identity_header,
                &format!("is also used by `{field}`"),
            ));
        }

        let mut protected = vec![identity_header.to_string()];
        if let Method::Remote(remote) = &method {
            protected.extend_from_slice(remote.upstream_headers());
        }
        Ok(Settings {
            exempt,
            identity_header: identity_header.to_string(),
            protected,
            // Headers are kept unless asked; a key in the URL would reach the upstream's
            // access logs, so it goes unless explicitly kept.
            strip_credentials: config.strip_credentials.unwrap_or(false),
            strip_query_key: config.strip_credentials.unwrap_or(true),
            method,
        })
    }
}

/// Path prefixes that skip authentication, matched segment by segment: `/healthz` exempts
/// `/healthz` and `/healthz/live` but not `/healthz-admin`.
pub struct ExemptPaths(Vec<String>);

impl ExemptPaths {
    fn new(prefixes: &[String]) -> Result<Self, ConfigError> {
        for (i, prefix) in prefixes.iter().enumerate() {
            let problem = if !prefix.starts_with('/') {
                "must start with `/`"
            } else if prefix.contains(['?', '#', '%', '\\', ';'])
                || prefix.bytes().any(|b| !b.is_ascii_graphic())
            {
                // What `matches` never exempts could never match: refuse it here.
                "must be a plain path (no query, fragment, `;`, `%`, `\\`, whitespace, control or non-ASCII characters)"
            } else if !is_plain(prefix) {
                "must not contain `//`, `.` or `..` segments"
            } else {
                continue;
            };
            return Err(bad_value(&item("exempt_paths", i), prefix, problem));
        }
        Ok(ExemptPaths(prefixes.to_vec()))
    }

    /// True when no prefix is configured: nothing can match, so `:path` need not be read.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// True when `path` (the `:path` header, query included) falls under an exempt prefix.
    /// A path that a proxy or server might read differently is never exempt: it is
    /// authenticated like any other request. That is any `;` (Tomcat and Spring treat
    /// `/healthz/..;/admin` as `/admin`), `#`, `%`-escape, `\`, `//`, `.` or `..` segment,
    /// whitespace, control or non-ASCII character (`．．` is `..` after Unicode normalisation)
    /// before the query.
    pub fn matches(&self, path: &str) -> bool {
        if self.is_empty() || path.contains([';', '#']) {
            return false;
        }
        let path = path.split_once('?').map_or(path, |(path, _query)| path);
        if path.contains(['%', '\\'])
            || path.bytes().any(|b| !b.is_ascii_graphic())
            || !is_plain(path)
        {
            return false;
        }
        self.0.iter().any(|prefix| under(prefix, path))
    }
}

/// Request headers some servers route by instead of the path (IIS URL Rewrite, Symfony and
/// Zend before CVE-2018-14773): a request carrying one is never exempt.
pub const PATH_OVERRIDES: [&str; 2] = ["x-original-url", "x-rewrite-url"];

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

/// The error for a configured `value` (a name, a path: never a secret) that `field` cannot
/// hold: the value quoted, then the `problem` (`` `a b` is not a host name``).
pub fn bad_value(field: &str, value: &str, problem: &str) -> ConfigError {
    ConfigError::invalid(field, format!("`{}` {problem}", printable(value)))
}

/// The field name of entry `index` of the list `list`: `exempt_paths[2]`.
pub fn item(list: &str, index: usize) -> String {
    format!("{list}[{index}]")
}

/// A header name the filter sets or looks up itself: valid, and not a pseudo-header.
pub fn check_plain_header(field: &str, name: &str) -> Result<(), ConfigError> {
    headers::validate_name(name).map_err(|e| ConfigError::invalid(field, e))?;
    if headers::is_pseudo(name) {
        return Err(bad_value(field, name, "is a pseudo-header"));
    }
    Ok(())
}

/// Connection and framing headers: what they carry belongs to one hop (RFC 9110 7.6.1) or to
/// the message's length, never to an identity.
const HOP_BY_HOP: [&str; 9] = [
    "host",
    "connection",
    "content-length",
    "transfer-encoding",
    "te",
    "upgrade",
    "keep-alive",
    "proxy-connection",
    "trailer",
];

/// A header name the filter sets on the upstream request: plain, and not a hop-by-hop or
/// framing header in any spelling.
pub fn check_settable_header(field: &str, name: &str) -> Result<(), ConfigError> {
    check_plain_header(field, name)?;
    if HOP_BY_HOP
        .iter()
        .any(|h| same_header(name.as_bytes(), h.as_bytes()))
    {
        return Err(bad_value(
            field,
            name,
            "is a hop-by-hop or framing header, never an identity",
        ));
    }
    Ok(())
}

/// True when backends may read header names `a` and `b` as one: letter case aside and any
/// other character than a letter or digit taken as `-`. CGI, WSGI, PHP, Rack and nginx's
/// `$http_*` read `_` as `-` (`x_auth_client` is `X-Auth-Client`), lighttpd's CGI and
/// FastCGI gateways every other character too (`x+auth~client`). No allocation: it runs over
/// every request header.
pub fn same_header(a: &[u8], b: &[u8]) -> bool {
    let spelled = |b: &u8| match b {
        b if b.is_ascii_alphanumeric() => b.to_ascii_lowercase(),
        _ => b'-',
    };
    a.len() == b.len() && a.iter().map(spelled).eq(b.iter().map(spelled))
}

/// Usable as a header value or a name in a message: no control characters, no whitespace
/// at either end (which Envoy would trim).
pub fn is_clean(s: &str) -> bool {
    !s.chars().any(char::is_control)
        && !s.starts_with(char::is_whitespace)
        && !s.ends_with(char::is_whitespace)
}

/// `s` with control characters escaped (`\n`, `\u{1b}`), for quoting a configured name in a
/// one-line error message.
pub fn printable(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() {
            // escape_debug: the module has it anyway (serde_json's messages use it).
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    out
}

/// Parses and validates a configuration document as `on_configure` does.
#[cfg(test)]
pub fn parse(json: &str) -> Result<Settings, String> {
    filter_common::config::parse::<Config>(json.as_bytes())
        .and_then(|config| Settings::build(&config))
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(json: &str) -> String {
        match parse(json) {
            Ok(_) => panic!("accepted: {json}"),
            Err(e) => e,
        }
    }

    const KEYS: &str = r#""api_key":{"keys":[{"client":"ci","key":"k1"}]}"#;

    #[test]
    fn minimal_api_key_config() {
        let s = parse(&format!(r#"{{"mode":"api_key",{KEYS}}}"#)).unwrap();
        assert_eq!(s.identity_header, "x-auth-client");
        assert!(!s.strip_credentials);
        assert!(s.exempt.is_empty());
        assert!(matches!(s.method, Method::ApiKey(_)));
    }

    #[test]
    fn null_means_absent() {
        let s = parse(&format!(
            r#"{{"mode":"api_key","exempt_paths":null,"identity_header":null,"strip_credentials":null,"basic":null,{KEYS}}}"#
        ))
        .unwrap();
        assert_eq!(s.identity_header, "x-auth-client");
    }

    #[test]
    fn mode_is_required_and_checked() {
        assert_eq!(
            err("{}"),
            "field `mode`: required: one of `api_key`, `basic`, `remote`"
        );
        assert_eq!(err(""), err("{}"));
        assert_eq!(
            err(r#"{"mode":"oauth"}"#),
            "field `mode`: unknown mode `oauth`, expected one of `api_key`, `basic`, `remote` at line 1 column 16"
        );
        assert_eq!(
            err(r#"{"mode":3}"#),
            "field `mode`: invalid type: integer, expected a string at line 1 column 9"
        );
    }

    #[test]
    fn section_must_match_mode() {
        assert_eq!(
            err(r#"{"mode":"api_key"}"#),
            "field `api_key`: required when mode is `api_key`"
        );
        assert_eq!(
            err(&format!(r#"{{"mode":"basic",{KEYS}}}"#)),
            "field `api_key`: set, but mode is `basic`"
        );
        assert_eq!(
            err(r#"{"mode":"remote"}"#),
            "field `remote`: required when mode is `remote`"
        );
    }

    #[test]
    fn identity_header_checked() {
        assert_eq!(
            err(&format!(
                r#"{{"mode":"api_key","identity_header":"X-Id",{KEYS}}}"#
            )),
            "field `identity_header`: invalid header name `X-Id`: must be lower-case"
        );
        assert_eq!(
            err(&format!(
                r#"{{"mode":"api_key","identity_header":":path",{KEYS}}}"#
            )),
            "field `identity_header`: `:path` is a pseudo-header"
        );
        assert_eq!(
            err(&format!(
                r#"{{"mode":"api_key","identity_header":"x-api-key",{KEYS}}}"#
            )),
            "field `identity_header`: `x-api-key` is also used by `api_key.header`"
        );
        assert_eq!(
            err(
                r#"{"mode":"basic","identity_header":"authorization","basic":{"users":["a:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g="]}}"#
            ),
            "field `identity_header`: `authorization` is also used by `basic`"
        );
        assert_eq!(
            err(
                r#"{"mode":"remote","remote":{"cluster":"a","path":"/c","upstream_headers":["x-auth-client"]}}"#
            ),
            "field `identity_header`: `x-auth-client` is also used by `remote.upstream_headers`"
        );
    }

    #[test]
    fn unknown_and_duplicate_fields_rejected() {
        let e = err(r#"{"mode":"api_key","exempt":["/x"]}"#);
        assert!(
            e.starts_with("field `exempt`: unknown field `exempt`, expected one of `mode`, `exempt_paths`, `identity_header`, `strip_credentials`, `api_key`, `basic`, `remote`"),
            "{e}"
        );
        let e = err(r#"{"mode":"api_key","mode":"basic"}"#);
        assert!(e.contains("duplicate field `mode`"), "{e}");
    }

    #[test]
    fn type_errors_name_the_field_not_the_value() {
        let e = err(&format!(
            r#"{{"mode":"api_key","strip_credentials":"s3cret",{KEYS}}}"#
        ));
        assert!(
            e.starts_with("field `strip_credentials`: invalid type: string, expected a boolean"),
            "{e}"
        );
        assert!(!e.contains("s3cret"));
    }

    /// The shape errors shown in README.md, from these documents.
    #[test]
    fn readme_shape_errors() {
        assert_eq!(
            err(r#"{"mode":"oauth"}"#),
            "field `mode`: unknown mode `oauth`, expected one of `api_key`, `basic`, `remote` at line 1 column 16"
        );
        assert_eq!(
            err(&format!(
                r#"{{"mode":"api_key","strip_credentials":"yes",{KEYS}}}"#
            )),
            "field `strip_credentials`: invalid type: string, expected a boolean at line 1 column 43"
        );
        assert_eq!(
            err(r#"{"mode":"remote","remote":{"path":"/check"}}"#),
            "field `remote`: missing field `cluster` at line 1 column 43"
        );
    }

    fn exempt(prefixes: &[&str]) -> ExemptPaths {
        let prefixes: Vec<String> = prefixes.iter().map(|s| s.to_string()).collect();
        ExemptPaths::new(&prefixes).unwrap()
    }

    #[test]
    fn prefixes_match_whole_segments() {
        let e = exempt(&["/healthz", "/public/"]);
        for yes in [
            "/healthz",
            "/healthz/",
            "/healthz/live",
            "/healthz?x=1",
            "/healthz?x=%2e%2e",
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
            // Path parameters: Tomcat and Spring read `..;` as `..`.
            "/healthz/..;/admin",
            "/healthz/.;/admin",
            "/healthz;/../admin",
            "/healthz;jsessionid=1",
            "/healthz/;/admin",
            "/healthz?x=1;y",
            "/healthz#f",
            "/healthz/#/../admin",
            "/healthz/ admin",
            "/healthz/\tadmin",
            "/healthz/\u{ff0e}\u{ff0e}/admin",
            "/healthz/caf\u{e9}",
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
            ExemptPaths::new(&["/ok".into(), p.into()])
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
            err("/a\n"),
            "field `exempt_paths[1]`: `/a\\n` must be a plain path (no query, fragment, `;`, `%`, `\\`, whitespace, control or non-ASCII characters)"
        );
        for never_matches in ["/a;b", "/a b", "/caf\u{e9}", "/a\tb"] {
            assert!(
                err(never_matches).contains("must be a plain path"),
                "{never_matches}"
            );
        }
        assert_eq!(
            err("/a/../b"),
            "field `exempt_paths[1]`: `/a/../b` must not contain `//`, `.` or `..` segments"
        );
        assert!(err("/a//b").contains("must not contain"));
    }

    #[test]
    fn header_spellings_backends_read_alike() {
        assert!(same_header(b"x_auth_client", b"x-auth-client"));
        assert!(same_header(b"X-Auth_CLIENT", b"x-auth-client"));
        assert!(same_header(b"x-auth-client", b"x_auth_client"));
        assert!(!same_header(b"x-auth-clien", b"x-auth-client"));
        assert!(!same_header(b"x-auth-clientx", b"x-auth-client"));
        assert!(same_header(b"x.auth.client", b"x-auth-client"));
        assert!(same_header(b"x+auth~client", b"x-auth-client"));
        assert!(same_header(b"x!auth'client", b"x_auth_client"));
        assert!(!same_header(b"xxauth-client", b"x-auth-client"));
    }

    #[test]
    fn identity_header_clashes_in_any_spelling() {
        assert_eq!(
            err(&format!(
                r#"{{"mode":"api_key","identity_header":"x_api_key",{KEYS}}}"#
            )),
            "field `identity_header`: `x_api_key` is also used by `api_key.header`"
        );
        assert_eq!(
            err(
                r#"{"mode":"remote","remote":{"cluster":"a","path":"/c","upstream_headers":["x_auth_client"]}}"#
            ),
            "field `identity_header`: `x-auth-client` is also used by `remote.upstream_headers`"
        );
        assert_eq!(
            err(
                r#"{"mode":"remote","remote":{"cluster":"a","path":"/c","forward_headers":["authorization","x-auth-client"]}}"#
            ),
            "field `identity_header`: `x-auth-client` is also used by `remote.forward_headers`"
        );
        for name in [
            "host",
            "connection",
            "content-length",
            "transfer-encoding",
            "te",
            "upgrade",
        ] {
            assert_eq!(
                err(&format!(
                    r#"{{"mode":"api_key","identity_header":"{name}",{KEYS}}}"#
                )),
                format!("field `identity_header`: `{name}` is a hop-by-hop or framing header, never an identity")
            );
        }
    }

    #[test]
    fn protected_headers_and_query_key_default() {
        let s = parse(
            r#"{"mode":"remote","identity_header":"x-id","remote":{"cluster":"a","path":"/c","upstream_headers":["x-user","x-roles"]}}"#,
        )
        .unwrap();
        assert_eq!(s.protected, ["x-id", "x-user", "x-roles"]);
        let strip = |v: &str| {
            let s = parse(&format!(
                r#"{{"mode":"api_key","strip_credentials":{v},{KEYS}}}"#
            ))
            .unwrap();
            (s.strip_credentials, s.strip_query_key)
        };
        assert_eq!(strip("null"), (false, true));
        assert_eq!(strip("true"), (true, true));
        assert_eq!(strip("false"), (false, false));
    }

    #[test]
    fn printable_escapes_control_characters() {
        assert_eq!(
            printable("a\nb\tc\rd\u{1b}e\"f"),
            "a\\nb\\tc\\rd\\u{1b}e\"f"
        );
        assert_eq!(printable("plain"), "plain");
    }
}
