//! Header maps: `proxy_get_header_map_size`, `_pairs`, `_value`, `proxy_set_header_map_pairs`,
//! `proxy_add_`, `proxy_replace_`, `proxy_remove_header_map_value`. Names are lower-cased,
//! lookups return the first value, pseudo-headers stay in front; Envoy's inline-header rules
//! (comma-joined values, `host` as `:authority`) are in `crate::header_map`.

use crate::abi::map::*;
use crate::abi::status::{BAD_ARGUMENT, NOT_FOUND};
use crate::header_map;
use crate::host::st;
use crate::memory::{copy_out, read, write_u32, Cx};
use crate::pairs;
use crate::state::HostState;
use crate::types::Headers;
use wasmtime::Linker;

/// Runs `f` on the map, as Envoy 1.40 answers (harness/probes/ENVOY.md): in a stream, a map
/// that has not arrived reads as empty and cannot be written (except trailers added at the end
/// of the body); outside a stream, BAD_ARGUMENT (an empty map during a callout answer). Callout
/// and gRPC maps are read-only.
fn with_map<R>(
    s: &mut HostState,
    kind: i32,
    access: Access,
    f: impl FnOnce(&mut Headers) -> R,
) -> Result<R, i32> {
    let write = access == Access::Write;
    let ctx = s.effective;
    let read_only = match kind {
        GRPC_RECEIVE_INITIAL_METADATA => Some(s.cb.grpc_initial.as_ref()),
        GRPC_RECEIVE_TRAILING_METADATA => Some(s.cb.grpc_trailing.as_ref()),
        HTTP_CALL_RESPONSE_HEADERS => Some(s.cb.call_response.as_ref().map(|m| &m.headers)),
        HTTP_CALL_RESPONSE_TRAILERS => Some(s.cb.call_response.as_ref().map(|m| &m.trailers)),
        _ => None,
    };
    if let Some(m) = read_only {
        return match (m, write) {
            (Some(m), false) => Ok(f(&mut m.clone())),
            _ => Err(BAD_ARGUMENT),
        };
    }
    match kind {
        HTTP_REQUEST_HEADERS
        | HTTP_REQUEST_TRAILERS
        | HTTP_RESPONSE_HEADERS
        | HTTP_RESPONSE_TRAILERS => {
            let in_callout = s.cb.call_response.is_some();
            let Some(h) = s.http(ctx) else {
                // Envoy 1.40: from the root during a callout answer, the pairs read as an
                // empty map; a size or value lookup is BAD_ARGUMENT (ENVOY-DIFFERENCES.md).
                return if in_callout && access == Access::Pairs {
                    Ok(f(&mut Vec::new()))
                } else {
                    Err(BAD_ARGUMENT)
                };
            };
            let d = if kind < HTTP_RESPONSE_HEADERS {
                &mut h.req
            } else {
                &mut h.resp
            };
            let trailers = kind == HTTP_REQUEST_TRAILERS || kind == HTTP_RESPONSE_TRAILERS;
            match trailers {
                false if d.headers_arrived => Ok(f(&mut d.msg.headers)),
                true if d.trailers_arrived => Ok(f(&mut d.msg.trailers)),
                // Trailers can be added once the body has ended.
                true if write && d.end_of_stream && d.headers_arrived && !d.finished => {
                    d.trailers_arrived = true;
                    Ok(f(&mut d.msg.trailers))
                }
                _ if write => Err(BAD_ARGUMENT),
                _ => Ok(f(&mut Vec::new())),
            }
        }
        _ => Err(BAD_ARGUMENT),
    }
}

/// How a host call uses a map: Envoy answers a missing map differently for each.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Access {
    /// `get_header_map_pairs`.
    Pairs,
    /// `get_header_map_size`, `get_header_map_value`.
    Lookup,
    Write,
}

fn key(cx: &Cx<'_>, ptr: i32, len: i32) -> Result<String, i32> {
    read(cx, ptr, len).map(|k| String::from_utf8_lossy(&k).to_ascii_lowercase())
}

pub(crate) fn add(l: &mut Linker<HostState>) -> wasmtime::Result<()> {
    l.func_wrap(
        "env",
        "proxy_get_header_map_size",
        |mut cx: Cx<'_>, kind: i32, out: i32| -> i32 {
            match with_map(cx.data_mut(), kind, Access::Lookup, |m| {
                m.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>()
            }) {
                Ok(n) => st(write_u32(&mut cx, out, n as u32)),
                Err(s) => s,
            }
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_get_header_map_pairs",
        |mut cx: Cx<'_>, kind: i32, ptr_ptr: i32, size_ptr: i32| -> wasmtime::Result<i32> {
            // An empty map is an empty buffer, as Envoy returns it.
            match with_map(cx.data_mut(), kind, Access::Pairs, |m| {
                if m.is_empty() {
                    Vec::new()
                } else {
                    pairs::serialize(m)
                }
            }) {
                Ok(bytes) => copy_out(&mut cx, &bytes, ptr_ptr, size_ptr),
                Err(s) => Ok(s),
            }
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_set_header_map_pairs",
        |mut cx: Cx<'_>, kind: i32, ptr: i32, size: i32| -> i32 {
            let data = match read(&cx, ptr, size) {
                Ok(d) => d,
                Err(s) => return s,
            };
            let Some(new) = pairs::deserialize(&data) else {
                return BAD_ARGUMENT;
            };
            st(with_map(cx.data_mut(), kind, Access::Write, |m| {
                *m = header_map::build(kind, new);
            }))
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_get_header_map_value",
        |mut cx: Cx<'_>,
         kind: i32,
         kp: i32,
         kl: i32,
         ptr_ptr: i32,
         size_ptr: i32|
         -> wasmtime::Result<i32> {
            let k = match key(&cx, kp, kl) {
                Ok(k) => k,
                Err(s) => return Ok(s),
            };
            match with_map(cx.data_mut(), kind, Access::Lookup, |m| {
                header_map::get(m, kind, &k).cloned()
            }) {
                Ok(Some(v)) => copy_out(&mut cx, &v, ptr_ptr, size_ptr),
                Ok(None) => Ok(NOT_FOUND),
                Err(s) => Ok(s),
            }
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_add_header_map_value",
        |mut cx: Cx<'_>, kind: i32, kp: i32, kl: i32, vp: i32, vl: i32| -> i32 {
            let (k, v) = match key(&cx, kp, kl).and_then(|k| Ok((k, read(&cx, vp, vl)?))) {
                Ok(kv) => kv,
                Err(s) => return s,
            };
            st(with_map(cx.data_mut(), kind, Access::Write, |m| {
                header_map::add(m, kind, k, v)
            }))
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_replace_header_map_value",
        |mut cx: Cx<'_>, kind: i32, kp: i32, kl: i32, vp: i32, vl: i32| -> i32 {
            let (k, v) = match key(&cx, kp, kl).and_then(|k| Ok((k, read(&cx, vp, vl)?))) {
                Ok(kv) => kv,
                Err(s) => return s,
            };
            st(with_map(cx.data_mut(), kind, Access::Write, |m| {
                header_map::replace(m, kind, k, v)
            }))
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_remove_header_map_value",
        |mut cx: Cx<'_>, kind: i32, kp: i32, kl: i32| -> i32 {
            let k = match key(&cx, kp, kl) {
                Ok(k) => k,
                Err(s) => return s,
            };
            st(with_map(cx.data_mut(), kind, Access::Write, |m| {
                header_map::remove(m, kind, &k)
            }))
        },
    )?;
    Ok(())
}
