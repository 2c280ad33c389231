//! Buffer host calls (bodies, TCP data, callout responses, configurations, foreign arguments).

use std::ptr::null_mut;

use super::{returned, Handler};
use crate::ffi;
use crate::out::Line;
use crate::program::Args;

pub const CALLS: &[(&str, Handler)] = &[
    ("proxy_get_buffer_bytes", get_buffer_bytes),
    ("proxy_set_buffer_bytes", set_buffer_bytes),
    ("proxy_get_buffer_status", get_buffer_status),
];

/// Default `max_size`: everything (kept far from overflowing `start + max_size` in 32 bits).
const ALL: i64 = 1 << 30;

/// `{"buffer": 0, "start": 0, "max_size": 10}` -> `bytes "..."`
fn get_buffer_bytes(args: &Args) -> Option<i64> {
    let (mut data, mut size) = (null_mut(), 0usize);
    // SAFETY: valid out-pointers.
    let status = unsafe {
        ffi::proxy_get_buffer_bytes(
            args.u32("buffer", 0),
            args.int("start", 0) as usize,
            args.int("max_size", ALL) as usize,
            &mut data,
            &mut size,
        )
    };
    let line = Line::call("proxy_get_buffer_bytes", status);
    if status == 0 {
        let bytes = returned(data, size);
        line.bytes("bytes", &bytes).emit();
        return Some(bytes.len() as i64);
    }
    line.emit();
    None
}

/// `{"buffer": 0, "start": 0, "size": 3, "data": "new"}`: replaces `size` bytes at `start`.
fn set_buffer_bytes(args: &Args) -> Option<i64> {
    let data = args.bytes("data");
    // SAFETY: pointer and length describe `data`.
    let status = unsafe {
        ffi::proxy_set_buffer_bytes(
            args.u32("buffer", 0),
            args.int("start", 0) as usize,
            args.int("size", 0) as usize,
            data.as_ptr(),
            data.len(),
        )
    };
    Line::call("proxy_set_buffer_bytes", status).emit();
    None
}

/// `{"buffer": 0}` -> `size N flags N`
fn get_buffer_status(args: &Args) -> Option<i64> {
    let (mut size, mut flags) = (0usize, 0u32);
    // SAFETY: valid out-pointers.
    let status =
        unsafe { ffi::proxy_get_buffer_status(args.u32("buffer", 0), &mut size, &mut flags) };
    let line = Line::call("proxy_get_buffer_status", status);
    if status == 0 {
        line.int("size", size).int("flags", flags).emit();
        return Some(size as i64);
    }
    line.emit();
    None
}
