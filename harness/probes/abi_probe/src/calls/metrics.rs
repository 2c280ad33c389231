//! Metrics: define (counter 0, gauge 1, histogram 2), record, increment, read.

use super::Handler;
use crate::ffi;
use crate::out::Line;
use crate::program::Args;

pub const CALLS: &[(&str, Handler)] = &[
    ("proxy_define_metric", define),
    ("proxy_record_metric", record),
    ("proxy_increment_metric", increment),
    ("proxy_get_metric", get),
];

/// `{"kind": 0, "name": "probe.requests"}` -> `metric N`
fn define(args: &Args) -> Option<i64> {
    let name = args.bytes("name");
    let mut id = 0u32;
    // SAFETY: pointer and length describe `name`; valid out-pointer.
    let status = unsafe {
        ffi::proxy_define_metric(args.u32("kind", 0), name.as_ptr(), name.len(), &mut id)
    };
    let line = Line::call("proxy_define_metric", status);
    if status == 0 {
        line.int("metric", id).emit();
        return Some(i64::from(id));
    }
    line.emit();
    None
}

/// `{"metric": "$m", "value": 7}`
fn record(args: &Args) -> Option<i64> {
    // SAFETY: plain integer arguments.
    let status =
        unsafe { ffi::proxy_record_metric(args.u32("metric", 0), args.int("value", 0) as u64) };
    Line::call("proxy_record_metric", status).emit();
    None
}

/// `{"metric": "$m", "offset": -1}`
fn increment(args: &Args) -> Option<i64> {
    // SAFETY: plain integer arguments.
    let status =
        unsafe { ffi::proxy_increment_metric(args.u32("metric", 0), args.int("offset", 1)) };
    Line::call("proxy_increment_metric", status).emit();
    None
}

/// `{"metric": "$m"}` -> `value N`
fn get(args: &Args) -> Option<i64> {
    let mut value = 0u64;
    // SAFETY: valid out-pointer.
    let status = unsafe { ffi::proxy_get_metric(args.u32("metric", 0), &mut value) };
    let line = Line::call("proxy_get_metric", status);
    if status == 0 {
        line.int("value", value).emit();
        return Some(value as i64);
    }
    line.emit();
    None
}
