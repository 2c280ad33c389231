//! A small JSON parser (RFC 8259) producing a tree whose nodes know where they are in the
//! document, so that configuration errors can point at the offending value.
//!
//! Written by hand rather than taken from `serde_json`: that crate's deserializer is
//! monomorphised for every config type and costs tens of KiB in each wasm module.
//!
//! Positions follow `serde_json`'s convention (which existing messages rely on): 1-based line
//! and column (in characters) of the *last* character of a scalar, of the opening bracket of
//! an array or object, and of the character where a syntax error was found.

use std::fmt;

/// Arrays and objects nested deeper than this are rejected (the parser recurses).
pub const MAX_DEPTH: usize = 64;

/// A place in the document: 1-based line, 1-based column in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pos {
    pub line: u32,
    pub column: u32,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {} column {}", self.line, self.column)
    }
}

/// A JSON value with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub pos: Pos,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    /// A non-negative integer that fits in u64.
    U64(u64),
    /// A negative integer that fits in i64.
    I64(i64),
    /// Any other number, with its text as written (error messages quote it without
    /// formatting the float, which would link core's large float printing code).
    F64(f64, Box<str>),
    String(String),
    /// Elements, and the position of the closing `]`.
    Array(Vec<Node>, Pos),
    /// Members in document order (duplicates kept), and the position of the closing `}`.
    Object(Vec<Member>, Pos),
}

/// An object member: key (with the position of its closing quote) and value.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub key: String,
    pub key_pos: Pos,
    pub value: Node,
}

/// A syntax error: what is wrong and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub message: &'static str,
    pub pos: Pos,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at {}", self.message, self.pos)
    }
}

/// Parses one JSON document; anything but whitespace after it is an error.
pub fn parse(bytes: &[u8]) -> Result<Node, SyntaxError> {
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            // Point at the first bad byte.
            let valid = bytes.get(..e.valid_up_to()).unwrap_or_default();
            let mut p = Parser::new(std::str::from_utf8(valid).unwrap_or_default());
            while p.bump().is_some() {}
            p.col += 1;
            return Err(p.error("invalid UTF-8"));
        }
    };
    let mut p = Parser::new(text);
    let node = p.value(0)?;
    p.skip_whitespace();
    if p.bump().is_some() {
        return Err(p.error("trailing characters"));
    }
    Ok(node)
}

struct Parser<'a> {
    src: &'a str,
    bytes: &'a [u8],
    at: usize,
    line: u32,
    /// Column of the last consumed character (0 before the first one on a line).
    col: u32,
}

impl<'a> Parser<'a> {
    fn new(src: &'a str) -> Self {
        Parser {
            src,
            bytes: src.as_bytes(),
            at: 0,
            line: 1,
            col: 0,
        }
    }

    fn pos(&self) -> Pos {
        Pos {
            line: self.line,
            column: self.col,
        }
    }

    fn error(&self, message: &'static str) -> SyntaxError {
        SyntaxError {
            message,
            pos: self.pos(),
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn bump(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.at += 1;
        if b == b'\n' {
            self.line += 1;
            self.col = 0;
        } else if b & 0xC0 != 0x80 {
            // Count characters, not UTF-8 continuation bytes.
            self.col += 1;
        }
        Some(b)
    }

    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.bump();
        }
    }

    /// Consumes the next byte, which must be `want`.
    fn expect(
        &mut self,
        want: u8,
        eof: &'static str,
        wrong: &'static str,
    ) -> Result<(), SyntaxError> {
        match self.bump() {
            Some(b) if b == want => Ok(()),
            Some(_) => Err(self.error(wrong)),
            None => Err(self.error(eof)),
        }
    }

    fn value(&mut self, depth: usize) -> Result<Node, SyntaxError> {
        self.skip_whitespace();
        let Some(b) = self.peek() else {
            return Err(self.error("EOF while parsing a value"));
        };
        let value = match b {
            b'{' => return self.object(depth + 1),
            b'[' => return self.array(depth + 1),
            b'"' => {
                self.bump();
                Value::String(self.string()?)
            }
            b't' => self.literal("true", Value::Bool(true))?,
            b'f' => self.literal("false", Value::Bool(false))?,
            b'n' => self.literal("null", Value::Null)?,
            b'-' | b'0'..=b'9' => self.number()?,
            _ => {
                self.bump();
                return Err(self.error("expected value"));
            }
        };
        Ok(Node {
            value,
            pos: self.pos(),
        })
    }

    fn literal(&mut self, word: &'static str, value: Value) -> Result<Value, SyntaxError> {
        for &want in word.as_bytes() {
            match self.bump() {
                Some(b) if b == want => {}
                Some(_) => return Err(self.error("expected ident")),
                None => return Err(self.error("EOF while parsing a value")),
            }
        }
        Ok(value)
    }

    fn object(&mut self, depth: usize) -> Result<Node, SyntaxError> {
        self.bump(); // `{`
        let pos = self.pos();
        if depth > MAX_DEPTH {
            return Err(self.error("recursion limit exceeded"));
        }
        let mut members = Vec::new();
        self.skip_whitespace();
        if self.peek() == Some(b'}') {
            self.bump();
            return Ok(Node {
                value: Value::Object(members, self.pos()),
                pos,
            });
        }
        loop {
            self.skip_whitespace();
            match self.bump() {
                Some(b'"') => {}
                Some(b'}') => return Err(self.error("trailing comma")),
                Some(_) => return Err(self.error("key must be a string")),
                None => return Err(self.error("EOF while parsing an object")),
            }
            let key = self.string()?;
            let key_pos = self.pos();
            self.skip_whitespace();
            self.expect(b':', "EOF while parsing an object", "expected `:`")?;
            let value = self.value(depth)?;
            members.push(Member {
                key,
                key_pos,
                value,
            });
            self.skip_whitespace();
            match self.bump() {
                Some(b',') => {}
                Some(b'}') => {
                    return Ok(Node {
                        value: Value::Object(members, self.pos()),
                        pos,
                    })
                }
                Some(_) => return Err(self.error("expected `,` or `}`")),
                None => return Err(self.error("EOF while parsing an object")),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Node, SyntaxError> {
        self.bump(); // `[`
        let pos = self.pos();
        if depth > MAX_DEPTH {
            return Err(self.error("recursion limit exceeded"));
        }
        let mut items = Vec::new();
        self.skip_whitespace();
        if self.peek() == Some(b']') {
            self.bump();
            return Ok(Node {
                value: Value::Array(items, self.pos()),
                pos,
            });
        }
        loop {
            self.skip_whitespace();
            if self.peek() == Some(b']') {
                self.bump();
                return Err(self.error("trailing comma"));
            }
            if self.peek().is_none() {
                return Err(self.error("EOF while parsing a list"));
            }
            items.push(self.value(depth)?);
            self.skip_whitespace();
            match self.bump() {
                Some(b',') => {}
                Some(b']') => {
                    return Ok(Node {
                        value: Value::Array(items, self.pos()),
                        pos,
                    })
                }
                Some(_) => return Err(self.error("expected `,` or `]`")),
                None => return Err(self.error("EOF while parsing a list")),
            }
        }
    }

    /// The rest of a string whose opening quote was consumed; leaves the closing quote
    /// consumed. The input is valid UTF-8, so unescaped runs are copied as they are.
    fn string(&mut self) -> Result<String, SyntaxError> {
        let mut out = String::new();
        let mut run = self.at;
        loop {
            let Some(b) = self.bump() else {
                return Err(self.error("EOF while parsing a string"));
            };
            match b {
                b'"' => {
                    out.push_str(self.text(run, self.at - 1));
                    return Ok(out);
                }
                b'\\' => {
                    out.push_str(self.text(run, self.at - 1));
                    out.push(self.escape()?);
                    run = self.at;
                }
                0..=0x1F => {
                    return Err(self
                        .error("control character (\\u0000-\\u001F) found while parsing a string"))
                }
                _ => {}
            }
        }
    }

    /// The source between two ASCII delimiters (so on character boundaries).
    fn text(&self, from: usize, to: usize) -> &'a str {
        let src: &'a str = self.src;
        src.get(from..to).unwrap_or_default()
    }

    /// One escape sequence after its backslash.
    fn escape(&mut self) -> Result<char, SyntaxError> {
        let Some(b) = self.bump() else {
            return Err(self.error("EOF while parsing a string"));
        };
        Ok(match b {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let first = self.hex4()?;
                let code = match first {
                    0xD800..=0xDBFF => {
                        // A high surrogate must be followed by an escaped low surrogate.
                        if self.bump() != Some(b'\\') || self.bump() != Some(b'u') {
                            return Err(self.error("lone leading surrogate in hex escape"));
                        }
                        let second = self.hex4()?;
                        if !(0xDC00..=0xDFFF).contains(&second) {
                            return Err(self.error("lone leading surrogate in hex escape"));
                        }
                        0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
                    }
                    0xDC00..=0xDFFF => {
                        return Err(self.error("lone trailing surrogate in hex escape"))
                    }
                    _ => first,
                };
                char::from_u32(code).ok_or_else(|| self.error("invalid unicode code point"))?
            }
            _ => return Err(self.error("invalid escape")),
        })
    }

    fn hex4(&mut self) -> Result<u32, SyntaxError> {
        let mut n = 0;
        for _ in 0..4 {
            let digit = match self.bump() {
                Some(b) => (b as char).to_digit(16),
                None => return Err(self.error("EOF while parsing a string")),
            };
            n = n * 16 + digit.ok_or_else(|| self.error("invalid escape"))?;
        }
        Ok(n)
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
    fn number(&mut self) -> Result<Value, SyntaxError> {
        let start = self.at;
        let negative = self.peek() == Some(b'-');
        if negative {
            self.bump();
        }
        let mut decimal = Decimal::default();
        if self.peek() == Some(b'0') {
            self.bump();
            if let Some(b'0'..=b'9') = self.peek() {
                self.bump();
                return Err(self.error("invalid number"));
            }
        } else {
            self.digits(|d| decimal.push(d, false))?;
        }
        let mut integer = true;
        if self.peek() == Some(b'.') {
            self.bump();
            integer = false;
            self.digits(|d| decimal.push(d, true))?;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.bump();
            integer = false;
            let sign = match self.peek() {
                Some(b'-') => -1,
                Some(b'+') => 1,
                _ => 0,
            };
            if sign != 0 {
                self.bump();
            }
            let mut exp: i32 = 0;
            // Saturates far beyond any finite f64, so the exponent cannot overflow.
            self.digits(|d| exp = (exp * 10 + i32::from(d)).min(100_000))?;
            decimal.exp10 = decimal
                .exp10
                .saturating_add(if sign < 0 { -exp } else { exp });
        }
        if integer && !decimal.dropped {
            let m = decimal.mantissa;
            match negative {
                false => return Ok(Value::U64(m)),
                true if m <= 1 << 63 => return Ok(Value::I64(0i64.wrapping_sub_unsigned(m))),
                // Too large for an integer type: a float, as serde_json does.
                true => {}
            }
        }
        let f = decimal.to_f64();
        if !f.is_finite() {
            return Err(self.error("number out of range"));
        }
        let lexeme = self.text(start, self.at);
        Ok(Value::F64(if negative { -f } else { f }, lexeme.into()))
    }

    /// One or more digits, each passed to `each` as a value 0-9.
    fn digits(&mut self, mut each: impl FnMut(u8)) -> Result<(), SyntaxError> {
        match self.bump() {
            Some(d @ b'0'..=b'9') => each(d - b'0'),
            Some(_) => return Err(self.error("invalid number")),
            None => return Err(self.error("EOF while parsing a value")),
        }
        while let Some(d @ b'0'..=b'9') = self.peek() {
            self.bump();
            each(d - b'0');
        }
        Ok(())
    }
}

/// A number as `mantissa × 10^exp10`, converted to f64 here rather than with
/// `str::parse::<f64>`, whose exact algorithm costs about 6 KB of wasm.
#[derive(Default)]
struct Decimal {
    mantissa: u64,
    exp10: i32,
    /// Digits beyond what the mantissa holds (about 19) were dropped.
    dropped: bool,
}

/// Powers of ten that are exact in an f64.
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

impl Decimal {
    fn push(&mut self, digit: u8, fraction: bool) {
        match self
            .mantissa
            .checked_mul(10)
            .and_then(|m| m.checked_add(u64::from(digit)))
        {
            Some(m) => {
                self.mantissa = m;
                self.exp10 -= i32::from(fraction);
            }
            None => {
                self.dropped = true;
                self.exp10 += i32::from(!fraction);
            }
        }
    }

    /// Correctly rounded when the mantissa (without trailing zeros) is below 2^53 and the
    /// exponent within ±22, as it is then one exact operation on exact operands: so for any
    /// number with at most 15 significant digits and a modest exponent, which is what
    /// configurations hold. Otherwise within a few units in the last place.
    fn to_f64(&self) -> f64 {
        if self.mantissa == 0 {
            return 0.0;
        }
        // Trailing zeros (`1.50`, `100e-2`) need not leave the exact range.
        let (mut m, mut e) = (self.mantissa, self.exp10);
        while m % 10 == 0 {
            m /= 10;
            e = e.saturating_add(1);
        }
        let mut f = m as f64;
        // Scale in exact steps first, so that only the last operation rounds when possible.
        while e > 22 {
            f *= POW10[22];
            e -= 22;
        }
        while e < -22 {
            f /= POW10[22];
            e += 22;
        }
        let p = POW10.get(e.unsigned_abs() as usize).copied().unwrap_or(1.0);
        if e < 0 {
            f / p
        } else {
            f * p
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(doc: &str) -> Value {
        parse(doc.as_bytes()).unwrap().value
    }

    fn string(doc: &str) -> String {
        match value(doc) {
            Value::String(s) => s,
            other => panic!("not a string: {other:?}"),
        }
    }

    /// The error as `message at line L column C`.
    fn error(doc: &[u8]) -> String {
        parse(doc).unwrap_err().to_string()
    }

    fn at(line: u32, column: u32) -> Pos {
        Pos { line, column }
    }

    #[test]
    fn literals_and_whitespace() {
        assert_eq!(value("true"), Value::Bool(true));
        assert_eq!(value(" \t\r\nfalse \n"), Value::Bool(false));
        assert_eq!(value("null"), Value::Null);
        assert_eq!(
            error(b"tru"),
            "EOF while parsing a value at line 1 column 3"
        );
        assert_eq!(error(b"trUe"), "expected ident at line 1 column 3");
        assert_eq!(error(b"nil"), "expected ident at line 1 column 2");
        assert_eq!(error(b"True"), "expected value at line 1 column 1");
    }

    #[test]
    fn simple_escapes() {
        assert_eq!(
            string(r#""a\"b\\c\/d\be\ff\ng\rh\ti""#),
            "a\"b\\c/d\u{8}e\u{c}f\ng\rh\ti"
        );
        assert_eq!(string(r#""""#), "");
        assert_eq!(string(r#""\\""#), "\\");
        assert_eq!(error(br#""\x""#), "invalid escape at line 1 column 3");
        assert_eq!(error(br#""\'""#), "invalid escape at line 1 column 3");
        assert_eq!(
            error(br#""ab\"#),
            "EOF while parsing a string at line 1 column 4"
        );
        assert_eq!(
            error(br#""abc"#),
            "EOF while parsing a string at line 1 column 4"
        );
    }

    #[test]
    fn unicode_escapes_and_raw_utf8() {
        assert_eq!(string(r#""\u0041\u00e9\u00E9\u4e2d""#), "Aéé中");
        assert_eq!(string(r#""\u0000""#), "\0");
        // A surrogate pair is one character.
        assert_eq!(string(r#""\ud83d\ude00!""#), "😀!");
        assert_eq!(string(r#""\uDBFF\uDFFF""#), "\u{10FFFF}");
        assert_eq!(string("\"héllo 😀\""), "héllo 😀");
        assert_eq!(string("\"\u{7f}\""), "\u{7f}");
        assert_eq!(
            error(br#""\ud83d""#),
            "lone leading surrogate in hex escape at line 1 column 8"
        );
        assert_eq!(
            error(br#""\ud83dx""#),
            "lone leading surrogate in hex escape at line 1 column 8"
        );
        assert_eq!(
            error(br#""\ud83d\u0041""#),
            "lone leading surrogate in hex escape at line 1 column 13"
        );
        assert_eq!(
            error(br#""\ude00""#),
            "lone trailing surrogate in hex escape at line 1 column 7"
        );
        assert_eq!(error(br#""\u12G4""#), "invalid escape at line 1 column 6");
        assert_eq!(
            error(br#""\u12"#),
            "EOF while parsing a string at line 1 column 5"
        );
    }

    #[test]
    fn control_characters_must_be_escaped() {
        for raw in [&b"\"a\nb\""[..], b"\"a\tb\"", b"\"\x00\"", b"\"\x1f\""] {
            let err = error(raw);
            assert!(
                err.starts_with("control character (\\u0000-\\u001F) found while parsing a string"),
                "{err}"
            );
        }
    }

    #[test]
    fn invalid_utf8_is_located() {
        assert_eq!(error(b"\"ab\xff\""), "invalid UTF-8 at line 1 column 4");
        assert_eq!(error(b"{\n \"\xc3\""), "invalid UTF-8 at line 2 column 3");
    }

    #[test]
    fn integers() {
        assert_eq!(value("0"), Value::U64(0));
        assert_eq!(value("-0"), Value::I64(0));
        assert_eq!(value("42"), Value::U64(42));
        assert_eq!(value("-42"), Value::I64(-42));
        assert_eq!(value("18446744073709551615"), Value::U64(u64::MAX));
        assert_eq!(value("-9223372036854775808"), Value::I64(i64::MIN));
        // Beyond the integer types: a float, keeping the text for messages.
        assert_eq!(
            value("18446744073709551616"),
            Value::F64(18446744073709551616.0, "18446744073709551616".into())
        );
        assert_eq!(
            value("-9223372036854775809"),
            Value::F64(-9223372036854775809.0, "-9223372036854775809".into())
        );
    }

    #[test]
    fn floats() {
        for (text, f) in [
            ("1.5", 1.5),
            ("-0.25", -0.25),
            ("0.0", 0.0),
            ("1e3", 1000.0),
            ("1E+3", 1000.0),
            ("25e-1", 2.5),
            ("-1.5e-3", -0.0015),
            ("1e-400", 0.0),
        ] {
            assert_eq!(value(text), Value::F64(f, text.into()), "{text}");
        }
        assert_eq!(error(b"1e400"), "number out of range at line 1 column 5");
        assert_eq!(error(b"-1e400"), "number out of range at line 1 column 6");
    }

    #[test]
    fn floats_match_the_standard_parser() {
        let f = |text: &str| match value(text) {
            Value::F64(f, _) => f,
            other => panic!("{text}: {other:?}"),
        };
        // Up to 15 significant digits and exponents within ±22: correctly rounded.
        for text in [
            "0.1",
            "0.2",
            "0.3",
            "0.25",
            "-0.1",
            "3.141592653589793",
            "2.718281828459045",
            "123456789012345e-22",
            "1e22",
            "1.5e22",
            "9007199254740991.0",
            "0.000001",
            "99.99",
            "1e-22",
            "1.7e-7",
            "42.0e0",
            "5e-1",
            "0.0000000000000000000001",
        ] {
            assert_eq!(f(text), text.parse::<f64>().unwrap(), "{text}");
        }
        // Beyond that: within a few units in the last place.
        for text in [
            "1.7976931348623157e308",
            "2.2250738585072014e-308",
            "12345678901234567890.5",
            "0.1000000000000000055511151231257827",
            "6.02214076e23",
            "1.602176634e-19",
            "123456789012345678901234567890",
            "1e100",
            "-4.9e-300",
        ] {
            let want = text.parse::<f64>().unwrap();
            let got = f(text);
            assert!(
                ((got - want) / want).abs() < 1e-15,
                "{text}: {got} vs {want}"
            );
        }
        assert!(f("-0.0").is_sign_negative());
        assert_eq!(f("0e999999999999"), 0.0);
        assert_eq!(f("1e-99999999"), 0.0);
        assert_eq!(f("5e-324"), 5e-324);
        assert_eq!(
            error(b"1e99999999999"),
            "number out of range at line 1 column 13"
        );
    }

    #[test]
    fn malformed_numbers() {
        assert_eq!(error(b"01"), "invalid number at line 1 column 2");
        assert_eq!(error(b"-01"), "invalid number at line 1 column 3");
        assert_eq!(error(b"1."), "EOF while parsing a value at line 1 column 2");
        assert_eq!(error(b"1.e3"), "invalid number at line 1 column 3");
        assert_eq!(error(b"1e"), "EOF while parsing a value at line 1 column 2");
        assert_eq!(
            error(b"1e+"),
            "EOF while parsing a value at line 1 column 3"
        );
        assert_eq!(error(b"1ex"), "invalid number at line 1 column 3");
        assert_eq!(error(b"-"), "EOF while parsing a value at line 1 column 1");
        assert_eq!(error(b"-x"), "invalid number at line 1 column 2");
        assert_eq!(error(b".5"), "expected value at line 1 column 1");
        assert_eq!(error(b"+1"), "expected value at line 1 column 1");
        assert_eq!(error(b"0x10"), "trailing characters at line 1 column 2");
        assert_eq!(error(b"1 2"), "trailing characters at line 1 column 3");
    }

    #[test]
    fn objects_keep_order_duplicates_and_positions() {
        let node = parse(b"{\n  \"b\": 1,\n  \"a\": [true, \"x\"],\n  \"b\": {}\n}").unwrap();
        assert_eq!(node.pos, at(1, 1));
        let Value::Object(members, end) = node.value else {
            panic!("not an object")
        };
        assert_eq!(end, at(5, 1));
        let keys: Vec<(&str, Pos)> = members
            .iter()
            .map(|m| (m.key.as_str(), m.key_pos))
            .collect();
        assert_eq!(keys, [("b", at(2, 5)), ("a", at(3, 5)), ("b", at(4, 5))]);
        assert_eq!(
            members[0].value,
            Node {
                value: Value::U64(1),
                pos: at(2, 8)
            }
        );
        let Value::Array(items, end) = &members[1].value.value else {
            panic!("not an array")
        };
        assert_eq!(members[1].value.pos, at(3, 8));
        assert_eq!(*end, at(3, 18));
        assert_eq!(items[0].pos, at(3, 12));
        assert_eq!(
            items[1],
            Node {
                value: Value::String("x".into()),
                pos: at(3, 17)
            }
        );
    }

    #[test]
    fn columns_count_characters() {
        let node = parse("[\"é😀\", 1]".as_bytes()).unwrap();
        let Value::Array(items, _) = node.value else {
            panic!("not an array")
        };
        assert_eq!(items[0].pos, at(1, 5));
        assert_eq!(items[1].pos, at(1, 8));
    }

    #[test]
    fn empty_containers() {
        assert_eq!(value("[]"), Value::Array(vec![], at(1, 2)));
        assert_eq!(value("{ }"), Value::Object(vec![], at(1, 3)));
        assert_eq!(
            value("[ [ ] ]"),
            Value::Array(
                vec![Node {
                    value: Value::Array(vec![], at(1, 5)),
                    pos: at(1, 3)
                }],
                at(1, 7)
            )
        );
    }

    #[test]
    fn structural_errors() {
        let cases: [(&[u8], &str); 17] = [
            (b"", "EOF while parsing a value at line 1 column 0"),
            (b"  \n ", "EOF while parsing a value at line 2 column 1"),
            (b"{", "EOF while parsing an object at line 1 column 1"),
            (b"{\"a\"", "EOF while parsing an object at line 1 column 4"),
            (b"{\"a\":", "EOF while parsing a value at line 1 column 5"),
            (
                b"{\"a\":1",
                "EOF while parsing an object at line 1 column 6",
            ),
            (b"{\"a\" 1}", "expected `:` at line 1 column 6"),
            (
                b"{\"a\":1 \"b\":2}",
                "expected `,` or `}` at line 1 column 8",
            ),
            (b"{\"a\":1,}", "trailing comma at line 1 column 8"),
            (b"{a:1}", "key must be a string at line 1 column 2"),
            (b"{1:1}", "key must be a string at line 1 column 2"),
            (b"[", "EOF while parsing a list at line 1 column 1"),
            (b"[1", "EOF while parsing a list at line 1 column 2"),
            (b"[1,", "EOF while parsing a list at line 1 column 3"),
            (b"[1,]", "trailing comma at line 1 column 4"),
            (b"[1 2]", "expected `,` or `]` at line 1 column 4"),
            (b"{} {}", "trailing characters at line 1 column 4"),
        ];
        for (doc, want) in cases {
            assert_eq!(error(doc), want, "{}", String::from_utf8_lossy(doc));
        }
        assert_eq!(error(b"[,1]"), "expected value at line 1 column 2");
        assert_eq!(error(b"{\"a\":}"), "expected value at line 1 column 6");
        assert_eq!(error(b"\"\" x"), "trailing characters at line 1 column 4");
    }

    #[test]
    fn nesting_is_limited() {
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(parse(ok.as_bytes()).is_ok());
        let objects = format!("{}1{}", "{\"a\":".repeat(MAX_DEPTH), "}".repeat(MAX_DEPTH));
        assert!(parse(objects.as_bytes()).is_ok());
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert_eq!(
            error(deep.as_bytes()),
            "recursion limit exceeded at line 1 column 65"
        );
        let deep = "{\"a\":".repeat(MAX_DEPTH + 1);
        assert_eq!(
            error(deep.as_bytes()),
            "recursion limit exceeded at line 1 column 321"
        );
        // Far too deep does not overflow the stack either.
        assert!(parse("[".repeat(100_000).as_bytes()).is_err());
    }
}
