//! The probe's program: which commands to run in which callback, read from the plugin
//! configuration (or the VM configuration, for `vm_start`), plus the variables commands share.
//!
//! ```json
//! {"on": {"request_headers": [
//!     {"call": "proxy_get_header_map_value", "map": 0, "key": ":path"},
//!     {"call": "proxy_http_call", "cluster": "auth", "headers": [[":method", "GET"]], "save": "tok"},
//!     {"return": "pause", "when": {"eos": true}}
//! ]}}
//! ```

use std::cell::RefCell;
use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::calls;

#[derive(Default)]
struct State {
    /// Callback short name (`request_headers`) -> commands.
    program: BTreeMap<String, Vec<Value>>,
    /// Callback arguments of the current callback, saved results (`save`) and `let` values.
    vars: BTreeMap<String, i64>,
    /// How many times each callback ran (exposed as the variable `n`).
    counts: BTreeMap<String, i64>,
}

thread_local! {
    static STATE: RefCell<State> = RefCell::new(State::default());
}

/// The callbacks a program may name (short form; `proxy_on_` is also accepted).
pub const CALLBACKS: [&str; 25] = [
    "context_create",
    "done",
    "log",
    "delete",
    "vm_start",
    "configure",
    "tick",
    "queue_ready",
    "new_connection",
    "downstream_data",
    "downstream_connection_close",
    "upstream_data",
    "upstream_connection_close",
    "request_headers",
    "request_body",
    "request_trailers",
    "response_headers",
    "response_body",
    "response_trailers",
    "http_call_response",
    "grpc_receive_initial_metadata",
    "grpc_receive",
    "grpc_receive_trailing_metadata",
    "grpc_close",
    "foreign_function",
];

/// Parses and checks a program; the error names the offending part.
pub fn install(config: &[u8]) -> Result<(), String> {
    let program = parse(config)?;
    STATE.with(|s| s.borrow_mut().program = program);
    Ok(())
}

fn parse(config: &[u8]) -> Result<BTreeMap<String, Vec<Value>>, String> {
    let mut program = BTreeMap::new();
    if config.iter().all(u8::is_ascii_whitespace) {
        return Ok(program);
    }
    let root: Value = serde_json::from_slice(config).map_err(|e| format!("not JSON: {e}"))?;
    let Some(root) = root.as_object() else {
        return Err("expected a JSON object".into());
    };
    if let Some(key) = root.keys().find(|k| k.as_str() != "on") {
        return Err(format!("unknown key \"{key}\" (expected \"on\")"));
    }
    let Some(on) = root.get("on") else {
        return Ok(program);
    };
    let Some(on) = on.as_object() else {
        return Err("\"on\" must be an object of callback -> commands".into());
    };
    for (callback, commands) in on {
        let short = callback.strip_prefix("proxy_on_").unwrap_or(callback);
        if !CALLBACKS.contains(&short) {
            return Err(format!("unknown callback \"{callback}\""));
        }
        let Some(commands) = commands.as_array() else {
            return Err(format!("on.{callback} must be a list of commands"));
        };
        for (i, command) in commands.iter().enumerate() {
            check(command).map_err(|e| format!("on.{callback}[{i}]: {e}"))?;
        }
        program.insert(short.to_string(), commands.clone());
    }
    Ok(program)
}

/// A command is an object with exactly one of `call`, `return`, `let`, `trap`.
fn check(command: &Value) -> Result<(), String> {
    let Some(command) = command.as_object() else {
        return Err("a command must be an object".into());
    };
    let kinds = ["call", "return", "let", "trap"];
    let present: Vec<&str> = kinds
        .into_iter()
        .filter(|k| command.contains_key(*k))
        .collect();
    if present.len() != 1 {
        return Err(format!("needs exactly one of {kinds:?}"));
    }
    if let Some(call) = command.get("call") {
        let name = call.as_str().ok_or("\"call\" must be a string")?;
        if !calls::is_known(name) {
            return Err(format!("unknown host function \"{name}\""));
        }
    }
    if let Some(when) = command.get("when") {
        if !when.is_object() {
            return Err("\"when\" must be an object of variable -> value".into());
        }
    }
    Ok(())
}

/// What a callback returns unless a `return` command says otherwise.
pub enum Returned {
    Default,
    Value(i64),
}

impl Returned {
    /// The value to hand back to the host, `default` when no `return` command ran.
    pub fn or(self, default: i64) -> i64 {
        match self {
            Returned::Default => default,
            Returned::Value(v) => v,
        }
    }
}

/// Logs `callback proxy_on_<name> k=v ...` and sets the callback's argument variables
/// (`eos` is shown as true/false, stored as 1/0) plus `n`, how many times it ran.
pub fn announce(callback: &str, args: &[(&str, i64)]) {
    let mut line = format!("callback proxy_on_{callback}");
    for (name, value) in args {
        match *name {
            "eos" => line.push_str(&format!(" eos={}", *value != 0)),
            _ => line.push_str(&format!(" {name}={value}")),
        }
    }
    crate::out::log(crate::out::INFO, &line);
    STATE.with(|s| {
        let mut s = s.borrow_mut();
        let n = s.counts.entry(callback.to_string()).or_insert(0);
        *n += 1;
        let n = *n;
        s.vars.insert("n".into(), n);
        for (name, value) in args {
            s.vars.insert((*name).to_string(), *value);
        }
    });
}

/// Runs the commands the program has for a callback; returns the last `return` value met.
pub fn execute(callback: &str) -> Returned {
    // Cloned so no borrow is held while host calls run (a host may call back into us).
    let commands = STATE.with(|s| {
        s.borrow()
            .program
            .get(callback)
            .cloned()
            .unwrap_or_default()
    });
    let mut returned = Returned::Default;
    for command in &commands {
        let Some(command) = command.as_object() else {
            continue;
        };
        if !matches(command.get("when")) {
            continue;
        }
        if let Some(value) = command.get("return") {
            returned = Returned::Value(return_value(value));
        } else if let Some(vars) = command.get("let").and_then(Value::as_object) {
            for (name, value) in vars {
                let value = Args(command).resolve(value);
                set_var(name, value);
            }
        } else if let Some(message) = command.get("trap") {
            trap(message.as_str().unwrap_or("probe trap"));
        } else if let Some(name) = command.get("call").and_then(Value::as_str) {
            let saved = calls::dispatch(name, &Args(command));
            if let (Some(var), Some(value)) = (command.get("save").and_then(Value::as_str), saved) {
                set_var(var, value);
            }
        }
    }
    returned
}

/// `announce` then `execute`.
pub fn run(callback: &str, args: &[(&str, i64)]) -> Returned {
    announce(callback, args);
    execute(callback)
}

/// `when: {"eos": true, "n": 1}`: every named variable must equal the value (true = 1).
fn matches(when: Option<&Value>) -> bool {
    let Some(when) = when.and_then(Value::as_object) else {
        return true;
    };
    when.iter()
        .all(|(name, want)| var(name) == Some(Args(&Map::new()).resolve(want)))
}

fn return_value(value: &Value) -> i64 {
    match value {
        Value::String(s) if s == "pause" => 1,
        Value::String(_) => 0,
        Value::Bool(b) => i64::from(*b),
        other => other.as_i64().unwrap_or(0),
    }
}

pub fn var(name: &str) -> Option<i64> {
    STATE.with(|s| s.borrow().vars.get(name).copied())
}

fn set_var(name: &str, value: i64) {
    STATE.with(|s| s.borrow_mut().vars.insert(name.to_string(), value));
}

/// Logs the message at critical (as the Rust SDK's panic hook does) and traps.
fn trap(message: &str) -> ! {
    crate::out::log(5, message);
    #[cfg(target_arch = "wasm32")]
    core::arch::wasm32::unreachable();
    #[cfg(not(target_arch = "wasm32"))]
    std::process::abort();
}

/// A command's arguments. Integers may be written as `"$var"`; bytes as a string or a list of
/// byte values; pairs as a list of `[name, value]`.
pub struct Args<'a>(pub &'a Map<String, Value>);

impl Args<'_> {
    pub fn int(&self, key: &str, default: i64) -> i64 {
        self.0.get(key).map_or(default, |v| self.resolve(v))
    }

    pub fn u32(&self, key: &str, default: u32) -> u32 {
        self.int(key, i64::from(default)) as u32
    }

    fn resolve(&self, value: &Value) -> i64 {
        match value {
            Value::Bool(b) => i64::from(*b),
            Value::String(s) => s.strip_prefix('$').and_then(var).unwrap_or(0),
            other => other
                .as_i64()
                .or_else(|| other.as_u64().map(|u| u as i64))
                .unwrap_or(0),
        }
    }

    pub fn bytes(&self, key: &str) -> Vec<u8> {
        to_bytes(self.0.get(key))
    }

    /// Pairs serialized in the wire format; `"<key>_raw"` (bytes) overrides them verbatim so a
    /// test can send a malformed map.
    pub fn pairs(&self, key: &str) -> Vec<u8> {
        if let Some(raw) = self.0.get(&format!("{key}_raw")) {
            return to_bytes(Some(raw));
        }
        let pairs: Vec<(Vec<u8>, Vec<u8>)> = self
            .0
            .get(key)
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .filter_map(Value::as_array)
                    .map(|pair| (to_bytes(pair.first()), to_bytes(pair.get(1))))
                    .collect()
            })
            .unwrap_or_default();
        crate::out::encode_pairs(&pairs)
    }

    /// A property path: a list of segments joined with NUL, or one string taken as is.
    pub fn path(&self, key: &str) -> Vec<u8> {
        match self.0.get(key) {
            Some(Value::Array(segments)) if segments.iter().all(Value::is_string) => segments
                .iter()
                .map(|s| s.as_str().unwrap_or_default().as_bytes())
                .collect::<Vec<_>>()
                .join(&0u8),
            other => to_bytes(other),
        }
    }
}

fn to_bytes(value: Option<&Value>) -> Vec<u8> {
    match value {
        Some(Value::String(s)) => s.as_bytes().to_vec(),
        Some(Value::Array(list)) => list.iter().map(|b| b.as_u64().unwrap_or(0) as u8).collect(),
        _ => Vec::new(),
    }
}
