//! Shared building blocks for the filters in this workspace.
//!
//! [`proxy_wasm`] is a lean, panic-free implementation of the proxy-wasm ABI with the Rust
//! SDK's names; the other modules are typed helpers on top of it. Nothing here panics: a
//! panic inside a filter is a wasm trap that makes Envoy fail every later request on that VM.

pub mod base64;
pub mod config;
pub mod headers;
pub mod logging;
pub mod metrics;
pub mod plugin;
pub mod properties;
pub mod proxy_wasm;
pub mod reply;
pub mod time;

pub use plugin::{Plugin, Root};

/// Declares the module's entry point for a [`Plugin`]: installs the logger and the root
/// context that parses the plugin configuration and creates one HTTP context per request.
///
/// It also exports the ABI callbacks. Envoy calls every callback a module exports, on every
/// request, so only these are exported by default: context create/delete, VM start,
/// configure, request and response headers. List any others the filter implements:
///
/// ```ignore
/// filter_common::export_filter!(MyPlugin);
/// filter_common::export_filter!(MyPlugin, callbacks: [request_body, response_body, log]);
/// ```
///
/// Optional callbacks: `request_body`, `request_trailers`, `response_body`,
/// `response_trailers`, `log`, `done`, `tick`, `http_call_response`. A callback implemented
/// but not listed is never called (the filter's tests show it).
#[macro_export]
macro_rules! export_filter {
    ($plugin:ty) => {
        $crate::export_filter!($plugin, callbacks: []);
    };
    ($plugin:ty, callbacks: [$($callback:ident),* $(,)?]) => {
        $crate::proxy_wasm::main! {{
            $crate::logging::init();
            $crate::proxy_wasm::set_root_context(
                |_| -> Box<dyn $crate::proxy_wasm::traits::RootContext> {
                    Box::new($crate::Root::<$plugin>::default())
                },
            );
        }}
        $crate::__export_callback!(context_create);
        $crate::__export_callback!(delete);
        $crate::__export_callback!(vm_start);
        $crate::__export_callback!(configure);
        $crate::__export_callback!(request_headers);
        $crate::__export_callback!(response_headers);
        $( $crate::__export_callback!($callback); )*
    };
}

/// One exported ABI callback, forwarding to the dispatcher.
#[doc(hidden)]
#[macro_export]
macro_rules! __export_callback {
    (context_create) => {
        #[no_mangle]
        pub extern "C" fn proxy_on_context_create(context_id: u32, root_id: u32) {
            $crate::proxy_wasm::dispatcher::proxy_on_context_create(context_id, root_id)
        }
    };
    (delete) => {
        #[no_mangle]
        pub extern "C" fn proxy_on_delete(context_id: u32) {
            $crate::proxy_wasm::dispatcher::proxy_on_delete(context_id)
        }
    };
    (vm_start) => {
        #[no_mangle]
        pub extern "C" fn proxy_on_vm_start(context_id: u32, size: u32) -> u32 {
            $crate::proxy_wasm::dispatcher::proxy_on_vm_start(context_id, size)
        }
    };
    (configure) => {
        #[no_mangle]
        pub extern "C" fn proxy_on_configure(context_id: u32, size: u32) -> u32 {
            $crate::proxy_wasm::dispatcher::proxy_on_configure(context_id, size)
        }
    };
    (request_headers) => {
        #[no_mangle]
        pub extern "C" fn proxy_on_request_headers(context_id: u32, headers: u32, end: u32) -> u32 {
            $crate::proxy_wasm::dispatcher::proxy_on_request_headers(context_id, headers, end)
        }
    };
    (response_headers) => {
        #[no_mangle]
        pub extern "C" fn proxy_on_response_headers(
            context_id: u32,
            headers: u32,
            end: u32,
        ) -> u32 {
            $crate::proxy_wasm::dispatcher::proxy_on_response_headers(context_id, headers, end)
        }
    };
    (request_body) => {
        #[no_mangle]
        pub extern "C" fn proxy_on_request_body(context_id: u32, size: u32, end: u32) -> u32 {
            $crate::proxy_wasm::dispatcher::proxy_on_request_body(context_id, size, end)
        }
    };
    (request_trailers) => {
        #[no_mangle]
        pub extern "C" fn proxy_on_request_trailers(context_id: u32, trailers: u32) -> u32 {
            $crate::proxy_wasm::dispatcher::proxy_on_request_trailers(context_id, trailers)
        }
    };
    (response_body) => {
        #[no_mangle]
        pub extern "C" fn proxy_on_response_body(context_id: u32, size: u32, end: u32) -> u32 {
            $crate::proxy_wasm::dispatcher::proxy_on_response_body(context_id, size, end)
        }
    };
    (response_trailers) => {
        #[no_mangle]
        pub extern "C" fn proxy_on_response_trailers(context_id: u32, trailers: u32) -> u32 {
            $crate::proxy_wasm::dispatcher::proxy_on_response_trailers(context_id, trailers)
        }
    };
    (log) => {
        #[no_mangle]
        pub extern "C" fn proxy_on_log(context_id: u32) {
            $crate::proxy_wasm::dispatcher::proxy_on_log(context_id)
        }
    };
    (done) => {
        #[no_mangle]
        pub extern "C" fn proxy_on_done(context_id: u32) -> u32 {
            $crate::proxy_wasm::dispatcher::proxy_on_done(context_id)
        }
    };
    (tick) => {
        #[no_mangle]
        pub extern "C" fn proxy_on_tick(context_id: u32) {
            $crate::proxy_wasm::dispatcher::proxy_on_tick(context_id)
        }
    };
    (http_call_response) => {
        #[no_mangle]
        pub extern "C" fn proxy_on_http_call_response(
            root_id: u32,
            token: u32,
            headers: u32,
            body: u32,
            trailers: u32,
        ) {
            $crate::proxy_wasm::dispatcher::proxy_on_http_call_response(
                root_id, token, headers, body, trailers,
            )
        }
    };
    ($other:ident) => {
        compile_error!(concat!(
            "unknown callback `",
            stringify!($other),
            "` (known: request_body, request_trailers, response_body, response_trailers, log, \
             done, tick, http_call_response)"
        ));
    };
}
