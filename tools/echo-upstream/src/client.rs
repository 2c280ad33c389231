//! A keep-alive HTTP/1.1 client for loopback tests and demonstrations.

use crate::http::{self, Request, Response};
use std::io::{self, BufReader, BufWriter};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

pub struct Client {
    reader: BufReader<TcpStream>,
    writer: BufWriter<TcpStream>,
}

impl Client {
    pub fn connect(addr: SocketAddr) -> io::Result<Client> {
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        Ok(Client {
            reader: BufReader::new(stream.try_clone()?),
            writer: BufWriter::new(stream),
        })
    }

    /// Sends one request on this connection and reads its response.
    pub fn send(&mut self, request: &Request) -> io::Result<Response> {
        http::write_request(&mut self.writer, request)?;
        http::read_response(&mut self.reader, &request.method)
    }
}

/// Builds a request; `host` is added when the headers have none.
pub fn request(method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Request {
    let mut headers: Vec<(String, String)> = headers
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("host")) {
        headers.insert(0, ("host".to_string(), "localhost".to_string()));
    }
    Request {
        method: method.to_string(),
        path: path.to_string(),
        headers,
        body: body.to_vec(),
        trailers: Vec::new(),
    }
}

/// One request on a fresh connection.
pub fn send_once(addr: SocketAddr, request: &Request) -> io::Result<Response> {
    Client::connect(addr)?.send(request)
}
