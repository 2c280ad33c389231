//! Every host function the probe imports, declared by hand so each one is a real import with
//! exactly the ABI v0.2.1 signature (the SDK hides several and adds its own conventions).
//!
//! On the host target (the workspace is also built and linted there) the same names are
//! stubs returning UNIMPLEMENTED, so the crate compiles and links without a proxy.

/// Declares a group of imports from one wasm module; on the host, stubs that return `$stub`.
macro_rules! imports {
    ($module:literal, $stub:expr; $(fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)?;)*) => {
        #[cfg(target_arch = "wasm32")]
        #[link(wasm_import_module = $module)]
        extern "C" {
            $(pub fn $name($($arg: $ty),*) $(-> $ret)?;)*
        }

        $(
            #[cfg(not(target_arch = "wasm32"))]
            #[allow(unused_variables, clippy::too_many_arguments, clippy::missing_safety_doc)]
            pub unsafe extern "C" fn $name($($arg: $ty),*) $(-> $ret)? {
                $stub
            }
        )*
    };
}

/// proxy_status_t UNIMPLEMENTED, what the host-target stubs answer.
#[cfg(not(target_arch = "wasm32"))]
const UNIMPLEMENTED: u32 = 12;
/// wasi errno NOSYS for the host-target WASI stubs.
#[cfg(not(target_arch = "wasm32"))]
const ENOSYS: u32 = 52;

imports! { "env", UNIMPLEMENTED;
    // context
    fn proxy_done() -> u32;
    fn proxy_set_effective_context(context_id: u32) -> u32;
    // logging
    fn proxy_log(level: u32, data: *const u8, size: usize) -> u32;
    fn proxy_get_log_level(return_level: *mut u32) -> u32;
    // time
    fn proxy_get_current_time_nanoseconds(return_time: *mut u64) -> u32;
    fn proxy_set_tick_period_milliseconds(period: u32) -> u32;
    // buffers
    fn proxy_get_buffer_bytes(buffer: u32, start: usize, max_size: usize,
        return_data: *mut *mut u8, return_size: *mut usize) -> u32;
    fn proxy_set_buffer_bytes(buffer: u32, start: usize, size: usize,
        data: *const u8, data_size: usize) -> u32;
    fn proxy_get_buffer_status(buffer: u32, return_size: *mut usize, return_flags: *mut u32) -> u32;
    // header maps
    fn proxy_get_header_map_size(map: u32, return_size: *mut usize) -> u32;
    fn proxy_get_header_map_pairs(map: u32, return_data: *mut *mut u8, return_size: *mut usize) -> u32;
    fn proxy_set_header_map_pairs(map: u32, data: *const u8, size: usize) -> u32;
    fn proxy_get_header_map_value(map: u32, key: *const u8, key_size: usize,
        return_data: *mut *mut u8, return_size: *mut usize) -> u32;
    fn proxy_add_header_map_value(map: u32, key: *const u8, key_size: usize,
        value: *const u8, value_size: usize) -> u32;
    fn proxy_replace_header_map_value(map: u32, key: *const u8, key_size: usize,
        value: *const u8, value_size: usize) -> u32;
    fn proxy_remove_header_map_value(map: u32, key: *const u8, key_size: usize) -> u32;
    // stream
    fn proxy_continue_stream(stream: u32) -> u32;
    fn proxy_close_stream(stream: u32) -> u32;
    fn proxy_get_status(return_code: *mut u32, return_data: *mut *mut u8, return_size: *mut usize) -> u32;
    fn proxy_send_local_response(status: u32, details: *const u8, details_size: usize,
        body: *const u8, body_size: usize, headers: *const u8, headers_size: usize,
        grpc_status: i32) -> u32;
    // callouts
    fn proxy_http_call(cluster: *const u8, cluster_size: usize, headers: *const u8,
        headers_size: usize, body: *const u8, body_size: usize, trailers: *const u8,
        trailers_size: usize, timeout_ms: u32, return_token: *mut u32) -> u32;
    fn proxy_grpc_call(cluster: *const u8, cluster_size: usize, service: *const u8,
        service_size: usize, method: *const u8, method_size: usize, metadata: *const u8,
        metadata_size: usize, message: *const u8, message_size: usize, timeout_ms: u32,
        return_token: *mut u32) -> u32;
    fn proxy_grpc_stream(cluster: *const u8, cluster_size: usize, service: *const u8,
        service_size: usize, method: *const u8, method_size: usize, metadata: *const u8,
        metadata_size: usize, return_token: *mut u32) -> u32;
    fn proxy_grpc_send(token: u32, message: *const u8, message_size: usize, end_stream: u32) -> u32;
    fn proxy_grpc_cancel(token: u32) -> u32;
    fn proxy_grpc_close(token: u32) -> u32;
    // shared data and queues
    fn proxy_set_shared_data(key: *const u8, key_size: usize, value: *const u8,
        value_size: usize, cas: u32) -> u32;
    fn proxy_get_shared_data(key: *const u8, key_size: usize, return_data: *mut *mut u8,
        return_size: *mut usize, return_cas: *mut u32) -> u32;
    fn proxy_register_shared_queue(name: *const u8, name_size: usize, return_id: *mut u32) -> u32;
    fn proxy_resolve_shared_queue(vm_id: *const u8, vm_id_size: usize, name: *const u8,
        name_size: usize, return_id: *mut u32) -> u32;
    fn proxy_enqueue_shared_queue(queue: u32, value: *const u8, value_size: usize) -> u32;
    fn proxy_dequeue_shared_queue(queue: u32, return_data: *mut *mut u8, return_size: *mut usize) -> u32;
    // metrics
    fn proxy_define_metric(kind: u32, name: *const u8, name_size: usize, return_id: *mut u32) -> u32;
    fn proxy_record_metric(metric: u32, value: u64) -> u32;
    fn proxy_increment_metric(metric: u32, offset: i64) -> u32;
    fn proxy_get_metric(metric: u32, return_value: *mut u64) -> u32;
    // properties and foreign functions
    fn proxy_get_property(path: *const u8, path_size: usize, return_data: *mut *mut u8,
        return_size: *mut usize) -> u32;
    fn proxy_set_property(path: *const u8, path_size: usize, value: *const u8, value_size: usize) -> u32;
    fn proxy_call_foreign_function(name: *const u8, name_size: usize, args: *const u8,
        args_size: usize, return_data: *mut *mut u8, return_size: *mut usize) -> u32;
}

// The WASI subset Envoy provides (iovec = [ptr: u32, len: u32]).
imports! { "wasi_snapshot_preview1", ENOSYS;
    fn fd_write(fd: u32, iovs: *const u32, iovs_len: usize, return_written: *mut usize) -> u32;
    fn clock_time_get(clock: u32, precision: u64, return_time: *mut u64) -> u32;
    fn random_get(buf: *mut u8, len: usize) -> u32;
    fn environ_sizes_get(return_count: *mut usize, return_size: *mut usize) -> u32;
    fn environ_get(return_ptrs: *mut *mut u8, return_buf: *mut u8) -> u32;
    fn args_sizes_get(return_count: *mut usize, return_size: *mut usize) -> u32;
    fn args_get(return_ptrs: *mut *mut u8, return_buf: *mut u8) -> u32;
}

// proc_exit never returns; on the host it aborts the process like an exit would.
#[cfg(target_arch = "wasm32")]
#[link(wasm_import_module = "wasi_snapshot_preview1")]
extern "C" {
    pub fn proc_exit(code: u32) -> !;
}

#[cfg(not(target_arch = "wasm32"))]
#[allow(clippy::missing_safety_doc)]
pub unsafe fn proc_exit(code: u32) -> ! {
    std::process::exit(code as i32)
}
