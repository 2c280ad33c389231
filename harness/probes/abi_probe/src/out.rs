//! How the probe reports: one `proxy_log` line per callback and per host call, in a fixed format a
//! test can compare exactly, and the proxy-wasm pairs wire format (built by hand on purpose: the
//! probe must see the host's bytes as they are).

use crate::ffi;

pub const INFO: u32 = 2;
pub const ERROR: u32 = 4;

/// Writes one log line through `proxy_log` (its own status is not reported: it is the channel).
pub fn log(level: u32, message: &str) {
    // SAFETY: the pointer and length describe `message`, alive for the call.
    unsafe {
        ffi::proxy_log(level, message.as_ptr(), message.len());
    }
}

/// Quotes bytes as `"..."` with non-printable bytes, quotes and backslashes escaped (`\x00`, `\"`).
pub fn quote(bytes: &[u8]) -> String {
    format!("\"{}\"", bytes.escape_ascii())
}

/// A report line: `call <function> -> status <n>` followed by `<field> <value>` pairs.
pub struct Line(String);

impl Line {
    pub fn call(function: &str, status: u32) -> Self {
        Line(format!("call {function} -> status {status}"))
    }

    /// WASI functions answer an errno, not a proxy status.
    pub fn wasi(function: &str, errno: u32) -> Self {
        Line(format!("call {function} -> errno {errno}"))
    }

    pub fn int(mut self, name: &str, value: impl std::fmt::Display) -> Self {
        self.0.push_str(&format!(" {name} {value}"));
        self
    }

    /// A bare quoted item, for lists (`"A=1" "B=2"`).
    pub fn item(mut self, value: &[u8]) -> Self {
        self.0.push_str(&format!(" {}", quote(value)));
        self
    }

    pub fn bytes(mut self, name: &str, value: &[u8]) -> Self {
        self.0.push_str(&format!(" {name} {}", quote(value)));
        self
    }

    /// Appends the decoded pairs (`"k"="v" ...`), or the raw bytes when they are not a valid map.
    pub fn pairs(mut self, raw: &[u8]) -> Self {
        match decode_pairs(raw) {
            Some(pairs) => {
                self.0.push_str(&format!(" count {}", pairs.len()));
                for (name, value) in pairs {
                    self.0
                        .push_str(&format!(" {}={}", quote(name), quote(value)));
                }
            }
            None => self.0.push_str(&format!(" malformed {}", quote(raw))),
        }
        self
    }

    pub fn emit(self) {
        log(INFO, &self.0);
    }
}

/// Serializes pairs: u32 count, (u32 name len, u32 value len) per pair, then each name and value
/// followed by a NUL byte; all integers little-endian.
pub fn encode_pairs(pairs: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&(pairs.len() as u32).to_le_bytes());
    for (name, value) in pairs {
        out.extend_from_slice(&(name.len() as u32).to_le_bytes());
        out.extend_from_slice(&(value.len() as u32).to_le_bytes());
    }
    for (name, value) in pairs {
        out.extend_from_slice(name);
        out.push(0);
        out.extend_from_slice(value);
        out.push(0);
    }
    out
}

/// Strict decoder: every length must fit, every string must end in NUL, nothing may trail.
/// An empty buffer and a single NUL byte are the two spellings of the empty map.
pub fn decode_pairs(raw: &[u8]) -> Option<Vec<(&[u8], &[u8])>> {
    if raw.is_empty() || raw == [0] {
        return Some(Vec::new());
    }
    let u32_at = |at: usize| -> Option<usize> {
        let bytes = raw.get(at..at.checked_add(4)?)?;
        Some(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize)
    };
    let count = u32_at(0)?;
    let mut sizes = Vec::new();
    for i in 0..count {
        let at = 4 + i.checked_mul(8)?;
        sizes.push((u32_at(at)?, u32_at(at + 4)?));
    }
    let mut at = 4 + count.checked_mul(8)?;
    let mut take = |len: usize| -> Option<&[u8]> {
        let end = at.checked_add(len)?;
        let text = raw.get(at..end)?;
        if raw.get(end) != Some(&0) {
            return None;
        }
        at = end + 1;
        Some(text)
    };
    let mut pairs = Vec::new();
    for (name_len, value_len) in sizes {
        let name = take(name_len)?;
        let value = take(value_len)?;
        pairs.push((name, value));
    }
    (at == raw.len()).then_some(pairs)
}
