//! Header maps: non-panicking access and header-name validation.
//!
//! Values are bytes on the wire; the `_str` helpers convert lossily so that a client sending
//! invalid UTF-8 can never make the filter trap (the SDK's `get_http_request_header` unwraps
//! the UTF-8 conversion).

use crate::proxy_wasm::hostcalls;
pub use crate::proxy_wasm::types::MapType;

/// First value of `name`, as bytes; `None` when absent (or the host refused the call).
pub fn get(map: MapType, name: &str) -> Option<Vec<u8>> {
    hostcalls::get_map_value_bytes(map, name).ok().flatten()
}

/// First value of `name` as text, with invalid UTF-8 replaced by U+FFFD.
pub fn get_str(map: MapType, name: &str) -> Option<String> {
    get(map, name).map(|v| match String::from_utf8(v) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    })
}

/// All pairs in order, values as bytes. Empty when the map is not available.
pub fn pairs(map: MapType) -> Vec<(String, Vec<u8>)> {
    hostcalls::get_map_bytes(map).unwrap_or_default()
}

/// Sets `name` to `value`, replacing every existing value.
pub fn set(map: MapType, name: &str, value: &str) -> bool {
    hostcalls::set_map_value(map, name, Some(value)).is_ok()
}

/// Appends a value for `name`, keeping existing ones.
pub fn add(map: MapType, name: &str, value: &str) -> bool {
    hostcalls::add_map_value(map, name, value).is_ok()
}

/// Removes every value of `name`.
pub fn remove(map: MapType, name: &str) -> bool {
    hostcalls::remove_map_value(map, name).is_ok()
}

/// Checks a header name as configured by an operator: lower-case RFC 9110 token characters,
/// or a pseudo-header (`:path`). Envoy lower-cases names, so an upper-case name in config
/// would never match and is rejected rather than silently ignored.
pub fn validate_name(name: &str) -> Result<(), String> {
    let body = name.strip_prefix(':').unwrap_or(name);
    if body.is_empty() {
        return Err(format!("invalid header name `{name}`: empty"));
    }
    match body.chars().find(|c| !is_lower_tchar(*c)) {
        None => Ok(()),
        Some(c) if c.is_ascii_uppercase() => {
            Err(format!("invalid header name `{name}`: must be lower-case"))
        }
        Some(c) => Err(format!("invalid header name `{name}`: contains '{c}'")),
    }
}

/// True for pseudo-headers (`:method`, `:path`, ...), which may be set but not added or removed.
pub fn is_pseudo(name: &str) -> bool {
    name.starts_with(':')
}

fn is_lower_tchar(c: char) -> bool {
    c.is_ascii_lowercase()
        || c.is_ascii_digit()
        || matches!(
            c,
            '!' | '#'
                | '$'
                | '%'
                | '&'
                | '\''
                | '*'
                | '+'
                | '-'
                | '.'
                | '^'
                | '_'
                | '`'
                | '|'
                | '~'
        )
}

/// Checks a header value from config: no CR, LF or NUL (which would split or end the header).
pub fn validate_value(name: &str, value: &str) -> Result<(), String> {
    if value.contains(['\r', '\n', '\0']) {
        return Err(format!(
            "invalid value for header `{name}`: contains CR, LF or NUL"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_tokens_and_pseudo_headers() {
        for ok in [
            "x-foo",
            "hello",
            "x_1.2~",
            ":path",
            ":authority",
            "a!#$%&'*+-.^_`|~",
        ] {
            assert_eq!(validate_name(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn rejects_bad_names_with_reason() {
        assert_eq!(
            validate_name("X-Foo").unwrap_err(),
            "invalid header name `X-Foo`: must be lower-case"
        );
        assert_eq!(
            validate_name("x foo").unwrap_err(),
            "invalid header name `x foo`: contains ' '"
        );
        assert_eq!(
            validate_name("").unwrap_err(),
            "invalid header name ``: empty"
        );
        assert_eq!(
            validate_name(":").unwrap_err(),
            "invalid header name `:`: empty"
        );
        assert!(validate_name("x:y").is_err());
        assert!(validate_name("caf\u{e9}").is_err());
    }

    #[test]
    fn values_without_control_breaks() {
        assert!(validate_value("a", "ok value; with=stuff").is_ok());
        assert_eq!(
            validate_value("a", "x\r\ny").unwrap_err(),
            "invalid value for header `a`: contains CR, LF or NUL"
        );
        assert!(validate_value("a", "x\0").is_err());
    }

    #[test]
    fn pseudo_detection() {
        assert!(is_pseudo(":status"));
        assert!(!is_pseudo("status"));
    }
}
