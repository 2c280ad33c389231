//! Header map host calls (request/response headers and trailers, gRPC metadata, callout
//! response headers). Maps are numbered as in the ABI: 0 request headers .. 7 call trailers.

use std::ptr::null_mut;

use super::{returned, Handler};
use crate::ffi;
use crate::out::Line;
use crate::program::Args;

pub const CALLS: &[(&str, Handler)] = &[
    ("proxy_get_header_map_size", get_size),
    ("proxy_get_header_map_pairs", get_pairs),
    ("proxy_set_header_map_pairs", set_pairs),
    ("proxy_get_header_map_value", get_value),
    ("proxy_add_header_map_value", add_value),
    ("proxy_replace_header_map_value", replace_value),
    ("proxy_remove_header_map_value", remove_value),
];

/// `{"map": 0}` -> `size N` (bytes of the serialized map)
fn get_size(args: &Args) -> Option<i64> {
    let mut size = 0usize;
    // SAFETY: valid out-pointer.
    let status = unsafe { ffi::proxy_get_header_map_size(args.u32("map", 0), &mut size) };
    let line = Line::call("proxy_get_header_map_size", status);
    if status == 0 {
        line.int("size", size).emit();
        return Some(size as i64);
    }
    line.emit();
    None
}

/// `{"map": 0}` -> `size N count N "name"="value" ...` (or `malformed "<raw bytes>"`)
fn get_pairs(args: &Args) -> Option<i64> {
    let (mut data, mut size) = (null_mut(), 0usize);
    // SAFETY: valid out-pointers.
    let status =
        unsafe { ffi::proxy_get_header_map_pairs(args.u32("map", 0), &mut data, &mut size) };
    let line = Line::call("proxy_get_header_map_pairs", status);
    if status == 0 {
        let raw = returned(data, size);
        line.int("size", raw.len()).pairs(&raw).emit();
        return Some(raw.len() as i64);
    }
    line.emit();
    None
}

/// `{"map": 0, "pairs": [[":method", "GET"], ["x-a", "1"]]}` (or `"pairs_raw": [bytes]`)
fn set_pairs(args: &Args) -> Option<i64> {
    let pairs = args.pairs("pairs");
    // SAFETY: pointer and length describe `pairs`.
    let status =
        unsafe { ffi::proxy_set_header_map_pairs(args.u32("map", 0), pairs.as_ptr(), pairs.len()) };
    Line::call("proxy_set_header_map_pairs", status).emit();
    None
}

/// `{"map": 0, "key": "x-a"}` -> `value "..."`
fn get_value(args: &Args) -> Option<i64> {
    let key = args.bytes("key");
    let (mut data, mut size) = (null_mut(), 0usize);
    // SAFETY: key pointer/length describe `key`; valid out-pointers.
    let status = unsafe {
        ffi::proxy_get_header_map_value(
            args.u32("map", 0),
            key.as_ptr(),
            key.len(),
            &mut data,
            &mut size,
        )
    };
    let line = Line::call("proxy_get_header_map_value", status);
    if status == 0 {
        line.bytes("value", &returned(data, size)).emit();
    } else {
        line.emit();
    }
    None
}

/// Shared by add and replace: `{"map": 0, "key": "x-a", "value": "1"}`.
fn write_value(
    args: &Args,
    name: &str,
    call: unsafe extern "C" fn(u32, *const u8, usize, *const u8, usize) -> u32,
) -> Option<i64> {
    let (key, value) = (args.bytes("key"), args.bytes("value"));
    // SAFETY: pointers and lengths describe `key` and `value`.
    let status = unsafe {
        call(
            args.u32("map", 0),
            key.as_ptr(),
            key.len(),
            value.as_ptr(),
            value.len(),
        )
    };
    Line::call(name, status).emit();
    None
}

fn add_value(args: &Args) -> Option<i64> {
    write_value(
        args,
        "proxy_add_header_map_value",
        ffi::proxy_add_header_map_value,
    )
}

fn replace_value(args: &Args) -> Option<i64> {
    write_value(
        args,
        "proxy_replace_header_map_value",
        ffi::proxy_replace_header_map_value,
    )
}

/// `{"map": 0, "key": "x-a"}`
fn remove_value(args: &Args) -> Option<i64> {
    let key = args.bytes("key");
    // SAFETY: pointer and length describe `key`.
    let status =
        unsafe { ffi::proxy_remove_header_map_value(args.u32("map", 0), key.as_ptr(), key.len()) };
    Line::call("proxy_remove_header_map_value", status).emit();
    None
}
