//! `cargo xtask demo`: set up, train Iris on the CPU and predict a sample with its wasm module.
//!
//! The run trains into a scratch directory under the build directory, so a clean checkout
//! stays clean: the committed `artifacts/iris/` (which the module embeds) is only read.

use std::fs;
use std::process::Command;

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

use crate::paths::{target_dir, workspace_root};
use crate::process::{cargo, run};
use crate::setup::setup;
use crate::wasm::build_wasm_with;

/// The sample the README promises: it must print `Iris-versicolor`.
const IRIS_SAMPLE: &str =
    r#"{"sepal_length": 7.0, "sepal_width": 3.2, "petal_length": 4.7, "petal_width": 1.4}"#;

pub(crate) fn demo() -> Result<()> {
    let tools = setup()?;
    let scratch = target_dir().join("demo/iris");
    println!("demo: training Iris on the CPU into {}", scratch.display());
    run(cargo()
        .args([
            "run",
            "--release",
            "--bin",
            "iris-ndarray",
            "--",
            "--artifact-dir",
        ])
        .arg(&scratch))?;
    compare_with_committed(&scratch.join("model.bpk"))?;
    let modules = build_wasm_with(tools.wasm, &["iris-inference".into()])?;
    println!("demo: wasmtime {} '{IRIS_SAMPLE}'", modules[0].display());
    run(Command::new(&tools.wasmtime)
        .arg(&modules[0])
        .arg(IRIS_SAMPLE))
}

/// Says whether the model just trained is the committed one the module embeds: the same bytes
/// where this CPU's kernels sum in the committed run's order.
fn compare_with_committed(trained: &std::path::Path) -> Result<()> {
    let committed = workspace_root().join("artifacts/iris/model.bpk");
    let digest = |path: &std::path::Path| -> Result<_> {
        let bytes = fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        Ok(Sha256::digest(bytes))
    };
    if digest(trained)? == digest(&committed)? {
        println!(
            "demo: {} is byte for byte the committed artifacts/iris/model.bpk, \
             which the module embeds",
            trained.display()
        );
    } else {
        println!(
            "demo: {} differs from the committed artifacts/iris/model.bpk (this CPU's \
             kernels sum in another order); the module embeds the committed model",
            trained.display()
        );
    }
    Ok(())
}
