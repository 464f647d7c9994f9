#![recursion_limit = "256"]
//! Trains the AG News topic classifier on the CPU (`--backend flex|ndarray`).

fn main() -> std::process::ExitCode {
    common::train_cli::cpu_main(ag_news::training::CPU_BINARY, ag_news::training::train)
}
