//! TCP (network filter) streams: new connection, downstream/upstream data, both closes.

use crate::abi::peer;
use crate::abi::stream as st;
use crate::error::{Error, Result};
use crate::plugin::{cb, Plugin};
use crate::state::{Context, TcpDirection, TcpState};
use crate::types::Action;

/// Who closed a connection (`proxy_peer_type_t`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    Unknown,
    Local,
    Remote,
}

impl Peer {
    fn raw(self) -> i32 {
        match self {
            Peer::Unknown => peer::UNKNOWN,
            Peer::Local => peer::LOCAL,
            Peer::Remote => peer::REMOTE,
        }
    }
}

impl Plugin {
    fn tcp_state(&mut self, ctx: u32) -> Result<&mut TcpState> {
        self.store
            .data_mut()
            .tcp(ctx)
            .ok_or_else(|| Error::Usage(format!("no TCP stream {ctx}")))
    }

    pub(crate) fn tcp_resume(&mut self, ctx: u32, kind: i32) -> Result<()> {
        let t = self.tcp_state(ctx)?;
        let d = if kind == st::DOWNSTREAM {
            &mut t.downstream
        } else {
            &mut t.upstream
        };
        d.paused = false;
        let held = std::mem::take(&mut d.buffer);
        d.passed.extend_from_slice(&held);
        Ok(())
    }

    pub(crate) fn tcp_close(&mut self, ctx: u32, kind: i32) -> Result<()> {
        self.tcp_state(ctx)?.closed_by_filter.push(kind);
        Ok(())
    }

    fn tcp_data(&mut self, ctx: u32, downstream: bool, data: &[u8], eos: bool) -> Result<Action> {
        let failed = self.failed.is_some();
        let fail_open = self.fail_open;
        let t = self.tcp_state(ctx)?;
        if t.ended {
            return Err(Error::Usage("the connection has already ended".into()));
        }
        let d = if downstream {
            &mut t.downstream
        } else {
            &mut t.upstream
        };
        d.buffer.extend_from_slice(data);
        d.end_of_stream = eos;
        if failed {
            // Fail open passes data; fail closed holds it (Envoy closes the connection).
            if fail_open {
                let held = std::mem::take(&mut d.buffer);
                d.passed.extend_from_slice(&held);
                return Ok(Action::Continue);
            }
            return Ok(Action::Pause);
        }
        let len = d.buffer.len() as i32;
        let index = if downstream {
            cb::DOWNSTREAM_DATA
        } else {
            cb::UPSTREAM_DATA
        };
        let action = Action::from_raw(
            self.callback(index, &[ctx as i32, len, eos as i32])?
                .unwrap_or(0),
        );
        let t = self.tcp_state(ctx)?;
        let d: &mut TcpDirection = if downstream {
            &mut t.downstream
        } else {
            &mut t.upstream
        };
        if action == Action::Continue {
            let held = std::mem::take(&mut d.buffer);
            d.passed.extend_from_slice(&held);
            d.paused = false;
        } else {
            d.paused = true;
        }
        self.flush()?;
        Ok(action)
    }

    /// Starts a TCP connection context (`proxy_on_context_create`).
    pub fn tcp_stream(&mut self) -> TcpStream<'_> {
        let id = match self.new_context(Context::Tcp(Box::default())) {
            Ok(id) => id,
            Err(_) => self.next_context - 1,
        };
        TcpStream { plugin: self, id }
    }
}

/// One TCP connection through a network filter.
pub struct TcpStream<'a> {
    plugin: &'a mut Plugin,
    id: u32,
}

impl TcpStream<'_> {
    pub fn id(&self) -> u32 {
        self.id
    }
    pub fn plugin(&mut self) -> &mut Plugin {
        self.plugin
    }
    /// `proxy_on_new_connection`.
    pub fn new_connection(&mut self) -> Result<Action> {
        if self.plugin.failed.is_some() {
            return Ok(if self.plugin.fail_open {
                Action::Continue
            } else {
                Action::Pause
            });
        }
        let r = self
            .plugin
            .callback(cb::NEW_CONNECTION, &[self.id as i32])?
            .unwrap_or(0);
        self.plugin.flush()?;
        Ok(Action::from_raw(r))
    }
    /// Data from the client: `proxy_on_downstream_data`. Held data is delivered again with the next chunk.
    pub fn downstream_data(&mut self, data: &[u8], end_of_stream: bool) -> Result<Action> {
        self.plugin.tcp_data(self.id, true, data, end_of_stream)
    }
    /// Data from the upstream: `proxy_on_upstream_data`.
    pub fn upstream_data(&mut self, data: &[u8], end_of_stream: bool) -> Result<Action> {
        self.plugin.tcp_data(self.id, false, data, end_of_stream)
    }
    /// `proxy_on_downstream_connection_close`.
    pub fn downstream_close(&mut self, peer: Peer) -> Result<()> {
        if self.plugin.failed.is_none() {
            self.plugin
                .callback(cb::DOWNSTREAM_CLOSE, &[self.id as i32, peer.raw()])?;
        }
        self.plugin.flush()
    }
    /// `proxy_on_upstream_connection_close`.
    pub fn upstream_close(&mut self, peer: Peer) -> Result<()> {
        if self.plugin.failed.is_none() {
            self.plugin
                .callback(cb::UPSTREAM_CLOSE, &[self.id as i32, peer.raw()])?;
        }
        self.plugin.flush()
    }
    /// End of the connection: `proxy_on_log`, `proxy_on_done`, `proxy_on_delete`.
    pub fn complete(&mut self) -> Result<()> {
        let t = self.plugin.tcp_state(self.id)?;
        if t.ended {
            return Err(Error::Usage("the connection has already ended".into()));
        }
        t.ended = true;
        self.plugin.end_context(self.id)
    }
    fn state(&self) -> &TcpState {
        match self.plugin.store.data().contexts.get(&self.id) {
            Some(Context::Tcp(t)) => t,
            _ => unreachable!("TCP context {} is gone", self.id),
        }
    }
    /// Client data that went on to the upstream.
    pub fn upstream_received(&self) -> &[u8] {
        &self.state().downstream.passed
    }
    /// Upstream data that went on to the client.
    pub fn downstream_received(&self) -> &[u8] {
        &self.state().upstream.passed
    }
    pub fn is_paused(&self) -> bool {
        let t = self.state();
        t.downstream.paused || t.upstream.paused
    }
    /// Stream types the filter closed with `proxy_close_stream` (2 downstream, 3 upstream).
    pub fn closed_by_filter(&self) -> Vec<i32> {
        self.state().closed_by_filter.clone()
    }
    pub fn filter_state(&self, key: &str) -> Option<Vec<u8>> {
        self.state().filter_state.get(key).cloned()
    }
}

impl Drop for TcpStream<'_> {
    fn drop(&mut self) {
        let ended = matches!(self.plugin.store.data().contexts.get(&self.id), Some(Context::Tcp(t)) if t.ended);
        if ended {
            self.plugin.store.data_mut().contexts.remove(&self.id);
        }
    }
}
