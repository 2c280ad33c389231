//! The harness side: the scenario run in-process through the harness library, one request
//! at a time so each request's log lines can be told apart.

use super::observation::{group, Msg, Observation, RequestObs, IGNORED_CLIENT, IGNORED_UPSTREAM};
use harness::scenario::{self, Scenario};
use harness::{Error, MetricKind};

fn msg(m: &harness::Message, ignored: &[&str]) -> Msg {
    Msg {
        headers: group(
            m.headers
                .iter()
                .map(|(n, v)| (n.as_str(), String::from_utf8_lossy(v).into_owned())),
            ignored,
        ),
        body: String::from_utf8_lossy(&m.body).into_owned(),
        trailers: group(
            m.trailers
                .iter()
                .map(|(n, v)| (n.as_str(), String::from_utf8_lossy(v).into_owned())),
            &[],
        ),
    }
}

pub fn observe(mut s: Scenario, filter: &str) -> Observation {
    let mut plugin = match s.builder(filter, None).start() {
        Ok(p) => p,
        Err(Error::ConfigRejected { logs }) => {
            return Observation {
                rejected: Some(
                    // As Envoy's side reads them: `level: message`.
                    logs.iter()
                        .map(|l| format!("{}: {}", l.level.name(), l.message))
                        .collect::<Vec<_>>()
                        .join("\n"),
                ),
                ..Observation::default()
            };
        }
        Err(e) => {
            return Observation {
                rejected: Some(format!("harness could not start the plugin: {e}")),
                ..Observation::default()
            }
        }
    };
    let specs = std::mem::take(&mut s.requests);
    let mut requests = Vec::new();
    for (i, spec) in specs.into_iter().enumerate() {
        let label = spec.label(i);
        let mark = plugin.logs().len();
        s.requests = vec![spec];
        let outcome = scenario::run(&s, &mut plugin);
        let logs = plugin.logs()[mark..]
            .iter()
            .map(|l| format!("{}: {}", l.level.name(), l.message))
            .collect();
        let mut obs = RequestObs {
            label,
            logs,
            ..RequestObs::default()
        };
        if let Some(r) = outcome.requests.into_iter().next() {
            obs.error = r.error;
            if let Some(ex) = r.exchange {
                obs.upstream = ex.upstream.as_ref().map(|m| msg(m, IGNORED_UPSTREAM));
                obs.client = Some(msg(&ex.client, IGNORED_CLIENT));
                obs.local_reply_details = ex.local_reply.map(|l| l.details);
            }
        }
        requests.push(obs);
    }
    let metrics = plugin
        .metrics()
        .into_iter()
        .filter(|(_, kind, _)| *kind != MetricKind::Histogram)
        .map(|(name, _, value)| (name, value))
        .collect();
    Observation {
        rejected: None,
        requests,
        metrics,
    }
}
