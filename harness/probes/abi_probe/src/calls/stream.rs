//! Stream control host calls: resume, close, local replies, and the status of the last
//! callout or gRPC close.

use std::ptr::null_mut;

use super::{returned, Handler};
use crate::ffi;
use crate::out::Line;
use crate::program::Args;

pub const CALLS: &[(&str, Handler)] = &[
    ("proxy_continue_stream", continue_stream),
    ("proxy_close_stream", close_stream),
    ("proxy_get_status", get_status),
    ("proxy_send_local_response", send_local_response),
];

/// `{"stream": 0}` (0 request, 1 response, 2 downstream, 3 upstream)
fn continue_stream(args: &Args) -> Option<i64> {
    // SAFETY: plain integer argument.
    let status = unsafe { ffi::proxy_continue_stream(args.u32("stream", 0)) };
    Line::call("proxy_continue_stream", status).emit();
    None
}

/// `{"stream": 0}`
fn close_stream(args: &Args) -> Option<i64> {
    // SAFETY: plain integer argument.
    let status = unsafe { ffi::proxy_close_stream(args.u32("stream", 0)) };
    Line::call("proxy_close_stream", status).emit();
    None
}

/// `{}` -> `code N message "..."`
fn get_status(_: &Args) -> Option<i64> {
    let (mut code, mut data, mut size) = (0u32, null_mut(), 0usize);
    // SAFETY: valid out-pointers.
    let status = unsafe { ffi::proxy_get_status(&mut code, &mut data, &mut size) };
    let line = Line::call("proxy_get_status", status);
    if status == 0 {
        line.int("code", code)
            .bytes("message", &returned(data, size))
            .emit();
        return Some(i64::from(code));
    }
    line.emit();
    None
}

/// `{"status": 403, "details": "denied", "body": "no", "headers": [["x-a", "1"]], "grpc_status": -1}`
fn send_local_response(args: &Args) -> Option<i64> {
    let (details, body, headers) = (
        args.bytes("details"),
        args.bytes("body"),
        args.pairs("headers"),
    );
    // SAFETY: pointers and lengths describe the three local buffers.
    let status = unsafe {
        ffi::proxy_send_local_response(
            args.u32("status", 200),
            details.as_ptr(),
            details.len(),
            body.as_ptr(),
            body.len(),
            headers.as_ptr(),
            headers.len(),
            args.int("grpc_status", -1) as i32,
        )
    };
    Line::call("proxy_send_local_response", status).emit();
    None
}
