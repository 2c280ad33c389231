//! What a run observably did, in a form both sides can be reduced to: per request what the
//! upstream received and what the client got (headers as name → values in order), the local
//! reply's details, the filter's log lines; and the filter's metrics at the end.

use std::collections::BTreeMap;

/// Header name → its values in order. Pseudo-headers included (`:method`, `:status`, ...).
pub type HeaderValues = BTreeMap<String, Vec<String>>;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Msg {
    pub headers: HeaderValues,
    pub body: String,
    pub trailers: HeaderValues,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RequestObs {
    pub label: String,
    /// None: the request never reached the upstream (the filter answered locally).
    pub upstream: Option<Msg>,
    pub client: Option<Msg>,
    /// Response code details of a local reply.
    pub local_reply_details: Option<String>,
    /// The filter's log lines during this request, as `level: message`.
    pub logs: Vec<String>,
    /// The request could not complete (harness error).
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Observation {
    /// Set when the plugin did not start (configuration rejected): the reason.
    pub rejected: Option<String>,
    pub requests: Vec<RequestObs>,
    /// Counters and gauges by the name the filter defined.
    pub metrics: BTreeMap<String, i64>,
}

/// Headers only a transport or Envoy's connection manager adds around the filter chain, not
/// something a filter did: left out of the comparison on both sides.
pub const IGNORED_UPSTREAM: &[&str] = &[
    ":scheme",
    "content-length",
    "transfer-encoding",
    "x-forwarded-proto",
    "x-envoy-expected-rq-timeout-ms",
];
pub const IGNORED_CLIENT: &[&str] = &[
    "content-length",
    "transfer-encoding",
    "date",
    "server",
    "connection",
    "x-envoy-upstream-service-time",
];

/// Groups `(name, value)` pairs by lower-cased name, dropping `ignored`.
pub fn group<'a>(
    pairs: impl IntoIterator<Item = (&'a str, String)>,
    ignored: &[&str],
) -> HeaderValues {
    let mut map = HeaderValues::new();
    for (name, value) in pairs {
        let name = name.to_ascii_lowercase();
        if ignored.contains(&name.as_str()) {
            continue;
        }
        map.entry(name).or_default().push(value);
    }
    map
}
