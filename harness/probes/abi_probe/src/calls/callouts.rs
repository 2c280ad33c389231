//! HTTP and gRPC callouts. Each returns the call's token (save it with `"save": "tok"`).

use super::Handler;
use crate::ffi;
use crate::out::Line;
use crate::program::Args;

pub const CALLS: &[(&str, Handler)] = &[
    ("proxy_http_call", http_call),
    ("proxy_grpc_call", grpc_call),
    ("proxy_grpc_stream", grpc_stream),
    ("proxy_grpc_send", grpc_send),
    ("proxy_grpc_cancel", grpc_cancel),
    ("proxy_grpc_close", grpc_close),
];

/// Logs the status, and the token when the call was accepted.
fn token_line(name: &str, status: u32, token: u32) -> Option<i64> {
    let line = Line::call(name, status);
    if status == 0 {
        line.int("token", token).emit();
        return Some(i64::from(token));
    }
    line.emit();
    None
}

/// `{"cluster": "auth", "headers": [[":method","GET"],[":path","/"],[":authority","auth"]],
///   "body": "", "trailers": [], "timeout": 1000}` -> `token N`
fn http_call(args: &Args) -> Option<i64> {
    let cluster = args.bytes("cluster");
    let (headers, body, trailers) = (
        args.pairs("headers"),
        args.bytes("body"),
        args.pairs("trailers"),
    );
    let mut token = 0u32;
    // SAFETY: pointers and lengths describe local buffers; valid out-pointer.
    let status = unsafe {
        ffi::proxy_http_call(
            cluster.as_ptr(),
            cluster.len(),
            headers.as_ptr(),
            headers.len(),
            body.as_ptr(),
            body.len(),
            trailers.as_ptr(),
            trailers.len(),
            args.u32("timeout", 1000),
            &mut token,
        )
    };
    token_line("proxy_http_call", status, token)
}

/// `{"cluster": "grpc", "service": "pkg.Svc", "method": "Do", "metadata": [["k","v"]],
///   "message": "bytes", "timeout": 1000}` -> `token N`
fn grpc_call(args: &Args) -> Option<i64> {
    let (cluster, service, method) = (
        args.bytes("cluster"),
        args.bytes("service"),
        args.bytes("method"),
    );
    let (metadata, message) = (args.pairs("metadata"), args.bytes("message"));
    let mut token = 0u32;
    // SAFETY: pointers and lengths describe local buffers; valid out-pointer.
    let status = unsafe {
        ffi::proxy_grpc_call(
            cluster.as_ptr(),
            cluster.len(),
            service.as_ptr(),
            service.len(),
            method.as_ptr(),
            method.len(),
            metadata.as_ptr(),
            metadata.len(),
            message.as_ptr(),
            message.len(),
            args.u32("timeout", 1000),
            &mut token,
        )
    };
    token_line("proxy_grpc_call", status, token)
}

/// `{"cluster": "grpc", "service": "pkg.Svc", "method": "Watch", "metadata": []}` -> `token N`
fn grpc_stream(args: &Args) -> Option<i64> {
    let (cluster, service, method) = (
        args.bytes("cluster"),
        args.bytes("service"),
        args.bytes("method"),
    );
    let metadata = args.pairs("metadata");
    let mut token = 0u32;
    // SAFETY: pointers and lengths describe local buffers; valid out-pointer.
    let status = unsafe {
        ffi::proxy_grpc_stream(
            cluster.as_ptr(),
            cluster.len(),
            service.as_ptr(),
            service.len(),
            method.as_ptr(),
            method.len(),
            metadata.as_ptr(),
            metadata.len(),
            &mut token,
        )
    };
    token_line("proxy_grpc_stream", status, token)
}

/// `{"token": "$s", "message": "hi", "end_stream": false}`
fn grpc_send(args: &Args) -> Option<i64> {
    let message = args.bytes("message");
    // SAFETY: pointer and length describe `message`.
    let status = unsafe {
        ffi::proxy_grpc_send(
            args.u32("token", 0),
            message.as_ptr(),
            message.len(),
            args.u32("end_stream", 0),
        )
    };
    Line::call("proxy_grpc_send", status).emit();
    None
}

/// `{"token": "$s"}`
fn grpc_cancel(args: &Args) -> Option<i64> {
    // SAFETY: plain integer argument.
    let status = unsafe { ffi::proxy_grpc_cancel(args.u32("token", 0)) };
    Line::call("proxy_grpc_cancel", status).emit();
    None
}

/// `{"token": "$s"}`
fn grpc_close(args: &Args) -> Option<i64> {
    // SAFETY: plain integer argument.
    let status = unsafe { ffi::proxy_grpc_close(args.u32("token", 0)) };
    Line::call("proxy_grpc_close", status).emit();
    None
}
