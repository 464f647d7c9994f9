#![recursion_limit = "256"]
//! Trains the Iris classifier on a GPU through wgpu (`--adapter cpu` for a software device).

fn main() -> std::process::ExitCode {
    train_kit::cli::wgpu_main(iris::training::ALGORITHM, iris::training::train)
}
