//! `auth_check`: authenticates requests with API keys, HTTP Basic auth or a remote
//! authorization service, and tells the upstream who the client is.
//!
//! See README.md for the configuration reference.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod api_key;
mod basic;
mod config;
mod http;
mod json;
mod metrics;
mod paths;
mod reader;
mod remote;
mod secret;

use config::Settings;
use filter_common::Plugin;
use std::rc::Rc;

/// The configured filter, shared by all requests of a worker.
pub struct AuthCheck {
    settings: Settings,
    metrics: metrics::Metrics,
}

impl Plugin for AuthCheck {
    /// Read by hand from the JSON tree (see `json` and `reader`): smaller than derived parsers.
    type Config = json::Json;
    type Http = http::AuthRequest;

    fn configure(config: json::Json) -> Result<Self, String> {
        let settings = Settings::from_json(&config).map_err(|e| e.to_string())?;
        Ok(AuthCheck {
            settings,
            metrics: metrics::Metrics::define(),
        })
    }

    fn http_context(plugin: &Rc<Self>, _context_id: u32) -> Self::Http {
        http::AuthRequest::new(Rc::clone(plugin))
    }
}

filter_common::export_filter!(AuthCheck, callbacks: [http_call_response]);
