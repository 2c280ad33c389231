//! gRPC: `proxy_grpc_call`, `proxy_grpc_stream`, `proxy_grpc_send`, `proxy_grpc_cancel`,
//! `proxy_grpc_close`. Calls are held until the test answers them.

use crate::abi::status::{BAD_ARGUMENT, OK, PARSE_FAILURE};
use crate::host::st;
use crate::memory::{read, read_str, write_u32, Cx};
use crate::pairs;
use crate::proto;
use crate::state::{CalloutKind, HostState, PendingGrpc};
use crate::types::GrpcCall;
use std::time::Duration;
use wasmtime::Linker;

/// The service argument is a cluster name or a serialized `GrpcService` (envoy_grpc.cluster_name).
fn cluster(s: &HostState, service: &[u8]) -> Option<String> {
    let name = String::from_utf8_lossy(service).into_owned();
    if s.clusters.contains(&name) {
        return Some(name);
    }
    proto::grpc_service_cluster(service).filter(|c| s.clusters.contains(c))
}

#[allow(clippy::too_many_arguments)]
fn open(
    cx: &mut Cx<'_>,
    svc: (i32, i32),
    name: (i32, i32),
    method: (i32, i32),
    md: (i32, i32),
    msg: Option<(i32, i32)>,
    timeout_ms: i32,
    token_ptr: i32,
) -> i32 {
    let parts = read(cx, svc.0, svc.1).and_then(|s| {
        Ok((
            s,
            read_str(cx, name.0, name.1)?,
            read_str(cx, method.0, method.1)?,
            read(cx, md.0, md.1)?,
            match msg {
                Some((p, l)) => read(cx, p, l)?,
                None => Vec::new(),
            },
        ))
    });
    let (service_arg, service, method, md, message) = match parts {
        Ok(p) => p,
        Err(s) => return s,
    };
    let Some(initial_metadata) = pairs::deserialize(&md) else {
        return BAD_ARGUMENT;
    };
    let s = cx.data_mut();
    let Some(cluster) = cluster(s, &service_arg) else {
        return PARSE_FAILURE;
    };
    if timeout_ms < 0 {
        return BAD_ARGUMENT;
    }
    let kind = match msg {
        Some(_) => CalloutKind::GrpcCall,
        None => CalloutKind::GrpcStream,
    };
    let token = s.next_token(kind);
    let timeout = (timeout_ms > 0).then(|| Duration::from_millis(timeout_ms as u64));
    let deadline_ns = timeout.map(|t| s.clock_ns + t.as_nanos() as u64);
    let call = GrpcCall {
        token,
        cluster,
        service,
        method,
        initial_metadata,
        message,
        timeout,
        is_stream: msg.is_none(),
        sent: Vec::new(),
        closed_by_filter: false,
    };
    let context = s.effective;
    s.grpc_calls.insert(
        token,
        PendingGrpc {
            call,
            context,
            deadline_ns,
        },
    );
    st(write_u32(cx, token_ptr, token))
}

pub(crate) fn add(l: &mut Linker<HostState>) -> wasmtime::Result<()> {
    l.func_wrap(
        "env",
        "proxy_grpc_call",
        |mut cx: Cx<'_>,
         sp: i32,
         sl: i32,
         np: i32,
         nl: i32,
         mp: i32,
         ml: i32,
         dp: i32,
         dl: i32,
         gp: i32,
         gl: i32,
         timeout_ms: i32,
         token_ptr: i32|
         -> i32 {
            open(
                &mut cx,
                (sp, sl),
                (np, nl),
                (mp, ml),
                (dp, dl),
                Some((gp, gl)),
                timeout_ms,
                token_ptr,
            )
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_grpc_stream",
        |mut cx: Cx<'_>,
         sp: i32,
         sl: i32,
         np: i32,
         nl: i32,
         mp: i32,
         ml: i32,
         dp: i32,
         dl: i32,
         token_ptr: i32|
         -> i32 {
            open(
                &mut cx,
                (sp, sl),
                (np, nl),
                (mp, ml),
                (dp, dl),
                None,
                0,
                token_ptr,
            )
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_grpc_send",
        |mut cx: Cx<'_>, token: i32, p: i32, len: i32, end: i32| -> i32 {
            let msg = match read(&cx, p, len) {
                Ok(m) => m,
                Err(s) => return s,
            };
            match cx.data_mut().grpc_calls.get_mut(&(token as u32)) {
                Some(g) if g.call.is_stream => {
                    g.call.sent.push(msg);
                    g.call.closed_by_filter |= end != 0;
                    OK
                }
                Some(_) => BAD_ARGUMENT,
                None => BAD_ARGUMENT,
            }
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_grpc_cancel",
        |mut cx: Cx<'_>, token: i32| -> i32 {
            // Cancelled calls get no more callbacks.
            match cx.data_mut().grpc_calls.remove(&(token as u32)) {
                Some(_) => OK,
                None => BAD_ARGUMENT,
            }
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_grpc_close",
        |mut cx: Cx<'_>, token: i32| -> i32 {
            match cx.data_mut().grpc_calls.get_mut(&(token as u32)) {
                Some(g) => {
                    g.call.closed_by_filter = true;
                    OK
                }
                None => BAD_ARGUMENT,
            }
        },
    )?;
    Ok(())
}
