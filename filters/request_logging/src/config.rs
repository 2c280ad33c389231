//! The plugin configuration (JSON) and its validated form: the built-in fields, the headers to
//! capture with their redaction, and the status patterns of `only_status`.

use filter_common::config::ConfigError;
use filter_common::headers::validate_name;
use filter_common::logging::parse_level;
use proxy_wasm::types::LogLevel;
use serde::Deserialize;

use crate::url;

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
    /// Built-in fields to log, in order; `None` means all of them ([`Field::ALL`]).
    pub fields: Option<Vec<String>>,
    pub request_headers: Vec<String>,
    pub response_headers: Vec<String>,
    pub redact: Vec<String>,
    pub sample_rate: f64,
    pub only_status: Vec<String>,
    pub log_level: String,
    pub max_value_bytes: usize,
    pub include_query: bool,
    /// Query parameters redacted in addition to [`url::DEFAULT_SECRET_PARAMS`].
    pub redact_query_params: Vec<String>,
    pub sample_by: SampleBy,
    pub output: Output,
}

/// Where the line goes.
///
/// Read from a string: serde_json reports a non-string given for a plain enum as a syntax error
/// (`expected value`) that does not name the field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(try_from = "String")]
pub enum Output {
    /// Envoy's log, through `proxy_log` at `log_level`.
    #[default]
    Log,
    /// Filter state `wasm.request_logging` (`proxy_set_property`), printed by an Envoy access
    /// log with `%FILTER_STATE(wasm.request_logging:PLAIN)%`: see README.md.
    FilterState,
}

impl TryFrom<String> for Output {
    type Error = &'static str;

    fn try_from(name: String) -> Result<Self, Self::Error> {
        match name.as_str() {
            "log" => Ok(Output::Log),
            "filter_state" => Ok(Output::FilterState),
            // The value is not repeated, like every configuration error.
            _ => Err("unknown variant, expected `log` or `filter_state`"),
        }
    }
}

/// The property the line is stored under with `output: "filter_state"`; Envoy's filter state key
/// is this name with the `wasm.` prefix.
pub const FILTER_STATE_PROPERTY: &str = "request_logging";

/// What decides whether a request is sampled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SampleBy {
    /// A hash of `x-request-id`: every proxy on the request's path decides alike, but a client
    /// that can set the id can pick one that is never logged.
    #[default]
    RequestId,
    /// The host's random source, per request and per proxy: nothing the client sends matters.
    Random,
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
            redact_query_params: Vec::new(),
            sample_by: SampleBy::RequestId,
            output: Output::Log,
        }
    }
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
    /// Query parameter names whose values are redacted in logged URLs: ASCII lower-case.
    pub secret_params: Vec<String>,
    pub sample_by: SampleBy,
    pub output: Output,
}

/// The settings of an empty configuration.
impl Default for Settings {
    fn default() -> Self {
        Settings {
            fields: Field::ALL.to_vec(),
            request_headers: Vec::new(),
            response_headers: Vec::new(),
            sample_rate: 1.0,
            only_status: Vec::new(),
            log_level: LogLevel::Info,
            max_value_bytes: DEFAULT_MAX_VALUE_BYTES,
            include_query: true,
            secret_params: url::DEFAULT_SECRET_PARAMS.map(String::from).to_vec(),
            sample_by: SampleBy::RequestId,
            output: Output::Log,
        }
    }
}

/// A header to capture, with its treatment decided once at configure time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderSpec {
    pub name: String,
    pub treatment: Treatment,
}

/// How a captured header's value reaches the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Treatment {
    /// As sent (escaped and truncated like every value).
    Plain,
    /// Only its presence: the value is replaced by `[REDACTED]`.
    Redacted,
    /// A URL: secret query parameters keep their name and lose their value.
    Url,
}

impl Settings {
    pub fn from_config(config: Config) -> Result<Settings, ConfigError> {
        let fields = match config.fields {
            None => Field::ALL.to_vec(),
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
        let mut secret_params = url::DEFAULT_SECRET_PARAMS.map(String::from).to_vec();
        for (i, name) in config.redact_query_params.iter().enumerate() {
            if name.is_empty() {
                return Err(at("redact_query_params", i, "must not be empty".into()));
            }
            let name = name.to_ascii_lowercase();
            if !secret_params.contains(&name) {
                secret_params.push(name);
            }
        }
        let log_level = parse_level(&config.log_level).ok_or_else(|| {
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
            secret_params,
            sample_by: config.sample_by,
            output: config.output,
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
            let expected = Field::ALL.map(Field::name).join(", ");
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
        let treatment = if ALWAYS_REDACTED.contains(&name.as_str()) || redact.contains(&name) {
            Treatment::Redacted
        } else if url::URL_HEADERS.contains(&name.as_str()) {
            Treatment::Url
        } else {
            Treatment::Plain
        };
        specs.push(HeaderSpec { name, treatment });
    }
    Ok(specs)
}

/// An error in element `i` of the list `key`.
fn at(key: &str, i: usize, message: String) -> ConfigError {
    ConfigError::invalid(format!("{key}[{i}]"), message)
}

/// One built-in field of the line; its name is used both in `fields` and as the JSON key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    StartTime,
    Method,
    Authority,
    Path,
    Protocol,
    Status,
    ResponseFlags,
    ResponseCodeDetails,
    RequestBytes,
    ResponseBytes,
    DurationMs,
    UpstreamCluster,
    UpstreamHost,
    RequestId,
    DownstreamAddress,
    UserAgent,
    Plugin,
}

impl Field {
    /// Every field, in the default order.
    pub const ALL: [Field; 17] = [
        Field::StartTime,
        Field::Method,
        Field::Authority,
        Field::Path,
        Field::Protocol,
        Field::Status,
        Field::ResponseFlags,
        Field::ResponseCodeDetails,
        Field::RequestBytes,
        Field::ResponseBytes,
        Field::DurationMs,
        Field::UpstreamCluster,
        Field::UpstreamHost,
        Field::RequestId,
        Field::DownstreamAddress,
        Field::UserAgent,
        Field::Plugin,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Field::StartTime => "start_time",
            Field::Method => "method",
            Field::Authority => "authority",
            Field::Path => "path",
            Field::Protocol => "protocol",
            Field::Status => "status",
            Field::ResponseFlags => "response_flags",
            Field::ResponseCodeDetails => "response_code_details",
            Field::RequestBytes => "request_bytes",
            Field::ResponseBytes => "response_bytes",
            Field::DurationMs => "duration_ms",
            Field::UpstreamCluster => "upstream_cluster",
            Field::UpstreamHost => "upstream_host",
            Field::RequestId => "request_id",
            Field::DownstreamAddress => "downstream_address",
            Field::UserAgent => "user_agent",
            Field::Plugin => "plugin",
        }
    }

    pub fn from_name(name: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|f| f.name() == name)
    }
}

/// One `only_status` entry: an exact code (`429`), a class (`5xx`) or `0` for requests that
/// ended without a response (reset before the response started).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusPattern {
    Exact(u16),
    Class(u16),
}

impl StatusPattern {
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "invalid status pattern `{text}`: expected a code from 100 to 599 (`429`), \
                 a class `1xx` to `5xx`, or `0` for no response"
            )
        };
        if text == "0" {
            return Ok(StatusPattern::Exact(0));
        }
        if let [class @ b'1'..=b'5', x, y] = text.as_bytes() {
            if x.eq_ignore_ascii_case(&b'x') && y.eq_ignore_ascii_case(&b'x') {
                return Ok(StatusPattern::Class(u16::from(class - b'0')));
            }
        }
        match parse_status(text.as_bytes()) {
            Some(code) if text.len() == 3 && (100..=599).contains(&code) => {
                Ok(StatusPattern::Exact(code))
            }
            _ => Err(bad()),
        }
    }

    pub fn matches(&self, status: u16) -> bool {
        match *self {
            StatusPattern::Exact(code) => status == code,
            StatusPattern::Class(class) => status / 100 == class && status >= 100,
        }
    }
}

/// A status code as written in `:status`: one to three ASCII digits, anything else is `None`.
pub fn parse_status(bytes: &[u8]) -> Option<u16> {
    if !(1..=3).contains(&bytes.len()) || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(bytes).ok()?.parse().ok()
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
        assert_eq!(s, Settings::default());
        assert_eq!(s.fields, Field::ALL.to_vec());
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
            .map(|h| (h.name.as_str(), h.treatment == Treatment::Redacted))
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
    fn secret_params_are_the_defaults_plus_the_configured_ones_lower_cased() {
        let s = settings(r#"{"redact_query_params":["Session_ID","token","x-sig"]}"#).unwrap();
        let defaults = url::DEFAULT_SECRET_PARAMS.len();
        assert_eq!(&s.secret_params[..defaults], url::DEFAULT_SECRET_PARAMS);
        assert_eq!(&s.secret_params[defaults..], ["session_id", "x-sig"]);
        assert!(settings("{}").unwrap().secret_params.len() == defaults);
    }

    #[test]
    fn sample_by_defaults_to_the_request_id() {
        assert_eq!(settings("{}").unwrap().sample_by, SampleBy::RequestId);
        let random = settings(r#"{"sample_by":"random"}"#).unwrap();
        assert_eq!(random.sample_by, SampleBy::Random);
    }

    #[test]
    fn output_defaults_to_the_log() {
        assert_eq!(settings("{}").unwrap().output, Output::Log);
        assert_eq!(settings(r#"{"output":"log"}"#).unwrap().output, Output::Log);
        let state = settings(r#"{"output":"filter_state"}"#).unwrap();
        assert_eq!(state.output, Output::FilterState);
    }

    #[test]
    fn url_headers_are_treated_as_urls_unless_redacted() {
        let s = settings(
            r#"{"request_headers":[":path","referer","x-a"],"response_headers":["location"],
                "redact":["referer"]}"#,
        )
        .unwrap();
        let treatments: Vec<Treatment> = s
            .request_headers
            .iter()
            .chain(&s.response_headers)
            .map(|h| h.treatment)
            .collect();
        assert_eq!(
            treatments,
            [
                Treatment::Url,
                Treatment::Redacted,
                Treatment::Plain,
                Treatment::Url
            ]
        );
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
                "field `fields`: invalid type: string, expected a sequence",
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
                "field `only_status[0]`: invalid type: integer, expected a string",
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
                "field `max_value_bytes`: invalid value: integer, expected usize",
            ),
            (
                r#"{"include_query":"no"}"#,
                "field `include_query`: invalid type",
            ),
            (
                r#"{"redact_query_params":["sig",""]}"#,
                "field `redact_query_params[1]`: must not be empty",
            ),
            (
                r#"{"redact_query_params":"token"}"#,
                "field `redact_query_params`: invalid type: string, expected a sequence",
            ),
            (
                r#"{"sample_by":"client-secret-x"}"#,
                "field `sample_by`: unknown variant, expected `request_id` or `random`",
            ),
            (
                r#"{"output":"stdout"}"#,
                "field `output`: unknown variant, expected `log` or `filter_state`",
            ),
            (
                r#"{"output":1}"#,
                "field `output`: invalid type: integer, expected a string",
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
    fn type_errors_name_the_kind_never_the_value() {
        // The example of README.md.
        assert_eq!(
            settings(r#"{"sample_rate":"10%"}"#).unwrap_err(),
            "field `sample_rate`: invalid type: string, expected f64 at line 1 column 20"
        );
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
            .any(|h| h.name == "authorization" && h.treatment == Treatment::Redacted));
    }

    #[test]
    fn field_names_round_trip_and_are_unique() {
        for f in Field::ALL {
            assert_eq!(Field::from_name(f.name()), Some(f));
        }
        let mut names: Vec<_> = Field::ALL.iter().map(|f| f.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Field::ALL.len());
        assert_eq!(Field::from_name("Method"), None);
    }

    #[test]
    fn status_patterns_are_codes_classes_and_none() {
        assert_eq!(StatusPattern::parse("429"), Ok(StatusPattern::Exact(429)));
        assert_eq!(StatusPattern::parse("5xx"), Ok(StatusPattern::Class(5)));
        assert_eq!(StatusPattern::parse("2XX"), Ok(StatusPattern::Class(2)));
        assert_eq!(StatusPattern::parse("0"), Ok(StatusPattern::Exact(0)));
        for bad in [
            "", "6xx", "0xx", "99", "600", "4x", "+42", "abc", "5xxx", "1000", "x5x", "099",
        ] {
            let err = StatusPattern::parse(bad).unwrap_err();
            assert!(
                err.starts_with(&format!("invalid status pattern `{bad}`")),
                "{err}"
            );
        }
    }

    #[test]
    fn status_patterns_match() {
        let five = StatusPattern::Class(5);
        assert!(five.matches(500) && five.matches(599) && five.matches(503));
        assert!(!five.matches(499) && !five.matches(600) && !five.matches(0));
        assert!(StatusPattern::Exact(429).matches(429));
        assert!(!StatusPattern::Exact(429).matches(428));
        assert!(StatusPattern::Exact(0).matches(0));
        assert!(!StatusPattern::Class(1).matches(0));
    }

    #[test]
    fn status_codes_from_the_wire() {
        assert_eq!(parse_status(b"200"), Some(200));
        assert_eq!(parse_status(b"99"), Some(99));
        for bad in [&b""[..], b"2000", b"20x", b"-1", b" 200", b"+20"] {
            assert_eq!(parse_status(bad), None, "{bad:?}");
        }
    }
}
