//! Shared building blocks for the filters in this workspace.
//!
//! Everything here wraps a proxy-wasm host call so that it never panics: the SDK's own
//! convenience methods `unwrap()` host results, and a panic inside a filter is a wasm trap
//! that makes Envoy fail every later request on that VM.

pub mod config;
pub mod headers;
pub mod logging;
pub mod metrics;
pub mod plugin;
pub mod properties;
pub mod reply;
pub mod time;

pub use plugin::{PassThrough, Plugin, Root};
/// Re-exported so filters and the [`export_filter!`] macro use the same SDK version.
pub use proxy_wasm;

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
            $crate::proxy_wasm::set_root_context(|_| {
                Box::new($crate::Root::<$plugin>::default())
            });
        }}
    };
}
