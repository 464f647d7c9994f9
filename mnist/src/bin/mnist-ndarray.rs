#![recursion_limit = "256"]
//! Trains the MNIST digit classifier on the CPU (`--backend flex|ndarray`).

fn main() -> std::process::ExitCode {
    train_kit::cli::cpu_main(mnist::training::ALGORITHM, mnist::training::train)
}
