//! The filter's metrics, all under the `request_logging.` prefix (Envoy shows them as
//! `wasmcustom.request_logging.*`).

use crate::status::{class_index, CLASS_NAMES};
use filter_common::metrics::{Counter, Histogram};

pub const PREFIX: &str = "request_logging.";

pub struct Metrics {
    /// Requests by final status class: `status_none` (no response), `status_1xx` ..
    /// `status_5xx`, `status_other`.
    by_class: [Counter; 7],
    /// Lines written.
    pub logged: Counter,
    /// Requests not logged because of `sample_rate`.
    pub sampled_out: Counter,
    /// Requests not logged because their status is not in `only_status`.
    pub filtered_out: Counter,
    /// Request duration in milliseconds, for every request (logged or not).
    pub duration_ms: Histogram,
}

impl Metrics {
    pub fn define() -> Self {
        let name = |suffix: &str| format!("{PREFIX}{suffix}");
        Metrics {
            by_class: CLASS_NAMES.map(|class| Counter::define(&name(&format!("status_{class}")))),
            logged: Counter::define(&name("logged")),
            sampled_out: Counter::define(&name("sampled_out")),
            filtered_out: Counter::define(&name("filtered_out")),
            duration_ms: Histogram::define(&name("duration_ms")),
        }
    }

    pub fn count_status(&self, status: u16) {
        if let Some(counter) = self.by_class.get(class_index(status)) {
            counter.inc();
        }
    }
}
