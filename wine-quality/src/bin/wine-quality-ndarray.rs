#![recursion_limit = "256"]
//! Trains the wine-quality regressor on the CPU (`--backend flex|ndarray`).

fn main() -> std::process::ExitCode {
    common::train_cli::cpu_main(
        wine_quality::training::CPU_BINARY,
        wine_quality::training::train,
    )
}
