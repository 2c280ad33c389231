//! Routes the `log` macros to `proxy_log`, and panics to a critical log line.

use super::hostcalls;
use super::types::LogLevel;

struct HostLogger;

static LOGGER: HostLogger = HostLogger;

impl log::Log for HostLogger {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let level = match record.level() {
            log::Level::Trace => LogLevel::Trace,
            log::Level::Debug => LogLevel::Debug,
            log::Level::Info => LogLevel::Info,
            log::Level::Warn => LogLevel::Warn,
            log::Level::Error => LogLevel::Error,
        };
        // A message that cannot be logged is dropped: logging must never fail a request.
        let _ = match record.args().as_str() {
            Some(s) => hostcalls::log(level, s),
            None => hostcalls::log(level, &record.args().to_string()),
        };
    }

    fn flush(&self) {}
}

/// Installs the logger (once) and sets the most verbose level that reaches the host.
pub fn set_log_level(level: LogLevel) {
    if log::set_logger(&LOGGER).is_ok() {
        // A panic aborts the VM; log why first, so Envoy's log and the harness show it.
        std::panic::set_hook(Box::new(|info| {
            let _ = hostcalls::log(LogLevel::Critical, &info.to_string());
        }));
    }
    log::set_max_level(match level {
        LogLevel::Trace => log::LevelFilter::Trace,
        LogLevel::Debug => log::LevelFilter::Debug,
        LogLevel::Info => log::LevelFilter::Info,
        LogLevel::Warn => log::LevelFilter::Warn,
        LogLevel::Error | LogLevel::Critical => log::LevelFilter::Error,
    });
}
