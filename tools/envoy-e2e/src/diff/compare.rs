//! Field-by-field comparison of the two observations, as readable lines:
//! `request 2 'name' (GET /x): client header x-a: harness ["b"], envoy ["c"]`.

use super::observation::{HeaderValues, Msg, Observation};

fn headers(prefix: &str, harness: &HeaderValues, envoy: &HeaderValues, out: &mut Vec<String>) {
    let mut names: Vec<&String> = harness.keys().chain(envoy.keys()).collect();
    names.sort();
    names.dedup();
    for name in names {
        let (h, e) = (harness.get(name), envoy.get(name));
        if h != e {
            let show =
                |v: Option<&Vec<String>>| v.map_or("absent".to_string(), |v| format!("{v:?}"));
            out.push(format!(
                "{prefix} header {name}: harness {}, envoy {}",
                show(h),
                show(e)
            ));
        }
    }
}

fn message(prefix: &str, harness: Option<&Msg>, envoy: Option<&Msg>, out: &mut Vec<String>) {
    match (harness, envoy) {
        (Some(h), Some(e)) => {
            headers(prefix, &h.headers, &e.headers, out);
            headers(&format!("{prefix} trailer"), &h.trailers, &e.trailers, out);
            if h.body != e.body {
                out.push(format!(
                    "{prefix} body: harness {:?}, envoy {:?}",
                    h.body, e.body
                ));
            }
        }
        (None, None) => {}
        (h, e) => {
            let what = |m: Option<&Msg>| {
                if m.is_some() {
                    "received it"
                } else {
                    "nothing"
                }
            };
            out.push(format!("{prefix}: harness {}, envoy {}", what(h), what(e)));
        }
    }
}

/// A line diff (longest common subsequence): `  = ` in both, `  - ` harness only,
/// `  + ` Envoy only.
fn lines(prefix: &str, harness: &[String], envoy: &[String], out: &mut Vec<String>) {
    if harness == envoy {
        return;
    }
    out.push(format!("{prefix} differ (- harness only, + envoy only):"));
    let (n, m) = (harness.len(), envoy.len());
    let mut lcs = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if harness[i] == envoy[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && harness[i] == envoy[j] {
            out.push(format!("  = {}", harness[i]));
            i += 1;
            j += 1;
        } else if j < m && (i == n || lcs[i][j + 1] >= lcs[i + 1][j]) {
            out.push(format!("  + {}", envoy[j]));
            j += 1;
        } else {
            out.push(format!("  - {}", harness[i]));
            i += 1;
        }
    }
}

/// Every difference; empty when the runs match. Both sides are normalised first
/// (`normalise.rs`: clock readings, durations, addresses, request ids).
pub fn compare(harness: &Observation, envoy: &Observation) -> Vec<String> {
    let (harness, envoy) = (
        &super::normalise::observation(harness),
        &super::normalise::observation(envoy),
    );
    let mut out = Vec::new();
    match (&harness.rejected, &envoy.rejected) {
        (Some(h), Some(e)) => {
            let h: Vec<String> = h.lines().map(str::to_string).collect();
            let e: Vec<String> = e.lines().map(str::to_string).collect();
            // Envoy logs the rejection once per VM it configures: compare the distinct lines.
            let dedup = |mut v: Vec<String>| {
                v.dedup();
                v
            };
            lines("rejection log lines", &dedup(h), &dedup(e), &mut out);
            return out;
        }
        (None, None) => {}
        (h, e) => {
            out.push(format!(
                "configuration: harness {}, envoy {}",
                h.as_ref()
                    .map_or("accepted".into(), |r| format!("rejected ({r})")),
                e.as_ref()
                    .map_or("accepted".into(), |r| format!("rejected ({r})"))
            ));
            return out;
        }
    }
    for (h, e) in harness.requests.iter().zip(&envoy.requests) {
        let p = &h.label;
        if h.error.is_some() || e.error.is_some() {
            out.push(format!(
                "{p}: did not complete: harness {:?}, envoy {:?}",
                h.error, e.error
            ));
            continue;
        }
        message(
            &format!("{p}: upstream"),
            h.upstream.as_ref(),
            e.upstream.as_ref(),
            &mut out,
        );
        message(
            &format!("{p}: client"),
            h.client.as_ref(),
            e.client.as_ref(),
            &mut out,
        );
        if h.local_reply_details != e.local_reply_details {
            out.push(format!(
                "{p}: local reply details: harness {:?}, envoy {:?}",
                h.local_reply_details, e.local_reply_details
            ));
        }
        lines(&format!("{p}: log lines"), &h.logs, &e.logs, &mut out);
    }
    for (name, value) in &harness.metrics {
        let theirs = envoy.metrics.get(name);
        if theirs != Some(value) {
            out.push(format!("metric {name}: harness {value}, envoy {theirs:?}"));
        }
    }
    for (name, value) in &envoy.metrics {
        if !harness.metrics.contains_key(name) {
            out.push(format!("metric {name}: harness absent, envoy {value}"));
        }
    }
    out
}
