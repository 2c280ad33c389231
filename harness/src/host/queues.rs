//! Shared queues: `proxy_register_shared_queue`, `proxy_resolve_shared_queue`,
//! `proxy_enqueue_shared_queue`, `proxy_dequeue_shared_queue`. Enqueueing notifies the owning
//! VM's root context with `proxy_on_queue_ready`.

use crate::abi::status::{EMPTY, NOT_FOUND, OK};
use crate::host::st;
use crate::memory::{copy_out, read, read_str, write_u32, Cx};
use crate::state::{HostState, Queue};
use std::collections::VecDeque;
use wasmtime::Linker;

pub(crate) fn add(l: &mut Linker<HostState>) -> wasmtime::Result<()> {
    l.func_wrap(
        "env",
        "proxy_register_shared_queue",
        |mut cx: Cx<'_>, np: i32, nl: i32, token_ptr: i32| -> i32 {
            let name = match read_str(&cx, np, nl) {
                Ok(n) => n,
                Err(s) => return s,
            };
            let token = {
                let s = cx.data();
                let mut shared = s.shared.lock().unwrap_or_else(|e| e.into_inner());
                match shared
                    .queues
                    .iter()
                    .position(|q| q.vm_id == s.vm_id && q.name == name)
                {
                    Some(i) => {
                        shared.queues[i].owner_vm = s.vm_key;
                        shared.queues[i].owner_context = s.root_id;
                        i + 1
                    }
                    None => {
                        shared.queues.push(Queue {
                            vm_id: s.vm_id.clone(),
                            name,
                            owner_vm: s.vm_key,
                            owner_context: s.root_id,
                            items: VecDeque::new(),
                        });
                        shared.queues.len()
                    }
                }
            };
            st(write_u32(&mut cx, token_ptr, token as u32))
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_resolve_shared_queue",
        |mut cx: Cx<'_>, vp: i32, vl: i32, np: i32, nl: i32, token_ptr: i32| -> i32 {
            let (vm_id, name) =
                match read_str(&cx, vp, vl).and_then(|v| Ok((v, read_str(&cx, np, nl)?))) {
                    Ok(p) => p,
                    Err(s) => return s,
                };
            // An empty vm_id means the caller's own VM.
            let vm_id = if vm_id.is_empty() {
                cx.data().vm_id.clone()
            } else {
                vm_id
            };
            let found = {
                let shared = cx.data().shared.lock().unwrap_or_else(|e| e.into_inner());
                shared
                    .queues
                    .iter()
                    .position(|q| q.vm_id == vm_id && q.name == name)
            };
            match found {
                Some(i) => st(write_u32(&mut cx, token_ptr, i as u32 + 1)),
                None => NOT_FOUND,
            }
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_enqueue_shared_queue",
        |cx: Cx<'_>, token: i32, p: i32, len: i32| -> i32 {
            let data = match read(&cx, p, len) {
                Ok(d) => d,
                Err(s) => return s,
            };
            let mut shared = cx.data().shared.lock().unwrap_or_else(|e| e.into_inner());
            let Some(q) = (token as usize)
                .checked_sub(1)
                .and_then(|i| shared.queues.get_mut(i))
            else {
                return NOT_FOUND;
            };
            q.items.push_back(data);
            let (vm, ctx) = (q.owner_vm, q.owner_context);
            shared
                .ready
                .entry(vm)
                .or_default()
                .push((ctx, token as u32));
            OK
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_dequeue_shared_queue",
        |mut cx: Cx<'_>, token: i32, ptr_ptr: i32, size_ptr: i32| -> wasmtime::Result<i32> {
            let item = {
                let mut shared = cx.data().shared.lock().unwrap_or_else(|e| e.into_inner());
                match (token as usize)
                    .checked_sub(1)
                    .and_then(|i| shared.queues.get_mut(i))
                {
                    None => return Ok(NOT_FOUND),
                    Some(q) => q.items.pop_front(),
                }
            };
            match item {
                Some(d) => copy_out(&mut cx, &d, ptr_ptr, size_ptr),
                None => Ok(EMPTY),
            }
        },
    )?;
    Ok(())
}
