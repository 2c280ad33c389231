//! The filter's metrics, all under the `request_logging.` prefix (Envoy shows them as
//! `wasmcustom.request_logging.*`).

use crate::status::class_index;
use filter_common::metrics::{Counter, Histogram};

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
        // Literal names (rather than `format!` of the prefix) keep formatting code out.
        Metrics {
            by_class: [
                Counter::define("request_logging.status_none"),
                Counter::define("request_logging.status_1xx"),
                Counter::define("request_logging.status_2xx"),
                Counter::define("request_logging.status_3xx"),
                Counter::define("request_logging.status_4xx"),
                Counter::define("request_logging.status_5xx"),
                Counter::define("request_logging.status_other"),
            ],
            logged: Counter::define("request_logging.logged"),
            sampled_out: Counter::define("request_logging.sampled_out"),
            filtered_out: Counter::define("request_logging.filtered_out"),
            duration_ms: Histogram::define("request_logging.duration_ms"),
        }
    }

    pub fn count_status(&self, status: u16) {
        if let Some(counter) = self.by_class.get(class_index(status)) {
            counter.inc();
        }
    }
}
