//! HTTP/1.1 with trailers, which the echo-upstream client and server do not carry: a chunked
//! request ending in trailers, a response reader that keeps the trailers, and a scripted
//! upstream answering with chunked responses that end in trailers. Used by the differential
//! runner only for scenarios with trailers (everything else uses echo-upstream).

use echo_upstream::http::read_request;
use echo_upstream::{Request, Response};
use std::collections::VecDeque;
use std::io::{self, BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub type Pairs = Vec<(String, String)>;

/// `body` as one chunk (none when empty), the last chunk and `trailers`.
fn chunked_body(body: &[u8], trailers: &Pairs) -> Vec<u8> {
    let mut out = Vec::new();
    if !body.is_empty() {
        out.extend_from_slice(format!("{:x}\r\n", body.len()).as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n");
    for (n, v) in trailers {
        out.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// The start line and headers, the message's own framing header replacing any given one.
fn head(first: &str, headers: &Pairs, framing: Option<String>) -> Vec<u8> {
    let mut text = format!("{first}\r\n");
    for (n, v) in headers {
        if !n.eq_ignore_ascii_case("content-length") && !n.eq_ignore_ascii_case("transfer-encoding")
        {
            text.push_str(&format!("{n}: {v}\r\n"));
        }
    }
    if let Some(f) = framing {
        text.push_str(&format!("{f}\r\n"));
    }
    text.push_str("\r\n");
    text.into_bytes()
}

/// Sends `req` on a new connection — with `trailers`, its body chunked and ending in them; else
/// as the echo-upstream client does (a content-length for a body) — and reads the response
/// with its trailers.
pub fn send(
    addr: SocketAddr,
    req: &Request,
    trailers: Option<&Pairs>,
) -> Result<(Response, Pairs), String> {
    let io = |e: io::Error| format!("request failed: {e}");
    let mut stream = TcpStream::connect(addr).map_err(io)?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(io)?;
    let first = format!("{} {} HTTP/1.1", req.method, req.path);
    let bytes = match trailers {
        Some(t) => {
            let mut b = head(
                &first,
                &req.headers,
                Some("transfer-encoding: chunked".into()),
            );
            b.extend(chunked_body(&req.body, t));
            b
        }
        None => {
            let length =
                (!req.body.is_empty()).then(|| format!("content-length: {}", req.body.len()));
            let mut b = head(&first, &req.headers, length);
            b.extend_from_slice(&req.body);
            b
        }
    };
    stream.write_all(&bytes).map_err(io)?;
    read_response(&mut BufReader::new(stream)).map_err(io)
}

fn line(r: &mut impl BufRead) -> io::Result<String> {
    let mut l = String::new();
    if r.read_line(&mut l)? == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "connection closed",
        ));
    }
    Ok(l.trim_end_matches(['\r', '\n']).to_string())
}

fn fields(r: &mut impl BufRead) -> io::Result<Pairs> {
    let mut out = Pairs::new();
    loop {
        let l = line(r)?;
        if l.is_empty() {
            return Ok(out);
        }
        let (n, v) = l.split_once(':').ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidData, format!("bad field {l:?}"))
        })?;
        out.push((n.trim().to_ascii_lowercase(), v.trim().to_string()));
    }
}

/// A response: status line, headers, then a chunked body with its trailers or a
/// content-length body.
fn read_response(r: &mut impl BufRead) -> io::Result<(Response, Pairs)> {
    let status_line = line(r)?;
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, status_line.clone()))?;
    let headers = fields(r)?;
    let get = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    let mut body = Vec::new();
    let mut trailers = Pairs::new();
    if get("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        loop {
            let size = line(r)?;
            let size = usize::from_str_radix(size.split(';').next().unwrap_or("").trim(), 16)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            if size == 0 {
                trailers = fields(r)?;
                break;
            }
            let mut chunk = vec![0; size + 2];
            r.read_exact(&mut chunk)?;
            chunk.truncate(size);
            body.extend(chunk);
        }
    } else if let Some(n) = get("content-length").and_then(|v| v.parse().ok()) {
        body = vec![0; n];
        r.read_exact(&mut body)?;
    }
    let mut resp = Response::new(status);
    resp.headers = headers;
    resp.body = body;
    Ok((resp, trailers))
}

/// An upstream answering each request with the next scripted response (chunked when it has
/// trailers) and recording what it received, trailers included. Stops when dropped.
pub struct Upstream {
    pub port: u16,
    pub answers: Arc<Mutex<VecDeque<(Response, Pairs)>>>,
    pub received: Arc<Mutex<Vec<Request>>>,
    stop: Arc<AtomicBool>,
}

impl Upstream {
    pub fn start() -> io::Result<Upstream> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let up = Upstream {
            port,
            answers: Arc::default(),
            received: Arc::default(),
            stop: Arc::default(),
        };
        let (answers, received, stop) = (up.answers.clone(), up.received.clone(), up.stop.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (answers, received) = (answers.clone(), received.clone());
                std::thread::spawn(move || serve(conn, &answers, &received));
            }
        });
        Ok(up)
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn serve(
    conn: TcpStream,
    answers: &Mutex<VecDeque<(Response, Pairs)>>,
    received: &Mutex<Vec<Request>>,
) {
    let Ok(write) = conn.try_clone() else { return };
    let (mut reader, mut writer) = (BufReader::new(conn), write);
    while let Ok(Some(req)) = read_request(&mut reader) {
        if let Ok(mut r) = received.lock() {
            r.push(req);
        }
        let (resp, trailers) = answers
            .lock()
            .ok()
            .and_then(|mut a| a.pop_front())
            .unwrap_or_else(|| (Response::new(599), Pairs::new()));
        // Framed like echo-upstream's responses (a content-length) unless there are trailers.
        let first = format!("HTTP/1.1 {} Status", resp.status);
        let bytes = if trailers.is_empty() {
            let length = format!("content-length: {}", resp.body.len());
            let mut b = head(&first, &resp.headers, Some(length));
            b.extend_from_slice(&resp.body);
            b
        } else {
            let mut b = head(
                &first,
                &resp.headers,
                Some("transfer-encoding: chunked".into()),
            );
            b.extend(chunked_body(&resp.body, &trailers));
            b
        };
        if writer.write_all(&bytes).is_err() {
            return;
        }
    }
}
