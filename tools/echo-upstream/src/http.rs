//! Just enough HTTP/1.1 to talk to Envoy on loopback: messages with ordered (possibly
//! repeated) headers, Content-Length and chunked bodies, keep-alive.

use std::io::{self, BufRead, Read, Write};

/// Largest head (start line + headers) or body accepted, so a broken peer cannot exhaust memory.
const MAX_HEAD: usize = 1 << 20;
const MAX_BODY: usize = 64 << 20;

/// A request as received by a server (header names lower-cased, order kept).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub trailers: Vec<(String, String)>,
}

/// A response, as sent by a server or received by the client.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        first(&self.headers, name)
    }

    pub fn header_all(&self, name: &str) -> Vec<&str> {
        all(&self.headers, name)
    }
}

impl Response {
    pub fn new(status: u16) -> Self {
        Response {
            status,
            ..Response::default()
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        first(&self.headers, name)
    }

    pub fn get_all(&self, name: &str) -> Vec<&str> {
        all(&self.headers, name)
    }

    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

fn first<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn all<'a>(headers: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .collect()
}

fn invalid(message: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.into())
}

/// Reads one CRLF (or LF) terminated line without the terminator; `None` at a clean EOF.
fn read_line(reader: &mut impl BufRead, budget: &mut usize) -> io::Result<Option<String>> {
    let mut line = Vec::new();
    let n = reader
        .by_ref()
        .take(*budget as u64 + 1)
        .read_until(b'\n', &mut line)?;
    if n == 0 {
        return Ok(None);
    }
    if n > *budget {
        return Err(invalid("message head too large"));
    }
    *budget -= n;
    if line.last() != Some(&b'\n') {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "connection closed mid-line",
        ));
    }
    while matches!(line.last(), Some(b'\n' | b'\r')) {
        line.pop();
    }
    String::from_utf8(line)
        .map(Some)
        .map_err(|_| invalid("non UTF-8 bytes in the message head"))
}

fn read_headers(
    reader: &mut impl BufRead,
    budget: &mut usize,
) -> io::Result<Vec<(String, String)>> {
    let mut headers = Vec::new();
    loop {
        let line = read_line(reader, budget)?
            .ok_or_else(|| invalid("connection closed inside the headers"))?;
        if line.is_empty() {
            return Ok(headers);
        }
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| invalid(format!("malformed header line {line:?}")))?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
}

fn is_chunked(headers: &[(String, String)]) -> bool {
    all(headers, "transfer-encoding")
        .iter()
        .any(|v| v.to_ascii_lowercase().contains("chunked"))
}

fn content_length(headers: &[(String, String)]) -> io::Result<Option<usize>> {
    match first(headers, "content-length") {
        None => Ok(None),
        Some(v) => v
            .parse::<usize>()
            .map(Some)
            .map_err(|_| invalid(format!("bad content-length {v:?}"))),
    }
}

pub type Headers = Vec<(String, String)>;

/// Reads a chunked body; returns the body and the trailers.
fn read_chunked(reader: &mut impl BufRead) -> io::Result<(Vec<u8>, Headers)> {
    let mut body = Vec::new();
    let mut budget = MAX_HEAD;
    loop {
        let line = read_line(reader, &mut budget)?
            .ok_or_else(|| invalid("connection closed inside a chunked body"))?;
        let size_text = line.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| invalid(format!("bad chunk size {line:?}")))?;
        if size == 0 {
            let trailers = read_headers(reader, &mut budget)?;
            return Ok((body, trailers));
        }
        if body.len() + size > MAX_BODY {
            return Err(invalid("body too large"));
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..])?;
        let mut crlf = [0u8; 2];
        reader.read_exact(&mut crlf)?;
    }
}

fn read_exact_body(reader: &mut impl BufRead, len: usize) -> io::Result<Vec<u8>> {
    if len > MAX_BODY {
        return Err(invalid("body too large"));
    }
    let mut body = vec![0; len];
    reader.read_exact(&mut body)?;
    Ok(body)
}

/// Reads one request; `None` when the peer closed the connection between requests.
pub fn read_request(reader: &mut impl BufRead) -> io::Result<Option<Request>> {
    let mut budget = MAX_HEAD;
    let line = match read_line(reader, &mut budget)? {
        None => return Ok(None),
        Some(line) => line,
    };
    let mut parts = line.split(' ');
    let (method, path) = match (parts.next(), parts.next(), parts.next()) {
        (Some(m), Some(p), Some(v)) if v.starts_with("HTTP/1.") => (m.to_string(), p.to_string()),
        _ => return Err(invalid(format!("malformed request line {line:?}"))),
    };
    let headers = read_headers(reader, &mut budget)?;
    let (body, trailers) = if is_chunked(&headers) {
        read_chunked(reader)?
    } else {
        let len = content_length(&headers)?.unwrap_or(0);
        (read_exact_body(reader, len)?, Vec::new())
    };
    Ok(Some(Request {
        method,
        path,
        headers,
        body,
        trailers,
    }))
}

/// Reads one response to a request with `method`.
pub fn read_response(reader: &mut impl BufRead, method: &str) -> io::Result<Response> {
    let mut budget = MAX_HEAD;
    let line = read_line(reader, &mut budget)?.ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "connection closed before the response",
        )
    })?;
    let status = line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| invalid(format!("malformed status line {line:?}")))?;
    let headers = read_headers(reader, &mut budget)?;
    let no_body = method.eq_ignore_ascii_case("HEAD")
        || status == 204
        || status == 304
        || (100..200).contains(&status);
    let body = if no_body {
        Vec::new()
    } else if is_chunked(&headers) {
        read_chunked(reader)?.0
    } else if let Some(len) = content_length(&headers)? {
        read_exact_body(reader, len)?
    } else {
        let mut body = Vec::new();
        reader.take(MAX_BODY as u64).read_to_end(&mut body)?;
        body
    };
    Ok(Response {
        status,
        headers,
        body,
    })
}

/// Whether the connection may carry another message after this one.
pub fn keep_alive(headers: &[(String, String)]) -> bool {
    !all(headers, "connection")
        .iter()
        .any(|v| v.eq_ignore_ascii_case("close"))
}

/// Writes a response with a Content-Length (any given content-length/transfer-encoding is
/// replaced, so handlers cannot produce a malformed message).
pub fn write_response(writer: &mut impl Write, response: &Response) -> io::Result<()> {
    let mut out = format!(
        "HTTP/1.1 {} {}\r\n",
        response.status,
        reason(response.status)
    );
    for (name, value) in &response.headers {
        if name.eq_ignore_ascii_case("content-length")
            || name.eq_ignore_ascii_case("transfer-encoding")
        {
            continue;
        }
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str(&format!("content-length: {}\r\n\r\n", response.body.len()));
    writer.write_all(out.as_bytes())?;
    writer.write_all(&response.body)?;
    writer.flush()
}

/// Writes a request; a body gets a Content-Length.
pub fn write_request(writer: &mut impl Write, request: &Request) -> io::Result<()> {
    let mut out = format!("{} {} HTTP/1.1\r\n", request.method, request.path);
    for (name, value) in &request.headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    let has_length = first(&request.headers, "content-length").is_some();
    if !request.body.is_empty() && !has_length {
        out.push_str(&format!("content-length: {}\r\n", request.body.len()));
    }
    out.push_str("\r\n");
    writer.write_all(out.as_bytes())?;
    writer.write_all(&request.body)?;
    writer.flush()
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufReader;

    #[test]
    fn reads_a_request_with_repeated_headers_and_a_body() {
        let raw = b"POST /a?b=1 HTTP/1.1\r\nHost: x\r\nX-A: 1\r\nx-a: 2\r\ncontent-length: 3\r\n\r\nabcGET";
        let mut reader = BufReader::new(&raw[..]);
        let req = read_request(&mut reader).unwrap().unwrap();
        assert_eq!(req.method, "POST");
        assert_eq!(req.path, "/a?b=1");
        assert_eq!(req.header_all("x-a"), vec!["1", "2"]);
        assert_eq!(req.body, b"abc");
    }

    #[test]
    fn reads_chunked_bodies_and_trailers() {
        let raw = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\nx-t: 1\r\n\r\n";
        let mut reader = BufReader::new(&raw[..]);
        let resp = read_response(&mut reader, "GET").unwrap();
        assert_eq!(resp.status, 200);
        assert_eq!(resp.body, b"abcde");
        let raw =
            b"PUT / HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n1\r\nz\r\n0\r\nx-t: 1\r\n\r\n";
        let req = read_request(&mut BufReader::new(&raw[..]))
            .unwrap()
            .unwrap();
        assert_eq!(req.body, b"z");
        assert_eq!(req.trailers, vec![("x-t".to_string(), "1".to_string())]);
    }

    #[test]
    fn clean_eof_between_requests_is_none_and_garbage_is_an_error() {
        assert!(read_request(&mut BufReader::new(&b""[..]))
            .unwrap()
            .is_none());
        let err = read_request(&mut BufReader::new(&b"nonsense\r\n\r\n"[..])).unwrap_err();
        assert!(err.to_string().contains("malformed request line"), "{err}");
    }

    #[test]
    fn writes_a_response_with_its_length() {
        let mut out = Vec::new();
        let resp = Response::new(201)
            .header("x-a", "1")
            .header("content-length", "99")
            .body("hi");
        write_response(&mut out, &resp).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "HTTP/1.1 201 Created\r\nx-a: 1\r\ncontent-length: 2\r\n\r\nhi"
        );
    }
}
