//! The WASI subset Envoy provides, called directly with exact arguments.

use super::Handler;
use crate::ffi;
use crate::out::Line;
use crate::program::Args;

pub const CALLS: &[(&str, Handler)] = &[
    ("fd_write", fd_write),
    ("clock_time_get", clock_time_get),
    ("random_get", random_get),
    ("environ_sizes_get", environ_sizes_get),
    ("environ_get", environ_get),
    ("args_sizes_get", args_sizes_get),
    ("args_get", args_get),
    ("proc_exit", proc_exit),
];

/// `{"fd": 1, "data": ["hello ", "world"]}` (one iovec per chunk, or one string) -> `written N`
fn fd_write(args: &Args) -> Option<i64> {
    let chunks: Vec<Vec<u8>> = match args.0.get("data") {
        Some(serde_json::Value::Array(list)) if list.iter().all(|c| c.is_string()) => list
            .iter()
            .map(|c| c.as_str().unwrap_or_default().as_bytes().to_vec())
            .collect(),
        _ => vec![args.bytes("data")],
    };
    // wasm32 iovec: { buf: u32, buf_len: u32 }.
    let iovecs: Vec<u32> = chunks
        .iter()
        .flat_map(|c| [c.as_ptr() as usize as u32, c.len() as u32])
        .collect();
    let mut written = 0usize;
    // SAFETY: `iovecs` describes `chunks`, both alive for the call; valid out-pointer.
    let errno = unsafe {
        ffi::fd_write(
            args.u32("fd", 1),
            iovecs.as_ptr(),
            chunks.len(),
            &mut written,
        )
    };
    let line = Line::wasi("fd_write", errno);
    if errno == 0 {
        line.int("written", written).emit();
        return Some(written as i64);
    }
    line.emit();
    None
}

/// `{"clock": 0, "precision": 1}` (0 realtime, 1 monotonic) -> `time N`
fn clock_time_get(args: &Args) -> Option<i64> {
    let mut time = 0u64;
    // SAFETY: valid out-pointer.
    let errno = unsafe {
        ffi::clock_time_get(
            args.u32("clock", 0),
            args.int("precision", 1) as u64,
            &mut time,
        )
    };
    let line = Line::wasi("clock_time_get", errno);
    if errno == 0 {
        line.int("time", time).emit();
        return Some(time as i64);
    }
    line.emit();
    None
}

/// `{"size": 16}` -> `bytes "..."`
fn random_get(args: &Args) -> Option<i64> {
    let mut buf = vec![0u8; args.int("size", 16) as usize];
    // SAFETY: pointer and length describe `buf`.
    let errno = unsafe { ffi::random_get(buf.as_mut_ptr(), buf.len()) };
    let line = Line::wasi("random_get", errno);
    if errno == 0 {
        line.bytes("bytes", &buf).emit();
    } else {
        line.emit();
    }
    None
}

type SizesGet = unsafe extern "C" fn(*mut usize, *mut usize) -> u32;
type ListGet = unsafe extern "C" fn(*mut *mut u8, *mut u8) -> u32;

/// `count N size N`
fn sizes(name: &str, call: SizesGet) -> Option<i64> {
    let (mut count, mut size) = (0usize, 0usize);
    // SAFETY: valid out-pointers.
    let errno = unsafe { call(&mut count, &mut size) };
    let line = Line::wasi(name, errno);
    if errno == 0 {
        line.int("count", count).int("size", size).emit();
        return Some(count as i64);
    }
    line.emit();
    None
}

/// Sizes the buffers with the `_sizes_get` call (as libc does, not logged), then fetches the list
/// and follows each returned pointer: `count N "A=1" "B=2"` (`bad-pointer` if one is off).
fn list(name: &str, sizes_get: SizesGet, get: ListGet) -> Option<i64> {
    let (mut count, mut size) = (0usize, 0usize);
    // SAFETY: valid out-pointers.
    let errno = unsafe { sizes_get(&mut count, &mut size) };
    if errno != 0 {
        Line::wasi(name, errno)
            .bytes("failed-in", b"sizes_get")
            .emit();
        return None;
    }
    let mut pointers = vec![std::ptr::null_mut::<u8>(); count];
    let mut buf = vec![0u8; size];
    // SAFETY: `pointers` holds `count` slots and `buf` `size` bytes, as the host asked for.
    let errno = unsafe { get(pointers.as_mut_ptr(), buf.as_mut_ptr()) };
    let mut line = Line::wasi(name, errno);
    if errno != 0 {
        line.emit();
        return None;
    }
    line = line.int("count", count);
    let base = buf.as_ptr() as usize;
    for pointer in pointers {
        let entry = (pointer as usize)
            .checked_sub(base)
            .and_then(|start| buf.get(start..))
            .and_then(|rest| rest.split(|b| *b == 0).next().filter(|_| rest.contains(&0)));
        match entry {
            Some(text) => line = line.item(text),
            None => {
                line.int("bad-pointer", pointer as usize).emit();
                return None;
            }
        }
    }
    line.emit();
    Some(count as i64)
}

/// `{}` -> `count N size N`
fn environ_sizes_get(_: &Args) -> Option<i64> {
    sizes("environ_sizes_get", ffi::environ_sizes_get)
}

/// `{}` -> `count N "K=V" ...`
fn environ_get(_: &Args) -> Option<i64> {
    list("environ_get", ffi::environ_sizes_get, ffi::environ_get)
}

/// `{}` -> `count N size N`
fn args_sizes_get(_: &Args) -> Option<i64> {
    sizes("args_sizes_get", ffi::args_sizes_get)
}

/// `{}` -> `count N "arg" ...`
fn args_get(_: &Args) -> Option<i64> {
    list("args_get", ffi::args_sizes_get, ffi::args_get)
}

/// `{"code": 3}`: logs `call proc_exit code N` first, since the call does not return.
fn proc_exit(args: &Args) -> Option<i64> {
    let code = args.u32("code", 0);
    crate::out::log(crate::out::INFO, &format!("call proc_exit code {code}"));
    // SAFETY: plain integer argument; never returns.
    unsafe { ffi::proc_exit(code) }
}
