//! `cargo xtask wasm [--precompile] [CRATE...]`: builds inference modules (both kinds: the
//! self-contained `<crate>.wasm` and the named-graph `<crate>-named.wasm`), and
//! `tools/convert-image.wasm` (the picture preparation, for the browser page; in a folder of
//! its own so that a models directory holds only models), with the toolchain
//! setup chose, in the `wasm` profile (whole-program LTO, stripped), prints each module's
//! SHA-256 and SHA3-256 (what Cocos AI manifests pin), and with `--precompile` also writes
//! `<crate>.cwasm`, compiled ahead of time by the wasmtime CLI.

use std::env;
use std::ffi::OsString;
use std::fs;
use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};
use sha3::Sha3_256;

use crate::paths::{target_dir, workspace_root};
use crate::process::{cargo, run};
use crate::setup::{WASM_TARGET, WasmToolchain, ensure_wasmtime, wasm_toolchain};

/// The cargo profile the shipped modules are built in (see the workspace's Cargo.toml).
const WASM_PROFILE: &str = "wasm";
/// Every inference module of the workspace.
const INFERENCE_CRATES: &[&str] = &[
    "ag-news-inference",
    "iris-inference",
    "mnist-inference",
    "wine-quality-inference",
];

/// Tools built as modules too: `convert-image`, which prepares a picture for MNIST in the page.
const TOOL_CRATES: &[&str] = &["convert-image"];

/// Where `cargo xtask wasm` leaves each module, whichever toolchain built it.
pub(crate) fn wasm_output_dir() -> PathBuf {
    workspace_root()
        .join("target")
        .join(WASM_TARGET)
        .join("release")
}

/// Where the tool modules go (`convert-image.wasm`).
pub(crate) fn wasm_tools_dir() -> PathBuf {
    wasm_output_dir().join("tools")
}

/// `cargo xtask wasm [--precompile] [CRATE...]`.
pub(crate) fn wasm_command(args: &[String]) -> Result<()> {
    let precompile = args.iter().any(|a| a == "--precompile");
    let crates: Vec<String> = args
        .iter()
        .filter(|a| *a != "--precompile")
        .cloned()
        .collect();
    if let Some(flag) = crates.iter().find(|c| c.starts_with('-')) {
        bail!("unknown option '{flag}' (known: --precompile)");
    }
    let modules = build_wasm(&crates)?;
    if precompile {
        let wasmtime = ensure_wasmtime()?;
        for module in &modules {
            precompile_module(&wasmtime, module)?;
        }
    }
    Ok(())
}

pub(crate) fn build_wasm(crates: &[String]) -> Result<Vec<PathBuf>> {
    build_wasm_with(wasm_toolchain()?, crates)
}

/// `wasmtime compile`: a `.cwasm` beside the module, for `wasmtime run --allow-precompiled`.
/// It is native code for this wasmtime version and this CPU, so it is built where it runs.
pub(crate) fn precompile_module(
    wasmtime: &std::path::Path,
    module: &std::path::Path,
) -> Result<PathBuf> {
    let cwasm = module.with_extension("cwasm");
    run(Command::new(wasmtime)
        .arg("compile")
        .arg(module)
        .arg("-o")
        .arg(&cwasm))?;
    let size = fs::metadata(&cwasm)?.len();
    println!(
        "wasm: {} ({:.1} MB, precompiled)",
        cwasm.display(),
        size as f64 / 1e6
    );
    Ok(cwasm)
}

/// Lowercase hex SHA-256 and SHA3-256 of a file's bytes.
pub(crate) fn digests(bytes: &[u8]) -> (String, String) {
    let hex = |digest: &[u8]| {
        digest
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    (hex(&Sha256::digest(bytes)), hex(&Sha3_256::digest(bytes)))
}

pub(crate) fn build_wasm_with(toolchain: WasmToolchain, crates: &[String]) -> Result<Vec<PathBuf>> {
    let all: Vec<String> = INFERENCE_CRATES
        .iter()
        .chain(TOOL_CRATES)
        .map(|c| c.to_string())
        .collect();
    let crates: Vec<String> = if crates.is_empty() {
        all.clone()
    } else {
        crates.to_vec()
    };
    if let Some(name) = crates.iter().find(|name| !all.contains(name)) {
        bail!(
            "'{name}' is not a module crate; choose from {}",
            all.join(", ")
        );
    }
    let package_args: Vec<String> = crates
        .iter()
        .flat_map(|name| {
            let mut args = vec!["-p".to_owned(), name.clone()];
            if INFERENCE_CRATES.contains(&name.as_str()) {
                args.extend(["--features".to_owned(), format!("{name}/named")]);
            }
            args
        })
        .collect();
    let built_dir = match toolchain {
        WasmToolchain::Rustup => {
            let mut command = cargo();
            command.args(["build", "--profile", WASM_PROFILE, "--target", WASM_TARGET]);
            run(command.args(&package_args))?;
            target_dir().join(WASM_TARGET).join(WASM_PROFILE)
        }
        WasmToolchain::BuildStd => build_std(&package_args)?,
    };
    let output_dir = wasm_output_dir();
    fs::create_dir_all(&output_dir)?;
    fs::create_dir_all(wasm_tools_dir())?;
    let mut modules = Vec::new();
    // Each inference crate builds both kinds: the self-contained modules come first, in the
    // order asked, then the named-graph ones.
    let named = crates
        .iter()
        .filter(|name| INFERENCE_CRATES.contains(&name.as_str()))
        .map(|name| format!("{name}-named"));
    let module_names = crates.iter().cloned().chain(named);
    for name in module_names {
        let built = built_dir.join(format!("{name}.wasm"));
        let dir = match TOOL_CRATES.contains(&name.as_str()) {
            true => wasm_tools_dir(),
            false => output_dir.clone(),
        };
        let module = dir.join(format!("{name}.wasm"));
        if built != module {
            fs::copy(&built, &module).with_context(|| {
                format!("cannot copy {} to {}", built.display(), module.display())
            })?;
        }
        let bytes = fs::read(&module)?;
        let (sha256, sha3_256) = digests(&bytes);
        println!(
            "wasm: {} ({:.2} MB)\n      sha256   {sha256}\n      sha3-256 {sha3_256}",
            module.display(),
            bytes.len() as f64 / 1e6
        );
        modules.push(module);
    }
    Ok(modules)
}

/// Builds with Debian's rustc-web and `-Zbuild-std`, in a target directory of its own so the
/// two compilers never invalidate each other's caches.
fn build_std(package_args: &[String]) -> Result<PathBuf> {
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
        "-C target-feature=+simd128",
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
        .args(["build", "--profile", WASM_PROFILE, "--target", WASM_TARGET])
        .args(["-Zbuild-std=std,panic_abort", "--target-dir"])
        .arg(&target_dir)
        .args(package_args);
    run(&mut command)?;
    Ok(target_dir.join(WASM_TARGET).join(WASM_PROFILE))
}
