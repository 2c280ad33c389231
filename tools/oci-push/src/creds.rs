//! Where the registry credentials come from: the flags, else the docker config, else none.

use crate::failure::Failure;
use docker_credential::{CredentialRetrievalError, DockerCredential};
use oci_client::secrets::RegistryAuth;
use std::io::Read;

/// `--username U --password-stdin` wins; otherwise the docker config (`$DOCKER_CONFIG` or
/// `~/.docker/config.json`, credential helpers included) for `registry`; otherwise anonymous.
pub fn resolve(
    registry: &str,
    username: Option<&str>,
    stdin: impl Read,
) -> Result<RegistryAuth, Failure> {
    if let Some(user) = username {
        return Ok(RegistryAuth::Basic(user.to_string(), read_password(stdin)?));
    }
    match docker_credential::get_credential(registry) {
        Ok(DockerCredential::UsernamePassword(u, p)) => {
            eprintln!("using the docker config credentials of {u} for {registry}");
            Ok(RegistryAuth::Basic(u, p))
        }
        Ok(DockerCredential::IdentityToken(_)) => Err(Failure::Input(format!(
            "the docker config holds an identity token for {registry}, which this tool cannot \
             exchange: pass --username and --password-stdin"
        ))),
        Err(
            CredentialRetrievalError::ConfigNotFound
            | CredentialRetrievalError::ConfigReadError
            | CredentialRetrievalError::NoCredentialConfigured,
        ) => Ok(RegistryAuth::Anonymous),
        // A credential store without an entry for this registry (Docker Desktop's helper answers
        // "credentials not found"), or no helper binary: anonymous, and a registry that needs
        // credentials says so.
        Err(
            e @ (CredentialRetrievalError::HelperFailure { .. }
            | CredentialRetrievalError::HelperCommunicationError),
        ) => {
            eprintln!("note: no docker credentials for {registry} ({e}); pushing anonymously");
            Ok(RegistryAuth::Anonymous)
        }
        Err(e) => Err(Failure::Input(format!(
            "reading the docker credentials for {registry}: {e}"
        ))),
    }
}

fn read_password(mut stdin: impl Read) -> Result<String, Failure> {
    let mut password = String::new();
    stdin
        .read_to_string(&mut password)
        .map_err(|e| Failure::Input(format!("reading the password from stdin: {e}")))?;
    // `echo secret | ...` and `printf secret | ...` must give the same password.
    let password = password.strip_suffix('\n').unwrap_or(&password);
    let password = password.strip_suffix('\r').unwrap_or(password);
    if password.is_empty() {
        return Err(Failure::Input(
            "--password-stdin: empty password on stdin".into(),
        ));
    }
    Ok(password.to_string())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn password_from_stdin_drops_one_trailing_newline() {
        let auth = resolve("r:5000", Some("u"), &b"s3cret\n"[..]).unwrap();
        assert!(matches!(auth, RegistryAuth::Basic(u, p) if u == "u" && p == "s3cret"));
        let auth = resolve("r:5000", Some("u"), &b" spaced \r\n"[..]).unwrap();
        assert!(matches!(auth, RegistryAuth::Basic(_, p) if p == " spaced "));
    }

    #[test]
    fn empty_password_is_refused() {
        let err = resolve("r:5000", Some("u"), &b"\n"[..]).err().unwrap();
        assert_eq!(err.to_string(), "--password-stdin: empty password on stdin");
    }
}
