//! The filter's ECDS resource (what the watched file holds) and an inline filter for static
//! configs. Same shape as scripts/lib/deploy_envoy.sh writes.

use serde_json::{json, Value};
use std::path::Path;

const WASM_TYPE: &str = "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm";

/// `envoy.extensions.filters.http.wasm.v3.Wasm` running `module` with `config` (any text;
/// the filter sees it in `on_configure`).
pub fn wasm_filter(name: &str, module: &Path, config: &str, fail_open: bool) -> Value {
    json!({
        "@type": WASM_TYPE,
        "config": {
            "name": name,
            "root_id": name,
            "failure_policy": if fail_open { "FAIL_OPEN" } else { "FAIL_CLOSED" },
            "vm_config": {
                "vm_id": name,
                "runtime": "envoy.wasm.runtime.v8",
                "code": {"local": {"filename": module.display().to_string()}},
            },
            "configuration": {
                "@type": "type.googleapis.com/google.protobuf.StringValue",
                "value": config,
            },
        },
    })
}

/// The discovery response for a path config source: one TypedExtensionConfig named `name`.
pub fn resource(name: &str, module: &Path, config: &str, fail_open: bool) -> Value {
    json!({"resources": [{
        "@type": "type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig",
        "name": name,
        "typed_config": wasm_filter(name, module, config, fail_open),
    }]})
}

/// Writes `resource` to `dir/<name>.json` by rename, so Envoy's directory watch sees a move.
pub fn write(dir: &Path, name: &str, resource: &Value) -> std::io::Result<()> {
    let tmp = dir.join(format!(".{name}.json.tmp"));
    std::fs::write(&tmp, serde_json::to_vec_pretty(resource)?)?;
    std::fs::rename(&tmp, dir.join(format!("{name}.json")))
}
