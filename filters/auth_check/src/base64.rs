//! Standard base64 decoding (RFC 4648 §4), padding optional. Written here because the
//! general-purpose `base64` crate costs a few KB of the module for one small function.

/// The 6-bit value of a base64 symbol.
fn sextet(byte: u8) -> Option<u32> {
    let v = match byte {
        b'A'..=b'Z' => byte - b'A',
        b'a'..=b'z' => byte - b'a' + 26,
        b'0'..=b'9' => byte - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return None,
    };
    Some(u32::from(v))
}

/// Decodes `input`; `None` for a byte outside the alphabet, misplaced or excess padding, or a
/// length no encoder produces.
pub fn decode(input: &[u8]) -> Option<Vec<u8>> {
    let data_len = input.iter().rposition(|&b| b != b'=').map_or(0, |p| p + 1);
    let (data, padding) = input.split_at(data_len);
    let complete = (data.len() + padding.len()) % 4 == 0;
    if data.len() % 4 == 1 || padding.len() > 2 || (!padding.is_empty() && !complete) {
        return None;
    }
    let mut out = Vec::with_capacity(data.len() / 4 * 3 + 2);
    for chunk in data.chunks(4) {
        let mut n = 0u32;
        for (i, &byte) in chunk.iter().enumerate() {
            n |= sextet(byte)? << (18 - 6 * i);
        }
        // 2, 3 or 4 symbols carry 1, 2 or 3 bytes.
        out.extend_from_slice(&n.to_be_bytes()[1..chunk.len()]);
    }
    Some(out)
}

/// Padded encoding, for tests.
#[cfg(test)]
pub fn encode(input: impl AsRef<[u8]>) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in input.as_ref().chunks(3) {
        let mut n = 0u32;
        for (i, &b) in chunk.iter().enumerate() {
            n |= u32::from(b) << (16 - 8 * i);
        }
        for i in 0..4 {
            out.push(if i <= chunk.len() {
                char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63])
            } else {
                '='
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{decode, encode};

    #[test]
    fn encode_round_trips() {
        assert_eq!(encode("foobar"), "Zm9vYmFy");
        assert_eq!(encode("fooba"), "Zm9vYmE=");
        assert_eq!(encode("foob"), "Zm9vYg==");
        for len in 0..40u8 {
            let data: Vec<u8> = (0..len).map(|i| i.wrapping_mul(37)).collect();
            assert_eq!(decode(encode(&data).as_bytes()).unwrap(), data);
        }
    }

    #[test]
    fn rfc4648_vectors_padded_and_unpadded() {
        let vectors: [(&str, &str); 7] = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, encoded) in vectors {
            assert_eq!(
                decode(encoded.as_bytes()).unwrap(),
                plain.as_bytes(),
                "{encoded}"
            );
            let unpadded = encoded.trim_end_matches('=');
            assert_eq!(
                decode(unpadded.as_bytes()).unwrap(),
                plain.as_bytes(),
                "{unpadded}"
            );
        }
        assert_eq!(decode(b"+/+/").unwrap(), [0xfb, 0xff, 0xbf]);
    }

    #[test]
    fn rejects_invalid_input() {
        for bad in [
            &b"Zm9v!"[..],
            b"Zm9vY",
            b"Zg===",
            b"Zg=",
            b"Z===",
            b"Zm=9v",
            b"Zm9v YmFy",
            b"-_-_",
            b"=",
            b"==",
            b"\xff\xfe",
        ] {
            assert_eq!(decode(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }
}
