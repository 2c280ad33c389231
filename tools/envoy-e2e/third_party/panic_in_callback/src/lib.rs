//! Panics in a callback: a request carrying `x-panic` makes `on_http_request_headers` panic
//! (the SDK's panic hook logs the message at critical, then the module traps). Other requests
//! get `x-checked: yes` upstream and `x-served-by: panic_in_callback` back.

use log::info;
use proxy_wasm::traits::*;
use proxy_wasm::types::*;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Trace);
    proxy_wasm::set_http_context(|context_id, _| -> Box<dyn HttpContext> {
        Box::new(MayPanic { context_id })
    });
}}

struct MayPanic {
    context_id: u32,
}

impl Context for MayPanic {}

impl HttpContext for MayPanic {
    fn on_http_request_headers(&mut self, _: usize, _: bool) -> Action {
        if let Some(reason) = self.get_http_request_header("x-panic") {
            panic!("asked to panic: {reason}");
        }
        self.set_http_request_header("x-checked", Some("yes"));
        info!("#{} checked", self.context_id);
        Action::Continue
    }

    fn on_http_response_headers(&mut self, _: usize, _: bool) -> Action {
        self.add_http_response_header("x-served-by", "panic_in_callback");
        Action::Continue
    }
}
