//! `proxy_call_foreign_function`: functions the test registered by name.

use crate::abi::status::NOT_FOUND;
use crate::memory::{copy_out, read, Cx};
use crate::state::HostState;
use wasmtime::Linker;

pub(crate) fn add(l: &mut Linker<HostState>) -> wasmtime::Result<()> {
    l.func_wrap(
        "env",
        "proxy_call_foreign_function",
        |mut cx: Cx<'_>,
         np: i32,
         nl: i32,
         ap: i32,
         al: i32,
         rpp: i32,
         rsp: i32|
         -> wasmtime::Result<i32> {
            let (name, args) = match read(&cx, np, nl).and_then(|n| Ok((n, read(&cx, ap, al)?))) {
                Ok(p) => p,
                Err(s) => return Ok(s),
            };
            let name = String::from_utf8_lossy(&name).into_owned();
            let result = match cx.data_mut().foreign.get_mut(&name) {
                None => return Ok(NOT_FOUND),
                Some(f) => f(&args),
            };
            match result {
                Ok(bytes) => copy_out(&mut cx, &bytes, rpp, rsp),
                Err(status) => Ok(status),
            }
        },
    )?;
    Ok(())
}
