//! The host clock (Envoy's wall time; the harness's virtual clock).

use crate::proxy_wasm::hostcalls;
use std::time::{SystemTime, UNIX_EPOCH};

/// Host wall-clock time in nanoseconds since the Unix epoch; `None` if the host refuses.
pub fn now_nanos() -> Option<u64> {
    let now = hostcalls::get_current_time().ok()?;
    let since = now.duration_since(UNIX_EPOCH).ok()?;
    u64::try_from(since.as_nanos()).ok()
}

/// Host wall-clock time.
pub fn now() -> Option<SystemTime> {
    hostcalls::get_current_time().ok()
}
