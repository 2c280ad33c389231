//! HTTP streams driven step by step as Envoy's filter manager would, and the one-call
//! `Plugin::send`.

use crate::abi::stream as st;
use crate::error::{Error, Result};
use crate::plugin::{cb, Plugin, ROOT};
use crate::state::{Context, Deferred, Direction, HttpState, Stop};
use crate::types::{
    lower_headers, Action, Exchange, Headers, LocalReply, Message, Request, Response,
};

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dir {
    Req,
    Resp,
}

impl Dir {
    fn callbacks(self) -> [usize; 3] {
        match self {
            Dir::Req => [cb::REQUEST_HEADERS, cb::REQUEST_BODY, cb::REQUEST_TRAILERS],
            Dir::Resp => [
                cb::RESPONSE_HEADERS,
                cb::RESPONSE_BODY,
                cb::RESPONSE_TRAILERS,
            ],
        }
    }
    fn of(self, h: &mut HttpState) -> &mut Direction {
        match self {
            Dir::Req => &mut h.req,
            Dir::Resp => &mut h.resp,
        }
    }
}

/// What a step does before calling the filter.
enum Gate {
    Call,
    Return(Action),
}

impl Plugin {
    fn http_state(&mut self, ctx: u32) -> Result<&mut HttpState> {
        self.store
            .data_mut()
            .http(ctx)
            .ok_or_else(|| Error::Usage(format!("no HTTP stream {ctx}")))
    }

    /// Checks shared by every step: ended stream, finished direction, failed VM.
    fn gate(&mut self, ctx: u32, dir: Dir) -> Result<Gate> {
        if self.failed.is_some() {
            self.fail_stream(ctx, false);
        }
        let h = self.http_state(ctx)?;
        if h.ended {
            return Err(Error::Usage("the stream has already ended".into()));
        }
        if h.pass_through {
            return Ok(Gate::Return(Action::Continue));
        }
        if dir.of(h).finished || h.closed_by_filter {
            return Ok(Gate::Return(Action::Pause));
        }
        Ok(Gate::Call)
    }

    /// Envoy's handling of a failed VM on a stream: 503 `wasm_fail_stream` (fail closed) or
    /// skipping the filter (fail open). The stream whose own callback trapped gets the 503
    /// even when failing open (measured in Envoy 1.40: only later streams skip the filter).
    pub(crate) fn fail_stream(&mut self, ctx: u32, trapped_here: bool) {
        let fail_open = self.fail_open && !trapped_here;
        let Some(h) = self.store.data_mut().http(ctx) else {
            return;
        };
        if h.pass_through || h.local_reply.is_some() || h.ended {
            return;
        }
        if fail_open {
            h.pass_through = true;
            for d in [&mut h.req, &mut h.resp] {
                d.stop = None;
                d.body_start = d.msg.body.len();
            }
            return;
        }
        let reply = LocalReply {
            status: 503,
            headers: Vec::new(),
            body: Vec::new(),
            details: "wasm_fail_stream".into(),
            grpc_status: None,
        };
        h.replied_before_upstream = !h.resp.headers_arrived;
        h.resp.msg = reply.to_message();
        h.resp.headers_arrived = true;
        h.resp.end_of_stream = true;
        h.local_reply = Some(reply);
        for d in [&mut h.req, &mut h.resp] {
            d.finished = true;
            d.stop = None;
        }
    }

    fn local_reply_pending(&self, ctx: u32) -> bool {
        self.store
            .data()
            .deferred
            .iter()
            .any(|d| matches!(d, Deferred::LocalReply(c, _) if *c == ctx))
    }

    /// Calls a stream callback and records where the filter holds the direction.
    fn stream_callback(&mut self, ctx: u32, dir: Dir, stage: Stop, args: &[i32]) -> Result<Action> {
        let index = dir.callbacks()[stage as usize];
        let raw = self.callback(index, args)?.unwrap_or(0);
        let mut action = Action::from_raw(raw);
        let replied = self.local_reply_pending(ctx);
        let h = self.http_state(ctx)?;
        let d = dir.of(h);
        if replied {
            action = Action::Pause;
        } else if action == Action::Continue {
            d.stop = None;
            d.body_start = d.msg.body.len();
        } else {
            d.stop = Some(stage);
        }
        Ok(action)
    }

    fn deliver_body(&mut self, ctx: u32, dir: Dir) -> Result<Action> {
        let h = self.http_state(ctx)?;
        let d = dir.of(h);
        let size = d.msg.body.len() - d.body_start.min(d.msg.body.len());
        let eos = d.end_of_stream && !d.trailers_arrived;
        self.stream_callback(ctx, dir, Stop::Body, &[ctx as i32, size as i32, eos as i32])
    }

    fn deliver_trailers(&mut self, ctx: u32, dir: Dir) -> Result<Action> {
        let n = dir.of(self.http_state(ctx)?).msg.trailers.len();
        self.stream_callback(ctx, dir, Stop::Trailers, &[ctx as i32, n as i32])
    }

    pub(crate) fn step_headers(
        &mut self,
        ctx: u32,
        dir: Dir,
        headers: Headers,
        eos: bool,
    ) -> Result<Action> {
        {
            let d = dir.of(self.http_state(ctx)?);
            if d.headers_arrived {
                return Err(Error::Usage(
                    "headers were already sent in this direction".into(),
                ));
            }
            if !d.finished {
                // Envoy's codec adds each received header with the map's inline rules.
                let kind = match dir {
                    Dir::Req => crate::abi::map::HTTP_REQUEST_HEADERS,
                    Dir::Resp => crate::abi::map::HTTP_RESPONSE_HEADERS,
                };
                d.msg.headers = crate::header_map::build(kind, headers);
                d.headers_arrived = true;
                d.end_of_stream = eos;
            }
        }
        let action = match self.gate(ctx, dir)? {
            Gate::Return(a) => a,
            Gate::Call => {
                let n = dir.of(self.http_state(ctx)?).msg.headers.len();
                self.stream_callback(ctx, dir, Stop::Headers, &[ctx as i32, n as i32, eos as i32])?
            }
        };
        self.flush()?;
        Ok(action)
    }

    pub(crate) fn step_body(
        &mut self,
        ctx: u32,
        dir: Dir,
        data: &[u8],
        eos: bool,
    ) -> Result<Action> {
        let gate = self.gate(ctx, dir)?;
        let d = dir.of(self.http_state(ctx)?);
        if d.finished {
            return Ok(Action::Pause);
        }
        d.msg.body.extend_from_slice(data);
        d.end_of_stream = eos;
        let action = match gate {
            Gate::Return(a) => {
                d.body_start = d.msg.body.len();
                a
            }
            Gate::Call if matches!(d.stop, Some(Stop::Headers) | Some(Stop::Trailers)) => {
                // StopAllIterationAndWatermark: buffered, delivered when the filter continues.
                d.body_pending = true;
                Action::Pause
            }
            Gate::Call => self.deliver_body(ctx, dir)?,
        };
        self.flush()?;
        Ok(action)
    }

    pub(crate) fn step_trailers(
        &mut self,
        ctx: u32,
        dir: Dir,
        trailers: Headers,
    ) -> Result<Action> {
        let gate = self.gate(ctx, dir)?;
        let d = dir.of(self.http_state(ctx)?);
        if d.finished {
            return Ok(Action::Pause);
        }
        let kind = match dir {
            Dir::Req => crate::abi::map::HTTP_REQUEST_TRAILERS,
            Dir::Resp => crate::abi::map::HTTP_RESPONSE_TRAILERS,
        };
        d.msg.trailers = crate::header_map::build(kind, trailers);
        d.trailers_arrived = true;
        d.end_of_stream = true;
        let action = match gate {
            Gate::Return(a) => a,
            Gate::Call if d.stop == Some(Stop::Headers) || d.body_pending => {
                d.trailers_pending = true;
                Action::Pause
            }
            Gate::Call => self.deliver_trailers(ctx, dir)?,
        };
        self.flush()?;
        Ok(action)
    }

    /// `proxy_continue_stream`: releases what the direction held and delivers what was buffered.
    fn resume(&mut self, ctx: u32, dir: Dir) -> Result<()> {
        let Some(h) = self.store.data_mut().http(ctx) else {
            return Ok(());
        };
        let d = dir.of(h);
        if d.finished || h.ended {
            return Ok(());
        }
        let d = dir.of(h);
        let was = d.stop.take();
        if matches!(was, Some(Stop::Body) | Some(Stop::Trailers)) {
            d.body_start = d.msg.body.len();
        }
        if d.body_pending {
            d.body_pending = false;
            if self.deliver_body(ctx, dir)? == Action::Pause {
                return Ok(());
            }
        }
        let d = dir.of(self.http_state(ctx)?);
        if d.trailers_pending {
            d.trailers_pending = false;
            self.deliver_trailers(ctx, dir)?;
        }
        Ok(())
    }

    /// The local reply goes to the client through this filter's response callbacks, unless the
    /// upstream response is already being processed.
    fn apply_local_reply(&mut self, ctx: u32, reply: LocalReply) -> Result<()> {
        let Some(h) = self.store.data_mut().http(ctx) else {
            return Ok(());
        };
        if h.local_reply.is_some() || h.ended {
            return Ok(());
        }
        let msg = reply.to_message();
        let run_callbacks = !h.resp.headers_arrived;
        h.replied_before_upstream = run_callbacks;
        h.local_reply = Some(reply);
        h.req.finished = true;
        h.req.stop = None;
        h.resp = Direction {
            msg,
            headers_arrived: true,
            end_of_stream: true,
            finished: !run_callbacks,
            ..Default::default()
        };
        if run_callbacks {
            let (n, body_len) = (h.resp.msg.headers.len(), h.resp.msg.body.len());
            self.callback(
                cb::RESPONSE_HEADERS,
                &[ctx as i32, n as i32, (body_len == 0) as i32],
            )?;
            if body_len > 0 {
                self.callback(cb::RESPONSE_BODY, &[ctx as i32, body_len as i32, 1])?;
            }
            if let Some(h) = self.store.data_mut().http(ctx) {
                h.resp.finished = true;
                h.resp.stop = None;
            }
        }
        Ok(())
    }

    pub(crate) fn apply(&mut self, d: Deferred) -> Result<()> {
        match d {
            Deferred::LocalReply(ctx, reply) => self.apply_local_reply(ctx, reply),
            Deferred::Continue(ctx, kind) => match kind {
                st::HTTP_REQUEST => self.resume(ctx, Dir::Req),
                st::HTTP_RESPONSE => self.resume(ctx, Dir::Resp),
                _ => self.tcp_resume(ctx, kind),
            },
            Deferred::Close(ctx, kind) => {
                if let Some(h) = self.store.data_mut().http(ctx) {
                    // Envoy resets the stream; it ends when the test completes it.
                    h.closed_by_filter = true;
                    h.req.stop = None;
                    h.resp.stop = None;
                    Ok(())
                } else {
                    self.tcp_close(ctx, kind)
                }
            }
        }
    }

    /// Starts an HTTP stream (`proxy_on_context_create` for a new stream context).
    pub fn http_stream(&mut self) -> HttpStream<'_> {
        let start_ns = self.now_nanos();
        let state = HttpState {
            start_ns,
            ..Default::default()
        };
        // A trap in context creation fails the VM; the stream then follows the failure policy.
        let id = match self.new_context(Context::Http(Box::new(state))) {
            Ok(id) => id,
            Err(_) => self.next_context - 1,
        };
        HttpStream { plugin: self, id }
    }

    /// Sends one request through the filter and, unless the filter replied locally, the
    /// upstream's `response` back; then ends the stream. Callouts the filter waits on are answered
    /// by `answer_http_calls` rules; without one the stream stays paused and this fails.
    pub fn send(&mut self, request: Request, response: Response) -> Result<Exchange> {
        let mut s = self.http_stream();
        let id = s.id;
        let r = s.run(request, response);
        let out = match r {
            Ok(()) => {
                let p = &mut *s.plugin;
                let h = p.http_state(id)?;
                Ok(Exchange {
                    upstream: if h.replied_before_upstream {
                        None
                    } else {
                        Some(h.req.msg.clone())
                    },
                    client: h.resp.msg.clone(),
                    local_reply: h.local_reply.clone(),
                })
            }
            Err(e) => Err(e),
        };
        drop(s);
        self.store.data_mut().contexts.remove(&id);
        out
    }
}

/// One HTTP stream of a plugin. Dropping it keeps the stream's context; `complete` / `reset`
/// end it.
pub struct HttpStream<'a> {
    plugin: &'a mut Plugin,
    id: u32,
}

impl HttpStream<'_> {
    /// The stream's context id.
    pub fn id(&self) -> u32 {
        self.id
    }
    /// The plugin, to answer callouts or move the clock while the stream is open.
    pub fn plugin(&mut self) -> &mut Plugin {
        self.plugin
    }
    pub fn request_headers<K: AsRef<str>, V: AsRef<[u8]>>(
        &mut self,
        h: &[(K, V)],
        end_of_stream: bool,
    ) -> Result<Action> {
        self.plugin
            .step_headers(self.id, Dir::Req, lower_headers(h), end_of_stream)
    }
    pub fn request_body(&mut self, data: &[u8], end_of_stream: bool) -> Result<Action> {
        self.plugin
            .step_body(self.id, Dir::Req, data, end_of_stream)
    }
    pub fn request_trailers<K: AsRef<str>, V: AsRef<[u8]>>(
        &mut self,
        t: &[(K, V)],
    ) -> Result<Action> {
        self.plugin
            .step_trailers(self.id, Dir::Req, lower_headers(t))
    }
    pub fn response_headers<K: AsRef<str>, V: AsRef<[u8]>>(
        &mut self,
        h: &[(K, V)],
        end_of_stream: bool,
    ) -> Result<Action> {
        self.plugin
            .step_headers(self.id, Dir::Resp, lower_headers(h), end_of_stream)
    }
    pub fn response_body(&mut self, data: &[u8], end_of_stream: bool) -> Result<Action> {
        self.plugin
            .step_body(self.id, Dir::Resp, data, end_of_stream)
    }
    pub fn response_trailers<K: AsRef<str>, V: AsRef<[u8]>>(
        &mut self,
        t: &[(K, V)],
    ) -> Result<Action> {
        self.plugin
            .step_trailers(self.id, Dir::Resp, lower_headers(t))
    }
    /// End of stream: `proxy_on_log`, `proxy_on_done`, `proxy_on_delete`.
    pub fn complete(&mut self) -> Result<()> {
        let h = self.plugin.http_state(self.id)?;
        if h.ended {
            return Err(Error::Usage("the stream has already ended".into()));
        }
        h.ended = true;
        self.plugin.end_context(self.id)
    }
    /// Downstream reset before the response: the same end callbacks, no response.
    pub fn reset(&mut self) -> Result<()> {
        self.complete()
    }
    fn state(&self) -> &HttpState {
        match self.plugin.store.data().contexts.get(&self.id) {
            Some(Context::Http(h)) => h,
            // The id always names this stream's context while the handle lives.
            _ => unreachable!("HTTP stream context {} is gone", self.id),
        }
    }
    /// The request as the filter left it (what the upstream gets once it continues).
    pub fn request(&self) -> &Message {
        &self.state().req.msg
    }
    /// The response as the filter left it (the local reply once one was sent).
    pub fn response(&self) -> &Message {
        &self.state().resp.msg
    }
    pub fn local_reply(&self) -> Option<&LocalReply> {
        self.state().local_reply.as_ref()
    }
    /// The filter holds the stream (StopIteration, a body it buffers, or a pending callout).
    pub fn is_paused(&self) -> bool {
        let h = self.state();
        !h.pass_through && (h.req.stop.is_some() || h.resp.stop.is_some())
    }
    /// The local reply came before the request reached the upstream.
    pub fn replied_before_upstream(&self) -> bool {
        self.state().replied_before_upstream
    }
    /// Whether the filter reset the stream with `proxy_close_stream`.
    pub fn closed_by_filter(&self) -> bool {
        self.state().closed_by_filter
    }
    /// Filter state written with `proxy_set_property` (key `wasm.<name>`).
    pub fn filter_state(&self, key: &str) -> Option<Vec<u8>> {
        self.state().filter_state.get(key).cloned()
    }

    /// Answers pending callouts with the plugin's `answer_http_calls` rules while paused.
    pub(crate) fn settle(&mut self) -> Result<()> {
        while self.is_paused() {
            let calls = self.plugin.pending_http_calls();
            let answer = calls.iter().find_map(|c| {
                self.plugin
                    .auto_http
                    .iter()
                    .find(|(cl, _)| *cl == c.cluster)
                    .map(|(_, r)| (c.token, r.clone()))
            });
            match answer {
                Some((token, r)) => self.plugin.respond_http_call(token, r)?,
                None => break,
            }
        }
        Ok(())
    }

    pub(crate) fn paused_error(&self, what: &str) -> Error {
        let calls = self.plugin.pending_http_calls();
        let grpc = self.plugin.pending_grpc_calls();
        let waiting_on = if let Some(c) = calls.first() {
            format!(
                "{what} waits for the HTTP call to cluster '{}' (token {})",
                c.cluster, c.token
            )
        } else if let Some(g) = grpc.first() {
            format!(
                "{what} waits for the gRPC call {}/{} (token {})",
                g.service, g.method, g.token
            )
        } else {
            format!("{what} held with StopIteration and never continued")
        };
        Error::StreamPaused { waiting_on }
    }

    fn run(&mut self, req: Request, resp: Response) -> Result<()> {
        let (rb, rt) = (!req.body.is_empty(), !req.trailers.is_empty());
        self.request_headers(&req.headers, !rb && !rt)?;
        // Envoy's HTTP/1.1 codec: the data (eos=false), then trailers or an empty
        // end-of-stream chunk.
        if rb {
            self.request_body(&req.body, false)?;
        }
        if rt {
            self.request_trailers(&req.trailers)?;
        } else if rb {
            self.request_body(b"", true)?;
        }
        self.settle()?;
        if self.local_reply().is_none() {
            if self.is_paused() {
                return Err(self.paused_error("the request"));
            }
            let (bb, bt) = (!resp.body.is_empty(), !resp.trailers.is_empty());
            self.response_headers(&resp.headers, !bb && !bt)?;
            // Envoy's HTTP/1.1 codec: the data (eos=false), then trailers or an empty
            // end-of-stream chunk.
            if bb {
                self.response_body(&resp.body, false)?;
            }
            if bt {
                self.response_trailers(&resp.trailers)?;
            } else if bb {
                self.response_body(b"", true)?;
            }
            self.settle()?;
            if self.is_paused() {
                return Err(self.paused_error("the response"));
            }
        }
        self.complete()
    }
}

impl Drop for HttpStream<'_> {
    fn drop(&mut self) {
        // Ended streams are forgotten; open ones stay so callouts can still resume them.
        let ended = matches!(self.plugin.store.data().contexts.get(&self.id), Some(Context::Http(h)) if h.ended);
        if ended && self.id != ROOT {
            self.plugin.store.data_mut().contexts.remove(&self.id);
        }
    }
}
