//! The harness used from another repository: a throw-away crate outside this workspace (in the
//! temp directory, its own `[workspace]`) depends on the harness by path, as a user's filter
//! crate would, and its test runs a `.wasm` that is not a workspace filter through
//! `Plugin::builder(path)` and through a scenario file; the `harness` CLI runs the same module
//! and scenario from that directory. The crate shares this build's target directory and lock
//! file (so dependencies are not rebuilt) and builds offline.
use std::path::{Path, PathBuf};
use std::process::Command;

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| harness::workspace::workspace_root().join("target"))
}

#[test]
fn a_crate_outside_the_workspace_tests_its_module_with_the_harness() {
    let dir = std::env::temp_dir().join(format!("harness-outside-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let harness_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    // The module under test: any proxy-wasm module; here ABI 0.2.0 WAT that adds `x-abi: 0.2.0`.
    let wat = std::fs::read_to_string(harness_dir.join("probes/abi_0_2_0.wat")).unwrap();
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("my_filter.wasm"), wat::parse_str(&wat).unwrap()).unwrap();
    write(
        &dir.join("Cargo.toml"),
        &format!(
            r#"[package]
name = "my-filter"
version = "0.1.0"
edition = "2021"
publish = false

[dev-dependencies]
harness = {{ path = {:?} }}

[workspace]

# The harness workspace's dev profile, so the shared target directory's builds are reused.
[profile.dev]
debug = "line-tables-only"

[profile.dev.package."*"]
opt-level = 2
debug = false
"#,
            harness_dir.display().to_string()
        ),
    );
    write(&dir.join("src/lib.rs"), "");
    write(
        &dir.join("scenario.yaml"),
        "filter: my_filter.wasm\nrequests:\n  - path: /x\n    expect:\n      upstream: {headers: {equal: {x-abi: 0.2.0}}}\n      client: {status: 200}\n",
    );
    write(
        &dir.join("tests/filter.rs"),
        r#"use harness::{scenario, Plugin, Request, Response};
use std::path::Path;

#[test]
fn adds_its_header() {
    let wasm = Path::new(env!("CARGO_MANIFEST_DIR")).join("my_filter.wasm");
    let mut plugin = Plugin::builder(wasm.to_str().unwrap()).start().unwrap();
    let ex = plugin.send(Request::get("/x"), Response::status(200)).unwrap();
    assert_eq!(ex.upstream.unwrap().header("x-abi"), Some("0.2.0"));
    assert!(plugin.logs().iter().any(|l| l.message == "starts: S"));
}

#[test]
fn meets_its_scenario() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenario.yaml");
    let s = scenario::load(&file).unwrap();
    let mut plugin = s.builder(s.filter.as_deref().unwrap(), None).start().unwrap();
    let outcome = scenario::run(&s, &mut plugin);
    assert!(outcome.passed(), "{outcome:#?}");
}
"#,
    );
    std::fs::copy(
        harness::workspace::workspace_root().join("Cargo.lock"),
        dir.join("Cargo.lock"),
    )
    .unwrap();
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["test", "--offline", "--quiet"])
        .current_dir(&dir)
        .env("CARGO_TARGET_DIR", target_dir())
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("2 passed"), "{stdout}");

    // The CLI on the same module and scenario, from that directory.
    let out = Command::new(env!("CARGO_BIN_EXE_harness"))
        .args(["run", "my_filter.wasm", "--scenario", "scenario.yaml"])
        .current_dir(&dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("x-abi: 0.2.0") && stdout.ends_with("ok\n"),
        "{stdout}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
