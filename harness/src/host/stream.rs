//! `proxy_continue_stream`, `proxy_close_stream`, `proxy_get_status`, `proxy_send_local_response`.
//! Continue, close and local replies take effect once the current callback has returned.

use crate::abi::status::{BAD_ARGUMENT, OK};
use crate::abi::stream::*;
use crate::memory::{copy_out, read, write_u32, Cx};
use crate::pairs;
use crate::state::{Context, Deferred, HostState};
use crate::types::LocalReply;
use wasmtime::Linker;

/// HTTP stream types need an HTTP context, TCP types a TCP context.
/// Envoy accepts any known stream type in any context (a mismatch does nothing).
fn stream_ok(s: &HostState, kind: i32) -> bool {
    let _ = (s, Context::Root);
    (HTTP_REQUEST..=UPSTREAM).contains(&kind)
}

pub(crate) fn add(l: &mut Linker<HostState>) -> wasmtime::Result<()> {
    l.func_wrap(
        "env",
        "proxy_continue_stream",
        |mut cx: Cx<'_>, kind: i32| -> i32 {
            let s = cx.data_mut();
            if !stream_ok(s, kind) {
                return BAD_ARGUMENT;
            }
            s.deferred.push(Deferred::Continue(s.effective, kind));
            OK
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_close_stream",
        |mut cx: Cx<'_>, kind: i32| -> i32 {
            let s = cx.data_mut();
            if !stream_ok(s, kind) {
                return BAD_ARGUMENT;
            }
            s.deferred.push(Deferred::Close(s.effective, kind));
            OK
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_get_status",
        |mut cx: Cx<'_>,
         code_ptr: i32,
         msg_ptr_ptr: i32,
         msg_size_ptr: i32|
         -> wasmtime::Result<i32> {
            let (code, msg) = cx.data().status.clone();
            if let Err(s) = write_u32(&mut cx, code_ptr, code) {
                return Ok(s);
            }
            copy_out(&mut cx, &msg, msg_ptr_ptr, msg_size_ptr)
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_send_local_response",
        |mut cx: Cx<'_>,
         status: i32,
         details_ptr: i32,
         details_size: i32,
         body_ptr: i32,
         body_size: i32,
         headers_ptr: i32,
         headers_size: i32,
         grpc_status: i32|
         -> i32 {
            let parts = read(&cx, details_ptr, details_size).and_then(|d| {
                Ok((
                    d,
                    read(&cx, body_ptr, body_size)?,
                    read(&cx, headers_ptr, headers_size)?,
                ))
            });
            let (details, body, headers) = match parts {
                Ok(p) => p,
                Err(s) => return s,
            };
            let Some(headers) = pairs::deserialize(&headers) else {
                return BAD_ARGUMENT;
            };
            let s = cx.data_mut();
            let ctx = s.effective;
            if s.http(ctx).is_none() || !(100..=999).contains(&status) {
                return BAD_ARGUMENT;
            }
            let reply = LocalReply {
                status: status as u16,
                headers,
                body,
                details: String::from_utf8_lossy(&details).replace(' ', "_"),
                grpc_status: (grpc_status >= 0).then_some(grpc_status),
            };
            s.deferred.push(Deferred::LocalReply(ctx, reply));
            OK
        },
    )?;
    Ok(())
}
