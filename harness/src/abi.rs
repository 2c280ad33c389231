//! Numbers of proxy-wasm ABI v0.2.1 (spec: proxy-wasm/spec, abi-versions/v0.2.1).

/// `proxy_status_t` values returned by host functions.
pub mod status {
    pub const OK: i32 = 0;
    pub const NOT_FOUND: i32 = 1;
    pub const BAD_ARGUMENT: i32 = 2;
    pub const SERIALIZATION_FAILURE: i32 = 3;
    pub const PARSE_FAILURE: i32 = 4;
    pub const INVALID_MEMORY_ACCESS: i32 = 6;
    pub const EMPTY: i32 = 7;
    pub const CAS_MISMATCH: i32 = 8;
    pub const INTERNAL_FAILURE: i32 = 10;
    pub const UNIMPLEMENTED: i32 = 12;
}

/// `proxy_buffer_type_t`.
pub mod buffer {
    pub const HTTP_REQUEST_BODY: i32 = 0;
    pub const HTTP_RESPONSE_BODY: i32 = 1;
    pub const DOWNSTREAM_DATA: i32 = 2;
    pub const UPSTREAM_DATA: i32 = 3;
    pub const HTTP_CALL_RESPONSE_BODY: i32 = 4;
    pub const GRPC_RECEIVE_BUFFER: i32 = 5;
    pub const VM_CONFIGURATION: i32 = 6;
    pub const PLUGIN_CONFIGURATION: i32 = 7;
    pub const CALL_DATA: i32 = 8;
}

/// `proxy_map_type_t`.
pub mod map {
    pub const HTTP_REQUEST_HEADERS: i32 = 0;
    pub const HTTP_REQUEST_TRAILERS: i32 = 1;
    pub const HTTP_RESPONSE_HEADERS: i32 = 2;
    pub const HTTP_RESPONSE_TRAILERS: i32 = 3;
    pub const GRPC_RECEIVE_INITIAL_METADATA: i32 = 4;
    pub const GRPC_RECEIVE_TRAILING_METADATA: i32 = 5;
    pub const HTTP_CALL_RESPONSE_HEADERS: i32 = 6;
    pub const HTTP_CALL_RESPONSE_TRAILERS: i32 = 7;
}

/// `proxy_stream_type_t` (continue/close).
pub mod stream {
    pub const HTTP_REQUEST: i32 = 0;
    pub const HTTP_RESPONSE: i32 = 1;
    pub const DOWNSTREAM: i32 = 2;
    pub const UPSTREAM: i32 = 3;
}

/// `proxy_metric_type_t`.
pub mod metric {
    pub const COUNTER: i32 = 0;
    pub const GAUGE: i32 = 1;
    pub const HISTOGRAM: i32 = 2;
}

/// `proxy_peer_type_t` for connection closes.
pub mod peer {
    pub const UNKNOWN: i32 = 0;
    pub const LOCAL: i32 = 1;
    pub const REMOTE: i32 = 2;
}

/// Envoy's limits on a serialized header map.
pub const MAX_PAIRS: usize = 1024;
pub const MAX_PAIRS_BYTES: usize = 1 << 20;

/// The 25 callbacks a module may export, with their wasm signatures (params, results).
pub const CALLBACKS: &[(&str, usize, usize)] = &[
    ("proxy_on_context_create", 2, 0),
    ("proxy_on_done", 1, 1),
    ("proxy_on_log", 1, 0),
    ("proxy_on_delete", 1, 0),
    ("proxy_on_vm_start", 2, 1),
    ("proxy_on_configure", 2, 1),
    ("proxy_on_tick", 1, 0),
    ("proxy_on_queue_ready", 2, 0),
    ("proxy_on_new_connection", 1, 1),
    ("proxy_on_downstream_data", 3, 1),
    ("proxy_on_downstream_connection_close", 2, 0),
    ("proxy_on_upstream_data", 3, 1),
    ("proxy_on_upstream_connection_close", 2, 0),
    ("proxy_on_request_headers", 3, 1),
    ("proxy_on_request_body", 3, 1),
    ("proxy_on_request_trailers", 2, 1),
    ("proxy_on_response_headers", 3, 1),
    ("proxy_on_response_body", 3, 1),
    ("proxy_on_response_trailers", 2, 1),
    ("proxy_on_http_call_response", 5, 0),
    ("proxy_on_grpc_receive_initial_metadata", 3, 0),
    ("proxy_on_grpc_receive", 3, 0),
    ("proxy_on_grpc_receive_trailing_metadata", 3, 0),
    ("proxy_on_grpc_close", 3, 0),
    ("proxy_on_foreign_function", 3, 0),
];
