//! Differential runs: one scenario file (the harness's format, see harness/README.md) run by
//! the harness and by a real Envoy; their observable results compared field by field.

mod chunked;
mod compare;
mod envoy_side;
mod harness_side;
pub mod normalise;
pub mod observation;

use std::path::Path;

pub struct Report {
    pub filter: String,
    /// Which of the scenario's `plugins` this run used (`plugin 'name'`); empty with one plugin.
    pub plugin: String,
    /// Parts of the scenario Envoy over HTTP/1.1 cannot reproduce, with the reason (nothing
    /// was compared).
    pub unsupported: Vec<String>,
    pub differences: Vec<String>,
    pub requests: usize,
    /// Requests for which Envoy's client got a response: a guard against comparing two empty
    /// observations.
    pub envoy_answered: usize,
    /// Both sides rejected the configuration (their messages were compared).
    pub rejected: bool,
}

/// Runs `path` on both sides, once per plugin configuration. `filter` (a workspace filter name
/// or any `.wasm` file) overrides the scenario's `filter`.
pub fn run_file(path: &Path, filter: Option<&str>) -> Result<Vec<Report>, String> {
    let scenario = harness::scenario::load(path)?;
    let filter = filter
        .map(str::to_string)
        .or_else(|| scenario.filter.clone())
        .ok_or_else(|| format!("{}: no filter (set `filter:` or pass one)", path.display()))?;
    let mut reports = Vec::new();
    for (i, s) in scenario.per_plugin().into_iter().enumerate() {
        reports.push(run_one(s, &filter, scenario.plugin_label(i))?);
    }
    Ok(reports)
}

fn run_one(
    scenario: harness::scenario::Scenario,
    filter: &str,
    plugin: String,
) -> Result<Report, String> {
    let mut report = Report {
        filter: filter.to_string(),
        plugin,
        unsupported: envoy_side::unsupported(&scenario),
        differences: Vec::new(),
        requests: 0,
        envoy_answered: 0,
        rejected: false,
    };
    if !report.unsupported.is_empty() {
        return Ok(report);
    }
    let envoy = envoy_side::observe(&scenario, filter)?;
    report.requests = scenario.requests.len();
    report.envoy_answered = envoy.requests.iter().filter(|r| r.client.is_some()).count();
    let harness = harness_side::observe(scenario, filter);
    report.rejected = harness.rejected.is_some() && envoy.rejected.is_some();
    report.differences = compare::compare(&harness, &envoy);
    Ok(report)
}

/// The scenario files (`.yaml`, `.yml`, `.json`) directly in `dir`, sorted.
pub fn scenario_files(dir: &Path) -> Result<Vec<std::path::PathBuf>, String> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .is_some_and(|x| x == "yaml" || x == "yml" || x == "json")
        })
        .collect();
    files.sort();
    Ok(files)
}
