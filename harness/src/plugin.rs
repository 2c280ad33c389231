//! A started plugin: one VM (wasmtime store + instance) with its root context, and the
//! builder that loads and starts it like Envoy does.

use crate::error::{Error, Result};
use crate::module::{self, AbiVersion};
use crate::props::{Properties, PropertySettings};
use crate::state::{CallbackData, Context, Counters, ForeignFn, HostState, SharedState};
use crate::types::{GrpcCall, HttpCall, Level, LogEntry, Message, MetricKind, Response};
use crate::workspace;
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wasmtime::{Extern, Func, Linker, Module, Store, TypedFunc, Val};

/// Indexes into `abi::CALLBACKS`.
pub(crate) mod cb {
    pub const CONTEXT_CREATE: usize = 0;
    pub const DONE: usize = 1;
    pub const LOG: usize = 2;
    pub const DELETE: usize = 3;
    pub const VM_START: usize = 4;
    pub const CONFIGURE: usize = 5;
    pub const TICK: usize = 6;
    pub const QUEUE_READY: usize = 7;
    pub const NEW_CONNECTION: usize = 8;
    pub const DOWNSTREAM_DATA: usize = 9;
    pub const DOWNSTREAM_CLOSE: usize = 10;
    pub const UPSTREAM_DATA: usize = 11;
    pub const UPSTREAM_CLOSE: usize = 12;
    pub const REQUEST_HEADERS: usize = 13;
    pub const REQUEST_BODY: usize = 14;
    pub const REQUEST_TRAILERS: usize = 15;
    pub const RESPONSE_HEADERS: usize = 16;
    pub const RESPONSE_BODY: usize = 17;
    pub const RESPONSE_TRAILERS: usize = 18;
    pub const HTTP_CALL_RESPONSE: usize = 19;
    pub const GRPC_INITIAL_METADATA: usize = 20;
    pub const GRPC_RECEIVE: usize = 21;
    pub const GRPC_TRAILING_METADATA: usize = 22;
    pub const GRPC_CLOSE: usize = 23;
    pub const FOREIGN_FUNCTION: usize = 24;
}

/// A callback export, typed once at load (typed calls skip per-call signature checks).
#[derive(Clone)]
pub(crate) enum Callback {
    P1R0(TypedFunc<i32, ()>),
    P1R1(TypedFunc<i32, i32>),
    P2R0(TypedFunc<(i32, i32), ()>),
    P2R1(TypedFunc<(i32, i32), i32>),
    P3R0(TypedFunc<(i32, i32, i32), ()>),
    P3R1(TypedFunc<(i32, i32, i32), i32>),
    P5R0(TypedFunc<(i32, i32, i32, i32, i32), ()>),
}

impl Callback {
    fn new(store: &Store<HostState>, f: Func, params: usize, results: usize) -> Option<Callback> {
        Some(match (params, results) {
            (1, 0) => Callback::P1R0(f.typed(store).ok()?),
            (1, 1) => Callback::P1R1(f.typed(store).ok()?),
            (2, 0) => Callback::P2R0(f.typed(store).ok()?),
            (2, 1) => Callback::P2R1(f.typed(store).ok()?),
            (3, 0) => Callback::P3R0(f.typed(store).ok()?),
            (3, 1) => Callback::P3R1(f.typed(store).ok()?),
            (5, 0) => Callback::P5R0(f.typed(store).ok()?),
            _ => return None,
        })
    }
    /// Calls with `args` (missing ones are 0); callbacks without a result return 0.
    fn call(&self, store: &mut Store<HostState>, args: &[i32]) -> wasmtime::Result<i32> {
        let a = |i: usize| args.get(i).copied().unwrap_or(0);
        Ok(match self {
            Callback::P1R0(f) => f.call(store, a(0)).map(|_| 0)?,
            Callback::P1R1(f) => f.call(store, a(0))?,
            Callback::P2R0(f) => f.call(store, (a(0), a(1))).map(|_| 0)?,
            Callback::P2R1(f) => f.call(store, (a(0), a(1)))?,
            Callback::P3R0(f) => f.call(store, (a(0), a(1), a(2))).map(|_| 0)?,
            Callback::P3R1(f) => f.call(store, (a(0), a(1), a(2)))?,
            Callback::P5R0(f) => f.call(store, (a(0), a(1), a(2), a(3), a(4))).map(|_| 0)?,
        })
    }
}

/// The host's linker with each function the module imports wrapped to count its calls.
fn counting_linker(
    store: &mut Store<HostState>,
    module: &Module,
) -> wasmtime::Result<Linker<HostState>> {
    let mut linker = crate::host::linker().clone();
    linker.allow_shadowing(true);
    for import in module.imports() {
        let (m, name) = (import.module(), import.name());
        let Ok(Extern::Func(inner)) = crate::host::linker().get(&mut *store, m, name) else {
            continue; // not provided: instantiation reports it
        };
        let counted = name.to_string();
        let ty = inner.ty(&*store);
        linker.func_new(m, name, ty, move |mut cx, params, results| {
            if let Some(c) = &cx.data().counters {
                *c.borrow_mut()
                    .host_calls
                    .entry(counted.clone())
                    .or_default() += 1;
            }
            inner.call(&mut cx, params, results)
        })?;
    }
    Ok(linker)
}

const DEFAULT_FUEL: u64 = 10_000_000_000;

/// Virtual wall clock at start: 2026-01-01T00:00:00Z.
const CLOCK_START_NS: u64 = 1_767_225_600_000_000_000;
pub(crate) const ROOT: u32 = 1;

/// Shared data and shared queues for several VMs, as Envoy shares them between the VMs of one
/// VM id (e.g. worker threads). Each `Plugin` started from the same `Host` sees the same data.
#[derive(Clone, Default)]
pub struct Host {
    pub(crate) shared: Arc<Mutex<SharedState>>,
}

impl Host {
    pub fn new() -> Host {
        Host::default()
    }
    /// A plugin builder whose VM belongs to this host.
    pub fn plugin(&self, filter: &str) -> PluginBuilder {
        let mut b = Plugin::builder(filter);
        b.host = self.clone();
        b
    }
    /// Value and CAS of a shared data key.
    pub fn shared_data(&self, key: &str) -> Option<(Vec<u8>, u32)> {
        self.lock().data.get(key.as_bytes()).cloned()
    }
    /// Sets a shared data key (as another VM would).
    pub fn set_shared_data(&self, key: &str, value: impl AsRef<[u8]>) {
        let mut s = self.lock();
        s.next_cas += 1;
        let cas = s.next_cas;
        s.data
            .insert(key.as_bytes().to_vec(), (value.as_ref().to_vec(), cas));
    }
    /// Enqueues onto a registered queue (as another VM would); the owner gets
    /// `proxy_on_queue_ready` at its next operation.
    pub fn enqueue(&self, vm_id: &str, queue: &str, data: impl AsRef<[u8]>) -> Result<()> {
        let mut s = self.lock();
        let i = s
            .queues
            .iter()
            .position(|q| q.vm_id == vm_id && q.name == queue)
            .ok_or_else(|| {
                Error::Usage(format!(
                    "no shared queue '{queue}' registered by vm '{vm_id}'"
                ))
            })?;
        s.queues[i].items.push_back(data.as_ref().to_vec());
        let (vm, ctx) = (s.queues[i].owner_vm, s.queues[i].owner_context);
        s.ready.entry(vm).or_default().push((ctx, i as u32 + 1));
        Ok(())
    }
    /// Items waiting in a queue.
    pub fn queue_items(&self, vm_id: &str, queue: &str) -> Vec<Vec<u8>> {
        let s = self.lock();
        s.queues
            .iter()
            .find(|q| q.vm_id == vm_id && q.name == queue)
            .map(|q| q.items.iter().cloned().collect())
            .unwrap_or_default()
    }
    fn lock(&self) -> std::sync::MutexGuard<'_, SharedState> {
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }
}

enum Source {
    Name(String),
    Bytes(Vec<u8>),
}

/// Configures and starts a plugin (see the crate docs for every option).
pub struct PluginBuilder {
    source: Source,
    config: Vec<u8>,
    vm_config: Vec<u8>,
    settings: PropertySettings,
    plugin_name_set: bool,
    clusters: Vec<String>,
    fail_open: bool,
    log_level: Level,
    fuel: u64,
    foreign: Vec<(String, ForeignFn)>,
    env: Vec<(String, String)>,
    host: Host,
    count_calls: bool,
    serve_rejected: bool,
}

impl PluginBuilder {
    fn new(source: Source, default_name: String) -> PluginBuilder {
        PluginBuilder {
            source,
            config: Vec::new(),
            vm_config: Vec::new(),
            settings: PropertySettings {
                plugin_name: default_name,
                root_id: String::new(),
                vm_id: String::new(),
                node_id: String::new(),
                node_cluster: String::new(),
                node_metadata: Value::Object(Default::default()),
                xds: true,
                legacy: false,
                overrides: Vec::new(),
            },
            plugin_name_set: false,
            clusters: Vec::new(),
            fail_open: false,
            log_level: Level::Trace,
            fuel: DEFAULT_FUEL,
            foreign: Vec::new(),
            env: Vec::new(),
            host: Host::new(),
            count_calls: false,
            serve_rejected: false,
        }
    }
    /// Plugin configuration as JSON (what Istio's `pluginConfig` delivers).
    pub fn config_json(mut self, v: Value) -> Self {
        self.config = v.to_string().into_bytes();
        self
    }
    pub fn config_bytes(mut self, b: impl AsRef<[u8]>) -> Self {
        self.config = b.as_ref().to_vec();
        self
    }
    /// VM configuration (`vm_config.configuration`), readable in `proxy_on_vm_start`.
    pub fn vm_config_bytes(mut self, b: impl AsRef<[u8]>) -> Self {
        self.vm_config = b.as_ref().to_vec();
        self
    }
    /// VM configuration as JSON.
    pub fn vm_config_json(mut self, v: Value) -> Self {
        self.vm_config = v.to_string().into_bytes();
        self
    }
    pub fn plugin_name(mut self, n: &str) -> Self {
        self.settings.plugin_name = n.into();
        self.plugin_name_set = true;
        self
    }
    pub fn root_id(mut self, n: &str) -> Self {
        self.settings.root_id = n.into();
        self
    }
    pub fn vm_id(mut self, n: &str) -> Self {
        self.settings.vm_id = n.into();
        self
    }
    /// A raw property value (Envoy encoding), overriding the defaults.
    pub fn property(mut self, path: &[&str], value: impl AsRef<[u8]>) -> Self {
        self.settings.overrides.push((
            path.iter().map(|s| s.to_string()).collect(),
            value.as_ref().to_vec(),
        ));
        self
    }
    pub fn node_id(mut self, id: &str) -> Self {
        self.settings.node_id = id.into();
        self
    }
    pub fn node_cluster(mut self, c: &str) -> Self {
        self.settings.node_cluster = c.into();
        self
    }
    /// Node metadata: `xds.node.metadata` and legacy `node.metadata`.
    pub fn node_metadata(mut self, v: Value) -> Self {
        self.settings.node_metadata = v;
        self
    }
    /// A host without `xds.*` attributes but with the legacy top-level `node`, `cluster_name`
    /// (Envoy < 1.33). Default: `xds.*` only, as Envoy 1.40.
    pub fn legacy_properties_only(mut self, on: bool) -> Self {
        self.settings.legacy = on;
        self.settings.xds = !on;
        self
    }
    /// Both property sets (a host in transition).
    pub fn with_legacy_properties(mut self, on: bool) -> Self {
        self.settings.legacy = on;
        self
    }
    /// A cluster known to `proxy_http_call` and gRPC calls.
    pub fn cluster(mut self, name: &str) -> Self {
        self.clusters.push(name.into());
        self
    }
    /// Keeps the VM when `proxy_on_configure` returns false and sends it streams anyway, for
    /// checking what a filter does on a root context without a valid configuration. Envoy
    /// never does this (a rejected configuration refuses the filter, tools/envoy-e2e's
    /// `bad_config_*` tests); another host or a later SDK might.
    pub fn serve_after_rejected_config(mut self, on: bool) -> Self {
        self.serve_rejected = on;
        self
    }
    pub fn fail_open(mut self, on: bool) -> Self {
        self.fail_open = on;
        self
    }
    /// Lowest level captured and reported by `proxy_get_log_level` (default trace; Envoy's default is info).
    pub fn log_level(mut self, l: Level) -> Self {
        self.log_level = l;
        self
    }
    /// The most wasm work (fuel, about one unit per instruction) one callback may do before it
    /// traps; default 10^10 (seconds of work). Envoy has no such limit: it only keeps an endless
    /// loop from hanging a test.
    pub fn fuel_per_callback(mut self, fuel: u64) -> Self {
        self.fuel = fuel;
        self
    }
    /// Counts what crosses the boundary between host and module (VM entries, host calls,
    /// their bytes, allocations; see [`Plugin::take_counters`]). Off by default: host calls
    /// are then counted through a wrapper around every import, which is slower.
    pub fn count_calls(mut self, on: bool) -> Self {
        self.count_calls = on;
        self
    }
    /// An environment variable (`vm_config.environment_variables`).
    pub fn env(mut self, k: &str, v: &str) -> Self {
        self.env.push((k.into(), v.into()));
        self
    }
    /// A foreign function for `proxy_call_foreign_function`: arguments in, result or status out.
    pub fn foreign_function(
        mut self,
        name: &str,
        f: impl FnMut(&[u8]) -> std::result::Result<Vec<u8>, i32> + Send + 'static,
    ) -> Self {
        self.foreign.push((name.into(), Box::new(f)));
        self
    }
    /// Runs the VM on a shared `Host` (shared data and queues with its other plugins).
    pub fn host(mut self, h: &Host) -> Self {
        self.host = h.clone();
        self
    }

    /// Loads, instantiates and starts the VM: `_initialize`/`main` (or `_start`), root context,
    /// `proxy_on_vm_start`, `proxy_on_configure`.
    pub fn start(self) -> Result<Plugin> {
        let bytes = match &self.source {
            Source::Name(n) => workspace::wasm_bytes(n)?,
            Source::Bytes(b) => b.clone(),
        };
        let module = module::compile_cached(&bytes)?;
        let info = module::inspect(&module);
        let abi = module::check(&info)?;
        let vm_key = {
            let mut s = self.host.lock();
            s.next_vm += 1;
            s.next_vm
        };
        let PluginBuilder {
            settings,
            clusters,
            fail_open,
            log_level,
            fuel,
            foreign,
            env,
            host,
            config,
            vm_config,
            count_calls,
            serve_rejected,
            ..
        } = self;
        let state = HostState {
            counters: count_calls.then(Default::default),
            memory: None,
            alloc: None,
            root_id: ROOT,
            effective: ROOT,
            contexts: [(ROOT, Context::Root)].into_iter().collect(),
            cb: CallbackData::default(),
            deferred: Vec::new(),
            logs: Vec::new(),
            log_level,
            clock_ns: CLOCK_START_NS,
            monotonic_ns: 1_000_000_000,
            tick_period_ms: 0,
            next_tick_ns: None,
            http_calls: Default::default(),
            grpc_calls: Default::default(),
            next_token: [0, 1, 2],
            clusters,
            status: (0, Vec::new()),
            props: Properties::new(&settings),
            root_filter_state: Default::default(),
            foreign: foreign.into_iter().collect(),
            done_called: false,
            awaiting_done: false,
            rng: 0x2545_f491_4f6c_dd1d ^ vm_key,
            env,
            shared: host.shared.clone(),
            vm_key,
            vm_id: settings.vm_id.clone(),
        };
        let mut store = Store::new(module::engine(), state);
        store.set_fuel(fuel).map_err(|e| Error::Load(chain(&e)))?;
        let instance = if count_calls {
            counting_linker(&mut store, &module).and_then(|l| l.instantiate(&mut store, &module))
        } else {
            crate::host::linker().instantiate(&mut store, &module)
        }
        .map_err(|e| Error::Load(format!("instantiate: {}", chain(&e))))?;
        store.data_mut().memory = instance.get_memory(&mut store, "memory");
        let alloc_name = info.allocator.clone().unwrap_or_default();
        let alloc = instance
            .get_typed_func::<i32, i32>(&mut store, &alloc_name)
            .map_err(|_| Error::BadExport {
                name: alloc_name.clone(),
                reason: "expected func(i32) -> i32".into(),
            })?;
        store.data_mut().alloc = Some(alloc);
        let mut funcs = Vec::new();
        for (name, params, results) in crate::abi::CALLBACKS {
            let f = instance.get_func(&mut store, name);
            let typed = match f {
                None => None,
                Some(f) => Some(Callback::new(&store, f, *params, *results).ok_or_else(|| {
                    Error::BadExport {
                        name: name.to_string(),
                        reason: format!("expected {params} i32 params and {results} i32 results"),
                    }
                })?),
            };
            funcs.push(typed);
        }
        let start: Vec<(String, Func)> = ["_initialize", "main", "_start"]
            .iter()
            .filter_map(|n| instance.get_func(&mut store, n).map(|f| (n.to_string(), f)))
            .collect();
        let mut plugin = Plugin {
            store,
            funcs,
            abi,
            name: settings.plugin_name.clone(),
            failed: None,
            fail_open,
            next_context: ROOT + 1,
            auto_http: Vec::new(),
            host,
            root_deleted: false,
            fuel,
        };
        plugin.run_start(start)?;
        plugin.create_root(config, vm_config, serve_rejected)?;
        Ok(plugin)
    }
}

/// One VM of a proxy-wasm module with its root context, driven as Envoy would.
pub struct Plugin {
    pub(crate) store: Store<HostState>,
    pub(crate) funcs: Vec<Option<Callback>>,
    abi: AbiVersion,
    name: String,
    pub(crate) failed: Option<String>,
    pub(crate) fail_open: bool,
    pub(crate) next_context: u32,
    pub(crate) auto_http: Vec<(String, Response)>,
    host: Host,
    root_deleted: bool,
    fuel: u64,
}

/// An answer Envoy's router makes itself for a callout (measured, harness/probes/ENVOY.md):
/// status, `content-length`, `content-type: text/plain` and a text body.
fn router_answer(status: &str, body: &str) -> Message {
    let headers = vec![
        (":status".to_string(), status.as_bytes().to_vec()),
        (
            "content-length".to_string(),
            body.len().to_string().into_bytes(),
        ),
        ("content-type".to_string(), b"text/plain".to_vec()),
    ];
    Message {
        headers,
        body: body.as_bytes().to_vec(),
        trailers: Vec::new(),
    }
}

/// What Envoy 1.40 delivers for a callout that timed out.
fn timeout_response() -> Message {
    router_answer("504", "upstream request timeout")
}

/// What Envoy 1.40 delivers for a callout whose cluster refused the connection.
fn connect_failure_response() -> Message {
    router_answer(
        "503",
        "upstream connect error or disconnect/reset before headers. reset reason: remote connection failure",
    )
}

pub(crate) fn chain(e: &wasmtime::Error) -> String {
    e.chain()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(": ")
}

/// `proc_exit` from a module: an exit code, not a crash.
#[derive(Debug)]
pub(crate) struct ProcExit(pub i32);
impl std::fmt::Display for ProcExit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "proc_exit({})", self.0)
    }
}
impl std::error::Error for ProcExit {}

impl Plugin {
    /// Loads a workspace filter by name (built for wasm32-wasip1 if missing or stale) or a
    /// `.wasm` file by path.
    pub fn builder(filter: &str) -> PluginBuilder {
        let default_name = std::path::Path::new(filter)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| filter.to_string());
        PluginBuilder::new(Source::Name(filter.to_string()), default_name)
    }
    /// A module given as bytes (e.g. compiled from WAT).
    pub fn builder_from_bytes(wasm: impl Into<Vec<u8>>) -> PluginBuilder {
        PluginBuilder::new(Source::Bytes(wasm.into()), "plugin".into())
    }

    fn run_start(&mut self, start: Vec<(String, Func)>) -> Result<()> {
        let has_init = start.iter().any(|(n, _)| n == "_initialize");
        for (name, f) in start {
            if name == "_start" && has_init {
                continue;
            }
            // `main(argc, argv)` or `main()`; results are ignored.
            let ty = f.ty(&self.store);
            let params: Vec<Val> = ty.params().map(|_| Val::I32(0)).collect();
            let mut results: Vec<Val> = ty.results().map(|_| Val::I32(0)).collect();
            if let Err(e) = f.call(&mut self.store, &params, &mut results) {
                if matches!(e.downcast_ref::<ProcExit>(), Some(ProcExit(0))) {
                    continue;
                }
                return Err(self.trap(0, &e, 0));
            }
        }
        Ok(())
    }

    fn create_root(
        &mut self,
        config: Vec<u8>,
        vm_config: Vec<u8>,
        serve_rejected: bool,
    ) -> Result<()> {
        self.callback(cb::CONTEXT_CREATE, &[ROOT as i32, 0])?;
        let mark = self.logs().len();
        self.store.data_mut().cb.vm_configuration = Some(vm_config.clone());
        let r = self.callback(cb::VM_START, &[ROOT as i32, vm_config.len() as i32]);
        self.store.data_mut().cb.vm_configuration = None;
        if r? == Some(0) {
            return Err(Error::VmStartFailed {
                logs: self.logs()[mark..].to_vec(),
            });
        }
        self.store.data_mut().cb.plugin_configuration = Some(config.clone());
        let r = self.callback(cb::CONFIGURE, &[ROOT as i32, config.len() as i32]);
        self.store.data_mut().cb.plugin_configuration = None;
        if r? == Some(0) && !serve_rejected {
            return Err(Error::ConfigRejected {
                logs: self.logs()[mark..].to_vec(),
            });
        }
        self.flush()
    }

    /// Calls a callback with the context it is for (args[0]) as the effective context.
    /// None when the module does not export it. A trap fails the VM.
    pub(crate) fn callback(&mut self, index: usize, args: &[i32]) -> Result<Option<i32>> {
        let Some(f) = self.funcs[index].clone() else {
            return Ok(None);
        };
        let ctx = args.first().copied().unwrap_or(0) as u32;
        self.store.data_mut().effective = ctx;
        if let Some(c) = &self.store.data().counters {
            let name = crate::abi::CALLBACKS[index].0;
            *c.borrow_mut().vm_entries.entry(name.into()).or_default() += 1;
        }
        let mark = self.store.data().logs.len();
        // A fresh budget per callback (fuel is always enabled on the shared engine).
        let _ = self.store.set_fuel(self.fuel);
        let result = f.call(&mut self.store, args);
        if let Some(c) = &self.store.data().counters {
            let left = self.store.get_fuel().unwrap_or(self.fuel);
            c.borrow_mut().wasm_fuel += self.fuel.saturating_sub(left);
        }
        match result {
            Ok(v) => Ok(Some(v)),
            Err(e) => Err(self.trap(ctx, &e, mark)),
        }
    }

    /// Marks the VM failed, fails the stream the callback was for, and builds the error.
    fn trap(&mut self, ctx: u32, e: &wasmtime::Error, mark: usize) -> Error {
        let mut message = chain(e);
        if matches!(
            e.downcast_ref::<wasmtime::Trap>(),
            Some(wasmtime::Trap::OutOfFuel)
        ) {
            message.push_str(&format!(
                " (the callback did more than {} units of work: an endless loop? see fuel_per_callback)",
                self.fuel
            ));
        }
        let panic_message = self.store.data().logs[mark.min(self.store.data().logs.len())..]
            .iter()
            .rev()
            .find(|l| l.level == Level::Critical)
            .map(|l| l.message.clone());
        self.failed = Some(panic_message.clone().unwrap_or_else(|| message.clone()));
        self.store.data_mut().deferred.clear();
        self.fail_stream(ctx, true);
        Error::Trap {
            message,
            panic_message,
        }
    }

    /// Applies deferred work (continue, close, local replies) and delivers queue notifications,
    /// until nothing is left.
    pub(crate) fn flush(&mut self) -> Result<()> {
        loop {
            let deferred = std::mem::take(&mut self.store.data_mut().deferred);
            if !deferred.is_empty() {
                for d in deferred {
                    self.apply(d)?;
                }
                continue;
            }
            let ready = {
                let key = self.store.data().vm_key;
                let mut s = self.host.lock();
                s.ready.remove(&key).unwrap_or_default()
            };
            if self.store.data().done_called && !self.root_deleted {
                // The root context called proxy_done after returning false from on_done.
                self.root_deleted = true;
                self.callback(cb::DELETE, &[ROOT as i32])?;
            }
            if ready.is_empty() || self.failed.is_some() {
                return Ok(());
            }
            for (ctx, token) in ready {
                self.callback(cb::QUEUE_READY, &[ctx as i32, token as i32])?;
            }
        }
    }

    // ---- observation -------------------------------------------------------------------

    /// What crossed the boundary since the plugin started or the last call, and starts
    /// counting anew; None unless started with [`PluginBuilder::count_calls`].
    pub fn take_counters(&mut self) -> Option<Counters> {
        self.store.data().counters.as_ref().map(|c| c.take())
    }
    /// Everything logged so far.
    pub fn logs(&self) -> &[LogEntry] {
        &self.store.data().logs
    }
    /// Messages logged at exactly `level`.
    pub fn logs_at(&self, level: Level) -> Vec<&str> {
        self.logs()
            .iter()
            .filter(|l| l.level == level)
            .map(|l| l.message.as_str())
            .collect()
    }
    pub fn clear_logs(&mut self) {
        self.store.data_mut().logs.clear();
    }
    /// A metric by the name the filter defined: counter/gauge value, histogram sample count.
    /// Metrics belong to the host: its VMs count into the same ones, as in Envoy's stats store.
    pub fn metric(&self, name: &str) -> Option<i64> {
        let s = self.host.lock();
        s.metrics.iter().find(|m| m.name == name).map(|m| m.value)
    }
    pub fn metrics(&self) -> Vec<(String, MetricKind, i64)> {
        let s = self.host.lock();
        s.metrics
            .iter()
            .map(|m| (m.name.clone(), m.kind, m.value))
            .collect()
    }
    /// Values recorded into a histogram.
    pub fn histogram(&self, name: &str) -> Option<Vec<u64>> {
        let s = self.host.lock();
        s.metrics
            .iter()
            .find(|m| m.name == name && m.kind == MetricKind::Histogram)
            .map(|m| m.samples.clone())
    }
    /// The module's linear memory size in 64 KiB pages (0 without memory).
    pub fn memory_pages(&self) -> u64 {
        self.store
            .data()
            .memory
            .map(|m| m.size(&self.store))
            .unwrap_or(0)
    }
    /// Stream contexts (HTTP and TCP) the host still holds, root excluded.
    pub fn live_contexts(&self) -> usize {
        self.store
            .data()
            .contexts
            .values()
            .filter(|c| !matches!(c, Context::Root))
            .count()
    }
    /// Why the VM failed (the panic message or the trap), if it did.
    pub fn failure(&self) -> Option<&str> {
        self.failed.as_deref()
    }
    pub fn abi_version(&self) -> AbiVersion {
        self.abi
    }
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Tick period the root context set (0 = none).
    pub fn tick_period(&self) -> Duration {
        Duration::from_millis(u64::from(self.store.data().tick_period_ms))
    }
    /// Current virtual wall-clock time in ns since the epoch.
    pub fn now_nanos(&self) -> u64 {
        self.store.data().clock_ns
    }
    /// Filter state the root context wrote (`set_property` outside a stream).
    pub fn root_filter_state(&self, key: &str) -> Option<Vec<u8>> {
        self.store.data().root_filter_state.get(key).cloned()
    }
    /// The shared `Host` of this VM.
    pub fn host(&self) -> &Host {
        &self.host
    }

    // ---- callouts ----------------------------------------------------------------------

    pub fn pending_http_calls(&self) -> Vec<HttpCall> {
        self.store
            .data()
            .http_calls
            .values()
            .map(|p| p.call.clone())
            .collect()
    }
    /// Answers an HTTP callout: `proxy_on_http_call_response` with the response readable.
    /// As Envoy's router does, `x-envoy-upstream-service-time` (virtual milliseconds since the
    /// call was made) is set on the headers the filter sees, after the service's own.
    pub fn respond_http_call(&mut self, token: u32, response: Response) -> Result<()> {
        let mut headers = response.headers;
        if let Some(p) = self.store.data().http_calls.get(&token) {
            let ms = (self.store.data().clock_ns.saturating_sub(p.started_ns) / 1_000_000)
                .to_string()
                .into_bytes();
            const NAME: &str = "x-envoy-upstream-service-time";
            match headers
                .iter_mut()
                .find(|(k, _)| k.eq_ignore_ascii_case(NAME))
            {
                Some((_, v)) => *v = ms,
                None => headers.push((NAME.to_string(), ms)),
            }
        }
        let msg = Message {
            headers,
            body: response.body,
            trailers: response.trailers,
        };
        self.finish_http_call(token, Some(msg))
    }
    /// The cluster refused the connection: Envoy's router answers the callout itself with
    /// `503`, `content-length: 98`, `content-type: text/plain` and the body `upstream connect
    /// error or disconnect/reset before headers. reset reason: remote connection failure`
    /// (measured in Envoy 1.40). The filter sees an ordinary response.
    pub fn fail_http_call(&mut self, token: u32) -> Result<()> {
        self.finish_http_call(token, Some(connect_failure_response()))
    }
    /// The callout's stream was reset without a response (Envoy's async client `onFailure`,
    /// e.g. a response over the buffer limit): `proxy_on_http_call_response(token, 0, 0, 0)`,
    /// nothing readable. A refused connection is [`Plugin::fail_http_call`], a timeout
    /// [`Plugin::advance_clock`] past the call's timeout (Envoy's 504).
    pub fn reset_http_call(&mut self, token: u32) -> Result<()> {
        self.finish_http_call(token, None)
    }
    /// Answers every future callout to `cluster` with `response` when `send` waits on it.
    pub fn answer_http_calls(&mut self, cluster: &str, response: Response) {
        self.auto_http.push((cluster.to_string(), response));
    }

    fn finish_http_call(&mut self, token: u32, msg: Option<Message>) -> Result<()> {
        self.store
            .data_mut()
            .http_calls
            .remove(&token)
            .ok_or_else(|| Error::Usage(format!("no pending HTTP call with token {token}")))?;
        if self.failed.is_some() {
            return Ok(());
        }
        let args = match &msg {
            Some(m) => [m.headers.len(), m.body.len(), m.trailers.len()].map(|n| n as i32),
            None => [0, 0, 0],
        };
        self.store.data_mut().cb.call_response = msg;
        // Envoy answers on the root context; the filter switches with proxy_set_effective_context.
        self.store.data_mut().status = (0, Vec::new());
        let r = self.callback(
            cb::HTTP_CALL_RESPONSE,
            &[ROOT as i32, token as i32, args[0], args[1], args[2]],
        );
        self.store.data_mut().cb.call_response = None;
        r?;
        self.flush()
    }

    pub fn pending_grpc_calls(&self) -> Vec<GrpcCall> {
        self.store
            .data()
            .grpc_calls
            .values()
            .map(|p| p.call.clone())
            .collect()
    }
    /// Answers a unary gRPC call with a message: `proxy_on_grpc_receive`.
    pub fn respond_grpc_call(&mut self, token: u32, message: impl AsRef<[u8]>) -> Result<()> {
        self.grpc_receive(token, message)?;
        self.store.data_mut().grpc_calls.remove(&token);
        Ok(())
    }
    /// Ends a gRPC call or stream with a status: `proxy_on_grpc_close`, status readable
    /// with `proxy_get_status`.
    pub fn grpc_close(&mut self, token: u32, status: u32, message: &str) -> Result<()> {
        let p = self.take_grpc(token)?;
        self.store.data_mut().status = (status, message.as_bytes().to_vec());
        let _ = p;
        self.callback(cb::GRPC_CLOSE, &[ROOT as i32, token as i32, status as i32])?;
        self.store.data_mut().grpc_calls.remove(&token);
        self.flush()
    }
    /// A message arriving on a gRPC call or stream: `proxy_on_grpc_receive`.
    pub fn grpc_receive(&mut self, token: u32, message: impl AsRef<[u8]>) -> Result<()> {
        let ctx = self.take_grpc(token)?;
        let m = message.as_ref().to_vec();
        let len = m.len() as i32;
        self.store.data_mut().status = (0, Vec::new());
        self.store.data_mut().cb.grpc_message = Some(m);
        let _ = ctx;
        let r = self.callback(cb::GRPC_RECEIVE, &[ROOT as i32, token as i32, len]);
        self.store.data_mut().cb.grpc_message = None;
        r?;
        self.flush()
    }
    /// Initial metadata on a gRPC stream: `proxy_on_grpc_receive_initial_metadata`.
    pub fn grpc_receive_initial_metadata(&mut self, token: u32, md: &[(&str, &str)]) -> Result<()> {
        self.grpc_metadata(token, md, true)
    }
    /// Trailing metadata on a gRPC stream: `proxy_on_grpc_receive_trailing_metadata`.
    pub fn grpc_receive_trailing_metadata(
        &mut self,
        token: u32,
        md: &[(&str, &str)],
    ) -> Result<()> {
        self.grpc_metadata(token, md, false)
    }
    fn grpc_metadata(&mut self, token: u32, md: &[(&str, &str)], initial: bool) -> Result<()> {
        let ctx = self.take_grpc(token)?;
        let h = crate::types::lower_headers(md);
        let n = h.len() as i32;
        let (slot, index) = if initial {
            (
                &mut self.store.data_mut().cb.grpc_initial,
                cb::GRPC_INITIAL_METADATA,
            )
        } else {
            (
                &mut self.store.data_mut().cb.grpc_trailing,
                cb::GRPC_TRAILING_METADATA,
            )
        };
        *slot = Some(h);
        let _ = ctx;
        let r = self.callback(index, &[ROOT as i32, token as i32, n]);
        let d = &mut self.store.data_mut().cb;
        d.grpc_initial = None;
        d.grpc_trailing = None;
        r?;
        self.flush()
    }
    fn take_grpc(&mut self, token: u32) -> Result<u32> {
        self.store
            .data()
            .grpc_calls
            .get(&token)
            .map(|p| p.context)
            .ok_or_else(|| Error::Usage(format!("no open gRPC call with token {token}")))
    }

    // ---- clock, foreign functions, shutdown --------------------------------------------

    /// Moves the virtual clock: fires ticks and times out callouts in time order.
    pub fn advance_clock(&mut self, by: Duration) -> Result<()> {
        let target = self.store.data().clock_ns + by.as_nanos() as u64;
        loop {
            let s = self.store.data();
            let tick = s.next_tick_ns.filter(|t| *t <= target);
            let http = s
                .http_calls
                .iter()
                .filter_map(|(t, p)| Some((p.deadline_ns?, *t)))
                .min();
            let grpc = s
                .grpc_calls
                .iter()
                .filter_map(|(t, p)| Some((p.deadline_ns?, *t)))
                .min();
            let mut next: Option<(u64, u8, u32)> = tick.map(|t| (t, 0, 0));
            for (cand, kind) in [(http, 1u8), (grpc, 2u8)] {
                if let Some((at, token)) = cand.filter(|(at, _)| *at <= target) {
                    if next.is_none_or(|(n, _, _)| at < n) {
                        next = Some((at, kind, token));
                    }
                }
            }
            let Some((at, kind, token)) = next else { break };
            self.set_clock(at);
            match kind {
                0 => {
                    let s = self.store.data_mut();
                    s.next_tick_ns = Some(at + u64::from(s.tick_period_ms) * 1_000_000);
                    if self.failed.is_none() {
                        self.callback(cb::TICK, &[ROOT as i32])?;
                        self.flush()?;
                    }
                }
                // Envoy's router answers a timed-out callout itself.
                1 => self.finish_http_call(token, Some(timeout_response()))?,
                _ => self.grpc_close(token, 4, "deadline exceeded")?,
            }
        }
        self.set_clock(target);
        Ok(())
    }
    fn set_clock(&mut self, at: u64) {
        let s = self.store.data_mut();
        let delta = at.saturating_sub(s.clock_ns);
        s.clock_ns = at;
        s.monotonic_ns += delta;
    }

    /// Host-initiated foreign function callback: `proxy_on_foreign_function(root, id, size)`,
    /// `data` readable as the call-data buffer.
    pub fn on_foreign_function(&mut self, function_id: u32, data: impl AsRef<[u8]>) -> Result<()> {
        let d = data.as_ref().to_vec();
        let len = d.len() as i32;
        self.store.data_mut().cb.call_data = Some(d);
        let r = self.callback(
            cb::FOREIGN_FUNCTION,
            &[ROOT as i32, function_id as i32, len],
        );
        self.store.data_mut().cb.call_data = None;
        r?;
        self.flush()
    }

    /// Delivers queue notifications other VMs caused (also done after every operation).
    pub fn deliver_queue_ready(&mut self) -> Result<()> {
        self.flush()
    }

    /// VM shutdown: `proxy_on_done` on the root context; `proxy_on_delete` once it returned
    /// true or called `proxy_done`. Returns whether the root context is deleted.
    pub fn shutdown(&mut self) -> Result<bool> {
        self.store.data_mut().awaiting_done = true;
        let r = self.callback(cb::DONE, &[ROOT as i32])?;
        if (r != Some(0) || self.store.data().done_called) && !self.root_deleted {
            self.root_deleted = true;
            self.callback(cb::DELETE, &[ROOT as i32])?;
        }
        Ok(self.root_deleted)
    }
    /// Completes a shutdown that waited for `proxy_done` (also done automatically after the
    /// callback that called it). Returns whether the root context is deleted.
    pub fn finish_shutdown(&mut self) -> Result<bool> {
        self.flush()?;
        Ok(self.root_deleted)
    }
    /// Whether `proxy_on_delete` ran for the root context.
    pub fn is_deleted(&self) -> bool {
        self.root_deleted
    }

    pub(crate) fn new_context(&mut self, ctx: Context) -> Result<u32> {
        let id = self.next_context;
        self.next_context += 1;
        self.store.data_mut().contexts.insert(id, ctx);
        if self.failed.is_none() {
            self.callback(cb::CONTEXT_CREATE, &[id as i32, ROOT as i32])?;
        }
        Ok(id)
    }

    /// End of a stream context: `proxy_on_log`, `proxy_on_done`, `proxy_on_delete`.
    pub(crate) fn end_context(&mut self, id: u32) -> Result<()> {
        if self.failed.is_none() {
            self.callback(cb::LOG, &[id as i32])?;
            self.callback(cb::DONE, &[id as i32])?;
            self.callback(cb::DELETE, &[id as i32])?;
        }
        // Callouts outlive their stream: Envoy answers them on the root context anyway.
        Ok(())
    }
}
