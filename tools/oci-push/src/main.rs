//! `oci-push`: packages a proxy-wasm module as an image the Istio agent accepts, pushes it, and
//! prints the reference pinned by digest. `scripts/push.sh` is the friendly front end.

#[cfg(not(target_arch = "wasm32"))]
mod abi;
#[cfg(not(target_arch = "wasm32"))]
mod cli;
#[cfg(not(target_arch = "wasm32"))]
mod creds;
#[cfg(not(target_arch = "wasm32"))]
mod failure;
#[cfg(not(target_arch = "wasm32"))]
mod package;
#[cfg(not(target_arch = "wasm32"))]
mod push;

/// Host tool only: the workspace's wasm build compiles it to nothing.
#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    use clap::Parser;
    let args = cli::Args::parse();
    match cli::run(args) {
        Ok(pinned) => {
            println!("{pinned}");
            std::process::ExitCode::SUCCESS
        }
        Err(failure) => {
            eprintln!("error: {failure}");
            std::process::ExitCode::from(failure.exit_code())
        }
    }
}
