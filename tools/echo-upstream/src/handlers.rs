//! The two services the local Envoy setups put behind the filters: an echo upstream that
//! returns the request it received, and a token-checking authorization service.

use crate::http::{Request, Response};
use serde_json::json;
use std::collections::BTreeMap;

/// Request header that makes the echo upstream answer with another status (e.g. to show
/// how a filter treats 5xx responses).
pub const STATUS_HEADER: &str = "x-echo-status";

/// Answers 200 (or the status in `x-echo-status`) with a JSON body describing the request:
/// method, path, headers in order as `name: value` strings, body and trailers.
pub fn echo(request: &Request) -> Response {
    let status = request
        .header(STATUS_HEADER)
        .and_then(|s| s.parse::<u16>().ok())
        .filter(|s| (200..600).contains(s))
        .unwrap_or(200);
    let headers: Vec<String> = request
        .headers
        .iter()
        .map(|(n, v)| format!("{n}: {v}"))
        .collect();
    // Written by hand so the fields keep a reading order (serde_json sorts object keys).
    let mut text = format!(
        "{{\n  \"method\": {},\n  \"path\": {},\n  \"headers\": {},\n  \"body\": {}",
        json!(request.method),
        json!(request.path),
        pretty_list(&headers),
        json!(String::from_utf8_lossy(&request.body)),
    );
    if !request.trailers.is_empty() {
        let trailers: Vec<String> = request
            .trailers
            .iter()
            .map(|(n, v)| format!("{n}: {v}"))
            .collect();
        text.push_str(&format!(",\n  \"trailers\": {}", pretty_list(&trailers)));
    }
    text.push_str("\n}\n");
    Response::new(status)
        .header("content-type", "application/json")
        .header("x-echo-upstream", "1")
        .body(text)
}

fn pretty_list(items: &[String]) -> String {
    if items.is_empty() {
        return "[]".to_string();
    }
    let lines: Vec<String> = items.iter().map(|i| format!("    {}", json!(i))).collect();
    format!("[\n{}\n  ]", lines.join(",\n"))
}

/// An authorization service: `authorization: Bearer <token>` with a known token → 200 and
/// `x-user-id: <user>`; no credentials → 401; an unknown token → 403. Bodies are JSON.
pub fn auth(tokens: &BTreeMap<String, String>, request: &Request) -> Response {
    let json_reply = |status: u16, error: &str| {
        Response::new(status)
            .header("content-type", "application/json")
            .body(json!({ "error": error }).to_string())
    };
    let Some(credentials) = request.header("authorization") else {
        return json_reply(401, "missing credentials");
    };
    let token = credentials
        .strip_prefix("Bearer ")
        .or_else(|| credentials.strip_prefix("bearer "))
        .unwrap_or("");
    match tokens.get(token) {
        Some(user) => Response::new(200).header("x-user-id", user),
        None => json_reply(403, "unknown token"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(headers: &[(&str, &str)]) -> Request {
        Request {
            method: "GET".into(),
            path: "/x".into(),
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            ..Request::default()
        }
    }

    #[test]
    fn echo_returns_the_request_and_honours_the_status_header() {
        let resp = echo(&request(&[("host", "h"), ("x-echo-status", "503")]));
        assert_eq!(resp.status, 503);
        let body: serde_json::Value = serde_json::from_slice(&resp.body).unwrap();
        assert_eq!(body["path"], "/x");
        assert_eq!(body["headers"], json!(["host: h", "x-echo-status: 503"]));
    }

    #[test]
    fn auth_allows_known_tokens_only() {
        let tokens = BTreeMap::from([("t1".to_string(), "alice".to_string())]);
        let ok = auth(&tokens, &request(&[("authorization", "Bearer t1")]));
        assert_eq!((ok.status, ok.get("x-user-id")), (200, Some("alice")));
        assert_eq!(auth(&tokens, &request(&[])).status, 401);
        assert_eq!(
            auth(&tokens, &request(&[("authorization", "Bearer t2")])).status,
            403
        );
    }
}
