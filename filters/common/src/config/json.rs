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
        // Magnitude of the integer part, None once it overflows u64.
        let mut magnitude: Option<u64> = Some(0);
        match self.bump() {
            Some(b'0') => {
                if let Some(b'0'..=b'9') = self.peek() {
                    self.bump();
                    return Err(self.error("invalid number"));
                }
            }
            Some(d @ b'1'..=b'9') => {
                magnitude = Some(u64::from(d - b'0'));
                while let Some(d @ b'0'..=b'9') = self.peek() {
                    self.bump();
                    magnitude = magnitude
                        .and_then(|m| m.checked_mul(10))
                        .and_then(|m| m.checked_add(u64::from(d - b'0')));
                }
            }
            Some(_) => return Err(self.error("invalid number")),
            None => return Err(self.error("EOF while parsing a value")),
        }
        let mut integer = true;
        if self.peek() == Some(b'.') {
            self.bump();
            integer = false;
            self.digits()?;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.bump();
            integer = false;
            if let Some(b'+' | b'-') = self.peek() {
                self.bump();
            }
            self.digits()?;
        }
        if integer {
            match (negative, magnitude) {
                (false, Some(m)) => return Ok(Value::U64(m)),
                (true, Some(m)) if m <= 1 << 63 => {
                    return Ok(Value::I64(0i64.wrapping_sub_unsigned(m)))
                }
                // Too large for an integer type: a float, as serde_json does.
                _ => {}
            }
        }
        let lexeme = self.text(start, self.at);
        match lexeme.parse::<f64>() {
            Ok(f) if f.is_finite() => Ok(Value::F64(f, lexeme.into())),
            _ => Err(self.error("number out of range")),
        }
    }

    /// One or more digits (of a fraction or exponent).
    fn digits(&mut self) -> Result<(), SyntaxError> {
        match self.bump() {
            Some(b'0'..=b'9') => {}
            Some(_) => return Err(self.error("invalid number")),
            None => return Err(self.error("EOF while parsing a value")),
        }
        while let Some(b'0'..=b'9') = self.peek() {
            self.bump();
        }
        Ok(())
    }
}
