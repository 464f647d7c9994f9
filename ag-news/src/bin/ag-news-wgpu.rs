#![recursion_limit = "256"]
//! Trains the AG News topic classifier on a GPU through wgpu (`--adapter cpu` for a software device).

fn main() -> std::process::ExitCode {
    common::train_cli::wgpu_main(ag_news::training::WGPU_BINARY, ag_news::training::train)
}
