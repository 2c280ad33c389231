//! A module with only a root context (no HTTP context type), like the SDK's `hello_world`
//! example: it checks its configuration, records a gauge and logs. Used as an HTTP filter,
//! the SDK's dispatcher panics when a stream context is created ("missing ContextType on
//! root_context"), so every request meets a trapping module.

use log::{error, info};
use proxy_wasm::hostcalls;
use proxy_wasm::traits::*;
use proxy_wasm::types::*;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Trace);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(RootOnly) });
}}

struct RootOnly;

impl Context for RootOnly {}

impl RootContext for RootOnly {
    fn on_vm_start(&mut self, vm_configuration_size: usize) -> bool {
        info!("root_only: VM started ({vm_configuration_size} bytes of VM configuration)");
        true
    }

    fn on_configure(&mut self, plugin_configuration_size: usize) -> bool {
        let config = self.get_plugin_configuration().unwrap_or_default();
        let text = String::from_utf8_lossy(&config);
        if !text.starts_with("greeting=") {
            error!("root_only: configuration must be greeting=<text>, got {text:?}");
            return false;
        }
        // A gauge, not a counter: Envoy configures one root context per VM (main thread and
        // each worker), sharing metrics, while the harness has one (ENVOY-DIFFERENCES.md).
        let greeting = &text["greeting=".len()..];
        if let Ok(id) = hostcalls::define_metric(MetricType::Gauge, "root_only_greeting_bytes") {
            let _ = hostcalls::record_metric(id, greeting.len() as u64);
        }
        info!("root_only: {greeting} ({plugin_configuration_size} bytes)");
        true
    }
}
