//! The `harness` command: `run` a filter through a scenario, `inspect` a module.

use harness::scenario::{self, Outcome, Scenario};
use harness::{module, workspace, Message};
use serde_json::{json, Value};
use std::path::Path;

const USAGE: &str = "\
usage: harness run [<filter|file.wasm>] [--config FILE|JSON] [--scenario FILE] [--json]
       harness inspect <file.wasm|filter>

run      runs a scenario (YAML or JSON, see harness/README.md) through the filter and prints, per
         request, what the upstream received and what the client got, then logs and metrics.
         Without --scenario it sends one GET / answered 200. Exit 1 when an expectation fails.
inspect  prints the module's ABI version, exports, imports and imports the harness lacks.
Exit 2 on bad arguments or a bad scenario.";

/// A failure with its exit code.
pub struct Exit(pub i32, pub String);

fn usage(msg: &str) -> Exit {
    Exit(2, format!("{msg}\n\n{USAGE}"))
}

pub fn main(args: Vec<String>) -> Result<(), Exit> {
    match args.first().map(String::as_str) {
        Some("run") => run(&args[1..]),
        Some("inspect") => inspect(&args[1..]),
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(usage(&format!("unknown command '{other}'"))),
        None => Err(usage("missing command")),
    }
}

struct RunArgs {
    filter: String,
    config: Option<Vec<u8>>,
    scenario: Option<String>,
    json: bool,
}

fn parse_run(args: &[String]) -> Result<RunArgs, Exit> {
    let mut filter = None;
    let (mut config, mut scenario, mut json) = (None, None, false);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--json" => json = true,
            "--config" => {
                let v = it
                    .next()
                    .ok_or_else(|| usage("--config needs a file or a JSON value"))?;
                config = Some(read_config(v)?);
            }
            "--scenario" => {
                scenario = Some(
                    it.next()
                        .ok_or_else(|| usage("--scenario needs a file"))?
                        .clone(),
                )
            }
            s if s.starts_with('-') => return Err(usage(&format!("unknown option '{s}'"))),
            s if filter.is_none() => filter = Some(s.to_string()),
            s => return Err(usage(&format!("unexpected argument '{s}'"))),
        }
    }
    let filter = filter.unwrap_or_default();
    if filter.is_empty() && scenario.is_none() {
        return Err(usage("run needs a filter name or a .wasm file"));
    }
    Ok(RunArgs {
        filter,
        config,
        scenario,
        json,
    })
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

fn run(args: &[String]) -> Result<(), Exit> {
    let a = parse_run(args)?;
    let sc = match &a.scenario {
        Some(p) => {
            scenario::load(Path::new(p)).map_err(|e| Exit(2, format!("bad scenario: {e}")))?
        }
        None => scenario::parse("requests: [{}]", false).map_err(|e| Exit(2, e))?,
    };
    let filter = match (a.filter.is_empty(), &sc.filter) {
        (false, _) => a.filter.clone(),
        (true, Some(f)) => f.clone(),
        (true, None) => {
            return Err(usage(
                "no filter: give one on the command line or as `filter:` in the scenario",
            ))
        }
    };
    let mut plugin = sc
        .builder(&filter, a.config.clone())
        .start()
        .map_err(|e| Exit(1, format!("error: {e}")))?;
    let outcome = scenario::run(&sc, &mut plugin);
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&to_json(&sc, &outcome, &plugin)).unwrap_or_default()
        );
    } else {
        print_text(&outcome, &plugin);
    }
    if outcome.passed() {
        Ok(())
    } else {
        Err(Exit(1, failure_summary(&outcome)))
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

fn inspect(args: &[String]) -> Result<(), Exit> {
    let [target] = args else {
        return Err(usage("inspect needs exactly one .wasm file or filter name"));
    };
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
