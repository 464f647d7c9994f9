#![recursion_limit = "256"]
//! Trains the MNIST digit classifier on a GPU through wgpu (`--adapter cpu` for a software device).

fn main() -> std::process::ExitCode {
    train_kit::cli::wgpu_main(mnist::training::ALGORITHM, mnist::training::train)
}
