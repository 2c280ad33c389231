//! Shared key-value data (with compare-and-swap) and shared queues.

use std::ptr::null_mut;

use super::{returned, Handler};
use crate::ffi;
use crate::out::Line;
use crate::program::Args;

pub const CALLS: &[(&str, Handler)] = &[
    ("proxy_set_shared_data", set_shared_data),
    ("proxy_get_shared_data", get_shared_data),
    ("proxy_register_shared_queue", register_queue),
    ("proxy_resolve_shared_queue", resolve_queue),
    ("proxy_enqueue_shared_queue", enqueue),
    ("proxy_dequeue_shared_queue", dequeue),
];

/// `{"key": "k", "value": "v", "cas": 0}` (cas 0 = unconditional)
fn set_shared_data(args: &Args) -> Option<i64> {
    let (key, value) = (args.bytes("key"), args.bytes("value"));
    // SAFETY: pointers and lengths describe `key` and `value`.
    let status = unsafe {
        ffi::proxy_set_shared_data(
            key.as_ptr(),
            key.len(),
            value.as_ptr(),
            value.len(),
            args.u32("cas", 0),
        )
    };
    Line::call("proxy_set_shared_data", status).emit();
    None
}

/// `{"key": "k"}` -> `value "..." cas N` (saves the cas)
fn get_shared_data(args: &Args) -> Option<i64> {
    let key = args.bytes("key");
    let (mut data, mut size, mut cas) = (null_mut(), 0usize, 0u32);
    // SAFETY: key pointer/length describe `key`; valid out-pointers.
    let status = unsafe {
        ffi::proxy_get_shared_data(key.as_ptr(), key.len(), &mut data, &mut size, &mut cas)
    };
    let line = Line::call("proxy_get_shared_data", status);
    if status == 0 {
        line.bytes("value", &returned(data, size))
            .int("cas", cas)
            .emit();
        return Some(i64::from(cas));
    }
    line.emit();
    None
}

/// Logs the status, and the queue id when there is one.
fn queue_line(name: &str, status: u32, queue: u32) -> Option<i64> {
    let line = Line::call(name, status);
    if status == 0 {
        line.int("queue", queue).emit();
        return Some(i64::from(queue));
    }
    line.emit();
    None
}

/// `{"name": "q"}` -> `queue N`
fn register_queue(args: &Args) -> Option<i64> {
    let name = args.bytes("name");
    let mut queue = 0u32;
    // SAFETY: pointer and length describe `name`; valid out-pointer.
    let status = unsafe { ffi::proxy_register_shared_queue(name.as_ptr(), name.len(), &mut queue) };
    queue_line("proxy_register_shared_queue", status, queue)
}

/// `{"vm_id": "vm", "name": "q"}` -> `queue N`
fn resolve_queue(args: &Args) -> Option<i64> {
    let (vm_id, name) = (args.bytes("vm_id"), args.bytes("name"));
    let mut queue = 0u32;
    // SAFETY: pointers and lengths describe `vm_id` and `name`; valid out-pointer.
    let status = unsafe {
        ffi::proxy_resolve_shared_queue(
            vm_id.as_ptr(),
            vm_id.len(),
            name.as_ptr(),
            name.len(),
            &mut queue,
        )
    };
    queue_line("proxy_resolve_shared_queue", status, queue)
}

/// `{"queue": "$q", "value": "item"}`
fn enqueue(args: &Args) -> Option<i64> {
    let value = args.bytes("value");
    // SAFETY: pointer and length describe `value`.
    let status = unsafe {
        ffi::proxy_enqueue_shared_queue(args.u32("queue", 0), value.as_ptr(), value.len())
    };
    Line::call("proxy_enqueue_shared_queue", status).emit();
    None
}

/// `{"queue": "$queue"}` -> `value "..."`
fn dequeue(args: &Args) -> Option<i64> {
    let (mut data, mut size) = (null_mut(), 0usize);
    // SAFETY: valid out-pointers.
    let status =
        unsafe { ffi::proxy_dequeue_shared_queue(args.u32("queue", 0), &mut data, &mut size) };
    let line = Line::call("proxy_dequeue_shared_queue", status);
    if status == 0 {
        line.bytes("value", &returned(data, size)).emit();
    } else {
        line.emit();
    }
    None
}
