//! `cargo xtask test`: set up, check formatting and lints, build the wasm modules, run every
//! test, then a short bounded fuzz pass (`FUZZ_SECONDS` per target, default 10).

use std::fs;
use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::fuzz::{FuzzScope, fuzz_targets};
use crate::paths::target_dir;
use crate::process::{cargo, run};
use crate::setup::setup;
use crate::wasm::{build_wasm_with, wasm_output_dir};

pub(crate) fn test() -> Result<()> {
    let tools = setup()?;
    run(cargo().args(["fmt", "--all", "--check"]))?;
    run(cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--all-features",
        "--release",
        "--",
        "-D",
        "warnings",
    ]))?;
    build_wasm_with(tools.wasm, &[])?;
    let runtime_dir = tempfile_dir("xdg-runtime")?;
    run(cargo()
        .args(["test", "--workspace", "--all-features", "--release"])
        .env("WASMTIME", &tools.wasmtime)
        .env("WASMI", &tools.wasmi)
        .env("NODE", &tools.node)
        .env("MODEL_SERVER_PYTHON", &tools.python_clients)
        .env("CHROMIUM", &tools.chromium)
        // The page's browser run keeps its screenshots there, as CI artifacts.
        .env("WEB_TEST_OUTPUT", target_dir().join("web-test"))
        .env("WASM_MODULE_DIR", wasm_output_dir())
        // The named graphs are checked on wgpu too: lavapipe unless a GPU adapter is asked for.
        .env("GRAPH_WGPU_ADAPTER", wgpu_adapter())
        // wgpu's Vulkan loader warns without it; a private directory keeps the logs clean.
        .env("XDG_RUNTIME_DIR", &runtime_dir))?;
    fuzz_targets(fuzz_seconds()?, FuzzScope::Short)
}

/// `GRAPH_WGPU_ADAPTER` as given (`best` on a machine with a GPU), else the software one.
fn wgpu_adapter() -> String {
    std::env::var("GRAPH_WGPU_ADAPTER").unwrap_or_else(|_| "cpu".to_owned())
}

/// Seconds per fuzz target in the test run: long enough to run every seed and some thousands
/// of mutations, short enough for CI; `cargo xtask fuzz` is the long pass.
fn fuzz_seconds() -> Result<u64> {
    const DEFAULT_FUZZ_SECONDS: u64 = 10;
    let Ok(text) = std::env::var("FUZZ_SECONDS") else {
        return Ok(DEFAULT_FUZZ_SECONDS);
    };
    text.parse()
        .with_context(|| format!("FUZZ_SECONDS='{text}' is not a number of seconds"))
}

/// A private, empty directory under the target directory.
fn tempfile_dir(name: &str) -> Result<PathBuf> {
    let dir = target_dir().join(name);
    fs::create_dir_all(&dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))?;
    }
    Ok(dir)
}
