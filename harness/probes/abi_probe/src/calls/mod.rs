//! The host calls a command can make, one module per API family. Each handler makes exactly one
//! host call with the command's arguments, logs one `call ...` line, and may return a value a
//! later command can use (`"save": "name"`, then `"$name"`).

use crate::program::Args;

mod buffers;
mod callouts;
mod context;
mod headers;
mod metrics;
mod properties;
mod shared;
mod stream;
mod wasi;

type Handler = fn(&Args) -> Option<i64>;

const FAMILIES: [&[(&str, Handler)]; 9] = [
    context::CALLS,
    buffers::CALLS,
    headers::CALLS,
    stream::CALLS,
    callouts::CALLS,
    shared::CALLS,
    metrics::CALLS,
    properties::CALLS,
    wasi::CALLS,
];

fn find(name: &str) -> Option<Handler> {
    FAMILIES
        .iter()
        .flat_map(|family| family.iter())
        .find(|(known, _)| *known == name)
        .map(|(_, handler)| *handler)
}

pub fn is_known(name: &str) -> bool {
    find(name).is_some()
}

/// Runs one host call; unknown names were rejected when the program was installed.
pub fn dispatch(name: &str, args: &Args) -> Option<i64> {
    find(name).and_then(|handler| handler(args))
}

/// Copies a buffer the host returned. It is not freed: should a host hand back memory it did not
/// get from `proxy_on_memory_allocate`, the test sees a wrong value instead of a corrupt heap.
pub fn returned(data: *mut u8, size: usize) -> Vec<u8> {
    if data.is_null() || size == 0 {
        return Vec::new();
    }
    // SAFETY: the host wrote `size` bytes at `data` (allocated through proxy_on_memory_allocate).
    unsafe { std::slice::from_raw_parts(data, size).to_vec() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_abi_function_has_a_handler() {
        let count: usize = FAMILIES.iter().map(|f| f.len()).sum();
        // 39 proxy-wasm host functions + 8 WASI functions.
        assert_eq!(count, 39 + 8);
        for family in FAMILIES {
            for (name, _) in family {
                assert_eq!(
                    FAMILIES
                        .iter()
                        .flat_map(|f| f.iter())
                        .filter(|(n, _)| n == name)
                        .count(),
                    1,
                    "{name}"
                );
            }
        }
    }
}
