#![recursion_limit = "256"]
//! Trains the wine-quality regressor on the CPU (`--backend flex|ndarray`).

fn main() -> std::process::ExitCode {
    train_kit::cli::cpu_main(
        wine_quality::training::ALGORITHM,
        wine_quality::training::train,
    )
}
