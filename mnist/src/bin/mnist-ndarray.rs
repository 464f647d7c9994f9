#![recursion_limit = "256"]
//! Trains the MNIST digit classifier on the CPU (`--backend flex|ndarray`).

use std::process::ExitCode;

fn main() -> ExitCode {
    // Before anything uses rayon: its pool's threads must be built flushing subnormals.
    if let Err(error) = train_kernels::flush_denormals() {
        eprintln!("mnist-ndarray: {error}");
        return ExitCode::FAILURE;
    }
    train_kernels::keep_freed_memory();
    train_kit::cli::cpu_main(mnist::training::ALGORITHM, mnist::training::train)
}
