//! Asks an authorization service before letting a request through, like the SDK's
//! `http_auth_random` example but deterministic: the callout to cluster `auth` must answer 200
//! with the body `allow`; anything else (including a failed call) is a 403.

use log::{info, warn};
use proxy_wasm::traits::*;
use proxy_wasm::types::*;
use std::time::Duration;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Trace);
    proxy_wasm::set_http_context(|_, _| -> Box<dyn HttpContext> { Box::new(AuthCallout) });
}}

struct AuthCallout;

impl HttpContext for AuthCallout {
    fn on_http_request_headers(&mut self, _: usize, _: bool) -> Action {
        let path = self.get_http_request_header(":path").unwrap_or_default();
        match self.dispatch_http_call(
            "auth",
            vec![
                (":method", "GET"),
                (":path", "/check"),
                (":authority", "auth.local"),
                ("x-original-path", &path),
            ],
            None,
            vec![],
            Duration::from_secs(5),
        ) {
            Ok(token) => {
                info!("auth call {token} for {path}");
                Action::Pause
            }
            Err(status) => {
                warn!("auth call failed to start: {status:?}");
                self.send_http_response(503, vec![], Some(b"auth unavailable\n"));
                Action::Pause
            }
        }
    }

    fn on_http_response_headers(&mut self, _: usize, _: bool) -> Action {
        self.set_http_response_header("Powered-By", Some("proxy-wasm"));
        Action::Continue
    }
}

impl Context for AuthCallout {
    fn on_http_call_response(&mut self, token: u32, _: usize, body_size: usize, _: usize) {
        let status = self.get_http_call_response_header(":status");
        let body = self
            .get_http_call_response_body(0, body_size)
            .unwrap_or_default();
        if status.as_deref() == Some("200") && body == b"allow" {
            info!("auth call {token}: access granted");
            self.resume_http_request();
            return;
        }
        info!(
            "auth call {token}: access forbidden (status {}, {} body bytes)",
            status.unwrap_or_default(),
            body.len()
        );
        self.send_http_response(
            403,
            vec![("Powered-By", "proxy-wasm")],
            Some(b"Access forbidden.\n"),
        );
    }
}
