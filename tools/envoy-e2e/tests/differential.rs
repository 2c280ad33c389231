//! Every scenario in tools/envoy-e2e/scenarios run by the harness and by a real Envoy: their
//! observable results must agree field by field. A scenario with a `<name>.differences.txt`
//! beside it documents a known harness/Envoy difference (see harness/ENVOY-DIFFERENCES.md):
//! the run must produce exactly that diff, so a harness fix shows up here (then delete the file).
//! Run by scripts/test.d/20-envoy.sh (needs Envoy).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use envoy_e2e::{diff, paths};

#[test]
#[ignore = "needs Envoy: scripts/test.d/20-envoy.sh"]
fn harness_and_envoy_agree_on_every_scenario() {
    let dir = paths::root().join("tools/envoy-e2e/scenarios");
    let files = diff::scenario_files(&dir).unwrap();
    assert!(files.len() >= 10, "scenarios missing in {}", dir.display());
    let mut problems = Vec::new();
    for file in &files {
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        let reports = match diff::run_file(file, None) {
            Ok(r) => r,
            Err(e) => {
                problems.push(format!("{name}: {e}"));
                continue;
            }
        };
        let mut actual = String::new();
        for report in &reports {
            let name = format!("{name} {}", report.plugin);
            if !report.unsupported.is_empty() {
                problems.push(format!(
                    "{name}: cannot run in Envoy: {:?}",
                    report.unsupported
                ));
                continue;
            }
            if !report.rejected
                && (report.envoy_answered != report.requests || report.requests == 0)
            {
                problems.push(format!(
                    "{name}: Envoy answered {} of {} requests",
                    report.envoy_answered, report.requests
                ));
            }
            actual.extend(report.differences.iter().map(|d| format!("{d}\n")));
        }
        let expected_file = file.with_extension("differences.txt");
        let expected = std::fs::read_to_string(&expected_file).unwrap_or_default();
        if actual != expected {
            problems.push(format!(
                "{name}: differences are not the documented ones ({}):\n--- expected\n{expected}--- actual\n{actual}",
                expected_file.display()
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}
