//! The per-request context: checks credentials on request headers, pauses for the remote
//! callout and resumes or replies when it answers.
//!
//! Nothing here logs a credential, a header value or a presented user name.

use crate::basic::parse_authorization;
use crate::config::Method;
use crate::metrics::Reason;
use crate::paths;
use crate::remote::{self, Outcome, Remote};
use crate::AuthCheck;
use filter_common::headers::{self, MapType};
use filter_common::proxy_wasm::hostcalls;
use filter_common::proxy_wasm::traits::{Context, HttpContext};
use filter_common::proxy_wasm::types::{Action, BufferType};
use filter_common::reply;
use std::rc::Rc;

const REQUEST: MapType = MapType::HttpRequestHeaders;

pub struct AuthRequest {
    plugin: Rc<AuthCheck>,
    /// The token of the callout this request waits for.
    callout: Option<u32>,
}

/// A refusal, before it is turned into a local reply.
struct Denial {
    reason: Reason,
    message: &'static str,
}

impl Denial {
    fn new(reason: Reason, message: &'static str) -> Self {
        Denial { reason, message }
    }
}

impl AuthRequest {
    pub fn new(plugin: Rc<AuthCheck>) -> Self {
        AuthRequest {
            plugin,
            callout: None,
        }
    }

    /// Checks the request; `Pause` while a local reply or the callout is pending.
    fn check(&mut self) -> Action {
        let plugin = Rc::clone(&self.plugin);
        let settings = &plugin.settings;

        // A client must never choose its own identity, whatever happens next.
        if !remove_all(std::iter::once(settings.identity_header.as_str())) {
            return self.fail_internal();
        }
        if let Method::Remote(remote) = &settings.method {
            if !remove_all(remote.upstream_headers().iter().map(String::as_str)) {
                return self.fail_internal();
            }
        }

        // Reading `:path` costs a host call: only exempt paths and query keys use it.
        let needs_path = !settings.exempt.is_empty()
            || matches!(&settings.method, Method::ApiKey(keys) if keys.query_param().is_some());
        let path = if needs_path {
            headers::get_str(REQUEST, ":path").unwrap_or_default()
        } else {
            String::new()
        };
        if settings.exempt.matches(&path) {
            plugin.metrics.exempt.inc();
            log::debug!("exempt path, not checked");
            return Action::Continue;
        }

        let verdict = match &settings.method {
            Method::ApiKey(keys) => self.check_api_key(keys, &path),
            Method::Basic(users) => self.check_basic(users),
            Method::Remote(remote) => return self.start_callout(remote),
        };
        match verdict {
            Ok(identity) => self.allow(&identity),
            Err(denial) => self.deny(denial),
        }
    }

    fn check_api_key(&self, keys: &crate::api_key::ApiKeys, path: &str) -> Result<Vec<u8>, Denial> {
        let from_header = keys
            .header()
            .and_then(|h| headers::get(REQUEST, h))
            .filter(|v| !v.is_empty());
        let presented = from_header.or_else(|| {
            keys.query_param()
                .and_then(|q| paths::query_param(path, q))
                .filter(|v| !v.is_empty())
        });
        let Some(presented) = presented else {
            return Err(Denial::new(Reason::Missing, "missing API key"));
        };
        let client = keys
            .lookup(&presented)
            .ok_or(Denial::new(Reason::Invalid, "invalid API key"))?;
        if self.plugin.settings.strip_credentials {
            if let Some(h) = keys.header() {
                headers::remove(REQUEST, h);
            }
            if let Some(q) = keys.query_param() {
                let stripped = paths::remove_query_param(path, q);
                if stripped != path {
                    headers::set(REQUEST, ":path", &stripped);
                }
            }
        }
        Ok(client.as_bytes().to_vec())
    }

    fn check_basic(&self, users: &crate::basic::BasicUsers) -> Result<Vec<u8>, Denial> {
        let Some(value) = headers::get(REQUEST, "authorization") else {
            return Err(Denial::new(Reason::Missing, "missing credentials"));
        };
        let (user, password) = parse_authorization(&value)
            .map_err(|_| Denial::new(Reason::Malformed, "malformed Basic credentials"))?;
        let name = users.verify(&user, &password).ok_or(Denial::new(
            Reason::Invalid,
            "invalid user name or password",
        ))?;
        if self.plugin.settings.strip_credentials {
            headers::remove(REQUEST, "authorization");
        }
        Ok(name.as_bytes().to_vec())
    }

    fn start_callout(&mut self, remote: &Remote) -> Action {
        let request = headers::pairs(REQUEST);
        let callout = remote.callout_headers(&request);
        let callout: Vec<(&str, &str)> = callout
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        match hostcalls::dispatch_http_call(
            remote.cluster(),
            callout,
            None,
            vec![],
            remote.timeout(),
        ) {
            Ok(token) => {
                self.callout = Some(token);
                Action::Pause
            }
            Err(status) => {
                let why = format!("cannot call: {status:?}");
                self.remote_failed(remote, &why)
            }
        }
    }

    /// Handles the auth service's answer to the callout.
    fn finish_callout(&mut self, body_size: usize) {
        let plugin = Rc::clone(&self.plugin);
        let Method::Remote(remote) = &plugin.settings.method else {
            return;
        };
        let response =
            hostcalls::get_map_bytes(MapType::HttpCallResponseHeaders).unwrap_or_default();
        match remote::classify(&response) {
            Outcome::Allow => {
                for name in remote.upstream_headers() {
                    for (n, value) in &response {
                        if n == name {
                            add_bytes(name, value);
                        }
                    }
                }
                self.strip_remote_credentials(remote);
                let identity = remote.identity(&response);
                if self.allow(&identity) == Action::Continue {
                    resume();
                }
            }
            Outcome::Deny(status) => {
                plugin.metrics.denied(Reason::Remote).inc();
                log::debug!(
                    "denied: {} (authorization service answered {status})",
                    Reason::Remote.name()
                );
                let body = hostcalls::get_buffer(BufferType::HttpCallResponseBody, 0, body_size)
                    .ok()
                    .flatten()
                    .unwrap_or_default();
                let passed: Vec<(&str, &str)> = ["content-type", "www-authenticate"]
                    .iter()
                    .filter_map(|name| {
                        remote::first(&response, name)
                            .and_then(|v| std::str::from_utf8(v).ok())
                            .map(|v| (*name, v))
                    })
                    .collect();
                if !reply::send(status, &passed, &body) {
                    log::error!("cannot send the authorization service's {status}; the request stays paused");
                }
            }
            Outcome::Failure(why) => {
                if self.remote_failed(remote, &why) == Action::Continue {
                    resume();
                }
            }
        }
    }

    /// The auth service could not decide: `failure_mode_allow` lets the request through
    /// (without identity), else 503. `Continue` when the request may proceed.
    fn remote_failed(&mut self, remote: &Remote, why: &str) -> Action {
        let metrics = &self.plugin.metrics;
        metrics.errors.inc();
        if remote.failure_mode_allow() {
            log::warn!(
                "authorization service `{}` failed ({why}); allowing the request (failure_mode_allow)",
                remote.cluster()
            );
            metrics.failure_mode_allowed.inc();
            self.strip_remote_credentials(remote);
            Action::Continue
        } else {
            log::warn!(
                "authorization service `{}` failed ({why}); denying the request",
                remote.cluster()
            );
            self.deny(Denial::new(
                Reason::Unavailable,
                "authorization service unavailable",
            ))
        }
    }

    fn strip_remote_credentials(&self, remote: &Remote) {
        if self.plugin.settings.strip_credentials {
            for name in remote.forwarded_plain_headers() {
                headers::remove(REQUEST, name);
            }
        }
    }

    /// Adds the identity header and lets the request continue.
    fn allow(&self, identity: &[u8]) -> Action {
        let settings = &self.plugin.settings;
        if hostcalls::set_map_value_bytes(REQUEST, &settings.identity_header, Some(identity))
            .is_err()
        {
            return self.fail_internal();
        }
        self.plugin.metrics.allowed.inc();
        log::debug!("allowed");
        Action::Continue
    }

    fn deny(&self, denial: Denial) -> Action {
        let plugin = &self.plugin;
        plugin.metrics.denied(denial.reason).inc();
        log::debug!("denied: {}", denial.reason.name());
        let (status, error) = match denial.reason {
            Reason::Unavailable => (503, "unavailable"),
            _ => (401, "unauthorized"),
        };
        let challenge = match &plugin.settings.method {
            Method::Basic(users) => Some(("www-authenticate", users.challenge())),
            _ => None,
        };
        let extra: Vec<(&str, &str)> = challenge.into_iter().collect();
        if !reply::send_error(status, error, denial.message, &extra) {
            // Never let an unauthenticated request through: keep it paused instead.
            log::error!("cannot send the {status} reply; the request stays paused");
        }
        Action::Pause
    }

    /// A host call that must succeed (removing a spoofed header, setting the identity)
    /// failed: refuse the request rather than forward it unchecked.
    fn fail_internal(&self) -> Action {
        self.plugin.metrics.errors.inc();
        log::error!("cannot update request headers; refusing the request");
        if !reply::send_error(500, "internal", "authentication failed", &[]) {
            log::error!("cannot send the 500 reply; the request stays paused");
        }
        Action::Pause
    }
}

/// Removes every value of each header; false if the host refused.
fn remove_all<'a>(names: impl Iterator<Item = &'a str>) -> bool {
    let mut ok = true;
    for name in names {
        ok &= headers::remove(REQUEST, name);
    }
    ok
}

fn add_bytes(name: &str, value: &[u8]) {
    if let Err(status) = hostcalls::add_map_value_bytes(REQUEST, name, value) {
        log::warn!("cannot add header `{name}` from the authorization service: {status:?}");
    }
}

fn resume() {
    if let Err(status) = hostcalls::resume_http_request() {
        log::error!("cannot resume the request: {status:?}");
    }
}

impl Context for AuthRequest {
    fn on_http_call_response(
        &mut self,
        token_id: u32,
        _num_headers: usize,
        body_size: usize,
        _num_trailers: usize,
    ) {
        if self.callout != Some(token_id) {
            log::debug!("ignoring an unexpected callout answer (token {token_id})");
            return;
        }
        self.callout = None;
        self.finish_callout(body_size);
    }
}

impl HttpContext for AuthRequest {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        self.check()
    }
}
