//! Everything the host keeps for one VM (the wasmtime store data), and the state several VMs
//! of one `Host` share (shared data, shared queues).

use crate::props::Properties;
use crate::types::{GrpcCall, Headers, HttpCall, Level, LocalReply, LogEntry, Message, MetricKind};
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use wasmtime::{Memory, TypedFunc};

/// A foreign function the test registered: arguments in, result bytes or a status code out.
pub type ForeignFn = Box<dyn FnMut(&[u8]) -> std::result::Result<Vec<u8>, i32> + Send>;

/// What crossed the boundary between host and module (a plugin started with
/// `PluginBuilder::count_calls`): the cost drivers of a filter in Envoy.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Counters {
    /// Calls from the host into the module, by export: callbacks and the allocator.
    pub vm_entries: BTreeMap<String, u64>,
    /// Calls from the module to the host, by import.
    pub host_calls: BTreeMap<String, u64>,
    /// Bytes the host read from the module's memory or copied into it (values, not the
    /// pointer and size words).
    pub host_call_bytes: u64,
    /// Allocations the host asked the module for (`proxy_on_memory_allocate`, one per value
    /// returned to it).
    pub allocations: u64,
    /// Work done inside the module during callbacks: wasmtime fuel consumed (about one unit per
    /// wasm instruction), allocator calls included. Not Envoy's cost, but equal inputs doing
    /// equal work show here (auth_check's hashing of unknown users is compared with it).
    pub wasm_fuel: u64,
}

impl Counters {
    pub fn total_vm_entries(&self) -> u64 {
        self.vm_entries.values().sum()
    }
    pub fn total_host_calls(&self) -> u64 {
        self.host_calls.values().sum()
    }
}

/// Where an HTTP stream direction is held by the filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    /// Headers returned StopIteration: Envoy's StopAllIterationAndWatermark, body is buffered.
    Headers,
    /// Body returned StopIterationAndBuffer: data accumulates, later chunks are delivered.
    Body,
    Trailers,
}

/// One direction (request or response) of an HTTP stream.
#[derive(Debug, Default)]
pub(crate) struct Direction {
    pub msg: Message,
    pub headers_arrived: bool,
    pub trailers_arrived: bool,
    pub end_of_stream: bool,
    pub stop: Option<Stop>,
    /// Start of the body buffer the filter sees (earlier data went on already).
    pub body_start: usize,
    /// Body arrived while stopped at headers and was not delivered yet.
    pub body_pending: bool,
    pub trailers_pending: bool,
    /// The filter is done with this direction (local reply, reset).
    pub finished: bool,
}

#[derive(Debug, Default)]
pub(crate) struct HttpState {
    pub req: Direction,
    pub resp: Direction,
    pub local_reply: Option<LocalReply>,
    /// The local reply came before the request reached the upstream.
    pub replied_before_upstream: bool,
    pub filter_state: BTreeMap<String, Vec<u8>>,
    pub closed_by_filter: bool,
    pub ended: bool,
    pub start_ns: u64,
    /// The VM failed before or during this stream and it is failed open (pass-through).
    pub pass_through: bool,
}

#[derive(Debug, Default)]
pub(crate) struct TcpDirection {
    /// Everything that went on past the filter.
    pub passed: Vec<u8>,
    /// Data held by the filter (Pause), delivered again with the next chunk.
    pub buffer: Vec<u8>,
    pub paused: bool,
    pub end_of_stream: bool,
}

#[derive(Debug, Default)]
pub(crate) struct TcpState {
    pub downstream: TcpDirection,
    pub upstream: TcpDirection,
    /// Which buffer the current data callback sees: 2 downstream, 3 upstream.
    pub closed_by_filter: Vec<i32>,
    pub ended: bool,
    pub filter_state: BTreeMap<String, Vec<u8>>,
}

pub(crate) enum Context {
    Root,
    Http(Box<HttpState>),
    Tcp(Box<TcpState>),
}

/// Work a host call asks for, done once the current callback has returned (as Envoy does).
#[derive(Debug)]
pub(crate) enum Deferred {
    Continue(u32, i32),
    Close(u32, i32),
    LocalReply(u32, LocalReply),
}

pub(crate) struct PendingHttp {
    pub call: HttpCall,
    /// Virtual clock when the call was made, for `x-envoy-upstream-service-time`.
    pub started_ns: u64,
    pub deadline_ns: Option<u64>,
}

pub(crate) struct PendingGrpc {
    pub call: GrpcCall,
    pub context: u32,
    pub deadline_ns: Option<u64>,
}

/// Data available only while one callback runs (callout responses, gRPC messages, config).
#[derive(Default)]
pub(crate) struct CallbackData {
    pub vm_configuration: Option<Vec<u8>>,
    pub plugin_configuration: Option<Vec<u8>>,
    pub call_response: Option<Message>,
    pub grpc_initial: Option<Headers>,
    pub grpc_trailing: Option<Headers>,
    pub grpc_message: Option<Vec<u8>>,
    pub call_data: Option<Vec<u8>>,
}

pub(crate) struct Metric {
    pub name: String,
    pub kind: MetricKind,
    pub value: i64,
    pub samples: Vec<u64>,
}

/// Store data of one VM.
pub(crate) struct HostState {
    /// What crosses the host/module boundary, when the plugin counts it (`count_calls`). A
    /// cell: guest memory is read through a shared borrow of the state.
    pub counters: Option<RefCell<Counters>>,
    pub memory: Option<Memory>,
    pub alloc: Option<TypedFunc<i32, i32>>,
    pub root_id: u32,
    /// The context host calls act on (`proxy_set_effective_context` changes it).
    pub effective: u32,
    pub contexts: HashMap<u32, Context>,
    pub cb: CallbackData,
    pub deferred: Vec<Deferred>,
    pub logs: Vec<LogEntry>,
    pub log_level: Level,
    pub clock_ns: u64,
    pub monotonic_ns: u64,
    pub tick_period_ms: u32,
    pub next_tick_ns: Option<u64>,
    pub http_calls: BTreeMap<u32, PendingHttp>,
    pub grpc_calls: BTreeMap<u32, PendingGrpc>,
    /// Last callout token per kind (HTTP call, gRPC call, gRPC stream), see `next_token`.
    pub next_token: [u32; 3],
    pub clusters: Vec<String>,
    /// `proxy_get_status` answer: code and message of the last callout result.
    pub status: (u32, Vec<u8>),
    pub props: Properties,
    pub root_filter_state: BTreeMap<String, Vec<u8>>,
    pub foreign: HashMap<String, ForeignFn>,
    pub done_called: bool,
    /// The root context returned false from on_done: `proxy_done` finishes it.
    pub awaiting_done: bool,
    pub rng: u64,
    pub env: Vec<(String, String)>,
    pub shared: Arc<Mutex<SharedState>>,
    pub vm_key: u64,
    pub vm_id: String,
}

/// What a callout token numbers (its value is the token's residue modulo 4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CalloutKind {
    Http = 0,
    GrpcCall = 1,
    GrpcStream = 2,
}

impl HostState {
    pub fn http(&mut self, ctx: u32) -> Option<&mut HttpState> {
        match self.contexts.get_mut(&ctx) {
            Some(Context::Http(h)) => Some(h),
            _ => None,
        }
    }
    pub fn tcp(&mut self, ctx: u32) -> Option<&mut TcpState> {
        match self.contexts.get_mut(&ctx) {
            Some(Context::Tcp(t)) => Some(t),
            _ => None,
        }
    }
    pub fn log(&mut self, level: Level, message: String) {
        if level >= self.log_level {
            self.logs.push(LogEntry { level, message });
        }
    }
    /// proxy-wasm-cpp-host numbers callouts in steps of 4, the kind in the low two bits
    /// (`CalloutType`): HTTP calls 4, 8, ...; gRPC calls 5, 9, ...; gRPC streams 6, 10, ...
    /// Envoy 1.40 measured: HTTP tokens 4 then 8 (harness/ENVOY-DIFFERENCES.md).
    pub fn next_token(&mut self, kind: CalloutKind) -> u32 {
        let last = &mut self.next_token[kind as usize];
        *last = last.wrapping_add(4);
        *last
    }
    pub fn filter_state_mut(&mut self, ctx: u32) -> &mut BTreeMap<String, Vec<u8>> {
        match self.contexts.get_mut(&ctx) {
            Some(Context::Http(h)) => &mut h.filter_state,
            Some(Context::Tcp(t)) => &mut t.filter_state,
            _ => &mut self.root_filter_state,
        }
    }
    pub fn filter_state(&self, ctx: u32) -> &BTreeMap<String, Vec<u8>> {
        match self.contexts.get(&ctx) {
            Some(Context::Http(h)) => &h.filter_state,
            Some(Context::Tcp(t)) => &t.filter_state,
            _ => &self.root_filter_state,
        }
    }
}

pub(crate) struct Queue {
    pub vm_id: String,
    pub name: String,
    pub owner_vm: u64,
    pub owner_context: u32,
    pub items: VecDeque<Vec<u8>>,
}

/// Shared by every VM of one `Host` (Envoy shares these per VM id across worker threads).
#[derive(Default)]
pub(crate) struct SharedState {
    pub data: HashMap<Vec<u8>, (Vec<u8>, u32)>,
    pub next_cas: u32,
    /// Queue tokens are index + 1.
    pub queues: Vec<Queue>,
    /// `proxy_on_queue_ready` notifications not delivered yet, per VM: (root context, token).
    pub ready: HashMap<u64, Vec<(u32, u32)>>,
    /// Stats live in one store in Envoy: every VM of the host counts into the same metric.
    pub metrics: Vec<Metric>,
    pub next_vm: u64,
}
