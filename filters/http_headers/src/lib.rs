//! http_headers: sets, adds and removes request and response headers.
//!
//! Values may refer to request data (`%REQUEST_ID%`, `%REQ(user-agent)%`, ...). Everything is
//! validated and compiled in `on_configure`; a request only fetches the values its templates
//! need and applies the changes. With an empty configuration it adds `hello: world` to
//! responses, like the classic proxy-wasm demo.

mod config;
mod template;

use config::{Compiled, Config, Piece, Rules};
use filter_common::headers::{self, MapType};
use filter_common::properties;
use filter_common::proxy_wasm::traits::{Context, HttpContext};
use filter_common::proxy_wasm::types::Action;
use filter_common::Plugin;
use std::rc::Rc;
use template::Var;

filter_common::export_filter!(HttpHeaders);

/// The compiled configuration, shared by every request.
pub struct HttpHeaders(Compiled);

impl Plugin for HttpHeaders {
    type Config = Config;
    type Http = HeadersStream;

    fn configure(config: Config) -> Result<Self, String> {
        let name = properties::plugin_name().unwrap_or_default();
        config.compile(&name).map(HttpHeaders)
    }

    fn http_context(plugin: &Rc<Self>, _context_id: u32) -> HeadersStream {
        HeadersStream {
            plugin: Rc::clone(plugin),
            values: Vec::new(),
        }
    }
}

/// One request: the template values captured from its request headers.
pub struct HeadersStream {
    plugin: Rc<HttpHeaders>,
    values: Vec<String>,
}

impl Context for HeadersStream {}

impl HttpContext for HeadersStream {
    fn on_http_request_headers(&mut self, _headers: usize, _end_of_stream: bool) -> Action {
        let compiled = &self.plugin.0;
        // Captured before the changes below, so templates see what the client sent.
        self.values = compiled.vars.iter().map(fetch).collect();
        apply(&compiled.request, MapType::HttpRequestHeaders, &self.values);
        Action::Continue
    }

    fn on_http_response_headers(&mut self, _headers: usize, _end_of_stream: bool) -> Action {
        apply(
            &self.plugin.0.response,
            MapType::HttpResponseHeaders,
            &self.values,
        );
        Action::Continue
    }
}

fn fetch(var: &Var) -> String {
    let value = match var {
        Var::RequestHeader(name) => headers::get_str(MapType::HttpRequestHeaders, name),
        Var::DownstreamAddress => properties::get_string(&["source", "address"]),
        // Inlined at configure time; kept for completeness.
        Var::PluginName => properties::plugin_name(),
    };
    value.unwrap_or_default()
}

/// Applies one side's rules: remove, then set, then add. As with Envoy's `headers_to_add`,
/// a value that renders empty (its request data was absent) is not written.
fn apply(rules: &Rules, map: MapType, values: &[String]) {
    for name in &rules.remove {
        headers::remove(map, name);
    }
    for (name, pieces) in &rules.set {
        let value = render(pieces, values);
        if !value.is_empty() {
            headers::set(map, name, &value);
        }
    }
    for (name, pieces) in &rules.add {
        let value = render(pieces, values);
        if !value.is_empty() {
            headers::add(map, name, &value);
        }
    }
}

fn render(pieces: &[Piece], values: &[String]) -> String {
    let mut out = String::new();
    for piece in pieces {
        match piece {
            Piece::Literal(s) => out.push_str(s),
            Piece::Slot(i) => out.push_str(values.get(*i).map_or("", String::as_str)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_fills_slots() {
        let pieces = [
            Piece::Literal("id=".into()),
            Piece::Slot(0),
            Piece::Literal(",".into()),
            Piece::Slot(1),
        ];
        let values = ["r1".to_string(), String::new()];
        assert_eq!(render(&pieces, &values), "id=r1,");
        assert_eq!(render(&pieces, &[]), "id=,");
    }
}
