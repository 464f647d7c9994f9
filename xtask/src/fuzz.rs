//! `cargo xtask fuzz [SECONDS]`: every `cargo fuzz` target (`fuzz/fuzz_targets/`) for SECONDS
//! each (default 60) from its committed seed corpus, then the generated malformed inputs
//! through every wasm module (`MALFORMED_INPUTS`, default 100,000 per module) compared with
//! the native build (the second part also runs in `cargo xtask test`).

use std::fs;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::paths::{target_dir, workspace_root};
use crate::process::{cargo, run};
use crate::setup::ensure_cargo_fuzz;

const DEFAULT_SECONDS: u64 = 60;
const DEFAULT_MALFORMED_INPUTS: &str = "100000";
/// Built without AddressSanitizer (`--sanitizer none`): the parsers are safe Rust, and the
/// unsafe code under them (gemm's kernels) sees only the fixed shapes of the models, so ASan
/// would buy little for more than doubling the build (burn-flex alone took over 13 minutes
/// instrumented on 2 cores).
const SANITIZER: &str = "none";
/// libFuzzer's memory limit per target: far above what any parser needs for inputs of the
/// size libFuzzer makes, so going over it means a parser allocated beyond its bounds.
const RSS_LIMIT_MB: u32 = 2048;

pub(crate) fn fuzz_command(args: &[String]) -> Result<()> {
    let seconds = match args.first() {
        None => DEFAULT_SECONDS,
        Some(text) => text
            .parse()
            .with_context(|| format!("'{text}' is not a number of seconds per target"))?,
    };
    fuzz_targets(seconds)?;
    crate::wasm::build_wasm_with(crate::setup::wasm_toolchain()?, &[])?;
    let malformed =
        std::env::var("MALFORMED_INPUTS").unwrap_or_else(|_| DEFAULT_MALFORMED_INPUTS.to_owned());
    println!("fuzz: {malformed} malformed inputs per module through the wasm builds");
    run(cargo()
        .args(["test", "--workspace", "--all-features", "--release"])
        .args([
            "--",
            "malformed_inputs",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env("MALFORMED_INPUTS", malformed)
        .env("WASM_MODULE_DIR", crate::wasm::wasm_output_dir()))
}

/// Runs every fuzz target for `seconds`, starting from its seeds; a target that finds an input
/// breaking its contract fails with the input saved under the target directory.
fn fuzz_targets(seconds: u64) -> Result<()> {
    ensure_cargo_fuzz()?;
    let fuzz_dir = workspace_root().join("fuzz");
    let build_dir = target_dir().join("fuzz");
    let targets = targets(&fuzz_dir)?;
    println!(
        "fuzz: {} targets, {seconds} s each: {}",
        targets.len(),
        targets.join(", ")
    );
    run(nightly_cargo(&fuzz_dir)
        .args(["fuzz", "build", "--sanitizer", SANITIZER, "--target-dir"])
        .arg(&build_dir))?;
    for target in &targets {
        let corpus = build_dir.join("corpus").join(target);
        let findings = build_dir.join("findings").join(target);
        fs::create_dir_all(&corpus)?;
        fs::create_dir_all(&findings)?;
        let seeds = fuzz_dir.join("corpus").join(target);
        if !seeds.is_dir() {
            bail!("{target} has no seed corpus at {}", seeds.display());
        }
        run(nightly_cargo(&fuzz_dir)
            .args([
                "fuzz",
                "run",
                target,
                "--sanitizer",
                SANITIZER,
                "--target-dir",
            ])
            .arg(&build_dir)
            .arg(&corpus)
            .arg(&seeds)
            .arg("--")
            .arg(format!("-max_total_time={seconds}"))
            .arg(format!("-rss_limit_mb={RSS_LIMIT_MB}"))
            .arg(format!("-artifact_prefix={}/", findings.display()))
            .arg("-print_final_stats=1"))
        .with_context(|| {
            format!(
                "fuzz target {target} found an input that breaks its contract (saved under {})",
                findings.display()
            )
        })?;
    }
    Ok(())
}

/// The target names, from `fuzz/fuzz_targets/*.rs`.
fn targets(fuzz_dir: &Path) -> Result<Vec<String>> {
    let mut names: Vec<String> = fs::read_dir(fuzz_dir.join("fuzz_targets"))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|e| e == "rs"))
        .filter_map(|path| Some(path.file_stem()?.to_str()?.to_owned()))
        .collect();
    names.sort();
    Ok(names)
}

/// cargo of the nightly toolchain (libFuzzer's sanitizer flags need it), without the stable
/// toolchain's variables that cargo set for this process.
fn nightly_cargo(dir: &Path) -> Command {
    let mut command = Command::new("rustup");
    command
        .args(["run", "nightly", "cargo"])
        .current_dir(dir)
        .env_remove("CARGO")
        .env_remove("RUSTC")
        .env_remove("RUSTDOC")
        .env_remove("RUSTUP_TOOLCHAIN")
        .env_remove("CARGO_TARGET_DIR");
    command
}
