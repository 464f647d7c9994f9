#![recursion_limit = "256"]
//! Trains the AG News topic classifier on the CPU (`--backend flex|ndarray`).

fn main() -> std::process::ExitCode {
    train_kit::cli::cpu_main(ag_news::training::ALGORITHM, ag_news::training::train)
}
