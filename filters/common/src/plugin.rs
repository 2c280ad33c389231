//! The compact way to declare a filter: a [`Plugin`] (what all requests share, built from the
//! configuration) and its per-request HTTP context. [`Root`] does the proxy-wasm plumbing.

use crate::proxy_wasm::hostcalls;
use crate::proxy_wasm::traits::{Context, HttpContext, RootContext};
use crate::proxy_wasm::types::{Action, BufferType, ContextType};
use crate::{config, logging};
use serde::de::DeserializeOwned;
use std::rc::Rc;

/// A filter: its typed configuration, the shared state built from it, and its HTTP context.
pub trait Plugin: Sized + 'static {
    /// The plugin configuration as JSON; `Default` is what an empty configuration means.
    type Config: DeserializeOwned + Default;
    /// Per-request state and callbacks.
    type Http: HttpContext + 'static;

    /// Validates the parsed configuration and prepares what requests share (compiled
    /// templates, metric handles, encoded values). An `Err` rejects the configuration:
    /// Envoy then refuses to start (static config) or NACKs the update (xDS).
    fn configure(config: Self::Config) -> Result<Self, String>;

    /// Creates the context for one HTTP stream.
    fn http_context(plugin: &Rc<Self>, context_id: u32) -> Self::Http;
}

/// The root context for a [`Plugin`]: reads and parses the configuration, then hands out
/// HTTP contexts sharing the configured plugin.
pub struct Root<P: Plugin> {
    plugin: Option<Rc<P>>,
}

impl<P: Plugin> Default for Root<P> {
    fn default() -> Self {
        Root { plugin: None }
    }
}

impl<P: Plugin> Context for Root<P> {}

impl<P: Plugin> RootContext for Root<P> {
    fn on_configure(&mut self, _plugin_configuration_size: usize) -> bool {
        logging::sync_with_host();
        let bytes = match hostcalls::get_buffer(BufferType::PluginConfiguration, 0, usize::MAX) {
            Ok(bytes) => bytes.unwrap_or_default(),
            Err(status) => {
                log::error!("invalid configuration: cannot read it from the host: {status:?}");
                return false;
            }
        };
        let plugin = config::parse::<P::Config>(&bytes)
            .map_err(|e| e.to_string())
            .and_then(P::configure);
        match plugin {
            Ok(plugin) => {
                self.plugin = Some(Rc::new(plugin));
                true
            }
            Err(message) => {
                log::error!("invalid configuration: {message}");
                false
            }
        }
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }

    fn create_http_context(&self, context_id: u32) -> Option<Box<dyn HttpContext>> {
        // The SDK traps on `None`. Envoy never routes traffic to a plugin whose configuration
        // was rejected, but if a host does, the request passes untouched.
        let http = self.plugin.as_ref().map(|p| P::http_context(p, context_id));
        Some(Box::new(Stream::<P>(http)))
    }
}

/// The HTTP context given to the SDK: the plugin's own, or nothing (pass-through) when no
/// configuration was accepted. Keeping one concrete type behind `dyn HttpContext` keeps the
/// SDK's many default trait methods in the module once, which matters for its size.
pub struct Stream<P: Plugin>(Option<P::Http>);

impl<P: Plugin> Stream<P> {
    fn each(&mut self, f: impl FnOnce(&mut P::Http)) {
        if let Some(http) = &mut self.0 {
            f(http);
        }
    }

    fn act(&mut self, f: impl FnOnce(&mut P::Http) -> Action) -> Action {
        self.0.as_mut().map_or(Action::Continue, f)
    }
}

impl<P: Plugin> Context for Stream<P> {
    fn on_http_call_response(&mut self, token: u32, headers: usize, body: usize, trailers: usize) {
        self.each(|h| h.on_http_call_response(token, headers, body, trailers));
    }

    fn on_done(&mut self) -> bool {
        self.0.as_mut().is_none_or(|h| h.on_done())
    }
}

impl<P: Plugin> HttpContext for Stream<P> {
    fn on_http_request_headers(&mut self, headers: usize, end_of_stream: bool) -> Action {
        self.act(|h| h.on_http_request_headers(headers, end_of_stream))
    }

    fn on_http_request_body(&mut self, size: usize, end_of_stream: bool) -> Action {
        self.act(|h| h.on_http_request_body(size, end_of_stream))
    }

    fn on_http_request_trailers(&mut self, trailers: usize) -> Action {
        self.act(|h| h.on_http_request_trailers(trailers))
    }

    fn on_http_response_headers(&mut self, headers: usize, end_of_stream: bool) -> Action {
        self.act(|h| h.on_http_response_headers(headers, end_of_stream))
    }

    fn on_http_response_body(&mut self, size: usize, end_of_stream: bool) -> Action {
        self.act(|h| h.on_http_response_body(size, end_of_stream))
    }

    fn on_http_response_trailers(&mut self, trailers: usize) -> Action {
        self.act(|h| h.on_http_response_trailers(trailers))
    }

    fn on_log(&mut self) {
        self.each(|h| h.on_log());
    }
}
