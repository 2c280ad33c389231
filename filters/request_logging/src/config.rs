//! The plugin configuration (JSON) and its validated, pre-computed form.

use crate::fields::{self, Field};
use crate::status::StatusPattern;
use filter_common::config::ConfigError;
use filter_common::headers::validate_name;
use filter_common::proxy_wasm::types::LogLevel;
use serde::Deserialize;

/// Headers whose values never reach the log, whatever the configuration says.
pub const ALWAYS_REDACTED: [&str; 5] = [
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-api-key",
];

/// Default for `max_value_bytes`.
pub const DEFAULT_MAX_VALUE_BYTES: usize = 1024;

/// The configuration as operators write it; every key is optional.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Built-in fields to log, in order; `None` means all of them ([`fields::ALL`]).
    pub fields: Option<Vec<String>>,
    pub request_headers: Vec<String>,
    pub response_headers: Vec<String>,
    pub redact: Vec<String>,
    pub sample_rate: f64,
    pub only_status: Vec<String>,
    pub log_level: String,
    pub max_value_bytes: usize,
    pub include_query: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            fields: None,
            request_headers: Vec::new(),
            response_headers: Vec::new(),
            redact: Vec::new(),
            sample_rate: 1.0,
            only_status: Vec::new(),
            log_level: "info".to_string(),
            max_value_bytes: DEFAULT_MAX_VALUE_BYTES,
            include_query: true,
        }
    }
}

/// A header to capture, with its redaction decided once at configure time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderSpec {
    pub name: String,
    pub redact: bool,
}

/// What requests share: the validated configuration in the form the hot path wants.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub fields: Vec<Field>,
    pub request_headers: Vec<HeaderSpec>,
    pub response_headers: Vec<HeaderSpec>,
    pub sample_rate: f64,
    pub only_status: Vec<StatusPattern>,
    pub log_level: LogLevel,
    pub max_value_bytes: usize,
    pub include_query: bool,
}

impl Settings {
    pub fn from_config(config: Config) -> Result<Settings, ConfigError> {
        let fields = match config.fields {
            None => fields::ALL.to_vec(),
            Some(names) => parse_fields(&names)?,
        };
        for (i, name) in config.redact.iter().enumerate() {
            validate_name(name).map_err(|m| at("redact", i, m))?;
        }
        let request_headers =
            header_specs("request_headers", config.request_headers, &config.redact)?;
        let response_headers =
            header_specs("response_headers", config.response_headers, &config.redact)?;

        if !(0.0..=1.0).contains(&config.sample_rate) {
            // The value is not echoed: formatting a float would add ~20 KB of code to the module.
            return Err(ConfigError::invalid(
                "sample_rate",
                "must be a number from 0.0 to 1.0",
            ));
        }
        let only_status = config
            .only_status
            .iter()
            .enumerate()
            .map(|(i, p)| StatusPattern::parse(p).map_err(|m| at("only_status", i, m)))
            .collect::<Result<Vec<_>, _>>()?;
        let log_level = parse_log_level(&config.log_level).ok_or_else(|| {
            ConfigError::invalid(
                "log_level",
                format!(
                    "unknown level `{}`: expected trace, debug, info, warn, error or critical",
                    config.log_level
                ),
            )
        })?;
        if config.max_value_bytes == 0 {
            return Err(ConfigError::invalid(
                "max_value_bytes",
                "must be at least 1",
            ));
        }
        Ok(Settings {
            fields,
            request_headers,
            response_headers,
            sample_rate: config.sample_rate,
            only_status,
            log_level,
            max_value_bytes: config.max_value_bytes,
            include_query: config.include_query,
        })
    }

    pub fn has(&self, field: Field) -> bool {
        self.fields.contains(&field)
    }

    /// Whether a request with this final status is logged (before sampling).
    pub fn status_selected(&self, status: u16) -> bool {
        self.only_status.is_empty() || self.only_status.iter().any(|p| p.matches(status))
    }
}

fn parse_fields(names: &[String]) -> Result<Vec<Field>, ConfigError> {
    if names.is_empty() {
        return Err(ConfigError::invalid(
            "fields",
            "must list at least one field (omit `fields` for the default set)",
        ));
    }
    let mut fields = Vec::with_capacity(names.len());
    for (i, name) in names.iter().enumerate() {
        let field = Field::from_name(name).ok_or_else(|| {
            let expected = fields::NAMES;
            at(
                "fields",
                i,
                format!("unknown field `{name}`: expected one of {expected}"),
            )
        })?;
        if fields.contains(&field) {
            return Err(at("fields", i, format!("field `{name}` is listed twice")));
        }
        fields.push(field);
    }
    Ok(fields)
}

/// Validates the header names of list `key` (lower-case tokens, each listed once) and decides
/// their redaction.
fn header_specs(
    key: &str,
    names: Vec<String>,
    redact: &[String],
) -> Result<Vec<HeaderSpec>, ConfigError> {
    let mut specs: Vec<HeaderSpec> = Vec::with_capacity(names.len());
    for (i, name) in names.into_iter().enumerate() {
        validate_name(&name).map_err(|m| at(key, i, m))?;
        if specs.iter().any(|s| s.name == name) {
            return Err(at(key, i, format!("header `{name}` is listed twice")));
        }
        let redact = ALWAYS_REDACTED.contains(&name.as_str()) || redact.contains(&name);
        specs.push(HeaderSpec { name, redact });
    }
    Ok(specs)
}

/// An error in element `i` of the list `key`.
fn at(key: &str, i: usize, message: String) -> ConfigError {
    ConfigError::invalid(format!("{key}[{i}]"), message)
}

/// Envoy's level names; unlike `log`, proxy-wasm has a distinct `critical`.
fn parse_log_level(name: &str) -> Option<LogLevel> {
    match name.to_ascii_lowercase().as_str() {
        "trace" => Some(LogLevel::Trace),
        "debug" => Some(LogLevel::Debug),
        "info" => Some(LogLevel::Info),
        "warn" | "warning" => Some(LogLevel::Warn),
        "error" => Some(LogLevel::Error),
        "critical" => Some(LogLevel::Critical),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use filter_common::config::parse;

    fn settings(json: &str) -> Result<Settings, String> {
        parse::<Config>(json.as_bytes())
            .and_then(Settings::from_config)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn empty_config_is_the_documented_default() {
        let s = settings("").unwrap();
        assert_eq!(s.fields, fields::ALL.to_vec());
        assert!(s.request_headers.is_empty() && s.response_headers.is_empty());
        assert_eq!(s.sample_rate, 1.0);
        assert!(s.only_status.is_empty());
        assert_eq!(s.log_level, LogLevel::Info);
        assert_eq!(s.max_value_bytes, DEFAULT_MAX_VALUE_BYTES);
        assert!(s.include_query);
        assert_eq!(settings("{}").unwrap(), s);
    }

    #[test]
    fn full_config() {
        let s = settings(
            r#"{"fields":["status","method"],"request_headers":["x-a","cookie","x-secret"],
                "response_headers":["set-cookie","content-type"],"redact":["x-secret","x-secret"],
                "sample_rate":0.25,"only_status":["5xx","429","0"],"log_level":"WARNING",
                "max_value_bytes":64,"include_query":false}"#,
        )
        .unwrap();
        assert_eq!(s.fields, vec![Field::Status, Field::Method]);
        let redact: Vec<(&str, bool)> = s
            .request_headers
            .iter()
            .chain(&s.response_headers)
            .map(|h| (h.name.as_str(), h.redact))
            .collect();
        assert_eq!(
            redact,
            [
                ("x-a", false),
                ("cookie", true),
                ("x-secret", true),
                ("set-cookie", true),
                ("content-type", false)
            ]
        );
        assert_eq!(s.sample_rate, 0.25);
        assert_eq!(
            s.only_status,
            [
                StatusPattern::Class(5),
                StatusPattern::Exact(429),
                StatusPattern::Exact(0)
            ]
        );
        assert_eq!(s.log_level, LogLevel::Warn);
        assert_eq!(s.max_value_bytes, 64);
        assert!(!s.include_query);
        assert!(s.status_selected(503) && s.status_selected(429) && s.status_selected(0));
        assert!(!s.status_selected(200) && !s.status_selected(404));
    }

    #[test]
    fn integers_are_accepted_as_rates() {
        assert_eq!(settings(r#"{"sample_rate":0}"#).unwrap().sample_rate, 0.0);
        assert_eq!(settings(r#"{"sample_rate":1}"#).unwrap().sample_rate, 1.0);
    }

    #[test]
    fn every_error_names_the_field() {
        let cases = [
            (r#"{"feilds":[]}"#, "field `feilds`: unknown field `feilds`"),
            (
                r#"{"fields":[]}"#,
                "field `fields`: must list at least one field",
            ),
            (
                r#"{"fields":["method","nope"]}"#,
                "field `fields[1]`: unknown field `nope`: expected one of start_time, method,",
            ),
            (
                r#"{"fields":["path","path"]}"#,
                "field `fields[1]`: field `path` is listed twice",
            ),
            (
                r#"{"fields":"method"}"#,
                "field `fields`: invalid type: string \"method\"",
            ),
            (
                r#"{"request_headers":["X-Up"]}"#,
                "field `request_headers[0]`: invalid header name `X-Up`: must be lower-case",
            ),
            (
                r#"{"request_headers":["a","a"]}"#,
                "field `request_headers[1]`: header `a` is listed twice",
            ),
            (
                r#"{"response_headers":["a b"]}"#,
                "field `response_headers[0]`: invalid header name `a b`",
            ),
            (
                r#"{"redact":[""]}"#,
                "field `redact[0]`: invalid header name ``: empty",
            ),
            (r#"{"redact":"cookie"}"#, "field `redact`: invalid type"),
            (
                r#"{"sample_rate":1.5}"#,
                "field `sample_rate`: must be a number from 0.0 to 1.0",
            ),
            (
                r#"{"sample_rate":-0.1}"#,
                "field `sample_rate`: must be a number from 0.0 to 1.0",
            ),
            (
                r#"{"sample_rate":"half"}"#,
                "field `sample_rate`: invalid type",
            ),
            (
                r#"{"only_status":["5xx","700"]}"#,
                "field `only_status[1]`: invalid status pattern `700`",
            ),
            (
                r#"{"only_status":[500]}"#,
                "field `only_status[0]`: invalid type: integer `500`",
            ),
            (
                r#"{"log_level":"loud"}"#,
                "field `log_level`: unknown level `loud`",
            ),
            (
                r#"{"max_value_bytes":0}"#,
                "field `max_value_bytes`: must be at least 1",
            ),
            (
                r#"{"max_value_bytes":-5}"#,
                "field `max_value_bytes`: invalid value: integer `-5`",
            ),
            (
                r#"{"include_query":"no"}"#,
                "field `include_query`: invalid type",
            ),
            (r#"[]"#, "the configuration must be a JSON object"),
        ];
        for (json, expected) in cases {
            let err = settings(json).unwrap_err();
            assert!(
                err.starts_with(expected),
                "{json}: got `{err}`, expected `{expected}`"
            );
        }
    }

    #[test]
    fn syntax_errors_are_reported() {
        let err = settings("{").unwrap_err();
        assert!(
            err.contains("EOF while parsing an object at line 1 column 1"),
            "{err}"
        );
    }

    #[test]
    fn shipped_example_config_is_valid() {
        let s = settings(include_str!("../../../deploy/request_logging/config.json")).unwrap();
        assert!(s
            .request_headers
            .iter()
            .any(|h| h.name == "authorization" && h.redact));
    }
}
