//! The ABI's header-map wire format: u32 count; per pair u32 name length and u32 value length;
//! then each name and value, each followed by a NUL byte.

use crate::abi::{MAX_PAIRS, MAX_PAIRS_BYTES};
use crate::types::Headers;

pub fn serialize<K: AsRef<[u8]>, V: AsRef<[u8]>>(pairs: &[(K, V)]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&(pairs.len() as u32).to_le_bytes());
    for (k, v) in pairs {
        out.extend_from_slice(&(k.as_ref().len() as u32).to_le_bytes());
        out.extend_from_slice(&(v.as_ref().len() as u32).to_le_bytes());
    }
    for (k, v) in pairs {
        out.extend_from_slice(k.as_ref());
        out.push(0);
        out.extend_from_slice(v.as_ref());
        out.push(0);
    }
    out
}

/// Parses a serialized map; None when malformed or over Envoy's limits.
pub fn deserialize(data: &[u8]) -> Option<Headers> {
    if data.is_empty() {
        return Some(Vec::new());
    }
    if data.len() > MAX_PAIRS_BYTES {
        return None;
    }
    let u32_at = |i: usize| -> Option<usize> {
        let b = data.get(i..i + 4)?;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    };
    let n = u32_at(0)?;
    if n > MAX_PAIRS {
        return None;
    }
    let mut pos = 4 + n * 8;
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let kl = u32_at(4 + i * 8)?;
        let vl = u32_at(8 + i * 8)?;
        let k = data.get(pos..pos + kl)?;
        pos += kl + 1;
        let v = data.get(pos..pos + vl)?;
        pos += vl + 1;
        out.push((String::from_utf8_lossy(k).to_ascii_lowercase(), v.to_vec()));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_lower_cases() {
        let wire = serialize(&[("A", "1"), (":path", "/x")]);
        assert_eq!(wire.len(), 4 + 2 * 8 + 2 + 2 + 6 + 3);
        assert_eq!(
            deserialize(&wire),
            Some(vec![
                ("a".to_string(), b"1".to_vec()),
                (":path".to_string(), b"/x".to_vec())
            ])
        );
        assert_eq!(deserialize(&[]), Some(Vec::new()));
    }

    #[test]
    fn rejects_truncated_and_oversized_maps() {
        let wire = serialize(&[("a", "1")]);
        assert_eq!(deserialize(&wire[..wire.len() - 2]), None);
        let mut too_many = Vec::new();
        too_many.extend_from_slice(&((MAX_PAIRS + 1) as u32).to_le_bytes());
        assert_eq!(deserialize(&too_many), None);
    }
}
