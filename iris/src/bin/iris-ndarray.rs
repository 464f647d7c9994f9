#![recursion_limit = "256"]
//! Trains the Iris classifier on the CPU (`--backend flex|ndarray`).

fn main() -> std::process::ExitCode {
    train_kit::cli::cpu_main(iris::training::ALGORITHM, iris::training::train)
}
