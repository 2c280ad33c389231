//! Each host call filter-common guards, made where Envoy answers it with a status the SDK does
//! not expect: from the root context, in `on_configure` (a header map, a local reply and
//! filter state need a stream; harness/probes/ENVOY.md). Through the SDK the module traps;
//! through filter-common it gets the status and goes on. The module is
//! `harness/probes/sdk_guards`, built for wasm32 like a filter.

use harness::{Error, Plugin};

const CALLS: [(&str, &str); 7] = [
    ("get_map_value", "BadArgument"),
    ("get_map_pairs", "BadArgument"),
    ("replace_map_value", "BadArgument"),
    ("add_map_value", "BadArgument"),
    ("remove_map_value", "BadArgument"),
    ("send_local_response", "BadArgument"),
    ("set_property", "NotFound"),
];

fn start(config: &str) -> Result<Plugin, Error> {
    Plugin::builder("sdk-guards").config_bytes(config).start()
}

#[test]
fn through_the_sdk_each_call_traps_the_module() {
    for (call, status) in CALLS {
        match start(&format!("sdk {call}")) {
            Err(Error::Trap { panic_message, .. }) => {
                let panic = panic_message.unwrap_or_default();
                let code = match status {
                    "NotFound" => 1,
                    _ => 2,
                };
                assert!(
                    panic.contains(&format!("unexpected status: {code}")),
                    "{call}: {panic}"
                );
            }
            Err(other) => panic!("{call} through the SDK failed otherwise: {other}"),
            Ok(_) => panic!("{call} through the SDK did not trap"),
        }
    }
}

#[test]
fn through_filter_common_each_call_returns_the_status() {
    for (call, status) in CALLS {
        let plugin = start(&format!("guarded {call}"))
            .unwrap_or_else(|e| panic!("{call} through filter-common: {e}"));
        let logs: Vec<&str> = plugin.logs().iter().map(|l| l.message.as_str()).collect();
        assert!(
            logs.contains(&format!("guarded {call}: Err({status})").as_str()),
            "{call}: {logs:?}"
        );
        assert!(plugin.failure().is_none());
    }
}
