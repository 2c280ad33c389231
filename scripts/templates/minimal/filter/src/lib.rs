//! {{name}}: adds one configurable header to every response (to the client, local replies
//! included). The configuration is checked once, in `on_configure`; a request costs one host
//! call to set the header and one to count it.

mod config;

use config::Config;
use filter_common::headers::{self, MapType};
use filter_common::logging;
use filter_common::metrics::Counter;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};
use std::rc::Rc;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> {
        Box::new({{Name}}Root::default())
    });
}}

/// What every request shares: the validated configuration and the metric handle.
struct Shared {
    config: Config,
    /// Responses that got the header.
    tagged: Counter,
}

/// The root context: checks the configuration and hands it to every request.
#[derive(Default)]
struct {{Name}}Root {
    shared: Option<Rc<Shared>>,
}

impl Context for {{Name}}Root {}

impl RootContext for {{Name}}Root {
    fn on_configure(&mut self, _plugin_configuration_size: usize) -> bool {
        logging::follow_host_level();
        let shared = filter_common::config::load(self.get_plugin_configuration(), |config: Config| {
            config.validate().map_err(|e| e.to_string())?;
            Ok(Shared {
                config,
                tagged: Counter::define("{{name}}.responses_tagged"),
            })
        });
        self.shared = shared.map(Rc::new);
        self.shared.is_some()
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        // Never `None`: the SDK traps on it. Without an accepted configuration (Envoy does not
        // route traffic to such a plugin) the request passes untouched.
        Some(Box::new({{Name}} {
            shared: self.shared.clone(),
        }))
    }
}

/// One request.
struct {{Name}} {
    shared: Option<Rc<Shared>>,
}

impl Context for {{Name}} {}

impl HttpContext for {{Name}} {
    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        if let Some(shared) = &self.shared {
            // `set` replaces a value the upstream sent, so the client sees exactly one.
            if headers::set(MapType::HttpResponseHeaders, &shared.config.header, shared.config.value.as_bytes()) {
                shared.tagged.inc();
            }
        }
        Action::Continue
    }
}
