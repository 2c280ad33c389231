//! Logging through the `log` macros, written to the host with `proxy_log`.
//!
//! Envoy shows these under its `wasm` logger as `wasm log <plugin> <root_id>: <message>`;
//! levels map one to one (trace, debug, info, warn, error; `critical` is the SDK's panic hook).

use crate::proxy_wasm::hostcalls;
use crate::proxy_wasm::types::LogLevel;

/// Installs the logger. Until the host's level is known, everything from `info` up is sent.
pub fn init() {
    crate::proxy_wasm::set_log_level(LogLevel::Info);
}

/// Adopts the host's current log level so that disabled levels cost no host call.
/// Called on every configuration; hosts without `proxy_get_log_level` keep the previous level.
pub fn sync_with_host() {
    if let Ok(level) = hostcalls::get_log_level() {
        crate::proxy_wasm::set_log_level(level);
    }
}

/// Parses a level name as Envoy spells it (`trace` .. `critical`, also `warning`).
pub fn parse_level(name: &str) -> Option<log::Level> {
    match name.to_ascii_lowercase().as_str() {
        "trace" => Some(log::Level::Trace),
        "debug" => Some(log::Level::Debug),
        "info" => Some(log::Level::Info),
        "warn" | "warning" => Some(log::Level::Warn),
        "error" | "critical" => Some(log::Level::Error),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_envoy_level_names() {
        assert_eq!(parse_level("trace"), Some(log::Level::Trace));
        assert_eq!(parse_level("DEBUG"), Some(log::Level::Debug));
        assert_eq!(parse_level("info"), Some(log::Level::Info));
        assert_eq!(parse_level("warning"), Some(log::Level::Warn));
        assert_eq!(parse_level("error"), Some(log::Level::Error));
        assert_eq!(parse_level("critical"), Some(log::Level::Error));
        assert_eq!(parse_level("verbose"), None);
    }
}
