//! Host functions, one module per API family (like wasmtime's own host modules), all linked
//! into one process-wide `Linker`.

use crate::state::HostState;
use std::sync::OnceLock;
use wasmtime::Linker;

mod buffers;
mod context;
mod foreign;
mod grpc;
mod headers;
mod http;
mod logging;
mod metrics;
mod properties;
mod queues;
mod shared;
mod stream;
mod time;
mod wasi;

/// The 39 ABI v0.2.1 host functions (module `env`).
pub const ABI_FUNCTIONS: [&str; 39] = [
    "proxy_done",
    "proxy_set_effective_context",
    "proxy_log",
    "proxy_get_log_level",
    "proxy_get_current_time_nanoseconds",
    "proxy_set_tick_period_milliseconds",
    "proxy_get_buffer_bytes",
    "proxy_set_buffer_bytes",
    "proxy_get_buffer_status",
    "proxy_get_header_map_size",
    "proxy_get_header_map_pairs",
    "proxy_set_header_map_pairs",
    "proxy_get_header_map_value",
    "proxy_add_header_map_value",
    "proxy_replace_header_map_value",
    "proxy_remove_header_map_value",
    "proxy_continue_stream",
    "proxy_close_stream",
    "proxy_get_status",
    "proxy_send_local_response",
    "proxy_http_call",
    "proxy_grpc_call",
    "proxy_grpc_stream",
    "proxy_grpc_send",
    "proxy_grpc_cancel",
    "proxy_grpc_close",
    "proxy_set_shared_data",
    "proxy_get_shared_data",
    "proxy_register_shared_queue",
    "proxy_resolve_shared_queue",
    "proxy_enqueue_shared_queue",
    "proxy_dequeue_shared_queue",
    "proxy_define_metric",
    "proxy_record_metric",
    "proxy_increment_metric",
    "proxy_get_metric",
    "proxy_get_property",
    "proxy_set_property",
    "proxy_call_foreign_function",
];

/// Other `env` functions Envoy provides that toolchains import.
pub const ENV_EXTRAS: [&str; 1] = ["emscripten_notify_memory_growth"];

/// Every (module, name) the host provides.
pub fn provided_imports() -> Vec<(&'static str, &'static str)> {
    let mut v: Vec<(&str, &str)> = ABI_FUNCTIONS.iter().map(|n| ("env", *n)).collect();
    v.extend(ENV_EXTRAS.iter().map(|n| ("env", *n)));
    for m in wasi::MODULES {
        v.extend(wasi::FUNCTIONS.iter().map(|n| (m, *n)));
    }
    v
}

/// Registers one family of host functions.
type AddFn = fn(&mut Linker<HostState>) -> wasmtime::Result<()>;

/// The shared linker with every host function.
pub(crate) fn linker() -> &'static Linker<HostState> {
    static LINKER: OnceLock<Linker<HostState>> = OnceLock::new();
    LINKER.get_or_init(|| {
        let mut l = Linker::new(crate::module::engine());
        let all: [AddFn; 14] = [
            context::add,
            logging::add,
            time::add,
            buffers::add,
            headers::add,
            stream::add,
            http::add,
            grpc::add,
            shared::add,
            queues::add,
            metrics::add,
            properties::add,
            foreign::add,
            wasi::add,
        ];
        for add in all {
            if let Err(e) = add(&mut l) {
                // Only a duplicate definition can fail here: a bug in this crate, caught by any test.
                unreachable!("linking host functions: {e}");
            }
        }
        l
    })
}

/// Turns a status-or-error result of a host call into the i32 the guest receives.
pub(crate) fn st(r: Result<(), i32>) -> i32 {
    crate::memory::status(r)
}
