//! The 25 callbacks, the ABI marker and the allocator. Every callback logs
//! `callback proxy_on_<name> ctx=N ...` with its arguments, then runs its commands.
//! Actions default to CONTINUE (0) and booleans to true (1); a `return` command overrides.

use crate::out::{self, Line};
use crate::program::{self, run};

const CONTINUE: i64 = 0;
const TRUE: i64 = 1;

/// Integer arguments as the ABI passes them (context ids, counts, sizes, flags).
fn v(value: impl TryInto<i64>) -> i64 {
    value.try_into().unwrap_or(-1)
}

#[no_mangle]
pub extern "C" fn proxy_abi_version_0_2_1() {}

/// Memory the host fills for us (returned buffers). Never freed by the host; see calls::returned.
#[no_mangle]
pub extern "C" fn proxy_on_memory_allocate(size: usize) -> *mut u8 {
    let mut block = std::mem::ManuallyDrop::new(Vec::<u8>::with_capacity(size));
    block.as_mut_ptr()
}

#[no_mangle]
pub extern "C" fn proxy_on_context_create(ctx: u32, parent: u32) {
    run("context_create", &[("ctx", v(ctx)), ("parent", v(parent))]);
}

#[no_mangle]
pub extern "C" fn proxy_on_done(ctx: u32) -> u32 {
    run("done", &[("ctx", v(ctx))]).or(TRUE) as u32
}

#[no_mangle]
pub extern "C" fn proxy_on_log(ctx: u32) {
    run("log", &[("ctx", v(ctx))]);
}

#[no_mangle]
pub extern "C" fn proxy_on_delete(ctx: u32) {
    run("delete", &[("ctx", v(ctx))]);
}

/// Reads a configuration buffer (6 VM, 7 plugin) and installs it as the program; false (and an
/// error line naming the problem) when it is not a valid program.
fn load_program(buffer: u32, size: usize) -> bool {
    let (mut data, mut len) = (std::ptr::null_mut(), 0usize);
    // SAFETY: valid out-pointers.
    let status =
        unsafe { crate::ffi::proxy_get_buffer_bytes(buffer, 0, size, &mut data, &mut len) };
    if status != 0 && size > 0 {
        Line::call("proxy_get_buffer_bytes", status)
            .bytes("reading", b"configuration")
            .emit();
        return false;
    }
    let config = crate::calls::returned(data, len);
    match program::install(&config) {
        Ok(()) => true,
        Err(problem) => {
            out::log(out::ERROR, &format!("probe: bad configuration: {problem}"));
            false
        }
    }
}

#[no_mangle]
pub extern "C" fn proxy_on_vm_start(ctx: u32, vm_config_size: usize) -> u32 {
    program::announce(
        "vm_start",
        &[("ctx", v(ctx)), ("vm_config_size", v(vm_config_size))],
    );
    if vm_config_size > 0 && !load_program(6, vm_config_size) {
        return 0;
    }
    program::execute("vm_start").or(TRUE) as u32
}

#[no_mangle]
pub extern "C" fn proxy_on_configure(ctx: u32, config_size: usize) -> u32 {
    program::announce(
        "configure",
        &[("ctx", v(ctx)), ("config_size", v(config_size))],
    );
    if !load_program(7, config_size) {
        return 0;
    }
    program::execute("configure").or(TRUE) as u32
}

#[no_mangle]
pub extern "C" fn proxy_on_tick(ctx: u32) {
    run("tick", &[("ctx", v(ctx))]);
}

#[no_mangle]
pub extern "C" fn proxy_on_queue_ready(ctx: u32, queue: u32) {
    run("queue_ready", &[("ctx", v(ctx)), ("queue", v(queue))]);
}

#[no_mangle]
pub extern "C" fn proxy_on_new_connection(ctx: u32) -> u32 {
    run("new_connection", &[("ctx", v(ctx))]).or(CONTINUE) as u32
}

#[no_mangle]
pub extern "C" fn proxy_on_downstream_data(ctx: u32, size: usize, eos: u32) -> u32 {
    let args = [("ctx", v(ctx)), ("size", v(size)), ("eos", v(eos))];
    run("downstream_data", &args).or(CONTINUE) as u32
}

#[no_mangle]
pub extern "C" fn proxy_on_downstream_connection_close(ctx: u32, peer: u32) {
    run(
        "downstream_connection_close",
        &[("ctx", v(ctx)), ("peer", v(peer))],
    );
}

#[no_mangle]
pub extern "C" fn proxy_on_upstream_data(ctx: u32, size: usize, eos: u32) -> u32 {
    let args = [("ctx", v(ctx)), ("size", v(size)), ("eos", v(eos))];
    run("upstream_data", &args).or(CONTINUE) as u32
}

#[no_mangle]
pub extern "C" fn proxy_on_upstream_connection_close(ctx: u32, peer: u32) {
    run(
        "upstream_connection_close",
        &[("ctx", v(ctx)), ("peer", v(peer))],
    );
}

#[no_mangle]
pub extern "C" fn proxy_on_request_headers(ctx: u32, headers: usize, eos: u32) -> u32 {
    let args = [("ctx", v(ctx)), ("headers", v(headers)), ("eos", v(eos))];
    run("request_headers", &args).or(CONTINUE) as u32
}

#[no_mangle]
pub extern "C" fn proxy_on_request_body(ctx: u32, size: usize, eos: u32) -> u32 {
    let args = [("ctx", v(ctx)), ("size", v(size)), ("eos", v(eos))];
    run("request_body", &args).or(CONTINUE) as u32
}

#[no_mangle]
pub extern "C" fn proxy_on_request_trailers(ctx: u32, trailers: usize) -> u32 {
    run(
        "request_trailers",
        &[("ctx", v(ctx)), ("trailers", v(trailers))],
    )
    .or(CONTINUE) as u32
}

#[no_mangle]
pub extern "C" fn proxy_on_response_headers(ctx: u32, headers: usize, eos: u32) -> u32 {
    let args = [("ctx", v(ctx)), ("headers", v(headers)), ("eos", v(eos))];
    run("response_headers", &args).or(CONTINUE) as u32
}

#[no_mangle]
pub extern "C" fn proxy_on_response_body(ctx: u32, size: usize, eos: u32) -> u32 {
    let args = [("ctx", v(ctx)), ("size", v(size)), ("eos", v(eos))];
    run("response_body", &args).or(CONTINUE) as u32
}

#[no_mangle]
pub extern "C" fn proxy_on_response_trailers(ctx: u32, trailers: usize) -> u32 {
    run(
        "response_trailers",
        &[("ctx", v(ctx)), ("trailers", v(trailers))],
    )
    .or(CONTINUE) as u32
}

#[no_mangle]
pub extern "C" fn proxy_on_http_call_response(
    ctx: u32,
    token: u32,
    headers: usize,
    body: usize,
    trailers: usize,
) {
    let args = [
        ("ctx", v(ctx)),
        ("token", v(token)),
        ("headers", v(headers)),
        ("body", v(body)),
        ("trailers", v(trailers)),
    ];
    run("http_call_response", &args);
}

#[no_mangle]
pub extern "C" fn proxy_on_grpc_receive_initial_metadata(ctx: u32, token: u32, headers: usize) {
    let args = [
        ("ctx", v(ctx)),
        ("token", v(token)),
        ("headers", v(headers)),
    ];
    run("grpc_receive_initial_metadata", &args);
}

#[no_mangle]
pub extern "C" fn proxy_on_grpc_receive(ctx: u32, token: u32, size: usize) {
    run(
        "grpc_receive",
        &[("ctx", v(ctx)), ("token", v(token)), ("size", v(size))],
    );
}

#[no_mangle]
pub extern "C" fn proxy_on_grpc_receive_trailing_metadata(ctx: u32, token: u32, trailers: usize) {
    let args = [
        ("ctx", v(ctx)),
        ("token", v(token)),
        ("trailers", v(trailers)),
    ];
    run("grpc_receive_trailing_metadata", &args);
}

#[no_mangle]
pub extern "C" fn proxy_on_grpc_close(ctx: u32, token: u32, status: u32) {
    run(
        "grpc_close",
        &[("ctx", v(ctx)), ("token", v(token)), ("status", v(status))],
    );
}

#[no_mangle]
pub extern "C" fn proxy_on_foreign_function(ctx: u32, function: u32, size: usize) {
    let args = [
        ("ctx", v(ctx)),
        ("function", v(function)),
        ("size", v(size)),
    ];
    run("foreign_function", &args);
}
