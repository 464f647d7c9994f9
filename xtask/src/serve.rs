//! `cargo xtask serve [OPTIONS]`: builds the inference modules and the model server, then runs
//! the server on them (`--models target/wasm32-wasip1/release`); options go to the server.

use anyhow::Result;

use crate::process::{cargo, run};
use crate::setup::wasm_toolchain;
use crate::wasm::{build_wasm_with, wasm_output_dir};

pub(crate) fn serve(args: &[String]) -> Result<()> {
    build_wasm_with(wasm_toolchain()?, &[])?;
    run(cargo()
        .args(["run", "--release", "--package", "model-server", "--"])
        .arg("--models")
        .arg(wasm_output_dir())
        .args(args))
}
