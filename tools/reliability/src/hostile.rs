//! Hostile input: header maps (empty, 1,024 headers, 64 KiB values, duplicates, mixed case,
//! invalid UTF-8, NUL/CR/LF, unknown and misplaced pseudo-headers), bodies, trailers, and
//! upstream or auth-service answers (garbage status, huge bodies).
//!
//! Header names go through the harness, which lower-cases them as Envoy does; mixed case in
//! the generated names therefore checks that filters never rely on the client's case.

use crate::rng::Rng;

pub type Pairs = Vec<(String, Vec<u8>)>;

/// 64 KiB: the largest value the tests send (Envoy's default header limit is 60 KiB per map,
/// so this is beyond what a real client gets through, on purpose).
pub const BIG_VALUE: usize = 64 * 1024;
/// Envoy's maximum number of headers.
pub const MANY_HEADERS: usize = 1024;

const COMMON_NAMES: &[&str] = &[
    "user-agent",
    "x-request-id",
    "content-type",
    "content-length",
    "accept",
    "host",
    "cookie",
    "x-forwarded-for",
    "te",
    "connection",
];

const PSEUDO: &[&str] = &[
    ":path",
    ":method",
    ":authority",
    ":scheme",
    ":status",
    ":protocol",
    ":x-unknown",
    ":",
];

/// Mixed case of `name` (the harness lower-cases it again, like Envoy).
fn mixed_case(rng: &mut Rng, name: &str) -> String {
    name.chars()
        .map(|c| {
            if rng.chance(1, 2) {
                c.to_ascii_uppercase()
            } else {
                c
            }
        })
        .collect()
}

/// A header name: a filter-relevant one (`interesting`), a common one, a pseudo-header, or
/// random printable ASCII / token bytes.
pub fn name(rng: &mut Rng, interesting: &[&str]) -> String {
    let n = match rng.below(10) {
        0..=3 if !interesting.is_empty() => rng.pick(interesting).to_string(),
        0..=4 => rng.pick(COMMON_NAMES).to_string(),
        5 => rng.pick(PSEUDO).to_string(),
        6 => String::new(),
        7 => (0..rng.range(1, 40))
            .map(|_| char::from(rng.range(0x21, 0x7e) as u8))
            .collect(),
        _ => format!("x-fuzz-{}", rng.below(20)),
    };
    if rng.chance(1, 4) {
        mixed_case(rng, &n)
    } else {
        n
    }
}

/// A header value: empty, short text, an `interesting` value, a 64 KiB value, invalid UTF-8,
/// control bytes (NUL, CR, LF), base64-ish text, or percent escapes.
pub fn value(rng: &mut Rng, interesting: &[Vec<u8>]) -> Vec<u8> {
    match rng.below(16) {
        0 => Vec::new(),
        1..=4 if !interesting.is_empty() => rng.pick(interesting).clone(),
        1..=5 => format!("v{}", rng.below(1000)).into_bytes(),
        6 => {
            let mut v = rng.pick(interesting_or(interesting)).clone();
            let at = rng.below(v.len() + 1);
            v.insert(at, *rng.pick(&[0xff, 0xc3, 0x80, 0xe2, 0x00, b'\r', b'\n']));
            v
        }
        7 => {
            let n = rng.range(1, 64);
            rng.bytes(n)
        }
        8 if rng.chance(1, 8) => vec![b'a' + rng.below(26) as u8; BIG_VALUE],
        8 => vec![b'x'; rng.range(100, 4096)],
        9 => b"\xff\xfe\xfd invalid utf-8 \xc3\x28".to_vec(),
        10 => b"caf\xe9 \x00nul\r\ninjected: header".to_vec(),
        11 => base64ish(rng),
        12 => b"%00%zz%%2e%2e/%C0%AF".to_vec(),
        13 => "ünïcödé ✓ 🦀".as_bytes().to_vec(),
        14 => vec![b' '; rng.range(1, 16)],
        _ => format!("{}", rng.next_u64()).into_bytes(),
    }
}

fn interesting_or(interesting: &[Vec<u8>]) -> &[Vec<u8>] {
    static FALLBACK: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
    if interesting.is_empty() {
        FALLBACK.get_or_init(|| vec![b"value".to_vec()])
    } else {
        interesting
    }
}

fn base64ish(rng: &mut Rng) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_";
    (0..rng.range(0, 200))
        .map(|_| *rng.pick(ALPHABET))
        .collect()
}

/// A request header map. Usually a normal request (the four pseudo-headers, possibly
/// rewritten) plus random headers; sometimes empty, sometimes without pseudo-headers,
/// sometimes 1,024 headers, sometimes with duplicates of filter-relevant names.
pub fn request_headers(rng: &mut Rng, names: &[&str], values: &[Vec<u8>]) -> Pairs {
    let shape = rng.below(40);
    if shape == 0 {
        return Vec::new();
    }
    let mut h: Pairs = Vec::new();
    if shape != 1 {
        let path = match rng.below(8) {
            0 => value(rng, values),
            1 => b"/healthz".to_vec(),
            2 => b"/a/../healthz".to_vec(),
            3 => b"/x?api_key=k&y=%ff".to_vec(),
            _ => format!("/p/{}", rng.below(100)).into_bytes(),
        };
        h.push((":authority".into(), b"example.com".to_vec()));
        h.push((":path".into(), path));
        h.push((
            ":method".into(),
            rng.pick(&["GET", "POST", "", "BREW"]).as_bytes().to_vec(),
        ));
        h.push((":scheme".into(), b"http".to_vec()));
    }
    let extra = if shape == 2 {
        MANY_HEADERS - h.len()
    } else {
        rng.below(12)
    };
    for _ in 0..extra {
        h.push((name(rng, names), value(rng, values)));
    }
    if rng.chance(1, 5) && !names.is_empty() {
        // Duplicates of a filter-relevant header, in mixed case.
        let n = rng.pick(names).to_string();
        for _ in 0..rng.range(2, 4) {
            h.push((mixed_case(rng, &n), value(rng, values)));
        }
    }
    if rng.chance(1, 10) {
        shuffle(rng, &mut h);
    }
    h
}

/// Trailers: random names and values (pseudo-headers included, which are invalid there).
pub fn trailers(rng: &mut Rng, names: &[&str], values: &[Vec<u8>]) -> Pairs {
    (0..rng.range(1, 4))
        .map(|_| (name(rng, names), value(rng, values)))
        .collect()
}

/// A body: empty, small, binary, or large (up to 1 MiB).
pub fn body(rng: &mut Rng) -> Vec<u8> {
    match rng.below(6) {
        0 => Vec::new(),
        1 => b"{\"a\":1}".to_vec(),
        2 => {
            let n = rng.range(1, 512);
            rng.bytes(n)
        }
        3 if rng.chance(1, 20) => vec![b'b'; 1 << 20],
        _ => vec![b'.'; rng.range(1, 8192)],
    }
}

/// A `:status` value: valid, out of range, or garbage.
pub fn status(rng: &mut Rng) -> Vec<u8> {
    match rng.below(12) {
        0 => b"".to_vec(),
        1 => b"abc".to_vec(),
        2 => b"99999999999999999999".to_vec(),
        3 => b"-1".to_vec(),
        4 => b"0".to_vec(),
        5 => b"2000".to_vec(),
        6 => b"\xff\x00".to_vec(),
        7 => b" 200".to_vec(),
        _ => rng
            .pick(&[
                "200", "204", "301", "401", "403", "404", "429", "500", "502", "503",
            ])
            .as_bytes()
            .to_vec(),
    }
}

/// Response headers: a `:status` (possibly garbage or missing) and random headers.
pub fn response_headers(rng: &mut Rng, names: &[&str], values: &[Vec<u8>]) -> Pairs {
    let mut h: Pairs = Vec::new();
    if !rng.chance(1, 20) {
        h.push((":status".into(), status(rng)));
    }
    for _ in 0..rng.below(8) {
        h.push((name(rng, names), value(rng, values)));
    }
    h
}

pub fn shuffle<T>(rng: &mut Rng, items: &mut [T]) {
    for i in (1..items.len()).rev() {
        let j = rng.below(i + 1);
        items.swap(i, j);
    }
}
