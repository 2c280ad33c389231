//! Protobuf wire format: the few primitives `google.protobuf.Struct` needs (varints, tags,
//! length-delimited fields, fixed64), reading without ever panicking on hostile input.

use std::fmt;

/// Wire types (protobuf encoding spec). Groups (3, 4) are deprecated and not accepted.
pub const VARINT: u8 = 0;
pub const FIXED64: u8 = 1;
pub const LEN: u8 = 2;
pub const FIXED32: u8 = 5;

/// Why a protobuf message could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// The input ends inside a field.
    Truncated,
    /// A varint longer than 10 bytes or larger than 64 bits.
    VarintOverflow,
    /// Field number 0 or above 2^29 - 1.
    InvalidFieldNumber(u64),
    /// Wire type 3, 4 (groups), 6 or 7.
    InvalidWireType(u8),
    /// A `string` field that is not UTF-8 (proto3 requires it).
    InvalidUtf8,
    /// Structs or lists nested deeper than the configured limit.
    TooDeep(usize),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Truncated => write!(f, "truncated protobuf"),
            DecodeError::VarintOverflow => write!(f, "varint overflow"),
            DecodeError::InvalidFieldNumber(n) => write!(f, "invalid field number {n}"),
            DecodeError::InvalidWireType(t) => write!(f, "invalid wire type {t}"),
            DecodeError::InvalidUtf8 => write!(f, "string field is not UTF-8"),
            DecodeError::TooDeep(limit) => write!(f, "nesting deeper than {limit} levels"),
        }
    }
}

/// A cursor over an encoded message.
pub struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    pub fn varint(&mut self) -> Result<u64, DecodeError> {
        let mut value: u64 = 0;
        for i in 0..10 {
            let (&byte, rest) = self.buf.split_first().ok_or(DecodeError::Truncated)?;
            self.buf = rest;
            let bits = u64::from(byte & 0x7f);
            // The 10th byte may only carry the single remaining bit.
            if i == 9 && bits > 1 {
                return Err(DecodeError::VarintOverflow);
            }
            value |= bits << (7 * i);
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(DecodeError::VarintOverflow)
    }

    /// Reads a field key: (field number, wire type).
    pub fn tag(&mut self) -> Result<(u32, u8), DecodeError> {
        let key = self.varint()?;
        let wire_type = (key & 7) as u8;
        let field = key >> 3;
        if field == 0 || field > (1 << 29) - 1 {
            return Err(DecodeError::InvalidFieldNumber(field));
        }
        if !matches!(wire_type, VARINT | FIXED64 | LEN | FIXED32) {
            return Err(DecodeError::InvalidWireType(wire_type));
        }
        Ok((field as u32, wire_type))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if n > self.buf.len() {
            return Err(DecodeError::Truncated);
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }

    /// The payload of a length-delimited field.
    pub fn bytes(&mut self) -> Result<&'a [u8], DecodeError> {
        let len = self.varint()?;
        let len = usize::try_from(len).map_err(|_| DecodeError::Truncated)?;
        self.take(len)
    }

    /// A `string` field, borrowed from the message.
    pub fn str(&mut self) -> Result<&'a str, DecodeError> {
        let bytes = self.bytes()?;
        std::str::from_utf8(bytes).map_err(|_| DecodeError::InvalidUtf8)
    }

    pub fn string(&mut self) -> Result<String, DecodeError> {
        self.str().map(str::to_owned)
    }

    pub fn fixed64(&mut self) -> Result<u64, DecodeError> {
        let bytes = self.take(8)?;
        let mut arr = [0u8; 8];
        arr.copy_from_slice(bytes);
        Ok(u64::from_le_bytes(arr))
    }

    /// Skips a field's value (unknown fields are legal and ignored, as protobuf parsers do).
    pub fn skip(&mut self, wire_type: u8) -> Result<(), DecodeError> {
        match wire_type {
            VARINT => self.varint().map(drop),
            FIXED64 => self.take(8).map(drop),
            LEN => self.bytes().map(drop),
            FIXED32 => self.take(4).map(drop),
            other => Err(DecodeError::InvalidWireType(other)),
        }
    }
}

pub fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

pub fn put_tag(out: &mut Vec<u8>, field: u32, wire_type: u8) {
    put_varint(out, (u64::from(field) << 3) | u64::from(wire_type));
}

/// A length-delimited field: tag, length, payload.
pub fn put_len(out: &mut Vec<u8>, field: u32, payload: &[u8]) {
    put_tag(out, field, LEN);
    put_varint(out, payload.len() as u64);
    out.extend_from_slice(payload);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn varint_bytes(v: u64) -> Vec<u8> {
        let mut out = Vec::new();
        put_varint(&mut out, v);
        out
    }

    #[test]
    fn varints_encode_as_the_spec_examples() {
        assert_eq!(varint_bytes(0), [0x00]);
        assert_eq!(varint_bytes(1), [0x01]);
        assert_eq!(varint_bytes(127), [0x7f]);
        assert_eq!(varint_bytes(128), [0x80, 0x01]);
        assert_eq!(varint_bytes(150), [0x96, 0x01]);
        assert_eq!(varint_bytes(300), [0xac, 0x02]);
        assert_eq!(
            varint_bytes(u64::MAX),
            [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]
        );
    }

    #[test]
    fn varints_round_trip_and_reject_overflow() {
        for v in [0, 1, 127, 128, 300, 1 << 35, u64::MAX] {
            assert_eq!(Reader::new(&varint_bytes(v)).varint(), Ok(v));
        }
        let eleven = [0xff; 11];
        assert_eq!(
            Reader::new(&eleven).varint(),
            Err(DecodeError::VarintOverflow)
        );
        let too_big = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02];
        assert_eq!(
            Reader::new(&too_big).varint(),
            Err(DecodeError::VarintOverflow)
        );
        assert_eq!(Reader::new(&[0x80]).varint(), Err(DecodeError::Truncated));
        assert_eq!(Reader::new(&[]).varint(), Err(DecodeError::Truncated));
    }

    #[test]
    fn tags_reject_field_zero_and_groups() {
        assert_eq!(Reader::new(&[0x0a]).tag(), Ok((1, LEN)));
        assert_eq!(Reader::new(&[0x11]).tag(), Ok((2, FIXED64)));
        assert_eq!(
            Reader::new(&[0x02]).tag(),
            Err(DecodeError::InvalidFieldNumber(0))
        );
        assert_eq!(
            Reader::new(&[0x0b]).tag(),
            Err(DecodeError::InvalidWireType(3))
        );
        assert_eq!(
            Reader::new(&[0x0e]).tag(),
            Err(DecodeError::InvalidWireType(6))
        );
    }

    #[test]
    fn length_delimited_bounds_are_checked() {
        assert_eq!(Reader::new(&[0x02, b'h', b'i']).bytes(), Ok(&b"hi"[..]));
        assert_eq!(
            Reader::new(&[0x05, b'h', b'i']).bytes(),
            Err(DecodeError::Truncated)
        );
        // A length near u64::MAX must not overflow anything.
        let huge = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
        assert_eq!(Reader::new(&huge).bytes(), Err(DecodeError::Truncated));
        assert_eq!(
            Reader::new(&[0x02, 0xc3, 0x28]).string(),
            Err(DecodeError::InvalidUtf8)
        );
    }

    #[test]
    fn skips_every_wire_type() {
        let mut r = Reader::new(&[0x96, 0x01, 1, 2, 3, 4, 5, 6, 7, 8, 0x01, b'x', 9, 9, 9, 9]);
        r.skip(VARINT).unwrap();
        r.skip(FIXED64).unwrap();
        r.skip(LEN).unwrap();
        r.skip(FIXED32).unwrap();
        assert!(r.is_empty());
        assert_eq!(
            Reader::new(&[1, 2, 3]).skip(FIXED32),
            Err(DecodeError::Truncated)
        );
    }
}
