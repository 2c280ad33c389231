//! `auth_check`: authenticates requests with API keys, HTTP Basic auth or a remote
//! authorization service, and tells the upstream who the client is.
//!
//! The root context reads the configuration ([`config`]). Each request gets an [`AuthCheck`]
//! that, in `on_http_request_headers`, removes any identity the client sent, skips exempt
//! paths, and then either checks the credentials itself (`api_key`, `basic`) or asks the
//! authorization service and decides in `on_http_call_response` (`remote`). An accepted
//! request goes upstream with the identity header; a refused one gets a local reply.
//!
//! Nothing here logs a credential, a header value or a presented user name. See README.md for
//! the configuration reference.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod api_key;
mod basic;
mod config;
mod remote;
mod secret;

use config::{Config, Method, Settings};
use filter_common::headers::{self, MapType};
use filter_common::hostcalls;
use filter_common::metrics::Counter;
use filter_common::reply;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};
use remote::{first, Outcome, Pairs, Remote};
use std::rc::Rc;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(AuthCheckRoot::default()) });
}}

const REQUEST: MapType = MapType::HttpRequestHeaders;

/// The plugin: reads the configuration, then hands it to a context per request.
#[derive(Default)]
struct AuthCheckRoot {
    plugin: Option<Rc<Plugin>>,
}

/// What the configuration built, shared by every request of a worker.
struct Plugin {
    settings: Settings,
    metrics: Metrics,
}

impl Context for AuthCheckRoot {}

impl RootContext for AuthCheckRoot {
    fn on_configure(&mut self, _plugin_configuration_size: usize) -> bool {
        filter_common::logging::follow_host_level();
        let plugin = filter_common::config::load(self.get_plugin_configuration(), |c: Config| {
            let settings = Settings::build(&c).map_err(|e| e.to_string())?;
            Ok(Plugin {
                settings,
                metrics: Metrics::define(),
            })
        });
        // A rejected update leaves the previous configuration in force.
        match plugin {
            Some(plugin) => {
                self.plugin = Some(Rc::new(plugin));
                true
            }
            None => false,
        }
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        // Always Some: the SDK traps on None.
        Some(Box::new(AuthCheck {
            plugin: self.plugin.clone(),
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

/// One request.
struct AuthCheck {
    /// `None` only if a host sends requests to a plugin whose configuration it rejected
    /// (Envoy does not): such requests are refused, never let through unchecked.
    plugin: Option<Rc<Plugin>>,
}

impl Context for AuthCheck {
    fn on_http_call_response(
        &mut self,
        _token_id: u32,
        _num_headers: usize,
        body_size: usize,
        _num_trailers: usize,
    ) {
        // The SDK delivers the answer to the context that made the call, and only that call.
        let Some(plugin) = self.plugin.clone() else {
            return;
        };
        if let Method::Remote(remote) = &plugin.settings.method {
            self.finish_callout(&plugin, remote, body_size);
        }
    }
}

impl HttpContext for AuthCheck {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        match self.plugin.clone() {
            Some(plugin) => self.check(&plugin),
            None => {
                log::error!("no valid configuration; refusing the request");
                refuse(503, "unavailable", "no valid configuration")
            }
        }
    }

    fn on_http_request_trailers(&mut self, _num_trailers: usize) -> Action {
        // An identity in a trailer is as forged as one in a header: HTTP/2 upstreams (and
        // HTTP/1 ones with trailers enabled) receive trailers as the client sent them.
        let Some(plugin) = self.plugin.clone() else {
            return Action::Continue;
        };
        const TRAILERS: MapType = MapType::HttpRequestTrailers;
        let raw = hostcalls::get_map_bytes(TRAILERS);
        match raw.as_deref().ok().and_then(hostcalls::pairs_in) {
            Some(trailers) if strip_spoofed(&plugin.settings, TRAILERS, &trailers) => {
                Action::Continue
            }
            _ => fail_internal(&plugin),
        }
    }
}

/// Removes from `map` every header that a backend may read as a protected one, in any
/// spelling (`x_auth_client`, `X+Auth+Client`); false if the host refused a removal.
fn strip_spoofed(settings: &Settings, map: MapType, pairs: &Pairs) -> bool {
    pairs.iter().all(|(name, _)| {
        let spoofed = settings
            .protected
            .iter()
            .any(|p| config::same_header(name, p.as_bytes()));
        // Protected names are ASCII, so a spoofed name is too.
        !spoofed || std::str::from_utf8(name).is_ok_and(|name| headers::remove(map, name))
    })
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

impl AuthCheck {
    /// Checks the request; `Pause` while a local reply or the callout is pending.
    fn check(&mut self, plugin: &Plugin) -> Action {
        let settings = &plugin.settings;
        // One read of the request headers serves every lookup below, borrowed from one
        // buffer. Guarded: the SDK's `get_http_request_headers_bytes` unwraps header names
        // that are not UTF-8.
        let raw = hostcalls::get_map_bytes(REQUEST);
        let Some(request) = raw.as_deref().ok().and_then(hostcalls::pairs_in) else {
            return fail_internal(plugin);
        };

        // A client must never choose its own identity, whatever happens next.
        if !strip_spoofed(settings, REQUEST, &request) {
            return fail_internal(plugin);
        }

        let path = first(&request, ":path").map(String::from_utf8_lossy);
        let path = path.as_deref().unwrap_or_default();
        let rerouted = || {
            request.iter().any(|(name, _)| {
                config::PATH_OVERRIDES
                    .iter()
                    .any(|h| config::same_header(name, h.as_bytes()))
            })
        };
        if settings.exempt.matches(path) && !rerouted() {
            plugin.metrics.exempt.inc();
            log::debug!("exempt path, not checked");
            return strip_query_key(plugin, path);
        }

        let verdict = match &settings.method {
            Method::ApiKey(keys) => check_api_key(settings, keys, &request, path),
            Method::Basic(users) => check_basic(settings, users, &request),
            Method::Remote(remote) => return self.start_callout(plugin, remote, &request),
        };
        match verdict {
            Err(denial) => deny(plugin, denial),
            Ok(identity) => match strip_query_key(plugin, path) {
                Action::Continue => allow(plugin, identity),
                refused => refused,
            },
        }
    }
}

fn check_api_key<'p>(
    settings: &Settings,
    keys: &'p api_key::ApiKeys,
    request: &Pairs,
    path: &str,
) -> Result<&'p [u8], Denial> {
    let from_header = keys
        .header()
        .and_then(|h| first(request, h))
        .filter(|v| !v.is_empty())
        .map(<[u8]>::to_vec);
    let presented = from_header.or_else(|| {
        keys.query_param()
            .and_then(|q| api_key::query_param(path, q))
            .filter(|v| !v.is_empty())
    });
    let Some(presented) = presented else {
        return Err(Denial::new(Reason::Missing, "missing API key"));
    };
    let client = keys
        .lookup(&presented)
        .ok_or(Denial::new(Reason::Invalid, "invalid API key"))?;
    if settings.strip_credentials {
        if let Some(h) = keys.header() {
            headers::remove(REQUEST, h);
        }
    }
    Ok(client.as_bytes())
}

fn check_basic<'p>(
    settings: &Settings,
    users: &'p basic::BasicUsers,
    request: &Pairs,
) -> Result<&'p [u8], Denial> {
    let Some(value) = first(request, "authorization") else {
        return Err(Denial::new(Reason::Missing, "missing credentials"));
    };
    let (user, password) = basic::parse_authorization(value)
        .map_err(|_| Denial::new(Reason::Malformed, "malformed Basic credentials"))?;
    let name = users.verify(&user, &password).ok_or(Denial::new(
        Reason::Invalid,
        "invalid user name or password",
    ))?;
    if settings.strip_credentials {
        headers::remove(REQUEST, "authorization");
    }
    Ok(name.as_bytes())
}

/// Removes the API key from the query (`strip_credentials` unless `false`): a key in the URL
/// would reach the upstream and its access logs. `Pause` (with a 500) if the host refused.
fn strip_query_key(plugin: &Plugin, path: &str) -> Action {
    let settings = &plugin.settings;
    let param = match &settings.method {
        Method::ApiKey(keys) if settings.strip_query_key => keys.query_param(),
        _ => None,
    };
    if let Some(param) = param {
        let stripped = api_key::remove_query_param(path, param);
        if stripped != path && !headers::set(REQUEST, ":path", stripped.as_bytes()) {
            return fail_internal(plugin);
        }
    }
    Action::Continue
}

impl AuthCheck {
    /// Asks the authorization service; the answer comes to `on_http_call_response`.
    fn start_callout(&mut self, plugin: &Plugin, remote: &Remote, request: &Pairs) -> Action {
        let callout = remote.callout_headers(request);
        let callout: Vec<(&str, &str)> = callout.iter().map(|(n, v)| (*n, v.as_ref())).collect();
        match self.dispatch_http_call(remote.cluster(), callout, None, vec![], remote.timeout()) {
            Ok(_token) => Action::Pause,
            Err(status) => remote_failed(plugin, remote, &format!("cannot call: {status:?}")),
        }
    }

    /// Decides on the auth service's answer and resumes or answers the paused request.
    fn finish_callout(&mut self, plugin: &Plugin, remote: &Remote, body_size: usize) {
        // A reset callout answers (0, 0, 0) with no header map at all: Envoy then answers
        // BadArgument, which the SDK's `get_http_call_response_headers*` turn into a trap
        // (envoy #26485). Read guarded, it is simply an empty answer: a failure.
        let raw = hostcalls::get_map_bytes(MapType::HttpCallResponseHeaders).unwrap_or_default();
        let answer = hostcalls::pairs_in(&raw).unwrap_or_default();
        let action = match remote::classify(&answer) {
            Outcome::Allow => match remote.identity(&answer) {
                Some(identity) => {
                    for name in remote.upstream_headers() {
                        for (n, value) in &answer {
                            if *n == name.as_bytes() && !headers::add(REQUEST, name, value) {
                                log::warn!(
                                    "cannot add header `{name}` from the authorization service"
                                );
                            }
                        }
                    }
                    strip_remote_credentials(plugin, remote);
                    allow(plugin, identity)
                }
                None => {
                    // A service that allows without saying who: never guess the identity.
                    plugin.metrics.errors.inc();
                    log::warn!(
                        "authorization service allowed the request without `{}`; denying",
                        remote.identity_from().unwrap_or_default()
                    );
                    deny(
                        plugin,
                        Denial::new(Reason::Remote, "authorization service sent no identity"),
                    )
                }
            },
            Outcome::Deny(status) => {
                plugin.metrics.denied(Reason::Remote).inc();
                log::debug!(
                    "denied: {} (authorization service answered {status})",
                    Reason::Remote.name()
                );
                // The answer exists (it has a status), so its body can be read.
                let body = match body_size {
                    0 => Vec::new(),
                    size => self
                        .get_http_call_response_body(0, size)
                        .unwrap_or_default(),
                };
                let passed: Vec<(&str, &str)> = answer
                    .iter()
                    .filter_map(|(name, v)| {
                        let name = std::str::from_utf8(name).ok()?;
                        remote::DENIAL_HEADERS.contains(&name).then_some(())?;
                        Some((name, std::str::from_utf8(v).ok()?))
                    })
                    .collect();
                if !reply::send(status, &passed, &body) {
                    log::error!(
                        "cannot send the authorization service's {status}; the request stays paused"
                    );
                }
                Action::Pause
            }
            Outcome::Failure(why) => remote_failed(plugin, remote, &why),
        };
        if action == Action::Continue {
            self.resume_http_request();
        }
    }
}

/// Sets the identity header and lets the request continue.
fn allow(plugin: &Plugin, identity: &[u8]) -> Action {
    if !headers::set(REQUEST, &plugin.settings.identity_header, identity) {
        return fail_internal(plugin);
    }
    plugin.metrics.allowed.inc();
    log::debug!("allowed");
    Action::Continue
}

/// Refuses the request with a local reply: 401 (with the Basic challenge in `basic` mode),
/// 403 when the auth service allowed without an identity, 503 when it could not decide.
fn deny(plugin: &Plugin, denial: Denial) -> Action {
    plugin.metrics.denied(denial.reason).inc();
    log::debug!("denied: {}", denial.reason.name());
    let (status, error) = match denial.reason {
        Reason::Unavailable => (503, "unavailable"),
        Reason::Remote => (403, "forbidden"),
        _ => (401, "unauthorized"),
    };
    let challenge = match &plugin.settings.method {
        Method::Basic(users) => Some(("www-authenticate", users.challenge())),
        _ => None,
    };
    if !reply::send_error(status, error, denial.message, challenge.as_slice()) {
        // Never let an unauthenticated request through: keep it paused instead.
        log::error!("cannot send the {status} reply; the request stays paused");
    }
    Action::Pause
}

/// The auth service could not decide: `failure_mode_allow` lets the request through
/// (without identity), else 503. `Continue` when the request may proceed.
fn remote_failed(plugin: &Plugin, remote: &Remote, why: &str) -> Action {
    let metrics = &plugin.metrics;
    metrics.errors.inc();
    let fail_open = remote.failure_mode_allow();
    let decision = if fail_open {
        "allowing the request (failure_mode_allow)"
    } else {
        "denying the request"
    };
    log::warn!(
        "authorization service `{}` failed ({why}); {decision}",
        remote.cluster()
    );
    if fail_open {
        metrics.failure_mode_allowed.inc();
        strip_remote_credentials(plugin, remote);
        Action::Continue
    } else {
        deny(
            plugin,
            Denial::new(Reason::Unavailable, "authorization service unavailable"),
        )
    }
}

fn strip_remote_credentials(plugin: &Plugin, remote: &Remote) {
    if plugin.settings.strip_credentials {
        for name in remote.forwarded_plain_headers() {
            headers::remove(REQUEST, name);
        }
    }
}

/// A host call that must succeed (removing a spoofed header, setting the identity) failed:
/// refuse the request rather than forward it unchecked.
fn fail_internal(plugin: &Plugin) -> Action {
    plugin.metrics.errors.inc();
    log::error!("cannot read or update request headers; refusing the request");
    refuse(500, "internal", "authentication failed")
}

/// A JSON error reply; the request stays paused even if the host refuses it.
fn refuse(status: u32, error: &str, message: &str) -> Action {
    if !reply::send_error(status, error, message, &[]) {
        log::error!("cannot send the {status} reply; the request stays paused");
    }
    Action::Pause
}

/// Why a request was refused; each reason has its own counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reason {
    /// No credential in the request.
    Missing,
    /// A credential that cannot be parsed (bad base64, no `:`, other scheme).
    Malformed,
    /// Unknown key, unknown user or wrong password.
    Invalid,
    /// The authorization service denied (any answer but a 2xx or 5xx), or allowed without
    /// the `identity_from` header.
    Remote,
    /// The authorization service failed and `failure_mode_allow` is false.
    Unavailable,
}

impl Reason {
    const ALL: [Reason; 5] = [
        Reason::Missing,
        Reason::Malformed,
        Reason::Invalid,
        Reason::Remote,
        Reason::Unavailable,
    ];

    fn name(self) -> &'static str {
        match self {
            Reason::Missing => "missing_credentials",
            Reason::Malformed => "malformed_credentials",
            Reason::Invalid => "invalid_credentials",
            Reason::Remote => "remote_denied",
            Reason::Unavailable => "service_unavailable",
        }
    }
}

/// The filter's counters, all under `auth_check.` (Envoy shows them as
/// `wasmcustom.auth_check.*`).
struct Metrics {
    /// Requests whose credentials were accepted.
    allowed: Counter,
    /// Requests on an exempt path (not checked).
    exempt: Counter,
    /// Requests let through without a verdict because the auth service failed (fail-open).
    failure_mode_allowed: Counter,
    /// Auth service failures (timeout, connection failure, unknown cluster, 5xx), an allow without identity, and
    /// refused header updates.
    errors: Counter,
    denied: [Counter; 5],
}

impl Metrics {
    fn define() -> Self {
        Metrics {
            allowed: Counter::define("auth_check.allowed"),
            exempt: Counter::define("auth_check.exempt"),
            failure_mode_allowed: Counter::define("auth_check.failure_mode_allowed"),
            errors: Counter::define("auth_check.errors"),
            denied: Reason::ALL
                .map(|r| Counter::define(&format!("auth_check.denied.{}", r.name()))),
        }
    }

    fn denied(&self, reason: Reason) -> Counter {
        self.denied[reason as usize]
    }
}
