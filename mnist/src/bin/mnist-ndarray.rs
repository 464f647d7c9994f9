#![recursion_limit = "256"]
//! Trains the MNIST digit classifier on the CPU (`--backend flex|ndarray`).

fn main() -> std::process::ExitCode {
    common::train_cli::cpu_main(mnist::training::CPU_BINARY, mnist::training::train)
}
