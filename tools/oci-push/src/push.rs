//! Pushes a packaged image with the `oci-client` library and checks what the registry stored.

use crate::failure::{chain, Failure};
use crate::package::{Image, OCI_MANIFEST};
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference, RegistryOperation};
use std::time::Duration;

/// Registries reached over plain HTTP without asking: the local ones a developer runs.
const PLAIN_HTTP_HOSTS: &[&str] = &["localhost", "127.0.0.1", "[::1]", "kind-registry"];

/// Parses `HOST[:PORT]/REPOSITORY:TAG`. A tag is required (the digest is printed after the push);
/// a registry host is required (no silent docker.io).
pub fn parse_reference(s: &str) -> Result<Reference, Failure> {
    let invalid = |why: String| Failure::Input(format!("invalid image reference '{s}': {why}"));
    let first = s.split('/').next().unwrap_or_default();
    if !s.contains('/') || !(first.contains('.') || first.contains(':') || first == "localhost") {
        return Err(invalid(
            "expected HOST[:PORT]/REPOSITORY:TAG (registry host first)".into(),
        ));
    }
    let r: Reference = s.parse().map_err(|e| invalid(format!("{e}")))?;
    if r.digest().is_some() {
        return Err(invalid(
            "push to a tag, not a digest (the digest is computed)".into(),
        ));
    }
    if r.tag().is_none() || !s.rsplit('/').next().unwrap_or_default().contains(':') {
        return Err(invalid("missing the :TAG".into()));
    }
    Ok(r)
}

pub fn uses_plain_http(registry: &str) -> bool {
    let host = match registry.rsplit_once(':') {
        Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
        _ => registry,
    };
    PLAIN_HTTP_HOSTS.contains(&host)
}

/// Pushes blobs then the manifest (the exact bytes that were digested), then asks the registry for
/// the digest of the tag and checks it is ours. Returns the manifest digest.
pub async fn push(
    image: &Image,
    target: &Reference,
    auth: &RegistryAuth,
    plain_http: bool,
) -> Result<String, Failure> {
    let registry = target.resolve_registry().to_string();
    let client = Client::new(ClientConfig {
        protocol: if plain_http {
            ClientProtocol::Http
        } else {
            ClientProtocol::Https
        },
        connect_timeout: Some(Duration::from_secs(10)),
        read_timeout: Some(Duration::from_secs(60)),
        use_monolithic_push: true,
        ..ClientConfig::default()
    });
    let anonymous = matches!(auth, RegistryAuth::Anonymous);
    let fail = |e: OciDistributionError| classify(&registry, plain_http, anonymous, e);

    client
        .auth(target, auth, RegistryOperation::Push)
        .await
        .map_err(fail)?;
    let mut pushed: Vec<String> = Vec::new();
    for blob in std::iter::once(&image.config).chain(&image.layers) {
        let digest = blob.digest();
        if pushed.contains(&digest) {
            continue; // the WebAssembly Hub layout uses the runtime config twice
        }
        client
            .push_blob(target, blob.data.clone(), &digest)
            .await
            .map_err(fail)?;
        pushed.push(digest);
    }
    let content_type = http::HeaderValue::from_static(OCI_MANIFEST);
    client
        .push_manifest_raw(target, image.manifest.clone(), content_type)
        .await
        .map_err(fail)?;

    let digest = image.digest();
    let stored = client
        .fetch_manifest_digest(target, auth)
        .await
        .map_err(fail)?;
    if stored != digest {
        return Err(Failure::Registry(format!(
            "{target} now points at {stored}, not at the manifest just pushed ({digest}): \
             another push raced this one, or the registry rewrote the manifest"
        )));
    }
    Ok(digest)
}

fn classify(registry: &str, plain_http: bool, anonymous: bool, e: OciDistributionError) -> Failure {
    use OciDistributionError as E;
    let text = chain(&e);
    let refused = |text: &str| {
        Failure::AuthRefused(if anonymous {
            format!(
                "{registry} requires credentials and none were given (pass --username and \
                 --password-stdin, or log in with docker login): {text}"
            )
        } else {
            format!("{registry}: {text}")
        })
    };
    match &e {
        E::RequestError(r) if r.is_connect() || r.is_timeout() => Failure::Unreachable(format!(
            "cannot connect to {registry} ({text}); is the registry running and is the address \
             right?{}",
            if plain_http { "" } else { " For a plain-HTTP registry pass --plain-http" }
        )),
        E::RequestError(_) if text.contains("InvalidContentType") || text.contains("tls") => {
            Failure::Unreachable(format!(
                "TLS handshake with {registry} failed ({text}); if it serves plain HTTP, pass --plain-http"
            ))
        }
        E::AuthenticationFailure(_) | E::UnauthorizedError { .. } => refused(&text),
        E::ServerError { code: 401 | 403, .. } => refused(&text),
        E::RegistryError { envelope, .. } => {
            let codes: Vec<&OciErrorCode> = envelope.errors.iter().map(|x| &x.code).collect();
            if codes.iter().any(|c| matches!(c, OciErrorCode::Unauthorized | OciErrorCode::Denied)) {
                refused(&text)
            } else if codes.iter().any(|c| matches!(c, OciErrorCode::NameInvalid)) {
                Failure::Input(format!("the registry {registry} refused the repository name: {text}"))
            } else {
                Failure::Registry(format!("{registry}: {text}"))
            }
        }
        _ => Failure::Registry(format!("pushing to {registry}: {text}")),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_for_local_registries() {
        assert!(uses_plain_http("localhost:5001"));
        assert!(uses_plain_http("127.0.0.1:5000"));
        assert!(uses_plain_http("kind-registry:5000"));
        assert!(uses_plain_http("localhost"));
        assert!(!uses_plain_http("ghcr.io"));
        assert!(!uses_plain_http("registry.example.com:443"));
        assert!(!uses_plain_http("localhost.example.com:5000"));
    }

    #[test]
    fn references_need_host_repository_and_tag() {
        let r = parse_reference("localhost:5001/proxy-wasm/http_headers:dev").unwrap();
        assert_eq!(r.registry(), "localhost:5001");
        assert_eq!(r.repository(), "proxy-wasm/http_headers");
        assert_eq!(r.tag(), Some("dev"));

        let msg = |s: &str| parse_reference(s).err().unwrap().to_string();
        assert!(
            msg("http_headers:dev").contains("registry host first"),
            "{}",
            msg("http_headers:dev")
        );
        assert!(msg("localhost:5001/proxy-wasm/http_headers").contains("missing the :TAG"));
        assert!(msg("localhost:5001/Proxy-Wasm/UPPER:dev")
            .starts_with("invalid image reference 'localhost:5001/Proxy-Wasm/UPPER:dev': "));
        let pinned = format!("localhost:5001/x@sha256:{}", "a".repeat(64));
        assert!(msg(&pinned).contains("not a digest"));
    }
}
