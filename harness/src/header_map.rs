//! Envoy's header-map rules for `proxy_add_header_map_value`, `_replace_`, `_remove_`, `_get_`
//! and `proxy_set_header_map_pairs`, and for the maps its HTTP/1.1 codec builds.
//!
//! Envoy keeps some headers "inline" (O(1) slots; `envoy/http/header_map.h` lines 172–265, macros
//! `INLINE_REQ_HEADERS`, `INLINE_RESP_HEADERS`, `INLINE_REQ_RESP_HEADERS`,
//! `INLINE_RESP_HEADERS_TRAILERS`, plus the `RegisterCustomInlineHeader` registrations of the
//! extensions linked into the binary). An inline header has one entry: adding it again appends
//! `,value` to that entry (`HeaderMapImpl::insertByKey` → `appendToHeader` in
//! `source/common/http/header_map_impl.cc`; an empty value appends nothing, an empty entry gets
//! no comma). In request headers the legacy name `host` is `:authority`'s slot. Envoy's wasm host
//! calls `addCopy` for `add` and for each pair of `set_pairs`. The sets below are what Envoy 1.40
//! answered to `harness/probes/abi_probe/envoy/programs/inline_*.json` (harness/probes/ENVOY.md,
//! "Inline headers"): the built-in lists plus the extensions' registrations.

use crate::abi::map::*;
use crate::types::Headers;

/// Inline in request and response headers (`INLINE_REQ_RESP_HEADERS`).
const REQ_RESP: &[&str] = &[
    "connection",
    "content-type",
    "x-envoy-decorator-operation",
    "keep-alive",
    "proxy-connection",
    "proxy-status",
    "x-request-id",
    "transfer-encoding",
    "upgrade",
    "via",
    "content-length",
    "x-envoy-attempt-count",
];

/// Inline in request headers only (`INLINE_REQ_HEADERS`, pseudo-headers included) and the
/// request-header registrations of Envoy 1.40's extensions.
const REQ: &[&str] = &[
    ":authority",
    ":method",
    ":path",
    ":protocol",
    ":scheme",
    "x-client-trace-id",
    "x-envoy-downstream-service-cluster",
    "x-envoy-downstream-service-node",
    "x-envoy-external-address",
    "x-envoy-force-trace",
    "x-envoy-hedge-on-per-try-timeout",
    "x-envoy-internal",
    "x-envoy-ip-tags",
    "x-envoy-retry-on",
    "x-envoy-retry-grpc-on",
    "x-envoy-retriable-status-codes",
    "x-envoy-retriable-header-names",
    "x-envoy-original-path",
    "x-envoy-original-url",
    "x-envoy-upstream-alt-stat-name",
    "x-envoy-upstream-rq-timeout-alt-response",
    "expect",
    "x-forwarded-client-cert",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
    "grpc-timeout",
    "te",
    "user-agent",
    "x-envoy-expected-rq-timeout-ms",
    "x-envoy-max-retries",
    "x-envoy-upstream-rq-timeout-ms",
    "x-envoy-upstream-rq-per-try-timeout-ms",
    "x-envoy-upstream-stream-duration-ms",
];

/// Inline in response headers only (`INLINE_RESP_HEADERS`, `INLINE_RESP_HEADERS_TRAILERS`) and
/// the response-header registrations of Envoy 1.40's extensions.
const RESP: &[&str] = &[
    ":status",
    "date",
    "x-envoy-degraded",
    "x-envoy-immediate-health-check-fail",
    "x-envoy-ratelimited",
    "x-envoy-upstream-canary",
    "x-envoy-upstream-healthchecked-cluster",
    "location",
    "server",
    "x-envoy-upstream-service-time",
    "grpc-message",
    "grpc-status",
];

/// Inline in response trailers (`INLINE_RESP_HEADERS_TRAILERS`) and the extensions'
/// response-trailer registrations.
const RESP_TRAILERS: &[&str] = &["grpc-message", "grpc-status"];

/// Request trailers: no built-in inline headers, and no extension of Envoy 1.40 registers one.
const REQ_TRAILERS: &[&str] = &[];

/// Request-header registrations of the extensions in Envoy 1.40's build (CORS, cache, compressor,
/// auth filters, ...): measured, see the module comment.
const EXT_REQ: &[&str] = &[
    "accept",
    "accept-encoding",
    "access-control-request-headers",
    "access-control-request-method",
    "access-control-request-private-network",
    "authentication",
    "authorization",
    "cache-control",
    "cdn-loop",
    "content-encoding",
    "grpc-accept-encoding",
    "if-match",
    "if-none-match",
    "if-modified-since",
    "if-unmodified-since",
    "if-range",
    "origin",
    "pragma",
    "referer",
];

/// Response-header registrations of the extensions in Envoy 1.40's build: measured.
const EXT_RESP: &[&str] = &[
    "access-control-allow-origin",
    "access-control-allow-headers",
    "access-control-allow-methods",
    "access-control-allow-private-network",
    "access-control-expose-headers",
    "access-control-max-age",
    "access-control-allow-credentials",
    "age",
    "cache-control",
    "content-encoding",
    "etag",
    "last-modified",
    "vary",
    "expires",
];

/// The map's inline slot for `name` (lower-case), if it has one: the canonical name.
pub(crate) fn inline_slot(kind: i32, name: &str) -> Option<&'static str> {
    let lists: &[&[&'static str]] = match kind {
        HTTP_REQUEST_HEADERS => {
            if name == "host" {
                return Some(":authority");
            }
            &[REQ, REQ_RESP, EXT_REQ]
        }
        HTTP_RESPONSE_HEADERS => &[RESP, REQ_RESP, EXT_RESP],
        HTTP_REQUEST_TRAILERS => &[REQ_TRAILERS],
        HTTP_RESPONSE_TRAILERS => &[RESP_TRAILERS],
        _ => &[],
    };
    lists
        .iter()
        .flat_map(|l| l.iter())
        .find(|n| **n == name)
        .copied()
}

/// The name as the map stores it (`host` → `:authority` in request headers).
fn slot_name(kind: i32, name: &str) -> String {
    inline_slot(kind, name).map_or_else(|| name.to_string(), str::to_string)
}

/// Appends an entry; pseudo-headers go after the last pseudo-header, as Envoy orders them.
fn push(m: &mut Headers, name: String, value: Vec<u8>) {
    if name.starts_with(':') {
        let at = m.iter().take_while(|(k, _)| k.starts_with(':')).count();
        m.insert(at, (name, value));
    } else {
        m.push((name, value));
    }
}

/// Envoy's `addCopy`: an inline header already present gets `,value` appended to its entry;
/// anything else is a new entry at the end.
pub(crate) fn add(m: &mut Headers, kind: i32, name: String, value: Vec<u8>) {
    if inline_slot(kind, &name).is_some() {
        let name = slot_name(kind, &name);
        if let Some((_, existing)) = m.iter_mut().find(|(k, _)| *k == name) {
            if !value.is_empty() {
                if !existing.is_empty() {
                    existing.push(b',');
                }
                existing.extend_from_slice(&value);
            }
            return;
        }
        return push(m, name, value);
    }
    push(m, name, value)
}

/// The first value (`get_header_map_value`).
pub(crate) fn get<'a>(m: &'a Headers, kind: i32, name: &str) -> Option<&'a Vec<u8>> {
    let name = slot_name(kind, name);
    m.iter().find(|(k, _)| *k == name).map(|(_, v)| v)
}

/// Removes every value (`remove_header_map_value`).
pub(crate) fn remove(m: &mut Headers, kind: i32, name: &str) {
    let name = slot_name(kind, name);
    m.retain(|(k, _)| *k != name);
}

/// Envoy's `setCopy`: every value goes, the new one is appended.
pub(crate) fn replace(m: &mut Headers, kind: i32, name: String, value: Vec<u8>) {
    remove(m, kind, &name);
    add(m, kind, name, value);
}

/// A map built entry by entry as Envoy's codec and `set_header_map_pairs` build it.
pub(crate) fn build(kind: i32, pairs: impl IntoIterator<Item = (String, Vec<u8>)>) -> Headers {
    let mut m = Headers::new();
    for (k, v) in pairs {
        add(&mut m, kind, k, v);
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&str, &str)]) -> Headers {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn inline_headers_append_with_a_comma_others_add_an_entry() {
        let mut m = h(&[(":path", "/"), ("via", "a"), ("x-a", "1")]);
        add(&mut m, HTTP_REQUEST_HEADERS, "via".into(), b"b".to_vec());
        add(&mut m, HTTP_REQUEST_HEADERS, "x-a".into(), b"2".to_vec());
        assert_eq!(
            m,
            h(&[(":path", "/"), ("via", "a,b"), ("x-a", "1"), ("x-a", "2")])
        );
    }

    #[test]
    fn empty_values_append_nothing_and_take_no_comma() {
        let mut m = Headers::new();
        for v in ["", "v", "", "w"] {
            add(
                &mut m,
                HTTP_REQUEST_HEADERS,
                "x-forwarded-for".into(),
                v.into(),
            );
        }
        assert_eq!(m, h(&[("x-forwarded-for", "v,w")]));
    }

    #[test]
    fn host_is_the_authority_slot_in_request_headers_only() {
        let mut m = h(&[(":authority", "example.com")]);
        add(&mut m, HTTP_REQUEST_HEADERS, "host".into(), b"h2".to_vec());
        assert_eq!(m, h(&[(":authority", "example.com,h2")]));
        assert_eq!(
            get(&m, HTTP_REQUEST_HEADERS, "host"),
            Some(&b"example.com,h2".to_vec())
        );
        let mut r = Headers::new();
        add(&mut r, HTTP_RESPONSE_HEADERS, "host".into(), b"a".to_vec());
        add(&mut r, HTTP_RESPONSE_HEADERS, "host".into(), b"b".to_vec());
        assert_eq!(r, h(&[("host", "a"), ("host", "b")]));
    }

    #[test]
    fn each_map_has_its_own_inline_set() {
        assert!(inline_slot(HTTP_REQUEST_HEADERS, "user-agent").is_some());
        assert!(inline_slot(HTTP_RESPONSE_HEADERS, "user-agent").is_none());
        assert!(inline_slot(HTTP_RESPONSE_HEADERS, "location").is_some());
        assert!(inline_slot(HTTP_RESPONSE_TRAILERS, "grpc-status").is_some());
        assert!(inline_slot(HTTP_REQUEST_TRAILERS, "grpc-status").is_none());
    }
}
