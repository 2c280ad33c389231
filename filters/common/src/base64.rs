//! Standard-alphabet base64 (RFC 4648 §4): padded encoding; decoding with or without padding
//! (Istio's peer metadata, HTTP Basic credentials, htpasswd hashes).
//! Hand-rolled because the general-purpose `base64` crate costs ~6 KB of a module's size
//! budget for two functions; the tests pin it to RFC 4648's vectors.

use std::fmt;

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Why a value is not base64.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Base64Error {
    /// A byte outside the alphabet, at this offset.
    InvalidByte(usize, u8),
    /// A length that no encoding produces (one symbol left over).
    InvalidLength,
    /// Padding that is not at the end, or more than two `=`.
    InvalidPadding,
}

impl fmt::Display for Base64Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Base64Error::InvalidByte(at, b) => write!(f, "invalid byte 0x{b:02x} at offset {at}"),
            Base64Error::InvalidLength => write!(f, "invalid length"),
            Base64Error::InvalidPadding => write!(f, "invalid padding"),
        }
    }
}

/// Padded encoding.
pub fn encode(input: impl AsRef<[u8]>) -> String {
    let input = input.as_ref();
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b1 = chunk.get(1).copied().unwrap_or(0);
        let b2 = chunk.get(2).copied().unwrap_or(0);
        let n = (u32::from(chunk[0]) << 16) | (u32::from(b1) << 8) | u32::from(b2);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn symbol(at: usize, byte: u8) -> Result<u32, Base64Error> {
    let v = match byte {
        b'A'..=b'Z' => byte - b'A',
        b'a'..=b'z' => byte - b'a' + 26,
        b'0'..=b'9' => byte - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return Err(Base64Error::InvalidByte(at, byte)),
    };
    Ok(u32::from(v))
}

/// Decodes padded or unpadded input. Non-zero bits in the last symbol are tolerated.
pub fn decode(input: &[u8]) -> Result<Vec<u8>, Base64Error> {
    let data_len = input.iter().rposition(|&b| b != b'=').map_or(0, |p| p + 1);
    let padding = input.len() - data_len;
    if padding > 2 {
        return Err(Base64Error::InvalidPadding);
    }
    let data = &input[..data_len];
    if data.len() % 4 == 1 {
        return Err(Base64Error::InvalidLength);
    }
    if padding > 0 && (data.len() + padding) % 4 != 0 {
        return Err(Base64Error::InvalidPadding);
    }
    let mut out = Vec::with_capacity(data.len() / 4 * 3 + 2);
    for (c, chunk) in data.chunks(4).enumerate() {
        let mut n = 0u32;
        for (i, &byte) in chunk.iter().enumerate() {
            n |= symbol(c * 4 + i, byte)? << (18 - 6 * i);
        }
        let bytes = n.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 4648 §10 test vectors.
    const RFC: [(&str, &str); 7] = [
        ("", ""),
        ("f", "Zg=="),
        ("fo", "Zm8="),
        ("foo", "Zm9v"),
        ("foob", "Zm9vYg=="),
        ("fooba", "Zm9vYmE="),
        ("foobar", "Zm9vYmFy"),
    ];

    #[test]
    fn rfc_4648_vectors_padded_and_unpadded() {
        for (plain, encoded) in RFC {
            assert_eq!(encode(plain.as_bytes()), encoded);
            assert_eq!(decode(encoded.as_bytes()).unwrap(), plain.as_bytes());
            let unpadded = encoded.trim_end_matches('=');
            assert_eq!(decode(unpadded.as_bytes()).unwrap(), plain.as_bytes());
        }
    }

    #[test]
    fn every_byte_value_round_trips() {
        let all: Vec<u8> = (0..=255).collect();
        for len in 0..all.len() {
            let text = encode(&all[..len]);
            assert_eq!(decode(text.as_bytes()).unwrap(), &all[..len]);
        }
        assert_eq!(encode([0xfb, 0xff]), "+/8=");
    }

    #[test]
    fn rejects_what_no_encoder_produces() {
        assert_eq!(decode(b"Zm9vY!"), Err(Base64Error::InvalidByte(5, b'!')));
        assert_eq!(decode(b"Zm-_"), Err(Base64Error::InvalidByte(2, b'-')));
        assert_eq!(decode(b"Zm9vY"), Err(Base64Error::InvalidLength));
        assert_eq!(decode(b"Zg==="), Err(Base64Error::InvalidPadding));
        assert_eq!(decode(b"Zg="), Err(Base64Error::InvalidPadding));
        assert_eq!(decode(b"Zm9v="), Err(Base64Error::InvalidPadding));
        assert_eq!(decode(b"Zg==Zg=="), Err(Base64Error::InvalidByte(2, b'=')));
        assert_eq!(decode(b"Zm 9vY"), Err(Base64Error::InvalidByte(2, b' ')));
        assert_eq!(
            decode(b"Zm 9vY").unwrap_err().to_string(),
            "invalid byte 0x20 at offset 2"
        );
        assert_eq!(decode(b"="), Err(Base64Error::InvalidPadding));
    }

    #[test]
    fn tolerates_non_zero_trailing_bits() {
        // "Zh" carries the same byte as "Zg" plus stray low bits.
        assert_eq!(decode(b"Zh").unwrap(), b"f");
    }
}

#[cfg(test)]
mod option_style_tests {
    use super::encode;

    fn decode(input: &[u8]) -> Option<Vec<u8>> {
        super::decode(input).ok()
    }

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
