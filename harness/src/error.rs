//! Errors of the harness: loading, linking, starting and running a module.

use crate::types::LogEntry;
use std::fmt;

/// Everything that can go wrong while loading or driving a plugin.
#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// The module could not be read, built or compiled.
    Load(String),
    /// The module exports no known ABI marker (`proxy_abi_version_*`).
    UnknownAbi { markers: Vec<String> },
    /// A required export is missing (`memory`, `proxy_on_memory_allocate`/`malloc`, ...).
    MissingExport(String),
    /// An export has the wrong type or signature.
    BadExport { name: String, reason: String },
    /// Imports the host does not provide, as `module.name`.
    UnsatisfiedImports(Vec<String>),
    /// `proxy_on_vm_start` returned false.
    VmStartFailed { logs: Vec<LogEntry> },
    /// `proxy_on_configure` returned false: Envoy rejects the configuration.
    ConfigRejected { logs: Vec<LogEntry> },
    /// The module trapped; `panic_message` is the last critical log line written during the
    /// failing callback (the Rust SDK logs a panic there before aborting).
    Trap {
        message: String,
        panic_message: Option<String>,
    },
    /// The stream is held by the filter (StopIteration or a pending callout) and cannot finish.
    StreamPaused { waiting_on: String },
    /// The test used the API in a way the host does not allow (unknown token, ended stream...).
    Usage(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Load(m) => write!(f, "cannot load module: {m}"),
            Error::UnknownAbi { markers } if markers.is_empty() => write!(
                f,
                "not a proxy-wasm module: no export proxy_abi_version_0_2_1 or proxy_abi_version_0_2_0"
            ),
            Error::UnknownAbi { markers } => {
                write!(f, "unsupported proxy-wasm ABI: {} (supported: 0_2_1, 0_2_0)", markers.join(", "))
            }
            Error::MissingExport(n) => write!(f, "module does not export required `{n}`"),
            Error::BadExport { name, reason } => write!(f, "export `{name}`: {reason}"),
            Error::UnsatisfiedImports(v) => {
                write!(f, "module imports functions the host does not provide: {}", v.join(", "))
            }
            Error::VmStartFailed { logs } => {
                write!(f, "proxy_on_vm_start returned false")?;
                write_logs(f, logs)
            }
            Error::ConfigRejected { logs } => {
                write!(f, "plugin configuration rejected (proxy_on_configure returned false)")?;
                write_logs(f, logs)
            }
            Error::Trap { message, panic_message } => match panic_message {
                Some(p) => write!(f, "wasm trap: {p} ({message})"),
                None => write!(f, "wasm trap: {message}"),
            },
            Error::StreamPaused { waiting_on } => write!(f, "stream paused by the filter: {waiting_on}"),
            Error::Usage(m) => write!(f, "{m}"),
        }
    }
}

fn write_logs(f: &mut fmt::Formatter<'_>, logs: &[LogEntry]) -> fmt::Result {
    for l in logs {
        write!(f, "\n  [{}] {}", l.level.name(), l.message)?;
    }
    Ok(())
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;
