//! A lean, panic-free implementation of the proxy-wasm ABI v0.2.1 for filters.
//!
//! It keeps the names of the proxy-wasm Rust SDK (`traits::HttpContext`, `types::Action`,
//! `hostcalls::get_map_value`, `main!`, `set_root_context`) so filters read like the SDK's
//! examples, with two differences that are the reason it exists:
//! - nothing here panics: every host status comes back as a `Result` (the SDK `panic!`s on
//!   statuses it does not expect and `unwrap()`s UTF-8 conversions, and a panic in Envoy is a
//!   trap that fails the VM for every later request);
//! - it is small: the SDK's dispatcher alone adds ~36 KB to every module, more than a third
//!   of the 100 KiB budget of `http_headers`.
//!
//! It covers HTTP filters (no TCP stream contexts or gRPC callouts, which no filter here uses).

#[doc(hidden)]
pub mod dispatcher;
pub mod hostcalls;
mod logger;
pub mod traits;
pub mod types;

pub use dispatcher::set_root_context;
pub use logger::set_log_level;

/// Declares the module's `_initialize` entry point, as the SDK's `proxy_wasm::main!` does.
#[macro_export]
macro_rules! proxy_wasm_main {
    ($code:block) => {
        #[cfg(target_os = "wasi")]
        extern "C" {
            fn __wasm_call_ctors();
        }

        #[no_mangle]
        pub extern "C" fn _initialize() {
            #[cfg(target_os = "wasi")]
            // SAFETY: provided by wasi-libc; runs static constructors once, as a reactor must.
            unsafe {
                __wasm_call_ctors();
            }
            $code;
        }
    };
}
pub use crate::proxy_wasm_main as main;

/// The ABI version marker Envoy looks for.
#[no_mangle]
pub extern "C" fn proxy_abi_version_0_2_1() {}

/// The allocator the host uses to hand buffers to the module; returned buffers are adopted
/// as `Vec<u8>` by the host calls.
#[no_mangle]
pub extern "C" fn proxy_on_memory_allocate(size: usize) -> *mut u8 {
    let mut buf: Vec<u8> = Vec::with_capacity(size);
    let ptr = buf.as_mut_ptr();
    std::mem::forget(buf);
    ptr
}
