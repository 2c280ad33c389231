//! `envoy-diff`'s command line (no Envoy needed): help exits 0, usage errors exit 2 with the
//! reason, before anything is started.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use std::process::{Command, Output};

fn envoy_diff(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_envoy-diff"))
        .args(args)
        .output()
        .expect("run envoy-diff")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn help_exits_0_and_names_the_arguments() {
    let out = envoy_diff(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    let help = text(&out.stdout);
    assert!(help.contains("--filter <NAME|FILE.wasm>"), "{help}");
    assert!(help.contains("<FILE|DIR>..."), "{help}");
}

#[test]
fn usage_errors_exit_2_with_the_reason() {
    for (args, says) in [
        (&[][..], "required arguments were not provided"),
        (&["--frob", "x.yaml"], "unexpected argument '--frob'"),
        (&["--filter"], "a value is required for '--filter"),
        (
            &["no-such.yaml"],
            "envoy-diff: no-such.yaml: no such file or directory",
        ),
    ] {
        let out = envoy_diff(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            text(&out.stderr).contains(says),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
}
