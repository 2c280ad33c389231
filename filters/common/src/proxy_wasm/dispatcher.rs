//! Routes the host's callbacks to the filter's contexts.
//!
//! The `proxy_on_*` functions here are not exported by themselves: `export_filter!` exports
//! the ones a filter uses. Envoy enters the VM for every exported callback on every request,
//! so an export nobody needs is pure overhead.
//!
//! Contexts are `Rc<RefCell<..>>` so no borrow of the dispatcher is held while a callback
//! runs: a callback may make host calls that come back here (a callout registers its token),
//! and a host that re-enters the same context gets the default answer instead of a panic.

use super::hostcalls;
use super::traits::{HttpContext, RootContext};
use super::types::Action;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

type NewRootContext = fn(u32) -> Box<dyn RootContext>;
type Shared<T> = Rc<RefCell<Box<T>>>;

/// A live context. One map holds both kinds: every distinct map type costs the module
/// several KB of B-tree code.
#[derive(Clone)]
enum Ctx {
    Root(Shared<dyn RootContext>),
    Http(Shared<dyn HttpContext>),
}

struct Dispatcher {
    new_root: Option<NewRootContext>,
    contexts: BTreeMap<u32, Ctx>,
    /// Callout token -> the context that made the call (few at a time).
    callouts: Vec<(u32, u32)>,
    /// The context whose callback is running.
    active: u32,
}

thread_local! {
    static DISPATCHER: RefCell<Dispatcher> = const {
        RefCell::new(Dispatcher {
            new_root: None,
            contexts: BTreeMap::new(),
            callouts: Vec::new(),
            active: 0,
        })
    };
}

fn with<R>(f: impl FnOnce(&mut Dispatcher) -> R) -> Option<R> {
    DISPATCHER.with(|d| d.try_borrow_mut().ok().map(|mut d| f(&mut d)))
}

/// Sets the factory for root contexts (one per plugin configuration).
pub fn set_root_context(new_root: NewRootContext) {
    with(|d| d.new_root = Some(new_root));
}

pub(super) fn register_callout(token: u32) {
    with(|d| {
        let active = d.active;
        d.callouts.push((token, active));
    });
}

/// Looks up context `id` and makes it the active one.
fn context(id: u32) -> Option<Ctx> {
    with(|d| {
        d.active = id;
        d.contexts.get(&id).cloned()
    })
    .flatten()
}

/// Runs `f` on root context `id`; `default` if it is unknown or already busy.
fn on_root<R>(id: u32, default: R, f: impl FnOnce(&mut dyn RootContext) -> R) -> R {
    match context(id) {
        Some(Ctx::Root(ctx)) => match ctx.try_borrow_mut() {
            Ok(mut ctx) => f(&mut **ctx),
            Err(_) => default,
        },
        _ => default,
    }
}

fn on_stream<R>(id: u32, default: R, f: impl FnOnce(&mut dyn HttpContext) -> R) -> R {
    match context(id) {
        Some(Ctx::Http(ctx)) => match ctx.try_borrow_mut() {
            Ok(mut ctx) => f(&mut **ctx),
            Err(_) => default,
        },
        _ => default,
    }
}

fn action(id: u32, f: impl FnOnce(&mut dyn HttpContext) -> Action) -> u32 {
    on_stream(id, Action::Continue, f) as u32
}

pub fn proxy_on_context_create(context_id: u32, root_context_id: u32) {
    if root_context_id == 0 {
        if let Some(Some(new_root)) = with(|d| d.new_root) {
            let ctx = Ctx::Root(Rc::new(RefCell::new(new_root(context_id))));
            with(|d| d.contexts.insert(context_id, ctx));
        }
        return;
    }
    let created = on_root(root_context_id, None, |r| r.create_http_context(context_id));
    if let Some(http) = created {
        let ctx = Ctx::Http(Rc::new(RefCell::new(http)));
        with(|d| d.contexts.insert(context_id, ctx));
    }
}

pub fn proxy_on_vm_start(context_id: u32, size: u32) -> u32 {
    on_root(context_id, false, |r| r.on_vm_start(size as usize)) as u32
}

pub fn proxy_on_configure(context_id: u32, size: u32) -> u32 {
    on_root(context_id, false, |r| r.on_configure(size as usize)) as u32
}

pub fn proxy_on_tick(context_id: u32) {
    on_root(context_id, (), |r| r.on_tick());
}

pub fn proxy_on_request_headers(context_id: u32, headers: u32, end: u32) -> u32 {
    action(context_id, |s| {
        s.on_http_request_headers(headers as usize, end != 0)
    })
}

pub fn proxy_on_request_body(context_id: u32, size: u32, end: u32) -> u32 {
    action(context_id, |s| {
        s.on_http_request_body(size as usize, end != 0)
    })
}

pub fn proxy_on_request_trailers(context_id: u32, trailers: u32) -> u32 {
    action(context_id, |s| {
        s.on_http_request_trailers(trailers as usize)
    })
}

pub fn proxy_on_response_headers(context_id: u32, headers: u32, end: u32) -> u32 {
    action(context_id, |s| {
        s.on_http_response_headers(headers as usize, end != 0)
    })
}

pub fn proxy_on_response_body(context_id: u32, size: u32, end: u32) -> u32 {
    action(context_id, |s| {
        s.on_http_response_body(size as usize, end != 0)
    })
}

pub fn proxy_on_response_trailers(context_id: u32, trailers: u32) -> u32 {
    action(context_id, |s| {
        s.on_http_response_trailers(trailers as usize)
    })
}

pub fn proxy_on_http_call_response(
    _root_context_id: u32,
    token: u32,
    headers: u32,
    body: u32,
    trailers: u32,
) {
    let owner = with(|d| {
        let at = d.callouts.iter().position(|(t, _)| *t == token)?;
        Some(d.callouts.swap_remove(at).1)
    });
    let Some(Some(owner)) = owner else {
        return;
    };
    let (h, b, t) = (headers as usize, body as usize, trailers as usize);
    if let Some(Ctx::Http(_)) = context(owner) {
        // Host calls made from here (headers, resume) must act on the stream that called.
        if hostcalls::set_effective_context(owner).is_ok() {
            on_stream(owner, (), |s| s.on_http_call_response(token, h, b, t));
        }
    } else {
        on_root(owner, (), |r| r.on_http_call_response(token, h, b, t));
    }
}

pub fn proxy_on_log(context_id: u32) {
    on_stream(context_id, (), |s| s.on_log());
}

pub fn proxy_on_done(context_id: u32) -> u32 {
    match context(context_id) {
        Some(Ctx::Http(_)) => on_stream(context_id, true, |s| s.on_done()) as u32,
        _ => on_root(context_id, true, |r| r.on_done()) as u32,
    }
}

pub fn proxy_on_delete(context_id: u32) {
    with(|d| {
        d.contexts.remove(&context_id);
        d.callouts.retain(|(_, owner)| *owner != context_id);
    });
}
