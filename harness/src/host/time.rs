//! `proxy_get_current_time_nanoseconds`, `proxy_set_tick_period_milliseconds` (virtual clock).

use crate::host::st;
use crate::memory::{write_u64, Cx};
use crate::state::HostState;
use wasmtime::Linker;

pub(crate) fn add(l: &mut Linker<HostState>) -> wasmtime::Result<()> {
    l.func_wrap(
        "env",
        "proxy_get_current_time_nanoseconds",
        |mut cx: Cx<'_>, out: i32| -> i32 {
            let now = cx.data().clock_ns;
            st(write_u64(&mut cx, out, now))
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_set_tick_period_milliseconds",
        |mut cx: Cx<'_>, ms: i32| -> i32 {
            // One tick period per root context; the VM has one root context.
            let s = cx.data_mut();
            s.tick_period_ms = ms as u32;
            s.next_tick_ns = (ms != 0).then(|| s.clock_ns + u64::from(ms as u32) * 1_000_000);
            crate::abi::status::OK
        },
    )?;
    Ok(())
}
