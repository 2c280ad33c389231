//! The WASI subset Envoy provides (`wasi_snapshot_preview1` and the older `wasi_unstable`):
//! stdout/stderr to the log, clocks (the virtual clock), random, environ, args, `proc_exit`,
//! and the stubs language runtimes probe at start (no files, no preopens).

use crate::memory::{read, write, write_u32, write_u64, Cx};
use crate::state::HostState;
use crate::types::Level;
use wasmtime::Linker;

pub const MODULES: [&str; 2] = ["wasi_snapshot_preview1", "wasi_unstable"];
pub const FUNCTIONS: [&str; 21] = [
    "fd_write",
    "fd_read",
    "fd_seek",
    "fd_close",
    "fd_fdstat_get",
    "fd_fdstat_set_flags",
    "fd_prestat_get",
    "fd_prestat_dir_name",
    "fd_filestat_get",
    "path_open",
    "path_filestat_get",
    "environ_get",
    "environ_sizes_get",
    "args_get",
    "args_sizes_get",
    "clock_time_get",
    "clock_res_get",
    "random_get",
    "sched_yield",
    "poll_oneoff",
    "proc_exit",
];

const SUCCESS: i32 = 0;
const EBADF: i32 = 8;
const EFAULT: i32 = 21;
const ENOSYS: i32 = 52;
const ENOTSUP: i32 = 58;
const ESPIPE: i32 = 70;

fn errno(r: Result<(), i32>) -> i32 {
    if r.is_ok() {
        SUCCESS
    } else {
        EFAULT
    }
}

/// Writes `items` as a WASI string vector: pointers at `ptrs`, NUL-terminated bytes at `buf`.
fn write_vec(cx: &mut Cx<'_>, items: &[Vec<u8>], ptrs: i32, buf: i32) -> Result<(), i32> {
    let mut at = buf as u32;
    for (i, item) in items.iter().enumerate() {
        write_u32(cx, ptrs + 4 * i as i32, at)?;
        let mut z = item.clone();
        z.push(0);
        write(cx, at as i32, &z)?;
        at += z.len() as u32;
    }
    Ok(())
}

fn env_items(s: &HostState) -> Vec<Vec<u8>> {
    s.env
        .iter()
        .map(|(k, v)| format!("{k}={v}").into_bytes())
        .collect()
}

fn add_module(l: &mut Linker<HostState>, m: &str) -> wasmtime::Result<()> {
    l.func_wrap(
        m,
        "fd_write",
        |mut cx: Cx<'_>, fd: i32, iovs: i32, n: i32, written: i32| -> i32 {
            let level = match fd {
                1 => Level::Info,
                2 => Level::Error,
                _ => return EBADF,
            };
            let mut text = Vec::new();
            for i in 0..n {
                let iov = match read(&cx, iovs + 8 * i, 8) {
                    Ok(v) => v,
                    Err(_) => return EFAULT,
                };
                let p = i32::from_le_bytes([iov[0], iov[1], iov[2], iov[3]]);
                let l = i32::from_le_bytes([iov[4], iov[5], iov[6], iov[7]]);
                match read(&cx, p, l) {
                    Ok(b) => text.extend_from_slice(&b),
                    Err(_) => return EFAULT,
                }
            }
            let len = text.len() as u32;
            let msg = String::from_utf8_lossy(&text);
            cx.data_mut()
                .log(level, msg.strip_suffix('\n').unwrap_or(&msg).to_string());
            errno(write_u32(&mut cx, written, len))
        },
    )?;
    l.func_wrap(
        m,
        "fd_read",
        |_: Cx<'_>, _: i32, _: i32, _: i32, _: i32| -> i32 { ENOSYS },
    )?;
    l.func_wrap(
        m,
        "fd_seek",
        |_: Cx<'_>, _: i32, _: i64, _: i32, _: i32| -> i32 { ESPIPE },
    )?;
    l.func_wrap(m, "fd_close", |_: Cx<'_>, _: i32| -> i32 { EBADF })?;
    l.func_wrap(
        m,
        "fd_fdstat_get",
        |mut cx: Cx<'_>, fd: i32, out: i32| -> i32 {
            if !(0..=2).contains(&fd) {
                return EBADF;
            }
            // filetype CHARACTER_DEVICE (2), no flags, all rights.
            let mut st = [0u8; 24];
            st[0] = 2;
            st[8..16].copy_from_slice(&u64::MAX.to_le_bytes());
            st[16..24].copy_from_slice(&u64::MAX.to_le_bytes());
            errno(write(&mut cx, out, &st))
        },
    )?;
    l.func_wrap(
        m,
        "fd_fdstat_set_flags",
        |_: Cx<'_>, _: i32, _: i32| -> i32 { ENOSYS },
    )?;
    l.func_wrap(m, "fd_prestat_get", |_: Cx<'_>, _: i32, _: i32| -> i32 {
        EBADF
    })?;
    l.func_wrap(
        m,
        "fd_prestat_dir_name",
        |_: Cx<'_>, _: i32, _: i32, _: i32| -> i32 { EBADF },
    )?;
    l.func_wrap(m, "fd_filestat_get", |_: Cx<'_>, _: i32, _: i32| -> i32 {
        ENOTSUP
    })?;
    l.func_wrap(
        m,
        "path_open",
        |_: Cx<'_>,
         _: i32,
         _: i32,
         _: i32,
         _: i32,
         _: i32,
         _: i64,
         _: i64,
         _: i32,
         _: i32|
         -> i32 { ENOTSUP },
    )?;
    l.func_wrap(
        m,
        "path_filestat_get",
        |_: Cx<'_>, _: i32, _: i32, _: i32, _: i32, _: i32| -> i32 { ENOTSUP },
    )?;
    l.func_wrap(
        m,
        "environ_sizes_get",
        |mut cx: Cx<'_>, count: i32, size: i32| -> i32 {
            let items = env_items(cx.data());
            let bytes: usize = items.iter().map(|i| i.len() + 1).sum();
            errno(
                write_u32(&mut cx, count, items.len() as u32)
                    .and_then(|_| write_u32(&mut cx, size, bytes as u32)),
            )
        },
    )?;
    l.func_wrap(
        m,
        "environ_get",
        |mut cx: Cx<'_>, ptrs: i32, buf: i32| -> i32 {
            let items = env_items(cx.data());
            errno(write_vec(&mut cx, &items, ptrs, buf))
        },
    )?;
    l.func_wrap(
        m,
        "args_sizes_get",
        |mut cx: Cx<'_>, count: i32, size: i32| -> i32 {
            errno(write_u32(&mut cx, count, 0).and_then(|_| write_u32(&mut cx, size, 0)))
        },
    )?;
    l.func_wrap(m, "args_get", |_: Cx<'_>, _: i32, _: i32| -> i32 {
        SUCCESS
    })?;
    l.func_wrap(
        m,
        "clock_time_get",
        |mut cx: Cx<'_>, id: i32, _precision: i64, out: i32| -> i32 {
            let t = match id {
                0 => cx.data().clock_ns,
                1 => cx.data().monotonic_ns,
                _ => return ENOTSUP,
            };
            errno(write_u64(&mut cx, out, t))
        },
    )?;
    l.func_wrap(
        m,
        "clock_res_get",
        |mut cx: Cx<'_>, id: i32, out: i32| -> i32 {
            if !(0..=1).contains(&id) {
                return ENOTSUP;
            }
            errno(write_u64(&mut cx, out, 1))
        },
    )?;
    l.func_wrap(
        m,
        "random_get",
        |mut cx: Cx<'_>, buf: i32, len: i32| -> i32 {
            // Deterministic per VM (xorshift), so runs are reproducible.
            let mut bytes = vec![0u8; len as u32 as usize];
            let s = cx.data_mut();
            for b in bytes.iter_mut() {
                s.rng ^= s.rng << 13;
                s.rng ^= s.rng >> 7;
                s.rng ^= s.rng << 17;
                *b = s.rng as u8;
            }
            errno(write(&mut cx, buf, &bytes))
        },
    )?;
    l.func_wrap(m, "sched_yield", |_: Cx<'_>| -> i32 { SUCCESS })?;
    l.func_wrap(
        m,
        "poll_oneoff",
        |_: Cx<'_>, _: i32, _: i32, _: i32, _: i32| -> i32 { ENOSYS },
    )?;
    l.func_wrap(
        m,
        "proc_exit",
        |_: Cx<'_>, code: i32| -> wasmtime::Result<()> {
            Err(wasmtime::Error::new(crate::plugin::ProcExit(code)))
        },
    )?;
    Ok(())
}

pub(crate) fn add(l: &mut Linker<HostState>) -> wasmtime::Result<()> {
    for m in MODULES {
        add_module(l, m)?;
    }
    l.func_wrap(
        "env",
        "emscripten_notify_memory_growth",
        |_: Cx<'_>, _: i32| {},
    )?;
    Ok(())
}
