//! Shared building blocks for the filters in this workspace.
//!
//! [`proxy_wasm`] is a lean, panic-free implementation of the proxy-wasm ABI with the Rust
//! SDK's names; the other modules are typed helpers on top of it. Nothing here panics: a
//! panic inside a filter is a wasm trap that makes Envoy fail every later request on that VM.

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
/// ```ignore
/// filter_common::export_filter!(MyPlugin);
/// ```
#[macro_export]
macro_rules! export_filter {
    ($plugin:ty) => {
        $crate::proxy_wasm::main! {{
            $crate::logging::init();
            $crate::proxy_wasm::set_root_context(
                |_| -> Box<dyn $crate::proxy_wasm::traits::RootContext> {
                    Box::new($crate::Root::<$plugin>::default())
                },
            );
        }}
    };
}
