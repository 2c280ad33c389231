//! Hashing and constant-time comparison of secrets.
//!
//! Presented secrets are compared as fixed-size digests with `subtle`, so the time taken
//! depends neither on where the first differing byte is nor on the secret's length.

use sha1::Sha1;
use sha2::{Digest, Sha256};
use subtle::{Choice, ConstantTimeEq};

pub type Sha256Digest = [u8; 32];
pub type Sha1Digest = [u8; 20];

pub fn sha256(parts: &[&[u8]]) -> Sha256Digest {
    #[cfg(test)]
    work::record("sha256", parts.iter().map(|p| p.len()).sum());
    let mut h = Sha256::new();
    for part in parts {
        h.update(part);
    }
    h.finalize().into()
}

pub fn sha1(data: &[u8]) -> Sha1Digest {
    #[cfg(test)]
    work::record("sha1", data.len());
    Sha1::digest(data).into()
}

/// Constant-time equality of two equally sized digests.
pub fn digest_eq<const N: usize>(a: &[u8; N], b: &[u8; N]) -> Choice {
    a[..].ct_eq(&b[..])
}

/// Finds `needle` among `digests` touching every entry, and returns the index of the match.
/// Entries are unique (the configuration rejects duplicates), so at most one matches.
pub fn find_digest<const N: usize>(digests: &[[u8; N]], needle: &[u8; N]) -> Option<usize> {
    let mut found = Choice::from(0);
    let mut index: usize = 0;
    for (i, candidate) in digests.iter().enumerate() {
        let hit = digest_eq(candidate, needle);
        // Branch-free select: index = hit ? i : index.
        let mask = usize::from(hit.unwrap_u8()).wrapping_neg();
        index = (i & mask) | (index & !mask);
        found |= hit;
    }
    bool::from(found).then_some(index)
}

/// The hashing work done on this thread (unit tests): which hash, over how many bytes.
#[cfg(test)]
pub mod work {
    use std::cell::RefCell;

    thread_local! {
        static HASHED: RefCell<Vec<(&'static str, usize)>> = const { RefCell::new(Vec::new()) };
    }

    pub fn record(hash: &'static str, bytes: usize) {
        HASHED.with(|h| h.borrow_mut().push((hash, bytes)));
    }

    /// The hashes computed while running `f`.
    pub fn during(f: impl FnOnce()) -> Vec<(&'static str, usize)> {
        HASHED.with(|h| h.borrow_mut().clear());
        f();
        HASHED.with(|h| h.take())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn known_digests() {
        assert_eq!(
            hex(&sha256(&[b"abc"])),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        // Split input hashes like the concatenation.
        assert_eq!(sha256(&[b"a", b"bc"]), sha256(&[b"abc"]));
        assert_eq!(
            hex(&sha1(b"abc")),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
    }

    #[test]
    fn digest_equality() {
        let a = sha256(&[b"secret"]);
        let mut b = a;
        assert!(bool::from(digest_eq(&a, &b)));
        b[31] ^= 1;
        assert!(!bool::from(digest_eq(&a, &b)));
        b = a;
        b[0] ^= 0x80;
        assert!(!bool::from(digest_eq(&a, &b)));
    }

    #[test]
    fn finds_the_matching_entry() {
        let table = [sha256(&[b"k0"]), sha256(&[b"k1"]), sha256(&[b"k2"])];
        assert_eq!(find_digest(&table, &sha256(&[b"k0"])), Some(0));
        assert_eq!(find_digest(&table, &sha256(&[b"k2"])), Some(2));
        assert_eq!(find_digest(&table, &sha256(&[b"k1"])), Some(1));
        assert_eq!(find_digest(&table, &sha256(&[b"k3"])), None);
        assert_eq!(find_digest::<32>(&[], &sha256(&[b"k0"])), None);
    }
}
