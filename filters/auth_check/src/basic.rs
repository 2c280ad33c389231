//! `basic` mode: HTTP Basic authentication (RFC 7617) against htpasswd-style user lines.
//!
//! Password hashes:
//! - `{SHA}<base64 SHA-1(password)>`: what `htpasswd -s` writes and Envoy's basic_auth reads.
//! - `{SSHA256}<base64(SHA-256(password || salt) || salt)>`: salted SHA-256, the OpenLDAP
//!   `pw-sha2` layout (32 digest bytes followed by at least 4 salt bytes).

use crate::config::{bad_value, is_clean, item};
use crate::secret::{digest_eq, find_digest, sha1, sha256, Sha1Digest, Sha256Digest};
use filter_common::base64;
use filter_common::config::ConfigError;
use serde::Deserialize;
use subtle::Choice;

pub const DEFAULT_REALM: &str = "restricted";
const MIN_SALT: usize = 4;

/// The `basic` section as written: `users` holds htpasswd lines, `user:{SHA}...` or
/// `user:{SSHA256}...`. No `Debug`: it holds the hashes.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "an object")]
pub struct BasicSection {
    realm: Option<String>,
    users: Option<Vec<String>>,
}

enum PasswordHash {
    Sha1(Sha1Digest),
    SaltedSha256 { digest: Sha256Digest, salt: Vec<u8> },
}

impl PasswordHash {
    /// Parses a stored hash; the error describes the problem without quoting the hash.
    fn parse(s: &str) -> Result<Self, String> {
        if let Some(b64) = s.strip_prefix("{SHA}") {
            let bytes = base64::decode(b64.as_bytes()).ok();
            let digest = bytes.and_then(|b| Sha1Digest::try_from(b.as_slice()).ok());
            return digest
                .map(PasswordHash::Sha1)
                .ok_or_else(|| "`{SHA}` must be followed by the base64 of a 20-byte SHA-1".into());
        }
        if let Some(b64) = s.strip_prefix("{SSHA256}") {
            let bytes = base64::decode(b64.as_bytes()).unwrap_or_default();
            if bytes.len() < 32 + MIN_SALT {
                return Err(format!(
                    "`{{SSHA256}}` must be followed by the base64 of a 32-byte SHA-256 digest and a salt of at least {MIN_SALT} bytes"
                ));
            }
            let (digest, salt) = bytes.split_at(32);
            let mut d = [0u8; 32];
            d.copy_from_slice(digest);
            return Ok(PasswordHash::SaltedSha256 {
                digest: d,
                salt: salt.to_vec(),
            });
        }
        Err("unsupported password hash: expected `{SHA}` or `{SSHA256}`".into())
    }

    /// A hash of the same scheme and salt length that no password matches in practice.
    fn decoy(&self) -> PasswordHash {
        match self {
            PasswordHash::Sha1(_) => PasswordHash::Sha1([0; 20]),
            PasswordHash::SaltedSha256 { salt, .. } => PasswordHash::SaltedSha256 {
                digest: [0; 32],
                salt: vec![0; salt.len()],
            },
        }
    }

    fn is_sha1(&self) -> bool {
        matches!(self, PasswordHash::Sha1(_))
    }

    fn verify(&self, password: &[u8]) -> Choice {
        match self {
            PasswordHash::Sha1(digest) => digest_eq(&sha1(password), digest),
            PasswordHash::SaltedSha256 { digest, salt } => {
                digest_eq(&sha256(&[password, salt]), digest)
            }
        }
    }
}

pub struct BasicUsers {
    www_authenticate: String,
    names: Vec<String>,
    name_digests: Vec<Sha256Digest>,
    hashes: Vec<PasswordHash>,
    /// Checked when the user is unknown, so that an unknown user costs the hashing work of a
    /// known one: same scheme and salt length as the first user ([`PasswordHash::decoy`]).
    decoy: PasswordHash,
    /// With users of both schemes, every check also hashes with the scheme its user does not
    /// use (one decoy of each scheme), so that no user costs other work than another.
    mixed: Option<[PasswordHash; 2]>,
}

/// Redacted: lists user names only, never hashes.
impl std::fmt::Debug for BasicUsers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BasicUsers")
            .field("users", &self.names)
            .finish_non_exhaustive()
    }
}

impl BasicSection {
    pub fn build(&self) -> Result<BasicUsers, ConfigError> {
        let realm = self.realm.as_deref().unwrap_or(DEFAULT_REALM);
        if realm.is_empty() || realm.contains(['"', '\\']) || realm.chars().any(char::is_control) {
            return Err(bad_value(
                "basic.realm",
                realm,
                "must be non-empty, without `\"`, `\\` or control characters",
            ));
        }
        let users = self.users.as_deref().unwrap_or_default();
        if users.is_empty() {
            return Err(ConfigError::invalid(
                "basic.users",
                "empty: at least one user is required",
            ));
        }
        let mut names: Vec<String> = Vec::with_capacity(users.len());
        let mut name_digests = Vec::with_capacity(users.len());
        let mut hashes = Vec::with_capacity(users.len());
        for (i, line) in users.iter().enumerate() {
            let (name, hash) = parse_user(line, &names)
                .map_err(|message| ConfigError::invalid(item("basic.users", i), message))?;
            name_digests.push(sha256(&[name.as_bytes()]));
            names.push(name.to_string());
            hashes.push(hash);
        }
        // `users` is not empty, so neither is `hashes`.
        let decoy = hashes
            .first()
            .map_or(PasswordHash::Sha1([0; 20]), PasswordHash::decoy);
        let sha1 = hashes.iter().find(|h| h.is_sha1());
        let salted = hashes.iter().find(|h| !h.is_sha1());
        let mixed = sha1.zip(salted).map(|(a, b)| [a.decoy(), b.decoy()]);
        Ok(BasicUsers {
            www_authenticate: format!("Basic realm=\"{realm}\""),
            name_digests,
            names,
            hashes,
            decoy,
            mixed,
        })
    }
}

/// One htpasswd line `user:hash`: the user name, not one of `names` yet, and its hash. The
/// error describes the problem without quoting the hash.
fn parse_user<'a>(line: &'a str, names: &[String]) -> Result<(&'a str, PasswordHash), String> {
    let Some((name, hash)) = line.split_once(':') else {
        return Err("expected an htpasswd line `user:{SHA}...` or `user:{SSHA256}...`".into());
    };
    if name.is_empty() || !is_clean(name) {
        return Err(
            "the user name must be non-empty, without control characters or surrounding whitespace"
                .into(),
        );
    }
    if let Some(j) = names.iter().position(|n| n == name) {
        return Err(format!(
            "user `{name}` is already defined by `basic.users[{j}]`"
        ));
    }
    let hash = PasswordHash::parse(hash).map_err(|e| format!("user `{name}`: {e}"))?;
    Ok((name, hash))
}

impl BasicUsers {
    /// The `www-authenticate` value sent with every 401.
    pub fn challenge(&self) -> &str {
        &self.www_authenticate
    }

    /// The user name when `user` exists and `password` matches its hash.
    pub fn verify(&self, user: &[u8], password: &[u8]) -> Option<&str> {
        let found = find_digest(&self.name_digests, &sha256(&[user]));
        let hash = found
            .and_then(|i| self.hashes.get(i))
            .unwrap_or(&self.decoy);
        let ok = hash.verify(password);
        if let Some(decoys) = &self.mixed {
            for other in decoys.iter().filter(|d| d.is_sha1() != hash.is_sha1()) {
                std::hint::black_box(other.verify(password));
            }
        }
        match found {
            Some(i) if bool::from(ok) => self.names.get(i).map(String::as_str),
            _ => None,
        }
    }
}

/// Why a request carries no usable Basic credentials.
#[derive(Debug, PartialEq, Eq)]
pub enum BadCredentials {
    /// Another scheme, invalid base64, or no `:` between user and password.
    Malformed,
}

/// Decodes an `Authorization: Basic <base64(user:password)>` value into user and password.
pub fn parse_authorization(value: &[u8]) -> Result<(Vec<u8>, Vec<u8>), BadCredentials> {
    let value = value.trim_ascii();
    let split = value
        .iter()
        .position(|b| *b == b' ' || *b == b'\t')
        .ok_or(BadCredentials::Malformed)?;
    let (scheme, token) = value.split_at(split);
    if !scheme.eq_ignore_ascii_case(b"basic") {
        return Err(BadCredentials::Malformed);
    }
    // Clients differ on padding: accept it present or absent.
    let decoded = base64::decode(token.trim_ascii()).map_err(|_| BadCredentials::Malformed)?;
    let colon = decoded
        .iter()
        .position(|b| *b == b':')
        .ok_or(BadCredentials::Malformed)?;
    let password = decoded[colon + 1..].to_vec();
    let mut user = decoded;
    user.truncate(colon);
    Ok((user, password))
}

#[cfg(test)]
mod tests {
    use super::*;

    // `htpasswd -nbs alice wonderland`
    const ALICE_SHA: &str = "alice:{SHA}tiY7sUhYKUwI5L3866kDY+ENcrQ=";

    fn ssha256(password: &str, salt: &[u8]) -> String {
        let mut bytes = sha256(&[password.as_bytes(), salt]).to_vec();
        bytes.extend_from_slice(salt);
        format!("{{SSHA256}}{}", base64::encode(bytes))
    }

    /// Reads a `basic` section built from `realm` and user lines.
    fn section(realm: Option<&str>, lines: &[&str]) -> Result<BasicUsers, String> {
        let mut basic = serde_json::json!({ "users": lines });
        if let Some(realm) = realm {
            basic["realm"] = realm.into();
        }
        let section: BasicSection = serde_json::from_value(basic).unwrap();
        section.build().map_err(|e| e.to_string())
    }

    fn users(lines: &[&str]) -> Result<BasicUsers, String> {
        section(None, lines)
    }

    #[test]
    fn sha1_htpasswd_lines_verify() {
        // Cross-check the fixture: base64(SHA-1("wonderland")).
        assert_eq!(
            base64::encode(sha1(b"wonderland")),
            "tiY7sUhYKUwI5L3866kDY+ENcrQ="
        );
        let u = users(&[ALICE_SHA]).unwrap();
        assert_eq!(u.verify(b"alice", b"wonderland"), Some("alice"));
        assert_eq!(u.verify(b"alice", b"Wonderland"), None);
        assert_eq!(u.verify(b"alice", b""), None);
        assert_eq!(u.verify(b"bob", b"wonderland"), None);
        assert_eq!(u.challenge(), "Basic realm=\"restricted\"");
    }

    #[test]
    fn salted_sha256_verifies() {
        let line = format!("bob:{}", ssha256("hunter2", b"NaCl-salt"));
        let u = users(&[ALICE_SHA, &line]).unwrap();
        assert_eq!(u.verify(b"bob", b"hunter2"), Some("bob"));
        assert_eq!(u.verify(b"bob", b"hunter3"), None);
        assert_eq!(u.verify(b"alice", b"hunter2"), None);
        assert_eq!(u.verify(b"alice", b"wonderland"), Some("alice"));
    }

    /// An unknown user costs the hashing a known user with a wrong password costs, whatever
    /// the users' scheme (the README's promise: user names cannot be probed by timing).
    #[test]
    fn unknown_users_cost_the_same_hashing_as_known_ones() {
        use crate::secret::work;
        let carol = format!("carol:{}", ssha256("pw", b"sixteen-byte-slt"));
        for lines in [vec![ALICE_SHA], vec![carol.as_str()]] {
            let u = users(&lines).unwrap();
            let known = lines[0].split(':').next().unwrap().as_bytes();
            let unknown = b"zzzzz";
            assert_eq!(known.len(), unknown.len());
            let wrong_password = work::during(|| assert_eq!(u.verify(known, b"guess"), None));
            let unknown_user = work::during(|| assert_eq!(u.verify(unknown, b"guess"), None));
            assert_eq!(unknown_user, wrong_password, "{lines:?}");
            // The user name's digest, then the password's hash.
            assert_eq!(wrong_password.len(), 2, "{wrong_password:?}");
        }
        let u = users(&[ALICE_SHA]).unwrap();
        assert_eq!(
            work::during(|| {
                u.verify(b"zzzzz", b"guess");
            }),
            [("sha256", 5), ("sha1", 5)]
        );

        // Both schemes: every check hashes with both, known users of either and unknown ones.
        let u = users(&[ALICE_SHA, &carol]).unwrap();
        let sorted = |f: &dyn Fn()| {
            let mut w = work::during(f);
            w.sort();
            w
        };
        let expected = [("sha1", 5), ("sha256", 5), ("sha256", 5 + 16)];
        for user in [&b"alice"[..], b"carol", b"zzzzz"] {
            assert_eq!(
                sorted(&|| assert_eq!(u.verify(user, b"guess"), None)),
                expected,
                "{user:?}"
            );
        }
        assert_eq!(u.verify(b"carol", b"pw"), Some("carol"));
    }

    #[test]
    fn hash_errors_do_not_quote_hashes() {
        assert_eq!(
            users(&[]).unwrap_err(),
            "field `basic.users`: empty: at least one user is required"
        );
        assert_eq!(
            users(&["alice"]).unwrap_err(),
            "field `basic.users[0]`: expected an htpasswd line `user:{SHA}...` or `user:{SSHA256}...`"
        );
        assert_eq!(
            users(&[ALICE_SHA, "bob:$apr1$abc$def"]).unwrap_err(),
            "field `basic.users[1]`: user `bob`: unsupported password hash: expected `{SHA}` or `{SSHA256}`"
        );
        assert_eq!(
            users(&["bob:{SHA}c2hvcnQ="]).unwrap_err(),
            "field `basic.users[0]`: user `bob`: `{SHA}` must be followed by the base64 of a 20-byte SHA-1"
        );
        assert!(users(&["bob:{SHA}!!!"])
            .unwrap_err()
            .contains("20-byte SHA-1"));
        let short = format!("{{SSHA256}}{}", base64::encode([1u8; 35]));
        assert_eq!(
            users(&[&format!("bob:{short}")]).unwrap_err(),
            "field `basic.users[0]`: user `bob`: `{SSHA256}` must be followed by the base64 of a 32-byte SHA-256 digest and a salt of at least 4 bytes"
        );
        assert_eq!(
            users(&[ALICE_SHA, ALICE_SHA]).unwrap_err(),
            "field `basic.users[1]`: user `alice` is already defined by `basic.users[0]`"
        );
        assert!(users(&[":{SHA}tiY7sUhYKUwI5L3866kDY+ENcrQ="])
            .unwrap_err()
            .contains("user name must be non-empty"));
    }

    #[test]
    fn realm_is_validated() {
        let err = |realm: &str| section(Some(realm), &[ALICE_SHA]).unwrap_err();
        assert_eq!(
            err("a\"b"),
            "field `basic.realm`: `a\"b` must be non-empty, without `\"`, `\\` or control characters"
        );
        assert!(err("").starts_with("field `basic.realm`"));
        let u = section(Some("api"), &[ALICE_SHA]).unwrap();
        assert_eq!(u.challenge(), "Basic realm=\"api\"");
    }

    #[test]
    fn parses_authorization_values() {
        let enc = |s: &str| base64::encode(s);
        let ok = |v: String| parse_authorization(v.as_bytes()).unwrap();
        assert_eq!(
            ok(format!("Basic {}", enc("alice:wonder:land"))),
            (b"alice".to_vec(), b"wonder:land".to_vec())
        );
        assert_eq!(
            ok(format!("basic   {}  ", enc("a:"))),
            (b"a".to_vec(), vec![])
        );
        assert_eq!(ok(format!("BASIC {}", enc(":p"))), (vec![], b"p".to_vec()));
        // Unpadded base64 is accepted too.
        assert_eq!(ok("Basic YTpi".into()), (b"a".to_vec(), b"b".to_vec()));
        assert_eq!(ok("Basic YTpiYw".into()), (b"a".to_vec(), b"bc".to_vec()));
    }

    #[test]
    fn malformed_authorization_values() {
        for bad in [
            "".to_string(),
            "Basic".to_string(),
            "Basic ".to_string(),
            format!("Bearer {}", base64::encode("a:b")),
            format!("Basic {}", base64::encode("no-colon")),
            "Basic !!!not-base64".to_string(),
            "Basic YTpi=====".to_string(),
            format!("Basic{}", base64::encode("a:b")),
        ] {
            assert_eq!(
                parse_authorization(bad.as_bytes()),
                Err(BadCredentials::Malformed),
                "{bad}"
            );
        }
        assert_eq!(
            parse_authorization(&[0xff, 0xfe, b' ', b'x']),
            Err(BadCredentials::Malformed)
        );
    }
}
