//! The plugin configuration: which header to add to responses, with which value.

use filter_common::config::ConfigError;
use filter_common::headers;
use serde::Deserialize;

/// The JSON configuration. Every key is optional; unknown keys are errors.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Response header to set (lower-case, not a pseudo-header).
    pub header: String,
    /// Its value (no CR, LF or NUL).
    pub value: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            header: "x-wasm-filter".to_string(),
            value: "{{name}}".to_string(),
        }
    }
}

impl Config {
    /// Checks the values serde cannot: a header Envoy would accept and the filter may set.
    pub fn validate(&self) -> Result<(), ConfigError> {
        headers::validate_name(&self.header)
            .map_err(|message| ConfigError::invalid("header", message))?;
        if headers::is_pseudo(&self.header) {
            return Err(ConfigError::invalid(
                "header",
                format!("`{}` is a pseudo-header; name a regular header", self.header),
            ));
        }
        headers::validate_value(&self.header, &self.value)
            .map_err(|message| ConfigError::invalid("value", message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(header: &str, value: &str) -> Config {
        Config {
            header: header.to_string(),
            value: value.to_string(),
        }
    }

    #[test]
    fn default_is_valid() {
        assert_eq!(Config::default().validate(), Ok(()));
    }

    #[test]
    fn rejects_bad_names_and_values_naming_the_field() {
        let err = config("X-Up", "v").validate().unwrap_err();
        assert_eq!(
            err.to_string(),
            "field `header`: invalid header name `X-Up`: must be lower-case"
        );
        let err = config(":status", "500").validate().unwrap_err();
        assert_eq!(
            err.to_string(),
            "field `header`: `:status` is a pseudo-header; name a regular header"
        );
        let err = config("x-a", "a\r\nb").validate().unwrap_err();
        assert_eq!(
            err.to_string(),
            "field `value`: invalid value for header `x-a`: contains CR, LF or NUL"
        );
    }
}
