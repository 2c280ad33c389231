//! `proxy_get_property`, `proxy_set_property`. Paths are NUL-joined segments. Lookup order:
//! values the test set and the default table, per-stream attributes (`request.*`,
//! `response.*`), then filter state `wasm.<name>` (what `set_property(name)` stored).

use crate::abi::status::{NOT_FOUND, OK};
use crate::memory::{copy_out, read, Cx};
use crate::props::stream_property;
use crate::state::{Context, HostState};
use wasmtime::Linker;

pub(crate) const FILTER_STATE_PREFIX: &str = "wasm.";

pub(crate) fn lookup(s: &HostState, raw: &[u8]) -> Result<Vec<u8>, i32> {
    let text = String::from_utf8_lossy(raw);
    let segs: Vec<&str> = text.split('\0').filter(|p| !p.is_empty()).collect();
    if let Some(v) = s.props.table.get(&segs.join("\0")) {
        return v.clone();
    }
    if let Some(Context::Http(h)) = s.contexts.get(&s.effective) {
        let settings = s.props.settings.as_ref();
        if let Some(v) = settings.and_then(|set| stream_property(&segs, h, set)) {
            return Ok(v);
        }
    }
    let fs = s.filter_state(s.effective);
    let found = match segs.as_slice() {
        ["filter_state", key] => fs.get(*key),
        [name] => fs.get(&format!("{FILTER_STATE_PREFIX}{name}")),
        _ => None,
    };
    found.cloned().ok_or(NOT_FOUND)
}

pub(crate) fn add(l: &mut Linker<HostState>) -> wasmtime::Result<()> {
    l.func_wrap(
        "env",
        "proxy_get_property",
        |mut cx: Cx<'_>, pp: i32, pl: i32, vpp: i32, vsp: i32| -> wasmtime::Result<i32> {
            let path = match read(&cx, pp, pl) {
                Ok(p) => p,
                Err(s) => return Ok(s),
            };
            match lookup(cx.data(), &path) {
                Ok(v) => copy_out(&mut cx, &v, vpp, vsp),
                Err(s) => Ok(s),
            }
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_set_property",
        |mut cx: Cx<'_>, pp: i32, pl: i32, vp: i32, vl: i32| -> i32 {
            let (path, value) = match read(&cx, pp, pl).and_then(|p| Ok((p, read(&cx, vp, vl)?))) {
                Ok(pv) => pv,
                Err(s) => return s,
            };
            let s = cx.data_mut();
            if !matches!(
                s.contexts.get(&s.effective),
                Some(Context::Http(_) | Context::Tcp(_))
            ) {
                // Envoy has no filter state outside a stream.
                return NOT_FOUND;
            }
            let key = format!("{FILTER_STATE_PREFIX}{}", String::from_utf8_lossy(&path));
            let ctx = s.effective;
            s.filter_state_mut(ctx).insert(key, value);
            OK
        },
    )?;
    Ok(())
}
