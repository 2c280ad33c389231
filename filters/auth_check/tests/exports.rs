//! Envoy enters the VM for every callback a module exports, on every request. The SDK exports
//! them all; scripts/build.sh keeps only those listed in Cargo.toml (`callbacks`) and the
//! context lifecycle. This checks the shipped module.

#[test]
fn shipped_module_exports_only_the_callbacks_it_implements() {
    let shipped = harness::workspace::shipped_wasm("auth_check").unwrap();
    let callbacks = harness::module::exported_callbacks(shipped.to_str().unwrap()).unwrap();
    assert_eq!(
        callbacks,
        [
            "proxy_on_configure",
            "proxy_on_context_create",
            "proxy_on_delete",
            "proxy_on_http_call_response",
            "proxy_on_request_headers",
            // Only for requests with trailers: a client's identity there is removed too.
            "proxy_on_request_trailers",
            "proxy_on_vm_start"
        ]
    );
}
