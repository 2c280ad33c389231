//! The shared secret check: no secret may appear in any captured log line, in any test.
//!
//! A secret is searched for as it was configured or sent and in the encodings a filter could
//! plausibly log it in: lower/upper case, standard base64 (Basic credentials), percent-encoded,
//! and JSON-escaped. Filters' own tests can call [`assert_no_secrets`] on `plugin.logs()`.

use harness::LogEntry;

/// Every form of `secret` the check looks for (secrets shorter than 6 bytes are refused:
/// they would match innocent text).
pub fn forms(secret: &str) -> Vec<String> {
    assert!(
        secret.len() >= 6,
        "secret {secret:?} is too short to search for reliably"
    );
    let mut out = vec![
        secret.to_string(),
        secret.to_ascii_lowercase(),
        secret.to_ascii_uppercase(),
        base64(secret.as_bytes()),
        percent(secret),
        serde_json::Value::from(secret)
            .to_string()
            .trim_matches('"')
            .to_string(),
    ];
    out.sort();
    out.dedup();
    out
}

/// The first log line that contains a form of one of `secrets`, as
/// `(line index, secret, line)`.
pub fn find_secret<'a>(
    logs: &'a [LogEntry],
    secrets: &[&'a str],
) -> Option<(usize, &'a str, &'a str)> {
    let forms: Vec<(&str, Vec<String>)> = secrets.iter().map(|s| (*s, forms(s))).collect();
    for (i, line) in logs.iter().enumerate() {
        for (secret, fs) in &forms {
            if fs.iter().any(|f| line.message.contains(f.as_str())) {
                return Some((i, secret, line.message.as_str()));
            }
        }
    }
    None
}

/// Panics with the offending line if any log line contains a secret.
pub fn assert_no_secrets(logs: &[LogEntry], secrets: &[&str]) {
    if let Some((i, secret, line)) = find_secret(logs, secrets) {
        panic!("secret {secret:?} appears in log line {i}: {line}");
    }
}

/// Standard base64 with padding.
pub fn base64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18, 12, 6, 0].iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(A[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn percent(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use harness::Level;

    fn line(m: &str) -> LogEntry {
        LogEntry {
            level: Level::Info,
            message: m.to_string(),
        }
    }

    #[test]
    fn base64_matches_the_rfc_vectors() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64(b"alice:wonderland"), "YWxpY2U6d29uZGVybGFuZA==");
    }

    #[test]
    fn finds_a_secret_in_any_form() {
        let logs = [line("ok"), line("header x-api-key: AK_LIVE_123456 seen")];
        assert_eq!(
            find_secret(&logs, &["ak_live_123456"]).map(|(i, s, _)| (i, s)),
            Some((1, "ak_live_123456"))
        );
        let logs = [line("authorization: Basic YWxpY2U6d29uZGVybGFuZA==")];
        assert!(find_secret(&logs, &["alice:wonderland"]).is_some());
        let logs = [line("q=p%40ss%2Fword")];
        assert!(find_secret(&logs, &["p@ss/word"]).is_some());
        let logs = [line("{\"v\":\"se\\\"cret!\"}")];
        assert!(find_secret(&logs, &["se\"cret!"]).is_some());
        assert!(find_secret(&[line("[REDACTED]")], &["hunter22"]).is_none());
    }

    #[test]
    #[should_panic(expected = "appears in log line 0")]
    fn the_assertion_fails_on_a_leak() {
        assert_no_secrets(&[line("token=hunter22")], &["hunter22"]);
    }
}
