//! `harness` CLI (host only; an empty program on wasm32 so the workspace builds for wasm).

#[cfg(not(target_arch = "wasm32"))]
mod cli;

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    if let Err(cli::Exit(code, msg)) = cli::main() {
        if !msg.is_empty() {
            eprintln!("{msg}");
        }
        std::process::exit(code);
    }
}

#[cfg(target_arch = "wasm32")]
fn main() {}
