//! Shared by the e2e tests: the echo upstream and reading what it saw.
#![allow(dead_code)]

use echo_upstream::{handlers, Response, Server};
use std::sync::Arc;

/// The echo upstream on a free loopback port.
pub fn echo_upstream() -> Server {
    Server::start("127.0.0.1:0", Arc::new(handlers::echo)).expect("start the echo upstream")
}

/// What the echo upstream received, from its JSON answer.
pub struct Echoed {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
}

impl Echoed {
    pub fn from(response: &Response) -> Echoed {
        let v: serde_json::Value = serde_json::from_slice(&response.body)
            .unwrap_or_else(|e| panic!("not an echo answer ({e}): {}", response.body_text()));
        let headers = v["headers"]
            .as_array()
            .expect("headers")
            .iter()
            .map(|h| {
                let (n, v) = h
                    .as_str()
                    .expect("header")
                    .split_once(": ")
                    .expect("name: value");
                (n.to_string(), v.to_string())
            })
            .collect();
        Echoed {
            method: v["method"].as_str().expect("method").to_string(),
            path: v["path"].as_str().expect("path").to_string(),
            headers,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn header_all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}
