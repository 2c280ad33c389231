//! Metrics: `proxy_define_metric`, `proxy_increment_metric`, `proxy_record_metric`,
//! `proxy_get_metric`. Counters only go up (record adds, as Envoy does); histograms can be
//! recorded, not read. Metrics live in the host, shared by its VMs like Envoy's stats store.

use crate::abi::metric::{COUNTER, GAUGE, HISTOGRAM};
use crate::abi::status::{BAD_ARGUMENT, OK};
use crate::host::st;
use crate::memory::{read_str, write_u32, write_u64, Cx};
use crate::state::{HostState, Metric, SharedState};
use crate::types::MetricKind;
use std::sync::MutexGuard;
use wasmtime::Linker;

/// Ids carry the type in the low bits, like Envoy's.
fn id(index: usize, kind: MetricKind) -> u32 {
    let t = match kind {
        MetricKind::Counter => 0,
        MetricKind::Gauge => 1,
        MetricKind::Histogram => 2,
    };
    ((index as u32) << 2) | t
}

fn metric(s: &mut SharedState, metric_id: i32) -> Option<&mut Metric> {
    let index = (metric_id as u32 >> 2) as usize;
    let m = s.metrics.get_mut(index)?;
    (id(index, m.kind) == metric_id as u32).then_some(m)
}

fn shared<'a>(cx: &'a Cx<'_>) -> MutexGuard<'a, SharedState> {
    cx.data().shared.lock().unwrap_or_else(|e| e.into_inner())
}

pub(crate) fn add(l: &mut Linker<HostState>) -> wasmtime::Result<()> {
    l.func_wrap(
        "env",
        "proxy_define_metric",
        |mut cx: Cx<'_>, kind: i32, np: i32, nl: i32, id_ptr: i32| -> i32 {
            let kind = match kind {
                COUNTER => MetricKind::Counter,
                GAUGE => MetricKind::Gauge,
                HISTOGRAM => MetricKind::Histogram,
                _ => return BAD_ARGUMENT,
            };
            let name = match read_str(&cx, np, nl) {
                Ok(n) => n,
                Err(s) => return s,
            };
            let index = {
                let mut s = shared(&cx);
                match s
                    .metrics
                    .iter()
                    .position(|m| m.name == name && m.kind == kind)
                {
                    Some(i) => i,
                    None => {
                        s.metrics.push(Metric {
                            name,
                            kind,
                            value: 0,
                            samples: Vec::new(),
                        });
                        s.metrics.len() - 1
                    }
                }
            };
            st(write_u32(&mut cx, id_ptr, id(index, kind)))
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_increment_metric",
        |cx: Cx<'_>, metric_id: i32, offset: i64| -> i32 {
            let mut s = shared(&cx);
            let Some(m) = metric(&mut s, metric_id) else {
                return BAD_ARGUMENT;
            };
            match m.kind {
                MetricKind::Counter if offset >= 0 => m.value = m.value.wrapping_add(offset),
                MetricKind::Gauge => m.value = m.value.wrapping_add(offset),
                _ => return BAD_ARGUMENT,
            }
            OK
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_record_metric",
        |cx: Cx<'_>, metric_id: i32, value: i64| -> i32 {
            let mut s = shared(&cx);
            let Some(m) = metric(&mut s, metric_id) else {
                return BAD_ARGUMENT;
            };
            match m.kind {
                // Envoy adds the recorded value to a counter.
                MetricKind::Counter => m.value = m.value.wrapping_add(value),
                MetricKind::Gauge => m.value = value,
                MetricKind::Histogram => {
                    m.samples.push(value as u64);
                    m.value = m.samples.len() as i64;
                }
            }
            OK
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_get_metric",
        |mut cx: Cx<'_>, metric_id: i32, out: i32| -> i32 {
            let v = match metric(&mut shared(&cx), metric_id) {
                None => return BAD_ARGUMENT,
                Some(m) if m.kind == MetricKind::Histogram => return BAD_ARGUMENT,
                Some(m) => m.value,
            };
            st(write_u64(&mut cx, out, v as u64))
        },
    )?;
    Ok(())
}
