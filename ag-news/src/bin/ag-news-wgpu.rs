#![recursion_limit = "256"]
//! Trains the AG News topic classifier on a GPU through wgpu (`--adapter cpu` for a software device).

fn main() -> std::process::ExitCode {
    train_kit::cli::wgpu_main(ag_news::training::ALGORITHM, ag_news::training::train)
}
