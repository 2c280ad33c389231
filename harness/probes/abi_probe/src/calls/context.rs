//! Context, logging, clock and timer host calls.

use super::Handler;
use crate::ffi;
use crate::out::Line;
use crate::program::Args;

pub const CALLS: &[(&str, Handler)] = &[
    ("proxy_done", done),
    ("proxy_set_effective_context", set_effective_context),
    ("proxy_log", log),
    ("proxy_get_log_level", get_log_level),
    ("proxy_get_current_time_nanoseconds", get_current_time),
    ("proxy_set_tick_period_milliseconds", set_tick_period),
];

/// `{}`
fn done(_: &Args) -> Option<i64> {
    // SAFETY: no arguments.
    let status = unsafe { ffi::proxy_done() };
    Line::call("proxy_done", status).emit();
    None
}

/// `{"context": 2}` (or `"$ctx"`)
fn set_effective_context(args: &Args) -> Option<i64> {
    // SAFETY: plain integer argument.
    let status = unsafe { ffi::proxy_set_effective_context(args.u32("context", 0)) };
    Line::call("proxy_set_effective_context", status).emit();
    None
}

/// `{"level": 2, "message": "hello"}`: the message is the logged line; the status follows it.
fn log(args: &Args) -> Option<i64> {
    let message = args.bytes("message");
    // SAFETY: pointer and length describe `message`.
    let status = unsafe { ffi::proxy_log(args.u32("level", 2), message.as_ptr(), message.len()) };
    Line::call("proxy_log", status).emit();
    None
}

/// `{}` -> `level N`
fn get_log_level(_: &Args) -> Option<i64> {
    let mut level = 0u32;
    // SAFETY: valid out-pointer.
    let status = unsafe { ffi::proxy_get_log_level(&mut level) };
    let line = Line::call("proxy_get_log_level", status);
    if status == 0 {
        line.int("level", level).emit();
        return Some(i64::from(level));
    }
    line.emit();
    None
}

/// `{}` -> `time N` (nanoseconds since the epoch)
fn get_current_time(_: &Args) -> Option<i64> {
    let mut time = 0u64;
    // SAFETY: valid out-pointer.
    let status = unsafe { ffi::proxy_get_current_time_nanoseconds(&mut time) };
    let line = Line::call("proxy_get_current_time_nanoseconds", status);
    if status == 0 {
        line.int("time", time).emit();
        return Some(time as i64);
    }
    line.emit();
    None
}

/// `{"period": 1000}` (milliseconds; 0 stops the timer)
fn set_tick_period(args: &Args) -> Option<i64> {
    // SAFETY: plain integer argument.
    let status = unsafe { ffi::proxy_set_tick_period_milliseconds(args.u32("period", 0)) };
    Line::call("proxy_set_tick_period_milliseconds", status).emit();
    None
}
