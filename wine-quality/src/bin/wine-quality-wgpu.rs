#![recursion_limit = "256"]
//! Trains the wine-quality regressor on a GPU through wgpu (`--adapter cpu` for a software device).

fn main() -> std::process::ExitCode {
    train_kit::cli::wgpu_main(
        wine_quality::training::ALGORITHM,
        wine_quality::training::train,
    )
}
