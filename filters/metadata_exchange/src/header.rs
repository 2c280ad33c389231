//! The `x-envoy-peer-metadata` value: base64 of a serialized Struct. Encoders pad; decoders
//! accept padded and unpadded input (Istio decodes without requiring padding).

use super::structpb::Struct;
use super::wire::DecodeError;
use filter_common::base64;
use std::fmt;

pub const METADATA: &str = "x-envoy-peer-metadata";
pub const METADATA_ID: &str = "x-envoy-peer-metadata-id";

/// Bounds on what a peer may send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted header value, in bytes (as received, before base64 decoding).
    pub max_header_size: usize,
    /// Deepest accepted nesting of structs and lists (the top-level struct is level 1).
    pub max_depth: usize,
}

/// Why a peer header was ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerError {
    TooLarge { size: usize, limit: usize },
    Base64(String),
    Protobuf(DecodeError),
}

impl fmt::Display for PeerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PeerError::TooLarge { size, limit } => {
                write!(
                    f,
                    "value of {size} bytes exceeds the limit of {limit} bytes"
                )
            }
            PeerError::Base64(e) => write!(f, "invalid base64: {e}"),
            PeerError::Protobuf(e) => write!(f, "invalid Struct: {e}"),
        }
    }
}

/// A peer's metadata as it sent it: the serialized Struct (what goes to filter state), checked
/// to decode. Its fields are parsed only when asked for ([`Peer::metadata`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Peer {
    pub bytes: Vec<u8>,
    max_depth: usize,
}

impl Peer {
    /// The Struct's fields.
    pub fn metadata(&self) -> Struct {
        // `decode` checked these bytes with the same limit: this cannot fail.
        Struct::decode(&self.bytes, self.max_depth).unwrap_or_default()
    }
}

/// Encodes a Struct as a header value (padded base64).
pub fn encode(metadata: &Struct) -> String {
    base64::encode(metadata.encode())
}

/// Decodes a header value, checking the size limit before doing any work.
pub fn decode(value: &[u8], limits: Limits) -> Result<Peer, PeerError> {
    if value.len() > limits.max_header_size {
        return Err(PeerError::TooLarge {
            size: value.len(),
            limit: limits.max_header_size,
        });
    }
    let bytes = base64::decode(value.trim_ascii()).map_err(|e| PeerError::Base64(e.to_string()))?;
    Struct::check(&bytes, limits.max_depth).map_err(PeerError::Protobuf)?;
    Ok(Peer {
        bytes,
        max_depth: limits.max_depth,
    })
}

/// Checks an id header against the size limit.
pub fn check_id(value: &[u8], limits: Limits) -> Result<(), PeerError> {
    if value.len() > limits.max_header_size {
        return Err(PeerError::TooLarge {
            size: value.len(),
            limit: limits.max_header_size,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::structpb::Value;
    use super::*;

    const LIMITS: Limits = Limits {
        max_header_size: 64,
        max_depth: 4,
    };

    fn sample() -> Struct {
        let mut s = Struct::new();
        s.insert("NAME", Value::String("a".into()));
        s
    }

    #[test]
    fn encodes_padded_base64() {
        // 0a 0b 0a 04 "NAME" 12 03 1a 01 "a": 13 bytes, so one padding character.
        let text = encode(&sample());
        assert_eq!(text, "CgsKBE5BTUUSAxoBYQ==");
        assert_eq!(
            decode(text.as_bytes(), LIMITS).unwrap().metadata(),
            sample()
        );
    }

    #[test]
    fn accepts_unpadded_and_surrounding_whitespace() {
        // Padding is optional, so a partial one (a lone `=`) is accepted too.
        for text in [
            "CgsKBE5BTUUSAxoBYQ",
            "CgsKBE5BTUUSAxoBYQ=",
            "CgsKBE5BTUUSAxoBYQ==",
            " CgsKBE5BTUUSAxoBYQ==\t",
        ] {
            let peer = decode(text.as_bytes(), LIMITS).unwrap();
            assert_eq!(peer.metadata(), sample(), "{text:?}");
            assert_eq!(peer.bytes, sample().encode());
        }
    }

    #[test]
    fn rejects_bad_base64() {
        for text in [
            "CgsKBE5BTUUSAxoBYQ===",
            "Cg!K",
            "CgsKBE5B TUUSAxoBYQ",
            "Cg-_",
        ] {
            let err = decode(text.as_bytes(), LIMITS).unwrap_err();
            assert!(matches!(err, PeerError::Base64(_)), "{text}: {err}");
            assert!(err.to_string().starts_with("invalid base64: "), "{err}");
        }
    }

    #[test]
    fn rejects_valid_base64_of_garbage() {
        // "/////w" is ff ff ff: a varint that never ends.
        let err = decode(b"/////w", LIMITS).unwrap_err();
        assert_eq!(err, PeerError::Protobuf(DecodeError::Truncated));
        assert_eq!(err.to_string(), "invalid Struct: truncated protobuf");
    }

    #[test]
    fn size_limit_is_checked_on_the_raw_value() {
        let big = "A".repeat(65);
        let err = decode(big.as_bytes(), LIMITS).unwrap_err();
        assert_eq!(
            err,
            PeerError::TooLarge {
                size: 65,
                limit: 64
            }
        );
        assert_eq!(
            err.to_string(),
            "value of 65 bytes exceeds the limit of 64 bytes"
        );
        // Exactly at the limit is fine ("AAAA" decodes to 00 00 00: field 0 -> protobuf error).
        let at_limit = "A".repeat(64);
        assert!(matches!(
            decode(at_limit.as_bytes(), LIMITS),
            Err(PeerError::Protobuf(_))
        ));
        assert_eq!(check_id(&[b'x'; 64], LIMITS), Ok(()));
        assert!(check_id(&[b'x'; 65], LIMITS).is_err());
    }
}
