#![recursion_limit = "256"]
//! Trains the MNIST digit classifier on a GPU through wgpu (`--adapter cpu` for a software device).

fn main() -> std::process::ExitCode {
    common::train_cli::wgpu_main(mnist::training::WGPU_BINARY, mnist::training::train)
}
