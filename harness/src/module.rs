//! Compiling modules (one shared engine, a per-process cache keyed by the module bytes) and
//! checking that a module is a proxy-wasm module the host can run.

use crate::error::{Error, Result};
use crate::host;
use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, OnceLock};
use wasmtime::{Engine, ExternType, Module};

/// ABI version a module declares with its marker export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AbiVersion {
    V0_2_1,
    V0_2_0,
}

impl AbiVersion {
    pub fn as_str(self) -> &'static str {
        match self {
            AbiVersion::V0_2_1 => "0.2.1",
            AbiVersion::V0_2_0 => "0.2.0",
        }
    }
}

/// The process-wide engine: compiled code is shared, every plugin has its own store.
pub(crate) fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        // Fuel bounds each callback, so an endless loop in a filter fails its test instead of
        // hanging it.
        let mut config = wasmtime::Config::new();
        config.consume_fuel(true);
        Engine::new(&config).unwrap_or_default()
    })
}

type Cache = Mutex<HashMap<u64, Vec<(Arc<[u8]>, Module)>>>;

fn cache() -> &'static Cache {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

/// Compiles `bytes`, or returns the module compiled earlier from identical bytes.
pub fn compile_cached(bytes: &[u8]) -> Result<Module> {
    let mut h = DefaultHasher::new();
    bytes.hash(&mut h);
    let key = h.finish();
    if let Some(m) = lookup(key, bytes) {
        return Ok(m);
    }
    let module = compile_uncached(bytes)?;
    let mut c = cache().lock().unwrap_or_else(|e| e.into_inner());
    c.entry(key)
        .or_default()
        .push((Arc::from(bytes), module.clone()));
    Ok(module)
}

fn lookup(key: u64, bytes: &[u8]) -> Option<Module> {
    let c = cache().lock().unwrap_or_else(|e| e.into_inner());
    c.get(&key)?
        .iter()
        .find(|(b, _)| **b == *bytes)
        .map(|(_, m)| m.clone())
}

/// Compiles without the cache (benchmarks measure this).
pub fn compile_uncached(bytes: &[u8]) -> Result<Module> {
    if !bytes.starts_with(b"\0asm") {
        return Err(Error::Load(
            "not a WebAssembly binary (no \\0asm magic)".into(),
        ));
    }
    Module::new(engine(), bytes).map_err(|e| Error::Load(format!("compile: {e}")))
}

/// What `harness inspect` reports and what loading checks.
#[derive(Debug, Clone)]
pub struct ModuleInfo {
    pub abi: Option<AbiVersion>,
    pub abi_markers: Vec<String>,
    pub exports: Vec<(String, String)>,
    pub imports: Vec<(String, String, String)>,
    /// Imports (`module.name`) the harness does not provide.
    pub unsatisfied: Vec<String>,
    pub callbacks: Vec<String>,
    pub allocator: Option<String>,
    pub start: Vec<String>,
}

fn describe(t: &ExternType) -> String {
    match t {
        ExternType::Func(f) => {
            let p: Vec<String> = f.params().map(|v| v.to_string()).collect();
            let r: Vec<String> = f.results().map(|v| v.to_string()).collect();
            format!("func({}) -> ({})", p.join(", "), r.join(", "))
        }
        ExternType::Memory(_) => "memory".into(),
        ExternType::Table(_) => "table".into(),
        ExternType::Global(_) => "global".into(),
        _ => "other".into(),
    }
}

pub fn inspect(module: &Module) -> ModuleInfo {
    let exports: Vec<(String, String)> = module
        .exports()
        .map(|e| (e.name().to_string(), describe(&e.ty())))
        .collect();
    let imports: Vec<(String, String, String)> = module
        .imports()
        .map(|i| {
            (
                i.module().to_string(),
                i.name().to_string(),
                describe(&i.ty()),
            )
        })
        .collect();
    let has = |n: &str| exports.iter().any(|(e, _)| e == n);
    let abi_markers: Vec<String> = exports
        .iter()
        .filter(|(n, _)| n.starts_with("proxy_abi_version_"))
        .map(|(n, _)| n.clone())
        .collect();
    let abi = if has("proxy_abi_version_0_2_1") {
        Some(AbiVersion::V0_2_1)
    } else if has("proxy_abi_version_0_2_0") {
        Some(AbiVersion::V0_2_0)
    } else {
        None
    };
    let provided = host::provided_imports();
    let unsatisfied = imports
        .iter()
        .filter(|(m, n, _)| !provided.contains(&(m.as_str(), n.as_str())))
        .map(|(m, n, _)| format!("{m}.{n}"))
        .collect();
    let callbacks = crate::abi::CALLBACKS
        .iter()
        .filter(|(n, _, _)| has(n))
        .map(|(n, _, _)| n.to_string())
        .collect();
    let allocator = ["proxy_on_memory_allocate", "malloc"]
        .iter()
        .find(|n| has(n))
        .map(|s| s.to_string());
    let start = ["_initialize", "_start", "main"]
        .iter()
        .filter(|n| has(n))
        .map(|s| s.to_string())
        .collect();
    ModuleInfo {
        abi,
        abi_markers,
        exports,
        imports,
        unsatisfied,
        callbacks,
        allocator,
        start,
    }
}

/// Checks a module can run here: known ABI, memory, allocator, imports all provided.
pub(crate) fn check(info: &ModuleInfo) -> Result<AbiVersion> {
    let abi = info.abi.ok_or_else(|| Error::UnknownAbi {
        markers: info.abi_markers.clone(),
    })?;
    if !info
        .exports
        .iter()
        .any(|(n, t)| n == "memory" && t == "memory")
    {
        return Err(Error::MissingExport("memory".into()));
    }
    if info.allocator.is_none() {
        return Err(Error::MissingExport(
            "proxy_on_memory_allocate (or malloc)".into(),
        ));
    }
    if !info.unsatisfied.is_empty() {
        return Err(Error::UnsatisfiedImports(info.unsatisfied.clone()));
    }
    Ok(abi)
}

/// The proxy-wasm callbacks a module exports, sorted: what Envoy will call. `filter` is a
/// workspace filter name or a path, as for [`crate::workspace::wasm_bytes`].
pub fn exported_callbacks(filter: &str) -> Result<Vec<String>> {
    let bytes = crate::workspace::wasm_bytes(filter)?;
    let mut callbacks = inspect(&compile_cached(&bytes)?).callbacks;
    callbacks.sort();
    Ok(callbacks)
}
