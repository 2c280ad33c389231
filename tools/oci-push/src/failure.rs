//! The ways a push can fail, each with its own exit status so scripts can react.

use std::fmt;

#[derive(Debug)]
pub enum Failure {
    /// Bad input: a file that is not a module, an invalid image name... (exit 2)
    Input(String),
    /// The registry could not be reached at all. (exit 3)
    Unreachable(String),
    /// The registry refused the credentials (or their absence). (exit 4)
    AuthRefused(String),
    /// Anything else the registry answered. (exit 1)
    Registry(String),
}

impl Failure {
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::Registry(_) => 1,
            Failure::Input(_) => 2,
            Failure::Unreachable(_) => 3,
            Failure::AuthRefused(_) => 4,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Input(m) | Failure::Registry(m) => f.write_str(m),
            Failure::Unreachable(m) => write!(f, "registry unreachable: {m}"),
            Failure::AuthRefused(m) => write!(f, "registry refused the credentials: {m}"),
        }
    }
}

/// An error and its causes on one line: reqwest's own message alone ("error sending request")
/// does not say what went wrong.
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let msg = c.to_string();
        if !s.contains(&msg) {
            s.push_str(": ");
            s.push_str(&msg);
        }
        cur = c.source();
    }
    s
}
