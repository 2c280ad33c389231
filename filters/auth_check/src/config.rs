//! The plugin configuration as written by operators (JSON), and its validation into the
//! [`Settings`] requests use. Validation errors name the field and never echo a secret.

use crate::api_key::ApiKeys;
use crate::basic::BasicUsers;
use crate::json::Json;
use crate::paths::ExemptPaths;
use crate::reader::Obj;
use crate::remote::Remote;
use filter_common::config::ConfigError;
use filter_common::headers;

/// The identity header when `identity_header` is not set.
pub const DEFAULT_IDENTITY_HEADER: &str = "x-auth-client";

/// Top-level fields; only the section of the selected `mode` may be present.
const FIELDS: &[&str] = &[
    "mode",
    "exempt_paths",
    "identity_header",
    "strip_credentials",
    "api_key",
    "basic",
    "remote",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    ApiKey,
    Basic,
    Remote,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::ApiKey => "api_key",
            Mode::Basic => "basic",
            Mode::Remote => "remote",
        }
    }

    fn parse(name: &str) -> Result<Self, ConfigError> {
        [Mode::ApiKey, Mode::Basic, Mode::Remote]
            .into_iter()
            .find(|m| m.name() == name)
            .ok_or_else(|| {
                crate::reader::invalid(
                    "mode",
                    format!("unknown mode `{name}`, expected one of `api_key`, `basic`, `remote`"),
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
    pub strip_credentials: bool,
    pub method: Method,
}

impl Settings {
    /// Validates the configuration document (`null` when the configuration is empty).
    pub fn from_json(doc: &Json) -> Result<Self, ConfigError> {
        let root = Obj::root(doc, FIELDS)?;
        let mode = match root.string("mode")? {
            Some(name) => Mode::parse(&name)?,
            None => {
                return Err(crate::reader::invalid(
                    "mode",
                    "required: one of `api_key`, `basic`, `remote`",
                ))
            }
        };
        for owner in [Mode::ApiKey, Mode::Basic, Mode::Remote] {
            if owner != mode && root.has(owner.name()) {
                return Err(crate::reader::invalid(
                    owner.name(),
                    format!("set, but mode is `{}`", mode.name()),
                ));
            }
        }

        let identity_header = root
            .string("identity_header")?
            .unwrap_or_else(|| DEFAULT_IDENTITY_HEADER.to_string());
        headers::validate_name(&identity_header)
            .map_err(|e| crate::reader::invalid("identity_header", e))?;
        if headers::is_pseudo(&identity_header) {
            return Err(crate::reader::invalid(
                "identity_header",
                format!("`{identity_header}` is a pseudo-header"),
            ));
        }

        let exempt = ExemptPaths::new(root.strings("exempt_paths")?.unwrap_or_default())?;
        let strip_credentials = root.boolean("strip_credentials")?.unwrap_or(false);

        let section = |fields: &[&str]| {
            root.object(mode.name(), fields)?.ok_or_else(|| {
                crate::reader::invalid(
                    mode.name(),
                    format!("required when mode is `{}`", mode.name()),
                )
            })
        };
        let method = match mode {
            Mode::ApiKey => Method::ApiKey(ApiKeys::new(&section(crate::api_key::FIELDS)?)?),
            Mode::Basic => Method::Basic(BasicUsers::new(&section(crate::basic::FIELDS)?)?),
            Mode::Remote => Method::Remote(Remote::new(&section(crate::remote::FIELDS)?)?),
        };

        // The identity header is set by this filter: it must not double as a credential or a
        // header the auth service controls.
        let clash = match &method {
            Method::ApiKey(keys) => keys
                .header()
                .filter(|h| *h == identity_header)
                .map(|_| "api_key.header"),
            Method::Basic(_) => (identity_header == "authorization").then_some("basic"),
            Method::Remote(remote) => remote
                .upstream_headers()
                .contains(&identity_header)
                .then_some("remote.upstream_headers"),
        };
        if let Some(field) = clash {
            return Err(crate::reader::invalid(
                "identity_header",
                format!("`{identity_header}` is also used by `{field}`"),
            ));
        }

        Ok(Settings {
            exempt,
            identity_header,
            strip_credentials,
            method,
        })
    }
}

/// Parses and validates a configuration document (used by unit tests; the root context
/// goes through `filter_common::config::parse` and `Plugin::configure` the same way).
#[cfg(test)]
pub fn parse(json: &str) -> Result<Settings, String> {
    filter_common::config::parse::<Json>(json.as_bytes())
        .and_then(|doc| Settings::from_json(&doc))
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
        assert!(matches!(s.method, Method::ApiKey(_)));
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
            "field `mode`: unknown mode `oauth`, expected one of `api_key`, `basic`, `remote`"
        );
        assert_eq!(
            err(r#"{"mode":3}"#),
            "field `mode`: expected a string, got a number"
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
    fn unknown_fields_rejected() {
        let e = err(r#"{"mode":"api_key","exempt":["/x"]}"#);
        assert!(
            e.starts_with("field `exempt`: unknown field `exempt`"),
            "{e}"
        );
    }
}
