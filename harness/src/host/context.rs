//! `proxy_done`, `proxy_set_effective_context`.

use crate::abi::status::{BAD_ARGUMENT, NOT_FOUND, OK};
use crate::memory::Cx;
use crate::state::HostState;
use wasmtime::Linker;

pub(crate) fn add(l: &mut Linker<HostState>) -> wasmtime::Result<()> {
    l.func_wrap("env", "proxy_done", |mut cx: Cx<'_>| -> i32 {
        // Only meaningful while the host waits for a root context that returned false from on_done.
        let s = cx.data_mut();
        if s.awaiting_done {
            s.done_called = true;
            OK
        } else {
            NOT_FOUND
        }
    })?;
    l.func_wrap(
        "env",
        "proxy_set_effective_context",
        |mut cx: Cx<'_>, ctx: i32| -> i32 {
            let s = cx.data_mut();
            let ctx = ctx as u32;
            if s.contexts.contains_key(&ctx) {
                s.effective = ctx;
                OK
            } else {
                BAD_ARGUMENT
            }
        },
    )?;
    Ok(())
}
