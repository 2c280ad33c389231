//! Reading and writing guest memory from host functions, and allocating in the guest.

use crate::abi::status::{INVALID_MEMORY_ACCESS, OK};
use crate::state::HostState;
use wasmtime::Caller;

pub(crate) type Cx<'a> = Caller<'a, HostState>;

/// Bytes at [ptr, ptr+len) or INVALID_MEMORY_ACCESS.
pub(crate) fn read(cx: &Cx<'_>, ptr: i32, len: i32) -> Result<Vec<u8>, i32> {
    let mem = cx.data().memory.ok_or(INVALID_MEMORY_ACCESS)?;
    let (p, l) = (ptr as u32 as usize, len as u32 as usize);
    let bytes = mem
        .data(cx)
        .get(p..p.checked_add(l).ok_or(INVALID_MEMORY_ACCESS)?)
        .map(|s| s.to_vec())
        .ok_or(INVALID_MEMORY_ACCESS)?;
    if let Some(c) = &cx.data().counters {
        c.borrow_mut().host_call_bytes += l as u64;
    }
    Ok(bytes)
}

pub(crate) fn read_str(cx: &Cx<'_>, ptr: i32, len: i32) -> Result<String, i32> {
    read(cx, ptr, len).map(|b| String::from_utf8_lossy(&b).into_owned())
}

pub(crate) fn write(cx: &mut Cx<'_>, ptr: i32, data: &[u8]) -> Result<(), i32> {
    let mem = cx.data().memory.ok_or(INVALID_MEMORY_ACCESS)?;
    let p = ptr as u32 as usize;
    let end = p.checked_add(data.len()).ok_or(INVALID_MEMORY_ACCESS)?;
    mem.data_mut(cx)
        .get_mut(p..end)
        .ok_or(INVALID_MEMORY_ACCESS)?
        .copy_from_slice(data);
    Ok(())
}

pub(crate) fn write_u32(cx: &mut Cx<'_>, ptr: i32, v: u32) -> Result<(), i32> {
    write(cx, ptr, &v.to_le_bytes())
}

pub(crate) fn write_u64(cx: &mut Cx<'_>, ptr: i32, v: u64) -> Result<(), i32> {
    write(cx, ptr, &v.to_le_bytes())
}

/// Copies `data` into a guest allocation and stores its address and size at the out-pointers.
/// Empty data is returned as a null pointer with size 0, as Envoy does.
pub(crate) fn copy_out(
    cx: &mut Cx<'_>,
    data: &[u8],
    ptr_ptr: i32,
    size_ptr: i32,
) -> wasmtime::Result<i32> {
    let mut addr = 0i32;
    if !data.is_empty() {
        let alloc = cx
            .data()
            .alloc
            .clone()
            .ok_or_else(|| wasmtime::Error::msg("module has no allocator"))?;
        if let Some(c) = &cx.data().counters {
            let mut c = c.borrow_mut();
            c.allocations += 1;
            c.host_call_bytes += data.len() as u64;
            *c.vm_entries
                .entry("proxy_on_memory_allocate".into())
                .or_default() += 1;
        }
        addr = alloc.call(&mut *cx, data.len() as i32)?;
        if addr == 0 {
            return Err(wasmtime::Error::msg("guest allocator returned null"));
        }
        if let Err(s) = write(cx, addr, data) {
            return Ok(s);
        }
    }
    Ok(status(
        write_u32(cx, ptr_ptr, addr as u32)
            .and_then(|_| write_u32(cx, size_ptr, data.len() as u32)),
    ))
}

/// Collapses a Result of a host call into its status code.
pub(crate) fn status(r: Result<(), i32>) -> i32 {
    match r {
        Ok(()) => OK,
        Err(s) => s,
    }
}
