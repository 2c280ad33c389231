//! Drives one HTTP stream through a plugin in a random but legal event order, the way Envoy's
//! filter manager may: request headers, body chunks, trailers; callouts answered, failed,
//! timed out or left pending; a downstream reset at any point (before the response, during a
//! callout); a response (or none) after a local reply; then the end of the stream.
//!
//! Every harness call must succeed: a trap (`Error::Trap`, or `Plugin::failure()` set) or any
//! other harness error fails the case with the step that caused it.

use crate::hostile::{self, Pairs};
use crate::rng::Rng;
use harness::{Error, HttpStream, Plugin, Response};
use std::time::Duration;

/// The input of one case.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub request: Pairs,
    pub request_body: Vec<Vec<u8>>,
    pub request_trailers: Pairs,
    pub response: Pairs,
    pub response_body: Vec<Vec<u8>>,
    pub response_trailers: Pairs,
    /// Reset the stream after this many request-side steps (0 = after the headers).
    pub reset_early: Option<usize>,
    /// Reset instead of sending the response.
    pub reset_before_response: bool,
    /// Filter-state keys (`wasm.<name>`) to read before the stream ends.
    pub capture: Vec<String>,
}

impl Plan {
    /// A random plan over the filter's interesting header names and values.
    pub fn random(rng: &mut Rng, names: &[&str], values: &[Vec<u8>]) -> Plan {
        let chunks = |rng: &mut Rng| -> Vec<Vec<u8>> {
            if rng.chance(1, 2) {
                Vec::new()
            } else {
                (0..rng.range(1, 3)).map(|_| hostile::body(rng)).collect()
            }
        };
        let request = hostile::request_headers(rng, names, values);
        let request_body = chunks(rng);
        let request_trailers = if rng.chance(1, 6) {
            hostile::trailers(rng, names, values)
        } else {
            Vec::new()
        };
        let response = hostile::response_headers(rng, names, values);
        let response_body = chunks(rng);
        let response_trailers = if rng.chance(1, 6) {
            hostile::trailers(rng, names, values)
        } else {
            Vec::new()
        };
        Plan {
            request,
            request_body,
            request_trailers,
            response,
            response_body,
            response_trailers,
            reset_early: rng.chance(1, 12).then(|| rng.below(3)),
            reset_before_response: rng.chance(1, 10),
            capture: Vec::new(),
        }
    }
}

/// How a pending callout is answered.
pub type Answer<'a> = dyn FnMut(&mut Rng, &mut Plugin) -> Result<(), String> + 'a;

/// What happened to the stream (for the tests' own assertions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The request as the upstream would get it; None if it never left the filter.
    pub upstream: Option<harness::Message>,
    pub local_reply: Option<u16>,
    pub reset: bool,
    /// The captured filter state, in `Plan::capture` order.
    pub state: Vec<Option<Vec<u8>>>,
}

fn check(plugin: &Plugin, step: &str, r: harness::Result<harness::Action>) -> Result<(), String> {
    match r {
        Ok(_) => {}
        Err(e) => return Err(describe(step, e)),
    }
    match plugin.failure() {
        Some(f) => Err(format!("{step}: the VM failed: {f}")),
        None => Ok(()),
    }
}

fn describe(step: &str, e: Error) -> String {
    match e {
        Error::Trap {
            message,
            panic_message,
        } => format!("{step}: TRAP {message} (panic: {panic_message:?})"),
        other => format!("{step}: harness error: {other}"),
    }
}

fn end(s: &mut HttpStream<'_>, step: &str) -> Result<(), String> {
    s.complete().map_err(|e| describe(step, e))?;
    match s.plugin().failure() {
        Some(f) => Err(format!("{step}: the VM failed: {f}")),
        None => Ok(()),
    }
}

/// Runs `plan` on a new stream of `plugin`; `answer` settles callouts (None: there are none).
pub fn drive(
    rng: &mut Rng,
    plugin: &mut Plugin,
    plan: &Plan,
    mut answer: Option<&mut Answer<'_>>,
) -> Result<Outcome, String> {
    let mut s = plugin.http_stream();
    let req_steps = plan.request_body.len() + usize::from(!plan.request_trailers.is_empty());
    let eos = req_steps == 0;
    let r = s.request_headers(&plan.request, eos);
    check(s.plugin(), "request headers", r)?;
    let mut step = 0;
    let reset_now = |step: usize| plan.reset_early == Some(step);
    if reset_now(step) {
        return reset(&mut s, plan);
    }
    for (i, chunk) in plan.request_body.iter().enumerate() {
        let last = i + 1 == plan.request_body.len() && plan.request_trailers.is_empty();
        let r = s.request_body(chunk, last);
        check(s.plugin(), "request body", r)?;
        step += 1;
        if reset_now(step) {
            return reset(&mut s, plan);
        }
    }
    if !plan.request_trailers.is_empty() {
        let r = s.request_trailers(&plan.request_trailers);
        check(s.plugin(), "request trailers", r)?;
    }
    // Callouts: answer each (or leave it, then reset, as a client that gives up would).
    let mut rounds = 0;
    while !s.plugin().pending_http_calls().is_empty() {
        rounds += 1;
        if rounds > 8 {
            return Err("the filter keeps making callouts".into());
        }
        match answer.as_deref_mut() {
            Some(a) if !rng.chance(1, 12) => a(rng, s.plugin())?,
            _ => return reset(&mut s, plan),
        }
        if let Some(f) = s.plugin().failure() {
            return Err(format!("callout answer: the VM failed: {f}"));
        }
    }
    let local_reply = s.local_reply().map(|r| r.status);
    if plan.reset_before_response || (s.is_paused() && local_reply.is_none()) {
        // Nothing would reach the upstream (or the client gave up): a downstream reset.
        return reset(&mut s, plan);
    }
    if local_reply.is_some() {
        // The local reply already ran through the filter's response callbacks (Envoy's order:
        // local reply, then its response); an upstream response never follows it.
        let state = capture(&s, plan);
        end(&mut s, "end of stream after a local reply")?;
        return Ok(Outcome {
            upstream: None,
            local_reply,
            reset: false,
            state,
        });
    }
    let resp_steps = plan.response_body.len() + usize::from(!plan.response_trailers.is_empty());
    let r = s.response_headers(&plan.response, resp_steps == 0);
    check(s.plugin(), "response headers", r)?;
    for (i, chunk) in plan.response_body.iter().enumerate() {
        let last = i + 1 == plan.response_body.len() && plan.response_trailers.is_empty();
        let r = s.response_body(chunk, last);
        check(s.plugin(), "response body", r)?;
    }
    if !plan.response_trailers.is_empty() {
        let r = s.response_trailers(&plan.response_trailers);
        check(s.plugin(), "response trailers", r)?;
    }
    // A local reply sent during the response replaces it; the request still went upstream.
    let upstream = (!s.replied_before_upstream()).then(|| s.request().clone());
    let local_reply = s.local_reply().map(|r| r.status);
    let state = capture(&s, plan);
    end(&mut s, "end of stream")?;
    Ok(Outcome {
        upstream,
        local_reply,
        reset: false,
        state,
    })
}

fn capture(s: &HttpStream<'_>, plan: &Plan) -> Vec<Option<Vec<u8>>> {
    plan.capture.iter().map(|k| s.filter_state(k)).collect()
}

fn reset(s: &mut HttpStream<'_>, plan: &Plan) -> Result<Outcome, String> {
    let local_reply = s.local_reply().map(|r| r.status);
    let state = capture(s, plan);
    s.reset().map_err(|e| describe("reset", e))?;
    match s.plugin().failure() {
        Some(f) => Err(format!("reset: the VM failed: {f}")),
        None => Ok(Outcome {
            upstream: None,
            local_reply,
            reset: true,
            state,
        }),
    }
}

/// A random answer to every pending callout: a response with a random (possibly garbage)
/// status, headers and a body of up to 1 MiB; a connection failure; or a timeout (the clock
/// moves past the call's timeout).
pub fn answer_randomly(
    rng: &mut Rng,
    plugin: &mut Plugin,
    names: &[&str],
    values: &[Vec<u8>],
) -> Result<(), String> {
    // One call per round (the driver loops while calls are pending): a timeout moves the clock,
    // which may also time out the others.
    if let Some(call) = plugin.pending_http_calls().into_iter().next() {
        match rng.below(8) {
            0 => plugin
                .fail_http_call(call.token)
                .map_err(|e| describe("callout failure", e))?,
            1 => {
                let by = call.timeout.unwrap_or(Duration::from_secs(1)) + Duration::from_millis(1);
                plugin
                    .advance_clock(by)
                    .map_err(|e| describe("callout timeout", e))?;
            }
            _ => {
                let mut r = Response::status(200);
                r.headers = hostile::response_headers(rng, names, values);
                r.body = hostile::body(rng);
                if rng.chance(1, 10) {
                    r.trailers = hostile::trailers(rng, names, values);
                }
                plugin
                    .respond_http_call(call.token, r)
                    .map_err(|e| describe("callout answer", e))?;
            }
        }
    }
    Ok(())
}
