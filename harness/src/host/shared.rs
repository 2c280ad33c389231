//! Shared data with compare-and-swap: `proxy_get_shared_data`, `proxy_set_shared_data`.
//! Shared by every VM of one `Host`.

use crate::abi::status::{CAS_MISMATCH, NOT_FOUND, OK};
use crate::memory::{copy_out, read, write_u32, Cx};
use crate::state::HostState;
use wasmtime::Linker;

pub(crate) fn add(l: &mut Linker<HostState>) -> wasmtime::Result<()> {
    l.func_wrap(
        "env",
        "proxy_get_shared_data",
        |mut cx: Cx<'_>,
         kp: i32,
         kl: i32,
         vpp: i32,
         vsp: i32,
         cas_ptr: i32|
         -> wasmtime::Result<i32> {
            let key = match read(&cx, kp, kl) {
                Ok(k) => k,
                Err(s) => return Ok(s),
            };
            let entry = {
                let shared = cx.data().shared.lock().unwrap_or_else(|e| e.into_inner());
                shared.data.get(&key).cloned()
            };
            let Some((value, cas)) = entry else {
                return Ok(NOT_FOUND);
            };
            if let Err(s) = write_u32(&mut cx, cas_ptr, cas) {
                return Ok(s);
            }
            copy_out(&mut cx, &value, vpp, vsp)
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_set_shared_data",
        |cx: Cx<'_>, kp: i32, kl: i32, vp: i32, vl: i32, cas: i32| -> i32 {
            let (key, value) = match read(&cx, kp, kl).and_then(|k| Ok((k, read(&cx, vp, vl)?))) {
                Ok(kv) => kv,
                Err(s) => return s,
            };
            let mut shared = cx.data().shared.lock().unwrap_or_else(|e| e.into_inner());
            let cas = cas as u32;
            if cas != 0 && shared.data.get(&key).map(|(_, c)| *c) != Some(cas) {
                return CAS_MISMATCH;
            }
            shared.next_cas += 1;
            let next = shared.next_cas;
            shared.data.insert(key, (value, next));
            OK
        },
    )?;
    Ok(())
}
