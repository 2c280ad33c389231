//! Properties (paths are NUL-joined segments) and foreign functions.

use std::ptr::null_mut;

use super::{returned, Handler};
use crate::ffi;
use crate::out::Line;
use crate::program::Args;

pub const CALLS: &[(&str, Handler)] = &[
    ("proxy_get_property", get_property),
    ("proxy_set_property", set_property),
    ("proxy_call_foreign_function", call_foreign_function),
];

/// `{"path": ["xds", "node", "id"]}` -> `value "..."`
fn get_property(args: &Args) -> Option<i64> {
    let path = args.path("path");
    let (mut data, mut size) = (null_mut(), 0usize);
    // SAFETY: pointer and length describe `path`; valid out-pointers.
    let status =
        unsafe { ffi::proxy_get_property(path.as_ptr(), path.len(), &mut data, &mut size) };
    let line = Line::call("proxy_get_property", status);
    if status == 0 {
        line.bytes("value", &returned(data, size)).emit();
    } else {
        line.emit();
    }
    None
}

/// `{"path": ["my_key"], "value": "v"}`
fn set_property(args: &Args) -> Option<i64> {
    let (path, value) = (args.path("path"), args.bytes("value"));
    // SAFETY: pointers and lengths describe `path` and `value`.
    let status =
        unsafe { ffi::proxy_set_property(path.as_ptr(), path.len(), value.as_ptr(), value.len()) };
    Line::call("proxy_set_property", status).emit();
    None
}

/// `{"name": "compress", "args": "bytes"}` -> `result "..."`
fn call_foreign_function(args: &Args) -> Option<i64> {
    let (name, arguments) = (args.bytes("name"), args.bytes("args"));
    let (mut data, mut size) = (null_mut(), 0usize);
    // SAFETY: pointers and lengths describe local buffers; valid out-pointers.
    let status = unsafe {
        ffi::proxy_call_foreign_function(
            name.as_ptr(),
            name.len(),
            arguments.as_ptr(),
            arguments.len(),
            &mut data,
            &mut size,
        )
    };
    let line = Line::call("proxy_call_foreign_function", status);
    if status == 0 {
        line.bytes("result", &returned(data, size)).emit();
    } else {
        line.emit();
    }
    None
}
