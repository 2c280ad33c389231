//! Values that differ between the harness and Envoy only because the environment differs: the
//! harness's virtual clock and addresses are not the real ones, and each run has its own ports
//! and request ids. Each is replaced by a placeholder on both sides before comparing, so a
//! scenario needs no care to avoid them; everything else is compared byte for byte.
//!
//! | placeholder | what |
//! |---|---|
//! | `<time>` | RFC 3339 timestamps, HTTP dates (`Thu, 03 Dec 2026 10:00:00 GMT`) |
//! | `<clock>` | integer clock readings since the Unix epoch in s, ms, µs or ns (2017–2033) |
//! | `<duration>` | a number after a key naming a duration (`"duration_ms":12`, `latency=3`), and `12ms`, `3µs`, `1.5s`-style durations (not whole seconds) |
//! | `<address>` | `ip:port` (IPv4 and bracketed IPv6) |
//! | `<request-id>` | UUIDs (Envoy's generated `x-request-id`s) |

use super::observation::{HeaderValues, Msg, Observation};
use regex::{Captures, Regex};
use std::sync::OnceLock;

struct Patterns {
    time: Regex,
    http_date: Regex,
    address: Regex,
    uuid: Regex,
    clock: Regex,
    keyed_duration: Regex,
    unit_duration: Regex,
}

// The patterns are constants, each exercised by the unit tests below.
#[allow(clippy::panic)]
fn patterns() -> &'static Patterns {
    static P: OnceLock<Patterns> = OnceLock::new();
    P.get_or_init(|| {
        let re = |s: &str| Regex::new(s).unwrap_or_else(|e| panic!("pattern {s}: {e}"));
        Patterns {
            time: re(r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?"),
            http_date: re(
                r"\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT",
            ),
            address: re(r"(\b\d{1,3}(\.\d{1,3}){3}|\[[0-9A-Fa-f:.]+\]):\d{1,5}\b"),
            uuid: re(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"),
            // 1.5e9..2e9 s is 2017..2033; the same leading digits with 3, 6 or 9 more for ms, µs, ns.
            clock: re(r"\b1[5-9]\d{8}(\d{3}){0,3}\b"),
            keyed_duration: re(
                r#"(?i)\b([a-z_.-]*(duration|latency|elapsed)[a-z_.-]*"?\s*[=:]\s*)-?\d+(\.\d+)?"#,
            ),
            // Whole seconds (`5s`) stay: too often a configured value rather than a measurement.
            unit_duration: re(r"\b(\d+(\.\d+)?(ns|us|µs|ms)|\d+\.\d+s)\b"),
        }
    })
}

/// Every pattern, the duration ones last (an address's port is not a duration). Works on the
/// raw text, JSON included (`"duration_ms":12`), so key order and formatting still count.
pub fn text(s: &str) -> String {
    let p = patterns();
    let s = p.time.replace_all(s, "<time>");
    let s = p.http_date.replace_all(&s, "<time>");
    let s = p.address.replace_all(&s, "<address>");
    let s = p.uuid.replace_all(&s, "<request-id>");
    let s = p.clock.replace_all(&s, "<clock>");
    let s = p
        .keyed_duration
        .replace_all(&s, |c: &Captures<'_>| format!("{}<duration>", &c[1]));
    let s = p.unit_duration.replace_all(&s, "<duration>");
    s.into_owned()
}

fn msg(m: &Msg) -> Msg {
    let headers: HeaderValues = m
        .headers
        .iter()
        .map(|(k, vs)| (k.clone(), vs.iter().map(|v| text(v)).collect()))
        .collect();
    Msg {
        headers,
        body: text(&m.body),
        trailers: m
            .trailers
            .iter()
            .map(|(k, vs)| (k.clone(), vs.iter().map(|v| text(v)).collect()))
            .collect(),
    }
}

/// The observation with every header value, body, log line and rejection message normalised;
/// metrics stay exact.
pub fn observation(o: &Observation) -> Observation {
    let mut o = o.clone();
    o.rejected = o.rejected.as_deref().map(text);
    for r in &mut o.requests {
        r.upstream = r.upstream.as_ref().map(msg);
        r.client = r.client.as_ref().map(msg);
        r.logs = r.logs.iter().map(|l| text(l)).collect();
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_values_become_placeholders() {
        assert_eq!(
            text("at 2026-12-04T23:10:00.123Z from 127.0.0.1:51022 id 0b5c8a6e-2a4b-4c6d-8e9f-0123456789ab took 12ms"),
            "at <time> from <address> id <request-id> took <duration>"
        );
        assert_eq!(text("Fri, 04 Dec 2026 23:10:00 GMT"), "<time>");
        assert_eq!(
            text("now=1764889800123456789 port [::1]:8080"),
            "now=<clock> port <address>"
        );
        assert_eq!(text("latency=42 size=42"), "latency=<duration> size=42");
        assert_eq!(
            text("took 1.25s, retry in 5s"),
            "took <duration>, retry in 5s"
        );
    }

    #[test]
    fn json_keeps_its_text_around_the_placeholders() {
        assert_eq!(
            text(
                r#"log: {"start_time":"2026-12-04T23:10:00Z","duration_ms":3,"status":200,"upstream_host":"127.0.0.1:1234","t":1764889800}"#
            ),
            r#"log: {"start_time":"<time>","duration_ms":<duration>,"status":200,"upstream_host":"<address>","t":<clock>}"#
        );
        assert_eq!(text("plain 200 text, 3 items"), "plain 200 text, 3 items");
    }
}
