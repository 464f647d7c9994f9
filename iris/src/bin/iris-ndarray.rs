#![recursion_limit = "256"]
//! Trains the Iris classifier on the CPU (`--backend flex|ndarray`).

fn main() -> std::process::ExitCode {
    common::train_cli::cpu_main(iris::training::CPU_BINARY, iris::training::train)
}
