//! Keeps the ABI coverage honest: every host function, WASI function and callback is exercised
//! by at least one `abi_*` test, and the `## ABI coverage` table in harness/README.md names, for
//! each of them, tests that really exercise it.
//!
//! "Exercises" is read from the test's source: a host function appears as `"<name>"` (a probe
//! command, whose report line the test asserts), a callback as its `callback <name> ` log line.

use std::collections::BTreeMap;
use std::path::Path;

/// The WASI functions Envoy provides (REFERENCE.md §1).
const WASI: [&str; 8] = [
    "fd_write",
    "clock_time_get",
    "random_get",
    "environ_sizes_get",
    "environ_get",
    "args_sizes_get",
    "args_get",
    "proc_exit",
];

fn crate_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `abi_file::test_name` -> test body, for every `#[test]` in harness/tests/abi_*.rs.
fn tests() -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let dir = crate_dir().join("tests");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.starts_with("abi_") || !name.ends_with(".rs") || name == "abi_coverage.rs" {
            continue;
        }
        let module = name.trim_end_matches(".rs");
        let source = std::fs::read_to_string(&path).unwrap();
        for chunk in source.split("#[test]\nfn ").skip(1) {
            let (test, rest) = chunk.split_once("()").unwrap();
            let body = rest.split("\n}\n").next().unwrap_or(rest);
            out.insert(format!("{module}::{test}"), body.to_string());
        }
    }
    out
}

fn exercises(body: &str, name: &str) -> bool {
    if name.starts_with("proxy_on_") {
        body.contains(&format!("callback {name} "))
    } else {
        body.contains(&format!("\"{name}\""))
    }
}

fn everything() -> Vec<&'static str> {
    let mut names: Vec<&str> = harness::ABI_FUNCTIONS.to_vec();
    names.extend(WASI);
    names.extend(harness::abi::CALLBACKS.iter().map(|(n, _, _)| *n));
    names
}

/// Rows of the `## ABI coverage` table: `| \`name\` | kind | \`abi_x::test\`, ... |`.
fn readme_table() -> BTreeMap<String, Vec<String>> {
    let readme = std::fs::read_to_string(crate_dir().join("README.md")).unwrap();
    let section = readme
        .split("\n## ABI coverage\n")
        .nth(1)
        .expect("harness/README.md has no `## ABI coverage` section");
    let section = section.split("\n## ").next().unwrap();
    let mut rows = BTreeMap::new();
    for line in section.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        let name = cells[0].trim_matches('`').to_string();
        let tests = cells
            .last()
            .unwrap()
            .split(',')
            .map(|t| t.trim().trim_matches('`').to_string())
            .collect();
        rows.insert(name, tests);
    }
    rows
}

#[test]
fn every_host_function_and_callback_is_exercised() {
    let tests = tests();
    let names = everything();
    assert_eq!(names.len(), 39 + 8 + 25);
    let missing: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| !tests.values().any(|body| exercises(body, n)))
        .collect();
    assert!(
        missing.is_empty(),
        "not exercised by any abi_* test: {missing:?}"
    );
}

#[test]
fn the_readme_table_names_real_covering_tests() {
    let tests = tests();
    let table = readme_table();
    let names = everything();
    let listed: Vec<&str> = table.keys().map(String::as_str).collect();
    let mut expected = names.clone();
    expected.sort();
    assert_eq!(
        listed, expected,
        "the table must list exactly the 39 host functions, 8 WASI functions and 25 callbacks"
    );
    for (name, covering) in &table {
        assert!(!covering.is_empty(), "{name}: no test listed");
        for test in covering {
            let body = tests
                .get(test)
                .unwrap_or_else(|| panic!("{name}: no test {test}"));
            assert!(exercises(body, name), "{name}: {test} does not exercise it");
        }
    }
}
