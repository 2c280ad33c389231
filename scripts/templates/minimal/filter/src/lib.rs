//! {{name}}: adds one configurable header to every response (to the client, local replies
//! included). The configuration is checked once, in `on_configure`; a request costs one host
//! call to set the header and one to count it.

mod config;

use config::Config;
use filter_common::headers::{self, MapType};
use filter_common::metrics::Counter;
use filter_common::proxy_wasm::traits::{Context, HttpContext};
use filter_common::proxy_wasm::types::Action;
use filter_common::Plugin;
use std::rc::Rc;

filter_common::export_filter!({{Name}});

/// What every request shares: the validated configuration and the metric handle.
pub struct {{Name}} {
    config: Config,
    /// Responses that got the header.
    tagged: Counter,
}

impl Plugin for {{Name}} {
    type Config = Config;
    type Http = {{Name}}Stream;

    fn configure(config: Config) -> Result<Self, String> {
        config.validate().map_err(|e| e.to_string())?;
        Ok({{Name}} {
            config,
            tagged: Counter::define("{{name}}.responses_tagged"),
        })
    }

    fn http_context(plugin: &Rc<Self>, _context_id: u32) -> {{Name}}Stream {
        {{Name}}Stream {
            plugin: Rc::clone(plugin),
        }
    }
}

/// One request.
pub struct {{Name}}Stream {
    plugin: Rc<{{Name}}>,
}

impl Context for {{Name}}Stream {}

impl HttpContext for {{Name}}Stream {
    fn on_http_response_headers(&mut self, _headers: usize, _end_of_stream: bool) -> Action {
        let config = &self.plugin.config;
        // `set` replaces a value the upstream sent, so the client sees exactly one.
        if headers::set(MapType::HttpResponseHeaders, &config.header, &config.value) {
            self.plugin.tagged.inc();
        }
        Action::Continue
    }
}
