//! Third-party-style modules (tools/envoy-e2e/third_party: small crates written directly on the
//! `proxy-wasm` crate like its examples, in a workspace of their own; plus two modules shaped like
//! other toolchains' output, assembled from harness/probes/*.wat: ABI 0.2.0 with only `_start`,
//! and a wasm32-unknown-unknown-style module with `malloc` and no WASI) built here, then their
//! scenarios (third_party/scenarios/<module>[_<variant>].yaml) run (1) through the harness,
//! which must meet each scenario's expectations, and (2) through the harness and a real Envoy
//! by `envoy-diff`, which must find no difference (needs Envoy: run by scripts/test.d/20-envoy.sh).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use envoy_e2e::{diff, paths};
use harness::scenario;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

const MODULES: [&str; 6] = [
    "hello_headers",
    "root_only",
    "panic_in_callback",
    "auth_callout",
    "abi_0_2_0",
    "malloc_only",
];

/// Modules assembled from `harness/probes/<name>.wat` instead of built with cargo.
const WAT_MODULES: [&str; 2] = ["abi_0_2_0", "malloc_only"];

/// The `.wasm` file of a module: assembled from its WAT, or built with cargo (`modules()`).
fn module_path(name: &str) -> PathBuf {
    if !WAT_MODULES.contains(&name) {
        return modules().join(format!("{name}.wasm"));
    }
    let dir = modules().join("wat");
    std::fs::create_dir_all(&dir).unwrap();
    let wat = paths::root().join(format!("harness/probes/{name}.wat"));
    let path = dir.join(format!("{name}.wasm"));
    std::fs::write(&path, wat::parse_file(&wat).unwrap()).unwrap();
    path
}

fn third_party() -> PathBuf {
    paths::root().join("tools/envoy-e2e/third_party")
}

/// Builds the modules once (their own workspace, lock file and target directory, as a user's
/// repository would) and returns the directory holding the `.wasm` files.
fn modules() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| paths::root().join("target"))
            .join("third_party");
        let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args([
                "build",
                "--locked",
                "--release",
                "--target",
                "wasm32-wasip1",
            ])
            .arg("--manifest-path")
            .arg(third_party().join("Cargo.toml"))
            .env("CARGO_TARGET_DIR", &target)
            .output()
            .expect("run cargo");
        assert!(
            out.status.success(),
            "building the third-party modules failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        target.join("wasm32-wasip1/release")
    })
}

/// Each scenario with its module (the longest module name its file name starts with).
fn scenarios() -> Vec<(PathBuf, PathBuf)> {
    let files = diff::scenario_files(&third_party().join("scenarios")).unwrap();
    let pairs: Vec<_> = files
        .into_iter()
        .map(|f| {
            let stem = f.file_stem().unwrap().to_string_lossy().to_string();
            let module = MODULES
                .iter()
                .filter(|m| stem.starts_with(*m))
                .max_by_key(|m| m.len())
                .unwrap_or_else(|| panic!("{}: no module named by its file name", f.display()));
            (f, module_path(module))
        })
        .collect();
    for m in MODULES {
        assert!(
            pairs.iter().any(|(_, w)| w.ends_with(format!("{m}.wasm"))),
            "no scenario for {m}"
        );
    }
    pairs
}

#[test]
fn third_party_modules_meet_their_scenarios_in_the_harness() {
    let mut problems = Vec::new();
    for (file, wasm) in scenarios() {
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        let s = scenario::load(&file).unwrap();
        for (i, one) in s.per_plugin().into_iter().enumerate() {
            let label = format!("{name} {}", s.plugin_label(i));
            // `plugin.rejected` says which configurations must be refused, and with what.
            let started = one.builder(wasm.to_str().unwrap(), None).start();
            let start_problems = one.start_failures(started.as_ref().map(|_| ()));
            if !start_problems.is_empty() {
                problems.push(format!("{label}: {start_problems:?}"));
            }
            if let Ok(mut plugin) = started {
                let outcome = scenario::run(&one, &mut plugin);
                if !outcome.passed() {
                    problems.push(format!("{label}: {outcome:#?}"));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

#[test]
#[ignore = "needs Envoy: scripts/test.d/20-envoy.sh"]
fn third_party_modules_agree_with_envoy() {
    let mut problems = Vec::new();
    let mut compared = Vec::new();
    for (file, wasm) in scenarios() {
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        let reports = match diff::run_file(&file, Some(wasm.to_str().unwrap())) {
            Ok(r) => r,
            Err(e) => {
                problems.push(format!("{name}: {e}"));
                continue;
            }
        };
        for r in reports {
            let label = format!("{name} {}", r.plugin);
            if !r.unsupported.is_empty() {
                problems.push(format!("{label}: cannot run in Envoy: {:?}", r.unsupported));
            } else if !r.differences.is_empty() {
                problems.push(format!("{label}:\n  {}", r.differences.join("\n  ")));
            } else if !r.rejected && (r.requests == 0 || r.envoy_answered != r.requests) {
                problems.push(format!(
                    "{label}: Envoy answered {} of {} requests",
                    r.envoy_answered, r.requests
                ));
            } else {
                compared.push(label);
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
    assert!(compared.len() >= 10, "{compared:?}");
}

/// The documented command on a module built outside the workspace: `envoy-diff --filter
/// path/to/x.wasm scenario.yaml`, exit 0 and the agreement line.
#[test]
#[ignore = "needs Envoy: scripts/test.d/20-envoy.sh"]
fn envoy_diff_runs_any_wasm_file() {
    let wasm = modules().join("hello_headers.wasm");
    let scenario = third_party().join("scenarios/hello_headers.yaml");
    let out = Command::new(env!("CARGO_BIN_EXE_envoy-diff"))
        .arg("--filter")
        .arg(&wasm)
        .arg(&scenario)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("hello_headers.yaml: 2 request(s), harness and Envoy agree"),
        "{stdout}"
    );
}
