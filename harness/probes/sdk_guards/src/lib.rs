//! Makes one host call from the root context, in `on_configure`, where Envoy answers it with a
//! status other than `Ok` (harness/probes/ENVOY.md: header maps and local replies need a
//! stream, filter state too). The configuration says which call and through what:
//! `sdk <call>` uses the proxy-wasm SDK, which panics (a trap); `guarded <call>` uses
//! filter-common, which logs `<call>: <status>` and goes on.

use filter_common::headers::{self, MapType};
use filter_common::hostcalls;
use proxy_wasm::traits::{Context, RootContext};
use proxy_wasm::types::LogLevel;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Trace);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Guards) });
}}

struct Guards;

impl Context for Guards {}

impl RootContext for Guards {
    fn on_configure(&mut self, _plugin_configuration_size: usize) -> bool {
        let config = self
            .get_plugin_configuration()
            .map(headers::lossy)
            .unwrap_or_default();
        let map = MapType::HttpRequestHeaders;
        let result = match config.trim() {
            "sdk get_map_value" => proxy_wasm::hostcalls::get_map_value_bytes(map, "x").map(drop),
            "sdk get_map_pairs" => proxy_wasm::hostcalls::get_map_bytes(map).map(drop),
            "sdk replace_map_value" => {
                proxy_wasm::hostcalls::set_map_value_bytes(map, "x", Some(b"1"))
            }
            "sdk add_map_value" => proxy_wasm::hostcalls::add_map_value_bytes(map, "x", b"1"),
            "sdk remove_map_value" => proxy_wasm::hostcalls::remove_map_value(map, "x"),
            "sdk send_local_response" => {
                proxy_wasm::hostcalls::send_http_response(403, vec![], Some(b"no"))
            }
            "sdk set_property" => proxy_wasm::hostcalls::set_property(vec!["k"], Some(b"v")),
            "guarded get_map_value" => hostcalls::get_map_value(map, "x").map(drop),
            "guarded get_map_pairs" => hostcalls::get_map_pairs(map).map(drop),
            "guarded replace_map_value" => hostcalls::replace_map_value(map, "x", b"1"),
            "guarded add_map_value" => hostcalls::add_map_value(map, "x", b"1"),
            "guarded remove_map_value" => hostcalls::remove_map_value(map, "x"),
            "guarded send_local_response" => hostcalls::send_local_response(403, &[], b"no"),
            "guarded set_property" => hostcalls::set_property(&["k"], b"v"),
            other => {
                log::error!("unknown call `{other}`");
                return false;
            }
        };
        log::info!("{}: {result:?}", config.trim());
        true
    }
}
