#![recursion_limit = "256"]
//! Trains the wine-quality regressor on a GPU through wgpu (`--adapter cpu` for a software device).

fn main() -> std::process::ExitCode {
    common::train_cli::wgpu_main(
        wine_quality::training::WGPU_BINARY,
        wine_quality::training::train,
    )
}
