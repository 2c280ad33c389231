//! Envoy enters the VM for every callback a module exports, on every request: the module
//! exports exactly the callbacks this filter implements (`callbacks` in Cargo.toml).

#[test]
fn exports_only_the_callbacks_it_implements() {
    let callbacks = harness::module::exported_callbacks("metadata_exchange").unwrap();
    assert_eq!(
        callbacks,
        [
            "proxy_on_configure",
            "proxy_on_context_create",
            "proxy_on_delete",
            "proxy_on_request_headers",
            "proxy_on_response_headers",
            "proxy_on_vm_start"
        ]
    );
}
