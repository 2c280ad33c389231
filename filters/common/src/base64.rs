//! Base64 as Istio peers and HTTP clients write it: standard alphabet, encoded with padding,
//! decoded with or without it (Istio's decoders accept both) and with non-zero trailing bits.

use base64::alphabet::STANDARD;
use base64::engine::general_purpose::GeneralPurpose;
use base64::engine::{DecodePaddingMode, GeneralPurposeConfig};
pub use base64::{DecodeError, Engine};

/// Encodes padded, decodes leniently.
pub const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Padded standard base64.
pub fn encode(input: impl AsRef<[u8]>) -> String {
    LENIENT.encode(input)
}

/// Standard base64, padded or not.
pub fn decode(input: impl AsRef<[u8]>) -> Result<Vec<u8>, DecodeError> {
    LENIENT.decode(input)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4648_vectors_padded_and_unpadded() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
        ] {
            assert_eq!(encode(plain), encoded);
            assert_eq!(decode(encoded).unwrap(), plain.as_bytes());
            assert_eq!(
                decode(encoded.trim_end_matches('=')).unwrap(),
                plain.as_bytes()
            );
        }
        assert_eq!(decode("Zh").unwrap(), b"f");
    }

    #[test]
    fn rejects_what_no_encoder_produces() {
        for bad in ["Zm9vY!", "Zm-_", "Zm9vY", "Zg===", "Zm 9v"] {
            assert!(decode(bad).is_err(), "{bad}");
        }
    }
}
