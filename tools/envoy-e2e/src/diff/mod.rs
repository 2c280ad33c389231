//! Differential runs: one scenario file (the harness's format, see harness/README.md) run by
//! the harness and by a real Envoy; their observable results compared field by field.

mod compare;
mod envoy_side;
mod harness_side;
pub mod observation;

use std::path::Path;

pub struct Report {
    pub filter: String,
    /// Parts of the scenario Envoy over HTTP/1.1 cannot reproduce (nothing was compared).
    pub unsupported: Vec<String>,
    pub differences: Vec<String>,
    pub requests: usize,
    /// Requests for which Envoy's client got a response: a guard against comparing two empty
    /// observations.
    pub envoy_answered: usize,
}

/// Runs `path` on both sides. `filter` overrides the scenario's `filter`.
pub fn run_file(path: &Path, filter: Option<&str>) -> Result<Report, String> {
    let scenario = harness::scenario::load(path)?;
    let filter = filter
        .map(str::to_string)
        .or_else(|| scenario.filter.clone())
        .ok_or_else(|| format!("{}: no filter (set `filter:` or pass one)", path.display()))?;
    let unsupported = envoy_side::unsupported(&scenario);
    if !unsupported.is_empty() {
        return Ok(Report {
            filter,
            unsupported,
            differences: Vec::new(),
            requests: 0,
            envoy_answered: 0,
        });
    }
    let envoy = envoy_side::observe(&scenario, &filter)?;
    let requests = scenario.requests.len();
    let envoy_answered = envoy.requests.iter().filter(|r| r.client.is_some()).count();
    let harness = harness_side::observe(scenario, &filter);
    Ok(Report {
        differences: compare::compare(&harness, &envoy),
        filter,
        unsupported,
        requests,
        envoy_answered,
    })
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
