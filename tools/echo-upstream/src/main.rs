//! `echo-upstream`: the loopback services and client used by `scripts/deploy.sh --target envoy`.
//!
//!   echo-upstream serve [--listen ADDR] [--port-file FILE]
//!   echo-upstream auth --token TOKEN=USER... [--listen ADDR] [--port-file FILE]
//!   echo-upstream request URL [-X METHOD] [-H 'name: value']... [-d BODY] [-s]
#![cfg_attr(target_arch = "wasm32", allow(unused))]

#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match cli::run(&args) {
        Ok(()) => {}
        Err(cli::Error::Usage(message)) => {
            eprintln!("echo-upstream: {message}\n{}", cli::USAGE);
            std::process::exit(2);
        }
        Err(cli::Error::Failed(message)) => {
            eprintln!("echo-upstream: {message}");
            std::process::exit(1);
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod cli {
    use echo_upstream::{client, handlers, Server};
    use std::collections::BTreeMap;
    use std::net::{SocketAddr, ToSocketAddrs};
    use std::sync::Arc;

    pub const USAGE: &str = "usage:
  echo-upstream serve [--listen ADDR] [--port-file FILE]
  echo-upstream auth --token TOKEN=USER... [--listen ADDR] [--port-file FILE]
  echo-upstream request URL [-X METHOD] [-H 'name: value']... [-d BODY] [-s]
    prints the status line, headers and body (-s: the body only)";

    pub enum Error {
        Usage(String),
        Failed(String),
    }

    pub fn run(args: &[String]) -> Result<(), Error> {
        match args.first().map(String::as_str) {
            Some("serve") => serve(&args[1..], None),
            Some("auth") => serve(&args[1..], Some(BTreeMap::new())),
            Some("request") => request(&args[1..]),
            Some("-h" | "--help") => {
                println!("{USAGE}");
                Ok(())
            }
            Some(other) => Err(Error::Usage(format!("unknown command '{other}'"))),
            None => Err(Error::Usage("missing command".into())),
        }
    }

    fn value<'a>(args: &'a [String], i: usize, flag: &str) -> Result<&'a str, Error> {
        args.get(i + 1)
            .map(String::as_str)
            .ok_or_else(|| Error::Usage(format!("{flag} needs a value")))
    }

    /// Serves echo (no token map) or auth until killed.
    fn serve(args: &[String], mut tokens: Option<BTreeMap<String, String>>) -> Result<(), Error> {
        let mut listen = "127.0.0.1:0".to_string();
        let mut port_file = None;
        let mut i = 0;
        while i < args.len() {
            match (args[i].as_str(), tokens.as_mut()) {
                ("--listen", _) => listen = value(args, i, "--listen")?.to_string(),
                ("--port-file", _) => port_file = Some(value(args, i, "--port-file")?.to_string()),
                ("--token", Some(map)) => {
                    let spec = value(args, i, "--token")?;
                    let (token, user) = spec.split_once('=').ok_or_else(|| {
                        Error::Usage(format!("--token expects TOKEN=USER, got '{spec}'"))
                    })?;
                    map.insert(token.to_string(), user.to_string());
                }
                (other, _) => return Err(Error::Usage(format!("unknown argument '{other}'"))),
            }
            i += 2;
        }
        let handler: echo_upstream::Handler = match tokens {
            None => Arc::new(handlers::echo),
            Some(map) if map.is_empty() => {
                return Err(Error::Usage("auth needs at least one --token".into()))
            }
            Some(map) => Arc::new(move |req| handlers::auth(&map, req)),
        };
        let server = Server::start(&listen, handler)
            .map_err(|e| Error::Failed(format!("cannot listen on {listen}: {e}")))?;
        eprintln!("echo-upstream: listening on {}", server.addr());
        if let Some(path) = port_file {
            // Written then renamed, so a reader never sees a partial number.
            let tmp = format!("{path}.tmp");
            std::fs::write(&tmp, format!("{}\n", server.port()))
                .and_then(|()| std::fs::rename(&tmp, &path))
                .map_err(|e| Error::Failed(format!("cannot write {path}: {e}")))?;
        }
        loop {
            std::thread::park();
        }
    }

    fn request(args: &[String]) -> Result<(), Error> {
        let mut url = None;
        let mut method = "GET".to_string();
        let mut headers: Vec<(String, String)> = Vec::new();
        let mut body = Vec::new();
        let mut body_only = false;
        let mut i = 0;
        while i < args.len() {
            match args[i].as_str() {
                "-s" => {
                    body_only = true;
                    i += 1;
                    continue;
                }
                "-X" => method = value(args, i, "-X")?.to_string(),
                "-H" => {
                    let h = value(args, i, "-H")?;
                    let (n, v) = h.split_once(':').ok_or_else(|| {
                        Error::Usage(format!("-H expects 'name: value', got '{h}'"))
                    })?;
                    headers.push((n.trim().to_string(), v.trim().to_string()));
                }
                "-d" => body = value(args, i, "-d")?.as_bytes().to_vec(),
                other if url.is_none() && !other.starts_with('-') => {
                    url = Some(other.to_string());
                    i += 1;
                    continue;
                }
                other => return Err(Error::Usage(format!("unknown argument '{other}'"))),
            }
            i += 2;
        }
        let url = url.ok_or_else(|| Error::Usage("request needs a URL".into()))?;
        let (host, path) = split_url(&url)?;
        let addr: SocketAddr = host
            .to_socket_addrs()
            .ok()
            .and_then(|mut a| a.next())
            .ok_or_else(|| Error::Usage(format!("cannot resolve '{host}'")))?;
        if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("host")) {
            headers.insert(0, ("host".into(), host.clone()));
        }
        let header_refs: Vec<(&str, &str)> = headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let req = client::request(&method, &path, &header_refs, &body);
        let resp = client::send_once(addr, &req)
            .map_err(|e| Error::Failed(format!("request to {url} failed: {e}")))?;
        if !body_only {
            println!("HTTP/1.1 {}", resp.status);
            for (n, v) in &resp.headers {
                println!("{n}: {v}");
            }
            println!();
        }
        print!("{}", resp.body_text());
        if !resp.body.ends_with(b"\n") && !resp.body.is_empty() {
            println!();
        }
        Ok(())
    }

    /// `http://host:port/path` → ("host:port", "/path").
    fn split_url(url: &str) -> Result<(String, String), Error> {
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| Error::Usage(format!("only http:// URLs are supported, got '{url}'")))?;
        let (host, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let host = if host.contains(':') {
            host.to_string()
        } else {
            format!("{host}:80")
        };
        Ok((host, path.to_string()))
    }
}
