//! Project automation, run as `cargo xtask <command>` (the alias is in `.cargo/config.toml`).
//!
//! It installs only what is missing, says what it did, and stops at the first failure.

use std::env;
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{Context, Result, anyhow, bail};

mod bench;

const HELP: &str = "\
Usage: cargo xtask <command>

Commands:
  setup            install what is missing: the wasm32-wasip1 toolchain, the wasmtime CLI
                   (pinned), and lavapipe (software Vulkan) for the wgpu tests
  wasm [CRATE...]  build inference modules (default: all) to
                   target/wasm32-wasip1/release/<crate>.wasm
  demo             the main job: set up, train Iris on the CPU, build its wasm module and
                   predict a sample under wasmtime
  test             set up, check formatting and lints, build the wasm modules and run every
                   test (unit, training on real data, the modules under wasmtime)
  baseline         the AG News TF-IDF + logistic-regression baseline (scikit-learn, installed
                   into a virtual environment under the target directory) on the committed
                   model's split; writes artifacts/ag-news/baseline.json
  bench            MNIST training throughput (flex, ndarray, PyTorch CPU when installed:
                   BENCH_PYTHON), where a step's time goes, mnist-inference native vs wasm;
                   writes BENCHMARKS.md
  help             print this help

Environment:
  DATASETS_DIR           where datasets are read from (default: datasets/ in the workspace;
                         missing files are downloaded and checksum-verified)
  CARGO_TARGET_DIR       build directory (CI keeps it outside the clone)
  XTASK_WASM_TOOLCHAIN   force `rustup` or `build-std` instead of choosing by itself
";

/// Pinned: wasmtime-cli 50 needs a newer rustc than the project's MSRV.
const WASMTIME_VERSION: &str = "48.0.8";
const WASM_TARGET: &str = "wasm32-wasip1";
/// Every inference module of the workspace.
const INFERENCE_CRATES: &[&str] = &[
    "ag-news-inference",
    "iris-inference",
    "mnist-inference",
    "wine-quality-inference",
];
/// Debian packages for building std for wasm32-wasip1 from source when rustup cannot
/// download the target.
const BUILD_STD_PACKAGES: &[&str] = &[
    "rustc-web",
    "cargo-web",
    "rust-web-src",
    "wasi-libc",
    "lld-19",
];
/// Debian packages for lavapipe, the software Vulkan device the wgpu tests run on.
const LAVAPIPE_PACKAGES: &[&str] = &["mesa-vulkan-drivers", "libvulkan1"];
/// The sample the README promises: it must print `Iris-versicolor`.
const IRIS_SAMPLE: &str =
    r#"{"sepal_length": 7.0, "sepal_width": 3.2, "petal_length": 4.7, "petal_width": 1.4}"#;

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("setup") => setup().map(|_| ()),
        Some("wasm") => build_wasm(&args[1..]).map(|_| ()),
        Some("demo") => demo(),
        Some("test") => test(),
        Some("baseline") => baseline(),
        Some("bench") => bench::bench(),
        Some("help" | "--help" | "-h") | None => {
            print!("{HELP}");
            Ok(())
        }
        Some(other) => Err(anyhow!("unknown command '{other}'; run `cargo xtask help`")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("xtask: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// The parent of xtask's directory as `cargo run` reports it (correct even when a build cache
/// shared by several checkouts hands over a binary built in another), else as compiled.
fn workspace_root() -> PathBuf {
    let xtask = env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    xtask.parent().map(Path::to_path_buf).unwrap_or(xtask)
}

fn target_dir() -> PathBuf {
    env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

/// Where `cargo xtask wasm` leaves each module, whichever toolchain built it.
fn wasm_output_dir() -> PathBuf {
    workspace_root()
        .join("target")
        .join(WASM_TARGET)
        .join("release")
}

fn cargo() -> Command {
    let mut command = Command::new(env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command.current_dir(workspace_root());
    command
}

fn run(command: &mut Command) -> Result<()> {
    let shown = format!("{command:?}");
    let status = command
        .status()
        .with_context(|| format!("cannot start {shown}"))?;
    if !status.success() {
        bail!("{shown} failed ({status})");
    }
    Ok(())
}

fn succeeds(command: &mut Command) -> bool {
    command
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// How long `rustup target add` may try: without a route to rustup's server it can hang.
const RUSTUP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(180);

/// Like [`succeeds`], but a command still running after `limit` is killed and counts as failed.
fn succeeds_within(mut command: Command, limit: std::time::Duration) -> bool {
    let Ok(mut child) = command
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
    else {
        return false;
    };
    let started = std::time::Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return status.success(),
            Ok(None) if started.elapsed() < limit => {
                std::thread::sleep(std::time::Duration::from_millis(200));
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                println!(
                    "wasm: `{command:?}` gave no answer within {}s",
                    limit.as_secs()
                );
                return false;
            }
        }
    }
}

fn stdout_of(command: &mut Command) -> Option<String> {
    let output = command.output().ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

// ---------------------------------------------------------------- setup

struct Tools {
    wasm: WasmToolchain,
    wasmtime: PathBuf,
}

fn setup() -> Result<Tools> {
    let wasm = wasm_toolchain()?;
    let wasmtime = ensure_wasmtime()?;
    ensure_lavapipe()?;
    Ok(Tools { wasm, wasmtime })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum WasmToolchain {
    /// rustup's prebuilt wasm32-wasip1 standard library: what users have.
    Rustup,
    /// std built from source by Debian's rustc-web, for machines where rustup cannot
    /// download the target.
    BuildStd,
}

fn wasm_toolchain() -> Result<WasmToolchain> {
    if let Ok(forced) = env::var("XTASK_WASM_TOOLCHAIN") {
        return match forced.as_str() {
            "rustup" => Ok(WasmToolchain::Rustup),
            "build-std" => {
                ensure_debian_packages(BUILD_STD_PACKAGES)?;
                println!("wasm: build-std fallback (forced by XTASK_WASM_TOOLCHAIN)");
                Ok(WasmToolchain::BuildStd)
            }
            other => bail!("XTASK_WASM_TOOLCHAIN is '{other}'; use `rustup` or `build-std`"),
        };
    }
    if rustup_target_installed() {
        println!("wasm: using the installed rustup target {WASM_TARGET}");
        return Ok(WasmToolchain::Rustup);
    }
    println!("wasm: {WASM_TARGET} is not installed; trying `rustup target add {WASM_TARGET}`");
    let mut add_target = Command::new("rustup");
    add_target.args(["target", "add", WASM_TARGET]);
    if succeeds_within(add_target, RUSTUP_TIMEOUT) && rustup_target_installed() {
        println!("wasm: installed the rustup target {WASM_TARGET}");
        return Ok(WasmToolchain::Rustup);
    }
    println!(
        "wasm: rustup could not provide {WASM_TARGET}; using the build-std fallback \
         (std built from source with Debian's rustc-web)"
    );
    ensure_debian_packages(BUILD_STD_PACKAGES)?;
    Ok(WasmToolchain::BuildStd)
}

/// Whether the active toolchain has the target's standard library.
fn rustup_target_installed() -> bool {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    stdout_of(Command::new(rustc).args(["--print", "sysroot"]))
        .map(|sysroot| {
            Path::new(&sysroot)
                .join("lib/rustlib")
                .join(WASM_TARGET)
                .join("lib")
        })
        .is_some_and(|lib| lib.is_dir())
}

fn debian_package_installed(package: &str) -> bool {
    stdout_of(Command::new("dpkg-query").args(["-W", "-f=${Status}", package]))
        .is_some_and(|status| status == "install ok installed")
}

fn ensure_debian_packages(packages: &[&str]) -> Result<()> {
    let missing: Vec<&str> = packages
        .iter()
        .copied()
        .filter(|p| !debian_package_installed(p))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let install = format!("apt-get install -y {}", missing.join(" "));
    let is_root = stdout_of(Command::new("id").arg("-u")).as_deref() == Some("0");
    if !is_root || !succeeds(Command::new("apt-get").arg("--version")) {
        bail!(
            "missing Debian packages {}; install them with `sudo {install}`",
            missing.join(", ")
        );
    }
    println!("setup: installing {}", missing.join(" "));
    run(Command::new("apt-get").args(["update", "-qq"]))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "-qq"])
        .args(&missing)
        .env("DEBIAN_FRONTEND", "noninteractive"))
}

fn ensure_wasmtime() -> Result<PathBuf> {
    let installed = cargo_home().join("bin").join("wasmtime");
    for candidate in [PathBuf::from("wasmtime"), installed.clone()] {
        if let Some(version) = stdout_of(Command::new(&candidate).arg("--version")) {
            println!("wasmtime: {version}");
            return Ok(candidate);
        }
    }
    println!(
        "wasmtime: not found; installing wasmtime-cli {WASMTIME_VERSION} (about 10 minutes on 2 cores)"
    );
    run(cargo().args([
        "install",
        &format!("wasmtime-cli@{WASMTIME_VERSION}"),
        "--locked",
    ]))?;
    Ok(installed)
}

fn cargo_home() -> PathBuf {
    env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")))
        .unwrap_or_else(|| PathBuf::from(".cargo"))
}

fn ensure_lavapipe() -> Result<()> {
    if !cfg!(target_os = "linux") {
        return Ok(());
    }
    let has_lavapipe = fs::read_dir("/usr/share/vulkan/icd.d")
        .map(|entries| {
            entries
                .flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with("lvp_icd"))
        })
        .unwrap_or(false);
    if has_lavapipe {
        return Ok(());
    }
    ensure_debian_packages(LAVAPIPE_PACKAGES)
}

// ---------------------------------------------------------------- wasm

fn build_wasm(crates: &[String]) -> Result<Vec<PathBuf>> {
    let toolchain = wasm_toolchain()?;
    build_wasm_with(toolchain, crates)
}

fn build_wasm_with(toolchain: WasmToolchain, crates: &[String]) -> Result<Vec<PathBuf>> {
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

// ---------------------------------------------------------------- demo and test

fn demo() -> Result<()> {
    let tools = setup()?;
    println!("demo: training Iris on the CPU");
    run(cargo().args(["run", "--release", "--bin", "iris-ndarray"]))?;
    let modules = build_wasm_with(tools.wasm, &["iris-inference".into()])?;
    println!("demo: wasmtime {} '{IRIS_SAMPLE}'", modules[0].display());
    run(Command::new(&tools.wasmtime)
        .arg(&modules[0])
        .arg(IRIS_SAMPLE))
}

fn test() -> Result<()> {
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
        .env("WASM_MODULE_DIR", wasm_output_dir())
        // wgpu's Vulkan loader warns without it; a private directory keeps the logs clean.
        .env("XDG_RUNTIME_DIR", &runtime_dir))
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

// ---------------------------------------------------------------- baseline

/// scikit-learn, pinned so the recorded baseline can be reproduced.
const SCIKIT_LEARN: &str = "scikit-learn==1.7.2";

fn baseline() -> Result<()> {
    let venv = target_dir().join("python-baseline");
    let python = venv.join("bin/python");
    if !python.is_file() {
        println!(
            "baseline: creating a virtual environment in {}",
            venv.display()
        );
        run(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
    }
    if !succeeds(Command::new(&python).args(["-c", "import sklearn"])) {
        println!("baseline: installing {SCIKIT_LEARN}");
        run(Command::new(&python).args(["-m", "pip", "install", "--quiet", SCIKIT_LEARN]))?;
    }
    run(Command::new(&python)
        .arg(workspace_root().join("bench/ag_news_baseline.py"))
        .current_dir(workspace_root()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn a_command_that_hangs_is_stopped_and_counts_as_failed() {
        let started = Instant::now();
        let mut sleeper = Command::new("sleep");
        sleeper.arg("30");
        assert!(!succeeds_within(sleeper, Duration::from_secs(1)));
        assert!(started.elapsed() < Duration::from_secs(10));
        assert!(succeeds_within(
            Command::new("true"),
            Duration::from_secs(10)
        ));
        assert!(!succeeds_within(
            Command::new("false"),
            Duration::from_secs(10)
        ));
    }
}
