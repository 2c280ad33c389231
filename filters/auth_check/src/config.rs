//! The plugin configuration as written by operators (JSON), and its validation into the
//! [`Settings`] requests use. Validation errors name the field and never echo a secret.

use crate::api_key::ApiKeys;
use crate::basic::BasicUsers;
use crate::paths::ExemptPaths;
use crate::remote::Remote;
use filter_common::config::ConfigError;
use filter_common::headers;
use serde::Deserialize;

/// The identity header when `identity_header` is not set.
pub const DEFAULT_IDENTITY_HEADER: &str = "x-auth-client";

/// The top-level configuration. Only the section of the selected `mode` may be present.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawConfig {
    pub mode: Option<Mode>,
    pub exempt_paths: Vec<String>,
    pub identity_header: Option<String>,
    pub strip_credentials: bool,
    pub api_key: Option<crate::api_key::RawApiKey>,
    pub basic: Option<crate::basic::RawBasic>,
    pub remote: Option<crate::remote::RawRemote>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
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
    pub fn from_raw(raw: RawConfig) -> Result<Self, ConfigError> {
        let mode = raw.mode.ok_or_else(|| {
            ConfigError::invalid("mode", "required: one of `api_key`, `basic`, `remote`")
        })?;
        for (field, present, owner) in [
            ("api_key", raw.api_key.is_some(), Mode::ApiKey),
            ("basic", raw.basic.is_some(), Mode::Basic),
            ("remote", raw.remote.is_some(), Mode::Remote),
        ] {
            if present && owner != mode {
                return Err(ConfigError::invalid(
                    field,
                    format!("set, but mode is `{}`", mode.name()),
                ));
            }
        }

        let identity_header = raw
            .identity_header
            .unwrap_or_else(|| DEFAULT_IDENTITY_HEADER.to_string());
        headers::validate_name(&identity_header)
            .map_err(|e| ConfigError::invalid("identity_header", e))?;
        if headers::is_pseudo(&identity_header) {
            return Err(ConfigError::invalid(
                "identity_header",
                format!("`{identity_header}` is a pseudo-header"),
            ));
        }

        let exempt = ExemptPaths::new(raw.exempt_paths)?;

        let missing = |field: &str| {
            ConfigError::invalid(field, format!("required when mode is `{}`", mode.name()))
        };
        let method = match mode {
            Mode::ApiKey => Method::ApiKey(ApiKeys::new(
                raw.api_key.ok_or_else(|| missing("api_key"))?,
            )?),
            Mode::Basic => {
                Method::Basic(BasicUsers::new(raw.basic.ok_or_else(|| missing("basic"))?)?)
            }
            Mode::Remote => {
                Method::Remote(Remote::new(raw.remote.ok_or_else(|| missing("remote"))?)?)
            }
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
            return Err(ConfigError::invalid(
                "identity_header",
                format!("`{identity_header}` is also used by `{field}`"),
            ));
        }

        Ok(Settings {
            exempt,
            identity_header,
            strip_credentials: raw.strip_credentials,
            method,
        })
    }
}

/// Parses and validates a configuration document (used by unit tests; the root context
/// goes through `filter_common::config::parse` and `Plugin::configure`).
#[cfg(test)]
pub fn parse(json: &str) -> Result<Settings, String> {
    filter_common::config::parse::<RawConfig>(json.as_bytes())
        .and_then(Settings::from_raw)
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
        let e = err(r#"{"mode":"oauth"}"#);
        assert!(
            e.starts_with("field `mode`: unknown variant `oauth`, expected one of `api_key`, `basic`, `remote`"),
            "{e}"
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
