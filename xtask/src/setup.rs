//! `cargo xtask setup`: the wasm toolchain (rustup's target or the build-std fallback), the
//! pinned wasmtime CLI, the other engines the modules are checked under (wasmi, Node.js) and
//! lavapipe, each installed only when missing.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::paths::workspace_root;
use crate::process::{cargo, run, stdout_of, succeeds, succeeds_within};

/// Pinned: wasmtime-cli 50 needs a newer rustc than the project's MSRV.
const WASMTIME_VERSION: &str = "48.0.8";
/// The CLI's features the project uses (`run` with `--dir` and `--allow-precompiled`,
/// `compile`, `-C cache=n`), on Cranelift: the default set adds winch, pulley, wasi-http, TLS,
/// wasi-nn, the GC proposals and more (285 crates against 201, a 67 MB binary against 22).
const WASMTIME_FEATURES: &str =
    "run,compile,cache,cranelift,parallel-compilation,pooling-allocator";
/// wasmi's CLI: a pure-Rust interpreter, the second, independent engine.
const WASMI_VERSION: &str = "2.0.0";
/// `cargo fuzz`, the libFuzzer driver the fuzz targets are run with (on the nightly toolchain).
const CARGO_FUZZ_VERSION: &str = "0.13.2";
/// The independent Open Inference Protocol clients the model server's tests use, pinned, in a
/// virtual environment under the target directory.
const PYTHON_CLIENTS: &[&str] = &[
    "tritonclient[http]==2.73.0",
    "kserve==0.21.0",
    "kubernetes==37.0.1",
    "numpy==2.4.6",
];
/// Node.js's `node:wasi` needs at least this major version.
const NODE_MIN_MAJOR: u32 = 18;
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
/// How long `rustup target add` may try: without a route to rustup's server it can hang.
const RUSTUP_TIMEOUT: Duration = Duration::from_secs(180);

/// What the other commands need from setup.
pub(crate) struct Tools {
    pub(crate) wasm: WasmToolchain,
    pub(crate) wasmtime: PathBuf,
    pub(crate) wasmi: PathBuf,
    pub(crate) node: PathBuf,
    /// The interpreter of the clients' virtual environment.
    pub(crate) python_clients: PathBuf,
    /// The browser the page's tests drive.
    pub(crate) chromium: PathBuf,
}

pub(crate) fn setup() -> Result<Tools> {
    let wasm = wasm_toolchain()?;
    let wasmtime = ensure_wasmtime()?;
    let wasmi = ensure_wasmi()?;
    let node = ensure_node()?;
    ensure_lavapipe()?;
    let python_clients = ensure_python_clients()?;
    ensure_web_packages()?;
    let chromium = ensure_chromium()?;
    Ok(Tools {
        wasm,
        wasmtime,
        wasmi,
        node,
        python_clients,
        chromium,
    })
}

/// The page's npm packages, exactly as `web/package-lock.json` pins them: the WASI shim the
/// page ships, and playwright-core, which drives the browser in its tests. Installed again
/// only when the lock file changes.
pub(crate) fn ensure_web_packages() -> Result<()> {
    let web = workspace_root().join("web");
    let lock = fs::read(web.join("package-lock.json")).context("web/package-lock.json")?;
    let stamp = web.join("node_modules/.installed-lock.json");
    if fs::read(&stamp).is_ok_and(|installed| installed == lock) {
        return Ok(());
    }
    if !succeeds(Command::new("npm").arg("--version")) {
        ensure_debian_packages(&["npm"])?;
    }
    println!("setup: npm ci in web/ (the page's WASI shim and the browser driver)");
    run(Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(&web))?;
    fs::write(&stamp, lock)?;
    Ok(())
}

/// Chromium for the page's tests: `$CHROMIUM`, else Debian's.
fn ensure_chromium() -> Result<PathBuf> {
    if let Some(path) = env::var_os("CHROMIUM").map(PathBuf::from)
        && path.is_file()
    {
        return Ok(path);
    }
    let debian = PathBuf::from("/usr/bin/chromium");
    if !debian.is_file() {
        ensure_debian_packages(&["chromium"])?;
    }
    Ok(debian)
}

/// The target the inference modules are built for, which setup installs.
pub(crate) const WASM_TARGET: &str = "wasm32-wasip1";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WasmToolchain {
    /// rustup's prebuilt wasm32-wasip1 standard library: what users have.
    Rustup,
    /// std built from source by Debian's rustc-web, for machines where rustup cannot
    /// download the target.
    BuildStd,
}

pub(crate) fn wasm_toolchain() -> Result<WasmToolchain> {
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

pub(crate) fn ensure_debian_packages(packages: &[&str]) -> Result<()> {
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

pub(crate) fn ensure_wasmtime() -> Result<PathBuf> {
    ensure_cargo_tool(
        ("wasmtime", "wasmtime-cli", WASMTIME_VERSION),
        &["--no-default-features", "--features", WASMTIME_FEATURES],
        "about 10-15 minutes on 2 cores",
    )
}

pub(crate) fn ensure_wasmi() -> Result<PathBuf> {
    ensure_cargo_tool(
        ("wasmi", "wasmi_cli", WASMI_VERSION),
        &[],
        "about 4 minutes on 2 cores",
    )
}

/// `cargo fuzz` and the nightly toolchain it builds with.
pub(crate) fn ensure_cargo_fuzz() -> Result<PathBuf> {
    if !succeeds(Command::new("rustup").args(["run", "nightly", "rustc", "--version"])) {
        bail!(
            "the fuzz targets need the nightly toolchain (libFuzzer's sanitizer flags): `rustup toolchain install nightly`"
        );
    }
    ensure_cargo_tool(
        ("cargo-fuzz", "cargo-fuzz", CARGO_FUZZ_VERSION),
        &[],
        "about 2 minutes",
    )
}

/// The program `binary`, found on PATH or in cargo's bin directory, else installed from the
/// crate `krate` at `version` (`cargo install --locked`, taking `duration`).
fn ensure_cargo_tool(
    (binary, krate, version): (&str, &str, &str),
    features: &[&str],
    duration: &str,
) -> Result<PathBuf> {
    let installed = cargo_home().join("bin").join(binary);
    for candidate in [PathBuf::from(binary), installed.clone()] {
        if let Some(found) = stdout_of(Command::new(&candidate).arg("--version")) {
            println!("{binary}: {found}");
            return Ok(candidate);
        }
    }
    println!("{binary}: not found; installing {krate} {version} ({duration})");
    run(cargo()
        .args(["install", &format!("{krate}@{version}"), "--locked"])
        .args(features))?;
    Ok(installed)
}

/// The Python of the virtual environment `<target>/<name>`, created when missing; `label`
/// starts the line that says so.
pub(crate) fn ensure_venv(name: &str, label: &str) -> Result<PathBuf> {
    let venv = crate::paths::target_dir().join(name);
    let python = venv.join("bin/python");
    if !python.is_file() {
        println!(
            "{label}: creating a virtual environment in {}",
            venv.display()
        );
        run(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
    }
    Ok(python)
}

/// tritonclient and the kserve SDK in `<target>/python-clients`, installed when the pinned
/// versions are not all there.
pub(crate) fn ensure_python_clients() -> Result<PathBuf> {
    let python = ensure_venv("python-clients", "python clients")?;
    let pinned: Vec<String> = PYTHON_CLIENTS
        .iter()
        .map(|spec| spec.replace("[http]", ""))
        .collect();
    let installed =
        stdout_of(Command::new(&python).args(["-m", "pip", "freeze"])).unwrap_or_default();
    if pinned.iter().all(|spec| {
        installed
            .lines()
            .any(|line| line.eq_ignore_ascii_case(spec))
    }) {
        println!("python clients: {}", pinned.join(", "));
        return Ok(python);
    }
    println!("python clients: installing {}", PYTHON_CLIENTS.join(" "));
    run(Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .args(PYTHON_CLIENTS))?;
    Ok(python)
}

/// Node.js for its built-in WASI: the one on the PATH when recent enough, else Debian's.
pub(crate) fn ensure_node() -> Result<PathBuf> {
    let node = PathBuf::from("node");
    let major = || {
        stdout_of(Command::new(&node).arg("--version")).and_then(|v| {
            v.trim_start_matches('v')
                .split('.')
                .next()
                .and_then(|m| m.parse::<u32>().ok())
        })
    };
    if major().is_none() {
        ensure_debian_packages(&["nodejs"])?;
    }
    match major() {
        Some(found) if found >= NODE_MIN_MAJOR => {
            println!("node: v{found}");
            Ok(node)
        }
        found => bail!(
            "Node.js {found:?} is too old or missing; install Node.js {NODE_MIN_MAJOR} or newer \
             (its built-in WASI runs the modules in the runtime tests)"
        ),
    }
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
