//! `proxy_http_call`: validated as Envoy does, then held until the test answers it.

use crate::abi::status::BAD_ARGUMENT;
use crate::host::st;
use crate::memory::{read, read_str, write_u32, Cx};
use crate::pairs;
use crate::state::{CalloutKind, HostState, PendingHttp};
use crate::types::HttpCall;
use std::time::Duration;
use wasmtime::Linker;

pub(crate) fn add(l: &mut Linker<HostState>) -> wasmtime::Result<()> {
    l.func_wrap(
        "env",
        "proxy_http_call",
        |mut cx: Cx<'_>,
         up_ptr: i32,
         up_size: i32,
         h_ptr: i32,
         h_size: i32,
         b_ptr: i32,
         b_size: i32,
         t_ptr: i32,
         t_size: i32,
         timeout_ms: i32,
         token_ptr: i32|
         -> i32 {
            let parts = read_str(&cx, up_ptr, up_size).and_then(|u| {
                Ok((
                    u,
                    read(&cx, h_ptr, h_size)?,
                    read(&cx, b_ptr, b_size)?,
                    read(&cx, t_ptr, t_size)?,
                ))
            });
            let (cluster, headers, body, trailers) = match parts {
                Ok(p) => p,
                Err(s) => return s,
            };
            let (Some(headers), Some(trailers)) =
                (pairs::deserialize(&headers), pairs::deserialize(&trailers))
            else {
                return BAD_ARGUMENT;
            };
            let s = cx.data_mut();
            let has = |n: &str| headers.iter().any(|(k, v)| k == n && !v.is_empty());
            if !s.clusters.contains(&cluster)
                || !has(":method")
                || !has(":path")
                || !has(":authority")
                || timeout_ms < 0
            {
                return BAD_ARGUMENT;
            }
            let token = s.next_token(CalloutKind::Http);
            let timeout = (timeout_ms > 0).then(|| Duration::from_millis(timeout_ms as u64));
            let deadline_ns = timeout.map(|t| s.clock_ns + t.as_nanos() as u64);
            let call = HttpCall {
                token,
                cluster,
                headers,
                body,
                trailers,
                timeout,
            };
            // Answered on the root context whichever context made it (as Envoy does).
            s.http_calls.insert(
                token,
                PendingHttp {
                    call,
                    started_ns: s.clock_ns,
                    deadline_ns,
                },
            );
            st(write_u32(&mut cx, token_ptr, token))
        },
    )?;
    Ok(())
}
