//! `cargo xtask fuzz [SECONDS]`: every `cargo fuzz` target (`fuzz/fuzz_targets/`) for SECONDS
//! each (default 60) from its committed seed corpus, then the generated malformed inputs
//! through every wasm module (`MALFORMED_INPUTS`, default 100,000 per module) compared with
//! the native build (the second part also runs in `cargo xtask test`).
//!
//! `cargo xtask test` runs a short pass ([`FuzzScope::Short`]): the targets that build without
//! the training code (every inference command line, `convert-image`, the tokenizer), a few
//! seconds each. The training-data readers need burn's learner built instrumented, which would
//! add minutes to every fresh CI machine; they run here.

use std::fs;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::paths::{target_dir, workspace_root};
use crate::process::{cargo, run};
use crate::setup::ensure_cargo_fuzz;

const DEFAULT_SECONDS: u64 = 60;
const DEFAULT_MALFORMED_INPUTS: &str = "100000";
/// Built without AddressSanitizer (`--sanitizer none`): the parsers are safe Rust, and the
/// unsafe code under them (gemm's kernels) sees only the fixed shapes of the models, so ASan
/// would buy little for more than doubling the build (burn-flex instrumented is the longest
/// part of it).
const SANITIZER: &str = "none";
/// libFuzzer's memory limit per target: far above what any parser needs for inputs of the
/// size libFuzzer makes, so going over it means a parser allocated beyond its bounds.
const RSS_LIMIT_MB: u32 = 2048;

pub(crate) fn fuzz_command(args: &[String]) -> Result<()> {
    let (scope, args) = match args.split_first() {
        Some((flag, rest)) if flag == "--short" => (FuzzScope::Short, rest),
        _ => (FuzzScope::Full, args),
    };
    let seconds = match args.first() {
        None => DEFAULT_SECONDS,
        Some(text) => text
            .parse()
            .with_context(|| format!("'{text}' is not a number of seconds per target"))?,
    };
    fuzz_targets(seconds, scope)?;
    if scope == FuzzScope::Short {
        return Ok(());
    }
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

/// Which fuzz targets a pass builds and runs.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum FuzzScope {
    /// Every target, the training-data readers included.
    Full,
    /// The targets that need no training code (no `required-features` in `fuzz/Cargo.toml`).
    Short,
}

/// Runs the fuzz targets of `scope` for `seconds` each, starting from their seeds; a target
/// that finds an input breaking its contract fails with the input saved under the target
/// directory.
pub(crate) fn fuzz_targets(seconds: u64, scope: FuzzScope) -> Result<()> {
    ensure_cargo_fuzz()?;
    let fuzz_dir = workspace_root().join("fuzz");
    let build_dir = target_dir().join("fuzz");
    let targets = targets(&fuzz_dir, scope)?;
    println!(
        "fuzz: {} targets, {seconds} s each: {}",
        targets.len(),
        targets.join(", ")
    );
    let mut build = nightly_cargo(&fuzz_dir);
    build
        .args(["fuzz", "build", "--sanitizer", SANITIZER, "--target-dir"])
        .arg(&build_dir);
    if scope == FuzzScope::Short {
        build.arg("--no-default-features");
    }
    run(&mut build)?;
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
            .args((scope == FuzzScope::Short).then_some("--no-default-features"))
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

/// The names of the targets in `scope`, from the fuzz crate's own manifest (`cargo metadata`),
/// so a target's `required-features` decide whether it needs the training code.
fn targets(fuzz_dir: &Path, scope: FuzzScope) -> Result<Vec<String>> {
    let output = nightly_cargo(fuzz_dir)
        .args(["metadata", "--no-deps", "--format-version", "1"])
        .output()
        .context("cannot run cargo metadata on the fuzz crate")?;
    if !output.status.success() {
        bail!(
            "cargo metadata on the fuzz crate failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let metadata: Value = serde_json::from_slice(&output.stdout)?;
    let bins = metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|package| package["targets"].as_array().into_iter().flatten())
        .filter(|target| {
            target["kind"]
                .as_array()
                .is_some_and(|k| k.contains(&"bin".into()))
        });
    let mut names: Vec<String> = bins
        .filter(|target| {
            scope == FuzzScope::Full
                || target["required-features"]
                    .as_array()
                    .is_none_or(|features| features.is_empty())
        })
        .filter_map(|target| Some(target["name"].as_str()?.to_owned()))
        .collect();
    if names.is_empty() {
        bail!("the fuzz crate has no targets (fuzz/Cargo.toml)");
    }
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
