//! `envoy-diff`: runs scenario files by the harness and by a real Envoy and prints where the
//! observable results differ.
//!
//!   envoy-diff [--filter NAME] FILE|DIR...
//!
//! Exit 0 when every scenario matches, 1 when one differs or cannot run, 2 on bad arguments.
#![cfg_attr(target_arch = "wasm32", allow(unused))]

#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    std::process::exit(run(&args));
}

#[cfg(not(target_arch = "wasm32"))]
fn run(args: &[String]) -> i32 {
    use std::path::PathBuf;
    let mut filter = None;
    let mut files: Vec<PathBuf> = Vec::new();
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--filter" => match args.get(i + 1) {
                Some(f) => {
                    filter = Some(f.clone());
                    i += 1;
                }
                None => {
                    eprintln!("envoy-diff: --filter needs a value");
                    return 2;
                }
            },
            "-h" | "--help" => {
                println!("usage: envoy-diff [--filter NAME] FILE|DIR...");
                return 0;
            }
            a if a.starts_with('-') => {
                eprintln!("envoy-diff: unknown option '{a}'");
                return 2;
            }
            a => {
                let p = PathBuf::from(a);
                if p.is_dir() {
                    match envoy_e2e::diff::scenario_files(&p) {
                        Ok(mut found) => files.append(&mut found),
                        Err(e) => {
                            eprintln!("envoy-diff: {e}");
                            return 2;
                        }
                    }
                } else {
                    files.push(p);
                }
            }
        }
        i += 1;
    }
    if files.is_empty() {
        eprintln!("envoy-diff: no scenario files given");
        return 2;
    }
    let mut failed = 0;
    for file in &files {
        match envoy_e2e::diff::run_file(file, filter.as_deref()) {
            Ok(r) if !r.unsupported.is_empty() => {
                failed += 1;
                println!("{}: cannot run in Envoy:", file.display());
                for u in &r.unsupported {
                    println!("  {u}");
                }
            }
            Ok(r) if r.differences.is_empty() => {
                println!(
                    "{}: {} request(s), harness and Envoy agree",
                    file.display(),
                    r.requests
                );
            }
            Ok(r) => {
                failed += 1;
                println!(
                    "{}: harness and Envoy differ ({}):",
                    file.display(),
                    r.filter
                );
                for d in &r.differences {
                    println!("  {d}");
                }
            }
            Err(e) => {
                failed += 1;
                println!("{}: error: {e}", file.display());
            }
        }
    }
    i32::from(failed > 0)
}
