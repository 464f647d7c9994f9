//! `cargo xtask demo`: set up, train Iris on the CPU and predict a sample with its wasm module.

use std::process::Command;

use anyhow::Result;

use crate::process::{cargo, run};
use crate::setup::setup;
use crate::wasm::build_wasm_with;

/// The sample the README promises: it must print `Iris-versicolor`.
const IRIS_SAMPLE: &str =
    r#"{"sepal_length": 7.0, "sepal_width": 3.2, "petal_length": 4.7, "petal_width": 1.4}"#;

pub(crate) fn demo() -> Result<()> {
    let tools = setup()?;
    println!("demo: training Iris on the CPU");
    run(cargo().args(["run", "--release", "--bin", "iris-ndarray"]))?;
    let modules = build_wasm_with(tools.wasm, &["iris-inference".into()])?;
    println!("demo: wasmtime {} '{IRIS_SAMPLE}'", modules[0].display());
    run(Command::new(&tools.wasmtime)
        .arg(&modules[0])
        .arg(IRIS_SAMPLE))
}
