//! Command line: what to package, where to push it, how to authenticate.

use crate::failure::Failure;
use crate::package::{package, Metadata, Variant};
use crate::{creds, push};
use std::path::PathBuf;

/// Package a proxy-wasm module as an OCI image the Istio agent accepts and push it.
///
/// Prints the pushed reference pinned by digest (HOST/REPOSITORY@sha256:...) on stdout.
/// Exit status: 1 registry error, 2 bad input, 3 registry unreachable, 4 credentials refused.
#[derive(clap::Parser, Debug)]
#[command(name = "oci-push", version)]
pub struct Args {
    /// The module to package.
    #[arg(long, value_name = "FILE")]
    pub wasm: PathBuf,
    /// Where to push: HOST[:PORT]/REPOSITORY:TAG.
    #[arg(long, value_name = "REF")]
    pub reference: String,
    /// Filter name, written into the annotations (and the root id of the WebAssembly Hub layout).
    #[arg(long)]
    pub filter: String,
    /// Source repository URL (annotation org.opencontainers.image.source).
    #[arg(long)]
    pub source: Option<String>,
    /// Source revision (annotation org.opencontainers.image.revision).
    #[arg(long)]
    pub revision: Option<String>,
    /// Push the two-layer WebAssembly Hub layout instead of the plain image.
    #[arg(long)]
    pub wasm_hub_variant: bool,
    /// Talk plain HTTP (automatic for localhost, 127.0.0.1 and kind-registry).
    #[arg(long)]
    pub plain_http: bool,
    /// Registry user (with --password-stdin); default: the docker config's credentials.
    #[arg(long, requires = "password_stdin")]
    pub username: Option<String>,
    /// Read the registry password from stdin.
    #[arg(long, requires = "username")]
    pub password_stdin: bool,
}

pub fn run(args: Args) -> Result<String, Failure> {
    let target = push::parse_reference(&args.reference)?;
    let module = std::fs::read(&args.wasm)
        .map_err(|e| Failure::Input(format!("cannot read {}: {e}", args.wasm.display())))?;
    let meta = Metadata {
        filter: args.filter.clone(),
        source: args.source,
        revision: args.revision,
    };
    let variant = if args.wasm_hub_variant {
        Variant::WasmHub
    } else {
        Variant::Compat
    };
    let image = package(&module, &meta, variant)
        .map_err(|e| Failure::Input(format!("{}: {e}", args.wasm.display())))?;

    let registry = target.resolve_registry().to_string();
    let auth = creds::resolve(&registry, args.username.as_deref(), std::io::stdin())?;
    let plain_http = args.plain_http || push::uses_plain_http(&registry);
    // The only TLS provider compiled in; the error only means one is already installed.
    let _ = rustls::crypto::ring::default_provider().install_default();

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Registry(format!("starting the async runtime: {e}")))?;
    eprintln!(
        "pushing {} ({} layout, ABI {}, {} bytes) to {}{}",
        args.filter,
        if args.wasm_hub_variant {
            "WebAssembly Hub"
        } else {
            "plain image"
        },
        image.abi_version,
        module.len(),
        args.reference,
        if plain_http { " over plain HTTP" } else { "" },
    );
    let digest = runtime.block_on(push::push(&image, &target, &auth, plain_http))?;
    Ok(format!(
        "{}/{}@{digest}",
        target.registry(),
        target.repository()
    ))
}
