//! `proxy_get_buffer_bytes`, `proxy_set_buffer_bytes`, `proxy_get_buffer_status`.

use crate::abi::buffer::*;
use crate::abi::status::{BAD_ARGUMENT, NOT_FOUND};
use crate::host::st;
use crate::memory::{copy_out, read, write_u32, Cx};
use crate::state::HostState;
use wasmtime::Linker;

/// The bytes a buffer type shows in the current context, or the status for its absence.
fn get(s: &mut HostState, kind: i32) -> Result<Vec<u8>, i32> {
    let ctx = s.effective;
    let found = match kind {
        // Without a body (or outside a stream) Envoy answers OK with nothing.
        HTTP_REQUEST_BODY | HTTP_RESPONSE_BODY => Some(
            s.http(ctx)
                .and_then(|h| {
                    let d = if kind == HTTP_REQUEST_BODY {
                        &h.req
                    } else {
                        &h.resp
                    };
                    d.msg.body.get(d.body_start..).map(|b| b.to_vec())
                })
                .unwrap_or_default(),
        ),
        DOWNSTREAM_DATA => s.tcp(ctx).map(|t| t.downstream.buffer.clone()),
        UPSTREAM_DATA => s.tcp(ctx).map(|t| t.upstream.buffer.clone()),
        HTTP_CALL_RESPONSE_BODY => s.cb.call_response.as_ref().map(|m| m.body.clone()),
        GRPC_RECEIVE_BUFFER => s.cb.grpc_message.clone(),
        VM_CONFIGURATION => s.cb.vm_configuration.clone(),
        PLUGIN_CONFIGURATION => s.cb.plugin_configuration.clone(),
        CALL_DATA => s.cb.call_data.clone(),
        _ => return Err(BAD_ARGUMENT),
    };
    found.ok_or(NOT_FOUND)
}

/// Envoy's rules: start 0 and len 0 prepends, start 0 and len >= size replaces everything,
/// start >= size appends; anything else (a change in the middle) is BAD_ARGUMENT.
fn set(s: &mut HostState, kind: i32, start: usize, len: usize, data: &[u8]) -> Result<(), i32> {
    let ctx = s.effective;
    let (buf, base) = match kind {
        HTTP_REQUEST_BODY | HTTP_RESPONSE_BODY => {
            let h = s.http(ctx).ok_or(NOT_FOUND)?;
            let d = if kind == HTTP_REQUEST_BODY {
                &mut h.req
            } else {
                &mut h.resp
            };
            if d.body_start > d.msg.body.len() {
                return Err(NOT_FOUND);
            }
            (&mut d.msg.body, d.body_start)
        }
        DOWNSTREAM_DATA => (&mut s.tcp(ctx).ok_or(NOT_FOUND)?.downstream.buffer, 0),
        UPSTREAM_DATA => (&mut s.tcp(ctx).ok_or(NOT_FOUND)?.upstream.buffer, 0),
        _ => return Err(BAD_ARGUMENT),
    };
    let size = buf.len() - base;
    if start == 0 && len == 0 {
        buf.splice(base..base, data.iter().copied());
    } else if start == 0 && len >= size {
        buf.truncate(base);
        buf.extend_from_slice(data);
    } else if start >= size {
        buf.extend_from_slice(data);
    } else {
        return Err(BAD_ARGUMENT);
    }
    Ok(())
}

pub(crate) fn add(l: &mut Linker<HostState>) -> wasmtime::Result<()> {
    l.func_wrap(
        "env",
        "proxy_get_buffer_bytes",
        |mut cx: Cx<'_>,
         kind: i32,
         start: i32,
         max: i32,
         ptr_ptr: i32,
         size_ptr: i32|
         -> wasmtime::Result<i32> {
            let buf = match get(cx.data_mut(), kind) {
                Ok(b) => b,
                Err(s) => return Ok(s),
            };
            let start = (start as u32 as usize).min(buf.len());
            let end = start.saturating_add(max as u32 as usize).min(buf.len());
            copy_out(&mut cx, &buf[start..end], ptr_ptr, size_ptr)
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_set_buffer_bytes",
        |mut cx: Cx<'_>, kind: i32, start: i32, len: i32, ptr: i32, size: i32| -> i32 {
            let data = match read(&cx, ptr, size) {
                Ok(d) => d,
                Err(s) => return s,
            };
            st(set(
                cx.data_mut(),
                kind,
                start as u32 as usize,
                len as u32 as usize,
                &data,
            ))
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_get_buffer_status",
        |mut cx: Cx<'_>, kind: i32, len_ptr: i32, flags_ptr: i32| -> i32 {
            let buf = match get(cx.data_mut(), kind) {
                Ok(b) => b,
                Err(s) => return s,
            };
            st(write_u32(&mut cx, len_ptr, buf.len() as u32)
                .and_then(|_| write_u32(&mut cx, flags_ptr, 0)))
        },
    )?;
    Ok(())
}
