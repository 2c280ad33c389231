//! request_logging: one structured JSON line per finished request, written to the proxy log
//! at `on_log` (after the response, a local reply or a reset), with header capture,
//! redaction, deterministic sampling, status filtering and metrics. See README.md.

pub mod config;
pub mod fields;
pub mod flags;
mod http;
pub mod metrics;
pub mod pairs;
pub mod record;
pub mod rfc3339;
pub mod sampling;
pub mod status;
pub mod text;

use config::{Config, Settings};
use filter_common::{properties, Plugin};
use metrics::Metrics;
use std::rc::Rc;

/// What every request of one plugin configuration shares.
pub struct RequestLogging {
    settings: Settings,
    metrics: Metrics,
    /// Read once: it does not change for the life of the configuration.
    plugin_name: Option<String>,
}

impl Plugin for RequestLogging {
    type Config = Config;
    type Http = http::Http;

    fn configure(config: Config) -> Result<Self, String> {
        let settings = Settings::from_config(config).map_err(|e| e.to_string())?;
        let plugin_name =
            properties::plugin_name().map(|n| text::truncate(n, settings.max_value_bytes));
        Ok(RequestLogging {
            settings,
            metrics: Metrics::define(),
            plugin_name,
        })
    }

    fn http_context(plugin: &Rc<Self>, context_id: u32) -> http::Http {
        http::Http::new(Rc::clone(plugin), context_id)
    }
}

filter_common::export_filter!(RequestLogging, callbacks: [request_body, response_body, log]);
