//! The `harness` binary: scenario runs, exit codes, inspect.
use std::process::{Command, Output};

fn harness(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_harness"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run harness")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn example_scenarios_pass() {
    for s in [
        "scenarios/http_headers.yaml",
        "scenarios/callout_probe.json",
    ] {
        let out = harness(&["run", "--scenario", s]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{s}: {}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        assert!(text(&out.stdout).ends_with("ok\n"), "{}", text(&out.stdout));
    }
}

#[test]
fn failed_expectations_exit_1_with_a_diff() {
    let dir = std::env::temp_dir().join(format!("harness-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp");
    let path = dir.join("fail.yaml");
    std::fs::write(
        &path,
        "requests:\n  - path: /\n    expect:\n      client:\n        status: 404\n        headers: {equal: {x-a: c}}\n",
    )
    .expect("write");
    let out = harness(&[
        "run",
        "http_headers",
        "--config",
        r#"{"response":{"set":{"x-a":"b"}}}"#,
        "--scenario",
        path.to_str().unwrap_or_default(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains(r#"request 1 (GET /): client status: expected 404, got "200""#),
        "{err}"
    );
    assert!(
        err.contains(r#"client header x-a: expected "c", got "b""#),
        "{err}"
    );
}

#[test]
fn bad_arguments_and_scenarios_exit_2_with_the_reason() {
    let out = harness(&["run", "http_headers", "--frob"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("unexpected argument '--frob'"),
        "{}",
        text(&out.stderr)
    );
    for args in [
        &[][..],
        &["frob"],
        &["run", "a", "b"],
        &["run", "--scenario"],
        &["inspect"],
        &["inspect", "a", "b"],
        &["diff"],
    ] {
        let out = harness(args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
        let err = text(&out.stderr);
        assert!(
            err.starts_with("error: ") || err.contains("Usage: harness"),
            "{args:?}: {err}"
        );
    }

    let dir = std::env::temp_dir().join(format!("harness-cli-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp");
    let path = dir.join("bad.yaml");
    std::fs::write(&path, "requests:\n  - pth: /\n").expect("write");
    let out = harness(&[
        "run",
        "http_headers",
        "--scenario",
        path.to_str().unwrap_or_default(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("unknown field `pth`"),
        "{}",
        text(&out.stderr)
    );

    let out = harness(&["run", "http_headers", "--config", "{not json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--config: invalid JSON"));
}

#[test]
fn json_output_and_default_request() {
    let out = harness(&["run", "http_headers", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["passed"], true);
    // The empty configuration of http_headers adds `hello: world` to responses.
    let client = &v["requests"][0]["client"]["headers"];
    assert!(
        client
            .as_array()
            .is_some_and(|h| h.iter().any(|p| p[0] == "hello" && p[1] == "world")),
        "{client}"
    );
}

#[test]
fn count_adds_per_request_counters_to_the_json() {
    let out = harness(&[
        "run",
        "http_headers",
        "--json",
        "--count",
        "--log-level",
        "info",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let c = &v["requests"][0]["counters"];
    // The stream's callbacks, each entered once; `hello: world` added to the response.
    for callback in [
        "proxy_on_context_create",
        "proxy_on_response_headers",
        "proxy_on_delete",
    ] {
        assert_eq!(c["vm_entries_by_export"][callback], 1, "{c}");
    }
    let sum = |m: &serde_json::Value| {
        m.as_object()
            .map(|o| o.values().filter_map(|v| v.as_u64()).sum::<u64>())
    };
    assert_eq!(
        c["vm_entries"].as_u64(),
        sum(&c["vm_entries_by_export"]),
        "{c}"
    );
    assert_eq!(
        c["host_calls"].as_u64(),
        sum(&c["host_calls_by_import"]),
        "{c}"
    );
    assert!(
        c["host_call_bytes"].as_u64() >= Some("hello".len() as u64 + "world".len() as u64),
        "{c}"
    );

    let plain = harness(&["run", "http_headers", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&plain.stdout).expect("json");
    assert!(v["requests"][0]["counters"].is_null(), "{v}");

    let bad = harness(&["run", "http_headers", "--log-level", "loud"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        text(&bad.stderr).contains("unknown log level 'loud'"),
        "{}",
        text(&bad.stderr)
    );
}

#[test]
fn inspect_reports_abi_and_imports() {
    let out = harness(&["inspect", "abi-probe"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let o = text(&out.stdout);
    assert!(o.contains("abi: 0.2.1"), "{o}");
    assert!(o.contains("callbacks (25 of 25)"), "{o}");
    assert!(o.contains("unsatisfied imports: none"), "{o}");
}

#[test]
fn help_everywhere_exits_0() {
    for (args, says) in [
        (&["--help"][..], "Commands:"),
        (&["help"], "Commands:"),
        (&["-h"], "run"),
        (&["run", "--help"], "--scenario <FILE>"),
        (&["help", "run"], "--config <FILE|JSON>"),
        (&["inspect", "--help"], "<FILE.wasm|FILTER>"),
        (&["diff", "--help"], "--filter <NAME|FILE.wasm>"),
        (&["--version"], "harness "),
    ] {
        let out = harness(args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(
            text(&out.stdout).contains(says),
            "{args:?}: {}",
            text(&out.stdout)
        );
    }
}

#[test]
fn a_scenario_with_several_plugins_runs_once_per_plugin() {
    let dir = std::env::temp_dir().join(format!("harness-cli-plugins-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp");
    let path = dir.join("plugins.yaml");
    std::fs::write(
        &path,
        r#"filter: http_headers
plugins:
  - name: one
    config: {response: {set: {x-a: "1"}}}
  - name: two
    config: {response: {set: {x-a: "2"}}}
requests:
  - expect:
      client: {headers: {equal: {x-a: "1"}}}
"#,
    )
    .expect("write");
    let out = harness(&[
        "run",
        "--scenario",
        path.to_str().unwrap_or_default(),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v[0]["plugin"], "plugin 'one'");
    assert_eq!(v[0]["passed"], true);
    assert_eq!(v[1]["plugin"], "plugin 'two'");
    assert_eq!(v[1]["passed"], false);
    assert!(
        text(&out.stderr).contains(r#"client header x-a: expected "1", got "2""#),
        "{}",
        text(&out.stderr)
    );
}

/// `harness diff` hands over to `envoy-diff` (tools/envoy-e2e), arguments and exit code included;
/// a missing scenario file is its usage error, before any Envoy is needed.
#[test]
fn diff_is_envoy_diff() {
    let out = harness(&["diff", "--filter", "x.wasm", "no-such-scenario.yaml"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("envoy-diff: no-such-scenario.yaml: no such file or directory"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn an_expected_rejection_passes_and_an_unexpected_one_fails() {
    let dir = std::env::temp_dir().join(format!("harness-cli-rejected-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp");
    let scenario = |rejected: &str| {
        let path = dir.join(format!("r{}.yaml", rejected.len()));
        std::fs::write(
            &path,
            format!(
                "filter: request_logging\nplugin:\n  config: {{fields: [nope]}}\n{rejected}requests: [{{}}]\n"
            ),
        )
        .expect("write");
        harness(&["run", "--scenario", path.to_str().unwrap_or_default()])
    };
    let out = scenario("  rejected: unknown field `nope`\n");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("configuration rejected as expected"));
    let out = scenario("  rejected: something else\n");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains(r#"rejected, but no line contains "something else""#),
        "{}",
        text(&out.stderr)
    );
    let out = scenario("");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("the plugin did not start: plugin configuration rejected"),
        "{}",
        text(&out.stderr)
    );
}
