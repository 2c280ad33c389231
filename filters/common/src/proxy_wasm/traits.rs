//! The callbacks a filter implements, with the SDK's trait and method names. Only callbacks
//! live here; host calls are in [`super::hostcalls`], where each returns a `Result`.

use super::types::{Action, ContextType};

/// Callbacks every context can receive.
pub trait Context {
    /// The answer to a `dispatch_http_call` made by this context (all sizes 0 when the call
    /// failed or timed out). Read it with `hostcalls::get_map(MapType::HttpCallResponseHeaders)`
    /// and `hostcalls::get_buffer(BufferType::HttpCallResponseBody, ..)`.
    fn on_http_call_response(
        &mut self,
        _token_id: u32,
        _num_headers: usize,
        _body_size: usize,
        _num_trailers: usize,
    ) {
    }

    /// The host is done with the context; return false to finish later with `hostcalls::done`.
    fn on_done(&mut self) -> bool {
        true
    }
}

/// The per-plugin context: configuration, timers, and a factory for stream contexts.
pub trait RootContext: Context {
    fn on_vm_start(&mut self, _vm_configuration_size: usize) -> bool {
        true
    }

    /// Return false to reject the configuration.
    fn on_configure(&mut self, _plugin_configuration_size: usize) -> bool {
        true
    }

    fn on_tick(&mut self) {}

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        None
    }

    fn get_type(&self) -> Option<ContextType> {
        None
    }
}

/// One HTTP stream (request and response).
pub trait HttpContext: Context {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        Action::Continue
    }

    fn on_http_request_body(&mut self, _body_size: usize, _end_of_stream: bool) -> Action {
        Action::Continue
    }

    fn on_http_request_trailers(&mut self, _num_trailers: usize) -> Action {
        Action::Continue
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        Action::Continue
    }

    fn on_http_response_body(&mut self, _body_size: usize, _end_of_stream: bool) -> Action {
        Action::Continue
    }

    fn on_http_response_trailers(&mut self, _num_trailers: usize) -> Action {
        Action::Continue
    }

    /// The stream is over (response sent, local reply, or reset): access-log time.
    fn on_log(&mut self) {}
}
