//! Finding a workspace filter's `.wasm`, building it when missing or stale (once per process).

use crate::error::{Error, Result};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};
use std::time::SystemTime;

/// Whether `filter` names a module file (ends in `.wasm` or has a path separator) rather than
/// a workspace filter.
pub fn is_module_path(filter: &str) -> bool {
    filter.ends_with(".wasm") || filter.contains('/') || filter.contains(std::path::MAIN_SEPARATOR)
}

/// The module bytes for a workspace filter name or a path to a `.wasm` file.
pub fn wasm_bytes(filter: &str) -> Result<Vec<u8>> {
    let path = if is_module_path(filter) {
        PathBuf::from(filter)
    } else {
        filter_wasm(filter)?
    };
    std::fs::read(&path).map_err(|e| Error::Load(format!("{}: {e}", path.display())))
}

/// The workspace root: `HARNESS_WORKSPACE`, else the parent of this crate.
pub fn workspace_root() -> PathBuf {
    match std::env::var_os("HARNESS_WORKSPACE") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default(),
    }
}

/// The shipped module of a workspace filter, as scripts/build.sh writes it:
/// `$HARNESS_WASM_DIR/<name>.wasm`, else `dist/<name>.wasm` under the workspace root.
pub fn shipped_wasm(name: &str) -> Result<PathBuf> {
    let dir = std::env::var_os("HARNESS_WASM_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("dist"));
    let path = module_file(dir, name);
    if path.is_file() {
        Ok(path)
    } else {
        Err(Error::Load(format!(
            "{} not found: scripts/build.sh writes the shipped modules (scripts/test.sh runs it first)",
            path.display()
        )))
    }
}

/// `<dir>/<name>.wasm`, with the file name scripts/build.sh gives it (`-` written as `_`).
fn module_file(dir: PathBuf, name: &str) -> PathBuf {
    dir.join(format!("{}.wasm", name.replace('-', "_")))
}

/// A workspace filter's module: `$HARNESS_WASM_DIR/<name>.wasm` when that is set and the file
/// exists (scripts/test.sh points it at `dist/`, the shipped modules: callbacks trimmed and
/// optimised by scripts/build.sh), else `target/wasm32-wasip1/release/<lib>.wasm`, built if
/// needed.
pub fn filter_wasm(name: &str) -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("HARNESS_WASM_DIR") {
        let shipped = module_file(PathBuf::from(dir), name);
        if shipped.is_file() {
            return Ok(shipped);
        }
    }
    static BUILT: OnceLock<Mutex<HashMap<String, std::result::Result<PathBuf, String>>>> =
        OnceLock::new();
    // Held during the build so parallel tests of one process build once.
    let mut built = BUILT
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(r) = built.get(name) {
        return r.clone().map_err(Error::Load);
    }
    let r = build(name);
    built.insert(name.to_string(), r.clone());
    r.map_err(Error::Load)
}

fn build(name: &str) -> std::result::Result<PathBuf, String> {
    let root = workspace_root();
    let names = [
        name.to_string(),
        name.replace('-', "_"),
        name.replace('_', "-"),
    ];
    let dir = ["filters", "harness/probes"]
        .iter()
        .flat_map(|parent| names.iter().map(|n| root.join(parent).join(n)).collect::<Vec<_>>())
        .find(|d| d.join("Cargo.toml").is_file())
        .ok_or_else(|| {
            format!("no workspace filter '{name}' (looked for filters/{name}/Cargo.toml and harness/probes/{name}/Cargo.toml under {})", root.display())
        })?;
    let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).map_err(|e| e.to_string())?;
    let package =
        toml_string(&manifest, "package", "name").ok_or("no [package] name in its Cargo.toml")?;
    let lib = toml_string(&manifest, "lib", "name").unwrap_or_else(|| package.replace('-', "_"));
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let wasm = target
        .join("wasm32-wasip1")
        .join("release")
        .join(format!("{lib}.wasm"));
    let inputs = [
        dir.clone(),
        root.join("filters/common"),
        root.join("Cargo.toml"),
        root.join("Cargo.lock"),
    ];
    let newest = inputs.iter().filter_map(|p| newest_mtime(p)).max();
    let fresh = match (mtime(&wasm), newest) {
        (Some(w), Some(n)) => w >= n,
        (Some(_), None) => true,
        _ => false,
    };
    if fresh {
        return Ok(wasm);
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-wasip1",
            "-p",
            &package,
        ])
        .current_dir(&root)
        .output()
        .map_err(|e| format!("running cargo to build {package}: {e}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = err.lines().rev().take(30).collect();
        return Err(format!(
            "cargo build --release --target wasm32-wasip1 -p {package} failed:\n{}",
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        ));
    }
    if !wasm.is_file() {
        return Err(format!(
            "built {package} but {} does not exist",
            wasm.display()
        ));
    }
    Ok(wasm)
}

/// `key = "value"` inside `[section]` of a Cargo.toml (enough for package and lib names).
fn toml_string(text: &str, section: &str, key: &str) -> Option<String> {
    let mut inside = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            inside = line == format!("[{section}]");
            continue;
        }
        if !inside {
            continue;
        }
        let (k, v) = line.split_once('=')?;
        if k.trim() == key {
            return Some(v.trim().trim_matches('"').to_string());
        }
    }
    None
}

fn mtime(p: &Path) -> Option<SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

fn newest_mtime(p: &Path) -> Option<SystemTime> {
    let meta = std::fs::metadata(p).ok()?;
    if !meta.is_dir() {
        return meta.modified().ok();
    }
    let mut newest = meta.modified().ok();
    for e in std::fs::read_dir(p).ok()?.flatten() {
        let path = e.path();
        if path
            .file_name()
            .is_some_and(|n| n == "target" || n.to_string_lossy().starts_with('.'))
        {
            continue;
        }
        newest = newest.max(newest_mtime(&path));
    }
    newest
}
