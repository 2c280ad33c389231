//! Log levels: the SDK's logger sends the `log` macros to `proxy_log`; these keep disabled
//! levels from costing a host call and read level names from configuration.

use proxy_wasm::types::LogLevel;

/// Adopts the host's current log level (Envoy's `wasm` logger), so that a `debug!` costs
/// nothing while Envoy logs at `info`. Call it in `on_configure`.
pub fn follow_host_level() {
    if let Ok(level) = proxy_wasm::hostcalls::get_log_level() {
        proxy_wasm::set_log_level(level);
    }
}

/// Parses a level name as Envoy spells it (`trace` .. `critical`, also `warning`).
pub fn parse_level(name: &str) -> Option<LogLevel> {
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

    #[test]
    fn parses_envoy_level_names() {
        assert_eq!(parse_level("trace"), Some(LogLevel::Trace));
        assert_eq!(parse_level("DEBUG"), Some(LogLevel::Debug));
        assert_eq!(parse_level("info"), Some(LogLevel::Info));
        assert_eq!(parse_level("warning"), Some(LogLevel::Warn));
        assert_eq!(parse_level("error"), Some(LogLevel::Error));
        assert_eq!(parse_level("critical"), Some(LogLevel::Critical));
        assert_eq!(parse_level("verbose"), None);
    }
}
