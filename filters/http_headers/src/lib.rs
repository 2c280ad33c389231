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
use filter_common::{logging, properties};
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};
use std::borrow::Cow;
use std::rc::Rc;
use template::Var;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> {
        Box::new(HttpHeadersRoot::default())
    });
}}

/// The root context: compiles the configuration once; every request shares the result.
#[derive(Default)]
struct HttpHeadersRoot {
    rules: Rc<Compiled>,
}

impl Context for HttpHeadersRoot {}

impl RootContext for HttpHeadersRoot {
    fn on_configure(&mut self, _plugin_configuration_size: usize) -> bool {
        logging::follow_host_level();
        let plugin_name = properties::plugin_name().unwrap_or_default();
        let compiled = filter_common::config::load(self.get_plugin_configuration(), |c: Config| {
            c.compile(&plugin_name)
        });
        match compiled {
            Some(compiled) => {
                self.rules = Rc::new(compiled);
                true
            }
            None => false,
        }
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(HttpHeaders {
            rules: Rc::clone(&self.rules),
            values: Vec::new(),
        }))
    }
}

/// One request: the template values captured from its request headers.
struct HttpHeaders {
    rules: Rc<Compiled>,
    values: Vec<String>,
}

impl Context for HttpHeaders {}

impl HttpContext for HttpHeaders {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        // Captured before the changes below, so templates see what the client sent.
        self.values = self.rules.vars.iter().map(|var| self.fetch(var)).collect();
        apply(
            &self.rules.request,
            MapType::HttpRequestHeaders,
            &self.values,
        );
        Action::Continue
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        apply(
            &self.rules.response,
            MapType::HttpResponseHeaders,
            &self.values,
        );
        Action::Continue
    }
}

impl HttpHeaders {
    /// One template variable's value for this request; empty when the data is absent.
    fn fetch(&self, var: &Var) -> String {
        let value = match var {
            Var::RequestHeader(name) => {
                self.get_http_request_header_bytes(name).map(headers::lossy)
            }
            Var::DownstreamAddress => properties::get_string(&["source", "address"]),
            // Inlined at configure time; kept for completeness.
            Var::PluginName => properties::plugin_name(),
        };
        value.unwrap_or_default()
    }
}

/// Applies one side's rules: remove, then set, then add. A `set` whose value renders empty
/// (its request data was absent) removes the header: otherwise a client could supply the
/// header the filter was meant to own (`x-user: %REQ(x-jwt-sub)%`). A pseudo-header keeps its
/// value. An `add` that renders empty adds nothing, as Envoy's `headers_to_add` does.
fn apply(rules: &Rules, map: MapType, values: &[String]) {
    for name in &rules.remove {
        headers::remove(map, name);
    }
    for (name, pieces) in &rules.set {
        let value = render(pieces, values);
        if !value.is_empty() {
            headers::set(map, name, value.as_bytes());
        } else if !headers::is_pseudo(name) {
            headers::remove(map, name);
        }
    }
    for (name, pieces) in &rules.add {
        let value = render(pieces, values);
        if !value.is_empty() {
            headers::add(map, name, value.as_bytes());
        }
    }
}

/// A header value for this request. A constant value (the usual case) or a lone variable is
/// borrowed, not copied: only a value mixing pieces is built.
fn render<'a>(pieces: &'a [Piece], values: &'a [String]) -> Cow<'a, str> {
    let piece = |piece: &'a Piece| match piece {
        Piece::Literal(s) => s.as_str(),
        Piece::Slot(i) => values.get(*i).map_or("", String::as_str),
    };
    match pieces {
        [] => Cow::Borrowed(""),
        [one] => Cow::Borrowed(piece(one)),
        _ => Cow::Owned(pieces.iter().map(piece).collect()),
    }
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

    #[test]
    fn render_borrows_a_lone_piece() {
        let values = ["r1".to_string()];
        let literal = [Piece::Literal("world".into())];
        assert!(matches!(render(&literal, &values), Cow::Borrowed("world")));
        assert!(matches!(
            render(&[Piece::Slot(0)], &values),
            Cow::Borrowed("r1")
        ));
        assert!(matches!(
            render(&[Piece::Slot(1)], &values),
            Cow::Borrowed("")
        ));
        assert!(matches!(render(&[], &values), Cow::Borrowed("")));
    }
}
