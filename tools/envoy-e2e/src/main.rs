//! `envoy-diff`: runs scenario files by the harness and by a real Envoy and prints where the
//! observable results differ. Also reachable as `harness diff`.
#![cfg_attr(target_arch = "wasm32", allow(unused))]

#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
use clap::Parser;

/// Runs scenario files through the harness and through a real Envoy (1.40, v8) and prints the
/// field-by-field differences. Exit 0 when every run agrees, 1 when one differs or cannot run
/// in Envoy, 2 on bad arguments.
#[cfg(not(target_arch = "wasm32"))]
#[derive(Parser)]
#[command(name = "envoy-diff", version)]
struct Args {
    /// The module to run: a workspace filter name or any `.wasm` file (overrides the
    /// scenario's `filter:`).
    #[arg(long, value_name = "NAME|FILE.wasm")]
    filter: Option<String>,
    /// Scenario files (YAML or JSON), or directories of them.
    #[arg(required = true, value_name = "FILE|DIR")]
    paths: Vec<std::path::PathBuf>,
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    let args = Args::parse();
    std::process::exit(run(&args));
}

#[cfg(not(target_arch = "wasm32"))]
fn run(args: &Args) -> i32 {
    let mut files = Vec::new();
    for p in &args.paths {
        if p.is_dir() {
            match envoy_e2e::diff::scenario_files(p) {
                Ok(mut found) => files.append(&mut found),
                Err(e) => {
                    eprintln!("envoy-diff: {e}");
                    return 2;
                }
            }
        } else if p.is_file() {
            files.push(p.clone());
        } else {
            eprintln!("envoy-diff: {}: no such file or directory", p.display());
            return 2;
        }
    }
    let mut failed = 0;
    for file in &files {
        let reports = match envoy_e2e::diff::run_file(file, args.filter.as_deref()) {
            Ok(r) => r,
            Err(e) => {
                failed += 1;
                println!("{}: error: {e}", file.display());
                continue;
            }
        };
        for r in reports {
            let name = if r.plugin.is_empty() {
                file.display().to_string()
            } else {
                format!("{} ({})", file.display(), r.plugin)
            };
            if !r.unsupported.is_empty() {
                failed += 1;
                println!("{name}: cannot run in Envoy:");
                for u in &r.unsupported {
                    println!("  {u}");
                }
            } else if r.differences.is_empty() && r.rejected {
                println!("{name}: both rejected the configuration with the same messages");
            } else if r.differences.is_empty() {
                println!("{name}: {} request(s), harness and Envoy agree", r.requests);
            } else {
                failed += 1;
                println!("{name}: harness and Envoy differ ({}):", r.filter);
                for d in &r.differences {
                    println!("  {d}");
                }
            }
        }
    }
    i32::from(failed > 0)
}
