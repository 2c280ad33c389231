//! The filter's counters, all under the `auth_check.` prefix (Envoy shows them as
//! `wasmcustom.auth_check.*`).

use filter_common::metrics::Counter;

/// Why a request was refused; each reason has its own counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// No credential in the request.
    Missing,
    /// A credential that cannot be parsed (bad base64, no `:`, other scheme).
    Malformed,
    /// Unknown key, unknown user or wrong password.
    Invalid,
    /// The authorization service answered 401 or 403.
    Remote,
    /// The authorization service failed and `failure_mode_allow` is false.
    Unavailable,
}

impl Reason {
    pub fn name(self) -> &'static str {
        match self {
            Reason::Missing => "missing_credentials",
            Reason::Malformed => "malformed_credentials",
            Reason::Invalid => "invalid_credentials",
            Reason::Remote => "remote_denied",
            Reason::Unavailable => "service_unavailable",
        }
    }

    const ALL: [Reason; 5] = [
        Reason::Missing,
        Reason::Malformed,
        Reason::Invalid,
        Reason::Remote,
        Reason::Unavailable,
    ];
}

pub struct Metrics {
    /// Requests whose credentials were accepted.
    pub allowed: Counter,
    /// Requests on an exempt path (not checked).
    pub exempt: Counter,
    /// Requests let through without a verdict because the auth service failed (fail-open).
    pub failure_mode_allowed: Counter,
    /// Authorization service failures: timeout, connection failure, 5xx, unexpected status.
    pub errors: Counter,
    denied: [Counter; 5],
}

impl Metrics {
    pub fn define() -> Self {
        Metrics {
            allowed: Counter::define("auth_check.allowed"),
            exempt: Counter::define("auth_check.exempt"),
            failure_mode_allowed: Counter::define("auth_check.failure_mode_allowed"),
            errors: Counter::define("auth_check.errors"),
            denied: Reason::ALL
                .map(|r| Counter::define(&format!("auth_check.denied.{}", r.name()))),
        }
    }

    pub fn denied(&self, reason: Reason) -> Counter {
        self.denied[reason as usize]
    }
}
