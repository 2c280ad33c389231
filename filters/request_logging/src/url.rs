//! Secrets in URLs: a logged URL keeps every query (and fragment) parameter name, but the value
//! of a parameter that carries a credential is replaced by `[REDACTED]`, as is the password of
//! a URL's user info (`https://user:[REDACTED]@host/`).

use crate::record::REDACTED;
use percent_encoding::percent_decode;
use std::borrow::Cow;
use std::ops::Range;

/// Parameters redacted whatever the configuration says (ASCII lower-case; a name matches after
/// percent-decoding, in any letter case). `redact_query_params` adds to them.
pub const DEFAULT_SECRET_PARAMS: [&str; 24] = [
    "access_token",
    "api_key",
    "apikey",
    "auth",
    "client_secret",
    "code",
    "id_token",
    "key",
    "passwd",
    "password",
    "private_token",
    "pwd",
    "refresh_token",
    "secret",
    "sig",
    "signature",
    "token",
    // Signed cloud-storage URLs (AWS SigV4, Google Cloud Storage V4).
    "x-amz-credential",
    "x-amz-security-token",
    "x-amz-signature",
    "x-goog-credential",
    "x-goog-signature",
    // OAuth/OIDC flows.
    "assertion",
    "client_assertion",
];

/// Captured headers whose values are URLs (or a path with its query) and get the same treatment
/// as the `path` field. `x-envoy-original-path` is where Envoy keeps `:path` before a rewrite.
pub const URL_HEADERS: [&str; 7] = [
    ":path",
    "referer",
    "location",
    "content-location",
    "x-envoy-original-path",
    "x-forwarded-uri",
    "x-original-url",
];

/// `url` with the values of the parameters named in `secret_params` (ASCII lower-case) and the
/// user-info password replaced by `[REDACTED]`; unchanged (borrowed) when there is none.
pub fn redact<'a>(url: &'a [u8], secret_params: &[String]) -> Cow<'a, [u8]> {
    let ranges = secret_ranges(url, secret_params);
    if ranges.is_empty() {
        return Cow::Borrowed(url);
    }
    let mut out = Vec::with_capacity(url.len() + ranges.len() * REDACTED.len());
    let mut copied = 0;
    for range in ranges {
        out.extend_from_slice(url.get(copied..range.start).unwrap_or_default());
        out.extend_from_slice(REDACTED.as_bytes());
        copied = range.end;
    }
    out.extend_from_slice(url.get(copied..).unwrap_or_default());
    Cow::Owned(out)
}

/// The byte ranges of `url` to hide, in order and not overlapping.
fn secret_ranges(url: &[u8], secret_params: &[String]) -> Vec<Range<usize>> {
    let mut ranges = Vec::new();
    let mut from = 0;
    if let Some(password) = user_info_password(url) {
        from = password.end;
        ranges.push(password);
    }
    let Some(query) = position(url, from, |b| b == b'?' || b == b'#') else {
        return ranges;
    };
    // Parameters of the query and of the fragment (`#access_token=...` in OAuth redirects).
    // Besides `&`, `;` (a separator to some servers) and a nested `?` (an unescaped URL in a
    // value, such as `next=/cb?token=...`) start a parameter: splitting too often only shows
    // more names, splitting too rarely could show a secret.
    let mut start = query + 1;
    while start <= url.len() {
        let end =
            position(url, start, |b| matches!(b, b'&' | b';' | b'?' | b'#')).unwrap_or(url.len());
        let param = url.get(start..end).unwrap_or_default();
        if let Some(eq) = param.iter().position(|&b| b == b'=') {
            if is_secret(param.get(..eq).unwrap_or_default(), secret_params) {
                ranges.push(start + eq + 1..end);
            }
        }
        start = end + 1;
    }
    ranges
}

/// The password of an absolute URL's user info (`scheme://user:password@host`).
fn user_info_password(url: &[u8]) -> Option<Range<usize>> {
    let scheme_end = url.windows(3).position(|w| w == b"://")?;
    let scheme = url.get(..scheme_end)?;
    if scheme.is_empty() || scheme.iter().any(|&b| matches!(b, b'/' | b'?' | b'#')) {
        return None;
    }
    let authority_start = scheme_end + 3;
    let authority_end =
        position(url, authority_start, |b| matches!(b, b'/' | b'?' | b'#')).unwrap_or(url.len());
    let authority = url.get(authority_start..authority_end)?;
    let at = authority.iter().rposition(|&b| b == b'@')?;
    let colon = authority.get(..at)?.iter().position(|&b| b == b':')?;
    Some(authority_start + colon + 1..authority_start + at)
}

/// Whether a raw parameter name is a secret one: percent-decoded and ASCII lower-cased, the
/// whole name or one of its bracketed parts (`user[password]`, `token[]`) is listed.
fn is_secret(raw_name: &[u8], secret_params: &[String]) -> bool {
    let mut name: Vec<u8> = percent_decode(raw_name).collect();
    name.make_ascii_lowercase();
    let listed = |n: &[u8]| secret_params.iter().any(|s| s.as_bytes() == n);
    listed(&name)
        || name
            .split(|&b| b == b'[' || b == b']')
            .filter(|part| !part.is_empty())
            .any(listed)
}

/// The first index at or after `from` whose byte satisfies `pred`.
fn position(bytes: &[u8], from: usize, pred: impl Fn(u8) -> bool) -> Option<usize> {
    let rest = bytes.get(from..)?;
    rest.iter().position(|&b| pred(b)).map(|p| from + p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> Vec<String> {
        DEFAULT_SECRET_PARAMS.map(String::from).to_vec()
    }

    fn redacted(url: &str) -> String {
        String::from_utf8(redact(url.as_bytes(), &defaults()).into_owned()).unwrap()
    }

    #[test]
    fn urls_without_secrets_are_borrowed_unchanged() {
        for url in [
            "/",
            "/a/b",
            "/search?q=shoes&page=2",
            "/p?token",
            "/keys?monkey=1&tokenizer=2",
            "https://example.com/a?b=c#top",
            "",
            "?",
            "/a?&&;=x",
        ] {
            assert!(
                matches!(redact(url.as_bytes(), &defaults()), Cow::Borrowed(_)),
                "{url}"
            );
        }
    }

    #[test]
    fn every_default_parameter_is_redacted_keeping_its_name() {
        for name in DEFAULT_SECRET_PARAMS {
            assert_eq!(
                redacted(&format!("/p?a=1&{name}=s3cr3t&b=2")),
                format!("/p?a=1&{name}=[REDACTED]&b=2")
            );
        }
    }

    #[test]
    fn names_match_in_any_case_after_percent_decoding() {
        assert_eq!(
            redacted("/p?Access_Token=1&ACCESS%5fTOKEN=2&%61pi%4Bey=3&X-Amz-Signature=4"),
            "/p?Access_Token=[REDACTED]&ACCESS%5fTOKEN=[REDACTED]&%61pi%4Bey=[REDACTED]&X-Amz-Signature=[REDACTED]"
        );
        // Only the name decides; an invalid escape is compared as written.
        assert_eq!(redacted("/p?tok%zzen=1&q=token"), "/p?tok%zzen=1&q=token");
    }

    #[test]
    fn values_are_hidden_whole_and_empty_values_too() {
        assert_eq!(redacted("/p?token="), "/p?token=[REDACTED]");
        assert_eq!(redacted("/p?token=a=b%26c"), "/p?token=[REDACTED]");
        assert_eq!(
            redacted("/p?sig=1&sig=2"),
            "/p?sig=[REDACTED]&sig=[REDACTED]"
        );
    }

    #[test]
    fn other_separators_fragments_and_nested_urls() {
        assert_eq!(redacted("/p?a=1;key=2"), "/p?a=1;key=[REDACTED]");
        assert_eq!(
            redacted("https://app.example/cb#access_token=abc&state=x"),
            "https://app.example/cb#access_token=[REDACTED]&state=x"
        );
        assert_eq!(
            redacted("/p?code=1#id_token=2"),
            "/p?code=[REDACTED]#id_token=[REDACTED]"
        );
        assert_eq!(
            redacted("/login?next=/cb?token=abc&x=1"),
            "/login?next=/cb?token=[REDACTED]&x=1"
        );
    }

    #[test]
    fn bracketed_names_match_their_parts() {
        assert_eq!(
            redacted("/p?user[password]=1&token[]=2&user[name]=bob"),
            "/p?user[password]=[REDACTED]&token[]=[REDACTED]&user[name]=bob"
        );
    }

    #[test]
    fn user_info_passwords_are_hidden() {
        assert_eq!(
            redacted("https://bob:hunter2@db.example:5432/x?token=t"),
            "https://bob:[REDACTED]@db.example:5432/x?token=[REDACTED]"
        );
        assert_eq!(redacted("https://bob@h/"), "https://bob@h/");
        assert_eq!(redacted("https://a:b:c@h"), "https://a:[REDACTED]@h");
        // Not user info: the `@` is in the path, or there is no scheme.
        assert_eq!(redacted("https://h/u:p@x"), "https://h/u:p@x");
        assert_eq!(redacted("/r/https://u:p@h"), "/r/https://u:p@h");
    }

    #[test]
    fn configured_names_are_added() {
        let mut names = defaults();
        names.push("session".into());
        let out = redact(b"/p?Session=1&sessions=2", &names);
        assert_eq!(&*out, b"/p?Session=[REDACTED]&sessions=2");
    }

    #[test]
    fn invalid_utf8_is_handled_as_bytes() {
        let out = redact(b"/p\xff?t\xffoken=1&token=\xfe", &defaults());
        assert_eq!(&*out, b"/p\xff?t\xffoken=1&token=[REDACTED]");
    }
}
