//! `cargo xtask wasm [CRATE...]`: builds inference modules with the toolchain setup chose.

use std::env;
use std::ffi::OsString;
use std::fs;
use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::paths::{target_dir, workspace_root};
use crate::process::{cargo, run};
use crate::setup::{WasmToolchain, wasm_toolchain};

pub(crate) const WASM_TARGET: &str = "wasm32-wasip1";
/// Every inference module of the workspace.
const INFERENCE_CRATES: &[&str] = &[
    "ag-news-inference",
    "iris-inference",
    "mnist-inference",
    "wine-quality-inference",
];

/// Where `cargo xtask wasm` leaves each module, whichever toolchain built it.
pub(crate) fn wasm_output_dir() -> PathBuf {
    workspace_root()
        .join("target")
        .join(WASM_TARGET)
        .join("release")
}

pub(crate) fn build_wasm(crates: &[String]) -> Result<Vec<PathBuf>> {
    let toolchain = wasm_toolchain()?;
    build_wasm_with(toolchain, crates)
}

pub(crate) fn build_wasm_with(toolchain: WasmToolchain, crates: &[String]) -> Result<Vec<PathBuf>> {
    let crates: Vec<String> = if crates.is_empty() {
        INFERENCE_CRATES.iter().map(|c| c.to_string()).collect()
    } else {
        crates.to_vec()
    };
    for name in &crates {
        if !INFERENCE_CRATES.contains(&name.as_str()) {
            bail!(
                "'{name}' is not an inference crate; choose from {}",
                INFERENCE_CRATES.join(", ")
            );
        }
    }
    let built_dir = match toolchain {
        WasmToolchain::Rustup => {
            let mut command = cargo();
            command.args(["build", "--release", "--target", WASM_TARGET]);
            for name in &crates {
                command.args(["-p", name]);
            }
            run(&mut command)?;
            target_dir().join(WASM_TARGET).join("release")
        }
        WasmToolchain::BuildStd => build_std(&crates)?,
    };
    let output_dir = wasm_output_dir();
    fs::create_dir_all(&output_dir)?;
    let mut modules = Vec::new();
    for name in &crates {
        let built = built_dir.join(format!("{name}.wasm"));
        let module = output_dir.join(format!("{name}.wasm"));
        if built != module {
            fs::copy(&built, &module).with_context(|| {
                format!("cannot copy {} to {}", built.display(), module.display())
            })?;
        }
        let size = fs::metadata(&module)?.len();
        println!("wasm: {} ({:.1} MB)", module.display(), size as f64 / 1e6);
        modules.push(module);
    }
    Ok(modules)
}

/// Builds with Debian's rustc-web and `-Zbuild-std`, in a target directory of its own so the
/// two compilers never invalidate each other's caches.
fn build_std(crates: &[String]) -> Result<PathBuf> {
    let target_dir = target_dir().join("wasm-build-std");
    let path = env::var_os("PATH").unwrap_or_default();
    let mut search_path = OsString::from("/usr/bin:");
    search_path.push(path);
    // Fixed flags: a change would rebuild std.
    let rustflags = [
        "-C linker=wasm-ld-19",
        "-C linker-flavor=wasm-ld",
        "-C link-self-contained=no",
        "-L native=/usr/lib/wasm32-wasi",
        "-C link-arg=/usr/lib/wasm32-wasi/crt1-command.o",
    ]
    .join(" ");
    let mut command = Command::new("/usr/bin/cargo");
    command
        .current_dir(workspace_root())
        .env("PATH", search_path)
        .env("RUSTC", "/usr/bin/rustc")
        .env("RUSTC_BOOTSTRAP", "1")
        .env("RUSTFLAGS", rustflags)
        .env_remove("RUSTUP_TOOLCHAIN")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .args(["build", "--release", "--target", WASM_TARGET])
        .args(["-Zbuild-std=std,panic_abort", "--target-dir"])
        .arg(&target_dir);
    for name in crates {
        command.args(["-p", name]);
    }
    run(&mut command)?;
    Ok(target_dir.join(WASM_TARGET).join("release"))
}
