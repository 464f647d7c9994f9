#![recursion_limit = "256"]
//! Trains the Iris classifier on a GPU through wgpu (`--adapter cpu` for a software device).

fn main() -> std::process::ExitCode {
    common::train_cli::wgpu_main(iris::training::WGPU_BINARY, iris::training::train)
}
