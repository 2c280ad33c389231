//! The `harness` command: `run` a filter through a scenario, `inspect` a module, `diff` a
//! scenario against real Envoy.

use clap::{Parser, Subcommand};
use harness::scenario::{self, Outcome, Scenario};
use harness::{module, workspace, Level, Message};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::Command;

/// A wasmtime emulator of Envoy's proxy-wasm host: runs any proxy-wasm module (a workspace
/// filter or a `.wasm` file) without Envoy, and compares it with real Envoy.
#[derive(Parser)]
#[command(name = "harness", version, arg_required_else_help = true)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Runs a scenario through a filter and prints what the upstream and the client saw
    ///
    /// The scenario (YAML or JSON, see harness/README.md) is run per plugin configuration; for
    /// each request it prints what the upstream received and what the client got, then the logs
    /// and metrics. Without --scenario it sends one GET / answered 200. Exit 1 when an
    /// expectation fails or the plugin does not start.
    Run(RunArgs),
    /// Prints a module's ABI version, exports, imports and the imports the harness lacks
    Inspect {
        /// A `.wasm` file or a workspace filter name.
        #[arg(value_name = "FILE.wasm|FILTER")]
        target: String,
    },
    /// Runs scenario files through the harness and a real Envoy and prints the differences
    ///
    /// Field by field, after normalising clock readings, durations, addresses and request ids.
    /// This is the `envoy-diff` program of tools/envoy-e2e (needs Envoy 1.40: ENVOY_BIN, envoy on
    /// PATH or the repository's .venv). Exit 0 when every run agrees, 1 when one differs or a
    /// scenario cannot run in Envoy (the reason is printed), 2 on bad arguments.
    Diff {
        /// The module: a workspace filter name or any `.wasm` file (overrides `filter:`).
        #[arg(long, value_name = "NAME|FILE.wasm")]
        filter: Option<String>,
        /// Scenario files, or directories of them.
        #[arg(required = true, value_name = "FILE|DIR")]
        paths: Vec<PathBuf>,
    },
}

#[derive(clap::Args)]
struct RunArgs {
    /// A workspace filter name or a `.wasm` file (default: the scenario's `filter:`).
    #[arg(value_name = "FILTER|FILE.wasm")]
    filter: Option<String>,
    /// The plugin configuration: inline JSON, or a file (YAML files are sent as JSON).
    #[arg(long, value_name = "FILE|JSON")]
    config: Option<String>,
    /// A scenario file (YAML or JSON).
    #[arg(long, value_name = "FILE")]
    scenario: Option<PathBuf>,
    /// Prints the results as JSON.
    #[arg(long)]
    json: bool,
    /// Counts, per request: VM entries, host calls, host-call bytes, allocations in the module.
    #[arg(long)]
    count: bool,
    /// The log level the module sees (`proxy_get_log_level`); Envoy runs at info by default.
    #[arg(long, value_name = "LEVEL", default_value = "trace", value_parser = parse_level)]
    log_level: Level,
}

fn parse_level(s: &str) -> Result<Level, String> {
    Level::parse(s).ok_or_else(|| {
        format!("unknown log level '{s}' (expected trace, debug, info, warn, error, critical)")
    })
}

/// A failure with its exit code.
pub struct Exit(pub i32, pub String);

/// Parses the arguments (clap prints help and exits 0, or a usage error and exits 2) and runs.
pub fn main() -> Result<(), Exit> {
    match Cli::parse().command {
        Cmd::Run(a) => run(a),
        Cmd::Inspect { target } => inspect(&target),
        Cmd::Diff { filter, paths } => diff(filter, paths),
    }
}

fn usage(msg: &str) -> Exit {
    Exit(
        2,
        format!("error: {msg}\n\nFor more information, try 'harness run --help'."),
    )
}

/// Inline JSON (starts with `{`, `[` or `"`) or a file; YAML files are converted to JSON.
fn read_config(v: &str) -> Result<Vec<u8>, Exit> {
    let t = v.trim_start();
    if t.starts_with('{') || t.starts_with('[') || t.starts_with('"') {
        serde_json::from_str::<Value>(v)
            .map_err(|e| Exit(2, format!("--config: invalid JSON: {e}")))?;
        return Ok(v.as_bytes().to_vec());
    }
    let bytes = std::fs::read(v).map_err(|e| Exit(2, format!("--config {v}: {e}")))?;
    if v.ends_with(".yaml") || v.ends_with(".yml") {
        let value: Value = serde_norway::from_slice(&bytes)
            .map_err(|e| Exit(2, format!("--config {v}: invalid YAML: {e}")))?;
        return Ok(value.to_string().into_bytes());
    }
    Ok(bytes)
}

fn run(a: RunArgs) -> Result<(), Exit> {
    let config = a.config.as_deref().map(read_config).transpose()?;
    let sc = match &a.scenario {
        Some(p) => scenario::load(p).map_err(|e| Exit(2, format!("bad scenario: {e}")))?,
        None => scenario::parse("requests: [{}]", false).map_err(|e| Exit(2, e))?,
    };
    let filter = match (a.filter, &sc.filter) {
        (Some(f), _) => f,
        (None, Some(f)) => f.clone(),
        (None, None) => {
            return Err(usage(
                "no filter: give one on the command line or as `filter:` in the scenario",
            ))
        }
    };
    let runs = sc.per_plugin();
    let mut failures = Vec::new();
    let mut results = Vec::new();
    for (i, one) in runs.iter().enumerate() {
        let label = sc.plugin_label(i);
        if !label.is_empty() && !a.json {
            println!("== {label}");
        }
        let builder = one.builder(&filter, config.clone());
        let mut plugin = match builder.count_calls(a.count).log_level(a.log_level).start() {
            Ok(p) => p,
            Err(e) => {
                // Expected (`plugin.rejected`) or not, a refused start ends this run.
                let problems = one.start_failures(Err(&e));
                if a.json {
                    results.push(json!({"plugin": label, "rejected": e.to_string(),
                        "passed": problems.is_empty(), "failures": problems}));
                } else if problems.is_empty() {
                    println!("configuration rejected as expected: {e}");
                } else {
                    println!("error: {e}");
                }
                if !problems.is_empty() {
                    failures.push(labelled(&label, &problems));
                }
                continue;
            }
        };
        let unexpected_start = one.start_failures(Ok(()));
        if !unexpected_start.is_empty() {
            failures.push(labelled(&label, &unexpected_start));
        }
        let outcome = scenario::run(one, &mut plugin);
        if a.json {
            let mut v = to_json(one, &outcome, &plugin);
            if !label.is_empty() {
                v["plugin"] = json!(label);
            }
            results.push(v);
        } else {
            print_text(&outcome, &plugin);
        }
        if !outcome.passed() {
            failures.push(failure_summary(&outcome));
        }
    }
    if a.json {
        let out = if sc.plugins.is_empty() {
            results.pop().unwrap_or_default()
        } else {
            Value::Array(results)
        };
        println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(Exit(1, failures.join("\n")))
    }
}

fn labelled(label: &str, problems: &[String]) -> String {
    if label.is_empty() {
        problems.join("\n")
    } else {
        format!("{label}: {}", problems.join("\n"))
    }
}

fn failure_summary(o: &Outcome) -> String {
    let mut out = String::from("expectations failed:");
    for r in &o.requests {
        for f in &r.failures {
            out.push_str(&format!("\n  {}: {f}", r.label));
        }
    }
    for f in &o.failures {
        out.push_str(&format!("\n  scenario: {f}"));
    }
    out
}

fn print_message(title: &str, m: &Message) {
    println!("  {title}:");
    for (k, v) in &m.headers {
        println!("    {k}: {}", String::from_utf8_lossy(v));
    }
    if !m.body.is_empty() {
        println!("    body: {:?}", m.body_str());
    }
    for (k, v) in &m.trailers {
        println!("    trailer {k}: {}", String::from_utf8_lossy(v));
    }
}

fn print_text(o: &Outcome, p: &harness::Plugin) {
    for r in &o.requests {
        println!("{}", r.label);
        match &r.exchange {
            Some(ex) => {
                match &ex.upstream {
                    Some(u) => print_message("upstream received", u),
                    None => println!("  upstream received: nothing (local reply)"),
                }
                print_message("client got", &ex.client);
                if let Some(l) = &ex.local_reply {
                    println!("  local reply: {} ({})", l.status, l.details);
                }
            }
            None => println!("  error: {}", r.error.as_deref().unwrap_or("")),
        }
        for f in &r.failures {
            println!("  FAIL {f}");
        }
        if let Some(c) = &r.counters {
            println!(
                "  counted: {} VM entries, {} host calls, {} host-call bytes, {} allocations, {} fuel",
                c.total_vm_entries(),
                c.total_host_calls(),
                c.host_call_bytes,
                c.allocations,
                c.wasm_fuel
            );
        }
    }
    println!("logs:");
    for l in p.logs() {
        println!("  [{}] {}", l.level.name(), l.message);
    }
    println!("metrics:");
    for (name, kind, v) in p.metrics() {
        println!("  {name} ({kind:?}) = {v}");
    }
    for f in &o.failures {
        println!("FAIL {f}");
    }
    let total: usize =
        o.requests.iter().map(|r| r.failures.len()).sum::<usize>() + o.failures.len();
    println!(
        "{}",
        if total == 0 {
            "ok".to_string()
        } else {
            format!("{total} expectation(s) failed")
        }
    );
}

fn message_json(m: &Message) -> Value {
    let pairs = |h: &harness::Headers| -> Value {
        h.iter()
            .map(|(k, v)| json!([k, String::from_utf8_lossy(v)]))
            .collect()
    };
    json!({"headers": pairs(&m.headers), "body": m.body_str(), "trailers": pairs(&m.trailers)})
}

fn counters_json(c: &harness::Counters) -> Value {
    json!({
        "vm_entries": c.total_vm_entries(), "host_calls": c.total_host_calls(),
        "host_call_bytes": c.host_call_bytes, "allocations": c.allocations, "wasm_fuel": c.wasm_fuel,
        "vm_entries_by_export": c.vm_entries, "host_calls_by_import": c.host_calls,
    })
}

fn to_json(_s: &Scenario, o: &Outcome, p: &harness::Plugin) -> Value {
    let requests: Vec<Value> = o
        .requests
        .iter()
        .map(|r| {
            let ex = r.exchange.as_ref();
            json!({
                "label": r.label,
                "upstream": ex.and_then(|e| e.upstream.as_ref()).map(message_json),
                "client": ex.map(|e| message_json(&e.client)),
                "local_reply": ex.and_then(|e| e.local_reply.as_ref()).map(|l| json!({"status": l.status, "details": l.details})),
                "error": r.error,
                "failures": r.failures,
                "counters": r.counters.as_ref().map(counters_json),
            })
        })
        .collect();
    let logs: Vec<Value> = p
        .logs()
        .iter()
        .map(|l| json!({"level": l.level.name(), "message": l.message}))
        .collect();
    let metrics: Vec<Value> = p
        .metrics()
        .into_iter()
        .map(|(n, k, v)| json!({"name": n, "kind": format!("{k:?}").to_lowercase(), "value": v}))
        .collect();
    json!({"passed": o.passed(), "requests": requests, "logs": logs, "metrics": metrics, "failures": o.failures})
}

fn inspect(target: &str) -> Result<(), Exit> {
    let bytes = workspace::wasm_bytes(target).map_err(|e| Exit(2, e.to_string()))?;
    let m = module::compile_cached(&bytes).map_err(|e| Exit(2, e.to_string()))?;
    let info = module::inspect(&m);
    println!("file: {target} ({} bytes)", bytes.len());
    match info.abi {
        Some(v) => println!("abi: {}", v.as_str()),
        None if info.abi_markers.is_empty() => println!("abi: none (not a proxy-wasm module)"),
        None => println!("abi: unsupported ({})", info.abi_markers.join(", ")),
    }
    println!(
        "allocator: {}",
        info.allocator.as_deref().unwrap_or("MISSING")
    );
    println!(
        "start functions: {}",
        if info.start.is_empty() {
            "none".into()
        } else {
            info.start.join(", ")
        }
    );
    println!(
        "callbacks ({} of 25): {}",
        info.callbacks.len(),
        info.callbacks.join(", ")
    );
    println!("exports:");
    for (n, t) in &info.exports {
        println!("  {n}: {t}");
    }
    println!("imports:");
    for (m, n, t) in &info.imports {
        println!("  {m}.{n}: {t}");
    }
    if info.unsatisfied.is_empty() {
        println!("unsatisfied imports: none");
    } else {
        println!("unsatisfied imports (the harness and Envoy do not provide these):");
        for u in &info.unsatisfied {
            println!("  {u}");
        }
    }
    Ok(())
}

/// `envoy-diff` (tools/envoy-e2e), which owns the Envoy side: beside this program (both built
/// by cargo into the same directory, or both installed), else on PATH, else run with cargo from
/// the harness's workspace.
fn diff(filter: Option<String>, paths: Vec<PathBuf>) -> Result<(), Exit> {
    let mut args: Vec<String> = Vec::new();
    if let Some(f) = filter {
        args.push("--filter".into());
        args.push(f);
    }
    args.extend(paths.iter().map(|p| p.to_string_lossy().into_owned()));
    let exe = format!("envoy-diff{}", std::env::consts::EXE_SUFFIX);
    let beside = std::env::current_exe()
        .ok()
        .map(|e| e.with_file_name(&exe))
        .filter(|p| p.is_file());
    let on_path = || {
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join(&exe))
                .find(|p| p.is_file())
        })
    };
    let manifest = workspace::workspace_root().join("tools/envoy-e2e/Cargo.toml");
    let mut cmd =
        match beside.or_else(on_path) {
            Some(bin) => Command::new(bin),
            None if manifest.is_file() => {
                let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
                c.args(["run", "--quiet", "--manifest-path"])
                    .arg(&manifest)
                    .args(["--bin", "envoy-diff", "--"]);
                c
            }
            None => return Err(Exit(
                2,
                "envoy-diff not found beside harness or on PATH: install it with `cargo install \
                 --path tools/envoy-e2e` from the harness's repository"
                    .into(),
            )),
        };
    let status = cmd
        .args(&args)
        .status()
        .map_err(|e| Exit(2, format!("cannot run envoy-diff: {e}")))?;
    match status.code() {
        Some(0) => Ok(()),
        Some(code) => Err(Exit(code, String::new())),
        None => Err(Exit(1, "envoy-diff was killed".into())),
    }
}
