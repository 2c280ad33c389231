//! `proxy_log`, `proxy_get_log_level`.

use crate::abi::status::BAD_ARGUMENT;
use crate::host::st;
use crate::memory::{read, write_u32, Cx};
use crate::state::HostState;
use crate::types::Level;
use wasmtime::Linker;

pub(crate) fn add(l: &mut Linker<HostState>) -> wasmtime::Result<()> {
    l.func_wrap(
        "env",
        "proxy_log",
        |mut cx: Cx<'_>, level: i32, ptr: i32, len: i32| -> i32 {
            let Some(level) = Level::from_raw(level) else {
                return BAD_ARGUMENT;
            };
            st(read(&cx, ptr, len).map(|m| {
                cx.data_mut()
                    .log(level, String::from_utf8_lossy(&m).into_owned())
            }))
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_get_log_level",
        |mut cx: Cx<'_>, out: i32| -> i32 {
            let level = cx.data().log_level as u32;
            st(write_u32(&mut cx, out, level))
        },
    )?;
    Ok(())
}
